//! SQLite, the interface for downstream tools, and the only module that
//! speaks SQL. Opening migrates forward by `PRAGMA user_version`; the
//! database runs in WAL mode with a busy timeout. One writer connection lives
//! on its own thread and takes work through a channel ([`Store::call`]), and a
//! source's poll is saved in one transaction: the fetch row, its posts, their
//! `post_sources` rows and the source's health, or nothing. The same thread
//! keeps `posts_fts` up to date in batches ([`index_pending`]).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::DateTime;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::dedup::{Earlier, Identity};
use crate::error::StoreError;
use crate::fetch::Validators;

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_articles.sql"),
    include_str!("migrations/003_tombstones.sql"),
    include_str!("migrations/004_sources_state.sql"),
    include_str!("migrations/005_deferred_fts.sql"),
    include_str!("migrations/006_identity.sql"),
    include_str!("migrations/007_cjk_search.sql"),
    include_str!("migrations/008_utc_removed_kind.sql"),
    include_str!("migrations/009_post_changes.sql"),
    include_str!("migrations/010_source_references.sql"),
];

/// Tables a migration makes anew (version, tables): the migration creates
/// `<table>_new` with the new definition, and [`rebuild`] moves the rest.
const REBUILDS: &[(i64, &[&str])] = &[(10, &["posts", "post_sources", "fetches"])];

/// Replaces `table` by `<table>_new`, which a migration made with the new
/// definition: copies every column the two share (generated ones aside),
/// drops the old table, gives the new one its name, and creates the old
/// table's indexes and triggers again (SQLite drops them with it), whoever
/// made them. This is SQLite's own procedure for changes `ALTER TABLE`
/// cannot make; it runs with foreign key enforcement off ([`migrate`]).
fn rebuild(tx: &Connection, table: &str) -> Result<(), StoreError> {
    let new = format!("{table}_new");
    let kept: Vec<String> = tx
        .prepare(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ?1 AND type IN ('index', 'trigger')
             AND sql IS NOT NULL ORDER BY type = 'trigger', rowid",
        )?
        .query_map([table], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // `hidden` is 0 for stored columns, 2 or 3 for generated ones.
    let columns = |t: &str| -> Result<Vec<String>, StoreError> {
        Ok(tx
            .prepare("SELECT name FROM pragma_table_xinfo(?1) WHERE hidden = 0")?
            .query_map([t], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    };
    let in_new = columns(&new)?;
    let shared: Vec<String> = columns(table)?
        .into_iter()
        .filter(|c| in_new.contains(c))
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    let list = shared.join(", ");
    tx.execute_batch(&format!(
        "INSERT INTO \"{new}\" ({list}) SELECT {list} FROM \"{table}\";
         DROP TABLE \"{table}\";
         ALTER TABLE \"{new}\" RENAME TO \"{table}\";"
    ))?;
    for sql in kept {
        tx.execute_batch(&sql)?;
    }
    Ok(())
}

/// How long a writer waits for another process's transaction to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens `path` (creating its directory and the file) and migrates it.
pub fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    // A new database file is made here rather than by SQLite, which makes
    // it 0644 whatever the umask allows: made 0666, the umask decides, so a
    // service with `UMask=0007` makes one its group may read and write (and
    // SQLite gives its -wal and -shm files the database's mode). An error
    // is SQLite's to report, below.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(path);
    }
    let mut conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    // Room for every statement the writer caches (34 in this module):
    // rusqlite keeps 16 by default, and a poll's save used more, so some
    // were parsed again for every post.
    conn.set_prepared_statement_cache_capacity(64);
    // A new database gives pruned pages back to the file system
    // (`prune` runs an incremental vacuum); this must precede the first table
    // and the switch to WAL, which writes the file's header.
    let tables: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(open_err)?;
    if tables == 0 {
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(open_err)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(open_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_err)?;
    // Checkpoint the WAL into the database every 10,000 pages (40 MB), not
    // every 1,000: the writer checkpoints on the commit that crosses the
    // mark, copying pages that later commits often change again, and syncs
    // the file each time. A cold crawl of 1,000 feeds (266 MB of text) took
    // 3.7 s instead of 4.4; 40,000 pages gained little more (3.5 s) for a
    // WAL four times the size.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)
        .map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open_err)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(open_err)?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Migrates forward in one transaction. Foreign key enforcement is off
/// meanwhile (a migration that makes a table anew drops the old one, which
/// must not cascade; SQLite changes the setting only outside a
/// transaction), and the references are checked before the commit.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let migrated = migrate_unchecked(conn, path);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrated
}

fn migrate_unchecked(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        // A database newscrawl never migrated must be empty: anything else
        // is another program's, and migration 1 would fail on it with a
        // page of SQL (or worse, succeed beside its tables).
        let tables: i64 = tx.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )?;
        if tables > 0 {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
            });
        }
    }
    if version > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let to = i as i64 + 1;
        tx.execute_batch(sql)?;
        for (_, tables) in REBUILDS.iter().filter(|(v, _)| *v == to) {
            for table in *tables {
                rebuild(&tx, table)?;
            }
        }
        tx.pragma_update(None, "user_version", to)?;
    }
    if version < known {
        let rows: i64 = tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
        if rows > 0 {
            return Err(StoreError::Dangling {
                path: path.to_path_buf(),
                version: known,
                rows,
            });
        }
    }
    tx.commit()?;
    Ok(())
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

impl StoreError {
    /// Names the database file when the error is the file system's doing.
    fn on_disk(self, path: &Path) -> StoreError {
        use rusqlite::ErrorCode::*;
        match self {
            StoreError::Sqlite(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(DiskFull | SystemIoFailure | ReadOnly | CannotOpen | PermissionDenied)
                ) =>
            {
                StoreError::Disk {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
            other => other,
        }
    }
}

/// Posts indexed for search per transaction by [`index_all`].
pub const INDEX_BATCH: usize = 2000;
/// Posts indexed per transaction while the writer has nothing else to do:
/// a poll that arrives meanwhile waits for one slice at most (about 20 ms
/// of 1–3 KB bodies on the benchmark machine).
const INDEX_SLICE: usize = 200;
/// With nothing queued, the writer still looks this often for posts whose
/// wait for their article ran out.
const INDEX_RECHECK: Duration = Duration::from_secs(60);

/// Runs jobs as they come; whenever none is waiting, indexes a slice of the
/// queued posts for search. Polls come first: indexing never holds a poll
/// for more than one slice, and catches up when the polls pause.
fn writer_loop(conn: &mut Connection, jobs: &mpsc::Receiver<Job>, index: bool) {
    // A killed run may have left posts queued: look once at the start.
    let mut maybe_queued = index;
    let mut failing = false;
    loop {
        let job = if maybe_queued {
            match jobs.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match jobs.recv_timeout(INDEX_RECHECK) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        if let Some(job) = job {
            job(conn);
            maybe_queued = index;
            continue;
        }
        if !index {
            continue;
        }
        match index_pending(conn, INDEX_SLICE, false) {
            Ok(run) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("indexing posts for search works again");
                }
                maybe_queued = run.more;
            }
            Err(e) => {
                // Left queued; tried again after the next job. Said once.
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "indexing posts for search failed");
                }
                maybe_queued = false;
            }
        }
    }
}

/// What one [`index_pending`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexRun {
    /// Posts indexed.
    pub indexed: usize,
    /// Whether it stopped at its limit with more to do.
    pub more: bool,
}

