//! What parsing a piece of HTML will cost, found out before it is parsed
//! for real, so that work and memory stay linear in the input's size.
//!
//! HTML's tree construction is not linear: every paragraph reconstructs the
//! formatting elements left open before it (`<b x=1>…<b x=500>` then
//! `<p>x</p>` repeated builds 500 elements per paragraph), every tag scans
//! the stack of open elements (10,000 nested `<div/>`s scan 50 million
//! entries), and the adoption agency moves children around. No estimate
//! from the tags alone gets all of that right (`<div/>` nests, `<svg><title>`
//! holds markup, tables foster their content elsewhere), so this module runs
//! html5ever itself, the same tree builder the real parses use, into a sink
//! that builds nothing and only meters what the tree builder asks of it:
//! elements created, nodes appended and moved, each entry of the stack or
//! of the formatting list it looks at (every such look is a call to the
//! sink), and how deep the tree gets. The input is fed in chunks and the
//! parse stops at the first chunk that goes over the budget, so the meter
//! itself costs at most the budget plus one chunk.
//!
//! html5ever offers no budget of its own (its parse cannot be stopped from
//! the sink), which is why this lives here.

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::LazyLock;

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{Attribute, ParseOpts, QualName, local_name, ns};

/// Deeper trees than this are not parsed (see [`super::MAX_DEPTH`]).
pub use super::MAX_DEPTH;

/// Work allowed per byte of input, on top of [`BASE_WORK`]. Real pages
/// cost 0.1 to 0.6 units a byte (measured on the fixtures in
/// `tests/fixtures/` and 60 documentation and news pages); what goes past
/// 16 is an attack or a page broken beyond use.
pub const WORK_PER_BYTE: u64 = 16;

/// Work any input may cost, however short.
pub const BASE_WORK: u64 = 200_000;

/// Input bytes per node allowed (elements, text runs, comments), on top of
/// [`BASE_NODES`]: the real parses keep a tree of 100 to 200 bytes a node,
/// so this bounds their memory to a small multiple of the input. Real
/// pages hold one node per 12 to 60 bytes (the densest: documentation
/// pages with a `<span>` per word).
pub const BYTES_PER_NODE: u64 = 4;

/// The same for a page the article extractor reads ([`check_page`]): it
/// keeps the page's tree while it builds the article's (readability's,
/// then the sanitizer's), two trees or more at once, so half as many nodes
/// a byte. Markup of a node in 5 bytes cost the extractor 115 times its
/// size (a 2 MiB page, 231 MiB), one parse of it 49 times; real pages,
/// the densest at 12 bytes a node, pass.
pub const PAGE_BYTES_PER_NODE: u64 = 8;

/// The most nodes a page the article extractor reads may make, whatever
/// its size: it holds some 600 bytes a node at its peak (a page just
/// inside [`PAGE_BYTES_PER_NODE`] cost it 63–71 times its size), so this
/// keeps a page's nodes to about 60 MiB (measured: 61 MiB at the peak for
/// the densest page within both limits), where the body cap (16 MiB) left
/// some 1.1 GiB. That many nodes are 1.2 MB of the
/// densest real markup, 6 MB of the sparsest; a page past it is refused
/// (its post keeps the feed's text).
pub const MAX_PAGE_NODES: u64 = 100_000;

/// Nodes any input may make, however short.
pub const BASE_NODES: u64 = 10_000;

/// Inputs with at most this many `<` are never metered: with T tags the
/// tree builder does at most on the order of T³ steps.
const FEW_TAGS: usize = 64;

/// How much input is fed between two looks at the meter.
const CHUNK: usize = 1024;

/// Attributes a tag may have. The tokenizer compares each attribute's
/// name with every one before it in its tag (a duplicate is dropped), so a
/// tag of A attributes costs A² comparisons before the tree builder, and
/// its meter, sees it: 64,000 attributes (437 KB) took 4.9 s. With at most
/// this many a tag, that is at most 50 comparisons a byte. Real elements
/// carry a few, rarely more than 20.
pub const MAX_ATTRIBUTES: usize = 100;

/// Why a piece of HTML is not parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Exceeded {
    #[error("an HTML tag with more than {limit} attributes (at byte {at})")]
    Attributes { limit: usize, at: usize },
    #[error("HTML nested more than {MAX_DEPTH} elements deep (at byte {at})")]
    Depth { at: usize },
    #[error("HTML that costs more than {limit} parser steps (at byte {at})")]
    Work { limit: u64, at: usize },
    #[error("HTML that makes more than {limit} nodes (at byte {at})")]
    Nodes { limit: u64, at: usize },
}

