//! Hostile and broken responses, one source each, beside a healthy source in
//! the same run: each faulty source fails (or degrades) alone, with a clear
//! `fetches` row, and the healthy one is stored.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::harness::{Env, code, fixture, stderr};
use crate::server::Response;

fn rss_items(n: usize, base: &str) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>",
    );
    for i in 0..n {
        s += &format!(
            "<item><title>第{i}条 新闻标题</title><link>{base}/many/{i}.html</link><guid>g{i}</guid><pubDate>Mon, 10 Jan 2022 16:57:30 +0800</pubDate><description>摘要 {i}</description></item>"
        );
    }
    s += "</channel></rss>";
    s.into_bytes()
}

#[test]
fn every_fault_fails_alone() {
    let env = Env::new();
    let base = env.base().to_string();
    env.serve_fixture("/good.xml", "rss.xml", "application/rss+xml");
    // Headers, then one byte a second: the timeout fires.
    env.route("/trickle.xml", |_| {
        Response::ok("application/rss+xml", vec![b' '; 120]).trickle(Duration::from_secs(1))
    });
    // A body shorter than its Content-Length.
    env.route("/short.xml", |_| {
        Response::ok("application/rss+xml", "<rss version=\"2.0\"><channel>")
            .content_length(100_000)
    });
    // A gzip bomb: 1 GiB of zeros in 1 MiB, cut at max_body.
    let bomb = fixture("bomb-1gib.gz", &base);
    env.route("/bomb.xml", move |_| {
        Response::ok("application/rss+xml", bomb.clone()).header("Content-Encoding", "gzip")
    });
    // 64 MiB: over the 16 MiB default max_body.
    env.route("/huge.xml", |_| {
        Response::ok("application/rss+xml", vec![b' '; 64 << 20])
    });
    env.route("/e500.xml", |_| Response::status(500));
    env.route("/e503.xml", |_| {
        Response::status(503).header("Retry-After", "120")
    });
    env.route("/e429.xml", |_| {
        Response::status(429).header("Retry-After", "120")
    });
    env.route("/empty.xml", |_| {
        Response::ok("application/rss+xml", Vec::new())
    });
    // Entity expansion ("billion laughs") and an external entity.
    env.route("/laughs.xml", |_| {
        let mut s = String::from("<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY lol \"lol\">");
        s += "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">";
        for i in 2..10 {
            let prev = format!("&lol{};", i - 1).repeat(10);
            s += &format!("<!ENTITY lol{i} \"{prev}\">");
        }
        s += "]><rss version=\"2.0\"><channel><title>t</title><item><title>&lol9;</title><link>http://laughs.example/1</link></item></channel></rss>";
        Response::ok("application/rss+xml", s)
    });
    env.route("/xxe.xml", |_| {
        Response::ok(
            "application/rss+xml",
            "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><rss version=\"2.0\"><channel><title>t</title><item><title>外部实体 &xxe;</title><link>http://xxe.example/1</link></item></channel></rss>",
        )
    });
    // Invalid UTF-8 in a feed that declares UTF-8, and NUL and control characters.
    env.route("/badutf8.xml", |_| {
        let mut b = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title><item><title>".to_vec();
        b.extend_from_slice("坏的".as_bytes());
        b.extend_from_slice(b"\xff\xfe\x00\x01\x07\x1b");
        b.extend_from_slice("字节".as_bytes());
        b.extend_from_slice(b"</title><link>http://badutf8.example/1</link></item><item><title>ok</title><link>http://badutf8.example/2</link></item></channel></rss>");
        Response::ok("application/rss+xml; charset=utf-8", b)
    });
    let many = rss_items(20_000, &base);
    env.route("/many.xml", move |_| {
        Response::ok("application/rss+xml", many.clone())
    });
    // Article pages: nested 100,000 deep, and one that never closes its tags.
    let deep_list = format!(
        "<rss version=\"2.0\"><channel><title>t</title><item><title>深</title><link>{base}/deep.html</link><description>摘要仍在</description></item><item><title>不闭合</title><link>{base}/unclosed.html</link></item></channel></rss>"
    );
    env.route("/pages.xml", move |_| {
        Response::ok("application/rss+xml", deep_list.clone())
    });
    env.route("/deep.html", |_| {
        Response::ok(
            "text/html",
            format!(
                "<html><body>{}<p>深</p>{}</body></html>",
                "<div>".repeat(100_000),
                "</div>".repeat(100_000)
            ),
        )
    });
    env.route("/unclosed.html", |_| {
        Response::ok(
            "text/html",
            "<html><head><meta charset=utf-8><body><div class=main><p>第一段没有结束标签，文字继续，这一段足够长，可以当作正文。<p>第二段也没有结束标签，内容继续写下去，依然是正文的一部分。<div><span><b>粗体",
        )
    });

    let mut cfg = String::from("[crawler]\ntimeout = \"3s\"\nmax_items = 20000\n");
    for (slug, path) in [
        ("good", "/good.xml"),
        ("trickle", "/trickle.xml"),
        ("short", "/short.xml"),
        ("huge", "/huge.xml"),
        ("bomb", "/bomb.xml"),
        ("e500", "/e500.xml"),
        ("e503", "/e503.xml"),
        ("e429", "/e429.xml"),
        ("empty", "/empty.xml"),
        ("laughs", "/laughs.xml"),
        ("xxe", "/xxe.xml"),
        ("badutf8", "/badutf8.xml"),
        ("many", "/many.xml"),
    ] {
        cfg += &env.source(slug, slug, path);
    }
    cfg += &format!(
        "{}follow = \"link\"\n",
        env.source("pages", "pages", "/pages.xml")
    );
    env.write_config(&cfg);

    let started = Instant::now();
    let out = env.run(&["crawl", "--once"]);
    let took = started.elapsed();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    // The trickle source times out at 3 s; nothing else holds the run up.
    assert!(took < Duration::from_secs(20), "{took:?}");

    let row = |slug: &str| -> (String, Option<i64>, i64, String) {
        env.row("SELECT outcome, http_status, items, COALESCE(error, '') FROM fetches WHERE source = ?1 ORDER BY id LIMIT 1", &[slug])
    };
    let posts = |slug: &str| {
        env.count(&format!(
            "SELECT COUNT(*) FROM posts WHERE source = '{slug}'"
        ))
    };

    assert_eq!(row("good").0, "ok");
    assert_eq!(posts("good"), 4);

    let expect_error = |slug: &str, status: Option<i64>, words: &[&str]| {
        let (outcome, st, _, err) = row(slug);
        assert_eq!(outcome, "error", "{slug}: {err}");
        assert_eq!(st, status, "{slug}: {err}");
        assert!(
            err.contains(&format!("{base}/")),
            "{slug}: the error names the URL: {err}"
        );
        for w in words {
            assert!(err.contains(w), "{slug}: {err:?} lacks {w:?}");
        }
        assert_eq!(posts(slug), 0, "{slug}");
    };
    expect_error("trickle", None, &["timed out"]);
    expect_error("short", None, &[]);
    expect_error("huge", None, &["16777216-byte limit"]);
    expect_error("bomb", None, &["16777216-byte limit"]);
    expect_error("e500", Some(500), &["HTTP 500"]);
    expect_error("e503", Some(503), &["HTTP 503"]);
    expect_error("e429", Some(429), &["HTTP 429"]);
    expect_error("empty", Some(200), &["not a feed"]);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM sources WHERE hold_until IS NOT NULL"),
        2,
        "503 and 429 hold their sources back"
    );

    // Entities: no expansion blow-up, no file read. The feed either fails
    // cleanly or keeps its item with the entity unexpanded.
    for slug in ["laughs", "xxe"] {
        let (outcome, _, _, err) = row(slug);
        assert!(
            outcome == "ok" || err.contains("not a feed"),
            "{slug}: {outcome} {err}"
        );
    }
    let titles =
        env.strings("SELECT COALESCE(title, '') FROM posts WHERE source IN ('laughs', 'xxe')");
    for t in &titles {
        assert!(t.len() < 200, "no expansion: {t}");
        assert!(!t.contains("root:"), "no file read: {t}");
    }

    // Invalid UTF-8: decoded lossily, both items kept; control characters gone.
    assert_eq!(row("badutf8").0, "ok");
    let t = env.strings("SELECT title FROM posts WHERE source = 'badutf8' ORDER BY id");
    assert_eq!(t.len(), 2);
    assert!(
        t[0].starts_with("坏的") && t[0].ends_with("字节"),
        "{:?}",
        t[0]
    );
    assert!(!t[0].chars().any(|c| c.is_control()), "{:?}", t[0]);

    // 20,000 items, all stored.
    assert_eq!(row("many").2, 20_000);
    assert_eq!(posts("many"), 20_000);

    // The page nested 100,000 deep fails alone: the post keeps the feed's text.
    let (state, text): (String, String) = env.row(
        "SELECT article_state, content_text FROM posts WHERE url = ?1",
        &[format!("{base}/deep.html").as_str()],
    );
    assert_eq!((state.as_str(), text.as_str()), ("pending", "摘要仍在"));
    let deep_err: String = env.row(
        "SELECT error FROM fetches WHERE url = ?1",
        &[format!("{base}/deep.html").as_str()],
    );
    assert!(
        deep_err.contains("nested more than 512 elements deep"),
        "{deep_err}"
    );
    // The page that never closes its tags still gives its text.
    let unclosed: String = env.row(
        "SELECT COALESCE(content_text, '') FROM posts WHERE url = ?1",
        &[format!("{base}/unclosed.html").as_str()],
    );
    let why = env.strings(&format!(
        "SELECT COALESCE(error, outcome) FROM fetches WHERE url = '{base}/unclosed.html'"
    ));
    assert!(
        unclosed.contains("第一段没有结束标签") && unclosed.contains("第二段也没有结束标签"),
        "{unclosed:?} {why:?}"
    );
}

