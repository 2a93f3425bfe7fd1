//! The store: where posts, sources and their history live, behind domain
//! operations. [`Store`] is the writer (what the crawler, the daemon and the
//! commands that change things use: save a poll, due articles, save
//! articles, source state and schedule, prune, the search index);
//! [`Reader`] is a read-only view (exports, listings, search). Both take
//! and give the plain data of [`model`]; no backend type appears outside
//! this module. The one backend today is SQLite ([`sqlite`]), the
//! interface for downstream tools: a second one goes beside it and
//! implements the same operations.
//!
//! Every poll is saved in one transaction: the fetch row, its posts, their
//! `post_sources` rows and the source's health, or nothing.

#[cfg(test)]
mod conformance;
pub mod error;
pub mod model;
mod sqlite;

use std::path::Path;

use chrono::{DateTime, Utc};

pub use error::StoreError;
pub use model::*;

/// The writer: one connection on a thread of its own, taking operations in
/// order; between them it keeps the search index up to date.
pub struct Store {
    writer: sqlite::Writer,
}

impl Store {
    /// Opens (creating and migrating) the database with a writer that keeps
    /// the search index up to date whenever it has no other work.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, true)
    }

    /// Opens the database; with `index` false the writer leaves the search
    /// index alone (`crawl --once --defer-index`: the posts queued for it
    /// stay queued, and the count it reports stays true).
    pub fn open_with(path: &Path, index: bool) -> Result<Store, StoreError> {
        Ok(Store {
            writer: sqlite::Writer::open_with(path, index)?,
        })
    }

    /// Makes every configured source's row match the configuration
    /// (`(slug, name, url)` in configuration order); sources no longer
    /// configured are marked removed, their posts and history kept.
    pub async fn sync_sources(
        &self,
        sources: Vec<(String, String, String)>,
    ) -> Result<(), StoreError> {
        self.writer
            .call(move |c| sqlite::sync_sources(c, &sources))
            .await
    }

    /// The stored state a poll of `slug` starts from.
    pub async fn source_state(&self, slug: &str) -> Result<SourceState, StoreError> {
        let slug = slug.to_string();
        self.writer
            .call(move |c| sqlite::source_state(c, &slug))
            .await
    }

    /// Records when `slug` is due next.
    pub async fn set_next_poll(&self, slug: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (slug, at) = (slug.to_string(), utc_text(at));
        self.writer
            .call(move |c| sqlite::set_next_poll(c, &slug, &at))
            .await
    }

    /// Saves one poll in one transaction (see [`PollRecord`]).
    pub async fn save_poll(&self, poll: PollRecord) -> Result<SaveSummary, StoreError> {
        self.writer
            .call_stories(move |c, stories| sqlite::save_poll(c, stories, &poll))
            .await
    }

    /// How posts are grouped into stories from now on (`[stories]`).
    pub async fn configure_stories(
        &self,
        config: crate::config::StoriesConfig,
    ) -> Result<(), StoreError> {
        self.writer
            .call_stories(move |_, stories| {
                stories.configure(config);
                Ok(())
            })
            .await
    }

    /// Posts whose article `source` fetches and that are due at `now`,
    /// oldest first, at most `limit`.
    pub async fn due_articles(
        &self,
        source: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ArticleJob>, StoreError> {
        let (source, now) = (source.to_string(), utc_text(now));
        self.writer
            .call(move |c| sqlite::due_articles(c, &source, &now, limit))
            .await
    }

    /// Saves a batch of article attempts of `source` in one transaction.
    pub async fn save_articles(
        &self,
        source: &str,
        results: Vec<ArticleResult>,
    ) -> Result<(), StoreError> {
        let source = source.to_string();
        self.writer
            .call_stories(move |c, stories| sqlite::save_articles(c, stories, &source, &results))
            .await
    }

    /// Deletes posts published (else fetched) before `cutoff`, keeping their
    /// keys as tombstones, and older fetch records.
    pub async fn prune(&self, cutoffs: Cutoffs) -> Result<PruneSummary, StoreError> {
        self.writer.call(move |c| sqlite::prune(c, &cutoffs)).await
    }

    /// Posts stored but not yet searchable through the index alone.
    pub async fn unindexed(&self) -> Result<usize, StoreError> {
        self.writer.call(|c| sqlite::unindexed(c)).await
    }

    /// Brings the search index up to date; returns how many posts it indexed.
    pub async fn index_all(&self) -> Result<usize, StoreError> {
        self.writer.call(sqlite::index_all).await
    }

    /// Gives every post without a story (stored before stories were, or by
    /// another tool) its story; returns how many. The writer does so in its
    /// idle time; `crawl --once` makes sure before it exits.
    pub async fn assign_stories(&self) -> Result<usize, StoreError> {
        self.writer
            .call_stories(|c, stories| {
                let mut total = 0;
                loop {
                    let n = stories.assign_unassigned(c, sqlite::STORY_SLICE)?;
                    total += n;
                    if n < sqlite::STORY_SLICE {
                        return Ok(total);
                    }
                }
            })
            .await
    }

    /// Records that the continuous export `name` has written every change up to `seq`.
    pub async fn set_export_cursor(&self, name: &str, seq: i64) -> Result<(), StoreError> {
        let name = name.to_string();
        self.writer
            .call(move |c| sqlite::set_export_cursor(c, &name, seq))
            .await
    }

    /// Answers when the writer runs and the database answers it (the
    /// daemon's watchdog).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.writer.call(sqlite::ping).await
    }
}

