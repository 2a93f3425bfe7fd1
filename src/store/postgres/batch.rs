//! A poll's new rows on PostgreSQL, written together. Each statement is a
//! round trip to the server (about 0.1 ms on loopback, more across a
//! network), and a new post used to take ten of them: looked up by
//! infoCode and by URL, tombstones, an id, its story, the post, its
//! source, its signature. Now a poll looks its items up in two statements
//! ([`Known`]), reads the stored posts its new posts' stories will be
//! compared with in one ([`Batch::read_ahead`]), reserves ids for the new
//! ones in one, and keeps the new posts, stories, signatures and story
//! counts here until [`Batch::flush`] writes each kind in one statement
//! (`unnest` of arrays; 500 posts at most a statement).
//!
//! The dedup rule and the story index still see every row as written:
//! lookups of posts, signatures and stories made in this poll are answered
//! from here, and anything that reads or moves rows in bulk (a story
//! joining another, a repeat of an item of this same poll) flushes first.
//! All of it runs under the writers' lock, which is also why the ids
//! reserved and not used can be given back.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use postgres::Transaction;
use postgres::types::Type;

use super::posts::{StoredPost, save_enclosures, search_text, stored_by_keys};
use super::*;
use crate::dedup::{Earlier, Identity};
use crate::store::story_state::SignatureRow;

/// New posts written in one statement at most.
const FLUSH_POSTS: usize = 500;

/// A new post waiting to be written.
struct NewRow<'p> {
    id: i64,
    story: i64,
    post: Cow<'p, NewPost>,
}

/// What a poll has made and not written yet (see the module's text).
pub(crate) struct Batch<'p> {
    source: &'p str,
    now: DateTime<Utc>,
    post_ids: VecDeque<i64>,
    story_ids: VecDeque<i64>,
    posts: Vec<NewRow<'p>>,
    /// Story and time (published, else now; seconds) of each post of
    /// `posts`.
    post_story: HashMap<i64, (i64, i64)>,
    /// New stories: id, title, first post, first seen.
    stories: Vec<(i64, Option<String>, i64, DateTime<Utc>)>,
    /// Signatures to keep, by post (the last one put wins), in order.
    signatures: HashMap<i64, SignatureRow>,
    signature_order: Vec<i64>,
    /// Posts more in each story, and the latest time one was seen.
    counts: HashMap<i64, (i64, DateTime<Utc>)>,
    /// Signatures and stories of stored posts read ahead (for the poll,
    /// then for a lookup), until rows move.
    ahead: HashMap<i64, (SignatureRow, Option<i64>)>,
    /// Keys of every post this poll made, written or not: an item with one
    /// of them is looked up in the database (after a flush).
    codes: HashSet<String>,
    urls: HashSet<String>,
}

