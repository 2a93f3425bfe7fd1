//! Stories on SQLite: the rows [`crate::store::story_state`] reads and
//! writes inside the writer's transaction ([`SqliteRows`]), the idle pass
//! that gives older posts their stories, and `stories list`'s reads.

use rusqlite::{Connection, OptionalExtension, params};

use super::*;
pub(crate) use crate::store::story_state::Stories;
use crate::store::story_state::{
    PostText, SignatureRow, SignatureSink, SignaturesFrom, StoryRows, Unassigned, post_time,
};

/// [`StoryRows`] on a SQLite write transaction.
pub(crate) struct SqliteRows<'a, 'c>(pub(crate) &'a mut Stmts<'c>);

impl StoryRows for SqliteRows<'_, '_> {
    fn signatures(
        &mut self,
        from: SignaturesFrom,
        f: &mut SignatureSink<'_>,
    ) -> Result<(), StoreError> {
        let (sql, from) = match from {
            SignaturesFrom::SeenSince(cutoff) => (
                "SELECT post_id, seen_at, at, signature FROM story_signatures
                 WHERE seen_at >= ?1 ORDER BY post_id",
                cutoff,
            ),
            SignaturesFrom::After(post) => (
                "SELECT post_id, seen_at, at, signature FROM story_signatures
                 WHERE post_id > ?1 ORDER BY post_id",
                post,
            ),
        };
        let stmt = self.0.get(sql)?;
        let mut rows = stmt.query([from])?;
        while let Some(r) = rows.next()? {
            let blob = r.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?;
            f(r.get(0)?, r.get(1)?, r.get(2)?, blob);
        }
        Ok(())
    }

