//! Article pages and endpoints through the whole pipeline: the seed's share
//! page, charsets, pages without selectors, JSONP, failures and retries,
//! fetch-once, and the private-address guard.

use std::time::Duration;

use crate::harness::{Env, code, fixture, stderr};
use crate::server::Response;

/// The seed post's body line.
fn seed_body() -> &'static str {
    std::str::from_utf8(crate::harness::SEED_POST)
        .expect("the seed post is UTF-8")
        .lines()
        .nth(7)
        .expect("the seed has a body line")
}

fn rss(items: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>",
    );
    for (title, link, date) in items {
        s += &format!("<item><title>{title}</title><link>{link}</link>");
        if !date.is_empty() {
            s += &format!("<pubDate>{date}</pubDate>");
        }
        s += "<description>摘要：只有摘要的正文。</description></item>";
    }
    s += "</channel></rss>";
    s.into_bytes()
}

const SINA_SELECTORS: &str = r##"
[sources.article]
title     = ".main-title"
published = ".date-source .date"
body      = "#artibody"
origin    = ".date-source .source"
"##;

#[test]
fn the_seed_share_page_gives_the_seed_body_exactly() {
    let env = Env::new();
    env.serve_fixture("/list.xml", "seed_list.xml", "application/rss+xml");
    let page = fixture("seed_share.html", env.base());
    env.route("/html_News/NewsShare.html", move |_| {
        Response::ok("text/html", page.clone())
    });
    env.write_config(&format!(
        r##"[crawler]
allow_private_networks = true

[[sources]]
name   = "要闻精华"
slug   = "yaowen"
url    = "{base}/list.xml"
follow = "{base}/html_News/NewsShare.html?infoCode=NW{{info_code}}"

[sources.article]
title     = ".newsContent h1"
published = ".Info .time"
body      = "#ContentBody"
origin    = ".em_media"
remove    = [".ad", "script"]
"##,
        base = env.base()
    ));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let row: (String, String, String, String, String, String, String) = env
        .row("SELECT info_code, url, title, published_at, content_html, origin, article_state FROM posts", &[]);
    assert_eq!(row.0, "202201102242232593");
    assert_eq!(
        row.1,
        "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201102242232593"
    );
    assert_eq!(row.2, "公安部：全国范围已实现5项户口迁移“跨省通办”");
    assert_eq!(
        row.3, "2022-01-10T16:57:30+08:00",
        "the feed's date wins over the page's minute"
    );
    assert_eq!(row.4, seed_body());
    assert_eq!(row.5, "央视新闻客户端");
    assert_eq!(row.6, "done");
    let text: String = env.row("SELECT content_text FROM posts", &[]);
    assert!(
        text.starts_with("致敬人民的平安卫士公安部去年推行的这批举措让群众更方便\n\n去年，"),
        "{text}"
    );
    assert!(!text.contains("开户送好礼") && !text.contains("广告"));
    // Requested by infoCode, once; every request a fetches row.
    let reqs = env.server.requests_to("/html_News/NewsShare.html");
    assert_eq!(reqs.len(), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM fetches"), 2);
    // Each row says what it was: the feed, or the article.
    assert_eq!(
        env.strings("SELECT kind FROM fetches ORDER BY kind"),
        ["article", "feed"]
    );
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM fetches WHERE kind = 'article' AND url LIKE '%/html_News/%'"
        ),
        1
    );
    assert_eq!(
        env.count(&format!(
            "SELECT COUNT(*) FROM fetches WHERE url = '{}/html_News/NewsShare.html?infoCode=NW202201102242232593' AND outcome = 'ok'",
            env.base()
        )),
        1
    );
    // A second pass fetches nothing again.
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(env.server.requests_to("/html_News/NewsShare.html").len(), 1);
}