/// Brings `posts_fts` closer to `posts`, in one transaction: removes what
/// the index holds for up to `limit` changed or deleted posts (`fts_stale`),
/// then indexes up to `limit` queued posts in the form of
/// [`crate::search::index_text`]. A new post whose article is still to be
/// fetched waits for it (up to 15 minutes: `fts_pending.ready_at`, see
/// migration 005) unless `all` is set.
pub fn index_pending(
    conn: &mut Connection,
    limit: usize,
    all: bool,
) -> Result<IndexRun, StoreError> {
    use crate::search::index_text;
    let now = crate::date::now_utc();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut removed = 0;
    {
        // The ids first: rows are deleted below, and a table must not change
        // under a statement still reading it.
        let ids: Vec<i64> = tx
            .prepare_cached("SELECT post_id FROM fts_stale LIMIT ?1")?
            .query_map(params![limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut old =
            tx.prepare_cached("SELECT title, content_text FROM fts_stale WHERE post_id = ?1")?;
        let mut delete = tx.prepare_cached(
            "INSERT INTO posts_fts (posts_fts, rowid, title, content_text)
             VALUES ('delete', ?1, ?2, ?3)",
        )?;
        let mut done = tx.prepare_cached("DELETE FROM fts_stale WHERE post_id = ?1")?;
        for id in ids {
            let (title, text): (Option<String>, Option<String>) =
                old.query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            delete.execute(params![
                id,
                title.as_deref().map(index_text),
                text.as_deref().map(index_text)
            ])?;
            done.execute(params![id])?;
            removed += 1;
        }
    }
    tx.execute_batch("CREATE TEMP TABLE IF NOT EXISTS fts_batch (id INTEGER PRIMARY KEY)")?;
    let n = if all {
        tx.prepare_cached(
            "INSERT INTO temp.fts_batch (id) SELECT post_id FROM fts_pending LIMIT ?1",
        )?
        .execute(params![limit as i64])?
    } else {
        // By the index on `ready_at` ('' sorts before every time): the posts
        // waiting for their article are not scanned again each time.
        tx.prepare_cached(
            "INSERT INTO temp.fts_batch (id)
             SELECT post_id FROM fts_pending WHERE ready_at <= ?1 LIMIT ?2",
        )?
        .execute(params![now, limit as i64])?
    };
    if n > 0 {
        {
            let mut posts = tx.prepare_cached(
                "SELECT p.id, p.title, p.content_text
                 FROM temp.fts_batch b JOIN posts p ON p.id = b.id",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO posts_fts (rowid, title, content_text) VALUES (?1, ?2, ?3)",
            )?;
            let mut rows = posts.query([])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let title: Option<String> = row.get(1)?;
                let text: Option<String> = row.get(2)?;
                insert.execute(params![
                    id,
                    title.as_deref().map(index_text),
                    text.as_deref().map(index_text)
                ])?;
            }
        }
        tx.execute_batch(
            "DELETE FROM fts_pending WHERE post_id IN (SELECT id FROM temp.fts_batch);
             DELETE FROM temp.fts_batch;",
        )?;
    }
    tx.commit()?;
    Ok(IndexRun {
        indexed: n,
        more: n == limit || removed == limit,
    })
}

/// Indexes every queued post (`crawl --once` does before it exits) and
/// returns how many.
pub fn index_all(conn: &mut Connection) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let run = index_pending(conn, INDEX_BATCH, true)?;
        total += run.indexed;
        if !run.more {
            return Ok(total);
        }
    }
}

/// One post that a search found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SearchHit {
    pub id: i64,
    pub source: String,
    pub published_at: Option<String>,
    pub fetched_at: String,
    pub title: Option<String>,
    pub url: String,
}

/// The posts that match `query` and `filter`, newest first (by
/// `published_utc`, else `fetched_at`, whatever the offsets), at most
/// `limit`. Never stale: an indexed post is found through `posts_fts`, a
/// post still queued for indexing (new, or changed since) by its text,
/// with each term as a case-insensitive substring. Reads only, so a reader
/// without write access gets the same answer.
pub fn search(
    conn: &Connection,
    query: &crate::search::Query,
    filter: &PostFilter,
    limit: usize,
) -> Result<Vec<SearchHit>, StoreError> {
    let mut args: Vec<String> = vec![query.fts()];
    let mut unindexed = Vec::new();
    for group in &query.groups {
        let mut any = Vec::new();
        for term in group {
            // SQLite's lower() folds ASCII only: so must the term.
            args.push(term.text.to_ascii_lowercase());
            let n = args.len();
            any.push(format!(
                "instr(lower(COALESCE(p.title, '')), ?{n}) > 0 OR instr(lower(COALESCE(p.content_text, '')), ?{n}) > 0"
            ));
        }
        unindexed.push(format!("({})", any.join(" OR ")));
    }
    // Both are UTC `YYYY-MM-DDTHH:MM:SSZ` text: they sort as the instants do.
    let when = "COALESCE(p.published_utc, p.fetched_at)";
    let mut sql = format!(
        "SELECT p.id, p.source, p.published_at, p.fetched_at, p.title, COALESCE(p.url, p.canonical_url)
         FROM posts p
         WHERE ((p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?1)
                 AND p.id NOT IN (SELECT post_id FROM fts_pending))
                OR (p.id IN (SELECT post_id FROM fts_pending) AND {}))",
        unindexed.join(" AND ")
    );
    if !filter.sources.is_empty() {
        args.push(serde_json::to_string(&filter.sources).unwrap_or_else(|_| "[]".into()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM post_sources ps WHERE ps.post_id = p.id
                          AND ps.source IN (SELECT value FROM json_each(?{})))",
            args.len()
        ));
    }
    if let Some(since) = filter.since {
        args.push(
            since
                .with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        );
        sql.push_str(&format!(" AND {when} >= ?{}", args.len()));
    }
    sql.push_str(&format!(" ORDER BY {when} DESC, p.id DESC LIMIT {limit}"));
    let mut stmt = conn.prepare(&sql)?;
    let hits = stmt
        .query_map(rusqlite::params_from_iter(&args), |r| {
            Ok(SearchHit {
                id: r.get(0)?,
                source: r.get(1)?,
                published_at: r.get(2)?,
                fetched_at: r.get(3)?,
                title: r.get(4)?,
                url: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(hits)
}

/// Posts stored but not yet searchable through `posts_fts` alone.
pub fn unindexed(conn: &Connection) -> Result<usize, StoreError> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM fts_pending", [], |r| r.get(0))?;
    Ok(n as usize)
}

/// The writer: one connection on its own thread.
pub struct Store {
    path: PathBuf,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Store {
    /// Opens the database with a writer that keeps `posts_fts` up to date
    /// whenever it has no other work.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, true)
    }

    /// Opens the database; with `index` false the writer leaves the search
    /// index alone (`crawl --once --defer-index`: the posts queued for it stay
    /// queued, and the count it reports stays true).
    pub fn open_with(path: &Path, index: bool) -> Result<Store, StoreError> {
        let mut conn = open_connection(path)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("newscrawl-db".into())
            .spawn(move || writer_loop(&mut conn, &rx, index))
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Store {
            path: path.to_path_buf(),
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the writer connection and returns its result.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let path = self.path.clone();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn).map_err(|e| e.on_disk(&path)));
        });
        self.jobs
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(job)
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    fn shutdown(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shutdown();
    }
}

// ---------------------------------------------------------------------------
// What the crawler saves and reads.

/// The stored state of a source that a poll starts from.
#[derive(Debug, Clone, Default)]
pub struct SourceState {
    pub validators: Validators,
    pub failures: i64,
    /// The URL in effect, when it differs from nothing (the row exists).
    pub url: Option<String>,
    pub hold_until: Option<DateTime<chrono::Utc>>,
    pub last_unconditional_at: Option<DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    NotModified,
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotModified => "not_modified",
            Outcome::Error => "error",
        }
    }
}

/// One HTTP request, for the `fetches` table.
#[derive(Debug, Clone)]
pub struct FetchRecord {
    pub url: String,
    pub started_at: String,
    pub duration_ms: i64,
    pub http_status: Option<u16>,
    pub outcome: Outcome,
    pub bytes: u64,
    pub error: Option<String>,
}

/// A post as the pipeline hands it to the store.
#[derive(Debug, Clone, Default)]
pub struct NewPost {
    pub identity: Identity,
    pub url: Option<String>,
    pub guid: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub summary: Option<String>,
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub origin: Option<String>,
    pub published_at: Option<String>,
    pub updated_at: Option<String>,
    /// Its article is still to be fetched.
    pub article_pending: bool,
}

/// A post whose article is due to be fetched.
#[derive(Debug, Clone)]
pub struct ArticleJob {
    pub post_id: i64,
    pub url: Option<String>,
    pub info_code: Option<String>,
    pub guid: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
}

/// What an article page gave, for the post's columns.
#[derive(Debug, Clone, Default)]
pub struct ArticleFields {
    pub title: Option<String>,
    pub published_at: Option<String>,
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub origin: Option<String>,
}

/// How an article attempt ended.
#[derive(Debug, Clone)]
pub enum ArticleOutcome {
    Done(ArticleFields),
    /// Failed; try again at this time (UTC, RFC 3339).
    Retry {
        next_at: String,
    },
    /// Failed for the last time: the post keeps the feed's text.
    GiveUp,
}

/// One article attempt, for the post and the `fetches` table.
#[derive(Debug, Clone)]
pub struct ArticleResult {
    pub post_id: i64,
    pub fetch: FetchRecord,
    pub outcome: ArticleOutcome,
}

