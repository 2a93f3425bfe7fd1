//! Scratch databases for tests: a fresh database on the throwaway cluster
//! `.ci/test` starts (`$NEWSCRAWL_TEST_POSTGRES`, an admin URL), dropped
//! when the guard goes. Without that variable, tests that need PostgreSQL
//! are skipped with a note, except under CI (`CI` set), where they fail.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::Database;

/// A database made for one test, dropped with this guard.
pub(crate) struct ScratchDb {
    admin: String,
    name: String,
    /// The database to point newscrawl at.
    pub(crate) database: Database,
}

/// The admin URL, or `None` (a note printed) when there is no cluster.
pub(crate) fn admin_url() -> Option<String> {
    match std::env::var("NEWSCRAWL_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs PostgreSQL: run the tests through .ci/test, which starts a cluster \
                 (NEWSCRAWL_TEST_POSTGRES is unset)"
            );
            eprintln!("skipped on PostgreSQL: NEWSCRAWL_TEST_POSTGRES is unset (see .ci/test)");
            None
        }
    }
}

/// A fresh, empty database, or `None` when there is no cluster to make one.
pub(crate) fn scratch_database() -> Option<ScratchDb> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let admin = admin_url()?;
    let name = format!(
        "newscrawl_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to the test cluster {admin}: {e}"));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a scratch database");
    let mut url = url::Url::parse(&admin).expect("the admin URL parses");
    url.set_path(&name);
    let database =
        Database::parse(url.as_str(), std::path::Path::new("."), None).expect("a PostgreSQL URL");
    Some(ScratchDb {
        admin,
        name,
        database,
    })
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
