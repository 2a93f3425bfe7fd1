//! The daemon's counters, and `[metrics] listen` serving them as Prometheus
//! text: polls by outcome, posts stored, articles, a poll-duration histogram
//! and the sources failing now. A listener this small is written by hand
//! (one GET, one answer, connection closed) rather than pulling in a web
//! framework for one route.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::crawl::PollReport;
use crate::store::Outcome;

/// Upper bounds of the poll-duration buckets, in seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Default)]
pub struct Metrics {
    polls_ok: AtomicU64,
    polls_not_modified: AtomicU64,
    polls_error: AtomicU64,
    polls_held: AtomicU64,
    posts_stored: AtomicU64,
    articles_fetched: AtomicU64,
    articles_failed: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    duration_sum_micros: AtomicU64,
    duration_count: AtomicU64,
    failing: Mutex<BTreeSet<String>>,
    /// On a database several daemons share: this daemon's name, the
    /// sources it is polling now under its claim, and the claims it made
    /// and lost to another daemon.
    daemon: Mutex<Option<String>>,
    leases: Mutex<BTreeSet<String>>,
    claims_won: AtomicU64,
    claims_lost: AtomicU64,
}

impl Metrics {
    pub fn record(&self, report: &PollReport, took: Duration) {
        let counter = match report.outcome {
            Some(Outcome::Ok) => &self.polls_ok,
            Some(Outcome::NotModified) => &self.polls_not_modified,
            Some(Outcome::Error) => &self.polls_error,
            None => &self.polls_held,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.posts_stored
            .fetch_add(report.saved.new_posts as u64, Ordering::Relaxed);
        self.articles_fetched
            .fetch_add(report.articles.fetched as u64, Ordering::Relaxed);
        self.articles_failed.fetch_add(
            (report.articles.failed + report.articles.gave_up) as u64,
            Ordering::Relaxed,
        );
        let secs = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.duration_sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.duration_count.fetch_add(1, Ordering::Relaxed);
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        match report.outcome {
            Some(Outcome::Error) => {
                failing.insert(report.slug.clone());
            }
            Some(_) => {
                failing.remove(&report.slug);
            }
            None => {}
        }
    }

    /// Names this daemon in the lease metrics (several daemons on one database).
    pub fn set_daemon(&self, name: &str) {
        *self.daemon.lock().unwrap_or_else(|p| p.into_inner()) = Some(name.to_string());
    }

    /// This daemon claimed the poll of `slug` (`won`) or another daemon had it.
    pub fn claim(&self, slug: &str, won: bool) {
        if won {
            self.claims_won.fetch_add(1, Ordering::Relaxed);
            self.leases
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(slug.to_string());
        } else {
            self.claims_lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// This daemon let go of its claim on `slug`.
    pub fn released(&self, slug: &str) {
        self.leases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(slug);
    }

    /// Forgets a source that is no longer configured.
    pub fn forget(&self, slug: &str) {
        self.failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(slug);
    }

    pub fn failing(&self) -> usize {
        self.failing.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        out.push_str("# HELP newscrawl_polls_total Source polls by outcome.\n# TYPE newscrawl_polls_total counter\n");
        for (outcome, c) in [
            ("ok", &self.polls_ok),
            ("not_modified", &self.polls_not_modified),
            ("error", &self.polls_error),
            ("held", &self.polls_held),
        ] {
            let _ = writeln!(
                out,
                "newscrawl_polls_total{{outcome=\"{outcome}\"}} {}",
                get(c)
            );
        }
        let _ = writeln!(
            out,
            "# HELP newscrawl_posts_stored_total New posts stored.\n# TYPE newscrawl_posts_stored_total counter\nnewscrawl_posts_stored_total {}",
            get(&self.posts_stored)
        );
        let _ = writeln!(
            out,
            "# HELP newscrawl_articles_total Article fetches by outcome.\n# TYPE newscrawl_articles_total counter\nnewscrawl_articles_total{{outcome=\"ok\"}} {}\nnewscrawl_articles_total{{outcome=\"error\"}} {}",
            get(&self.articles_fetched),
            get(&self.articles_failed)
        );
        out.push_str("# HELP newscrawl_poll_duration_seconds Time one poll took, articles included.\n# TYPE newscrawl_poll_duration_seconds histogram\n");
        for (bound, c) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "newscrawl_poll_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                get(c)
            );
        }
        let count = get(&self.duration_count);
        let _ = writeln!(
            out,
            "newscrawl_poll_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "newscrawl_poll_duration_seconds_sum {}",
            get(&self.duration_sum_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "newscrawl_poll_duration_seconds_count {count}");
        let _ = writeln!(
            out,
            "# HELP newscrawl_sources_failing Sources whose last poll failed.\n# TYPE newscrawl_sources_failing gauge\nnewscrawl_sources_failing {}",
            self.failing()
        );
        let daemon = self
            .daemon
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(daemon) = daemon {
            let d = label(&daemon);
            let _ = writeln!(
                out,
                "# HELP newscrawl_claims_total Polls this daemon claimed, and those another daemon had.\n# TYPE newscrawl_claims_total counter\nnewscrawl_claims_total{{daemon=\"{d}\",outcome=\"won\"}} {}\nnewscrawl_claims_total{{daemon=\"{d}\",outcome=\"lost\"}} {}",
                get(&self.claims_won),
                get(&self.claims_lost)
            );
            out.push_str("# HELP newscrawl_lease_held Sources this daemon is polling now under its claim.\n# TYPE newscrawl_lease_held gauge\n");
            for slug in self.leases.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                let _ = writeln!(
                    out,
                    "newscrawl_lease_held{{daemon=\"{d}\",source=\"{}\"}} 1",
                    label(slug)
                );
            }
        }
        out
    }
}

/// Answers every request on `listener` with the metrics until `stop`.
pub async fn serve(
    listener: TcpListener,
    metrics: std::sync::Arc<Metrics>,
    stop: CancellationToken,
) {
    // At most this many connections at once; more wait in the kernel's
    // backlog (they cost the daemon no file descriptor), and each is given
    // CONNECTION_TIMEOUT in all, so idle ones cannot hold the slots.
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut pause = ACCEPT_PAUSE;
    loop {
        let permit = tokio::select! {
            _ = stop.cancelled() => return,
            p = std::sync::Arc::clone(&slots).acquire_owned() => p,
        };
        let Ok(permit) = permit else { return };
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let mut sock = match accepted {
            Ok((sock, _)) => {
                pause = ACCEPT_PAUSE;
                sock
            }
            Err(e) => {
                // Out of file descriptors, most likely: retrying at once
                // would spin. Wait, longer each time, up to a second.
                tracing::debug!(error = %e, "metrics: accept failed");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let metrics = std::sync::Arc::clone(&metrics);
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, async {
                let mut buf = [0u8; 1024];
                // The request itself does not matter: one route.
                let _ = sock.read(&mut buf).await;
                let body = metrics.render();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            })
            .await;
        });
    }
}

