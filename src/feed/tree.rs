//! A lenient XML tree for feed documents, on quick-xml's tokenizer.
//!
//! Why not feed-rs: it is a strict parser (one unclosed element, an unknown
//! default namespace or a field of the wrong type loses the whole document),
//! it drops RSS 1.0 items without `<link>`, ignores Atom links inside RSS
//! items, and lets a `dc:date` it cannot read erase a good `pubDate`. The
//! recovery real feeds need is the way lenient readers build their tree:
//!
//! - an end tag closes the nearest open element of that name, closing what
//!   was left open inside it; an end tag that matches nothing is ignored;
//! - an `<item>` or `<entry>` start closes whatever is still open inside the
//!   previous one (or inside the channel);
//! - a document that ends (or breaks) early keeps the elements that were
//!   closed; those left open are marked so the caller can skip them;
//! - prefixes resolve through the declarations in scope, and the usual ones
//!   (`dc`, `content`, `atom`, `a10`, ...) resolve even when undeclared.
//!
//! Bounded work: elements deeper than [`MAX_DEPTH`] are not kept (only their
//! text counts), an end tag is matched against at most [`MATCH_WINDOW`] open
//! elements, and inside text-valued elements (descriptions, Atom content)
//! markup is not built into nodes at all: the raw source span is kept. Work
//! and memory are linear in the input.

use quick_xml::Reader;
use quick_xml::events::{BytesCData, BytesRef, BytesStart, BytesText, Event};
use url::Url;

/// Elements nested deeper than this are not kept as nodes.
pub const MAX_DEPTH: usize = 64;
/// How many open elements an end tag is matched against.
const MATCH_WINDOW: usize = 64;
/// Namespace declarations in scope at most (real feeds use a dozen).
const MAX_BINDINGS: usize = 256;
/// Recoverable tokenizer errors tolerated before the rest is given up.
const MAX_ERRORS: usize = 100;

/// The namespaces a feed reader cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    /// No namespace, or any RSS flavour's (0.90, 1.0, UserLand, ...), or an
    /// unknown default namespace: the document's own vocabulary.
    Core,
    Atom,
    Rdf,
    Dc,
    DcTerms,
    Content,
    Xhtml,
    Xml,
    Media,
    Itunes,
    /// A declared namespace none of the above.
    Other,
}

impl Ns {
    fn from_uri(uri: &str) -> Ns {
        match uri.trim() {
            "http://www.w3.org/2005/Atom" | "http://purl.org/atom/ns#" => Ns::Atom,
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#" => Ns::Rdf,
            "http://purl.org/dc/elements/1.1/" | "http://purl.org/dc/elements/1.0/" => Ns::Dc,
            "http://purl.org/dc/terms/" => Ns::DcTerms,
            "http://purl.org/rss/1.0/modules/content/" => Ns::Content,
            "http://www.w3.org/1999/xhtml" => Ns::Xhtml,
            "http://www.w3.org/XML/1998/namespace" => Ns::Xml,
            "http://search.yahoo.com/mrss/" | "http://search.yahoo.com/mrss" => Ns::Media,
            "http://www.itunes.com/dtds/podcast-1.0.dtd" => Ns::Itunes,
            u if is_rss_uri(u) => Ns::Core,
            _ => Ns::Other,
        }
    }

    /// A prefix used without its declaration, as real feeds do.
    fn from_prefix(prefix: &str) -> Ns {
        match prefix {
            "atom" | "a10" | "atom10" => Ns::Atom,
            "rdf" => Ns::Rdf,
            "dc" => Ns::Dc,
            "dcterms" => Ns::DcTerms,
            "content" => Ns::Content,
            "xhtml" => Ns::Xhtml,
            "xml" => Ns::Xml,
            "media" => Ns::Media,
            "itunes" => Ns::Itunes,
            _ => Ns::Other,
        }
    }
}

