//! The command line's contract: where the configuration comes from, exit
//! status 2 for bad configuration with nothing fetched or written, and the
//! `sources` commands.

use crate::harness::{Env, code, stderr, stdout};

fn assert_rejected(env: &Env, config: &str, wants: &[&str]) {
    env.write_config(config);
    let out = env.run(&["crawl", "--once"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    for w in wants {
        assert!(err.contains(w), "missing {w:?} in: {err}");
    }
    assert!(!env.db_path().exists(), "nothing may be written");
    assert!(env.server.requests().is_empty(), "nothing may be fetched");
}

#[test]
fn bad_configuration_exits_2_naming_file_line_and_key() {
    let env = Env::new();
    let good = env.source_guarded("好", "good", "/rss.xml");
    assert_rejected(
        &env,
        &format!("{good}colour = \"red\"\n"),
        &["newscrawl.toml:6", "colour"],
    );
    assert_rejected(
        &env,
        &format!("{good}schedule = \"*/5 * *\"\n"),
        &["newscrawl.toml:6", "sources[0].schedule"],
    );
    assert_rejected(
        &env,
        &format!("{good}id_pattern = \"([\"\n"),
        &["newscrawl.toml:6", "sources[0].id_pattern"],
    );
    assert_rejected(
        &env,
        "[[sources]]\nname = \"x\"\nurl = \"htp:/nowhere\"\n",
        &["newscrawl.toml:4", "sources[0].url"],
    );
    assert_rejected(
        &env,
        &format!("{good}{}", env.source_guarded("好", "good", "/other.xml")),
        &[
            "newscrawl.toml:6",
            "duplicate slug \"good\"",
            "newscrawl.toml:2",
        ],
    );
    assert_rejected(
        &env,
        "[crawler]\ntimezone = \"Beijing\"\n",
        &["newscrawl.toml:3", "crawler.timezone"],
    );
    assert_rejected(&env, "this is not toml\n", &["newscrawl.toml:2"]);

    // A bad drop-in is as fatal as a bad main file.
    env.write_file(
        "sources.d/10-bad.toml",
        "[[sources]]\nname = \"x\"\nurl = \"http://127.0.0.1/\"\nfollow = \"maybe\"\n",
    );
    assert_rejected(&env, &good, &["10-bad.toml:4", "sources[0].follow"]);
}

#[test]
fn unknown_source_and_bad_usage_exit_2() {
    let env = Env::new();
    env.write_config(&env.source_guarded("好", "good", "/rss.xml"));
    let out = env.run(&["crawl", "--once", "--source", "nope"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("\"nope\""), "{}", stderr(&out));
    assert_eq!(code(&env.run(&["crawl", "--sometimes"])), 2);
    assert_eq!(code(&env.run(&["frobnicate"])), 2);
    assert!(!env.db_path().exists());
}

/// An age without its unit is refused before anything is deleted: `90`
/// once meant 90 seconds, and the tombstones kept every post from coming
/// back. `m` (minutes or months?) likewise; weeks, months, years work.
#[test]
fn prune_refuses_an_age_without_a_unit() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&env.source("好", "good", "/rss.xml"));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let posts = env.count("SELECT COUNT(*) FROM posts");
    assert!(posts > 0);
    for bad in ["90", "6m", "90 days", "d", "1.5d"] {
        let out = env.run(&["prune", "--older-than", bad]);
        assert_eq!(code(&out), 2, "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("a number and a unit"),
            "{}",
            stderr(&out)
        );
    }
    for good in ["1000y", "12mo", "520w", "3650d"] {
        let out = env.run(&["prune", "--older-than", good, "--dry-run"]);
        assert_eq!(code(&out), 0, "{good}: {}", stderr(&out));
    }
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), posts);
    assert_eq!(env.count("SELECT COUNT(*) FROM tombstones"), 0);
    // The same rule in the configuration.
    let cfg = format!(
        "[retention]\nolder_than = \"90\"\n{}",
        env.source("好", "good", "/rss.xml")
    );
    env.write_config(&cfg);
    let out = env.run(&["sources", "list"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("retention.older_than"),
        "{}",
        stderr(&out)
    );
}

