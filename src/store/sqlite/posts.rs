//! A poll's save: dedup against what is stored (infoCode, identity key,
//! earlier keys), repeats, owners and newer versions, tombstones.

use rusqlite::{Connection, OptionalExtension, params};

use super::*;

/// Saves one poll in one transaction. A post already stored (same infoCode,
/// same key, or an earlier key of the same item) gains a `post_sources` row
/// instead of a second copy, and fills only its columns that are still NULL.
/// Only the owner (the source that stored it) replaces its fields, and only
/// with the same item (same guid or link) showing a newer update; when a
/// source configured earlier delivers it in the same run, that source
/// becomes the owner ([`take_over`]).
#[cfg(test)]
pub(crate) fn save_poll(
    conn: &mut Connection,
    stories: &mut Stories,
    poll: &PollRecord,
) -> Result<SaveSummary, StoreError> {
    let tx = super::begin_write(conn)?;
    stories.begin();
    let summary = save_poll_in(&tx, stories, poll)?;
    tx.commit()?;
    Ok(summary)
}

/// [`save_poll`] inside the caller's transaction: the writer runs the
/// saves waiting together in one transaction
/// ([`super::writer::Writer::call_shared`]).
pub(crate) fn save_poll_in(
    tx: &Connection,
    stories: &mut Stories,
    poll: &PollRecord,
) -> Result<SaveSummary, StoreError> {
    let now = crate::date::now_utc();
    let mut summary = SaveSummary::default();
    let st = &mut Stmts::new(tx);
    ensure_source(st, &poll.source, &now)?;
    let position = source_position(st, &poll.source)?;
    let run_started = floor_to_second(poll.run_started_at);
    // Asked once a poll, not once a post (two statements of a new post's
    // eight): whether any tombstone is kept (none, unless posts were
    // pruned), and the next post id, which only this poll's inserts move
    // inside the transaction.
    let mut any_tombstone: Option<bool> = None;
    let mut next_id: Option<i64> = None;
    for post in &poll.posts {
        match find_post(st, post)? {
            Some(found) => {
                summary.repeats += 1;
                st.get(
                    "INSERT OR IGNORE INTO post_sources (post_id, source, first_seen_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![found.id, poll.source, now])?;
                if found.owner == poll.source {
                    let same_item = (post.guid.is_some() && post.guid == found.guid)
                        || (post.url.is_some() && post.url == found.url);
                    if same_item && is_newer(post.updated_at.as_ref(), found.updated_at.as_deref())
                    {
                        update_post(st, found.id, post, &now)?;
                        if let Some(fp) = &post.fingerprint {
                            stories.refile(&mut SqliteRows(st), found.id, fp, &now)?;
                        }
                        summary.updated_posts += 1;
                    } else {
                        fill_nulls(st, found.id, post)?;
                    }
                } else if position < found.owner_position
                    && found.owner_since.is_some_and(|t| t >= run_started)
                {
                    take_over(st, found.id, &poll.source, post)?;
                } else {
                    fill_nulls(st, found.id, post)?;
                }
                if post.article_pending {
                    // Stored by a source that does not follow links: this one fetches the article.
                    st.get(
                        "UPDATE posts SET article_state = 'pending', article_via = ?2
                         WHERE id = ?1 AND article_state IS NULL",
                    )?
                    .execute(params![found.id, poll.source])?;
                }
            }
            None if {
                let any = match any_tombstone {
                    Some(any) => any,
                    None => *any_tombstone.insert(has_tombstones(st)?),
                };
                any && is_tombstoned(st, &post.identity)?
            } =>
            {
                summary.pruned += 1
            }
            None => {
                let at = post.published_at.map_or_else(
                    || crate::store::story_state::post_time(None, &now),
                    |t| t.timestamp(),
                );
                let fp = post.fingerprint.as_ref();
                let id = match next_id {
                    Some(id) => id,
                    None => next_post_id(st)?,
                };
                next_id = id.checked_add(1);
                let story = stories.story_for_new(
                    &mut SqliteRows(st),
                    fp,
                    at,
                    post.title.as_deref(),
                    id,
                    &now,
                )?;
                insert_post(st, &poll.source, post, Some((id, story)), &now)?;
                if let Some(fp) = fp {
                    stories.file(&mut SqliteRows(st), id, fp, at, &now, post.article_pending)?;
                }
                summary.new_posts += 1;
            }
        }
    }
    for b in &poll.blocked {
        summary.blocked += st
            .get(
                "INSERT OR IGNORE INTO blocked_items (source, canonical_url, info_code, title, rule, first_blocked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                poll.source,
                b.identity.canonical_url,
                b.identity.info_code,
                b.title,
                b.rule,
                now
            ])?;
    }
    let f = &poll.fetch;
    st.get(
        "INSERT INTO fetches (source, url, started_at, duration_ms, http_status, outcome, bytes, items, new_posts, error, kind, blocked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'feed', ?11)",
    )?
    .execute(params![
        poll.source,
        f.url,
        utc_text(&f.started_at),
        f.duration_ms,
        f.http_status,
        f.outcome.as_str(),
        f.bytes as i64,
        poll.items as i64,
        summary.new_posts as i64,
        f.error,
        summary.blocked as i64
    ])?;
    match f.outcome {
        Outcome::Ok | Outcome::NotModified => {
            st.get(
                "UPDATE sources SET last_polled_at = ?2, last_success_at = ?2, failures = 0, last_error = NULL,
                    next_poll_at = ?3 WHERE slug = ?1",
            )?
            .execute(params![poll.source, now, poll.next_poll_at.as_ref().map(utc_text)])?;
        }
        Outcome::Error => {
            st.get(
                "UPDATE sources SET last_polled_at = ?2, failures = failures + 1, last_error = ?3,
                    next_poll_at = ?4 WHERE slug = ?1",
            )?
            .execute(params![
                poll.source,
                now,
                f.error,
                poll.next_poll_at.as_ref().map(utc_text)
            ])?;
        }
    }
    if let Some(v) = &poll.validators {
        st.get("UPDATE sources SET etag = ?2, last_modified = ?3 WHERE slug = ?1")?
            .execute(params![poll.source, v.etag, v.last_modified])?;
    }
    st.get(
        "UPDATE sources SET hold_until = ?2, url = COALESCE(?3, url),
            last_unconditional_at = CASE WHEN ?4 THEN ?5 ELSE last_unconditional_at END
         WHERE slug = ?1",
    )?
    .execute(params![
        poll.source,
        // To the millisecond: a 3-second hold is not a 2-second one.
        poll.hold_until
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        poll.moved_to,
        poll.unconditional,
        now
    ])?;
    Ok(summary)
}

