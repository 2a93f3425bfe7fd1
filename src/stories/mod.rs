//! Stories: one piece of news republished by many outlets, each under its
//! own URL and infoCode, with a rewritten headline, another source line, an
//! editor's byline, a paragraph dropped or a caption added. Posts are never
//! merged: a story only groups them. This module owns what decides it:
//!
//! - [`Fingerprint::of`] turns a post into what is compared: its body
//!   normalized (full-width folded, punctuation and whitespace dropped,
//!   source, editor, byline, caption and disclaimer lines removed), a
//!   MinHash signature of its character 5-grams, one of its title's
//!   character pairs (an English one's words), and the numbers it states;
//! - [`Fingerprint::bands`] gives the LSH keys under which it is filed, so
//!   that candidates are looked up, never scanned for ([`index`] files
//!   them);
//! - [`Fingerprint::matches`] decides a candidate: the estimated Jaccard
//!   similarity of the texts over the threshold, and the numbers they state
//!   in agreement (a release or a market wrap of the same template with
//!   other numbers is another story), or, when either body is short (a
//!   teaser), the titles' similarity and publication times within hours of
//!   each other.
//!
//! [`Grouper`] assigns stories in memory (the labelled set's evaluation
//! uses it); the store keeps the signatures in the database and assigns
//! stories as it saves posts.
//!
//! MinHash is written here rather than taken from a crate: the signatures
//! are stored, so the hash must never change between versions (std's
//! hasher may; the crates found, `lshdedup-core` 0.1 and
//! `datasketch-minhash-lsh` 0.0.1, are young, hash every shingle once per
//! permutation, and keep their index in memory as hash maps of vectors).
//! Ours is one-permutation hashing with optimal densification (Shrivastava,
//! ICML 2017): each shingle is hashed once (a fixed polynomial of its
//! characters and SplitMix64's finalizer) into one of the bins, so a
//! signature costs one hash per character, not one per character and bin.

pub mod index;

use std::collections::HashSet;

/// Characters per shingle: 5 characters of Chinese are about two words.
const SHINGLE: usize = 5;
/// Bins of a text's signature.
pub const TEXT_BINS: usize = 126;
/// Bins of a title's signature (a title has 10 to 40 character pairs).
pub const TITLE_BINS: usize = 36;
/// Rows (bins) per LSH band of a text.
const TEXT_ROWS: usize = 2;
/// LSH bands of a text, over its first `TEXT_BANDS × TEXT_ROWS` bins: a
/// pair whose texts are half the same shares one with probability
/// 1 − (1 − 0.5²)¹² ≈ 0.97, at 0.6 with 0.995, at 0.45 with 0.93 (stories
/// joined through a third post make up for pairs missed). Bands of two
/// bins let unrelated posts share one now and then (at a Jaccard
/// similarity of 0.05, once in 150 pairs): the sketch in memory
/// ([`Sketch`]) turns those down before any signature is read. Each band
/// is a lookup and an entry of the index (8 bytes): 12 where bands of
/// three rows needed 24 for the same recall.
pub const TEXT_BANDS: usize = 12;
/// Rows per LSH band of a title: titles share character pairs far more
/// often than texts share 5-grams.
const TITLE_ROWS: usize = 3;
/// LSH bands of a title (all its bins): a title half the same shares one
/// with probability 1 − (1 − 0.5³)¹² ≈ 0.8, at 0.6 with 0.93.
pub const TITLE_BANDS: usize = TITLE_BINS / TITLE_ROWS;
/// Characters of normalized text compared at most: the opening of a long
/// article (its lede and more), where republications agree most (outlets
/// cut and add at the end); and a fingerprint costs the same for a body
/// of 16 MB as for one of a few pages.
const MAX_CHARS: usize = 1000;
/// Characters of a title compared at most (a headline is a few dozen).
const MAX_TITLE: usize = 200;
/// Below this many characters of normalized text, a body is short (a
/// teaser, a flash): it may also be matched by its title and time.
const SHORT: usize = 150;
/// Below this many, a text is not compared at all: too little to tell.
const TINY: usize = 30;
/// Below this many characters a title (`快讯`, `公告`, `Update`) says too
/// little to match on.
const TINY_TITLE: usize = 6;
/// How far apart a short post and its story may have been published to be
/// matched by the title.
pub const TITLE_HOURS: i64 = 12;
/// Posts that state at least this many telling numbers are compared on
/// them too.
const NUMBERS: usize = 2;
/// A title's numbers kept, at most.
const TITLE_NUMBERS: usize = 8;
/// The estimated Jaccard similarity over which two texts (or, for a short
/// post, two titles) tell one story (`[stories] threshold`).
pub const THRESHOLD: f64 = 0.5;
/// The first byte of a stored signature: the version of this encoding and
/// of the hashes behind it.
const BLOB_VERSION: u8 = 2;

/// What a post is compared on. Made only by [`Fingerprint::of`] and
/// [`Fingerprint::from_blob`], which derive its LSH keys, stored form and
/// sketch from its fields once: the fields are private, so nothing changes
/// them after.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    /// MinHash of the body's 5-character shingles, the low 16 bits of each
    /// minimum (b-bit MinHash: two unrelated bins agree by chance once in
    /// 65,536, and the signature is half the size), empty when the body
    /// has fewer than [`TINY`] characters to compare.
    text: Vec<u16>,
    /// MinHash of the title's 2-character shingles (empty for a title of
    /// fewer than [`TINY_TITLE`] characters).
    title: Vec<u16>,
    /// Whether the body is short (a teaser): then the title counts too.
    short: bool,
    /// The numbers the body states (`0.25`, `5000`, `7.6`), at most 64.
    numbers: Vec<String>,
    /// The numbers of the title, each with the two characters before it
    /// (`突破=8000`, `第=1`), at most [`TITLE_NUMBERS`]: two flashes of one
    /// template (`成交额突破8000亿元`, `成交额突破1万亿元`) are two stories.
    title_numbers: Vec<String>,
    /// The LSH keys ([`Fingerprint::bands`]), hashed once, where the
    /// fingerprint is made: the writer only looks them up and files them.
    keys: Vec<(Band, u64)>,
    /// The stored form ([`Fingerprint::to_blob`]), encoded where the
    /// fingerprint is made, off the writer's thread.
    blob: Vec<u8>,
    /// Its [`Sketch`], made there too.
    sketch: Sketch,
}

