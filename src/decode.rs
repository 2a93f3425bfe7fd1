//! Bytes → UTF-8 text. The order of evidence is: a byte-order mark, then
//! bytes that are valid UTF-8 (they win over any label, since mislabelled
//! UTF-8 is common), then the HTTP `charset`, then the document's own
//! declaration (XML `encoding=` or HTML `<meta charset>`), then detection
//! (chardetng, hinted by the host's top-level domain). Labels go through
//! encoding_rs's WHATWG table, so `gb2312` reads as GBK and `big5` as Big5.
//! Invalid sequences become U+FFFD: text is never refused.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};
use regex::bytes::Regex;
use std::sync::LazyLock;

/// What the body turned out to be.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
}

/// The `charset` parameter of a `Content-Type` header value.
pub fn charset_from_content_type(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\''))
    })
}

static XML_ENCODING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\A(?:\xEF\xBB\xBF)?\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']"#,
    )
    .expect("static regex")
});

static HTML_META_CHARSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)<meta\b[^>]*?(?:\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)|\bcontent\s*=\s*["'][^"']*?charset\s*=\s*([A-Za-z0-9._:-]+))"#,
    )
    .expect("static regex")
});

/// The encoding named in an XML declaration.
pub fn xml_declared(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(512)];
    let caps = XML_ENCODING.captures(head)?;
    std::str::from_utf8(caps.get(1)?.as_bytes()).ok()
}

/// The encoding named by `<meta charset>` or `<meta http-equiv content="…; charset=">`
/// in the first 64 KiB (anywhere in `<head>` for any real page).
pub fn html_declared(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let caps = HTML_META_CHARSET.captures(head)?;
    let m = caps.get(1).or_else(|| caps.get(2))?;
    std::str::from_utf8(m.as_bytes()).ok()
}

/// A label through the WHATWG table; UTF-16 labels on bytes without a BOM are
/// as good as no label (the bytes are ASCII-compatible if we got this far).
fn lookup(label: &str) -> Option<&'static Encoding> {
    let enc = Encoding::for_label(label.trim().as_bytes())?;
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        return Some(UTF_8);
    }
    Some(enc)
}

/// Decodes `bytes` by the order of evidence above. `declared` is what the
/// document itself says (see [`xml_declared`], [`html_declared`]); `tld` is
/// the host's top-level domain, a hint for detection.
pub fn decode(
    bytes: &[u8],
    http_charset: Option<&str>,
    declared: Option<&str>,
    tld: Option<&str>,
) -> Decoded {
    let (text, encoding) = decode_text(bytes, http_charset, declared, tld);
    Decoded {
        text: text.into_owned(),
        encoding,
    }
}

/// [`decode`]'s text and encoding, the text borrowed from `bytes` when they
/// are UTF-8 already: a feed read and dropped at once needs no copy of its
/// body (130 MB in a cold crawl of 1,000 feeds).
pub fn decode_text<'a>(
    bytes: &'a [u8],
    http_charset: Option<&str>,
    declared: Option<&str>,
    tld: Option<&str>,
) -> (Cow<'a, str>, &'static Encoding) {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let body = bytes.get(bom_len..).unwrap_or_default();
        return (enc.decode_without_bom_handling(body).0, enc);
    }
    // simdutf8 checks Chinese text ten times as fast as std's check (which
    // is quick on ASCII only): 130 MB of feeds in a cold crawl.
    if let Ok(s) = simdutf8::basic::from_utf8(bytes) {
        return (Cow::Borrowed(s), UTF_8);
    }
    let labelled = http_charset
        .and_then(lookup)
        .or_else(|| declared.and_then(lookup));
    let enc = match labelled {
        // A UTF-8 label on bytes that are not UTF-8: decode lossily, keep what is there.
        Some(enc) => enc,
        None => {
            let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            det.feed(bytes, true);
            det.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Allow)
        }
    };
    (enc.decode_without_bom_handling(bytes).0, enc)
}

/// Like [`decode`], but a label that the bytes contradict (they do not
/// decode cleanly) is overruled: the document's own declaration is tried
/// without the HTTP charset, then detection, and the cleanest decoding wins.
/// A page that says gb2312 and is really Big5 is a real case.
pub fn decode_checked(
    bytes: &[u8],
    http_charset: Option<&str>,
    declared: Option<&str>,
    tld: Option<&str>,
) -> Decoded {
    let bad = |d: &Decoded| d.text.matches('\u{FFFD}').count();
    let mut best = decode(bytes, http_charset, declared, tld);
    if bad(&best) == 0 {
        return best;
    }
    let fallbacks = [(None, declared), (None, None)];
    for (h, d) in fallbacks {
        let candidate = decode(bytes, h, d, tld);
        if bad(&candidate) < bad(&best) {
            best = candidate;
        }
    }
    best
}

