//! The fetcher through the real binary: compression and the body cap,
//! redirects, both validators, and when validators are saved.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::{Env, code, fixture, stderr};
use crate::server::Response;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_bodies_are_decoded_and_a_gzip_bomb_is_cut_at_max_body() {
    let env = Env::new();
    let feed = gzip(&fixture("rss.xml", env.base()));
    env.route("/gz.xml", move |_| {
        Response::ok("application/rss+xml", feed.clone()).header("Content-Encoding", "gzip")
    });
    // 64 MiB of zeros in about 64 KiB: far over max_body once inflated.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20);
    env.route("/bomb.xml", move |_| {
        Response::ok("application/rss+xml", bomb.clone()).header("Content-Encoding", "gzip")
    });
    let mut cfg = String::from("[crawler]\nmax_body = \"1MiB\"\n");
    cfg += &env.source("压缩", "gz", "/gz.xml");
    cfg += &env.source("炸弹", "bomb", "/bomb.xml");
    env.write_config(&cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'gz'"),
        4
    );
    let err: String = env.row("SELECT error FROM fetches WHERE source = 'bomb'", &[]);
    assert!(err.contains("1048576-byte limit"), "{err}");
}

#[test]
fn redirects_are_followed_up_to_ten() {
    let env = Env::new();
    env.serve_fixture("/final.xml", "feed.json", "application/feed+json");
    for i in 0..3 {
        let next = if i == 2 {
            "/final.xml".to_string()
        } else {
            format!("/hop{}", i + 1)
        };
        env.route(&format!("/hop{i}"), move |_| {
            Response::status(302).header("Location", &next)
        });
    }
    env.route("/loop", |_| {
        Response::status(301).header("Location", "/loop")
    });
    env.route("/ftp", |_| {
        Response::status(302).header("Location", "ftp://127.0.0.1/feed.xml")
    });
    let mut cfg = env.source("跳转", "hops", "/hop0");
    cfg += &env.source("循环", "loop", "/loop");
    cfg += &env.source("FTP", "ftp", "/ftp");
    env.write_config(&cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'hops'"),
        2
    );
    // A loop stops after 10 redirects: 11 requests in all.
    assert_eq!(env.server.requests_to("/loop").len(), 11);
    let errors = env.strings("SELECT error FROM fetches WHERE outcome = 'error' ORDER BY source");
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0].contains("scheme other than http"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("more than 10 redirects"),
        "{}",
        errors[1]
    );
}

#[test]
fn last_modified_is_sent_back_as_if_modified_since() {
    let env = Env::new();
    let body = fixture("atom.xml", env.base());
    let lm = "Tue, 11 Jan 2022 04:00:00 GMT";
    env.route("/lm.xml", move |req| {
        if req.headers.get("if-modified-since").map(String::as_str) == Some(lm) {
            Response::status(304)
        } else {
            Response::ok("application/atom+xml", body.clone()).header("Last-Modified", lm)
        }
    });
    env.write_config(&env.source("LM", "lm", "/lm.xml"));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(
        env.strings("SELECT outcome FROM fetches ORDER BY id"),
        ["ok", "not_modified"]
    );
    assert_eq!(env.strings("SELECT last_modified FROM sources"), [lm]);
}

#[test]
fn validators_are_saved_only_after_the_body_parsed() {
    let env = Env::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let good = fixture("rss.xml", env.base());
    env.route("/flip.xml", move |req| {
        // First a broken body with an ETag; the ETag must not be sent back.
        match seen.fetch_add(1, Ordering::SeqCst) {
            0 => Response::ok("application/rss+xml", "<html>oops</html>")
                .header("ETag", "\"broken\""),
            _ => {
                assert_eq!(
                    req.headers.get("if-none-match"),
                    None,
                    "validators of an unparsed body were saved"
                );
                Response::ok("application/rss+xml", good.clone()).header("ETag", "\"good\"")
            }
        }
    });
    env.write_config(&env.source("翻转", "flip", "/flip.xml"));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 1);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM sources WHERE etag IS NULL"),
        1
    );
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(env.strings("SELECT etag FROM sources"), ["\"good\""]);
    assert_eq!(env.server.requests_to("/flip.xml").len(), 2);
}