impl<'p> Batch<'p> {
    pub(crate) fn new(source: &'p str, now: DateTime<Utc>) -> Batch<'p> {
        Batch {
            source,
            now,
            post_ids: VecDeque::new(),
            story_ids: VecDeque::new(),
            posts: Vec::new(),
            post_story: HashMap::new(),
            stories: Vec::new(),
            signatures: HashMap::new(),
            signature_order: Vec::new(),
            counts: HashMap::new(),
            ahead: HashMap::new(),
            codes: HashSet::new(),
            urls: HashSet::new(),
        }
    }

    /// Reserves `n` post ids and `n` story ids (one statement).
    pub(crate) fn reserve(&mut self, tx: &mut Transaction<'_>, n: usize) -> Result<(), StoreError> {
        if n == 0 {
            return Ok(());
        }
        for r in tx.rows(
            "SELECT nextval(pg_get_serial_sequence('posts', 'id')),
                    nextval(pg_get_serial_sequence('stories', 'id'))
             FROM generate_series(1, $1::bigint)",
            &[&(n as i64)],
        )? {
            self.post_ids.push_back(r.get(0));
            self.story_ids.push_back(r.get(1));
        }
        // Each column's values come in the order they were drawn.
        self.post_ids.make_contiguous().sort_unstable();
        self.story_ids.make_contiguous().sort_unstable();
        Ok(())
    }

    /// The next post id.
    pub(crate) fn post_id(&mut self, tx: &mut Transaction<'_>) -> Result<i64, StoreError> {
        match self.post_ids.pop_front() {
            Some(id) => Ok(id),
            None => Ok(tx
                .row("SELECT nextval(pg_get_serial_sequence('posts', 'id'))", &[])?
                .get(0)),
        }
    }

    fn story_id(&mut self, tx: &mut Transaction<'_>) -> Result<i64, StoreError> {
        match self.story_ids.pop_front() {
            Some(id) => Ok(id),
            None => Ok(tx
                .row(
                    "SELECT nextval(pg_get_serial_sequence('stories', 'id'))",
                    &[],
                )?
                .get(0)),
        }
    }

    /// Whether an item may be a post this poll made (so it must be looked
    /// up in the database, after a flush).
    pub(crate) fn may_have_made(&self, id: &Identity) -> bool {
        id.info_code
            .as_ref()
            .is_some_and(|c| self.codes.contains(c))
            || self.urls.contains(&id.canonical_url)
            || id.earlier.iter().any(|e| match e {
                Earlier::Key(k) | Earlier::WithGuid(k, _) | Earlier::WithContent(k) => {
                    self.urls.contains(k)
                }
            })
    }

    /// Whether enough new posts wait to be written in one statement: a
    /// poll of thousands of long items is written in slices, so that what
    /// is held (their search text) stays small.
    pub(crate) fn full(&self) -> bool {
        self.posts.len() >= FLUSH_POSTS
    }

    /// Whether rows wait to be written.
    pub(crate) fn pending(&self) -> bool {
        !(self.posts.is_empty()
            && self.stories.is_empty()
            && self.signatures.is_empty()
            && self.counts.is_empty())
    }

    /// A new post `id` in `story`, published (else stored) at `at`.
    pub(crate) fn add_post(&mut self, id: i64, story: i64, at: i64, post: Cow<'p, NewPost>) {
        if let Some(code) = &post.identity.info_code {
            self.codes.insert(code.clone());
        }
        self.urls.insert(post.identity.canonical_url.clone());
        self.post_story.insert(id, (story, at));
        self.posts.push(NewRow { id, story, post });
    }

    /// Writes what waits, each kind in one statement: stories, posts (and
    /// their sources and enclosures), signatures, story counts.
    pub(crate) fn flush(&mut self, tx: &mut Transaction<'_>) -> Result<(), StoreError> {
        if !self.stories.is_empty() {
            let ids: Vec<i64> = self.stories.iter().map(|s| s.0).collect();
            let titles: Vec<Option<&str>> = self.stories.iter().map(|s| s.1.as_deref()).collect();
            let posts: Vec<i64> = self.stories.iter().map(|s| s.2).collect();
            let seen: Vec<DateTime<Utc>> = self.stories.iter().map(|s| s.3).collect();
            tx.run(
                "INSERT INTO stories (id, title, post_id, first_seen_at, last_seen_at, post_count)
                 SELECT id, title, post, seen, seen, 1
                 FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::timestamptz[])
                    AS u(id, title, post, seen)",
                &[&ids, &titles, &posts, &seen],
            )?;
            self.stories.clear();
        }
        if !self.posts.is_empty() {
            self.flush_posts(tx)?;
        }
        if !self.signature_order.is_empty() {
            let mut posts = Vec::with_capacity(self.signature_order.len());
            let (mut seen, mut at, mut blobs) = (Vec::new(), Vec::new(), Vec::new());
            for post in self.signature_order.drain(..) {
                if let Some((s, a, b)) = self.signatures.remove(&post) {
                    posts.push(post);
                    seen.push(s);
                    at.push(a);
                    blobs.push(b);
                }
            }
            tx.run(
                "INSERT INTO story_signatures (post_id, seen_at, at, signature)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bytea[])
                 ON CONFLICT (post_id) DO UPDATE SET seen_at = excluded.seen_at, at = excluded.at,
                    signature = excluded.signature",
                &[&posts, &seen, &at, &blobs],
            )?;
            self.signatures.clear();
        }
        if !self.counts.is_empty() {
            let mut ids = Vec::with_capacity(self.counts.len());
            let (mut n, mut last) = (Vec::new(), Vec::new());
            for (id, (more, t)) in self.counts.drain() {
                ids.push(id);
                n.push(more);
                last.push(t);
            }
            tx.run(
                "UPDATE stories s SET post_count = s.post_count + d.n,
                    last_seen_at = GREATEST(s.last_seen_at, d.t)
                 FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS d(id, n, t)
                 WHERE s.id = d.id",
                &[&ids, &n, &last],
            )?;
        }
        Ok(())
    }

