//! The PostgreSQL backend end to end: the real binary with `database` a
//! PostgreSQL URL on the throwaway cluster `.ci/test` starts
//! (`$NEWSCRAWL_TEST_POSTGRES`; without it these tests are skipped with a
//! note, and fail under CI). Each test has a database of its own, dropped
//! at its end.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{Env, code, stderr};

/// A database made for one test, dropped with this guard.
struct Scratch {
    admin: String,
    name: String,
    /// The database's URL.
    url: String,
}

fn scratch() -> Option<Scratch> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let admin = match std::env::var("NEWSCRAWL_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs PostgreSQL: run the tests through .ci/test (NEWSCRAWL_TEST_POSTGRES is unset)"
            );
            eprintln!("skipped: NEWSCRAWL_TEST_POSTGRES is unset (see .ci/test)");
            return None;
        }
    };
    let name = format!(
        "newscrawl_it_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    Some(Scratch {
        admin,
        name,
        url: url.to_string(),
    })
}

impl Scratch {
    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).unwrap().get(0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// `posts search` on PostgreSQL finds what it finds on SQLite: Chinese
/// words of two, three and four characters (and not the characters apart),
/// a Latin word, a phrase, `OR`, `--since`, newest first; and the SQL form
/// the README gives finds the same in plain SQL, in the real `psql` too.
#[test]
fn search_on_postgres_finds_chinese_words_latin_words_and_phrases() {
    let Some(db) = scratch() else { return };
    let env = crate::search::crawled_into(&db.url, &[]);
    assert_eq!(db.count("SELECT COUNT(*) FROM posts"), 6);
    crate::search::check_cases(&env);

    let sql = "SELECT title FROM posts
               WHERE search @@ phraseto_tsquery('simple', newscrawl_search_text($1))
               ORDER BY COALESCE(published_at, fetched_at) DESC";
    let mut client = db.client();
    let mut titles = |q: &str| -> Vec<String> {
        client
            .query(sql, &[&q])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    use crate::search::{T1, T2, T3, T4, T6};
    assert_eq!(titles("央行"), [T1]);
    assert_eq!(titles("降息"), Vec::<String>::new());
    assert_eq!(titles("准备金"), [T1]);
    assert_eq!(titles("恒生科技"), [T2]);
    assert_eq!(titles("货币政策"), [T6]);
    assert_eq!(titles("茅台"), [T3]);
    assert_eq!(titles("inflation"), [T4]);
    assert_eq!(titles("interest rate cut"), [T4]);

    // The same in the real psql, as a reader would type it.
    if let Ok(out) = std::process::Command::new("psql")
        .args([
            db.url.as_str(),
            "-Atc",
            "SELECT title FROM posts WHERE search @@ phraseto_tsquery('simple', newscrawl_search_text('恒指'))",
        ])
        .output()
    {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), T2);
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI needs psql");
        eprintln!("psql not found: the SQL form checked through the client library only");
    }
}

