//! HTML as newscrawl stores it: sanitized ([`sanitize`]: only the structure
//! of an article survives: paragraphs, headings, lists, quotes, tables, figures,
//! images and links, `class` on `p`), links and images made absolute, then
//! normalized to one line of block elements with full-width paragraph indents
//! (U+3000) and whitespace-only text between blocks removed. Also the plain
//! text of such HTML, one blank line between paragraphs. Pure functions.
//! (Just over 600 lines: the stretch-at-a-time text functions keep their
//! character-at-a-time definitions beside them, for the tests.)

pub mod budget;
mod link;
mod sanitize;
mod simple;

use ego_tree::NodeRef;
use scraper::{Html, Node};
use url::Url;

const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "caption",
    "figure",
    "figcaption",
    "pre",
    "hr",
    "br",
    "section",
    "article",
    "header",
    "footer",
];

fn is_block(name: &str) -> bool {
    BLOCK_TAGS.contains(&name)
}

/// Trees deeper than this are not parsed: html5ever's tree builder and
/// readability both slow down with the square of the depth (10,000 nested
/// `<div>`s take seconds), and no real article needs more than a few dozen
/// levels. [`budget`] measures it, with the rest of a parse's cost.
pub const MAX_DEPTH: usize = 512;

/// Sanitizes `html` and normalizes it to one line; relative URLs resolve
/// against `base`. Markup that would cost more to parse than its size
/// allows ([`budget`]) is reduced to its text, in one paragraph.
pub fn clean(html: &str, base: &Url) -> String {
    if is_plain(html) {
        return clean_plain(html);
    }
    clean_markup(html, base)
}

/// Text that an HTML parser would leave as it is: no tags, no entities, and
/// none of the characters it rewrites (CR, NUL) or other control characters.
/// Most feed bodies are this, and need neither the sanitizer nor a parse.
fn is_plain(s: &str) -> bool {
    !s.bytes()
        .any(|b| matches!(b, b'<' | b'&') || (b < 0x20 && b != b'\n' && b != b'\t'))
}

/// [`clean`] of plain text: what sanitizing and normalizing would make of it.
fn clean_plain(text: &str) -> String {
    let text = collapse(text);
    let text = text.trim_matches(is_space);
    let mut out = String::with_capacity(text.len());
    escape_text(text, &mut out);
    out
}

/// Markup the simple parser takes is written from its tree; the rest is
/// parsed by html5ever when within its [`budget`], else reduced to its
/// text. The budget meters html5ever only: the simple parser bounds its
/// own work (an open stack of 64 at most, 32 attributes a tag) and its
/// tree (an element a tag, a text between two), so metering what it takes
/// (the tag count with memchr and the attribute counter, 2% of a cold
/// crawl's CPU) bought nothing.
fn clean_markup(html: &str, base: &Url) -> String {
    if let Some(top) = simple::parse(html) {
        return sanitize::write_clean_simple(top, Some(base), html.len(), None);
    }
    if let Err(e) = budget::check(html, true) {
        return reduced_to_text(html, &e);
    }
    let doc = Html::parse_fragment(html);
    sanitize::write_clean(&doc, Some(base), html.len(), None)
}

/// Markup over the parser's budget: its text, in one paragraph.
fn reduced_to_text(html: &str, e: &budget::Exceeded) -> String {
    tracing::debug!(error = %e, "markup reduced to its text");
    let text = strip_tags(html);
    let text = collapse(&text);
    let text = text.trim_matches(is_space);
    if text.is_empty() {
        return String::new();
    }
    let mut out = String::from("<p>");
    escape_text(text, &mut out);
    out.push_str("</p>");
    out
}

