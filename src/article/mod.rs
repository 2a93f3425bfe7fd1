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
//! What readability keeps beside an article is pruned in [`prune`].

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

mod prune;
use prune::{prune_boilerplate, prune_page};

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
    html::budget::check_page(page, false)?;
    let mut doc = Html::parse_document(page);
    remove_matches(&mut doc, sel);
    let mut article = extract_parts(&doc, url, sel, tz, now);
    // No body selector, or one that matched nothing on this page.
    if article.content_html.is_none() {
        let found = readability(&prune_page(&mut doc), url);
        if article.origin.is_none() {
            article.origin = found.origin;
        }
        // Readability gives up on short or broken pages: then the body's
        // text, link lists pruned, is better than nothing.
        article.content_html = found.content_html.or_else(|| {
            static BODY: LazyLock<Selector> =
                LazyLock::new(|| Selector::parse("body").expect("static selector"));
            doc.select(&BODY)
                .next()
                .map(|b| html::clean(&prune_boilerplate(&b.inner_html(), None).0, url))
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
        let near = || date_near_headline(&doc, article.title.as_deref(), tz, now);
        article.published = match page_date(&doc, &PAGE_DATE, tz, now) {
            // A date-only tag (`2021-12-07`) says less than the line under
            // the headline when that line shows the time on the same day.
            Some(d) if d.time() == chrono::NaiveTime::MIN => Some(
                near()
                    .filter(|n| n.date_naive() == d.date_naive())
                    .unwrap_or(d),
            ),
            Some(d) => Some(d),
            None => json_ld_date(page, tz, now)
                .or_else(|| wechat_date(page, url))
                .or_else(near)
                .or_else(|| page_date(&doc, &CLASS_DATE, tz, now)),
        };
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
    html::budget::check_page(body, true)?;
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

/// A date in running text, as [`find_date`] looks for one.
static DATE_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*T?\s*\d{1,2}\s*[:：时]\s*\d{1,2}(?:\s*[:：分]\s*\d{1,2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d{4}\s+\d{1,2}/\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?|\b\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}\b|(?-u:\b)(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}\.?\s+\d{1,2},?\s+\d{4}(?:,?\s+(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AaPp]\.?[Mm]\.?)?)?",
    )
    .expect("static regex")
});

/// The first date in running text (`发布时间：2022年01月10日 16:57 来源：…`).
pub fn find_date(text: &str, tz: Tz, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    if let Some(d) = parse_date(text, tz, now) {
        return Some(d);
    }
    DATE_IN_TEXT
        .find_iter(text)
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
        r#"meta[name="dcterms.created"]"#,
        r#"meta[name="govuk:first-published-at"]"#,
        r#"meta[name="parsely-pub-date"]"#,
        r#"meta[name="article:published_time"]"#,
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
    // A label the page puts before its headline and the title leaves out
    // (`Update: …`, `独家：…`, `快讯｜…`).
    let a_label = |head: &str| {
        let head = head.trim_end();
        head.chars().count() <= 12
            && head.ends_with([':', '：', '|', '｜'])
            && !head
                .trim_end_matches([':', '：', '|', '｜'])
                .trim()
                .is_empty()
    };
    for e in doc.select(&HEADLINES).take(50) {
        let h = element_text(e);
        if h.chars().count() < 4 {
            continue;
        }
        if let Some(rest) = title.strip_prefix(h.as_str())
            && (rest.is_empty() || starts_a_suffix(rest))
        {
            return h;
        }
        if title.chars().count() >= 8
            && let Some(head) = h.strip_suffix(title)
            && a_label(head)
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
    /// From a `（文章来源：…）` line pruned from the body.
    origin: Option<String>,
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
        Ok(a) => {
            let (content, origin) = prune_boilerplate(&a.content, Some(&a.title));
            Readable {
                title: Some(html::plain_line(&a.title)).filter(|t| !t.is_empty()),
                content_html: Some(html::clean(&content, url)).filter(|h| !h.is_empty()),
                published_time: a.published_time,
                origin,
            }
        }
        Err(_) => Readable {
            title: None,
            content_html: None,
            published_time: None,
            origin: None,
        },
    }
}

/// `datePublished` from the page's JSON-LD (`<script type="application/ld+json">`).
fn json_ld_date(page: &str, tz: Tz, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    static LD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#""datePublished"\s*:\s*"([^"]{8,40})""#).expect("static regex")
    });
    if !page.contains("application/ld+json") {
        return None;
    }
    LD.captures(page)
        .and_then(|c| c.get(1))
        .and_then(|m| parse_date(m.as_str(), tz, now))
}

/// A WeChat article's time: its page shows it only through a script, from
/// the variable `ct` (seconds since the epoch).
fn wechat_date(page: &str, url: &Url) -> Option<DateTime<FixedOffset>> {
    static CT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"(?-u:\b)var ct\s*=\s*"(\d{9,11})""#).expect("static regex"));
    if url.host_str() != Some("mp.weixin.qq.com") {
        return None;
    }
    let secs: i64 = CT.captures(page)?.get(1)?.as_str().parse().ok()?;
    let china = FixedOffset::east_opt(8 * 3600)?;
    DateTime::from_timestamp(secs, 0).map(|d| d.with_timezone(&china))
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
    // Some put it above the headline (新华网: year, day and time in spans).
    let before_headline = headline
        .prev_siblings()
        .filter_map(ElementRef::wrap)
        .take(2);
    let before_parent = headline
        .parent()
        .into_iter()
        .flat_map(|p| p.prev_siblings())
        .filter_map(ElementRef::wrap)
        .take(2);
    after_headline
        .chain(after_parent)
        .chain(before_headline)
        .chain(before_parent)
        .map(collapsed)
        .filter(|t| t.chars().count() < 200)
        .find_map(|t| find_date(&t, tz, now))
}

#[cfg(test)]
mod tests;
