//! Pruning: old posts out, their keys kept as tombstones.

use rusqlite::{Connection, TransactionBehavior, params};

use super::*;

/// Deletes posts published (else fetched) before `cutoff`, keeping their
/// infoCode and canonical URL as tombstones so they are never stored again,
/// and `fetches` rows older than `cutoff`.
pub(crate) fn prune(
    conn: &mut Connection,
    cutoff: DateTime<chrono::Utc>,
) -> Result<PruneSummary, StoreError> {
    let now = crate::date::now_utc();
    let cutoff_text = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (old, summary) = prunable(&tx, cutoff)?;
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
    tx.execute("DELETE FROM fetches WHERE started_at < ?1", [&cutoff_text])?;
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

/// What [`prune`] would delete before `cutoff`, deleting nothing.
pub(crate) fn prune_preview(
    conn: &Connection,
    cutoff: DateTime<chrono::Utc>,
) -> Result<PruneSummary, StoreError> {
    Ok(prunable(conn, cutoff)?.1)
}

/// The posts published (else fetched) before `cutoff`, and the counts.
fn prunable(
    conn: &Connection,
    cutoff: DateTime<chrono::Utc>,
) -> Result<(Vec<i64>, PruneSummary), StoreError> {
    let cutoff_text = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let old: Vec<i64> = {
        let mut stmt = conn.prepare("SELECT id, COALESCE(published_at, fetched_at) FROM posts")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut ids = Vec::new();
        for row in rows {
            let (id, when) = row?;
            if DateTime::parse_from_rfc3339(&when).is_ok_and(|w| w < cutoff) {
                ids.push(id);
            }
        }
        ids
    };
    let fetches: usize = conn.query_row(
        "SELECT COUNT(*) FROM fetches WHERE started_at < ?1",
        [&cutoff_text],
        |r| r.get::<_, i64>(0),
    )? as usize;
    let summary = PruneSummary {
        posts: old.len(),
        fetches,
    };
    Ok((old, summary))
}