/// Re-serializes sanitized HTML as one line of blocks (see the module doc);
/// `href` and `src` are made absolute against `base`, and dropped when they
/// do not make an http, https or mailto URL.
pub fn normalize(html: &str, base: Option<&Url>) -> String {
    if let Some(top) = simple::parse(html) {
        return sanitize::write_clean_simple(top, base, html.len(), None);
    }
    let doc = Html::parse_fragment(html);
    sanitize::write_clean(&doc, base, html.len(), None)
}

/// [`clean`] and [`to_text`] of its result, `(html, text)`, with one parse
/// of the sanitized markup instead of two plus a budget pass: the text is
/// gathered while the HTML is written.
pub fn clean_with_text(html: &str, base: &Url) -> (String, String) {
    if is_plain(html) {
        return (
            clean_plain(html),
            collapse(html).trim_matches(is_space).to_string(),
        );
    }
    // As `clean_markup`: the budget for what html5ever parses.
    let mut text = sanitize::TextSink::default();
    if let Some(top) = simple::parse(html) {
        let out = sanitize::write_clean_simple(top, Some(base), html.len(), Some(&mut text));
        return (out, text.finish());
    }
    if let Err(e) = budget::check(html, true) {
        let cleaned = reduced_to_text(html, &e);
        let text = to_text(&cleaned);
        return (cleaned, text);
    }
    let doc = Html::parse_fragment(html);
    let out = sanitize::write_clean(&doc, Some(base), html.len(), Some(&mut text));
    (out, text.finish())
}

/// Text without tags, for markup too costly to parse; the common entities
/// decoded (a fallback for pathological input, not a full HTML decoder).
fn strip_tags(html: &str) -> String {
    static TAG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?s)<!--.*?-->|<[^>]*>").expect("static regex")
    });
    static ENTITY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,6});")
            .expect("static regex")
    });
    let text = TAG.replace_all(html, " ");
    ENTITY
        .replace_all(&text, |c: &regex::Captures<'_>| {
            let e = &c[1];
            let ch = match e {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => e
                    .strip_prefix("#x")
                    .or_else(|| e.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            ch.map_or_else(|| c[0].to_string(), String::from)
        })
        .into_owned()
}

/// Recursion stops here whatever the estimate said: the stack stays small.
pub(crate) const MAX_TREE_DEPTH: usize = 4 * MAX_DEPTH;

/// Whitespace as HTML renders it, plus the ideographic space used for indents.
fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}'
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FFFF)
}

