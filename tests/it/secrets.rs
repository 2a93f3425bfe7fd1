//! User info in a configured URL is for the request to that host: it never
//! reaches the database, an export, a listing or a log line, neither the
//! password nor the user name.

use std::io::Read;

use crate::harness::{Env, code, stderr, stdout};
use crate::rows::Val;
use crate::server::Response;

/// Every text a user or a downstream tool can see after a crawl.
pub(crate) fn everything_shown(env: &Env) -> String {
    let mut all = String::new();
    // Every text column of every table.
    let tables = env.strings(if env.on_postgres() {
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'posts_fts%'"
    });
    assert!(tables.len() > 10, "{tables:?}");
    for t in &tables {
        for row in env.rows::<Vec<Val>>(&format!("SELECT * FROM \"{t}\""), &[]) {
            for v in row {
                if let Val::Text(s) = v {
                    all += &s;
                    all.push('\n');
                }
            }
        }
    }
    // Exports and listings.
    let out = env.dir.path().join("site/_posts");
    let cats = env.dir.path().join("site/category");
    env.export_jekyll(&out, &cats);
    for dir in [&out, &cats] {
        for f in std::fs::read_dir(dir).unwrap() {
            let mut s = String::new();
            std::fs::File::open(f.unwrap().path())
                .unwrap()
                .read_to_string(&mut s)
                .unwrap();
            all += &s;
        }
    }
    for args in [
        &["export", "jsonl"][..],
        &["sources", "list"],
        &["sources", "export-opml"],
        &["-v", "sources", "check"],
    ] {
        let o = env.run(args);
        all += &stdout(&o);
        all += &stderr(&o);
    }
    all
}

/// None of `secrets` is in `shown`; the lines that hold one otherwise.
pub(crate) fn assert_none_shown(shown: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !shown.contains(secret),
            "{secret:?} shown:\n{}",
            shown
                .lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn credentials_in_a_feed_url_reach_nothing_but_its_request() {
    let env = Env::new();
    // Relative links everywhere: they must not inherit the user info.
    env.route("/private/feed.xml", |r| {
        if r.headers.get("authorization").map(String::as_str) != Some("Basic dXNlcjpzM2NyM3Q=") {
            return Response::status(401);
        }
        Response::ok(
            "application/rss+xml",
            "<rss version=\"2.0\"><channel><title>t</title><link>/</link>\
             <item><title>相对链接</title><link>/a/1.html</link><guid>g1</guid>\
             <pubDate>Mon, 10 Jan 2022 16:57:30 +0800</pubDate>\
             <description>&lt;p&gt;见&lt;a href=\"/a/2.html\"&gt;下文&lt;/a&gt;&lt;img src=\"img/1.png\"&gt;&lt;/p&gt;</description></item>\
             </channel></rss>",
        )
    });
    env.route("/a/1.html", |_| Response::status(404));
    // A second source whose host fails: its error names the URL.
    let port = env.base().rsplit(':').next().unwrap().to_string();
    let cfg = format!(
        "[crawler]\nallow_private_networks = true\narticle_attempts = 1\n\
         [[sources]]\nname = \"私有\"\nslug = \"private\"\nurl = \"http://user:s3cr3t@127.0.0.1:{port}/private/feed.xml\"\nfollow = \"link\"\n\
         [[sources]]\nname = \"坏的\"\nslug = \"broken\"\nurl = \"http://admin:hunter2@127.0.0.1:1/feed.xml\"\n"
    );
    env.write_config(&cfg);
    let out = env.run(&["-v", "crawl", "--once"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let log = stderr(&out) + &stdout(&out);
    // The feed was read with its credentials, and its post stored.
    assert_eq!(
        env.strings("SELECT url FROM posts"),
        [format!("{}/a/1.html", env.base())]
    );
    let shown = log + &everything_shown(&env);
    assert_none_shown(
        &shown,
        &["s3cr3t", "hunter2", "user:", "admin:", "user@", "admin@"],
    );
    // Where a URL with user info is shown at all, it says so, redacted.
    assert!(shown.contains("http://***@127.0.0.1:1/feed.xml"), "{shown}");
}
