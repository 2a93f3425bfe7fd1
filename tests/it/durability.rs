//! Crashes, concurrent writers and disk trouble: the database stays whole,
//! no post is stored twice, and nothing already stored is lost.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::{Env, code, stderr, stdout};
use crate::server::{Response, Server};

const FEEDS: usize = 30;
const ITEMS: usize = 60;

/// The infoCode of item `i` of feed `f`: every fifth item of every feed is
/// the same article as in feed 0 (one article, many sources).
fn info_code(f: usize, i: usize) -> u64 {
    let f = if i.is_multiple_of(5) { 0 } else { f };
    202_201_100_000_000_000u64 + (f * 1000 + i) as u64
}

/// How many distinct posts the corpus holds.
fn distinct() -> usize {
    (0..FEEDS)
        .flat_map(|f| (0..ITEMS).map(move |i| info_code(f, i)))
        .collect::<BTreeSet<_>>()
        .len()
}

/// A corpus on `server`: 30 feeds of 60 items, every fifth item shared by
/// all feeds, and the items of feed 0 followed to article pages.
fn serve_corpus(server: &Server) {
    let base = server.base.clone();
    for f in 0..FEEDS {
        let mut s = String::from(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>",
        );
        for i in 0..ITEMS {
            let code = info_code(f, i);
            let (feed, item) = if i % 5 == 0 { (0, i) } else { (f, i) };
            s += &format!(
                "<item><title>第{feed}源第{item}条：财经新闻标题</title><link>{base}/html_News/NewsShare.html?infoCode=NW{code}</link><pubDate>Mon, 10 Jan 2022 16:{:02}:00 +0800</pubDate><description>摘要：第{feed}源第{item}条新闻的内容提要，国家统计局发布了最新数据。</description></item>",
                item % 60
            );
        }
        s += "</channel></rss>";
        server.route(&format!("/f{f}.xml"), move |_| {
            Response::ok("application/rss+xml", s.clone())
        });
    }
    server.route("/html_News/NewsShare.html", |req| {
        let code = req.target.rsplit('=').next().unwrap_or("").to_string();
        Response::ok(
            "text/html",
            format!("<html><body><h1>标题</h1><div id=\"ContentBody\"><p>　　正文 {code}：国家统计局今天发布了最新的经济数据。</p><p>第二段。</p></div></body></html>"),
        )
    });
}

fn corpus_config(env: &Env) -> String {
    let mut cfg = String::new();
    for f in 0..FEEDS {
        cfg += &env.source(&format!("源{f}"), &format!("f{f}"), &format!("/f{f}.xml"));
        if f == 0 {
            cfg += "follow = \"link\"\n[sources.article]\nbody = \"#ContentBody\"\n";
        }
    }
    cfg
}

/// Every post's identity and content, for comparing two databases (the
/// server's address written as BASE).
fn snapshot(env: &Env) -> BTreeSet<String> {
    let base = env.base().to_string();
    env.strings(
        "SELECT COALESCE(info_code, '') || '|' || canonical_url || '|' || COALESCE(title, '') || '|' ||
                COALESCE(content_text, '') || '|' || COALESCE(article_state, '') FROM posts",
    )
    .into_iter()
    .map(|row| row.replace(&base, "BASE"))
    .collect()
}

fn assert_same(got: &BTreeSet<String>, want: &BTreeSet<String>) {
    let missing: Vec<_> = want.difference(got).take(3).collect();
    let extra: Vec<_> = got.difference(want).take(3).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} missing, {} extra; e.g. missing {missing:?}, extra {extra:?}",
        want.difference(got).count(),
        got.difference(want).count()
    );
}

fn integrity(env: &Env) {
    env.assert_integrity();
}

