//! One poll of one source: fetch → decode → feed → dedup → store, and
//! `crawl --once` over many sources at once. A failing source is recorded
//! (a `fetches` row, the `sources` health columns), logged once at WARN
//! when it starts failing, and never stops the others.

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
use crate::error::{FeedError, FetchError, StoreError};
use crate::feed::{self, Item};
use crate::fetch::{self, Body, FEED_ACCEPT, Fetched, Fetcher, Reach, Validators};
use crate::html;
use crate::jsonlist;
use crate::store::{
    ArticleFields, ArticleJob, ArticleOutcome, ArticleResult, FetchRecord, NewPost, Outcome,
    PollRecord, SaveSummary, Store,
};

pub const ARTICLE_ACCEPT: &str =
    "text/html, application/xhtml+xml, application/json;q=0.9, */*;q=0.8";

/// Articles due in one poll at most; the rest wait for the next.
const ARTICLE_BATCH: usize = 1000;

/// Article results saved per transaction.
const ARTICLE_SAVE_BATCH: usize = 16;

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

/// A fetched feed: what the exchange said, and the items when it parsed.
pub struct FeedFetch {
    pub status: Option<u16>,
    pub bytes: u64,
    /// Where a chain of permanent redirects led.
    pub moved_to: Option<Url>,
    /// How long the server asked us to stay away (429/503 with `Retry-After`).
    pub retry_after: Option<std::time::Duration>,
    /// The items and the new validators; `Ok(None)` is a 304.
    pub result: Result<Option<Parsed>, PollError>,
}

/// A body that parsed, its items made into posts.
pub struct Parsed {
    pub posts: Vec<NewPost>,
    /// Items of a JSON list that could not be mapped, one message each.
    pub skipped: Vec<String>,
    /// What `crawler.max_items` left out, when it did.
    pub cut: Option<String>,
    pub validators: Validators,
}

pub const JSON_ACCEPT: &str = "application/json, text/javascript;q=0.9, */*;q=0.5";

/// Fetches the feed (or, with `items`, the JSON list) of `source` at `url`,
/// conditionally with `validators`, parses it and makes its items posts.
pub async fn fetch_feed(
    fetcher: &Fetcher,
    source: &Source,
    url: &Url,
    validators: &Validators,
    crawler: &crate::config::CrawlerConfig,
) -> FeedFetch {
    let tz = crawler.timezone;
    let accept = match source.kind {
        SourceKind::Feed => FEED_ACCEPT,
        SourceKind::JsonList(_) => JSON_ACCEPT,
    };
    let fetched = match fetcher.get(url, accept, validators, Reach::Any).await {
        Ok(f) => f,
        Err(e) => {
            return FeedFetch {
                status: e.http_status(),
                bytes: 0,
                moved_to: None,
                retry_after: e.retry_after(),
                result: Err(e.into()),
            };
        }
    };
    let moved_to = fetched.moved_to().cloned();
    let body = match fetched {
        Fetched::NotModified { .. } => {
            return FeedFetch {
                status: Some(304),
                bytes: 0,
                moved_to,
                retry_after: None,
                result: Ok(None),
            };
        }
        Fetched::Body(b) => b,
    };
    let status = Some(body.status);
    let bytes = body.bytes.len() as u64;
    let final_url = body.final_url.to_string();
    // Decoding, parsing and sanitizing are CPU work (and the parser is not
    // Send): off the runtime. The items become posts there and are dropped,
    // so a poll waiting for the database holds only its posts.
    let (source, url, tracking) = (source.clone(), url.clone(), crawler.tracking_params.clone());
    let max_items = crawler.max_items;
    let parsed = tokio::task::spawn_blocking(move || {
        let final_url = body.final_url.clone();
        let validators = body.validators.clone();
        let mut doc = parse_body(body, tz, &source.kind)?;
        let held = doc.items.len();
        let dropped = feed::keep_newest(&mut doc.items, max_items);
        let cut = (dropped > 0).then(|| {
            format!("{held} items, more than crawler.max_items ({max_items}): the {dropped} oldest left out")
        });
        let mut not_articles = doc.site_links.clone();
        not_articles.extend([url.clone(), final_url.clone()]);
        Ok(Parsed {
            posts: to_posts(&source, &doc.items, &final_url, &not_articles, &tracking),
            skipped: doc.skipped,
            cut,
            validators,
        })
    })
    .await
    .unwrap_or_else(|e| Err(FeedError::Parse(format!("parser crashed: {e}"))));
    FeedFetch {
        status,
        bytes,
        moved_to,
        retry_after: None,
        result: match parsed {
            Ok(ok) => Ok(Some(ok)),
            Err(source) => Err(PollError::Feed {
                url: final_url,
                source,
            }),
        },
    }
}

