//! The sanitizer: one walk over a parsed fragment (html5ever's tree, or,
//! for the shapes most feeds send, [`super::simple`]'s) that keeps only the
//! structure of an article (the tags of [`KEEP_TAGS`], the attributes of
//! [`allowed_attr`], `http`/`https`/`mailto` links and images made
//! absolute), drops scripts, styles, forms and the like with their content,
//! unwraps every other element (its children stay, in its place), and
//! writes the result as one line of blocks, gathering its plain text on the
//! way.
//!
//! Why not ammonia, which newscrawl used up to here: ammonia's only output
//! is a serialized string (its tree is behind a `cfg` flag), so storing its
//! result normalized meant parsing every description twice, and the second
//! parse plus ammonia's serializer were a fifth of a cold crawl's CPU. The
//! policy is ammonia's, configured as newscrawl configured it, and the tests
//! hold this walk's output equal to ammonia's followed by a re-parse on
//! every fixture. Safety does not rest on the tree: the output is built
//! only from those tags, attributes whose values are escaped, and text with
//! `&`, `<`, `>` escaped, none of them raw-text elements, so whatever a
//! browser makes of the markup, it finds no other element in it.

use std::borrow::Cow;

use ego_tree::NodeRef;
use scraper::{Html, Node};
use url::Url;

use super::{MAX_TREE_DEPTH, collapse, escape_attr, escape_text, flush, is_block, is_space};
use super::{link, simple};

/// The elements kept: the structure of an article.
#[rustfmt::skip]
pub(super) const KEEP_TAGS: &[&str] = &[
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "blockquote",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
    "figure", "figcaption", "img", "a",
    "strong", "em", "b", "i", "pre", "code", "hr", "sub", "sup",
];

/// Dropped with everything inside them.
pub(super) const DROP_TAGS: &[&str] = &[
    "script", "style", "noscript", "iframe", "form", "textarea", "select", "button", "template",
    "svg", "object",
];

const VOID_TAGS: &[&str] = &["br", "img", "hr"];

/// The attributes kept on a kept element.
pub(super) fn allowed_attr(tag: &str, attr: &str) -> bool {
    matches!(
        (tag, attr),
        ("a", "href" | "title")
            | ("img", "src" | "alt" | "title" | "width" | "height")
            | ("p", "class")
            | ("td" | "th", "colspan" | "rowspan")
    )
}

enum Verdict {
    Keep,
    Unwrap,
    Drop,
}

fn verdict(name: &str, html_ns: bool) -> Verdict {
    if !html_ns || DROP_TAGS.contains(&name) {
        // SVG and MathML: nothing of an article (ammonia, unwrapping
        // `<math>`, dropped what it held as out of place).
        Verdict::Drop
    } else if KEEP_TAGS.contains(&name) {
        Verdict::Keep
    } else {
        Verdict::Unwrap
    }
}

/// An element of a parsed fragment as the walk reads it: of html5ever's
/// tree ([`Html5`]) or of [`super::simple`]'s.
pub(super) trait Markup<'a>: Copy {
    fn name(self) -> &'a str;
    /// Its attributes, names in lower case.
    fn attrs(self) -> impl Iterator<Item = (&'a str, &'a str)>;
    /// Calls `f` on each child element or text, in order (comments,
    /// doctypes and processing instructions are not content).
    fn each_child(self, f: impl FnMut(Child<'a, Self>));
}

pub(super) enum Child<'a, M> {
    Text(&'a str),
    /// An element, and whether it is in the HTML namespace.
    Elem(M, bool),
}

/// An element of html5ever's tree (or its root).
#[derive(Clone, Copy)]
pub(super) struct Html5<'a>(NodeRef<'a, Node>);

