//! The article pages a source follows (`follow`): which are due, fetched
//! within the guard and the limits, extracted, saved in batches; a page
//! that fails is tried again later, up to `crawler.article_attempts`.

use super::*;

pub const ARTICLE_ACCEPT: &str =
    "text/html, application/xhtml+xml, application/json;q=0.9, */*;q=0.8";

/// Articles due in one poll at most; the rest wait for the next.
pub(super) const ARTICLE_BATCH: usize = 1000;

/// Article results saved per transaction.
pub(super) const ARTICLE_SAVE_BATCH: usize = 16;

/// An article that failed waits this long before its next try, doubling
/// with each failure ([`crate::schedule::backoff`]), at most
/// [`ARTICLE_RETRY_CAP`].
pub const ARTICLE_RETRY: std::time::Duration = std::time::Duration::from_secs(600);

pub const ARTICLE_RETRY_CAP: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

impl Crawler {
    /// Fetches the articles of `source` that are due: the posts this poll
    /// stored, and earlier ones whose retry time has come. Posts were stored
    /// (their keys claimed) before any article is fetched, so an article that
    /// two sources deliver is fetched once, and one that fails loses nothing.
    pub(super) async fn fetch_articles(
        &self,
        source: &Source,
    ) -> Result<ArticleSummary, StoreError> {
        let mut summary = ArticleSummary::default();
        if source.follow == Follow::None {
            return Ok(summary);
        }
        // A look first, so that a source with nothing due never waits for
        // a slot; the jobs themselves are read once the slot is taken, so
        // that the sources waiting for one hold nothing (holding them all
        // was 17 MB of the 40 MB heap peak of a 1,000-source crawl with
        // articles).
        let any = self.store.due_articles(&source.slug, Utc::now(), 1).await?;
        if any.is_empty() {
            return Ok(summary);
        }
        let _slot = self.article_slots.acquire().await.ok();
        let jobs = self
            .store
            .due_articles(&source.slug, Utc::now(), ARTICLE_BATCH)
            .await?;
        if jobs.is_empty() {
            return Ok(summary);
        }
        let reach = reach(&self.config, source);
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
        let started_at = Utc::now();
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
            Some(url) => match get_article(&self.fetcher, &url, reach, source).await {
                Ok(Fetched::Body(body)) => {
                    fetch.http_status = Some(body.status);
                    fetch.bytes = body.bytes.len() as u64;
                    let sel = source.article.clone();
                    let tz = self.config.crawler.timezone;
                    let title = job.title.clone();
                    let group = self.config.stories.group;
                    tokio::task::spawn_blocking(move || extract(body, &sel, tz, title, group))
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
                    ArticleOutcome::Retry { next_at: next }
                }
            }
        };
        ArticleResult {
            post_id: job.post_id,
            fetch,
            outcome,
        }
    }
}

/// Where a source's article links may lead. Only configuration lifts the
/// guard: never where the publisher's feed lives or what its names resolve
/// to.
fn reach(config: &crate::config::Config, source: &Source) -> Reach {
    if config.crawler.allow_private_networks || source.allow_private_networks {
        Reach::Any
    } else {
        Reach::PublicOnly
    }
}

/// GET an article page with the source's fetch options.
async fn get_article(
    fetcher: &crate::fetch::Fetcher,
    url: &Url,
    reach: Reach,
    source: &Source,
) -> Result<Fetched, crate::error::FetchError> {
    fetcher
        .get(
            url,
            ARTICLE_ACCEPT,
            &Validators::default(),
            reach,
            &source.fetch,
        )
        .await
}

/// Fetches and extracts `post`'s article as a crawl would, storing
/// nothing (`sources check --articles`).
pub async fn preview_article(
    fetcher: &crate::fetch::Fetcher,
    config: &crate::config::Config,
    source: &Source,
    post: &crate::store::NewPost,
) -> Result<(Url, ArticleFields), String> {
    let url = source
        .follow
        .article_url(
            post.url.as_deref(),
            post.identity.info_code.as_deref(),
            post.guid.as_deref(),
        )
        .ok_or("no article URL for this item (follow = \"none\", or the template needs what the item lacks)")?;
    let body = match get_article(fetcher, &url, reach(config, source), source).await {
        Ok(Fetched::Body(body)) => body,
        Ok(Fetched::NotModified { .. }) => return Err(format!("{url}: 304 to a plain GET")),
        Err(e) => return Err(e.to_string()),
    };
    let sel = source.article.clone();
    let tz = config.crawler.timezone;
    let title = post.title.clone();
    let group = config.stories.group;
    let fields = tokio::task::spawn_blocking(move || extract(body, &sel, tz, title, group))
        .await
        .unwrap_or_else(|e| Err(format!("extraction crashed: {e}")))?;
    Ok((url, fields))
}

/// Page (or endpoint answer) → the post's article columns and, when
/// `group` (`[stories] group`), its fingerprint with them (under the
/// post's `title`, which it keeps); an empty extraction is a failure.
fn extract(
    body: Body,
    sel: &crate::config::ArticleSelectors,
    tz: chrono_tz::Tz,
    title: Option<String>,
    group: bool,
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
    let fingerprint = group.then(|| {
        Box::new(crate::stories::Fingerprint::of(
            title.as_deref().or(found.title.as_deref()).unwrap_or(""),
            found.content_text.as_deref().unwrap_or(""),
        ))
    });
    Ok(ArticleFields {
        fingerprint,
        title: found.title,
        published_at: found.published,
        content_html: found.content_html,
        content_text: found.content_text,
        origin: found.origin,
    })
}
