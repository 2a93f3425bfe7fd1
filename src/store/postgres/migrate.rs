//! The PostgreSQL schema and its versions: `newscrawl_schema.version`
//! says which migrations ran; each runs in one transaction, under an
//! advisory lock, so that daemons starting together migrate once.

use postgres::Client;

use super::StoreError;

/// The migrations, in order: version N is the first N.
const MIGRATIONS: &[&str] = &[include_str!("migrations/001_initial.sql")];

/// The advisory lock key the migrations hold (`'newscrawl'` in ASCII).
const MIGRATION_LOCK: i64 = 0x6e65_7773_6372_6177;

/// The schema version the database has (0 before the first migration).
fn version(tx: &mut postgres::Transaction<'_>) -> Result<i64, StoreError> {
    let has_table: bool = tx
        .query_one("SELECT to_regclass('newscrawl_schema') IS NOT NULL", &[])?
        .get(0);
    if !has_table {
        return Ok(0);
    }
    Ok(tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM newscrawl_schema",
            &[],
        )?
        .get(0))
}

/// Brings the database up to this newscrawl's schema.
pub(super) fn migrate(client: &mut Client, shown: &str) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let found = version(&mut tx)?;
    if found == 0 {
        let foreign: bool = tx
            .query_one("SELECT to_regclass('posts') IS NOT NULL", &[])?
            .get(0);
        if foreign {
            return Err(StoreError::ForeignPostgres {
                target: shown.to_string(),
            });
        }
        tx.batch_execute("CREATE TABLE newscrawl_schema (version integer NOT NULL)")?;
    }
    if found > known {
        return Err(StoreError::TooNewPostgres {
            target: shown.to_string(),
            found,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO newscrawl_schema (version) VALUES ($1)",
            &[&(i as i32 + 1)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// A reader's check: the database has newscrawl's schema, and not a newer one.
pub(super) fn check_version(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    let found = version(&mut tx)?;
    tx.commit()?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::TooNewPostgres {
            target: String::new(),
            found,
            known,
        });
    }
    if found == 0 {
        return Err(StoreError::NoSchema);
    }
    Ok(())
}