/// Whether `html` parses within the budget: [`MAX_DEPTH`] levels,
/// [`WORK_PER_BYTE`] × its length + [`BASE_WORK`] steps, and its length /
/// [`BYTES_PER_NODE`] + [`BASE_NODES`] nodes. `fragment` says
/// how the real parse will read it (as a body fragment, or as a document).
pub fn check(html: &str, fragment: bool) -> Result<(), Exceeded> {
    check_with(html, fragment, BYTES_PER_NODE, u64::MAX)
}

/// [`check`] for a page read by the article extractor: a node per
/// [`PAGE_BYTES_PER_NODE`] bytes at most, and [`MAX_PAGE_NODES`] in all.
pub fn check_page(html: &str, fragment: bool) -> Result<(), Exceeded> {
    check_with(html, fragment, PAGE_BYTES_PER_NODE, MAX_PAGE_NODES)
}

fn check_with(html: &str, fragment: bool, per_node: u64, most: u64) -> Result<(), Exceeded> {
    attributes_within(html.as_bytes(), MAX_ATTRIBUTES)?;
    // The tags counted with memchr's vector search, not a byte at a time
    // (most descriptions have few, and were read whole here).
    if memchr::memchr_iter(b'<', html.as_bytes())
        .take(FEW_TAGS + 1)
        .count()
        <= FEW_TAGS
    {
        return Ok(());
    }
    measure_with(html, fragment, per_node, most).map(|_| ())
}

/// What parsing `html` costs, up to the budget: (work, nodes, deepest level).
pub fn measure(html: &str, fragment: bool) -> Result<(u64, u64, u32), Exceeded> {
    measure_with(html, fragment, BYTES_PER_NODE, u64::MAX)
}

fn measure_with(
    html: &str,
    fragment: bool,
    per_node: u64,
    most: u64,
) -> Result<(u64, u64, u32), Exceeded> {
    let limits = Limits {
        work: WORK_PER_BYTE
            .saturating_mul(html.len() as u64)
            .saturating_add(BASE_WORK),
        nodes: (html.len() as u64 / per_node)
            .saturating_add(BASE_NODES)
            .min(most),
    };
    let state = Rc::new(State::default());
    let meter = Meter::new(Rc::clone(&state));
    let opts = ParseOpts::default();
    let mut parser = if fragment {
        html5ever::parse_fragment(
            meter,
            opts,
            QualName::new(None, ns!(html), local_name!("body")),
            Vec::new(),
            false,
        )
    } else {
        html5ever::parse_document(meter, opts)
    };
    let mut at = 0;
    for chunk in chunks(html, CHUNK) {
        parser.process(StrTendril::from_slice(chunk));
        at += chunk.len();
        state.within(&limits, at)?;
    }
    parser.finish();
    state.within(&limits, at)?;
    Ok((state.work.get(), state.nodes.get(), state.depth.get()))
}

/// The tokenizer's states within a tag, as far as they decide where an
/// attribute starts (`Data`: not in a tag).
#[derive(Clone, Copy, PartialEq)]
enum TagState {
    Data,
    Open,
    Name,
    BeforeAttr,
    Attr,
    AfterAttr,
    BeforeValue,
    Double,
    Single,
    AfterQuoted,
    Unquoted,
    SelfClosing,
}

const TAG_STATES: usize = 12;

impl TagState {
    const ALL: [TagState; TAG_STATES] = [
        TagState::Data,
        TagState::Open,
        TagState::Name,
        TagState::BeforeAttr,
        TagState::Attr,
        TagState::AfterAttr,
        TagState::BeforeValue,
        TagState::Double,
        TagState::Single,
        TagState::AfterQuoted,
        TagState::Unquoted,
        TagState::SelfClosing,
    ];

