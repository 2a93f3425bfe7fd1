//! The SQLite backend's unit tests, in one file (over 600 lines) because
//! they share their fixtures: a scratch database, a post, a poll.

use super::*;
use crate::store::Store;
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
        updated_at: updated.map(t),
        ..NewPost::default()
    }
}

use crate::store::conformance::{poll, t};

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
        &mut Stories::default(),
        &poll("a", vec![post(Some("1"), "http://x/1", "一", None)]),
    )
    .unwrap();
    assert_eq!(s.new_posts, 1);
    // Same code, other URL; same URL, no code; both from source b.
    let s = save_poll(
        &mut conn,
        &mut Stories::default(),
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
    let st = &mut Stmts::new(&conn);
    insert_post(
        st,
        "a",
        &post(Some("9"), "http://x/9", "t", None),
        None,
        "now",
    )
    .unwrap();
    assert!(
        insert_post(
            st,
            "a",
            &post(Some("9"), "http://x/other", "t", None),
            None,
            "now"
        )
        .is_err()
    );
    assert!(
        insert_post(
            st,
            "a",
            &post(Some("10"), "http://x/9", "t", None),
            None,
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
        &mut Stories::default(),
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
        &mut Stories::default(),
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
        &mut Stories::default(),
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
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![p])).unwrap();
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
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![a, b])).unwrap();
    assert_eq!(matches(&conn, "初稿的"), 0, "queued, not indexed yet");
    assert_eq!(index_all(&mut conn).unwrap(), 2);
    assert_eq!(matches(&conn, "初稿的"), 1);

    // An indexed post that changes is queued, its old entries with it.
    let a2 = post(Some("NW1"), "http://x/a", "更正后标题", t2);
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![a2])).unwrap();
    assert_eq!(matches(&conn, "更正后"), 0);
    assert_eq!(stale(&conn), 1);
    // A post that changes before it was ever indexed, and a deleted one.
    let c1 = post(Some("NW3"), "http://x/c", "第一版本文", t1);
    let c2 = post(Some("NW3"), "http://x/c", "第二版本文", t2);
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![c1])).unwrap();
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![c2])).unwrap();
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
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![p])).unwrap();
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
        &mut Stories::default(),
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
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![q])).unwrap();
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
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![r])).unwrap();
    let id: i64 = conn
        .query_row("SELECT id FROM posts WHERE info_code = 'NW3'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let fetch = poll("a", vec![]).fetch;
    let retry = ArticleOutcome::Retry {
        next_at: t("2099-01-01T00:00:00Z").with_timezone(&chrono::Utc),
    };
    let failed = ArticleResult {
        post_id: id,
        fetch,
        outcome: retry,
    };
    save_articles(&mut conn, &mut Stories::default(), "a", &[failed]).unwrap();
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
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![w])).unwrap();
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
    let store = Store::open(&crate::config::Database::Sqlite(path.clone())).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let left = rt.block_on(store.unindexed()).unwrap();
    assert!(left > 30000 / 2, "{left} posts left when the job ran");
    // And the writer goes on indexing between jobs until none is left.
    let deadline = Instant::now() + Duration::from_secs(300);
    while rt.block_on(store.unindexed()).unwrap() > 0 {
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
        let saved = save_poll(&mut conn, &mut Stories::default(), &poll("a", posts)).unwrap();
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
    save_poll(
        &mut conn,
        &mut Stories::default(),
        &poll("a", vec![a.clone(), b.clone()]),
    )
    .unwrap();
    assert_eq!(changed(&conn, 0), ["甲", "乙"]);
    let cursor = last_change(&conn).unwrap();
    set_export_cursor(&conn, "t", cursor).unwrap();
    assert_eq!(export_cursor(&conn, "t").unwrap(), cursor);
    assert_eq!(export_cursor(&conn, "other").unwrap(), 0);

    // The same items again: nothing changed.
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![a, b])).unwrap();
    assert!(changed(&conn, cursor).is_empty());
    // A newer version of one of them.
    let a2 = post(Some("NW1"), "http://x/a", "甲二", t2);
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![a2])).unwrap();
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
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![c])).unwrap();
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
    let count =
        |conn: &Connection, sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
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
    save_poll(&mut conn, &mut Stories::default(), &poll("a", vec![p])).unwrap();
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
    save_poll(&mut conn, &mut Stories::default(), &p).unwrap();
    save_poll(&mut conn, &mut Stories::default(), &p).unwrap();
    assert_eq!(source_state(&conn, "a").unwrap().failures, 2);
    let mut ok = poll("a", vec![]);
    ok.validators = Some(Validators {
        etag: Some("\"v1\"".into()),
        last_modified: None,
    });
    save_poll(&mut conn, &mut Stories::default(), &ok).unwrap();
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