/// Connections served at once by the metrics endpoint.
const MAX_CONNECTIONS: usize = 16;
/// The longest one connection may take, request and answer.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait after a failed `accept`.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crawl::{ArticleSummary, PollReport};
    use crate::store::SaveSummary;

    fn report(slug: &str, outcome: Option<Outcome>, new_posts: usize) -> PollReport {
        PollReport {
            slug: slug.into(),
            outcome,
            items: new_posts,
            saved: SaveSummary {
                new_posts,
                ..SaveSummary::default()
            },
            error: None,
            articles: ArticleSummary::default(),
            retry_after: None,
        }
    }

    #[test]
    fn counts_and_renders() {
        let m = Metrics::default();
        m.record(
            &report("a", Some(Outcome::Ok), 3),
            Duration::from_millis(30),
        );
        m.record(
            &report("b", Some(Outcome::Error), 0),
            Duration::from_millis(700),
        );
        m.record(
            &report("a", Some(Outcome::NotModified), 0),
            Duration::from_millis(20),
        );
        let text = m.render();
        assert!(
            text.contains("newscrawl_polls_total{outcome=\"ok\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("newscrawl_polls_total{outcome=\"error\"} 1\n"));
        assert!(text.contains("newscrawl_posts_stored_total 3\n"));
        assert!(text.contains("newscrawl_poll_duration_seconds_bucket{le=\"0.05\"} 2\n"));
        assert!(text.contains("newscrawl_poll_duration_seconds_bucket{le=\"1\"} 3\n"));
        assert!(text.contains("newscrawl_poll_duration_seconds_count 3\n"));
        assert!(text.contains("newscrawl_sources_failing 1\n"));
        m.record(
            &report("b", Some(Outcome::Ok), 0),
            Duration::from_millis(10),
        );
        assert_eq!(m.failing(), 0);
    }

    /// On a shared database the metrics name the daemon, the sources it is
    /// polling under its claim, and the claims it won and lost.
    #[test]
    fn leases_name_the_daemon_and_its_sources() {
        let m = Metrics::default();
        assert!(!m.render().contains("newscrawl_lease_held"));
        m.set_daemon("crawler-2:4711");
        m.claim("xinhua", true);
        m.claim("cctv", true);
        m.claim("people", false);
        m.released("cctv");
        let text = m.render();
        assert!(
            text.contains("newscrawl_lease_held{daemon=\"crawler-2:4711\",source=\"xinhua\"} 1"),
            "{text}"
        );
        assert!(!text.contains("source=\"cctv\""), "{text}");
        assert!(
            text.contains("newscrawl_claims_total{daemon=\"crawler-2:4711\",outcome=\"won\"} 2")
        );
        assert!(
            text.contains("newscrawl_claims_total{daemon=\"crawler-2:4711\",outcome=\"lost\"} 1")
        );
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
