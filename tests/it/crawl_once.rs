//! `crawl --once` end to end: formats, encodings, dedup, conditional GET,
//! failures that stay with their source, and the limits.

use std::time::Duration;

use crate::harness::{Env, code, stderr};
use crate::server::Response;

const CODE: &str = "202201102242232593";

/// RSS, Atom, JSON Feed and a GBK feed, all healthy.
fn healthy_env() -> Env {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture(
        "/atom.xml",
        "atom.xml",
        "application/atom+xml; charset=utf-8",
    );
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    // No charset in the header: the XML declaration (gb2312) must be honoured.
    env.serve_fixture("/gbk.xml", "gbk.xml", "text/xml");
    let mut cfg = String::new();
    cfg += &env.source("财经要闻", "rss", "/rss.xml");
    cfg += &env.source("东方财富", "atom", "/atom.xml");
    cfg += &env.source("JSON 新闻", "json", "/feed.json");
    cfg += &env.source("新浪财经", "gbk", "/gbk.xml");
    env.write_config(&cfg);
    env
}

#[test]
fn stores_every_format_once_and_records_every_request() {
    let env = healthy_env();
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // rss 4 + atom 3 + json 2 + gbk 2 = 11 items; the infoCode article (rss+atom)
    // and the utm article (rss+json) are one post each: 9 posts.
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 9);
    assert_eq!(env.count("SELECT COUNT(*) FROM fetches"), 4);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE outcome = 'ok' AND http_status = 200"),
        4
    );
    assert_eq!(env.count("SELECT SUM(items) FROM fetches"), 11);
    assert_eq!(env.count("SELECT SUM(new_posts) FROM fetches"), 9);

    // One article, two URL shapes, two sources: one post, both sources recorded.
    let (id, source, url): (i64, String, String) = env.row(
        "SELECT id, source, url FROM posts WHERE info_code = ?1",
        &[CODE],
    );
    let delivered: Vec<String> = env.strings(&format!(
        "SELECT source FROM post_sources WHERE post_id = {id} ORDER BY source"
    ));
    assert_eq!(delivered, ["atom", "rss"]);
    assert!(
        source == "rss" && url.ends_with("infoCode=NW202201102242232593")
            || source == "atom" && url.ends_with("/a/202201102242232593.html"),
        "{source} {url}"
    );

    // The same link with and without utm_*: one post, canonical URL without them.
    let canon = format!("{}/news/story-1.html?id=7", env.base());
    assert_eq!(
        env.count(&format!(
            "SELECT COUNT(*) FROM posts WHERE canonical_url = '{canon}'"
        )),
        1
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE canonical_url LIKE '%utm_%'"),
        0
    );
    // Fragments are not part of the identity.
    assert_eq!(
        env.count(&format!(
            "SELECT COUNT(*) FROM posts WHERE canonical_url = '{}/news/json-2.html'",
            env.base()
        )),
        1
    );

    // GBK decoded from the XML declaration alone.
    let titles = env.strings("SELECT title FROM posts WHERE source = 'gbk' ORDER BY published_at");
    assert_eq!(
        titles,
        [
            "沪深两市成交额突破万亿元",
            "央视新闻客户端：春运首日客流平稳"
        ]
    );

    // Dates keep the offset the feed gave; a naive date takes the configured zone.
    let published: String = env.row(
        "SELECT published_at FROM posts WHERE info_code = ?1",
        &[CODE],
    );
    assert_eq!(published, "2022-01-10T16:57:30+08:00");
    let naive: String = env.row(
        "SELECT published_at FROM posts WHERE guid = 'rss-guid-3'",
        &[],
    );
    assert_eq!(naive, "2022-01-11T10:00:00+08:00");

    // Relative links resolve against xml:base; images inside content too; scripts go.
    assert_eq!(
        env.count(&format!(
            "SELECT COUNT(*) FROM posts WHERE url = '{}/atom/relative/entry-3.html'",
            env.base()
        )),
        1
    );
    let html: String = env.row(
        "SELECT content_html FROM posts WHERE info_code = '202201112233445566'",
        &[],
    );
    assert_eq!(
        html,
        format!(
            "<p>央行今日开展逆回购操作。<img src=\"{}/img/chart.png\"></p>",
            env.base()
        )
    );
    let story: (String, String) = env.row(
        "SELECT content_html, content_text FROM posts WHERE canonical_url = ?1",
        &[&canon],
    );
    assert!(
        !story.0.contains("script") && !story.0.contains("track()"),
        "{}",
        story.0
    );
    assert_eq!(
        story.1,
        "国家统计局今天发布了最新的经济数据，显示消费市场继续恢复。\n\n工业生产保持稳定增长。"
    );

    // Items without a link still have stable identities.
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM posts WHERE canonical_url = 'urn:newscrawl:rss:guid:rss-guid-3'"
        ),
        1
    );
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM posts WHERE canonical_url LIKE 'urn:newscrawl:rss:sha256:%'"
        ),
        1
    );

    // Full-text search finds a Chinese word inside a sentence.
    assert_eq!(env.matches("经济数据"), 1);

    // Health columns are current.
    assert_eq!(env.count("SELECT COUNT(*) FROM sources WHERE failures = 0 AND last_success_at IS NOT NULL AND next_poll_at IS NOT NULL"), 4);
}