/// Runs of whitespace become one space; a run with a line break between two
/// CJK characters disappears (Chinese has no spaces between words), and so
/// does an ideographic space (U+3000) that starts a line: a paragraph indent.
///
/// Every text of every description passes through here (the hottest
/// function of a cold crawl), so it copies what needs no change a stretch
/// at a time and decodes characters only where a space or a control
/// character may start: ASCII below `!` and DEL, and the lead bytes of
/// U+0080–U+00BF (C1 controls, NEL, NBSP), U+1680–U+1FFF, U+2000–U+2FFF and
/// U+3000–U+3FFF (the other Unicode spaces). [`collapse_chars`] is the
/// same, a character at a time (the tests hold them equal).
fn collapse(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    // The last character written that is not a space (`None` at the start).
    let mut before: Option<char> = None;
    // Start of the stretch not yet copied: it holds no space and no control.
    let mut start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if !(b < 0x21 || b == 0x7f || matches!(b, 0xC2 | 0xE1 | 0xE2 | 0xE3)) {
            i = MAY_BE_SPACE.find(bytes, i + 1);
            continue;
        }
        if let Some(len) = surely_not_space(bytes, i) {
            i = MAY_BE_SPACE.find(bytes, i + len);
            continue;
        }
        // A space between words stays as it is: one space, which is what
        // its run becomes (English text has one every few bytes). With the
        // test above: the cold crawl's 95 MB of text 124 → 90 ms.
        if b == b' '
            && bytes
                .get(i + 1)
                .is_some_and(|&n| n > b' ' && n != 0x7f && !matches!(n, 0xC2 | 0xE1 | 0xE2 | 0xE3))
        {
            i = MAY_BE_SPACE.find(bytes, i + 1);
            continue;
        }
        // `i` is a character boundary: the bytes above are ASCII or lead
        // bytes (`get` all the same: nothing here may panic on a feed's text).
        let Some(c) = text.get(i..).and_then(|t| t.chars().next()) else {
            break;
        };
        if !is_space(c) && !is_stray_control(c) {
            i += c.len_utf8();
            continue;
        }
        if start < i {
            let stretch = text.get(start..i).unwrap_or_default();
            out.push_str(stretch);
            before = stretch.chars().next_back();
        }
        if is_stray_control(c) {
            i += c.len_utf8();
            start = i;
            continue;
        }
        // A run of spaces, taken whole.
        let (mut has_break, mut indents, mut len) = (false, 0usize, 0usize);
        let mut after = None;
        for d in text.get(i..).unwrap_or_default().chars() {
            if !is_space(d) {
                after = Some(d);
                break;
            }
            has_break |= d == '\n';
            indents += usize::from(d == '\u{3000}');
            len += 1;
            i += d.len_utf8();
        }
        start = i;
        if indents == len && before.is_some() && after.is_some() {
            out.extend(std::iter::repeat_n('\u{3000}', len));
        } else if indents > 0 && (before.is_none() || has_break) {
            // A paragraph indent: dropped.
        } else if has_break && before.is_some_and(is_cjk) && after.is_some_and(is_cjk) {
            // A line break inside Chinese text: no space.
        } else {
            out.push(' ');
        }
    }
    if start < bytes.len() {
        out.push_str(text.get(start..).unwrap_or_default());
    }
    out
}

/// The length of the character at `i` (of text, so whole) when its lead
/// byte is one of [`MAY_BE_SPACE`]'s above ASCII but the character is
/// neither a space nor a control. The CJK punctuation (`。、《》【】`, lead
/// byte E3) and the quotes and dashes of General Punctuation (`“”—…`, E2)
/// start with those bytes, and each was decoded and tested. `None`: the
/// character may be one (its bytes say it is one of U+0080–U+00A0,
/// U+1680, U+2000–U+200A, U+2028–U+2029, U+202F, U+205F, U+3000), or `i`
/// holds another byte.
#[inline]
fn surely_not_space(bytes: &[u8], i: usize) -> Option<usize> {
    let (b1, b2) = (*bytes.get(i + 1)?, bytes.get(i + 2).copied());
    let maybe = match bytes.get(i)? {
        0xC2 => return (b1 > 0xA0).then_some(2),
        0xE1 => b1 == 0x9A && b2 == Some(0x80),
        0xE2 => match (b1, b2?) {
            (0x80, b2) => matches!(b2, 0x80..=0x8A | 0xA8 | 0xA9 | 0xAF),
            (0x81, b2) => b2 == 0x9F,
            _ => false,
        },
        0xE3 => b1 == 0x80 && b2 == Some(0x80),
        _ => return None,
    };
    (!maybe).then_some(3)
}

/// The bytes where [`collapse`] looks closer: ASCII below `!`, DEL, and
/// the lead bytes of the ranges that hold spaces and C1 controls.
const MAY_BE_SPACE: ByteSet<5> = ByteSet {
    below: 0x21,
    equal: [0x7f, 0xC2, 0xE1, 0xE2, 0xE3],
};

/// The bytes where [`escape_text`] looks closer: controls, DEL, `&<>`,
/// and the lead byte of the C1 controls.
const TO_ESCAPE: ByteSet<5> = ByteSet {
    below: 0x20,
    equal: [0x7f, b'&', b'<', b'>', 0xC2],
};

