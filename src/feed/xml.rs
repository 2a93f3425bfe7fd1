//! RSS 0.90/0.9x/1.0/2.0 and Atom 0.3/1.0 documents → items, from the
//! lenient [`tree`](super::tree). The rules real feeds need, each of which
//! a strict reading gets wrong somewhere:
//!
//! - the item's link is the first `http(s)` one of: `<link>`, an Atom
//!   `<link>` with no `rel` or `rel="alternate"` (any prefix: .NET writes
//!   `a10:link`), and only then a permalink `<guid>` or `rdf:about`; the
//!   `<comments>` URL and enclosures are never the link;
//! - the guid is `<guid>`, else RSS 1.0's `rdf:about`, else `dc:identifier`
//!   or an Atom `<id>`;
//! - the publication date is the first of `pubDate`, `dc:date`, Atom
//!   `published`/`issued` that can be read: one that cannot be read never
//!   erases another that can;
//! - Atom text: `type` `text`/`html`/`xhtml` and Atom 0.3's MIME types and
//!   `mode`; plain text is escaped so it stays text;
//! - Microsoft CDF (`<CHANNEL>`/`<ITEM HREF=…>`), which feedparser reads too.

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use url::Url;

use super::tree::{self, Node, Ns, Tree};
use super::{Document, Item};
use crate::date::parse_date;
use crate::error::FeedError;

pub fn parse(
    text: &str,
    base: &Url,
    tz: Tz,
    now: DateTime<FixedOffset>,
) -> Result<Document, FeedError> {
    let tree = tree::build(text, base);
    let Some(root) = tree.root() else {
        return Err(FeedError::Parse(match &tree.broken {
            Some(why) => format!("not XML: {why}"),
            None => "empty document".into(),
        }));
    };
    let cx = Cx {
        tree: &tree,
        base,
        tz,
        now,
    };
    let mut doc = Document::default();
    let mut item_nodes = Vec::new();
    match root.local.as_str() {
        "rss" | "RDF" | "channel" => {
            let channel = if root.local == "channel" {
                Some(root)
            } else {
                tree.children(root)
                    .find(|n| n.ns == Ns::Core && n.local == "channel")
            };
            // Items belong in the channel (RSS 0.9x/2.0) or beside it (RSS
            // 0.90/1.0); some feeds put them in the other place.
            let mut holders = vec![root];
            holders.extend(channel.filter(|c| !std::ptr::eq(*c, root)));
            for holder in holders {
                item_nodes.extend(
                    tree.children(holder)
                        .filter(|n| n.ns == Ns::Core && (n.local == "item" || n.local == "entry")),
                );
            }
            if let Some(ch) = channel {
                cx.site_links(ch, &mut doc);
            }
            for n in item_nodes {
                cx.push(n, cx.rss_item(n), &mut doc);
            }
        }
        "feed" if matches!(root.ns, Ns::Atom | Ns::Core) => {
            cx.site_links(root, &mut doc);
            for n in tree
                .children(root)
                .filter(|n| is_atom(n, "entry") || is_atom(n, "item"))
            {
                cx.push(n, cx.atom_entry(n), &mut doc);
            }
        }
        "entry" if matches!(root.ns, Ns::Atom | Ns::Core) => {
            cx.push(root, cx.atom_entry(root), &mut doc)
        }
        // Microsoft's Channel Definition Format: upper-case elements,
        // `<ITEM HREF=… LASTMOD=…>` in channels that may nest.
        "CHANNEL" if root.ns == Ns::Core => {
            doc.site_links
                .extend(root.attr(None, "href").and_then(|h| cx.join(root, h)));
            let mut channels = vec![root];
            while let Some(ch) = channels.pop() {
                for n in tree.children(ch).filter(|n| n.ns == Ns::Core) {
                    match n.local.as_str() {
                        "ITEM" => cx.push(n, cx.cdf_item(n), &mut doc),
                        "CHANNEL" => channels.push(n),
                        _ => {}
                    }
                }
            }
        }
        other => {
            return Err(FeedError::Parse(format!("the root element is <{other}>")));
        }
    }
    let found = doc.items.len() + doc.skipped.len();
    if found == 0 && tree.item_elements > 0 {
        return Err(FeedError::Parse(format!(
            "{} <item>/<entry> elements, none where a feed keeps its items",
            tree.item_elements
        )));
    }
    if let Some(why) = &tree.broken {
        if doc.items.is_empty() {
            return Err(FeedError::Parse(match doc.skipped.first() {
                Some(first) => format!(
                    "broken XML ({why}); none of its {} items could be read: {first}",
                    doc.skipped.len()
                ),
                None => format!("broken XML, no item in it: {why}"),
            }));
        }
        tracing::debug!(why, "broken XML; intact items kept");
    }
    Ok(doc)
}

