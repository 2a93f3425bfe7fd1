//! A parser for the markup most feeds send: paragraphs, headings, lists,
//! quotes and figures, with inline formatting, links, images and line
//! breaks, every element closed where it was opened, and the common
//! character references. It gives the tree html5ever builds for such
//! markup, or `None` as soon as html5ever's tree construction would do
//! more than nest what it reads (an element closed by another's start tag,
//! an end tag that is not the open element's, a table, a comment, raw
//! text, a reference it does not decode as html5ever does): then the caller
//! parses with html5ever.
//!
//! Why not html5ever alone: on realistic feeds its tokenizer and tree
//! builder were a tenth of a cold crawl's CPU (`bench/ANALYSIS.md`), for
//! markup that needs none of the HTML parsing algorithm's repairs. Only
//! the shapes whose tree is their nesting are accepted, each rule below
//! named after the step of the algorithm it avoids; the tests hold the
//! sanitized output of this tree equal to that of html5ever's on every
//! fixture and on thousands of generated fragments. Safety does not rest
//! on this parser either: the writer builds its output from the allowed
//! tags and escaped text whichever tree it walks.

use std::borrow::Cow;

/// An element as parsed: its name (lower case), attributes in the order
/// written, and children.
#[derive(Debug, PartialEq)]
pub(super) struct Elem<'a> {
    pub name: &'static str,
    pub attrs: Vec<(&'a str, Cow<'a, str>)>,
    pub children: Vec<Child<'a>>,
}

#[derive(Debug, PartialEq)]
pub(super) enum Child<'a> {
    Text(Cow<'a, str>),
    Elem(Elem<'a>),
}

/// How the tree builder ("in body") treats a start tag of the subset.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// `p`, `div` and the like: "close a `p` element in button scope".
    Block,
    /// `h1`–`h6`: that, and a heading open at the current node is popped.
    Heading,
    /// `li`: closes an open `li` first.
    Item,
    /// The active formatting elements (`a`, `b`, …): reconstructed, or
    /// run through the adoption agency, when misnested.
    Formatting,
    /// Others that are only inserted (`span`, `sub`, `sup`).
    Inline,
    /// No content, no end tag.
    Void,
}

#[rustfmt::skip]
const TAGS: &[(&str, Kind)] = &[
    ("p", Kind::Block), ("div", Kind::Block), ("blockquote", Kind::Block),
    ("ul", Kind::Block), ("ol", Kind::Block), ("figure", Kind::Block),
    ("figcaption", Kind::Block), ("section", Kind::Block), ("article", Kind::Block),
    ("header", Kind::Block), ("footer", Kind::Block),
    ("h1", Kind::Heading), ("h2", Kind::Heading), ("h3", Kind::Heading),
    ("h4", Kind::Heading), ("h5", Kind::Heading), ("h6", Kind::Heading),
    ("li", Kind::Item),
    ("a", Kind::Formatting), ("b", Kind::Formatting), ("i", Kind::Formatting),
    ("em", Kind::Formatting), ("strong", Kind::Formatting), ("code", Kind::Formatting),
    ("u", Kind::Formatting), ("s", Kind::Formatting), ("small", Kind::Formatting),
    ("span", Kind::Inline), ("sub", Kind::Inline), ("sup", Kind::Inline),
    ("br", Kind::Void), ("img", Kind::Void),
];

/// Open elements at most: deeper markup goes to html5ever and its budget.
const MAX_OPEN: usize = 64;
/// Attributes of a tag at most (each is compared with those before it).
const MAX_ATTRS: usize = 32;

/// The fragment's top-level children, as html5ever would parse `html` in
/// the context of `<body>`, or `None` (see the module doc).
pub(super) fn parse(html: &str) -> Option<Vec<Child<'_>>> {
    // A byte order mark: what the driver makes of it is not this
    // parser's to guess.
    if html.starts_with('\u{feff}') {
        return None;
    }
    let mut p = Parser {
        s: html,
        at: 0,
        open: Vec::new(),
        top: Vec::new(),
        nodes: 0,
        max_nodes: (html.len() as u64 / super::budget::BYTES_PER_NODE)
            .saturating_add(super::budget::BASE_NODES),
    };
    p.run()?;
    // At the end, open elements are closed where they stand.
    while p.close() {}
    Some(p.top)
}

struct Parser<'a> {
    s: &'a str,
    at: usize,
    /// The stack of open elements, each with its kind.
    open: Vec<(Elem<'a>, Kind)>,
    top: Vec<Child<'a>>,
    /// Elements and texts made, and the most allowed: the parse budget's
    /// ([`super::budget`]), which meters html5ever's trees; markup this
    /// parser takes is not metered, and its tree keeps to the same bound.
    nodes: u64,
    max_nodes: u64,
}