/// Gives `slug` a `sources` row if it has none, as a source no longer
/// configured: posts, their `post_sources` and fetches refer to it. The
/// configured sources have theirs from the start ([`sync_sources`]); this
/// is the net under that, so that no save fails for want of one.
pub(crate) fn ensure_source(st: &mut Stmts<'_>, slug: &str, now: &str) -> Result<(), StoreError> {
    st.get("INSERT OR IGNORE INTO sources (slug, name, url, removed_at) VALUES (?1, ?1, '', ?2)")?
        .execute(params![slug, now])?;
    Ok(())
}

/// A stored post that an item is found to be, with what decides who may
/// change it.
struct StoredPost {
    id: i64,
    owner: String,
    guid: Option<String>,
    url: Option<String>,
    updated_at: Option<String>,
    /// The owner's place in the configuration (`i64::MAX` when it has none).
    owner_position: i64,
    /// When the owner first stored it.
    owner_since: Option<DateTime<chrono::Utc>>,
}

fn floor_to_second(t: DateTime<chrono::Utc>) -> DateTime<chrono::Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// A source's place in the configuration; `i64::MAX` when it has none.
fn source_position(st: &mut Stmts<'_>, slug: &str) -> Result<i64, StoreError> {
    Ok(st
        .get("SELECT position FROM sources WHERE slug = ?1")?
        .query_row([slug], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .unwrap_or(i64::MAX))
}

/// The query for a [`StoredPost`] with the given `WHERE` clause (a literal,
/// so each statement text is built at compile time). Scalar subqueries, not
/// `LEFT JOIN`s: SQLite compiles a statement with a `LEFT JOIN` and a bound
/// parameter again for every new value bound (6% of the writer's time in a
/// cold crawl went to parsing these lookups again, once per item).
macro_rules! stored_post_where {
    ($where:literal) => {
        concat!(
            "SELECT p.id, p.source, p.guid, p.url, p.updated_at,
                    (SELECT s.position FROM sources s WHERE s.slug = p.source),
                    (SELECT ps.first_seen_at FROM post_sources ps
                     WHERE ps.post_id = p.id AND ps.source = p.source)
             FROM posts p WHERE ",
            $where
        )
    };
}

fn stored_post(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredPost> {
    let since: Option<String> = r.get(6)?;
    Ok(StoredPost {
        id: r.get(0)?,
        owner: r.get(1)?,
        guid: r.get(2)?,
        url: r.get(3)?,
        updated_at: r.get(4)?,
        owner_position: r.get::<_, Option<i64>>(5)?.unwrap_or(i64::MAX),
        owner_since: since
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&chrono::Utc)),
    })
}

