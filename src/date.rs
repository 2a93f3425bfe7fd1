//! Dates as feeds and pages write them: RFC 3339 / ISO 8601, RFC 822/2822
//! and the broken forms real feeds use (`2022-01-10 16:57:30`,
//! `2022/01/10 16:57`, `2022年01月10日 16:57`, a missing or wrong weekday,
//! `GMT+8`). Text without an offset is read in the configured time zone, and
//! the offset the source gave is kept.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// Parses `text`; a date without a year (`01-10 16:57`) takes `now`'s year.
pub fn parse_date(text: &str, tz: Tz, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    if t.is_empty() || t.len() > 100 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d);
    }
    if let Some(d) = parse_rfc2822ish(t) {
        return Some(d);
    }
    let norm = normalize(t);
    if let Some(d) = parse_with_offset(&norm) {
        return Some(d);
    }
    let naive = parse_naive(&norm, now.with_timezone(&tz).year())?;
    localize(naive, tz)
}

/// A naive time in `tz`; in a DST gap, the hour after.
fn localize(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let local = tz.from_local_datetime(&naive).earliest().or_else(|| {
        tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
    })?;
    Some(local.fixed_offset())
}

/// RFC 822/2822 and its usual deviations: no or a wrong weekday, `UTC`,
/// `GMT+8`/`GMT+0800`, a lower-case month, one-digit hours.
fn parse_rfc2822ish(t: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(d) = DateTime::parse_from_rfc2822(t) {
        return Some(d);
    }
    // Drop a weekday ("Mon, ", "Monday, "), which is often wrong.
    let mut s = t.to_string();
    if let Some(comma) = s.find(',') {
        if s[..comma].chars().all(|c| c.is_ascii_alphabetic()) {
            s = s[comma + 1..].trim_start().to_string();
        }
    }
    let mut parts: Vec<String> = s.split_whitespace().map(str::to_string).collect();
    if parts.len() < 4 {
        return None;
    }
    if let Some(zone) = parts.last_mut() {
        let z = zone.to_ascii_uppercase();
        let fixed = match z.as_str() {
            "UTC" | "Z" | "GMT" | "UT" => Some("+0000".to_string()),
            _ => {
                let rest = z.strip_prefix("GMT").or_else(|| z.strip_prefix("UTC"));
                rest.and_then(offset_digits)
            }
        };
        if let Some(f) = fixed {
            *zone = f;
        }
    }
    if parts.len() == 4 {
        // No zone at all: not RFC 2822; let the naive parsers have it.
        return None;
    }
    let joined = parts.join(" ");
    for fmt in [
        "%d %b %Y %H:%M:%S %z",
        "%d %b %Y %H:%M %z",
        "%d %B %Y %H:%M:%S %z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(&joined, fmt) {
            return Some(d);
        }
    }
    None
}

/// `+8`, `+08`, `+0800`, `+08:00` → `+0800`.
fn offset_digits(s: &str) -> Option<String> {
    let (sign, digits) = match s.chars().next()? {
        '+' => ('+', &s[1..]),
        '-' => ('-', &s[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match digits.len() {
        1 | 2 => Some(format!("{sign}{:02}00", digits.parse::<u32>().ok()?)),
        4 => Some(format!("{sign}{digits}")),
        _ => None,
    }
}

/// Chinese and slash forms to `YYYY-MM-DD HH:MM:SS`-ish: `年`/`月`/`/`/`.` →
/// `-`, `日`/`T` → space, `时`/`分` → `:`, full-width digits and colon folded.
fn normalize(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '年' | '月' | '/' => out.push('-'),
            '日' | '号' => out.push(' '),
            '时' | '點' | '点' | '分' | '：' => out.push(':'),
            '秒' => {}
            '\u{FF10}'..='\u{FF19}' => {
                out.push(char::from_u32(c as u32 - 0xFF10 + u32::from(b'0')).unwrap_or(c))
            }
            'T' => out.push(' '),
            '\u{3000}' => out.push(' '),
            _ => out.push(c),
        }
    }
    let collapsed: Vec<&str> = out.split_whitespace().collect();
    collapsed.join(" ").trim_end_matches(':').to_string()
}

fn parse_with_offset(s: &str) -> Option<DateTime<FixedOffset>> {
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M:%S%.f %:z",
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%d %H:%M%z",
        "%Y-%m-%d %H:%M %z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    if let Some(stripped) = s.strip_suffix('Z').or_else(|| s.strip_suffix(" UTC")) {
        let naive = parse_naive(stripped.trim(), 1970)?;
        return Some(naive.and_utc().fixed_offset());
    }
    None
}