#[test]
fn a_newer_update_replaces_the_post_in_place() {
    let env = Env::new();
    let version = Arc::new(AtomicUsize::new(1));
    let v = version.clone();
    let base = env.base().to_string();
    env.route("/live.xml", move |_| {
        let (title, updated) = match v.load(Ordering::SeqCst) {
            1 => ("初稿标题", "2022-01-10T16:00:00+08:00"),
            _ => ("更正后的标题", "2022-01-10T18:30:00+08:00"),
        };
        let body = format!(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id>
<entry><id>e1</id><title>{title}</title><link href="{base}/news/live.html"/>
<published>2022-01-10T16:00:00+08:00</published><updated>{updated}</updated><content type="html">&lt;p&gt;{title}&lt;/p&gt;</content></entry></feed>"#
        );
        Response::ok("application/atom+xml", body)
    });
    env.write_config(
        &("[crawler]\nuser_agent = \"newscrawl-test/1\"\n".to_string()
            + &env.source("直播", "live", "/live.xml")),
    );
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let (id1, t1): (i64, String) = env.row("SELECT id, title FROM posts", &[]);
    assert_eq!(t1, "初稿标题");
    version.store(2, Ordering::SeqCst);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let row: (i64, String, String, String) =
        env.row("SELECT id, title, updated_at, content_text FROM posts", &[]);
    assert_eq!(
        row,
        (
            id1,
            "更正后的标题".into(),
            "2022-01-10T18:30:00+08:00".into(),
            "更正后的标题".into()
        )
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 1);
    assert_eq!(env.matches("更正后"), 1);
    assert_eq!(env.matches("初稿标"), 0);
    // The configured User-Agent replaces the default.
    assert!(
        env.server
            .requests()
            .iter()
            .all(|r| r.headers.get("user-agent").map(String::as_str) == Some("newscrawl-test/1"))
    );
}

#[test]
fn a_permanent_redirect_moves_the_source_a_temporary_one_does_not() {
    let env = Env::new();
    env.serve_fixture("/new.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/elsewhere.xml", "gbk.xml", "text/xml");
    env.route("/old.xml", |_| {
        Response::status(301).header("Location", "/new.xml")
    });
    env.route("/temp.xml", |_| {
        Response::status(302).header("Location", "/elsewhere.xml")
    });
    env.write_config(
        &(env.source("搬家", "moved", "/old.xml") + &env.source("临时", "temp", "/temp.xml")),
    );
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("feed moved permanently"),
        "{}",
        stderr(&out)
    );
    let base = env.base();
    assert_eq!(
        env.strings("SELECT url FROM sources ORDER BY slug"),
        [format!("{base}/new.xml"), format!("{base}/temp.xml")]
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'moved'"),
        4
    );
    // Next time the new address is asked directly (and conditionally); the temporary one is not.
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(env.server.requests_to("/old.xml").len(), 1);
    let news = env.server.requests_to("/new.xml");
    assert_eq!(news.len(), 2);
    assert!(news[1].headers.contains_key("if-none-match"));
    assert_eq!(env.server.requests_to("/temp.xml").len(), 2);
    // Editing the configured URL takes over again.
    env.write_config(
        &(env.source("搬家", "moved", "/elsewhere.xml") + &env.source("临时", "temp", "/temp.xml")),
    );
    assert_eq!(code(&env.run(&["crawl", "--once", "--source", "moved"])), 0);
    assert_eq!(
        env.strings("SELECT url FROM sources WHERE slug = 'moved'"),
        [format!("{base}/elsewhere.xml")]
    );
    assert!(
        !env.server
            .requests_to("/elsewhere.xml")
            .last()
            .unwrap()
            .headers
            .contains_key("if-none-match")
    );
}

