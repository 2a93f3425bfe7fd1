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
    // Under the writers' lock: daemons starting together would otherwise
    // update the same rows in their own orders.
    let mut tx = write_transaction(client)?;
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
        "SELECT etag, last_modified, failures, url, hold_until, last_unconditional_at, next_poll_at
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
            next_poll_at: r.get::<_, Option<DateTime<Utc>>>(6),
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
                (SELECT COUNT(*) FROM post_sources ps WHERE ps.source = s.slug),
                CASE WHEN s.lease_until > now() THEN s.lease_holder END,
                CASE WHEN s.lease_until > now() THEN s.lease_until END
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
            lease_holder: r.get(7),
            lease_until: text(r.get(8)),
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

/// Claims the poll of `slug` that is due now for `holder`, for `lease`:
/// only when the database has it due (within `early` of its clock: the
/// daemons' clocks differ a little) and no other daemon's claim holds. The
/// claim moves the source's next poll to `next` at once, so the other
/// daemons wait for that one. `false`: another daemon polls it.
pub(crate) fn claim_poll(
    client: &mut Client,
    slug: &str,
    holder: &str,
    lease: std::time::Duration,
    early: std::time::Duration,
    next: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let secs = |d: std::time::Duration| d.as_secs_f64();
    Ok(client.run(
        "UPDATE sources SET lease_holder = $2, lease_until = now() + make_interval(secs => $3),
            next_poll_at = $5
         WHERE slug = $1
           AND (next_poll_at IS NULL OR next_poll_at <= now() + make_interval(secs => $4))
           AND (lease_until IS NULL OR lease_until < now() OR lease_holder = $2)",
        &[&slug, &holder, &secs(lease), &secs(early), &next],
    )? == 1)
}

/// Whether this connection holds `duty`'s advisory lock, taking it when
/// it is free (see [`crate::store::Store::lead`]). Asked again and again:
/// a lock already held is not taken twice (session locks count).
pub(crate) fn lead(client: &mut Client, duty: &str) -> Result<bool, StoreError> {
    let key = duty_key(duty);
    Ok(client
        .row(
            "SELECT CASE WHEN EXISTS (
                    SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                       AND granted AND objsubid = 1 AND classid::bigint = $2 AND objid::bigint = $3)
                THEN true ELSE pg_try_advisory_lock($1) END",
            &[&key, &(key >> 32), &(key & 0xffff_ffff)],
        )?
        .get(0))
}

/// A duty's lock key: a 64-bit FNV-1a hash of its name, top bit clear
/// (pg_locks shows a key as two unsigned halves).
fn duty_key(duty: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "newscrawl duty ".bytes().chain(duty.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::try_from(h >> 1).unwrap_or(i64::MAX)
}

/// Ends every claim `holder` holds, its sources due now.
pub(crate) fn release_held(client: &mut Client, holder: &str) -> Result<u64, StoreError> {
    Ok(client.run(
        "UPDATE sources SET lease_holder = NULL, lease_until = NULL, next_poll_at = now()
         WHERE lease_holder = $1",
        &[&holder],
    )?)
}

/// Ends `holder`'s claim on `slug` (if it still has it) and sets when the
/// source is next due.
pub(crate) fn release_poll(
    client: &mut Client,
    slug: &str,
    holder: &str,
    next: DateTime<Utc>,
) -> Result<(), StoreError> {
    client.run(
        "UPDATE sources SET lease_holder = NULL, lease_until = NULL, next_poll_at = $3
         WHERE slug = $1 AND lease_holder = $2",
        &[&slug, &holder, &next],
    )?;
    Ok(())
}

/// Records the configuration `digest` `holder` synced the sources with;
/// returns the one recorded before when it differs (its daemon and time).
pub(crate) fn record_config(
    client: &mut Client,
    digest: &str,
    holder: &str,
) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
    let mut tx = client.transaction()?;
    let before = tx
        .row_opt(
            "SELECT digest, synced_by, synced_at FROM newscrawl_config WHERE id = 1 FOR UPDATE",
            &[],
        )?
        .map(|r| {
            (
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, DateTime<Utc>>(2),
            )
        });
    tx.run(
        "INSERT INTO newscrawl_config (id, digest, synced_by, synced_at) VALUES (1, $1, $2, now())
         ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, synced_by = excluded.synced_by,
            synced_at = excluded.synced_at",
        &[&digest, &holder],
    )?;
    tx.commit()?;
    Ok(before.and_then(|(d, by, at)| (d != digest).then_some((by, at))))
}

/// Reserves the next start of a request to `host`, `delay` after the one
/// reserved before it (or now); returns how long until it.
pub(crate) fn host_turn(
    client: &mut Client,
    host: &str,
    delay: std::time::Duration,
) -> Result<std::time::Duration, StoreError> {
    let secs = delay.as_secs_f64();
    let wait: f64 = client
        .row(
            "INSERT INTO host_turns AS t (host, next_at) VALUES ($1, now() + make_interval(secs => $2))
             ON CONFLICT (host) DO UPDATE
                SET next_at = GREATEST(t.next_at, now()) + make_interval(secs => $2)
             RETURNING GREATEST(EXTRACT(EPOCH FROM (t.next_at - now())) - $2, 0)::float8",
            &[&host, &secs],
        )?
        .get(0);
    Ok(std::time::Duration::from_secs_f64(
        wait.clamp(0.0, 86_400.0),
    ))
}

/// A host's key among the advisory locks of its places: FNV-1a of its
/// name, the same on every daemon.
fn host_key(host: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in host.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(h.to_ne_bytes())
}

/// Takes the first free one of `per_host` places of `host` (a session
/// advisory lock on this connection; `held` are this connection's own,
/// which it would take again: skipped, and in this order, by the `CASE`).
pub(crate) fn host_place(
    client: &mut Client,
    host: &str,
    per_host: usize,
    held: &[i32],
) -> Result<Option<i32>, StoreError> {
    let per_host = i32::try_from(per_host).unwrap_or(i32::MAX);
    Ok(client
        .row_opt(
            "SELECT s FROM generate_series(0, $2 - 1) AS s
             WHERE CASE WHEN s = ANY($3) THEN false ELSE pg_try_advisory_lock($1, s) END
             LIMIT 1",
            &[&host_key(host), &per_host, &held],
        )?
        .map(|r| r.get(0)))
}

/// Gives place `slot` of `host` back.
pub(crate) fn host_leave(client: &mut Client, host: &str, slot: i32) -> Result<(), StoreError> {
    client.row(
        "SELECT pg_advisory_unlock($1, $2)",
        &[&host_key(host), &slot],
    )?;
    Ok(())
}