    fn flush_posts(&mut self, tx: &mut Transaction<'_>) -> Result<(), StoreError> {
        let rows = std::mem::take(&mut self.posts);
        self.post_story.clear();
        let n = rows.len();
        let mut ids = Vec::with_capacity(n);
        let mut stories = Vec::with_capacity(n);
        let (mut published, mut published_offset) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut updated, mut updated_offset) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut search_title, mut search_body) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for r in &rows {
            ids.push(r.id);
            stories.push(r.story);
            let (p, po) = split_local(r.post.published_at.as_ref());
            published.push(p);
            published_offset.push(po);
            let (u, uo) = split_local(r.post.updated_at.as_ref());
            updated.push(u);
            updated_offset.push(uo);
            search_title.push(search_text(r.post.title.as_deref()));
            search_body.push(search_text(r.post.content_text.as_deref()));
        }
        let text = |f: fn(&NewPost) -> Option<&str>| -> Vec<Option<&str>> {
            rows.iter().map(|r| f(&r.post)).collect()
        };
        let codes = text(|p| p.identity.info_code.as_deref());
        let urls = text(|p| p.url.as_deref());
        let canonical: Vec<&str> = rows
            .iter()
            .map(|r| r.post.identity.canonical_url.as_str())
            .collect();
        let guids = text(|p| p.guid.as_deref());
        let titles = text(|p| p.title.as_deref());
        let authors = text(|p| p.author.as_deref());
        let summaries = text(|p| p.summary.as_deref());
        let html = text(|p| p.content_html.as_deref());
        let plain = text(|p| p.content_text.as_deref());
        let origins = text(|p| p.origin.as_deref());
        let pending: Vec<Option<&str>> = rows
            .iter()
            .map(|r| r.post.article_pending.then_some("pending"))
            .collect();
        let via: Vec<Option<&str>> = rows
            .iter()
            .map(|r| r.post.article_pending.then_some(self.source))
            .collect();
        tx.run(
            "INSERT INTO posts (id, source, info_code, url, canonical_url, guid, title, author, summary,
                content_html, content_text, origin, published_at, published_offset, updated_at,
                updated_offset, fetched_at, article_state, article_via, story_id, search)
             SELECT u.id, $1, u.code, u.url, u.canonical, u.guid, u.title, u.author, u.summary,
                u.html, u.plain, u.origin, u.published, u.published_offset, u.updated,
                u.updated_offset, $2, u.state, u.via, u.story,
                to_tsvector('simple', u.search_title) || to_tsvector('simple', u.search_body)
             FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::timestamptz[],
                $15::integer[], $16::timestamptz[], $17::integer[], $18::text[], $19::text[],
                $20::bigint[], $21::text[], $22::text[])
                AS u(id, code, url, canonical, guid, title, author, summary, html, plain, origin,
                     published, published_offset, updated, updated_offset, state, via, story,
                     search_title, search_body)",
            &[
                &self.source,
                &self.now,
                &ids,
                &codes,
                &urls,
                &canonical,
                &guids,
                &titles,
                &authors,
                &summaries,
                &html,
                &plain,
                &origins,
                &published,
                &published_offset,
                &updated,
                &updated_offset,
                &pending,
                &via,
                &stories,
                &search_title,
                &search_body,
            ],
        )?;
        tx.run(
            "INSERT INTO post_sources (post_id, source, first_seen_at)
             SELECT id, $1, $2 FROM unnest($3::bigint[]) AS u(id)",
            &[&self.source, &self.now, &ids],
        )?;
        for r in rows.iter().filter(|r| !r.post.enclosures.is_empty()) {
            save_enclosures(tx, r.id, &r.post.enclosures, false)?;
        }
        Ok(())
    }

    /// Gives the reserved ids not used back to their sequences (they are
    /// the last drawn: nothing else draws under the writers' lock).
    pub(crate) fn give_back(&mut self, tx: &mut Transaction<'_>) -> Result<(), StoreError> {
        for (ids, table) in [
            (&mut self.post_ids, "posts"),
            (&mut self.story_ids, "stories"),
        ] {
            if let Some(&first) = ids.front() {
                tx.run(
                    "SELECT setval(pg_get_serial_sequence($1, 'id'), $2, false)",
                    &[&table, &first],
                )?;
                ids.clear();
            }
        }
        Ok(())
    }
}

