//! Hooks: each new or updated post given to a command (JSON on stdin) or
//! POSTed to a URL, filtered by sources, events and rules; a failing hook
//! keeps its posts and delivers them once it works.

use crate::harness::{Env, code, stderr};
use crate::server::Response;

fn rss(items: &[(&str, &str, &str)]) -> String {
    let mut s = String::from(
        "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>t</title>",
    );
    for (guid, title, updated) in items {
        s += &format!(
            "<item><title>{title}</title><link>http://news.example/{guid}</link><guid>{guid}</guid>\
             <pubDate>Mon, 10 Jan 2022 16:57:30 +0800</pubDate><atom:updated>{updated}</atom:updated>\
             <description>{title}。</description></item>"
        );
    }
    s + "</channel></rss>"
}

fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn hooks_get_new_and_updated_posts_by_command_and_url() {
    let env = Env::new();
    let feed = std::sync::Arc::new(std::sync::Mutex::new(rss(&[
        ("g1", "第一条", "2022-01-10T16:57:30+08:00"),
        ("g2", "推广广告", "2022-01-10T16:57:30+08:00"),
    ])));
    let served = feed.clone();
    env.route("/h/feed.xml", move |_| {
        Response::ok("application/rss+xml", served.lock().unwrap().clone())
    });
    env.route("/hook", |_| Response::status(204));
    let out = env.dir.path().join("hook.out");
    env.write_config(&format!(
        "{}\
         [[hooks]]\nname = \"cmd\"\ncommand = [\"sh\", \"-c\", \"cat >> \\\"$0\\\"\", \"{}\"]\n\
         [[hooks.rules]]\naction = \"block\"\nkeyword = \"广告\"\n\
         [[hooks]]\nname = \"web\"\nurl = \"{}/hook?token=s3cret\"\nevents = [\"new\"]\nsources = [\"h\"]\n",
        env.source("h", "h", "/h/feed.xml"),
        out.display(),
        env.base()
    ));
    let run = env.run(&["crawl", "--once"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let got = lines(&out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["title"], "第一条");
    assert_eq!(
        (got[0]["event"].as_str(), got[0]["hook"].as_str()),
        (Some("new"), Some("cmd"))
    );
    assert_eq!(got[0]["source"], "h");
    let posted = env.server.requests_to("/hook");
    assert_eq!(posted.len(), 2, "the web hook has no rules: both posts");
    let first: serde_json::Value = serde_json::from_slice(&posted[0].body).unwrap();
    assert_eq!(
        (first["title"].as_str(), first["event"].as_str()),
        (Some("第一条"), Some("new"))
    );
    assert_eq!(
        posted[0].headers.get("content-type").map(String::as_str),
        Some("application/json")
    );

    // A new post and an update of the first: the command hears of both,
    // the URL (events = ["new"]) of the new one only.
    *feed.lock().unwrap() = rss(&[
        ("g1", "第一条（更新）", "2022-01-10T18:00:00+08:00"),
        ("g2", "推广广告", "2022-01-10T16:57:30+08:00"),
        ("g3", "第三条", "2022-01-10T19:00:00+08:00"),
    ]);
    let run = env.run(&["crawl", "--once"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let got = lines(&out);
    let seen: Vec<(&str, &str)> = got
        .iter()
        .map(|v| (v["title"].as_str().unwrap(), v["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("第一条", "new"),
            ("第一条（更新）", "updated"),
            ("第三条", "new")
        ]
    );
    let posted = env.server.requests_to("/hook");
    assert_eq!(posted.len(), 3);
    let third: serde_json::Value = serde_json::from_slice(&posted[2].body).unwrap();
    assert_eq!(third["title"], "第三条");
    // Nothing new: nothing delivered again.
    let run = env.run(&["crawl", "--once"]);
    assert_eq!(code(&run), 0);
    assert_eq!(lines(&out).len(), 3);
    assert_eq!(env.server.requests_to("/hook").len(), 3);
    // The token in the hook's URL is in no log line.
    assert!(!stderr(&run).contains("s3cret"));
}

#[test]
fn a_failing_hook_keeps_its_posts_until_it_works() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    let dir = env.dir.path();
    let (flag, tries, out) = (dir.join("flag"), dir.join("tries"), dir.join("out"));
    env.write_config(&format!(
        "{}[[hooks]]\nname = \"flaky\"\nattempts = 2\n\
         command = [\"sh\", \"-c\", \"echo x >> \\\"$1\\\"; test -e \\\"$0\\\" || {{ echo 'not yet' >&2; exit 3; }}; cat >> \\\"$2\\\"\", \"{}\", \"{}\", \"{}\"]\n",
        env.source("财经", "rss", "/rss.xml"),
        flag.display(),
        tries.display(),
        out.display()
    ));
    let run = env.run(&["crawl", "--once"]);
    // The crawl went well: a hook does not change the exit status.
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let log = stderr(&run);
    assert!(
        log.contains("hook failing") && log.contains("not yet"),
        "{log}"
    );
    // Two attempts at the first post, then the round stopped.
    assert_eq!(std::fs::read_to_string(&tries).unwrap().lines().count(), 2);
    assert!(!out.exists());
    std::fs::write(&flag, "").unwrap();
    let run = env.run(&["crawl", "--once"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    assert_eq!(lines(&out).len(), 4, "every post, once the hook works");
    let run = env.run(&["crawl", "--once"]);
    assert_eq!(code(&run), 0);
    assert_eq!(lines(&out).len(), 4);
}

/// A command that floods its error output is heard up to 2 KB of it.
#[test]
fn a_hooks_error_output_is_kept_to_two_kilobytes() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&format!(
        "{}[[hooks]]\nname = \"loud\"\nattempts = 1\n\
         command = [\"sh\", \"-c\", \"head -c 20000000 /dev/zero | tr '\\\\000' x >&2; exit 1\"]\n",
        env.source("财经", "rss", "/rss.xml")
    ));
    let run = env.run(&["crawl", "--once"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let log = stderr(&run);
    let line = log.lines().find(|l| l.contains("hook failing")).unwrap();
    assert!(line.contains("xxxx"), "{line}");
    assert!(line.len() < 3000, "{} bytes", line.len());
}
