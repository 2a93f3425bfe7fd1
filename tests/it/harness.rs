//! A temp directory with a configuration, a fixture server, and helpers to
//! run the real `newscrawl` binary and read the database it wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::Connection;

use crate::server::{Response, Server};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub server: Server,
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
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            server: Server::start(),
        }
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

    /// Writes the main configuration: `database = "data/newscrawl.db"`, then `body`.
    pub fn write_config(&self, body: &str) {
        self.write_config_with("data/newscrawl.db", body);
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

    pub fn db(&self) -> Connection {
        Connection::open(self.db_path()).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// [`Env::count`] for a database that may not be there yet (a daemon
    /// starting up): `None` until the query can be answered.
    /// Posts whose search index entries match `query` as `posts search`
    /// takes it (the index alone: the posts indexed so far).
    pub fn matches(&self, query: &str) -> i64 {
        let expr = newscrawl::search::match_query(query).expect("a query");
        self.db()
            .query_row(
                "SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH ?1",
                [expr],
                |r| r.get(0),
            )
            .unwrap()
    }

    pub fn try_count(&self, sql: &str) -> Option<i64> {
        if !self.db_path().exists() {
            return None;
        }
        self.db().query_row(sql, [], |r| r.get(0)).ok()
    }

    pub fn strings(&self, sql: &str) -> Vec<String> {
        let db = self.db();
        let mut stmt = db.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
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