#[test]
fn charsets_selectors_readability_and_failures() {
    let env = Env::new();
    let base = env.base().to_string();
    let list = rss(&[
        ("", &format!("{base}/pages/gbk.html"), ""),
        (
            "春运首日（列表标题）",
            &format!("{base}/pages/mislabelled.html"),
            "",
        ),
        (
            "统计局：居民消费价格",
            &format!("{base}/pages/plain.html"),
            "",
        ),
        (
            "会失败的文章",
            &format!("{base}/pages/missing.html"),
            "Wed, 12 Jan 2022 18:00:00 +0800",
        ),
    ]);
    env.route("/list.xml", move |_| {
        Response::ok("application/rss+xml", list.clone())
    });
    let gbk = fixture("gbk_page.html", &base);
    env.route("/pages/gbk.html", move |_| {
        Response::ok("text/html", gbk.clone())
    });
    let mis = fixture("mislabelled_page.html", &base);
    env.route("/pages/mislabelled.html", move |_| {
        Response::ok("text/html", mis.clone())
    });
    let plain = fixture("plain_page.html", &base);
    env.route("/pages/plain.html", move |_| {
        Response::ok("text/html; charset=utf-8", plain.clone())
    });
    env.write_config(&format!(
        "{}follow = \"link\"\n{SINA_SELECTORS}",
        env.source("新浪财经", "sina", "/list.xml")
    ));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(
        code(&out),
        0,
        "article failures do not fail the source: {}",
        stderr(&out)
    );

    let post = |path: &str| -> (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        i64,
    ) {
        env.row("SELECT title, published_at, content_text, origin, article_state, article_attempts FROM posts WHERE url = ?1", &[format!("{base}{path}").as_str()])
    };
    // GBK labelled only by <meta charset>; the feed had no title, so the page's is used.
    let p = post("/pages/gbk.html");
    assert_eq!(p.0.as_deref(), Some("沪深两市成交额突破万亿元"));
    assert_eq!(p.1.as_deref(), Some("2022-01-12T15:05:00+08:00"));
    assert_eq!(
        p.2.as_deref(),
        Some(
            "沪深两市今日成交额突破一万亿元，北向资金全天净流入超过五十亿元。\n\n分析人士认为，市场情绪有所回暖。"
        )
    );
    assert_eq!(p.3.as_deref(), Some("证券时报"));
    assert_eq!(p.4, "done");
    // Says gb2312, is UTF-8; the feed's title wins over the page's.
    let p = post("/pages/mislabelled.html");
    assert_eq!(p.0.as_deref(), Some("春运首日（列表标题）"));
    assert_eq!(
        p.2.as_deref(),
        Some("春运首日，全国铁路客流平稳有序，各地车站秩序井然。")
    );
    assert_eq!(p.3.as_deref(), Some("央视新闻客户端"));
    // The configured body selector matches nothing here: readability finds the text,
    // and the date comes from article:published_time.
    let p = post("/pages/plain.html");
    let text = p.2.unwrap_or_default();
    assert!(
        text.contains("十一月份全国居民消费价格同比上涨") && text.contains("统计局城市司"),
        "{text}"
    );
    assert!(
        !text.contains("热点新闻") && !text.contains("版权所有"),
        "{text}"
    );
    assert_eq!(p.1.as_deref(), Some("2022-01-12T09:30:00+08:00"));
    // The 404: kept from the feed, pending, one attempt recorded.
    let p = post("/pages/missing.html");
    assert_eq!(p.0.as_deref(), Some("会失败的文章"));
    assert_eq!(p.2.as_deref(), Some("摘要：只有摘要的正文。"));
    assert_eq!((p.4.as_str(), p.5), ("pending", 1));
    assert_eq!(
        env.count(&format!("SELECT COUNT(*) FROM fetches WHERE url = '{base}/pages/missing.html' AND outcome = 'error' AND http_status = 404")),
        1
    );

    // Next pass, before the retry time: nothing is fetched again.
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(env.server.requests_to("/pages/missing.html").len(), 1);
    for path in [
        "/pages/gbk.html",
        "/pages/mislabelled.html",
        "/pages/plain.html",
    ] {
        assert_eq!(
            env.server.requests_to(path).len(),
            1,
            "{path} is stored: never fetched again"
        );
    }
    // The backoff is 10 minutes; move the clock rather than wait.
    env.execute(
        "UPDATE posts SET article_next_at = '2000-01-01T00:00:00Z' WHERE article_state = 'pending'",
    );
    let good = fixture("gbk_page.html", &base);
    env.route("/pages/missing.html", move |_| {
        Response::ok("text/html", good.clone())
    });
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let p = post("/pages/missing.html");
    assert_eq!((p.4.as_str(), p.5), ("done", 2));
    assert_eq!(p.0.as_deref(), Some("会失败的文章"));
    assert_eq!(
        p.1.as_deref(),
        Some("2022-01-12T18:00:00+08:00"),
        "the feed's date stays"
    );
    assert!(p.2.unwrap_or_default().starts_with("沪深两市今日成交额"));
    assert_eq!(env.server.requests_to("/pages/missing.html").len(), 2);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(env.server.requests_to("/pages/missing.html").len(), 2);
}

