//! `newscrawl-bench stories-scale`: what grouping posts into stories costs
//! as the database grows, through newscrawl's own store (the writer, its
//! index in memory, the signatures in SQLite), without the network.
//!
//! Posts are sentences of the realistic corpus's vocabulary (jieba's
//! Chinese dictionary), 300–900 characters; a fifth of them republish an
//! earlier post (a sentence dropped, a source line and an editor's line
//! added), so that lookups find candidates and stories grow. They are
//! saved 500 to a poll, as a crawl saves them, with their fingerprints
//! taken beforehand as the crawl takes them (off the writer).
//!
//! Reported per block of posts: the time to save a post (story lookup,
//! assignment and insert) and the process's resident memory; then, with
//! the stored posts spread over 100 days (3 days, the default window, in
//! the index), a restart: the time to read the window's signatures and
//! the time per post saved after it. The time per post of the first block
//! against the last is what the lookup costs at size.

use std::time::Instant;

use newscrawl::dedup::Identity;
use newscrawl::store::{FetchRecord, NewPost, Outcome, PollRecord, Store};
use newscrawl::stories::Fingerprint;

use crate::{Rng, Vocabs, sentence};

const POLL: usize = 500;

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Post `i`: its title and text (a republication of an earlier one for a
/// fifth of them).
fn post_text(v: &Vocabs, i: u64, seed: u64) -> (String, String) {
    let mut rng = Rng::new(seed ^ (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let original = if i > 100 && rng.below(5) == 0 {
        Some(i - 1 - rng.below(100.min(i)))
    } else {
        None
    };
    let make = |j: u64| -> (String, Vec<String>) {
        let mut r = Rng::new(seed ^ (j + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let title = sentence(v, true, &mut r);
        let n = 6 + r.below(12);
        (title, (0..n).map(|_| sentence(v, true, &mut r)).collect())
    };
    match original {
        None => {
            let (title, sentences) = make(i);
            (title, sentences.join("\n"))
        }
        Some(j) => {
            let (_, mut sentences) = make(j);
            // Another outlet's headline, a sentence dropped, its own lines.
            let title = sentence(v, true, &mut rng);
            if sentences.len() > 4 {
                let drop = rng.below(sentences.len() as u64) as usize;
                sentences.remove(drop);
            }
            sentences.insert(0, format!("（来源：转载{}）", rng.below(50)));
            sentences.push(format!("责任编辑：编辑{}", rng.below(80)));
            (title, sentences.join("\n"))
        }
    }
}

fn new_post(v: &Vocabs, i: u64, seed: u64) -> NewPost {
    let (title, text) = post_text(v, i, seed);
    let url = format!("http://bench.example/p/{seed}/{i}");
    NewPost {
        identity: Identity {
            info_code: None,
            canonical_url: url.clone(),
            earlier: Vec::new(),
        },
        url: Some(url),
        fingerprint: Some(Fingerprint::of(&title, &text)),
        title: Some(title),
        content_text: Some(text),
        ..NewPost::default()
    }
}

fn poll(posts: Vec<NewPost>) -> PollRecord {
    let now = chrono::Utc::now();
    PollRecord {
        source: "bench".into(),
        fetch: FetchRecord {
            url: "http://bench.example/feed".into(),
            started_at: now,
            duration_ms: 0,
            http_status: Some(200),
            outcome: Outcome::Ok,
            bytes: 0,
            error: None,
        },
        validators: None,
        items: posts.len(),
        posts,
        next_poll_at: None,
        unconditional: false,
        moved_to: None,
        hold_until: None,
        run_started_at: now,
        blocked: Vec::new(),
    }
}

/// Saves posts `from..to` in polls of [`POLL`]; the seconds spent saving
/// (fingerprints are taken before the clock runs, as the crawl takes them
/// off the writer).
async fn save(store: &Store, v: &Vocabs, from: u64, to: u64, seed: u64) -> f64 {
    let mut secs = 0.0;
    let mut i = from;
    while i < to {
        let end = (i + POLL as u64).min(to);
        let posts: Vec<NewPost> = (i..end).map(|j| new_post(v, j, seed)).collect();
        let t = Instant::now();
        store.save_poll(poll(posts)).await.expect("save");
        secs += t.elapsed().as_secs_f64();
        i = end;
    }
    secs
}

pub fn run(db: &std::path::Path, posts: u64, block: u64, v: &Vocabs) {
    let seed = 42;
    let _ = std::fs::remove_file(db);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!("| stored posts | µs per post saved (lookup + assign + insert) | RSS MB |");
        println!("|---:|---:|---:|");
        let store = Store::open_with(&newscrawl::config::Database::Sqlite(db.to_path_buf()), false).expect("open");
        let mut stored = 0;
        while stored < posts {
            let end = (stored + block).min(posts);
            let secs = save(&store, v, stored, end, seed).await;
            println!(
                "| {end} | {:.1} | {:.0} |",
                secs * 1e6 / (end - stored) as f64,
                rss_mb()
            );
            stored = end;
        }
        drop(store);

        // The same posts spread over 100 days, stored up to now: a restart
        // reads the window (3 days) of them.
        let conn = rusqlite::Connection::open(db).expect("open");
        let now = chrono::Utc::now().timestamp();
        conn.execute(
            "UPDATE story_signatures SET seen_at = ?1 - (?2 - post_id) * 8640 / (?2 / 1000)",
            rusqlite::params![now, posts as i64],
        )
        .expect("spread");
        let window: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM story_signatures WHERE seen_at >= ?1",
                [now - 3 * 86_400],
                |r| r.get(0),
            )
            .expect("count");
        let stories: i64 = conn
            .query_row("SELECT COUNT(*) FROM stories", [], |r| r.get(0))
            .expect("count");
        drop(conn);
        println!();
        println!(
            "{posts} posts in {stories} stories; spread over 100 days, {window} of them in the 3-day window."
        );
        let rss_before = rss_mb();
        let store = Store::open_with(&newscrawl::config::Database::Sqlite(db.to_path_buf()), false).expect("open");
        let t = Instant::now();
        // The first save reads the window's signatures.
        save(&store, v, posts, posts + 1, seed + 1).await;
        let load = t.elapsed().as_secs_f64();
        let more = 10_000;
        let secs = save(&store, v, posts + 1, posts + 1 + more, seed + 1).await;
        println!(
            "After a restart: reading the window's signatures and saving one post {load:.2} s; then {:.1} µs per post saved ({more} posts); RSS {:.0} MB (was {rss_before:.0} MB before the store opened).",
            secs * 1e6 / more as f64,
            rss_mb()
        );
    });
}