/// Everything one poll of one source produced.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub source: String,
    pub fetch: FetchRecord,
    /// New validators, present only when the body parsed.
    pub validators: Option<Validators>,
    pub items: usize,
    pub posts: Vec<NewPost>,
    pub next_poll_at: Option<String>,
    /// The fetch went out without validators and succeeded.
    pub unconditional: bool,
    /// The feed moved permanently here: the URL in effect from now on.
    pub moved_to: Option<String>,
    /// No poll before this time (`Retry-After`); `None` clears a hold.
    pub hold_until: Option<String>,
    /// When the run this poll belongs to started (a `crawl --once`, or the
    /// daemon's round for this source): a post another source stored since
    /// then came in the same run, and the owner is decided by configuration
    /// order.
    pub run_started_at: DateTime<chrono::Utc>,
}

/// What saving a poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaveSummary {
    pub new_posts: usize,
    pub updated_posts: usize,
    pub repeats: usize,
    /// Items whose post was pruned: not stored again.
    pub pruned: usize,
}

/// A configured source's row, for `sources list`.
#[derive(Debug, Clone)]
pub struct SourceRow {
    pub slug: String,
    pub failures: i64,
    pub last_error: Option<String>,
    pub last_success_at: Option<String>,
    pub last_polled_at: Option<String>,
    pub next_poll_at: Option<String>,
    pub posts: i64,
}

/// Makes sure every configured source has its row with the configured name,
/// URL and place in the configuration. A URL changed in the configuration
/// replaces the one in effect (which a permanent redirect may have moved)
/// and forgets its validators. Sources no longer configured lose their place.
pub fn sync_sources(
    conn: &mut Connection,
    sources: &[(String, String, String)],
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Every source is taken as removed (since when it first was), then the
    // configured ones are taken back.
    tx.execute(
        "UPDATE sources SET position = NULL, removed_at = COALESCE(removed_at, ?1)",
        [crate::date::now_utc()],
    )?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO sources (slug, name, url, config_url, position) VALUES (?1, ?2, ?3, ?3, ?4)
             ON CONFLICT(slug) DO UPDATE SET
                name = excluded.name,
                etag = CASE WHEN config_url IS excluded.config_url THEN etag END,
                last_modified = CASE WHEN config_url IS excluded.config_url THEN last_modified END,
                url = CASE WHEN config_url IS excluded.config_url THEN url ELSE excluded.url END,
                config_url = excluded.config_url,
                position = excluded.position,
                removed_at = NULL",
        )?;
        for (i, (slug, name, url)) in sources.iter().enumerate() {
            stmt.execute(params![slug, name, url, i as i64])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub fn source_state(conn: &Connection, slug: &str) -> Result<SourceState, StoreError> {
    let utc = |s: Option<String>| {
        s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&chrono::Utc))
    };
    let row = conn
        .query_row(
            "SELECT etag, last_modified, failures, url, hold_until, last_unconditional_at FROM sources WHERE slug = ?1",
            [slug],
            |r| {
                Ok(SourceState {
                    validators: Validators {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                    },
                    failures: r.get(2)?,
                    url: r.get(3)?,
                    hold_until: utc(r.get(4)?),
                    last_unconditional_at: utc(r.get(5)?),
                })
            },
        )
        .optional()?;
    Ok(row.unwrap_or_default())
}

/// Sets when a source is next polled (the daemon's schedule, backoff included).
pub fn set_next_poll(conn: &Connection, slug: &str, next_poll_at: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE sources SET next_poll_at = ?2 WHERE slug = ?1")?
        .execute(params![slug, next_poll_at])?;
    Ok(())
}

/// Saves one poll in one transaction. A post already stored (same infoCode,
/// same key, or an earlier key of the same item) gains a `post_sources` row
/// instead of a second copy, and fills only its columns that are still NULL.
/// Only the owner (the source that stored it) replaces its fields, and only
/// with the same item (same guid or link) showing a newer update; when a
/// source configured earlier delivers it in the same run, that source
/// becomes the owner ([`take_over`]).
pub fn save_poll(conn: &mut Connection, poll: &PollRecord) -> Result<SaveSummary, StoreError> {
    let now = crate::date::now_utc();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut summary = SaveSummary::default();
    ensure_source(&tx, &poll.source, &now)?;
    let position = source_position(&tx, &poll.source)?;
    let run_started = floor_to_second(poll.run_started_at);
    for post in &poll.posts {
        match find_post(&tx, post)? {
            Some(st) => {
                summary.repeats += 1;
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO post_sources (post_id, source, first_seen_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![st.id, poll.source, now])?;
                if st.owner == poll.source {
                    let same_item = (post.guid.is_some() && post.guid == st.guid)
                        || (post.url.is_some() && post.url == st.url);
                    if same_item && is_newer(post.updated_at.as_deref(), st.updated_at.as_deref()) {
                        update_post(&tx, st.id, post, &now)?;
                        summary.updated_posts += 1;
                    } else {
                        fill_nulls(&tx, st.id, post)?;
                    }
                } else if position < st.owner_position
                    && st.owner_since.is_some_and(|t| t >= run_started)
                {
                    take_over(&tx, st.id, &poll.source, post)?;
                } else {
                    fill_nulls(&tx, st.id, post)?;
                }
                if post.article_pending {
                    // Stored by a source that does not follow links: this one fetches the article.
                    tx.prepare_cached(
                        "UPDATE posts SET article_state = 'pending', article_via = ?2
                         WHERE id = ?1 AND article_state IS NULL",
                    )?
                    .execute(params![st.id, poll.source])?;
                }
            }
            None if is_tombstoned(&tx, &post.identity)? => summary.pruned += 1,
            None => {
                insert_post(&tx, &poll.source, post, &now)?;
                summary.new_posts += 1;
            }
        }
    }
    let f = &poll.fetch;
    tx.prepare_cached(
        "INSERT INTO fetches (source, url, started_at, duration_ms, http_status, outcome, bytes, items, new_posts, error, kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'feed')",
    )?
    .execute(params![
        poll.source,
        f.url,
        f.started_at,
        f.duration_ms,
        f.http_status,
        f.outcome.as_str(),
        f.bytes as i64,
        poll.items as i64,
        summary.new_posts as i64,
        f.error
    ])?;
    match f.outcome {
        Outcome::Ok | Outcome::NotModified => {
            tx.prepare_cached(
                "UPDATE sources SET last_polled_at = ?2, last_success_at = ?2, failures = 0, last_error = NULL,
                    next_poll_at = ?3 WHERE slug = ?1",
            )?
            .execute(params![poll.source, now, poll.next_poll_at])?;
        }
        Outcome::Error => {
            tx.prepare_cached(
                "UPDATE sources SET last_polled_at = ?2, failures = failures + 1, last_error = ?3,
                    next_poll_at = ?4 WHERE slug = ?1",
            )?
            .execute(params![poll.source, now, f.error, poll.next_poll_at])?;
        }
    }
    if let Some(v) = &poll.validators {
        tx.prepare_cached("UPDATE sources SET etag = ?2, last_modified = ?3 WHERE slug = ?1")?
            .execute(params![poll.source, v.etag, v.last_modified])?;
    }
    tx.prepare_cached(
        "UPDATE sources SET hold_until = ?2, url = COALESCE(?3, url),
            last_unconditional_at = CASE WHEN ?4 THEN ?5 ELSE last_unconditional_at END
         WHERE slug = ?1",
    )?
    .execute(params![
        poll.source,
        poll.hold_until,
        poll.moved_to,
        poll.unconditional,
        now
    ])?;
    tx.commit()?;
    Ok(summary)
}

/// Gives `slug` a `sources` row if it has none, as a source no longer
/// configured: posts, their `post_sources` and fetches refer to it. The
/// configured sources have theirs from the start ([`sync_sources`]); this
/// is the net under that, so that no save fails for want of one.
fn ensure_source(conn: &Connection, slug: &str, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO sources (slug, name, url, removed_at) VALUES (?1, ?1, '', ?2)",
    )?
    .execute(params![slug, now])?;
    Ok(())
}

/// A stored post that an item is found to be, with what decides who may
/// change it.
struct StoredPost {
    id: i64,
    owner: String,
    guid: Option<String>,
    url: Option<String>,
    updated_at: Option<String>,
    /// The owner's place in the configuration (`i64::MAX` when it has none).
    owner_position: i64,
    /// When the owner first stored it.
    owner_since: Option<DateTime<chrono::Utc>>,
}

fn floor_to_second(t: DateTime<chrono::Utc>) -> DateTime<chrono::Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// A source's place in the configuration; `i64::MAX` when it has none.
fn source_position(conn: &Connection, slug: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT position FROM sources WHERE slug = ?1")?
        .query_row([slug], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .unwrap_or(i64::MAX))
}

