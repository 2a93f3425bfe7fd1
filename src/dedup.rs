//! The identity of an item, first rule that applies:
//!
//! 1. its **infoCode** (through the source's `id_pattern`): equal infoCodes
//!    are one post, across sources;
//! 2. its **canonical URL**, only where the link is an article's own address:
//!    not the feed's own URL, its channel/site link or a site's homepage, and
//!    not a URL that two items of the same document share while they differ
//!    (different guids, or, without guids, different title, date or text).
//!    The fragment is dropped, unless dropping it would merge such items;
//! 3. otherwise the source's **guid**; otherwise a hash over title, date and
//!    content.
//!
//! Rule 2 needs the whole document, so identities are made per document
//! ([`identities`]). Because a URL can be shared in one document and not
//! in the next, each identity also carries the keys the same item may have
//! been stored under before ([`Earlier`]), each with a check that it is the
//! same item; the store looks them up after the key itself.

use std::collections::{HashMap, HashSet};

use regex::Regex;
use sha2::{Digest, Sha256};
use url::Url;

/// What a stored post is known by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub info_code: Option<String>,
    /// The key: the canonical form of the link, or a stable
    /// `urn:newscrawl:<slug>:guid:…` / `…:sha256:…` name.
    pub canonical_url: String,
    /// Keys an earlier poll (or an earlier version's rule) may have stored
    /// this item under, looked up only after `info_code` and the key.
    pub earlier: Vec<Earlier>,
}

/// A key the item may have been stored under, and how to tell that the
/// post stored under it is this item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Earlier {
    /// A post under this key is this item.
    Key(String),
    /// Only a post under this key with this guid is this item.
    WithGuid(String, String),
    /// Only a post under this key with the same content is this item.
    WithContent(String),
}

/// What identifies one item of a document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keys<'a> {
    pub link: Option<&'a Url>,
    pub guid: Option<&'a str>,
    pub title: Option<&'a str>,
    /// The publication date as stored (RFC 3339).
    pub date: Option<&'a str>,
    /// The body as the feed gave it.
    pub content: Option<&'a str>,
    /// For an item with no title, date or content: its source text.
    pub fingerprint: Option<&'a str>,
}

/// The first capture group of `pattern` that matched `link`.
pub fn info_code(pattern: &Regex, link: &str) -> Option<String> {
    let caps = pattern.captures(link)?;
    caps.iter()
        .skip(1)
        .flatten()
        .map(|m| m.as_str())
        .find(|s| !s.is_empty())
        .map(str::to_string)
}

/// Lowercase scheme and host, no default port, no fragment, no `utm_*` or
/// other tracking parameters, remaining query parameters sorted.
pub fn canonical_url(url: &Url, tracking_params: &[String]) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    canonical_keep_fragment(&u, tracking_params)
}

/// [`canonical_url`] with the fragment kept.
fn canonical_keep_fragment(url: &Url, tracking_params: &[String]) -> String {
    // `Url` already lowercases the scheme and host and drops default ports:
    // a link without a query and without an empty fragment (most) is its
    // own canonical form.
    if url.query().is_none() && url.fragment() != Some("") {
        return url.as_str().to_owned();
    }
    let mut u = url.clone();
    if u.fragment() == Some("") {
        u.set_fragment(None);
    }
    if u.query().is_some() {
        let mut pairs: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !k.starts_with("utm_")
                    && !tracking_params.iter().any(|t| t.eq_ignore_ascii_case(&k))
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.is_empty() {
            u.set_query(None);
        } else {
            pairs.sort();
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    u.into()
}

/// A site's front page: no path beyond `/` and no query.
fn is_homepage(url: &Url) -> bool {
    matches!(url.path(), "" | "/") && url.query().is_none_or(str::is_empty)
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0u8]);
        }
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn guid_key(source: &str, guid: &str) -> String {
    format!("urn:newscrawl:{source}:guid:{guid}")
}

fn hash_key(source: &str, k: &Keys<'_>) -> String {
    let t = k.title.unwrap_or_default().trim();
    let d = k.date.unwrap_or_default();
    let c = k.content.unwrap_or_default().trim();
    let hex = match k
        .fingerprint
        .filter(|_| t.is_empty() && d.is_empty() && c.is_empty())
    {
        Some(f) => sha256_hex(&[t, d, c, f]),
        None => sha256_hex(&[t, d, c]),
    };
    format!("urn:newscrawl:{source}:sha256:{hex}")
}