/// The stored post an item is: by infoCode, then by its key, then by the
/// keys it may have been stored under before (each only for the same item).
fn find_post(st: &mut Stmts<'_>, post: &NewPost) -> Result<Option<StoredPost>, StoreError> {
    let id = &post.identity;
    // By infoCode, else by key, else by the one earlier key an item has
    // (most have one), in one statement: a new post (most of a cold
    // crawl's) missed all three in three.
    let (ic, key) = (&id.info_code, &id.canonical_url);
    let hit = match id.earlier.as_slice() {
        [Earlier::Key(k)] => st
            .get(stored_post_where!(
                "p.id = COALESCE((SELECT id FROM posts WHERE info_code = ?1),
                                 (SELECT id FROM posts WHERE canonical_url = ?2),
                                 (SELECT id FROM posts WHERE canonical_url = ?3))"
            ))?
            .query_row(params![ic, key, k], stored_post),
        [Earlier::WithGuid(k, g)] => st
            .get(stored_post_where!(
                "p.id = COALESCE((SELECT id FROM posts WHERE info_code = ?1),
                                 (SELECT id FROM posts WHERE canonical_url = ?2),
                                 (SELECT id FROM posts WHERE canonical_url = ?3 AND guid = ?4))"
            ))?
            .query_row(params![ic, key, k, g], stored_post),
        [Earlier::WithContent(k)] => st
            .get(stored_post_where!(
                "p.id = COALESCE((SELECT id FROM posts WHERE info_code = ?1),
                                 (SELECT id FROM posts WHERE canonical_url = ?2),
                                 (SELECT id FROM posts WHERE canonical_url = ?3
                                     AND content_html IS ?4 AND guid IS NULL))"
            ))?
            .query_row(params![ic, key, k, post.content_html], stored_post),
        _ => st
            .get(stored_post_where!(
                "p.id = COALESCE((SELECT id FROM posts WHERE info_code = ?1),
                                 (SELECT id FROM posts WHERE canonical_url = ?2))"
            ))?
            .query_row(params![ic, key], stored_post),
    }
    .optional()?;
    if hit.is_some() || id.earlier.len() == 1 {
        return Ok(hit);
    }
    for e in &id.earlier {
        let hit = match e {
            Earlier::Key(k) => st
                .get(stored_post_where!("p.canonical_url = ?1"))?
                .query_row([k], stored_post)
                .optional()?,
            Earlier::WithGuid(k, g) => st
                .get(stored_post_where!("p.canonical_url = ?1 AND p.guid = ?2"))?
                .query_row(params![k, g], stored_post)
                .optional()?,
            Earlier::WithContent(k) => st
                .get(stored_post_where!(
                    "p.canonical_url = ?1 AND p.content_html IS ?2 AND p.guid IS NULL"
                ))?
                .query_row(params![k, post.content_html], stored_post)
                .optional()?,
        };
        if hit.is_some() {
            return Ok(hit);
        }
    }
    Ok(None)
}