/// The plain-SQL form finds what `match_query` finds, for the queries
/// it supports (words, "phrases", Chinese of any length).
#[test]
fn the_sql_form_agrees_with_match_query() {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE VIRTUAL TABLE f USING fts5(t, tokenize=\"unicode61 remove_diacritics 2\");",
    )
    .unwrap();
    let docs = [
        "中国人民银行决定下调存款准备金率，央行表示将释放长期资金。",
        "中央银行行长讨论降低息差压力。",
        "恒生科技指数涨3.5%，A股市场成交放大",
        "Fed signals an interest rate cut as inflation cools",
        "A cut in interest-rate bets; COVID-19 cases fall",
    ];
    for d in docs {
        db.execute(
            "INSERT INTO f (t) VALUES (?1)",
            [crate::search::index_text(d)],
        )
        .unwrap();
    }
    let ids = |expr: &str| -> Vec<i64> {
        let mut st = db
            .prepare("SELECT rowid FROM f WHERE f MATCH ?1 ORDER BY rowid")
            .unwrap();
        st.query_map([expr], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let sql = format!("SELECT ({})", crate::search::SQL_MATCH);
    for q in [
        "央行",
        "降息",
        "准备金",
        "恒生科技",
        "存款准备金率",
        "A股市场",
        "央行 资金",
        "inflation",
        "Inflation cools",
        "\"interest rate cut\"",
        "\"interest rate\" cut",
        "COVID-19",
    ] {
        let from_sql: String = db
            .query_row(&sql, rusqlite::named_params! {":q": q}, |r| r.get(0))
            .unwrap();
        let ours = crate::search::match_query(q).unwrap();
        assert_eq!(ids(&from_sql), ids(&ours), "{q}: {from_sql} vs {ours}");
    }
    assert_eq!(ids(&crate::search::match_query("央行").unwrap()), vec![1]);
    assert_eq!(
        ids(&crate::search::match_query("降息").unwrap()),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&crate::search::match_query("\"interest rate cut\"").unwrap()),
        vec![4]
    );
    assert_eq!(
        ids(&crate::search::match_query("interest rate cut").unwrap()),
        vec![4, 5]
    );
}

/// The checkpointer keeps the log bounded while the writer commits without
/// pause: once the log passes the restart mark, a restart is carried out
/// and the writer starts the log over, so the file stays near the mark
/// instead of holding everything written. (Without the restart, 40 commits
/// of 64 pages leave a log of 2,560 pages.)
#[test]
fn the_log_stays_bounded_while_the_writer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    let marks = writer::Marks {
        checkpoint: 64,
        restart: 256,
        ..writer::Marks::default()
    };
    let w = writer::Writer::open_with_marks(&path, false, marks).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(w.call(|c| Ok(c.execute_batch("CREATE TABLE blobs (b BLOB)")?)))
        .unwrap();
    let wal = dir.path().join("n.db-wal");
    let mut largest = 0;
    for _ in 0..40 {
        let restarts = w.restarts();
        rt.block_on(w.call(move |c| {
            c.execute("INSERT INTO blobs VALUES (zeroblob(64 * 4096))", [])?;
            Ok(())
        }))
        .unwrap();
        largest = largest.max(std::fs::metadata(&wal).unwrap().len());
        let log = w.log_pages();
        if log >= u64::try_from(marks.restart).unwrap() {
            // Asked for a restart: wait for it, as the next commit would
            // find it done on a machine that is not loaded.
            let deadline = Instant::now() + Duration::from_secs(30);
            while w.restarts() == restarts {
                assert!(Instant::now() < deadline, "no restart at {log} pages");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    assert!(w.restarts() >= 3, "{} restarts", w.restarts());
    // The mark, plus the commit that crossed it, plus one more.
    let bound = (256 + 2 * 66) * 4120;
    assert!(largest <= bound, "log of {largest} bytes, bound {bound}");
}

/// However busy the writer, the log stays under its limit (four times the
/// restart mark) and one job: jobs queued back to back leave no pause
/// between two transactions for a restart to take the writer's lock in,
/// so the checkpointer has the writer wait after its job, and past the
/// limit the writer waits for the restart under way. (Without either, a
/// cold crawl's log grew to 1.5–2.3 times the mark; here, to every page
/// written, 100 jobs of 64: under the limit, that takes 5 restarts at
/// least.)
#[test]
fn the_log_stays_under_its_limit_with_jobs_back_to_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    let marks = writer::Marks {
        checkpoint: 64,
        restart: 256,
        // A loaded machine's disk may be slow: the writer waits for the
        // restart as long as it takes.
        held_max: Duration::from_secs(600),
    };
    let w = std::sync::Arc::new(writer::Writer::open_with_marks(&path, false, marks).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(w.call(|c| Ok(c.execute_batch("CREATE TABLE blobs (b BLOB)")?)))
        .unwrap();
    // Every job queued before the first runs: the writer finds the next
    // one waiting whenever it commits.
    let jobs: Vec<_> = (0..100)
        .map(|_| {
            let w = std::sync::Arc::clone(&w);
            rt.spawn(async move {
                w.call(|c| {
                    c.execute("INSERT INTO blobs VALUES (zeroblob(64 * 4096))", [])?;
                    Ok(())
                })
                .await
            })
        })
        .collect();
    for job in jobs {
        rt.block_on(job).unwrap().unwrap();
    }
    let written: i64 = rt
        .block_on(w.call(|c| Ok(c.query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))?)))
        .unwrap();
    assert_eq!(written, 100);
    // The log's file keeps its largest size.
    let largest = std::fs::metadata(dir.path().join("n.db-wal"))
        .unwrap()
        .len();
    // The limit, plus the job that crossed it (64 pages and the table's).
    let bound = (u64::try_from(marks.limit()).unwrap() + 2 * 66) * 4120;
    assert_eq!(marks.limit(), 4 * 256);
    assert!(largest <= bound, "log of {largest} bytes, bound {bound}");
    assert!(w.restarts() >= 5, "{} restarts", w.restarts());
}

/// The checkpointer syncs the database file through SQLite's own handle
/// before a restart: that works on a database file, does nothing for one
/// in memory, and leaves SQLite's locks on the file in place (a descriptor
/// of our own, closed, would drop every lock the process holds on it:
/// another connection could then write, or take the file as its own to
/// remove a log still in use).
#[test]
fn the_database_file_syncs_through_sqlite_s_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    // A rollback journal, whose write lock is a lock on the file itself.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    writer::sync_database_file(&conn).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (2);")
        .unwrap();
    writer::sync_database_file(&conn).unwrap();
    // Another process: connections of one process share their locks'
    // state in memory, whatever the file's locks say.
    let other = std::process::Command::new("sqlite3")
        .arg(&path)
        .arg("INSERT INTO t VALUES (3);")
        .output()
        .expect("the sqlite3 shell (.ci/run installs it)");
    let said = String::from_utf8_lossy(&other.stderr);
    assert!(
        !other.status.success() && said.contains("locked"),
        "another process wrote while this one held the lock: {said}"
    );
    conn.execute_batch("COMMIT").unwrap();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 2);
    let memory = Connection::open_in_memory().unwrap();
    writer::sync_database_file(&memory).unwrap();
}

