//! Assigning stories as posts are saved, inside the save's transaction.
//!
//! The writer keeps, in memory, the LSH index of the posts stored within
//! the window ([`Stories`]): band keys to post ids, 8 bytes an entry, with
//! each post's time. A post's fingerprint comes computed with it (off this
//! thread); here its bands are looked up, the candidates in the window
//! checked against their stored signatures, and the post joins the
//! matching story or starts one, in the same transaction as the post.
//!
//! The index is read from `story_signatures` on first use, again once an
//! hour when posts have left the window, and forgotten when a transaction
//! fails (it may hold posts that were rolled back). Inside every write
//! transaction it first takes in the signatures other processes stored
//! since (a `crawl --once` beside the daemon): SQLite lets one writer at a
//! time, so each sees the other's posts before it assigns its own.

use rusqlite::{Connection, OptionalExtension, params};

use super::*;
use crate::config::StoriesConfig;
use crate::stories::{Candidate, Fingerprint, Sketch, close, index::Lsh, matching_stories};

/// Matching candidates looked at per post, at most.
const MATCHES: usize = 3;
/// How often, at most, the index is read again to drop the posts that
/// left the window.
const RELOAD_EVERY: i64 = 3600;

/// The writer's story state (see the module's text).
#[derive(Default)]
pub(crate) struct Stories {
    config: StoriesConfig,
    loaded: Option<Loaded>,
    /// Candidates checked against their stored signatures so far.
    checked: u64,
    /// The index has taken in what other processes stored: done once per
    /// transaction ([`Stories::begin`]).
    fresh: bool,
}

struct Loaded {
    index: Lsh,
    slots: Vec<Slot>,
    /// The highest post id taken in.
    max_post: i64,
    /// The earliest `seen_at` among the slots.
    oldest_seen: i64,
    loaded_at: i64,
}

#[derive(Clone, Copy)]
struct Slot {
    post: i64,
    at: i64,
    sketch: Sketch,
}

impl Loaded {
    fn file(&mut self, post: i64, fp: &Fingerprint, at: i64, seen: i64) {
        let Ok(slot) = u32::try_from(self.slots.len()) else {
            return;
        };
        self.index.file(fp, slot);
        self.slots.push(Slot {
            post,
            at,
            sketch: Sketch::of(fp),
        });
        self.max_post = self.max_post.max(post);
        self.oldest_seen = self.oldest_seen.min(seen);
    }

    /// Posts sharing a band with `fp`, published within `window` seconds of
    /// `at`, other than `except`, whose sketch may match
    /// ([`crate::stories::candidates`]).
    fn candidates(&self, fp: &Fingerprint, at: i64, window: i64, except: i64) -> Vec<i64> {
        let sketch = Sketch::of(fp);
        crate::stories::candidates(&self.index, fp, |s| {
            let slot = self.slots.get(s as usize)?;
            (slot.post != except
                && slot.at.abs_diff(at) <= window.unsigned_abs()
                && sketch.may_match(&slot.sketch, close(Some(at), Some(slot.at))))
            .then_some(slot.post)
        })
    }
}

impl Stories {
    pub(crate) fn configure(&mut self, config: StoriesConfig) {
        self.config = config;
    }

    /// Drops the index: read again at the next use.
    pub(crate) fn forget(&mut self) {
        self.loaded = None;
    }

    /// A write transaction begins: the index takes in the signatures other
    /// processes stored since, once, at its first use in it.
    pub(crate) fn begin(&mut self) {
        self.fresh = false;
    }

    fn window(&self) -> i64 {
        i64::try_from(self.config.window.as_secs()).unwrap_or(i64::MAX / 4)
    }

