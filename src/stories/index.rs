//! The LSH index in memory: band keys to the posts filed under them, in 6
//! bytes an entry. A post has [`super::TEXT_BANDS`] + [`super::TITLE_BANDS`]
//! keys (24), so a map of vectors (some 60 bytes a key with its
//! allocation) would cost a 50,000-post window 70 MB; this costs it 7 MB,
//! and a filter of 640 KB (a bit per value of a key's low bits) that
//! answers most lookups of keys never filed without reading the rest.
//!
//! Entries are `key << 32 | slot` (the key's high 32 bits; a slot numbers
//! a post for the index's owner). Most live in one sorted sequence, kept
//! in chunks of [`CHUNK`] entries, with a directory of where each 16-bit
//! key prefix starts (a lookup reads a couple of cache lines); the
//! sequence keeps of each entry the key's low 16 bits and the slot, in two
//! arrays (the prefix is where the directory puts the entry); the newest
//! in a small map of chains (a key to its newest entry, each entry to the
//! one before under its key; keys are hashes already, so the map does not
//! hash them again), merged into the sequence once it holds [`TAIL`]
//! entries. The merge moves the sequence up in place, a block between two
//! new entries at a time, and adds chunks at its end: one vector grown by
//! reallocation would be copied whole at its largest, and the process
//! would need twice the index at that moment. Two keys that agree in
//! their high 32 bits give a false candidate, which the owner's check of
//! the signatures turns down: with a million entries, one lookup in about
//! 4,000.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The keys are well-mixed hashes: the map spreads them by a multiply,
/// where its default (SipHash) cost as much as the rest of an insert.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// No entry before this one under its key.
const NONE: u32 = u32::MAX;

/// Entries kept in the map before they are merged into the sequence, at
/// least; past [`TAIL_SHARE`] × this many in the sequence, that share of
/// it (a merge reads the whole sequence: merging as often whatever its
/// size would make filing a window of a million posts cost as the square
/// of it).
const TAIL: usize = 1 << 15;
/// The map holds up to a 32nd of the sequence. The map and its chains
/// take about 20 bytes an entry, three times an entry of the sequence,
/// and keep their largest size: with an eighth, a cold crawl's 1.2
/// million entries left up to 3.5 MB of them resident (by their sizes;
/// measured: the crawl's peak 60 MB); with a 32nd the crawl
/// peaks 2 MB lower, for twice the moves (19 an entry, not 10: no change
/// measurable in its time); with a million posts in the window, 33 moves
/// an entry rather than 9 (about 2 µs more a post).
const TAIL_SHARE: usize = 32;
/// Entries a chunk of the sequence holds (512 KB).
const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;
/// Bits of the key prefix the directory is indexed by.
const PREFIX: u32 = 16;

#[derive(Debug)]
pub struct BandIndex {
    /// Sorted `key << 32 | slot`, in chunks of [`CHUNK`] (the last may hold
    /// fewer): of each, the key's low 16 bits here, the slot in `slots`.
    keys: Vec<Vec<u16>>,
    slots: Vec<Vec<u32>>,
    /// Entries in the sorted sequence.
    base_len: usize,
    /// `dir[p]..dir[p + 1]`: where the entries whose key starts with `p` lie
    /// in the sorted sequence.
    dir: Vec<u32>,
    /// The map's part: each key's newest entry in `chain`.
    heads: HashMap<u32, u32, BuildHasherDefault<KeyHasher>>,
    /// (slot, the previous entry under the same key or [`NONE`]).
    chain: Vec<(u32, u32)>,
    tail_len: usize,
    /// A bit per [`FILTER_BITS`] value of a key's low bits, set when a key
    /// with them is filed: a lookup of a key never filed (most of a cold
    /// crawl's: its posts are new) reads one word of it, not the map,
    /// the directory and a span of the sequence (a cache miss each).
    filter: Vec<u64>,
    filter_mask: u32,
}

/// Bits of a key the filter of all posts' bands is indexed by: 4 million
/// bits (512 KB), a fifth of them set by a window of 50,000 posts (1.2
/// million entries).
const FILTER_BITS: u32 = 22;
/// The same for the short posts' titles (12 entries a short post): 1
/// million bits (128 KB).
const SHORT_FILTER_BITS: u32 = 20;

