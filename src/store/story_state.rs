//! The writer's story state, whatever the backend: the LSH index of the
//! posts stored within the window, in memory, and the assignment of a
//! post's story inside the transaction that saves it.
//!
//! The writer keeps, in memory, the LSH index of the posts stored within
//! the window ([`Stories`]): band keys to post ids, 8 bytes an entry, with
//! each post's time. A post's fingerprint comes computed with it (off the
//! writer's thread); here its bands are looked up, the candidates in the
//! window checked against their stored signatures, and the post joins the
//! matching story or starts one, in the same transaction as the post.
//!
//! The index is read from `story_signatures` on first use, again once an
//! hour when posts have left the window, and forgotten when a transaction
//! fails (it may hold posts that were rolled back). Inside every write
//! transaction it first takes in the signatures other processes stored
//! since (a `crawl --once` beside the daemon), so each writer sees the
//! others' posts before it assigns its own. What the state reads and
//! writes goes through [`StoryRows`], which each backend implements on its
//! transaction.

use chrono::DateTime;

use crate::config::StoriesConfig;
use crate::store::StoreError;
use crate::stories::{Fingerprint, Sketch, close, index::Lsh};

/// Which signatures [`StoryRows::signatures`] reads, in post id order.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SignaturesFrom {
    /// Stored (`seen_at`) at or after this second: a reload of the window.
    SeenSince(i64),
    /// Of posts after this id: what other processes stored since.
    After(i64),
}

/// Takes each signature read: post, stored (`seen_at`), published (`at`),
/// blob.
pub(crate) type SignatureSink<'a> = dyn FnMut(i64, i64, i64, &[u8]) + 'a;

/// A stored post's title and text.
pub(crate) type PostText = (Option<String>, Option<String>);

/// A stored signature: when its post was stored and published (seconds),
/// and the blob.
pub(crate) type SignatureRow = (i64, i64, Vec<u8>);

/// What the story state reads and writes, on the write transaction of a
/// backend. Times given as `now` are UTC RFC 3339 text.
pub(crate) trait StoryRows {
    /// Calls `f(post, seen_at, at, blob)` for each signature `from` names.
    fn signatures(
        &mut self,
        from: SignaturesFrom,
        f: &mut SignatureSink<'_>,
    ) -> Result<(), StoreError>;
    /// The highest post id with a signature.
    fn max_signature_post(&mut self) -> Result<Option<i64>, StoreError>;
    /// Post `post`'s signature.
    fn signature(&mut self, post: i64) -> Result<Option<SignatureRow>, StoreError>;
    /// The signatures and stories of `posts`, about to be asked for one by
    /// one, read ahead: a backend whose every read is a round trip to a
    /// server reads them in one. Nothing by default.
    fn read_ahead(&mut self, _posts: &[i64]) -> Result<(), StoreError> {
        Ok(())
    }
    /// Keeps post `post`'s signature, in place of the one it had, if any.
    fn put_signature(
        &mut self,
        post: i64,
        seen: i64,
        at: i64,
        blob: &[u8],
    ) -> Result<(), StoreError>;
    /// Post `post`'s title and text (`None` when the post is gone).
    fn post_text(&mut self, post: i64) -> Result<Option<PostText>, StoreError>;
    /// The story of post `post` (`None` when the post is gone or has none).
    fn story_of(&mut self, post: i64) -> Result<Option<i64>, StoreError>;
    /// Post `post`'s story and time (published, else stored; seconds), when
    /// the post exists.
    fn post_story_time(&mut self, post: i64) -> Result<Option<(Option<i64>, i64)>, StoreError>;
    /// A new post joins `story`: one more post, last seen `now`.
    fn count_in(&mut self, story: i64, now: &str) -> Result<(), StoreError>;
    /// A new story under `title` with post `post`, first seen `now`; its id.
    fn new_story(&mut self, title: Option<&str>, post: i64, now: &str) -> Result<i64, StoreError>;
    /// Story `other` joins `root`: its posts move, it is deleted, and
    /// `root` keeps the earlier first sighting.
    fn join(&mut self, root: i64, other: i64) -> Result<(), StoreError>;
    /// Post `post`, stored before stories, is given `story` (which already
    /// counted it).
    fn assign(&mut self, post: i64, story: i64) -> Result<(), StoreError>;
}

/// A post stored without a story: id, title, text, published (RFC 3339),
/// stored (UTC RFC 3339).
pub(crate) type Unassigned = (i64, Option<String>, Option<String>, Option<String>, String);

