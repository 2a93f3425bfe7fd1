//! A temp directory with a configuration, a fixture server, and helpers to
//! run the real `newscrawl` binary and read the database it wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::Connection;

use crate::rows::{FromRow, TestDb};
use crate::server::{Response, Server};

pub struct Env {
    pub server: Server,
    /// Where newscrawl writes: `data/newscrawl.db` in `dir`, or a scratch
    /// PostgreSQL database on the PostgreSQL pass. Dropped before `dir`.
    pub store: TestDb,
    pub dir: tempfile::TempDir,
}

/// A fixture's bytes with `{{BASE}}` replaced by the server's base URL.
pub fn fixture(name: &str, base: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    replace(&bytes, b"{{BASE}}", base.as_bytes())
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

impl Env {
    /// A test's directory and server, with the database of this pass:
    /// SQLite, or PostgreSQL with `NEWSCRAWL_TEST_BACKEND=postgres`.
    pub fn new() -> Env {
        Env::with_store(TestDb::for_backend)
    }

    /// An [`Env`] on SQLite on either pass: for what is about the SQLite
    /// file itself (its pragmas, its search index, tools that open it).
    pub fn sqlite() -> Env {
        Env::with_store(TestDb::Sqlite)
    }

    /// An [`Env`] whose database `store` makes from the SQLite path.
    fn with_store(store: impl FnOnce(PathBuf) -> TestDb) -> Env {
        let dir = tempfile::tempdir().unwrap();
        Env {
            store: store(dir.path().join("data/newscrawl.db")),
            server: Server::start(),
            dir,
        }
    }

    /// Whether this test's newscrawl writes to PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        matches!(self.store, TestDb::Postgres(_))
    }

    /// What `database` says in the configuration [`Env::write_config`] writes.
    pub fn database(&self) -> String {
        self.store.database(self.dir.path())
    }

    pub fn base(&self) -> &str {
        &self.server.base
    }

    /// Serves fixture `name` at `path` with an ETag (so a second poll gets 304).
    pub fn serve_fixture(&self, path: &str, name: &str, content_type: &str) {
        let body = fixture(name, self.base());
        self.server
            .route_etag(path, content_type, body, &format!("\"{name}-v1\""));
    }

    pub fn route(
        &self,
        path: &str,
        handler: impl Fn(&crate::server::Request) -> Response + Send + Sync + 'static,
    ) {
        self.server.route(path, handler);
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("newscrawl.toml")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/newscrawl.db")
    }

    /// Writes the main configuration: `database = "data/newscrawl.db"` (or
    /// the scratch PostgreSQL database's URL), then `body`.
    pub fn write_config(&self, body: &str) {
        self.write_config_with(&self.database(), body);
    }

    /// Writes the main configuration with `database = "<database>"` (a
    /// path or a PostgreSQL URL), then `body`.
    pub fn write_config_with(&self, database: &str, body: &str) {
        let text = format!("database = \"{database}\"\n{body}");
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn write_file(&self, rel: &str, text: &str) {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A `[[sources]]` table for a source at `path` on the fixture server.
    /// Its article links are on 127.0.0.1 too, which the configuration must
    /// allow: `allow_private_networks = true`.
    pub fn source(&self, name: &str, slug: &str, path: &str) -> String {
        self.source_guarded(name, slug, path).replace(
            "[[sources]]\n",
            "[[sources]]\nallow_private_networks = true\n",
        )
    }

    /// [`Env::source`] with the private-network guard in force.
    pub fn source_guarded(&self, name: &str, slug: &str, path: &str) -> String {
        format!(
            "[[sources]]\nname = \"{name}\"\nslug = \"{slug}\"\nurl = \"{}{path}\"\n",
            self.base()
        )
    }

    pub fn command(&self) -> Command {
        self.wrapped(&[])
    }

    /// The binary started through `wrapper`: a program and its arguments
    /// that run what follows them (`setpriv …`, `bash -c '…; exec "$0" "$@"'`).
    pub fn wrapped(&self, wrapper: &[&str]) -> Command {
        let bin = env!("CARGO_BIN_EXE_newscrawl");
        let mut c = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        c.current_dir(self.dir.path())
            .env_remove("NEWSCRAWL_CONFIG")
            .env_remove("NEWSCRAWL_DATABASE")
            .env_remove("RUST_LOG")
            .env_remove("STATE_DIRECTORY");
        c
    }

    /// Runs `newscrawl --config <this config> ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_wrapped(&[], args)
    }

    /// Runs `newscrawl --config <this config> ARGS` through `wrapper` (see [`Env::wrapped`]).
    pub fn run_wrapped(&self, wrapper: &[&str], args: &[&str]) -> Output {
        self.wrapped(wrapper)
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .output()
            .unwrap()
    }

    /// The SQLite database, for tests about SQLite itself (made with [`Env::sqlite`]).
    pub fn db(&self) -> Connection {
        assert!(
            !self.on_postgres(),
            "a SQLite-only test: make its Env with Env::sqlite()"
        );
        Connection::open(self.db_path()).unwrap()
    }

    /// One number from `sql` (`COUNT(*)`, `SUM(…)`, one row's column).
    #[track_caller]
    pub fn count(&self, sql: &str) -> i64 {
        self.store
            .try_number(sql)
            .unwrap_or_else(|| panic!("no number from {sql}"))
    }

    /// The one row `sql` gives with `params` (`?1`…), as a value or a tuple.
    #[track_caller]
    pub fn row<T: FromRow>(&self, sql: &str, params: &[&str]) -> T {
        let mut rows = self
            .store
            .try_rows(sql, params)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1, "one row from {sql}");
        T::from_row(rows.remove(0))
    }

    /// Every row `sql` gives with `params`.
    #[track_caller]
    pub fn rows<T: FromRow>(&self, sql: &str, params: &[&str]) -> Vec<T> {
        self.store
            .try_rows(sql, params)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(T::from_row)
            .collect()
    }

    /// SQLite's `PRAGMA integrity_check` says `ok` (the file survived
    /// what the test did to the process). PostgreSQL's files are the
    /// server's: a client's death cannot tear them, nothing to check.
    #[track_caller]
    pub fn assert_integrity(&self) {
        if !self.on_postgres() {
            let ok: String = self.row("PRAGMA integrity_check", &[]);
            assert_eq!(ok, "ok");
        }
    }

    /// Posts not yet in the search index: SQLite's `fts_pending`; none on
    /// PostgreSQL, whose index is a column written with each row.
    pub fn unindexed(&self) -> i64 {
        if self.on_postgres() {
            0
        } else {
            self.count("SELECT COUNT(*) FROM fts_pending")
        }
    }

    /// Runs statements that return nothing (`UPDATE …`).
    pub fn execute(&self, sql: &str) {
        self.store.execute(sql);
    }

    /// Posts whose search index entries match `query` as `posts search`
    /// takes it (the index alone: the posts indexed so far).
    pub fn matches(&self, query: &str) -> i64 {
        if self.on_postgres() {
            return self.count(&format!(
                "SELECT COUNT(*) FROM posts WHERE search @@ phraseto_tsquery('simple', newscrawl_search_text('{}'))",
                query.replace('\'', "''")
            ));
        }
        let expr = newscrawl::search::match_query(query).expect("a query");
        self.row(
            "SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH ?1",
            &[&expr],
        )
    }

    /// [`Env::count`] for a database that may not be there yet (a daemon
    /// starting up): `None` until the query can be answered.
    pub fn try_count(&self, sql: &str) -> Option<i64> {
        self.store.try_number(sql)
    }

    /// The first column of every row of `sql`, text.
    #[track_caller]
    pub fn strings(&self, sql: &str) -> Vec<String> {
        self.rows::<(String,)>(sql, &[])
            .into_iter()
            .map(|(s,)| s)
            .collect()
    }
}

/// The seed system's post, byte for byte: what the Jekyll exporter must reproduce.
pub const SEED_POST: &[u8] = include_bytes!("../fixtures/seed_post.md");

impl Env {
    /// `export jekyll --out <out> --category-pages <cats>`; asserts it succeeded.
    pub fn export_jekyll(&self, out: &Path, cats: &Path) -> Output {
        let o = self.run(&[
            "export",
            "jekyll",
            "--out",
            out.to_str().unwrap(),
            "--category-pages",
            cats.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        o
    }
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
