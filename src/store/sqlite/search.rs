//! Keeping `posts_fts` in step with `posts`, and searching it (with the
//! posts not indexed yet read directly, so a search is never stale).

use rusqlite::{Connection, params};

use super::*;

/// Brings `posts_fts` closer to `posts`, in one transaction: removes what
/// the index holds for up to `limit` changed or deleted posts (`fts_stale`),
/// then indexes up to `limit` queued posts in the form of
/// [`crate::search::index_text`]. A new post whose article is still to be
/// fetched waits for it (up to 15 minutes: `fts_pending.ready_at`, see
/// migration 005) unless `all` is set.
pub(crate) fn index_pending(
    conn: &mut Connection,
    limit: usize,
    all: bool,
) -> Result<IndexRun, StoreError> {
    use crate::search::index_text;
    let now = crate::date::now_utc();
    // Nothing queued (the daemon's writer looks after every poll, and most
    // polls store nothing): answered by a read, without a write
    // transaction, its locks and its commit. Anything queued after this
    // read is seen at the next look.
    if !queued(conn, &now, all)? {
        return Ok(IndexRun {
            indexed: 0,
            more: false,
        });
    }
    let tx = super::begin_write(conn)?;
    let mut removed = 0;
    {
        // The ids first: rows are deleted below, and a table must not change
        // under a statement still reading it.
        let ids: Vec<i64> = tx
            .prepare_cached("SELECT post_id FROM fts_stale LIMIT ?1")?
            .query_map(params![limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut old =
            tx.prepare_cached("SELECT title, content_text FROM fts_stale WHERE post_id = ?1")?;
        let mut delete = tx.prepare_cached(
            "INSERT INTO posts_fts (posts_fts, rowid, title, content_text)
             VALUES ('delete', ?1, ?2, ?3)",
        )?;
        let mut done = tx.prepare_cached("DELETE FROM fts_stale WHERE post_id = ?1")?;
        for id in ids {
            let (title, text): (Option<String>, Option<String>) =
                old.query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            delete.execute(params![
                id,
                title.as_deref().map(index_text),
                text.as_deref().map(index_text)
            ])?;
            done.execute(params![id])?;
            removed += 1;
        }
    }
    tx.execute_batch("CREATE TEMP TABLE IF NOT EXISTS fts_batch (id INTEGER PRIMARY KEY)")?;
    let n = if all {
        tx.prepare_cached(
            "INSERT INTO temp.fts_batch (id) SELECT post_id FROM fts_pending LIMIT ?1",
        )?
        .execute(params![limit as i64])?
    } else {
        // By the index on `ready_at` ('' sorts before every time): the posts
        // waiting for their article are not scanned again each time.
        tx.prepare_cached(
            "INSERT INTO temp.fts_batch (id)
             SELECT post_id FROM fts_pending WHERE ready_at <= ?1 LIMIT ?2",
        )?
        .execute(params![now, limit as i64])?
    };
    if n > 0 {
        {
            let mut posts = tx.prepare_cached(
                "SELECT p.id, p.title, p.content_text
                 FROM temp.fts_batch b JOIN posts p ON p.id = b.id",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO posts_fts (rowid, title, content_text) VALUES (?1, ?2, ?3)",
            )?;
            let mut rows = posts.query([])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let title: Option<String> = row.get(1)?;
                let text: Option<String> = row.get(2)?;
                insert.execute(params![
                    id,
                    title.as_deref().map(index_text),
                    text.as_deref().map(index_text)
                ])?;
            }
        }
        tx.execute_batch(
            "DELETE FROM fts_pending WHERE post_id IN (SELECT id FROM temp.fts_batch);
             DELETE FROM temp.fts_batch;",
        )?;
    }
    tx.commit()?;
    Ok(IndexRun {
        indexed: n,
        more: n == limit || removed == limit,
    })
}

/// Whether [`index_pending`] has anything to do: a changed or deleted post
/// to take out of the index, or a post queued (and, unless `all`, ready at
/// `now`).
fn queued(conn: &Connection, now: &str, all: bool) -> Result<bool, StoreError> {
    let stale: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM fts_stale)")?
        .query_row([], |r| r.get(0))?;
    if stale {
        return Ok(true);
    }
    let pending: bool = if all {
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM fts_pending)")?
            .query_row([], |r| r.get(0))?
    } else {
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM fts_pending WHERE ready_at <= ?1)")?
            .query_row([now], |r| r.get(0))?
    };
    Ok(pending)
}