/// The seed's list and share page crawled into PostgreSQL and exported:
/// the seed post byte for byte, as from SQLite.
#[test]
fn the_seed_post_byte_for_byte_from_postgres() {
    let Some(db) = scratch() else { return };
    let env = Env::new();
    let cfg = crate::export::serve_seed(&env, "", "");
    env.write_config_with(&db.url, &cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let site = env.dir.path().join("site/_posts");
    let cats = env.dir.path().join("site/category");
    env.export_jekyll(&site, &cats);
    let written = std::fs::read(site.join(crate::export::SEED_FILE)).unwrap();
    assert!(
        written == crate::harness::SEED_POST,
        "differs from the seed:\n{}",
        String::from_utf8_lossy(&written)
    );
    // A second crawl stores nothing twice (304s, repeats).
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(db.count("SELECT COUNT(*) FROM posts"), 1);
}

/// The labelled stories set, crawled into PostgreSQL, is grouped as on
/// SQLite (precision ≥ 99.5%, recall ≥ 95%), and the story rows agree with
/// their posts; a second run of each outlet alone changes nothing.
#[test]
fn the_labelled_set_is_grouped_on_postgres() {
    let Some(db) = scratch() else { return };
    let env = Env::new();
    let posts = crate::stories::labelled();
    let (cfg, slugs) = crate::stories::serve_outlets(&env, &posts);
    env.write_config_with(&db.url, &cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let stories = || -> std::collections::HashMap<u32, i64> {
        db.client()
            .query("SELECT url, story_id FROM posts", &[])
            .unwrap()
            .iter()
            .map(|r| {
                let url: String = r.get(0);
                let id = url.rsplit('/').next().unwrap().parse().unwrap();
                (id, r.get::<_, i64>(1))
            })
            .collect()
    };
    let first = stories();
    assert_eq!(first.len(), posts.len());
    let (precision, recall, wrong) = crate::stories::judge(&posts, &first);
    assert!(precision >= 0.995, "precision {precision:.3}: {wrong:?}");
    assert!(recall >= 0.95, "recall {recall:.3}: {wrong:?}");
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM stories s WHERE post_count <>
                (SELECT COUNT(*) FROM posts p WHERE p.story_id = s.id)"
        ),
        0
    );
    for slug in &slugs {
        let out = env.run(&["crawl", "--once", "--source", slug]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    assert_eq!(stories(), first);
}

/// A second daemon on the same PostgreSQL database is refused (exit 3) and
/// leaves the first running; `crawl --once` beside it works; once the
/// first is killed with SIGKILL, its claim goes with its connection and a
/// daemon starts again.
#[test]
fn a_second_daemon_on_the_same_postgres_database_is_refused() {
    let Some(db) = scratch() else { return };
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config_with(&db.url, &env.source("财经", "rss", "/rss.xml"));
    let start = |log: &str| {
        env.command()
            .arg("--config")
            .arg(env.config_path())
            .args(["-v", "crawl"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(env.dir.path().join(log)).unwrap())
            .spawn()
            .unwrap()
    };
    let limit = Duration::from_secs(20);
    let wait = |what: &str, mut cond: Box<dyn FnMut() -> bool + '_>| {
        let deadline = Instant::now() + limit;
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut first = start("first.log");
    // Polled once: its claim is held by then.
    wait(
        "the first daemon's poll",
        Box::new(|| {
            db.client()
                .query_one("SELECT COUNT(*) FROM fetches", &[])
                .map(|r| r.get::<_, i64>(0) > 0)
                .unwrap_or(false)
        }),
    );
    let mut second = env
        .command()
        .arg("--config")
        .arg(env.config_path())
        .arg("crawl")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut status = None;
    wait(
        "the second daemon to exit",
        Box::new(|| {
            status = second.try_wait().unwrap();
            status.is_some()
        }),
    );
    let mut err = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(3), "{err}");
    assert!(err.contains("another newscrawl daemon"), "{err}");
    assert!(first.try_wait().unwrap().is_none(), "the first one stopped");
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);

    first.kill().unwrap();
    first.wait().unwrap();
    let mut third = start("third.log");
    let fetches = db.count("SELECT COUNT(*) FROM fetches");
    wait(
        "the third daemon's poll",
        Box::new(|| db.count("SELECT COUNT(*) FROM fetches") > fetches),
    );
    assert!(third.try_wait().unwrap().is_none(), "the third one stopped");
    let _ = third.kill();
    let _ = third.wait();
}

/// The password in the URL never reaches the logs, the error messages or
/// the database: a crawl at the most verbose level, and a connection
/// refused (the message names the URL with `***`).
#[test]
fn the_database_password_is_never_shown() {
    let Some(db) = scratch() else { return };
    let secret = "hunter2-not-for-logs";
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_password(Some(secret)).unwrap();
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config_with(url.as_str(), &env.source("财经", "rss", "/rss.xml"));
    let out = env.run(&["-vv", "crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains(secret), "{}", stderr(&out));
    let out = env.run(&["-vv", "--log-format", "json", "sources", "list"]);
    assert!(!stderr(&out).contains(secret));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));

    // Nobody listens on port 1: the error names the database without it.
    let mut refused = url.clone();
    refused.set_port(Some(1)).unwrap();
    env.write_config_with(refused.as_str(), &env.source("财经", "rss", "/rss.xml"));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(!stderr(&out).contains(secret), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(":***@127.0.0.1:1/"),
        "{}",
        stderr(&out)
    );
}