impl Fingerprint {
    /// One pass over the text: the outlet's lines skipped, each character
    /// folded, the numbers read, letters and digits kept (the first
    /// [`MAX_CHARS`]).
    pub fn of(title: &str, text: &str) -> Fingerprint {
        // The kept characters ([`keep_line`]).
        let mut kept = ['\0'; MAX_CHARS + 1];
        let mut len = 0;
        let mut numbers = Numbers::default();
        // Lines split where the memchr crate's vector search finds them
        // (`str::lines` searches a word at a time); a `\r` before the
        // `\n` goes with the trim.
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]);
        for end in ends {
            let line = text.get(start..end).unwrap_or_default().trim();
            start = end + 1;
            if line.is_empty() || is_outlet_line(line) {
                continue;
            }
            len = keep_line(line, &mut kept, len, &mut numbers);
            if len >= MAX_CHARS {
                break;
            }
        }
        numbers.end();
        let body = kept.get(..len).unwrap_or_default();
        let headline = title;
        let title: Vec<char> = headline
            .chars()
            .map(fold_char)
            .filter(|&c| is_alnum(c))
            .take(MAX_TITLE)
            .collect();
        let text = if body.len() < TINY {
            Vec::new()
        } else {
            minhash(body, SHINGLE, TEXT_BINS)
        };
        let title_numbers = title_numbers(&title);
        let title = if title.len() < TINY_TITLE {
            Vec::new()
        } else {
            title_minhash(headline, &title)
        };
        let short = body.len() < SHORT;
        let mut fp = Fingerprint {
            keys: band_keys(&text, &title),
            sketch: Sketch::from_parts(&text, &title, short, &title_numbers),
            text,
            title,
            short,
            numbers: numbers.found,
            title_numbers,
            blob: Vec::new(),
        };
        fp.blob = fp.encode();
        fp
    }

    /// Its [`Sketch`] (what [`Sketch::of`] makes of it), made with it.
    pub fn sketch(&self) -> &Sketch {
        &self.sketch
    }

    /// The LSH keys: one per band of the text's signature and one per band
    /// of the title's, each a hash of the band's number and its rows. Two
    /// fingerprints that share a key are candidates. Title keys are
    /// [`Band::Title`]: a long post is a candidate for a short one by them.
    pub fn bands(&self) -> &[(Band, u64)] {
        &self.keys
    }

    /// The estimated Jaccard similarity of two texts (0 when either has
    /// none).
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        agreement(&self.text, &other.text)
    }

    /// Whether `other` (a candidate) tells the same story ([`View::matches`]).
    pub fn matches(&self, other: &Fingerprint, threshold: f64, close: bool) -> bool {
        self.view().matches(&other.view(), threshold, close)
    }

    /// What a comparison reads of this fingerprint, borrowed.
    pub(crate) fn view(&self) -> View<'_, String> {
        View {
            text: &self.text,
            title: &self.title,
            short: self.short,
            numbers: &self.numbers,
            title_numbers: &self.title_numbers,
        }
    }

    /// How alike, for choosing among several matches: the texts', else
    /// the titles'.
    pub fn closeness(&self, other: &Fingerprint) -> f64 {
        self.similarity(other)
            .max(agreement(&self.title, &other.title) / 2.0)
    }

    /// The stored form: a version byte, the flags, the two signatures'
    /// lengths and values (little-endian), then the numbers, one per line,
    /// then the title's, one per line after a `t` (a body's number is
    /// digits and a dot: the signatures stored before titles had numbers
    /// read as before, with none).
    pub fn to_blob(&self) -> Vec<u8> {
        self.blob.clone()
    }

    /// [`Fingerprint::to_blob`]'s form, borrowed.
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 2 * (self.text.len() + self.title.len()) + 64);
        out.push(BLOB_VERSION);
        out.push(u8::from(self.short));
        // Both at most 126: they fit.
        out.push(self.text.len() as u8);
        out.push(self.title.len() as u8);
        for v in self.text.iter().chain(&self.title) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(self.numbers.join("\n").as_bytes());
        for n in &self.title_numbers {
            out.extend_from_slice(b"\nt");
            out.extend_from_slice(n.as_bytes());
        }
        out
    }

    /// Reads [`Fingerprint::to_blob`]'s form; `None` for anything else (a
    /// row of another version or another tool's making is ignored, never
    /// trusted).
    pub fn from_blob(blob: &[u8]) -> Option<Fingerprint> {
        let stored = Stored::read(blob)?;
        let view = stored.view();
        let (text, title) = (view.text.to_vec(), view.title.to_vec());
        let title_numbers: Vec<String> = view.title_numbers.iter().map(|n| n.to_string()).collect();
        Some(Fingerprint {
            blob: blob.to_vec(),
            keys: band_keys(&text, &title),
            sketch: Sketch::from_parts(&text, &title, stored.short, &title_numbers),
            text,
            title,
            short: stored.short,
            numbers: view.numbers.iter().map(|n| n.to_string()).collect(),
            title_numbers,
        })
    }
}

/// What two posts are compared on, borrowed: a fingerprint's
/// ([`Fingerprint::view`]) or a stored signature's, read in place
/// ([`View::matches_stored`]): a candidate's check decodes nothing it does
/// not compare (the LSH keys, the sketch and a copy of the blob that
/// [`Fingerprint::from_blob`] makes for filing were 471 of the writer's
/// 6,022 samples in a cold crawl of texts alike).
pub(crate) struct View<'a, N> {
    text: &'a [u16],
    title: &'a [u16],
    short: bool,
    numbers: &'a [N],
    title_numbers: &'a [N],
}

