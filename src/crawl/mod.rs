//! One poll of one source: fetch → decode → feed → dedup → store, and
//! `crawl --once` over many sources at once. A failing source is recorded
//! (a `fetches` row, the `sources` health columns), logged once at WARN
//! when it starts failing, and never stops the others. [`document`] turns
//! one fetched document into posts (pure, off the async threads);
//! [`articles`] fetches the article pages a source follows.

mod articles;
mod document;

pub use articles::{ARTICLE_ACCEPT, ARTICLE_RETRY, ARTICLE_RETRY_CAP, preview_article};
pub use document::{FeedFetch, JSON_ACCEPT, Parsed, fetch_feed, to_posts};

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures_util::StreamExt;
use tokio::task::JoinSet;
use tracing::{Instrument, debug, info, info_span, warn};
use url::Url;

use crate::article;
use crate::config::Follow;
use crate::config::{Config, Source, SourceKind};
use crate::decode;
use crate::dedup;
use crate::error::{FeedError, FetchError};
use crate::feed::{self, Item};
use crate::fetch::{self, Body, FEED_ACCEPT, Fetched, Fetcher, Reach, Validators};
use crate::html;
use crate::jsonlist;
use crate::store::StoreError;
use crate::store::{
    ArticleFields, ArticleJob, ArticleOutcome, ArticleResult, BlockedItem, FetchRecord, NewPost,
    Outcome, PollRecord, SaveSummary, Store,
};

/// What the crawler shares between polls.
pub struct Crawler {
    pub config: Arc<Config>,
    pub fetcher: Arc<Fetcher>,
    pub store: Arc<Store>,
    /// Polls between their fetch and their save, at most `concurrency`: a
    /// thousand sources due at once cannot hold a thousand parsed feeds in
    /// memory while they queue for the database writer (the fetcher allows
    /// no more requests than that at once anyway).
    poll_slots: tokio::sync::Semaphore,
    /// Sources fetching their articles at once: bounded for the same reason
    /// (each holds a batch of extracted articles until it is saved).
    article_slots: tokio::sync::Semaphore,
    /// Sources whose last poll skipped items (their WARN has been said).
    skipping: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Signalled after each save that may have stored or changed posts:
    /// the continuous export ([`crate::export::continuous`]) waits on it.
    pub saved: Arc<tokio::sync::Notify>,
}

/// How one poll went, for the summary and the exit status.
#[derive(Debug, Clone)]
pub struct PollReport {
    pub slug: String,
    /// How the feed request went; `None` when the source was held back by
    /// an earlier `Retry-After` and not polled.
    pub outcome: Option<Outcome>,
    pub items: usize,
    pub saved: SaveSummary,
    pub error: Option<String>,
    pub articles: ArticleSummary,
    /// What `Retry-After` asked for, when the server sent one with a 429/503.
    pub retry_after: Option<std::time::Duration>,
}

/// Article fetches of one poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArticleSummary {
    pub fetched: usize,
    pub failed: usize,
    pub gave_up: usize,
}

/// Why a poll failed: the request, or the body.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{url}: {source}")]
    Feed { url: String, source: FeedError },
}

/// The hosts' turns and places in a database several daemons share, and
/// the places this daemon holds now (per host).
struct StoreTurns {
    store: Arc<Store>,
    held: std::sync::Mutex<std::collections::HashMap<String, Vec<i32>>>,
    /// One place asked for at a time: the database would give this
    /// daemon's connection a place it holds again (its locks are its own),
    /// so what it holds must be known when it asks.
    asking: tokio::sync::Mutex<()>,
}

impl StoreTurns {
    fn held(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Vec<i32>>> {
        // Nothing is left half-done under this lock.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl crate::fetch::HostTurns for StoreTurns {
    fn turn(
        &self,
        host: String,
        delay: std::time::Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<std::time::Duration>> + Send + '_>>
    {
        Box::pin(async move {
            match self.store.host_turn(host, delay).await {
                Ok(wait) => wait,
                Err(e) => {
                    // The daemon's own pacing stands for this request.
                    tracing::debug!(error = %e, "no shared turn for the host");
                    None
                }
            }
        })
    }

    fn place(
        &self,
        host: String,
        per_host: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::fetch::Place> + Send + '_>> {
        use crate::fetch::Place;
        Box::pin(async move {
            let _one_at_a_time = self.asking.lock().await;
            let held = self.held().get(&host).cloned().unwrap_or_default();
            match self.store.host_place(host.clone(), per_host, held).await {
                Ok(Some(slot)) => {
                    self.held().entry(host).or_default().push(slot);
                    Place::Taken(slot)
                }
                Ok(None) => Place::Busy,
                Err(e) => {
                    tracing::debug!(error = %e, "no shared place for the host");
                    Place::Unavailable
                }
            }
        })
    }

    fn leave(&self, host: String, slot: i32) {
        {
            let mut held = self.held();
            if let Some(slots) = held.get_mut(&host) {
                slots.retain(|&s| s != slot);
                if slots.is_empty() {
                    held.remove(&host);
                }
            }
        }
        let store = Arc::clone(&self.store);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.host_leave(host, slot).await {
                    tracing::debug!(error = %e, "a host's place not given back");
                }
            });
        }
    }
}

