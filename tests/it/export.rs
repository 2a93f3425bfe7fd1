//! Downstream: the Jekyll exporter byte for byte against the seed through the
//! whole pipeline, templates, category pages, JSONL, OPML and pruning.

use std::path::Path;

use crate::harness::{Env, code, fixture, stderr, stdout};
use crate::server::Response;

use crate::harness::SEED_POST as SEED;
pub const SEED_FILE: &str = "2022-01-10-202201102242232593.md";

/// Serves the seed's list feed and share page; returns the configuration
/// that crawls them with selectors, `[export.jekyll]` lines (`export`)
/// included, and `more` (more sources) after it.
pub fn serve_seed(env: &Env, export: &str, more: &str) -> String {
    env.serve_fixture("/list.xml", "seed_list.xml", "application/rss+xml");
    let page = fixture("seed_share.html", env.base());
    env.route("/html_News/NewsShare.html", move |_| {
        Response::ok("text/html", page.clone())
    });
    format!(
        r##"[crawler]
allow_private_networks = true

[export.jekyll]
site = "//finews.withounder.com"
{export}
[[sources]]
name   = "要闻精华"
slug   = "yaowen"
url    = "{base}/list.xml"
follow = "{base}/html_News/NewsShare.html?infoCode=NW{{info_code}}"

[sources.article]
body   = "#ContentBody"
origin = ".em_media"
remove = [".ad", "script"]

{more}"##,
        base = env.base()
    )
}

