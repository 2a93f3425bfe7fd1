//! Reading posts out for exports: the filtered stream of rows, and the
//! change feed with the continuous export's cursors.

use rusqlite::{Connection, OptionalExtension, params};

use super::*;

/// The highest change number given out so far (0 when none): a snapshot
/// to export up to ([`PostFilter::changed`]).
pub(crate) fn last_change(conn: &Connection) -> Result<i64, StoreError> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM post_changes", [], |r| {
            r.get(0)
        })?,
    )
}

/// The changes after `after`, in order, at most `limit`: (seq, post id).
pub(crate) fn changes_after(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, post_id FROM post_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The highest post id given out (`sqlite_sequence`: AUTOINCREMENT ids
/// only grow, a deleted post's id included).
pub(crate) fn max_post_id(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'posts'), 0),
                        COALESCE((SELECT MAX(id) FROM posts), 0))",
        [],
        |r| r.get(0),
    )?)
}

/// A cursor, or `None` when there is none of that name.
pub(crate) fn find_export_cursor(conn: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT seq FROM export_cursors WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?)
}

/// How far the continuous export `name` got: the change number it has
/// written up to (0 when it never ran).
pub(crate) fn export_cursor(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    Ok(conn
        .query_row(
            "SELECT seq FROM export_cursors WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Records that the continuous export `name` has written every change up to `seq`.
pub(crate) fn set_export_cursor(conn: &Connection, name: &str, seq: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO export_cursors (name, seq, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET seq = MAX(seq, excluded.seq), updated_at = excluded.updated_at",
    )?
    .execute(params![name, seq, crate::date::now_utc()])?;
    Ok(())
}

/// Whether some post has this infoCode.
pub(crate) fn has_info_code(conn: &Connection, code: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM posts WHERE info_code = ?1")?
        .exists([code])?)
}

/// Calls `f` with each post that `filter` admits, in id order, one row at a
/// time (memory stays flat however many posts there are).
pub(crate) fn for_each_post<E: From<StoreError>>(
    conn: &Connection,
    filter: &PostFilter,
    mut f: impl FnMut(PostRow) -> Result<(), E>,
) -> Result<(), E> {
    let mut sql = String::from(
        "SELECT p.id, p.source, COALESCE(s.name, p.source), p.info_code, p.url, p.canonical_url, p.guid, p.title,
                p.author, p.summary, p.content_html, p.content_text, p.origin, p.published_at, p.updated_at,
                p.fetched_at, (SELECT group_concat(ps.source, char(31)) FROM post_sources ps WHERE ps.post_id = p.id),
                p.article_state, p.article_attempts, p.article_next_at, p.article_via, p.published_utc,
                (SELECT json_group_array(json_object('url', e.url, 'type', e.type, 'length', e.length))
                   FROM (SELECT * FROM enclosures WHERE post_id = p.id ORDER BY position) e),
                p.story_id
         FROM posts p LEFT JOIN sources s ON s.slug = p.source",
    );
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if !filter.sources.is_empty() {
        let wanted = serde_json::to_string(&filter.sources).unwrap_or_else(|_| "[]".into());
        args.push(wanted.into());
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM post_sources ps WHERE ps.post_id = p.id AND ps.source IN (SELECT value FROM json_each(?{})))",
            args.len()
        ));
    }
    if let Some(id) = filter.id {
        args.push(id.into());
        clauses.push(format!("p.id = ?{}", args.len()));
    }
    if let Some(after) = filter.after_id {
        args.push(after.into());
        clauses.push(format!("p.id > ?{}", args.len()));
    }
    if let Some((after, upto)) = filter.changed {
        args.push(after.into());
        args.push(upto.into());
        clauses.push(format!(
            "p.id IN (SELECT post_id FROM post_changes WHERE seq > ?{} AND seq <= ?{})",
            args.len() - 1,
            args.len()
        ));
    }
    if filter.one_per_story {
        clauses.push(
            "(p.story_id IS NULL OR p.id = (SELECT o.id FROM posts o WHERE o.story_id = p.story_id
                ORDER BY COALESCE(o.published_utc, o.fetched_at), o.id LIMIT 1))"
                .to_string(),
        );
    }
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY p.id");
    let mut stmt = conn.prepare(&sql).map_err(StoreError::from)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(args))
        .map_err(StoreError::from)?;
    while let Some(r) = rows.next().map_err(StoreError::from)? {
        let get = |r: &rusqlite::Row<'_>| -> rusqlite::Result<PostRow> {
            let all: Option<String> = r.get(16)?;
            let mut sources: Vec<String> = all
                .unwrap_or_default()
                .split('\u{1f}')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            sources.sort();
            Ok(PostRow {
                id: r.get(0)?,
                source: r.get(1)?,
                source_name: r.get(2)?,
                info_code: r.get(3)?,
                url: r.get(4)?,
                canonical_url: r.get(5)?,
                guid: r.get(6)?,
                title: r.get(7)?,
                author: r.get(8)?,
                summary: r.get(9)?,
                content_html: r.get(10)?,
                content_text: r.get(11)?,
                origin: r.get(12)?,
                published_at: r.get(13)?,
                updated_at: r.get(14)?,
                fetched_at: r.get(15)?,
                article_state: r.get(17)?,
                article_attempts: r.get::<_, Option<i64>>(18)?.unwrap_or(0),
                article_next_at: r.get(19)?,
                article_via: r.get(20)?,
                published_utc: r.get(21)?,
                sources,
                enclosures: r
                    .get::<_, Option<String>>(22)?
                    .and_then(|j| serde_json::from_str(&j).ok())
                    .unwrap_or_default(),
                story_id: r.get(23)?,
            })
        };
        let post = get(r).map_err(StoreError::from)?;
        if let Some(since) = filter.since {
            let when = post
                .published_at
                .as_deref()
                .or(Some(post.fetched_at.as_str()))
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok());
            if when.is_some_and(|w| w < since) {
                continue;
            }
        }
        f(post)?;
    }
    Ok(())
}
