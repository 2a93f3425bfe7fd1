//! `database`: where the posts are kept. A path is a SQLite file (the
//! default, relative to the configuration file); a `postgres://` or
//! `postgresql://` URL is a PostgreSQL database, with its password from the
//! URL, else `database_password_file`, else `$PGPASSWORD` (read when the
//! store connects), and the server's TLS certificate checked against the
//! system's roots or `database_ca_file`'s certificates. The password is never shown: [`Database`]'s `Display`
//! and `Debug` leave it out.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Secret;

/// Where the posts are kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Database {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(Postgres),
}

/// A PostgreSQL database: its URL and, when the configuration gives one,
/// its password.
#[derive(Clone, PartialEq)]
pub struct Postgres {
    url: Secret,
    shown: String,
    password: Option<Secret>,
    ca: Option<Vec<u8>>,
}

impl Postgres {
    /// The connection URL as configured (a password in it included).
    pub fn url(&self) -> &str {
        self.url.expose()
    }

    /// The password read from `database_password_file`, if one was.
    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(Secret::expose)
    }

    /// The URL without its password: what messages show.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `database_ca_file`'s certificates (PEM): the server's must be
    /// signed by one of them instead of by a root the system trusts.
    pub fn ca(&self) -> Option<&[u8]> {
        self.ca.as_deref()
    }
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres")
            .field("url", &self.shown)
            .field("password", &self.password)
            .field("ca", &self.ca.as_ref().map(Vec::len))
            .finish()
    }
}

/// Whether `value` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(value: &str) -> bool {
    let lower = value.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

impl Database {
    /// Reads a `database` value: a URL as it is, a path relative to `base`.
    /// `password` is `database_password_file`'s content.
    pub fn parse(value: &str, base: &Path, password: Option<Secret>) -> Result<Database, String> {
        if !is_postgres_url(value) {
            return Ok(Database::Sqlite(base.join(value)));
        }
        let url = url::Url::parse(value.trim())
            .map_err(|e| format!("not a PostgreSQL URL ({e}): postgres://user@host:5432/dbname"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("a PostgreSQL URL needs a host: postgres://user@host:5432/dbname".into());
        }
        let mut shown = url.clone();
        if shown.password().is_some() {
            // Cannot fail: the URL has a host, so it can have a password.
            let _ = shown.set_password(Some("***"));
        }
        Ok(Database::Postgres(Postgres {
            url: Secret::new(value.trim()),
            shown: shown.to_string(),
            password,
            ca: None,
        }))
    }

    /// The same database with `password` (`database_password_file`'s),
    /// unless its URL has one. Nothing for a SQLite file.
    pub fn with_password(self, password: Secret) -> Database {
        match self {
            Database::Postgres(p) => Database::Postgres(Postgres {
                password: Some(password),
                ..p
            }),
            other => other,
        }
    }

    /// The same database, its server's certificate checked against `ca`
    /// (PEM) only. Nothing for a SQLite file.
    pub fn with_ca(self, ca: Vec<u8>) -> Database {
        match self {
            Database::Postgres(p) => Database::Postgres(Postgres { ca: Some(ca), ..p }),
            other => other,
        }
    }

    /// The SQLite file, when this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Database::Sqlite(p) => Some(p),
            Database::Postgres(_) => None,
        }
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "{}", p.display()),
            Database::Postgres(p) => f.write_str(&p.shown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_postgres_and_its_password_is_never_shown() {
        let db = Database::parse(
            "postgres://crawler:s3cret@db.example:5432/news?sslmode=require",
            Path::new("/etc/newscrawl"),
            None,
        )
        .unwrap();
        let shown = db.to_string();
        assert_eq!(
            shown,
            "postgres://crawler:***@db.example:5432/news?sslmode=require"
        );
        assert!(!format!("{db:?}").contains("s3cret"));
        let Database::Postgres(pg) = &db else {
            panic!("a URL is PostgreSQL")
        };
        assert!(pg.url().contains("s3cret"), "the connection still has it");
    }

    #[test]
    fn a_path_is_sqlite_beside_the_configuration() {
        let db = Database::parse("data/n.db", Path::new("/etc/newscrawl"), None).unwrap();
        assert_eq!(
            db,
            Database::Sqlite(PathBuf::from("/etc/newscrawl/data/n.db"))
        );
        assert!(Database::parse("postgres:///nohost", Path::new("."), None).is_err());
        let with_file = Database::parse(
            "postgresql://u@h/d",
            Path::new("."),
            Some(Secret::new("from-file")),
        )
        .unwrap();
        assert!(!format!("{with_file:?}").contains("from-file"));
    }
}
