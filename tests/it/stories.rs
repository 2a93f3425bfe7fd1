//! Stories through the whole pipeline: the labelled set served as the
//! outlets' feeds and crawled, grouped as labelled; the same grouping
//! whether the outlets are crawled in one run or in several processes; a
//! teaser moved into its story once its article arrives; and what
//! downstream sees (`stories list`, JSONL, search, Jekyll).

use std::collections::{BTreeMap, HashMap};

use crate::harness::{Env, code, stderr, stdout};
use crate::server::Response;

#[derive(serde::Deserialize)]
struct Set {
    post: Vec<Labelled>,
}

#[derive(serde::Deserialize, Clone)]
pub struct Labelled {
    pub id: u32,
    pub story: String,
    pub outlet: String,
    pub title: String,
    pub published: String,
    pub text: String,
}

pub fn labelled() -> Vec<Labelled> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stories/labelled.toml"
    );
    let set: Set = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    set.post
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An outlet's feed: its posts as RSS items, each paragraph a `<p>`.
fn feed(base: &str, posts: &[&Labelled]) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>",
    );
    for p in posts {
        let html: String = p
            .text
            .split("\n\n")
            .map(str::trim)
            .filter(|para| !para.is_empty())
            .map(|para| format!("<p>{}</p>", escape(para)))
            .collect();
        let date = chrono::DateTime::parse_from_rfc3339(&p.published)
            .unwrap()
            .to_rfc2822();
        s += &format!(
            "<item><title>{}</title><link>{base}/post/{}</link><pubDate>{date}</pubDate><description>{}</description></item>",
            escape(&p.title),
            p.id,
            escape(&html)
        );
    }
    s += "</channel></rss>";
    s.into_bytes()
}

/// Serves one feed per outlet; returns the sources' configuration, one
/// `[[sources]]` per outlet (slugs `o0`, `o1`, … in the set's order).
pub fn serve_outlets(env: &Env, posts: &[Labelled]) -> (String, Vec<String>) {
    let mut outlets: BTreeMap<&str, Vec<&Labelled>> = BTreeMap::new();
    for p in posts {
        outlets.entry(p.outlet.as_str()).or_default().push(p);
    }
    let mut cfg = String::new();
    let mut slugs = Vec::new();
    for (i, (outlet, items)) in outlets.iter().enumerate() {
        let body = feed(env.base(), items);
        let path = format!("/feed/{i}.xml");
        env.route(&path, move |_| {
            Response::ok("application/rss+xml", body.clone())
        });
        let slug = format!("o{i}");
        cfg += &env.source(outlet, &slug, &path);
        slugs.push(slug);
    }
    (cfg, slugs)
}

/// Each labelled post's story id as stored (by its link).
fn stored_stories(env: &Env) -> HashMap<u32, i64> {
    env.strings("SELECT url || ' ' || story_id FROM posts")
        .iter()
        .map(|line| {
            let (url, story) = line.split_once(' ').unwrap();
            let id = url.rsplit('/').next().unwrap().parse().unwrap();
            (id, story.parse().unwrap())
        })
        .collect()
}

/// Precision and recall of the pairs put in one story, and the pairs
/// wrongly judged.
pub fn judge(posts: &[Labelled], stories: &HashMap<u32, i64>) -> (f64, f64, Vec<String>) {
    let (mut tp, mut fp, mut fn_) = (0u32, 0u32, 0u32);
    let mut wrong = Vec::new();
    for (i, a) in posts.iter().enumerate() {
        for b in &posts[i + 1..] {
            let together = stories[&a.id] == stories[&b.id];
            match (a.story == b.story, together) {
                (true, true) => tp += 1,
                (false, true) => {
                    fp += 1;
                    wrong.push(format!("joined {} / {}", a.id, b.id));
                }
                (true, false) => {
                    fn_ += 1;
                    wrong.push(format!("apart {} / {}", a.id, b.id));
                }
                (false, false) => {}
            }
        }
    }
    (
        f64::from(tp) / f64::from((tp + fp).max(1)),
        f64::from(tp) / f64::from((tp + fn_).max(1)),
        wrong,
    )
}

