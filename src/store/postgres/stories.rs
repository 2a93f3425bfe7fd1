//! Stories on PostgreSQL: the rows [`crate::store::story_state`] reads and
//! writes inside the writer's transaction ([`PgRows`]), the idle pass that
//! gives posts without a story theirs, and `stories list`'s reads.

use chrono::{DateTime, Utc};
use postgres::{Client, Transaction};

use super::batch::Batch;
use super::*;
use crate::store::story_state::{
    PostText, SignatureRow, SignatureSink, SignaturesFrom, StoryRows, Unassigned,
};

/// [`StoryRows`] on a PostgreSQL write transaction, through a poll's
/// [`Batch`] when there is one (its rows first, written at its flush).
pub(crate) struct PgRows<'a, 'b, 'p> {
    tx: &'a mut Transaction<'b>,
    batch: Option<&'a mut Batch<'p>>,
}

impl<'a, 'b, 'p> PgRows<'a, 'b, 'p> {
    /// Every row written at once.
    pub(crate) fn direct(tx: &'a mut Transaction<'b>) -> Self {
        PgRows { tx, batch: None }
    }

    /// New rows kept in `batch` until it is flushed.
    pub(crate) fn batched(tx: &'a mut Transaction<'b>, batch: &'a mut Batch<'p>) -> Self {
        PgRows {
            tx,
            batch: Some(batch),
        }
    }

    /// Writes what the batch holds: before reading or moving rows in bulk.
    fn flush(&mut self) -> Result<(), StoreError> {
        match self.batch.as_deref_mut() {
            Some(b) if b.pending() => b.flush(self.tx),
            _ => Ok(()),
        }
    }
}

/// UTC RFC 3339 text as an instant (the epoch when it is not one).
fn instant(now: &str) -> DateTime<Utc> {
    parse_utc(now).unwrap_or_default()
}