impl<N: AsRef<str>> View<'_, N> {
    /// Whether `other` (a candidate) tells the same story: their texts alike
    /// at `threshold` (the estimated Jaccard similarity) and their numbers
    /// in agreement; or, when either is short, their titles alike at
    /// `threshold` and `close` (published within [`TITLE_HOURS`]).
    pub(crate) fn matches<M: AsRef<str>>(
        &self,
        other: &View<'_, M>,
        threshold: f64,
        close: bool,
    ) -> bool {
        if !self.numbers_agree(other) {
            return false;
        }
        if agreement(self.text, other.text) >= threshold {
            return true;
        }
        (self.short || other.short)
            && close
            && agreement(self.title, other.title) >= threshold
            && self.title_numbers_agree(other)
    }

    /// [`View::matches`] of a stored signature's blob; `false` for a blob
    /// that [`Fingerprint::from_blob`] refuses.
    pub(crate) fn matches_stored(&self, blob: &[u8], threshold: f64, close: bool) -> bool {
        Stored::read(blob).is_some_and(|s| self.matches(&s.view(), threshold, close))
    }

    /// No number of one title stands where the other title has another
    /// (after the same two characters): `突破8000` and `突破1万` disagree,
    /// `降准0.25` and `3月27日降准0.25` agree.
    fn title_numbers_agree<M: AsRef<str>>(&self, other: &View<'_, M>) -> bool {
        let theirs: Vec<(&str, &str)> = other
            .title_numbers
            .iter()
            .filter_map(|n| n.as_ref().rsplit_once('='))
            .collect();
        self.title_numbers
            .iter()
            .filter_map(|n| n.as_ref().rsplit_once('='))
            .all(|(ctx, v)| {
                let mut at = theirs.iter().filter(|(c, _)| *c == ctx).peekable();
                at.peek().is_none() || at.any(|(_, w)| *w == v)
            })
    }

    /// Two posts that each state several numbers share most of them: the
    /// fewer's numbers are mostly the other's.
    fn numbers_agree<M: AsRef<str>>(&self, other: &View<'_, M>) -> bool {
        let (a, b) = (self.numbers, other.numbers);
        if a.len() < NUMBERS || b.len() < NUMBERS {
            return true;
        }
        let b: HashSet<&str> = b.iter().map(AsRef::as_ref).collect();
        let shared = a.iter().filter(|n| b.contains(n.as_ref())).count();
        shared * 10 >= 6 * a.len().min(b.len())
    }
}

/// A stored signature ([`Fingerprint::to_blob`]'s form) read in place:
/// its values copied out of the blob's bytes (little-endian), its numbers
/// borrowed.
struct Stored<'a> {
    text: [u16; TEXT_BINS],
    text_len: usize,
    title: [u16; TITLE_BINS],
    title_len: usize,
    short: bool,
    numbers: Vec<&'a str>,
    title_numbers: Vec<&'a str>,
}

impl<'a> Stored<'a> {
    /// `None` for anything but the current version's form (a row of
    /// another version or another tool's making is ignored, never
    /// trusted).
    fn read(blob: &'a [u8]) -> Option<Stored<'a>> {
        let (&[version, short, text, title], rest) = blob.split_first_chunk::<4>()?;
        let (text_len, title_len) = (usize::from(text), usize::from(title));
        if version != BLOB_VERSION || short > 1 || text_len > TEXT_BINS || title_len > TITLE_BINS {
            return None;
        }
        let values = 2 * (text_len + title_len);
        let (sig, numbers) = (rest.get(..values)?, rest.get(values..)?);
        let mut words = sig
            .chunks_exact(2)
            .map(|w| u16::from_le_bytes([w[0], w[1]]));
        let mut stored = Stored {
            text: [0; TEXT_BINS],
            text_len,
            title: [0; TITLE_BINS],
            title_len,
            short: short == 1,
            numbers: Vec::new(),
            title_numbers: Vec::new(),
        };
        for (slot, v) in stored.text.iter_mut().zip(words.by_ref().take(text_len)) {
            *slot = v;
        }
        for (slot, v) in stored.title.iter_mut().zip(words) {
            *slot = v;
        }
        let numbers = std::str::from_utf8(numbers).ok()?;
        let (title_numbers, numbers): (Vec<&str>, Vec<&str>) = numbers
            .split('\n')
            .filter(|n| !n.is_empty())
            .partition(|n| n.starts_with('t'));
        stored.title_numbers = title_numbers
            .into_iter()
            .filter_map(|n| n.strip_prefix('t'))
            .filter(|n| n.contains('='))
            .take(TITLE_NUMBERS)
            .collect();
        stored.numbers = numbers;
        Some(stored)
    }

    fn view(&self) -> View<'_, &'a str> {
        View {
            text: self.text.get(..self.text_len).unwrap_or_default(),
            title: self.title.get(..self.title_len).unwrap_or_default(),
            short: self.short,
            numbers: &self.numbers,
            title_numbers: &self.title_numbers,
        }
    }
}

/// The LSH keys of two signatures: one per band of the text's and one per
/// band of the title's, each a hash of the band's number and its rows.
fn band_keys(text: &[u16], title: &[u16]) -> Vec<(Band, u64)> {
    let text = text
        .chunks_exact(TEXT_ROWS)
        .take(TEXT_BANDS)
        .enumerate()
        .map(|(i, r)| (Band::Text, i, r));
    let title = title
        .chunks_exact(TITLE_ROWS)
        .enumerate()
        .map(|(i, r)| (Band::Title, i + TEXT_BANDS, r));
    // The band's number (under 24) and its rows (two or three of 16
    // bits) packed into one word, distinct for distinct bands, and mixed:
    // one hash a band, not a multiply a byte. The keys live in memory
    // only (made again from a stored signature), so they may change
    // between versions.
    text.chain(title)
        .map(|(kind, i, rows)| {
            let packed = rows.iter().fold(i as u64, |h, &r| (h << 16) | u64::from(r));
            (kind, mix(packed ^ 0x6261_6E64_6B65_7973))
        })
        .collect()
}

/// What the index keeps of a post in memory to turn most candidates down
/// without reading their signatures: 16 bins of the text signature (past
/// the bands') and the title's 36, a byte of each (two unrelated bins
/// agree by chance once in 256), and the title's numbers hashed: 61 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sketch {
    text: [u8; SKETCH_BINS],
    title: [u8; TITLE_BINS],
    has_text: bool,
    has_title: bool,
    pub short: bool,
    /// The title's numbers when it has at most [`SKETCH_NUMBERS`]: each a
    /// hash of its two characters and one of its value (`title_slots`
    /// of them; more: not kept, never a reason to turn a candidate down).
    title_numbers: [(u16, u16); SKETCH_NUMBERS],
    title_slots: u8,
}

