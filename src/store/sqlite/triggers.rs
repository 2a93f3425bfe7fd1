//! The writer's inserts of posts without SQLite's trigger machinery.
//!
//! Two triggers queue a post for the search index (`posts_fts_insert`) and
//! log it in the change feed (`posts_changed_insert`) whoever inserts it:
//! they are the interface other programs' writes rely on. Fired for the
//! writer's own inserts they cost a third of its SQLite time: a statement
//! with triggers that may fail half-way copies every page it changes to a
//! statement journal (11 pages, 44 KB a post), and runs the triggers'
//! programs. So the writer's connection turns the database's triggers off
//! (`SQLITE_DBCONFIG_ENABLE_TRIGGER`, for that connection only), does those
//! two triggers' work itself where it inserts a post ([`inline`]), and
//! keeps every other trigger firing through a `TEMP` copy (the flag leaves
//! `TEMP` triggers on): the update and delete triggers of the search queue,
//! the change feed and the stories' counts, and any trigger another tool
//! added, on any table.
//!
//! Only when the two triggers are exactly as the migrations made them
//! (whitespace aside); else the database's triggers stay on, as they are.
//! Another program may change the schema while the writer runs: every
//! write transaction of the writer first compares the schema's version
//! with the one the copies were made from, inside the transaction (where
//! no one else can change it), and makes them again when it moved
//! ([`keep_up`]).
//!
//! Measured on a cold crawl of 1,000 feeds (49,814 posts): a post's
//! statements 32.7 → 21.5 µs in isolation (the same rows, the real schema),
//! the crawl 2.24 → 2.11 s (medians of 6, alternating; every run faster),
//! the writer's CPU samples 3,734 → 2,980. The two rows' own `INSERT OR
//! REPLACE` kept a third of the journal: see [`after_insert`].

use std::ffi::c_int;

use rusqlite::{Connection, ffi, params};

use super::StoreError;

