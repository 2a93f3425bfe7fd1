//! JSON list sources: the shipped East Money example, run against a local
//! server shaped like the seed system's endpoints, all the way to Jekyll.

use std::collections::HashMap;
use std::path::Path;

use crate::harness::{Env, code, fixture, stderr};
use crate::server::{Request, Response};

use crate::harness::SEED_POST as SEED;

/// The query parameter `key` of a request.
fn param(req: &Request, key: &str) -> Option<String> {
    let query = req.target.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

/// Answers `path` with the fixture that `files` names for the value of the
/// query parameter `key`, with an ETag per fixture (304 when it matches).
fn serve_by_param(env: &Env, path: &str, key: &'static str, files: &[(&str, &str)]) {
    let bodies: HashMap<String, Vec<u8>> = files
        .iter()
        .map(|(v, f)| {
            (
                v.to_string(),
                fixture(&format!("eastmoney/{f}"), env.base()),
            )
        })
        .collect();
    env.route(path, move |req| {
        let Some(v) = param(req, key) else {
            return Response::status(400);
        };
        let Some(body) = bodies.get(&v) else {
            return Response::status(404);
        };
        let etag = format!("\"{key}-{v}\"");
        if req.headers.get("if-none-match") == Some(&etag) {
            return Response::status(304);
        }
        Response::ok("application/json; charset=utf-8", body.clone()).header("ETag", &etag)
    });
}

/// The shipped example, pointed at this test's server.
fn eastmoney_env() -> Env {
    let env = Env::new();
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/eastmoney.toml"),
    )
    .unwrap();
    let base = env.base().to_string();
    let config = example
        .replace("http://183.136.162.242", &base)
        .replace("http://43.240.125.15:1818", &base)
        .replace("http://choicewzp1.eastmoney.com", &base)
        .replace(
            "database = \"../../data/eastmoney.db\"",
            &format!("database = \"{}\"", env.database()),
        )
        // The test's server is on 127.0.0.1, and so are its article links.
        .replace("[crawler]\n", "[crawler]\nallow_private_networks = true\n");
    assert_ne!(config, example);
    std::fs::write(env.config_path(), config).unwrap();
    serve_by_param(
        &env,
        "/web/webapi",
        "type",
        &[("45", "nodeList.json"), ("102", "records.json")],
    );
    serve_by_param(
        &env,
        "/information/newmarket/web/webapi",
        "marketType",
        &[
            ("37", "market37.json"),
            ("38", "market38.json"),
            ("39", "market39.json"),
        ],
    );
    let articles: Vec<(String, String)> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eastmoney"))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                let code = name
                    .strip_prefix("article-")?
                    .strip_suffix(".json")?
                    .to_string();
                Some((code, name))
            })
            .collect();
    let refs: Vec<(&str, &str)> = articles
        .iter()
        .map(|(c, f)| (c.as_str(), f.as_str()))
        .collect();
    serve_by_param(&env, "/NewsData/GetNewsText.do", "id", &refs);
    env
}