/// The stored posts and tombstones a poll's items may be, read in two
/// statements at its start (see the module's text).
pub(crate) struct Known {
    by_code: HashMap<String, StoredPost>,
    by_url: HashMap<String, StoredPost>,
    dead_codes: HashSet<String>,
    dead_urls: HashSet<String>,
    /// Stored posts a repeat has changed since: looked up again.
    touched: HashSet<i64>,
}

/// What an item is, as far as [`Known`] can tell.
pub(crate) enum Found<'a> {
    Stored(&'a StoredPost),
    New,
    /// Ask the database (earlier keys, or a post changed in this poll).
    Ask,
}

impl Known {
    pub(crate) fn read(
        tx: &mut Transaction<'_>,
        posts: &[Cow<'_, NewPost>],
    ) -> Result<Known, StoreError> {
        let codes: Vec<&str> = posts
            .iter()
            .filter_map(|p| p.identity.info_code.as_deref())
            .collect();
        // Their keys, and the keys they may have been stored under before.
        let urls: Vec<&str> = posts
            .iter()
            .flat_map(|p| {
                std::iter::once(p.identity.canonical_url.as_str()).chain(
                    p.identity.earlier.iter().map(|e| match e {
                        Earlier::Key(k) | Earlier::WithGuid(k, _) | Earlier::WithContent(k) => {
                            k.as_str()
                        }
                    }),
                )
            })
            .collect();
        let mut known = Known {
            by_code: HashMap::new(),
            by_url: HashMap::new(),
            dead_codes: HashSet::new(),
            dead_urls: HashSet::new(),
            touched: HashSet::new(),
        };
        if posts.is_empty() {
            return Ok(known);
        }
        for (post, code, url) in stored_by_keys(tx, &codes, &urls)? {
            if let Some(code) = code {
                known.by_code.insert(code, post.clone());
            }
            known.by_url.insert(url, post);
        }
        // Planned at each run, as `stored_by_keys`.
        for r in tx.query_typed(
            "SELECT info_code, canonical_url FROM tombstones
             WHERE info_code = ANY($1) OR canonical_url = ANY($2)",
            &[(&codes, Type::TEXT_ARRAY), (&urls, Type::TEXT_ARRAY)],
        )? {
            if let Some(code) = r.get::<_, Option<String>>(0) {
                known.dead_codes.insert(code);
            }
            known.dead_urls.insert(r.get(1));
        }
        Ok(known)
    }

    /// The stored post an item is, as `find_post` would find it: by
    /// infoCode, by key, then by each earlier key in turn.
    pub(crate) fn find<'a>(&'a self, id: &Identity) -> Found<'a> {
        let stored = |p: &'a StoredPost| -> Found<'a> {
            if self.touched.contains(&p.id) {
                Found::Ask
            } else {
                Found::Stored(p)
            }
        };
        if let Some(p) = id
            .info_code
            .as_ref()
            .and_then(|c| self.by_code.get(c))
            .or_else(|| self.by_url.get(&id.canonical_url))
        {
            return stored(p);
        }
        for e in &id.earlier {
            match e {
                Earlier::Key(k) => {
                    if let Some(p) = self.by_url.get(k) {
                        return stored(p);
                    }
                }
                Earlier::WithGuid(k, g) => {
                    if let Some(p) = self.by_url.get(k)
                        && p.guid.as_deref() == Some(g.as_str())
                    {
                        return stored(p);
                    }
                }
                // Only for the same content: the database compares it.
                Earlier::WithContent(k) => {
                    if self.by_url.contains_key(k) {
                        return Found::Ask;
                    }
                }
            }
        }
        Found::New
    }

    /// Whether an item's keys are a pruned post's.
    pub(crate) fn tombstoned(&self, id: &Identity) -> bool {
        self.dead_urls.contains(&id.canonical_url)
            || id
                .info_code
                .as_ref()
                .is_some_and(|c| self.dead_codes.contains(c))
    }

    /// A repeat changed stored post `id` (or may have).
    pub(crate) fn touch(&mut self, id: i64) {
        self.touched.insert(id);
    }
}