    fn max_signature_post(&mut self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .0
            .get("SELECT MAX(post_id) FROM story_signatures")?
            .query_row([], |r| r.get(0))?)
    }

    fn signature(&mut self, post: i64) -> Result<Option<SignatureRow>, StoreError> {
        Ok(self
            .0
            .get("SELECT seen_at, at, signature FROM story_signatures WHERE post_id = ?1")?
            .query_row([post], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    fn put_signature(
        &mut self,
        post: i64,
        seen: i64,
        at: i64,
        blob: &[u8],
    ) -> Result<(), StoreError> {
        // A plain `INSERT` first: most posts have no signature yet (one
        // just stored; one whose article came, stored without), and it
        // needs no statement journal, where `INSERT OR REPLACE` on a table
        // with an index copies each page it changes to one first (a fifth
        // of the row's cost when a post is stored; in the articles run,
        // whose signatures come with the articles, 195 → 138 writer
        // samples at 1,000 a second). Replaced when there is one: a post's
        // new text, an old post assigned late, or a row of another
        // program's (one that wrote signatures with foreign keys off, the
        // sqlite3 shell's default).
        const SIGNATURE: [&str; 2] = [
            "INSERT INTO story_signatures (post_id, seen_at, at, signature) VALUES (?1, ?2, ?3, ?4)",
            "INSERT OR REPLACE INTO story_signatures (post_id, seen_at, at, signature)
             VALUES (?1, ?2, ?3, ?4)",
        ];
        super::insert_else_replace(self.0, SIGNATURE, params![post, seen, at, blob])
    }

    fn post_text(&mut self, post: i64) -> Result<Option<PostText>, StoreError> {
        Ok(self
            .0
            .get("SELECT title, content_text FROM posts WHERE id = ?1")?
            .query_row([post], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn story_of(&mut self, post: i64) -> Result<Option<i64>, StoreError> {
        let story: Option<Option<i64>> = self
            .0
            .get("SELECT story_id FROM posts WHERE id = ?1")?
            .query_row([post], |r| r.get(0))
            .optional()?;
        Ok(story.flatten())
    }

    fn post_story_time(&mut self, post: i64) -> Result<Option<(Option<i64>, i64)>, StoreError> {
        let row: Option<(Option<i64>, Option<String>, String)> = self
            .0
            .get("SELECT story_id, published_at, fetched_at FROM posts WHERE id = ?1")?
            .query_row([post], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        Ok(row
            .map(|(story, published, fetched)| (story, post_time(published.as_deref(), &fetched))))
    }

    fn count_in(&mut self, story: i64, now: &str) -> Result<(), StoreError> {
        self.0
            .get(
                "UPDATE stories SET post_count = post_count + 1,
                    last_seen_at = max(last_seen_at, ?2) WHERE id = ?1",
            )?
            .execute(params![story, now])?;
        Ok(())
    }

    fn new_story(&mut self, title: Option<&str>, post: i64, now: &str) -> Result<i64, StoreError> {
        self.0
            .get(
                "INSERT INTO stories (title, post_id, first_seen_at, last_seen_at, post_count)
                 VALUES (?1, ?2, ?3, ?3, 1)",
            )?
            .execute(params![title, post, now])?;
        Ok(self.0.conn().last_insert_rowid())
    }

    fn join(&mut self, root: i64, other: i64) -> Result<(), StoreError> {
        let tx = &mut *self.0;
        tx.get("UPDATE posts SET story_id = ?1 WHERE story_id = ?2")?
            .execute(params![root, other])?;
        tx.get(
            "UPDATE stories SET first_seen_at = min(first_seen_at,
                COALESCE((SELECT first_seen_at FROM stories WHERE id = ?2), first_seen_at))
             WHERE id = ?1",
        )?
        .execute(params![root, other])?;
        tx.get("DELETE FROM stories WHERE id = ?1")?
            .execute([other])?;
        Ok(())
    }

    fn assign(&mut self, post: i64, story: i64) -> Result<(), StoreError> {
        // The trigger on `story_id` counts it once more.
        self.0
            .get("UPDATE stories SET post_count = post_count - 1 WHERE id = ?1")?
            .execute([story])?;
        self.0
            .get("UPDATE posts SET story_id = ?2 WHERE id = ?1")?
            .execute(params![post, story])?;
        Ok(())
    }
}

/// Gives up to `limit` posts without a story (stored before version 13,
/// or by another tool) theirs, oldest first, in one transaction; returns
/// how many ([`Stories::assign_batch`]).
pub(crate) fn assign_unassigned(
    conn: &mut Connection,
    stories: &mut Stories,
    limit: usize,
) -> Result<usize, StoreError> {
    let tx = super::begin_write(conn)?;
    stories.begin();
    let posts: Vec<Unassigned> = tx
        .prepare_cached(
            "SELECT id, title, content_text, published_at, fetched_at FROM posts
             WHERE story_id IS NULL ORDER BY id LIMIT ?1",
        )?
        .query_map([limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    stories.assign_batch(&mut SqliteRows(&mut Stmts::new(&tx)), &posts)?;
    tx.commit()?;
    Ok(posts.len())
}

/// The stories last seen at or after `since` (UTC text) with at least
/// `min_posts` posts, the biggest first (then the latest), at most
/// `limit`, each with its outlets.
pub(crate) fn list_stories(
    conn: &Connection,
    since: &str,
    min_posts: i64,
    limit: usize,
) -> Result<Vec<StoryRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, title, post_id, post_count, first_seen_at, last_seen_at FROM stories
         WHERE last_seen_at >= ?1 AND post_count >= ?2
         ORDER BY post_count DESC, last_seen_at DESC, id DESC LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![since, min_posts, limit as i64], |r| {
            Ok(StoryRow {
                id: r.get(0)?,
                title: r.get(1)?,
                post_id: r.get(2)?,
                post_count: r.get(3)?,
                first_seen_at: r.get(4)?,
                last_seen_at: r.get(5)?,
                posts: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|mut s| {
            s.posts = story_posts(conn, s.id)?;
            Ok(s)
        })
        .collect()
}

/// The posts of story `id`, the earliest first (published, else stored).
pub(crate) fn story_posts(conn: &Connection, id: i64) -> Result<Vec<StoryPost>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.source, COALESCE(s.name, p.source), p.title, p.url, p.published_at, p.fetched_at
         FROM posts p LEFT JOIN sources s ON s.slug = p.source
         WHERE p.story_id = ?1 ORDER BY COALESCE(p.published_utc, p.fetched_at), p.id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(StoryPost {
            id: r.get(0)?,
            source: r.get(1)?,
            source_name: r.get(2)?,
            title: r.get(3)?,
            url: r.get(4)?,
            published_at: r.get(5)?,
            fetched_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stories::Fingerprint;

    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open_connection(&dir.path().join("n.db")).unwrap();
        (dir, conn)
    }

    fn post(i: usize, title: &str, text: &str) -> NewPost {
        NewPost {
            identity: Identity {
                info_code: None,
                canonical_url: format!("http://a/{i}"),
                earlier: Vec::new(),
            },
            url: Some(format!("http://a/{i}")),
            title: Some(title.to_string()),
            content_text: Some(text.to_string()),
            fingerprint: Some(Fingerprint::of(title, text)),
            ..NewPost::default()
        }
    }

    /// One dispatch as six outlets ran it (the labelled set's `rrr-cut`:
    /// five long versions and a short flash under the headline of one of
    /// them), stored in every order: always one story. The flash matches
    /// one long version by its headline only; a long version stored after
    /// it and after three others of the story found three matches in the
    /// story first, and stopped there before the flash, which stayed a
    /// story of its own (the crawl's order varies: its test failed now and
    /// then).
    #[test]
    fn a_flash_joins_its_story_in_every_order() {
        #[derive(serde::Deserialize)]
        struct Set {
            post: Vec<Labelled>,
        }
        #[derive(serde::Deserialize)]
        struct Labelled {
            story: String,
            title: String,
            published: String,
            text: String,
        }
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/stories/labelled.toml"
        );
        let set: Set = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let posts: Vec<NewPost> = set
            .post
            .iter()
            .filter(|p| p.story == "rrr-cut")
            .enumerate()
            .map(|(i, p)| {
                let mut np = post(i, &p.title, &p.text);
                np.published_at = chrono::DateTime::parse_from_rfc3339(&p.published).ok();
                np
            })
            .collect();
        assert_eq!(posts.len(), 6);
        let mut apart = Vec::new();
        let mut order: Vec<usize> = (0..posts.len()).collect();
        // Every permutation (Heap's algorithm, iteratively).
        let mut c = vec![0; order.len()];
        let mut i = 0;
        let mut check = |order: &[usize]| {
            let (_d, mut conn) = store();
            let mut stories = Stories::default();
            for &k in order {
                let poll = crate::store::conformance::poll("a", vec![posts[k].clone()]);
                super::super::save_poll(&mut conn, &mut stories, &poll).unwrap();
            }
            let n: i64 = conn
                .query_row("SELECT COUNT(DISTINCT story_id) FROM posts", [], |r| {
                    r.get(0)
                })
                .unwrap();
            if n != 1 {
                apart.push(order.to_vec());
            }
        };
        check(&order);
        while i < order.len() {
            if c[i] < i {
                order.swap(if i % 2 == 0 { 0 } else { c[i] }, i);
                check(&order);
                c[i] += 1;
                i = 0;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
        assert!(
            apart.is_empty(),
            "{} orders of 720 left a post apart: {:?}",
            apart.len(),
            apart.first()
        );
    }

    /// A feed of one template, thousands of items alike: each post checks
    /// a bounded number of candidates (without the bounds, every post
    /// checked every earlier one: 2 million checks for 2,000 posts), and
    /// they are one story.
    #[test]
    fn posts_all_alike_cost_a_bounded_check_each() {
        let (_d, mut conn) = store();
        let mut stories = Stories::default();
        let text = "条目的正文，足够长以作比较，每一条都相同，一个模板写成的两千条。".repeat(4);
        let n = 2000;
        for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
            let mut poll = crate::store::conformance::poll("a", Vec::new());
            poll.posts = chunk
                .iter()
                .map(|&i| post(i, "一个模板写成的条目标题", &text))
                .collect();
            super::super::save_poll(&mut conn, &mut stories, &poll).unwrap();
        }
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM posts"), n as i64);
        assert_eq!(count("SELECT COUNT(*) FROM stories"), 1);
        assert_eq!(count("SELECT post_count FROM stories"), n as i64);
        assert!(
            // At most 16 a post, whatever the constants say.
            stories.checked <= 16 * n as u64,
            "{} checks for {n} posts",
            stories.checked
        );
    }

    /// A new post's signature goes in with a plain `INSERT`; a row already
    /// under its id (written by another program with foreign keys off) is
    /// replaced, and the post saved, not refused.
    #[test]
    fn a_signature_left_under_a_new_post_s_id_is_replaced() {
        let (_d, mut conn) = store();
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO story_signatures (post_id, seen_at, at, signature) VALUES (1, 0, 0, x'00');
             PRAGMA foreign_keys = ON;",
        )
        .unwrap();
        let mut stories = Stories::default();
        let text = "一篇新文章的正文，足够长以作比较，讲的是同一件事情，被多家媒体转载。".repeat(3);
        let poll = crate::store::conformance::poll("a", vec![post(1, "新文章的标题", &text)]);
        super::super::save_poll(&mut conn, &mut stories, &poll).unwrap();
        let (id, blob): (i64, Vec<u8>) = conn
            .query_row(
                "SELECT p.id, s.signature FROM posts p JOIN story_signatures s ON s.post_id = p.id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(id, 1);
        assert!(blob.len() > 1, "the post's own signature: {blob:?}");
    }

    /// A post's new text (its owner's newer version) replaces its
    /// signature: the plain `INSERT` tried first finds the row there.
    #[test]
    fn a_new_text_replaces_the_post_s_signature() {
        let (_d, mut conn) = store();
        let mut stories = Stories::default();
        let first = "央行宣布下调存款准备金率，释放长期资金约五千亿元，支持实体经济。".repeat(3);
        let poll = crate::store::conformance::poll("a", vec![post(1, "央行降准", &first)]);
        super::super::save_poll(&mut conn, &mut stories, &poll).unwrap();
        let signature = |conn: &Connection| -> Vec<u8> {
            conn.query_row("SELECT signature FROM story_signatures", [], |r| r.get(0))
                .unwrap()
        };
        let before = signature(&conn);
        let tx = super::super::begin_write(&mut conn).unwrap();
        let other = "港股收盘恒生指数上涨，科技股领涨，南向资金净买入超过一百亿港元。".repeat(3);
        let fp = Fingerprint::of("港股收盘", &other);
        stories
            .refile(
                &mut SqliteRows(&mut Stmts::new(&tx)),
                1,
                &fp,
                &crate::date::now_utc(),
            )
            .unwrap();
        tx.commit().unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM story_signatures", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
        assert_ne!(signature(&conn), before);
        assert_eq!(signature(&conn), fp.blob());
    }

    /// A signature read in a transaction is kept for the checks that
    /// follow in it, and one replaced in it is read anew: a post whose text
    /// is a post's new text joins that post's story.
    #[test]
    fn a_signature_replaced_in_a_transaction_is_read_anew() {
        let (_d, mut conn) = store();
        let mut stories = Stories::default();
        let first = "央行宣布下调存款准备金率，释放长期资金约五千亿元，支持实体经济。".repeat(3);
        let other = "港股收盘恒生指数上涨，科技股领涨，南向资金净买入超过一百亿港元。".repeat(3);
        let poll = crate::store::conformance::poll("a", vec![post(1, "央行降准", &first)]);
        super::super::save_poll(&mut conn, &mut stories, &poll).unwrap();
        let story: i64 = conn
            .query_row("SELECT story_id FROM posts WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        let tx = super::super::begin_write(&mut conn).unwrap();
        stories.begin();
        let mut st = Stmts::new(&tx);
        let (now, at) = (crate::date::now_utc(), chrono::Utc::now().timestamp());
        // Post 1's text again: its check reads post 1's signature.
        let same = Fingerprint::of("央行降准", &first);
        let joined = stories
            .story_for_new(&mut SqliteRows(&mut st), Some(&same), at, None, 2, &now)
            .unwrap();
        assert_eq!(joined, story);
        assert!(stories.recent.contains_key(&1));
        // Post 1's new text, then a post of it: read anew, it matches.
        let new = Fingerprint::of("港股收盘", &other);
        stories
            .refile(&mut SqliteRows(&mut st), 1, &new, &now)
            .unwrap();
        let again = stories
            .story_for_new(&mut SqliteRows(&mut st), Some(&new), at, None, 3, &now)
            .unwrap();
        assert_eq!(again, story, "post 1's new signature was not read");
    }

    /// Posts an older version stored get their stories; those stored before
    /// the window are compared, never kept in memory (a database of a
    /// million old posts would otherwise be read whole), and a reload
    /// leaves them out too.
    #[test]
    fn older_posts_get_stories_without_filling_the_index() {
        let (_d, mut conn) = store();
        let text = "一篇旧文章的正文，足够长以作比较，讲的是同一件事情，被多家媒体转载。".repeat(3);
        conn.execute_batch("INSERT INTO sources (slug, name, url) VALUES ('a', 'A', '')")
            .unwrap();
        for (i, fetched) in [
            "2020-01-01T00:00:00Z",
            "2020-01-01T01:00:00Z",
            "2020-01-02T00:00:00Z",
        ]
        .iter()
        .enumerate()
        {
            conn.execute(
                "INSERT INTO posts (source, canonical_url, title, content_text, fetched_at)
                 VALUES ('a', ?1, '旧文章的标题', ?2, ?3)",
                rusqlite::params![format!("http://a/{i}"), text, fetched],
            )
            .unwrap();
        }
        let mut stories = Stories::default();
        assert_eq!(assign_unassigned(&mut conn, &mut stories, 2).unwrap(), 2);
        assert_eq!(assign_unassigned(&mut conn, &mut stories, 2).unwrap(), 1);
        let count = |conn: &Connection, sql: &str| -> i64 {
            conn.query_row(sql, [], |r| r.get(0)).unwrap()
        };
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM posts WHERE story_id IS NULL"),
            0
        );
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM story_signatures"), 3);
        assert_eq!(stories.loaded.as_ref().unwrap().slots.len(), 0);
        stories.forget();
        let tx = conn.transaction().unwrap();
        let st = &mut Stmts::new(&tx);
        let mut in_window = || stories.ready(&mut SqliteRows(st)).unwrap().slots.len();
        assert_eq!(in_window(), 0);
        assert_eq!(in_window(), 0, "nor a refresh");
    }

    /// Without grouping (`[stories] group = false`), posts an older
    /// version stored get a story each, and no signature; with it, the
    /// same two posts (of this hour, alike) are one story.
    #[test]
    fn older_posts_get_a_story_each_without_grouping() {
        let text = "一篇新文章的正文，足够长以作比较，讲的是同一件事情，被多家媒体转载。".repeat(3);
        for group in [false, true] {
            let (_d, mut conn) = store();
            conn.execute_batch("INSERT INTO sources (slug, name, url) VALUES ('a', 'A', '')")
                .unwrap();
            for i in 0..2 {
                conn.execute(
                    "INSERT INTO posts (source, canonical_url, title, content_text, fetched_at)
                     VALUES ('a', ?1, '新文章的标题', ?2, ?3)",
                    rusqlite::params![format!("http://a/{i}"), text, crate::date::now_utc()],
                )
                .unwrap();
            }
            let mut stories = Stories::default();
            stories.configure(crate::config::StoriesConfig {
                group,
                ..Default::default()
            });
            assert_eq!(assign_unassigned(&mut conn, &mut stories, 10).unwrap(), 2);
            let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
            assert_eq!(
                count("SELECT COUNT(*) FROM posts WHERE story_id IS NULL"),
                0
            );
            let (stories, signatures) = if group { (1, 2) } else { (2, 0) };
            assert_eq!(
                count("SELECT COUNT(*) FROM stories"),
                stories,
                "group = {group}"
            );
            assert_eq!(count("SELECT COUNT(*) FROM story_signatures"), signatures);
            assert_eq!(
                count("SELECT SUM(post_count) FROM stories"),
                2,
                "the counts the triggers keep"
            );
        }
    }

    /// A teaser whose article is to come is kept but not in memory (its
    /// article files it); if the article never comes, it is filed then.
    #[test]
    fn a_teaser_is_filed_once_its_article_will_not_come() {
        let (_d, mut conn) = store();
        let mut stories = Stories::default();
        let mut teaser = post(1, "央行宣布下调存款准备金率", "央行宣布降准。");
        teaser.article_pending = true;
        let mut poll = crate::store::conformance::poll("a", vec![teaser]);
        poll.source = "a".into();
        super::super::save_poll(&mut conn, &mut stories, &poll).unwrap();
        let count = |conn: &Connection, sql: &str| -> i64 {
            conn.query_row(sql, [], |r| r.get(0)).unwrap()
        };
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM story_signatures"), 1);
        assert_eq!(stories.loaded.as_ref().unwrap().slots.len(), 0);
        let id = count(&conn, "SELECT id FROM posts");
        let gave_up = ArticleResult {
            post_id: id,
            fetch: crate::store::conformance::poll("a", Vec::new()).fetch,
            outcome: ArticleOutcome::GiveUp,
        };
        super::super::save_articles(&mut conn, &mut stories, "a", &[gave_up]).unwrap();
        let loaded = stories.loaded.as_ref().unwrap();
        assert_eq!(loaded.slots.len(), 1);
        assert_eq!(loaded.slots[0].post, id);
    }
}