/// The query for a [`StoredPost`] with the given `WHERE` clause (a literal,
/// so each statement text is built at compile time). Scalar subqueries, not
/// `LEFT JOIN`s: SQLite compiles a statement with a `LEFT JOIN` and a bound
/// parameter again for every new value bound (6% of the writer's time in a
/// cold crawl went to parsing these lookups again, once per item).
macro_rules! stored_post_where {
    ($where:literal) => {
        concat!(
            "SELECT p.id, p.source, p.guid, p.url, p.updated_at,
                    (SELECT s.position FROM sources s WHERE s.slug = p.source),
                    (SELECT ps.first_seen_at FROM post_sources ps
                     WHERE ps.post_id = p.id AND ps.source = p.source)
             FROM posts p WHERE ",
            $where
        )
    };
}

fn stored_post(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredPost> {
    let since: Option<String> = r.get(6)?;
    Ok(StoredPost {
        id: r.get(0)?,
        owner: r.get(1)?,
        guid: r.get(2)?,
        url: r.get(3)?,
        updated_at: r.get(4)?,
        owner_position: r.get::<_, Option<i64>>(5)?.unwrap_or(i64::MAX),
        owner_since: since
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&chrono::Utc)),
    })
}

/// The stored post an item is: by infoCode, then by its key, then by the
/// keys it may have been stored under before (each only for the same item).
fn find_post(conn: &Connection, post: &NewPost) -> Result<Option<StoredPost>, StoreError> {
    let id = &post.identity;
    if let Some(code) = &id.info_code {
        let hit = conn
            .prepare_cached(stored_post_where!("p.info_code = ?1"))?
            .query_row([code], stored_post)
            .optional()?;
        if hit.is_some() {
            return Ok(hit);
        }
    }
    let mut by_key = conn.prepare_cached(stored_post_where!("p.canonical_url = ?1"))?;
    if let Some(hit) = by_key
        .query_row([&id.canonical_url], stored_post)
        .optional()?
    {
        return Ok(Some(hit));
    }
    for e in &id.earlier {
        let hit = match e {
            Earlier::Key(k) => by_key.query_row([k], stored_post).optional()?,
            Earlier::WithGuid(k, g) => conn
                .prepare_cached(stored_post_where!("p.canonical_url = ?1 AND p.guid = ?2"))?
                .query_row(params![k, g], stored_post)
                .optional()?,
            Earlier::WithContent(k) => conn
                .prepare_cached(stored_post_where!(
                    "p.canonical_url = ?1 AND p.content_html IS ?2 AND p.guid IS NULL"
                ))?
                .query_row(params![k, post.content_html], stored_post)
                .optional()?,
        };
        if hit.is_some() {
            return Ok(hit);
        }
    }
    Ok(None)
}

/// A repeat fills the columns that are still NULL, and changes nothing
/// else. (The row is written only when there is something to fill: an
/// update would queue the post for indexing again.)
fn fill_nulls(conn: &Connection, id: i64, p: &NewPost) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE posts SET title = COALESCE(title, ?2), author = COALESCE(author, ?3),
            summary = COALESCE(summary, ?4),
            content_html = CASE WHEN content_html IS NULL THEN ?5 ELSE content_html END,
            content_text = CASE WHEN content_html IS NULL THEN ?6 ELSE content_text END,
            origin = COALESCE(origin, ?7), published_at = COALESCE(published_at, ?8),
            info_code = CASE WHEN info_code IS NULL AND ?9 IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.info_code = ?9) THEN ?9 ELSE info_code END
         WHERE id = ?1 AND (
            (title IS NULL AND ?2 IS NOT NULL) OR (author IS NULL AND ?3 IS NOT NULL)
            OR (summary IS NULL AND ?4 IS NOT NULL) OR (content_html IS NULL AND ?5 IS NOT NULL)
            OR (origin IS NULL AND ?7 IS NOT NULL) OR (published_at IS NULL AND ?8 IS NOT NULL)
            OR (info_code IS NULL AND ?9 IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.info_code = ?9)))",
    )?
    .execute(params![
        id,
        p.title,
        p.author,
        p.summary,
        p.content_html,
        p.content_text,
        p.origin,
        p.published_at,
        p.identity.info_code,
    ])?;
    Ok(())
}

/// `source`, configured before the post's owner, delivered it in the same
/// run: it becomes the owner, as if its poll had finished first. Its item's
/// fields replace the post's (the earlier owner's stay where it has none,
/// as a repeat's would), and its key replaces the post's when no other post
/// holds it. The article is left to the source that claimed it (it may be
/// fetching it right now): an article page is fetched once.
fn take_over(conn: &Connection, id: i64, source: &str, p: &NewPost) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE posts SET source = ?2, url = ?3, guid = ?4,
            title = COALESCE(?5, title), author = COALESCE(?6, author), summary = COALESCE(?7, summary),
            content_html = CASE WHEN article_state = 'done' THEN content_html
                ELSE COALESCE(?8, content_html) END,
            content_text = CASE WHEN article_state = 'done' THEN content_text
                ELSE COALESCE(?9, content_text) END,
            origin = COALESCE(?10, origin), published_at = COALESCE(?11, published_at),
            updated_at = COALESCE(?12, updated_at),
            canonical_url = CASE WHEN NOT EXISTS (SELECT 1 FROM posts o WHERE o.canonical_url = ?13 AND o.id <> ?1)
                THEN ?13 ELSE canonical_url END,
            info_code = CASE WHEN info_code IS NULL AND ?14 IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.info_code = ?14) THEN ?14 ELSE info_code END
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        source,
        p.url,
        p.guid,
        p.title,
        p.author,
        p.summary,
        p.content_html,
        p.content_text,
        p.origin,
        p.published_at,
        p.updated_at,
        p.identity.canonical_url,
        p.identity.info_code,
    ])?;
    Ok(())
}

fn is_newer(candidate: Option<&str>, stored: Option<&str>) -> bool {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok();
    match (candidate.and_then(parse), stored.and_then(parse)) {
        (Some(c), Some(s)) => c > s,
        (Some(_), None) => stored.is_none(),
        _ => false,
    }
}

fn insert_post(conn: &Connection, source: &str, p: &NewPost, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO posts (source, info_code, url, canonical_url, guid, title, author, summary,
            content_html, content_text, origin, published_at, updated_at, fetched_at, article_state, article_via)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        source,
        p.identity.info_code,
        p.url,
        p.identity.canonical_url,
        p.guid,
        p.title,
        p.author,
        p.summary,
        p.content_html,
        p.content_text,
        p.origin,
        p.published_at,
        p.updated_at,
        now,
        p.article_pending.then_some("pending"),
        p.article_pending.then_some(source),
    ])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO post_sources (post_id, source, first_seen_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![id, source, now])?;
    Ok(())
}

/// The owner's same item, updated: its fields replace the post's (those it
/// lacks stay). A source that follows links fetches the article again.
fn update_post(conn: &Connection, id: i64, p: &NewPost, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE posts SET title = COALESCE(?2, title), author = COALESCE(?3, author),
            summary = COALESCE(?4, summary),
            content_html = CASE WHEN article_state = 'done' AND NOT ?11 THEN content_html
                ELSE COALESCE(?5, content_html) END,
            content_text = CASE WHEN article_state = 'done' AND NOT ?11 THEN content_text
                ELSE COALESCE(?6, content_text) END,
            origin = COALESCE(?7, origin), published_at = COALESCE(?8, published_at), updated_at = ?9,
            fetched_at = ?10,
            article_state = CASE WHEN ?11 THEN 'pending' ELSE article_state END,
            article_attempts = CASE WHEN ?11 THEN 0 ELSE article_attempts END,
            article_next_at = CASE WHEN ?11 THEN NULL ELSE article_next_at END
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        p.title,
        p.author,
        p.summary,
        p.content_html,
        p.content_text,
        p.origin,
        p.published_at,
        p.updated_at,
        now,
        p.article_pending,
    ])?;
    Ok(())
}

