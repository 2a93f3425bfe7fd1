//! The SQLite backend: the only code that speaks SQL. WAL mode with a busy
//! timeout; one writer connection on its own thread ([`writer`]); every
//! other reader opens its own read-only connection ([`Reader`]). Split by
//! concern: [`migrate`], [`sources`], [`posts`], [`stories`], [`articles`],
//! [`search`], [`export`], [`prune`].

mod alloc;
mod articles;
mod export;
mod migrate;
#[macro_use]
mod posts;
mod prune;
mod search;
mod sources;
pub(crate) use alloc::use_global_allocator;
pub(crate) mod stories;
#[cfg(test)]
mod tests;
mod triggers;
mod vfs;
mod writer;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

pub(crate) use articles::*;
pub(crate) use export::*;
pub(crate) use migrate::*;
pub(crate) use posts::*;
pub(crate) use prune::*;
pub(crate) use search::*;
pub(crate) use sources::*;
pub(crate) use stories::{SqliteRows, Stories, assign_unassigned, list_stories, story_posts};
pub(crate) use writer::*;

pub(crate) use super::model::*;
pub(crate) use crate::dedup::{Earlier, Identity};
pub(crate) use crate::fetch::Validators;
pub(crate) use crate::store::StoreError;
pub(crate) use chrono::DateTime;

/// How long a writer waits for another process's transaction to finish.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens `path` (creating its directory and the file) and migrates it.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
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
    // The writer's log is written in runs of frames (see `vfs`).
    let mut conn = if vfs::available() {
        Connection::open_with_flags_and_vfs(path, rusqlite::OpenFlags::default(), vfs::NAME)
    } else {
        Connection::open(path)
    }
    .map_err(open_err)?;
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
    // every 1,000 (the store's writer hands its checkpoints to a thread of
    // their own at the same mark, see `writer`; this is for the others): the writer checkpoints on the commit that crosses the
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

/// Begins a write transaction on the writer's connection (`IMMEDIATE`: the
/// write lock at once), its triggers brought up to date with the schema
/// inside it (see `triggers`).
pub(crate) fn begin_write(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    triggers::keep_up(&tx)?;
    Ok(tx)
}

/// Runs `plain` (an `INSERT`), or `replace` (the same `INSERT OR REPLACE`)
/// when `plain` finds the row's key taken: a plain insert of one row needs
/// no statement journal, one that may replace does (it may delete a row
/// too), so the replace runs only for a row another program left.
pub(super) fn insert_else_replace(
    stmts: &mut Stmts<'_>,
    [plain, replace]: [&'static str; 2],
    values: &[&dyn rusqlite::ToSql],
) -> Result<(), StoreError> {
    match stmts.get(plain)?.execute(values) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            stmts.get(replace)?.execute(values)?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The statements of one unit of work on a connection (on the writer's: a
/// poll's save, a batch of articles, a slice of the idle pass that gives
/// older posts their stories; on a reader's, one `is_stored`), each taken
/// from the connection's cache once and held until the unit ends, known by
/// the address of its text. What it holds is bounded by the statement
/// texts in the code (some twenty a save), never by what a feed sends.
///
/// rusqlite's cache (`prepare_cached`) trims, hashes and compares a
/// statement's whole text at every use, copies it into a new `Arc<str>`,
/// and hashes it again to put the statement back: for the dozen
/// statements of a post stored, 3–4% of the writer's samples in a cold
/// crawl (rusqlite 0.43, `cache.rs`: the key could stay with the
/// statement while it is out, which would spare the copy and one hash;
/// the lookup by the whole text would remain). Held here, a statement is
/// found by comparing two words with each held (a unit uses some
/// twenty), and goes back to the cache when the unit ends. Only
/// `'static` texts: their address is theirs for the process's life, and
/// two equal texts at two addresses are two entries for the same
/// statement, which is harmless.
pub(crate) struct Stmts<'c> {
    conn: &'c Connection,
    held: Vec<((usize, usize), rusqlite::CachedStatement<'c>)>,
}

impl<'c> Stmts<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Stmts<'c> {
        Stmts {
            conn,
            held: Vec::new(),
        }
    }

    /// The connection, for what is not a held statement.
    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }

    /// The statement for `sql`, prepared (or taken from the connection's
    /// cache) at its first use in this unit. rusqlite resets a statement
    /// after `execute` and when a query's rows are dropped, so each use
    /// starts afresh; every parameter is bound again at each.
    pub(crate) fn get(
        &mut self,
        sql: &'static str,
    ) -> Result<&mut rusqlite::CachedStatement<'c>, StoreError> {
        let key = (sql.as_ptr() as usize, sql.len());
        let at = match self.held.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                let stmt = self.conn.prepare_cached(sql)?;
                self.held.push((key, stmt));
                self.held.len() - 1
            }
        };
        // In bounds: a position found in `held`, or its last.
        Ok(&mut self.held[at].1)
    }
}

/// A read-only connection to an existing database, or `None` when there is
/// none yet (commands that only read must not create it).
pub(crate) fn open_read_only(path: &Path) -> Result<Option<Connection>, StoreError> {
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

/// A UTC time as the bookkeeping columns keep it: RFC 3339 to the second, `Z`.
pub(crate) fn utc_text(t: &DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A publisher's time as `published_at`/`updated_at` keep it: RFC 3339 in
/// its own offset (`Z` for UTC).
pub(crate) fn local_text(t: &DateTime<chrono::FixedOffset>) -> String {
    crate::date::to_rfc3339(t)
}

/// A read-only connection ([`crate::store::Reader`]'s).
pub(crate) struct ReadConn(Connection);

impl ReadConn {
    pub(crate) fn open(path: &Path) -> Result<Option<ReadConn>, StoreError> {
        Ok(open_read_only(path)?.map(ReadConn))
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.0
    }

    /// A read transaction: one snapshot until it is dropped.
    pub(crate) fn begin(&self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        Ok(self.0.unchecked_transaction()?)
    }
}

/// Whether the connection answers.
pub(crate) fn ping(conn: &mut Connection) -> Result<(), StoreError> {
    conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
    Ok(())
}
