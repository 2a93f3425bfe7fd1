//! Real feeds as they are: the conformance corpus in
//! `tests/fixtures/conformance/`, one document per shape that a strict
//! parser or a naive identity rule loses entries on, each crawled end to
//! end with the number of stored posts asserted exactly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{Env, code, fixture, stderr};
use crate::server::Response;

/// Serves `conformance/<name>` at `/<name>` without validators (so every
/// crawl parses it again), as the only source, and crawls once.
fn crawl_fixture(name: &str, content_type: &str) -> Env {
    let env = Env::new();
    let body = fixture(&format!("conformance/{name}"), env.base());
    let ct = content_type.to_string();
    env.route(&format!("/{name}"), move |_| {
        Response::ok(&ct, body.clone())
    });
    env.write_config(&env.source("一致性", "c", &format!("/{name}")));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    env
}

/// Crawls again: the same document must add nothing.
fn crawl_again_adds_nothing(env: &Env) {
    let before = env.count("SELECT COUNT(*) FROM posts");
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), before);
}

const RSS: &str = "application/rss+xml";
const ATOM: &str = "application/atom+xml";

// ---------------------------------------------------------------------------
// 1. The identity rule

#[test]
fn podcast_episodes_that_all_link_the_homepage_are_each_a_post() {
    let env = crawl_fixture("podcast_homepage.xml", RSS);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 12);
    assert_eq!(
        env.count("SELECT COUNT(DISTINCT guid) FROM posts WHERE canonical_url LIKE 'urn:newscrawl:c:guid:%'"),
        12
    );
    // Each keeps its own fields, not a neighbour's.
    assert_eq!(
        env.strings("SELECT title FROM posts WHERE guid = 'tag:example.com,2019:podcast/7'"),
        ["Episode 7: Shipping rates"]
    );
    // Each episode's audio, stored and exported.
    assert_eq!(env.count("SELECT COUNT(*) FROM enclosures"), 12);
    assert_eq!(
        env.strings(
            "SELECT e.url || ' ' || e.type || ' ' || e.length FROM enclosures e JOIN posts p ON p.id = e.post_id
             WHERE p.guid = 'tag:example.com,2019:podcast/7'"
        ),
        ["http://media.example.com/podcast/ep007.mp3 audio/mpeg 31008638"]
    );
    let out = env.run(&["export", "jsonl"]);
    let line = crate::harness::stdout(&out)
        .lines()
        .find(|l| l.contains("Episode 7:"))
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        v["enclosures"],
        serde_json::json!([{"url": "http://media.example.com/podcast/ep007.mp3", "type": "audio/mpeg", "length": 31008638}])
    );
    crawl_again_adds_nothing(&env);
}

#[test]
fn posts_on_one_day_page_keep_their_fragments() {
    let env = crawl_fixture("day_page_fragments.xml", RSS);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 10);
    assert_eq!(
        env.strings("SELECT canonical_url FROM posts WHERE title = 'Note 2 of 2017-06-26'"),
        ["http://blog.example.org/2017/06/26.html#a030658"]
    );
    crawl_again_adds_nothing(&env);
}

#[test]
fn entries_whose_link_is_the_feed_itself_are_each_a_post() {
    let env = crawl_fixture("empty_href.atom", ATOM);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 5);
    crawl_again_adds_nothing(&env);
}

#[test]
fn a_shared_comments_url_is_never_the_link() {
    let env = crawl_fixture("comments_only.xml", RSS);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 6);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts WHERE url IS NULL"), 6);
    crawl_again_adds_nothing(&env);
}

#[test]
fn description_only_items_with_different_text_are_different_posts() {
    let env = crawl_fixture("description_only.xml", RSS);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 8);
    assert_eq!(env.matches("准备金"), 1);
    crawl_again_adds_nothing(&env);
}

/// An RSS 2.0 item with one infoCode link; `extra` goes inside the item.
fn rss_item(title: &str, link: &str, guid: &str, date: &str, extra: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>http://list.example/</link>\
         <item><title>{title}</title><link>{link}</link><guid>{guid}</guid><pubDate>{date}</pubDate>\
         <description>{title}的正文。</description>{extra}</item></channel></rss>"
    )
    .into_bytes()
}

/// A route whose body the test can change between crawls.
fn mutable_route(env: &Env, path: &str, body: Vec<u8>, delay: Duration) -> Arc<Mutex<Vec<u8>>> {
    let cell = Arc::new(Mutex::new(body));
    let c = Arc::clone(&cell);
    env.route(path, move |_| {
        Response::ok(RSS, c.lock().unwrap().clone()).delay(delay)
    });
    cell
}