impl Default for BandIndex {
    fn default() -> BandIndex {
        BandIndex::with_filter(FILTER_BITS)
    }
}

impl BandIndex {
    /// An empty index whose filter is indexed by `bits` bits of a key.
    fn with_filter(bits: u32) -> BandIndex {
        BandIndex {
            keys: Vec::new(),
            slots: Vec::new(),
            base_len: 0,
            dir: vec![0; (1 << PREFIX) + 1],
            heads: HashMap::default(),
            chain: Vec::new(),
            tail_len: 0,
            filter: vec![0; 1 << (bits - 6)],
            filter_mask: (1 << bits) - 1,
        }
    }

    /// Where key `k`'s bit lies in the filter: its word and its mask.
    fn filter_bit(&self, k: u32) -> (usize, u64) {
        let b = k & self.filter_mask;
        ((b >> 6) as usize, 1 << (b & 63))
    }

    /// Files `slot` under `key`.
    pub fn insert(&mut self, key: u64, slot: u32) {
        let (word, bit) = self.filter_bit(short(key));
        if let Some(w) = self.filter.get_mut(word) {
            *w |= bit;
        }
        let at = self.chain.len() as u32;
        let before = self.heads.insert(short(key), at).unwrap_or(NONE);
        self.chain.push((slot, before));
        self.tail_len += 1;
        if self.tail_len >= TAIL.max(self.base_len / TAIL_SHARE) {
            self.merge();
        }
    }

    /// Appends the newest `latest` slots filed under `key` to `out` (the
    /// latest filed first): a key thousands of posts share (a feed of one
    /// template) costs a lookup no more than `latest`.
    pub fn get(&self, key: u64, latest: usize, out: &mut Vec<u32>) {
        let k = short(key);
        let (word, bit) = self.filter_bit(k);
        if self.filter.get(word).is_some_and(|w| w & bit == 0) {
            return;
        }
        let mut left = latest;
        let mut at = self.heads.get(&k).copied().unwrap_or(NONE);
        while left > 0
            && let Some(&(slot, before)) = self.chain.get(at as usize)
        {
            out.push(slot);
            left -= 1;
            at = before;
        }
        if left == 0 {
            return;
        }
        let p = (k >> (32 - PREFIX)) as usize;
        let (from, to) = (
            self.dir.get(p).copied().unwrap_or(0) as usize,
            self.dir.get(p + 1).copied().unwrap_or(0) as usize,
        );
        // Every entry of the span has `k`'s prefix: its low bits decide.
        let low = k as u16;
        let start = partition(from, to, |g| self.low(g) < low);
        let end = partition(start, to, |g| self.low(g) <= low);
        out.extend((start..end).rev().take(left).map(|g| self.slot(g)));
    }

    /// The key's low 16 bits of entry `g` of the sorted sequence
    /// (`u16::MAX` past its end).
    fn low(&self, g: usize) -> u16 {
        self.keys
            .get(g >> CHUNK_BITS)
            .and_then(|c| c.get(g & (CHUNK - 1)))
            .copied()
            .unwrap_or(u16::MAX)
    }

    /// The slot of entry `g` of the sorted sequence.
    fn slot(&self, g: usize) -> u32 {
        self.slots
            .get(g >> CHUNK_BITS)
            .and_then(|c| c.get(g & (CHUNK - 1)))
            .copied()
            .unwrap_or(NONE)
    }

    /// The sorted sequence's entries in order, whole (`key << 32 | slot`):
    /// what the tests compare the sequence with.
    #[cfg(test)]
    fn drain_base(&mut self) -> impl Iterator<Item = u64> + use<> {
        let mut bounds = std::mem::take(&mut self.dir).into_iter().skip(1);
        let mut prefix = 0u64;
        let mut next = bounds.next().unwrap_or(u32::MAX) as usize;
        let keys = std::mem::take(&mut self.keys).into_iter().flatten();
        let slots = std::mem::take(&mut self.slots).into_iter().flatten();
        keys.zip(slots).enumerate().map(move |(g, (low, slot))| {
            // The prefix whose span holds entry `g`.
            while g >= next {
                prefix += 1;
                next = bounds.next().unwrap_or(u32::MAX) as usize;
            }
            ((prefix << 16 | u64::from(low)) << 32) | u64::from(slot)
        })
    }