/// Title numbers a sketch keeps (a flash's headline has one or two).
const SKETCH_NUMBERS: usize = 2;

/// Text bins a sketch keeps: the last of the signature, which no band uses.
const SKETCH_BINS: usize = 16;
/// Of a sketch's 16 text bins, at least this many agree before a candidate
/// is checked: turned down, a pair whose texts are half the same (the
/// threshold) has 2 chances in 1,000 (a binomial tail), at 0.6 one in
/// 20,000; an unrelated pair is turned down all but always.
const SKETCH_TEXT: usize = 3;

impl Sketch {
    pub fn of(fp: &Fingerprint) -> Sketch {
        Sketch::from_parts(&fp.text, &fp.title, fp.short, &fp.title_numbers)
    }

    /// The sketch of a fingerprint of these signatures and title numbers,
    /// short or not.
    fn from_parts(
        fp_text: &[u16],
        fp_title: &[u16],
        short: bool,
        fp_title_numbers: &[String],
    ) -> Sketch {
        let mut text = [0u8; SKETCH_BINS];
        let tail = fp_text.get(TEXT_BINS - SKETCH_BINS..).unwrap_or(&[]);
        for (t, v) in text.iter_mut().zip(tail) {
            *t = *v as u8;
        }
        let mut title = [0u8; TITLE_BINS];
        for (t, v) in title.iter_mut().zip(fp_title) {
            *t = *v as u8;
        }
        let mut title_numbers = [(0, 0); SKETCH_NUMBERS];
        let title_slots = if fp_title_numbers.len() <= SKETCH_NUMBERS {
            for (slot, n) in title_numbers.iter_mut().zip(fp_title_numbers) {
                let (ctx, value) = n.rsplit_once('=').unwrap_or(("", n));
                *slot = (hash16(ctx), hash16(value));
            }
            fp_title_numbers.len() as u8
        } else {
            u8::MAX
        };
        Sketch {
            text,
            title,
            has_text: tail.len() == SKETCH_BINS,
            has_title: fp_title.len() == TITLE_BINS,
            short,
            title_numbers,
            title_slots,
        }
    }

    /// The title numbers' hashes, when the sketch keeps them all.
    fn title_numbers(&self) -> Option<&[(u16, u16)]> {
        self.title_numbers.get(..usize::from(self.title_slots))
    }

    /// A number of one title stands where the other has another (as
    /// [`Fingerprint::matches`] reads titles): known only when both
    /// sketches keep all their titles' numbers.
    fn title_numbers_differ(&self, other: &Sketch) -> bool {
        let (Some(a), Some(b)) = (self.title_numbers(), other.title_numbers()) else {
            return false;
        };
        a.iter().any(|&(ctx, v)| {
            b.iter().any(|&(c, _)| c == ctx) && !b.iter().any(|&(c, w)| c == ctx && w == v)
        })
    }

    /// Whether `other` may match at `threshold` (see
    /// [`Fingerprint::matches`]): their texts' sketches agree enough, or,
    /// when either is short and they are `close` in time, their titles'.
    ///
    /// The title's part is exact: the sketch keeps all the title's bins, a
    /// byte of each, and two bins that agree agree in their low byte, so
    /// the bytes agree at least as often as the bins. A pair turned down
    /// here fails [`Fingerprint::matches`]'s title test; what passes is
    /// checked (a byte agrees by chance once in 256). Titles of one beat
    /// share many character pairs (a third of the bins, often): a looser
    /// test let most of them through to a read of the signature.
    pub fn may_match(&self, other: &Sketch, close: bool, threshold: f64) -> bool {
        let agree = |a: &[u8], b: &[u8]| a.iter().zip(b).filter(|(x, y)| x == y).count();
        (self.has_text && other.has_text && agree(&self.text, &other.text) >= SKETCH_TEXT)
            || ((self.short || other.short)
                && close
                && self.has_title
                && other.has_title
                && share(agree(&self.title, &other.title), TITLE_BINS) >= threshold
                && !self.title_numbers_differ(other))
    }
}

/// A 16-bit hash of a short string (FNV-1a, folded).
fn hash16(s: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h ^ (h >> 16)) as u16
}

/// Whether two times (seconds) are close enough for titles to match.
pub fn close(a: Option<i64>, b: Option<i64>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.abs_diff(b) <= TITLE_HOURS.unsigned_abs() * 3600)
}

/// Which signature a band key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Text,
    Title,
}

/// The share of positions where two signatures agree (0 when either is
/// empty or holds nothing).
fn agreement(a: &[u16], b: &[u16]) -> f64 {
    if a.is_empty() || b.is_empty() || a.iter().all(|&v| v == u16::MAX) {
        return 0.0;
    }
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    share(same, a.len().max(b.len()))
}

/// `same` bins of `of` as a share: one expression for the check and the
/// sketch, so that the sketch turns down only what the check would.
fn share(same: usize, of: usize) -> f64 {
    same as f64 / of as f64
}