/// A repeat fills the columns that are still NULL, and changes nothing
/// else. (The row is written only when there is something to fill: an
/// update would queue the post for indexing again.)
fn fill_nulls(st: &mut Stmts<'_>, id: i64, p: &NewPost) -> Result<(), StoreError> {
    st.get(
        "UPDATE posts SET title = COALESCE(title, ?2), author = COALESCE(author, ?3),
            summary = COALESCE(summary, ?4),
            content_html = CASE WHEN content_html IS NULL THEN ?5 ELSE content_html END,
            content_text = CASE WHEN content_html IS NULL THEN ?6 ELSE content_text END,
            origin = COALESCE(origin, ?7), published_at = COALESCE(published_at, ?8),
            info_code = CASE WHEN info_code IS NULL AND ?9 IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.info_code = ?9) THEN ?9 ELSE info_code END
         WHERE id = ?1 AND (
            (title IS NULL AND ?2 IS NOT NULL) OR (author IS NULL AND ?3 IS NOT NULL)
            OR (summary IS NULL AND ?4 IS NOT NULL) OR (content_html IS NULL AND ?5 IS NOT NULL)
            OR (origin IS NULL AND ?7 IS NOT NULL) OR (published_at IS NULL AND ?8 IS NOT NULL)
            OR (info_code IS NULL AND ?9 IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.info_code = ?9)))",
    )?
    .execute(params![
        id,
        p.title,
        p.author,
        p.summary,
        p.content_html,
        p.content_text,
        p.origin,
        p.published_at.as_ref().map(local_text),
        p.identity.info_code,
    ])?;
    save_enclosures(st, id, &p.enclosures, false)?;
    Ok(())
}

/// `source`, configured before the post's owner, delivered it in the same
/// run: it becomes the owner, as if its poll had finished first. Its item's
/// fields replace the post's (the earlier owner's stay where it has none,
/// as a repeat's would), and its key replaces the post's when no other post
/// holds it. The article is left to the source that claimed it (it may be
/// fetching it right now): an article page is fetched once.
fn take_over(st: &mut Stmts<'_>, id: i64, source: &str, p: &NewPost) -> Result<(), StoreError> {
    st.get(
        "UPDATE posts SET source = ?2, url = ?3, guid = ?4,
            title = COALESCE(?5, title), author = COALESCE(?6, author), summary = COALESCE(?7, summary),
            content_html = CASE WHEN article_state = 'done' THEN content_html
                ELSE COALESCE(?8, content_html) END,
            content_text = CASE WHEN article_state = 'done' THEN content_text
                ELSE COALESCE(?9, content_text) END,
            origin = COALESCE(?10, origin), published_at = COALESCE(?11, published_at),
            updated_at = COALESCE(?12, updated_at),
            canonical_url = CASE WHEN NOT EXISTS (SELECT 1 FROM posts o WHERE o.canonical_url = ?13 AND o.id <> ?1)
                THEN ?13 ELSE canonical_url END,
            info_code = CASE WHEN info_code IS NULL AND ?14 IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.info_code = ?14) THEN ?14 ELSE info_code END
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        source,
        p.url,
        p.guid,
        p.title,
        p.author,
        p.summary,
        p.content_html,
        p.content_text,
        p.origin,
        p.published_at.as_ref().map(local_text),
        p.updated_at.as_ref().map(local_text),
        p.identity.canonical_url,
        p.identity.info_code,
    ])?;
    Ok(())
}

fn is_newer(candidate: Option<&DateTime<chrono::FixedOffset>>, stored: Option<&str>) -> bool {
    match (
        candidate,
        stored.and_then(|s| DateTime::parse_from_rfc3339(s).ok()),
    ) {
        (Some(c), Some(s)) => *c > s,
        (Some(_), None) => stored.is_none(),
        _ => false,
    }
}

/// The id the next post inserted gets (AUTOINCREMENT: past every id
/// given out); the same until a post is inserted in this transaction.
pub(super) fn next_post_id(st: &mut Stmts<'_>) -> Result<i64, StoreError> {
    Ok(st
        .get(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'posts'), 0),
                        COALESCE((SELECT MAX(id) FROM posts), 0)) + 1",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Inserts a new post and returns its id: with `assigned`, as that id