/// Peak resident memory of a finished child, from `wait4`.
fn run_measured(mut cmd: std::process::Command) -> (i32, u64) {
    let child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain old data that wait4 fills in; `pid` is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    std::mem::forget(child);
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64 * 1024)
}

#[test]
fn a_gzip_bomb_is_cut_at_max_body_and_memory_stays_flat() {
    let env = Env::new();
    // 1 GiB of zeros in 1 MiB.
    let bomb = fixture("bomb-1gib.gz", env.base());
    assert!(bomb.len() < 1100 * 1024);
    env.route("/bomb.xml", move |_| {
        Response::ok("application/rss+xml", bomb.clone()).header("Content-Encoding", "gzip")
    });
    env.serve_fixture("/good.xml", "rss.xml", "application/rss+xml");
    let max_body: u64 = 16 << 20;
    env.write_config(&format!(
        "[crawler]\nmax_body = \"16MiB\"\n{}{}",
        env.source("炸弹", "bomb", "/bomb.xml"),
        env.source("好的", "good", "/good.xml")
    ));
    // The baseline: a run of the healthy source; then the bomb's run alone.
    let mut base_cmd = env.command();
    base_cmd
        .arg("--config")
        .arg(env.config_path())
        .args(["-q", "crawl", "--once", "--source", "good"]);
    let (code0, baseline) = run_measured(base_cmd);
    assert_eq!(code0, 0);
    let mut cmd = env.command();
    cmd.arg("--config")
        .arg(env.config_path())
        .args(["-q", "crawl", "--once", "--source", "bomb"]);
    let (code1, peak) = run_measured(cmd);
    assert_eq!(code1, 1);
    let err: String = env.row("SELECT error FROM fetches WHERE source = 'bomb'", &[]);
    assert!(err.contains("16777216-byte limit"), "{err}");
    assert!(
        peak < 2 * max_body + baseline,
        "peak {} MiB, baseline {} MiB",
        peak >> 20,
        baseline >> 20
    );
    let _ = std::io::stderr().flush();
}