/// A writer on a new database in a scratch directory, and a runtime to
/// wait for its jobs on.
fn scratch_writer() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    writer::Writer,
    tokio::runtime::Runtime,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    let w = writer::Writer::open_with(&path, false).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    (dir, path, w, rt)
}

/// When the writer closes, the database file holds every commit, even with
/// a reader still open (it closes last and, read-only, cannot copy the
/// log): the file alone, as `cp` would back it up, has the last post.
#[test]
fn the_file_holds_every_commit_once_the_writer_closes() {
    let (dir, path, w, rt) = scratch_writer();
    rt.block_on(w.call(|c| Ok(c.execute_batch("CREATE TABLE t (x INTEGER)")?)))
        .unwrap();
    let reader = open_read_only(&path).unwrap().unwrap();
    // Opened for real (SQLite opens the file at the first statement).
    let _: i64 = reader
        .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
        .unwrap();
    rt.block_on(w.call(|c| Ok(c.execute("INSERT INTO t VALUES (42)", []).map(|_| ())?)))
        .unwrap();
    drop(w);
    // The file alone, copied away from its log.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let n: i64 = Connection::open(&copy)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM t WHERE x = 42", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "the last commit is only in the log");
    drop(reader);
}

/// Holds the writer up with a job that waits, then queues a save per
/// source behind it (each job sent, none run) and lets the writer go: the
/// saves' results, in order.
fn saves_queued_together(
    w: &writer::Writer,
    rt: &tokio::runtime::Runtime,
    sources: &[&str],
) -> Vec<Result<SaveSummary, StoreError>> {
    use std::future::Future;
    use std::task::{Context, Waker};
    let (open, gate) = std::sync::mpsc::channel::<()>();
    let mut cx = Context::from_waker(Waker::noop());
    let mut hold = Box::pin(w.call(move |_| {
        let _ = gate.recv();
        Ok(())
    }));
    assert!(hold.as_mut().poll(&mut cx).is_pending());
    let mut saves: Vec<_> = sources
        .iter()
        .map(|&source| {
            let p = poll(
                source,
                vec![post(None, &format!("http://{source}/1"), source, None)],
            );
            Box::pin(w.call_shared(move |c, stories| save_poll_in(c, stories, &p)))
        })
        .collect();
    for save in &mut saves {
        // Queued (a job is sent at its first poll), not yet run.
        assert!(save.as_mut().poll(&mut cx).is_pending());
    }
    open.send(()).unwrap();
    rt.block_on(async {
        hold.await.unwrap();
        let mut out = Vec::new();
        for save in saves {
            out.push(save.await);
        }
        out
    })
}