    /// The state after byte `b`, and whether `b` starts an attribute (the
    /// tokenizer's rules for these states, HTML § 13.2.5).
    fn next(self, b: u8) -> (TagState, bool) {
        use TagState::*;
        let space = matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c);
        match self {
            Data => (Data, false),
            // `<a` and `</a` open a tag (an end tag's attributes are
            // compared too); anything else is not a tag.
            Open if b == b'/' => (Open, false),
            Open if b.is_ascii_alphabetic() => (Name, false),
            Open => (Data, false),
            _ if b == b'>' && !matches!(self, Double | Single) => (Data, false),
            Name if space => (BeforeAttr, false),
            Name if b == b'/' => (SelfClosing, false),
            Name => (Name, false),
            BeforeAttr | AfterQuoted | SelfClosing if space => (BeforeAttr, false),
            AfterAttr if space => (AfterAttr, false),
            BeforeAttr | AfterAttr | AfterQuoted | SelfClosing if b == b'/' => (SelfClosing, false),
            AfterAttr if b == b'=' => (BeforeValue, false),
            BeforeAttr | AfterAttr | AfterQuoted | SelfClosing => (Attr, true),
            Attr if space => (AfterAttr, false),
            Attr if b == b'/' => (SelfClosing, false),
            Attr if b == b'=' => (BeforeValue, false),
            Attr => (Attr, false),
            BeforeValue if space => (BeforeValue, false),
            BeforeValue if b == b'"' => (Double, false),
            BeforeValue if b == b'\'' => (Single, false),
            BeforeValue => (Unquoted, false),
            Double if b == b'"' => (AfterQuoted, false),
            Single if b == b'\'' => (AfterQuoted, false),
            Double | Single => (self, false),
            Unquoted if space => (BeforeAttr, false),
            Unquoted => (Unquoted, false),
        }
    }
}

/// Whether no tag of `html` has more than `limit` attributes.
///
/// Where a tag starts depends on more than the bytes (a comment, a
/// `<script>`'s text, a quoted value hide what looks like one), so this
/// follows a tag from every `<`, whatever the tokenizer would make of that
/// `<`: the tag states from each start, merged where they meet (the same
/// state at the same byte goes on the same way), each with the most
/// attributes any of its starts has counted. It counts at least every
/// real tag's attributes, and may count some that are not there (refusing
/// markup that would have parsed cheaply, never letting through one that
/// does not), in one pass of at most a dozen states a byte.
fn attributes_within(html: &[u8], limit: usize) -> Result<(), Exceeded> {
    // The most attributes counted by a start now in each state, and which
    // states hold a start (a bit each).
    let mut counts = [0usize; TAG_STATES];
    let mut active: u16 = 0;
    let mut i = 0;
    while i < html.len() {
        if active == 0 {
            // In no tag from any start: on to the next `<`.
            match html.get(i..).and_then(|r| memchr::memchr(b'<', r)) {
                Some(p) => i += p,
                None => break,
            }
        }
        if active.is_power_of_two() && html.get(i) != Some(&b'<') {
            // One start alive, the common case: followed alone, up to the
            // end of its tag or the next `<` (another start).
            let s = active.trailing_zeros() as usize;
            let (Some(&(mut state)), Some(&(mut count))) = (TagState::ALL.get(s), counts.get(s))
            else {
                break;
            };
            while let Some(&b) = html.get(i) {
                if b == b'<' {
                    break;
                }
                if let TagState::Double | TagState::Single = state {
                    // A quoted value: nothing to count up to its quote (or
                    // a `<`, another start).
                    let quote = if state == TagState::Double {
                        b'"'
                    } else {
                        b'\''
                    };
                    match html.get(i..).and_then(|r| memchr::memchr2(quote, b'<', r)) {
                        Some(0) => {}
                        Some(p) => {
                            i += p;
                            continue;
                        }
                        None => {
                            i = html.len();
                            break;
                        }
                    }
                }
                i += 1;
                let (to, attribute) = state.next(b);
                state = to;
                if to == TagState::Data {
                    break;
                }
                count += usize::from(attribute);
                if count > limit {
                    return Err(Exceeded::Attributes { limit, at: i - 1 });
                }
            }
            counts = [0; TAG_STATES];
            active = 0;
            if state != TagState::Data
                && let Some(slot) = counts.get_mut(state as usize)
            {
                *slot = count;
                active = 1 << (state as usize);
            }
            continue;
        }
        let Some(&b) = html.get(i) else { break };
        let mut next = [0usize; TAG_STATES];
        let mut next_active: u16 = 0;
        let mut from = active;
        while from != 0 {
            let s = from.trailing_zeros() as usize;
            from &= from - 1;
            let (Some(&state), Some(&count)) = (TagState::ALL.get(s), counts.get(s)) else {
                continue;
            };
            let (to, attribute) = state.next(b);
            if to == TagState::Data {
                continue;
            }
            let count = count + usize::from(attribute);
            if count > limit {
                return Err(Exceeded::Attributes { limit, at: i });
            }
            let t = to as usize;
            if let Some(slot) = next.get_mut(t) {
                *slot = if next_active & (1 << t) != 0 {
                    (*slot).max(count)
                } else {
                    count
                };
                next_active |= 1 << t;
            }
        }
        if b == b'<' {
            // A start, whether or not it is one (see above).
            let t = TagState::Open as usize;
            if next_active & (1 << t) == 0
                && let Some(slot) = next.get_mut(t)
            {
                *slot = 0;
                next_active |= 1 << t;
            }
        }
        counts = next;
        active = next_active;
        i += 1;
    }
    Ok(())
}