/// A source that leaves the configuration is marked (`removed_at`), its
/// posts kept; configured again, it is unmarked.
#[test]
fn removed_sources_are_marked_not_forgotten() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/atom.xml", "atom.xml", "application/atom+xml");
    let both = env.source("财经", "rss", "/rss.xml") + &env.source("东方", "atom", "/atom.xml");
    env.write_config(&both);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM sources WHERE removed_at IS NULL"),
        2
    );
    let posts = env.count("SELECT COUNT(*) FROM posts");

    env.write_config(&env.source("财经", "rss", "/rss.xml"));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.strings(if env.on_postgres() {
            "SELECT slug FROM sources WHERE removed_at IS NOT NULL"
        } else {
            "SELECT slug FROM sources WHERE removed_at LIKE '____-__-__T__:__:__Z'"
        }),
        ["atom"]
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), posts);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE kind = 'feed'"),
        3
    );

    env.write_config(&both);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM sources WHERE removed_at IS NOT NULL"),
        0
    );
}

#[test]
fn configuration_lookup_env_default_and_database_override() {
    let env = Env::new();
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    // The default lookup: config/newscrawl.toml under the working directory.
    env.write_file(
        "config/newscrawl.toml",
        &format!(
            "database = \"../db/default.db\"\n{}",
            env.source_guarded("J", "j", "/feed.json")
        ),
    );
    let out = env.command().args(["crawl", "--once"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        env.dir.path().join("db/default.db").exists(),
        "relative to the main file's directory"
    );

    // $NEWSCRAWL_CONFIG wins over the default; $NEWSCRAWL_DATABASE over the file.
    env.write_file(
        "elsewhere/n.toml",
        &format!(
            "database = \"x.db\"\n{}",
            env.source_guarded("J", "j", "/feed.json")
        ),
    );
    let out = env
        .command()
        .env("NEWSCRAWL_CONFIG", env.dir.path().join("elsewhere/n.toml"))
        .env("NEWSCRAWL_DATABASE", env.dir.path().join("env.db"))
        .args(["crawl", "--once"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(env.dir.path().join("env.db").exists());
    assert!(!env.dir.path().join("elsewhere/x.db").exists());

    // --database wins over everything.
    let out = env
        .command()
        .args(["--database", "flag.db", "crawl", "--once"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(env.dir.path().join("flag.db").exists());

    // No `database` in the file: under systemd (StateDirectory= sets
    // $STATE_DIRECTORY) newscrawl.db there, said at start; else beside the file.
    env.write_file(
        "etc/newscrawl.toml",
        &env.source_guarded("J", "j", "/feed.json"),
    );
    let state = env.dir.path().join("var/lib/newscrawl");
    std::fs::create_dir_all(&state).unwrap();
    let out = env
        .command()
        .env("STATE_DIRECTORY", &state)
        .args(["--config", "etc/newscrawl.toml", "crawl", "--once"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(state.join("newscrawl.db").exists());
    assert!(!env.dir.path().join("etc/newscrawl.db").exists());
    let said = format!(
        "database opened database={}",
        state.join("newscrawl.db").display()
    );
    assert!(stderr(&out).contains(&said), "{}", stderr(&out));
    let out = env
        .command()
        .env_remove("STATE_DIRECTORY")
        .args(["--config", "etc/newscrawl.toml", "crawl", "--once"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(env.dir.path().join("etc/newscrawl.db").exists());

    // No configuration anywhere: exit 2 with the places tried.
    let empty = tempfile::tempdir().unwrap();
    let out = env
        .command()
        .current_dir(empty.path())
        .args(["crawl", "--once"])
        .output()
        .unwrap();
    if !std::path::Path::new("/etc/newscrawl/newscrawl.toml").exists() {
        assert_eq!(code(&out), 2);
        assert!(
            stderr(&out).contains("config/newscrawl.toml"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn sources_d_dropins_are_crawled_in_name_order() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/atom.xml", "atom.xml", "application/atom+xml");
    env.write_config("[crawler]\nconcurrency = 4\n");
    env.write_file(
        "sources.d/20-atom.toml",
        &env.source_guarded("东方财富", "atom", "/atom.xml"),
    );
    env.write_file(
        "sources.d/10-rss.toml",
        &env.source_guarded("财经", "rss", "/rss.xml"),
    );
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        env.strings("SELECT slug FROM sources ORDER BY position"),
        ["rss", "atom"]
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 6);
}

#[test]
fn sources_list_and_check() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&format!(
        "{}{}[[sources]]\nname = \"央视新闻客户端\"\nurl = \"{}/gone.xml\"\nschedule = \"*/5 * * * *\"\n",
        env.source_guarded("财经", "rss", "/rss.xml"),
        env.source_guarded("坏", "bad", "/missing.xml"),
        env.base()
    ));

    // Nothing crawled yet: `sources list` says so instead of a table of blanks.
    let out = env.run(&["sources", "list"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("no database at"), "{}", stderr(&out));

    // check stores nothing, not even a database.
    let out = env.run(&["sources", "check", "rss"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("rss: 4 items"), "{text}");
    assert!(text.contains("new    202201102242232593"), "{text}");
    assert!(!env.db_path().exists());

    assert_eq!(code(&env.run(&["crawl", "--once"])), 1);
    let out = env.run(&["sources", "check", "rss"]);
    assert!(
        stdout(&out).contains("stored 202201102242232593"),
        "{}",
        stdout(&out)
    );
    assert_eq!(code(&env.run(&["sources", "check", "bad"])), 1);

    let out = env.run(&["sources", "list"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    let line = |slug: &str| {
        text.lines()
            .find(|l| l.starts_with(slug))
            .unwrap_or_default()
            .to_string()
    };
    let cols = |slug: &str| {
        line(slug)
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // slug, schedule (5 fields), next poll (2), last ok (2), fails, posts, last error…
    let rss = cols("rss");
    assert_eq!(&rss[1..6], ["*/10", "*", "*", "*", "*"], "{text}");
    assert_ne!(rss[6], "-", "next poll is known: {text}");
    assert_ne!(rss[8], "-", "last success is known: {text}");
    assert_eq!((rss[10].as_str(), rss[11].as_str()), ("0", "4"), "{text}");
    let bad = cols("bad");
    assert_eq!(bad[8], "-", "never succeeded: {text}");
    assert_eq!((bad[9].as_str(), bad[10].as_str()), ("1", "0"), "{text}");
    assert!(line("bad").contains("missing.xml: HTTP 404"), "{text}");
    // Times say their zone; each row has the source's URL.
    assert!(text.ends_with("\n(times in Asia/Shanghai)\n"), "{text}");
    assert!(
        line("rss").contains(&format!("{}/rss.xml", env.base())),
        "{text}"
    );
    // The same as JSON, one object per source.
    let out = env.run(&["sources", "list", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rss = rows.iter().find(|r| r["slug"] == "rss").unwrap();
    assert_eq!(
        (rss["posts"].as_i64(), rss["failures"].as_i64()),
        (Some(4), Some(0))
    );
    assert_eq!(rss["url"], format!("{}/rss.xml", env.base()));
    assert!(rss["last_success_at"].as_str().unwrap().ends_with('Z'));
    let bad = rows.iter().find(|r| r["slug"] == "bad").unwrap();
    assert_eq!(bad["failures"].as_i64(), Some(1));
    assert!(bad["last_error"].as_str().unwrap().contains("HTTP 404"));
    assert!(text.starts_with("SLUG"), "{text}");
    // The default slug is the name in toneless pinyin.
    assert!(
        line("yangshixinwenkehuduan").contains("*/5 * * * *"),
        "{text}"
    );
}

#[test]
fn json_logs_carry_the_source_slug() {
    let env = Env::new();
    env.write_config(&env.source_guarded("坏", "bad", "/missing.xml"));
    let out = env.run(&["--log-format", "json", "crawl", "--once"]);
    assert_eq!(code(&out), 1);
    let line = stderr(&out)
        .lines()
        .find(|l| l.contains("source failing"))
        .map(str::to_string)
        .unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["level"], "WARN");
    assert_eq!(v["span"]["source"], "bad");
    let quiet = env.run(&["-q", "crawl", "--once"]);
    assert!(!stderr(&quiet).contains("crawl finished"));
}

/// Under systemd, stderr is the journal's stream and `JOURNAL_STREAM` says
/// so: each line carries its syslog priority (`<4>` for WARN, `<6>` for
/// INFO) and no timestamp of its own. When the variable names another
/// stream (a child's stderr redirected elsewhere), lines are as usual.
#[test]
fn journald_gets_priorities_when_stderr_is_the_journal() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    env.write_config(&env.source_guarded("坏", "bad", "/missing.xml"));
    let run = |stream: Option<String>| -> String {
        let path = env.dir.path().join("stderr.log");
        let file = std::fs::File::create(&path).unwrap();
        let meta = file.metadata().unwrap();
        let mut cmd = env.command();
        cmd.arg("--config")
            .arg(env.config_path())
            .args(["crawl", "--once"])
            .stdout(std::process::Stdio::null())
            .stderr(file)
            .env(
                "JOURNAL_STREAM",
                stream.unwrap_or_else(|| format!("{}:{}", meta.dev(), meta.ino())),
            );
        assert_eq!(cmd.status().unwrap().code(), Some(1));
        std::fs::read_to_string(&path).unwrap()
    };
    let journal = run(None);
    let failing = journal
        .lines()
        .find(|l| l.contains("source failing"))
        .unwrap_or_else(|| panic!("{journal}"));
    // The priority, then the level: no timestamp before it.
    assert!(failing.starts_with("<4> WARN "), "{failing}");
    let finished = journal
        .lines()
        .find(|l| l.contains("crawl finished"))
        .unwrap_or_else(|| panic!("{journal}"));
    assert!(finished.starts_with("<6> INFO "), "{finished}");
    assert!(journal.lines().all(|l| l.starts_with('<')), "{journal}");

    let plain = run(Some("1:1".into()));
    assert!(plain.lines().all(|l| !l.starts_with('<')), "{plain}");
    assert!(plain.contains("WARN"), "{plain}");
}

/// A title with terminal escape sequences (retitle the window, clear the
/// screen) in a JSON Feed: stored without them, and `sources check` shows
/// what is left of a raw one escaped, never the bytes.
#[test]
fn terminal_escapes_from_a_feed_never_reach_the_terminal() {
    let env = Env::new();
    env.route("/feed.json", |_| {
        crate::server::Response::ok(
            "application/feed+json",
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[
                {"id":"1","url":"http://x.example/1","title":"标题\u001b]0;pwned\u0007\u001b[2J\u009b31m完","content_text":"正文\u001b[31m红"}]}"#,
        )
    });
    env.write_config(&env.source_guarded("终端", "term", "/feed.json"));
    let out = env.run(&["sources", "check"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("标题"), "{printed}");
    assert!(
        !printed.chars().any(|c| c.is_control() && c != '\n'),
        "{printed:?}"
    );
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let stored = env.strings("SELECT title || '|' || content_text FROM posts");
    assert_eq!(stored, ["标题]0;pwned[2J31m完|正文[31m红"]);
}

/// Completions and the manual, generated from the command line: the real
/// bash completes with the script, the real `man` renders the page without
/// a warning, and `man --dir` writes a page per command. No configuration
/// is needed (none exists here).
#[test]
fn completions_and_man_pages() {
    let env = Env::new();
    let out = env
        .command()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let script = env.dir.path().join("newscrawl.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |words: &str, cur: &str, prev: &str| -> String {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
                 _newscrawl newscrawl '{cur}' '{prev}'; echo \"${{COMPREPLY[@]}}\"",
                script.display()
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(
        complete("newscrawl sou", "sou", "newscrawl").trim(),
        "sources"
    );
    let subs = complete("newscrawl sources ''", "", "sources");
    for s in ["list", "check", "import-opml", "export-opml"] {
        assert!(subs.split_whitespace().any(|w| w == s), "{subs}");
    }
    for shell in ["zsh", "fish"] {
        let out = env.command().args(["completions", shell]).output().unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).contains("posts"), "{shell}");
    }
    let out = env
        .command()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);

    let out = env.command().arg("man").output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let page = env.dir.path().join("newscrawl.1");
    std::fs::write(&page, &out.stdout).unwrap();
    if std::process::Command::new("man")
        .arg("--version")
        .output()
        .is_ok()
    {
        let out = std::process::Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&page)
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stderr(&out), "", "man warns");
        let text = stdout(&out);
        for want in ["SUBCOMMANDS", "crawl", "Exit", "fatal", "--database"] {
            assert!(text.contains(want), "{want} not in\n{text}");
        }
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI has man (man-db)");
        eprintln!("man not installed: the page is not rendered");
    }
    let dir = env.dir.path().join("man1");
    let out = env
        .command()
        .args(["man", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for name in [
        "newscrawl.1",
        "newscrawl-crawl.1",
        "newscrawl-sources-list.1",
        "newscrawl-export-jekyll.1",
    ] {
        assert!(dir.join(name).is_file(), "{name}");
    }
}