const CODE_LINK: &str = "http://finance.eastmoney.com/a/202201102242232593.html";
const SHARE_LINK: &str =
    "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201102242232593";

#[test]
fn repeats_never_overwrite_and_only_the_owner_updates() {
    let env = Env::new();
    let a = mutable_route(
        &env,
        "/a.xml",
        rss_item(
            "甲的标题",
            CODE_LINK,
            "a-1",
            "Mon, 10 Jan 2022 16:57:30 +0800",
            "",
        ),
        Duration::ZERO,
    );
    let b = mutable_route(
        &env,
        "/b.xml",
        rss_item(
            "无关",
            "http://other.example/x",
            "b-0",
            "Mon, 10 Jan 2022 10:00:00 +0800",
            "",
        ),
        Duration::ZERO,
    );
    let cfg = env.source("甲", "a", "/a.xml") + &env.source("乙", "b", "/b.xml");
    env.write_config(&cfg);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let row = "SELECT source || '|' || title || '|' || COALESCE(author, '-') || '|' || published_at FROM posts WHERE info_code = '202201102242232593'";
    assert_eq!(env.strings(row), ["a|甲的标题|-|2022-01-10T16:57:30+08:00"]);

    // Another source carries it later, newer, with another title and an
    // author: it is recorded, fills what was missing, overwrites nothing.
    *b.lock().unwrap() = rss_item(
        "乙改写的标题",
        SHARE_LINK,
        "b-1",
        "Tue, 11 Jan 2022 09:00:00 +0800",
        "<author>乙的记者</author>",
    );
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.strings(row),
        ["a|甲的标题|乙的记者|2022-01-10T16:57:30+08:00"]
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM post_sources ps JOIN posts p ON p.id = ps.post_id WHERE p.info_code = '202201102242232593'"),
        2
    );

    // The owner's own item, updated: that replaces it.
    *a.lock().unwrap() = rss_item(
        "甲更正后的标题",
        CODE_LINK,
        "a-1",
        "Wed, 12 Jan 2022 08:00:00 +0800",
        "",
    );
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.strings(row),
        ["a|甲更正后的标题|乙的记者|2022-01-12T08:00:00+08:00"]
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 2);
}

