//! Numbered migrations, run forward on open by `PRAGMA user_version`, in
//! one transaction with foreign key enforcement off and the references
//! checked before the commit; tables a migration makes anew are moved over
//! by [`rebuild`].

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::store::StoreError;

pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_articles.sql"),
    include_str!("migrations/003_tombstones.sql"),
    include_str!("migrations/004_sources_state.sql"),
    include_str!("migrations/005_deferred_fts.sql"),
    include_str!("migrations/006_identity.sql"),
    include_str!("migrations/007_cjk_search.sql"),
    include_str!("migrations/008_utc_removed_kind.sql"),
    include_str!("migrations/009_post_changes.sql"),
    include_str!("migrations/010_source_references.sql"),
    include_str!("migrations/011_rules.sql"),
    include_str!("migrations/012_enclosures.sql"),
    include_str!("migrations/013_stories.sql"),
];

/// Tables a migration makes anew (version, tables): the migration creates
/// `<table>_new` with the new definition, and [`rebuild`] moves the rest.
const REBUILDS: &[(i64, &[&str])] = &[(10, &["posts", "post_sources", "fetches"])];

/// Replaces `table` by `<table>_new`, which a migration made with the new
/// definition: copies every column the two share (generated ones aside),
/// drops the old table, gives the new one its name, and creates the old
/// table's indexes and triggers again (SQLite drops them with it), whoever
/// made them. This is SQLite's own procedure for changes `ALTER TABLE`
/// cannot make; it runs with foreign key enforcement off ([`migrate`]).
fn rebuild(tx: &Connection, table: &str) -> Result<(), StoreError> {
    let new = format!("{table}_new");
    let kept: Vec<String> = tx
        .prepare(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ?1 AND type IN ('index', 'trigger')
             AND sql IS NOT NULL ORDER BY type = 'trigger', rowid",
        )?
        .query_map([table], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // `hidden` is 0 for stored columns, 2 or 3 for generated ones.
    let columns = |t: &str| -> Result<Vec<String>, StoreError> {
        Ok(tx
            .prepare("SELECT name FROM pragma_table_xinfo(?1) WHERE hidden = 0")?
            .query_map([t], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    };
    let in_new = columns(&new)?;
    let shared: Vec<String> = columns(table)?
        .into_iter()
        .filter(|c| in_new.contains(c))
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    let list = shared.join(", ");
    tx.execute_batch(&format!(
        "INSERT INTO \"{new}\" ({list}) SELECT {list} FROM \"{table}\";
         DROP TABLE \"{table}\";
         ALTER TABLE \"{new}\" RENAME TO \"{table}\";"
    ))?;
    for sql in kept {
        tx.execute_batch(&sql)?;
    }
    Ok(())
}

/// Migrates forward in one transaction. Foreign key enforcement is off
/// meanwhile (a migration that makes a table anew drops the old one, which
/// must not cascade; SQLite changes the setting only outside a
/// transaction), and the references are checked before the commit.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let migrated = migrate_unchecked(conn, path);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrated
}

fn migrate_unchecked(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        // A database newscrawl never migrated must be empty: anything else
        // is another program's, and migration 1 would fail on it with a
        // page of SQL (or worse, succeed beside its tables).
        let tables: i64 = tx.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )?;
        if tables > 0 {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
            });
        }
    }
    if version > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let to = i as i64 + 1;
        tx.execute_batch(sql)?;
        for (_, tables) in REBUILDS.iter().filter(|(v, _)| *v == to) {
            for table in *tables {
                rebuild(&tx, table)?;
            }
        }
        tx.pragma_update(None, "user_version", to)?;
    }
    if version < known {
        let rows: i64 = tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
        if rows > 0 {
            return Err(StoreError::Dangling {
                path: path.to_path_buf(),
                version: known,
                rows,
            });
        }
    }
    tx.commit()?;
    Ok(())
}