/// Page (or endpoint answer) → the post's article columns; an empty
/// extraction is a failure.
fn extract(
    body: Body,
    sel: &crate::config::ArticleSelectors,
    tz: chrono_tz::Tz,
) -> Result<ArticleFields, String> {
    let now = Utc::now().with_timezone(&tz).fixed_offset();
    let url = &body.final_url;
    let found = match sel.json.as_slice() {
        [_, ..] => {
            let http = body
                .content_type
                .as_deref()
                .and_then(decode::charset_from_content_type);
            let text = decode::decode(&body.bytes, http, None, None).text;
            article::extract_json(&text, &sel.json, url, sel, tz, now)
                .map_err(|e| format!("{url}: {e}"))?
        }
        [] => {
            let text = article::decode_page(&body.bytes, body.content_type.as_deref(), url);
            article::extract_page(&text, url, sel, tz, now).map_err(|e| format!("{url}: {e}"))?
        }
    };
    if !found.has_body() {
        return Err(format!("{url}: no article text found"));
    }
    Ok(ArticleFields {
        title: found.title,
        published_at: found.published.map(|d| crate::date::to_rfc3339(&d)),
        content_html: found.content_html,
        content_text: found.content_text,
        origin: found.origin,
    })
}

/// The body as a document of items. One that holds items but yields none
/// is an error, never an empty success.
fn parse_body(
    body: Body,
    tz: chrono_tz::Tz,
    kind: &SourceKind,
) -> Result<feed::Document, FeedError> {
    let http_charset = body
        .content_type
        .as_deref()
        .and_then(decode::charset_from_content_type);
    let tld = body.final_url.host_str().and_then(decode::tld_of);
    let mut doc = match kind {
        SourceKind::JsonList(mapping) => {
            let text = decode::decode(&body.bytes, http_charset, None, tld).text;
            jsonlist::parse(&text, mapping, &body.final_url, tz)?
        }
        SourceKind::Feed => {
            let declared = decode::xml_declared(&body.bytes);
            let text = decode::decode(&body.bytes, http_charset, declared, tld).text;
            feed::parse(&text, &body.final_url, tz)?
        }
    };
    // A publisher's links may carry user info of their own: never stored.
    for item in &mut doc.items {
        if let Some(link) = item.link.as_mut().filter(|l| fetch::has_credentials(l)) {
            *link = fetch::without_credentials(link);
        }
    }
    if doc.items.is_empty()
        && let Some(first) = doc.skipped.first()
    {
        return Err(FeedError::Parse(format!(
            "none of its {} items could be read: {first}",
            doc.skipped.len()
        )));
    }
    Ok(doc)
}

/// Turns one document's items into the posts the store saves; identities
/// are decided over the whole document (see [`dedup`]).
pub fn to_posts(
    source: &Source,
    items: &[Item],
    feed_url: &Url,
    not_articles: &[Url],
    tracking: &[String],
) -> Vec<NewPost> {
    let titles: Vec<Option<String>> = items
        .iter()
        .map(|i| {
            i.title
                .as_deref()
                .map(html::plain_line)
                .filter(|t| !t.is_empty())
        })
        .collect();
    let dates: Vec<Option<String>> = items
        .iter()
        .map(|i| {
            i.published
                .or(i.updated)
                .map(|d| crate::date::to_rfc3339(&d))
        })
        .collect();
    let keys: Vec<dedup::Keys<'_>> = items
        .iter()
        .zip(titles.iter().zip(&dates))
        .map(|(i, (t, d))| dedup::Keys {
            link: i.link.as_ref(),
            guid: i.guid.as_deref(),
            title: t.as_deref(),
            date: d.as_deref(),
            content: i.content.as_deref().or(i.summary.as_deref()),
            fingerprint: i.fingerprint.as_deref(),
        })
        .collect();
    let ids = dedup::identities(
        &source.slug,
        &keys,
        not_articles,
        &source.id_pattern,
        tracking,
    );
    items
        .iter()
        .zip(ids)
        .zip(titles.into_iter().zip(dates))
        .map(|((item, identity), (title, published))| {
            to_post(source, item, identity, title, published, feed_url)
        })
        .collect()
}

