//! Article pages (and article endpoints) → [`Article`]: title, publication
//! time, clean body and the media the article names as its source. Pure
//! functions, no I/O.
//!
//! With `[sources.article]` selectors, each part comes from its selector
//! after the `remove` selectors have taken ads and scripts out. Without a
//! `body` selector (or where it matches nothing), the main text is found by readability (dom_smoothie, the
//! maintained port of Mozilla's Readability, which shares html5ever with
//! scraper), the date from `<meta property="article:published_time">`,
//! `<time datetime>` and their kin, and the title from the page's headline
//! or its `<title>` without the site's name ([`headline_of`]).
//! (Over 600 lines with its tests, which hold pages of many shapes; about
//! 480 without.)

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use std::sync::LazyLock;
use url::Url;

use crate::config::ArticleSelectors;
use crate::date::parse_date;
use crate::decode;
use crate::html;

/// What an article page gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Article {
    pub title: Option<String>,
    pub published: Option<DateTime<FixedOffset>>,
    /// Sanitized, one line of block elements.
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    /// Clean: `央视新闻客户端`, not `（文章来源：央视新闻客户端）`.
    pub origin: Option<String>,
}

impl Article {
    /// An extraction that found no body is a failed one.
    pub fn has_body(&self) -> bool {
        self.content_text
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty())
    }
}

/// Why an article endpoint's answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArticleError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("no text at JSON pointer {0}")]
    Pointer(String),
    #[error("{0}; not parsed")]
    Budget(#[from] html::budget::Exceeded),
}

/// Decodes an HTML page: BOM, HTTP charset, `<meta charset>`/`http-equiv`,
/// then detection, which also overrules a declaration the bytes contradict.
pub fn decode_page(bytes: &[u8], content_type: Option<&str>, url: &Url) -> String {
    let http = content_type.and_then(decode::charset_from_content_type);
    let tld = url.host_str().and_then(decode::tld_of);
    decode::decode_checked(bytes, http, decode::html_declared(bytes), tld).text
}

/// Extracts an article from a whole HTML page at `url`. A page that would
/// cost more to parse than its size allows ([`html::budget`]) is refused.
pub fn extract_page(
    page: &str,
    url: &Url,
    sel: &ArticleSelectors,
    tz: Tz,
    now: DateTime<FixedOffset>,
) -> Result<Article, ArticleError> {
    html::budget::check(page, false)?;
    let mut doc = Html::parse_document(page);
    remove_matches(&mut doc, sel);
    let mut article = extract_parts(&doc, url, sel, tz, now);
    // No body selector, or one that matched nothing on this page.
    if article.content_html.is_none() {
        let found = readability(page, url);
        // Readability gives up on short or broken pages: then the body's
        // text, link lists pruned, is better than nothing.
        article.content_html = found.content_html.or_else(|| {
            static BODY: LazyLock<Selector> =
                LazyLock::new(|| Selector::parse("body").expect("static selector"));
            doc.select(&BODY)
                .next()
                .map(|b| html::clean(&prune_boilerplate(&b.inner_html()), url))
                .filter(|h| !h.is_empty())
        });
        if article.title.is_none() {
            article.title = found.title.map(|t| headline_of(&t, &doc));
        }
        if article.published.is_none() {
            article.published = found
                .published_time
                .as_deref()
                .and_then(|d| parse_date(d, tz, now));
        }
    }
    if article.title.is_none() {
        article.title = first_text(&doc, &TITLE_FALLBACK);
    }
    // The page's own date tags, then the line under the headline, then an
    // element whose class says "date" anywhere on the page (a sidebar's
    // item has one too: it comes last).
    if article.published.is_none() {
        article.published = page_date(&doc, &PAGE_DATE, tz, now)
            .or_else(|| date_near_headline(&doc, article.title.as_deref(), tz, now))
            .or_else(|| page_date(&doc, &CLASS_DATE, tz, now));
    }
    article.content_text = article.content_html.as_deref().map(html::to_text);
    Ok(article)
}