/// How often, at most, the index is read again to drop the posts that
/// left the window.
const RELOAD_EVERY: i64 = 3600;

/// The writer's story state (see the module's text).
#[derive(Default)]
pub(crate) struct Stories {
    config: StoriesConfig,
    pub(crate) loaded: Option<Loaded>,
    /// Candidates checked against their stored signatures so far.
    pub(crate) checked: u64,
    /// The index has taken in what other processes stored: done once per
    /// transaction ([`Stories::begin`]).
    fresh: bool,
    /// Signatures read in this transaction, by post (published `at`, blob):
    /// the newest posts under a band are the candidates of many posts that
    /// follow (in a crawl of texts alike, of nearly every one), and each
    /// was read again for each (1,401 of the writer's 6,022 samples in a
    /// cold crawl of the benchmark's plain corpus). Only this transaction's:
    /// no other writer changes a row meanwhile (SQLite's write lock, the
    /// writers' advisory lock on PostgreSQL), and a signature this writer
    /// replaces is dropped first ([`Stories::changed`]); emptied at the
    /// next transaction, when the index is forgotten, and past [`RECENT`]
    /// entries.
    pub(crate) recent: std::collections::HashMap<i64, (i64, Vec<u8>)>,
}

/// Signatures [`Stories`] keeps from one transaction's reads, at most (some
/// 400 bytes each).
const RECENT: usize = 4096;
/// The longest signature kept among them: ours are the 328 bytes of the
/// header and values, then at most 64 numbers read from 1,000 characters
/// and 8 of a title's 200: under 2 KB.
const RECENT_BLOB: usize = 4096;

pub(crate) struct Loaded {
    index: Lsh,
    pub(crate) slots: Vec<Slot>,
    /// The highest post id taken in.
    max_post: i64,
    /// The earliest `seen_at` among the slots.
    oldest_seen: i64,
    loaded_at: i64,
}

