//! A poll's save on PostgreSQL: the same dedup rule as SQLite's
//! ([`crate::store::sqlite`]'s `save_poll` says it whole): infoCode, then
//! the identity key, then earlier keys; repeats, owners, newer versions,
//! tombstones. Every write transaction first takes the writers' advisory
//! lock, so that writers (a daemon and a `crawl --once` beside it) save one
//! after the other as on SQLite, and each sees the other's posts, and
//! their stories, before it decides on its own.

use chrono::{DateTime, Utc};
use postgres::{Client, GenericClient, Transaction};

use super::batch::{Batch, Found, Known};
use super::*;
use crate::dedup::Earlier;

/// The advisory lock key write transactions hold (`'newscrwl'`).
const WRITE_LOCK: i64 = 0x6e65_7773_6372_776c;

/// Begins a write transaction: one writer at a time.
pub(crate) fn write_transaction(client: &mut Client) -> Result<Transaction<'_>, StoreError> {
    let mut tx = client.transaction()?;
    tx.run("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
    Ok(tx)
}

/// Now, to the second (as the SQLite backend keeps its times).
pub(crate) fn now_second() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

/// Saves one poll in one transaction (see the module's text).
pub(crate) fn save_poll(
    client: &mut Client,
    stories: &mut Stories,
    poll: &PollRecord,
) -> Result<SaveSummary, StoreError> {
    let now = now_second();
    let now_text = utc_text(&now);
    let mut tx = write_transaction(client)?;
    stories.begin();
    let mut summary = SaveSummary::default();
    // The source's row (made when it is not there: a source removed from
    // the configuration meanwhile) and its place in the configuration.
    let position: i64 = tx
        .row_opt(
            "WITH made AS (
                INSERT INTO sources (slug, name, url, removed_at) VALUES ($1, $1, '', now())
                ON CONFLICT (slug) DO NOTHING RETURNING position)
             SELECT position FROM made UNION ALL SELECT position FROM sources WHERE slug = $1",
            &[&poll.source],
        )?
        .and_then(|r| r.get::<_, Option<i64>>(0))
        .unwrap_or(i64::MAX);
    let run_started =
        DateTime::from_timestamp(poll.run_started_at.timestamp(), 0).unwrap_or(poll.run_started_at);
    let posts: Vec<std::borrow::Cow<'_, NewPost>> = poll.posts.iter().map(without_nul).collect();
    let mut known = Known::read(&mut tx, &posts)?;
    let mut batch = Batch::new(&poll.source, now);
    let looks_new: Vec<&NewPost> = posts
        .iter()
        .filter(|p| matches!(known.find(&p.identity), Found::New))
        .map(|p| &**p)
        .collect();
    // Ids for the items that look new (those that turn out repeats of each
    // other are given back).
    let mut keys = std::collections::HashSet::new();
    let fresh = looks_new
        .iter()
        .filter(|p| {
            !known.tombstoned(&p.identity) && keys.insert(p.identity.canonical_url.as_str())
        })
        .count();
    batch.reserve(&mut tx, fresh)?;
    // What the new posts' stories will be looked up among, read at once.
    let fingerprints: Vec<_> = looks_new
        .iter()
        .filter_map(|p| {
            let at = p
                .published_at
                .map_or_else(|| now.timestamp(), |t| t.timestamp());
            Some((p.fingerprint.as_ref()?, at))
        })
        .collect();
    stories.read_ahead(&mut PgRows::batched(&mut tx, &mut batch), &fingerprints)?;
    for post in posts {
        let found = if batch.may_have_made(&post.identity) {
            // A repeat of an item of this poll: its post as written.
            if batch.pending() {
                batch.flush(&mut tx)?;
            }
            find_post(&mut tx, &post)?
        } else {
            match known.find(&post.identity) {
                Found::Stored(st) => Some(st.clone()),
                Found::New => None,
                Found::Ask => find_post(&mut tx, &post)?,
            }
        };
        match found {
            Some(st) => {
                let post = &*post;
                known.touch(st.id);
                summary.repeats += 1;
                tx.run(
                    "INSERT INTO post_sources (post_id, source, first_seen_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&st.id, &poll.source, &now],
                )?;
                if st.owner == poll.source {
                    let same_item = (post.guid.is_some() && post.guid == st.guid)
                        || (post.url.is_some() && post.url == st.url);
                    if same_item && is_newer(post.updated_at.as_ref(), st.updated_at) {
                        update_post(&mut tx, st.id, post, now)?;
                        if let Some(fp) = &post.fingerprint {
                            stories.refile(
                                &mut PgRows::batched(&mut tx, &mut batch),
                                st.id,
                                fp,
                                &now_text,
                            )?;
                        }
                        summary.updated_posts += 1;
                    } else {
                        fill_nulls(&mut tx, st.id, post)?;
                    }
                } else if position < st.owner_position
                    && st.owner_since.is_some_and(|t| t >= run_started)
                {
                    take_over(&mut tx, st.id, &poll.source, post)?;
                } else {
                    fill_nulls(&mut tx, st.id, post)?;
                }
                if post.article_pending {
                    tx.run(
                        "UPDATE posts SET article_state = 'pending', article_via = $2
                         WHERE id = $1 AND article_state IS NULL",
                        &[&st.id, &poll.source],
                    )?;
                }
            }
            None if known.tombstoned(&post.identity) => summary.pruned += 1,
            None => {
                let at = post
                    .published_at
                    .map_or_else(|| now.timestamp(), |t| t.timestamp());
                let id = batch.post_id(&mut tx)?;
                let story = stories.story_for_new(
                    &mut PgRows::batched(&mut tx, &mut batch),
                    post.fingerprint.as_ref(),
                    at,
                    post.title.as_deref(),
                    id,
                    &now_text,
                )?;
                let (fp, pending) = (post.fingerprint.clone(), post.article_pending);
                batch.add_post(id, story, at, post);
                if let Some(fp) = &fp {
                    stories.file(
                        &mut PgRows::batched(&mut tx, &mut batch),
                        id,
                        fp,
                        at,
                        &now_text,
                        pending,
                    )?;
                }
                if batch.full() {
                    batch.flush(&mut tx)?;
                }
                summary.new_posts += 1;
            }
        }
    }
    if batch.pending() {
        batch.flush(&mut tx)?;
    }
    batch.give_back(&mut tx)?;
    for b in &poll.blocked {
        let title = b.title.as_ref().map(|t| t.replace('\0', ""));
        let canonical = b.identity.canonical_url.replace('\0', "");
        let code = b.identity.info_code.as_ref().map(|c| c.replace('\0', ""));
        summary.blocked += tx.run(
            "INSERT INTO blocked_items (source, canonical_url, info_code, title, rule, first_blocked_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &poll.source,
                &canonical,
                &code,
                &title,
                &b.rule.replace('\0', ""),
                &now,
            ],
        )? as usize;
    }
    insert_fetch(
        &mut tx,
        &poll.source,
        &poll.fetch,
        "feed",
        poll.items as i64,
        summary.new_posts as i64,
        summary.blocked as i64,
    )?;
    // The source's state after the poll, in one statement: its outcome,
    // validators (when the response had them), hold, moved URL.
    let ok = matches!(poll.fetch.outcome, Outcome::Ok | Outcome::NotModified);
    tx.run(
        "UPDATE sources SET last_polled_at = $2,
            last_success_at = CASE WHEN $3 THEN $2 ELSE last_success_at END,
            failures = CASE WHEN $3 THEN 0 ELSE failures + 1 END,
            last_error = CASE WHEN $3 THEN NULL ELSE $4 END,
            next_poll_at = $5,
            etag = CASE WHEN $6 THEN $7 ELSE etag END,
            last_modified = CASE WHEN $6 THEN $8 ELSE last_modified END,
            hold_until = $9, url = COALESCE($10, url),
            last_unconditional_at = CASE WHEN $11 THEN $2 ELSE last_unconditional_at END
         WHERE slug = $1",
        &[
            &poll.source,
            &now,
            &ok,
            &nul_free(poll.fetch.error.as_deref()),
            &poll.next_poll_at,
            &poll.validators.is_some(),
            &nul_free(poll.validators.as_ref().and_then(|v| v.etag.as_deref())),
            &nul_free(
                poll.validators
                    .as_ref()
                    .and_then(|v| v.last_modified.as_deref()),
            ),
            // To the millisecond: a 3-second hold is not a 2-second one.
            &poll
                .hold_until
                .map(|t| DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)),
            &poll.moved_to,
            &poll.unconditional,
        ],
    )?;
    tx.commit()?;
    Ok(summary)
}