/// Markup built to make an HTML parse superlinear, in a feed's titles and
/// descriptions and in the article pages it links: every item is kept (its
/// text degraded where the markup was too costly), the pages fail alone,
/// and the healthy source beside it is stored. Before the parse budget, the
/// 134 KB description alone took minutes and gigabytes.
#[test]
fn markup_that_costs_more_than_its_size_is_read_as_text() {
    let env = Env::new();
    let base = env.base().to_string();
    env.serve_fixture("/good.xml", "rss.xml", "application/rss+xml");
    let mut items = String::new();
    for (i, (name, make)) in crate::hostile::SHAPES.iter().enumerate() {
        // Escaped into the XML: the description is HTML, 134 KB of it.
        let html = make(134 << 10).replace('&', "&amp;").replace('<', "&lt;");
        items += &format!(
            "<item><title>{name} &lt;b&gt;标题&lt;/b&gt;</title><link>{base}/page/{i}.html</link>\
             <guid>hostile-{i}</guid><description>{html}&lt;p&gt;尾巴{i}&lt;/p&gt;</description></item>"
        );
    }
    let feed = format!("<rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>");
    env.route("/hostile.xml", move |_| {
        Response::ok("application/rss+xml", feed.clone())
    });
    // The page an item links: 120 KB of its shape, then an article.
    let page_of = |make: crate::hostile::Generator| {
        format!(
            "<html><body>{}<p>页面正文</p></body></html>",
            make(120 << 10)
        )
    };
    for (i, (_, make)) in crate::hostile::SHAPES.iter().enumerate() {
        let page = page_of(*make);
        env.route(&format!("/page/{i}.html"), move |_| {
            Response::ok("text/html", page.clone())
        });
    }
    env.write_config(&format!(
        "[crawler]\nallow_private_networks = true\n{}{}follow = \"link\"\n",
        env.source("好的", "good", "/good.xml"),
        env.source("恶意", "hostile", "/hostile.xml")
    ));
    let mut cmd = env.command();
    cmd.arg("--config")
        .arg(env.config_path())
        .args(["-q", "crawl", "--once"]);
    let (code, peak) = run_measured(cmd);
    assert!(code == 0 || code == 1, "exit {code}");
    assert!(peak < 512 << 20, "peak RSS {} MiB", peak >> 20);

    let n = crate::hostile::SHAPES.len() as i64;
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'hostile'"),
        n
    );
    assert!(env.count("SELECT COUNT(*) FROM posts WHERE source = 'good'") > 0);
    // Every item's text is there: its own last words included, or, where
    // the page's markup is within the extractor's budget (markup dense
    // but well formed), the page's article; titles are text.
    for (i, (name, make)) in crate::hostile::SHAPES.iter().enumerate() {
        let text = env.strings(&format!(
            "SELECT content_text FROM posts WHERE guid = 'hostile-{i}'"
        ));
        let want = if newscrawl::html::budget::check_page(&page_of(*make), false).is_ok() {
            "页面正文".to_string()
        } else {
            format!("尾巴{i}")
        };
        assert!(
            text.first().is_some_and(|t| t.contains(&want)),
            "item {i} ({name}): {:.200?}, not {want}",
            text
        );
    }
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE source = 'hostile' AND title LIKE '% 标题'"),
        n
    );
}