/// The two insert triggers whose work [`inline`]'s callers do, as the
/// migrations define them.
const OURS: [(&str, &str); 2] = [
    (
        "posts_fts_insert",
        "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
            INSERT OR REPLACE INTO fts_pending (post_id, ready_at) VALUES (new.id,
                CASE WHEN new.article_state = 'pending'
                     THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+15 minutes') ELSE '' END);
         END",
    ),
    (
        "posts_changed_insert",
        "CREATE TRIGGER posts_changed_insert AFTER INSERT ON posts BEGIN
            INSERT OR REPLACE INTO post_changes (post_id) VALUES (new.id);
         END",
    ),
];

/// What the two triggers do for a post just inserted (`?1`, its
/// `article_state` `?2`): the same rows, each by a plain `INSERT` (one that
/// replaces may delete a row besides, and would need the statement journal
/// this module avoids), and, only when a row is already there under the
/// post's id (another program's, written without foreign keys), by the
/// triggers' own `INSERT OR REPLACE`.
const QUEUE_FOR_SEARCH: [&str; 2] = [
    "INSERT INTO fts_pending (post_id, ready_at) VALUES (?1,
        CASE WHEN ?2 = 'pending' THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+15 minutes') ELSE '' END)",
    "INSERT OR REPLACE INTO fts_pending (post_id, ready_at) VALUES (?1,
        CASE WHEN ?2 = 'pending' THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+15 minutes') ELSE '' END)",
];
const LOG_CHANGE: [&str; 2] = [
    "INSERT INTO post_changes (post_id) VALUES (?1)",
    "INSERT OR REPLACE INTO post_changes (post_id) VALUES (?1)",
];

/// Does the two insert triggers' work for post `id`, just inserted on
/// `conn` with `article_state`, when `conn`'s triggers are off ([`inline`]);
/// nothing when they are on (they did it).
pub(super) fn after_insert(
    st: &mut super::Stmts<'_>,
    id: i64,
    article_state: Option<&str>,
) -> Result<(), StoreError> {
    if !inline(st.conn()) {
        return Ok(());
    }
    super::insert_else_replace(st, QUEUE_FOR_SEARCH, params![id, article_state])?;
    super::insert_else_replace(st, LOG_CHANGE, params![id])
}

/// Whether the database's triggers are off on `conn`: then its inserts of
/// posts do the two triggers' work themselves.
pub(super) fn inline(conn: &Connection) -> bool {
    trigger_flag(conn, -1) == Some(0)
}

/// Reads (`set` -1) or sets (0, 1) `conn`'s `SQLITE_DBCONFIG_ENABLE_TRIGGER`;
/// `None` when SQLite refuses.
fn trigger_flag(conn: &Connection, set: c_int) -> Option<c_int> {
    let mut now: c_int = -1;
    // SAFETY: the handle is `conn`'s, open for the call; the option takes
    // an int and a pointer to an int, which outlives the call.
    let rc = unsafe {
        ffi::sqlite3_db_config(
            conn.handle(),
            ffi::SQLITE_DBCONFIG_ENABLE_TRIGGER,
            set,
            &mut now as *mut c_int,
        )
    };
    (rc == ffi::SQLITE_OK).then_some(now)
}

/// Text compared without its layout.
fn words(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Turns `conn`'s triggers off and makes the `TEMP` copies (see the
/// module's text), when the two insert triggers are as the migrations made
/// them; else leaves them on. Returns whether they are off. Run on the
/// writer's connection when it opens; [`keep_up`] runs it again when the
/// schema changed.
pub(super) fn install(conn: &Connection) -> Result<bool, StoreError> {
    let installed = copy_and_switch(conn);
    // Whatever failed half-way, the database's own triggers fire rather
    // than none (or stale copies); with the copies gone only, or the two
    // would both fire.
    if installed.is_err() && drop_copies(conn).is_ok() {
        trigger_flag(conn, 1);
    }
    installed
}

/// [`install`]'s work.
fn copy_and_switch(conn: &Connection) -> Result<bool, StoreError> {
    let version: i64 = conn.query_row("PRAGMA main.schema_version", [], |r| r.get(0))?;
    let triggers: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' ORDER BY name")?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })?
        .collect::<Result<_, _>>()?;
    drop_copies(conn)?;
    let is_ours = |name: &str| OURS.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let intact = OURS.iter().all(|(name, sql)| {
        triggers
            .iter()
            .any(|(n, s)| n.eq_ignore_ascii_case(name) && words(s) == words(sql))
    });
    let mut off = intact;
    if intact {
        for (name, sql) in triggers.iter().filter(|(n, _)| !is_ours(n)) {
            let copied = copy_as_temp(sql)
                .ok_or(())
                .and_then(|copy| conn.execute_batch(&copy).map_err(|_| ()));
            if copied.is_err() {
                tracing::debug!(trigger = %name, "trigger not copied: the database's triggers stay on");
                off = false;
                break;
            }
        }
        if !off {
            drop_copies(conn)?;
        }
    }
    if trigger_flag(conn, if off { 0 } else { 1 }) != Some(if off { 0 } else { 1 }) {
        drop_copies(conn)?;
        trigger_flag(conn, 1);
        off = false;
    }
    // The version the copies are of, kept where only this connection
    // sees it (0: never installed).
    conn.execute_batch(&format!("PRAGMA temp.user_version = {}", version.max(1)))?;
    Ok(off)
}

/// The `TEMP` form of a trigger's stored `CREATE TRIGGER` text.
fn copy_as_temp(sql: &str) -> Option<String> {
    const HEAD: &str = "CREATE TRIGGER ";
    let head = sql.get(..HEAD.len())?;
    head.eq_ignore_ascii_case(HEAD).then(|| {
        format!(
            "CREATE TEMP TRIGGER {}",
            sql.get(HEAD.len()..).unwrap_or_default()
        )
    })
}

fn drop_copies(conn: &Connection) -> Result<(), StoreError> {
    let copies: Vec<String> = conn
        .prepare("SELECT name FROM temp.sqlite_master WHERE type = 'trigger'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for name in copies {
        conn.execute_batch(&format!(
            "DROP TRIGGER temp.\"{}\"",
            name.replace('"', "\"\"")
        ))?;
    }
    Ok(())
}

/// Makes the copies again when the schema changed since they were made
/// (another program added, changed or dropped a trigger): run inside each
/// write transaction of the writer, before it writes. Nothing on a
/// connection [`install`] never ran on.
pub(super) fn keep_up(conn: &Connection) -> Result<(), StoreError> {
    // Both statements kept prepared: this runs at every write transaction
    // (in the daemon, one a poll), and parsing them was most of its cost.
    let made: i64 = conn
        .prepare_cached("PRAGMA temp.user_version")?
        .query_row([], |r| r.get(0))?;
    if made == 0 {
        return Ok(());
    }
    let version: i64 = conn
        .prepare_cached("PRAGMA main.schema_version")?
        .query_row([], |r| r.get(0))?;
    if version.max(1) != made {
        install(conn)?;
    }
    Ok(())
}