impl<'a> Markup<'a> for Html5<'a> {
    fn name(self) -> &'a str {
        match self.0.value() {
            Node::Element(e) => e.name(),
            _ => "",
        }
    }
    fn attrs(self) -> impl Iterator<Item = (&'a str, &'a str)> {
        let attrs = match self.0.value() {
            Node::Element(e) => Some(e.attrs()),
            _ => None,
        };
        attrs.into_iter().flatten()
    }
    fn each_child(self, mut f: impl FnMut(Child<'a, Self>)) {
        for child in self.0.children() {
            match child.value() {
                Node::Text(t) => f(Child::Text(t)),
                Node::Element(e) => f(Child::Elem(Html5(child), e.name.ns == html5ever::ns!(html))),
                _ => {}
            }
        }
    }
}

impl<'a> Markup<'a> for &'a simple::Elem<'a> {
    fn name(self) -> &'a str {
        self.name
    }
    fn attrs(self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.attrs.iter().map(|(k, v)| (*k, &**v))
    }
    fn each_child(self, mut f: impl FnMut(Child<'a, Self>)) {
        for child in &self.children {
            match child {
                simple::Child::Text(t) => f(Child::Text(t)),
                simple::Child::Elem(e) => f(Child::Elem(e, true)),
            }
        }
    }
}

/// What a kept element holds once the others are unwrapped or dropped:
/// its kept child elements, and the text between them, runs of text
/// joined (as a parse of the sanitized markup would join them).
enum Item<'a, M> {
    Text(Cow<'a, str>),
    Elem(M),
}

fn flatten<'a, M: Markup<'a>>(node: M, items: &mut Vec<Item<'a, M>>, depth: usize) {
    if depth > MAX_TREE_DEPTH {
        return;
    }
    node.each_child(|child| match child {
        Child::Text(t) => match items.last_mut() {
            Some(Item::Text(s)) => s.to_mut().push_str(t),
            _ => items.push(Item::Text(Cow::Borrowed(t))),
        },
        Child::Elem(e, html_ns) => match verdict(e.name(), html_ns) {
            Verdict::Keep => items.push(Item::Elem(e)),
            Verdict::Unwrap => flatten(e, items, depth + 1),
            Verdict::Drop => {}
        },
    });
}

/// The plain text of the HTML [`write_clean`] writes, gathered in the same
/// walk: what [`super::to_text`] of its output gives, without parsing it
/// again.
///
/// The text comes in collapsed pieces (each text node as written to the
/// HTML), so a block needs only the space between two pieces merged and
/// its ends trimmed, not collapsing again: [`super::collapse`] of such a
/// concatenation changes nothing else (a piece holds no line break, no
/// control character and no run of spaces but one space or a run of
/// ideographic spaces between two characters, and neither starts nor ends
/// with an ideographic space). Raw text from a `pre` is collapsed whole
/// with its block, as before.
#[derive(Default)]
pub(super) struct TextSink {
    blocks: Vec<String>,
    current: String,
    /// The block holds raw text (from a `pre`).
    raw: bool,
}

impl TextSink {
    /// A collapsed piece.
    fn push(&mut self, piece: &str) {
        let piece = match piece.strip_prefix(' ') {
            Some(rest) if self.current.is_empty() || self.current.ends_with(' ') => rest,
            _ => piece,
        };
        self.current.push_str(piece);
    }

    /// Text as it stands in a `pre`.
    fn push_raw(&mut self, text: &str) {
        self.current.push_str(text);
        self.raw = true;
    }

    fn flush(&mut self) {
        if std::mem::take(&mut self.raw) {
            flush(&mut self.blocks, &mut self.current);
            return;
        }
        let text = self.current.trim_matches(is_space);
        if !text.is_empty() {
            self.blocks.push(text.to_string());
        }
        self.current.clear();
    }

    pub(super) fn finish(mut self) -> String {
        self.flush();
        self.blocks.join("\n\n")
    }
}

/// Sanitizes and normalizes a parsed fragment: the HTML, trimmed, and its
/// text when `text` is given.
pub(super) fn write_clean(
    doc: &Html,
    base: Option<&Url>,
    capacity: usize,
    text: Option<&mut TextSink>,
) -> String {
    write_clean_from(Html5(*doc.root_element()), base, capacity, text)
}