    /// Entries filed.
    pub fn len(&self) -> usize {
        self.base_len + self.tail_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves the map's entries into the sorted sequence, in place: the
    /// sequence grows by their number at its end, then, from the last new
    /// entry back, the old entries after each one's place move up by the
    /// new entries still to come, a block at a time (`copy_within` inside
    /// a chunk), and the new entry goes in behind them. A merge still
    /// moves the sequence from the first new entry's place on; written
    /// anew into fresh chunks an entry at a time, as before, that cost
    /// 8 ns an entry and 7% of a cold crawl's writer, in blocks 3%.
    #[inline(never)]
    fn merge(&mut self) {
        let mut new: Vec<u64> = Vec::with_capacity(self.tail_len);
        for (k, head) in self.heads.drain() {
            let mut at = head;
            while let Some(&(slot, before)) = self.chain.get(at as usize) {
                new.push((u64::from(k) << 32) | u64::from(slot));
                at = before;
            }
        }
        self.chain.clear();
        self.tail_len = 0;
        new.sort_unstable();
        if self.dir.len() != (1 << PREFIX) + 1 {
            self.dir = vec![0; (1 << PREFIX) + 1];
        }
        let old_len = self.base_len;
        self.grow(new.len());
        // The old entries at and after `end` have moved to their places.
        let mut end = old_len;
        for (i, &e) in new.iter().enumerate().rev() {
            let k = (e >> 32) as u32;
            let p = (k >> (32 - PREFIX)) as usize;
            // Its place: after the old entries of its key (their slots are
            // all lower), among those of its prefix not yet moved.
            let from = (self.dir.get(p).copied().unwrap_or(0) as usize).min(end);
            let to = (self.dir.get(p + 1).copied().unwrap_or(0) as usize).min(end);
            let low = k as u16;
            let at = partition(from, to, |g| self.low(g) <= low);
            self.shift(at, end, i + 1);
            self.set(at + i, low, e as u32);
            end = at;
        }
        // Each prefix's span starts later by the new entries of the
        // prefixes before it.
        let mut before = 0u32;
        let mut next_new = new
            .iter()
            .map(|&e| (e >> (64 - PREFIX)) as usize)
            .peekable();
        for (p, d) in self.dir.iter_mut().enumerate() {
            while next_new.next_if(|&q| q < p).is_some() {
                before += 1;
            }
            *d += before;
        }
        self.base_len = old_len + new.len();
    }

    /// Makes room for `n` more entries at the sequence's end (zeros),
    /// filling the last chunk before it starts another.
    fn grow(&mut self, n: usize) {
        let mut left = n;
        while left > 0 {
            if self.keys.last().is_none_or(|c| c.len() >= CHUNK) {
                self.keys.push(Vec::with_capacity(CHUNK));
                self.slots.push(Vec::with_capacity(CHUNK));
            }
            let (Some(keys), Some(slots)) = (self.keys.last_mut(), self.slots.last_mut()) else {
                return;
            };
            let add = left.min(CHUNK - keys.len());
            keys.resize(keys.len() + add, 0);
            slots.resize(slots.len() + add, 0);
            left -= add;
        }
    }

    /// Sets entry `g` of the sequence.
    fn set(&mut self, g: usize, low: u16, slot: u32) {
        let (c, o) = (g >> CHUNK_BITS, g & (CHUNK - 1));
        if let Some(k) = self.keys.get_mut(c).and_then(|c| c.get_mut(o)) {
            *k = low;
        }
        if let Some(s) = self.slots.get_mut(c).and_then(|c| c.get_mut(o)) {
            *s = slot;
        }
    }

    /// Moves entries `from..to` of the sequence `by` places up, the last
    /// first, in pieces that cross no chunk's end.
    fn shift(&mut self, from: usize, to: usize, by: usize) {
        let mut end = to;
        while end > from {
            let (src, dst) = (end - 1, end - 1 + by);
            let len = (end - from)
                .min((src & (CHUNK - 1)) + 1)
                .min((dst & (CHUNK - 1)) + 1);
            let piece = Piece {
                src: (src >> CHUNK_BITS, (src & (CHUNK - 1)) + 1 - len),
                dst: (dst >> CHUNK_BITS, (dst & (CHUNK - 1)) + 1 - len),
                len,
            };
            piece.copy(&mut self.keys);
            piece.copy(&mut self.slots);
            end -= len;
        }
    }
}

/// A run of entries to move inside the chunked sequence: from (chunk,
/// offset) to (chunk, offset), neither crossing its chunk's end, the
/// destination at or after the source.
struct Piece {
    src: (usize, usize),
    dst: (usize, usize),
    len: usize,
}

impl Piece {
    fn copy<T: Copy>(&self, chunks: &mut [Vec<T>]) {
        let ((sc, so), (dc, d), len) = (self.src, self.dst, self.len);
        if sc == dc {
            if let Some(c) = chunks.get_mut(sc)
                && d + len <= c.len()
                && so + len <= c.len()
            {
                c.copy_within(so..so + len, d);
            }
        } else if sc < dc {
            let (before, from_dst) = chunks.split_at_mut(dc);
            if let (Some(s), Some(t)) = (
                before.get(sc).and_then(|c| c.get(so..so + len)),
                from_dst.first_mut().and_then(|c| c.get_mut(d..d + len)),
            ) {
                t.copy_from_slice(s);
            }
        }
    }
}

/// The first index in `from..to` where `below` turns false (`below` true
/// for a prefix of the range, as `slice::partition_point`).
fn partition(mut from: usize, mut to: usize, below: impl Fn(usize) -> bool) -> usize {
    while from < to {
        let mid = from + (to - from) / 2;
        if below(mid) {
            from = mid + 1;
        } else {
            to = mid;
        }
    }
    from
}

/// The index of a window's posts: every post's text and title bands, and
/// the short posts' title bands again apart. A title matches only when
/// one of the two posts is short: a short post looks its title up among
/// all, a long one among the short ones only (a few, where the whole
/// index is the window).
#[derive(Debug)]
pub struct Lsh {
    all: BandIndex,
    short_titles: BandIndex,
}

impl Default for Lsh {
    fn default() -> Lsh {
        Lsh {
            all: BandIndex::with_filter(FILTER_BITS),
            short_titles: BandIndex::with_filter(SHORT_FILTER_BITS),
        }
    }
}

impl Lsh {
    /// Files `fp` as `slot`.
    pub fn file(&mut self, fp: &super::Fingerprint, slot: u32) {
        for &(band, key) in fp.bands() {
            self.all.insert(key, slot);
            if band == super::Band::Title && fp.short {
                self.short_titles.insert(key, slot);
            }
        }
    }