/// A set of bytes: those below `below` (at most 0x80) and those in
/// `equal`, found eight at a time. Text is mostly bytes of no interest
/// (a Chinese paragraph has none of [`TO_ESCAPE`]'s), and a test of each
/// byte was most of [`collapse`]'s and [`escape_text`]'s time; the word
/// tests are the classic ones for a byte below `n` (`x - n·0x01… & !x &
/// 0x80…`) and a zero byte after an XOR. Either may also flag a byte
/// above one that matches (a borrow), never below it, and never misses
/// one: the lowest flag is the first byte of the set. No crate finds a
/// set this shape (`memchr` finds up to three bytes). The feed's repair
/// ([`crate::feed`]) scans with one too.
pub(crate) struct ByteSet<const N: usize> {
    pub(crate) below: u8,
    pub(crate) equal: [u8; N],
}

impl<const N: usize> ByteSet<N> {
    fn contains(&self, b: u8) -> bool {
        b < self.below || self.equal.contains(&b)
    }

    /// The first index at or after `from` of a byte of the set, or
    /// `bytes.len()`. Inlined: the set's bytes become constants of the
    /// loop.
    #[inline(always)]
    pub(crate) fn find(&self, bytes: &[u8], from: usize) -> usize {
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        let mut i = from;
        while let Some(word) = bytes
            .get(i..i.saturating_add(8))
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        {
            let x = u64::from_le_bytes(word);
            let mut flags = x.wrapping_sub(LO * u64::from(self.below)) & !x;
            for &c in &self.equal {
                let y = x ^ (LO * u64::from(c));
                flags |= y.wrapping_sub(LO) & !y;
            }
            let flags = flags & HI;
            if flags != 0 {
                return i + (flags.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while let Some(&b) = bytes.get(i) {
            if self.contains(b) {
                return i;
            }
            i += 1;
        }
        bytes.len().max(from)
    }
}

/// [`collapse`] a character at a time: the definition the fast one keeps to.
#[cfg(test)]
fn collapse_chars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut before: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_stray_control(c) {
            continue;
        }
        if !is_space(c) {
            out.push(c);
            before = Some(c);
            continue;
        }
        let (mut has_break, mut indents, mut len) = (c == '\n', usize::from(c == '\u{3000}'), 1);
        while let Some(&d) = chars.peek() {
            if !is_space(d) {
                break;
            }
            has_break |= d == '\n';
            indents += usize::from(d == '\u{3000}');
            len += 1;
            chars.next();
        }
        let after = chars.peek().copied();
        let indent = indents > 0 && (before.is_none() || has_break);
        let cjk_break = has_break && before.is_some_and(is_cjk) && after.is_some_and(is_cjk);
        if indents == len && before.is_some() && after.is_some() {
            out.extend(std::iter::repeat_n('\u{3000}', len));
        } else if !indent && !cjk_break {
            out.push(' ');
        }
    }
    out
}

/// Plain text as HTML that shows it literally.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_text(s, &mut out);
    out
}

/// Control characters other than whitespace: never stored (an escape
/// sequence in a title would act on the terminal that shows it).
fn is_stray_control(c: char) -> bool {
    c.is_control() && !c.is_whitespace()
}

/// Text as HTML: `&`, `<`, `>` escaped, stray control characters dropped;
/// what needs neither is copied a stretch at a time (see [`collapse`] for
/// the bytes that may start a control character).
fn escape_text(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if !(b < 0x20 || b == 0x7f || matches!(b, b'&' | b'<' | b'>' | 0xC2)) {
            i = TO_ESCAPE.find(bytes, i + 1);
            continue;
        }
        let Some(c) = s.get(i..).and_then(|t| t.chars().next()) else {
            break;
        };
        let replacement = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            c if is_stray_control(c) => "",
            _ => {
                i += c.len_utf8();
                continue;
            }
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        out.push_str(replacement);
        i += c.len_utf8();
        start = i;
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if is_stray_control(c) => {}
            _ => out.push(c),
        }
    }
}

