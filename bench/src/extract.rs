//! `extract-eval`: newscrawl's article extractor scored on the pages of
//! `bench/extract/` against their hand-annotated truth (`truth.py` writes
//! it from `pages.toml`), with the token-shingle F1 of the public
//! comparisons of extractors (tokens are `\w+` runs, shingles of 4,
//! true/false positives and negatives normalized per page; precision and
//! recall averaged over pages, F1 of the averages; one change: each CJK
//! character is a token of its own, where `\w+` would make a whole clause
//! of Chinese one token and a page of five paragraphs forty tokens, so that
//! one caption more or less weighs a tenth of the page), plus the headline and
//! the date each page shows. Run by `bench/run.sh extract`, never by the
//! test suite.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Deserialize;

#[derive(Deserialize)]
struct Manifest {
    page: Vec<Page>,
}

#[derive(Deserialize)]
struct Page {
    file: String,
    url: String,
    lang: String,
    /// The headline as the page shows it.
    title: String,
    /// The publication time the page shows (RFC 3339), or its day
    /// (`YYYY-MM-DD`) when it shows no time; absent when it shows none.
    date: Option<String>,
}

/// Per page: `(tp, fp, fn)` normalized to sum to 1.
fn shingle_match(truth: &str, pred: &str) -> (f64, f64, f64) {
    let (t, p) = (shingles(truth), shingles(pred));
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for key in t.keys().chain(p.keys().filter(|k| !t.contains_key(*k))) {
        let (tc, pc) = (
            *t.get(key).unwrap_or(&0) as f64,
            *p.get(key).unwrap_or(&0) as f64,
        );
        tp += tc.min(pc);
        fp += (pc - tc).max(0.0);
        fn_ += (tc - pc).max(0.0);
    }
    let s = tp + fp + fn_;
    if s > 0.0 {
        (tp / s, fp / s, fn_ / s)
    } else {
        (0.0, 0.0, 0.0)
    }
}

fn shingles(text: &str) -> HashMap<Vec<String>, usize> {
    static WORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]|[\w--\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]+")
                .expect("static regex")
    });
    let tokens: Vec<String> = WORD
        .find_iter(text)
        .map(|m| m.as_str().to_lowercase())
        .collect();
    let mut out = HashMap::new();
    let n = 4;
    for i in 0..tokens.len().saturating_sub(n - 1).max(1) {
        let sh: Vec<String> = tokens.iter().skip(i).take(n).cloned().collect();
        if !sh.is_empty() {
            *out.entry(sh).or_insert(0) += 1;
        }
    }
    out
}

fn precision((tp, fp, fn_): (f64, f64, f64)) -> f64 {
    if fp == 0.0 && fn_ == 0.0 {
        1.0
    } else if tp == 0.0 && fp == 0.0 {
        0.0
    } else {
        tp / (tp + fp)
    }
}