#[derive(Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) post: i64,
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
            sketch: *fp.sketch(),
        });
        self.max_post = self.max_post.max(post);
        self.oldest_seen = self.oldest_seen.min(seen);
    }

    /// Posts sharing a band with `fp`, published within `window` seconds of
    /// `at`, other than `except`, whose sketch may match at `threshold`
    /// ([`crate::stories::candidates`]).
    fn candidates(
        &self,
        fp: &Fingerprint,
        at: i64,
        (window, threshold): (i64, f64),
        except: i64,
    ) -> Vec<i64> {
        let sketch = fp.sketch();
        crate::stories::candidates(&self.index, fp, |s| {
            let slot = self.slots.get(s as usize)?;
            (slot.post != except
                && slot.at.abs_diff(at) <= window.unsigned_abs()
                && sketch.may_match(&slot.sketch, close(Some(at), Some(slot.at)), threshold))
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
        self.recent.clear();
    }

    /// A write transaction begins: the index takes in the signatures other
    /// processes stored since, once, at its first use in it.
    pub(crate) fn begin(&mut self) {
        self.fresh = false;
        self.recent.clear();
    }

    /// Keeps a signature read in this transaction ([`Stories::recent`]);
    /// not one of more than [`RECENT_BLOB`] bytes (ours are a few hundred:
    /// a longer one is another tool's, read again if it is asked for).
    fn remember(&mut self, post: i64, at: i64, blob: Vec<u8>) {
        if blob.len() > RECENT_BLOB {
            return;
        }
        if self.recent.len() >= RECENT {
            self.recent.clear();
        }
        self.recent.insert(post, (at, blob));
    }

    /// Post `post`'s signature is about to be written: what was read of it
    /// is not its signature any more.
    fn changed(&mut self, post: i64) {
        self.recent.remove(&post);
    }

    fn window(&self) -> i64 {
        i64::try_from(self.config.window.as_secs()).unwrap_or(i64::MAX / 4)
    }

    /// The index, read or brought up to date (inside the transaction).
    pub(crate) fn ready(&mut self, db: &mut dyn StoryRows) -> Result<&mut Loaded, StoreError> {
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
        // A reload by the time index; a refresh by the post id, past the
        // last one taken in (another process's posts), the window's
        // filtered here (a refresh must not range over the window).
        let from = if stale {
            SignaturesFrom::SeenSince(cutoff)
        } else {
            SignaturesFrom::After(loaded.max_post)
        };
        if skip {
            return Ok(loaded);
        }
        db.signatures(from, &mut |post, seen, at, blob| {
            loaded.max_post = loaded.max_post.max(post);
            if seen < cutoff {
                return;
            }
            if let Some(fp) = Fingerprint::from_blob(blob) {
                loaded.file(post, &fp, at, seen);
            }
        })?;
        if stale {
            // Signatures of posts stored before the window have higher ids
            // than it when older posts were assigned late: never taken in.
            let max = db.max_signature_post()?;
            loaded.max_post = loaded.max_post.max(max.unwrap_or(0));
        }
        Ok(loaded)
    }

    /// The stories that `fp` (published `at`) matches among the window's
    /// posts other than `except`, oldest story first.
    fn matching(
        &mut self,
        db: &mut dyn StoryRows,
        fp: &Fingerprint,
        at: i64,
        except: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let window = self.window();
        let threshold = self.config.threshold;
        let posts = self
            .ready(db)?
            .candidates(fp, at, (window, threshold), except);
        if posts.len() > 1 {
            db.read_ahead(&posts)?;
        }
        // The signatures first, from their own small rows; the story only
        // of those that match: `posts.story_id` comes after the post's
        // text in its row, and reading it may read the whole text. Every
        // candidate is checked (at most `CANDIDATES`, so a feed of
        // thousands alike costs a bounded number of reads a post): a
        // candidate further down the list may be of another story (a
        // flash matched by its headline only, behind the long versions
        // matched by their text), and the post must join it whatever order
        // the posts came in. Stopping after a few matches of one story
        // left such a flash a story of its own in 12 of the 720 orders of
        // six versions of one dispatch.
        let mut stories: Vec<i64> = Vec::with_capacity(2);
        let mine = fp.view();
        for post in posts {
            self.checked += 1;
            let matched = match self.recent.get(&post) {
                Some((other_at, blob)) => {
                    mine.matches_stored(blob, threshold, close(Some(at), Some(*other_at)))
                }
                None => match db.signature(post)? {
                    Some((_, other_at, blob)) => {
                        let matched =
                            mine.matches_stored(&blob, threshold, close(Some(at), Some(other_at)));
                        self.remember(post, other_at, blob);
                        matched
                    }
                    None => false,
                },
            };
            if matched
                && let Some(story) = db.story_of(post)?
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
    /// Reads ahead, in one go, the stored posts that a poll's new posts
    /// (their fingerprints, published `at`) will be compared with
    /// ([`StoryRows::read_ahead`]): one read a poll rather than one a post.
    pub(crate) fn read_ahead(
        &mut self,
        db: &mut dyn StoryRows,
        items: &[(&Fingerprint, i64)],
    ) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let limits = (self.window(), self.config.threshold);
        let loaded = self.ready(db)?;
        let mut all: Vec<i64> = items
            .iter()
            .flat_map(|(fp, at)| loaded.candidates(fp, *at, limits, 0))
            .collect();
        all.sort_unstable();
        all.dedup();
        if !all.is_empty() {
            db.read_ahead(&all)?;
        }
        Ok(())
    }

    pub(crate) fn story_for_new(
        &mut self,
        db: &mut dyn StoryRows,
        fp: Option<&Fingerprint>,
        at: i64,
        title: Option<&str>,
        id: i64,
        now: &str,
    ) -> Result<i64, StoreError> {
        let stories = match fp {
            Some(fp) => self.matching(db, fp, at, 0)?,
            None => Vec::new(),
        };
        match stories.split_first() {
            Some((&root, others)) => {
                for &other in others {
                    db.join(root, other)?;
                }
                db.count_in(root, now)?;
                Ok(root)
            }
            None => db.new_story(title, id, now),
        }
    }

    /// Keeps the first signature of post `id`, just stored (published
    /// `at`, stored `now`), and files it.
    ///
    /// A post whose article is still to come (`pending`) is kept but not
    /// filed in memory: its article refiles it in seconds or minutes
    /// ([`Stories::refile`]), and a teaser filed meanwhile would only take
    /// room (half the index, in a crawl that follows every link); if its
    /// article never comes, [`Stories::file_stored`] files it then.
    pub(crate) fn file(
        &mut self,
        db: &mut dyn StoryRows,
        id: i64,
        fp: &Fingerprint,
        at: i64,
        now: &str,
        pending: bool,
    ) -> Result<(), StoreError> {
        if pending {
            self.ready(db)?;
            self.changed(id);
            db.put_signature(id, epoch(now), at, fp.blob())?;
            if let Some(loaded) = self.loaded.as_mut() {
                loaded.max_post = loaded.max_post.max(id);
            }
            return Ok(());
        }
        self.file_seen(db, id, fp, at, epoch(now))
    }

    /// Files post `id` in memory by its stored signature: its article will
    /// not come, and the teaser is what it has. A post stored while its
    /// article was to come has none (its teaser was not fingerprinted, see
    /// `crawl::document`): it is fingerprinted now, from its stored title
    /// and text, and compared as if its teaser were a new text.
    pub(crate) fn file_stored(
        &mut self,
        db: &mut dyn StoryRows,
        id: i64,
    ) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp();
        let window = self.window();
        let Some((seen, at, blob)) = db.signature(id)? else {
            // Without grouping (`[stories] group = false`) there is none
            // to take: the index is not read for it.
            if !self.config.group {
                return Ok(());
            }
            let Some((title, text)) = db.post_text(id)? else {
                return Ok(());
            };
            let fp = Fingerprint::of(
                title.as_deref().unwrap_or(""),
                text.as_deref().unwrap_or(""),
            );
            return self.refile(db, id, &fp, &crate::date::now_utc());
        };
        let loaded = self.ready(db)?;
        if seen >= now.saturating_sub(window)
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
        db: &mut dyn StoryRows,
        id: i64,
        fp: &Fingerprint,
        at: i64,
        seen: i64,
    ) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp();
        let window = self.window();
        // Brought up to date first: the row below is this writer's own.
        self.changed(id);
        let loaded = self.ready(db)?;
        db.put_signature(id, seen, at, fp.blob())?;
        if seen >= now.saturating_sub(window) {
            loaded.file(id, fp, at, seen);
        }
        loaded.max_post = loaded.max_post.max(id);
        Ok(())
    }

    /// Gives posts without a story (stored before stories, or by another
    /// tool) theirs, in the caller's transaction, oldest first (without
    /// grouping, a story each). Their
    /// fingerprints are taken here, on the writer's thread: this runs once,
    /// in the writer's idle time. A post stored longer ago than the window
    /// joins the stories of the window's posts it matches, but not those of
    /// other such posts (the index keeps the window only).
    pub(crate) fn assign_batch(
        &mut self,
        db: &mut dyn StoryRows,
        posts: &[Unassigned],
    ) -> Result<(), StoreError> {
        for (id, title, text, published, fetched) in posts {
            if !self.config.group {
                // Nothing compared (`[stories] group = false`): a story each.
                let story = db.new_story(title.as_deref(), *id, fetched)?;
                db.assign(*id, story)?;
                continue;
            }
            let fp = Fingerprint::of(
                title.as_deref().unwrap_or(""),
                text.as_deref().unwrap_or(""),
            );
            let at = post_time(published.as_deref(), fetched);
            let story = self.story_for_new(db, Some(&fp), at, title.as_deref(), *id, fetched)?;
            db.assign(*id, story)?;
            self.file_seen(db, *id, &fp, at, epoch(fetched))?;
        }
        Ok(())
    }

    /// Post `id` has a new text (its article, or its owner's newer
    /// version): its story joins the stories the new text matches, and its
    /// signature is replaced. Nothing is split: the posts that joined its
    /// story stay with it.
    pub(crate) fn refile(
        &mut self,
        db: &mut dyn StoryRows,
        id: i64,
        fp: &Fingerprint,
        now: &str,
    ) -> Result<(), StoreError> {
        let Some((Some(current), at)) = db.post_story_time(id)? else {
            // Gone, or not assigned yet (the idle pass assigns it).
            return Ok(());
        };
        let mut stories = self.matching(db, fp, at, id)?;
        stories.push(current);
        stories.sort_unstable();
        stories.dedup();
        if let Some((&root, others)) = stories.split_first() {
            for &other in others {
                db.join(root, other)?;
            }
        }
        self.file_seen(db, id, fp, at, epoch(now))
    }
}

/// A post's time for stories: published, else stored (seconds).
pub(crate) fn post_time(published: Option<&str>, fetched: &str) -> i64 {
    published
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map(|t| t.timestamp())
        .unwrap_or_else(|| epoch(fetched))
}

/// Seconds since the epoch of UTC RFC 3339 text (0 when it is not).
pub(crate) fn epoch(utc: &str) -> i64 {
    DateTime::parse_from_rfc3339(utc).map_or(0, |t| t.timestamp())
}