/// A small deterministic generator for the kill moments.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn sigkill_at_twenty_moments_loses_and_duplicates_nothing() {
    // The reference: one uninterrupted run.
    let reference = Env::new();
    serve_corpus(&reference.server);
    reference.write_config(&corpus_config(&reference));
    let started = std::time::Instant::now();
    let out = reference.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let full_run = started.elapsed();
    let want = snapshot(&reference);
    assert_eq!(want.len(), distinct());
    assert_eq!(distinct(), FEEDS * ITEMS - (FEEDS - 1) * (ITEMS / 5));

    let env = Env::new();
    serve_corpus(&env.server);
    env.write_config(&corpus_config(&env));
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    // Runs get quicker as the database fills; a run that ends before its kill
    // moment shrinks the window, so that every kill lands mid-run.
    let mut window = full_run.as_millis().max(20) as u64;
    let (mut killed, mut attempts) = (0, 0);
    while killed < 20 && attempts < 100 {
        attempts += 1;
        let started = std::time::Instant::now();
        let mut child = env
            .command()
            .arg("--config")
            .arg(env.config_path())
            .args(["-q", "crawl", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The kill moment: anywhere from start-up to the end of a run.
        std::thread::sleep(Duration::from_millis(next(&mut seed) % window));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        } else {
            window = (started.elapsed().as_millis() as u64).max(5);
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if env.db_path().exists() {
            integrity(&env);
        }
    }
    assert_eq!(killed, 20, "20 kills mid-run ({attempts} runs)");
    // Then a run to the end (validators of half-saved polls were never stored,
    // so every feed is read again; articles left pending are fetched).
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    integrity(&env);
    assert_same(&snapshot(&env), &want);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE article_state = 'pending'"),
        0
    );
    eprintln!(
        "crash test: 20 runs, {killed} killed mid-way, {} posts, 0 duplicates",
        want.len()
    );
}

