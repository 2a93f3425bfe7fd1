//! The store: where posts, sources and their history live, behind domain
//! operations. [`Store`] is the writer (what the crawler, the daemon and the
//! commands that change things use: save a poll, due articles, save
//! articles, source state and schedule, prune, the search index);
//! [`Reader`] is a read-only view (exports, listings, search). Both take
//! and give the plain data of [`model`]; no backend type appears outside
//! this module. Two backends implement the same operations: SQLite
//! ([`sqlite`], the embedded default: one file, nothing to run) and
//! PostgreSQL ([`postgres`], a server that other hosts and tools share);
//! [`story_state`] is the writer's story index, common to both.
//!
//! Every poll is saved in one transaction: the fetch row, its posts, their
//! `post_sources` rows and the source's health, or nothing.

#[cfg(test)]
mod conformance;
pub mod error;
pub mod model;
mod postgres;
mod sqlite;
pub(crate) mod story_state;
pub mod transfer;

use chrono::{DateTime, Utc};

use crate::config::Database;
pub use error::StoreError;
pub use model::*;
pub(crate) use sqlite::use_global_allocator as sqlite_uses_global_allocator;

/// The writer's backend.
enum Backend {
    Sqlite(sqlite::Writer),
    Postgres(postgres::Worker),
}

/// Runs one operation on the writer, whichever its backend: `db::` in the
/// body names the backend's module (`sqlite` or `postgres`), whose
/// function of that name takes the connection first. `call` runs it with
/// the connection, `call_stories` with the story state too.
macro_rules! on_writer {
    ($self:ident, call, move |$c:ident| $body:expr) => {
        match &$self.backend {
            Backend::Sqlite(w) => {
                #[allow(unused_imports)]
                use sqlite as db;
                w.call(move |$c| $body).await
            }
            Backend::Postgres(w) => {
                #[allow(unused_imports)]
                use postgres as db;
                w.call(move |$c| $body).await
            }
        }
    };
    ($self:ident, call_stories, move |$c:ident, $s:ident| $body:expr) => {
        match &$self.backend {
            Backend::Sqlite(w) => {
                #[allow(unused_imports)]
                use sqlite as db;
                w.call_stories(move |$c, $s| $body).await
            }
            Backend::Postgres(w) => {
                #[allow(unused_imports)]
                use postgres as db;
                w.call_stories(move |$c, $s| $body).await
            }
        }
    };
}

/// The writer: one connection on a thread of its own, taking operations in
/// order; on SQLite, between them it keeps the search index up to date.
pub struct Store {
    backend: Backend,
}

impl Store {
    /// Opens (creating and migrating) the database with a writer that keeps
    /// the search index up to date whenever it has no other work.
    pub fn open(db: &Database) -> Result<Store, StoreError> {
        Store::open_with(db, true)
    }

    /// Opens the database; with `index` false the writer leaves the search
    /// index alone (`crawl --once --defer-index`: the posts queued for it
    /// stay queued, and the count it reports stays true). PostgreSQL keeps
    /// its index with each row: there is nothing to defer.
    pub fn open_with(db: &Database, index: bool) -> Result<Store, StoreError> {
        let backend = match db {
            Database::Sqlite(path) => Backend::Sqlite(sqlite::Writer::open_with(path, index)?),
            Database::Postgres(target) => Backend::Postgres(postgres::Worker::writer(target)?),
        };
        Ok(Store { backend })
    }

    /// Makes every configured source's row match the configuration
    /// (`(slug, name, url)` in configuration order); sources no longer
    /// configured are marked removed, their posts and history kept.
    pub async fn sync_sources(
        &self,
        sources: Vec<(String, String, String)>,
    ) -> Result<(), StoreError> {
        on_writer!(self, call, move |c| db::sync_sources(c, &sources))
    }

    /// The stored state a poll of `slug` starts from.
    pub async fn source_state(&self, slug: &str) -> Result<SourceState, StoreError> {
        let slug = slug.to_string();
        on_writer!(self, call, move |c| db::source_state(c, &slug))
    }