/// One request's row in `fetches`.
pub(crate) fn insert_fetch(
    tx: &mut Transaction<'_>,
    source: &str,
    f: &FetchRecord,
    kind: &str,
    items: i64,
    new_posts: i64,
    blocked: i64,
) -> Result<(), StoreError> {
    let started = DateTime::from_timestamp(f.started_at.timestamp(), 0).unwrap_or(f.started_at);
    tx.run(
        "INSERT INTO fetches (source, url, started_at, duration_ms, http_status, outcome, bytes, items,
            new_posts, error, kind, blocked)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &source,
            &f.url,
            &started,
            &f.duration_ms,
            &f.http_status.map(i32::from),
            &f.outcome.as_str(),
            &i64::try_from(f.bytes).unwrap_or(i64::MAX),
            &items,
            &new_posts,
            &nul_free(f.error.as_deref()),
            &kind,
            &blocked,
        ],
    )?;
    Ok(())
}

/// A stored post an item is found to be, with what decides who may change it.
#[derive(Clone)]
pub(super) struct StoredPost {
    pub(super) id: i64,
    owner: String,
    pub(super) guid: Option<String>,
    url: Option<String>,
    updated_at: Option<DateTime<Utc>>,
    owner_position: i64,
    owner_since: Option<DateTime<Utc>>,
}

