//! Search end to end: `posts search` and the README's plain-SQL form find
//! Chinese words of two, three and four characters, a Latin word and a
//! phrase, in a crawled database, indexed or not yet.

use crate::harness::{Env, code, stderr, stdout};

pub const T1: &str = "央行宣布降准0.5个百分点 释放长期资金约1万亿元";
pub const T2: &str = "港股收评：恒指涨2.1% 科技股全线走强";
pub const T3: &str = "贵州茅台：2023年营业总收入约1505亿元";
pub const T4: &str = "Fed signals an interest rate cut as inflation cools";
pub const T5: &str = "Bank of Japan holds rates";
pub const T6: &str = "中央银行行长谈货币政策";

/// Query → the titles it must find, newest first. 中央银行 holds 央 and 行
/// but not 央行; 降低息差 holds 降 and 息 but not 降息; T5 holds "cut",
/// "interest" and "rate", not as the phrase.
const CASES: &[(&str, &[&str])] = &[
    ("央行", &[T1]),
    ("恒指", &[T2]),
    ("茅台", &[T3]),
    ("降息", &[]),
    ("准备金", &[T1]),
    ("恒生科技", &[T2]),
    ("货币政策", &[T6]),
    ("营业总收入", &[T3]),
    ("inflation", &[T4]),
    ("\"interest rate cut\"", &[T4]),
    ("interest rate cut", &[T4, T5]),
];

pub fn crawled(extra: &[&str]) -> Env {
    checked(crawled_into(None, extra))
}

/// [`crawled`] on SQLite on either pass: for its search index's tables.
pub fn crawled_sqlite(extra: &[&str]) -> Env {
    checked(crawled_into(Some("data/newscrawl.db"), extra))
}

fn checked(env: Env) -> Env {
    assert_eq!(env.count("SELECT COUNT(*) FROM posts"), 6);
    env
}

/// The search fixture crawled into `database` (a path or a PostgreSQL
/// URL; `None`: the database of this pass).
pub fn crawled_into(database: Option<&str>, extra: &[&str]) -> Env {
    let env = if database.is_some() {
        Env::sqlite()
    } else {
        Env::new()
    };
    env.serve_fixture("/news.xml", "search/news.xml", "application/rss+xml");
    let database = database.map_or_else(|| env.database(), str::to_string);
    env.write_config_with(&database, &env.source("财经要闻", "news", "/news.xml"));
    let mut args = vec!["crawl", "--once"];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    env
}

/// Titles `posts search` prints, in its order, from its JSON lines.
fn search(env: &Env, args: &[&str]) -> Vec<String> {
    let mut all = vec!["posts", "search", "--json"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["title"].as_str().unwrap().to_string()
        })
        .collect()
}

pub fn check_cases(env: &Env) {
    for (q, want) in CASES {
        assert_eq!(search(env, &[q]), *want, "posts search {q}");
    }
    // Newest first by the instant, not by the text of `published_at`:
    // 16:10+08:00 (08:10Z), then 03:00Z, then 09:05+08:00 (01:05Z).
    assert_eq!(
        search(env, &["茅台", "OR", "恒指", "OR", "inflation"]),
        [T2, T4, T3]
    );
    assert_eq!(
        search(env, &["茅台 OR 恒指 OR inflation", "--limit", "1"]),
        [T2]
    );
    assert_eq!(
        search(env, &["inflation", "--since", "2024-01-25"]),
        Vec::<String>::new()
    );
}

