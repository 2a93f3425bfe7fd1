//! What the unit tests share: the fixed pseudo-random draws their
//! generated inputs come from (the same inputs every run).

/// A linear congruential sequence from `seed`: each call gives its next
/// 31 high bits.
pub(crate) fn draws(seed: u64) -> impl FnMut() -> usize {
    let mut x = seed;
    move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as usize
    }
}

/// [`draws`] onto `0..n`.
pub(crate) fn below(seed: u64) -> impl FnMut(usize) -> usize {
    let mut draw = draws(seed);
    move |n| draw() % n
}

/// `count` strings, each of a length drawn from `lengths` of pieces drawn
/// from `pieces` (the inputs of the tests that compare two ways of doing
/// one thing on the pieces where they could part ways).
pub(crate) fn joined(
    seed: u64,
    pieces: &[&str],
    count: usize,
    lengths: std::ops::Range<usize>,
) -> Vec<String> {
    let mut next = below(seed);
    (0..count)
        .map(|_| {
            let len = lengths.start + next(lengths.len());
            (0..len).map(|_| pieces[next(pieces.len())]).collect()
        })
        .collect()
}