impl Crawler {
    pub fn new(config: Arc<Config>, fetcher: Arc<Fetcher>, store: Arc<Store>) -> Crawler {
        // Several daemons on one database: `host_delay` and `per_host`
        // hold across them.
        if store.shared() {
            fetcher.share_turns(Arc::new(StoreTurns {
                store: Arc::clone(&store),
                held: Default::default(),
                asking: Default::default(),
            }));
        }
        let slots = config.crawler.concurrency.max(2);
        let article_slots = config.crawler.concurrency.max(1);
        Crawler {
            config,
            fetcher,
            store,
            poll_slots: tokio::sync::Semaphore::new(slots),
            article_slots: tokio::sync::Semaphore::new(article_slots),
            skipping: Default::default(),
            saved: Arc::default(),
        }
    }

    /// The same crawler, signalling `saved` after its saves (a daemon keeps
    /// one signal across the crawlers that reloads make).
    pub fn signalling(mut self, saved: Arc<tokio::sync::Notify>) -> Crawler {
        self.saved = saved;
        self
    }

    /// Records whether `slug`'s poll skipped items; true when it starts to.
    fn note_skips(&self, slug: &str, skipped: bool) -> bool {
        let mut set = self.skipping.lock().unwrap_or_else(|p| p.into_inner());
        if skipped {
            set.insert(slug.to_string())
        } else {
            set.remove(slug);
            false
        }
    }

    /// Polls one source and saves what it found. Never returns an error for
    /// the source's own faults: those are recorded and reported. A source
    /// held back by `Retry-After` is not polled until the time has come.
    pub async fn poll(
        &self,
        source: &Source,
        run_started_at: chrono::DateTime<Utc>,
    ) -> Result<PollReport, StoreError> {
        // A test hook, compiled into debug builds only: how the end-to-end
        // tests make one source's poll panic.
        #[cfg(debug_assertions)]
        if std::env::var_os("NEWSCRAWL_TEST_PANIC_IN_POLL").is_some_and(|s| s == *source.slug) {
            panic!("test hook: a panic in the poll of {}", source.slug);
        }
        let state = self.store.source_state(&source.slug).await?;
        let now = Utc::now();
        if let Some(until) = state.hold_until.filter(|t| *t > now) {
            debug!(until = %until, "held back by Retry-After");
            return Ok(PollReport {
                slug: source.slug.clone(),
                outcome: None,
                items: 0,
                saved: SaveSummary::default(),
                error: None,
                articles: ArticleSummary::default(),
                retry_after: None,
            });
        }
        // The URL in effect: the configured one, or where it permanently
        // moved (stored without user info: the configured credentials
        // follow it on the same host only).
        let url = state
            .url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .map(|u| fetch::with_credentials_of(&u, &source.url))
            .unwrap_or_else(|| source.url.clone());
        let shown = fetch::redacted(&url);
        // Servers with broken ETags exist: every 12 hours, ask unconditionally.
        let unconditional = state
            .last_unconditional_at
            .is_none_or(|t| now - t >= chrono::Duration::hours(12));
        let validators = if unconditional {
            Validators::default()
        } else {
            state.validators.clone()
        };

        let slot = self.poll_slots.acquire().await.ok();
        let started_at = Utc::now();
        let clock = Instant::now();
        let tz = self.config.crawler.timezone;
        let fetched = fetch_feed(&self.fetcher, source, &url, &validators, &self.config).await;
        let duration_ms = clock.elapsed().as_millis() as i64;
        let next_poll_at = source
            .schedule
            .cron
            .find_next_occurrence(&Utc::now().with_timezone(&tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc));
        let mut fetch = FetchRecord {
            url: shown.clone(),
            started_at,
            duration_ms,
            http_status: fetched.status,
            outcome: Outcome::Ok,
            bytes: fetched.bytes,
            error: None,
        };
        let (validators, items, posts, blocked) = match fetched.result {
            Ok(None) => {
                fetch.outcome = Outcome::NotModified;
                (None, 0, Vec::new(), Vec::new())
            }
            Ok(Some(parsed)) => {
                // Skipped items are noted in the fetch row; the poll worked.
                // Said at WARN the first time, then at DEBUG while it lasts.
                let noted = !parsed.skipped.is_empty() || parsed.cut.is_some();
                let first_time = self.note_skips(&source.slug, noted);
                let skipped = parsed.skipped.first().map(|first| {
                    let total = parsed.posts.len() + parsed.skipped.len();
                    format!("{} of {total} items skipped: {first}", parsed.skipped.len())
                });
                let note = match (skipped, &parsed.cut) {
                    (Some(s), Some(c)) => Some(format!("{c}; {s}")),
                    (s, c) => s.or_else(|| c.clone()),
                };
                if let Some(msg) = note {
                    if first_time {
                        warn!(url = %shown, "{msg}");
                    } else {
                        debug!(url = %shown, "{msg}");
                    }
                    fetch.error = Some(msg);
                }
                let blocked: Vec<BlockedItem> = parsed
                    .blocked
                    .into_iter()
                    .map(|(p, rule)| BlockedItem {
                        identity: p.identity,
                        title: p.title,
                        rule,
                    })
                    .collect();
                (
                    Some(parsed.validators),
                    parsed.posts.len() + blocked.len(),
                    parsed.posts,
                    blocked,
                )
            }
            Err(e) => {
                fetch.outcome = Outcome::Error;
                fetch.error = Some(e.to_string());
                (None, 0, Vec::new(), Vec::new())
            }
        };
        if let Some(to) = &fetched.moved_to {
            warn!(from = %shown, to = %to, "feed moved permanently; polling the new address. Update `url` in the configuration");
        }
        let hold_until = fetched.retry_after.map(|d| {
            let d = d.min(fetch::MAX_RETRY_AFTER);
            chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| Utc::now().checked_add_signed(d))
                .unwrap_or_else(Utc::now)
        });
        let record = PollRecord {
            source: source.slug.clone(),
            fetch: fetch.clone(),
            validators,
            items,
            posts,
            next_poll_at,
            unconditional: unconditional && fetch.outcome == Outcome::Ok,
            moved_to: fetched.moved_to.as_ref().map(Url::to_string),
            hold_until,
            run_started_at,
            blocked,
        };
        let any_posts = !record.posts.is_empty();
        let saved = self.store.save_poll(record).await?;
        if any_posts {
            self.saved.notify_one();
        }
        drop(slot);
        let articles = self.fetch_articles(source).await?;