    /// The index, read or brought up to date (inside the transaction).
    fn ready(&mut self, tx: &Connection) -> Result<&mut Loaded, StoreError> {
        let now = chrono::Utc::now().timestamp();
        let window = self.window();
        let stale = self.loaded.as_ref().is_none_or(|l| {
            now - l.loaded_at >= RELOAD_EVERY && l.oldest_seen < now.saturating_sub(window)
        });
        if stale {
            self.loaded = None;
        }
        // Taken in already in this transaction: nothing to read.
        let was_fresh = std::mem::replace(&mut self.fresh, true);
        let skip = !stale && was_fresh;
        let loaded = self.loaded.get_or_insert_with(|| Loaded {
            index: Lsh::default(),
            slots: Vec::new(),
            max_post: 0,
            oldest_seen: i64::MAX,
            loaded_at: now,
        });
        let cutoff = now.saturating_sub(window);
        // A reload by the time index; a refresh by the rowid, past the
        // last one taken in (another process's posts), the window's
        // filtered here (a refresh must not range over the window).
        let (sql, from) = if stale {
            (
                "SELECT post_id, seen_at, at, signature FROM story_signatures
                 WHERE seen_at >= ?1 ORDER BY post_id",
                cutoff,
            )
        } else {
            (
                "SELECT post_id, seen_at, at, signature FROM story_signatures
                 WHERE post_id > ?1 ORDER BY post_id",
                loaded.max_post,
            )
        };
        if skip {
            return Ok(loaded);
        }
        let mut stmt = tx.prepare_cached(sql)?;
        let mut rows = stmt.query([from])?;
        while let Some(r) = rows.next()? {
            let (post, seen, at): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            loaded.max_post = loaded.max_post.max(post);
            if seen < cutoff {
                continue;
            }
            let blob: Vec<u8> = r.get(3)?;
            if let Some(fp) = Fingerprint::from_blob(&blob) {
                loaded.file(post, &fp, at, seen);
            }
        }
        if stale {
            // Signatures of posts stored before the window have higher ids
            // than it when older posts were assigned late: never taken in.
            let max: Option<i64> = tx
                .prepare_cached("SELECT MAX(post_id) FROM story_signatures")?
                .query_row([], |r| r.get(0))?;
            loaded.max_post = loaded.max_post.max(max.unwrap_or(0));
        }
        Ok(loaded)
    }

