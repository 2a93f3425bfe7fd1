//! When a source is due: its cron schedule in the configured time zone,
//! shifted by a small per-source jitter (the same every time, so 500 sources
//! on `*/10` do not all fire in the same second), stretched by exponential
//! backoff while the source fails, and never before a `Retry-After` hold.
//!
//! The daemon runs one task per source that sleeps until this time. That is
//! simpler and safer than a job scheduler (tokio-cron-scheduler): no drift,
//! no overlapping runs of one source, and a reload cancels exactly the tasks
//! of the sources that changed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::Schedule;

/// The time between two consecutive runs of `schedule` after `now`.
pub fn interval(schedule: &Schedule, tz: Tz, now: DateTime<Utc>) -> Duration {
    let local = now.with_timezone(&tz);
    let first = schedule.cron.find_next_occurrence(&local, false).ok();
    let second = first.and_then(|f| schedule.cron.find_next_occurrence(&f, false).ok());
    match (first, second) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::from_secs(600)),
        _ => Duration::from_secs(600),
    }
}

/// The start of the round a poll due at `due` belongs to: sources due at the
/// same cron time poll within the jitter window after it, and what they
/// store in that window is one run (see `store::save_poll`).
pub fn round_start(schedule: &Schedule, tz: Tz, due: DateTime<Utc>) -> DateTime<Utc> {
    let window = jitter_window(interval(schedule, tz, due));
    due - chrono::Duration::from_std(window).unwrap_or_default()
}

fn jitter_window(interval: Duration) -> Duration {
    (interval / 10).min(Duration::from_secs(60))
}

/// A fixed offset for `slug` within a tenth of its interval, at most a minute.
pub fn jitter(slug: &str, interval: Duration) -> Duration {
    // FNV-1a: stable across runs and versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in slug.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let millis = jitter_window(interval).as_millis() as u64;
    if millis == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(h % millis)
}

/// How long something that failed `failures` times in a row waits: a
/// source's poll its interval, an article page 10 minutes, doubling with
/// each further failure, at most `cap`.
pub fn backoff(interval: Duration, failures: u32, cap: Duration) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(20);
    interval.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// When the source is next due.
pub fn next_due(
    slug: &str,
    schedule: &Schedule,
    tz: Tz,
    now: DateTime<Utc>,
    failures: u32,
    hold_until: Option<DateTime<Utc>>,
    max_backoff: Duration,
) -> DateTime<Utc> {
    let every = interval(schedule, tz, now);
    let base = if failures > 0 {
        now + chrono::Duration::from_std(backoff(every, failures, max_backoff))
            .unwrap_or(chrono::Duration::hours(6))
    } else {
        schedule
            .cron
            .find_next_occurrence(&now.with_timezone(&tz), false)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(now + chrono::Duration::minutes(10))
    };
    let base = hold_until.map_or(base, |h| base.max(h));
    base + chrono::Duration::from_std(jitter(slug, every)).unwrap_or_default()
}

/// What follows the stores: runs `round` at once, then whenever `saved` is
/// signalled (signals during a round make one more round), after a failed
/// round `retry` later at the latest, and `every` (on a database other
/// daemons write too: their posts signal nothing here), until `stop`. A
/// failing round is said once at WARN (`what`, its error), and at INFO when
/// rounds work again. The daemon's continuous export and each hook run so.
pub async fn after_saves<F, Fut>(
    what: &str,
    saved: &tokio::sync::Notify,
    stop: &tokio_util::sync::CancellationToken,
    retry: Option<Duration>,
    every: Option<Duration>,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut failing = false;
    loop {
        let failed = match round().await {
            Ok(()) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("{what} works again");
                }
                false
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "{what} failing; tried again after the next poll");
                }
                true
            }
        };
        let wait = [retry.filter(|_| failed), every]
            .into_iter()
            .flatten()
            .min();
        let later = async {
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = saved.notified() => {}
            _ = later => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn intervals() {
        let tz = chrono_tz::Asia::Shanghai;
        let now = at("2026-11-28T07:03:10Z");
        assert_eq!(
            interval(&Schedule::parse("*/10 * * * *").unwrap(), tz, now),
            Duration::from_secs(600)
        );
        assert_eq!(
            interval(&Schedule::parse("*/2 * * * * *").unwrap(), tz, now),
            Duration::from_secs(2)
        );
        assert_eq!(
            interval(&Schedule::parse("0 8 * * *").unwrap(), tz, now),
            Duration::from_secs(86_400)
        );
    }

    #[test]
    fn jitter_is_stable_spread_and_small() {
        let ten = Duration::from_secs(600);
        assert_eq!(jitter("xinhua", ten), jitter("xinhua", ten));
        assert!(jitter("xinhua", ten) < Duration::from_secs(60));
        let distinct: std::collections::HashSet<_> = (0..500)
            .map(|i| jitter(&format!("s{i}"), ten).as_secs())
            .collect();
        assert!(
            distinct.len() > 40,
            "500 sources spread over the minute: {}",
            distinct.len()
        );
        assert!(jitter("x", Duration::from_secs(1)) < Duration::from_millis(100));
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let i = Duration::from_secs(600);
        let cap = Duration::from_secs(6 * 3600);
        let steps: Vec<u64> = (1..=8).map(|f| backoff(i, f, cap).as_secs()).collect();
        assert_eq!(steps, [600, 1200, 2400, 4800, 9600, 19_200, 21_600, 21_600]);
        assert_eq!(backoff(i, 1000, cap), cap);
    }

    #[test]
    fn next_due_follows_the_schedule_the_backoff_and_holds() {
        let tz = chrono_tz::Asia::Shanghai;
        let s = Schedule::parse("*/10 * * * *").unwrap();
        let now = at("2026-11-28T07:03:10Z");
        let cap = Duration::from_secs(6 * 3600);
        let j = chrono::Duration::from_std(jitter("a", Duration::from_secs(600))).unwrap();
        assert_eq!(
            next_due("a", &s, tz, now, 0, None, cap),
            at("2026-11-28T07:10:00Z") + j
        );
        assert_eq!(
            next_due("a", &s, tz, now, 3, None, cap),
            now + chrono::Duration::seconds(2400) + j
        );
        let hold = at("2026-11-28T09:00:00Z");
        assert_eq!(next_due("a", &s, tz, now, 0, Some(hold), cap), hold + j);
    }
}