/// Posts whose article `source` fetches and is due (`now` is UTC RFC 3339), oldest first.
pub fn due_articles(
    conn: &Connection,
    source: &str,
    now: &str,
    limit: usize,
) -> Result<Vec<ArticleJob>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, url, info_code, article_attempts, guid FROM posts
         WHERE article_via = ?1 AND article_state = 'pending' AND (article_next_at IS NULL OR article_next_at <= ?2)
         ORDER BY id LIMIT ?3",
    )?;
    let jobs = stmt
        .query_map(params![source, now, limit as i64], |r| {
            Ok(ArticleJob {
                post_id: r.get(0)?,
                url: r.get(1)?,
                info_code: r.get(2)?,
                attempts: r.get(3)?,
                guid: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(jobs)
}

/// Saves a batch of article attempts in one transaction. A fetched article
/// fills the post: its body replaces the feed's, while the feed's (or the
/// list's) title, date and origin stay when it had them.
pub fn save_articles(
    conn: &mut Connection,
    source: &str,
    results: &[ArticleResult],
) -> Result<(), StoreError> {
    let now = crate::date::now_utc();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    ensure_source(&tx, source, &now)?;
    for r in results {
        let f = &r.fetch;
        tx.prepare_cached(
            "INSERT INTO fetches (source, url, started_at, duration_ms, http_status, outcome, bytes, items, new_posts, error, kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, 'article')",
        )?
        .execute(params![
            source,
            f.url,
            f.started_at,
            f.duration_ms,
            f.http_status,
            f.outcome.as_str(),
            f.bytes as i64,
            i64::from(matches!(r.outcome, ArticleOutcome::Done(_))),
            f.error
        ])?;
        match &r.outcome {
            ArticleOutcome::Done(a) => {
                tx.prepare_cached(
                    "UPDATE posts SET title = COALESCE(title, ?2), published_at = COALESCE(published_at, ?3),
                        content_html = COALESCE(?4, content_html), content_text = COALESCE(?5, content_text),
                        origin = COALESCE(origin, ?6), fetched_at = ?7, article_state = 'done',
                        article_attempts = article_attempts + 1, article_next_at = NULL
                     WHERE id = ?1",
                )?
                .execute(params![r.post_id, a.title, a.published_at, a.content_html, a.content_text, a.origin, now])?;
            }
            ArticleOutcome::Retry { next_at } => {
                tx.prepare_cached(
                    "UPDATE posts SET article_attempts = article_attempts + 1, article_next_at = ?2 WHERE id = ?1",
                )?
                .execute(params![r.post_id, next_at])?;
            }
            ArticleOutcome::GiveUp => {
                tx.prepare_cached(
                    "UPDATE posts SET article_attempts = article_attempts + 1, article_next_at = NULL,
                        article_state = 'failed' WHERE id = ?1",
                )?
                .execute(params![r.post_id])?;
            }
        }
        if !matches!(r.outcome, ArticleOutcome::Done(_)) {
            // The feed's text is all it has for now: searchable at once.
            tx.prepare_cached("UPDATE fts_pending SET ready_at = '' WHERE post_id = ?1")?
                .execute(params![r.post_id])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// A stored post with what exporters need beside it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PostRow {
    pub id: i64,
    pub source: String,
    /// The name of `source` (its slug when the source row is gone).
    pub source_name: String,
    pub info_code: Option<String>,
    pub url: Option<String>,
    pub canonical_url: String,
    pub guid: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub summary: Option<String>,
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub origin: Option<String>,
    pub published_at: Option<String>,
    pub updated_at: Option<String>,
    pub fetched_at: String,
    pub article_state: Option<String>,
    pub article_attempts: i64,
    pub article_next_at: Option<String>,
    pub article_via: Option<String>,
    pub published_utc: Option<String>,
    /// Every source that delivered the post, sorted.
    pub sources: Vec<String>,
}

/// Which posts an export reads.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    /// Only posts published (else fetched) at or after this time.
    pub since: Option<DateTime<chrono::FixedOffset>>,
    /// Only posts that one of these sources delivered.
    pub sources: Vec<String>,
    /// Only the post with this id.
    pub id: Option<i64>,
    /// Only posts stored after the one with this id (ids only grow: a
    /// consumer's cursor).
    pub after_id: Option<i64>,
    /// Only posts whose latest change (`post_changes.seq`) is after the
    /// first number and at most the second: what a continuous export has
    /// not written yet.
    pub changed: Option<(i64, i64)>,
}

/// The highest change number given out so far (0 when none): a snapshot
/// to export up to ([`PostFilter::changed`]).
pub fn last_change(conn: &Connection) -> Result<i64, StoreError> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM post_changes", [], |r| {
            r.get(0)
        })?,
    )
}

/// How far the continuous export `name` got: the change number it has
/// written up to (0 when it never ran).
pub fn export_cursor(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    Ok(conn
        .query_row(
            "SELECT seq FROM export_cursors WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Records that the continuous export `name` has written every change up to `seq`.
pub fn set_export_cursor(conn: &Connection, name: &str, seq: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO export_cursors (name, seq, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET seq = MAX(seq, excluded.seq), updated_at = excluded.updated_at",
    )?
    .execute(params![name, seq, crate::date::now_utc()])?;
    Ok(())
}

/// Whether some post has this infoCode.
pub fn has_info_code(conn: &Connection, code: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM posts WHERE info_code = ?1")?
        .exists([code])?)
}

/// Calls `f` with each post that `filter` admits, in id order, one row at a
/// time (memory stays flat however many posts there are).
pub fn for_each_post<E: From<StoreError>>(
    conn: &Connection,
    filter: &PostFilter,
    mut f: impl FnMut(PostRow) -> Result<(), E>,
) -> Result<(), E> {
    let mut sql = String::from(
        "SELECT p.id, p.source, COALESCE(s.name, p.source), p.info_code, p.url, p.canonical_url, p.guid, p.title,
                p.author, p.summary, p.content_html, p.content_text, p.origin, p.published_at, p.updated_at,
                p.fetched_at, (SELECT group_concat(ps.source, char(31)) FROM post_sources ps WHERE ps.post_id = p.id),
                p.article_state, p.article_attempts, p.article_next_at, p.article_via, p.published_utc
         FROM posts p LEFT JOIN sources s ON s.slug = p.source",
    );
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if !filter.sources.is_empty() {
        let wanted = serde_json::to_string(&filter.sources).unwrap_or_else(|_| "[]".into());
        args.push(wanted.into());
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM post_sources ps WHERE ps.post_id = p.id AND ps.source IN (SELECT value FROM json_each(?{})))",
            args.len()
        ));
    }
    if let Some(id) = filter.id {
        args.push(id.into());
        clauses.push(format!("p.id = ?{}", args.len()));
    }
    if let Some(after) = filter.after_id {
        args.push(after.into());
        clauses.push(format!("p.id > ?{}", args.len()));
    }
    if let Some((after, upto)) = filter.changed {
        args.push(after.into());
        args.push(upto.into());
        clauses.push(format!(
            "p.id IN (SELECT post_id FROM post_changes WHERE seq > ?{} AND seq <= ?{})",
            args.len() - 1,
            args.len()
        ));
    }
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY p.id");
    let mut stmt = conn.prepare(&sql).map_err(StoreError::from)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(args))
        .map_err(StoreError::from)?;
    while let Some(r) = rows.next().map_err(StoreError::from)? {
        let get = |r: &rusqlite::Row<'_>| -> rusqlite::Result<PostRow> {
            let all: Option<String> = r.get(16)?;
            let mut sources: Vec<String> = all
                .unwrap_or_default()
                .split('\u{1f}')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            sources.sort();
            Ok(PostRow {
                id: r.get(0)?,
                source: r.get(1)?,
                source_name: r.get(2)?,
                info_code: r.get(3)?,
                url: r.get(4)?,
                canonical_url: r.get(5)?,
                guid: r.get(6)?,
                title: r.get(7)?,
                author: r.get(8)?,
                summary: r.get(9)?,
                content_html: r.get(10)?,
                content_text: r.get(11)?,
                origin: r.get(12)?,
                published_at: r.get(13)?,
                updated_at: r.get(14)?,
                fetched_at: r.get(15)?,
                article_state: r.get(17)?,
                article_attempts: r.get::<_, Option<i64>>(18)?.unwrap_or(0),
                article_next_at: r.get(19)?,
                article_via: r.get(20)?,
                published_utc: r.get(21)?,
                sources,
            })
        };
        let post = get(r).map_err(StoreError::from)?;
        if let Some(since) = filter.since {
            let when = post
                .published_at
                .as_deref()
                .or(Some(post.fetched_at.as_str()))
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok());
            if when.is_some_and(|w| w < since) {
                continue;
            }
        }
        f(post)?;
    }
    Ok(())
}

/// What a prune removes or would remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneSummary {
    pub posts: usize,
    pub fetches: usize,
}