/// One item and its identity → the post.
fn to_post(
    source: &Source,
    item: &Item,
    identity: dedup::Identity,
    title: Option<String>,
    published: Option<String>,
    feed_url: &Url,
) -> NewPost {
    let base = item.link.as_ref().unwrap_or(feed_url);
    let body = item.content.as_deref().or(item.summary.as_deref());
    let (content_html, content_text) = match body.map(|b| html::clean_with_text(b, base)) {
        Some((h, t)) if !h.is_empty() => (Some(h), Some(t)),
        _ => (None, None),
    };
    // An item without content has its summary as the body: its text is
    // the body's (sanitized, so nothing of a script or a form).
    let summary = if item.content.is_none() {
        content_text.clone()
    } else {
        item.summary.as_deref().map(html::to_text)
    }
    .filter(|s| !s.is_empty());
    NewPost {
        url: item.link.as_ref().map(|u| u.to_string()),
        guid: item.guid.clone(),
        title,
        author: item.author.clone(),
        summary,
        content_html,
        content_text,
        origin: item.origin.as_deref().and_then(article::clean_origin),
        article_pending: source
            .follow
            .article_url(
                item.link.as_ref().map(Url::as_str),
                identity.info_code.as_deref(),
                item.guid.as_deref(),
            )
            .is_some(),
        identity,
        published_at: published,
        updated_at: item.updated.map(|d| crate::date::to_rfc3339(&d)),
    }
}

/// An article that failed waits this long before its next try, doubling
/// with each failure ([`crate::schedule::backoff`]), at most
/// [`ARTICLE_RETRY_CAP`].
pub const ARTICLE_RETRY: std::time::Duration = std::time::Duration::from_secs(600);
pub const ARTICLE_RETRY_CAP: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