#[test]
fn retries_stop_after_the_configured_attempts() {
    let env = Env::new();
    let base = env.base().to_string();
    let list = rss(&[("总是失败", &format!("{base}/pages/gone.html"), "")]);
    env.route("/list.xml", move |_| {
        Response::ok("application/rss+xml", list.clone())
    });
    env.write_config(&format!(
        "[crawler]\narticle_attempts = 2\n{}follow = \"link\"\n",
        env.source("失败", "fail", "/list.xml")
    ));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    env.execute("UPDATE posts SET article_next_at = '2000-01-01T00:00:00Z'");
    let out = env.run(&["crawl", "--once"]);
    assert!(
        stderr(&out).contains("article failed for the last time"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.strings("SELECT article_state FROM posts"), ["failed"]);
    env.execute("UPDATE posts SET article_next_at = '2000-01-01T00:00:00Z'");
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(env.server.requests_to("/pages/gone.html").len(), 2);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE url LIKE '%/pages/gone.html'"),
        2
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE content_text = '摘要：只有摘要的正文。'"),
        1
    );
}

#[test]
fn two_sources_delivering_one_article_fetch_it_once() {
    two_sources_one_article(Duration::ZERO, Duration::ZERO);
}

/// The source configured first answers late, while the other one is still
/// fetching the article it claimed: it takes the post over, not the fetch.
#[test]
fn a_source_that_takes_a_post_over_leaves_the_claimed_fetch_alone() {
    two_sources_one_article(Duration::from_millis(600), Duration::from_millis(1500));
}

/// Sources `a` (configured first, its list answering after `list_delay`)
/// and `b` both follow links to one article (pages answering after
/// `page_delay`): one fetch, one post, two deliveries.
fn two_sources_one_article(list_delay: Duration, page_delay: Duration) {
    let env = Env::new();
    let base = env.base().to_string();
    let a = rss(&[(
        "同一篇",
        &format!("{base}/html_News/NewsShare.html?infoCode=NW202201102242232593"),
        "",
    )]);
    let b = rss(&[(
        "同一篇（另一个网址）",
        &format!("{base}/a/202201102242232593.html"),
        "",
    )]);
    env.route("/a.xml", move |_| {
        Response::ok("application/rss+xml", a.clone()).delay(list_delay)
    });
    env.route("/b.xml", move |_| {
        Response::ok("application/rss+xml", b.clone())
    });
    let page = fixture("seed_share.html", &base);
    let p2 = page.clone();
    env.route("/html_News/NewsShare.html", move |_| {
        Response::ok("text/html", page.clone()).delay(page_delay)
    });
    env.route("/a/202201102242232593.html", move |_| {
        Response::ok("text/html", p2.clone()).delay(page_delay)
    });
    let cfg = format!(
        "{}follow = \"link\"\n{}follow = \"link\"\n",
        env.source("甲", "a", "/a.xml"),
        env.source("乙", "b", "/b.xml")
    );
    env.write_config(&cfg);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let pages = env.server.requests_to("/html_News/NewsShare.html").len()
        + env.server.requests_to("/a/202201102242232593.html").len();
    assert_eq!(
        pages, 1,
        "claimed before fetching: one article fetch for two sources"
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM post_sources"), 2);
    assert_eq!(env.strings("SELECT article_state FROM posts"), ["done"]);
    // The owner follows configuration order, whoever polled first.
    assert_eq!(env.strings("SELECT source FROM posts"), ["a"]);
}

#[test]
fn a_jsonp_article_endpoint() {
    let env = Env::new();
    let base = env.base().to_string();
    let list = rss(&[(
        "人民币汇率保持基本稳定",
        "http://finance.eastmoney.com/a/202201112233445566.html",
        "",
    )]);
    env.route("/list.xml", move |_| {
        Response::ok("application/rss+xml", list.clone())
    });
    let body = fixture("article.jsonp", &base);
    env.route("/api/content", move |_| {
        Response::ok("application/javascript", body.clone())
    });
    env.write_config(&format!(
        "{}follow = \"{base}/api/content?code={{info_code}}&cb=callback_202201\"\n[sources.article]\njson = \"/data/content\"\norigin = \".em_media\"\n",
        env.source("东方财富", "em", "/list.xml")
    ));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let row: (String, String, String) = env.row("SELECT content_html, origin, url FROM posts", &[]);
    assert_eq!(
        row.0,
        "<p>人民币汇率在合理均衡水平上保持基本稳定。</p><p class=\"em_media\">（文章来源：新华社）</p>"
    );
    assert_eq!(row.1, "新华社");
    assert_eq!(
        row.2,
        "http://finance.eastmoney.com/a/202201112233445566.html"
    );
    let reqs = env.server.requests_to("/api/content");
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].target,
        "/api/content?code=202201112233445566&cb=callback_202201"
    );
}