/// Both sources deliver the article in one run; `slow` answers late.
fn one_run_two_sources(slow: &str) -> Vec<String> {
    let env = Env::new();
    let delay = |s: &str| {
        if s == slow {
            Duration::from_millis(700)
        } else {
            Duration::ZERO
        }
    };
    mutable_route(
        &env,
        "/a.xml",
        rss_item(
            "甲的标题",
            CODE_LINK,
            "a-1",
            "Mon, 10 Jan 2022 16:57:30 +0800",
            "",
        ),
        delay("a"),
    );
    mutable_route(
        &env,
        "/b.xml",
        rss_item(
            "乙的标题",
            SHARE_LINK,
            "b-1",
            "Mon, 10 Jan 2022 17:00:00 +0800",
            "<author>乙的记者</author>",
        ),
        delay("b"),
    );
    let cfg = env.source("甲", "a", "/a.xml") + &env.source("乙", "b", "/b.xml");
    env.write_config(&cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The slow source's poll really finished last.
    let fetched: Vec<String> = env.strings("SELECT source FROM fetches ORDER BY id");
    assert_eq!(
        fetched.last().map(String::as_str),
        Some(slow),
        "{fetched:?}"
    );
    env.strings(
        "SELECT source || '|' || url || '|' || canonical_url || '|' || guid || '|' || title || '|' ||
                COALESCE(author, '-') || '|' || published_at || '|' || COALESCE(summary, '-') FROM posts",
    )
}

#[test]
fn which_source_owns_a_post_follows_configuration_order_not_timing() {
    let a_last = one_run_two_sources("a");
    let b_last = one_run_two_sources("b");
    assert_eq!(a_last, b_last);
    assert_eq!(a_last.len(), 1);
    assert!(
        a_last[0].starts_with("a|http://finance.eastmoney.com/a/202201102242232593.html|"),
        "{a_last:?}"
    );
    assert!(
        a_last[0].contains("|甲的标题|乙的记者|2022-01-10T16:57:30+08:00|"),
        "{a_last:?}"
    );
}

#[test]
fn a_later_list_with_the_media_fills_the_origin() {
    // The seed's rolling list knows no media; the 要闻 list names it.
    let env = Env::new();
    let rolling = r#"{"records":[{"infoCode":"NW202201102242232593","title":"滚动里的标题","showtime":"2022-01-10 16:57:30"}]}"#;
    let yaowen = r#"{"records":[{"infoCode":"NW202201102242232593","title":"要闻里的标题","showtime":"2022-01-10 16:57:30","from":"21世纪经济报道"}]}"#;
    let r = rolling.to_string();
    env.route("/rolling.json", move |_| {
        Response::ok("application/json", r.clone())
    });
    let y = Arc::new(Mutex::new(String::from(r#"{"records":[]}"#)));
    let y2 = Arc::clone(&y);
    env.route("/yaowen.json", move |_| {
        Response::ok("application/json", y2.lock().unwrap().clone())
    });
    let list = |name: &str, slug: &str, path: &str| {
        format!(
            "{}kind = \"json\"\n[sources.items]\npath = \"/records\"\nid = \"infoCode\"\ntitle = \"title\"\n\
             link = \"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={{infoCode}}\"\npublished = \"showtime\"\norigin = \"from\"\n",
            env.source(name, slug, path)
        )
    };
    let cfg = list("滚动", "rolling", "/rolling.json") + &list("要闻", "yaowen", "/yaowen.json");
    env.write_config(&cfg);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    *y.lock().unwrap() = yaowen.to_string();
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.strings("SELECT title || '|' || origin FROM posts"),
        ["滚动里的标题|21世纪经济报道"]
    );
    // Exported under the media, and its category page titled as the seed did.
    let out = env.dir.path().join("site/_posts");
    let cats = env.dir.path().join("site/category");
    env.export_jekyll(&out, &cats);
    let post = std::fs::read_to_string(out.join("2022-01-10-202201102242232593.md")).unwrap();
    assert!(
        post.contains("categories: 21shijijingjibaodao\ntags: 21世纪经济报道新闻\n"),
        "{post}"
    );
    assert_eq!(
        std::fs::read_to_string(cats.join("21shijijingjibaodao.html")).unwrap(),
        "---\nlayout: category\ntitle: 21Shijijingjibaodao\ncategory: 21shijijingjibaodao\n---"
    );
}

// ---------------------------------------------------------------------------
// 2. Whole feeds a strict parser loses

#[test]
fn rss_090_in_netscapes_namespace() {
    let env = crawl_fixture("rss090.rdf", "application/rdf+xml");
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 5);
    assert_eq!(
        env.strings("SELECT url FROM posts WHERE title = 'Bugzilla Reorganized'"),
        ["http://www.mozilla.org/bugs/"]
    );
}

#[test]
fn rss_2_in_the_userland_namespace() {
    let env = crawl_fixture("userland.xml", RSS);
    // Three items on the 2002/09/29 page, told apart by their fragments.
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 4);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE canonical_url LIKE '%/2002/09/29#%'"),
        3
    );
    crawl_again_adds_nothing(&env);
}

#[test]
fn microsoft_cdf_channels() {
    // Upper-case CDF, items in the channel and in a channel inside it.
    let env = crawl_fixture("cdf.xml", "application/x-cdf");
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 4);
    assert_eq!(
        env.strings(
            "SELECT title || '|' || summary || '|' || published_at FROM posts
             WHERE url = 'http://www.cnnfn.example.com/markets/9811/05/stocks/'"
        ),
        [
            "Dow ends at record close|Blue chips rally for a third day as investors bet on another rate cut & bond yields fall.|1998-11-05T21:40:00-05:00"
        ]
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE url LIKE 'http://www.cnnfn.example.com/world/9811/05/%'"),
        2
    );
    crawl_again_adds_nothing(&env);
}

#[test]
fn json_feed_read_leniently() {
    let env = crawl_fixture("jsonfeed_lenient.json", "application/feed+json");
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 3);
    assert_eq!(
        env.strings(
            "SELECT guid FROM posts WHERE url = 'https://df.example.com/linked/2017/05/16/numbers'"
        ),
        ["42"]
    );
    assert_eq!(
        env.strings("SELECT url FROM posts WHERE guid = 'tag:df.example.com,2017:3'"),
        ["https://other.example.org/story"]
    );
}