/// The RSS flavours' namespaces (an element in one of them is plain RSS).
fn is_rss_uri(uri: &str) -> bool {
    matches!(
        uri,
        "http://purl.org/rss/1.0/"
            | "http://my.netscape.com/rdf/simple/0.9/"
            | "http://channel.netscape.com/rdf/simple/0.9/"
            | "http://backend.userland.com/rss2"
            | "http://backend.userland.com/rss"
            | "http://blogs.law.harvard.edu/tech/rss"
    )
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub ns: Option<Ns>,
    pub local: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub ns: Ns,
    pub local: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<usize>,
    /// The text inside it (all of it, for text-valued elements).
    pub text: String,
    /// Byte range of its content in the source.
    pub inner: (usize, usize),
    /// Whether it held markup (only tracked for text-valued elements).
    pub has_markup: bool,
    /// `xml:base` in effect, for relative links.
    pub base: Option<Url>,
    /// Closed by its end tag, or by a lenient rule; false when the document
    /// ended (or broke) while it was open.
    pub closed: bool,
}

impl Node {
    pub fn is(&self, ns: Ns, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// An attribute without a namespace prefix (or with the given one).
    pub fn attr(&self, ns: Option<Ns>, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.local.eq_ignore_ascii_case(local))
            .map(|a| a.value.as_str())
    }
}

pub struct Tree<'a> {
    pub src: &'a str,
    pub nodes: Vec<Node>,
    /// `<item>`/`<entry>` elements seen anywhere (RSS or Atom vocabulary).
    pub item_elements: usize,
    /// Why the document stopped early, when it did.
    pub broken: Option<String>,
}

impl<'a> Tree<'a> {
    pub fn root(&self) -> Option<&Node> {
        self.nodes.first()
    }

    pub fn children(&self, node: &'a Node) -> impl Iterator<Item = &Node> + '_ {
        node.children.iter().filter_map(|&i| self.nodes.get(i))
    }

    /// The node's content as HTML source when it held markup, else its text.
    pub fn value(&self, node: &Node) -> String {
        if node.has_markup {
            self.src
                .get(node.inner.0..node.inner.1)
                .unwrap_or_default()
                .trim()
                .to_string()
        } else {
            node.text.trim().to_string()
        }
    }
}

/// Elements whose content is a value (text or markup), never structure.
fn is_text_valued(ns: Ns, local: &str) -> bool {
    match ns {
        Ns::Core | Ns::Atom => matches!(
            local,
            "title" | "description" | "summary" | "content" | "subtitle" | "rights" | "tagline"
        ),
        Ns::Content => local == "encoded",
        Ns::Xhtml => local == "body" || local == "div",
        Ns::Dc => local == "description",
        Ns::Itunes => local == "summary",
        Ns::Media => local == "description",
        _ => false,
    }
}

/// Whether `parent` never has a child in namespace `ns`: elements that are
/// empty by nature, and iTunes categories (which nest only each other).
fn cannot_hold(parent: &Node, ns: Ns) -> bool {
    match (parent.ns, parent.local.as_str()) {
        (Ns::Atom, "link") | (Ns::Core, "enclosure") => true,
        (Ns::Itunes, "image" | "explicit" | "duration" | "category") => ns != Ns::Itunes,
        (Ns::Media, "content" | "thumbnail") => ns != Ns::Media,
        _ => false,
    }
}

struct Frame {
    /// The node, when it is kept.
    node: Option<usize>,
    qname: String,
    /// Namespace bindings before this element's own.
    bindings_mark: usize,
    /// Where its text goes.
    text_to: Option<usize>,
    /// Inside a text-valued element: children are not built.
    raw: bool,
}

struct Builder {
    nodes: Vec<Node>,
    stack: Vec<Frame>,
    /// (prefix, namespace); prefix "" is the default namespace.
    bindings: Vec<(String, Ns)>,
    item_elements: usize,
}

/// Builds the tree of `src` (XML text, already decoded and repaired).
pub fn build<'a>(src: &'a str, base: &Url) -> Tree<'a> {
    build_with(src, base, true)
}