fn is_atom(n: &Node, local: &str) -> bool {
    matches!(n.ns, Ns::Atom | Ns::Core) && n.local == local
}

struct Cx<'t, 'a> {
    tree: &'t Tree<'a>,
    base: &'t Url,
    tz: Tz,
    now: DateTime<FixedOffset>,
}

impl Cx<'_, '_> {
    fn push(&self, node: &Node, item: Item, doc: &mut Document) {
        let n = doc.items.len() + doc.skipped.len() + 1;
        if !node.closed {
            doc.skipped
                .push(format!("item {n}: cut off (the document ends inside it)"));
        } else {
            let mut item = item;
            if item.is_bare() {
                let raw = self
                    .tree
                    .src
                    .get(node.inner.0..node.inner.1)
                    .unwrap_or_default();
                item.fingerprint = Some(raw.trim().to_string());
            }
            doc.items.push(item);
        }
    }

    fn base_of<'b>(&'b self, n: &'b Node) -> &'b Url {
        n.base.as_ref().unwrap_or(self.base)
    }

    fn join(&self, n: &Node, href: &str) -> Option<Url> {
        let url = self.base_of(n).join(href.trim()).ok()?;
        matches!(url.scheme(), "http" | "https").then_some(url)
    }

    fn date(&self, n: &Node) -> Option<DateTime<FixedOffset>> {
        parse_date(&n.text, self.tz, self.now)
    }

    /// The channel's (or Atom feed's) own links: its site and its self URL.
    fn site_links(&self, holder: &Node, doc: &mut Document) {
        for n in self.tree.children(holder) {
            let href = if n.is(Ns::Core, "link") && n.attr(None, "href").is_none() {
                Some(n.text.as_str())
            } else if n.local == "link" && matches!(n.ns, Ns::Atom | Ns::Core) {
                n.attr(None, "href")
            } else {
                None
            };
            if let Some(u) = href.and_then(|h| self.join(n, h)) {
                doc.site_links.push(u);
            }
        }
    }