/// Deletes posts published (else fetched) before `cutoff`, keeping their
/// infoCode and canonical URL as tombstones so they are never stored again,
/// and `fetches` rows older than `cutoff`. With `dry_run`, counts only.
pub fn prune(
    conn: &mut Connection,
    cutoff: DateTime<chrono::Utc>,
    dry_run: bool,
) -> Result<PruneSummary, StoreError> {
    let now = crate::date::now_utc();
    let cutoff_text = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let old: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT id, COALESCE(published_at, fetched_at) FROM posts")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut ids = Vec::new();
        for row in rows {
            let (id, when) = row?;
            if DateTime::parse_from_rfc3339(&when).is_ok_and(|w| w < cutoff) {
                ids.push(id);
            }
        }
        ids
    };
    let fetches: usize = tx.query_row(
        "SELECT COUNT(*) FROM fetches WHERE started_at < ?1",
        [&cutoff_text],
        |r| r.get::<_, i64>(0),
    )? as usize;
    let summary = PruneSummary {
        posts: old.len(),
        fetches,
    };
    if dry_run {
        return Ok(summary);
    }
    {
        let mut tomb = tx.prepare(
            "INSERT OR IGNORE INTO tombstones (info_code, canonical_url, pruned_at)
             SELECT info_code, canonical_url, ?2 FROM posts WHERE id = ?1",
        )?;
        let mut del = tx.prepare("DELETE FROM posts WHERE id = ?1")?;
        for id in &old {
            tomb.execute(params![id, now])?;
            del.execute([id])?;
        }
    }
    tx.execute("DELETE FROM fetches WHERE started_at < ?1", [&cutoff_text])?;
    tx.commit()?;
    // Their search index entries go too (and whatever else is queued is
    // indexed), so that the pages they held are freed below.
    index_all(conn)?;
    // Give the freed pages back (a no-op on databases made without
    // auto_vacuum). The pragma frees one page per step: run it to the end.
    {
        let mut vacuum = conn.prepare("PRAGMA incremental_vacuum")?;
        let mut rows = vacuum.query([])?;
        while rows.next()?.is_some() {}
    }
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(summary)
}

/// Whether a pruned post had this identity.
fn is_tombstoned(conn: &Connection, id: &Identity) -> Result<bool, StoreError> {
    let hit: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM tombstones WHERE canonical_url = ?1 OR (?2 IS NOT NULL AND info_code = ?2) LIMIT 1",
        )?
        .query_row(params![id.canonical_url, id.info_code], |r| r.get(0))
        .optional()?;
    Ok(hit.is_some())
}

/// A read-only connection to an existing database, or `None` when there is
/// none yet (commands that only read must not create it).
pub fn open_read_only(path: &Path) -> Result<Option<Connection>, StoreError> {
    // Asked of the file system first: SQLite would only say "unable to
    // open database file", and not until the first query.
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Unreadable {
                path: path.to_path_buf(),
                source,
            });
        }
        Ok(_) => {}
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(Some(conn))
}

/// Whether a post with this identity is stored.
pub fn is_stored(conn: &Connection, post: &NewPost) -> Result<bool, StoreError> {
    Ok(find_post(conn, post)?.is_some())
}