/// [`build`], with values read by [`Builder::take_value`] when
/// `take_values` (always but in the test that holds the two ways equal).
fn build_with<'a>(src: &'a str, base: &Url, take_values: bool) -> Tree<'a> {
    let mut reader = Reader::from_str(src);
    {
        let c = reader.config_mut();
        c.check_end_names = false;
        c.allow_unmatched_ends = true;
        c.allow_dangling_amp = true;
        c.expand_empty_elements = false;
        c.trim_text(false);
    }
    let mut b = Builder {
        nodes: Vec::new(),
        stack: Vec::new(),
        bindings: Vec::new(),
        item_elements: 0,
    };
    let mut broken = None;
    let mut errors = 0;
    // Bytes of `src` taken past the reader's back (values read by
    // `Builder::take_value`): the reader counts only what it read.
    let mut skipped = 0;
    loop {
        let before = reader.buffer_position() as usize + skipped;
        let event = reader.read_event();
        let after = reader.buffer_position() as usize + skipped;
        match event {
            Ok(Event::Start(e)) => {
                b.open(&e, false, after, base);
                let taken = if take_values {
                    b.take_value(src, after)
                } else {
                    0
                };
                if taken > 0 {
                    *reader.get_mut() = src.as_bytes().get(after + taken..).unwrap_or_default();
                    skipped += taken;
                }
            }
            Ok(Event::Empty(e)) => b.open(&e, true, after, base),
            Ok(Event::End(e)) => b.close(e.name().as_ref(), before),
            Ok(Event::Text(t)) => b.text(&t.xml10_content()),
            Ok(Event::CData(t)) => b.text(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => b.reference(&r),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                errors += 1;
                if after <= before || errors > MAX_ERRORS {
                    broken = Some(format!("at byte {before}: {e}"));
                    break;
                }
            }
        }
    }
    // Whatever is still open was cut off.
    let end = src.len();
    while let Some(f) = b.stack.pop() {
        if let Some(n) = f.node.and_then(|i| b.nodes.get_mut(i)) {
            n.inner.1 = end;
            n.closed = false;
        }
    }
    if broken.is_none() && b.nodes.first().is_some_and(|r| !r.closed) {
        broken = Some("the document ends before its root element is closed".into());
    }
    Tree {
        src,
        nodes: b.nodes,
        item_elements: b.item_elements,
        broken,
    }
}

impl Builder {
    fn resolve(&self, qname: &str, element: bool) -> (Option<Ns>, String) {
        let (prefix, local) = match qname.split_once(':') {
            Some((p, l)) => (Some(p), l),
            None => (None, qname),
        };
        let ns = match prefix {
            Some(p) => Some(
                self.bindings
                    .iter()
                    .rev()
                    .find(|(bp, _)| bp == p)
                    .map_or_else(|| Ns::from_prefix(p), |(_, ns)| *ns),
            ),
            None if element => Some(
                self.bindings
                    .iter()
                    .rev()
                    .find(|(bp, _)| bp.is_empty())
                    .map_or(Ns::Core, |(_, ns)| match ns {
                        // An unknown default namespace is the document's own.
                        Ns::Other => Ns::Core,
                        other => *other,
                    }),
            ),
            None => None,
        };
        (ns, local.to_string())
    }

