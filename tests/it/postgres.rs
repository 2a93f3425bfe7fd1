//! The PostgreSQL backend end to end: the real binary with `database` a
//! PostgreSQL URL on the throwaway cluster `.ci/test` starts
//! (`$NEWSCRAWL_TEST_POSTGRES`; without it these tests are skipped with a
//! note, and fail under CI). Each test has a database of its own, dropped
//! at its end.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{Env, code, stderr};
use crate::rows::Scratch;

/// `posts search` on PostgreSQL finds what it finds on SQLite: Chinese
/// words of two, three and four characters (and not the characters apart),
/// a Latin word, a phrase, `OR`, `--since`, newest first; and the SQL form
/// the README gives finds the same in plain SQL, in the real `psql` too.
#[test]
fn search_on_postgres_finds_chinese_words_latin_words_and_phrases() {
    let Some(db) = Scratch::new() else { return };
    let env = crate::search::crawled_into(Some(&db.url), &[]);
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
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
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
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
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

    // One post per story, with the other outlets: the export reads each
    // story's posts between two posts of its stream (on one connection:
    // a deadlock once, hence the time limit).
    let site = env.dir.path().join("site");
    let out = env.run_wrapped(
        &["timeout", "60"],
        &[
            "export",
            "jekyll",
            "--one-per-story",
            "--out",
            site.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let files: Vec<String> = std::fs::read_dir(&site)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let labelled: std::collections::HashSet<&str> =
        posts.iter().map(|p| p.story.as_str()).collect();
    assert_eq!(files.len(), labelled.len());
    assert!(files.iter().any(|f| f.contains("另见：")));
}

/// A daemon started in the background with `-v`, its log in the test's
/// directory; killed (SIGKILL) when dropped.
struct Daemon(std::process::Child);

impl Daemon {
    fn start(env: &Env, config: &std::path::Path, log: &str) -> Daemon {
        Daemon(
            env.command()
                .arg("--config")
                .arg(config)
                .args(["-v", "crawl"])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(env.dir.path().join(log)).unwrap())
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `cond` every 20 ms until it holds, or fails after `limit`.
fn wait(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server's request times for each source's feed, in order.
fn request_times(env: &Env, paths: &[String]) -> Vec<Vec<Instant>> {
    paths
        .iter()
        .map(|p| env.server.requests_to(p).iter().map(|r| r.at).collect())
        .collect()
}

/// Serves `n` feeds of one host (the fixture RSS with an ETag, answered
/// after `delay`) and writes a configuration on `db` with `crawler` (a
/// `[crawler]` table) and a source per feed, polled every second; returns
/// the feeds' paths.
fn every_second(env: &Env, db: &Scratch, crawler: &str, n: usize, delay: Duration) -> Vec<String> {
    let mut cfg = crawler.to_string();
    let mut paths = Vec::new();
    for i in 0..n {
        let path = format!("/feed/{i}.xml");
        let body = crate::harness::fixture("rss.xml", env.base());
        let etag = format!("\"v{i}\"");
        env.route(&path, move |req| {
            if req.headers.get("if-none-match") == Some(&etag) {
                return crate::server::Response::status(304).delay(delay);
            }
            crate::server::Response::ok("application/rss+xml", body.clone())
                .header("ETag", &etag)
                .delay(delay)
        });
        cfg += &env.source(&format!("源{i}"), &format!("s{i}"), &path);
        cfg += "schedule = \"* * * * * *\"\n";
        paths.push(path);
    }
    env.write_config_with(&db.url, &cfg);
    paths
}

/// Two daemons on one PostgreSQL database with the same configuration
/// share its sources: every second's poll of each source is made once (a
/// feed is requested no more often than its slots come), by one daemon or
/// the other. Once one is killed with SIGKILL, the other polls every source
/// on: a claim the dead one held runs out. A `crawl --once` beside them
/// works.
#[test]
fn two_daemons_share_the_sources_and_one_takes_over_from_a_dead_one() {
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
    let crawler = "[crawler]\ntimeout = \"2s\"\n";
    let paths = every_second(&env, &db, crawler, 4, Duration::ZERO);
    let config = env.config_path();
    let started = Instant::now();
    let mut first = Daemon::start(&env, &config, "first.log");
    let _second = Daemon::start(&env, &config, "second.log");
    let limit = Duration::from_secs(60);
    wait("sixteen polls of every source", limit, || {
        request_times(&env, &paths).iter().all(|t| t.len() >= 16)
    });
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let _ = first.0.kill();
    let _ = first.0.wait();
    let counts: Vec<usize> = request_times(&env, &paths).iter().map(Vec::len).collect();
    // The survivor polls every source on (a claim the dead one held runs
    // out within 10 s).
    wait("three more polls of every source", limit, || {
        request_times(&env, &paths)
            .iter()
            .zip(&counts)
            .all(|(t, n)| t.len() >= n + 3)
    });
    // No slot polled twice: a feed is requested at most once a second
    // while the daemons run (a poll made late only makes fewer), besides
    // the first poll at start and the `crawl --once`. Two daemons that
    // both polled every slot would have made twice as many.
    let ran = started.elapsed().as_secs() as usize;
    for (path, times) in paths.iter().zip(request_times(&env, &paths)) {
        assert!(
            times.len() <= ran + 4,
            "{path}: {} requests in {ran} s of one-second slots",
            times.len()
        );
    }
    let log = |name: &str| std::fs::read_to_string(env.dir.path().join(name)).unwrap_or_default();
    assert!(
        !log("second.log").contains("differs from the one the database was last synced with"),
        "{}",
        log("second.log")
    );
}

/// A daemon whose configuration differs from the one the database was
/// last synced with says so at WARN; `sources list` shows which daemon is
/// polling a source while it does (its claim), in text and JSON.
#[test]
fn a_differing_configuration_is_named_and_sources_list_shows_the_claims() {
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
    // A slow feed: its poll, and the claim on it, last three seconds.
    let body = crate::harness::fixture("rss.xml", env.base());
    env.route("/slow.xml", move |_| {
        crate::server::Response::ok("application/rss+xml", body.clone())
            .delay(Duration::from_secs(3))
    });
    let slow = env.source("慢", "slow", "/slow.xml") + "schedule = \"*/5 * * * * *\"\n";
    env.write_config_with(&db.url, &slow);
    let _first = Daemon::start(&env, &env.config_path(), "first.log");
    let json = || -> Vec<serde_json::Value> {
        let out = env.run(&["sources", "list", "--json"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let limit = Duration::from_secs(20);
    wait("the slow poll's claim", limit, || {
        json().first().is_some_and(|s| s["polled_by"].is_string())
    });
    let holder = json()[0]["polled_by"].as_str().unwrap().to_string();
    assert!(holder.ends_with(&format!(":{}", _first.0.id())), "{holder}");
    // The text too, while a claim lasts (3 s of every 5).
    wait("the claim in the text", limit, || {
        let out = env.run(&["sources", "list"]);
        String::from_utf8_lossy(&out.stdout).contains(&format!("now ({holder})"))
    });

    // Another daemon with one more source.
    let other = env.dir.path().join("other.toml");
    let extra = env.source("快", "fast", "/slow.xml");
    std::fs::write(&other, format!("database = \"{}\"\n{slow}{extra}", db.url)).unwrap();
    let _second = Daemon::start(&env, &other, "second.log");
    let log = || std::fs::read_to_string(env.dir.path().join("second.log")).unwrap_or_default();
    wait("the warning", limit, || {
        log().contains("differs from the one the database was last synced with")
    });
    assert!(log().contains("WARN"), "{}", log());
}

/// The password in the URL never reaches the logs, the error messages or
/// the database: a crawl at the most verbose level, and a connection
/// refused (the message names the URL with `***`).
#[test]
fn the_database_password_is_never_shown() {
    let Some(db) = Scratch::new() else { return };
    let secret = "hunter2-not-for-logs";
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_password(Some(secret)).unwrap();
    let env = Env::sqlite();
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

/// `newscrawl migrate` copies a crawled SQLite database (the seed with
/// its article, the labelled stories, the search set, a pruned post's
/// tombstone) into PostgreSQL: every table's count is the same, and every
/// post reads back the same (`export jsonl` gives the same lines from
/// both: ids, times in their publishers' offsets, sources, stories); run
/// again it copies nothing; stopped midway (the last posts missing) it
/// goes on from there; after it the ids go on past the SQLite ones.
#[test]
fn migrate_copies_sqlite_into_postgres_and_can_go_on() {
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
    let posts = crate::stories::labelled();
    let (outlets, _) = crate::stories::serve_outlets(&env, &posts);
    env.serve_fixture("/news.xml", "search/news.xml", "application/rss+xml");
    let cfg = crate::export::serve_seed(&env, "", &outlets)
        + &env.source("财经要闻", "news", "/news.xml");
    env.write_config(&cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A tombstone: the oldest post pruned.
    let out = env.run(&["prune", "--older-than", "3650d"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let stored = env.count("SELECT COUNT(*) FROM posts");
    assert!(stored > 50, "{stored}");
    let jsonl = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["export", "jsonl"]);
        let out = env.run(&all);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let from_sqlite = jsonl(&[]);

    let db_file = env.db_path();
    let migrate = || {
        let out = env.run(&[
            "migrate",
            "--from",
            db_file.to_str().unwrap(),
            "--to",
            &db.url,
        ]);
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(code(&out), 0, "{report}{}", stderr(&out));
        report
    };
    let report = migrate();
    assert!(report.contains("every table has as many rows"), "{report}");
    assert_eq!(db.count("SELECT COUNT(*) FROM posts"), stored);
    assert_eq!(
        jsonl(&["--database", &db.url]),
        from_sqlite,
        "every post reads back the same"
    );
    for table in ["posts", "stories", "post_changes", "fetches"] {
        let line = report.lines().find(|l| l.starts_with(table)).unwrap();
        assert!(line.split_whitespace().nth(1).unwrap() != "0", "{line}");
    }

    // Again: nothing to copy.
    let again = migrate();
    for line in again.lines().skip(1).filter(|l| !l.starts_with("every")) {
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{again}");
    }
    // Stopped midway: the last ten posts (and what hangs on them) missing.
    db.client()
        .batch_execute(
            "DELETE FROM posts WHERE id IN (SELECT id FROM posts ORDER BY id DESC LIMIT 10)",
        )
        .unwrap();
    assert_eq!(db.count("SELECT COUNT(*) FROM posts"), stored - 10);
    let resumed = migrate();
    let posts_line = resumed.lines().find(|l| l.starts_with("posts")).unwrap();
    assert_eq!(
        posts_line.split_whitespace().nth(1),
        Some("10"),
        "{resumed}"
    );
    assert_eq!(jsonl(&["--database", &db.url]), from_sqlite);

    // The ids go on past SQLite's: a new post after the move.
    let max_sqlite = env.count("SELECT MAX(id) FROM posts");
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config_with(&db.url, &(cfg + &env.source("新", "fresh", "/rss.xml")));
    let out = env.run(&["crawl", "--once", "--source", "fresh"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        db.count("SELECT MIN(id) FROM posts WHERE source = 'fresh'") > max_sqlite,
        "ids reused"
    );
    // The search index of the copied posts works.
    let out = env.run(&["posts", "search", "恒指"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("恒指"));
}

/// The daemon's connections cut by the server (a restart, a failover, an
/// administrator's `pg_terminate_backend`): it connects again and goes on
/// storing its polls.
#[test]
fn the_daemon_connects_again_when_the_server_drops_it() {
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config_with(
        &db.url,
        &(env.source("财经", "rss", "/rss.xml") + "schedule = \"* * * * * *\"\n"),
    );
    let _daemon = Daemon::start(&env, &env.config_path(), "daemon.log");
    let fetches = || db.try_count("SELECT COUNT(*) FROM fetches");
    let limit = Duration::from_secs(30);
    wait("three polls stored", limit, || fetches() >= 3);
    let cut: i64 = db
        .client()
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'newscrawl'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(cut >= 1, "no connection of the daemon's to cut");
    let before = fetches();
    wait("three more polls stored", limit, || fetches() >= before + 3);
    let log = std::fs::read_to_string(env.dir.path().join("daemon.log")).unwrap();
    assert!(log.contains("connected again"), "{log}");
}

/// TLS: with `sslmode=require`, the server's certificate (signed by a CA
/// made for the test cluster, which no system trusts) is refused unless
/// `database_ca_file` names that CA; with it, the crawl works over TLS
/// (`require` never falls back to plain text).
#[test]
fn tls_is_checked_against_the_configured_ca() {
    let Some(db) = Scratch::new() else { return };
    let Some(ca) = crate::rows::cluster_env(
        "NEWSCRAWL_TEST_POSTGRES_CA",
        "the test cluster's CA (openssl: its TLS)",
    ) else {
        return;
    };
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_query(Some("sslmode=require"));
    let env = Env::sqlite();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    let source = env.source("财经", "rss", "/rss.xml");

    env.write_config_with(url.as_str(), &source);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
    assert_eq!(db.try_count("SELECT COUNT(*) FROM posts"), 0);

    env.write_config_with(
        url.as_str(),
        &format!("database_ca_file = \"{ca}\"\n{source}"),
    );
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(db.count("SELECT COUNT(*) FROM posts") > 0);
}

/// `host_delay` holds across daemons: two daemons polling two feeds of one
/// host every second, with `host_delay = "3s"`, start their requests to it
/// 3 s apart between them (each reservation is in the database), so the
/// host sees at most one request per 3 s of the run; two daemons pacing
/// only themselves would send about twice as many.
#[test]
fn host_delay_holds_across_daemons() {
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
    let crawler = "[crawler]\nhost_delay = \"3s\"\n";
    let paths = every_second(&env, &db, crawler, 2, Duration::ZERO);
    let started = Instant::now();
    let n = two_daemons_until(&env, &paths, 6);
    let ran = started.elapsed().as_secs_f64();
    // Every start reserved 3 s after the one before, from the start on.
    assert!(
        n as f64 <= ran / 3.0 + 1.0,
        "{n} requests in {ran:.1} s with host_delay 3 s"
    );
}

/// Runs two daemons on `env`'s configuration until `paths` were requested
/// `n` times between them, stops both, and returns how many requests were
/// made by then.
fn two_daemons_until(env: &Env, paths: &[String], n: usize) -> usize {
    let first = Daemon::start(env, &env.config_path(), "first.log");
    let second = Daemon::start(env, &env.config_path(), "second.log");
    let total = || {
        request_times(env, paths)
            .iter()
            .map(Vec::len)
            .sum::<usize>()
    };
    wait(
        &format!("{n} requests to the host"),
        Duration::from_secs(60),
        || total() >= n,
    );
    drop(first);
    drop(second);
    total()
}

/// `per_host` holds across daemons: two daemons polling two slow feeds of
/// one host every second, with `per_host = 1`, never have more than one
/// request in flight to it between them (each request holds one of the
/// host's places in the database); each pacing only itself would have two.
#[test]
fn per_host_holds_across_daemons() {
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
    let crawler = "[crawler]\nper_host = 1\n";
    let paths = every_second(&env, &db, crawler, 2, Duration::from_millis(700));
    two_daemons_until(&env, &paths, 10);
    assert_eq!(env.server.max_in_flight(), 1);
}

/// A publisher's NUL characters (`\u0000` in a JSON feed: in the guid, the
/// author, the title, the text) cannot go into PostgreSQL's text: the
/// items are stored all the same, without them, and the poll succeeds.
#[test]
fn nul_characters_from_a_feed_do_not_fail_the_poll() {
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
    let feed = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "nul\u0000guid", "url": "BASE/a.html", "title": "标题\u0000一",
         "authors": [{"name": "记\u0000者"}], "content_text": "正文\u0000内容"},
        {"id": "plain", "url": "BASE/b.html", "title": "标题二", "content_text": "正文"}]}"#
        .replace("BASE", env.base());
    env.route("/nul.json", move |_| {
        crate::server::Response::ok("application/feed+json", feed.clone())
    });
    env.write_config_with(&db.url, &env.source("零", "nul", "/nul.json"));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(db.count("SELECT COUNT(*) FROM posts"), 2);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM posts WHERE title = '标题一' AND guid = 'nulguid'"),
        1
    );
}

/// A hook on two daemons sharing the database runs on one of them: each
/// new post is delivered once, not once per daemon; when that daemon is
/// killed (SIGKILL), the other takes the hook up and delivers what came
/// since, each post once.
#[test]
fn a_hook_runs_on_one_daemon_and_another_takes_it_over() {
    let Some(db) = Scratch::new() else { return };
    let env = Env::sqlite();
    let items = |n: usize| -> String {
        let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for i in 1..=n {
            s += &format!(
                "<item><title>第{i}条</title><link>http://news.example/{i}</link>\
                 <description>第{i}条的正文。</description></item>"
            );
        }
        s + "</channel></rss>"
    };
    let feed = std::sync::Arc::new(std::sync::Mutex::new(items(3)));
    let served = std::sync::Arc::clone(&feed);
    env.route("/h.xml", move |_| {
        crate::server::Response::ok("application/rss+xml", served.lock().unwrap().clone())
    });
    let out = env.dir.path().join("hook.out");
    env.write_config_with(
        &db.url,
        &format!(
            "{}schedule = \"* * * * * *\"\n\
             [[hooks]]\nname = \"cmd\"\ncommand = [\"sh\", \"-c\", \"cat >> \\\"$0\\\"\", \"{}\"]\n",
            env.source("h", "h", "/h.xml"),
            out.display()
        ),
    );
    let titles = || -> Vec<String> {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["title"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    };
    // Delivered up to the newest change: what any daemon would deliver
    // has been.
    let caught_up = || {
        db.try_count(
            "SELECT COUNT(*) FROM export_cursors c WHERE c.name = 'hook:cmd'
               AND c.seq >= (SELECT MAX(seq) FROM post_changes)",
        ) == 1
    };
    let config = env.config_path();
    let mut daemons = [
        Some(Daemon::start(&env, &config, "first.log")),
        Some(Daemon::start(&env, &config, "second.log")),
    ];
    let limit = Duration::from_secs(60);
    wait("three posts, delivered", limit, || {
        db.try_count("SELECT COUNT(*) FROM posts") == 3 && caught_up()
    });
    let mut got = titles();
    got.sort();
    assert_eq!(got, ["第1条", "第2条", "第3条"], "each post once");
    let log = |name: &str| std::fs::read_to_string(env.dir.path().join(name)).unwrap_or_default();
    let runs = |name: &str| log(name).contains("this daemon runs the hook \"cmd\"");
    let leader = match (runs("first.log"), runs("second.log")) {
        (true, false) => 0,
        (false, true) => 1,
        other => panic!("one daemon runs the hook, not {other:?}"),
    };
    let other = 1 - leader;
    let logs = ["first.log", "second.log"];
    wait("the other daemon standing by", limit, || {
        log(logs[other]).contains("another daemon runs the hook \"cmd\"; this one stands by")
    });
    // The daemon that runs the hook dies; three more posts come.
    if let Some(mut d) = daemons[leader].take() {
        let _ = d.0.kill();
        let _ = d.0.wait();
    }
    *feed.lock().unwrap() = items(6);
    wait("six posts, delivered by the other daemon", limit, || {
        db.try_count("SELECT COUNT(*) FROM posts") == 6 && caught_up()
    });
    let mut got = titles();
    got.sort();
    assert_eq!(
        got,
        ["第1条", "第2条", "第3条", "第4条", "第5条", "第6条"],
        "each post once"
    );
    assert!(runs(logs[other]), "{}", log(logs[other]));
}
