//! Stories: one piece of news republished by many outlets, each under its
//! own URL and infoCode, with a rewritten headline, another source line, an
//! editor's byline, a paragraph dropped or a caption added. Posts are never
//! merged: a story only groups them. This module owns what decides it:
//!
//! - [`Fingerprint::of`] turns a post into what is compared: its body
//!   normalized (full-width folded, punctuation and whitespace dropped,
//!   source, editor, byline, caption and disclaimer lines removed), a
//!   MinHash signature of its character 5-grams, one of its title's
//!   character pairs, and the numbers it states;
//! - [`Fingerprint::bands`] gives the LSH keys under which it is filed, so
//!   that candidates are looked up, never scanned for;
//! - [`Fingerprint::matches`] decides a candidate: the estimated Jaccard
//!   similarity of the texts over the threshold, and the numbers they state
//!   in agreement (a release or a market wrap of the same template with
//!   other numbers is another story), or, when either body is short (a
//!   teaser), the titles' similarity and publication times within hours of
//!   each other.
//!
//! [`Grouper`] assigns stories in memory (the labelled set's evaluation
//! uses it); the database keeps the same signatures and bands.
//!
//! MinHash is written here rather than taken from a crate: the signatures
//! are stored, so the hash must never change between versions (std's
//! hasher may; the crates found, `lshdedup-core` 0.1 and
//! `datasketch-minhash-lsh` 0.0.1, are young and keep their index in
//! memory, where ours lives in the database); the whole of it is a fixed
//! 64-bit hash (FNV-1a) and 128 mixes of it (SplitMix64's finalizer).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset};

/// Characters per shingle: 5 characters of Chinese are about two words.
const SHINGLE: usize = 5;
/// Hash functions per signature.
pub const PERMUTATIONS: usize = 126;
/// LSH bands of [`ROWS`] rows: a pair whose texts are half the same shares
/// a band with probability 1 − (1 − 0.5³)⁴² ≈ 0.996; at a fifth, 0.28.
pub const BANDS: usize = 42;
const ROWS: usize = PERMUTATIONS / BANDS;
/// Below this many characters of normalized text, a body is short (a
/// teaser, a flash): it may also be matched by its title and time.
const SHORT: usize = 150;
/// Below this many, a text is not compared at all: too little to tell.
const TINY: usize = 30;
/// How far apart a short post and its story may have been published to be
/// matched by the title.
const TITLE_HOURS: i64 = 12;
/// Posts that state at least this many telling numbers are compared on
/// them too.
const NUMBERS: usize = 2;
/// The estimated Jaccard similarity over which two texts (or, for a short
/// post, two titles) tell one story (`[stories] threshold`).
pub const THRESHOLD: f64 = 0.5;

/// What a post is compared on.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    /// MinHash of the body's 5-character shingles (empty when the body has
    /// fewer than [`TINY`] characters to compare).
    pub text: Vec<u32>,
    /// MinHash of the title's 2-character shingles.
    pub title: Vec<u32>,
    /// Whether the body is short (a teaser): then the title counts too.
    pub short: bool,
    /// The numbers the body states (`0.25`, `5000`, `7.6`), at most 64.
    pub numbers: Vec<String>,
    pub published: Option<DateTime<FixedOffset>>,
}

impl Fingerprint {
    pub fn of(title: &str, text: &str, published: Option<DateTime<FixedOffset>>) -> Fingerprint {
        let folded = fold(&strip_lines(text));
        let body: String = folded.chars().filter(|c| c.is_alphanumeric()).collect();
        let chars = body.chars().count();
        Fingerprint {
            text: if chars < TINY {
                Vec::new()
            } else {
                minhash(&shingles(&body, SHINGLE))
            },
            title: minhash(&shingles(&normalize(title), 2)),
            short: chars < SHORT,
            numbers: numbers(&folded),
            published,
        }
    }