    fn open(&mut self, e: &BytesStart<'_>, empty: bool, after: usize, feed_base: &Url) {
        let qname = e.name().as_ref().to_string();
        if qname == "item" || qname == "entry" {
            // Even from inside an unclosed description: items are never
            // markup of another item's value.
            self.close_to_container();
        }
        let parent = self.stack.last();
        let in_raw = parent.is_some_and(|f| f.raw);
        if in_raw || self.stack.len() >= MAX_DEPTH {
            // Markup inside a value, or too deep to matter: not built.
            let text_to = parent.and_then(|f| f.text_to);
            if in_raw && let Some(n) = text_to.and_then(|i| self.nodes.get_mut(i)) {
                n.has_markup = true;
            }
            if !empty {
                self.stack.push(Frame {
                    node: None,
                    qname,
                    bindings_mark: self.bindings.len(),
                    text_to: if in_raw { text_to } else { None },
                    raw: in_raw,
                });
            }
            return;
        }

        let bindings_mark = self.bindings.len();
        let mut raw_attrs = Vec::new();
        for a in e.html_attributes().with_checks(false).flatten() {
            let key = a.key.as_ref().to_string();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| a.value.to_string());
            if key == "xmlns" || key.starts_with("xmlns:") {
                // Bounded, so that resolving a name costs at most this much.
                if self.bindings.len() < MAX_BINDINGS {
                    let prefix = key.strip_prefix("xmlns:").unwrap_or_default();
                    self.bindings
                        .push((prefix.to_string(), Ns::from_uri(&value)));
                }
            } else {
                raw_attrs.push((key, value));
            }
        }
        let (ns, local) = self.resolve(&qname, true);
        let ns = ns.unwrap_or(Ns::Core);
        let attrs: Vec<Attr> = raw_attrs
            .into_iter()
            .map(|(k, value)| {
                let (ns, local) = self.resolve(&k, false);
                Attr { ns, local, value }
            })
            .collect();