impl<'a> Parser<'a> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.s.as_bytes().get(i).copied()
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.at..).unwrap_or_default()
    }

    /// The children of the current node.
    fn children(&mut self) -> &mut Vec<Child<'a>> {
        match self.open.last_mut() {
            Some((e, _)) => &mut e.children,
            None => &mut self.top,
        }
    }

    /// Pops the current node into its parent; false when none is open.
    fn close(&mut self) -> bool {
        let Some((e, _)) = self.open.pop() else {
            return false;
        };
        self.children().push(Child::Elem(e));
        true
    }

    fn run(&mut self) -> Option<()> {
        while self.at < self.s.len() {
            match self.byte(self.at)? {
                b'<' => self.tag()?,
                _ => self.text()?,
            }
        }
        Some(())
    }

    /// A run of text up to the next tag, its references decoded; joined
    /// to a text just before it (as the tree builder joins them).
    fn text(&mut self) -> Option<()> {
        let rest = self.rest();
        // The memchr crate's vector search: `str::find` a word at a time
        // was a quarter of the parse (text runs are paragraphs).
        let end = memchr::memchr(b'<', rest.as_bytes()).unwrap_or(rest.len());
        let run = rest.get(..end)?;
        self.at += end;
        let decoded = decode(run)?;
        match self.children().last_mut() {
            Some(Child::Text(t)) => t.to_mut().push_str(&decoded),
            _ => {
                self.count_node()?;
                self.children().push(Child::Text(decoded));
            }
        }
        Some(())
    }

    fn tag(&mut self) -> Option<()> {
        match self.byte(self.at + 1)? {
            b'/' => self.end_tag(),
            b if b.is_ascii_alphabetic() => self.start_tag(),
            // Comments, declarations, a `<` that is text.
            _ => None,
        }
    }

    /// The name of a tag starting at `at`: up to a space, `/` or `>`.
    fn name(&mut self) -> Option<(&'static str, Kind)> {
        let rest = self.rest();
        let end = rest.find([' ', '\t', '\n', '/', '>'])?;
        let name = rest.get(..end)?;
        self.at += end;
        TAGS.iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(name))
            .copied()
    }

    /// Counts a node made; `None` past the budget's.
    fn count_node(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= self.max_nodes).then_some(())
    }

    fn skip_space(&mut self) {
        while matches!(self.byte(self.at), Some(b' ' | b'\t' | b'\n')) {
            self.at += 1;
        }
    }

    fn end_tag(&mut self) -> Option<()> {
        self.at += 2;
        let (name, kind) = self.name()?;
        self.skip_space();
        if self.byte(self.at)? != b'>' || kind == Kind::Void {
            return None;
        }
        self.at += 1;
        // Only the current node's own end tag: any other runs the
        // algorithm's generic or adoption-agency steps.
        match self.open.last() {
            Some((e, _)) if e.name == name => {
                self.close();
                Some(())
            }
            _ => None,
        }
    }

    fn start_tag(&mut self) -> Option<()> {
        self.at += 1;
        let (name, kind) = self.name()?;
        let attrs = self.attributes()?;
        let self_closing = self.byte(self.at)? == b'/';
        self.at += usize::from(self_closing) + 1;
        if self_closing && kind != Kind::Void {
            // Ignored on an element that is not void.
            return None;
        }
        let open = |n: &str| self.open.iter().any(|(e, _)| e.name == n);
        let refused = match kind {
            // An open `p` would be closed (and nothing else of the
            // subset limits button scope).
            Kind::Block => open("p"),
            Kind::Heading => open("p") || self.open.iter().any(|(_, k)| *k == Kind::Heading),
            // Closes an open `li` unless a list element stands between.
            Kind::Item => {
                open("p")
                    || !matches!(self.open.last(), Some((e, _)) if matches!(e.name, "ul" | "ol"))
            }
            // A second `a` runs the adoption agency; more than three of a
            // kind, Noah's Ark: one of each at a time.
            Kind::Formatting => open(name),
            Kind::Inline | Kind::Void => false,
        };
        if refused || self.open.len() >= MAX_OPEN {
            return None;
        }
        self.count_node()?;
        let elem = Elem {
            name,
            attrs,
            children: Vec::new(),
        };
        if kind == Kind::Void {
            self.children().push(Child::Elem(elem));
        } else {
            self.open.push((elem, kind));
        }
        Some(())
    }

    /// The attributes of a start tag, leaving `at` on its `/>` or `>`.
    fn attributes(&mut self) -> Option<Vec<(&'a str, Cow<'a, str>)>> {
        let mut attrs: Vec<(&'a str, Cow<'a, str>)> = Vec::new();
        loop {
            self.skip_space();
            match self.byte(self.at)? {
                b'>' => return Some(attrs),
                b'/' if self.byte(self.at + 1)? == b'>' => return Some(attrs),
                _ => {}
            }
            let rest = self.rest();
            let end = rest.find([' ', '\t', '\n', '/', '>', '='])?;
            let name = rest.get(..end)?;
            // Lower case only (the tokenizer lowers the others), and none
            // of the characters it takes as parse errors.
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_:.".contains(&b))
                || attrs.len() >= MAX_ATTRS
                || attrs.iter().any(|(n, _)| *n == name)
            {
                return None;
            }
            self.at += end;
            self.skip_space();
            let value = if self.byte(self.at)? == b'=' {
                self.at += 1;
                self.skip_space();
                self.value()?
            } else {
                Cow::Borrowed("")
            };
            attrs.push((name, value));
        }
    }

    fn value(&mut self) -> Option<Cow<'a, str>> {
        let rest = self.rest();
        let raw = match self.byte(self.at)? {
            q @ (b'"' | b'\'') => {
                let inner = rest.get(1..)?;
                let end = memchr::memchr(q, inner.as_bytes())?;
                self.at += end + 2;
                // After the closing quote: a space or the tag's end.
                if !matches!(self.byte(self.at)?, b' ' | b'\t' | b'\n' | b'/' | b'>') {
                    return None;
                }
                inner.get(..end)?
            }
            b'>' => return None,
            _ => {
                let end = rest.find([' ', '\t', '\n', '>'])?;
                let v = rest.get(..end)?;
                if v.contains(['"', '\'', '<', '=', '`']) {
                    return None;
                }
                self.at += end;
                v
            }
        };
        decode(raw)
    }
}