fn recall((tp, fp, fn_): (f64, f64, f64)) -> f64 {
    if fp == 0.0 && fn_ == 0.0 {
        1.0
    } else if tp == 0.0 && fn_ == 0.0 {
        0.0
    } else {
        tp / (tp + fn_)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum DateVerdict {
    Right,
    /// Right day, time of day lost or wrong.
    DayOnly,
    Wrong,
    Missing,
    /// The page shows none and none was found.
    NoneShown,
    /// The page shows none, one was found.
    Invented,
}

fn judge_date(want: Option<&str>, got: Option<DateTime<FixedOffset>>) -> DateVerdict {
    match (want, got) {
        (None, None) => DateVerdict::NoneShown,
        (None, Some(_)) => DateVerdict::Invented,
        (Some(_), None) => DateVerdict::Missing,
        (Some(w), Some(g)) => {
            if let Ok(w) = DateTime::parse_from_rfc3339(w) {
                if w == g {
                    DateVerdict::Right
                } else if w.with_timezone(&g.timezone()).date_naive() == g.date_naive() {
                    DateVerdict::DayOnly
                } else {
                    DateVerdict::Wrong
                }
            } else if let Ok(day) = NaiveDate::parse_from_str(w, "%Y-%m-%d") {
                if g.date_naive() == day {
                    DateVerdict::Right
                } else {
                    DateVerdict::Wrong
                }
            } else {
                DateVerdict::Wrong
            }
        }
    }
}

struct Scored {
    file: String,
    lang: String,
    counts: (f64, f64, f64),
    title_ok: bool,
    date: DateVerdict,
    micros: f64,
}

/// Scores every page of `dir`; `out` gets one TSV line per page, and
/// `against` (an earlier `out`) lists the pages whose recall fell.
pub fn run(dir: &Path, repeat: usize, out: Option<&Path>, against: Option<&Path>) {
    let manifest: Manifest = match std::fs::read_to_string(dir.join("pages.toml"))
        .map_err(|e| e.to_string())
        .and_then(|t| toml::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{}: {e}", dir.join("pages.toml").display());
            std::process::exit(2);
        }
    };
    let tz = chrono_tz::Asia::Shanghai;
    let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00+08:00").expect("static date");
    let sel = newscrawl::config::ArticleSelectors::default();
    let mut scored = Vec::new();
    for p in &manifest.page {
        let path = dir.join("pages").join(&p.file);
        let (Ok(page), Ok(truth)) = (
            std::fs::read_to_string(&path),
            std::fs::read_to_string(path.with_extension("txt")),
        ) else {
            eprintln!(
                "{}: page or truth missing (run bench/extract/truth.py)",
                path.display()
            );
            std::process::exit(2);
        };
        let Ok(url) = url::Url::parse(&p.url) else {
            eprintln!("{}: bad url {}", p.file, p.url);
            std::process::exit(2);
        };
        let started = Instant::now();
        let mut art = None;
        for _ in 0..repeat.max(1) {
            art = newscrawl::article::extract_page(&page, &url, &sel, tz, now).ok();
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / repeat.max(1) as f64;
        let art = art.unwrap_or_default();
        let text = art.content_text.clone().unwrap_or_default();
        let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        scored.push(Scored {
            file: p.file.clone(),
            lang: p.lang.clone(),
            counts: shingle_match(&truth, &text),
            title_ok: art.title.as_deref().map(norm) == Some(norm(&p.title)),
            date: judge_date(p.date.as_deref(), art.published),
            micros,
        });
        if std::env::var_os("EXTRACT_SHOW").is_some_and(|v| v == p.file.as_str()) {
            eprintln!(
                "title: {:?}\ndate: {:?}\n---\n{text}",
                art.title, art.published
            );
        }
    }
    println!("| page | lang | precision | recall | F1 | title | date | µs |");
    println!("|---|---|---:|---:|---:|---|---|---:|");
    for s in &scored {
        let (p, r) = (precision(s.counts), recall(s.counts));
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {} | {} | {:.0} |",
            s.file,
            s.lang,
            p,
            r,
            f1(p, r),
            if s.title_ok { "ok" } else { "WRONG" },
            match s.date {
                DateVerdict::Right => "ok",
                DateVerdict::DayOnly => "day only",
                DateVerdict::Wrong => "WRONG",
                DateVerdict::Missing => "missing",
                DateVerdict::NoneShown => "-",
                DateVerdict::Invented => "INVENTED",
            },
            s.micros
        );
    }
    println!();
    println!(
        "| set | pages | precision | recall | F1 | title right | date right (of shown) | date wrong or invented | median µs/page |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut langs: Vec<&str> = scored.iter().map(|s| s.lang.as_str()).collect();
    langs.sort_unstable();
    langs.dedup();
    for lang in langs.iter().copied().map(Some).chain([None]) {
        let set: Vec<&Scored> = scored
            .iter()
            .filter(|s| lang.is_none_or(|l| s.lang == l))
            .collect();
        summary(lang.unwrap_or("all"), &set);
    }
    if let Some(out) = out {
        let tsv: String = scored
            .iter()
            .map(|s| {
                format!(
                    "{}\t{:.4}\t{:.4}\n",
                    s.file,
                    precision(s.counts),
                    recall(s.counts)
                )
            })
            .collect();
        if let Err(e) = std::fs::write(out, tsv) {
            eprintln!("{}: {e}", out.display());
        }
    }
    if let Some(against) = against {
        let before: HashMap<String, f64> = std::fs::read_to_string(against)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((f.next()?.to_string(), f.nth(1)?.parse().ok()?))
            })
            .collect();
        println!();
        println!("Pages whose recall fell against {}:", against.display());
        let mut any = false;
        for s in &scored {
            let now = recall(s.counts);
            if let Some(&was) = before.get(&s.file)
                && now + 1e-4 < was
            {
                any = true;
                println!("- {}: {was:.3} → {now:.3}", s.file);
            }
        }
        if !any {
            println!("- none");
        }
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

fn summary(name: &str, set: &[&Scored]) {
    let mean = |v: Vec<f64>| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let p = mean(
        set.iter()
            .filter(|s| s.counts.0 + s.counts.1 > 0.0)
            .map(|s| precision(s.counts))
            .collect(),
    );
    let r = mean(
        set.iter()
            .filter(|s| s.counts.0 + s.counts.2 > 0.0)
            .map(|s| recall(s.counts))
            .collect(),
    );
    let titles = set.iter().filter(|s| s.title_ok).count();
    let shown: Vec<&&Scored> = set
        .iter()
        .filter(|s| !matches!(s.date, DateVerdict::NoneShown | DateVerdict::Invented))
        .collect();
    let right = shown
        .iter()
        .filter(|s| s.date == DateVerdict::Right)
        .count();
    let bad = set
        .iter()
        .filter(|s| matches!(s.date, DateVerdict::Wrong | DateVerdict::Invented))
        .count();
    let mut times: Vec<f64> = set.iter().map(|s| s.micros).collect();
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
    println!(
        "| {name} | {} | {p:.3} | {r:.3} | {:.3} | {titles}/{} | {right}/{} | {bad} | {median:.0} |",
        set.len(),
        f1(p, r),
        set.len(),
        shown.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metric_is_the_public_one() {
        let t = "one two three four five six";
        assert_eq!(shingle_match(t, t), (1.0, 0.0, 0.0));
        // Half the predicted shingles are extra.
        let (tp, fp, fn_) = shingle_match("a b c d", "a b c d x y z w");
        assert!(tp > 0.0 && fp > 0.0 && fn_ == 0.0);
        assert_eq!(recall((tp, fp, fn_)), 1.0);
        assert!((precision((tp, fp, fn_)) - 0.2).abs() < 1e-9);
        // Nothing predicted.
        assert_eq!(recall(shingle_match("a b c d", "")), 0.0);
    }
}