#[test]
fn second_pass_is_conditional_and_stores_nothing_twice() {
    let env = healthy_env();
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 9);
    assert_eq!(env.count("SELECT COUNT(*) FROM fetches"), 8);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE outcome = 'not_modified' AND http_status = 304 AND items = 0"),
        4
    );
    for path in ["/rss.xml", "/atom.xml", "/feed.json", "/gbk.xml"] {
        let reqs = env.server.requests_to(path);
        assert_eq!(reqs.len(), 2, "{path}");
        assert_eq!(
            reqs[0].headers.get("if-none-match"),
            None,
            "{path}: first request is unconditional"
        );
        let etag = format!("\"{}-v1\"", &path[1..]);
        assert_eq!(reqs[1].headers.get("if-none-match"), Some(&etag), "{path}");
        let ua = reqs[0]
            .headers
            .get("user-agent")
            .cloned()
            .unwrap_or_default();
        assert!(
            ua.starts_with("Mozilla/5.0 (compatible; newscrawl/"),
            "{ua}"
        );
        assert!(
            reqs[0]
                .headers
                .get("accept-encoding")
                .is_some_and(|e| e.contains("gzip") && e.contains("br"))
        );
    }
}

#[test]
fn a_feed_that_changes_without_validators_is_parsed_again() {
    // No ETag, no Last-Modified: every pass parses; repeats only add post_sources rows.
    let env = Env::new();
    let body = crate::harness::fixture("rss.xml", env.base());
    env.route("/plain.xml", move |_| {
        Response::ok("application/rss+xml", body.clone())
    });
    env.write_config(&(env.source("A", "a", "/plain.xml") + &env.source("B", "b", "/plain.xml")));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE outcome = 'ok'"),
        4
    );
    // The guid/hash identities are per source, the URL ones shared: 2 + 2×2 = 6.
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 6);
    assert_eq!(env.count("SELECT COUNT(*) FROM post_sources"), 8);
}

