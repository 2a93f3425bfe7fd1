//! Sources: their rows kept in step with the configuration, their poll
//! state and schedule, and their health for `sources list`.

use rusqlite::{Connection, OptionalExtension, params};

use super::*;

/// Makes sure every configured source has its row with the configured name,
/// URL and place in the configuration. A URL changed in the configuration
/// replaces the one in effect (which a permanent redirect may have moved)
/// and forgets its validators. Sources no longer configured lose their place.
pub(crate) fn sync_sources(
    conn: &mut Connection,
    sources: &[(String, String, String)],
) -> Result<(), StoreError> {
    let tx = super::begin_write(conn)?;
    // Every source is taken as removed (since when it first was), then the
    // configured ones are taken back.
    tx.execute(
        "UPDATE sources SET position = NULL, removed_at = COALESCE(removed_at, ?1)",
        [crate::date::now_utc()],
    )?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO sources (slug, name, url, config_url, position) VALUES (?1, ?2, ?3, ?3, ?4)
             ON CONFLICT(slug) DO UPDATE SET
                name = excluded.name,
                etag = CASE WHEN config_url IS excluded.config_url THEN etag END,
                last_modified = CASE WHEN config_url IS excluded.config_url THEN last_modified END,
                url = CASE WHEN config_url IS excluded.config_url THEN url ELSE excluded.url END,
                config_url = excluded.config_url,
                position = excluded.position,
                removed_at = NULL",
        )?;
        for (i, (slug, name, url)) in sources.iter().enumerate() {
            stmt.execute(params![slug, name, url, i as i64])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn source_state(conn: &Connection, slug: &str) -> Result<SourceState, StoreError> {
    let utc = |s: Option<String>| {
        s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&chrono::Utc))
    };
    // Kept prepared: read before every poll.
    let row = conn
        .prepare_cached(
            "SELECT etag, last_modified, failures, url, hold_until, last_unconditional_at, next_poll_at
             FROM sources WHERE slug = ?1",
        )?
        .query_row([slug], |r| {
                Ok(SourceState {
                    validators: Validators {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                    },
                    failures: r.get(2)?,
                    url: r.get(3)?,
                    hold_until: utc(r.get(4)?),
                    last_unconditional_at: utc(r.get(5)?),
                    next_poll_at: utc(r.get(6)?),
                })
        })
        .optional()?;
    Ok(row.unwrap_or_default())
}

/// Sets when a source is next polled (the daemon's schedule, backoff included).
pub(crate) fn set_next_poll(
    conn: &Connection,
    slug: &str,
    next_poll_at: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE sources SET next_poll_at = ?2 WHERE slug = ?1")?
        .execute(params![slug, next_poll_at])?;
    Ok(())
}

/// Every known source with its health and post count.
pub(crate) fn list_sources(conn: &Connection) -> Result<Vec<SourceRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.slug, s.failures, s.last_error, s.last_success_at, s.last_polled_at, s.next_poll_at,
                (SELECT COUNT(*) FROM post_sources ps WHERE ps.source = s.slug)
         FROM sources s ORDER BY s.slug",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SourceRow {
                slug: r.get(0)?,
                failures: r.get(1)?,
                last_error: r.get(2)?,
                last_success_at: r.get(3)?,
                last_polled_at: r.get(4)?,
                next_poll_at: r.get(5)?,
                posts: r.get(6)?,
                lease_holder: None,
                lease_until: None,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