/// [`write_clean`] of a tree from [`simple::parse`]: its top-level
/// children.
pub(super) fn write_clean_simple(
    top: Vec<simple::Child<'_>>,
    base: Option<&Url>,
    capacity: usize,
    text: Option<&mut TextSink>,
) -> String {
    let root = simple::Elem {
        name: "html",
        attrs: Vec::new(),
        children: top,
    };
    write_clean_from(&root, base, capacity, text)
}

fn write_clean_from<'a, M: Markup<'a>>(
    root: M,
    base: Option<&Url>,
    capacity: usize,
    text: Option<&mut TextSink>,
) -> String {
    let mut out = String::with_capacity(capacity);
    write_children(root, true, &mut out, Pre::Outside, 0, base, text);
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_string()
    }
}

/// Where text is with respect to a `pre` element.
#[derive(Clone, Copy, PartialEq)]
enum Pre {
    Outside,
    /// Directly in a `pre`: its first text loses the line feed that opens it.
    Opening,
    /// Inside one, deeper.
    Inside,
}

fn write_children<'a, M: Markup<'a>>(
    node: M,
    parent_is_block: bool,
    out: &mut String,
    pre: Pre,
    depth: usize,
    base: Option<&Url>,
    mut text_out: Option<&mut TextSink>,
) {
    if depth > MAX_TREE_DEPTH {
        return;
    }
    let mut items = Vec::new();
    flatten(node, &mut items, depth);
    let is_block_item = |i: Option<&Item<'a, M>>| match i {
        None => true,
        Some(Item::Elem(e)) => is_block(e.name()),
        Some(Item::Text(_)) => false,
    };
    for (i, item) in items.iter().enumerate() {
        match item {
            Item::Text(text) => {
                if pre != Pre::Outside {
                    // A parser drops the line feed that opens a `pre`: what
                    // was one more line here would not survive a reading of
                    // the output, so it is not written (and the output reads
                    // back as written).
                    let text = match text.strip_prefix('\n') {
                        Some(rest) if i == 0 && pre == Pre::Opening => rest,
                        _ => text,
                    };
                    escape_text(text, out);
                    if let Some(t) = text_out.as_deref_mut() {
                        t.push_raw(text);
                    }
                    continue;
                }
                let prev_block = i == 0 || is_block_item(items.get(i.wrapping_sub(1)));
                let next_block = is_block_item(items.get(i + 1));
                let collapsed = collapse(text);
                let mut s = collapsed.as_str();
                if parent_is_block && prev_block {
                    s = s.trim_start_matches(is_space);
                }
                if parent_is_block && next_block {
                    s = s.trim_end_matches(is_space);
                }
                escape_text(s, out);
                if let Some(t) = text_out.as_deref_mut() {
                    t.push(s);
                }
            }
            Item::Elem(e) => {
                let e = *e;
                let name = e.name();
                let block = is_block(name);
                out.push('<');
                out.push_str(name);
                // Sorted, so the same content always serializes the same way.
                let mut attrs: Vec<(&str, &str)> =
                    e.attrs().filter(|(k, _)| allowed_attr(name, k)).collect();
                attrs.sort_unstable();
                for (k, v) in attrs {
                    let is_url = matches!((name, k), ("a", "href") | ("img", "src"));
                    let resolved;
                    let v = if is_url {
                        resolved = link::resolve(v, base);
                        match &resolved {
                            Some(u) => u.as_ref(),
                            None => continue,
                        }
                    } else {
                        v
                    };
                    out.push(' ');
                    out.push_str(k);
                    out.push_str("=\"");
                    escape_attr(v, out);
                    out.push('"');
                }
                out.push('>');
                if block && let Some(t) = text_out.as_deref_mut() {
                    t.flush();
                }
                if VOID_TAGS.contains(&name) {
                    continue;
                }
                write_children(
                    e,
                    block,
                    out,
                    match (name, pre) {
                        ("pre", _) => Pre::Opening,
                        (_, Pre::Outside) => Pre::Outside,
                        _ => Pre::Inside,
                    },
                    depth + 1,
                    base,
                    text_out.as_deref_mut(),
                );
                if block && let Some(t) = text_out.as_deref_mut() {
                    t.flush();
                }
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }
}