#[test]
fn posts_search_finds_chinese_words_latin_words_and_phrases() {
    let env = crawled(&[]);
    assert_eq!(env.unindexed(), 0);
    check_cases(&env);

    // `published_utc` sorts by the instant where `published_at`'s text
    // would not (17:30+08:00, 16:10+08:00, 03:00Z, 09:05+08:00).
    assert_eq!(
        env.strings("SELECT published_utc FROM posts WHERE published_utc >= '2024-01-24' ORDER BY published_utc DESC"),
        ["2024-01-24T09:30:00Z", "2024-01-24T08:10:00Z", "2024-01-24T03:00:00Z", "2024-01-24T01:05:00Z"]
    );
    assert_eq!(
        env.strings("SELECT title FROM posts ORDER BY published_utc DESC LIMIT 4"),
        [T1, T2, T4, T3]
    );

    // The table form: id, local time, source, title.
    let out = env.run(&["posts", "search", "茅台"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("2024-01-24 09:05  news") && text.contains(T3),
        "{text}"
    );
    // Nothing searchable left is a usage error, not every post.
    let out = env.run(&["posts", "search", "，。"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

/// `posts show ID`: the post a search found, its fields and its text.
#[test]
fn posts_show_prints_one_post() {
    let env = crawled(&[]);
    let out = env.run(&["posts", "search", "--json", "茅台"]);
    let hit: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let id = hit["id"].as_i64().unwrap().to_string();
    let out = env.run(&["posts", "show", &id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with(T3), "{text}");
    assert!(text.contains("published: 2024-01-24 09:05"), "{text}");
    assert!(text.contains("同比增长约18%"), "{text}");
    let out = env.run(&["posts", "show", &id, "--json"]);
    let post: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(post["title"], T3);
    assert_eq!(post["sources"], serde_json::json!(["news"]));
    let out = env.run(&["posts", "show", "999999"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no post with id 999999"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn posts_not_yet_indexed_are_found_all_the_same() {
    let env = crawled_sqlite(&["--defer-index"]);
    assert_eq!(env.count("SELECT COUNT(*) FROM fts_pending"), 6);
    let out = env.run(&["crawl", "--once", "--defer-index"]);
    assert!(
        stderr(&out).contains("unindexed=6"),
        "says how many are not searchable yet: {}",
        stderr(&out)
    );
    check_cases(&env);

    // Indexed, then changed by another tool: the index still holds the old
    // text until the next batch; search answers from the new one.
    let out = env.run(&["posts", "index"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    env.db()
        .execute_batch(
            "UPDATE posts SET title = replace(title, '茅台', '五粮液'),
                              content_text = replace(content_text, '茅台', '五粮液');",
        )
        .unwrap();
    assert_eq!(env.count("SELECT COUNT(*) FROM fts_pending"), 6);
    assert_eq!(env.count("SELECT COUNT(*) FROM fts_stale"), 6);
    assert_eq!(search(&env, &["茅台"]), Vec::<String>::new());
    assert_eq!(search(&env, &["五粮液"]), [T3.replace("茅台", "五粮液")]);

    let out = env.run(&["posts", "index"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.count("SELECT COUNT(*) FROM fts_pending"), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM fts_stale"), 0);
    assert_eq!(search(&env, &["茅台"]), Vec::<String>::new());
    assert_eq!(search(&env, &["五粮液"]), [T3.replace("茅台", "五粮液")]);
}

/// The README's SQL block, as it is.
pub fn readme_sql() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let marker = readme
        .find("<!-- search-sql:")
        .expect("the README's search SQL");
    let rest = &readme[marker..];
    let start = rest.find("```sql\n").unwrap() + "```sql\n".len();
    let end = start + rest[start..].find("```").unwrap();
    rest[start..end].to_string()
}

#[test]
fn the_readmes_sql_finds_the_same_posts() {
    let env = crawled_sqlite(&[]);
    let sql = readme_sql();
    assert!(sql.contains(newscrawl::search::SQL_MATCH.trim()));
    let db = env.db();
    // SQL has no OR or prefix; every other case holds as it is. Order: by
    // the instant, newest first.
    for (q, want) in CASES {
        let mut stmt = db.prepare(&sql).unwrap();
        let titles: Vec<String> = stmt
            .query_map(rusqlite::named_params! {":q": q}, |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(titles, *want, "README SQL, :q = {q}");
    }

    // The `sqlite3` shell, with nothing of newscrawl's loaded.
    let shell = std::process::Command::new("sqlite3")
        .arg("-version")
        .output();
    if shell.is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have the sqlite3 shell (.ci/run installs it)"
        );
        eprintln!("sqlite3 shell missing: skipping its half");
        return;
    }
    for (q, want) in CASES {
        let out = std::process::Command::new("sqlite3")
            .arg("-readonly")
            .arg(env.db_path())
            // As the README says: an SQL string literal inside the shell's
            // double quotes, so the query's own quotes survive.
            .arg(format!(
                ".parameter set :q \"'{}'\"",
                q.replace('\'', "''").replace('"', "\\\"")
            ))
            .arg(&sql)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let titles: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.rsplit('|').next().unwrap().to_string())
            .collect();
        assert_eq!(titles, *want, "sqlite3 shell, :q = {q}");
    }
}