/// Saves that wait for the writer together share one transaction (group
/// commit), and one that fails fails alone: the group is rolled back and
/// each of its saves runs again by itself, so the others are saved, each
/// once, and a caller hears of its save once it is committed.
#[test]
fn saves_waiting_together_commit_together_and_fail_alone() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (_dir, path, w, rt) = scratch_writer();
    // Commits that stored a fetch (the saves'; the writer's idle work
    // commits too).
    let commits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&commits);
    let fetched = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (seen, taken, undone) = (
        std::sync::Arc::clone(&fetched),
        std::sync::Arc::clone(&fetched),
        std::sync::Arc::clone(&fetched),
    );
    rt.block_on(w.call(move |c| {
        c.update_hook(Some(move |_, _: &str, table: &str, _| {
            if table == "fetches" {
                seen.store(true, Ordering::SeqCst);
            }
        }))?;
        c.commit_hook(Some(move || {
            if taken.swap(false, Ordering::SeqCst) {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            false
        }))?;
        c.rollback_hook(Some(move || undone.store(false, Ordering::SeqCst)))?;
        Ok(c.execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON fetches WHEN new.source = 'bad'
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )?)
    }))
    .unwrap();
    let fetches = |source: &str| -> i64 {
        open_read_only(&path)
            .unwrap()
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM fetches WHERE source = ?1",
                [source],
                |r| r.get(0),
            )
            .unwrap()
    };

    // Three saves queued together: one commit.
    let before = commits.load(Ordering::SeqCst);
    let results = saves_queued_together(&w, &rt, &["c", "d", "e"]);
    assert!(results.iter().all(|r| r.as_ref().unwrap().new_posts == 1));
    assert_eq!(commits.load(Ordering::SeqCst) - before, 1);
    // Told once committed: another connection sees them.
    assert_eq!(fetches("e"), 1);

    let results = saves_queued_together(&w, &rt, &["a", "bad", "b"]);
    assert_eq!(results[0].as_ref().unwrap().new_posts, 1);
    let e = results[1].as_ref().unwrap_err().to_string();
    assert!(e.contains("refused"), "{e}");
    assert_eq!(results[2].as_ref().unwrap().new_posts, 1);
    drop(w);
    let conn = open_read_only(&path).unwrap().unwrap();
    let rows = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    for (source, n) in [("a", 1), ("b", 1), ("bad", 0)] {
        let posts = conn
            .query_row(
                "SELECT COUNT(*) FROM posts WHERE source = ?1",
                [source],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(posts, n, "{source}");
        // Each save's rows once, though "a" ran twice.
        assert_eq!(fetches(source), n, "{source}");
    }
    assert_eq!(rows("SELECT COUNT(*) FROM stories"), 5);
    assert_eq!(rows("SELECT COUNT(*) FROM posts WHERE story_id IS NULL"), 0);
}

