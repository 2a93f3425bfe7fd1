//! Sources on PostgreSQL: their rows kept in step with the configuration,
//! their poll state and schedule, and their health (as
//! [`crate::store::sqlite`]'s, whose comments say why).

use chrono::{DateTime, Utc};
use postgres::Client;

use super::*;
use crate::fetch::Validators;

pub(crate) fn sync_sources(
    client: &mut Client,
    sources: &[(String, String, String)],
) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.run(
        "UPDATE sources SET position = NULL, removed_at = COALESCE(removed_at, now())",
        &[],
    )?;
    let stmt = tx.prepare(
        "INSERT INTO sources (slug, name, url, config_url, position) VALUES ($1, $2, $3, $3, $4)
         ON CONFLICT (slug) DO UPDATE SET
            name = excluded.name,
            etag = CASE WHEN sources.config_url IS NOT DISTINCT FROM excluded.config_url THEN sources.etag END,
            last_modified = CASE WHEN sources.config_url IS NOT DISTINCT FROM excluded.config_url
                THEN sources.last_modified END,
            url = CASE WHEN sources.config_url IS NOT DISTINCT FROM excluded.config_url
                THEN sources.url ELSE excluded.url END,
            config_url = excluded.config_url,
            position = excluded.position,
            removed_at = NULL",
    )?;
    for (i, (slug, name, url)) in sources.iter().enumerate() {
        tx.execute(&stmt, &[slug, name, url, &(i as i64)])?;
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn source_state(client: &mut Client, slug: &str) -> Result<SourceState, StoreError> {
    let row = client.row_opt(
        "SELECT etag, last_modified, failures, url, hold_until, last_unconditional_at
         FROM sources WHERE slug = $1",
        &[&slug],
    )?;
    Ok(match row {
        None => SourceState::default(),
        Some(r) => SourceState {
            validators: Validators {
                etag: r.get(0),
                last_modified: r.get(1),
            },
            failures: r.get(2),
            url: r.get(3),
            hold_until: r.get::<_, Option<DateTime<Utc>>>(4),
            last_unconditional_at: r.get::<_, Option<DateTime<Utc>>>(5),
        },
    })
}

pub(crate) fn set_next_poll(
    client: &mut Client,
    slug: &str,
    next_poll_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    client.run(
        "UPDATE sources SET next_poll_at = $2 WHERE slug = $1",
        &[&slug, &next_poll_at],
    )?;
    Ok(())
}

pub(crate) fn list_sources(client: &mut Client) -> Result<Vec<SourceRow>, StoreError> {
    let rows = client.rows(
        "SELECT s.slug, s.failures, s.last_error, s.last_success_at, s.last_polled_at, s.next_poll_at,
                (SELECT COUNT(*) FROM post_sources ps WHERE ps.source = s.slug)
         FROM sources s ORDER BY s.slug",
        &[],
    )?;
    let text = |t: Option<DateTime<Utc>>| t.as_ref().map(utc_text);
    Ok(rows
        .iter()
        .map(|r| SourceRow {
            slug: r.get(0),
            failures: r.get(1),
            last_error: r.get(2),
            last_success_at: text(r.get(3)),
            last_polled_at: text(r.get(4)),
            next_poll_at: text(r.get(5)),
            posts: r.get(6),
        })
        .collect())
}

/// Gives `slug` a row if it has none, as a source no longer configured.
pub(crate) fn ensure_source(
    tx: &mut postgres::Transaction<'_>,
    slug: &str,
) -> Result<(), StoreError> {
    tx.run(
        "INSERT INTO sources (slug, name, url, removed_at) VALUES ($1, $1, '', now())
         ON CONFLICT (slug) DO NOTHING",
        &[&slug],
    )?;
    Ok(())
}
