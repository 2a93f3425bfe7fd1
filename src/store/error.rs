//! What can go wrong in the store, by what the user can do about it. The
//! backend's own error is carried inside, for its message.

use std::path::PathBuf;

/// The database could not be opened, migrated or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot read the database {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the database directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "database {path} has schema version {found}, newer than this newscrawl knows ({known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "{path} is an SQLite database, but not newscrawl's (it has tables of its own and no newscrawl schema version); point `database` or --database elsewhere"
    )]
    Foreign { path: PathBuf },
    #[error("PostgreSQL database {target}: {message}")]
    Postgres { target: String, message: String },
    #[error("PostgreSQL: {}", pg_message(.0))]
    Pg(#[from] postgres::Error),
    #[error(
        "PostgreSQL database {target} has tables of its own and no newscrawl schema version; point `database` elsewhere"
    )]
    ForeignPostgres { target: String },
    #[error(
        "PostgreSQL database {target} has schema version {found}, newer than this newscrawl knows ({known})"
    )]
    TooNewPostgres {
        target: String,
        found: i64,
        known: i64,
    },
    #[error(
        "the PostgreSQL database has no newscrawl tables yet: run `newscrawl crawl --once` first"
    )]
    NoSchema,
    #[error("the database writer has stopped")]
    WriterGone,
    /// A migration left rows that break a declared reference (it was rolled back).
    #[error(
        "database {path}: migrating to schema version {version} would leave {rows} rows referring to nothing; nothing was changed"
    )]
    Dangling {
        path: PathBuf,
        version: i64,
        rows: i64,
    },
    /// The file system refused a write or an open: named, with the usual causes.
    #[error(
        "database {path}: {source} (disk full, file size limit, or a read-only file or directory?)"
    )]
    Disk {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// A PostgreSQL error with what the server said (the client's own text is
/// only "db error" for those).
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}