    /// Records when `slug` is due next.
    pub async fn set_next_poll(&self, slug: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let slug = slug.to_string();
        match &self.backend {
            Backend::Sqlite(w) => {
                let at = utc_text(at);
                w.call(move |c| sqlite::set_next_poll(c, &slug, &at)).await
            }
            Backend::Postgres(w) => w.call(move |c| postgres::set_next_poll(c, &slug, at)).await,
        }
    }

    /// Saves one poll, all or nothing (see [`PollRecord`]); on SQLite in
    /// one transaction with the polls' saves waiting beside it.
    pub async fn save_poll(&self, poll: PollRecord) -> Result<SaveSummary, StoreError> {
        match &self.backend {
            Backend::Sqlite(w) => {
                w.call_shared(move |c, stories| sqlite::save_poll_in(c, stories, &poll))
                    .await
            }
            Backend::Postgres(w) => {
                w.call_stories(move |c, stories| postgres::save_poll(c, stories, &poll))
                    .await
            }
        }
    }

    /// How posts are grouped into stories from now on (`[stories]`).
    pub async fn configure_stories(
        &self,
        config: crate::config::StoriesConfig,
    ) -> Result<(), StoreError> {
        on_writer!(self, call_stories, move |_c, stories| {
            stories.configure(config);
            Ok(())
        })
    }

