//! The shim against SQLite's own VFS: readers on SQLite's default see every
//! commit whole at once, whatever the writer's transactions do, and the
//! log is written in runs.

use std::cell::Cell;
use std::collections::BTreeMap;

use rusqlite::{Connection, OpenFlags, params};

use super::NAME;

thread_local! {
    /// Writes to a log that reached the default VFS on this thread.
    static WRITES: Cell<u64> = const { Cell::new(0) };
    /// Writes to a main database file that reached the default VFS.
    static DB_WRITES: Cell<u64> = const { Cell::new(0) };
    /// Whether growing a database file before a checkpoint fails.
    static GROWTH_FAILS: Cell<bool> = const { Cell::new(false) };
}

pub(super) fn count_write() {
    WRITES.with(|w| w.set(w.get() + 1));
}

pub(super) fn count_db_write(main_db: bool) {
    if main_db {
        DB_WRITES.with(|w| w.set(w.get() + 1));
    }
}

pub(super) fn growth_fails() -> bool {
    GROWTH_FAILS.with(Cell::get)
}

fn writes() -> u64 {
    WRITES.with(Cell::get)
}

/// A writer on the shim, in WAL mode, its page cache small enough that
/// large transactions spill frames before their commit, and no automatic
/// checkpoints (the test runs them).
fn writer(path: &std::path::Path) -> Connection {
    assert!(super::available());
    let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), NAME).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "cache_size", 16).unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL, u TEXT UNIQUE)")
        .unwrap();
    conn
}

/// What `conn` sees of the table.
fn contents(conn: &Connection) -> BTreeMap<i64, Vec<u8>> {
    let mut s = conn.prepare("SELECT k, v FROM t").unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn readers_see_every_commit_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut w = writer(&path);
    let r = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut want = BTreeMap::new();
    let mut draw = crate::testing::below(0x5EED_F1E5);
    for round in 0..120 {
        let tx = w.transaction().unwrap();
        // Rows of 1 to 40 KB (a page to ten, overflow pages), inserted and
        // rewritten: large transactions spill pages and write some of them
        // again, over their own frames (SQLite then rewrites the frames'
        // checksums at the commit).
        for _ in 0..draw(60) {
            let k = draw(400) as i64;
            let len = 1 + draw(40_000);
            let v: Vec<u8> = (0..len)
                .map(|i| (i as u64 * 31 + k as u64 + round) as u8)
                .collect();
            tx.execute(
                "INSERT INTO t (k, v, u) VALUES (?1, ?2, ?3)
                 ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                params![k, v, format!("{k:08}")],
            )
            .unwrap();
            want.insert(k, v);
        }
        // A savepoint rolled back: its frames are never committed.
        if round % 7 == 3 {
            tx.execute_batch(
                "SAVEPOINT s; INSERT INTO t (k, v) VALUES (100000, zeroblob(50000)); ROLLBACK TO s; RELEASE s",
            )
            .unwrap();
        }
        tx.commit().unwrap();
        assert_eq!(contents(&r), want, "after commit {round}");
        if round % 40 == 39 {
            // The log started over: its header and first frames again.
            w.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .unwrap();
        }
    }
    // A transaction that fails after spilling leaves nothing behind.
    let tx = w.transaction().unwrap();
    tx.execute("INSERT INTO t (k, v) VALUES (500000, zeroblob(400000))", [])
        .unwrap();
    drop(tx);
    assert_eq!(contents(&r), want);
    assert_eq!(
        r.query_row("PRAGMA integrity_check", [], |x| x.get::<_, String>(0))
            .unwrap(),
        "ok"
    );
    drop(r);
    drop(w);
    // And from the files alone (the log replayed by a new connection).
    let again = Connection::open(&path).unwrap();
    assert_eq!(contents(&again), want);
}

#[test]
fn the_log_is_written_in_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w = writer(&path);
    w.pragma_update(None, "cache_size", 2000).unwrap();
    let before = writes();
    w.execute(
        "INSERT INTO t (k, v) SELECT value, zeroblob(3000) FROM generate_series(1, 2000)",
        [],
    )
    .unwrap_or_else(|_| {
        // Without the series extension: a recursive CTE.
        w.execute(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2000)
             INSERT INTO t (k, v) SELECT n, zeroblob(3000) FROM s",
            [],
        )
        .unwrap()
    });
    let frames = std::fs::metadata(dir.path().join("t.db-wal"))
        .unwrap()
        .len()
        / (4096 + 24);
    let calls = writes() - before;
    assert!(frames >= 1500, "{frames} frames");
    // SQLite alone: two a frame. In runs of 31 frames: under 1 in 20.
    assert!(calls * 20 < frames, "{calls} writes for {frames} frames");
}

/// 2,000 rows of 3 KB, committed, and the page count of the database.
fn fill(w: &Connection) -> i64 {
    w.execute(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2000)
         INSERT INTO t (k, v, u) SELECT n, randomblob(3000), printf('%08d', n) FROM s",
        [],
    )
    .unwrap();
    w.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap()
}

/// A checkpoint through the shim, on a connection of its own: how many
/// frames it copied, and the writes to the database file that reached the
/// default VFS meanwhile.
fn checkpoint(path: &std::path::Path) -> (i64, u64) {
    let c = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), NAME).unwrap();
    let before = DB_WRITES.with(Cell::get);
    let (busy, copied): (i64, i64) = c
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0);
    (copied, DB_WRITES.with(Cell::get) - before)
}

/// The database as a connection on SQLite's default VFS sees it, checked.
fn check(path: &std::path::Path, want: &BTreeMap<i64, Vec<u8>>) {
    let r = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    assert_eq!(
        r.query_row("PRAGMA integrity_check", [], |x| x.get::<_, String>(0))
            .unwrap(),
        "ok"
    );
    assert_eq!(&contents(&r), want);
}

#[test]
fn a_checkpoint_writes_the_database_file_in_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w = writer(&path);
    let pages = fill(&w);
    let want = contents(&w);
    let (copied, writes) = checkpoint(&path);
    assert!(
        copied >= 2000 && pages >= 2000,
        "{copied} frames, {pages} pages"
    );
    // SQLite alone: a write a page. The pages a fill appends follow one
    // another: in runs of 31, under one write in 10 pages.
    assert!(
        writes * 10 < copied as u64,
        "{writes} writes for {copied} frames"
    );
    check(&path, &want);
    // The whole log copied: the file is cut to the database's size.
    let len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(len, pages as u64 * 4096);
    // And rows rewritten all over the file (pages written over in place,
    // not appended) come through the same way.
    w.execute("UPDATE t SET v = randomblob(2000) WHERE k % 3 = 0", [])
        .unwrap();
    let want = contents(&w);
    let (copied, _) = checkpoint(&path);
    assert!(copied > 500, "{copied}");
    check(&path, &want);
}

#[test]
fn a_checkpoint_without_room_to_grow_writes_as_sqlite_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w = writer(&path);
    let pages = fill(&w);
    let want = contents(&w);
    GROWTH_FAILS.with(|g| g.set(true));
    let (copied, writes) = checkpoint(&path);
    GROWTH_FAILS.with(|g| g.set(false));
    // The growth could not be allocated: nothing held back, a write a page,
    // each failing or not on its own as without the shim.
    assert!(copied >= 2000, "{copied}");
    assert!(
        writes as i64 >= pages - 10,
        "{writes} writes for {pages} pages"
    );
    check(&path, &want);
}