/// The query for a [`StoredPost`] with the given `WHERE` clause (a
/// literal: each statement is prepared once).
macro_rules! stored_post_where {
    ($where:literal) => {
        concat!(
            "SELECT p.id, p.source, p.guid, p.url, p.updated_at,
                (SELECT s.position FROM sources s WHERE s.slug = p.source),
                (SELECT ps.first_seen_at FROM post_sources ps WHERE ps.post_id = p.id AND ps.source = p.source)
             FROM posts p WHERE ",
            $where
        )
    };
}

fn stored_post(r: &postgres::Row) -> StoredPost {
    StoredPost {
        id: r.get(0),
        owner: r.get(1),
        guid: r.get(2),
        url: r.get(3),
        updated_at: r.get(4),
        owner_position: r.get::<_, Option<i64>>(5).unwrap_or(i64::MAX),
        owner_since: r.get(6),
    }
}

/// The stored posts with one of these infoCodes or canonical URLs, each
/// with its infoCode and canonical URL. Not a prepared statement: its
/// plan would be made once, when `posts` was small (a cold crawl's first
/// polls) — a scan of the table, ever after. Planned at each run (sent
/// with its parameters' types: one round trip, not three), it is two
/// index lookups.
pub(super) fn stored_by_keys(
    tx: &mut impl GenericClient,
    codes: &[&str],
    urls: &[&str],
) -> Result<Vec<(StoredPost, Option<String>, String)>, StoreError> {
    use postgres::types::Type;
    Ok(tx
        .query_typed(
            "SELECT p.id, p.source, p.guid, p.url, p.updated_at,
                (SELECT s.position FROM sources s WHERE s.slug = p.source),
                (SELECT ps.first_seen_at FROM post_sources ps WHERE ps.post_id = p.id AND ps.source = p.source),
                p.info_code, p.canonical_url
             FROM posts p WHERE p.id IN (
                SELECT id FROM posts WHERE info_code = ANY($1)
                UNION SELECT id FROM posts WHERE canonical_url = ANY($2))",
            &[(&codes, Type::TEXT_ARRAY), (&urls, Type::TEXT_ARRAY)],
        )?
        .iter()
        .map(|r| (stored_post(r), r.get(7), r.get(8)))
        .collect())
}