    /// Appends to `out` the slots filed under `fp`'s bands that its title
    /// may match, the newest `latest` of each band, once per band shared.
    pub fn get(&self, fp: &super::Fingerprint, latest: usize, out: &mut Vec<u32>) {
        for &(band, key) in fp.bands() {
            let index = if band == super::Band::Title && !fp.short {
                &self.short_titles
            } else {
                &self.all
            };
            index.get(key, latest, out);
        }
    }

    /// Entries filed.
    pub fn len(&self) -> usize {
        self.all.len() + self.short_titles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The key as filed: its high 32 bits.
fn short(key: u64) -> u32 {
    (key >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry is found under its key, whether still in the map or
    /// merged (several merges over), and nothing under other keys.
    #[test]
    fn what_is_filed_is_found_across_merges() {
        let mut index = BandIndex::default();
        let key = |i: u64| crate::stories::mix(i.wrapping_mul(7919));
        let n = 2 * (TAIL * 3 / 2 + 61) as u64;
        for i in 0..n {
            index.insert(key(i % (n / 2)), i as u32);
        }
        assert_eq!(index.len(), n as usize);
        assert!(index.tail_len < TAIL);
        let mut out = Vec::new();
        for i in (0..n / 2).step_by(97) {
            out.clear();
            index.get(key(i), 8, &mut out);
            out.sort_unstable();
            assert_eq!(out, [i as u32, (i + n / 2) as u32], "key of {i}");
        }
        // The last inserted are in the map: found too.
        out.clear();
        index.get(key((n - 1) % (n / 2)), 8, &mut out);
        assert!(out.contains(&((n - 1) as u32)));
        out.clear();
        index.get(key(n * 5), 8, &mut out);
        assert!(out.is_empty(), "{out:?}");
        let (len, chunks) = (index.base_len, index.keys.len());
        assert!(index.keys.iter().rev().skip(1).all(|c| c.len() == CHUNK));
        assert!(
            index
                .slots
                .iter()
                .map(Vec::len)
                .eq(index.keys.iter().map(Vec::len))
        );
        let all: Vec<u64> = index.drain_base().collect();
        assert_eq!(all.len(), len);
        assert!(chunks > 1, "{chunks} chunks");
        assert!(all.windows(2).all(|w| w[0] <= w[1]));
        // Whole again: every key as filed.
        let mut filed: Vec<u64> = (0..n)
            .map(|i| (u64::from(short(key(i % (n / 2)))) << 32) | i)
            .collect();
        filed.sort_unstable();
        assert!(all.iter().all(|e| filed.binary_search(e).is_ok()));
    }

    /// Across many merges of keys that crowd a few prefixes (spans that
    /// cross chunks, prefixes with old entries only, new only, or both),
    /// every key gives exactly its newest slots, newest first, as a list
    /// of everything filed says, and the sequence stays sorted and whole.
    #[test]
    fn merges_keep_every_key_s_newest() {
        let mut index = BandIndex::default();
        // 3,000 keys: 1,000 random, 2,000 under 8 prefixes (their low bits
        // and the rest of the key random).
        let key = |i: u64| {
            let k = crate::stories::mix(i % 3000);
            if i % 3000 < 1000 {
                k
            } else {
                ((i % 8) << 56) | (k & 0x0000_FFFF_FFFF_FFFF)
            }
        };
        let n = (9 * TAIL + 4321) as u64;
        let mut filed: HashMap<u32, Vec<u32>> = HashMap::new();
        for i in 0..n {
            index.insert(key(i), i as u32);
            filed.entry(short(key(i))).or_default().push(i as u32);
        }
        assert!(index.base_len > 8 * TAIL && index.tail_len > 0);
        assert_eq!(index.dir.last().copied(), Some(index.base_len as u32));
        let mut out = Vec::new();
        for (k, slots) in &filed {
            out.clear();
            index.get(u64::from(*k) << 32, 8, &mut out);
            let newest: Vec<u32> = slots.iter().rev().take(8).copied().collect();
            assert_eq!(out, newest, "key {k:x}");
        }
        let tail = index.tail_len;
        let all: Vec<u64> = index.drain_base().collect();
        assert_eq!(all.len() + tail, n as usize);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
    }

    /// A key many posts share gives its newest `latest`, newest first,
    /// from the map and the vector alike.
    #[test]
    fn a_crowded_key_gives_its_newest() {
        let mut index = BandIndex::default();
        for i in 0..(TAIL as u32 + 10) {
            index.insert(42 << 32, i);
        }
        let mut out = Vec::new();
        index.get(42 << 32, 5, &mut out);
        let newest = TAIL as u32 + 9;
        assert_eq!(out, (newest - 4..=newest).rev().collect::<Vec<_>>());
        out.clear();
        index.get(42 << 32, 3, &mut out);
        assert_eq!(out, [newest, newest - 1, newest - 2]);
        // After a merge with nothing in the map: the vector's newest.
        let mut index = BandIndex::default();
        for i in 0..(TAIL as u32) {
            index.insert(7 << 32, i);
        }
        assert_eq!(index.tail_len, 0);
        out.clear();
        index.get(7 << 32, 2, &mut out);
        assert_eq!(out, [TAIL as u32 - 1, TAIL as u32 - 2]);
    }
}