    /// The LSH keys: one per band of the text's signature and one per band
    /// of the title's, each the band's number and a hash of its rows. Two
    /// fingerprints that share a key are candidates.
    pub fn bands(&self) -> Vec<(u8, u64)> {
        let text = self.text.chunks(ROWS).enumerate();
        let title = self
            .title
            .chunks(ROWS)
            .enumerate()
            .map(|(i, r)| (i + BANDS, r));
        text.chain(title)
            .map(|(i, rows)| {
                let mut h = FNV_OFFSET;
                for r in rows {
                    h = fnv(h, &r.to_le_bytes());
                }
                (i as u8, h)
            })
            .collect()
    }

    /// The estimated Jaccard similarity of two texts (0 when either has
    /// none).
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        agreement(&self.text, &other.text)
    }

    /// Whether `other` (a candidate) tells the same story: their texts alike
    /// at `threshold` (the estimated Jaccard similarity) and their numbers
    /// in agreement; or, when either is short, their titles alike at
    /// `threshold` and their times within hours.
    pub fn matches(&self, other: &Fingerprint, threshold: f64) -> bool {
        if !self.numbers_agree(other) {
            return false;
        }
        if self.similarity(other) >= threshold {
            return true;
        }
        let close = match (self.published, other.published) {
            (Some(a), Some(b)) => (a - b).num_hours().abs() <= TITLE_HOURS,
            _ => false,
        };
        (self.short || other.short) && close && agreement(&self.title, &other.title) >= threshold
    }

    /// How alike, for choosing among several matches: the texts', else
    /// the titles'.
    pub fn closeness(&self, other: &Fingerprint) -> f64 {
        self.similarity(other)
            .max(agreement(&self.title, &other.title) / 2.0)
    }

    /// Two posts that each state several numbers share most of them: the
    /// fewer's numbers are mostly the other's.
    fn numbers_agree(&self, other: &Fingerprint) -> bool {
        let (a, b) = (&self.numbers, &other.numbers);
        if a.len() < NUMBERS || b.len() < NUMBERS {
            return true;
        }
        let b: HashSet<&String> = b.iter().collect();
        let shared = a.iter().filter(|n| b.contains(n)).count();
        shared * 10 >= 6 * a.len().min(b.len())
    }
}

/// The share of positions where two signatures agree (0 when either is
/// empty or holds nothing).
fn agreement(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || b.is_empty() || a.iter().all(|&v| v == u32::MAX) {
        return 0.0;
    }
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / a.len().max(b.len()) as f64
}