/// Extracts an article from an endpoint's JSON (or JSONP) answer: the HTML
/// at the first of `pointers` that holds text is the article body, and the
/// selectors apply inside it.
pub fn extract_json(
    text: &str,
    pointers: &[String],
    url: &Url,
    sel: &ArticleSelectors,
    tz: Tz,
    now: DateTime<FixedOffset>,
) -> Result<Article, ArticleError> {
    let value: serde_json::Value = serde_json::from_str(crate::jsonlist::unwrap_jsonp(text))
        .map_err(|e| ArticleError::Json(e.to_string()))?;
    let body = pointers
        .iter()
        .find_map(|p| {
            value
                .pointer(p)
                .and_then(|v| v.as_str())
                .filter(|s| !s.trim().is_empty())
        })
        .ok_or_else(|| ArticleError::Pointer(pointers.join(", ")))?;
    html::budget::check(body, true)?;
    let mut doc = Html::parse_fragment(body);
    remove_matches(&mut doc, sel);
    let mut article = extract_parts(&doc, url, sel, tz, now);
    if sel.body.is_none() {
        article.content_html =
            Some(html::clean(&doc.root_element().inner_html(), url)).filter(|h| !h.is_empty());
    }
    article.content_text = article.content_html.as_deref().map(html::to_text);
    Ok(article)
}

/// The media named as the article's source, without brackets and labels:
/// `（文章来源：央视新闻客户端）`, `来源：央视新闻客户端` and `央视新闻客户端`
/// all give `央视新闻客户端`.
pub fn clean_origin(text: &str) -> Option<String> {
    static LABEL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?:文章来源|来源|出处|稿源|Source)\s*[：:]?\s*").expect("static regex")
    });
    static STOP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\s|作者|编辑|责任编辑|记者|[）)】\]|｜]").expect("static regex")
    });
    let is_wrap = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '（' | '）' | '(' | ')' | '【' | '】' | '[' | ']' | '\u{3000}'
            )
    };
    let t = text.trim_matches(is_wrap);
    let after = match LABEL.find_iter(t).last() {
        Some(m) => &t[m.end()..],
        None => t,
    };
    let after = after.trim_matches(is_wrap);
    let cut = STOP.find(after).map_or(after, |m| &after[..m.start()]);
    let origin = cut.trim_matches(is_wrap);
    (!origin.is_empty() && origin.chars().count() <= 40).then(|| origin.to_string())
}

fn remove_matches(doc: &mut Html, sel: &ArticleSelectors) {
    static ALWAYS: LazyLock<Selector> = LazyLock::new(|| {
        Selector::parse("script, style, noscript, template, iframe").expect("static selector")
    });
    let mut ids = Vec::new();
    for s in sel
        .remove
        .iter()
        .map(|c| &c.selector)
        .chain(std::iter::once(&*ALWAYS))
    {
        ids.extend(doc.select(s).map(|e| e.id()));
    }
    for id in ids {
        if let Some(mut node) = doc.tree.get_mut(id) {
            node.detach();
        }
    }
}

/// Title, date, origin and body from the selectors that are set.
fn extract_parts(
    doc: &Html,
    url: &Url,
    sel: &ArticleSelectors,
    tz: Tz,
    now: DateTime<FixedOffset>,
) -> Article {
    let first = |css: &Option<crate::config::Css>| {
        css.as_ref().and_then(|c| doc.select(&c.selector).next())
    };
    Article {
        title: first(&sel.title)
            .map(element_text)
            .filter(|t| !t.is_empty()),
        published: first(&sel.published).and_then(|e| element_date(e, tz, now)),
        content_html: first(&sel.body)
            .map(|e| html::clean(&e.inner_html(), url))
            .filter(|h| !h.is_empty()),
        content_text: None,
        origin: first(&sel.origin).and_then(|e| clean_origin(&element_text(e))),
    }
}

fn element_text(e: ElementRef<'_>) -> String {
    html::plain_line(&e.text().collect::<String>())
}

/// A date from an element: its `datetime` or `content` attribute, else the
/// first date-looking run of its text.
fn element_date(
    e: ElementRef<'_>,
    tz: Tz,
    now: DateTime<FixedOffset>,
) -> Option<DateTime<FixedOffset>> {
    ["datetime", "content"]
        .iter()
        .filter_map(|a| e.value().attr(a))
        .find_map(|v| parse_date(v, tz, now))
        .or_else(|| find_date(&e.text().collect::<String>(), tz, now))
}