/// The seed's list feed and share page, crawled with selectors.
fn seed_env() -> Env {
    let env = Env::new();
    env.serve_fixture("/feed.json", "feed.json", "application/feed+json");
    let json = format!(
        "[[sources]]\nname = \"JSON 新闻\"\nslug = \"json\"\nurl  = \"{}/feed.json\"\n",
        env.base()
    );
    env.write_config(&serve_seed(&env, "", &json));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    env
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_seed_post_byte_for_byte_and_a_second_export_rewrites_nothing() {
    let env = seed_env();
    let out_dir = env.dir.path().join("site/_posts");
    let cats = env.dir.path().join("site/category");
    env.export_jekyll(&out_dir, &cats);
    let written = std::fs::read(out_dir.join(SEED_FILE)).unwrap();
    assert!(
        written == SEED,
        "differs from the seed:\n{}",
        String::from_utf8_lossy(&written)
    );
    // feed.json: two more posts of 2022-01-11; one file per post.
    assert_eq!(files(&out_dir).len(), 3, "{:?}", files(&out_dir));
    assert_eq!(files(&cats), ["json.html", "yangshixinwenkehuduan.html"]);
    assert_eq!(
        std::fs::read_to_string(cats.join("yangshixinwenkehuduan.html")).unwrap(),
        "---\nlayout: category\ntitle: Yangshixinwenkehuduan\ncategory: yangshixinwenkehuduan\n---"
    );

    let mtimes = |dir: &Path| -> Vec<std::time::SystemTime> {
        files(dir)
            .iter()
            .map(|f| std::fs::metadata(dir.join(f)).unwrap().modified().unwrap())
            .collect()
    };
    let before = (mtimes(&out_dir), mtimes(&cats));
    let o = env.export_jekyll(&out_dir, &cats);
    assert!(
        stderr(&o).contains("written=0 unchanged=3 category_pages=0"),
        "{}",
        stderr(&o)
    );
    assert_eq!((mtimes(&out_dir), mtimes(&cats)), before);
}

#[test]
fn since_and_source_filters() {
    let env = seed_env();
    let out = env.dir.path().join("a");
    assert_eq!(
        code(&env.run(&[
            "export",
            "jekyll",
            "--out",
            out.to_str().unwrap(),
            "--source",
            "yaowen"
        ])),
        0
    );
    assert_eq!(files(&out), [SEED_FILE]);
    let out = env.dir.path().join("b");
    assert_eq!(
        code(&env.run(&[
            "export",
            "jekyll",
            "--out",
            out.to_str().unwrap(),
            "--since",
            "2022-01-11"
        ])),
        0
    );
    // feed.json's two items are of 2022-01-11; the seed (01-10) is out.
    assert_eq!(files(&out).len(), 2, "{:?}", files(&out));
    assert!(files(&out).iter().all(|f| f.starts_with("2022-01-11-")));
    assert_eq!(
        code(&env.run(&["export", "jekyll", "--out", "x", "--source", "nope"])),
        2
    );
    assert_eq!(
        code(&env.run(&["export", "jekyll", "--out", "x", "--since", "last tuesday"])),
        2
    );
}

#[test]
fn a_template_of_ones_own() {
    let tpl = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates/digest-first.md.j2");
    let env = seed_env();
    // Add the template to the existing [export.jekyll] table.
    let cfg = std::fs::read_to_string(env.config_path())
        .unwrap()
        .replacen(
            "site = \"//finews.withounder.com\"",
            &format!(
                "site = \"//finews.withounder.com\"\ntemplate = \"{}\"",
                tpl.display()
            ),
            1,
        );
    std::fs::write(env.config_path(), cfg).unwrap();
    let out = env.dir.path().join("posts");
    let o = env.run(&["export", "jekyll", "--out", out.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join(SEED_FILE)).unwrap();
    let seed = std::str::from_utf8(SEED).unwrap();
    let (front, body) = seed.split_at(seed.find("---\n<p>").unwrap() + 4);
    assert_eq!(
        text,
        format!(
            "{front}> 公安部有关负责人介绍，在全国范围内实现了5项户口迁移“跨省通办”。\n\n{body}"
        )
    );

    // A template that does not compile is a configuration error.
    std::fs::write(env.dir.path().join("bad.j2"), "{{ title ").unwrap();
    let cfg = std::fs::read_to_string(env.config_path())
        .unwrap()
        .replace(&tpl.display().to_string(), "bad.j2");
    std::fs::write(env.config_path(), cfg).unwrap();
    let o = env.run(&["export", "jekyll", "--out", out.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("export.jekyll.template"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn jsonl_has_every_column_and_the_sources() {
    let env = seed_env();
    let o = env.run(&["export", "jsonl"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let seed = lines
        .iter()
        .find(|v| v["info_code"] == "202201102242232593")
        .unwrap();
    // Every column of `posts` (whatever a later schema adds), and the sources.
    // PostgreSQL's own columns are in others' text: the offsets in the
    // times', `search` is the index; SQLite's `published_utc` is printed.
    let cols = if env.on_postgres() {
        let mut cols = env.strings(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'posts'
              AND column_name NOT IN ('published_offset', 'updated_offset', 'search')",
        );
        cols.push("published_utc".into());
        cols
    } else {
        env.strings("SELECT name FROM pragma_table_xinfo('posts')")
    };
    assert!(
        cols.len() >= 20 && cols.iter().any(|c| c == "published_utc"),
        "{cols:?}"
    );
    for col in cols.iter().map(String::as_str).chain(["sources"]) {
        assert!(seed.get(col).is_some(), "missing {col}");
    }
    assert_eq!(seed["article_state"], "done");
    assert_eq!(seed["published_utc"], "2022-01-10T08:57:30Z");
    assert_eq!(seed["origin"], "央视新闻客户端");
    assert_eq!(seed["sources"], serde_json::json!(["yaowen"]));
    assert_eq!(seed["published_at"], "2022-01-10T16:57:30+08:00");
    let o = env.run(&["export", "jsonl", "--since", "2022-01-11"]);
    assert_eq!(stdout(&o).lines().count(), 2);

    let ids = |args: &[&str]| -> Vec<i64> {
        let mut all = vec!["export", "jsonl"];
        all.extend_from_slice(args);
        let o = env.run(&all);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    };
    // A consumer's cursor: what was stored after the last id it read,
    // whatever the posts' dates.
    let all = ids(&[]);
    assert_eq!(all.len(), 3);
    assert_eq!(ids(&["--after-id", &all[0].to_string()]), all[1..]);
    assert_eq!(ids(&["--after-id", &all[2].to_string()]), Vec::<i64>::new());
    // Relative --since, by the publication time (all three are from 2022).
    assert_eq!(ids(&["--since", "1h"]), Vec::<i64>::new());
    assert_eq!(ids(&["--since", "100y"]), all);
    // --source, as for the Jekyll export.
    let delivered = env.count("SELECT COUNT(*) FROM post_sources WHERE source = 'yaowen'");
    assert_eq!(ids(&["--source", "yaowen"]).len() as i64, delivered);
    let o = env.run(&["export", "jsonl", "--source", "nope"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn opml_round_trip() {
    let env = Env::new();
    env.write_config(&format!(
        "{}{}[[sources]]\nname = \"R&D <news> \\\"quoted\\\"\"\nurl = \"http://127.0.0.1:9/r?a=1&b=2\"\n",
        env.source("新华社", "xinhua", "/x.xml"),
        env.source("21世纪经济报道", "21cbh", "/y.xml"),
    ));
    let o = env.run(&["sources", "export-opml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let opml = stdout(&o);
    assert!(
        opml.starts_with("<?xml") && opml.contains("<opml version=\"2.0\">"),
        "{opml}"
    );
    std::fs::write(env.dir.path().join("subs.opml"), &opml).unwrap();

    // Import into an empty configuration: the same names, URLs and slugs come back.
    let other = Env::new();
    other.write_config("");
    let o = other.run(&[
        "sources",
        "import-opml",
        env.dir.path().join("subs.opml").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let toml_text = stdout(&o);
    other.write_file("sources.d/imported.toml", &toml_text);
    let o = other.run(&["sources", "export-opml"]);
    assert_eq!(stdout(&o), opml, "round trip");
    let parsed: toml::Table = toml::from_str(&toml_text).unwrap();
    let slugs: Vec<&str> = parsed["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["xinhuashe", "21shijijingjibaodao", "rdnewsquoted"]);

    // Importing into the original configuration adds nothing: every URL is
    // configured already (each skipped with a note), so none is polled twice.
    let o = env.run(&[
        "sources",
        "import-opml",
        env.dir.path().join("subs.opml").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(!text.contains("[[sources]]"), "{text}");
    assert!(text.starts_with("# 0 feeds imported"), "{text}");
    for slug in ["xinhua", "21cbh"] {
        assert!(
            text.contains(&format!("already configured as {slug}\n")),
            "{text}"
        );
    }
    // A new URL under a taken title gets a slug of its own; the same URL
    // twice in one file is taken once.
    let opml2 = format!(
        "<?xml version=\"1.0\"?><opml version=\"2.0\"><head/><body>\
         <outline text=\"新华社\" xmlUrl=\"{0}/other.xml\"/>\
         <outline text=\"新华社\" xmlUrl=\"{0}/other.xml\"/>\
         <outline text=\"新华社\" xmlUrl=\"{0}/x.xml\"/></body></opml>",
        env.base()
    );
    std::fs::write(env.dir.path().join("subs2.opml"), opml2).unwrap();
    env.write_config(&format!(
        "{}{}",
        env.source("新华社", "xinhuashe", "/x.xml"),
        env.source("21世纪经济报道", "21cbh", "/y.xml"),
    ));
    let o = env.run(&[
        "sources",
        "import-opml",
        env.dir.path().join("subs2.opml").to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert!(text.starts_with("# 1 feeds imported"), "{text}");
    assert_eq!(text.matches("[[sources]]").count(), 1, "{text}");
    assert!(!text.contains("slug = \"xinhuashe\""), "{text}");
    assert!(text.contains("already configured as xinhuashe"), "{text}");
    assert!(text.contains("listed earlier in this file"), "{text}");
    assert_eq!(
        code(&env.run(&["sources", "import-opml", "/nonexistent.opml"])),
        2
    );
}

#[test]
fn prune_keeps_tombstones_so_pruned_posts_stay_gone() {
    let env = seed_env();
    // A post with no date at all counts from when it was fetched: today.
    env.execute(
        "UPDATE posts SET published_at = NULL WHERE canonical_url LIKE '%/news/json-2.html'",
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 3);
    let o = env.run(&["prune", "--older-than", "90d", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("would delete 2 posts"),
        "{}",
        stdout(&o)
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 3);

    // SQLite's pages (PostgreSQL's space is VACUUM's: nothing to look at).
    let pages = |env: &Env| -> (i64, i64) {
        if env.on_postgres() {
            return (0, 0);
        }
        (
            env.count("PRAGMA page_count"),
            env.count("PRAGMA freelist_count"),
        )
    };
    let (pages_before, _) = pages(&env);
    let o = env.run(&["prune", "--older-than", "90d"]);
    assert!(stdout(&o).starts_with("deleted 2 posts"), "{}", stdout(&o));
    // The freed pages went back to the file system: none left on the free list.
    let (pages_after, free_after) = pages(&env);
    assert_eq!(
        free_after, 0,
        "{pages_before} pages before, {pages_after} after"
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM tombstones"), 2);
    assert_eq!(env.count("SELECT COUNT(*) FROM post_sources"), 1);
    assert_eq!(env.matches("公安部"), 0);
    // Their stories and signatures went with them.
    assert_eq!(env.count("SELECT COUNT(*) FROM story_signatures"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM stories"), 1);
    assert_eq!(env.count("SELECT SUM(post_count) FROM stories"), 1);

    // The feeds still carry them: they do not come back, and no article is fetched.
    let pages_before = env.server.requests_to("/html_News/NewsShare.html").len();
    env.execute("UPDATE sources SET etag = NULL, last_modified = NULL");
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 1);
    assert_eq!(
        env.server.requests_to("/html_News/NewsShare.html").len(),
        pages_before
    );
    assert_eq!(code(&env.run(&["prune", "--older-than", "soon"])), 2);
}

/// What a publisher controls (a list's text, links, infoCodes and media
/// names), made to attack the site the export feeds: a Markdown link to
/// `javascript:`, a kramdown attribute list, Liquid tags and output, an
/// infoCode of 300 digits, an infoCode equal to another post's id, a
/// 40-character media name, a media named `no`. The export writes every
/// post to a file of its own, and Jekyll (when installed: `.ci/run`
/// installs it) builds the site with none of it active.
#[test]
fn what_publishers_send_is_inert_on_the_site() {
    let env = Env::new();
    let long_code = "9".repeat(300);
    let long_media =
        "中国证券监督管理委员会新闻发布与信息公开办公室关于资本市场改革发展情况的通报全文"
            .to_string();
    assert_eq!(long_media.chars().count(), 40);
    let list = serde_json::json!({"list": [
        {"title": "没有编号", "link": "http://news.example/plain", "time": "2022-01-10 09:00:00",
         "summary": "普通的摘要。"},
        {"title": "编号一", "link": "http://news.example/NewsShare.html?infoCode=NW1", "time": "2022-01-10 10:00:00",
         "summary": "plain [x](javascript:alert(1)) text\n{: onmouseover=\"alert(1)\"}\n{{ site.time }} {%bogus%} {{{ x }}}",
         "from": "no"},
        {"title": "长编号", "link": format!("http://news.example/NewsShare.html?infoCode=NW{long_code}"),
         "time": "2022-01-10 11:00:00", "summary": "<b>inline</b> only", "from": long_media},
        {"title": "链接 {{ site.time }}", "link": "http://news.example/x?q={{site.time}}", "time": "2022-01-10 12:00:00",
         "summary": "媒体名里的 Markdown", "from": "x](javascript:alert(1))[y"},
    ]});
    let body = list.to_string();
    env.route("/list.json", move |_| {
        Response::ok("application/json", body.clone())
    });
    env.write_config(&format!(
        "{}kind = \"json\"\n[sources.items]\npath = \"/list\"\ntitle = \"title\"\nlink = \"link\"\n\
         published = \"time\"\nsummary = \"summary\"\norigin = \"from\"\n",
        env.source("列表", "list", "/list.json")
    ));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 4);
    assert_eq!(
        env.strings("SELECT info_code FROM posts WHERE id = 2"),
        ["1"]
    );

    let site = env.dir.path().join("site");
    let (posts, cats) = (site.join("_posts"), site.join("category"));
    env.export_jekyll(&posts, &cats);
    let mut names: Vec<String> = std::fs::read_dir(&posts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Four posts, four files: the infoCode 1 keeps its name, post 1 moves.
    assert_eq!(
        names,
        [
            "2022-01-10-1-1.md",
            "2022-01-10-1.md",
            "2022-01-10-3.md",
            "2022-01-10-4.md"
        ]
    );
    let read = |n: &str| std::fs::read_to_string(posts.join(n)).unwrap();
    assert!(read("2022-01-10-1-1.md").contains("普通的摘要"));
    assert!(read("2022-01-10-1.md").contains("javascript:alert(1)"));
    for cat in std::fs::read_dir(&cats).unwrap() {
        let name = cat.unwrap().file_name();
        assert!(name.len() < 255, "{name:?}");
    }
    for n in &names {
        let text = read(n);
        let (front, body) = text
            .strip_prefix("---\n")
            .and_then(|t| t.split_once("\n---\n"))
            .unwrap();
        // Every YAML scalar reads back as the string written.
        let yaml = &yaml_rust2::YamlLoader::load_from_str(front).unwrap()[0];
        assert!(yaml["categories"].as_str().is_some(), "{n}: {front}");
        assert!(yaml["tags"].as_str().is_some(), "{n}: {front}");
        // No Liquid, and the body is block HTML.
        assert!(!body.contains("{{") && !body.contains("{%"), "{n}: {body}");
        assert!(body.starts_with('<'), "{n}: {body}");
    }
    let no = read("2022-01-10-1.md");
    assert!(no.contains("\ncategories: \"no\"\n"), "{no}");
    assert!(
        no.contains("\n<div>plain [x](javascript:alert(1)) text"),
        "{no}"
    );
    assert_eq!(
        std::fs::read_to_string(cats.join("no.html")).unwrap(),
        "---\nlayout: category\ntitle: \"No\"\ncategory: \"no\"\n---"
    );

    jekyll_build(&site, &["what-publishers-send"]);
}

/// `jekyll build` of `site` (its `_posts`), with layouts that print the
/// content as is: the generated pages hold no active link, attribute or
/// Liquid result. Needs the `jekyll` command; where it is missing the
/// check is skipped, except under CI (`CI` set), where it fails.
fn jekyll_build(site: &Path, _what: &[&str]) {
    let have = std::process::Command::new("jekyll")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "jekyll is not installed (.ci/run installs it)"
        );
        eprintln!("skipped: jekyll is not installed");
        return;
    }
    std::fs::create_dir_all(site.join("_layouts")).unwrap();
    std::fs::write(site.join("_config.yml"), "title: test\n").unwrap();
    for layout in ["post", "category", "default"] {
        std::fs::write(
            site.join(format!("_layouts/{layout}.html")),
            "<html><body>{{ content }}</body></html>\n",
        )
        .unwrap();
    }
    let dest = site.join("_site");
    let out = std::process::Command::new("jekyll")
        .args(["build", "--safe", "--quiet", "-s"])
        .arg(site)
        .arg("-d")
        .arg(&dest)
        .env("JEKYLL_ENV", "production")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jekyll build failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut html = String::new();
    let mut stack = vec![dest];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                html += &std::fs::read_to_string(&p).unwrap();
            }
        }
    }
    assert!(html.contains("javascript:alert(1)"), "the posts were built");
    let tag = regex::Regex::new(r#"(?i)<[a-z][^>]*(\son\w+=|href="?\s*javascript:)"#).unwrap();
    assert!(tag.find(&html).is_none(), "{:?}", tag.find(&html));
    // Liquid saw nothing: the text is there as written, no build time in it.
    assert!(html.contains("{ site.time }}"), "{html}");
    assert!(!html.contains(&chrono::Utc::now().format("%Y-%m-%d %H").to_string()));
}

/// A feed whose one entry is corrected (newer `updated`) and gains a second
/// entry when `version` becomes 2, a third at 3.
fn live_feed(env: &Env, version: &std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    let v = version.clone();
    let base = env.base().to_string();
    env.route("/live.xml", move |_| {
        let version = v.load(Ordering::SeqCst);
        let (title, updated, mut second) = match version {
            1 => ("初稿标题", "2022-01-10T16:00:00+08:00", String::new()),
            _ => (
                "更正后的标题",
                "2022-01-10T18:30:00+08:00",
                format!(
                    r#"<entry><id>e2</id><title>第二条快讯</title><link href="{base}/news/second.html"/>
<published>2022-01-11T09:00:00+08:00</published><content type="html">&lt;p&gt;第二条正文&lt;/p&gt;</content></entry>"#
                ),
            ),
        };
        if version >= 3 {
            second.push_str(&format!(
                r#"<entry><id>e3</id><title>第三条</title><link href="{base}/news/third.html"/>
<published>2022-01-12T09:00:00+08:00</published><content type="html">&lt;p&gt;第三条正文&lt;/p&gt;</content></entry>"#
            ));
        }
        Response::ok(
            "application/atom+xml",
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id>
<entry><id>e1</id><title>{title}</title><link href="{base}/news/live.html"/>
<published>2022-01-10T16:00:00+08:00</published><updated>{updated}</updated><content type="html">&lt;p&gt;{title}&lt;/p&gt;</content></entry>{second}</feed>"#
            ),
        )
    });
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    files(dir)
        .into_iter()
        .map(|f| {
            let p = dir.join(&f);
            let bytes = std::fs::read(&p).unwrap();
            (f, bytes, std::fs::metadata(&p).unwrap().modified().unwrap())
        })
        .collect()
}

/// `[export.jekyll] out`: `crawl --once` leaves the `_posts` directory as
/// `export jekyll` would write it, writes only what was stored or changed
/// since, and a directory it cannot write fails the run (exit 3) without
/// losing a post: the next run writes it.
#[test]
fn crawl_once_keeps_the_posts_directory_current() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let env = Env::new();
    let version = std::sync::Arc::new(AtomicUsize::new(1));
    live_feed(&env, &version);
    env.write_config(&serve_seed(
        &env,
        "out = \"site/_posts\"\ncategory_pages = \"site/category\"\n",
        &env.source("直播", "live", "/live.xml"),
    ));
    let posts = env.dir.path().join("site/_posts");
    let cats = env.dir.path().join("site/category");
    let o = env.run(&["crawl", "--once"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("database opened") && stderr(&o).contains(&env.database()),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(posts.join(SEED_FILE)).unwrap(), SEED);
    // The same files, byte for byte, as the export command writes.
    let (by_hand, by_hand_cats) = (env.dir.path().join("b/_posts"), env.dir.path().join("b/c"));
    env.export_jekyll(&by_hand, &by_hand_cats);
    let bytes = |d: &Path| -> Vec<(String, Vec<u8>)> {
        snapshot(d).into_iter().map(|(f, b, _)| (f, b)).collect()
    };
    assert_eq!(bytes(&posts), bytes(&by_hand));
    assert_eq!(bytes(&cats), bytes(&by_hand_cats));
    assert_eq!(files(&posts).len(), 2, "{:?}", files(&posts));

    // Nothing new: nothing written, nothing touched.
    let before = (snapshot(&posts), snapshot(&cats));
    let o = env.run(&["crawl", "--once"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("written=0"), "{}", stderr(&o));
    assert_eq!((snapshot(&posts), snapshot(&cats)), before);

    // A correction and a new entry: the corrected post's file is rewritten,
    // the new one appears, the seed's post is left alone.
    version.store(2, Ordering::SeqCst);
    let o = env.run(&["crawl", "--once"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("written=2"), "{}", stderr(&o));
    let after = snapshot(&posts);
    assert_eq!(after.len(), 3, "{:?}", files(&posts));
    let seed_before = before.0.iter().find(|(f, ..)| f == SEED_FILE).unwrap();
    let seed_after = after.iter().find(|(f, ..)| f == SEED_FILE).unwrap();
    assert_eq!(seed_after, seed_before);
    let text: String = after
        .iter()
        .filter(|(f, ..)| f != SEED_FILE)
        .map(|(_, b, _)| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(
        text.contains("更正后的标题") && text.contains("第二条正文"),
        "{text}"
    );
    assert!(!text.contains("初稿标题"), "{text}");
    env.export_jekyll(&by_hand, &by_hand_cats);
    assert_eq!(bytes(&posts), bytes(&by_hand));

    // A cursor lost (a run killed between writing and recording it): the
    // files are looked at again and left as they are.
    env.execute("UPDATE export_cursors SET seq = 0");
    let before = snapshot(&posts);
    let o = env.run(&["crawl", "--once"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("written=0 unchanged=3"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(&posts), before);

    // The `_posts` directory removed: the next run writes it all again.
    std::fs::remove_dir_all(&posts).unwrap();
    let o = env.run(&["crawl", "--once"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(bytes(&posts), bytes(&by_hand));

    // A directory that cannot be made (a file in the way of the category
    // pages): exit 3 with the path named, and the round's posts stay due:
    // the run after the fix writes what the failed one could not.
    version.store(3, Ordering::SeqCst);
    std::fs::remove_dir_all(&cats).unwrap();
    std::fs::write(&cats, "a file in the way").unwrap();
    let o = env.run(&["crawl", "--once"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("site/category"), "{}", stderr(&o));
    std::fs::remove_file(&cats).unwrap();
    let o = env.run(&["crawl", "--once"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("new_posts=0"), "{}", stderr(&o));
    assert_eq!(files(&cats), ["live.html"], "{}", stderr(&o));
    env.export_jekyll(&by_hand, &by_hand_cats);
    assert_eq!(bytes(&posts), bytes(&by_hand));
    assert_eq!(files(&posts).len(), 4);
}
