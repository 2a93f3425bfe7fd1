//! The store's conformance suite: what every backend must do, written
//! against the interface alone ([`Store`], [`Reader`], the model types),
//! never against a backend's tables. Each test runs on every backend in
//! [`BACKENDS`]: SQLite today; a second backend adds itself there and
//! passes the same tests.

use std::path::Path;

use chrono::{TimeZone, Utc};

use super::*;
use crate::dedup::{Earlier, Identity};

/// Opens a reader on the store under test.
type OpenReader = Box<dyn Fn() -> Reader>;

/// A backend under test: its name, and how to open its writer and a reader
/// on a fresh store under `dir` (`None`: not available here, skipped).
struct Backend {
    name: &'static str,
    open: fn(&Path) -> Option<(Store, OpenReader)>,
}

const BACKENDS: &[Backend] = &[
    Backend {
        name: "sqlite",
        open: |dir| {
            let db = crate::config::Database::Sqlite(dir.join("conformance.db"));
            let store = Store::open_with(&db, false).expect("open the SQLite store");
            let reader = move || {
                Reader::open(&db)
                    .expect("open a reader")
                    .expect("the database exists")
            };
            Some((store, Box::new(reader)))
        },
    },
    Backend {
        name: "postgres",
        open: |_| {
            let scratch = std::sync::Arc::new(super::postgres::testing::scratch_database()?);
            let store = Store::open(&scratch.database).expect("open the PostgreSQL store");
            // The reader holds the scratch database: dropped (with it) last.
            let reader = move || {
                Reader::open(&scratch.database)
                    .expect("open a reader")
                    .expect("the database has its tables")
            };
            Some((store, Box::new(reader)))
        },
    },
];

/// Runs `test` on every backend, on a runtime of its own.
fn on_every_backend(test: impl Fn(&Store, &dyn Fn() -> Reader) + Copy) {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let Some((store, reader)) = (backend.open)(dir.path()) else {
            continue;
        };
        eprintln!("backend: {}", backend.name);
        test(&store, &*reader);
        // The writer first: the reader's closure drops the database.
        drop(store);
    }
}

/// A publisher's time, as a feed gives it.
pub(super) fn t(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).expect("an RFC 3339 time")
}

/// A UTC time.
pub(super) fn u(s: &str) -> chrono::DateTime<Utc> {
    t(s).with_timezone(&Utc)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(f)
}

fn post(code: Option<&str>, url: &str, title: &str) -> NewPost {
    NewPost {
        identity: Identity {
            info_code: code.map(str::to_string),
            canonical_url: url.to_string(),
            earlier: Vec::new(),
        },
        url: Some(url.to_string()),
        guid: Some(format!("guid:{url}")),
        title: Some(title.to_string()),
        content_html: Some(format!("<p>{title}的正文</p>")),
        content_text: Some(format!("{title}的正文")),
        published_at: Some(t("2022-01-10T16:57:30+08:00")),
        ..NewPost::default()
    }
}

/// A successful poll of `source` that found `posts` (the backend tests use it too).
pub(super) fn poll(source: &str, posts: Vec<NewPost>) -> PollRecord {
    PollRecord {
        blocked: Vec::new(),
        source: source.to_string(),
        fetch: FetchRecord {
            url: format!("http://{source}.example/feed.xml"),
            started_at: u("2022-01-10T09:00:00Z"),
            duration_ms: 12,
            http_status: Some(200),
            outcome: Outcome::Ok,
            bytes: 1000,
            error: None,
        },
        validators: None,
        items: posts.len(),
        posts,
        next_poll_at: None,
        unconditional: false,
        moved_to: None,
        hold_until: None,
        run_started_at: Utc::now(),
    }
}

fn sources(store: &Store) {
    let rows = ["a", "b"]
        .iter()
        .map(|s| {
            (
                s.to_string(),
                s.to_uppercase(),
                format!("http://{s}.example/"),
            )
        })
        .collect();
    block_on(store.sync_sources(rows)).expect("sync sources");
}

fn posts(reader: &Reader) -> Vec<PostRow> {
    let mut out = Vec::new();
    reader
        .for_each_post(&PostFilter::default(), |p| {
            out.push(p);
            Ok::<(), StoreError>(())
        })
        .expect("read posts");
    out
}

