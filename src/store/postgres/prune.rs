//! Pruning on PostgreSQL: old posts out, their keys kept as tombstones (as
//! the SQLite backend's `prune`; PostgreSQL's autovacuum gives the space
//! back).

use chrono::{DateTime, Utc};
use postgres::{Client, GenericClient};

use super::*;

pub(crate) fn prune(client: &mut Client, cutoffs: &Cutoffs) -> Result<PruneSummary, StoreError> {
    let now = now_second();
    let mut tx = write_transaction(client)?;
    let (old, old_fetches, summary) = prunable(&mut tx, cutoffs)?;
    for chunk in old.chunks(1000) {
        tx.run(
            "INSERT INTO tombstones (info_code, canonical_url, pruned_at)
             SELECT info_code, canonical_url, $2 FROM posts WHERE id = ANY($1)
             ON CONFLICT DO NOTHING",
            &[&chunk, &now],
        )?;
        tx.run("DELETE FROM posts WHERE id = ANY($1)", &[&chunk])?;
    }
    for chunk in old_fetches.chunks(1000) {
        tx.run("DELETE FROM fetches WHERE id = ANY($1)", &[&chunk])?;
    }
    if !old.is_empty() {
        tx.run("DELETE FROM stories WHERE post_count <= 0", &[])?;
    }
    tx.commit()?;
    Ok(summary)
}

pub(crate) fn prune_preview(
    client: &mut Client,
    cutoffs: &Cutoffs,
) -> Result<PruneSummary, StoreError> {
    Ok(prunable(client, cutoffs)?.2)
}

/// The posts published (else fetched) before their source's cutoff, the
/// fetch records started before theirs, and the counts.
fn prunable(
    client: &mut impl GenericClient,
    cutoffs: &Cutoffs,
) -> Result<(Vec<i64>, Vec<i64>, PruneSummary), StoreError> {
    let mut before = |sql: &'static str| -> Result<Vec<i64>, StoreError> {
        let mut ids = Vec::new();
        if cutoffs.is_empty() {
            return Ok(ids);
        }
        for r in client.rows(sql, &[])? {
            let (id, source, when): (i64, String, DateTime<Utc>) = (r.get(0), r.get(1), r.get(2));
            if cutoffs.of(&source).is_some_and(|cutoff| when < cutoff) {
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