/// Text with its character references decoded, or `None` for anything the
/// tokenizer would treat otherwise than as text (NUL, carriage returns and
/// other control characters, a reference without its `;` or unknown).
fn decode(run: &str) -> Option<Cow<'_, str>> {
    if has_control(run.as_bytes()) {
        return None;
    }
    let Some(first) = memchr::memchr(b'&', run.as_bytes()) else {
        return Some(Cow::Borrowed(run));
    };
    let mut out = String::with_capacity(run.len());
    out.push_str(run.get(..first)?);
    let mut rest = run.get(first..)?;
    while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(rest.get(..amp)?);
        let after = rest.get(amp + 1..)?;
        let (decoded, used) = reference(after)?;
        out.push_str(&decoded);
        rest = after.get(used..)?;
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// A control character the tokenizer would report or replace: below 0x20
/// but tab and line feed, or DEL.
fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f
}

/// Whether `bytes` hold an [`is_control`] byte, eight bytes at a time: a
/// word with no byte below 0x20 and none equal to 0x7F (the tests of
/// "Bit Twiddling Hacks", exact about whether there is one) is skipped
/// whole, any other is looked at byte by byte. Looking at every byte was
/// 2% of a cold crawl's CPU samples (every text run of every description).
fn has_control(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    for word in words.by_ref() {
        let mut x = [0; 8];
        x.copy_from_slice(word);
        let x = u64::from_le_bytes(x);
        let below = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let y = x ^ (ONES * 0x7f);
        let del = y.wrapping_sub(ONES) & !y & HIGH;
        if (below | del) != 0 && word.iter().any(|&b| is_control(b)) {
            return true;
        }
    }
    words.remainder().iter().any(|&b| is_control(b))
}

/// The reference after a `&`, and the bytes it took; a `&` that starts
/// none is itself.
fn reference(after: &str) -> Option<(Cow<'static, str>, usize)> {
    let Some(&b) = after.as_bytes().first() else {
        return Some((Cow::Borrowed("&"), 0));
    };
    if b == b'#' {
        let (digits, radix, skip) = match after.as_bytes().get(1) {
            Some(b'x' | b'X') => (after.get(2..)?, 16, 2),
            _ => (after.get(1..)?, 10, 1),
        };
        let end = digits.find(|c: char| !c.is_digit(radix))?;
        if end == 0 || end > 7 || digits.as_bytes().get(end) != Some(&b';') {
            return None;
        }
        let code = u32::from_str_radix(digits.get(..end)?, radix).ok()?;
        // NUL, controls, the C1 range (read as windows-1252), surrogates
        // and beyond U+10FFFF are replaced or reported by the tokenizer.
        if code < 0x20 || (0x7f..=0x9f).contains(&code) {
            return None;
        }
        let c = char::from_u32(code)?;
        return Some((Cow::Owned(c.to_string()), skip + end + 1));
    }
    if !b.is_ascii_alphanumeric() {
        return Some((Cow::Borrowed("&"), 0));
    }
    let end = after.find(|c: char| !c.is_ascii_alphanumeric())?;
    if after.as_bytes().get(end) != Some(&b';') {
        return None;
    }
    let name = after.get(..=end)?;
    let &(a, b) = html5ever::data::NAMED_ENTITIES.get(name)?;
    let mut s = String::new();
    s.push(char::from_u32(a)?);
    if b != 0 {
        s.push(char::from_u32(b)?);
    }
    Some((Cow::Owned(s), end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every place of strings up to three words long,
    /// amid bytes of each kind (ASCII letters, spaces, DEL's neighbours, tab
    /// and line feed, the bytes of Chinese text), is found exactly when it
    /// is a control character.
    #[test]
    fn control_bytes_are_found_wherever_they_are() {
        for filler in [b'a', b' ', 0x21, 0x7e, 0x80, 0xe4, 0xbd, 0xff, b'\n', b'\t'] {
            for len in 1..=24 {
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut bytes = vec![filler; len];
                        if let Some(x) = bytes.get_mut(at) {
                            *x = b;
                        }
                        assert_eq!(
                            has_control(&bytes),
                            is_control(b),
                            "{b:#x} at {at} of {len} amid {filler:#x}"
                        );
                    }
                }
            }
        }
    }
}