/// Reads `line` into `kept` from `len` on: each character folded and
/// written at `len`, counted (`len` moved on) only when it is a letter or
/// digit, so that no branch turns on it (one at every space and
/// punctuation mark, mispredicted as often: the cold crawl's fingerprints
/// 7.1 → 6.6 µs, article pages' 11.1 → 9.6 µs); the numbers read on the
/// way. Returns the new `len`, stopping at [`MAX_CHARS`].
///
/// ASCII and three-byte characters (Chinese characters and punctuation,
/// full-width forms) are decoded and folded here, the rest by
/// [`other_char`]: the same characters as `chars`, `fold_char` and
/// `is_alnum` (a test holds them so). A function of its own, with the
/// rare paths out of it, so that its state stays in registers: inlined
/// into [`Fingerprint::of`] with them, the count and the flag went through
/// the stack at every character.
#[inline(never)]
fn keep_line(
    line: &str,
    kept: &mut [char; MAX_CHARS + 1],
    mut len: usize,
    numbers: &mut Numbers,
) -> usize {
    let bytes = line.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let (c, alnum) = if b < 0x80 {
            i += 1;
            let lower = if b.is_ascii_uppercase() { b | 0x20 } else { b };
            (char::from(lower), lower.is_ascii_alphanumeric())
        } else if let (0xE0..=0xEF, Some(&b1), Some(&b2)) = (b, bytes.get(i + 1), bytes.get(i + 2))
        {
            // Three bytes: the Chinese characters and punctuation (`，。、“”`).
            i += 3;
            let u =
                (u32::from(b & 0x0F) << 12) | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F);
            let c = char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER);
            match u {
                0x4E00..=0x9FFF => (c, true),
                // General Punctuation: no letter, no digit, no case.
                0x2000..=0x206F => (c, false),
                0x3001..=0x303F => (c, CJK_SYMBOLS_ALNUM & (1 << (u - 0x3000)) != 0),
                0xFF01..=0xFF5E => {
                    let a = ((u - 0xFEE0) as u8).to_ascii_lowercase();
                    (char::from(a), a.is_ascii_alphanumeric())
                }
                _ => {
                    let c = fold_char(c);
                    (c, is_alnum(c))
                }
            }
        } else {
            let Some((c, alnum, width)) = other_char(line, i) else {
                break;
            };
            i += width;
            (c, alnum)
        };
        // `feed`'s own first test, here so that most characters (neither a
        // digit nor inside a number) skip the call: measured with it.
        if c.is_ascii_digit() || !numbers.current.is_empty() {
            numbers.feed(c);
        }
        if let Some(slot) = kept.get_mut(len) {
            *slot = c;
        }
        len += usize::from(alnum);
        if len >= MAX_CHARS {
            return len;
        }
    }
    numbers.feed('\n');
    len
}

/// The character at byte `i` of `line` (a character boundary) folded,
/// whether it is a letter or digit, and its width in bytes; `None` past
/// the end.
#[inline(never)]
fn other_char(line: &str, i: usize) -> Option<(char, bool, usize)> {
    let c = line.get(i..)?.chars().next()?;
    let folded = fold_char(c);
    Some((folded, is_alnum(folded), c.len_utf8()))
}

/// Whether a line is the outlet's, not the story's: source and editor
/// lines, bylines, captions, a portal's app prompt (short lines only), and
/// disclaimers, whatever their length (the same one stands under unrelated
/// articles of a site).
fn is_outlet_line(line: &str) -> bool {
    static NOTICE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^[【\[]?(?:郑重声明|免责声明|特别声明|风险提示|声明)[】\]]?\s*[:：]")
            .expect("static regex")
    });
    // Most lines are paragraphs: the two cheap tests first.
    let first = line.chars().next().unwrap_or(' ');
    (matches!(first, '【' | '[' | '郑' | '免' | '特' | '风' | '声') && NOTICE.is_match(line))
        || ((line.len() < 60 || line.len() < 240 && line.chars().count() < 60)
            && may_be_outlet(line)
            && OUTLET.is_match(line))
}

/// Source, editor, byline, caption and app-prompt lines (short lines only).
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

/// Whether `OUTLET` may match `line`: each of its alternatives needs one of
/// these (a colon, a bar, `记者`, `广告合作`, `contributed`; or a line
/// ending in `图` or `摄`, or starting `资料图` or `海量资讯`), and most
/// short lines of a text (a subheading, a quote, a figure) have none, so
/// the pattern runs on few of them: a page has a few short lines each,
/// and the pattern's search was a tenth of a fingerprint. A test holds
/// that it lets through every line the pattern matches.
fn may_be_outlet(line: &str) -> bool {
    static NEEDLES: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 5]> =
        std::sync::LazyLock::new(|| {
            ["：", "｜", "记者", "广告合作", "contributed"].map(memchr::memmem::Finder::new)
        });
    let bytes = line.as_bytes();
    memchr::memchr2(b':', b'|', bytes).is_some()
        || line.ends_with(['图', '摄'])
        || line.starts_with("资料图")
        || line.starts_with("海量资讯")
        || NEEDLES.iter().any(|n| n.find(bytes).is_some())
}

/// A character as compared: full-width forms folded to ASCII, the
/// ideographic space to a space, letters lower-cased (the first of a
/// lower-case that is several characters).
fn fold_char(c: char) -> char {
    match c as u32 {
        0x41..=0x5A => c.to_ascii_lowercase(),
        // Blocks without cased letters, the punctuation of every Chinese
        // text among them (`。、“”《》—…`): no table to search.
        0..=0x7F | 0x4E00..=0x9FFF | 0x2000..=0x206F | 0x3001..=0x303F => c,
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).map_or(c, |a| a.to_ascii_lowercase()),
        0x3000 => ' ',
        _ => c.to_lowercase().next().unwrap_or(c),
    }
}

/// Only letters and digits of any script: punctuation and spaces are
/// where outlets differ most and say least.
fn is_alnum(c: char) -> bool {
    match c as u32 {
        0..=0x7F => c.is_ascii_alphanumeric(),
        0x4E00..=0x9FFF => true,
        // General Punctuation has no letter or digit; the CJK punctuation
        // block has a few (`々〆〇`, Hangzhou numerals), from the table.
        0x2000..=0x206F => false,
        0x3000..=0x303F => CJK_SYMBOLS_ALNUM & (1 << (c as u32 - 0x3000)) != 0,
        _ => c.is_alphanumeric(),
    }
}

