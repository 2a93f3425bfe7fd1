//! UTF-8 feed text → a document of items: RSS 0.90/0.9x/1.0/2.0 and Atom
//! 0.3/1.0 through a lenient tree ([`tree`], mapped in [`xml`]), JSON Feed
//! in [`json`], told apart by content. Real feeds are repaired first:
//! characters illegal in XML are stripped, the encoding declaration is
//! rewritten to UTF-8 (the text was decoded already), a second declaration
//! is dropped, and bare `&` and HTML-only entities are escaped. Dates go
//! through [`crate::date`], keeping the offset the feed gave.
//!
//! No entry is lost silently: an item that cannot be read (cut off)
//! is listed in [`Document::skipped`], and a document that holds items but
//! yields none is an error.

mod json;
pub mod tree;
mod xml;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use url::Url;

use crate::error::FeedError;
use crate::html::ByteSet;

/// One entry of a feed, as the feed gave it (links absolute).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    /// The feed's own id (RSS guid, RSS 1.0 `rdf:about`, Atom id), never an invented one.
    pub guid: Option<String>,
    pub link: Option<Url>,
    pub title: Option<String>,
    pub author: Option<String>,
    /// The teaser (RSS description, Atom summary), HTML or text.
    pub summary: Option<String>,
    /// The full content when the feed carries it (content:encoded, Atom content).
    pub content: Option<String>,
    pub published: Option<DateTime<FixedOffset>>,
    pub updated: Option<DateTime<FixedOffset>>,
    /// The media the item names as its source (JSON lists carry it).
    pub origin: Option<String>,
    /// For an item with no title, date or text (an author, a category, a
    /// place): its source text, so that two such items stay two posts.
    pub fingerprint: Option<String>,
    /// Media attached to the item (RSS `enclosure`, `media:content`, Atom
    /// `link rel="enclosure"`, JSON Feed `attachments`): http(s) only, each
    /// URL once, at most [`MAX_ENCLOSURES`].
    pub enclosures: Vec<Enclosure>,
}

/// The most enclosures kept per item: a hostile feed can attach thousands.
pub const MAX_ENCLOSURES: usize = 16;

/// A file attached to an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enclosure {
    pub url: Url,
    /// The media type the feed gives (`audio/mpeg`), if any.
    pub mime: Option<String>,
    /// The size in bytes the feed gives, if any.
    pub length: Option<u64>,
}

impl Item {
    /// Adds an enclosure: http(s) only, each URL once, at most
    /// [`MAX_ENCLOSURES`]; a media type is kept only if it looks like one.
    pub fn add_enclosure(&mut self, url: Option<Url>, mime: Option<&str>, length: Option<&str>) {
        let Some(url) = url.filter(|u| matches!(u.scheme(), "http" | "https")) else {
            return;
        };
        if self.enclosures.len() >= MAX_ENCLOSURES || self.enclosures.iter().any(|e| e.url == url) {
            return;
        }
        let mime = mime
            .map(str::trim)
            .filter(|m| {
                m.len() <= 100
                    && m.contains('/')
                    && m.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/+-.;= ".contains(&b))
            })
            .map(str::to_ascii_lowercase);
        let length = length
            .and_then(|l| l.trim().parse::<u64>().ok())
            .filter(|l| *l > 0 && *l <= i64::MAX as u64);
        self.enclosures.push(Enclosure { url, mime, length });
    }
}

impl Item {
    /// No title, date or text: what the identity hash is made of.
    pub fn is_bare(&self) -> bool {
        self.title.is_none()
            && self.summary.is_none()
            && self.content.is_none()
            && self.published.is_none()
            && self.updated.is_none()
    }
}

/// A parsed feed document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub items: Vec<Item>,
    /// The feed's own links (its site, its self URL): never an article's address.
    pub site_links: Vec<Url>,
    /// Items that could not be read (cut off), one message each (`item 3: …`).
    pub skipped: Vec<String>,
}