#[test]
fn two_writers_at_once() {
    let env = Env::new();
    serve_corpus(&env.server);
    env.write_config(&corpus_config(&env));
    let spawn = || {
        env.command()
            .arg("--config")
            .arg(env.config_path())
            .args(["-q", "crawl", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(!err.contains("locked"), "{err}");
    }
    integrity(&env);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), distinct() as i64);
    // Each article page fetched at most once per post, whoever claimed it.
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE article_state = 'done'"),
        ITEMS as i64
    );

    // The daemon and a crawl --once side by side.
    let mut daemon = env
        .command()
        .arg("--config")
        .arg(env.config_path())
        .args(["-q", "crawl"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = env.run(&["-q", "crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("locked"));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let status = daemon.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut err = String::new();
    use std::io::Read;
    let _ = daemon.stderr.take().unwrap().read_to_string(&mut err);
    assert!(!err.contains("locked"), "{err}");
    integrity(&env);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), distinct() as i64);
}

#[test]
fn a_full_disk_fails_clearly_and_keeps_the_database() {
    let env = Env::sqlite();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    let many = {
        let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for i in 0..5000 {
            s += &format!(
                "<item><title>条目 {i} 的标题，足够长以填满磁盘配额</title><link>http://many.example/{i}</link><description>{}</description></item>",
                "正文".repeat(50)
            );
        }
        s += "</channel></rss>";
        s
    };
    env.route("/many.xml", move |_| {
        Response::ok("application/rss+xml", many.clone())
    });
    env.write_config(
        &(env.source("好", "good", "/rss.xml") + &env.source("多", "many", "/many.xml")),
    );
    assert_eq!(code(&env.run(&["crawl", "--once", "--source", "good"])), 0);
    let before = snapshot(&env);
    let size = std::fs::metadata(env.db_path()).unwrap().len();

    // RLIMIT_FSIZE just above the database's size; SIGXFSZ ignored, so a write
    // past it fails with EFBIG ("database or disk is full") instead of killing us.
    let limit_kib = size / 1024 + 64;
    let script = format!("ulimit -f {limit_kib}; trap '' XFSZ; exec \"$0\" \"$@\"");
    let out = env.run_wrapped(
        &["bash", "-c", &script],
        &["crawl", "--once", "--source", "many"],
    );
    let err = stderr(&out);
    // Fatal, not "a source failed": the units count it a failure.
    assert_eq!(code(&out), 3, "{err}");
    assert!(
        err.contains("newscrawl.db") && err.contains("disk full"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    integrity(&env);
    assert_same(&snapshot(&env), &before);
    // With room again, the same run completes.
    assert_eq!(code(&env.run(&["crawl", "--once", "--source", "many"])), 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'many'"),
        5000
    );
}

/// Another program's SQLite file is refused in one line, untouched, as a
/// fatal error (exit 3), before anything is fetched.
#[test]
fn a_database_that_is_not_newscrawls_is_refused_in_one_line() {
    let env = Env::sqlite();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&env.source("好", "good", "/rss.xml"));
    let path = env.db_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('mine');")
        .unwrap();
    let out = env.run(&["crawl", "--once"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 3, "{err}");
    assert!(err.contains("not newscrawl's"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(env.server.requests_to("/rss.xml").is_empty());
    let tables = env.strings("SELECT name FROM sqlite_master ORDER BY name");
    assert_eq!(tables, ["notes"]);
}

/// Whether the tests run as root (who reads and writes whatever the modes say).
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

/// Runs the binary as nobody (with [`Env::run_wrapped`]).
const AS_NOBODY: &[&str] = &[
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

/// A database the user may not read: `sources list` and `export jsonl`
/// say so (not "no database", not a table of blanks) and exit 3.
#[test]
fn an_unreadable_database_is_named_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::sqlite();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&env.source("好", "good", "/rss.xml"));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    std::fs::set_permissions(env.db_path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads whatever the mode says: run as nobody there.
    let wrapper: &[&str] = if is_root() { AS_NOBODY } else { &[] };
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for args in [&["sources", "list"][..], &["export", "jsonl"][..]] {
        let out = env.run_wrapped(wrapper, args);
        let err = stderr(&out);
        assert_eq!(code(&out), 3, "{args:?}: {err}");
        assert!(
            err.contains("cannot read the database") && err.contains("newscrawl.db"),
            "{args:?}: {err}"
        );
        assert!(err.contains("ermission denied"), "{args:?}: {err}");
    }
}

#[test]
fn a_read_only_database_fails_clearly() {
    let env = Env::sqlite();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&env.source("好", "good", "/rss.xml"));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let before = snapshot(&env);
    // Root ignores file modes: run as nobody where we are root, else make the directory read-only.
    use std::os::unix::fs::PermissionsExt;
    let wrapper: &[&str] = if is_root() {
        AS_NOBODY
    } else {
        let data = env.db_path().parent().unwrap().to_path_buf();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
        std::fs::set_permissions(env.db_path(), std::fs::Permissions::from_mode(0o444)).unwrap();
        &[]
    };
    // The config must stay readable for nobody.
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = env.run_wrapped(wrapper, &["crawl", "--once"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 3, "{err}");
    assert!(
        err.contains("newscrawl.db") || err.contains("database"),
        "{err}"
    );
    assert!(
        err.contains("readonly")
            || err.contains("read-only")
            || err.contains("unable to open")
            || err.contains("ermission"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    integrity(&env);
    assert_same(&snapshot(&env), &before);
}

/// The supported way for other users to read the service's database (the
/// units' `User=newscrawl`, `StateDirectoryMode=2770`, `UMask=0007`): a
/// member of the service's group searches, exports and lists while the
/// service's files stay the service's, and the service writes on after
/// them; a user outside the group is told why not. Root only: it takes
/// three users (numeric ids, nothing added to /etc).
#[test]
fn members_of_the_service_group_read_the_database() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the tests as root: this one needs three users"
        );
        eprintln!("note: not root; the group-reader test is skipped");
        return;
    }
    let env = Env::sqlite();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&env.source("好", "good", "/rss.xml"));
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // The state directory as systemd makes it: the service's, setgid, 2770.
    let state = env.db_path().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&state).unwrap();
    std::os::unix::fs::chown(&state, Some(60001), Some(60000)).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o2770)).unwrap();
    const SERVICE: &[&str] = &[
        "setpriv",
        "--reuid=60001",
        "--regid=60000",
        "--clear-groups",
        "sh",
        "-c",
        "umask 0007; exec \"$0\" \"$@\"",
    ];
    const MEMBER: &[&str] = &[
        "setpriv",
        "--reuid=60002",
        "--regid=60002",
        "--groups=60000",
    ];
    const OUTSIDER: &[&str] = &[
        "setpriv",
        "--reuid=60003",
        "--regid=60003",
        "--clear-groups",
    ];

    let out = env.run_wrapped(SERVICE, &["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let meta = std::fs::metadata(env.db_path()).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (60001, 60000, 0o660)
    );

    let out = env.run_wrapped(MEMBER, &["posts", "search", "公安部"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("北京冬奥会"), "{}", stdout(&out));
    let out = env.run_wrapped(MEMBER, &["export", "jsonl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let posts = env.count("SELECT COUNT(*) FROM posts");
    assert_eq!(stdout(&out).lines().count() as i64, posts);
    let out = env.run_wrapped(MEMBER, &["sources", "list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("good"), "{}", stdout(&out));
    // Whatever the member's reads left beside the database is the group's.
    for entry in std::fs::read_dir(&state).unwrap() {
        let m = entry.unwrap().metadata().unwrap();
        assert_eq!(m.gid(), 60000);
    }

    // The service writes on.
    env.write_config(&format!(
        "{}{}",
        env.source("好", "good", "/rss.xml"),
        env.source("JSON", "json", "/feed.json")
    ));
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    let out = env.run_wrapped(SERVICE, &["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(env.count("SELECT COUNT(*) FROM posts") > posts);

    // Outside the group: the reason, exit 3.
    let out = env.run_wrapped(OUTSIDER, &["sources", "list"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ermission denied"),
        "{}",
        stderr(&out)
    );
}
