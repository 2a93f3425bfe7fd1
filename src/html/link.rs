//! Links and image sources as the sanitizer writes them: absolute
//! `http`/`https`/`mailto` URLs, as the url crate serializes them.
//!
//! Most links of a feed's descriptions are already absolute `http(s)` URLs
//! in the very form the url crate would give back (`https://host/path`),
//! and parsing each (its host through IDNA) was 6% of the workers' CPU in
//! a cold crawl of the benchmark's corpus. [`resolve`] writes such a link
//! as it is, without parsing it, when it can tell from its bytes alone that
//! the parse would change nothing; anything else (a relative link, a
//! scheme in capitals, a host the parse may rewrite, a dot segment, a
//! character the parse would escape) is parsed and joined as before. A
//! test holds the shortcut to the parse over thousands of generated URLs.

use std::borrow::Cow;

use url::Url;

/// What a link's value `v` (found in a document at `base`) becomes: the
/// absolute URL, or `None` for a link that is not `http`, `https` or
/// `mailto` (or does not parse).
pub(super) fn resolve<'v>(v: &'v str, base: Option<&Url>) -> Option<Cow<'v, str>> {
    if is_canonical_http(v) {
        return Some(Cow::Borrowed(v));
    }
    base.map_or_else(|| Url::parse(v), |b| b.join(v))
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https" | "mailto"))
        .map(|u| Cow::Owned(u.into()))
}

/// Whether `v` is an absolute `http` or `https` URL that `Url::parse` gives
/// back unchanged (and a base would not change: it has a scheme and an
/// authority). Conservative: `false` whenever the parse might rewrite a
/// byte, so the caller parses.
///
/// What the parse rewrites, and so what is refused here: a scheme or host
/// in capitals; a host that is not lower-case ASCII letters, digits, `-`
/// and `.` in non-empty labels, or that starts a label with `xn--` (IDNA
/// checks it) or a hyphen; a host ending in a number (an IPv4 address,
/// which it normalizes: `127.1`, `0x7f.0.0.1`) unless it is four decimal
/// parts of 0–255 without leading zeros; userinfo; a port that is empty,
/// the scheme's default, has a leading zero or is over 65535; no path (it
/// adds `/`); a dot segment (`.`, `..`, or either spelled with `%2e`) in
/// the path; a `%` in the host; any byte outside the URL characters that
/// stay as they are everywhere (letters, digits and `-._~!$&()*+,;=:@/?%`,
/// one `#`): spaces, quotes, `<>`, backslashes, `{}`, controls and non-ASCII
/// are escaped or removed by the parse.
fn is_canonical_http(v: &str) -> bool {
    let b = v.as_bytes();
    let (rest, default_port) = if let Some(r) = b.strip_prefix(b"https://") {
        (r, &b"443"[..])
    } else if let Some(r) = b.strip_prefix(b"http://") {
        (r, &b"80"[..])
    } else {
        return false;
    };
    let auth_end = rest
        .iter()
        .position(|&c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let Some((auth, tail)) = rest.split_at_checked(auth_end) else {
        return false;
    };
    // Without a path the parse adds `/`.
    if tail.first() != Some(&b'/') {
        return false;
    }
    let (host, port) = match auth.iter().position(|&c| c == b':') {
        Some(i) => (auth.get(..i).unwrap_or_default(), auth.get(i + 1..)),
        None => (auth, None),
    };
    if let Some(p) = port
        && !port_stays(p, default_port)
    {
        return false;
    }
    host_stays(host) && rest_stays(tail)
}

/// A port the parse keeps as written.
fn port_stays(p: &[u8], default: &[u8]) -> bool {
    !p.is_empty()
        && p.len() <= 5
        && p.iter().all(u8::is_ascii_digit)
        && p.first() != Some(&b'0')
        && p != default
        && p.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 65535
}

/// A host the parse keeps as written: a lower-case ASCII domain, or a
/// dotted-decimal IPv4 address in its shortest form.
fn host_stays(host: &[u8]) -> bool {
    if host.is_empty() {
        return false;
    }
    let labels = || host.split(|&c| c == b'.');
    let ok_label = |l: &[u8]| {
        !l.is_empty()
            && l.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && l.first() != Some(&b'-')
            && l.last() != Some(&b'-')
            && !l.starts_with(b"xn--")
    };
    if !labels().all(ok_label) {
        return false;
    }
    let last = labels().next_back().unwrap_or_default();
    // The WHATWG host parser reads a host whose last label is a number
    // (decimal, or `0x` hexadecimal) as an IPv4 address.
    if last.starts_with(b"0x") {
        return false;
    }
    if !last.iter().all(u8::is_ascii_digit) {
        return true;
    }
    labels().count() == 4
        && labels().all(|l| {
            l.iter().all(u8::is_ascii_digit)
                && l.len() <= 3
                && (l.len() == 1 || l.first() != Some(&b'0'))
                && l.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 255
        })
}

/// A path, query and fragment (`tail`, from the path's `/`) the parse
/// keeps as written.
fn rest_stays(tail: &[u8]) -> bool {
    let plain = |c: u8| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
                    | b'?'
                    | b'%'
            )
    };
    let (before, fragment) = match tail.iter().position(|&c| c == b'#') {
        Some(i) => (tail.get(..i).unwrap_or_default(), tail.get(i + 1..)),
        None => (tail, None),
    };
    if !before.iter().all(|&c| plain(c)) || !fragment.unwrap_or_default().iter().all(|&c| plain(c))
    {
        return false;
    }
    let path_end = before
        .iter()
        .position(|&c| c == b'?')
        .unwrap_or(before.len());
    let path = before.get(..path_end).unwrap_or_default();
    !path.split(|&c| c == b'/').any(is_dot_segment)
}