/// One article stored once, whichever sources and URL shapes bring it: by
/// infoCode, by key; a repeat adds its source and nothing else.
#[test]
fn an_article_is_stored_once() {
    on_every_backend(|store, reader| {
        sources(store);
        let s = block_on(store.save_poll(poll(
            "a",
            vec![post(Some("NW1"), "http://a.example/1", "央行降息")],
        )))
        .unwrap();
        assert_eq!((s.new_posts, s.repeats), (1, 0));
        // The same infoCode under another URL, from another source; the
        // same key again from the first.
        let s = block_on(store.save_poll(poll(
            "b",
            vec![post(Some("NW1"), "http://b.example/x?id=1", "央行降息")],
        )))
        .unwrap();
        assert_eq!((s.new_posts, s.repeats), (0, 1));
        let s = block_on(store.save_poll(poll(
            "a",
            vec![post(None, "http://a.example/1", "央行降息")],
        )))
        .unwrap();
        assert_eq!((s.new_posts, s.repeats), (0, 1));
        let all = posts(&reader());
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].source, "a");
        assert_eq!(all[0].sources, ["a", "b"]);
        assert!(reader().has_info_code("NW1").unwrap());
        assert!(
            reader()
                .is_stored(&post(None, "http://a.example/1", ""))
                .unwrap()
        );
    });
}

/// The owner's newer version replaces the post in place (same id); an
/// older one, or another source's, does not.
#[test]
fn a_newer_version_replaces_in_place() {
    on_every_backend(|store, reader| {
        sources(store);
        let mut first = post(Some("NW2"), "http://a.example/2", "初稿");
        first.updated_at = Some(t("2022-01-10T17:00:00+08:00"));
        block_on(store.save_poll(poll("a", vec![first]))).unwrap();
        let id = posts(&reader())[0].id;
        let mut newer = post(Some("NW2"), "http://a.example/2", "更正");
        newer.updated_at = Some(t("2022-01-10T18:00:00+08:00"));
        let mut older = post(Some("NW2"), "http://a.example/2", "旧版");
        older.updated_at = Some(t("2022-01-10T16:00:00+08:00"));
        let s = block_on(store.save_poll(poll("a", vec![newer]))).unwrap();
        assert_eq!(s.updated_posts, 1);
        block_on(store.save_poll(poll("a", vec![older]))).unwrap();
        let all = posts(&reader());
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].id, all[0].title.as_deref()), (id, Some("更正")));
    });
}

/// One poll whose items repeat each other and earlier polls' posts (by
/// infoCode, by an earlier key, by an earlier key with its guid): each
/// found as it is at that point of the poll, the newer of two versions
/// kept, ids given in order without gaps (PostgreSQL writes a poll's new
/// rows together and gives back the ids it reserved and did not use).
#[test]
fn a_poll_that_repeats_itself_stores_each_post_once() {
    on_every_backend(|store, reader| {
        sources(store);
        block_on(store.save_poll(poll(
            "a",
            vec![post(Some("NW10"), "http://a.example/10", "旧的")],
        )))
        .unwrap();
        let earlier = |url: &str, e: Earlier| {
            let mut p = post(None, url, "别的网址");
            p.identity.earlier = vec![e];
            p
        };
        let mut x = post(Some("NW11"), "http://a.example/11", "初稿");
        x.updated_at = Some(t("2022-01-10T17:00:00+08:00"));
        let mut x2 = post(Some("NW11"), "http://a.example/11", "更正");
        x2.updated_at = Some(t("2022-01-10T18:00:00+08:00"));
        let items = vec![
            x,
            x2,
            // The first poll's post under an earlier key.
            earlier(
                "http://a.example/12",
                Earlier::Key("http://a.example/10".into()),
            ),
            // Under that key with another guid: another item.
            earlier(
                "http://a.example/13",
                Earlier::WithGuid("http://a.example/10".into(), "guid:other".into()),
            ),
            earlier(
                "http://a.example/14",
                Earlier::WithGuid(
                    "http://a.example/10".into(),
                    "guid:http://a.example/10".into(),
                ),
            ),
            post(Some("NW10"), "http://a.example/15", "旧的"),
            // Two URLs, one infoCode: one post.
            post(Some("NW20"), "http://a.example/20", "一篇"),
            post(Some("NW20"), "http://a.example/21", "一篇"),
        ];
        let s = block_on(store.save_poll(poll("a", items))).unwrap();
        assert_eq!(
            (s.new_posts, s.repeats, s.updated_posts),
            (3, 5, 1),
            "{s:?}"
        );
        block_on(store.save_poll(poll(
            "b",
            vec![post(Some("NW30"), "http://b.example/30", "下一篇")],
        )))
        .unwrap();
        let all = posts(&reader());
        let mut ids: Vec<(i64, Option<String>)> =
            all.iter().map(|p| (p.id, p.title.clone())).collect();
        ids.sort();
        let titles =
            |v: &[&str]| -> Vec<Option<String>> { v.iter().map(|t| Some(t.to_string())).collect() };
        assert_eq!(ids.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert_eq!(
            ids.into_iter().map(|p| p.1).collect::<Vec<_>>(),
            titles(&["旧的", "更正", "别的网址", "一篇", "下一篇"])
        );
    });
}

/// A post whose article is to be fetched is due once; once saved, never
/// again, and the post carries the article's text.
#[test]
fn an_article_is_fetched_once() {
    on_every_backend(|store, reader| {
        sources(store);
        let mut p = post(Some("NW3"), "http://a.example/3", "快讯");
        p.article_pending = true;
        block_on(store.save_poll(poll("a", vec![p]))).unwrap();
        let due = block_on(store.due_articles("a", Utc::now(), 10)).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].info_code.as_deref(), Some("NW3"));
        let result = ArticleResult {
            post_id: due[0].post_id,
            fetch: poll("a", Vec::new()).fetch,
            outcome: ArticleOutcome::Done(ArticleFields {
                title: Some("快讯全文".into()),
                published_at: None,
                content_html: Some("<p>文章页的正文</p>".into()),
                content_text: Some("文章页的正文".into()),
                origin: Some("新华社".into()),
                fingerprint: None,
            }),
        };
        block_on(store.save_articles("a", vec![result])).unwrap();
        assert!(
            block_on(store.due_articles("a", Utc::now(), 10))
                .unwrap()
                .is_empty()
        );
        let p = &posts(&reader())[0];
        assert_eq!(p.content_text.as_deref(), Some("文章页的正文"));
        assert_eq!(p.origin.as_deref(), Some("新华社"));
        assert_eq!(p.article_state.as_deref(), Some("done"));
    });
}