/// The top-level domain of a host, as a detection hint (`cn` for `sina.com.cn`).
pub fn tld_of(host: &str) -> Option<&str> {
    host.rsplit('.')
        .next()
        .filter(|t| t.chars().all(|c| c.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    #[test]
    fn utf8_text_is_borrowed_and_other_text_decoded() {
        let utf8 = "<rss><title>央行降息 0.25%</title></rss>".as_bytes();
        let (text, enc) = decode_text(utf8, None, None, Some("cn"));
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(
            (&*text, enc),
            ("<rss><title>央行降息 0.25%</title></rss>", UTF_8)
        );
        let bytes = gbk("<rss><title>央行降息</title></rss>");
        let (text, enc) = decode_text(&bytes, Some("gbk"), None, None);
        assert_eq!(
            (&*text, enc.name()),
            ("<rss><title>央行降息</title></rss>", "GBK")
        );
        let d = decode(&bytes, Some("gbk"), None, None);
        assert_eq!((d.text.as_str(), d.encoding), (&*text, enc));
        // A byte-order mark is dropped, borrowed or not.
        let (text, _) = decode_text(b"\xEF\xBB\xBFabc", None, None, None);
        assert_eq!(&*text, "abc");
    }

    #[test]
    fn content_type_charset() {
        assert_eq!(
            charset_from_content_type("text/xml; charset=GBK"),
            Some("GBK")
        );
        assert_eq!(
            charset_from_content_type("text/xml;charset=\"utf-8\""),
            Some("utf-8")
        );
        assert_eq!(charset_from_content_type("text/xml"), None);
    }

    #[test]
    fn bom_wins() {
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice("新闻".as_bytes());
        let d = decode(&b, Some("gbk"), Some("gbk"), None);
        assert_eq!(d.text, "新闻");
        let mut b16 = vec![0xFF, 0xFE];
        for u in "新闻".encode_utf16() {
            b16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&b16, None, None, None).text, "新闻");
    }

    #[test]
    fn labels_in_order() {
        let b = gbk("央视新闻客户端");
        assert_eq!(
            decode(&b, Some("gb2312"), None, None).text,
            "央视新闻客户端"
        );
        assert_eq!(
            decode(&b, None, Some("GB18030"), None).text,
            "央视新闻客户端"
        );
        // The HTTP charset is asked before the declaration.
        let big5 = encoding_rs::BIG5.encode("新聞報導").0.into_owned();
        assert_eq!(
            decode(&big5, Some("big5"), Some("gbk"), None).text,
            "新聞報導"
        );
    }

    #[test]
    fn valid_utf8_wins_over_a_wrong_label() {
        let d = decode("财经新闻".as_bytes(), Some("gbk"), Some("gb2312"), None);
        assert_eq!(d.text, "财经新闻");
        assert_eq!(d.encoding, UTF_8);
    }

    #[test]
    fn detection_when_nothing_is_declared() {
        let text = "北京时间今天上午，国家统计局发布了最新的经济数据，显示消费市场继续恢复，工业生产保持稳定增长。";
        let d = decode(&gbk(text), None, None, Some("cn"));
        assert_eq!(d.text, text);
    }

    #[test]
    fn wrong_declaration_is_overruled() {
        let text = "新聞報導：台北市政府今天宣布，明年起將擴大補助範圍，市民可以線上申請。";
        let big5 = encoding_rs::BIG5.encode(text).0.into_owned();
        let d = decode_checked(&big5, None, Some("utf-8"), Some("tw"));
        assert_eq!(d.text, text);
    }

    #[test]
    fn declarations_are_found() {
        assert_eq!(
            xml_declared(b"<?xml version=\"1.0\" encoding=\"gb2312\"?><rss/>"),
            Some("gb2312")
        );
        assert_eq!(xml_declared(b"<rss/>"), None);
        assert_eq!(
            html_declared(b"<html><head><meta charset=\"gbk\">"),
            Some("gbk")
        );
        assert_eq!(
            html_declared(b"<head><title>x</title><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\" />"),
            Some("gb2312")
        );
    }

    #[test]
    fn invalid_utf8_is_lossy_not_fatal() {
        let d = decode(b"ok \xFF\xFE\xFD ok", Some("utf-8"), None, None);
        assert!(d.text.starts_with("ok ") && d.text.ends_with(" ok"));
    }
}
