//! Rules: `[[rules]]` for every source and `[[sources.rules]]` for one,
//! block and keep, by regex or keyword; blocked items are neither stored
//! nor fetched, are counted once in their fetch row, and `sources check`
//! says which rule blocked which item.

use crate::harness::{Env, code, stderr, stdout};
use crate::server::Response;

fn rss(items: &[(&str, &str)]) -> String {
    let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title>");
    for (title, link) in items {
        s += &format!(
            "<item><title>{title}</title><link>{link}</link>\
             <pubDate>Mon, 10 Jan 2022 16:57:30 +0800</pubDate><description>{title}。</description></item>"
        );
    }
    s + "</channel></rss>"
}

#[test]
fn rules_block_and_keep_items_once_and_say_why() {
    let env = Env::new();
    let base = env.base().to_string();
    let items = rss(&[
        ("A股收盘：沪指涨1%", &format!("{base}/r/1.html")),
        ("推广：理财广告", &format!("{base}/r/2.html")),
        ("今日天气", &format!("{base}/r/3.html")),
        ("港股午评", &format!("{base}/r/4.html")),
    ]);
    // No validators: every poll parses the feed again.
    env.route("/r/feed.xml", move |_| {
        Response::ok("application/rss+xml", items.clone())
    });
    let other = rss(&[
        ("其他来源的天气", "http://other.example/1.html"),
        ("广告位招租", "http://other.example/2.html"),
    ]);
    env.route("/other/feed.xml", move |_| {
        Response::ok("application/rss+xml", other.clone())
    });
    for n in 1..=4 {
        env.route(&format!("/r/{n}.html"), |_| {
            Response::ok(
                "text/html; charset=utf-8",
                "<html><body><article><p>正文第一段，内容足够长，可以被识别为文章的正文部分。</p>\
                 <p>正文第二段，继续说明文章的内容。</p></article></body></html>",
            )
        });
    }
    env.write_config(&format!(
        "[crawler]\nallow_private_networks = true\n\
         [[rules]]\naction = \"block\"\nkeyword = \"广告\"\n\
         [[sources]]\nname = \"r\"\nslug = \"r\"\nurl = \"{base}/r/feed.xml\"\nfollow = \"link\"\n\
         [[sources.rules]]\naction = \"keep\"\nfield = \"title\"\npattern = \"A股|港股\"\n\
         [[sources]]\nname = \"other\"\nslug = \"other\"\nurl = \"{base}/other/feed.xml\"\n"
    ));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut titles = env.strings("SELECT title FROM posts");
    titles.sort();
    assert_eq!(titles, ["A股收盘：沪指涨1%", "其他来源的天气", "港股午评"]);
    // Blocked items are not fetched as articles.
    for (n, fetched) in [(1, 1), (2, 0), (3, 0), (4, 1)] {
        assert_eq!(
            env.server.requests_to(&format!("/r/{n}.html")).len(),
            fetched,
            "/r/{n}.html"
        );
    }
    assert_eq!(
        env.strings(
            "SELECT items || ' ' || blocked FROM fetches WHERE source = 'r' AND kind = 'feed'"
        ),
        ["4 2"]
    );
    assert_eq!(
        env.strings("SELECT items || ' ' || blocked FROM fetches WHERE source = 'other'"),
        ["2 1"]
    );
    let why = env.strings(
        "SELECT title || ': ' || rule FROM blocked_items WHERE source = 'r' ORDER BY title",
    );
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(
        why[0].starts_with("今日天气: ") && why[0].contains("no keep rule matched"),
        "{why:?}"
    );
    assert!(why[0].contains("keep title ~ /A股|港股/"), "{why:?}");
    assert!(
        why[1].starts_with("推广：理财广告: ") && why[1].contains("newscrawl.toml:"),
        "{why:?}"
    );
    assert!(why[1].contains("block title contains \"广告\""), "{why:?}");

    // The next poll blocks the same items again, but counts none anew.
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        env.strings("SELECT CAST(blocked AS TEXT) FROM fetches WHERE source = 'r' AND kind = 'feed' ORDER BY id"),
        ["2", "0"]
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 3);
    assert_eq!(env.server.requests_to("/r/2.html").len(), 0);

    // `sources check` shows which rule blocked which item.
    let check = env.run(&["sources", "check", "r"]);
    let shown = stdout(&check);
    assert!(
        shown.contains("r: 4 items from") && shown.contains("2 blocked by rules"),
        "{shown}"
    );
    let blocked: Vec<&str> = shown
        .lines()
        .filter(|l| l.starts_with("  blocked "))
        .collect();
    assert_eq!(blocked.len(), 2, "{shown}");
    // The rule as configured: file, line (of its table), what it does.
    assert!(
        shown.contains("newscrawl.toml:4: block title contains \"广告\""),
        "{shown}"
    );
    assert!(
        shown.contains("newscrawl.toml:12: keep title ~ /A股|港股/"),
        "{shown}"
    );
}