/// `fuzz/seeds/hostile/` holds each shape at 16 KiB, so the fuzz targets
/// start from them (`fuzz/run.sh` runs them with a time and memory limit:
/// a slow input is a crash). `NEWSCRAWL_WRITE_SEEDS=1` writes them anew.
#[test]
fn fuzz_seeds_are_the_generators_output() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/hostile");
    let write = std::env::var_os("NEWSCRAWL_WRITE_SEEDS").is_some();
    for (name, make) in crate::hostile::SHAPES {
        let path = dir.join(format!("{name}.html"));
        let want = make(16 << 10);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (NEWSCRAWL_WRITE_SEEDS=1 writes it)",
                path.display()
            )
        });
        assert!(have == want, "{} is not what {name} makes", path.display());
    }
}

/// More items than `crawler.max_items`: the newest are kept (by date, the
/// undated after them in document order), the cut is said in the fetch row
/// and at WARN, and the poll is not a failure.
#[test]
fn max_items_keeps_the_newest() {
    let env = Env::new();
    let base = env.base().to_string();
    // Twelve items, dates out of order; two without a date.
    let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title>");
    for (i, day) in [3, 11, 7, 0, 1, 12, 5, 0, 9, 2, 10, 4].iter().enumerate() {
        let date = if *day == 0 {
            String::new()
        } else {
            format!("<pubDate>{day:02} Jan 2022 08:00:00 +0800</pubDate>")
        };
        s += &format!("<item><title>第{i}条</title><link>{base}/a/{i}.html</link>{date}</item>");
    }
    s += "</channel></rss>";
    env.route("/many.xml", move |_| {
        Response::ok("application/rss+xml", s.clone())
    });
    env.write_config(&format!(
        "[crawler]\nmax_items = 5\n{}",
        env.source("很多", "many", "/many.xml")
    ));
    for _ in 0..2 {
        let out = env.run(&["crawl", "--once"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        // Once per run (a daemon says it once while it lasts).
        assert_eq!(
            stderr(&out).matches("max_items").count(),
            1,
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(
        env.strings("SELECT title FROM posts ORDER BY published_at DESC"),
        ["第5条", "第1条", "第10条", "第8条", "第2条"]
    );
    assert_eq!(
        env.strings("SELECT error FROM fetches ORDER BY id LIMIT 1"),
        ["12 items, more than crawler.max_items (5): the 7 oldest left out"]
    );
}