/// Indexes every queued post (`crawl --once` does before it exits) and
/// returns how many.
pub(crate) fn index_all(conn: &mut Connection) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let run = index_pending(conn, INDEX_BATCH, true)?;
        total += run.indexed;
        if !run.more {
            return Ok(total);
        }
    }
}

/// The posts that match `query` and `filter`, newest first (by
/// `published_utc`, else `fetched_at`, whatever the offsets), at most
/// `limit`. Never stale: an indexed post is found through `posts_fts`, a
/// post still queued for indexing (new, or changed since) by its text,
/// with each term as a case-insensitive substring. Reads only, so a reader
/// without write access gets the same answer.
pub(crate) fn search(
    conn: &Connection,
    query: &crate::search::Query,
    filter: &PostFilter,
    limit: usize,
) -> Result<Vec<SearchHit>, StoreError> {
    let mut args: Vec<String> = vec![query.fts()];
    let mut unindexed = Vec::new();
    for group in &query.groups {
        let mut any = Vec::new();
        for term in group {
            // SQLite's lower() folds ASCII only: so must the term.
            args.push(term.text.to_ascii_lowercase());
            let n = args.len();
            any.push(format!(
                "instr(lower(COALESCE(p.title, '')), ?{n}) > 0 OR instr(lower(COALESCE(p.content_text, '')), ?{n}) > 0"
            ));
        }
        unindexed.push(format!("({})", any.join(" OR ")));
    }
    // Both are UTC `YYYY-MM-DDTHH:MM:SSZ` text: they sort as the instants do.
    let when = "COALESCE(p.published_utc, p.fetched_at)";
    let mut sql = format!(
        "SELECT p.id, p.source, p.published_at, p.fetched_at, p.title, COALESCE(p.url, p.canonical_url) AS url,
                p.story_id, {when} AS w
         FROM posts p
         WHERE ((p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?1)
                 AND p.id NOT IN (SELECT post_id FROM fts_pending))
                OR (p.id IN (SELECT post_id FROM fts_pending) AND {}))",
        unindexed.join(" AND ")
    );
    if !filter.sources.is_empty() {
        args.push(serde_json::to_string(&filter.sources).unwrap_or_else(|_| "[]".into()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM post_sources ps WHERE ps.post_id = p.id
                          AND ps.source IN (SELECT value FROM json_each(?{})))",
            args.len()
        ));
    }
    if let Some(since) = filter.since {
        args.push(
            since
                .with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        );
        sql.push_str(&format!(" AND {when} >= ?{}", args.len()));
    }
    let sql = if filter.one_per_story {
        // The newest matching post of each story (SQLite gives the bare
        // columns of the row whose `w` is the max).
        format!(
            "SELECT id, source, published_at, fetched_at, title, url, story_id, max(w) AS w
             FROM ({sql}) GROUP BY COALESCE(story_id, -id) ORDER BY w DESC, id DESC LIMIT {limit}"
        )
    } else {
        sql + &format!(" ORDER BY w DESC, p.id DESC LIMIT {limit}")
    };
    let mut stmt = conn.prepare(&sql)?;
    let hits = stmt
        .query_map(rusqlite::params_from_iter(&args), |r| {
            Ok(SearchHit {
                id: r.get(0)?,
                source: r.get(1)?,
                published_at: r.get(2)?,
                fetched_at: r.get(3)?,
                title: r.get(4)?,
                url: r.get(5)?,
                story_id: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(hits)
}

/// Posts stored but not yet searchable through `posts_fts` alone.
pub(crate) fn unindexed(conn: &Connection) -> Result<usize, StoreError> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM fts_pending", [], |r| r.get(0))?;
    Ok(n as usize)
}