/// ([`next_post_id`]) in that story.
pub(super) fn insert_post(
    st: &mut Stmts<'_>,
    source: &str,
    p: &NewPost,
    assigned: Option<(i64, i64)>,
    now: &str,
) -> Result<i64, StoreError> {
    st.get(
        "INSERT INTO posts (source, info_code, url, canonical_url, guid, title, author, summary,
            content_html, content_text, origin, published_at, updated_at, fetched_at, article_state, article_via,
            id, story_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?
    .execute(params![
        source,
        p.identity.info_code,
        p.url,
        p.identity.canonical_url,
        p.guid,
        p.title,
        p.author,
        p.summary,
        p.content_html,
        p.content_text,
        p.origin,
        p.published_at.as_ref().map(local_text),
        p.updated_at.as_ref().map(local_text),
        now,
        p.article_pending.then_some("pending"),
        p.article_pending.then_some(source),
        assigned.map(|(id, _)| id),
        assigned.map(|(_, story)| story),
    ])?;
    let id = st.conn().last_insert_rowid();
    // The insert triggers' work, when the writer's connection does it.
    super::triggers::after_insert(st, id, p.article_pending.then_some("pending"))?;
    st.get("INSERT INTO post_sources (post_id, source, first_seen_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, source, now])?;
    save_enclosures(st, id, &p.enclosures, false)?;
    Ok(id)
}

/// Stores a post's enclosures: all of them in place of the old ones with
/// `replace`, else only when it has none yet.
fn save_enclosures(
    st: &mut Stmts<'_>,
    id: i64,
    enclosures: &[crate::feed::Enclosure],
    replace: bool,
) -> Result<(), StoreError> {
    if enclosures.is_empty() && !replace {
        return Ok(());
    }
    if replace {
        st.get("DELETE FROM enclosures WHERE post_id = ?1")?
            .execute([id])?;
    } else if st
        .get("SELECT 1 FROM enclosures WHERE post_id = ?1")?
        .exists([id])?
    {
        return Ok(());
    }
    for (i, e) in enclosures.iter().enumerate() {
        st.get(
            "INSERT INTO enclosures (post_id, position, url, type, length) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            id,
            i as i64,
            e.url.as_str(),
            e.mime,
            e.length.and_then(|l| i64::try_from(l).ok())
        ])?;
    }
    Ok(())
}

/// The owner's same item, updated: its fields replace the post's (those it
/// lacks stay). A source that follows links fetches the article again.
fn update_post(st: &mut Stmts<'_>, id: i64, p: &NewPost, now: &str) -> Result<(), StoreError> {
    st.get(
        "UPDATE posts SET title = COALESCE(?2, title), author = COALESCE(?3, author),
            summary = COALESCE(?4, summary),
            content_html = CASE WHEN article_state = 'done' AND NOT ?11 THEN content_html
                ELSE COALESCE(?5, content_html) END,
            content_text = CASE WHEN article_state = 'done' AND NOT ?11 THEN content_text
                ELSE COALESCE(?6, content_text) END,
            origin = COALESCE(?7, origin), published_at = COALESCE(?8, published_at), updated_at = ?9,
            fetched_at = ?10,
            article_state = CASE WHEN ?11 THEN 'pending' ELSE article_state END,
            article_attempts = CASE WHEN ?11 THEN 0 ELSE article_attempts END,
            article_next_at = CASE WHEN ?11 THEN NULL ELSE article_next_at END
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        p.title,
        p.author,
        p.summary,
        p.content_html,
        p.content_text,
        p.origin,
        p.published_at.as_ref().map(local_text),
        p.updated_at.as_ref().map(local_text),
        now,
        p.article_pending,
    ])?;
    save_enclosures(st, id, &p.enclosures, true)?;
    Ok(())
}

/// Whether any post was pruned and its keys kept.
fn has_tombstones(st: &mut Stmts<'_>) -> Result<bool, StoreError> {
    Ok(st
        .get("SELECT EXISTS (SELECT 1 FROM tombstones)")?
        .query_row([], |r| r.get(0))?)
}

/// Whether a pruned post had this identity.
pub(crate) fn is_tombstoned(st: &mut Stmts<'_>, id: &Identity) -> Result<bool, StoreError> {
    let hit: Option<i64> = st
        .get(
            "SELECT 1 FROM tombstones WHERE canonical_url = ?1 OR (?2 IS NOT NULL AND info_code = ?2) LIMIT 1",
        )?
        .query_row(params![id.canonical_url, id.info_code], |r| r.get(0))
        .optional()?;
    Ok(hit.is_some())
}

/// Whether a post with this identity is stored.
pub(crate) fn is_stored(conn: &Connection, post: &NewPost) -> Result<bool, StoreError> {
    Ok(find_post(&mut Stmts::new(conn), post)?.is_some())
}