/// Which of U+3000..U+303F are letters or digits (`char::is_alphanumeric`,
/// a bit each; a test holds the two equal): 々〆〇, 〡–〩, 〱–〵, 〸–〼.
const CJK_SYMBOLS_ALNUM: u64 = (0b111 << 5) | (0x1FF << 0x21) | (0x1F << 0x31) | (0x1F << 0x38);

#[cfg(test)]
fn normalize(text: &str) -> String {
    text.chars()
        .map(fold_char)
        .filter(|&c| is_alnum(c))
        .collect()
}

/// The numbers a text states that tell one release from another: those
/// with decimals and those of three digits or more, but not years (days
/// and months, `3月15日`, are shared by everything published that day).
/// Each once, at most 64, in the order they come; read a character at a
/// time (`\d+(\.\d+)?`, over folded text).
#[derive(Default)]
struct Numbers {
    current: String,
    found: Vec<String>,
}

impl Numbers {
    /// Inlined, with the common case first: a character that neither
    /// starts nor ends a number (a call for every character of the text
    /// was 7% of a fingerprint).
    #[inline]
    fn feed(&mut self, c: char) {
        if self.current.is_empty() && !c.is_ascii_digit() {
            return;
        }
        let extends = c.is_ascii_digit()
            || c == '.' && !self.current.is_empty() && !self.current.contains('.');
        if extends {
            self.current.push(c);
        } else if !self.current.is_empty() {
            // "1.2.3": the second dot ends "1.2"; a dot never starts one.
            self.end();
        }
    }

    /// `current` is kept for the next number (a copy is made of those
    /// found only: most numbers of a text are days, years or two digits).
    fn end(&mut self) {
        if self.current.is_empty() {
            return;
        }
        if self.current.ends_with('.') {
            self.current.pop();
        }
        let n = self.current.as_str();
        let telling = n.contains('.')
            || n.len() >= 3 && !(n.len() == 4 && (n.starts_with("19") || n.starts_with("20")));
        if telling && self.found.len() < 64 && !self.found.iter().any(|f| f == n) {
            self.found.push(n.to_string());
        }
        self.current.clear();
    }
}

/// The digit runs of a normalized title (letters and digits only), each
/// as `ctx=value` with the (up to) two characters before it.
fn title_numbers(title: &[char]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // The last two characters before the run at hand.
    let mut before: Vec<char> = Vec::with_capacity(4);
    for run in title.chunk_by(|a, b| a.is_ascii_digit() == b.is_ascii_digit()) {
        if out.len() >= TITLE_NUMBERS {
            break;
        }
        if run.first().is_some_and(char::is_ascii_digit) {
            let ctx: String = before.iter().collect();
            let n = format!("{ctx}={}", run.iter().collect::<String>());
            if !out.contains(&n) {
                out.push(n);
            }
        }
        before.extend(run.iter().rev().take(2).rev());
        let extra = before.len().saturating_sub(2);
        before.drain(..extra);
    }
    out
}

#[cfg(test)]
fn numbers(text: &str) -> Vec<String> {
    let mut n = Numbers::default();
    for c in text.chars().map(fold_char) {
        n.feed(c);
    }
    n.end();
    n.found
}