    fn rss_item(&self, item: &Node) -> Item {
        let mut out = Item::default();
        let mut links: Vec<Url> = Vec::new();
        let (mut guid, mut about, mut identifier, mut atom_id) = (None, None, None, None);
        let mut permalink: Option<Url> = None;
        let (mut pub_date, mut dc_date, mut atom_published, mut atom_updated) =
            (None, None, None, None);
        let (mut authors, mut summary, mut content) = (Vec::new(), None, None);
        let (mut alt_title, mut alt_summary, mut alt_content) = (None, None, None);
        if let Some(a) = item.attr(Some(Ns::Rdf), "about") {
            about = Some(a.trim().to_string()).filter(|s| !s.is_empty());
        }
        for n in self.tree.children(item) {
            match (n.ns, n.local.as_str()) {
                (Ns::Core, "title") => set_once(&mut out.title, self.tree.value(n)),
                (Ns::Dc, "title") | (Ns::Atom, "title") => {
                    set_once(&mut alt_title, self.text_construct(n))
                }
                (Ns::Core, "link") => {
                    // `<link href=…/>` in RSS is an Atom habit.
                    let href = n.attr(None, "href").unwrap_or(&n.text);
                    if is_alternate(n) {
                        links.extend(self.join(n, href));
                    }
                }
                (Ns::Atom, "link") if is_alternate(n) => {
                    links.extend(n.attr(None, "href").and_then(|h| self.join(n, h)));
                }
                (Ns::Core, "guid") => {
                    let g = n.text.trim();
                    if !g.is_empty() && guid.is_none() {
                        guid = Some(g.to_string());
                        let perma = n
                            .attr(None, "isPermaLink")
                            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
                        if perma && (g.starts_with("http://") || g.starts_with("https://")) {
                            permalink = Url::parse(g).ok();
                        }
                    }
                }
                (Ns::Dc, "identifier") => set_once(&mut identifier, n.text.trim().to_string()),
                (Ns::Atom, "id") => set_once(&mut atom_id, n.text.trim().to_string()),
                (Ns::Core, "pubDate") => pub_date = pub_date.or_else(|| self.date(n)),
                (Ns::Dc, "date") => dc_date = dc_date.or_else(|| self.date(n)),
                (Ns::Atom, "published") | (Ns::DcTerms, "issued") | (Ns::DcTerms, "created") => {
                    atom_published = atom_published.or_else(|| self.date(n))
                }
                (Ns::Atom, "updated") | (Ns::DcTerms, "modified") | (Ns::Core, "updated") => {
                    atom_updated = atom_updated.or_else(|| self.date(n))
                }
                (Ns::Core, "author") | (Ns::Dc, "creator") | (Ns::Itunes, "author") => {
                    authors.push(n.text.trim().to_string())
                }
                (Ns::Atom, "author") => authors.extend(self.atom_person(n)),
                (Ns::Core, "description") => set_once(&mut summary, self.tree.value(n)),
                (Ns::Dc, "description") | (Ns::Itunes, "summary") | (Ns::Atom, "summary") => {
                    set_once(&mut alt_summary, self.text_construct(n))
                }
                (Ns::Content, "encoded") => set_once(&mut content, self.tree.value(n)),
                (Ns::Xhtml, "body") | (Ns::Atom, "content") => {
                    set_once(&mut alt_content, self.text_construct(n))
                }
                (Ns::Core, "enclosure") => out.add_enclosure(
                    n.attr(None, "url").and_then(|u| self.join(n, u)),
                    n.attr(None, "type"),
                    n.attr(None, "length"),
                ),
                (Ns::Media, "content") => self.media_content(&mut out, n),
                (Ns::Media, "group") => {
                    for c in self.tree.children(n).filter(|c| c.is(Ns::Media, "content")) {
                        self.media_content(&mut out, c);
                    }
                }
                (Ns::Atom, "link") if is_enclosure(n) => self.atom_enclosure(&mut out, n),
                _ => {}
            }
        }
        let about_url = about
            .as_deref()
            .filter(|a| a.starts_with("http://") || a.starts_with("https://"))
            .and_then(|a| Url::parse(a).ok());
        out.link = links.into_iter().next().or(permalink).or(about_url);
        out.guid = guid.or(about).or(identifier).or(atom_id);
        out.published = pub_date.or(dc_date).or(atom_published);
        out.updated = atom_updated.or(out.published);
        out.author = authors.into_iter().find(|a| !a.is_empty());
        out.title = out.title.or(alt_title);
        out.summary = summary.or(alt_summary);
        out.content = content.or(alt_content);
        out
    }

    fn atom_entry(&self, entry: &Node) -> Item {
        let mut out = Item::default();
        let mut links: Vec<Url> = Vec::new();
        let (mut published, mut updated) = (None, None);
        let mut authors = Vec::new();
        for n in self.tree.children(entry) {
            if !matches!(n.ns, Ns::Atom | Ns::Core) {
                if n.is(Ns::Dc, "creator") {
                    authors.push(n.text.trim().to_string());
                }
                continue;
            }
            match n.local.as_str() {
                "title" => set_once(&mut out.title, self.text_construct(n)),
                "link" if is_alternate(n) => {
                    links.extend(n.attr(None, "href").and_then(|h| self.join(n, h)));
                }
                "id" => set_once(&mut out.guid, n.text.trim().to_string()),
                "published" | "issued" | "created" => {
                    published = published.or_else(|| self.date(n))
                }
                "updated" | "modified" => updated = updated.or_else(|| self.date(n)),
                "author" => authors.extend(self.atom_person(n)),
                "summary" => set_once(&mut out.summary, self.text_construct(n)),
                "content" if n.attr(None, "src").is_none() => {
                    set_once(&mut out.content, self.text_construct(n))
                }
                "link" if is_enclosure(n) => self.atom_enclosure(&mut out, n),
                _ => {}
            }
        }
        out.link = links.into_iter().next().or_else(|| {
            out.guid
                .as_deref()
                .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
                .and_then(|g| Url::parse(g).ok())
        });
        out.published = published.or(updated);
        out.updated = updated;
        out.author = authors.into_iter().find(|a| !a.is_empty());
        out
    }