/// The labelled set as the outlets' feeds, crawled once: every post has a
/// story, the pairs are grouped as labelled (the issue's bar: precision
/// ≥ 99.5%, recall ≥ 95%), and the `stories` rows agree with the posts.
#[test]
fn the_labelled_set_is_grouped_through_the_crawl() {
    let env = Env::new();
    let posts = labelled();
    let (cfg, _) = serve_outlets(&env, &posts);
    env.write_config(&cfg);
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), posts.len() as i64);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE story_id IS NULL"),
        0
    );
    let (precision, recall, wrong) = judge(&posts, &stored_stories(&env));
    assert!(precision >= 0.995, "precision {precision:.3}: {wrong:?}");
    assert!(recall >= 0.95, "recall {recall:.3}: {wrong:?}");
    // The counts the triggers keep are the posts' own.
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM stories s WHERE post_count <>
                (SELECT COUNT(*) FROM posts p WHERE p.story_id = s.id)"
        ),
        0
    );
    let labelled_stories = posts
        .iter()
        .map(|p| p.story.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len() as i64;
    assert_eq!(env.count("SELECT COUNT(*) FROM stories"), labelled_stories);
    // Each representative is one of the story's posts.
    assert_eq!(
        env.count(
            "SELECT COUNT(*) FROM stories s JOIN posts p ON p.id = s.post_id AND p.story_id = s.id"
        ),
        labelled_stories
    );
}

/// With `[stories] group = false` nothing is compared: each post is a
/// story of its own (every post still has one), and no signature is kept,
/// feeds and articles alike.
#[test]
fn without_grouping_each_post_is_its_own_story() {
    let env = Env::new();
    let posts = labelled();
    let (cfg, _) = serve_outlets(&env, &posts);
    env.write_config(&format!("{cfg}\n[stories]\ngroup = false\n"));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let n = posts.len() as i64;
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), n);
    assert_eq!(
        env.count("SELECT COUNT(DISTINCT story_id) FROM posts WHERE story_id IS NOT NULL"),
        n
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM stories WHERE post_count = 1"),
        n
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM story_signatures"), 0);

    // The teaser's article, fetched, does not move it either.
    let env = teaser_then_article("[stories]\ngroup = false\n");
    assert_eq!(env.count("SELECT COUNT(DISTINCT story_id) FROM posts"), 2);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM stories WHERE post_count = 1"),
        2
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM story_signatures"), 0);
}

