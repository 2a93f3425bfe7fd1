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
    if let Some(d) = parse_rfc2822ish(t, tz) {
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

/// RFC 822/2822 and its usual deviations: no or a wrong weekday (with or
/// without its comma), full month names, the month before the day, a
/// 12-hour clock, `UTC`, `GMT+8`/`GMT+0800`, the RFC 822 zone names (`EST`,
/// `PDT`, ...; `CST` is China's when `tz` is), and no zone at all (read in
/// `tz`).
fn parse_rfc2822ish(t: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    // chrono reads `CST` as RFC 822's (US Central); `zone_offset` decides.
    let cst = t
        .get(t.len().saturating_sub(4)..)
        .is_some_and(|z| z.eq_ignore_ascii_case(" CST"));
    if !cst && let Ok(d) = DateTime::parse_from_rfc2822(t) {
        return Some(d);
    }
    let cleaned = t.replace(',', " ");
    let mut parts: Vec<&str> = cleaned.split_whitespace().collect();
    // Drop a weekday, which is often wrong.
    if parts.first().is_some_and(|w| is_weekday(w)) {
        parts.remove(0);
    }
    if parts.len() < 4 || !parts.iter().take(2).any(|p| month_number(p).is_some()) {
        return None;
    }
    let zone = parts.last().and_then(|z| zone_offset(z, tz));
    if zone.is_some() {
        parts.pop();
    }
    let joined = parts.join(" ");
    const FORMATS: [&str; 8] = [
        "%d %B %Y %H:%M:%S",
        "%d %B %Y %H:%M",
        "%B %d %Y %H:%M:%S",
        "%B %d %Y %H:%M",
        "%d %B %Y %I:%M:%S %p",
        "%d %B %Y %I:%M %p",
        "%B %d %Y %I:%M:%S %p",
        "%B %d %Y %I:%M %p",
    ];
    let naive = FORMATS
        .iter()
        .find_map(|f| {
            NaiveDateTime::parse_from_str(&joined, f)
                .ok()
                .filter(|d| d.year() >= 1000)
        })
        .or_else(|| {
            // Two-digit years (RFC 822 itself).
            ["%d %B %y %H:%M:%S", "%d %B %y %H:%M"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(&joined, f).ok())
        })?;
    match zone {
        Some(off) => off.from_local_datetime(&naive).single(),
        None => localize(naive, tz),
    }
}

fn is_weekday(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .any(|d| w.starts_with(d) && w.len() <= 9 && w.chars().all(|c| c.is_ascii_alphabetic()))
}

fn month_number(w: &str) -> Option<u32> {
    let w = w.to_ascii_lowercase();
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if w.len() < 3 || !w.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    months
        .iter()
        .position(|m| w.starts_with(m))
        .map(|i| i as u32 + 1)
}

/// A zone as feeds write it: `+0800`, `GMT`, `GMT+8`, `EST`.
fn zone_offset(z: &str, tz: Tz) -> Option<FixedOffset> {
    let z = z.to_ascii_uppercase();
    let hours = |h: i32| FixedOffset::east_opt(h * 3600);
    match z.as_str() {
        "UTC" | "Z" | "GMT" | "UT" => return hours(0),
        "EST" => return hours(-5),
        "EDT" => return hours(-4),
        "CST"
            if matches!(
                tz.name(),
                "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Harbin" | "Asia/Taipei" | "PRC"
            ) =>
        {
            return hours(8);
        }
        "CST" => return hours(-6),
        "CDT" => return hours(-5),
        "MST" => return hours(-7),
        "MDT" => return hours(-6),
        "PST" => return hours(-8),
        "PDT" => return hours(-7),
        "BST" => return hours(1),
        "CET" => return hours(1),
        "CEST" => return hours(2),
        "JST" | "KST" => return hours(9),
        "HKT" => return hours(8),
        _ => {}
    }
    let digits = z
        .strip_prefix("GMT")
        .or_else(|| z.strip_prefix("UTC"))
        .unwrap_or(&z);
    let d = offset_digits(digits)?;
    let sign = if d.starts_with('-') { -1 } else { 1 };
    let h: i32 = d.get(1..3)?.parse().ok()?;
    let m: i32 = d.get(3..5)?.parse().ok()?;
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
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
        // `2022-09-15-18:30:12` (中国政府网's `firstpublishedtime`).
        "%Y-%m-%d-%H:%M:%S",
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
    fn english_forms_real_feeds_write() {
        assert_eq!(
            p("Mon, 25 July 2011 01:30:00 EST").as_deref(),
            Some("2011-07-25T01:30:00-05:00")
        );
        assert_eq!(
            p("Tue 11 Jan 2011 01:30:00 GMT").as_deref(),
            Some("2011-01-11T01:30:00Z")
        );
        assert_eq!(
            p("Sat, Dec 16 2023 02:02:33 PM").as_deref(),
            Some("2023-12-16T14:02:33+08:00")
        );
        assert_eq!(
            p("Wednesday, 02 Oct 2002 08:00:00 PDT").as_deref(),
            Some("2002-10-02T08:00:00-07:00")
        );
        assert_eq!(
            p("02 Oct 02 13:00 GMT+8").as_deref(),
            Some("2002-10-02T13:00:00+08:00")
        );
        assert_eq!(
            p("Mon, 10 Jan 2022 16:57:30 CST").as_deref(),
            Some("2022-01-10T16:57:30+08:00"),
            "China Standard Time where the configured zone is China's"
        );
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