/// The readable text of `html`: one blank line between blocks, whitespace collapsed.
pub fn to_text(html: &str) -> String {
    if is_plain(html) {
        return collapse(html).trim_matches(is_space).to_string();
    }
    to_text_markup(html)
}

fn to_text_markup(html: &str) -> String {
    if budget::check(html, true).is_err() {
        return collapse(&strip_tags(html))
            .trim_matches(is_space)
            .to_string();
    }
    let doc = Html::parse_fragment(html);
    let mut blocks: Vec<String> = Vec::new();
    let mut current = String::new();
    text_walk(*doc.root_element(), &mut blocks, &mut current, 0);
    flush(&mut blocks, &mut current);
    blocks.join("\n\n")
}

fn text_walk(
    node: NodeRef<'_, Node>,
    blocks: &mut Vec<String>,
    current: &mut String,
    depth: usize,
) {
    if depth > MAX_TREE_DEPTH {
        return;
    }
    for child in node.children() {
        match child.value() {
            Node::Text(t) => current.push_str(t),
            Node::Element(e) => {
                let name = e.name();
                if matches!(name, "script" | "style" | "noscript" | "template") {
                    continue;
                }
                let block = is_block(name);
                if block {
                    flush(blocks, current);
                }
                text_walk(child, blocks, current, depth + 1);
                if block {
                    flush(blocks, current);
                }
            }
            _ => {}
        }
    }
}

fn flush(blocks: &mut Vec<String>, current: &mut String) {
    let text = collapse(current);
    let text = text.trim_matches(is_space);
    if !text.is_empty() {
        blocks.push(text.to_string());
    }
    current.clear();
}

/// Plain text from a title or other short field that may carry markup or
/// entities: tags dropped, whitespace collapsed.
pub fn plain_line(s: &str) -> String {
    // Blocks (one blank line apart in `to_text`) run on with a space.
    to_text(s)
        .replace("\n\n", " ")
        .trim_matches(is_space)
        .to_string()
}

/// The longest teaser, in characters: about two sentences of news, as
/// feeds' own teasers run.
pub const TEASER_CHARS: usize = 280;

/// The opening of a body's text as a teaser: whole paragraphs while they
/// fit in [`TEASER_CHARS`]; else the first paragraph cut at its last
/// sentence end (or, in text with spaces, its last space) in the second
/// half of that length, with `…` when a sentence is cut. Text that fits is
/// returned whole. Work is bounded by the teaser's length, not the text's.
pub fn teaser(text: &str) -> String {
    // Byte offset of the character after the first TEASER_CHARS, if any.
    let Some((limit, _)) = text.char_indices().nth(TEASER_CHARS) else {
        return text.to_string();
    };
    let head = text.get(..limit).unwrap_or_default();
    if let Some(end) = head.rfind("\n\n").filter(|&e| e > 0) {
        return head.get(..end).unwrap_or_default().trim_end().to_string();
    }
    let half = head
        .char_indices()
        .nth(TEASER_CHARS / 2)
        .map_or(0, |(i, _)| i);
    let sentence_end = head
        .char_indices()
        .rev()
        .filter(|&(i, c)| i >= half && matches!(c, '。' | '！' | '？' | '!' | '?' | '.' | '；'))
        .filter(|&(i, c)| {
            // A full stop ends a sentence only before a space or the end
            // (not in 3.5 or U.S.).
            c != '.'
                || head
                    .get(i + 1..)
                    .is_some_and(|r| r.is_empty() || r.starts_with(' '))
        })
        .map(|(i, c)| i + c.len_utf8())
        .next();
    if let Some(end) = sentence_end {
        return head.get(..end).unwrap_or_default().to_string();
    }
    let cut = head.rfind(' ').filter(|&i| i >= half).unwrap_or(head.len());
    let mut out = head.get(..cut).unwrap_or_default().trim_end().to_string();
    out.push('…');
    out
}

#[cfg(test)]
mod tests;