/// A read-only view of an existing database: what exports, listings and
/// search read. Several may be open beside the writer, in other processes
/// too.
pub struct Reader {
    inner: sqlite::ReadConn,
}

impl Reader {
    /// Opens the database at `path` read-only; `None` when there is none
    /// yet (commands that only read must not create it).
    pub fn open(path: &Path) -> Result<Option<Reader>, StoreError> {
        Ok(sqlite::ReadConn::open(path)?.map(|inner| Reader { inner }))
    }

    /// Runs `f` on one consistent snapshot of the database (what it reads
    /// does not change under it while the writer goes on).
    pub fn snapshot<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Reader) -> Result<R, E>,
    ) -> Result<R, E> {
        let _tx = self.inner.begin()?;
        f(self)
    }

    /// Every post that `filter` lets through, in id order, handed to `f`
    /// one by one (memory stays flat whatever the count).
    pub fn for_each_post<E: From<StoreError>>(
        &self,
        filter: &PostFilter,
        f: impl FnMut(PostRow) -> Result<(), E>,
    ) -> Result<(), E> {
        sqlite::for_each_post(self.inner.conn(), filter, f)
    }

    /// Whether some post has this infoCode.
    pub fn has_info_code(&self, code: &str) -> Result<bool, StoreError> {
        sqlite::has_info_code(self.inner.conn(), code)
    }

    /// Whether a post with this identity is stored.
    pub fn is_stored(&self, post: &NewPost) -> Result<bool, StoreError> {
        sqlite::is_stored(self.inner.conn(), post)
    }

    /// Every known source with its health and post count.
    pub fn list_sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        sqlite::list_sources(self.inner.conn())
    }

    /// The posts that match `query` and `filter`, newest first, at most
    /// `limit`; never stale (posts not indexed yet are read directly).
    pub fn search(
        &self,
        query: &crate::search::Query,
        filter: &PostFilter,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        sqlite::search(self.inner.conn(), query, filter, limit)
    }

    /// The highest change number given out so far (0 when none).
    pub fn last_change(&self) -> Result<i64, StoreError> {
        sqlite::last_change(self.inner.conn())
    }

    /// The changes after `after`, oldest first, at most `limit`: each a
    /// change number and the post it changed (`post_changes`).
    pub fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, i64)>, StoreError> {
        sqlite::changes_after(self.inner.conn(), after, limit)
    }

    /// The highest post id given out so far (0 before the first post).
    pub fn max_post_id(&self) -> Result<i64, StoreError> {
        sqlite::max_post_id(self.inner.conn())
    }

    /// The cursor `name`, or `None` when there is none.
    pub fn find_export_cursor(&self, name: &str) -> Result<Option<i64>, StoreError> {
        sqlite::find_export_cursor(self.inner.conn(), name)
    }

    /// How far the continuous export `name` got (0 when it never ran).
    pub fn export_cursor(&self, name: &str) -> Result<i64, StoreError> {
        sqlite::export_cursor(self.inner.conn(), name)
    }

    /// The stories last seen at or after `since` with at least `min_posts`
    /// posts, the biggest first, at most `limit`, each with its posts.
    pub fn stories(
        &self,
        since: DateTime<Utc>,
        min_posts: i64,
        limit: usize,
    ) -> Result<Vec<StoryRow>, StoreError> {
        sqlite::list_stories(self.inner.conn(), &utc_text(since), min_posts, limit)
    }

    /// The posts of story `id`, the earliest first.
    pub fn story_posts(&self, id: i64) -> Result<Vec<StoryPost>, StoreError> {
        sqlite::story_posts(self.inner.conn(), id)
    }

    /// What [`Store::prune`] would delete before `cutoff`, deleting nothing.
    pub fn prune_preview(&self, cutoffs: &Cutoffs) -> Result<PruneSummary, StoreError> {
        sqlite::prune_preview(self.inner.conn(), cutoffs)
    }
}

/// UTC as the database keeps it: RFC 3339, whole seconds, `Z`.
fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