struct Limits {
    work: u64,
    nodes: u64,
}

/// `s` in pieces of about `size` bytes, cut between characters.
fn chunks(s: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = size.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (head, tail) = rest.split_at(end);
        rest = tail;
        Some(head)
    })
}

#[derive(Default)]
struct State {
    work: Cell<u64>,
    nodes: Cell<u64>,
    depth: Cell<u32>,
}

impl State {
    fn within(&self, limits: &Limits, at: usize) -> Result<(), Exceeded> {
        if self.depth.get() as usize > MAX_DEPTH {
            return Err(Exceeded::Depth { at });
        }
        if self.work.get() > limits.work {
            return Err(Exceeded::Work {
                limit: limits.work,
                at,
            });
        }
        if self.nodes.get() > limits.nodes {
            return Err(Exceeded::Nodes {
                limit: limits.nodes,
                at,
            });
        }
        Ok(())
    }
}

/// One node, in 16 bytes (a budget of millions of nodes stays a few tens
/// of megabytes): its name as an index into [`Meter::names`], its depth, its
/// parent and how many children it has.
#[derive(Clone, Copy)]
struct Entry {
    name: u32,
    depth: u32,
    parent: u32,
    children: u32,
}

const NONE: u32 = u32::MAX;

impl Entry {
    fn new(name: u32) -> Entry {
        Entry {
            name,
            depth: 0,
            parent: NONE,
            children: 0,
        }
    }
}

/// The name given to nodes that are not elements (the tree builder never
/// asks for theirs).
static DOCUMENT: LazyLock<QualName> = LazyLock::new(|| QualName::new(None, ns!(), local_name!("")));

fn index(h: usize) -> u32 {
    u32::try_from(h).unwrap_or(NONE)
}

/// A tree sink that keeps one small entry per node and counts.
struct Meter {
    state: Rc<State>,
    nodes: RefCell<Vec<Entry>>,
    /// Element names, each once (index 0: [`DOCUMENT`]).
    names: RefCell<Vec<QualName>>,
    name_ids: RefCell<HashMap<QualName, u32>>,
    /// A `<template>`'s contents fragment.
    templates: RefCell<HashMap<usize, usize>>,
}

impl Meter {
    fn new(state: Rc<State>) -> Meter {
        Meter {
            state,
            nodes: RefCell::new(vec![Entry::new(0)]),
            names: RefCell::new(vec![DOCUMENT.clone()]),
            name_ids: RefCell::new(HashMap::new()),
            templates: RefCell::new(HashMap::new()),
        }
    }

    fn charge(&self, n: u64) {
        self.state.work.set(self.state.work.get().saturating_add(n));
    }

    fn name_id(&self, name: QualName) -> u32 {
        let mut ids = self.name_ids.borrow_mut();
        if let Some(&id) = ids.get(&name) {
            return id;
        }
        let mut names = self.names.borrow_mut();
        let id = index(names.len());
        names.push(name.clone());
        ids.insert(name, id);
        id
    }

    fn push(&self, e: Entry) -> usize {
        self.charge(1);
        self.state.nodes.set(self.state.nodes.get() + 1);
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(e);
        nodes.len() - 1
    }

    fn parent_of(&self, h: usize) -> Option<usize> {
        self.nodes
            .borrow()
            .get(h)
            .map(|e| e.parent)
            .filter(|&p| p != NONE)
            .map(|p| p as usize)
    }

    /// Puts `child` under `parent`, one level below it.
    fn attach(&self, parent: Option<usize>, child: NodeOrText<usize>) {
        self.charge(1);
        let NodeOrText::AppendNode(child) = child else {
            // A text run (the real trees join it to a text before it, or
            // make a node of it).
            self.state.nodes.set(self.state.nodes.get() + 1);
            return;
        };
        let mut nodes = self.nodes.borrow_mut();
        let depth = match parent.and_then(|p| nodes.get_mut(p)) {
            Some(p) => {
                p.children = p.children.saturating_add(1);
                p.depth.saturating_add(1)
            }
            None => 0,
        };
        if let Some(c) = nodes.get_mut(child) {
            c.depth = depth;
            c.parent = parent.map_or(NONE, index);
        }
        if depth > self.state.depth.get() {
            self.state.depth.set(depth);
        }
    }
}