/// Pruning: the preview counts what a prune deletes; a pruned post stays
/// gone when its item comes again (its keys are kept).
#[test]
fn pruned_posts_stay_gone() {
    on_every_backend(|store, reader| {
        sources(store);
        let mut old = post(Some("NW4"), "http://a.example/4", "旧闻");
        old.published_at = Some(t("2020-01-01T08:00:00+08:00"));
        let new = post(Some("NW5"), "http://a.example/5", "新闻");
        block_on(store.save_poll(poll("a", vec![old.clone(), new]))).unwrap();
        let cutoff = Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0).unwrap();
        let preview = reader().prune_preview(&Cutoffs::all(cutoff)).unwrap();
        assert_eq!(preview.posts, 1);
        let pruned = block_on(store.prune(Cutoffs::all(cutoff))).unwrap();
        assert_eq!(pruned, preview);
        let s = block_on(store.save_poll(poll("a", vec![old]))).unwrap();
        assert_eq!((s.new_posts, s.pruned), (0, 1));
        let titles: Vec<_> = posts(&reader())
            .into_iter()
            .filter_map(|p| p.title)
            .collect();
        assert_eq!(titles, ["新闻"]);
    });
}

/// Per-source retention: a source's own cutoff for its posts and fetch
/// records, the default for the others, nothing for a source with neither.
#[test]
fn each_source_is_pruned_by_its_own_cutoff() {
    on_every_backend(|store, reader| {
        sources(store);
        let dated = |code: &str, url: &str, title: &str, when: &str| {
            let mut p = post(Some(code), url, title);
            p.published_at = Some(t(when));
            p
        };
        block_on(store.save_poll(poll(
            "a",
            vec![
                dated(
                    "NW10",
                    "http://a.example/10",
                    "甲旧",
                    "2020-01-01T08:00:00+08:00",
                ),
                dated(
                    "NW11",
                    "http://a.example/11",
                    "甲较新",
                    "2020-06-01T08:00:00+08:00",
                ),
            ],
        )))
        .unwrap();
        block_on(store.save_poll(poll(
            "b",
            vec![dated(
                "NW12",
                "http://b.example/12",
                "乙旧",
                "2020-01-01T08:00:00+08:00",
            )],
        )))
        .unwrap();
        // Only a's own cutoff: b is kept whatever its age.
        let mut only_a = Cutoffs::default();
        only_a.per_source.insert(
            "a".into(),
            Utc.with_ymd_and_hms(2020, 3, 1, 0, 0, 0).unwrap(),
        );
        assert_eq!(reader().prune_preview(&only_a).unwrap().posts, 1);
        // With a default earlier than b's post, b stays too; later, b goes.
        let mut both = only_a.clone();
        both.default = Some(Utc.with_ymd_and_hms(2019, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(reader().prune_preview(&both).unwrap().posts, 1);
        both.default = Some(Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0).unwrap());
        let preview = reader().prune_preview(&both).unwrap();
        assert_eq!(preview.posts, 2);
        assert_eq!(block_on(store.prune(both)).unwrap(), preview);
        let mut titles: Vec<_> = posts(&reader())
            .into_iter()
            .filter_map(|p| p.title)
            .collect();
        titles.sort();
        assert_eq!(titles, ["甲较新"]);
    });
}

/// Every field comes back as it was stored (exports are byte for byte the
/// same whatever the backend), and the change feed gives what was stored
/// or changed after a cursor.
#[test]
fn posts_come_back_as_stored_and_changes_follow_a_cursor() {
    on_every_backend(|store, reader| {
        sources(store);
        let mut p = post(
            Some("NW6"),
            "http://a.example/6?x=\"1\"",
            "标题 \"引号\" & <b>",
        );
        p.author = Some("记者 张三".into());
        p.summary = Some("摘要😀".into());
        p.origin = Some("央视新闻客户端".into());
        p.updated_at = Some(t("2022-01-10T17:00:00+08:00"));
        p.enclosures = vec![
            crate::feed::Enclosure {
                url: url::Url::parse("https://media.example.cn/6.mp3").unwrap(),
                mime: Some("audio/mpeg".into()),
                length: Some(31001234),
            },
            crate::feed::Enclosure {
                url: url::Url::parse("https://img.example.cn/6.jpg").unwrap(),
                mime: None,
                length: None,
            },
        ];
        block_on(store.save_poll(poll("a", vec![p.clone()]))).unwrap();
        let r = reader();
        let got = &posts(&r)[0];
        let enclosures: Vec<(&str, Option<&str>, Option<i64>)> = got
            .enclosures
            .iter()
            .map(|e| (e.url.as_str(), e.mime.as_deref(), e.length))
            .collect();
        assert_eq!(
            enclosures,
            [
                (
                    "https://media.example.cn/6.mp3",
                    Some("audio/mpeg"),
                    Some(31001234)
                ),
                ("https://img.example.cn/6.jpg", None, None)
            ]
        );
        assert_eq!(got.info_code.as_deref(), Some("NW6"));
        assert_eq!(got.canonical_url, p.identity.canonical_url);
        assert_eq!(
            (&got.url, &got.guid, &got.title, &got.author),
            (&p.url, &p.guid, &p.title, &p.author)
        );
        assert_eq!(
            (
                &got.summary,
                &got.content_html,
                &got.content_text,
                &got.origin
            ),
            (&p.summary, &p.content_html, &p.content_text, &p.origin)
        );
        // Times come back as the publisher wrote them, offset and all.
        assert_eq!(
            (got.published_at.as_deref(), got.updated_at.as_deref()),
            (
                Some("2022-01-10T16:57:30+08:00"),
                Some("2022-01-10T17:00:00+08:00")
            )
        );
        assert_eq!(got.published_utc.as_deref(), Some("2022-01-10T08:57:30Z"));
        assert_eq!(got.source_name, "A");

        let cursor = r.last_change().unwrap();
        assert!(cursor > 0);
        assert_eq!(r.export_cursor("t").unwrap(), 0);
        block_on(store.set_export_cursor("t", cursor)).unwrap();
        assert_eq!(reader().export_cursor("t").unwrap(), cursor);
        block_on(store.save_poll(poll(
            "a",
            vec![post(Some("NW7"), "http://a.example/7", "第二篇")],
        )))
        .unwrap();
        let r = reader();
        let filter = PostFilter {
            changed: Some((cursor, r.last_change().unwrap())),
            ..PostFilter::default()
        };
        let mut changed = Vec::new();
        r.for_each_post(&filter, |p| {
            changed.push(p.info_code.unwrap_or_default());
            Ok::<(), StoreError>(())
        })
        .unwrap();
        assert_eq!(changed, ["NW7"]);
    });
}

/// Search finds Chinese words of two or more characters and Latin words,
/// whether or not the post is indexed yet.
#[test]
fn search_finds_what_was_stored() {
    on_every_backend(|store, reader| {
        sources(store);
        block_on(store.save_poll(poll(
            "a",
            vec![
                post(Some("NW8"), "http://a.example/8", "央行宣布降息 inflation"),
                post(Some("NW9"), "http://a.example/9", "股市收盘"),
            ],
        )))
        .unwrap();
        let find = |q: &str| -> Vec<String> {
            let query = crate::search::Query::parse(q).expect("a query");
            reader()
                .search(&query, &PostFilter::default(), 10)
                .unwrap()
                .into_iter()
                .map(|h| h.title.unwrap_or_default())
                .collect()
        };
        assert_eq!(find("降息"), ["央行宣布降息 inflation"]);
        // Indexing takes what was left to index: both posts on SQLite,
        // none on PostgreSQL (which indexes each row as it is written).
        let left = block_on(store.unindexed()).unwrap();
        assert!(left == 0 || left == 2, "{left} left");
        assert_eq!(block_on(store.index_all()).unwrap(), left);
        assert_eq!(find("降息"), ["央行宣布降息 inflation"]);
        assert_eq!(find("inflation"), ["央行宣布降息 inflation"]);
        assert_eq!(find("收盘"), ["股市收盘"]);
        assert!(find("地震").is_empty());
        assert_eq!(block_on(store.unindexed()).unwrap(), 0);
        block_on(store.ping()).unwrap();
    });
}