#[test]
fn pages_without_selectors_hit_rate() {
    // Five typical Chinese news layouts and the seed's share page, with navigation,
    // related links, a "hot" sidebar and a footer around the text; no selectors.
    let env = Env::new();
    let base = env.base().to_string();
    let expected: serde_json::Value =
        serde_json::from_slice(&fixture("readability/expected.json", &base)).unwrap();
    let mut pages: Vec<(String, String)> = expected
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                format!("readability/{k}.html"),
                v.as_str().unwrap().to_string(),
            )
        })
        .collect();
    pages.push((
        "seed_share.html".into(),
        "去年，公安部在移民出入境、治安户政、道路交通管理等方面".into(),
    ));
    let mut items = Vec::new();
    for (i, (file, _)) in pages.iter().enumerate() {
        let body = fixture(file, &base);
        env.route(&format!("/r/{i}.html"), move |_| {
            Response::ok("text/html", body.clone())
        });
        items.push((format!("第{i}篇"), format!("{base}/r/{i}.html")));
    }
    let refs: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|(t, l)| (t.as_str(), l.as_str(), ""))
        .collect();
    let list = rss(&refs);
    env.route("/list.xml", move |_| {
        Response::ok("application/rss+xml", list.clone())
    });
    env.write_config(&format!(
        "{}follow = \"link\"\n",
        env.source("各家", "mixed", "/list.xml")
    ));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);

    let mut hits = 0;
    let mut misses = Vec::new();
    for (i, (file, key)) in pages.iter().enumerate() {
        let (text, published): (String, Option<String>) = env.row(
            "SELECT content_text, published_at FROM posts WHERE url = ?1",
            &[format!("{base}/r/{i}.html").as_str()],
        );
        let clean = !["热门推荐文章", "版权所有", "相关新闻标题", "关于我们"]
            .iter()
            .any(|b| text.contains(b));
        if text.contains(key.as_str()) && clean && published.is_some() {
            hits += 1;
        } else {
            misses.push(format!("{file}: published={published:?} text={text}"));
        }
    }
    eprintln!("no-selector extraction: {hits}/{} pages", pages.len());
    assert_eq!(hits, pages.len(), "misses:\n{}", misses.join("\n"));
}

#[test]
fn a_following_source_fetches_the_article_of_a_post_a_plain_source_stored() {
    let env = Env::new();
    let base = env.base().to_string();
    let link = format!("{base}/html_News/NewsShare.html?infoCode=NW202201102242232593");
    let plain = rss(&[("同一篇", &link, "")]);
    env.route("/plain.xml", move |_| {
        Response::ok("application/rss+xml", plain.clone())
    });
    let page = fixture("seed_share.html", &base);
    env.route("/html_News/NewsShare.html", move |_| {
        Response::ok("text/html", page.clone())
    });
    // First only the plain source: the post is stored with its feed text.
    env.write_config(&env.source("列表", "plain", "/plain.xml"));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE article_state IS NULL"),
        1
    );
    // Then a source that follows links delivers it too: it fetches the article.
    let follow = rss(&[("同一篇", &link, "")]);
    env.route("/follow.xml", move |_| {
        Response::ok("application/rss+xml", follow.clone())
    });
    env.write_config(&format!(
        "{}{}follow = \"link\"\n[sources.article]\nbody = \"#ContentBody\"\nremove = [\".ad\"]\n",
        env.source("列表", "plain", "/plain.xml"),
        env.source("全文", "full", "/follow.xml")
    ));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let (source, state, html): (String, String, String) =
        env.row("SELECT source, article_state, content_html FROM posts", &[]);
    assert_eq!((source.as_str(), state.as_str()), ("plain", "done"));
    assert_eq!(html, seed_body());
    assert_eq!(env.server.requests_to("/html_News/NewsShare.html").len(), 1);
}