#[test]
fn atom_03_plain_escaped_and_inline_content() {
    let env = crawl_fixture("atom03_plain.xml", ATOM);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 3);
    assert_eq!(
        env.strings("SELECT content_text FROM posts WHERE title = 'Atom 0.3 snapshot'"),
        ["1 < 2, said the plain text; it is not markup."]
    );
    assert_eq!(
        env.strings("SELECT content_html FROM posts WHERE title = 'An XHTML entry'"),
        ["<p>Inline <b>XHTML</b>.</p>"]
    );
    assert_eq!(
        env.strings("SELECT published_at FROM posts WHERE title = 'Atom 0.3 snapshot'"),
        ["2003-12-13T08:29:29-04:00"]
    );
}

#[test]
fn an_unclosed_element_loses_no_item() {
    let env = crawl_fixture("unclosed_category.xml", RSS);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 5);
    assert_eq!(
        env.strings("SELECT content_text FROM posts WHERE title = 'Tech Talk 3'"),
        ["Episode 3."]
    );
}

#[test]
fn a_document_that_holds_items_but_yields_none_is_an_error() {
    let env = Env::new();
    env.route("/cut.xml", |_| {
        Response::ok(
            RSS,
            "<rss version=\"2.0\"><channel><title>t</title><item><title>cut off in the mid",
        )
    });
    env.write_config(&env.source("截断", "cut", "/cut.xml"));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let errors = env.strings("SELECT outcome || ': ' || error FROM fetches");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("error: "), "{errors:?}");
    assert!(
        errors[0].contains("none of its 1 items could be read"),
        "{errors:?}"
    );
}

// ---------------------------------------------------------------------------
// 3. Links, ids and dates

#[test]
fn a10_links_in_rss_items() {
    let env = crawl_fixture("dotnet_a10.xml", RSS);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 3);
    let base = env.base().to_string();
    assert_eq!(
        env.strings("SELECT url FROM posts ORDER BY id"),
        [
            "https://news.contoso.example/articles/quarterly-results".to_string(),
            "https://news.contoso.example/articles/new-ceo".to_string(),
            format!("{base}/articles/dividend"),
        ]
    );
    assert_eq!(
        env.strings("SELECT published_at FROM posts WHERE guid = 'b6f1e8a0-2'"),
        ["2023-04-26T09:30:00+08:00"]
    );
}

#[test]
fn the_first_http_alternate_is_the_link() {
    let env = crawl_fixture("gemini_first.atom", ATOM);
    assert_eq!(
        env.strings("SELECT url FROM posts ORDER BY id"),
        [
            "https://capsule.example.net/2024-02-01-notes.html",
            "https://capsule.example.net/2024-01-15-tools.html"
        ]
    );
}

#[test]
fn rss_1_rdf_about_is_the_guid() {
    let env = crawl_fixture("rss10_about.rdf", "application/rdf+xml");
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 3);
    assert_eq!(
        env.strings("SELECT guid || ' ' || COALESCE(url, '-') FROM posts ORDER BY id"),
        [
            "http://slashdot.example.org/story/05/03/01/1 http://slashdot.example.org/story/05/03/01/1?from=rss",
            "http://slashdot.example.org/story/05/03/01/2 http://slashdot.example.org/story/05/03/01/2",
            "urn:x-story:3 -"
        ]
    );
    assert_eq!(
        env.strings("SELECT author FROM posts WHERE title = 'First story'"),
        ["timothy"]
    );
}

#[test]
fn dates_as_real_feeds_write_them() {
    let env = crawl_fixture("dates.xml", RSS);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 7);
    assert_eq!(
        env.strings("SELECT published_at FROM posts ORDER BY url"),
        [
            "2011-07-25T01:30:00-05:00",
            "2011-01-11T01:30:00Z",
            "2023-12-16T14:02:33+08:00",
            "2002-10-02T13:00:00Z",
            "2002-10-02T14:00:00Z",
            "2002-10-02T15:00:00Z",
            "2002-10-02T16:00:00Z",
        ]
    );
    assert_eq!(
        env.strings("SELECT url FROM posts WHERE title = 'comments first'"),
        ["http://dates.example.com/7"]
    );
}

// ---------------------------------------------------------------------------
// 4. The seed system's lists