/// The first date in running text (`发布时间：2022年01月10日 16:57 来源：…`).
pub fn find_date(text: &str, tz: Tz, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    static DATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*T?\s*\d{1,2}\s*[:：时]\s*\d{1,2}(?:\s*[:：分]\s*\d{1,2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d{4}\s+\d{1,2}/\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?|\b\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}\b",
        )
        .expect("static regex")
    });
    if let Some(d) = parse_date(text, tz, now) {
        return Some(d);
    }
    DATE.find_iter(text)
        .find_map(|m| parse_date(m.as_str(), tz, now))
}

static PAGE_DATE: LazyLock<Vec<Selector>> = LazyLock::new(|| {
    [
        r#"meta[property="article:published_time"]"#,
        r#"meta[itemprop="datePublished"]"#,
        r#"meta[name="pubdate"]"#,
        r#"meta[name="publishdate"]"#,
        r#"meta[name="PubDate"]"#,
        r#"meta[name="publish_date"]"#,
        r#"meta[name="date"]"#,
        r#"meta[name="dc.date"]"#,
        r#"meta[name="DC.date.issued"]"#,
        r#"meta[name="apub:time"]"#,
        r#"meta[name="firstpublishedtime"]"#,
        r#"meta[name="publishtime"]"#,
        r#"meta[property="og:release_date"]"#,
        r#"meta[property="rnews:datePublished"]"#,
        r#"meta[itemprop="dateCreated"]"#,
        "time[datetime]",
        "[itemprop=datePublished]",
    ]
    .iter()
    .filter_map(|s| Selector::parse(s).ok())
    .collect()
});

/// Elements whose id or class says they hold the date: on the article, or
/// on a sidebar's item, so tried after the line under the headline.
static CLASS_DATE: LazyLock<Vec<Selector>> = LazyLock::new(|| {
    ["#pubtime, #pub_date, .pubtime, .pub_time, .publish-time, .post-time, .date, .time"]
        .iter()
        .filter_map(|s| Selector::parse(s).ok())
        .collect()
});

static TITLE_FALLBACK: LazyLock<Vec<Selector>> = LazyLock::new(|| {
    ["h1", "title"]
        .iter()
        .filter_map(|s| Selector::parse(s).ok())
        .collect()
});

/// The page's own date, from the first of `selectors` that gives one.
fn page_date(
    doc: &Html,
    selectors: &[Selector],
    tz: Tz,
    now: DateTime<FixedOffset>,
) -> Option<DateTime<FixedOffset>> {
    selectors
        .iter()
        .flat_map(|s| doc.select(s))
        .find_map(|e| element_date(e, tz, now))
}

fn first_text(doc: &Html, selectors: &[Selector]) -> Option<String> {
    selectors
        .iter()
        .flat_map(|s| doc.select(s))
        .map(element_text)
        .find(|t| !t.is_empty())
}

/// Separators sites put between a headline and their own name in
/// `<title>` (`标题_网易订阅`, `标题-新华网`, `标题 | 站点`, `标题--文化--人民网`).
const TITLE_SEPARATORS: &[&str] = &["--", "_", " - ", " | ", "|", "｜", " — ", "－", "-"];

/// A bare hyphen also joins words (`A股-港股`): it separates a site's name
/// only before a name that looks like one.
fn looks_like_a_site(name: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "网",
        "报",
        "社",
        "台",
        "号",
        "新闻",
        "频道",
        "在线",
        "客户端",
        "日报",
        "时报",
        ".com",
        ".cn",
    ];
    ENDINGS.iter().any(|e| name.ends_with(e))
}

/// The headline in a page's `<title>`-like text: the page's own headline
/// element when the title starts with it, else the title with the site's
/// name (and section) cut at the last separators, as long as what is cut
/// is short and what is left is not.
fn headline_of(title: &str, doc: &Html) -> String {
    static HEADLINES: LazyLock<Selector> = LazyLock::new(|| {
        Selector::parse("h1, h2, h3, h4, h5, [itemprop=headline], .title, .article-title")
            .expect("static selector")
    });
    let title = title.trim();
    let starts_a_suffix = |rest: &str| {
        let rest = rest.trim_start();
        TITLE_SEPARATORS
            .iter()
            .any(|sep| rest.starts_with(sep.trim()))
    };
    for e in doc.select(&HEADLINES).take(50) {
        let h = element_text(e);
        if h.chars().count() >= 4
            && let Some(rest) = title.strip_prefix(h.as_str())
            && (rest.is_empty() || starts_a_suffix(rest))
        {
            return h;
        }
    }
    let mut kept = title;
    for _ in 0..3 {
        let cut = TITLE_SEPARATORS.iter().find_map(|sep| {
            let at = kept.rfind(sep)?;
            let (head, tail) = (
                kept.get(..at)?.trim_end(),
                kept.get(at + sep.len()..)?.trim(),
            );
            // The site's name is short; the headline is not.
            let weak = matches!(*sep, "-" | "－");
            (tail.chars().count() <= 16
                && head.chars().count() >= 6
                && (!weak || looks_like_a_site(tail)))
            .then_some(head)
        });
        match cut {
            Some(head) => kept = head,
            None => break,
        }
    }
    kept.to_string()
}