#[cfg(test)]
fn strip_lines(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !(l.is_empty() || is_outlet_line(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// SplitMix64's finalizer: a fixed, well-mixed permutation of 64-bit values.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The polynomial of the characters (base [`POLY`], mod 2^64) of each of
/// `chars`' overlapping `n`-character windows (the whole of them when
/// shorter), rolled: one multiply and two adds a character, whatever `n`.
fn for_each_shingle(chars: &[char], n: usize, mut f: impl FnMut(u64)) {
    let width = n.min(chars.len()).max(1);
    let top = (1..width).fold(1u64, |p, _| p.wrapping_mul(POLY));
    let Some((first, rest)) = chars.split_at_checked(width) else {
        return;
    };
    let mut h = first.iter().fold(0u64, |h, &c| {
        h.wrapping_mul(POLY).wrapping_add(u64::from(c))
    });
    f(h);
    // Each next character in, the one `width` before it out: the two
    // walked together, no index to check.
    for (&old, &c) in chars.iter().zip(rest) {
        h = h.wrapping_sub(u64::from(old).wrapping_mul(top));
        h = h.wrapping_mul(POLY).wrapping_add(u64::from(c));
        f(h);
    }
}

const POLY: u64 = 0x0000_0100_0000_01B3;

/// One-permutation MinHash of `chars`' overlapping `n`-character
/// shingles (the whole of them when shorter) into `bins` bins, densified:
/// each shingle is hashed once, its hash's high half picks the bin, the
/// low half competes for that bin's minimum; a bin no shingle fell into
/// takes the value of the first filled bin along its own fixed probe
/// sequence (optimal densification), so that two sets agree on a bin
/// with probability their Jaccard similarity; each value's low 16 bits
/// kept. All `u16::MAX` for no characters.
fn minhash(chars: &[char], n: usize, bins: usize) -> Vec<u16> {
    minhash_of(bins, |add| for_each_shingle(chars, n, add))
}

/// The title's signature: [`minhash`] of its character pairs, where a run
/// of Latin letters is one word, a shingle of its own. Character pairs
/// tell Chinese words apart; pairs of letters do not (two unrelated
/// English headlines share half their letter pairs: `th`, `he`, `in`, …),
/// so English teasers matched on them joined unrelated stories. A
/// headline with any other letter (Chinese, with its acronyms) keeps its
/// character pairs, as before; one of Latin letters and digits only is
/// compared by its words and the pairs of its digits, words every
/// headline may hold (`of`, `the`, [`is_function_word`]) left out, and
/// has too little to tell with fewer than 3 shingles (`Markets wrap`).
/// Signatures stored before this compare with these as before for
/// Chinese headlines; for English ones the two share fewer shingles, so
/// they may miss a match for the window's days, never make a wrong one.
/// `chars` are the headline's letters and digits, folded (the first
/// [`MAX_TITLE`]).
fn title_minhash(headline: &str, chars: &[char]) -> Vec<u16> {
    if !chars.iter().all(char::is_ascii) {
        // A Chinese headline, Latin acronyms and all (`5月LPR出炉`): its
        // character pairs, as they always were.
        return minhash(chars, 2, TITLE_BINS);
    }
    let mut others: Vec<char> = Vec::new();
    let mut words: Vec<u64> = Vec::new();
    // The word being read: its polynomial, as a pair's is rolled, and its
    // letters (a few kept, to tell function words).
    let mut word: Option<(u64, usize)> = None;
    let mut letters = [0u8; 6];
    let mut kept = 0;
    for c in headline.chars().map(fold_char) {
        if c.is_ascii_alphabetic() {
            let (h, n) = word.unwrap_or((WORD, 0));
            if let Some(l) = letters.get_mut(n) {
                *l = c as u8;
            }
            word = Some((h.wrapping_mul(POLY).wrapping_add(u64::from(c)), n + 1));
        } else {
            // A space, a hyphen, a digit, a Chinese character: the word
            // ends.
            words.extend(
                word.take()
                    .filter(|&(_, n)| !is_function_word(&letters, n))
                    .map(|(h, _)| h),
            );
            if is_alnum(c) {
                others.push(c);
            }
        }
        if is_alnum(c) {
            kept += 1;
            if kept >= MAX_TITLE {
                break;
            }
        }
    }
    words.extend(
        word.filter(|&(_, n)| !is_function_word(&letters, n))
            .map(|(h, _)| h),
    );
    words.sort_unstable();
    words.dedup();
    let pairs = match others.len() {
        0 => 0,
        n => (n - 1).max(1),
    };
    if pairs + words.len() < 3 {
        return Vec::new();
    }
    minhash_of(TITLE_BINS, |add| {
        for_each_shingle(&others, 2, &mut *add);
        for &w in &words {
            add(w);
        }
    })
}

/// Whether the word of `n` letters whose first letters are `letters` is
/// one every English headline may hold (`of`, `the`, `with`): shared by
/// unrelated headlines, it says nothing of the story. Words of one or two
/// letters, and a few longer ones.
fn is_function_word(letters: &[u8; 6], n: usize) -> bool {
    const LONGER: &[&[u8]] = &[
        b"the", b"and", b"for", b"are", b"was", b"has", b"had", b"its", b"but", b"not", b"with",
        b"from", b"that", b"this", b"have", b"will", b"been", b"were", b"than", b"into", b"their",
    ];
    n <= 2 || letters.get(..n).is_some_and(|w| LONGER.contains(&w))
}

/// What a word's polynomial starts from: its shingles are never those of
/// a pair of characters.
const WORD: u64 = 0x5745_5244;

/// [`minhash`] of the shingle hashes `shingles` gives to its argument.
fn minhash_of(bins: usize, shingles: impl FnOnce(&mut dyn FnMut(u64))) -> Vec<u16> {
    // A bin's minimum with a bit above it that says it is unfilled: one
    // array, one `min` a shingle; on the stack, and which bins are
    // filled a bit each (no vectors of scratch).
    const EMPTY: u64 = 1 << 32;
    let bins = bins.min(MAX_BINS);
    let mut all = [EMPTY; MAX_BINS];
    let sig = all.get_mut(..bins).unwrap_or_default();
    shingles(&mut |h| {
        let h = mix(h ^ 0x9E37_79B9_7F4A_7C15);
        // Multiply-shift: the high half onto 0..bins without a division.
        let bin = (((h >> 32) * bins as u64) >> 32) as usize;
        if let Some(v) = sig.get_mut(bin) {
            *v = (*v).min(u64::from(h as u32));
        }
    });
    let filled = sig
        .iter()
        .enumerate()
        .fold(0u128, |m, (i, &v)| m | (u128::from(v != EMPTY) << i));
    if filled == 0 {
        return vec![u16::MAX; bins];
    }
    let is_filled = |j: usize| j < bins && filled >> j & 1 == 1;
    let probes: &[[u8; PROBES]] = match bins {
        TEXT_BINS => &TEXT_PROBES,
        TITLE_BINS => &TITLE_PROBES,
        _ => &[],
    };
    let sig: &[u64] = sig;
    // The value an empty bin `i` takes. Some bin is filled and the probes
    // are uniform over the bins: a filled one comes after `bins` tries on
    // average; past 64 times that (never seen), the next filled bin is
    // taken. The values densified from are the filled bins' own.
    let densified = |i: usize| {
        let first = probes.get(i);
        let probed = first
            .and_then(|row| row.iter().map(|&j| usize::from(j)).find(|&j| is_filled(j)))
            .or_else(|| {
                let from = if first.is_some() { PROBES as u64 } else { 0 };
                (from..bins as u64 * 64)
                    .map(|attempt| probe(i, attempt, bins))
                    .find(|&j| is_filled(j))
            });
        let j = probed.or_else(|| (i..bins).chain(0..i).find(|&j| is_filled(j)));
        j.and_then(|j| sig.get(j)).map_or(u16::MAX, |&v| v as u16)
    };
    // Every bin's own value first (a copy the compiler vectorizes), then
    // the empty ones, found by their bits (a text's 126 bins are seldom
    // short of one; a title's 36 are mostly empty): a bin at a time, the
    // test of each was 7% of a fingerprint.
    let mut out: Vec<u16> = sig.iter().map(|&v| v as u16).collect();
    let all = u128::MAX.checked_shr(128 - bins as u32).unwrap_or(0);
    let mut empty = !filled & all;
    while empty != 0 {
        let i = empty.trailing_zeros() as usize;
        empty &= empty - 1;
        if let Some(slot) = out.get_mut(i) {
            *slot = densified(i);
        }
    }
    out
}

/// Where an empty bin `i` of `bins` looks for a filled one at `attempt`:
/// a fixed sequence of the bin and the attempt, never of the text.
fn probe(i: usize, attempt: u64, bins: usize) -> usize {
    (((mix(((i as u64) << 32) | attempt) >> 32) * bins as u64) >> 32) as usize
}

/// The first bins of every bin's probe sequence ([`probe`]), made once for
/// each signature size: most of a title's bins are empty (15 character
/// pairs in 36 bins), and each looked for a filled one through a few
/// hashes (with the tables, MinHash 25% → 18% of a fingerprint's
/// samples). Past these (one bin in a thousand, for a title), the
/// sequence goes on as [`probe`] gives it.
const PROBES: usize = 16;
static TEXT_PROBES: std::sync::LazyLock<Vec<[u8; PROBES]>> =
    std::sync::LazyLock::new(|| probe_table(TEXT_BINS));
static TITLE_PROBES: std::sync::LazyLock<Vec<[u8; PROBES]>> =
    std::sync::LazyLock::new(|| probe_table(TITLE_BINS));

fn probe_table(bins: usize) -> Vec<[u8; PROBES]> {
    (0..bins)
        .map(|i| std::array::from_fn(|a| probe(i, a as u64, bins) as u8))
        .collect()
}

/// Bins of a signature at most: the text's (the filled bins are a bit
/// each of a `u128`).
const MAX_BINS: usize = TEXT_BINS;
const _: () = assert!(TEXT_BINS <= 128 && TITLE_BINS <= TEXT_BINS && TEXT_BINS != TITLE_BINS);

/// The newest posts looked at under one band key: a key that thousands of
/// posts share (a feed of one template, a story of hundreds of posts) costs
/// no more.
pub const PER_KEY: usize = 8;
/// Candidates checked against their signatures per post, those sharing the
/// most bands first: the work per post is bounded, however alike the
/// window's posts are (a post that matches a story's newest posts needs no
/// more of them).
pub const CANDIDATES: usize = 16;

/// The posts `fp` is to be checked against: those filed in `lsh` under
/// its bands (the newest [`PER_KEY`] of each) that `keep` turns from a
/// slot into a post id, at most [`CANDIDATES`], those sharing the most
/// bands first, then the newest.
pub fn candidates(
    lsh: &index::Lsh,
    fp: &Fingerprint,
    keep: impl Fn(u32) -> Option<i64>,
) -> Vec<i64> {
    let mut found: Vec<i64> = Vec::new();
    let mut slots = Vec::new();
    lsh.get(fp, PER_KEY, &mut slots);
    found.extend(slots.iter().filter_map(|&s| keep(s)));
    found.sort_unstable();
    let mut counted: Vec<(usize, i64)> = Vec::new();
    for post in found {
        match counted.last_mut() {
            Some((n, p)) if *p == post => *n += 1,
            _ => counted.push((1, post)),
        }
    }
    counted.sort_unstable_by(|a, b| b.cmp(a));
    counted.truncate(CANDIDATES);
    counted.into_iter().map(|(_, p)| p).collect()
}

/// A post already filed that shares a band with the one being assigned.
pub struct Candidate<'a> {
    pub fingerprint: &'a Fingerprint,
    /// Published (else fetched), in seconds since the epoch.
    pub at: Option<i64>,
    pub story: i64,
}

/// The stories of the candidates that `fp` (published `at`) matches, the
/// closest first, each once: the post joins the first, and the others,
/// which it shows to be the same news, are joined into it.
pub fn matching_stories<'a>(
    fp: &Fingerprint,
    at: Option<i64>,
    threshold: f64,
    candidates: impl IntoIterator<Item = Candidate<'a>>,
) -> Vec<i64> {
    let mut matched: Vec<(f64, i64)> = candidates
        .into_iter()
        .filter(|c| fp.matches(c.fingerprint, threshold, close(at, c.at)))
        .map(|c| (fp.closeness(c.fingerprint), c.story))
        .collect();
    matched.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut seen = HashSet::new();
    matched
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| seen.insert(*s))
        .collect()
}