impl Crawler {
    pub fn new(config: Arc<Config>, fetcher: Arc<Fetcher>, store: Arc<Store>) -> Crawler {
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
        let started_at = crate::date::now_utc();
        let clock = Instant::now();
        let tz = self.config.crawler.timezone;
        let fetched = fetch_feed(
            &self.fetcher,
            source,
            &url,
            &validators,
            &self.config.crawler,
        )
        .await;
        let duration_ms = clock.elapsed().as_millis() as i64;
        let next_poll_at = source
            .schedule
            .cron
            .find_next_occurrence(&Utc::now().with_timezone(&tz), false)
            .ok()
            .map(|d| {
                d.with_timezone(&Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            });
        let mut fetch = FetchRecord {
            url: shown.clone(),
            started_at,
            duration_ms,
            http_status: fetched.status,
            outcome: Outcome::Ok,
            bytes: fetched.bytes,
            error: None,
        };
        let (validators, items, posts) = match fetched.result {
            Ok(None) => {
                fetch.outcome = Outcome::NotModified;
                (None, 0, Vec::new())
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
                (Some(parsed.validators), parsed.posts.len(), parsed.posts)
            }
            Err(e) => {
                fetch.outcome = Outcome::Error;
                fetch.error = Some(e.to_string());
                (None, 0, Vec::new())
            }
        };
        if let Some(to) = &fetched.moved_to {
            warn!(from = %shown, to = %to, "feed moved permanently; polling the new address. Update `url` in the configuration");
        }
        let hold_until = fetched.retry_after.map(|d| {
            let d = d.min(fetch::MAX_RETRY_AFTER);
            let until = chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| Utc::now().checked_add_signed(d))
                .unwrap_or_else(Utc::now);
            // To the millisecond: a 3-second hold is not a 2-second one.
            until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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

    /// Fetches the articles of `source` that are due: the posts this poll
    /// stored, and earlier ones whose retry time has come. Posts were stored
    /// (their keys claimed) before any article is fetched, so an article that
    /// two sources deliver is fetched once, and one that fails loses nothing.
    async fn fetch_articles(&self, source: &Source) -> Result<ArticleSummary, StoreError> {
        let mut summary = ArticleSummary::default();
        if source.follow == Follow::None {
            return Ok(summary);
        }
        let jobs = self
            .store
            .due_articles(&source.slug, Utc::now(), ARTICLE_BATCH)
            .await?;
        if jobs.is_empty() {
            return Ok(summary);
        }
        let _slot = self.article_slots.acquire().await.ok();
        // Only configuration lifts the guard: never where the publisher's
        // feed lives or what its names resolve to.
        let reach = if self.config.crawler.allow_private_networks || source.allow_private_networks {
            Reach::Any
        } else {
            Reach::PublicOnly
        };
        // Saved in small batches as they complete: memory stays bounded
        // however many articles a poll has, and a crash loses little.
        let mut batches = futures_util::stream::iter(jobs)
            .map(|job| self.fetch_article(source, job, reach))
            .buffer_unordered(self.config.crawler.concurrency)
            .chunks(ARTICLE_SAVE_BATCH);
        while let Some(results) = batches.next().await {
            for r in &results {
                match &r.outcome {
                    ArticleOutcome::Done(_) => summary.fetched += 1,
                    ArticleOutcome::Retry { next_at } => {
                        summary.failed += 1;
                        debug!(url = %r.fetch.url, error = r.fetch.error.as_deref().unwrap_or(""), %next_at, "article failed; will retry");
                    }
                    ArticleOutcome::GiveUp => {
                        summary.gave_up += 1;
                        warn!(url = %r.fetch.url, error = r.fetch.error.as_deref().unwrap_or(""), "article failed for the last time; the post keeps the feed's text");
                    }
                }
            }
            self.store.save_articles(&source.slug, results).await?;
            self.saved.notify_one();
        }
        Ok(summary)
    }

    async fn fetch_article(&self, source: &Source, job: ArticleJob, reach: Reach) -> ArticleResult {
        let started_at = crate::date::now_utc();
        let clock = Instant::now();
        let url = source.follow.article_url(
            job.url.as_deref(),
            job.info_code.as_deref(),
            job.guid.as_deref(),
        );
        let mut fetch = FetchRecord {
            url: url
                .as_ref()
                .map_or_else(|| job.url.clone().unwrap_or_default(), Url::to_string),
            started_at,
            duration_ms: 0,
            http_status: None,
            outcome: Outcome::Ok,
            bytes: 0,
            error: None,
        };
        let result: Result<ArticleFields, String> = match url {
            None => Err("no article URL for this item".to_string()),
            Some(url) => match self
                .fetcher
                .get(&url, ARTICLE_ACCEPT, &Validators::default(), reach)
                .await
            {
                Ok(Fetched::Body(body)) => {
                    fetch.http_status = Some(body.status);
                    fetch.bytes = body.bytes.len() as u64;
                    let sel = source.article.clone();
                    let tz = self.config.crawler.timezone;
                    tokio::task::spawn_blocking(move || extract(body, &sel, tz))
                        .await
                        .unwrap_or_else(|e| Err(format!("extraction crashed: {e}")))
                }
                Ok(Fetched::NotModified { .. }) => {
                    fetch.http_status = Some(304);
                    Err("unexpected 304".to_string())
                }
                Err(e) => {
                    fetch.http_status = e.http_status();
                    Err(e.to_string())
                }
            },
        };
        fetch.duration_ms = clock.elapsed().as_millis() as i64;
        let outcome = match result {
            Ok(fields) => ArticleOutcome::Done(fields),
            Err(e) => {
                fetch.outcome = Outcome::Error;
                fetch.error = Some(e);
                let attempts = job.attempts + 1;
                if attempts >= self.config.crawler.article_attempts {
                    ArticleOutcome::GiveUp
                } else {
                    let next = Utc::now()
                        + crate::schedule::backoff(ARTICLE_RETRY, attempts, ARTICLE_RETRY_CAP);
                    ArticleOutcome::Retry {
                        next_at: next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    }
                }
            }
        };
        ArticleResult {
            post_id: job.post_id,
            fetch,
            outcome,
        }
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
                started_at: crate::date::now_utc(),
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