#[test]
fn retry_after_holds_a_source_back() {
    let env = Env::new();
    env.route("/busy.xml", |_| {
        Response::status(503).header("Retry-After", "3600")
    });
    let later = (chrono::Utc::now() + chrono::Duration::hours(2))
        .to_rfc2822()
        .replace("+0000", "GMT");
    env.route("/limited.xml", move |_| {
        Response::status(429).header("Retry-After", &later)
    });
    env.route("/plain503.xml", |_| Response::status(503));
    let mut cfg = env.source("忙", "busy", "/busy.xml");
    cfg += &env.source("限流", "limited", "/limited.xml");
    cfg += &env.source("无提示", "plain", "/plain503.xml");
    env.write_config(&cfg);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 1);
    let held = env.strings("SELECT slug FROM sources WHERE hold_until > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+50 minutes') ORDER BY slug");
    assert_eq!(held, ["busy", "limited"]);
    // The next run leaves the held sources alone; the one without Retry-After is asked again.
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(env.server.requests_to("/busy.xml").len(), 1);
    assert_eq!(env.server.requests_to("/limited.xml").len(), 1);
    assert_eq!(env.server.requests_to("/plain503.xml").len(), 2);
    // Once the time has passed, it is polled again.
    env.execute("UPDATE sources SET hold_until = '2000-01-01T00:00:00Z'");
    env.run(&["crawl", "--once"]);
    assert_eq!(env.server.requests_to("/busy.xml").len(), 2);
}

#[test]
fn an_unconditional_fetch_every_twelve_hours() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.write_config(&env.source("财经", "rss", "/rss.xml"));
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    env.execute("UPDATE sources SET last_unconditional_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-13 hours')");
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let conditional: Vec<bool> = env
        .server
        .requests_to("/rss.xml")
        .iter()
        .map(|r| r.headers.contains_key("if-none-match"))
        .collect();
    assert_eq!(conditional, [false, true, false, true]);
    assert_eq!(
        env.strings("SELECT outcome FROM fetches ORDER BY id"),
        ["ok", "not_modified", "ok", "not_modified"]
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 4);
}

#[test]
fn host_delay_spaces_requests_to_one_host() {
    let env = Env::new();
    let mut cfg = String::from("[crawler]\nper_host = 4\nhost_delay = \"300ms\"\n");
    for i in 0..4 {
        env.serve_fixture(&format!("/f{i}.json"), "feed.json", "application/feed+json");
        cfg += &env.source(&format!("源{i}"), &format!("s{i}"), &format!("/f{i}.json"));
    }
    env.write_config(&cfg);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let mut at: Vec<std::time::Instant> = env.server.requests().iter().map(|r| r.at).collect();
    at.sort();
    assert_eq!(at.len(), 4);
    for w in at.windows(2) {
        let gap = w[1] - w[0];
        // The delay is kept between request starts; allow for the clock's and the accept loop's grain.
        assert!(gap >= std::time::Duration::from_millis(280), "{gap:?}");
    }
}

/// A `Retry-After` too large for the clock holds the source for at most a
/// week, and the healthy sources polled beside it are stored (it panicked
/// the whole run: `DateTime + TimeDelta overflowed`).
#[test]
fn an_absurd_retry_after_is_clamped_and_stays_with_its_source() {
    let env = Env::new();
    env.route("/absurd.xml", |_| {
        Response::status(503).header("Retry-After", "100000000000000")
    });
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    let mut cfg = env.source("荒谬", "absurd", "/absurd.xml");
    cfg += &env.source("财经", "rss", "/rss.xml");
    env.write_config(&cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'rss'"),
        4
    );
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM sources WHERE slug = 'absurd'
               AND hold_until > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+6 days')
               AND hold_until < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+8 days')"
        ),
        1
    );
}

/// A panic inside one source's poll (made by a hook that debug builds
/// have) is that source's error: recorded and counted, and every other
/// source is still polled and stored, in `--once` as in the daemon.
#[test]
fn a_panic_in_one_poll_is_that_sources_error() {
    let env = Env::new();
    env.serve_fixture("/rss.xml", "rss.xml", "application/rss+xml");
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    let mut cfg = env.source("财经", "rss", "/rss.xml");
    cfg += &env.source("坏掉", "broken", "/feed.json");
    env.write_config(&cfg);
    let out = env
        .command()
        .env("NEWSCRAWL_TEST_PANIC_IN_POLL", "broken")
        .arg("--config")
        .arg(env.config_path())
        .args(["crawl", "--once"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'rss'"),
        4
    );
    assert_eq!(
        env.strings("SELECT last_error FROM sources WHERE slug = 'broken' AND failures = 1"),
        [
            "internal error while polling (a bug; please report it): test hook: a panic in the poll of broken"
        ]
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE source = 'broken' AND outcome = 'error'"),
        1
    );
}
