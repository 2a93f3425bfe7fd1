//! Pruning: old posts out, their keys kept as tombstones.

use rusqlite::{Connection, params};

use super::*;

/// Deletes posts published (else fetched) before their source's cutoff,
/// keeping their infoCode and canonical URL as tombstones so they are never
/// stored again, and `fetches` rows older than their source's cutoff.
pub(crate) fn prune(conn: &mut Connection, cutoffs: &Cutoffs) -> Result<PruneSummary, StoreError> {
    let now = crate::date::now_utc();
    let tx = super::begin_write(conn)?;
    let (old, old_fetches, summary) = prunable(&tx, cutoffs)?;
    {
        let mut tomb = tx.prepare(
            "INSERT OR IGNORE INTO tombstones (info_code, canonical_url, pruned_at)
             SELECT info_code, canonical_url, ?2 FROM posts WHERE id = ?1",
        )?;
        let mut del = tx.prepare("DELETE FROM posts WHERE id = ?1")?;
        for id in &old {
            tomb.execute(params![id, now])?;
            del.execute([id])?;
        }
    }
    {
        let mut del = tx.prepare("DELETE FROM fetches WHERE id = ?1")?;
        for id in &old_fetches {
            del.execute([id])?;
        }
    }
    // Stories whose posts are all gone go with them.
    if !old.is_empty() {
        tx.execute("DELETE FROM stories WHERE post_count <= 0", [])?;
    }
    tx.commit()?;
    // Their search index entries go too (and whatever else is queued is
    // indexed), so that the pages they held are freed below.
    index_all(conn)?;
    // Give the freed pages back (a no-op on databases made without
    // auto_vacuum). The pragma frees one page per step: run it to the end.
    {
        let mut vacuum = conn.prepare("PRAGMA incremental_vacuum")?;
        let mut rows = vacuum.query([])?;
        while rows.next()?.is_some() {}
    }
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(summary)
}

/// What [`prune`] would delete, deleting nothing.
pub(crate) fn prune_preview(
    conn: &Connection,
    cutoffs: &Cutoffs,
) -> Result<PruneSummary, StoreError> {
    Ok(prunable(conn, cutoffs)?.2)
}

/// The posts published (else fetched) before their source's cutoff, the
/// fetch records started before theirs, and the counts.
fn prunable(
    conn: &Connection,
    cutoffs: &Cutoffs,
) -> Result<(Vec<i64>, Vec<i64>, PruneSummary), StoreError> {
    if cutoffs.is_empty() {
        return Ok((
            Vec::new(),
            Vec::new(),
            PruneSummary {
                posts: 0,
                fetches: 0,
            },
        ));
    }
    let before = |sql: &str| -> Result<Vec<i64>, StoreError> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut ids = Vec::new();
        for row in rows {
            let (id, source, when) = row?;
            if let Some(cutoff) = cutoffs.of(&source)
                && DateTime::parse_from_rfc3339(&when).is_ok_and(|w| w < cutoff)
            {
                ids.push(id);
            }
        }
        Ok(ids)
    };
    let old = before("SELECT id, source, COALESCE(published_at, fetched_at) FROM posts")?;
    let fetches = before("SELECT id, source, started_at FROM fetches")?;
    let summary = PruneSummary {
        posts: old.len(),
        fetches: fetches.len(),
    };
    Ok((old, fetches, summary))
}