/// The same saves, updates, a story joined and a post deleted, on a
/// connection that fires the database's triggers and on one whose triggers
/// are off (the writer's: the insert triggers' work done by the insert,
/// the others through their `TEMP` copies): the search queue, the stale
/// texts, the change feed, the stories and their counts come out the same.
#[test]
fn the_writer_s_own_inserts_leave_what_the_triggers_leave() {
    fn scenario(conn: &mut Connection) -> Vec<String> {
        let mut stories = Stories::default();
        let mut pending = post(Some("3"), "http://x/3", "三", None);
        pending.article_pending = true;
        save_poll(
            conn,
            &mut stories,
            &poll(
                "a",
                vec![
                    post(Some("1"), "http://x/1", "一", Some("2022-01-01T00:00:00Z")),
                    post(Some("2"), "http://x/2", "二", None),
                    pending,
                ],
            ),
        )
        .unwrap();
        // Indexed, so that the update and the delete below leave texts to
        // take out of the index.
        index_all(conn).unwrap();
        // A newer version of the first: its text is updated in place.
        save_poll(
            conn,
            &mut stories,
            &poll(
                "a",
                vec![post(
                    Some("1"),
                    "http://x/1",
                    "一改",
                    Some("2022-01-02T00:00:00Z"),
                )],
            ),
        )
        .unwrap();
        let tx = begin_write(conn).unwrap();
        tx.execute_batch(
            "UPDATE posts SET story_id = (SELECT story_id FROM posts WHERE id = 1) WHERE id = 2;
             DELETE FROM posts WHERE id = 3;",
        )
        .unwrap();
        tx.commit().unwrap();
        let dump = |sql: &str| -> String {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
                .join(" ")
        };
        vec![
            dump("SELECT post_id || ':' || (ready_at = '') FROM fts_pending ORDER BY post_id"),
            dump("SELECT post_id || ':' || title FROM fts_stale ORDER BY post_id"),
            dump("SELECT seq || ':' || post_id FROM post_changes ORDER BY seq"),
            dump(
                "SELECT id || ':' || coalesce(post_id, '-') || ':' || post_count FROM stories ORDER BY id",
            ),
            dump("SELECT id || ':' || story_id FROM posts ORDER BY id"),
        ]
    }
    let (_a, mut fired) = db();
    let (_b, mut inline) = db();
    assert!(!triggers::inline(&fired));
    assert!(triggers::install(&inline).unwrap());
    assert!(triggers::inline(&inline));
    assert_eq!(
        value::<i64>(
            &inline,
            "SELECT COUNT(*) FROM temp.sqlite_master WHERE type = 'trigger'"
        ),
        5,
        "every trigger but the two insert triggers"
    );
    let expected = scenario(&mut fired);
    assert_eq!(scenario(&mut inline), expected);
    // What is compared is there to compare: the updated post queued again,
    // its old text and the deleted post's to take out, the changes (the update's a new number, the deleted
    // post's gone), a story of two, one emptied, one without its post.
    assert_eq!(expected[0], "1:1");
    assert_eq!(expected[1], "1:一 3:三");
    assert_eq!(expected[2], "2:2 4:1");
    assert_eq!(expected[3], "1:1:2 2:2:0 3:-:0");
    assert_eq!(expected[4], "1:1 2:1");
}