struct Readable {
    title: Option<String>,
    content_html: Option<String>,
    published_time: Option<String>,
}

/// The main text of a page by readability; `None` parts when it finds none.
fn readability(page: &str, url: &Url) -> Readable {
    let cfg = dom_smoothie::Config {
        // Chinese packs more meaning into fewer characters than the English
        // the default threshold (500) was tuned on.
        char_threshold: 150,
        ..dom_smoothie::Config::default()
    };
    let parsed = dom_smoothie::Readability::new(page, Some(url.as_str()), Some(cfg))
        .and_then(|mut r| r.parse());
    match parsed {
        Ok(a) => Readable {
            title: Some(html::plain_line(&a.title)).filter(|t| !t.is_empty()),
            content_html: Some(html::clean(&prune_boilerplate(&a.content), url))
                .filter(|h| !h.is_empty()),
            published_time: a.published_time,
        },
        Err(_) => Readable {
            title: None,
            content_html: None,
            published_time: None,
        },
    }
}

/// What readability keeps beside the text on Chinese news pages: lists of
/// links ("相关阅读", "热门推荐") with their headings, and the date/source
/// line above the first paragraph. Removed here.
fn prune_boilerplate(content: &str) -> String {
    static LINK_BLOCKS: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("ul, ol, div, table, section").expect("static selector"));
    static HEADINGS: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("h2, h3, h4, h5, h6").expect("static selector"));
    static PARAS: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("p, div").expect("static selector"));
    static A: LazyLock<Selector> = LazyLock::new(|| Selector::parse("a").expect("static selector"));

    let mut doc = Html::parse_fragment(content);
    let text_len = |e: ElementRef<'_>| e.text().map(|t| t.trim().chars().count()).sum::<usize>();
    let link_len = |e: ElementRef<'_>| e.select(&A).map(text_len).sum::<usize>();
    let mut drop = Vec::new();
    for e in doc.select(&LINK_BLOCKS) {
        let total = text_len(e);
        if total > 0 && link_len(e) * 2 > total {
            drop.push(e.id());
        }
    }
    for h in doc.select(&HEADINGS) {
        let next = h.next_siblings().find_map(ElementRef::wrap);
        if next.is_none_or(|n| drop.contains(&n.id())) {
            drop.push(h.id());
        }
    }
    // The first short block that is only a date and/or a source line.
    let now = chrono::Utc::now().fixed_offset();
    if let Some(first) = doc
        .select(&PARAS)
        .filter(|e| e.select(&PARAS).next().is_none())
        .find(|e| text_len(*e) > 0)
    {
        let text: String = first.text().collect();
        let short = text.trim().chars().count() < 80;
        if short && (find_date(&text, chrono_tz::UTC, now).is_some() || text.contains("来源")) {
            drop.push(first.id());
        }
    }
    // Short lines Chinese portals put in the body: the editor's name, the
    // original headline, share and QR prompts, "(完)", link-list headings.
    static BOILERPLATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(?:责任编辑|责编|编辑|校对|审核|监制|值班编辑|实习编辑)\s*[:：]",
            r"|^原标题\s*[:：]",
            r"|^(?:扫一扫|扫码|长按|点击下载|下载)\S{0,20}(?:二维码|客户端|公众号|APP|App|app)",
            r"|^分享到\s*[:：]?",
            r"|^[（(]\s*完\s*[)）]$",
            r"|^【(?:纠错|打印|关闭窗口|关闭)】",
            r"|^(?:相关阅读|相关新闻|相关推荐|延伸阅读|推荐阅读|热点推荐|热门推荐|猜你喜欢)\s*[:：]?$",
        ))
        .expect("static regex")
    });
    for e in doc
        .select(&PARAS)
        .filter(|e| e.select(&PARAS).next().is_none())
    {
        let text: String = e.text().collect();
        let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.chars().count() < 80 && BOILERPLATE.is_match(&line) {
            drop.push(e.id());
        }
    }
    for id in drop {
        if let Some(mut n) = doc.tree.get_mut(id) {
            n.detach();
        }
    }
    doc.root_element().inner_html()
}