/// Keeps at most `max` of `items`: the newest by date (publication, else
/// update), then, among items without a date, those first in the document
/// (feeds list the newest first). The kept items stay in document order.
/// Returns how many were left out.
pub fn keep_newest(items: &mut Vec<Item>, max: usize) -> usize {
    if items.len() <= max {
        return 0;
    }
    let mut rank: Vec<usize> = (0..items.len()).collect();
    // Newest first; undated after every dated one; ties in document order.
    rank.sort_by_key(|&i| {
        let date = items
            .get(i)
            .and_then(|it| it.published.or(it.updated))
            .map(|d| d.timestamp());
        (date.is_none(), std::cmp::Reverse(date), i)
    });
    let mut keep = vec![false; items.len()];
    for &i in rank.iter().take(max) {
        if let Some(k) = keep.get_mut(i) {
            *k = true;
        }
    }
    let before = items.len();
    let mut flags = keep.into_iter();
    items.retain(|_| flags.next().unwrap_or(false));
    before - items.len()
}

/// Parses feed text. `base` is the feed's URL (for relative links); dates
/// without an offset are read in `tz`.
pub fn parse(text: &str, base: &Url, tz: Tz) -> Result<Document, FeedError> {
    let trimmed = text.trim_start_matches(['\u{FEFF}', ' ', '\t', '\r', '\n']);
    let now = Utc::now().with_timezone(&tz).fixed_offset();
    if trimmed.starts_with('{') {
        json::parse(trimmed, base, tz, now)
    } else {
        xml::parse(&repair_xml(trimmed), base, tz, now)
    }
}

/// Where the `]]>` that ends a CDATA section starts in `bytes` (the
/// section's content and what follows it). Found by its `]`, which HTML
/// and text seldom hold: `memchr::memmem`'s search for the three bytes
/// was 4% of the parse of the benchmark's feeds (their sections hold
/// HTML), this one a scan for a single byte.
pub(crate) fn cdata_end(bytes: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b']', bytes).find(|&i| bytes.get(i..i + 3) == Some(b"]]>"))
}

/// The repairs listed in the module doc. Text in CDATA sections and comments
/// is left alone.
///
/// Runs of ordinary text are copied whole: only `<`, `&` and the bytes
/// that may begin a character illegal in XML ([`may_be_illegal`]) stop
/// the copy. (Looking for a CDATA section, a comment and a declaration at
/// every character was a twentieth of a cold crawl's CPU.)
fn repair_xml(text: &str) -> String {
    repair(text, true)
}