impl TreeSink for Meter {
    type Handle = usize;
    type Output = ();
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) {}

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> usize {
        0
    }

    fn elem_name<'a>(&'a self, target: &'a usize) -> Ref<'a, QualName> {
        self.charge(1);
        let name = self.nodes.borrow().get(*target).map_or(0, |e| e.name);
        Ref::map(self.names.borrow(), |n| {
            n.get(name as usize).unwrap_or(&*DOCUMENT)
        })
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> usize {
        self.charge(attrs.len() as u64);
        let name = self.name_id(name);
        let id = self.push(Entry::new(name));
        if flags.template {
            let contents = self.push(Entry::new(0));
            self.templates.borrow_mut().insert(id, contents);
        }
        id
    }

    fn create_comment(&self, _text: StrTendril) -> usize {
        self.push(Entry::new(0))
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.push(Entry::new(0))
    }

    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        self.attach(Some(*parent), child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &usize,
        prev_element: &usize,
        child: NodeOrText<usize>,
    ) {
        let parent = self.parent_of(*element);
        self.attach(parent.or(Some(*prev_element)), child);
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {
        self.charge(1);
    }

    fn get_template_contents(&self, target: &usize) -> usize {
        self.charge(1);
        self.templates
            .borrow()
            .get(target)
            .copied()
            .unwrap_or(*target)
    }

    fn same_node(&self, x: &usize, y: &usize) -> bool {
        self.charge(1);
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &usize, new_node: NodeOrText<usize>) {
        let parent = self.parent_of(*sibling);
        self.attach(parent, new_node);
    }

    fn add_attrs_if_missing(&self, _target: &usize, attrs: Vec<Attribute>) {
        self.charge(1 + attrs.len() as u64);
    }

    fn remove_from_parent(&self, target: &usize) {
        self.charge(1);
        let mut nodes = self.nodes.borrow_mut();
        let parent = nodes
            .get_mut(*target)
            .map(|e| std::mem::replace(&mut e.parent, NONE));
        if let Some(p) = parent.and_then(|p| nodes.get_mut(p as usize)) {
            p.children = p.children.saturating_sub(1);
        }
    }

    /// Moving children costs one step each in a real tree (each learns its
    /// new parent); their depth is not followed (the stack scans that a
    /// deep tree causes are metered anyway).
    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        let mut nodes = self.nodes.borrow_mut();
        let moved = nodes
            .get_mut(*node)
            .map_or(0, |e| std::mem::take(&mut e.children));
        if let Some(p) = nodes.get_mut(*new_parent) {
            p.children = p.children.saturating_add(moved);
        }
        drop(nodes);
        self.charge(1 + u64::from(moved));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(html: &str) -> (u64, u64, u32) {
        measure(html, true).unwrap_or_else(|e| panic!("{e}: {html:.80}"))
    }

    #[test]
    fn ordinary_markup_costs_a_few_steps_a_byte() {
        let page = "<p>某公司发布公告称，<b>公司股票</b>将于<a href=\"/x\">明日</a>复牌。</p>\
                    <ul><li>一</li><li>二</li></ul><table><tr><td>1</td><td>2</td></tr></table>"
            .repeat(200);
        let (w, nodes, depth) = work(&page);
        assert!(
            nodes < page.len() as u64 / 4,
            "{nodes} nodes for {} bytes",
            page.len()
        );
        assert!(
            w < 8 * page.len() as u64,
            "{w} steps for {} bytes",
            page.len()
        );
        assert!(depth < 10, "{depth}");
    }

    /// A page the article extractor reads gets a node per 8 bytes (one
    /// parse's budget allows one per 4), and 100,000 at most, whatever its
    /// size: markup of a node per 10 bytes passes at 256 KiB and is
    /// refused at 2 MiB (200,000 nodes), which one parse's budget takes.
    #[test]
    fn pages_for_the_extractor_get_fewer_nodes() {
        let unit = "<p><b>xxxxxx</b> <a href=\"/a\">yyyyyy</a></p>";
        let dense = "<p><b>x</b> <a href=\"/a\">y</a></p>".repeat((256 << 10) / 35);
        assert!(check(&dense, false).is_ok());
        assert!(matches!(
            check_page(&dense, false),
            Err(Exceeded::Nodes { .. })
        ));
        let small = unit.repeat((256 << 10) / unit.len());
        assert!(check_page(&small, false).is_ok());
        let large = unit.repeat((2 << 20) / unit.len());
        assert!(check(&large, false).is_ok());
        assert!(matches!(
            check_page(&large, false),
            Err(Exceeded::Nodes {
                limit: MAX_PAGE_NODES,
                ..
            })
        ));
    }

    #[test]
    fn reconstructed_formatting_elements_are_counted() {
        let mut open = String::from("<p>");
        for i in 0..500 {
            open.push_str(&format!("<b x=\"{i}\">"));
        }
        open.push_str("</p>");
        let html = open + &"<p>x</p>".repeat(5_000);
        assert!(matches!(
            check(&html, true),
            Err(Exceeded::Work { .. } | Exceeded::Nodes { .. })
        ));
    }

    #[test]
    fn self_closed_containers_nest() {
        let html = "<div/>".repeat(1_000);
        assert!(matches!(check(&html, true), Err(Exceeded::Depth { .. })));
        // The same count of real void elements is flat.
        assert!(check(&"<br/>".repeat(1_000), true).is_ok());
    }

    #[test]
    fn markup_inside_foreign_content_is_seen() {
        let html = format!("<svg><title>{}</title></svg>", "<div>".repeat(1_000));
        assert!(matches!(check(&html, true), Err(Exceeded::Depth { .. })));
    }

    #[test]
    fn few_tags_are_not_metered() {
        assert!(check("<p>一段</p>", true).is_ok());
        assert_eq!(measure("<p>一段</p>", true).map(|(_, _, d)| d), Ok(2));
    }

    fn attributes(n: usize) -> String {
        (0..n).map(|i| format!(" a{i}")).collect()
    }

    /// A tag of many attributes is refused before html5ever's tokenizer
    /// compares their names (A² comparisons), wherever it hides: after a
    /// comment, a `<script>`'s text or a quoted value that seem to leave
    /// a tag open, in an end tag, after a `/`, without spaces between
    /// quoted values. As many as the limit pass.
    #[test]
    fn tags_of_many_attributes_are_refused() {
        let limit = MAX_ATTRIBUTES;
        let at_limit = format!("<p><a{}>x</a></p>", attributes(limit));
        assert_eq!(check(&at_limit, true), Ok(()));
        let quoted: String = (0..limit + 1).map(|i| format!("a{i}=\"v\"")).collect();
        for html in [
            format!("<p><a{}>x</a></p>", attributes(limit + 1)),
            format!("<!-- <a x=\" --><a{}>", attributes(limit + 1)),
            format!(
                "<script>var s = '<a x=\"';</script><b{}>",
                attributes(limit + 1)
            ),
            format!("<p title='<a x=\"'><i{}>", attributes(limit + 1)),
            format!("<p></p{}>", attributes(limit + 1)),
            format!("<img/{}>", attributes(limit + 1).replace(' ', "/")),
            format!("<a {quoted}>"),
            format!("<a{}", attributes(10 * limit)),
        ] {
            assert!(
                matches!(check(&html, true), Err(Exceeded::Attributes { .. })),
                "{html:.120}"
            );
            assert!(
                matches!(check(&html, false), Err(Exceeded::Attributes { .. })),
                "{html:.120}"
            );
        }
        // A quote never closed, a tag never ended: the scan ends.
        assert_eq!(attributes_within(b"<p><a x=\"never closed", limit), Ok(()));
        assert_eq!(
            attributes_within(b"<p><a x='never closed <b", limit),
            Ok(())
        );
        assert_eq!(attributes_within(b"<a x y", limit), Ok(()));
        // Words in text are no attributes, however many.
        assert_eq!(check(&"word ".repeat(10_000), true), Ok(()));
        assert_eq!(
            check(&format!("<p>{}</p>", "a ".repeat(10_000)), true),
            Ok(())
        );
        // The states' table is in their order.
        for (i, s) in TagState::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
    }

    #[test]
    fn chunks_cut_between_characters() {
        let s = "央行降息".repeat(1_000);
        let parts: Vec<&str> = chunks(&s, 1_000).collect();
        assert_eq!(parts.concat(), s);
        assert!(parts.iter().all(|p| p.len() <= 1_002));
    }
}