/// The first stored post `sql` ([`stored_post_where`]) finds.
fn stored_where(
    tx: &mut impl GenericClient,
    sql: &'static str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Option<StoredPost>, StoreError> {
    Ok(tx.row_opt(sql, params)?.as_ref().map(stored_post))
}

/// The stored post an item is: by infoCode, then by its key, then by the
/// keys it may have been stored under before (each only for the same item).
fn find_post(
    tx: &mut impl GenericClient,
    post: &NewPost,
) -> Result<Option<StoredPost>, StoreError> {
    let id = &post.identity;
    if let Some(code) = &id.info_code
        && let Some(hit) = stored_where(tx, stored_post_where!("p.info_code = $1"), &[code])?
    {
        return Ok(Some(hit));
    }
    if let Some(hit) = stored_where(
        tx,
        stored_post_where!("p.canonical_url = $1"),
        &[&id.canonical_url],
    )? {
        return Ok(Some(hit));
    }
    for e in &id.earlier {
        let hit = match e {
            Earlier::Key(k) => stored_where(tx, stored_post_where!("p.canonical_url = $1"), &[k])?,
            Earlier::WithGuid(k, g) => stored_where(
                tx,
                stored_post_where!("p.canonical_url = $1 AND p.guid = $2"),
                &[k, g],
            )?,
            Earlier::WithContent(k) => stored_where(
                tx,
                stored_post_where!(
                    "p.canonical_url = $1 AND p.content_html IS NOT DISTINCT FROM $2 AND p.guid IS NULL"
                ),
                &[k, &post.content_html],
            )?,
        };
        if hit.is_some() {
            return Ok(hit);
        }
    }
    Ok(None)
}

/// A repeat fills the columns that are still NULL, and changes nothing else.
fn fill_nulls(tx: &mut Transaction<'_>, id: i64, p: &NewPost) -> Result<(), StoreError> {
    let (published, offset) = split_local(p.published_at.as_ref());
    tx.run(
        "UPDATE posts SET title = COALESCE(title, $2), author = COALESCE(author, $3),
            summary = COALESCE(summary, $4),
            content_html = CASE WHEN content_html IS NULL THEN $5 ELSE content_html END,
            content_text = CASE WHEN content_html IS NULL THEN $6 ELSE content_text END,
            origin = COALESCE(origin, $7),
            published_offset = CASE WHEN published_at IS NULL THEN $9 ELSE published_offset END,
            published_at = COALESCE(published_at, $8),
            info_code = CASE WHEN info_code IS NULL AND $10::text IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.info_code = $10) THEN $10 ELSE info_code END
         WHERE id = $1 AND (
            (title IS NULL AND $2::text IS NOT NULL) OR (author IS NULL AND $3::text IS NOT NULL)
            OR (summary IS NULL AND $4::text IS NOT NULL) OR (content_html IS NULL AND $5::text IS NOT NULL)
            OR (origin IS NULL AND $7::text IS NOT NULL) OR (published_at IS NULL AND $8::timestamptz IS NOT NULL)
            OR (info_code IS NULL AND $10::text IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.info_code = $10)))",
        &[
            &id,
            &p.title,
            &p.author,
            &p.summary,
            &p.content_html,
            &p.content_text,
            &p.origin,
            &published,
            &offset,
            &p.identity.info_code,
        ],
    )?;
    save_enclosures(tx, id, &p.enclosures, false)?;
    Ok(())
}

