//! `sources add` (feed discovery, drop-in file, refusals), `sources
//! disable` and `enable` (the defining file edited in place, comments kept).

use crate::harness::{Env, code, stderr, stdout};
use crate::server::Response;

fn rss(title: &str, item: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>{title}</title>\
         <item><title>{item}</title><link>http://news.example/{item}</link>\
         <pubDate>Mon, 10 Jan 2022 16:57:30 +0800</pubDate><description>{item}。</description></item>\
         </channel></rss>"
    )
}

fn page(links: &str) -> Response {
    Response::ok(
        "text/html; charset=utf-8",
        format!(
            "<!DOCTYPE html><html><head><title>站点</title>{links}</head><body>首页</body></html>"
        ),
    )
}

fn feed(title: &'static str, item: &'static str) -> impl Fn(&crate::server::Request) -> Response {
    move |_| Response::ok("application/rss+xml", rss(title, item))
}

#[test]
fn sources_add_finds_feeds_writes_a_dropin_and_refuses_what_is_there() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&format!(
        "# the main file\n{}",
        env.source("财经", "rss", "/rss.xml")
    ));
    env.route("/one/index.html", |_| {
        page("<link rel=\"alternate\" type=\"application/rss+xml\" title=\"站点 RSS\" href=\"/one/rss.xml\">")
    });
    env.route("/one/rss.xml", feed("某站要闻", "要闻一"));
    env.route("/two/index.html", |_| {
        page(
            "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"/two/a.xml\">\
             <link rel=\"alternate\" type=\"application/atom+xml\" href=\"/two/b.xml\">",
        )
    });
    env.route("/two/a.xml", feed("甲频道", "甲一"));
    env.route("/two/b.xml", feed("乙频道", "乙一"));
    // A page that announces nothing: the common paths are tried.
    env.route("/three/index.html", |_| page(""));
    env.route("/feed.xml", feed("站点总汇", "总汇一"));
    let base = env.base().to_string();

    let out = env.run(&["sources", "add", &format!("{base}/one/index.html")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("added mouzhanyaowen"), "{said}");
    if env.on_postgres() {
        assert!(said.contains("reload every daemon"), "{said}");
    } else {
        assert!(said.contains("no daemon runs on"), "{said}");
    }
    let file = env.dir.path().join("sources.d/50-mouzhanyaowen.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# Added by `newscrawl sources add` on "),
        "{text}"
    );
    assert!(
        text.contains(&format!("found on {base}/one/index.html")),
        "{text}"
    );
    assert!(text.contains("name = \"某站要闻\""), "{text}");
    assert!(
        text.contains(&format!("url = \"{base}/one/rss.xml\"")),
        "{text}"
    );
    // The configuration loads with it, and a crawl polls it.
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        env.strings("SELECT title FROM posts WHERE source = 'mouzhanyaowen'"),
        ["要闻一"]
    );

    // The same feed again, by its own URL: refused, nothing written.
    let out = env.run(&[
        "sources",
        "add",
        &format!("{base}/one/rss.xml?utm_source=x"),
    ]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("already configured: source \"mouzhanyaowen\""),
        "{}",
        stderr(&out)
    );

    // Two feeds: listed, nothing written, until one is picked.
    let out = env.run(&["sources", "add", &format!("{base}/two/index.html")]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("2 feeds found"), "{err}");
    assert!(
        err.contains(&format!("1. {base}/two/a.xml  (甲频道)")),
        "{err}"
    );
    assert!(
        err.contains(&format!("2. {base}/two/b.xml  (乙频道)")),
        "{err}"
    );
    let out = env.run(&[
        "sources",
        "add",
        &format!("{base}/two/index.html"),
        "--pick",
        "2",
        "--slug",
        "yi",
        "--schedule",
        "*/30 * * * *",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(env.dir.path().join("sources.d/50-yi.toml")).unwrap();
    assert!(
        text.contains("slug = \"yi\"") && text.contains("schedule = \"*/30 * * * *\""),
        "{text}"
    );

    // Nothing announced: found at a common path.
    let out = env.run(&[
        "sources",
        "add",
        &format!("{base}/three/index.html"),
        "--name",
        "总汇",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("added zonghui ({base}/feed.xml)")),
        "{}",
        stdout(&out)
    );

    // A bad option is the configuration's error, and leaves no file.
    let out = env.run(&[
        "sources",
        "add",
        &format!("{base}/two/a.xml"),
        "--schedule",
        "every minute",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("schedule"), "{}", stderr(&out));
    assert!(!env.dir.path().join("sources.d/50-jiapindao.toml").exists());
    let listed = stdout(&env.run(&["sources", "list", "--json"]));
    assert_eq!(listed.lines().count(), 4, "{listed}");
}

#[test]
fn disable_and_enable_edit_the_defining_file_and_keep_its_comments() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    env.write_config(&format!(
        "# 主配置：注释要留着\n{}# 第二个来源\n{}",
        env.source("财经", "rss", "/rss.xml"),
        env.source("快讯", "json", "/feed.json")
    ));
    let out = env.run(&["sources", "disable", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("json disabled in"),
        "{}",
        stdout(&out)
    );
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        text.contains("# 主配置：注释要留着\n") && text.contains("# 第二个来源\n"),
        "{text}"
    );
    assert_eq!(text.matches("enabled = false").count(), 1, "{text}");
    assert!(
        text.find("enabled = false").unwrap() > text.find("slug = \"json\"").unwrap(),
        "{text}"
    );
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE source = 'json'"),
        0
    );
    assert!(env.count("SELECT COUNT(*) FROM fetches WHERE source = 'rss'") > 0);
    let out = env.run(&["sources", "disable", "json"]);
    assert!(
        stdout(&out).contains("already disabled"),
        "{}",
        stdout(&out)
    );
    let out = env.run(&["sources", "enable", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        text.contains("enabled = true") && text.contains("# 第二个来源\n"),
        "{text}"
    );
    let out = env.run(&["sources", "disable", "nonesuch"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no source \"nonesuch\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sources_check_articles_extracts_as_the_crawl_would_and_stores_nothing() {
    let env = Env::new();
    let base = env.base().to_string();
    let feed = format!(
        "<rss version=\"2.0\"><channel><title>t</title>\
         <item><title>一</title><link>{base}/a/1.html</link></item>\
         <item><title>二</title><link>{base}/a/2.html</link></item></channel></rss>"
    );
    env.route("/feed.xml", move |_| {
        Response::ok("application/rss+xml", feed.clone())
    });
    env.route("/a/1.html", |_| {
        Response::ok(
            "text/html; charset=utf-8",
            "<html><head><title>央行宣布降准_某网</title>\
             <meta property=\"article:published_time\" content=\"2024-01-24T18:05:00+08:00\"></head>\
             <body><article><h1>央行宣布降准</h1><p>中国人民银行今天宣布，下调金融机构存款准备金率0.5个百分点。</p>\
             <p>此次降准将释放长期资金约1万亿元。（文章来源：新华社）</p></article></body></html>",
        )
    });
    env.route("/a/2.html", |_| Response::status(404));
    env.write_config(&format!(
        "[crawler]\nallow_private_networks = true\n\
         [[sources]]\nname = \"s\"\nslug = \"s\"\nurl = \"{base}/feed.xml\"\nfollow = \"link\"\n"
    ));
    let out = env.run(&["sources", "check", "--articles", "2", "s"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains(&format!("  article {base}/a/1.html")),
        "{shown}"
    );
    assert!(shown.contains("    title:  央行宣布降准"), "{shown}");
    assert!(
        shown.contains("    date:   2024-01-24T18:05:00+08:00\n"),
        "{shown}"
    );
    assert!(shown.contains("    origin: "), "{shown}");
    assert!(
        shown.contains("    body:   中国人民银行今天宣布"),
        "{shown}"
    );
    assert!(shown.contains("\n            此次降准将释放"), "{shown}");
    assert!(
        shown.contains("  article FAILED: ") && shown.contains("404"),
        "{shown}"
    );
    assert_eq!(env.try_count("SELECT COUNT(*) FROM posts").unwrap_or(0), 0);
    // Without --articles, no article is fetched.
    let before = env.server.requests_to("/a/1.html").len();
    let out = env.run(&["sources", "check", "s"]);
    assert!(!stdout(&out).contains("article "), "{}", stdout(&out));
    assert_eq!(env.server.requests_to("/a/1.html").len(), before);
}