/// Every known source with its health and post count.
pub fn list_sources(conn: &Connection) -> Result<Vec<SourceRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.slug, s.failures, s.last_error, s.last_success_at, s.last_polled_at, s.next_poll_at,
                (SELECT COUNT(*) FROM post_sources ps WHERE ps.source = s.slug)
         FROM sources s ORDER BY s.slug",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SourceRow {
                slug: r.get(0)?,
                failures: r.get(1)?,
                last_error: r.get(2)?,
                last_success_at: r.get(3)?,
                last_polled_at: r.get(4)?,
                next_poll_at: r.get(5)?,
                posts: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn post(code: Option<&str>, url: &str, title: &str, updated: Option<&str>) -> NewPost {
        NewPost {
            identity: Identity {
                info_code: code.map(str::to_string),
                canonical_url: url.to_string(),
                earlier: Vec::new(),
            },
            url: Some(url.to_string()),
            title: Some(title.to_string()),
            content_text: Some(format!("{title} 正文")),
            updated_at: updated.map(str::to_string),
            ..NewPost::default()
        }
    }

    fn poll(source: &str, posts: Vec<NewPost>) -> PollRecord {
        PollRecord {
            source: source.into(),
            fetch: FetchRecord {
                url: "http://x/".into(),
                started_at: crate::date::now_utc(),
                duration_ms: 1,
                http_status: Some(200),
                outcome: Outcome::Ok,
                bytes: 10,
                error: None,
            },
            validators: None,
            items: posts.len(),
            posts,
            next_poll_at: None,
            unconditional: false,
            moved_to: None,
            hold_until: None,
            run_started_at: chrono::Utc::now(),
        }
    }

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open_connection(&dir.path().join("sub/n.db")).unwrap();
        sync_sources(
            &mut conn,
            &[
                ("a".into(), "A".into(), "http://a/".into()),
                ("b".into(), "B".into(), "http://b/".into()),
            ],
        )
        .unwrap();
        (dir, conn)
    }

    #[test]
    fn migrates_once_and_is_wal() {
        let (dir, conn) = db();
        let av: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        assert_eq!(av, 2, "incremental");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        // Reopening runs nothing again.
        open_connection(&dir.path().join("sub/n.db")).unwrap();
    }

    #[test]
    fn dedup_by_code_or_canonical_url() {
        let (_d, mut conn) = db();
        let s = save_poll(
            &mut conn,
            &poll("a", vec![post(Some("1"), "http://x/1", "一", None)]),
        )
        .unwrap();
        assert_eq!(s.new_posts, 1);
        // Same code, other URL; same URL, no code; both from source b.
        let s = save_poll(
            &mut conn,
            &poll(
                "b",
                vec![
                    post(Some("1"), "http://y/1", "一", None),
                    post(None, "http://x/1", "一", None),
                ],
            ),
        )
        .unwrap();
        assert_eq!((s.new_posts, s.repeats), (0, 2));
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM posts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        let srcs: Vec<String> = conn
            .prepare("SELECT source FROM post_sources ORDER BY source")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(srcs, ["a", "b"]);
    }

    #[test]
    fn unique_indexes_hold_even_without_the_lookup() {
        let (_d, conn) = db();
        insert_post(&conn, "a", &post(Some("9"), "http://x/9", "t", None), "now").unwrap();
        assert!(
            insert_post(
                &conn,
                "a",
                &post(Some("9"), "http://x/other", "t", None),
                "now"
            )
            .is_err()
        );
        assert!(
            insert_post(
                &conn,
                "a",
                &post(Some("10"), "http://x/9", "t", None),
                "now"
            )
            .is_err()
        );
    }

    #[test]
    fn newer_update_replaces_in_place() {
        let (_d, mut conn) = db();
        save_poll(
            &mut conn,
            &poll(
                "a",
                vec![post(
                    None,
                    "http://x/u",
                    "旧",
                    Some("2022-01-10T16:00:00+08:00"),
                )],
            ),
        )
        .unwrap();
        let id: i64 = conn
            .query_row("SELECT id FROM posts", [], |r| r.get(0))
            .unwrap();
        // Older or equal: ignored.
        save_poll(
            &mut conn,
            &poll(
                "a",
                vec![post(
                    None,
                    "http://x/u",
                    "更旧",
                    Some("2022-01-10T07:00:00Z"),
                )],
            ),
        )
        .unwrap();
        let t: String = conn
            .query_row("SELECT title FROM posts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(t, "旧");
        // 09:00Z is 17:00+08:00: newer.
        let s = save_poll(
            &mut conn,
            &poll(
                "a",
                vec![post(
                    None,
                    "http://x/u",
                    "新标题",
                    Some("2022-01-10T09:00:00Z"),
                )],
            ),
        )
        .unwrap();
        assert_eq!(s.updated_posts, 1);
        let (id2, t): (i64, String) = conn
            .query_row("SELECT id, title FROM posts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((id2, t.as_str()), (id, "新标题"));
    }

    #[test]
    fn fts_finds_chinese_inside_a_sentence() {
        let (_d, mut conn) = db();
        let mut p = post(None, "http://x/f", "北京发布消息", None);
        p.content_text = Some("国家统计局今天发布了最新的经济数据，消费市场继续恢复。".into());
        save_poll(&mut conn, &poll("a", vec![p])).unwrap();
        assert_eq!(index_all(&mut conn).unwrap(), 1);
        for (q, n) in [
            ("经济数据", 1),
            ("数据", 1),
            ("统计局今天", 1),
            ("股票市场", 0),
            ("数据市场", 0),
            ("数据消费", 1), // across the comma, as documented
        ] {
            assert_eq!(matches(&conn, q), n, "{q}");
        }
    }

    /// Posts whose index entries match `q`, a query as a reader types it.
    fn matches(conn: &Connection, q: &str) -> i64 {
        let expr = crate::search::match_query(q).unwrap();
        conn.query_row(
            "SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH ?1",
            [expr],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn stale(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM fts_stale", [], |r| r.get(0))
            .unwrap()
    }

    /// The index is consistent in itself (FTS5's check, and SQLite's own,
    /// which includes it): what `index_pending` removes is exactly what it
    /// indexed. (Rank 1, which compares with `posts`' raw text, does not
    /// apply: the index holds the split form.)
    fn index_is_consistent(conn: &Connection) {
        conn.execute(
            "INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 0)",
            [],
        )
        .unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }

    #[test]
    fn search_index_follows_inserts_updates_and_deletes() {
        let (_d, mut conn) = db();
        let t1 = Some("2022-01-10T10:00:00+08:00");
        let t2 = Some("2022-01-10T11:00:00+08:00");
        let a = post(Some("NW1"), "http://x/a", "初稿的标题", t1);
        let b = post(Some("NW2"), "http://x/b", "另一篇文章", None);
        save_poll(&mut conn, &poll("a", vec![a, b])).unwrap();
        assert_eq!(matches(&conn, "初稿的"), 0, "queued, not indexed yet");
        assert_eq!(index_all(&mut conn).unwrap(), 2);
        assert_eq!(matches(&conn, "初稿的"), 1);

        // An indexed post that changes is queued, its old entries with it.
        let a2 = post(Some("NW1"), "http://x/a", "更正后标题", t2);
        save_poll(&mut conn, &poll("a", vec![a2])).unwrap();
        assert_eq!(matches(&conn, "更正后"), 0);
        assert_eq!(stale(&conn), 1);
        // A post that changes before it was ever indexed, and a deleted one.
        let c1 = post(Some("NW3"), "http://x/c", "第一版本文", t1);
        let c2 = post(Some("NW3"), "http://x/c", "第二版本文", t2);
        save_poll(&mut conn, &poll("a", vec![c1])).unwrap();
        save_poll(&mut conn, &poll("a", vec![c2])).unwrap();
        conn.execute("DELETE FROM posts WHERE info_code = 'NW2'", [])
            .unwrap();
        assert_eq!(index_all(&mut conn).unwrap(), 2);

        assert_eq!(matches(&conn, "初稿的"), 0);
        assert_eq!(matches(&conn, "初稿"), 0);
        assert_eq!(matches(&conn, "更正后"), 1);
        assert_eq!(matches(&conn, "第二版"), 1);
        assert_eq!(matches(&conn, "第一版"), 0);
        assert_eq!(matches(&conn, "另一篇"), 0);
        assert_eq!(unindexed(&conn).unwrap(), 0);
        assert_eq!(stale(&conn), 0);
        // Deleting an indexed post (as any tool may) takes it out at the next batch.
        conn.execute("DELETE FROM posts WHERE info_code = 'NW1'", [])
            .unwrap();
        assert_eq!(stale(&conn), 1);
        assert_eq!(index_all(&mut conn).unwrap(), 0);
        assert_eq!(matches(&conn, "更正后"), 0);
        // The index holds exactly what the posts table holds.
        index_is_consistent(&conn);
    }

    #[test]
    fn posts_indexed_before_version_7_are_indexed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..4] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            conn.execute(
                "INSERT INTO posts (id, source, canonical_url, title, content_text, fetched_at)
                 VALUES (1, 'a', 'http://x/a', '旧的标题', '旧版本的正文', '2022-01-10T00:00:00Z')",
                [],
            )
            .unwrap();
        }
        let mut conn = open_connection(&path).unwrap();
        assert_eq!(matches(&conn, "旧版本"), 0, "the old index is gone");
        assert_eq!(index_all(&mut conn).unwrap(), 1, "queued again");
        assert_eq!(matches(&conn, "旧版本"), 1);
        conn.execute(
            "UPDATE posts SET content_text = '新版本的正文' WHERE id = 1",
            [],
        )
        .unwrap();
        assert_eq!(index_all(&mut conn).unwrap(), 1);
        assert_eq!(matches(&conn, "旧版本"), 0);
        assert_eq!(matches(&conn, "新版本"), 1);
        index_is_consistent(&conn);
    }

    #[test]
    fn a_post_waiting_for_its_article_is_indexed_once_with_it() {
        let (_d, mut conn) = db();
        let mut p = post(Some("NW1"), "http://x/a", "标题在此处", None);
        p.content_text = Some("摘要的文字".into());
        p.article_pending = true;
        save_poll(&mut conn, &poll("a", vec![p])).unwrap();
        assert_eq!(
            index_pending(&mut conn, INDEX_BATCH, false)
                .unwrap()
                .indexed,
            0
        );

        let id: i64 = conn
            .query_row("SELECT id FROM posts", [], |r| r.get(0))
            .unwrap();
        let fetch = poll("a", vec![]).fetch;
        let article = ArticleFields {
            content_text: Some("文章的正文".into()),
            ..ArticleFields::default()
        };
        save_articles(
            &mut conn,
            "a",
            &[ArticleResult {
                post_id: id,
                fetch,
                outcome: ArticleOutcome::Done(article),
            }],
        )
        .unwrap();
        assert_eq!(
            index_pending(&mut conn, INDEX_BATCH, false)
                .unwrap()
                .indexed,
            1
        );
        assert_eq!(matches(&conn, "文章的正文"), 1);
        assert_eq!(matches(&conn, "摘要的"), 0);
        assert_eq!(matches(&conn, "标题在此"), 1);

        // Without an article attempt yet, `all` still indexes it.
        let mut q = post(Some("NW2"), "http://x/b", "等待中的文", None);
        q.article_pending = true;
        save_poll(&mut conn, &poll("a", vec![q])).unwrap();
        assert_eq!(
            index_pending(&mut conn, INDEX_BATCH, false)
                .unwrap()
                .indexed,
            0
        );
        assert_eq!(index_all(&mut conn).unwrap(), 1);
        assert_eq!(matches(&conn, "等待中"), 1);

        // A failed attempt makes the post searchable with the feed's text at once...
        let mut r = post(Some("NW3"), "http://x/c", "失败的文章", None);
        r.article_pending = true;
        save_poll(&mut conn, &poll("a", vec![r])).unwrap();
        let id: i64 = conn
            .query_row("SELECT id FROM posts WHERE info_code = 'NW3'", [], |r| {
                r.get(0)
            })
            .unwrap();
        let fetch = poll("a", vec![]).fetch;
        let retry = ArticleOutcome::Retry {
            next_at: "2099-01-01T00:00:00Z".into(),
        };
        let failed = ArticleResult {
            post_id: id,
            fetch,
            outcome: retry,
        };
        save_articles(&mut conn, "a", &[failed]).unwrap();
        assert_eq!(
            index_pending(&mut conn, INDEX_BATCH, false)
                .unwrap()
                .indexed,
            1
        );
        assert_eq!(matches(&conn, "失败的"), 1);
        // ... and one whose article never came is indexed after its wait.
        let mut w = post(Some("NW4"), "http://x/d", "久等的文章", None);
        w.article_pending = true;
        save_poll(&mut conn, &poll("a", vec![w])).unwrap();
        assert_eq!(
            index_pending(&mut conn, INDEX_BATCH, false)
                .unwrap()
                .indexed,
            0
        );
        conn.execute(
            "UPDATE fts_pending SET ready_at = '2000-01-01T00:00:00Z'",
            [],
        )
        .unwrap();
        assert_eq!(
            index_pending(&mut conn, INDEX_BATCH, false)
                .unwrap()
                .indexed,
            1
        );
        assert_eq!(matches(&conn, "久等的"), 1);
        index_is_consistent(&conn);
    }

    /// A poll's save never waits for the index to catch up: with 30,000
    /// posts queued for search, a job sent to the writer runs while most of
    /// them still are (the writer indexes one slice, then looks for jobs).
    #[test]
    fn a_job_waits_for_one_index_slice_not_for_the_backlog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        open_connection(&path)
            .unwrap()
            .execute_batch(
                "INSERT INTO sources (slug, name, url) VALUES ('a', 'a', 'http://x/');
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)
                 INSERT INTO posts (source, canonical_url, title, content_text, fetched_at)
                 SELECT 'a', 'http://x/' || i, '第' || i || '条新闻',
                        '国家统计局今天发布了最新的经济数据 ' || hex(randomblob(200)),
                        '2024-01-01T00:00:00Z' FROM n",
            )
            .unwrap();
        let store = Store::open(&path).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let left = rt.block_on(store.call(|c| unindexed(c))).unwrap();
        assert!(left > 30000 / 2, "{left} posts left when the job ran");
        // And the writer goes on indexing between jobs until none is left.
        let deadline = Instant::now() + Duration::from_secs(300);
        while rt.block_on(store.call(|c| unindexed(c))).unwrap() > 0 {
            assert!(Instant::now() < deadline, "the backlog was never indexed");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(store);
        let conn = open_connection(&path).unwrap();
        assert_eq!(matches(&conn, "经济数据"), 30000);
        index_is_consistent(&conn);
    }

    /// The writer's per-item lookups are compiled once, not again for each
    /// value bound (which a `LEFT JOIN` with a parameter made SQLite do).
    #[test]
    fn item_lookups_are_not_compiled_again_per_item() {
        let (_d, mut conn) = db();
        for round in 0..2 {
            let posts = (0..20)
                .map(|i| {
                    post(
                        Some(&format!("NW{i}")),
                        &format!("http://x/{i}"),
                        "标题",
                        None,
                    )
                })
                .collect();
            let saved = save_poll(&mut conn, &poll("a", posts)).unwrap();
            assert_eq!(saved.new_posts, if round == 0 { 20 } else { 0 });
        }
        for sql in [
            stored_post_where!("p.info_code = ?1"),
            stored_post_where!("p.canonical_url = ?1"),
        ] {
            let stmt = conn.prepare_cached(sql).unwrap();
            assert_eq!(
                stmt.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "{sql}"
            );
        }
    }

    /// The change feed: a new post and a changed one come after the
    /// cursor; a repeat that changes nothing does not; a deleted post's
    /// number is never given out again (a consumer past it would miss the
    /// next change).
    #[test]
    fn changes_come_after_the_cursor_and_numbers_are_never_reused() {
        let (_d, mut conn) = db();
        let changed = |conn: &Connection, after: i64| -> Vec<String> {
            let upto = last_change(conn).unwrap();
            let filter = PostFilter {
                changed: Some((after, upto)),
                ..PostFilter::default()
            };
            let mut titles = Vec::new();
            for_each_post(conn, &filter, |p| {
                titles.push(p.title.unwrap_or_default());
                Ok::<(), StoreError>(())
            })
            .unwrap();
            titles
        };
        let t1 = Some("2022-01-10T10:00:00+08:00");
        let t2 = Some("2022-01-10T11:00:00+08:00");
        let a = post(Some("NW1"), "http://x/a", "甲", t1);
        let b = post(Some("NW2"), "http://x/b", "乙", None);
        save_poll(&mut conn, &poll("a", vec![a.clone(), b.clone()])).unwrap();
        assert_eq!(changed(&conn, 0), ["甲", "乙"]);
        let cursor = last_change(&conn).unwrap();
        set_export_cursor(&conn, "t", cursor).unwrap();
        assert_eq!(export_cursor(&conn, "t").unwrap(), cursor);
        assert_eq!(export_cursor(&conn, "other").unwrap(), 0);

        // The same items again: nothing changed.
        save_poll(&mut conn, &poll("a", vec![a, b])).unwrap();
        assert!(changed(&conn, cursor).is_empty());
        // A newer version of one of them.
        let a2 = post(Some("NW1"), "http://x/a", "甲二", t2);
        save_poll(&mut conn, &poll("a", vec![a2])).unwrap();
        assert_eq!(changed(&conn, cursor), ["甲二"]);

        // The newest change deleted, then a new post: a number above all.
        let top = last_change(&conn).unwrap();
        conn.execute("DELETE FROM posts WHERE info_code = 'NW1'", [])
            .unwrap();
        assert_eq!(
            conn.query_row("SELECT COUNT(*) FROM post_changes", [], |r| r
                .get::<_, i64>(0))
                .unwrap(),
            1
        );
        let c = post(Some("NW3"), "http://x/c", "丙", None);
        save_poll(&mut conn, &poll("a", vec![c])).unwrap();
        assert!(last_change(&conn).unwrap() > top);
        assert_eq!(changed(&conn, top), ["丙"]);
        // A cursor never goes back.
        set_export_cursor(&conn, "t", 1).unwrap();
        assert_eq!(export_cursor(&conn, "t").unwrap(), cursor);
    }

    /// Schema 10 on a database of schema 9: the source columns refer to
    /// `sources` (a slug it lacked gets a row, rows left by deletions made
    /// without enforcement go), every post keeps its id, its change number
    /// and its place in the search queue, the triggers work again, and a
    /// deleted post's id is not given out again.
    #[test]
    fn source_references_are_declared_and_nothing_moves() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        {
            let conn = Connection::open(&path).unwrap();
            for (i, sql) in MIGRATIONS.iter().enumerate().take(9) {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", i as i64 + 1)
                    .unwrap();
            }
            // As another tool may have written it: without enforcement.
            conn.execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO sources (slug, name, url) VALUES ('a', 'A', 'http://a/');
                 INSERT INTO posts (id, source, canonical_url, title, content_text, fetched_at)
                     VALUES (5, 'a', 'http://x/5', '五', '第五条', '2024-01-01T00:00:00Z'),
                            (9, 'gone', 'http://x/9', '九', '第九条', '2024-01-01T00:00:00Z');
                 INSERT INTO post_sources VALUES (5, 'a', 't'), (9, 'gone', 't'), (77, 'a', 't');
                 INSERT INTO fetches (source, url, started_at, duration_ms, outcome)
                     VALUES ('elsewhere', 'http://e/', 't', 1, 'ok');
                 CREATE INDEX theirs ON posts(title);
                 CREATE TABLE their_log (post_id INTEGER);
                 CREATE TRIGGER their_trigger AFTER INSERT ON posts BEGIN
                     INSERT INTO their_log VALUES (new.id);
                 END;",
            )
            .unwrap();
        }
        let mut conn = open_connection(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        for table in ["posts", "post_sources", "fetches"] {
            let refs: Vec<(String, String, String)> = conn
                .prepare(&format!(
                    "SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('{table}')"
                ))
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(
                refs.contains(&("sources".into(), "source".into(), "slug".into())),
                "{table}: {refs:?}"
            );
        }
        let slugs: Vec<String> = conn
            .prepare("SELECT slug || ':' || (removed_at IS NOT NULL) FROM sources ORDER BY slug")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(slugs, ["a:0", "elsewhere:1", "gone:1"]);
        let count = |conn: &Connection, sql: &str| -> i64 {
            conn.query_row(sql, [], |r| r.get(0)).unwrap()
        };
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM post_sources"), 2);
        let ids: String = conn
            .query_row(
                "SELECT group_concat(id) FROM (SELECT id FROM posts ORDER BY id)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(ids, "5,9");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM post_changes"), 2);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM fts_pending"), 2);
        assert_eq!(index_all(&mut conn).unwrap(), 2);
        assert_eq!(matches(&conn, "第九"), 1);

        // The triggers: a new post is queued and in the change feed; the
        // highest id, deleted, is not used again.
        conn.execute("DELETE FROM posts WHERE id = 9", []).unwrap();
        let p = post(Some("NW1"), "http://x/new", "新的", None);
        save_poll(&mut conn, &poll("a", vec![p])).unwrap();
        assert_eq!(count(&conn, "SELECT MAX(id) FROM posts"), 10);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM fts_pending"), 1);
        assert_eq!(
            count(
                &conn,
                "SELECT post_id FROM post_changes ORDER BY seq DESC LIMIT 1"
            ),
            10
        );
        // A downstream tool's index and trigger are there again, and work.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('theirs', 'their_trigger')"
            ),
            2
        );
        assert_eq!(count(&conn, "SELECT post_id FROM their_log"), 10);
        // References hold now: a post of an unknown source is refused.
        assert!(
            conn.execute(
                "INSERT INTO posts (source, canonical_url, fetched_at) VALUES ('nobody', 'u', 't')",
                []
            )
            .is_err()
        );
    }

    #[test]
    fn health_columns() {
        let (_d, mut conn) = db();
        let mut p = poll("a", vec![]);
        p.fetch.outcome = Outcome::Error;
        p.fetch.error = Some("HTTP 404".into());
        save_poll(&mut conn, &p).unwrap();
        save_poll(&mut conn, &p).unwrap();
        assert_eq!(source_state(&conn, "a").unwrap().failures, 2);
        let mut ok = poll("a", vec![]);
        ok.validators = Some(Validators {
            etag: Some("\"v1\"".into()),
            last_modified: None,
        });
        save_poll(&mut conn, &ok).unwrap();
        let st = source_state(&conn, "a").unwrap();
        assert_eq!(st.failures, 0);
        assert_eq!(st.validators.etag.as_deref(), Some("\"v1\""));
        // A new URL for the source forgets the old validators.
        sync_sources(
            &mut conn,
            &[("a".into(), "A".into(), "http://a/new".into())],
        )
        .unwrap();
        assert_eq!(
            source_state(&conn, "a").unwrap().validators,
            Validators::default()
        );
    }
}
