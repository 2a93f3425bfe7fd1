//! The database in the tools people point at SQLite, with nothing of
//! newscrawl's loaded: `sqlite-utils search` and Datasette's search (its
//! JSON API) find Chinese and English posts through `posts_fts`.
//! `.ci/run` installs both from PyPI into `.ci/venv` and names its `bin`
//! in `NEWSCRAWL_PY_TOOLS`; elsewhere the tests use them from `PATH`, or
//! skip (under CI they must be there).
//! SQLite on both passes of the suite: these are SQLite's tools.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::search::{T1, T4, T6, crawled_sqlite};

/// The tool's path, or `None` (and a note) when it is not installed.
fn tool(name: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os("NEWSCRAWL_PY_TOOLS")
        .into_iter()
        .chain(std::env::var_os("PATH"))
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let found = dirs.map(|d| d.join(name)).find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have {name} (.ci/run installs it into .ci/venv)"
        );
        eprintln!("{name} not installed: skipping");
    }
    found
}

fn titles(json: &str) -> Vec<String> {
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    rows.iter()
        .map(|r| r["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sqlite_utils_searches_posts() {
    let Some(bin) = tool("sqlite-utils") else {
        return;
    };
    let env = crawled_sqlite(&[]);
    let search = |q: &str| {
        let out = Command::new(&bin)
            .args(["search"])
            .arg(env.db_path())
            .args(["posts", q, "-c", "title", "--sql"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sql = String::from_utf8(out.stdout).unwrap();
        let out = Command::new(&bin)
            .args(["search"])
            .arg(env.db_path())
            .args(["posts", q, "-c", "id", "-c", "title", "-o", "id"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{sql}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (sql, titles(&String::from_utf8(out.stdout).unwrap()))
    };
    // It found the index by itself: its SQL names posts_fts.
    let (sql, found) = search("\"央 行\"");
    assert!(sql.contains("posts_fts"), "{sql}");
    assert_eq!(found, [T1]);
    // Characters apart without quotes: each must be there, anywhere.
    assert_eq!(search("央 行").1, [T1, T6]);
    assert_eq!(search("inflation").1, [T4]);
}

/// A Datasette serving the database on a Unix socket (no port to race for).
struct Datasette {
    child: Child,
    socket: PathBuf,
}

impl Drop for Datasette {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Datasette {
    fn get(&self, path_and_query: &str) -> Option<(u16, String)> {
        let mut s = std::os::unix::net::UnixStream::connect(&self.socket).ok()?;
        write!(
            s,
            "GET {path_and_query} HTTP/1.0\r\nHost: localhost\r\n\r\n"
        )
        .ok()?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).ok()?;
        let status = resp.get(9..12)?.parse().ok()?;
        let body = resp.split_once("\r\n\r\n")?.1.to_string();
        Some((status, body))
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn datasette_searches_posts() {
    let Some(bin) = tool("datasette") else { return };
    let env = crawled_sqlite(&[]);
    let socket = env.dir.path().join("datasette.sock");
    let child = Command::new(&bin)
        .arg("serve")
        .arg(env.db_path())
        .arg("--uds")
        .arg(&socket)
        .arg("-m")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/datasette.yaml"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ds = Datasette { child, socket };
    let deadline = Instant::now() + Duration::from_secs(60);
    while ds.get("/-/versions.json").is_none_or(|(s, _)| s != 200) {
        assert!(Instant::now() < deadline, "Datasette never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    let db = env
        .db_path()
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // It found the index by itself (a table without one ignores `_search`
    // and lists all 6 posts) and searches it, in its default mode and raw.
    let search = |q: &str, extra: &str| {
        let (status, body) = ds
            .get(&format!(
                "/{db}/posts.json?_search={}&_shape=array&_col=title&_sort=id{extra}",
                encode(q)
            ))
            .unwrap();
        assert_eq!(status, 200, "{body}");
        titles(&body)
    };
    assert_eq!(search("央 行", ""), [T1, T6]);
    assert_eq!(search("\"央 行\"", "&_searchmode=raw"), [T1]);
    assert_eq!(search("inflation", ""), [T4]);

    // The shipped metadata's "search" query: the README's SQL, Chinese of
    // any length, newest first.
    let canned = |q: &str| {
        let (status, body) = ds
            .get(&format!("/{db}/search.json?q={}&_shape=array", encode(q)))
            .unwrap();
        assert_eq!(status, 200, "{body}");
        titles(&body)
    };
    // posts.source is a reference to sources.slug: Datasette links it and
    // labels it with the source's name.
    let (status, body) = ds
        .get(&format!("/{db}/posts.json?_shape=array&_labels=on&_size=1"))
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let source = &rows[0]["source"];
    assert!(
        source["value"].is_string() && source["label"].is_string(),
        "{body}"
    );
    assert_eq!(canned("央行"), [T1]);
    assert_eq!(canned("存款准备金率"), [T1]);
    assert_eq!(canned("\"interest rate cut\""), [T4]);
}

/// `config/datasette.yaml`'s query is the README's, as it is.
#[test]
fn the_datasette_query_is_the_readmes() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/datasette.yaml"
    ))
    .unwrap();
    let yaml = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let sql = yaml[0]["databases"]["newscrawl"]["queries"]["search"]["sql"]
        .as_str()
        .expect("databases.newscrawl.queries.search.sql");
    assert_eq!(sql.trim(), crate::search::readme_sql().trim());
}