/// [`repair_xml`], copying runs of ordinary text whole when `runs`, else a
/// character at a time (as it was first written; a test holds the two
/// equal).
fn repair(text: &str, runs: bool) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    // The declaration: the text is UTF-8 now, whatever it said.
    if rest.starts_with("<?xml")
        && let Some(end) = rest.find("?>")
    {
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        rest = &rest[end + 2..];
    }
    while !rest.is_empty() {
        let run = if runs {
            find_where(&MARKUP_OR_ILLEGAL, rest.as_bytes(), |bytes, at| {
                matches!(bytes.get(at), Some(b'<' | b'&')) || is_illegal_at(bytes, at)
            })
        } else {
            0
        };
        // A run ends before an ASCII byte or a character's first byte.
        let (plain, special) = rest.split_at(run);
        out.push_str(plain);
        rest = special;
        if let Some(r) = rest.strip_prefix("<![CDATA[") {
            // A vector search ([`cdata_end`]), not `str::find`: CDATA
            // sections hold most of a feed's bytes.
            let end = cdata_end(r.as_bytes()).map_or(r.len(), |i| i + 3);
            out.push_str("<![CDATA[");
            if runs {
                push_legal(&r[..end], &mut out);
            } else {
                out.extend(r[..end].chars().filter(|&c| is_xml_char(c)));
            }
            rest = &r[end..];
            continue;
        }
        if rest.starts_with("<!--") {
            let end = rest.find("-->").map_or(rest.len(), |i| i + 3);
            rest = &rest[end..];
            continue;
        }
        // A second XML declaration (two feeds glued together, say) is not
        // XML, and makes the parser switch encodings mid-stream: drop it.
        if rest
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("<?xml"))
            && rest[5..].starts_with(|c: char| c.is_whitespace() || c == '?')
        {
            let end = rest.find("?>").map_or(rest.len(), |i| i + 2);
            rest = &rest[end..];
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        if c == '&' {
            rest = escape_amp(rest, &mut out);
            continue;
        }
        if is_xml_char(c) {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Whether the character at `at` of UTF-8 text (a character boundary) is
/// not [`is_xml_char`]: a control character other than tab and line ends,
/// U+FFFE or U+FFFF (surrogates cannot occur in a `str`). By its bytes:
/// the lead byte of those two, EF, is also that of the full-width forms
/// (`，：（）`), the commonest punctuation of Chinese text, and each was
/// decoded and copied on its own.
fn is_illegal_at(bytes: &[u8], at: usize) -> bool {
    match bytes.get(at) {
        Some(&b) if b < 0x20 => !matches!(b, b'\t' | b'\n' | b'\r'),
        Some(0xEF) => {
            bytes.get(at + 1) == Some(&0xBF) && matches!(bytes.get(at + 2), Some(0xBE | 0xBF))
        }
        _ => false,
    }
}

/// Bytes the repair stops at, a word at a time: those [`is_illegal_at`]
/// looks at, tab and line ends among them (the set's shape has no room to
/// leave them out: [`find_where`] steps over them), and `<` and `&`. A byte at a time,
/// the search was a thirtieth of a cold crawl's CPU.
const MARKUP_OR_ILLEGAL: ByteSet<3> = ByteSet {
    below: 0x20,
    equal: [0xEF, b'<', b'&'],
};
/// The same inside CDATA sections: [`is_illegal_at`]'s and line ends.
const MAYBE_ILLEGAL: ByteSet<1> = ByteSet {
    below: 0x20,
    equal: [0xEF],
};

/// The first index of a byte for which `wanted(bytes, index)` holds,
/// among those of `set` (which holds them all), or `bytes.len()`.
#[inline(always)]
fn find_where<const N: usize>(
    set: &ByteSet<N>,
    bytes: &[u8],
    wanted: impl Fn(&[u8], usize) -> bool,
) -> usize {
    let mut at = set.find(bytes, 0);
    while at < bytes.len() {
        if wanted(bytes, at) {
            return at;
        }
        at = set.find(bytes, at + 1);
    }
    bytes.len()
}

fn push_legal(s: &str, out: &mut String) {
    let mut rest = s;
    loop {
        let at = find_where(&MAYBE_ILLEGAL, rest.as_bytes(), is_illegal_at);
        if at >= rest.len() {
            break;
        }
        let (plain, special) = rest.split_at(at);
        out.push_str(plain);
        let mut chars = special.chars();
        if let Some(c) = chars.next().filter(|&c| is_xml_char(c)) {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
}

/// XML 1.0's Char production (surrogates cannot occur in a `str`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// At a `&`: keep a real XML reference, turn an HTML-only entity into a
/// numeric one, and escape anything else. Returns the rest after it.
fn escape_amp<'a>(rest: &'a str, out: &mut String) -> &'a str {
    let after = &rest[1..];
    let name_len = after
        .char_indices()
        .take(32)
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '#'))
        .map(|(i, c)| (i, c == ';'));
    if let Some((len, true)) = name_len {
        let name = &after[..len];
        let valid_numeric = name
            .strip_prefix("#x")
            .map(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            .or_else(|| {
                name.strip_prefix('#')
                    .map(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
            })
            .unwrap_or(false);
        if valid_numeric || matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
            out.push('&');
            out.push_str(name);
            out.push(';');
            return &after[len + 1..];
        }
        if let Some(code) = html_entity(name) {
            out.push_str(&format!("&#{code};"));
            return &after[len + 1..];
        }
    }
    out.push_str("&amp;");
    after
}

/// The HTML entities that turn up in real feeds.
fn html_entity(name: &str) -> Option<u32> {
    Some(match name {
        "nbsp" => 160,
        "copy" => 169,
        "reg" => 174,
        "middot" => 183,
        "laquo" => 171,
        "raquo" => 187,
        "times" => 215,
        "yen" => 165,
        "ndash" => 8211,
        "mdash" => 8212,
        "lsquo" => 8216,
        "rsquo" => 8217,
        "ldquo" => 8220,
        "rdquo" => 8221,
        "bull" => 8226,
        "hellip" => 8230,
        "euro" => 8364,
        "trade" => 8482,
        "emsp" => 8195,
        "ensp" => 8194,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repair by runs gives the character-at-a-time repair's text, over text made of the
    /// pieces the repairs act on (CDATA, comments, declarations,
    /// references, illegal characters, full-width forms, which share
    /// U+FFFE's first byte), each at every place.
    #[test]
    fn repair_is_the_character_at_a_time_repair() {
        let pieces = [
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "<?xml ",
            "<?XML?",
            "?>",
            "<?xmlx",
            "&amp;",
            "&nbsp;",
            "&#x4e2d;",
            "&#20013;",
            "&bogus;",
            "& ",
            "&",
            "<",
            ">",
            "\u{1}",
            "\u{0}",
            "\t",
            "\n",
            "\r",
            "\u{FFFE}",
            "\u{FFFF}",
            "\u{FFFD}",
            "\u{F000}",
            "：",
            "，",
            "\u{FFBF}",
            "\u{FFEF}",
            "\u{FEFF}",
            "中文",
            "a",
            " ",
            "<p>",
            "\u{1F600}",
            "\u{7F}",
            "\u{85}",
            // Runs of plain bytes past a word, to move the rest across
            // the eight-byte words.
            "abcdefghijk",
            "中文中文中文",
        ];
        for text in crate::testing::joined(7, &pieces, 40_000, 0..14) {
            assert_eq!(repair_xml(&text), repair(&text, false), "{text:?}");
        }
        for (a, b) in pieces
            .iter()
            .flat_map(|a| pieces.iter().map(move |b| (a, b)))
        {
            let text = format!("{a}{b}x{a}");
            assert_eq!(repair_xml(&text), repair(&text, false), "{text:?}");
        }
    }

    fn base() -> Url {
        Url::parse("https://news.example.cn/feeds/rss.xml").unwrap()
    }

    fn p(text: &str) -> Vec<Item> {
        parse(text, &base(), chrono_tz::Asia::Shanghai)
            .unwrap()
            .items
    }

    /// Enclosures in every form feeds give them, bounded and checked.
    #[test]
    fn enclosures_of_every_shape() {
        let many: String = (0..40)
            .map(|i| format!("<enclosure url=\"/m/{i}.mp3\" type=\"audio/mpeg\"/>"))
            .collect();
        let items = p(&format!(
            r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>
<item><title>a</title><link>/a</link>
  <enclosure url="/audio/1.mp3" length="31001234" type="audio/mpeg"/>
  <enclosure url="/audio/1.mp3" length="1" type="audio/mpeg"/>
  <enclosure url="javascript:alert(1)" type="audio/mpeg"/>
  <media:content url="https://img.example.cn/1.jpg" type="image/jpeg" fileSize="2048" medium="image"/>
  <media:group><media:content url="https://v.example.cn/1.mp4" type="video/mp4"/></media:group>
  <atom:link rel="enclosure" href="https://cdn.example.cn/1.pdf" type="application/pdf" length="x"/>
  <enclosure url="/audio/2.mp3" type="audio/mpeg&quot;&gt;&lt;script&gt;" length="-5"/>
</item>
<item><title>b</title><link>/b</link>{many}</item>
</channel></rss>"#
        ));
        let got: Vec<(String, Option<String>, Option<u64>)> = items[0]
            .enclosures
            .iter()
            .map(|e| (e.url.to_string(), e.mime.clone(), e.length))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "https://news.example.cn/audio/1.mp3".to_string(),
                    Some("audio/mpeg".to_string()),
                    Some(31001234)
                ),
                (
                    "https://img.example.cn/1.jpg".to_string(),
                    Some("image/jpeg".to_string()),
                    Some(2048)
                ),
                (
                    "https://v.example.cn/1.mp4".to_string(),
                    Some("video/mp4".to_string()),
                    None
                ),
                (
                    "https://cdn.example.cn/1.pdf".to_string(),
                    Some("application/pdf".to_string()),
                    None
                ),
                (
                    "https://news.example.cn/audio/2.mp3".to_string(),
                    None,
                    None
                ),
            ]
        );
        assert_eq!(items[1].enclosures.len(), MAX_ENCLOSURES);
        let atom = p(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><id>e1</id><title>x</title><link href="/x"/><link rel="enclosure" href="/x.m4a" type="audio/mp4" length="10"/></entry></feed>"#,
        );
        assert_eq!(
            atom[0].enclosures[0].url.as_str(),
            "https://news.example.cn/x.m4a"
        );
        assert_eq!(atom[0].enclosures[0].length, Some(10));
        let json = p(
            r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
            {"id": "1", "url": "/j", "title": "j", "attachments": [
                {"url": "/j.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 99},
                {"url": "ftp://x/y"}, "not an object"]}]}"#,
        );
        assert_eq!(json[0].enclosures.len(), 1);
        assert_eq!(
            json[0].enclosures[0].url.as_str(),
            "https://news.example.cn/j.mp3"
        );
        assert_eq!(json[0].enclosures[0].length, Some(99));
    }

    #[test]
    fn rss2_with_offsets_kept_and_relative_links() {
        let items = p(r#"<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0"><channel><title>t</title>
<item><title>标题一</title><link>/a/202201102242232593.html</link><guid>g1</guid>
<pubDate>Mon, 10 Jan 2022 16:57:30 +0800</pubDate><description><![CDATA[<p>摘要 & 更多</p>]]></description></item>
<item><title>no date</title><link>https://other.example/x?utm_source=a</link></item>
</channel></rss>"#);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].title.as_deref(), Some("标题一"));
        assert_eq!(
            items[0].link.as_ref().unwrap().as_str(),
            "https://news.example.cn/a/202201102242232593.html"
        );
        assert_eq!(items[0].guid.as_deref(), Some("g1"));
        assert_eq!(
            items[0].published.unwrap().to_rfc3339(),
            "2022-01-10T16:57:30+08:00"
        );
        assert_eq!(items[0].summary.as_deref(), Some("<p>摘要 & 更多</p>"));
        assert_eq!(items[1].guid, None, "no invented ids");
        assert_eq!(items[1].published, None);
    }

    #[test]
    fn broken_rss_is_repaired() {
        // No version, a bare &, an HTML entity, a control character, a naive date.
        let items = p(
            "<rss><channel><item><title>A & B&nbsp;C\u{1}</title><link>http://x.example/1</link><pubDate>2022-01-10 16:57:30</pubDate></item></channel></rss>",
        );
        assert_eq!(items[0].title.as_deref(), Some("A & B\u{a0}C"));
        assert_eq!(
            items[0].published.unwrap().to_rfc3339(),
            "2022-01-10T16:57:30+08:00"
        );
        let items =
            p(r#"<rss version="2.01"><channel><item><title>x</title></item></channel></rss>"#);
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn atom_and_xml_base() {
        let items = p(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/base/">
<title>t</title><entry><id>urn:1</id><title type="html">&lt;b&gt;粗&lt;/b&gt;</title>
<link rel="alternate" href="post/1.html"/><updated>2022-01-11T08:57:30Z</updated>
<published>2022-01-10T16:57:30+08:00</published><author><name>记者</name></author>
<content type="html">&lt;p&gt;全文&lt;/p&gt;</content></entry></feed>"#,
        );
        let e = &items[0];
        assert_eq!(
            e.link.as_ref().unwrap().as_str(),
            "https://atom.example/base/post/1.html"
        );
        assert_eq!(e.author.as_deref(), Some("记者"));
        assert_eq!(e.content.as_deref(), Some("<p>全文</p>"));
        assert_eq!(
            e.published.unwrap().to_rfc3339(),
            "2022-01-10T16:57:30+08:00"
        );
        assert_eq!(e.updated.unwrap().to_rfc3339(), "2022-01-11T08:57:30+00:00");
    }

    #[test]
    fn rss1_and_json_feed() {
        let items = p(
            r#"<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="x"><title>t</title></channel><item rdf:about="http://r1.example/1"><title>R1</title><link>http://r1.example/1</link></item></rdf:RDF>"#,
        );
        assert_eq!(items[0].title.as_deref(), Some("R1"));
        let items = p(
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"j","items":[{"id":"1","url":"https://j.example/1","title":"J1","content_html":"<p>x</p>","date_published":"2022-01-10T16:57:30+08:00"}]}"#,
        );
        assert_eq!(
            items[0].link.as_ref().unwrap().as_str(),
            "https://j.example/1"
        );
        assert_eq!(
            items[0].published.unwrap().to_rfc3339(),
            "2022-01-10T16:57:30+08:00"
        );
    }

    #[test]
    fn rss091_and_atom03() {
        let items = p(
            r#"<rss version="0.91"><channel><title>t</title><item><title>旧格式</title><link>http://o.example/1</link></item></channel></rss>"#,
        );
        assert_eq!(items[0].title.as_deref(), Some("旧格式"));
        let items = p(
            r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title>
<entry><title>Atom 0.3</title><link rel="alternate" type="text/html" href="http://o.example/2"/><id>tag:o,2004:2</id>
<issued>2004-01-10T16:57:30+08:00</issued><modified>2004-01-10T16:57:30+08:00</modified></entry></feed>"#,
        );
        assert_eq!(items[0].title.as_deref(), Some("Atom 0.3"));
        assert_eq!(
            items[0].link.as_ref().unwrap().as_str(),
            "http://o.example/2"
        );
    }

    #[test]
    fn a_second_xml_declaration_is_dropped() {
        let items = p(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>一</title></item><?xml version=\"1.0\" encoding=\"gb2312\"?><item><title>二</title></item></channel></rss>",
        );
        assert_eq!(items.len(), 2);
    }

    /// Fuzzing regressions: inputs that once crashed, run as the fuzz target does.
    #[test]
    fn fuzz_regressions() {
        let inputs: &[&[u8]] = &[include_bytes!(
            "../../tests/fixtures/fuzz/feed-crash-7fec1571"
        )];
        for data in inputs {
            let declared = crate::decode::xml_declared(data);
            let text = crate::decode::decode(data, None, declared, Some("cn")).text;
            let _ = parse(&text, &base(), chrono_tz::Asia::Shanghai);
        }
    }

    #[test]
    fn bare_items_are_kept_and_told_apart() {
        // Only an author, only a category: still entries, and not the same one.
        let items = p(
            "<rss><channel><item><author>a@example.org (A)</author></item><item><category>x</category></item></channel></rss>",
        );
        assert_eq!(items.len(), 2);
        assert!(items[0].is_bare() && items[1].is_bare());
        assert_ne!(items[0].fingerprint, items[1].fingerprint);
        assert!(
            items[0]
                .fingerprint
                .as_deref()
                .is_some_and(|f| f.contains("(A)"))
        );
    }

    #[test]
    fn not_a_feed() {
        assert!(
            parse(
                "<html><body>404</body></html>",
                &base(),
                chrono_tz::Asia::Shanghai
            )
            .is_err()
        );
        assert!(parse("", &base(), chrono_tz::Asia::Shanghai).is_err());
    }
}