/// Lines that are the outlet's, not the story's: source and editor lines,
/// bylines, captions, a portal's app prompt.
fn strip_lines(text: &str) -> String {
    static OUTLET: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"^[（(【\[]?\s*(?:文章来源|来源|责任编辑|责编|编辑|校对|作者|图片编辑|Source)\s*[:：]",
            r"|记者[\s|｜]*\S{1,12}(?:\s+\S{1,12}){0,3}$",
            r"|^\S{0,12}(?:编辑|记者)\s*[|｜]",
            r"|(?:图|摄|供图)$|^资料图",
            r"|contributed to this report\.?$|^(?:Photo|Image|Credit)\s*:",
            r"|^海量资讯|广告合作",
        ))
        .expect("static regex")
    });
    // Disclaimers, whatever their length: the same one stands under
    // unrelated articles of a site.
    static NOTICE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^[【\[]?(?:郑重声明|免责声明|特别声明|风险提示|声明)[】\]]?\s*[:：]")
            .expect("static regex")
    });
    text.lines()
        .map(str::trim)
        .filter(|l| {
            !(l.is_empty() || NOTICE.is_match(l) || l.chars().count() < 60 && OUTLET.is_match(l))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Full-width forms folded to ASCII, the ideographic space to a space,
/// letters lower-cased.
fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Only letters and digits of any script: punctuation and spaces are
/// where outlets differ most and say least.
fn normalize(text: &str) -> String {
    fold(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The numbers a text states that tell one release from another: those
/// with decimals and those of three digits or more, but not years (days
/// and months, `3月15日`, are shared by everything published that day).
/// Each once, at most 64.
fn numbers(text: &str) -> Vec<String> {
    static NUMBER: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\d+(?:\.\d+)?").expect("static regex"));
    let telling = |n: &str| {
        n.contains('.')
            || n.len() >= 3 && !(n.len() == 4 && (n.starts_with("19") || n.starts_with("20")))
    };
    let mut seen = HashSet::new();
    NUMBER
        .find_iter(text)
        .map(|m| m.as_str())
        .filter(|n| telling(n))
        .map(str::to_string)
        .filter(|n| seen.insert(n.clone()))
        .take(64)
        .collect()
}

/// Overlapping `n`-character shingles, hashed (the whole text when shorter).
fn shingles(text: &str, n: usize) -> HashSet<u64> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = HashSet::new();
    let mut buf = [0u8; 4];
    for w in chars.windows(n.min(chars.len()).max(1)) {
        let mut h = FNV_OFFSET;
        for c in w {
            h = fnv(h, c.encode_utf8(&mut buf).as_bytes());
        }
        out.insert(h);
    }
    out
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// SplitMix64's finalizer: a fixed, well-mixed permutation of 64-bit values.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The minimum of each of [`PERMUTATIONS`] mixes over the shingles (all
/// `u32::MAX` for an empty set, which matches nothing but itself).
fn minhash(shingles: &HashSet<u64>) -> Vec<u32> {
    (0..PERMUTATIONS as u64)
        .map(|i| {
            let seed = mix(i.wrapping_add(0x9E37_79B9_7F4A_7C15));
            shingles
                .iter()
                .map(|s| (mix(s ^ seed) >> 32) as u32)
                .min()
                .unwrap_or(u32::MAX)
        })
        .collect()
}

/// Stories assigned in memory, in the order posts come: a post joins the
/// story of its closest matching candidate, else starts one; a post that
/// matches posts of several stories joins them into one (a teaser filed
/// apart under its own headline joins once a later post matches both).
#[derive(Default)]
pub struct Grouper {
    posts: Vec<(Fingerprint, usize)>,
    bands: HashMap<(u8, u64), Vec<usize>>,
    /// Each story's parent: a story joined into another points to it.
    parent: Vec<usize>,
}

impl Grouper {
    /// Files a post; returns its number (see [`Grouper::story`]).
    pub fn add(&mut self, fp: Fingerprint, threshold: f64) -> usize {
        let keys = fp.bands();
        let mut candidates: Vec<usize> = keys
            .iter()
            .filter_map(|k| self.bands.get(k))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut matched: Vec<(f64, usize)> = candidates
            .iter()
            .filter_map(|&i| self.posts.get(i))
            .filter(|(other, _)| fp.matches(other, threshold))
            .map(|(other, story)| (fp.closeness(other), *story))
            .collect();
        matched.sort_by(|a, b| b.0.total_cmp(&a.0));
        let story = match matched.first() {
            Some(&(_, s)) => {
                let root = self.root(s);
                for &(_, other) in matched.iter().skip(1) {
                    let other = self.root(other);
                    if let Some(p) = self.parent.get_mut(other) {
                        *p = root;
                    }
                }
                root
            }
            None => {
                self.parent.push(self.parent.len());
                self.parent.len() - 1
            }
        };
        let index = self.posts.len();
        for k in keys {
            self.bands.entry(k).or_default().push(index);
        }
        self.posts.push((fp, story));
        index
    }

    /// The story of post `index` now (numbered from 0).
    pub fn story(&self, index: usize) -> Option<usize> {
        self.posts.get(index).map(|&(_, s)| self.root(s))
    }

    fn root(&self, mut s: usize) -> usize {
        while let Some(&p) = self.parent.get(s) {
            if p == s {
                break;
            }
            s = p;
        }
        s
    }
}

#[cfg(test)]
mod tests;