/// `source`, configured before the post's owner, delivered it in the same
/// run: it becomes the owner.
fn take_over(
    tx: &mut Transaction<'_>,
    id: i64,
    source: &str,
    p: &NewPost,
) -> Result<(), StoreError> {
    let (published, published_offset) = split_local(p.published_at.as_ref());
    let (updated, updated_offset) = split_local(p.updated_at.as_ref());
    tx.run(
        "UPDATE posts SET source = $2, url = $3, guid = $4,
            title = COALESCE($5, title), author = COALESCE($6, author), summary = COALESCE($7, summary),
            content_html = CASE WHEN article_state = 'done' THEN content_html
                ELSE COALESCE($8, content_html) END,
            content_text = CASE WHEN article_state = 'done' THEN content_text
                ELSE COALESCE($9, content_text) END,
            origin = COALESCE($10, origin),
            published_offset = CASE WHEN $11::timestamptz IS NULL THEN published_offset ELSE $12 END,
            published_at = COALESCE($11, published_at),
            updated_offset = CASE WHEN $13::timestamptz IS NULL THEN updated_offset ELSE $14 END,
            updated_at = COALESCE($13, updated_at),
            canonical_url = CASE WHEN NOT EXISTS (SELECT 1 FROM posts o WHERE o.canonical_url = $15 AND o.id <> $1)
                THEN $15 ELSE canonical_url END,
            info_code = CASE WHEN info_code IS NULL AND $16::text IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.info_code = $16) THEN $16 ELSE info_code END
         WHERE id = $1",
        &[
            &id,
            &source,
            &p.url,
            &p.guid,
            &p.title,
            &p.author,
            &p.summary,
            &p.content_html,
            &p.content_text,
            &p.origin,
            &published,
            &published_offset,
            &updated,
            &updated_offset,
            &p.identity.canonical_url,
            &p.identity.info_code,
        ],
    )?;
    Ok(())
}

fn is_newer(
    candidate: Option<&DateTime<chrono::FixedOffset>>,
    stored: Option<DateTime<Utc>>,
) -> bool {
    match (candidate, stored) {
        (Some(c), Some(s)) => *c > s,
        (Some(_), None) => true,
        _ => false,
    }
}

/// A title or text as `posts.search` reads it: what the schema's
/// `newscrawl_search_text` makes of it ([`crate::search::index_text`], the
/// same form; the text's first 100,000 characters).
pub(super) fn search_text(text: Option<&str>) -> String {
    let text = text.unwrap_or("");
    let end = text
        .char_indices()
        .nth(100_000)
        .map_or(text.len(), |(i, _)| i);
    crate::search::index_text(&text[..end])
}

/// Stores a post's enclosures: all of them in place of the old ones with
/// `replace`, else only when it has none yet.
pub(super) fn save_enclosures(
    tx: &mut Transaction<'_>,
    id: i64,
    enclosures: &[crate::feed::Enclosure],
    replace: bool,
) -> Result<(), StoreError> {
    if enclosures.is_empty() && !replace {
        return Ok(());
    }
    if replace {
        tx.run("DELETE FROM enclosures WHERE post_id = $1", &[&id])?;
    } else if tx
        .row_opt(
            "SELECT 1 FROM enclosures WHERE post_id = $1 LIMIT 1",
            &[&id],
        )?
        .is_some()
    {
        return Ok(());
    }
    for (i, e) in enclosures.iter().enumerate() {
        tx.run(
            "INSERT INTO enclosures (post_id, position, url, type, length) VALUES ($1, $2, $3, $4, $5)",
            &[
                &id,
                &(i as i64),
                &e.url.as_str(),
                &e.mime,
                &e.length.and_then(|l| i64::try_from(l).ok()),
            ],
        )?;
    }
    Ok(())
}