/// The hash of title and date alone, as version 0.1 keyed linkless items.
fn legacy_hash_key(source: &str, k: &Keys<'_>) -> String {
    let t = k.title.unwrap_or_default().trim();
    let d = k.date.unwrap_or_default();
    format!("urn:newscrawl:{source}:sha256:{}", sha256_hex(&[t, d]))
}

/// The identities of one document's items, in order. `not_articles` are
/// the feed's own URLs (as configured, after redirects, its self link) and
/// its channel/site links.
pub fn identities(
    source: &str,
    items: &[Keys<'_>],
    not_articles: &[Url],
    pattern: &Regex,
    tracking: &[String],
) -> Vec<Identity> {
    fn guid<'k>(k: &Keys<'k>) -> Option<&'k str> {
        k.guid.map(str::trim).filter(|g| !g.is_empty())
    }
    // What tells two items apart when they share a URL.
    let tell: Vec<String> = items
        .iter()
        .map(|k| match guid(k) {
            Some(g) => format!("g:{g}"),
            None => hash_key(source, k),
        })
        .collect();
    let forms: Vec<Option<(String, String)>> = items
        .iter()
        .map(|k| {
            k.link.map(|l| {
                let full = canonical_keep_fragment(l, tracking);
                // Without a fragment the two forms are one (most links):
                // its query sorted and written once, not twice.
                let bare = if l.fragment().is_none_or(str::is_empty) {
                    full.clone()
                } else {
                    canonical_url(l, tracking)
                };
                (bare, full)
            })
        })
        .collect();
    // Each URL form → the first item that carries it, and whether another
    // (different) item carries it too. Constant work per item.
    let mut by_url: HashMap<&str, (&str, bool)> = HashMap::new();
    for (f, t) in forms.iter().zip(&tell) {
        if let Some((bare, full)) = f {
            for key in [bare.as_str(), full.as_str()] {
                let e = by_url.entry(key).or_insert((t.as_str(), false));
                e.1 |= e.0 != t.as_str();
            }
        }
    }
    let shared = |key: &str| by_url.get(key).is_some_and(|e| e.1);
    let not_articles: HashSet<String> = not_articles
        .iter()
        .map(|u| canonical_url(u, tracking))
        .collect();

    items
        .iter()
        .zip(&forms)
        .zip(tell.iter())
        .map(|((k, f), tell)| {
            let info_code = k.link.and_then(|l| info_code(pattern, l.as_str()));
            let g = guid(k);
            let mut earlier = Vec::new();
            // Rule 2: the URL, where it is this article's own.
            let url_key = f.as_ref().and_then(|(bare, full)| {
                let page_is_article =
                    !not_articles.contains(bare) && !k.link.is_some_and(is_homepage);
                if page_is_article && !shared(bare) {
                    Some(bare.clone())
                } else if full != bare && !shared(full) {
                    // The fragment tells them apart. Stored under the bare
                    // URL by the rule before this one: the same guid says so.
                    if let Some(g) = g {
                        earlier.push(Earlier::WithGuid(bare.clone(), g.to_string()));
                    }
                    Some(full.clone())
                } else {
                    None
                }
            });
            let canonical_url = match (url_key, g) {
                (Some(key), g) => {
                    if let Some(g) = g {
                        earlier.push(Earlier::Key(guid_key(source, g)));
                    }
                    key
                }
                (None, Some(g)) => {
                    if let Some((bare, full)) = f {
                        earlier.push(Earlier::WithGuid(bare.clone(), g.to_string()));
                        if full != bare {
                            earlier.push(Earlier::WithGuid(full.clone(), g.to_string()));
                        }
                    }
                    guid_key(source, g)
                }
                (None, None) => {
                    if let Some((bare, _)) = f {
                        earlier.push(Earlier::WithContent(bare.clone()));
                    }
                    if k.link.is_none() {
                        earlier.push(Earlier::WithContent(legacy_hash_key(source, k)));
                    }
                    // Without a guid, what tells it apart is its hash key.
                    tell.clone()
                }
            };
            Identity {
                info_code,
                canonical_url,
                earlier,
            }
        })
        .collect()
}