fn parse_naive(s: &str, this_year: i32) -> Option<NaiveDateTime> {
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y %m-%d %H:%M:%S",
        "%Y %m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0);
    }
    // `01-10 16:57`: month and day of the current year.
    let with_year = format!("{this_year}-{s}");
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(&with_year, fmt) {
            return Some(d);
        }
    }
    None
}

/// RFC 3339 in the date's own offset, seconds precision: `2022-01-10T16:57:30+08:00`.
pub fn to_rfc3339(d: &DateTime<FixedOffset>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        .replace("+00:00", "Z")
}

/// Now, in UTC, as stored in the bookkeeping columns.
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<String> {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00+08:00").unwrap();
        parse_date(s, chrono_tz::Asia::Shanghai, now).map(|d| to_rfc3339(&d))
    }

    #[test]
    fn standard_forms_keep_their_offset() {
        assert_eq!(
            p("2022-01-10T16:57:30+08:00").as_deref(),
            Some("2022-01-10T16:57:30+08:00")
        );
        assert_eq!(
            p("2022-01-10T08:57:30Z").as_deref(),
            Some("2022-01-10T08:57:30Z")
        );
        assert_eq!(
            p("Mon, 10 Jan 2022 16:57:30 +0800").as_deref(),
            Some("2022-01-10T16:57:30+08:00")
        );
        assert_eq!(
            p("Mon, 10 Jan 2022 08:57:30 GMT").as_deref(),
            Some("2022-01-10T08:57:30Z")
        );
        assert_eq!(
            p("2022-01-10T16:57:30.123-05:00").as_deref(),
            Some("2022-01-10T16:57:30-05:00")
        );
    }

    #[test]
    fn broken_rfc822() {
        // Wrong weekday, UTC spelled out, GMT+8.
        assert_eq!(
            p("Fri, 10 Jan 2022 16:57:30 +0800").as_deref(),
            Some("2022-01-10T16:57:30+08:00")
        );
        assert_eq!(
            p("10 Jan 2022 08:57:30 UTC").as_deref(),
            Some("2022-01-10T08:57:30Z")
        );
        assert_eq!(
            p("Mon, 10 Jan 2022 16:57:30 GMT+8").as_deref(),
            Some("2022-01-10T16:57:30+08:00")
        );
        assert_eq!(
            p("Monday, 10 Jan 2022 16:57 +0800").as_deref(),
            Some("2022-01-10T16:57:00+08:00")
        );
    }

    #[test]
    fn naive_forms_take_the_configured_zone() {
        assert_eq!(
            p("2022-01-10 16:57:30").as_deref(),
            Some("2022-01-10T16:57:30+08:00")
        );
        assert_eq!(
            p("2022-01-10 16:57").as_deref(),
            Some("2022-01-10T16:57:00+08:00")
        );
        assert_eq!(
            p("2022/01/10 16:57").as_deref(),
            Some("2022-01-10T16:57:00+08:00")
        );
        assert_eq!(
            p("2022年01月10日 16:57").as_deref(),
            Some("2022-01-10T16:57:00+08:00")
        );
        assert_eq!(
            p("2022年1月10日16:57:30").as_deref(),
            Some("2022-01-10T16:57:30+08:00")
        );
        assert_eq!(
            p("2022-01-10T16:57:30").as_deref(),
            Some("2022-01-10T16:57:30+08:00")
        );
        assert_eq!(
            p("2022-01-10").as_deref(),
            Some("2022-01-10T00:00:00+08:00")
        );
        assert_eq!(
            p("01-10 16:57").as_deref(),
            Some("2026-01-10T16:57:00+08:00")
        );
        let ny = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").unwrap();
        let d = parse_date("2022-07-01 09:00", chrono_tz::America::New_York, ny).unwrap();
        assert_eq!(to_rfc3339(&d), "2022-07-01T09:00:00-04:00");
    }

    #[test]
    fn garbage_is_none() {
        for s in [
            "",
            "yesterday",
            "2022-13-45 99:99",
            "Mon, 99 Foo 2022",
            "刚刚",
            "12345678901234567890",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
    }
}