#[test]
fn skipped_list_items_are_not_a_failing_source() {
    let env = Env::new();
    let list = r#"{"records":[
        {"infoCode":"NW202201102242232593","title":"有代码","showtime":"2022-01-10 16:57:30"},
        {"title":"没有代码","showtime":"2022-01-10 16:58:00"}]}"#;
    env.route("/list.json", move |_| {
        Response::ok("application/json", list)
    });
    let cfg = format!(
        "{}kind = \"json\"\n[sources.items]\npath = \"/records\"\nid = \"infoCode\"\ntitle = \"title\"\n\
         link = \"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={{infoCode}}\"\npublished = \"showtime\"\n",
        env.source("滚动", "rolling", "/list.json")
    );
    env.write_config(&cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = stderr(&out);
    assert!(!log.contains("source failing"), "{log}");
    assert_eq!(log.matches("1 of 2 items skipped").count(), 1, "{log}");
    assert_eq!(
        env.count("SELECT failures FROM sources WHERE slug = 'rolling'"),
        0
    );
    assert_eq!(env.strings("SELECT outcome FROM fetches"), ["ok"]);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 1);
}

// ---------------------------------------------------------------------------
// Upgrading

/// A database written by the previous rule (schema 5) holds the merged
/// posts: one per homepage spelling, one per day page, one for all the
/// description-only items. After the upgrade the items it lost are added
/// and the posts it had are found again, not stored a second time.
/// (SQLite: no PostgreSQL database had that schema.)
#[test]
fn an_old_database_gains_the_merged_items_and_duplicates_none() {
    let env = Env::sqlite();
    let mut cfg = String::new();
    for (slug, name, ct) in [
        ("p", "podcast_homepage.xml", RSS),
        ("d", "day_page_fragments.xml", RSS),
        ("q", "description_only.xml", RSS),
    ] {
        let body = fixture(&format!("conformance/{name}"), env.base());
        env.route(&format!("/{name}"), move |_| Response::ok(ct, body.clone()));
        cfg += &env.source(slug, slug, &format!("/{name}"));
    }
    env.write_config(&cfg);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 30);

    // Rewrite it into what version 5 stored for the same documents.
    use sha2::Digest;
    let legacy: String = sha2::Sha256::digest(b"\0")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    env.db()
        .execute_batch(&format!(
            "DROP TRIGGER posts_story_update; DROP TRIGGER posts_story_delete;
             DROP TABLE story_signatures; DROP INDEX posts_story; ALTER TABLE posts DROP COLUMN story_id;
             DROP TABLE stories;
             DROP TABLE enclosures; DROP TABLE blocked_items; ALTER TABLE fetches DROP COLUMN blocked;
             DROP TRIGGER posts_changed_insert; DROP TRIGGER posts_changed_update;
             DROP TABLE post_changes; DROP TABLE export_cursors;
             DELETE FROM posts WHERE source = 'p' AND id NOT IN (SELECT MIN(id) FROM posts WHERE source = 'p' GROUP BY url);
             UPDATE posts SET canonical_url = url WHERE source = 'p';
             DELETE FROM posts WHERE source = 'd' AND id NOT IN
                (SELECT MIN(id) FROM posts WHERE source = 'd' GROUP BY substr(url, 1, instr(url, '#') - 1));
             UPDATE posts SET canonical_url = substr(url, 1, instr(url, '#') - 1) WHERE source = 'd';
             DELETE FROM posts WHERE source = 'q' AND id <> (SELECT MIN(id) FROM posts WHERE source = 'q');
             UPDATE posts SET canonical_url = 'urn:newscrawl:q:sha256:{legacy}' WHERE source = 'q';
             ALTER TABLE sources DROP COLUMN position;
             DROP INDEX posts_published_utc;
             ALTER TABLE posts DROP COLUMN published_utc;
             CREATE INDEX posts_published_at ON posts(published_at);
             ALTER TABLE sources DROP COLUMN removed_at;
             ALTER TABLE fetches DROP COLUMN kind;
             DROP TABLE fts_stale;
             PRAGMA user_version = 5;"
        ))
        .unwrap();
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 2 + 3 + 1);
    let kept = env.strings("SELECT id || ' ' || COALESCE(guid, title, '') FROM posts ORDER BY id");

    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.count("PRAGMA user_version"), 13);
    // The posts it had, stored before stories, have theirs too.
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE story_id IS NULL"),
        0
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts p JOIN story_signatures s ON s.post_id = p.id"),
        30
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 30);
    // Every post, old or new, is in the change feed once.
    assert_eq!(
        env.count("SELECT COUNT(DISTINCT post_id) FROM post_changes"),
        30
    );
    for k in &kept {
        let (id, _) = k.split_once(' ').unwrap();
        assert_eq!(
            env.strings(&format!(
                "SELECT id || ' ' || COALESCE(guid, title, '') FROM posts WHERE id = {id}"
            )),
            std::slice::from_ref(k),
            "a post of the old database is still itself"
        );
    }
    crawl_again_adds_nothing(&env);
}