/// `.` or `..`, either dot perhaps written `%2e` (the parse resolves them).
fn is_dot_segment(s: &[u8]) -> bool {
    [&b"."[..], b"..", b"%2e", b".%2e", b"%2e.", b"%2e%2e"]
        .iter()
        .any(|dots| s.eq_ignore_ascii_case(dots))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parse's own result, as the sanitizer took it before.
    fn parsed(v: &str, base: Option<&Url>) -> Option<String> {
        base.map_or_else(|| Url::parse(v), |b| b.join(v))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https" | "mailto"))
            .map(String::from)
    }

    /// Links as feeds write them take the shortcut.
    #[test]
    fn common_links_are_written_as_they_are() {
        for v in [
            "https://finance.eastmoney.com/a/202412043260963245.html",
            "http://127.0.0.1:18502/tag/4424.html",
            "https://www.cls.cn/detail/1873372?from=rss&utm_source=feed#comments",
            "https://img.example.com/2024/12/04/a%E5%9B%BE.jpg",
            "http://news.sina.com.cn/",
            "https://example.com:8443/a/b;c=d/e@f~g",
        ] {
            assert!(is_canonical_http(v), "{v}");
            assert_eq!(parsed(v, None).as_deref(), Some(v));
        }
    }

    /// What the parse would rewrite is parsed.
    #[test]
    fn what_the_parse_rewrites_is_parsed() {
        for v in [
            "HTTP://example.com/",
            "http://Example.com/",
            "http://example.com",
            "http://example.com?x",
            "http://example.com:80/",
            "https://example.com:443/",
            "http://example.com:/",
            "http://example.com:080/",
            "http://example.com:65536/",
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://127.0.0.01/",
            "http://1.2.3.256/",
            "http://a.b.1/",
            "http://xn--fiqs8s.cn/",
            "http://user:pw@example.com/",
            "http://example.com/a/../b",
            "http://example.com/a/./b",
            "http://example.com/a/%2e%2E/b",
            "http://example.com/a/.",
            "http://example.com/a b",
            "http://example.com/a\\b",
            "http://example.com/\"<>",
            "http://example.com/?q='x'",
            "http://example.com/#a#b",
            "http://example.com/{x}",
            "http://例子.中国/",
            "http://example.com/新闻",
            "javascript:alert(1)",
            "/relative/path",
        ] {
            assert!(!is_canonical_http(v), "{v}");
        }
    }

    /// Over thousands of URLs made of the pieces the rules are about, the
    /// shortcut is taken only where the parse gives the same string, and
    /// is taken often (so the test can fail).
    #[test]
    fn the_shortcut_agrees_with_the_parse() {
        #[rustfmt::skip]
        let (schemes, hosts, ports, paths, queries, fragments) = (
            ["http://", "https://", "HTTP://", "ftp://", "http:/", "http:"],
            [
                "example.com", "a-b.example.cn", "127.0.0.1", "EXAMPLE.com", "127.1", "0x7f.0.0.1",
                "1.2.3.4", "01.2.3.4", "256.1.1.1", "a.1", "1.a", "xn--fiqs8s", "-a.com", "a-.com",
                "a..b", "a.b.", "", "user@h.com", "[::1]", "h%41.com", "例子.cn", "h_o.com", "0x",
                "255.255.255.255", "1.2.3", "9",
            ],
            ["", ":8080", ":65535", ":", ":80", ":443", ":08", ":65536", ":1a"],
            [
                "", "/", "/a/b.html", "/a/../b", "/./x", "/a/.", "/a/..", "/%2e/x", "/.%2E/x",
                "/%2e%2e", "//x", "/a%20b", "/a b", "/a\\b", "/a\"b", "/a<b>", "/a`b", "/a{b}",
                "/a|b", "/a^b", "/a[b]", "/新", "/a\tb", "/~u;p=1,2@x:y", "/a'b", "/%zz", "/a%2Fb",
                "/..a", "/a..", "/.a",
            ],
            ["", "?a=1&b=2", "?", "?q='x'", "?q=a b", "?q=%", "?q=\"", "?q=`", "?q=#"],
            ["", "#top", "#", "#a#b", "#a b", "#a`b", "#a'b", "#%2e", "#a?b"],
        );
        let base = Url::parse("https://base.example.com/dir/page.html").ok();
        let mut z = 0x9E37_79B9_7F4A_7C15u64;
        let mut pick = |n: usize| {
            z = crate::stories::mix(z.wrapping_add(0x9E37_79B9_7F4A_7C15));
            (z % n as u64) as usize
        };
        let (mut taken, mut n) = (0, 0);
        for _ in 0..40_000 {
            // Each piece half the time among the first three of its list
            // (the ones the shortcut takes), else any.
            let mut piece = |list: &[&'static str]| {
                let n = if pick(2) == 0 { 3 } else { list.len() };
                list.get(pick(n)).copied().unwrap_or_default()
            };
            let v = [
                piece(&schemes),
                piece(&hosts),
                piece(&ports),
                piece(&paths),
                piece(&queries),
                piece(&fragments),
            ]
            .concat();
            n += 1;
            for b in [None, base.as_ref()] {
                let expect = parsed(&v, b);
                let got = resolve(&v, b).map(Cow::into_owned);
                assert_eq!(got, expect, "{v:?} (base {b:?})");
            }
            if is_canonical_http(&v) {
                taken += 1;
                assert_eq!(Url::parse(&v).map(String::from).as_deref(), Ok(v.as_str()));
            }
        }
        assert!(taken > n / 20, "the shortcut was taken for {taken} of {n}");
    }
}