    /// The stories that `fp` (published `at`) matches among the window's
    /// posts other than `except`, oldest story first.
    fn matching(
        &mut self,
        tx: &Connection,
        fp: &Fingerprint,
        at: i64,
        except: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let window = self.window();
        let threshold = self.config.threshold;
        let posts = self.ready(tx)?.candidates(fp, at, window, except);
        // The signatures first, from their own small rows; the story only
        // of those that match: `posts.story_id` comes after the post's
        // text in its row, and reading it may read the whole text.
        let mut stmt =
            tx.prepare_cached("SELECT signature, at FROM story_signatures WHERE post_id = ?1")?;
        // Checked in order (most bands shared first) until a few match: a
        // post's story (and another it shows to be the same) is among its
        // closest; a feed of thousands alike costs a few reads a post.
        let mut found = Vec::with_capacity(MATCHES);
        for post in posts {
            self.checked += 1;
            let row: Option<(Vec<u8>, i64)> = stmt
                .query_row([post], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((blob, other_at)) = row
                && let Some(other) = Fingerprint::from_blob(&blob)
                && fp.matches(&other, threshold, close(Some(at), Some(other_at)))
            {
                found.push((other, other_at, post));
                if found.len() >= MATCHES {
                    break;
                }
            }
        }
        // Posts that match, the closest first (as stories of their own).
        let matched = matching_stories(
            fp,
            Some(at),
            threshold,
            found.iter().map(|(other, at, post)| Candidate {
                fingerprint: other,
                at: Some(*at),
                story: *post,
            }),
        );
        let mut story_of = tx.prepare_cached("SELECT story_id FROM posts WHERE id = ?1")?;
        let mut stories = Vec::with_capacity(matched.len());
        for post in matched {
            let story: Option<Option<i64>> = story_of.query_row([post], |r| r.get(0)).optional()?;
            if let Some(Some(story)) = story
                && !stories.contains(&story)
            {
                stories.push(story);
            }
        }
        // The oldest story takes the others in: its id and representative
        // stay.
        stories.sort_unstable();
        Ok(stories)
    }

    /// The story a post about to be inserted as `id` joins (the stories it
    /// shows to be one joined first; counted here), or a new one under its
    /// `title`, first seen `now` (UTC text), `id` its representative.
    pub(crate) fn story_for_new(
        &mut self,
        tx: &Connection,
        fp: Option<&Fingerprint>,
        at: i64,
        title: Option<&str>,
        id: i64,
        now: &str,
    ) -> Result<i64, StoreError> {
        let stories = match fp {
            Some(fp) => self.matching(tx, fp, at, 0)?,
            None => Vec::new(),
        };
        match stories.split_first() {
            Some((&root, others)) => {
                for &other in others {
                    join(tx, root, other)?;
                }
                tx.prepare_cached(
                    "UPDATE stories SET post_count = post_count + 1,
                        last_seen_at = max(last_seen_at, ?2) WHERE id = ?1",
                )?
                .execute(params![root, now])?;
                Ok(root)
            }
            None => {
                tx.prepare_cached(
                    "INSERT INTO stories (title, post_id, first_seen_at, last_seen_at, post_count)
                     VALUES (?1, ?2, ?3, ?3, 1)",
                )?
                .execute(params![title, id, now])?;
                Ok(tx.last_insert_rowid())
            }
        }
    }

    /// Keeps the signature of post `id` (published `at`, stored `now`) and
    /// files it.
    ///
    /// A post whose article is still to come (`pending`) is kept but not
    /// filed in memory: its article refiles it in seconds or minutes
    /// ([`Stories::refile`]), and a teaser filed meanwhile would only take
    /// room (half the index, in a crawl that follows every link); if its
    /// article never comes, [`Stories::file_stored`] files it then.
    pub(crate) fn file(
        &mut self,
        tx: &Connection,
        id: i64,
        fp: &Fingerprint,
        at: i64,
        now: &str,
        pending: bool,
    ) -> Result<(), StoreError> {
        if pending {
            self.ready(tx)?;
            tx.prepare_cached(
                "INSERT OR REPLACE INTO story_signatures (post_id, seen_at, at, signature)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, epoch(now), at, fp.to_blob()])?;
            if let Some(loaded) = self.loaded.as_mut() {
                loaded.max_post = loaded.max_post.max(id);
            }
            return Ok(());
        }
        self.file_seen(tx, id, fp, at, epoch(now))
    }

    /// Files post `id` in memory by its stored signature: its article will
    /// not come, and the teaser is what it has.
    pub(crate) fn file_stored(&mut self, tx: &Connection, id: i64) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp();
        let window = self.window();
        let row: Option<(i64, i64, Vec<u8>)> = tx
            .prepare_cached(
                "SELECT seen_at, at, signature FROM story_signatures WHERE post_id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let loaded = self.ready(tx)?;
        if let Some((seen, at, blob)) = row
            && seen >= now.saturating_sub(window)
            && let Some(fp) = Fingerprint::from_blob(&blob)
        {
            loaded.file(id, &fp, at, seen);
        }
        Ok(())
    }

    /// [`Stories::file`] for a post stored at `seen` (seconds), which the
    /// index in memory takes only when it is within the window.
    fn file_seen(
        &mut self,
        tx: &Connection,
        id: i64,
        fp: &Fingerprint,
        at: i64,
        seen: i64,
    ) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp();
        let window = self.window();
        // Brought up to date first: the row below is this writer's own.
        let loaded = self.ready(tx)?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO story_signatures (post_id, seen_at, at, signature)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, seen, at, fp.to_blob()])?;
        if seen >= now.saturating_sub(window) {
            loaded.file(id, fp, at, seen);
        }
        loaded.max_post = loaded.max_post.max(id);
        Ok(())
    }

    /// Gives up to `limit` posts without a story (stored before version 13,
    /// or by another tool) theirs, oldest first, in one transaction; returns
    /// how many. Their fingerprints are taken here, on the writer's thread:
    /// this runs once, in the writer's idle time. A post stored longer ago
    /// than the window joins the stories of the window's posts it matches,
    /// but not those of other such posts (the index keeps the window only).
    pub(crate) fn assign_unassigned(
        &mut self,
        conn: &mut Connection,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        self.begin();
        // id, title, text, published, stored.
        type Unassigned = (i64, Option<String>, Option<String>, Option<String>, String);
        let posts: Vec<Unassigned> = tx
            .prepare_cached(
                "SELECT id, title, content_text, published_at, fetched_at FROM posts
                 WHERE story_id IS NULL ORDER BY id LIMIT ?1",
            )?
            .query_map([limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        for (id, title, text, published, fetched) in &posts {
            let fp = Fingerprint::of(
                title.as_deref().unwrap_or(""),
                text.as_deref().unwrap_or(""),
            );
            let at = post_time(published.as_deref(), fetched);
            let story = self.story_for_new(&tx, Some(&fp), at, title.as_deref(), *id, fetched)?;
            // The trigger on `story_id` counts it once more.
            tx.prepare_cached("UPDATE stories SET post_count = post_count - 1 WHERE id = ?1")?
                .execute([story])?;
            tx.prepare_cached("UPDATE posts SET story_id = ?2 WHERE id = ?1")?
                .execute(params![id, story])?;
            self.file_seen(&tx, *id, &fp, at, epoch(fetched))?;
        }
        tx.commit()?;
        Ok(posts.len())
    }

    /// Post `id` has a new text (its article, or its owner's newer
    /// version): its story joins the stories the new text matches, and its
    /// signature is replaced. Nothing is split: the posts that joined its
    /// story stay with it.
    pub(crate) fn refile(
        &mut self,
        tx: &Connection,
        id: i64,
        fp: &Fingerprint,
        now: &str,
    ) -> Result<(), StoreError> {
        let row: Option<(Option<i64>, Option<String>, String)> = tx
            .prepare_cached("SELECT story_id, published_at, fetched_at FROM posts WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((Some(current), published, fetched)) = row else {
            // Gone, or not assigned yet (the idle pass assigns it).
            return Ok(());
        };
        let at = post_time(published.as_deref(), &fetched);
        let mut stories = self.matching(tx, fp, at, id)?;
        stories.push(current);
        stories.sort_unstable();
        stories.dedup();
        if let Some((&root, others)) = stories.split_first() {
            for &other in others {
                join(tx, root, other)?;
            }
        }
        self.file(tx, id, fp, at, now, false)
    }
}

/// Story `other` joins `root`: its posts move (the triggers keep the
/// counts), it is deleted, and `root` keeps the earlier first sighting.
fn join(tx: &Connection, root: i64, other: i64) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE posts SET story_id = ?1 WHERE story_id = ?2")?
        .execute(params![root, other])?;
    tx.prepare_cached(
        "UPDATE stories SET first_seen_at = min(first_seen_at,
            COALESCE((SELECT first_seen_at FROM stories WHERE id = ?2), first_seen_at))
         WHERE id = ?1",
    )?
    .execute(params![root, other])?;
    tx.prepare_cached("DELETE FROM stories WHERE id = ?1")?
        .execute([other])?;
    Ok(())
}

/// A post's time for stories: published, else stored (seconds).
pub(crate) fn post_time(published: Option<&str>, fetched: &str) -> i64 {
    published
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map(|t| t.timestamp())
        .unwrap_or_else(|| epoch(fetched))
}

/// Seconds since the epoch of the database's UTC text (0 when it is not).
fn epoch(utc: &str) -> i64 {
    DateTime::parse_from_rfc3339(utc).map_or(0, |t| t.timestamp())
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
        assert_eq!(stories.assign_unassigned(&mut conn, 2).unwrap(), 2);
        assert_eq!(stories.assign_unassigned(&mut conn, 2).unwrap(), 1);
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
        assert_eq!(stories.ready(&tx).unwrap().slots.len(), 0);
        assert_eq!(stories.ready(&tx).unwrap().slots.len(), 0, "nor a refresh");
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