#[test]
fn broken_sources_fail_alone_and_exit_1() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/malformed.xml", "malformed.xml", "text/html");
    env.route("/big.xml", |_| {
        Response::ok("application/rss+xml", vec![b' '; 200_000])
    });
    env.route("/slow.xml", |_| {
        Response::ok("application/rss+xml", "<rss/>").delay(Duration::from_secs(4))
    });
    let mut cfg = String::from("[crawler]\ntimeout = \"2s\"\nmax_body = \"100KiB\"\n");
    cfg += &env.source("好的", "good", "/rss.xml");
    cfg += &env.source("坏的", "malformed", "/malformed.xml");
    cfg += &env.source("没有", "missing", "/missing.xml");
    cfg += &env.source("太大", "big", "/big.xml");
    cfg += &env.source("太慢", "slow", "/slow.xml");
    env.write_config(&cfg);

    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);

    // The healthy source is stored in full.
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'good'"),
        4
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 4);

    let row = |slug: &str| -> (String, Option<i64>, String) {
        env.row(
            "SELECT outcome, http_status, COALESCE(error, '') FROM fetches WHERE source = ?1",
            &[slug],
        )
    };
    assert_eq!(row("good"), ("ok".into(), Some(200), String::new()));
    let (o, s, e) = row("malformed");
    assert_eq!((o.as_str(), s), ("error", Some(200)));
    assert!(
        e.contains("/malformed.xml") && e.contains("not a feed"),
        "{e}"
    );
    let (o, s, e) = row("missing");
    assert_eq!((o.as_str(), s), ("error", Some(404)));
    assert!(e.contains("/missing.xml") && e.contains("404"), "{e}");
    let (o, _, e) = row("big");
    assert_eq!(o, "error");
    assert!(e.contains("max_body"), "{e}");
    let (o, _, e) = row("slow");
    assert_eq!(o, "error");
    assert!(e.contains("timed out"), "{e}");

    // Each failure is logged once, naming the source and URL.
    for slug in ["malformed", "missing", "big", "slow"] {
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("source failing") && l.contains(&format!("source={slug}")))
            .collect();
        assert_eq!(lines.len(), 1, "{slug}: {err}");
        assert!(lines[0].contains(env.base()), "{}", lines[0]);
    }
    assert_eq!(
        env.count("SELECT COUNT(*) FROM sources WHERE failures = 1 AND last_error IS NOT NULL"),
        4
    );

    // Still failing: counted, not logged again at WARN.
    let out = env.run(&["crawl", "--once", "--source", "missing"]);
    assert_eq!(code(&out), 1);
    assert!(!stderr(&out).contains("source failing"), "{}", stderr(&out));
    assert_eq!(
        env.count("SELECT failures FROM sources WHERE slug = 'missing'"),
        2
    );

    // Even with -q, and on a run where each failure is a repeat (logged at
    // DEBUG by its source), one WARN line names the failing sources.
    let quiet = env.run(&["-q", "crawl", "--once"]);
    assert_eq!(code(&quiet), 1, "{}", stderr(&quiet));
    let q = stderr(&quiet);
    let summary = q
        .lines()
        .find(|l| l.contains("sources failed"))
        .unwrap_or_else(|| panic!("no summary line: {q}"));
    for slug in ["malformed", "missing", "big", "slow"] {
        assert!(summary.contains(slug), "{summary}");
    }
    assert!(!summary.contains("good"), "{summary}");
}

#[test]
fn recovery_is_logged_and_resets_the_failure_count() {
    let env = Env::new();
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = up.clone();
    let body = crate::harness::fixture("rss.xml", env.base());
    env.route("/flaky.xml", move |_| {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            Response::ok("application/rss+xml", body.clone())
        } else {
            Response::status(503)
        }
    });
    env.write_config(&env.source("时好时坏", "flaky", "/flaky.xml"));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 1);
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains("source recovered"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        env.count("SELECT failures FROM sources WHERE slug = 'flaky'"),
        0
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 4);
}

#[test]
fn per_host_limit_holds_while_sources_run_concurrently() {
    let env = Env::new();
    let body = crate::harness::fixture("feed.json", env.base());
    let mut cfg = String::from("[crawler]\nconcurrency = 16\nper_host = 2\n");
    for i in 0..6 {
        let b = body.clone();
        env.route(&format!("/f{i}.json"), move |_| {
            Response::ok("application/feed+json", b.clone()).delay(Duration::from_millis(300))
        });
        cfg += &env.source(&format!("源{i}"), &format!("s{i}"), &format!("/f{i}.json"));
    }
    env.write_config(&cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.server.requests().len(), 6);
    assert_eq!(
        env.server.max_in_flight(),
        2,
        "per_host = 2 bounds what one host sees, and polls overlap"
    );
}

