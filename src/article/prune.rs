//! What pages carry beside their article, pruned around readability:
//! [`prune_page`] before it runs (captions, hidden blocks, short blocks
//! classed as chrome, an article a script would show), [`prune_boilerplate`]
//! on what it kept (link lists, the header again, portal and newsroom
//! lines, notices, repeated captions and share bars). Each rule has a page
//! of its shape in `tests/fixtures/extract/`; `bench/extract` scores them.

use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html, Selector};

use super::{DATE_IN_TEXT, clean_origin, find_date};

/// What readability keeps beside the text on Chinese news pages: lists of
/// links ("相关阅读", "热门推荐") with their headings, and the date/source
/// line above the first paragraph. Removed here.
pub(super) fn prune_boilerplate(content: &str, title: Option<&str>) -> (String, Option<String>) {
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
    // Among the first three blocks with text: the headline again, and short
    // blocks that are only a date and/or a source line.
    let now = chrono::Utc::now().fixed_offset();
    let squeeze = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let title = title.map(squeeze).filter(|t| !t.is_empty());
    let total = text_len(doc.root_element());
    let mut headline_dropped = false;
    // An article's own header and footer that readability kept (the date,
    // the byline, tags): short, they are not the article.
    static HEAD_FOOT: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("header, footer").expect("static selector"));
    for e in doc.select(&HEAD_FOOT) {
        // Counted no further than the bound: nested headers must not each
        // count the whole page.
        let mut n = 0;
        for t in e.text() {
            n += t.chars().filter(|c| !c.is_whitespace()).take(200).count();
            if n >= 200 {
                break;
            }
        }
        if n < 200 {
            drop.push(e.id());
        }
    }
    // After the first block, only a line that starts as one: a paragraph
    // may well mention its source (`……（文章来源：新华社）`).
    static META_LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:\d{4}\s*[-/.年]|(?:来源|发布时间|时间|作者)\s*[:：])")
            .expect("static regex")
    });
    for (i, first) in doc
        .select(&PARAS)
        .filter(|e| e.select(&PARAS).next().is_none())
        .filter(|e| text_len(*e) > 0)
        .take(3)
        .enumerate()
    {
        let text = squeeze(&first.text().collect::<String>());
        let chars = text.chars().count();
        // A line that is mostly a date (`发布于 2022-11-25 20:30`, `Tue, May
        // 30, 2023, 9:45 PM GMT+8 · 2 min read`), not a sentence.
        let mostly_date = || {
            !text.ends_with(['。', '！', '？', '.', '!', '?', '”', '"'])
                && DATE_IN_TEXT
                    .find(&text)
                    .is_some_and(|m| 5 * m.as_str().chars().count() >= 2 * chars)
        };
        let short = chars < 80 && (i == 0 || META_LINE.is_match(&text) || mostly_date());
        // A label above the article (`Retail`, `Work in Progress`): a few
        // words that are not a sentence.
        let label = i == 0
            && chars < 30
            && text.split_whitespace().count() <= 3
            && !text.ends_with(['。', '！', '？', '.', '!', '?', '”', '"', '：', ':']);
        // The headline once, when there is an article beside it (on a page
        // of one quote, the quote is the headline).
        let headline =
            title.as_deref() == Some(text.as_str()) && !headline_dropped && total > 3 * chars;
        headline_dropped |= headline;
        let dated = || find_date(&text, chrono_tz::UTC, now).is_some() || mostly_date();
        if headline || label || short && (dated() || text.contains("来源")) {
            drop.push(first.id());
        }
    }
    // Short lines portals put in the body: the editor's name, the original
    // headline, bylines and datelines of the newsroom, share and QR
    // prompts, "(完)", link-list headings, the platform's disclaimer, the
    // reprint notice; in English, "Read more:", "Advertisement", credits,
    // newsletter and tip boxes, "X contributed to this report".
    static BOILERPLATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(?:责任编辑|责编|编辑|校对|审核|监制|值班编辑|实习编辑|图片编辑)\s*[:：]",
            r"|^[（(【]\s*(?:责任编辑|责编|编辑|作者|总台央视记者|记者)\s*[:：\s]",
            r"|^原标题\s*[:：]",
            r"|^本文来源\s*[:：]",
            r"|^(?:扫一扫|扫码|长按|点击下载|下载)\S{0,20}(?:二维码|客户端|公众号|APP|App|app)",
            r"|^扫码关注|^点个.?在看|^-\s*END\s*-$|^阅读原文$",
            r"|^分享到\s*[:：]?",
            r"|^[（(]\s*完\s*[)）]$",
            r"|^【(?:纠错|打印|关闭窗口|关闭|我要纠错)】",
            r"|^(?:相关阅读|相关新闻|相关推荐|相关稿件|延伸阅读|推荐阅读|热点推荐|热门推荐|猜你喜欢)\s*[:：]?$",
            r"|^(?:特别声明|郑重声明|免责声明|声明|平台声明)\s*[:：]",
            r"|^Notice: The content above",
            r"|^本文系.{0,20}(?:独家|原创)稿件|^本文由.{0,20}原创出品|^本文来自(?:微信公众号|“)|^本内容为作者独立观点|^如对本稿件有异议",
            r"|^【文\s*/|^(?:每经|界面新闻|21世纪经济报道)(?:记者|编辑)|记者\s*\S{1,4}\s*\S{0,4}报道$",
            r"|^返回搜狐，查看更多$|^举报/反馈$|^海量资讯、精准解读",
            r"|^(?:Read more|READ MORE|Read More|More on this|Related|RELATED|SEE ALSO|SEE MORE|DON'T MISS|Keep reading)(?-u:\b)[^.!?]{0,80}$",
            r"|^(?:Advertisement|ADVERTISEMENT|SKIP ADVERTISEMENT|Sponsor Message|Ad Feedback)$",
            r"|^(?:Image caption|Image source|Credit|Photograph|Photo|Image Credits?)\s*[:,.]",
            r"|^(?:Sign up|Subscribe)(?-u:\b).{0,120}(?:newsletter|inbox|email)",
            r"|^(?:Have a tip|Got a (?:news )?tip|Follow (?:me|us) on|Contact (?:this )?reporter|Download our app|GET FOX BUSINESS|CLICK HERE TO)",
            r"|^[（(]?(?:Reporting by|Additional reporting by|Editing by|— With assistance from)",
            // A video player's controls, printed as text.
            r"|^(?:(?:播放|暂停|进入全屏|退出全屏|重播|刷新|试试|加载中|Play|Pause|Mute|Unmute|Fullscreen|Replay|Current Time|Duration|Remaining Time|\d{1,2}:\d{2}(?::\d{2})?)[\s/:.,%-]*){3,}$",
            r"|contributed to this report\.?$",
            r"|^(?:Share this|Like this|Share or comment on this article)",
            r"|^Sign up(?: to [^.]{0,60})?$|^Why you can trust",
            r"|^(?:Read|Also read|ALSO READ|Recommended|Most Popular|MOST POPULAR|You Might Also Like)\s*[:：…]",
            r"|^[A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3} is an? (?:staff |senior |contributing |freelance )?(?:writer|reporter|editor|correspondent|columnist)(?-u:\b)",
            r"|^本文来自\S{1,12}[，,]|^《\S{2,10}》\s*[（(]\s*\d{4}年\d{1,2}月\d{1,2}日\s*\d{1,2}\s*版\s*[)）]$",
            r"|^(?:(?:Share(?: on)?|Whatsapp|WhatsApp|Facebook|Twitter|Pinterest|LinkedIn|Reddit|Email|Print|微信|微博|QQ空间|QQ|豆瓣)[\s,|/·]*){2,}$",
            r"|^(?:Published|Updated|PUBLISHED|UPDATED)\s*:?\s.{0,60}\d{4}",
        ))
        .expect("static regex")
    });
    // Blocks whose opening marks them as the site's, whatever follows:
    // disclaimers, reprint and copyright notices, print-edition lines.
    static NOTICE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(?:特别声明|郑重声明|免责声明|声明|平台声明|【免责声明】)\s*[:：]?",
            r"|^Notice: The content above|^Privacy Notice:",
            r"|^本文系.{0,20}(?:独家|原创)稿件|^本内容为作者独立观点",
            r"|^.{0,40}版权所有.{0,40}未经.{0,10}(?:授权|许可)",
            r"|^A version of this article appears in print|^This article appeared in the .{0,80}print edition",
            r"|^风险提示\s*[:：]",
            r"|^(?:Quotes displayed in real-time|Data is a real-time snapshot|All quotes delayed)",
        ))
        .expect("static regex")
    });
    static ORIGIN_LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^[（(]\s*(?:文章)?来源\s*[:：][^）)]{1,40}[)）]$").expect("static regex")
    });
    let mut origin = None;
    // Each leaf block's text, whitespace collapsed, for the rules below.
    let leaves: Vec<(ego_tree::NodeId, String)> = doc
        .select(&PARAS)
        .filter(|e| e.select(&PARAS).next().is_none())
        .map(|e| {
            let text: String = e.text().collect();
            (
                e.id(),
                text.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (_, line) in &leaves {
        if !line.is_empty() && line.chars().count() < 200 {
            *seen.entry(line.as_str()).or_insert(0) += 1;
        }
    }
    for (id, line) in &leaves {
        let short = line.chars().count() < 120;
        if short && ORIGIN_LINE.is_match(line) {
            origin = origin.or_else(|| clean_origin(line));
            drop.push(*id);
        } else if short && BOILERPLATE.is_match(line)
            || line.chars().count() < 600 && NOTICE.is_match(line)
        {
            drop.push(*id);
        } else if seen.get(line.as_str()).is_some_and(|&n| n > 1)
            && !line.ends_with(['。', '！', '？', '.', '!', '?', '”', '"', '）', ')'])
        {
            // The same short block again and again, not a sentence: a
            // caption under every photo of a gallery, a share bar under
            // every item.
            drop.push(*id);
        }
    }
    for id in drop {
        if let Some(mut n) = doc.tree.get_mut(id) {
            n.detach();
        }
    }
    (doc.root_element().inner_html(), origin)
}

/// What a page carries beside its article that readability keeps, removed
/// from the parsed page before it runs; returns the page to give it.
/// Captions and photo credits (`figcaption`, elements classed as captions
/// or credits), hidden elements (a hover card's headlines), and short
/// blocks classed as what they are: disclaimers, editor and source lines,
/// bylines, newsletter, share and ad boxes, summaries and key points. The
/// class rules apply only to blocks of under 200 characters, so a body
/// whose wrapper happens to carry such a class stays. An article hidden
/// until a script shows it (WeChat's `visibility: hidden`) is shown.
/// At most this many veiled blocks are shown (see [`prune_page`]).
pub(super) const MAX_VEILED: usize = 4;

pub(super) fn prune_page(doc: &mut Html) -> String {
    static HIDDEN: LazyLock<Selector> = LazyLock::new(|| {
        Selector::parse(
            r#"[hidden], [aria-hidden="true"], [style*="display:none"], [style*="display: none"], figcaption"#,
        )
        .expect("static selector")
    });
    static BODY: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("body").expect("static selector"));
    static IMAGES: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("img").expect("static selector"));
    static VEILED: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse(r#"[style*="visibility"]"#).expect("static selector"));
    static CAPTION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)caption|credit|pic-?desc|img-?title|img_?descr|pic_?title|photo-?desc")
            .expect("static regex")
    });
    static CHROME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"(?i)disclaimer|statement|declare|copyright|zebian|res-edit|ep-source|editor-?(?:intro|name)|article-editor|byline|dateline",
            r"|newsletter|subscri|sign-?up|advert|ad-slot|adslot|sponsor|vestpocket|share-?bar|social-share|share-tools",
            r"|key-?points|summary|abstract|standfirst|brief|toggle-caption|related-content|more-on|inline-video|hover-card|ticker",
            r"|rubric|eyebrow|kicker|flashline|(?-i:Dek)|(?:^|[\s_-])dek(?:$|[\s_-])|ad[_-]{0,2}slot",
        ))
        .expect("static regex")
    });
    // Characters of text, counted no further than 200: every question
    // below is asked under that, and nested blocks each holding the page
    // must not each count it all.
    let text_len = |e: ElementRef<'_>| {
        let mut n = 0;
        for t in e.text() {
            n += t.chars().filter(|c| !c.is_whitespace()).take(200).count();
            if n >= 200 {
                break;
            }
        }
        n
    };
    let mut drop: Vec<ego_tree::NodeId> = doc.select(&HIDDEN).map(|e| e.id()).collect();
    let Some(body) = doc.select(&BODY).next() else {
        return doc.html();
    };
    for e in body.descendants().filter_map(ElementRef::wrap).take(20_000) {
        let v = e.value();
        let names = [
            v.attr("class"),
            v.attr("id"),
            v.attr("data-component"),
            v.attr("data-gu-name"),
        ];
        // `speakable` marks the article's own lead for voice assistants.
        let names = names.iter().flatten().filter(|n| !n.contains("speakable"));
        let caption = names.clone().any(|n| CAPTION.is_match(n));
        let chrome = names.clone().any(|n| CHROME.is_match(n));
        if (caption || chrome) && text_len(e) < 200 {
            drop.push(e.id());
        }
    }
    // A short centred line right after a block that holds only an image:
    // that image's caption.
    for img in body.select(&IMAGES).take(1000) {
        let Some(block) = img
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|a| matches!(a.value().name(), "p" | "div" | "figure" | "section"))
        else {
            continue;
        };
        let own = text_len(block);
        if own > 0 {
            // A few words beside the image in its own block (`资料图`,
            // `图片来源：视觉中国`): its caption; the image stays.
            if own < 40 {
                drop.extend(
                    block
                        .children()
                        .filter(|c| ElementRef::wrap(*c).is_none_or(|e| e.select(&IMAGES).next().is_none()))
                        .filter(|c| !matches!(c.value(), scraper::Node::Element(e) if e.name() == "img"))
                        .map(|c| c.id()),
                );
            }
            continue;
        }
        let Some(next) = block.next_siblings().find_map(ElementRef::wrap) else {
            continue;
        };
        let v = next.value();
        let centred = v
            .attr("align")
            .is_some_and(|a| a.eq_ignore_ascii_case("center"))
            || v.attr("style").is_some_and(|s| s.contains("center"));
        let len = text_len(next);
        if centred && len > 0 && len < 100 && next.select(&IMAGES).next().is_none() {
            drop.push(next.id());
        }
    }
    // Each distinct style once, and a few at most: every one costs a pass
    // over the page (a page of thousands of veiled blocks must not cost
    // thousands of passes; WeChat's has one).
    let veiled: std::collections::BTreeSet<String> = doc
        .select(&VEILED)
        .filter_map(|e| {
            let style = e.value().attr("style")?;
            (style.contains("hidden") && text_len(e) >= 200).then(|| style.to_string())
        })
        .take(MAX_VEILED)
        .collect();
    // Detached for the page given to readability, then put back where they
    // were (in the reverse order): the date and headline are looked for in
    // the whole page afterwards, bylines and datelines included, and a copy
    // of the tree would cost more than this.
    let mut undo = Vec::with_capacity(drop.len());
    for id in drop {
        let Some(node) = doc.tree.get(id) else {
            continue;
        };
        let Some(parent) = node.parent().map(|p| p.id()) else {
            continue;
        };
        let next = node.next_sibling().map(|n| n.id());
        if let Some(mut n) = doc.tree.get_mut(id) {
            n.detach();
            undo.push((id, parent, next));
        }
    }
    let mut page = doc.html();
    for (id, parent, next) in undo.into_iter().rev() {
        match next {
            Some(next) => {
                if let Some(mut n) = doc.tree.get_mut(next) {
                    n.insert_id_before(id);
                }
            }
            None => {
                if let Some(mut p) = doc.tree.get_mut(parent) {
                    p.append_id(id);
                }
            }
        }
    }
    for style in veiled {
        page = page.replace(&format!("style=\"{style}\""), "");
    }
    page
}
