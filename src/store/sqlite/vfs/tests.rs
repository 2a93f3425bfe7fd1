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
}

pub(super) fn count_write() {
    WRITES.with(|w| w.set(w.get() + 1));
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