        let failed = fetch.outcome == Outcome::Error;
        match (fetch.error.as_deref().filter(|_| failed), state.failures) {
            (Some(e), 0) => warn!(url = %shown, error = %e, "source failing"),
            (Some(e), n) => {
                debug!(url = %shown, error = %e, failures = n + 1, "source still failing")
            }
            (None, n) if n > 0 => info!(url = %shown, after_failures = n, "source recovered"),
            (None, _) => {}
        }
        debug!(
            outcome = ?fetch.outcome,
            items,
            new_posts = saved.new_posts,
            updated = saved.updated_posts,
            articles = articles.fetched,
            article_failures = articles.failed,
            ms = duration_ms,
            "polled"
        );
        Ok(PollReport {
            slug: source.slug.clone(),
            outcome: Some(fetch.outcome),
            items,
            saved,
            error: fetch.error,
            articles,
            retry_after: fetched.retry_after,
        })
    }

    /// [`Crawler::poll`], with a panic inside it caught: it is recorded as
    /// the source's error (a `fetches` row, the failure counted), logged at
    /// ERROR (a bug, on every poll it happens in), and goes no further than
    /// this source.
    pub async fn poll_isolated(
        &self,
        source: &Source,
        run_started_at: chrono::DateTime<Utc>,
    ) -> Result<PollReport, StoreError> {
        use futures_util::FutureExt;
        let caught = std::panic::AssertUnwindSafe(self.poll(source, run_started_at))
            .catch_unwind()
            .await;
        let panic = match caught {
            Ok(result) => return result,
            Err(p) => p,
        };
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        let error = format!("internal error while polling (a bug; please report it): {what}");
        tracing::error!(error = %error, "poll failed");
        let record = PollRecord {
            source: source.slug.clone(),
            fetch: FetchRecord {
                url: fetch::redacted(&source.url),
                started_at: Utc::now(),
                duration_ms: 0,
                http_status: None,
                outcome: Outcome::Error,
                bytes: 0,
                error: Some(error.clone()),
            },
            validators: None,
            items: 0,
            posts: Vec::new(),
            next_poll_at: None,
            unconditional: false,
            moved_to: None,
            hold_until: None,
            blocked: Vec::new(),
            run_started_at,
        };
        self.store.save_poll(record).await?;
        Ok(PollReport {
            slug: source.slug.clone(),
            outcome: Some(Outcome::Error),
            items: 0,
            saved: SaveSummary::default(),
            error: Some(error),
            articles: ArticleSummary::default(),
            retry_after: None,
        })
    }

    /// Polls every source in `sources` once, concurrently (the fetcher's
    /// limits bound the requests in flight), and waits for all; `done` sees
    /// each source's report as it finishes.
    pub async fn poll_all(
        self: &Arc<Self>,
        sources: Vec<Source>,
        mut done: impl FnMut(&PollReport),
    ) -> Result<Vec<PollReport>, crate::Error> {
        let run_started_at = Utc::now();
        let mut set = JoinSet::new();
        for source in sources {
            let me = Arc::clone(self);
            let span = info_span!("poll", source = %source.slug);
            set.spawn(
                async move { me.poll_isolated(&source, run_started_at).await }.instrument(span),
            );
        }
        let mut reports = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(r) => {
                    let r = r?;
                    done(&r);
                    reports.push(r);
                }
                Err(e) => return Err(crate::Error::Internal(format!("a poll task failed: {e}"))),
            }
        }
        reports.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(reports)
    }
}