    fn cdf_item(&self, item: &Node) -> Item {
        let mut out = Item {
            link: item.attr(None, "href").and_then(|h| self.join(item, h)),
            updated: item
                .attr(None, "lastmod")
                .and_then(|d| parse_date(d, self.tz, self.now)),
            ..Item::default()
        };
        out.published = out.updated;
        for n in self.tree.children(item).filter(|n| n.ns == Ns::Core) {
            match n.local.as_str() {
                "TITLE" => set_once(&mut out.title, self.tree.value(n)),
                "ABSTRACT" => set_once(&mut out.summary, self.tree.value(n)),
                _ => {}
            }
        }
        out
    }

    /// `<media:content url type fileSize>`.
    fn media_content(&self, out: &mut Item, n: &Node) {
        out.add_enclosure(
            n.attr(None, "url").and_then(|u| self.join(n, u)),
            n.attr(None, "type"),
            n.attr(None, "fileSize"),
        );
    }

    /// `<link rel="enclosure" href type length>`.
    fn atom_enclosure(&self, out: &mut Item, n: &Node) {
        out.add_enclosure(
            n.attr(None, "href").and_then(|h| self.join(n, h)),
            n.attr(None, "type"),
            n.attr(None, "length"),
        );
    }

    fn atom_person(&self, n: &Node) -> Option<String> {
        self.tree
            .children(n)
            .find(|c| c.local == "name")
            .map(|c| c.text.trim().to_string())
            .or_else(|| Some(n.text.trim().to_string()))
            .filter(|s| !s.is_empty())
    }

    /// An Atom text construct as HTML: `html` (and escaped modes) as is,
    /// `xhtml` as its markup without the wrapping `<div>`, plain text escaped.
    /// Base64 content is not text: dropped.
    fn text_construct(&self, n: &Node) -> String {
        let ty = n
            .attr(None, "type")
            .unwrap_or("text")
            .trim()
            .to_ascii_lowercase();
        let mode = n
            .attr(None, "mode")
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mode == "base64" {
            return String::new();
        }
        if n.has_markup {
            return unwrap_div(&self.tree.value(n)).to_string();
        }
        let html = ty == "html" || ty.contains("html");
        let text = n.text.trim();
        if html {
            text.to_string()
        } else {
            crate::html::escape(text)
        }
    }
}

/// A link that is the page itself: no `rel`, or `rel="alternate"`.
fn is_alternate(n: &Node) -> bool {
    n.attr(None, "rel")
        .is_none_or(|r| r.trim().is_empty() || r.trim().eq_ignore_ascii_case("alternate"))
}

fn is_enclosure(n: &Node) -> bool {
    n.attr(None, "rel")
        .is_some_and(|r| r.trim().eq_ignore_ascii_case("enclosure"))
}

fn set_once(slot: &mut Option<String>, value: String) {
    if slot.is_none() && !value.trim().is_empty() {
        *slot = Some(value);
    }
}

/// `<div xmlns="…xhtml">…</div>` → its content.
fn unwrap_div(s: &str) -> &str {
    let t = s.trim();
    if (t.starts_with("<div") || t.starts_with("<xhtml:div"))
        && let (Some(open), Some(close)) = (t.find('>'), t.rfind("</"))
        && open < close
    {
        return t.get(open + 1..close).unwrap_or(t).trim();
    }
    t
}