/// The outlets crawled one at a time, each by a process of its own, group
/// the posts exactly as one run of all of them: the signatures are in the
/// database, and every run reads them.
#[test]
fn runs_and_restarts_agree_on_the_stories() {
    let posts = labelled();
    let partition = |stories: &HashMap<u32, i64>| -> Vec<Vec<u32>> {
        let mut groups: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for (&post, &story) in stories {
            groups.entry(story).or_default().push(post);
        }
        let mut groups: Vec<Vec<u32>> = groups
            .into_values()
            .map(|mut g| {
                g.sort_unstable();
                g
            })
            .collect();
        groups.sort();
        groups
    };

    let one = Env::new();
    let (cfg, _) = serve_outlets(&one, &posts);
    one.write_config(&cfg);
    assert_eq!(code(&one.run(&["crawl", "--once"])), 0);
    let together = partition(&stored_stories(&one));

    let apart = Env::new();
    let (cfg, slugs) = serve_outlets(&apart, &posts);
    apart.write_config(&cfg);
    // In the order the posts were published: a process per outlet.
    let mut order: Vec<(String, String)> = Vec::new();
    let mut outlets: Vec<&str> = posts.iter().map(|p| p.outlet.as_str()).collect();
    outlets.sort_unstable();
    outlets.dedup();
    for p in {
        let mut by_time: Vec<&Labelled> = posts.iter().collect();
        by_time.sort_by_key(|p| p.published.clone());
        by_time
    } {
        let i = outlets.iter().position(|o| *o == p.outlet).unwrap();
        if !order.iter().any(|(s, _)| *s == slugs[i]) {
            order.push((slugs[i].clone(), p.outlet.clone()));
        }
    }
    for (slug, _) in &order {
        let out = apart.run(&["crawl", "--once", "--source", slug]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    assert_eq!(partition(&stored_stories(&apart)), together);
    let (precision, recall, wrong) = judge(&posts, &stored_stories(&apart));
    assert!(precision >= 0.995 && recall >= 0.95, "{wrong:?}");
}

/// A teaser whose headline is another outlet's rewrite starts a story of
/// its own; once its article (the full dispatch) is stored, it joins the
/// story of the outlets that carry the same dispatch.
#[test]
fn an_article_moves_its_teaser_into_the_story() {
    let env = teaser_then_article("");
    assert_eq!(env.count("SELECT COUNT(DISTINCT story_id) FROM posts"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM stories"), 1);
    assert_eq!(env.count("SELECT post_count FROM stories"), 2);
}

/// Two outlets' flashes of one event under one headline, the second's
/// article page gone (404, given up at the first attempt): the second was
/// stored while its article was to come, so its teaser was not compared
/// then; once the article is given up, the teaser is compared (by its
/// headline and time, from the stored text) and joins the first's story.
#[test]
fn a_teaser_whose_article_never_comes_joins_by_its_headline() {
    let env = Env::new();
    let flash = |link: &str| {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>\
             <item><title>央行宣布下调金融机构存款准备金率</title><link>{link}</link><pubDate>Fri, 17 Mar 2023 19:00:00 +0800</pubDate>\
             <description>中国人民银行决定于3月27日降低金融机构存款准备金率0.25个百分点。</description></item></channel></rss>"
        )
        .into_bytes()
    };
    let (a, b) = (
        flash(&format!("{}/a/1", env.base())),
        flash(&format!("{}/share/88", env.base())),
    );
    env.route("/a.xml", move |_| {
        Response::ok("application/rss+xml", a.clone())
    });
    env.route("/b.xml", move |_| {
        Response::ok("application/rss+xml", b.clone())
    });
    let cfg =
        env.source("A", "a", "/a.xml") + &env.source("B", "b", "/b.xml") + "follow = \"link\"\n";
    env.write_config(&format!("[crawler]\narticle_attempts = 1\n{cfg}"));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE article_state = 'failed'"),
        1,
        "{}",
        stderr(&out)
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 2);
    assert_eq!(env.count("SELECT COUNT(DISTINCT story_id) FROM posts"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM stories"), 1);
    assert_eq!(env.count("SELECT post_count FROM stories"), 2);
    assert_eq!(env.count("SELECT COUNT(*) FROM story_signatures"), 2);
}

/// Outlet A's dispatch, and outlet B's teaser of it under another headline
/// whose article (the dispatch) is fetched by link, crawled once with
/// `extra` configuration after the sources.
fn teaser_then_article(extra: &str) -> Env {
    let env = Env::new();
    let posts = labelled();
    let full = posts.iter().find(|p| p.id == 1).unwrap().clone();
    let feed_a = feed(env.base(), &[&full]);
    env.route("/a.xml", move |_| {
        Response::ok("application/rss+xml", feed_a.clone())
    });
    let teaser = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>\
         <item><title>快讯：今日央行再出手</title><link>{}/share/77</link><pubDate>Fri, 17 Mar 2023 19:00:00 +0800</pubDate>\
         <description>央行出手了。</description></item></channel></rss>",
        env.base()
    )
    .into_bytes();
    env.route("/b.xml", move |_| {
        Response::ok("application/rss+xml", teaser.clone())
    });
    let page = format!(
        "<html><head><title>快讯：今日央行再出手</title></head><body><h1>快讯：今日央行再出手</h1><div id=\"body\">{}</div></body></html>",
        full.text
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .map(|p| format!("<p>{}</p>", escape(p.trim())))
            .collect::<String>()
    )
    .into_bytes();
    env.route("/share/77", move |_| {
        Response::ok("text/html; charset=utf-8", page.clone())
    });
    let cfg = env.source("A", "a", "/a.xml")
        + &env.source("B", "b", "/b.xml")
        + "follow = \"link\"\n[sources.article]\nbody = \"#body\"\n";
    env.write_config(&(cfg + extra));
    let out = env.run(&["crawl", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM posts WHERE article_state = 'done'"),
        1,
        "{}",
        stderr(&out)
    );
    env
}

/// What downstream sees: `stories list` (biggest first, with outlets),
/// `story_id` in JSONL, `posts search` one line per story.
#[test]
fn stories_are_listed_exported_and_searched_per_story() {
    let env = Env::new();
    let posts = labelled();
    let (cfg, _) = serve_outlets(&env, &posts);
    env.write_config(&cfg);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);

    // The biggest story of the set: the RRR cut, 6 outlets.
    let biggest = posts.iter().filter(|p| p.story == "rrr-cut").count();
    let out = env.run(&["stories", "list", "--since", "3650d", "--min-posts", "2"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let first = text.lines().next().unwrap_or_default();
    assert!(first.contains(&format!("{biggest} posts")), "{text}");
    let outlets = text.lines().nth(1).unwrap_or_default();
    for p in posts.iter().filter(|p| p.story == "rrr-cut") {
        assert!(outlets.contains(&p.outlet), "{} in {outlets}", p.outlet);
    }
    // Every listed story has two posts or more.
    let json = env.run(&[
        "stories",
        "list",
        "--since",
        "3650d",
        "--min-posts",
        "2",
        "--json",
    ]);
    let listed: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!listed.is_empty());
    assert!(listed.iter().all(|s| s["post_count"].as_i64().unwrap() >= 2
        && s["posts"].as_array().unwrap().len() as i64 == s["post_count"].as_i64().unwrap()));
    let counts: Vec<i64> = listed
        .iter()
        .map(|s| s["post_count"].as_i64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");

    // The README's SQL (its PostgreSQL form on PostgreSQL): the same
    // biggest story, its outlets.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let marker = if env.on_postgres() {
        "<!-- stories-sql-postgres:"
    } else {
        "<!-- stories-sql:"
    };
    let rest = &readme[readme.find(marker).expect("the README's stories SQL")..];
    let start = rest.find("```sql\n").unwrap() + "```sql\n".len();
    let sql = &rest[start..start + rest[start..].find("```").unwrap()];
    let rows: Vec<(i64, i64, String, String)> = env.rows(sql, &[]);
    let (_, count, _, outlets) = rows.into_iter().next().expect("a story");
    let top = (count, outlets);
    assert_eq!(top.0, biggest as i64);
    for p in posts.iter().filter(|p| p.story == "rrr-cut") {
        assert!(top.1.contains(&p.outlet), "{} in {}", p.outlet, top.1);
    }

    // JSONL: each post's story.
    let jsonl = env.run(&["export", "jsonl"]);
    let by_story: HashMap<i64, usize> = stdout(&jsonl)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["story_id"]
                .as_i64()
                .unwrap()
        })
        .fold(HashMap::new(), |mut m, s| {
            *m.entry(s).or_default() += 1;
            m
        });
    assert_eq!(by_story.values().sum::<usize>(), posts.len());
    assert!(by_story.values().any(|&n| n == biggest));

    // Search: one line per story, its other outlets beside it; every post
    // with --every-post.
    let out = env.run(&["posts", "search", "存款准备金率"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let rrr: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&format!("[+{}:", biggest - 1)))
        .collect();
    assert_eq!(rrr.len(), 1, "{text}");
    let every = stdout(&env.run(&["posts", "search", "--every-post", "存款准备金率"]));
    assert!(every.lines().count() >= biggest, "{every}");
    assert!(
        every.lines().count() > text.lines().count(),
        "{every}\n---\n{text}"
    );
    let json = stdout(&env.run(&["posts", "search", "--json", "存款准备金率"]));
    // `posts show`: the story, and the other outlets that carried it.
    let id = env.count("SELECT id FROM posts WHERE url LIKE '%/post/1'");
    let shown = stdout(&env.run(&["posts", "show", &id.to_string()]));
    let line = shown
        .lines()
        .find(|l| l.starts_with("story:"))
        .unwrap_or_default();
    assert!(
        line.contains(&format!("({biggest} posts; also ")),
        "{shown}"
    );
    let hit: serde_json::Value = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|h| h["story_posts"] == biggest)
        .expect("the RRR story among the hits");
    assert_eq!(hit["other_outlets"].as_array().unwrap().len(), biggest - 1);
}

/// `export jekyll --one-per-story`: a file per story, the earliest post's,
/// with a line naming the other outlets and linking their posts; without
/// the flag a file per post, each as before (no such line).
#[test]
fn jekyll_writes_one_file_per_story_on_request() {
    let env = Env::new();
    let posts = labelled();
    let (cfg, _) = serve_outlets(&env, &posts);
    env.write_config(&cfg);
    assert_eq!(code(&env.run(&["crawl", "--once"])), 0);
    let dir = tempfile::tempdir().unwrap();
    let (all, cats) = (dir.path().join("all"), dir.path().join("cats"));
    env.export_jekyll(&all, &cats);
    let files = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        v.sort();
        v
    };
    let every = files(&all);
    assert_eq!(every.len(), posts.len());
    assert!(every.iter().all(|f| !f.contains("另见：")));

    let one = dir.path().join("one");
    let out = env.run(&[
        "export",
        "jekyll",
        "--out",
        one.to_str().unwrap(),
        "--one-per-story",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let stories = env.count("SELECT COUNT(*) FROM stories");
    let written = files(&one);
    assert_eq!(written.len() as i64, stories);
    // The RRR cut: the earliest outlet's post (Xinhua's), the five others named
    // and linked.
    let rrr: Vec<&Labelled> = {
        let mut v: Vec<&Labelled> = posts.iter().filter(|p| p.story == "rrr-cut").collect();
        v.sort_by_key(|p| chrono::DateTime::parse_from_rfc3339(&p.published).unwrap());
        v
    };
    let file = written
        .iter()
        .find(|f| f.contains(&format!("title: \"{}\"", rrr[0].title)))
        .expect("the earliest post of the story is the one written");
    let also = file.lines().find(|l| l.starts_with("另见：")).expect(file);
    for p in &rrr[1..] {
        assert!(
            also.contains(&format!("[{}]({}/post/{})", p.outlet, env.base(), p.id)),
            "{also}"
        );
    }
    // No other post of the story has a file of its own.
    for p in &rrr[1..] {
        assert!(
            !written
                .iter()
                .any(|f| f.contains(&format!("title: \"{}\"", p.title)))
        );
    }
}