/// Whether `e`'s text, whitespace collapsed and trimmed, is `want`: read
/// only as far as it matches, and never more than a bounded number of
/// characters (nested elements each holding the page must not make the
/// search quadratic).
fn text_is(e: ElementRef<'_>, want: &str) -> bool {
    let mut budget = 4 * want.len() + 1024;
    let mut expected = want.chars().peekable();
    let mut pending_space = false;
    let mut started = false;
    for piece in e.text() {
        for c in piece.chars() {
            budget = match budget.checked_sub(1) {
                Some(b) => b,
                None => return false,
            };
            if c.is_whitespace() {
                pending_space = started;
                continue;
            }
            if pending_space {
                if expected.next() != Some(' ') {
                    return false;
                }
                pending_space = false;
            }
            if expected.next() != Some(c) {
                return false;
            }
            started = true;
        }
    }
    expected.peek().is_none()
}

/// A date near the headline (where news pages put "2022年01月12日 09:20
/// 来源：…"): in the elements that follow it, and those that follow its
/// parent. The headline is the element whose text is the article's title
/// (an `h1`…`h5`, or a `div` or `p` with a class: many sites use those),
/// else the first `h1`. An element counts when its text is short once its
/// whitespace is collapsed (indented markup pads it to hundreds of
/// characters).
fn date_near_headline(
    doc: &Html,
    title: Option<&str>,
    tz: Tz,
    now: DateTime<FixedOffset>,
) -> Option<DateTime<FixedOffset>> {
    static CANDIDATES: LazyLock<Selector> = LazyLock::new(|| {
        Selector::parse(
            "h1, h2, h3, h4, h5, div[class], p[class], span[class], [itemprop=headline]",
        )
        .expect("static selector")
    });
    static H1: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("h1").expect("static selector"));
    // Text nodes joined as they are, then whitespace collapsed: `01</em>/<em>12`
    // stays `01/12`.
    let collapsed = |e: ElementRef<'_>| {
        let text: String = e.text().collect();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let headline = title
        .filter(|t| t.chars().count() >= 4)
        .and_then(|t| doc.select(&CANDIDATES).take(2000).find(|e| text_is(*e, t)))
        .or_else(|| doc.select(&H1).next())?;
    let after_headline = headline
        .next_siblings()
        .filter_map(ElementRef::wrap)
        .take(4);
    let after_parent = headline
        .parent()
        .into_iter()
        .flat_map(|p| p.next_siblings())
        .filter_map(ElementRef::wrap)
        .take(2);
    after_headline
        .chain(after_parent)
        .map(collapsed)
        .filter(|t| t.chars().count() < 200)
        .find_map(|t| find_date(&t, tz, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Css;

    fn css(s: &str) -> Option<Css> {
        Some(Css {
            text: s.into(),
            selector: Selector::parse(s).unwrap(),
        })
    }

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00+08:00").unwrap()
    }

    /// `page` extracted as a source without selectors would have it.
    fn without_selectors(page: &str) -> Article {
        extract_page(
            page,
            &url(),
            &ArticleSelectors::default(),
            chrono_tz::Asia::Shanghai,
            now(),
        )
        .unwrap()
    }

    fn url() -> Url {
        Url::parse("http://finance.example.cn/a/1.html").unwrap()
    }

    #[test]
    fn origins_come_out_clean() {
        for s in [
            "（文章来源：央视新闻客户端）",
            "来源：央视新闻客户端",
            "央视新闻客户端",
            " 来源: 央视新闻客户端 作者：张三",
            "(来源：央视新闻客户端)",
        ] {
            assert_eq!(clean_origin(s).as_deref(), Some("央视新闻客户端"), "{s}");
        }
        assert_eq!(
            clean_origin("2022-01-10 16:57 来源：新华社"),
            Some("新华社".into())
        );
        assert_eq!(clean_origin("（）"), None);
    }

    #[test]
    fn selectors_with_remove() {
        let page = r#"<html><head><title>站点</title></head><body>
<h1 class="t">标题 <span>一</span></h1><div class="time">2022年01月10日 16:57</div>
<div id="ContentBody">
  <p>
　　第一段。
  </p>
  <div class="ad">广告</div><script>x()</script>
  <p>第二段。</p>
  <p class="em_media">（文章来源：央视新闻客户端）</p>
</div></body></html>"#;
        let sel = ArticleSelectors {
            title: css("h1.t"),
            published: css(".time"),
            body: css("#ContentBody"),
            origin: css(".em_media"),
            remove: vec![css(".ad").unwrap()],
            json: Vec::new(),
        };
        let a = extract_page(page, &url(), &sel, chrono_tz::Asia::Shanghai, now()).unwrap();
        assert_eq!(a.title.as_deref(), Some("标题 一"));
        assert_eq!(
            a.published.unwrap().to_rfc3339(),
            "2022-01-10T16:57:00+08:00"
        );
        assert_eq!(
            a.content_html.as_deref(),
            Some(
                "<p>第一段。</p><p>第二段。</p><p class=\"em_media\">（文章来源：央视新闻客户端）</p>"
            )
        );
        assert_eq!(
            a.content_text.as_deref(),
            Some("第一段。\n\n第二段。\n\n（文章来源：央视新闻客户端）")
        );
        assert_eq!(a.origin.as_deref(), Some("央视新闻客户端"));
    }

    #[test]
    fn dates_on_pages() {
        let tz = chrono_tz::Asia::Shanghai;
        let f = |s: &str| find_date(s, tz, now()).map(|d| crate::date::to_rfc3339(&d));
        assert_eq!(
            f("发布时间：2022年01月10日 16:57 来源：新华社").as_deref(),
            Some("2022-01-10T16:57:00+08:00")
        );
        assert_eq!(
            f("2022-01-10 16:57:30　编辑：张三").as_deref(),
            Some("2022-01-10T16:57:30+08:00")
        );
        assert_eq!(
            f("时间 2022/01/10 16:57").as_deref(),
            Some("2022-01-10T16:57:00+08:00")
        );
        assert_eq!(
            f("01-10 16:57 | 财经").as_deref(),
            Some("2026-01-10T16:57:00+08:00")
        );
        assert_eq!(
            f("2022-01-10T16:57:30+09:00").as_deref(),
            Some("2022-01-10T16:57:30+09:00")
        );
        assert_eq!(
            f("2022-01-10T16:57:30").as_deref(),
            Some("2022-01-10T16:57:30+08:00")
        );
        assert_eq!(f("没有日期"), None);
    }

    /// Titles as Chinese and English sites write them: the headline kept,
    /// the site's name (and section) cut.
    #[test]
    fn headlines_without_the_sites_name() {
        let doc = |body: &str| Html::parse_document(&format!("<html><body>{body}</body></html>"));
        let none = doc("");
        for (title, want) in [
            ("央行宣布降准_网易订阅", "央行宣布降准"),
            ("央行宣布降准0.5个百分点-新华网", "央行宣布降准0.5个百分点"),
            (
                "央行宣布降准0.5个百分点_澎湃新闻-The Paper",
                "央行宣布降准0.5个百分点",
            ),
            ("习近平会见外宾--时政--人民网", "习近平会见外宾"),
            (
                "Stocks rally as Fed holds rates | Example News",
                "Stocks rally as Fed holds rates",
            ),
            ("A股-港股联动行情分析", "A股-港股联动行情分析"),
            (
                "国内首只ETF-港股通产品今日上市",
                "国内首只ETF-港股通产品今日上市",
            ),
            ("标题_站", "标题_站"),
            ("没有站名的标题", "没有站名的标题"),
        ] {
            assert_eq!(headline_of(title, &none), want, "{title}");
        }
        // The page's own headline wins where the title starts with it.
        let page = doc("<div class=\"title\">美联储维持利率不变</div><h2>相关</h2>");
        assert_eq!(
            headline_of("美联储维持利率不变 - 财经 - 某某", &page),
            "美联储维持利率不变"
        );
    }

    /// The date under a headline that is not an `h1`, in markup whose
    /// indentation pads the line past 200 characters; a sidebar's dated
    /// item (a `.publish-time` before the article) does not win over it.
    #[test]
    fn the_date_under_the_headline_wherever_the_headline_is() {
        let pad = " ".repeat(120);
        let page = format!(
            r#"<html><head><title>央行宣布下调存款准备金率_财经频道_某某网</title></head><body>
<div class="side"><ul><li><a href="/old">旧闻一则</a><span class="publish-time">2018-03-01 10:00</span></li></ul></div>
<div class="article-head"><div class="article-title">央行宣布下调存款准备金率</div>
<div class="info">{pad}<span>2019-05-14</span>{pad}<span>08:18</span>{pad}<span>来源：新华社</span>{pad}</div></div>
<div class="content"><p>中国人民银行决定下调金融机构存款准备金率0.5个百分点，释放长期资金约1万亿元。</p>
<p>此次降准是全面降准，除已执行5%存款准备金率的部分法人金融机构外，对其他金融机构普遍下调。</p>
<p>中国人民银行有关负责人表示，此次降准旨在保持流动性合理充裕，引导金融机构加大对实体经济的支持力度。</p></div>
</body></html>"#
        );
        let a = without_selectors(&page);
        assert_eq!(a.title.as_deref(), Some("央行宣布下调存款准备金率"));
        assert_eq!(
            a.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2019-05-14T08:18:00+08:00")
        );
    }

    #[test]
    fn text_is_compares_collapsed_text_and_reads_little() {
        let doc =
            Html::parse_fragment("<div> 央行 \n <b>宣布</b>  降准 </div><p>央行宣布降准更多</p>");
        let sel = Selector::parse("div, p").unwrap();
        let els: Vec<_> = doc.select(&sel).collect();
        assert!(text_is(els[0], "央行 宣布 降准"));
        assert!(!text_is(els[0], "央行宣布降准"));
        assert!(!text_is(els[1], "央行宣布降准"));
        assert!(!text_is(els[0], "央行 宣布 降准 了"));
        // Reading stops at the budget (a few times the headline, plus 1,024
        // characters), even where the text would match after it.
        let padded = format!("<div>{}央行宣布降准</div>", " ".repeat(100_000));
        let doc = Html::parse_fragment(&padded);
        let e = doc.select(&sel).next().unwrap();
        assert!(!text_is(e, "央行宣布降准"));
        let padded = format!("<div>{}央行宣布降准</div>", " ".repeat(1_000));
        let doc = Html::parse_fragment(&padded);
        let e = doc.select(&sel).next().unwrap();
        assert!(text_is(e, "央行宣布降准"));
    }

    /// The short lines Chinese portals add to an article's body are cut;
    /// the article's own paragraphs, even ones that mention an editor or a
    /// download, stay.
    #[test]
    fn portal_lines_are_not_the_article() {
        let para = "国家统计局今天发布数据显示，十一月份全国居民消费价格同比上涨，环比持平。其中，城市上涨，农村上涨；食品价格上涨，非食品价格上涨。";
        let page = format!(
            r#"<html><head><title>统计局发布数据_新闻网</title></head><body><article><h1>统计局发布数据</h1>
<p>原标题：国家统计局发布十一月份CPI数据</p>
<p>{para}</p><p>{para}</p>
<p>编辑部主任表示，本报将持续关注物价走势，编辑：不是行首的编辑字样不删。</p>
<p>{para}</p>
<p>（完）</p>
<p>责任编辑：张三</p>
<p>扫一扫下载新闻网客户端</p>
<p>分享到： 微信 微博 QQ空间</p>
<p>【纠错】 【打印】</p>
</article></body></html>"#
        );
        let a = without_selectors(&page);
        let text = a.content_text.unwrap();
        assert!(text.contains("十一月份全国居民消费价格"), "{text}");
        assert!(text.contains("编辑部主任表示"), "{text}");
        for gone in [
            "原标题",
            "（完）",
            "责任编辑",
            "扫一扫",
            "分享到",
            "【纠错】",
        ] {
            assert!(!text.contains(gone), "{gone} kept: {text}");
        }
    }

    /// Date meta tags of Chinese portals (NetEase's `apub:time`, Sina's
    /// `firstpublishedtime`, …), the time of day kept.
    #[test]
    fn portal_date_meta_tags() {
        for (tag, want) in [
            (
                r#"<meta name="apub:time" content="2019/5/14 8:18:00">"#,
                "2019-05-14T08:18:00+08:00",
            ),
            (
                r#"<meta name="firstpublishedtime" content="2019-05-14 08:18:09">"#,
                "2019-05-14T08:18:09+08:00",
            ),
            (
                r#"<meta name="publishtime" content="2019-05-14 08:18">"#,
                "2019-05-14T08:18:00+08:00",
            ),
            (
                r#"<meta property="og:release_date" content="2019-05-14T08:18:00+08:00">"#,
                "2019-05-14T08:18:00+08:00",
            ),
        ] {
            let doc =
                Html::parse_document(&format!("<html><head>{tag}</head><body></body></html>"));
            let got = page_date(&doc, &PAGE_DATE, chrono_tz::Asia::Shanghai, now())
                .map(|d| d.to_rfc3339());
            assert_eq!(got.as_deref(), Some(want), "{tag}");
        }
    }

    #[test]
    fn no_selectors_readability_and_meta_date() {
        let para = "国家统计局今天发布数据显示，十一月份全国居民消费价格同比上涨，环比持平。其中，城市上涨，农村上涨；食品价格上涨，非食品价格上涨。";
        let page = format!(
            r#"<html><head><title>统计局发布数据 - 新闻网</title>
<meta property="article:published_time" content="2022-01-10T16:57:30+08:00"></head><body>
<nav><a href="/">首页</a> <a href="/finance">财经</a> <a href="/tech">科技</a></nav>
<div class="sidebar"><ul><li><a href="/x">热点一</a></li><li><a href="/y">热点二</a></li></ul></div>
<article><h1>统计局发布数据</h1><p>{para}</p><p>{para}</p><p>{para}</p></article>
<footer>版权所有 © 新闻网</footer></body></html>"#
        );
        let a = without_selectors(&page);
        let text = a.content_text.unwrap();
        assert!(text.contains("十一月份全国居民消费价格"), "{text}");
        assert!(
            !text.contains("热点一") && !text.contains("版权所有"),
            "{text}"
        );
        assert_eq!(
            a.published.unwrap().to_rfc3339(),
            "2022-01-10T16:57:30+08:00"
        );
        assert_eq!(a.title.as_deref(), Some("统计局发布数据"));
    }

    #[test]
    fn json_endpoint() {
        let sel = ArticleSelectors {
            origin: css(".em_media"),
            json: vec!["/data/text".into(), "/data/content".into()],
            ..ArticleSelectors::default()
        };
        let body = r#"cb({"data":{"content":"<p>　　正文。</p><p class=\"em_media\">（文章来源：新华社）</p>"}});"#;
        let a = extract_json(
            body,
            &sel.json,
            &url(),
            &sel,
            chrono_tz::Asia::Shanghai,
            now(),
        )
        .unwrap();
        assert_eq!(
            a.content_html.as_deref(),
            Some("<p>正文。</p><p class=\"em_media\">（文章来源：新华社）</p>")
        );
        assert_eq!(a.origin.as_deref(), Some("新华社"));
        assert!(
            extract_json(
                "{}",
                &sel.json,
                &url(),
                &sel,
                chrono_tz::Asia::Shanghai,
                now()
            )
            .is_err()
        );
        assert!(
            extract_json(
                "<html>",
                &sel.json,
                &url(),
                &sel,
                chrono_tz::Asia::Shanghai,
                now()
            )
            .is_err()
        );
    }

    #[test]
    fn charset_from_meta_and_mislabels() {
        let text = "<html><head><meta charset=\"gbk\"></head><body><p>沪深两市成交额突破万亿元</p></body></html>";
        let gbk = encoding_rs::GBK.encode(text).0.into_owned();
        assert!(decode_page(&gbk, Some("text/html"), &url()).contains("沪深两市成交额突破万亿元"));
        // Says gb2312, is UTF-8.
        let utf8 = text.replace("gbk", "gb2312");
        assert!(decode_page(utf8.as_bytes(), None, &url()).contains("沪深两市成交额突破万亿元"));
        // HTTP says UTF-8, bytes are GBK with a meta that says so: the declaration is overruled
        // by what decodes cleanly.
        assert!(
            decode_page(&gbk, Some("text/html; charset=utf-8"), &url())
                .contains("沪深两市成交额突破万亿元")
        );
    }
}
