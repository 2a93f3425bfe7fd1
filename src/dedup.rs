//! The identity of an item: its infoCode (through the source's `id_pattern`)
//! and its canonical URL. Two items are the same post when both carry an
//! infoCode and the codes are equal, or when their canonical URLs are equal;
//! the store enforces both with unique indexes.

use regex::Regex;
use sha2::{Digest, Sha256};
use url::Url;

/// What a stored post is known by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub info_code: Option<String>,
    /// The canonical form of the link, or for an item with no link a stable
    /// `urn:newscrawl:` name built from its guid or from its title and date.
    pub canonical_url: String,
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
    // `Url` already lowercases the scheme and host and drops default ports.
    let mut u = url.clone();
    u.set_fragment(None);
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
    u.to_string()
}

/// The identity of an item from `source`. `link` is absolute when present.
pub fn identity(
    source: &str,
    link: Option<&Url>,
    guid: Option<&str>,
    title: Option<&str>,
    date: Option<&str>,
    pattern: &Regex,
    tracking_params: &[String],
) -> Identity {
    match link {
        Some(link) => Identity {
            info_code: info_code(pattern, link.as_str()),
            canonical_url: canonical_url(link, tracking_params),
        },
        None => {
            let canonical_url = match guid.filter(|g| !g.trim().is_empty()) {
                Some(g) => format!("urn:newscrawl:{source}:guid:{}", g.trim()),
                None => {
                    let mut h = Sha256::new();
                    h.update(title.unwrap_or_default().trim().as_bytes());
                    h.update([0u8]);
                    h.update(date.unwrap_or_default().as_bytes());
                    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
                    format!("urn:newscrawl:{source}:sha256:{hex}")
                }
            };
            Identity {
                info_code: None,
                canonical_url,
            }
        }
    }
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

    #[test]
    fn linkless_items_get_stable_identities() {
        let re = Regex::new(DEFAULT_ID_PATTERN).unwrap();
        let a = identity("s", None, Some("tag:x,2022:1"), Some("t"), None, &re, &[]);
        assert_eq!(a.canonical_url, "urn:newscrawl:s:guid:tag:x,2022:1");
        let b = identity(
            "s",
            None,
            None,
            Some("标题"),
            Some("2022-01-10T16:57:30+08:00"),
            &re,
            &[],
        );
        let c = identity(
            "s",
            None,
            None,
            Some("标题"),
            Some("2022-01-10T16:57:30+08:00"),
            &re,
            &[],
        );
        let d = identity(
            "s",
            None,
            None,
            Some("标题"),
            Some("2022-01-11T16:57:30+08:00"),
            &re,
            &[],
        );
        assert_eq!(b, c);
        assert_ne!(b, d);
        assert!(b.canonical_url.starts_with("urn:newscrawl:s:sha256:"));
    }
}