    /// Posts whose article `source` fetches and that are due at `now`,
    /// oldest first, at most `limit`.
    pub async fn due_articles(
        &self,
        source: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ArticleJob>, StoreError> {
        let source = source.to_string();
        match &self.backend {
            Backend::Sqlite(w) => {
                let now = utc_text(now);
                w.call(move |c| sqlite::due_articles(c, &source, &now, limit))
                    .await
            }
            Backend::Postgres(w) => {
                w.call(move |c| postgres::due_articles(c, &source, now, limit))
                    .await
            }
        }
    }

    /// Saves a batch of article attempts of `source` in one transaction.
    pub async fn save_articles(
        &self,
        source: &str,
        results: Vec<ArticleResult>,
    ) -> Result<(), StoreError> {
        let source = source.to_string();
        on_writer!(self, call_stories, move |c, stories| db::save_articles(
            c, stories, &source, &results
        ))
    }

    /// Deletes posts published (else fetched) before `cutoff`, keeping their
    /// keys as tombstones, and older fetch records.
    pub async fn prune(&self, cutoffs: Cutoffs) -> Result<PruneSummary, StoreError> {
        on_writer!(self, call, move |c| db::prune(c, &cutoffs))
    }

    /// Posts stored but not yet searchable through the index alone (none
    /// on PostgreSQL, which indexes each row as it is written).
    pub async fn unindexed(&self) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(w) => w.call(|c| sqlite::unindexed(c)).await,
            Backend::Postgres(_) => Ok(0),
        }
    }

    /// Brings the search index up to date; returns how many posts it indexed.
    pub async fn index_all(&self) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(w) => w.call(sqlite::index_all).await,
            Backend::Postgres(_) => Ok(0),
        }
    }

    /// Gives every post without a story (stored before stories were, or by
    /// another tool) its story; returns how many. The writer does so in its
    /// idle time; `crawl --once` makes sure before it exits.
    pub async fn assign_stories(&self) -> Result<usize, StoreError> {
        on_writer!(self, call_stories, move |c, stories| {
            let mut total = 0;
            loop {
                let n = db::assign_unassigned(c, stories, sqlite::STORY_SLICE)?;
                total += n;
                if n < sqlite::STORY_SLICE {
                    return Ok(total);
                }
            }
        })
    }

    /// Records that the continuous export `name` has written every change up to `seq`.
    pub async fn set_export_cursor(&self, name: &str, seq: i64) -> Result<(), StoreError> {
        let name = name.to_string();
        on_writer!(self, call, move |c| db::set_export_cursor(c, &name, seq))
    }

    /// Whether several daemons may share this database, each poll claimed
    /// by one of them ([`Store::claim_poll`]): PostgreSQL. On SQLite one
    /// daemon runs per database (its lock file).
    pub fn shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Claims the poll of `slug` due now for the daemon `holder`, for
    /// `lease` at most, moving the source's next poll to `next`; `false`
    /// when another daemon polls it (or it is not due by the database's
    /// clock, give or take `early`). Always granted on SQLite.
    pub async fn claim_poll(
        &self,
        slug: &str,
        holder: &str,
        lease: std::time::Duration,
        early: std::time::Duration,
        next: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (slug, holder) = (slug.to_string(), holder.to_string());
        match &self.backend {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(w) => {
                w.call(move |c| postgres::claim_poll(c, &slug, &holder, lease, early, next))
                    .await
            }
        }
    }

    /// Whether this daemon runs `duty` (the continuous Jekyll export, a
    /// hook: what must run once however many daemons share the database).
    /// On a shared database the first daemon to ask holds it (a session
    /// advisory lock of its writer connection) until it ends: a daemon
    /// that dies, or whose connection drops, lets another take it at its
    /// next ask. Always on SQLite, where one daemon runs.
    pub async fn lead(&self, duty: &str) -> Result<bool, StoreError> {
        let duty = duty.to_string();
        match &self.backend {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(w) => w.call(move |c| postgres::lead(c, &duty)).await,
        }
    }

    /// Gives up every claim `holder` still holds (a daemon stopping with
    /// polls abandoned, which saved nothing): their sources are due again
    /// at once, for any daemon, instead of when the claims would expire.
    /// How many; always 0 on SQLite.
    pub async fn release_held(&self, holder: &str) -> Result<u64, StoreError> {
        let holder = holder.to_string();
        match &self.backend {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(w) => w.call(move |c| postgres::release_held(c, &holder)).await,
        }
    }

    /// Ends `holder`'s claim on `slug` and sets when it is next due.
    pub async fn release_poll(
        &self,
        slug: &str,
        holder: &str,
        next: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (slug, holder) = (slug.to_string(), holder.to_string());
        match &self.backend {
            Backend::Sqlite(w) => {
                let next = utc_text(next);
                w.call(move |c| sqlite::set_next_poll(c, &slug, &next))
                    .await
            }
            Backend::Postgres(w) => {
                w.call(move |c| postgres::release_poll(c, &slug, &holder, next))
                    .await
            }
        }
    }

    /// Reserves the next start of a request to `host` on a shared database,
    /// `delay` after the one reserved before it by any daemon; how long to
    /// wait for it (`None` on SQLite, where one daemon paces its own).
    pub async fn host_turn(
        &self,
        host: String,
        delay: std::time::Duration,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(w) => {
                w.call(move |c| postgres::host_turn(c, &host, delay).map(Some))
                    .await
            }
        }
    }

    /// Takes one of `per_host` places for a request to `host` among every
    /// daemon's on a shared database, other than the places `held` (this
    /// daemon's own); `None` when all are taken. The place is the writer
    /// connection's until [`Store::host_leave`] (or until it ends: a daemon
    /// that dies gives its places back at once).
    pub async fn host_place(
        &self,
        host: String,
        per_host: usize,
        held: Vec<i32>,
    ) -> Result<Option<i32>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(w) => {
                w.call(move |c| postgres::host_place(c, &host, per_host, &held))
                    .await
            }
        }
    }

    /// Gives place `slot` of `host` back.
    pub async fn host_leave(&self, host: String, slot: i32) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(w) => w.call(move |c| postgres::host_leave(c, &host, slot)).await,
        }
    }

    /// Records the digest of the configuration `holder` synced the sources
    /// with; on a shared database, returns the daemon and time of the one
    /// recorded before when it differs (`None` on SQLite).
    pub async fn record_config(
        &self,
        digest: &str,
        holder: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let (digest, holder) = (digest.to_string(), holder.to_string());
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(w) => {
                w.call(move |c| postgres::record_config(c, &digest, &holder))
                    .await
            }
        }
    }

    /// Answers when the writer runs and the database answers it (the
    /// daemon's watchdog).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_writer!(self, call, move |c| db::ping(c))
    }
}

/// Posts a PostgreSQL reader reads per call in [`Reader::for_each_post`].
const POST_PAGE: usize = 200;

/// A reader's backend.
enum ReadBackend {
    Sqlite(sqlite::ReadConn),
    Postgres(postgres::ReadConn),
}

