//! Finding a site's feeds for `sources add`: the feeds an HTML page
//! announces (`<link rel="alternate">` with an RSS, Atom or JSON Feed type),
//! else the paths sites commonly serve them at. Each candidate is fetched
//! and kept only if it parses as a feed with items. Pure helpers here; the
//! command (`commands::sources`) does the fetching.

use scraper::{Html, Selector};
use url::Url;

/// The media types of feeds, as `<link type>` gives them.
const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
];

/// Where sites commonly serve a feed, tried when a page announces none.
pub const COMMON_PATHS: &[&str] = &[
    "/feed",
    "/rss",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/rss/index.xml",
];

/// Whether `body` looks like an HTML page rather than a feed.
pub fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if let Some(ct) = content_type {
        let ct = ct.to_ascii_lowercase();
        if ct.contains("html") {
            return true;
        }
        if ct.contains("xml") || ct.contains("json") {
            return false;
        }
    }
    let head = String::from_utf8_lossy(body.get(..1024).unwrap_or(body)).to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype html")
}

/// The feeds `html` announces, absolute against `base`, in page order,
/// each once, with the title the page gives it.
/// A page that would cost more to parse than its size allows
/// ([`crate::html::budget`], as for article pages) announces nothing: the
/// common paths are tried instead.
pub fn announced(html: &str, base: &Url) -> Vec<(Url, Option<String>)> {
    if crate::html::budget::check(html, false).is_err() {
        return Vec::new();
    }
    let doc = Html::parse_document(html);
    let Ok(sel) = Selector::parse("link[rel][href]") else {
        return Vec::new();
    };
    let mut out: Vec<(Url, Option<String>)> = Vec::new();
    for link in doc.select(&sel) {
        let e = link.value();
        let rel = e.attr("rel").unwrap_or_default().to_ascii_lowercase();
        if !rel.split_ascii_whitespace().any(|r| r == "alternate") {
            continue;
        }
        let ty = e
            .attr("type")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !FEED_TYPES.contains(&ty.as_str()) {
            continue;
        }
        let Some(url) = e
            .attr("href")
            .and_then(|h| base.join(h.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        else {
            continue;
        };
        if out.iter().any(|(u, _)| *u == url) {
            continue;
        }
        let title = e
            .attr("title")
            .map(crate::html::plain_line)
            .filter(|t| !t.is_empty());
        out.push((url, title));
    }
    out
}

/// A feed's own title, best effort: a JSON Feed's `title`, else the text
/// of the first `<title>` in the first 8 KB (the channel's or the feed's).
pub fn feed_title(text: &str) -> Option<String> {
    let t = text.trim_start();
    if t.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(t).ok()?;
        return v
            .get("title")
            .and_then(|x| x.as_str())
            .map(crate::html::plain_line)
            .filter(|x| !x.is_empty());
    }
    let mut end = t.len().min(8192);
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    let head = t.get(..end)?;
    let start = head.find("<title")?;
    let after = head.get(start..)?;
    let open_end = after.find('>')?;
    let inner = after.get(open_end + 1..)?;
    let close = inner.find("</title")?;
    let raw = inner.get(..close)?.trim();
    let raw = raw
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
        .unwrap_or(raw);
    Some(crate::html::plain_line(raw)).filter(|x| !x.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_announced_feeds_in_page_order() {
        let base = Url::parse("https://news.example.cn/finance/index.html").unwrap();
        let html = r#"<!DOCTYPE html><html><head>
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/rss+xml" title="财经 RSS" href="/rss/finance.xml">
            <link rel="Alternate" type="application/atom+xml" href="https://news.example.cn/atom.xml">
            <link rel="alternate" type="application/rss+xml" href="/rss/finance.xml">
            <link rel="alternate" hreflang="en" href="/en/">
            <link rel="alternate" type="application/feed+json" href="feed.json">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            </head><body></body></html>"#;
        let found: Vec<(String, Option<String>)> = announced(html, &base)
            .into_iter()
            .map(|(u, t)| (u.to_string(), t))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "https://news.example.cn/rss/finance.xml".to_string(),
                    Some("财经 RSS".to_string())
                ),
                ("https://news.example.cn/atom.xml".to_string(), None),
                (
                    "https://news.example.cn/finance/feed.json".to_string(),
                    None
                ),
            ]
        );
    }

    /// A page nested deeper than any real one is not parsed at all.
    #[test]
    fn a_page_too_costly_to_parse_announces_nothing() {
        let base = Url::parse("https://news.example.cn/").unwrap();
        let link = r#"<link rel="alternate" type="application/rss+xml" href="/rss.xml">"#;
        let fine = format!(
            "<html><head>{link}</head><body>{}</body></html>",
            "<div>x</div>".repeat(1000)
        );
        assert_eq!(announced(&fine, &base).len(), 1);
        let deep = format!(
            "<html><head>{link}</head><body>{}</body></html>",
            "<div>".repeat(100_000)
        );
        assert!(announced(&deep, &base).is_empty());
    }

    #[test]
    fn feed_titles() {
        assert_eq!(
            feed_title(
                "<?xml version=\"1.0\"?><rss><channel><title><![CDATA[财经 &amp; 要闻]]></title>"
            )
            .as_deref(),
            Some("财经 & 要闻")
        );
        assert_eq!(
            feed_title(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"text\">A &amp; B</title>"
            )
            .as_deref(),
            Some("A & B")
        );
        assert_eq!(
            feed_title("{\"version\": \"x\", \"title\": \"快讯\"}").as_deref(),
            Some("快讯")
        );
        assert_eq!(feed_title("<rss><channel><item>"), None);
    }

    #[test]
    fn tells_pages_from_feeds() {
        assert!(is_html(Some("text/html; charset=utf-8"), b"<rss>"));
        assert!(!is_html(Some("application/rss+xml"), b"<html>"));
        assert!(is_html(None, b"<!DOCTYPE html><html>"));
        assert!(!is_html(
            Some("text/plain"),
            b"<?xml version=\"1.0\"?><rss>"
        ));
    }
}