#[test]
fn the_seed_system_as_one_config_file() {
    let env = eastmoney_env();
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // nodeList 3 + records 2 + market 2 + 1 + 0 items, two of them repeats: 6 posts.
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 6);
    assert_eq!(env.count("SELECT COUNT(*) FROM post_sources"), 8);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE url LIKE '%webapi%' AND outcome = 'ok'"),
        5
    );
    // Every article fetched once, by its infoCode.
    let article_reqs = env.server.requests_to("/NewsData/GetNewsText.do");
    assert_eq!(article_reqs.len(), 6);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE article_state = 'done'"),
        6
    );
    // The list's media is the origin, clean.
    assert_eq!(
        env.strings("SELECT origin FROM posts WHERE info_code = '202201102242232644'"),
        ["智通财经"]
    );

    let out_dir = env.dir.path().join("_posts");
    let cats = env.dir.path().join("category");
    env.export_jekyll(&out_dir, &cats);
    // The seed's post, byte for byte, from the seed's own kind of source.
    let seed = std::fs::read(out_dir.join("2022-01-10-202201102242232593.md")).unwrap();
    assert!(seed == SEED, "{}", String::from_utf8_lossy(&seed));
    // The others have its shape: media from the list, category in pinyin.
    let market = std::fs::read_to_string(out_dir.join("2022-01-10-202201102242232644.md")).unwrap();
    assert!(market.starts_with("---\nlayout: post\ntitle: \"港股收评：恒指涨1%\"\ndate: 2022-01-10 16:10:00 +0800\ncategories: zhitongcaijing\ntags: 智通财经新闻\n---\n<p>港股收评：恒指涨1%。这是测试用的正文第一段。</p>"), "{market}");
    assert!(market.ends_with("\n\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201102242232644>\n\n[返回智通财经新闻](//finews.withounder.com/category/zhitongcaijing.html)｜[返回首页](//finews.withounder.com/)"), "{market}");
    let rolling =
        std::fs::read_to_string(out_dir.join("2022-01-10-202201102242232633.md")).unwrap();
    assert!(
        rolling.contains("\ncategories: emnews\ntags: 东财滚动新闻\n"),
        "{rolling}"
    );
    assert!(
        rolling.contains("\n\n<http://finance.eastmoney.com/a/202201102242232633.html>\n\n"),
        "{rolling}"
    );
    assert!(cats.join("yangshixinwenkehuduan.html").exists() && cats.join("emnews.html").exists());

    // The next pass is conditional: every list answers 304 and nothing is fetched again.
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM fetches WHERE outcome = 'not_modified' AND http_status = 304"
        ),
        5
    );
    assert_eq!(env.server.requests_to("/NewsData/GetNewsText.do").len(), 6);
}

#[test]
fn bad_items_are_skipped_and_counted_bad_mappings_are_refused() {
    let env = Env::new();
    env.route("/list", |_| {
        Response::ok(
            "application/javascript",
            r#"cb({"data":{"list":[{"t":"好的","code":"1"},{"t":"没有编号"},{"code":"3"},{"t":"也好","code":"4"}]}})"#,
        )
    });
    let src = |extra: &str| {
        format!(
            "[[sources]]\nname = \"列表\"\nslug = \"list\"\nkind = \"json\"\nurl = \"{}/list\"\n[sources.items]\npath = \"/data/list\"\ntitle = \"t\"\nlink = \"http://news.example/a/{{code}}.html\"\n{extra}",
            env.base()
        )
    };
    env.write_config(&src(""));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(
        code(&out),
        0,
        "a bad item does not fail the source: {}",
        stderr(&out)
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 3);
    let (outcome, items, error): (String, i64, String) =
        env.row("SELECT outcome, items, error FROM fetches", &[]);
    assert_eq!((outcome.as_str(), items), ("ok", 3));
    assert!(
        error.starts_with("1 of 4 items skipped: item 1: link: no field \"code\""),
        "{error}"
    );
    assert!(
        stderr(&out).contains("1 of 4 items skipped"),
        "{}",
        stderr(&out)
    );

    for (extra, wants) in [
        ("id = \"{unclosed\"\n", "sources[0].items.id"),
        ("published = \"a}\"\n", "sources[0].items.published"),
    ] {
        env.write_config(&src(extra));
        let out = env.run(&["crawl", "--once"]);
        assert_eq!(code(&out), 2, "{extra}");
        assert!(stderr(&out).contains(wants), "{}", stderr(&out));
    }
    env.write_config(&src("").replace("path = \"/data/list\"", "path = \"data.list\""));
    assert!(stderr(&env.run(&["crawl", "--once"])).contains("sources[0].items.path"));
    env.write_config(&src("").replace("kind = \"json\"\n", ""));
    assert!(stderr(&env.run(&["crawl", "--once"])).contains("only for kind = \"json\""));
    env.write_config(&src("").replace("[sources.items]\npath = \"/data/list\"\ntitle = \"t\"\nlink = \"http://news.example/a/{code}.html\"\n", ""));
    assert!(stderr(&env.run(&["crawl", "--once"])).contains("needs a [sources.items] mapping"));
}