/// Runs one read on the reader's connection, whichever its backend (as
/// [`on_writer`]: `db::` names the backend's module).
macro_rules! on_reader {
    ($self:ident, move |$c:ident| $body:expr) => {
        match &$self.inner {
            ReadBackend::Sqlite(r) => {
                #[allow(unused_imports)]
                use sqlite as db;
                let $c = r.conn();
                $body
            }
            ReadBackend::Postgres(r) => {
                #[allow(unused_imports)]
                use postgres as db;
                r.call(move |$c| $body)
            }
        }
    };
}

/// A read-only view of an existing database: what exports, listings and
/// search read. Several may be open beside the writer, in other processes
/// too.
pub struct Reader {
    inner: ReadBackend,
}

impl Reader {
    /// Opens the database read-only; `None` when there is none yet
    /// (commands that only read must not create it; a PostgreSQL database
    /// without newscrawl's tables is none).
    pub fn open(db: &Database) -> Result<Option<Reader>, StoreError> {
        match db {
            Database::Sqlite(path) => Ok(sqlite::ReadConn::open(path)?.map(|r| Reader {
                inner: ReadBackend::Sqlite(r),
            })),
            Database::Postgres(target) => match postgres::ReadConn::open(target) {
                Ok(r) => Ok(Some(Reader {
                    inner: ReadBackend::Postgres(r),
                })),
                Err(StoreError::NoSchema) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Runs `f` on one consistent snapshot of the database (what it reads
    /// does not change under it while the writer goes on).
    pub fn snapshot<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Reader) -> Result<R, E>,
    ) -> Result<R, E> {
        match &self.inner {
            ReadBackend::Sqlite(r) => {
                let _tx = r.begin()?;
                f(self)
            }
            ReadBackend::Postgres(r) => {
                r.begin()?;
                let result = f(self);
                r.end()?;
                result
            }
        }
    }

    /// Every post that `filter` lets through, in id order, handed to `f`
    /// one by one (memory stays flat whatever the count).
    pub fn for_each_post<E: From<StoreError>>(
        &self,
        filter: &PostFilter,
        mut f: impl FnMut(PostRow) -> Result<(), E>,
    ) -> Result<(), E> {
        match &self.inner {
            ReadBackend::Sqlite(r) => sqlite::for_each_post(r.conn(), filter, f),
            ReadBackend::Postgres(r) => {
                // A page at a time, each its own call: `f` may read other
                // things on this reader between two posts.
                let mut after = 0;
                loop {
                    let filter = filter.clone();
                    let page =
                        r.call(move |c| postgres::post_page(c, &filter, after, POST_PAGE))?;
                    let Some(last) = page.last() else {
                        return Ok(());
                    };
                    after = last.id;
                    let full = page.len() == POST_PAGE;
                    for post in page {
                        f(post)?;
                    }
                    if !full {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Whether some post has this infoCode.
    pub fn has_info_code(&self, code: &str) -> Result<bool, StoreError> {
        let code = code.to_string();
        on_reader!(self, move |c| db::has_info_code(c, &code))
    }

    /// Whether a post with this identity is stored.
    pub fn is_stored(&self, post: &NewPost) -> Result<bool, StoreError> {
        let post = post.clone();
        on_reader!(self, move |c| db::is_stored(c, &post))
    }

    /// Every known source with its health and post count.
    pub fn list_sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        on_reader!(self, move |c| db::list_sources(c))
    }

    /// The posts that match `query` and `filter`, newest first, at most
    /// `limit`; never stale (posts not indexed yet are read directly).
    pub fn search(
        &self,
        query: &crate::search::Query,
        filter: &PostFilter,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let (query, filter) = (query.clone(), filter.clone());
        on_reader!(self, move |c| db::search(c, &query, &filter, limit))
    }

    /// The highest change number given out so far (0 when none).
    pub fn last_change(&self) -> Result<i64, StoreError> {
        on_reader!(self, move |c| db::last_change(c))
    }

    /// The changes after `after`, oldest first, at most `limit`: each a
    /// change number and the post it changed (`post_changes`).
    pub fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, i64)>, StoreError> {
        on_reader!(self, move |c| db::changes_after(c, after, limit))
    }

    /// The highest post id given out so far (0 before the first post).
    pub fn max_post_id(&self) -> Result<i64, StoreError> {
        on_reader!(self, move |c| db::max_post_id(c))
    }

    /// The cursor `name`, or `None` when there is none.
    pub fn find_export_cursor(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let name = name.to_string();
        on_reader!(self, move |c| db::find_export_cursor(c, &name))
    }

    /// How far the continuous export `name` got (0 when it never ran).
    pub fn export_cursor(&self, name: &str) -> Result<i64, StoreError> {
        let name = name.to_string();
        on_reader!(self, move |c| db::export_cursor(c, &name))
    }

    /// The stories last seen at or after `since` with at least `min_posts`
    /// posts, the biggest first, at most `limit`, each with its posts.
    pub fn stories(
        &self,
        since: DateTime<Utc>,
        min_posts: i64,
        limit: usize,
    ) -> Result<Vec<StoryRow>, StoreError> {
        match &self.inner {
            ReadBackend::Sqlite(r) => {
                sqlite::list_stories(r.conn(), &utc_text(since), min_posts, limit)
            }
            ReadBackend::Postgres(r) => {
                r.call(move |c| postgres::list_stories(c, since, min_posts, limit))
            }
        }
    }

    /// The posts of story `id`, the earliest first.
    pub fn story_posts(&self, id: i64) -> Result<Vec<StoryPost>, StoreError> {
        on_reader!(self, move |c| db::story_posts(c, id))
    }

    /// What [`Store::prune`] would delete before `cutoff`, deleting nothing.
    pub fn prune_preview(&self, cutoffs: &Cutoffs) -> Result<PruneSummary, StoreError> {
        let cutoffs = cutoffs.clone();
        on_reader!(self, move |c| db::prune_preview(c, &cutoffs))
    }
}

/// UTC as the database keeps it: RFC 3339, whole seconds, `Z`.
fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What a daemon runs after its polls (the continuous Jekyll export, a
/// hook) on a database several daemons may share: it runs on the one
/// daemon that holds it ([`Store::lead`]), and each daemon asks before
/// each round. Says at INFO when this daemon takes it up or stands by.
pub struct Duty {
    name: String,
    what: String,
    /// 0: not asked yet, 1: another daemon's, 2: this one's.
    state: std::sync::atomic::AtomicU8,
}

/// How often a daemon on a shared database runs a duty's round besides
/// after its own polls: other daemons' posts, and a duty whose daemon died.
pub const SHARED_ROUND: std::time::Duration = std::time::Duration::from_secs(2);

impl Duty {
    /// `name` is the lock's (unique per duty), `what` the logs'.
    pub fn new(name: String, what: String) -> Duty {
        Duty {
            name,
            what,
            state: std::sync::atomic::AtomicU8::new(0),
        }
    }

    /// Whether this daemon runs the duty now.
    pub async fn mine(&self, store: &Store) -> Result<bool, StoreError> {
        let mine = store.lead(&self.name).await?;
        let now = if mine { 2 } else { 1 };
        let before = self.state.swap(now, std::sync::atomic::Ordering::Relaxed);
        if store.shared() && before != now {
            if mine {
                tracing::info!(
                    "this daemon runs the {} (the database is shared)",
                    self.what
                );
            } else {
                tracing::info!("another daemon runs the {}; this one stands by", self.what);
            }
        }
        Ok(mine)
    }
}

/// A reader kept between the rounds of a daemon's duty (on PostgreSQL a
/// connection, and its TLS handshake, made once rather than every round);
/// made again after a round whose read failed.
pub struct KeptReader {
    db: Database,
    reader: std::sync::Mutex<Option<Reader>>,
}

impl KeptReader {
    pub fn new(db: Database) -> KeptReader {
        KeptReader {
            db,
            reader: std::sync::Mutex::new(None),
        }
    }

    /// Runs `f` with the reader, opening it when there is none (blocking:
    /// off the async threads); `None` when the database is not there yet.
    pub fn with<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Reader) -> Result<R, E>,
    ) -> Result<Option<R>, E> {
        let mut slot = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Reader::open(&self.db)?;
        }
        let Some(reader) = slot.as_ref() else {
            return Ok(None);
        };
        let out = f(reader);
        if out.is_err() {
            *slot = None;
        }
        out.map(Some)
    }

    /// The database it reads.
    pub fn database(&self) -> &Database {
        &self.db
    }
}