impl StoryRows for PgRows<'_, '_, '_> {
    fn signatures(
        &mut self,
        from: SignaturesFrom,
        f: &mut SignatureSink<'_>,
    ) -> Result<(), StoreError> {
        let (sql, from) = match from {
            SignaturesFrom::SeenSince(cutoff) => (
                "SELECT post_id, seen_at, at, signature FROM story_signatures
                 WHERE seen_at >= $1 ORDER BY post_id",
                cutoff,
            ),
            SignaturesFrom::After(post) => (
                "SELECT post_id, seen_at, at, signature FROM story_signatures
                 WHERE post_id > $1 ORDER BY post_id",
                post,
            ),
        };
        self.flush()?;
        use postgres::fallible_iterator::FallibleIterator;
        let mut rows = self.tx.query_raw(sql, [from])?;
        while let Some(r) = rows.next()? {
            let blob: &[u8] = r.get(3);
            f(r.get(0), r.get(1), r.get(2), blob);
        }
        Ok(())
    }

    fn max_signature_post(&mut self) -> Result<Option<i64>, StoreError> {
        let stored: Option<i64> = self
            .tx
            .row("SELECT MAX(post_id) FROM story_signatures", &[])?
            .get(0);
        let held = self.batch.as_deref().and_then(Batch::max_signature_post);
        Ok(stored.max(held))
    }

    fn signature(&mut self, post: i64) -> Result<Option<SignatureRow>, StoreError> {
        if let Some(held) = self.batch.as_deref().and_then(|b| b.signature(post)) {
            return Ok(Some(held));
        }
        Ok(self
            .tx
            .row_opt(
                "SELECT seen_at, at, signature FROM story_signatures WHERE post_id = $1",
                &[&post],
            )?
            .map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    fn read_ahead(&mut self, posts: &[i64]) -> Result<(), StoreError> {
        match self.batch.as_deref_mut() {
            Some(b) => b.read_ahead(self.tx, posts),
            None => Ok(()),
        }
    }

    fn put_signature(
        &mut self,
        post: i64,
        seen: i64,
        at: i64,
        blob: &[u8],
    ) -> Result<(), StoreError> {
        if let Some(b) = self.batch.as_deref_mut() {
            b.put_signature(post, seen, at, blob);
            return Ok(());
        }
        self.tx.run(
            "INSERT INTO story_signatures (post_id, seen_at, at, signature) VALUES ($1, $2, $3, $4)
             ON CONFLICT (post_id) DO UPDATE SET seen_at = excluded.seen_at, at = excluded.at,
                signature = excluded.signature",
            &[&post, &seen, &at, &blob],
        )?;
        Ok(())
    }

    fn post_text(&mut self, post: i64) -> Result<Option<PostText>, StoreError> {
        Ok(self
            .tx
            .row_opt(
                "SELECT title, content_text FROM posts WHERE id = $1",
                &[&post],
            )?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn story_of(&mut self, post: i64) -> Result<Option<i64>, StoreError> {
        if let Some((story, _)) = self.batch.as_deref().and_then(|b| b.post_story(post)) {
            return Ok(Some(story));
        }
        if let Some(story) = self.batch.as_deref().and_then(|b| b.story_ahead(post)) {
            return Ok(story);
        }
        Ok(self
            .tx
            .row_opt("SELECT story_id FROM posts WHERE id = $1", &[&post])?
            .and_then(|r| r.get(0)))
    }

    fn post_story_time(&mut self, post: i64) -> Result<Option<(Option<i64>, i64)>, StoreError> {
        if let Some((story, at)) = self.batch.as_deref().and_then(|b| b.post_story(post)) {
            return Ok(Some((Some(story), at)));
        }
        Ok(self
            .tx
            .row_opt(
                "SELECT story_id, COALESCE(published_at, fetched_at) FROM posts WHERE id = $1",
                &[&post],
            )?
            .map(|r| (r.get(0), r.get::<_, DateTime<Utc>>(1).timestamp())))
    }

    fn count_in(&mut self, story: i64, now: &str) -> Result<(), StoreError> {
        if let Some(b) = self.batch.as_deref_mut() {
            b.count_in(story, instant(now));
            return Ok(());
        }
        self.tx.run(
            "UPDATE stories SET post_count = post_count + 1,
                last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1",
            &[&story, &instant(now)],
        )?;
        Ok(())
    }

    fn new_story(&mut self, title: Option<&str>, post: i64, now: &str) -> Result<i64, StoreError> {
        if let Some(b) = self.batch.as_deref_mut() {
            return b.new_story(self.tx, title, post, instant(now));
        }
        Ok(self
            .tx
            .row(
                "INSERT INTO stories (title, post_id, first_seen_at, last_seen_at, post_count)
                 VALUES ($1, $2, $3, $3, 1) RETURNING id",
                &[&title, &post, &instant(now)],
            )?
            .get(0))
    }

    fn join(&mut self, root: i64, other: i64) -> Result<(), StoreError> {
        self.flush()?;
        if let Some(b) = self.batch.as_deref_mut() {
            b.moved();
        }
        self.tx.run(
            "UPDATE posts SET story_id = $1 WHERE story_id = $2",
            &[&root, &other],
        )?;
        self.tx.run(
            "UPDATE stories SET first_seen_at = LEAST(first_seen_at,
                COALESCE((SELECT first_seen_at FROM stories WHERE id = $2), first_seen_at))
             WHERE id = $1",
            &[&root, &other],
        )?;
        self.tx
            .run("DELETE FROM stories WHERE id = $1", &[&other])?;
        Ok(())
    }

    fn assign(&mut self, post: i64, story: i64) -> Result<(), StoreError> {
        self.flush()?;
        if let Some(b) = self.batch.as_deref_mut() {
            b.moved();
        }
        // The trigger on `story_id` counts it once more.
        self.tx.run(
            "UPDATE stories SET post_count = post_count - 1 WHERE id = $1",
            &[&story],
        )?;
        self.tx.run(
            "UPDATE posts SET story_id = $2 WHERE id = $1",
            &[&post, &story],
        )?;
        Ok(())
    }
}

/// Gives up to `limit` posts without a story theirs, oldest first, in one
/// transaction; returns how many.
pub(crate) fn assign_unassigned(
    client: &mut Client,
    stories: &mut Stories,
    limit: usize,
) -> Result<usize, StoreError> {
    let mut tx = write_transaction(client)?;
    stories.begin();
    let posts: Vec<Unassigned> = tx
        .rows(
            "SELECT id, title, content_text, published_at, published_offset, fetched_at FROM posts
             WHERE story_id IS NULL ORDER BY id LIMIT $1",
            &[&(limit as i64)],
        )?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                local_text(r.get(3), r.get(4)),
                utc_text(&r.get::<_, DateTime<Utc>>(5)),
            )
        })
        .collect();
    if posts.is_empty() {
        return Ok(0);
    }
    stories.assign_batch(&mut PgRows::direct(&mut tx), &posts)?;
    tx.commit()?;
    Ok(posts.len())
}

pub(crate) fn list_stories(
    client: &mut Client,
    since: DateTime<Utc>,
    min_posts: i64,
    limit: usize,
) -> Result<Vec<StoryRow>, StoreError> {
    let rows = client.rows(
        "SELECT id, title, post_id, post_count, first_seen_at, last_seen_at FROM stories
         WHERE last_seen_at >= $1 AND post_count >= $2
         ORDER BY post_count DESC, last_seen_at DESC, id DESC LIMIT $3",
        &[&since, &min_posts, &(limit as i64)],
    )?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.get(0);
            Ok(StoryRow {
                id,
                title: r.get(1),
                post_id: r.get(2),
                post_count: r.get(3),
                first_seen_at: utc_text(&r.get(4)),
                last_seen_at: utc_text(&r.get(5)),
                posts: story_posts(client, id)?,
            })
        })
        .collect()
}

pub(crate) fn story_posts(client: &mut Client, id: i64) -> Result<Vec<StoryPost>, StoreError> {
    let rows = client.rows(
        "SELECT p.id, p.source, COALESCE(s.name, p.source), p.title, p.url, p.published_at,
                p.published_offset, p.fetched_at
         FROM posts p LEFT JOIN sources s ON s.slug = p.source
         WHERE p.story_id = $1 ORDER BY COALESCE(p.published_at, p.fetched_at), p.id",
        &[&id],
    )?;
    Ok(rows
        .iter()
        .map(|r| StoryPost {
            id: r.get(0),
            source: r.get(1),
            source_name: r.get(2),
            title: r.get(3),
            url: r.get(4),
            published_at: local_text(r.get(5), r.get(6)),
            fetched_at: utc_text(&r.get(7)),
        })
        .collect())
}
