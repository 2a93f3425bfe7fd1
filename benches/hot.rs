//! Micro-benchmarks of the hot stages (`cargo bench`): decode + parse of a
//! 50-item feed, extraction + sanitizing of a share page, canonical URL +
//! infoCode, and the SQLite insert of a poll's 50 posts. CI only compiles
//! them; numbers come from `cargo bench` on the machine in question.

use std::hint::black_box;

use newscrawl::config::DEFAULT_ID_PATTERN;
use newscrawl::dedup::Identity;
use newscrawl::store::{self, FetchRecord, NewPost, Outcome, PollRecord};
use url::Url;

fn main() {
    divan::main();
}

fn feed_50() -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"gb2312\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>",
    );
    for i in 0..50 {
        s += &format!(
            "<item><title>第{i}条：国家统计局发布最新数据，消费市场继续恢复</title><link>http://finews.example/html_News/NewsShare.html?infoCode=NW2022011022422{i:05}</link><pubDate>Mon, 10 Jan 2022 16:57:30 +0800</pubDate><description><![CDATA[<p>{}</p>]]></description></item>",
            "国家统计局今天发布了最新的经济数据，显示消费市场继续恢复，工业生产保持稳定增长。"
                .repeat(20)
        );
    }
    s += "</channel></rss>";
    encoding_rs::GBK.encode(&s).0.into_owned()
}

#[divan::bench]
fn decode_and_parse_a_50_item_gbk_feed(bencher: divan::Bencher) {
    let bytes = feed_50();
    let base = Url::parse("http://finews.example/rss.xml").unwrap();
    bencher.bench(|| {
        let declared = newscrawl::decode::xml_declared(&bytes);
        let text = newscrawl::decode::decode(black_box(&bytes), None, declared, Some("cn")).text;
        newscrawl::feed::parse(&text, &base, chrono_tz::Asia::Shanghai).unwrap()
    });
}

#[divan::bench]
fn extract_and_sanitize_a_share_page(bencher: divan::Bencher) {
    let page = include_str!("../tests/fixtures/seed_share.html");
    let url =
        Url::parse("http://finews.example/html_News/NewsShare.html?infoCode=NW202201102242232593")
            .unwrap();
    let css = |s: &str| {
        Some(newscrawl::config::Css {
            text: s.into(),
            selector: scraper::Selector::parse(s).unwrap(),
        })
    };
    let sel = newscrawl::config::ArticleSelectors {
        title: css(".newsContent h1"),
        published: css(".Info .time"),
        body: css("#ContentBody"),
        origin: css(".em_media"),
        remove: vec![css(".ad").unwrap(), css("script").unwrap()],
        json: Vec::new(),
    };
    let now = chrono::Utc::now().fixed_offset();
    bencher.bench(|| {
        newscrawl::article::extract_page(
            black_box(page),
            &url,
            &sel,
            chrono_tz::Asia::Shanghai,
            now,
        )
    });
}

#[divan::bench]
fn canonical_url_and_info_code(bencher: divan::Bencher) {
    let re = regex::Regex::new(DEFAULT_ID_PATTERN).unwrap();
    let tracking = vec!["spm".to_string()];
    let link = "HTTP://Finance.EastMoney.com:80/news/11060,202201102242232593.html?utm_source=rss&b=2&a=1#top";
    bencher.bench(|| {
        let u = Url::parse(black_box(link)).unwrap();
        (
            newscrawl::dedup::canonical_url(&u, &tracking),
            newscrawl::dedup::info_code(&re, u.as_str()),
        )
    });
}

#[divan::bench]
fn sqlite_insert_of_a_poll_of_50_posts(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().unwrap();
    // Through the store's writer, as the crawler saves a poll.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let db = store::Store::open_with(
        &newscrawl::config::Database::Sqlite(dir.path().join("bench.db")),
        false,
    )
    .unwrap();
    rt.block_on(db.sync_sources(vec![("s".into(), "S".into(), "http://s/".into())]))
        .unwrap();
    let mut n = 0u64;
    bencher.bench_local(|| {
        let posts = (0..50)
            .map(|_| {
                n += 1;
                NewPost {
                    identity: Identity {
                        info_code: Some(format!("{n}")),
                        canonical_url: format!("http://s/a/{n}.html"),
                        earlier: Vec::new(),
                    },
                    url: Some(format!("http://s/a/{n}.html")),
                    title: Some("国家统计局发布最新数据".into()),
                    content_html: Some("<p>国家统计局今天发布了最新的经济数据。</p>".repeat(20)),
                    content_text: Some("国家统计局今天发布了最新的经济数据。".repeat(20)),
                    published_at: chrono::DateTime::parse_from_rfc3339("2022-01-10T16:57:30+08:00")
                        .ok(),
                    ..NewPost::default()
                }
            })
            .collect();
        let poll = PollRecord {
            blocked: Vec::new(),
            source: "s".into(),
            fetch: FetchRecord {
                url: "http://s/".into(),
                started_at: chrono::Utc::now(),
                duration_ms: 1,
                http_status: Some(200),
                outcome: Outcome::Ok,
                bytes: 1,
                error: None,
            },
            validators: None,
            items: 50,
            run_started_at: chrono::Utc::now(),
            posts,
            next_poll_at: None,
            unconditional: false,
            moved_to: None,
            hold_until: None,
        };
        rt.block_on(db.save_poll(poll)).unwrap()
    });
}