#[test]
fn source_flag_selects_and_disabled_sources_are_skipped() {
    let env = healthy_env();
    let mut cfg = std::fs::read_to_string(env.config_path()).unwrap();
    cfg += &format!(
        "[[sources]]\nname = \"停用\"\nslug = \"off\"\nurl = \"{}/rss.xml\"\nenabled = false\n",
        env.base()
    );
    std::fs::write(env.config_path(), cfg).unwrap();

    let out = env.run(&["crawl", "--once", "--source", "gbk", "--source", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        env.strings("SELECT DISTINCT source FROM fetches ORDER BY source"),
        ["gbk", "json"]
    );

    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE source = 'off'"),
        0
    );

    // Named explicitly, a disabled source is polled.
    assert_eq!(code(&env.run(&["crawl", "--once", "--source", "off"])), 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE source = 'off'"),
        1
    );
}

/// On a terminal (a pseudo-terminal from `script`), `crawl --once` shows a
/// progress line while it works: sources done of all, new posts; it is gone
/// when the command ends. Piped, nothing of it.
#[test]
fn a_progress_line_on_a_terminal_only() {
    use std::io::Read;
    use std::sync::{Arc, Condvar, Mutex};
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    // The second source answers once the test has seen the first one done.
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let g = gate.clone();
    let body = crate::harness::fixture("feed.json", env.base());
    env.route("/slow.json", move |_| {
        let (open, cv) = &*g;
        let guard = open.lock().unwrap();
        let _unused = cv
            .wait_timeout_while(guard, Duration::from_secs(60), |open| !*open)
            .unwrap();
        Response::ok("application/feed+json", body.clone())
    });
    env.write_config(&format!(
        "{}{}",
        env.source("快", "fast", "/rss.xml"),
        env.source("慢", "slow", "/slow.json")
    ));
    let open_gate = || {
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
    };

    let cmd = format!(
        "{} --config {} crawl --once",
        env!("CARGO_BIN_EXE_newscrawl"),
        env.config_path().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(env.dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let text = || String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !text().contains("1/2 sources") {
        if std::time::Instant::now() > deadline {
            open_gate();
            panic!("no progress line:\n{}", text());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    open_gate();
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
    let all = text();
    assert!(all.contains("new posts"), "{all}");
    // Cleared at the end: the last thing written is the summary's line.
    let tail = all.rsplit("\u{1b}[2K").next().unwrap_or_default();
    assert!(tail.contains("crawl finished"), "{tail:?}");

    // Piped: the log lines only.
    let env2 = Env::new();
    env2.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env2.write_config(&env2.source("快", "fast", "/rss.xml"));
    let o = env2.run(&["crawl", "--once"]);
    assert_eq!(code(&o), 0);
    let err = stderr(&o);
    assert!(!err.contains("sources ") && !err.contains('\r'), "{err}");
}

/// A feed whose only body is the description stores that body once as the
/// post's text and a teaser of it as the summary (not a second copy of
/// kilobytes); an item with `content:encoded` keeps its own description.
#[test]
fn a_body_given_once_is_stored_once() {
    let env = Env::new();
    let para = "央行今日开展逆回购操作，市场流动性保持合理充裕。".repeat(8);
    let body: String = (0..6).map(|_| format!("<p>{para}</p>")).collect();
    let feed = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title><link>{base}/</link>
<item><title>只有正文</title><link>{base}/a/1.html</link><description><![CDATA[{body}]]></description></item>
<item><title>正文和摘要</title><link>{base}/a/2.html</link><description>一句摘要。</description><content:encoded><![CDATA[{body}]]></content:encoded></item>
</channel></rss>"#,
        base = env.base()
    );
    env.route("/teaser.xml", move |_| {
        Response::ok("application/rss+xml", feed.clone())
    });
    env.write_config(&env.source("摘要", "teaser", "/teaser.xml"));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = env.strings("SELECT summary || '|' || content_text FROM posts ORDER BY url");
    assert_eq!(rows.len(), 2);
    let (summary, text) = rows[0].split_once('|').unwrap();
    assert!(text.chars().count() > 1000, "{text}");
    // Two paragraphs of 192 characters do not fit in 280: the first one.
    assert_eq!(summary, para);
    assert!(text.starts_with(summary));
    let (summary, text) = rows[1].split_once('|').unwrap();
    assert_eq!(summary, "一句摘要。");
    assert!(text.chars().count() > 1000);
}