/// [`crate::store::story_state::StoryRows`] for the batch: what it holds
/// first, the transaction for the rest.
impl Batch<'_> {
    pub(crate) fn signature(&self, post: i64) -> Option<SignatureRow> {
        self.signatures
            .get(&post)
            .or_else(|| self.ahead.get(&post).map(|a| &a.0))
            .cloned()
    }

    /// Reads the signatures and stories of the stored posts of `posts` not
    /// read yet in one statement, for the lookups that follow.
    pub(crate) fn read_ahead(
        &mut self,
        tx: &mut Transaction<'_>,
        posts: &[i64],
    ) -> Result<(), StoreError> {
        let stored: Vec<i64> = posts
            .iter()
            .copied()
            .filter(|p| {
                !self.post_story.contains_key(p)
                    && !self.signatures.contains_key(p)
                    && !self.ahead.contains_key(p)
            })
            .collect();
        if stored.is_empty() {
            return Ok(());
        }
        // Planned at each run, as `stored_by_keys`.
        for r in tx.query_typed(
            "SELECT s.post_id, s.seen_at, s.at, s.signature, p.story_id
             FROM story_signatures s JOIN posts p ON p.id = s.post_id
             WHERE s.post_id = ANY($1)",
            &[(&stored, Type::INT8_ARRAY)],
        )? {
            self.ahead
                .insert(r.get(0), ((r.get(1), r.get(2), r.get(3)), r.get(4)));
        }
        Ok(())
    }

    /// Rows moved (a story joined another, a post given one): what was read
    /// ahead is stale.
    pub(crate) fn moved(&mut self) {
        self.ahead.clear();
    }

    pub(crate) fn max_signature_post(&self) -> Option<i64> {
        self.signatures.keys().copied().max()
    }

    pub(crate) fn put_signature(&mut self, post: i64, seen: i64, at: i64, blob: &[u8]) {
        self.ahead.remove(&post);
        if self
            .signatures
            .insert(post, (seen, at, blob.to_vec()))
            .is_none()
        {
            self.signature_order.push(post);
        }
    }

    pub(crate) fn post_story(&self, post: i64) -> Option<(i64, i64)> {
        self.post_story.get(&post).copied()
    }

    /// A stored post's story as read ahead (`Some(None)`: it has none).
    pub(crate) fn story_ahead(&self, post: i64) -> Option<Option<i64>> {
        self.ahead.get(&post).map(|a| a.1)
    }

    pub(crate) fn count_in(&mut self, story: i64, now: DateTime<Utc>) {
        let e = self.counts.entry(story).or_insert((0, now));
        e.0 += 1;
        e.1 = e.1.max(now);
    }

    pub(crate) fn new_story(
        &mut self,
        tx: &mut Transaction<'_>,
        title: Option<&str>,
        post: i64,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let id = self.story_id(tx)?;
        self.stories
            .push((id, title.map(str::to_string), post, now));
        Ok(id)
    }
}