        let is_item = matches!(ns, Ns::Core | Ns::Atom) && (local == "item" || local == "entry");
        if is_item {
            self.item_elements += 1;
            // Whatever is open inside the previous item (or the channel) is done.
            self.close_to_container();
        }
        // An element that never holds this one was left open (`<enclosure>`,
        // `<itunes:category text='…'>` without its slash): it ends here.
        while self
            .stack
            .last()
            .and_then(|f| f.node)
            .and_then(|i| self.nodes.get(i))
            .is_some_and(|top| cannot_hold(top, ns))
        {
            self.pop(None);
        }
        let parent = self.stack.last().and_then(|f| f.node);
        let parent_base = parent
            .and_then(|p| self.nodes.get(p))
            .and_then(|n| n.base.clone());
        let base = match attrs
            .iter()
            .find(|a| a.ns == Some(Ns::Xml) && a.local == "base")
        {
            Some(a) => parent_base
                .as_ref()
                .unwrap_or(feed_base)
                .join(a.value.trim())
                .ok()
                .or(parent_base),
            None => parent_base,
        };
        let raw = is_text_valued(ns, &local);
        let id = self.nodes.len();
        self.nodes.push(Node {
            ns,
            local,
            attrs,
            children: Vec::new(),
            text: String::new(),
            inner: (after, after),
            has_markup: false,
            base,
            closed: empty,
        });
        if let Some(p) = parent.and_then(|p| self.nodes.get_mut(p)) {
            p.children.push(id);
        }
        if empty {
            self.bindings.truncate(bindings_mark);
        } else {
            self.stack.push(Frame {
                node: Some(id),
                qname,
                bindings_mark,
                text_to: Some(id),
                raw,
            });
        }
    }

    /// Closes open elements down to the nearest channel, RDF or feed element.
    fn close_to_container(&mut self) {
        let window = self.stack.len().saturating_sub(MATCH_WINDOW);
        let found = self.stack[window..].iter().rposition(|f| {
            f.node
                .and_then(|i| self.nodes.get(i))
                .is_some_and(|n| matches!(n.local.as_str(), "channel" | "RDF" | "feed" | "rss"))
        });
        if let Some(i) = found {
            let keep = window + i + 1;
            while self.stack.len() > keep {
                self.pop(None);
            }
        }
    }

    fn close(&mut self, qname: &str, before: usize) {
        let window = self.stack.len().saturating_sub(MATCH_WINDOW);
        let Some(i) = self.stack[window..].iter().rposition(|f| f.qname == qname) else {
            return; // an end tag that closes nothing open
        };
        let target = window + i;
        while self.stack.len() > target {
            self.pop(Some(before));
        }
    }

    /// Pops the top frame; `end` is where its content ended (the position
    /// of the end tag), or `None` when a lenient rule closed it.
    fn pop(&mut self, end: Option<usize>) {
        let Some(f) = self.stack.pop() else { return };
        self.bindings.truncate(f.bindings_mark);
        if let Some(n) = f.node.and_then(|i| self.nodes.get_mut(i)) {
            n.closed = true;
            n.inner.1 = end.unwrap_or(n.inner.1.max(n.inner.0));
        }
    }

    /// Reads the value of the element just opened, its text, references
    /// and CDATA sections (`<description><![CDATA[<p>…</p>]]></description>`,
    /// `<content type="html">&lt;p&gt;…`), and hands it to
    /// [`Builder::text`] as the reader's events would have (line ends
    /// folded by quick-xml's own rule, as the events' are): quick-xml
    /// checks every event's bytes for UTF-8 again (`src` is a `str`
    /// already; a third of the tree's samples in a profile of a cold
    /// crawl), and an escaped value is an event for every reference (the
    /// benchmark's feeds parsed in 0.34 s rather than 0.40 with both
    /// read here, one core). Returns the
    /// number of bytes read: the reader goes on from there, in its text
    /// state as it would be, at whatever this leaves to it: markup (an end
    /// tag, an element of the value, a comment), a section left open or
    /// text up to the end of the document (the reader's errors and the
    /// repair's rules apply). Work in proportion to the bytes read (a
    /// piece's are searched twice, for its end and for a carriage return to
    /// fold; a section left open, once more by the reader), nothing kept
    /// but the text.
    ///
    /// The check belongs in quick-xml: 0.42 moved its events to `str` with
    /// a UTF-8 check of each slice (tafia/quick-xml#963), and checking an
    /// input once for all its events is discussed upstream (#947). Once a
    /// release reads a `str` without checking it again, this is worth
    /// measuring against the reader's events alone.
    fn take_value(&mut self, src: &str, after: usize) -> usize {
        const OPEN: &str = "<![CDATA[";
        let Some(frame) = self.stack.last() else {
            return 0;
        };
        if !frame.raw || frame.node.is_none() || frame.text_to != frame.node {
            return 0;
        }
        let rest = src.get(after..).unwrap_or_default();
        let mut taken = 0;
        while let Some(tail) = rest.get(taken..) {
            let bytes = tail.as_bytes();
            let used = match bytes.first() {
                None => break,
                Some(b'<') => {
                    let Some(content) = tail
                        .strip_prefix(OPEN)
                        .and_then(|section| section.get(..super::cdata_end(section.as_bytes())?))
                    else {
                        break;
                    };
                    self.text(&BytesCData::new(content).xml10_content());
                    OPEN.len() + content.len() + "]]>".len()
                }
                // As the reader takes a reference: up to its `;`, or, when
                // a `&` or `<` comes first, the `&` and what follows it up
                // to there as text.
                Some(b'&') => {
                    let after_amp = bytes.get(1..).unwrap_or_default();
                    let Some(i) = memchr::memchr3(b';', b'&', b'<', after_amp) else {
                        break;
                    };
                    match (after_amp.get(i), tail.get(1..=i), tail.get(..=i)) {
                        (Some(b';'), Some(name), _) => {
                            self.reference(&BytesRef::new(name));
                            i + 2
                        }
                        (Some(_), _, Some(text)) => {
                            self.text(&BytesText::from_escaped(text).xml10_content());
                            i + 1
                        }
                        _ => break,
                    }
                }
                Some(_) => {
                    let Some(text) =
                        memchr::memchr2(b'<', b'&', bytes).and_then(|end| tail.get(..end))
                    else {
                        break;
                    };
                    self.text(&BytesText::from_escaped(text).xml10_content());
                    text.len()
                }
            };
            taken += used;
        }
        taken
    }

    /// A reference: a character's, one of XML's five, or any other as its
    /// source (`&nbsp;`: the HTML of the value decodes it).
    fn reference(&mut self, r: &BytesRef<'_>) {
        match r.resolve_char_ref() {
            Ok(Some(c)) => self.text(c.encode_utf8(&mut [0; 4])),
            _ => match &**r {
                "amp" => self.text("&"),
                "lt" => self.text("<"),
                "gt" => self.text(">"),
                "quot" => self.text("\""),
                "apos" => self.text("'"),
                other => self.text(&format!("&{other};")),
            },
        }
    }

    fn text(&mut self, s: &str) {
        if let Some(n) = self
            .stack
            .last()
            .and_then(|f| f.text_to)
            .and_then(|i| self.nodes.get_mut(i))
        {
            n.text.push_str(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://feed.example/rss.xml").unwrap()
    }

    #[test]
    fn an_unclosed_element_is_closed_by_its_parent_or_the_next_item() {
        let src = "<rss><channel><itunes:category text='Technology'><item><title>a</title></item><item><title>b</title></item></channel></rss>";
        let t = build(src, &base());
        assert!(t.broken.is_none(), "{:?}", t.broken);
        let root = t.root().unwrap();
        let channel = t.children(root).next().unwrap();
        let kids: Vec<&str> = t.children(channel).map(|n| n.local.as_str()).collect();
        assert_eq!(kids, ["category", "item", "item"]);
        assert_eq!(t.item_elements, 2);
        // Inside an item, what follows an unclosed empty element is the item's.
        let src = "<rss><channel><item><enclosure url='u'><itunes:category text='x'><title>a</title></item></channel></rss>";
        let t = build(src, &base());
        let item = t.nodes.iter().find(|n| n.local == "item").unwrap();
        let kids: Vec<&str> = t.children(item).map(|n| n.local.as_str()).collect();
        assert_eq!(kids, ["enclosure", "category", "title"]);
    }

    /// What a tree says of each node, for comparing two trees.
    fn summary(t: &Tree<'_>) -> Vec<String> {
        let mut out: Vec<String> = t
            .nodes
            .iter()
            .map(|n| {
                format!(
                    "{:?}:{} {:?} kids={:?} text={:?} inner={:?} markup={} closed={} value={:?}",
                    n.ns,
                    n.local,
                    n.attrs
                        .iter()
                        .map(|a| (&a.local, &a.value))
                        .collect::<Vec<_>>(),
                    n.children,
                    n.text,
                    n.inner,
                    n.has_markup,
                    n.closed,
                    t.value(n)
                )
            })
            .collect();
        out.push(format!("items={} broken={:?}", t.item_elements, t.broken));
        out
    }

    #[test]
    fn values_read_past_the_reader_are_what_its_events_give() {
        // Pieces a value may be made of; every sequence of three of them
        // in a description, a title, `content:encoded` and a guid (not a
        // value: never taken), each item followed by a second.
        let pieces = [
            "<![CDATA[<p>一段 text</p>]]>",
            "<![CDATA[]]>",
            "<![CDATA[a]]b>c]]]>",
            "<![CDATA[line\r\nend]]>",
            "<![cdata[lower]]>",
            "<![CDATA[left open",
            " \n\t",
            "\r\n",
            "plain &amp; text",
            "&#x4E2D;",
            "&lt;p&gt;x&lt;/p&gt;",
            "a & b",
            "&nbsp;&unknown;",
            "&#xZZ;&#0;&;",
            "&amp",
            "&&amp;",
            "&a\r;",
            "x\ry",
            "<b>bold</b>",
            "<p>open",
            "</item>",
            "</description>",
            "<item>",
            "",
        ];
        let mut compared = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let value = format!("{a}{b}{c}");
                    for element in ["description", "title", "guid", "content:encoded"] {
                        let src = format!(
                            "<rss xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel>\
                             <item><{element}>{value}</{element}><link>http://x/1</link></item>\
                             <item><{element}> <![CDATA[two]]> </{element}></item></channel></rss>"
                        );
                        let taken = summary(&build_with(&src, &base(), true));
                        let read = summary(&build_with(&src, &base(), false));
                        assert_eq!(taken, read, "{src}");
                        compared += 1;
                    }
                }
            }
        }
        assert_eq!(compared, 24 * 24 * 24 * 4);
        // And the values are taken where they can be (positions past the
        // skipped bytes count them: the link after it is where it is).
        let src = "<rss><channel><item><description> <![CDATA[<p>x</p>]]>\n<![CDATA[y]]> </description><link>l</link></item></channel></rss>";
        let t = build(src, &base());
        let d = t.nodes.iter().find(|n| n.local == "description").unwrap();
        assert_eq!(d.text, " <p>x</p>\ny ");
        assert_eq!(
            src.get(d.inner.0..d.inner.1),
            Some(" <![CDATA[<p>x</p>]]>\n<![CDATA[y]]> ")
        );
        let link = t.nodes.iter().find(|n| n.local == "link").unwrap();
        assert_eq!(src.get(link.inner.0..link.inner.1), Some("l"));
    }

    #[test]
    fn values_read_past_the_reader_hold_on_every_feed_fixture() {
        // Feeds shaped after real ones (the conformance cases, the seed's
        // list, GBK read as UTF-8 would garble it) and the fuzzer's finds:
        // repaired as `parse` repairs them, built both ways.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut dirs = vec![root];
        let mut compared = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let feedish = path
                    .extension()
                    .is_some_and(|e| ["xml", "atom", "rss"].contains(&e.to_str().unwrap_or("")))
                    || path.parent().is_some_and(|p| p.ends_with("fuzz"));
                if !feedish {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                let src = super::super::repair_xml(&String::from_utf8_lossy(&bytes));
                let taken = summary(&build_with(&src, &base(), true));
                let read = summary(&build_with(&src, &base(), false));
                assert_eq!(taken, read, "{}", path.display());
                compared += 1;
            }
        }
        assert!(compared >= 18, "{compared} fixtures");
    }

    #[test]
    fn markup_in_a_value_is_kept_as_source() {
        let src = "<rss><channel><item><description><p>one <b>two</p></description></item></channel></rss>";
        let t = build(src, &base());
        let d = t.nodes.iter().find(|n| n.local == "description").unwrap();
        assert!(d.has_markup);
        assert_eq!(t.value(d), "<p>one <b>two</p>");
        assert_eq!(t.nodes.len(), 4, "no nodes for the markup inside");
    }

    #[test]
    fn a_document_cut_short_marks_what_was_open() {
        let src = "<rss><channel><item><title>a</title></item><item><title>b";
        let t = build(src, &base());
        assert!(t.broken.is_some());
        let items: Vec<bool> = t
            .nodes
            .iter()
            .filter(|n| n.local == "item")
            .map(|n| n.closed)
            .collect();
        assert_eq!(items, [true, false]);
    }

    #[test]
    fn namespaces_resolve_declared_and_undeclared() {
        let src = r#"<rss xmlns="http://backend.userland.com/rss2" xmlns:x="http://www.w3.org/2005/Atom"><channel><item><x:link href="h"/><dc:date>d</dc:date></item></channel></rss>"#;
        let t = build(src, &base());
        let item = t.nodes.iter().find(|n| n.local == "item").unwrap();
        assert_eq!(item.ns, Ns::Core);
        let kids: Vec<Ns> = t.children(item).map(|n| n.ns).collect();
        assert_eq!(kids, [Ns::Atom, Ns::Dc]);
    }

    #[test]
    fn deep_nesting_and_stray_end_tags_cost_little() {
        let mut src = String::from("<rss><channel>");
        src.push_str(&"<x>".repeat(50_000));
        src.push_str(&"</y>".repeat(50_000));
        src.push_str(&"</x>".repeat(50_000));
        src.push_str("<item><title>t</title></item></channel></rss>");
        let t = build(&src, &base());
        assert!(t.nodes.len() <= MAX_DEPTH + 3);
        assert_eq!(t.item_elements, 1);
    }
}