/// Another program changes the schema while the writer runs: a trigger it
/// adds fires for the writer's inserts from the writer's next transaction
/// on; one of the two insert triggers changed, the database's triggers
/// fire again (the changed one as it is, once); a row another program left
/// under the next post's id in the search queue is replaced, as the
/// trigger's `INSERT OR REPLACE` would.
#[test]
fn triggers_another_program_changes_are_kept_by_the_writer() {
    let (dir, mut conn) = db();
    assert!(triggers::install(&conn).unwrap());
    let other = Connection::open(dir.path().join("sub/n.db")).unwrap();
    other
        .execute_batch(
            "CREATE TABLE their_log (post_id INTEGER, what TEXT);
             CREATE TRIGGER their_insert AFTER INSERT ON posts BEGIN
                 INSERT INTO their_log VALUES (new.id, 'insert');
             END;
             INSERT INTO fts_pending (post_id, ready_at) VALUES (1, 'theirs');",
        )
        .unwrap();
    let mut stories = Stories::default();
    save_poll(
        &mut conn,
        &mut stories,
        &poll("a", vec![post(Some("1"), "http://x/1", "一", None)]),
    )
    .unwrap();
    assert!(triggers::inline(&conn), "the insert triggers are intact");
    let log =
        "SELECT group_concat(post_id || what, ' ') FROM (SELECT * FROM their_log ORDER BY rowid)";
    assert_eq!(value::<String>(&conn, log), "1insert");
    assert_eq!(
        value::<String>(&conn, "SELECT ready_at FROM fts_pending WHERE post_id = 1"),
        ""
    );
    other
        .execute_batch(
            "DROP TRIGGER posts_changed_insert;
             CREATE TRIGGER posts_changed_insert AFTER INSERT ON posts BEGIN
                 INSERT OR REPLACE INTO post_changes (post_id) VALUES (new.id);
                 INSERT INTO their_log VALUES (new.id, 'changed');
             END;",
        )
        .unwrap();
    save_poll(
        &mut conn,
        &mut stories,
        &poll("a", vec![post(Some("2"), "http://x/2", "二", None)]),
    )
    .unwrap();
    assert!(!triggers::inline(&conn));
    let entries = value::<String>(&conn, log);
    let mut entries: Vec<&str> = entries.split(' ').collect();
    entries.sort_unstable();
    assert_eq!(entries, ["1insert", "2changed", "2insert"]);
    assert_eq!(
        value::<String>(
            &conn,
            "SELECT group_concat(post_id, ',') FROM (SELECT post_id FROM post_changes ORDER BY seq)"
        ),
        "1,2"
    );
    assert_eq!(value::<i64>(&conn, "SELECT COUNT(*) FROM fts_pending"), 2);
}

/// The one value `sql` selects.
fn value<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> T {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Statements held for a unit of work: each text its own, the same one at
/// each use of a text (not prepared again), and every use starting afresh
/// (a query left with rows unread, then the same statement with other
/// values).
#[test]
fn held_statements_are_one_a_text_and_start_afresh() {
    let (_d, conn) = db();
    conn.execute_batch("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3);")
        .unwrap();
    let st = &mut Stmts::new(&conn);
    const BELOW: &str = "SELECT n FROM t WHERE n < ?1 ORDER BY n";
    const ABOVE: &str = "SELECT n FROM t WHERE n > ?1 ORDER BY n";
    let first = |st: &mut Stmts<'_>, sql: &'static str, v: i64| -> Option<i64> {
        use rusqlite::OptionalExtension;
        st.get(sql)
            .unwrap()
            .query_row([v], |r| r.get(0))
            .optional()
            .unwrap()
    };
    assert_eq!(first(st, BELOW, 3), Some(1));
    assert_eq!(first(st, ABOVE, 1), Some(2));
    assert_eq!(first(st, BELOW, 1), None);
    assert_eq!(first(st, ABOVE, 2), Some(3));
    st.get("INSERT INTO t VALUES (?1)")
        .unwrap()
        .execute([0])
        .unwrap();
    assert_eq!(first(st, BELOW, 1), Some(0));
    assert_eq!(st.held.len(), 3, "one statement a text");
    // The same text at another address: another entry, the same result.
    let copy: &'static str = Box::leak(BELOW.to_string().into_boxed_str());
    assert_eq!(first(st, copy, 2), Some(0));
    assert_eq!(st.held.len(), 4);
}