/// The identity of a lone item (a document of one).
pub fn identity(
    source: &str,
    keys: Keys<'_>,
    not_articles: &[Url],
    pattern: &Regex,
    tracking: &[String],
) -> Identity {
    identities(source, &[keys], not_articles, pattern, tracking)
        .pop()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_ID_PATTERN, DEFAULT_TRACKING_PARAMS};

    fn canon(s: &str) -> String {
        let t: Vec<String> = DEFAULT_TRACKING_PARAMS
            .iter()
            .map(|s| s.to_string())
            .collect();
        canonical_url(&Url::parse(s).unwrap(), &t)
    }

    #[test]
    fn info_code_from_the_three_seed_shapes() {
        let re = Regex::new(DEFAULT_ID_PATTERN).unwrap();
        for link in [
            "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201102242232593",
            "http://finance.eastmoney.com/news/11060,202201102242232593.html",
            "http://finance.eastmoney.com/a/202201102242232593.html",
        ] {
            assert_eq!(
                info_code(&re, link).as_deref(),
                Some("202201102242232593"),
                "{link}"
            );
        }
        assert_eq!(info_code(&re, "https://example.org/story/42.html"), None);
        assert_eq!(
            info_code(&re, "https://x.example/?infoCode=123"),
            Some("123".into())
        );
    }

    #[test]
    fn canonical_urls() {
        assert_eq!(
            canon("HTTP://Example.ORG:80/a/b?x=1#frag"),
            "http://example.org/a/b?x=1"
        );
        assert_eq!(canon("https://example.org:443/a"), "https://example.org/a");
        assert_eq!(
            canon("https://example.org:8443/a"),
            "https://example.org:8443/a"
        );
        assert_eq!(
            canon("https://example.org/a?utm_source=rss&b=2&UTM_Medium=x&a=1&fbclid=zz"),
            "https://example.org/a?a=1&b=2"
        );
        assert_eq!(
            canon("https://example.org/a?utm_source=rss"),
            "https://example.org/a"
        );
        assert_eq!(
            canon("https://example.org/a?b=2&a=1"),
            canon("https://example.org/a?a=1&b=2")
        );
        // The path's case is the server's business.
        assert_ne!(
            canon("https://example.org/A"),
            canon("https://example.org/a")
        );
    }

    #[test]
    fn configured_tracking_params() {
        let u = Url::parse("https://example.org/a?spm=1.2&id=7").unwrap();
        assert_eq!(
            canonical_url(&u, &["spm".into()]),
            "https://example.org/a?id=7"
        );
        assert_eq!(canonical_url(&u, &[]), "https://example.org/a?id=7&spm=1.2");
    }

    fn keys<'a>(link: Option<&'a Url>, guid: Option<&'a str>, title: &'a str) -> Keys<'a> {
        Keys {
            link,
            guid,
            title: Some(title),
            ..Keys::default()
        }
    }

    fn ids(items: &[Keys<'_>], not_articles: &[Url]) -> Vec<String> {
        let re = Regex::new(DEFAULT_ID_PATTERN).unwrap();
        identities("s", items, not_articles, &re, &[])
            .into_iter()
            .map(|i| i.canonical_url)
            .collect()
    }

    #[test]
    fn linkless_items_get_stable_identities() {
        let a = ids(&[keys(None, Some("tag:x,2022:1"), "t")], &[]);
        assert_eq!(a, ["urn:newscrawl:s:guid:tag:x,2022:1"]);
        let dated = |d: &'static str, c: &'static str| Keys {
            title: Some("标题"),
            date: Some(d),
            content: Some(c),
            ..Keys::default()
        };
        let b = ids(&[dated("2022-01-10T16:57:30+08:00", "x")], &[]);
        let c = ids(&[dated("2022-01-10T16:57:30+08:00", "x")], &[]);
        let d = ids(&[dated("2022-01-11T16:57:30+08:00", "x")], &[]);
        let e = ids(&[dated("2022-01-10T16:57:30+08:00", "y")], &[]);
        assert_eq!(b, c);
        assert_ne!(b, d);
        assert_ne!(b, e, "the content is part of the hash");
        assert!(b[0].starts_with("urn:newscrawl:s:sha256:"));
    }

    #[test]
    fn a_shared_or_site_url_is_no_identity() {
        let home = Url::parse("http://www.example.com").unwrap();
        let home2 = Url::parse("http://example.com/").unwrap();
        let feed = Url::parse("http://example.com/feed.xml").unwrap();
        let got = ids(
            &[
                keys(Some(&home), Some("ep1"), "1"),
                keys(Some(&home2), Some("ep2"), "2"),
                keys(Some(&feed), Some("ep3"), "3"),
            ],
            std::slice::from_ref(&feed),
        );
        assert_eq!(
            got,
            [
                "urn:newscrawl:s:guid:ep1",
                "urn:newscrawl:s:guid:ep2",
                "urn:newscrawl:s:guid:ep3"
            ]
        );
        // Two items on one page, different guids: the page is no identity.
        let page = Url::parse("http://b.example/p.html").unwrap();
        let got = ids(
            &[
                keys(Some(&page), Some("g1"), "1"),
                keys(Some(&page), Some("g2"), "2"),
            ],
            &[],
        );
        assert_eq!(got, ["urn:newscrawl:s:guid:g1", "urn:newscrawl:s:guid:g2"]);
        // The same item twice (same guid) is one post, by its URL.
        let got = ids(
            &[
                keys(Some(&page), Some("g1"), "1"),
                keys(Some(&page), Some("g1"), "1"),
            ],
            &[],
        );
        assert_eq!(got, ["http://b.example/p.html", "http://b.example/p.html"]);
    }

    #[test]
    fn fragments_are_kept_where_they_tell_items_apart() {
        let a = Url::parse("http://b.example/2017/06/26.html#a080605").unwrap();
        let b = Url::parse("http://b.example/2017/06/26.html#a030658").unwrap();
        let lone = Url::parse("http://b.example/x.html#comments").unwrap();
        let got = ids(
            &[
                keys(Some(&a), Some("1"), "a"),
                keys(Some(&b), Some("2"), "b"),
                keys(Some(&lone), Some("3"), "c"),
            ],
            &[],
        );
        assert_eq!(
            got,
            [
                "http://b.example/2017/06/26.html#a080605",
                "http://b.example/2017/06/26.html#a030658",
                "http://b.example/x.html"
            ]
        );
        // Without guids, different text tells them apart too.
        let got = ids(&[keys(Some(&a), None, "a"), keys(Some(&b), None, "b")], &[]);
        assert_eq!(got[0], "http://b.example/2017/06/26.html#a080605");
    }

    #[test]
    fn a_link_without_a_fragment_has_one_form() {
        // For such links `identities` makes the form with the fragment
        // and takes it for both: the two must agree on them.
        let tracking = ["spm".to_string()];
        for u in [
            "http://b.example/a.html",
            "http://b.example/a.html#",
            "http://B.example:80/a/../b.html?utm_source=x&z=1&a=%E4%B8%AD&SPM=2#",
            "https://b.example/?b=2&a=1&a=0",
            "https://b.example/p?q",
            "https://b.example/p?",
        ] {
            let u = Url::parse(u).unwrap();
            assert!(u.fragment().is_none_or(str::is_empty));
            assert_eq!(
                canonical_url(&u, &tracking),
                canonical_keep_fragment(&u, &tracking),
                "{u}"
            );
        }
        // And with one, they differ: its own form is kept.
        let u = Url::parse("http://b.example/a.html?b=1#x").unwrap();
        assert_ne!(
            canonical_url(&u, &tracking),
            canonical_keep_fragment(&u, &tracking)
        );
    }

    #[test]
    fn an_info_code_still_comes_first() {
        let re = Regex::new(DEFAULT_ID_PATTERN).unwrap();
        let u = Url::parse("http://finance.eastmoney.com/a/202201102242232593.html").unwrap();
        let id = identity("s", keys(Some(&u), None, "t"), &[], &re, &[]);
        assert_eq!(id.info_code.as_deref(), Some("202201102242232593"));
    }
}