/// The owner's same item, updated: its fields replace the post's (those it
/// lacks stay). A source that follows links fetches the article again.
fn update_post(
    tx: &mut Transaction<'_>,
    id: i64,
    p: &NewPost,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (published, published_offset) = split_local(p.published_at.as_ref());
    let (updated, updated_offset) = split_local(p.updated_at.as_ref());
    tx.run(
        "UPDATE posts SET title = COALESCE($2, title), author = COALESCE($3, author),
            summary = COALESCE($4, summary),
            content_html = CASE WHEN article_state = 'done' AND NOT $11 THEN content_html
                ELSE COALESCE($5, content_html) END,
            content_text = CASE WHEN article_state = 'done' AND NOT $11 THEN content_text
                ELSE COALESCE($6, content_text) END,
            origin = COALESCE($7, origin),
            published_offset = CASE WHEN $8::timestamptz IS NULL THEN published_offset ELSE $12 END,
            published_at = COALESCE($8, published_at),
            updated_at = $9, updated_offset = $13,
            fetched_at = $10,
            article_state = CASE WHEN $11 THEN 'pending' ELSE article_state END,
            article_attempts = CASE WHEN $11 THEN 0 ELSE article_attempts END,
            article_next_at = CASE WHEN $11 THEN NULL ELSE article_next_at END
         WHERE id = $1",
        &[
            &id,
            &p.title,
            &p.author,
            &p.summary,
            &p.content_html,
            &p.content_text,
            &p.origin,
            &published,
            &updated,
            &now,
            &p.article_pending,
            &published_offset,
            &updated_offset,
        ],
    )?;
    save_enclosures(tx, id, &p.enclosures, true)?;
    Ok(())
}

/// Whether a post with this identity is stored.
pub(crate) fn is_stored(client: &mut Client, post: &NewPost) -> Result<bool, StoreError> {
    Ok(find_post(client, post)?.is_some())
}

/// Whether some post has this infoCode.
pub(crate) fn has_info_code(client: &mut Client, code: &str) -> Result<bool, StoreError> {
    Ok(client
        .row_opt("SELECT 1 FROM posts WHERE info_code = $1", &[&code])?
        .is_some())
}

/// PostgreSQL's text holds no NUL character, which a publisher may send
/// (`\u0000` in a JSON feed): it would fail the whole poll's save. Text
/// without them, as it comes otherwise (borrowed when there is none, the
/// common case).
pub(crate) fn without_nul(p: &NewPost) -> std::borrow::Cow<'_, NewPost> {
    fn has(s: &str) -> bool {
        s.contains('\0')
    }
    fn any(o: &Option<String>) -> bool {
        o.as_deref().is_some_and(has)
    }
    fn strip(s: &mut String) {
        if has(s) {
            s.retain(|c| c != '\0');
        }
    }
    fn strip_opt(o: &mut Option<String>) {
        if let Some(s) = o {
            strip(s);
        }
    }
    let earlier = |e: &Earlier| match e {
        Earlier::Key(k) | Earlier::WithContent(k) => has(k),
        Earlier::WithGuid(k, g) => has(k) || has(g),
    };
    let id = &p.identity;
    let dirty = any(&id.info_code)
        || has(&id.canonical_url)
        || id.earlier.iter().any(earlier)
        || [
            &p.url,
            &p.guid,
            &p.title,
            &p.author,
            &p.summary,
            &p.content_html,
            &p.content_text,
            &p.origin,
        ]
        .into_iter()
        .any(any)
        || p.enclosures.iter().any(|e| any(&e.mime));
    if !dirty {
        return std::borrow::Cow::Borrowed(p);
    }
    let mut p = p.clone();
    strip_opt(&mut p.identity.info_code);
    strip(&mut p.identity.canonical_url);
    for e in &mut p.identity.earlier {
        match e {
            Earlier::Key(k) | Earlier::WithContent(k) => strip(k),
            Earlier::WithGuid(k, g) => {
                strip(k);
                strip(g);
            }
        }
    }
    for f in [
        &mut p.url,
        &mut p.guid,
        &mut p.title,
        &mut p.author,
        &mut p.summary,
        &mut p.content_html,
        &mut p.content_text,
        &mut p.origin,
    ] {
        strip_opt(f);
    }
    for e in &mut p.enclosures {
        strip_opt(&mut e.mime);
    }
    std::borrow::Cow::Owned(p)
}

/// `s` without NUL characters (see [`without_nul`]).
pub(crate) fn nul_free(s: Option<&str>) -> Option<String> {
    s.map(|s| s.replace('\0', ""))
}