/// Stories assigned in memory, in the order posts come, with the same
/// index, candidates and matching as the store (the store keeps the
/// oldest story's id where this keeps the closest's; the grouping is the
/// same): a post joins the story of its closest
/// matching candidate, else starts one; a post that matches posts of
/// several stories joins them into one (a teaser filed apart under its
/// own headline joins once a later post matches both).
#[derive(Default)]
pub struct Grouper {
    posts: Vec<(Fingerprint, Option<i64>, i64)>,
    index: index::Lsh,
    /// Each story's parent: a story joined into another points to it.
    parent: Vec<i64>,
}

impl Grouper {
    /// Files a post published `at` (seconds); returns its number (see
    /// [`Grouper::story`]).
    pub fn add(&mut self, fp: Fingerprint, at: Option<i64>, threshold: f64) -> usize {
        let sketch = fp.sketch();
        let slots = candidates(&self.index, &fp, |s| {
            let (other, other_at, _) = self.posts.get(s as usize)?;
            sketch
                .may_match(other.sketch(), close(at, *other_at), threshold)
                .then_some(i64::from(s))
        });
        let candidates = slots
            .iter()
            .filter_map(|&i| self.posts.get(i as usize))
            .map(|(other, at, story)| Candidate {
                fingerprint: other,
                at: *at,
                story: self.root(*story),
            });
        let matched = matching_stories(&fp, at, threshold, candidates);
        let story = match matched.split_first() {
            Some((&root, others)) => {
                for &other in others {
                    if let Some(p) = usize::try_from(other)
                        .ok()
                        .and_then(|o| self.parent.get_mut(o))
                    {
                        *p = root;
                    }
                }
                root
            }
            None => {
                self.parent.push(self.parent.len() as i64);
                self.parent.len() as i64 - 1
            }
        };
        let slot = self.posts.len();
        self.index.file(&fp, slot as u32);
        self.posts.push((fp, at, story));
        slot
    }

    /// The story of post `index` now (numbered from 0).
    pub fn story(&self, index: usize) -> Option<i64> {
        self.posts.get(index).map(|&(_, _, s)| self.root(s))
    }

    fn root(&self, mut s: i64) -> i64 {
        while let Some(&p) = usize::try_from(s).ok().and_then(|i| self.parent.get(i)) {
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
