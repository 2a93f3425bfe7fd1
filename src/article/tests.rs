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
    let doc = Html::parse_fragment("<div> 央行 \n <b>宣布</b>  降准 </div><p>央行宣布降准更多</p>");
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
        let doc = Html::parse_document(&format!("<html><head>{tag}</head><body></body></html>"));
        let got =
            page_date(&doc, &PAGE_DATE, chrono_tz::Asia::Shanghai, now()).map(|d| d.to_rfc3339());
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
    for bad in ["{}", "<html>"] {
        let got = extract_json(
            bad,
            &sel.json,
            &url(),
            &sel,
            chrono_tz::Asia::Shanghai,
            now(),
        );
        assert!(got.is_err(), "{bad}");
    }
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

/// A page of `tests/fixtures/extract/` (written after real pages of
/// that shape).
fn fixture_page(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/extract/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap()
}

/// A fixture page extracted at `url` without selectors.
fn fixture(name: &str, url: &str) -> Article {
    extract_page(
        &fixture_page(name),
        &Url::parse(url).unwrap(),
        &ArticleSelectors::default(),
        chrono_tz::Asia::Shanghai,
        now(),
    )
    .unwrap()
}

/// Extracts a fixture page and checks what its text keeps and what it
/// lost; the text starts with `first` when given.
fn prunes(name: &str, url: &str, first: Option<&str>, keeps: &[&str], drops: &[&str]) -> Article {
    let a = fixture(name, url);
    let text = a.content_text.as_deref().unwrap_or_default();
    if let Some(first) = first {
        assert!(text.starts_with(first), "{name} starts otherwise:\n{text}");
    }
    for k in keeps {
        assert!(text.contains(k), "{name}: {k:?} lost:\n{text}");
    }
    for d in drops {
        assert!(!text.contains(d), "{name}: {d:?} kept:\n{text}");
    }
    a
}

/// The page [`prune_page`] gives readability for a fixture, which must
/// keep `keep` and lose `lose`; the tree is put back as it was (the date
/// and headline are read from it afterwards).
fn pruned_page(name: &str, keep: &str, lose: &str) {
    let mut doc = Html::parse_document(&fixture_page(name));
    let before = doc.html();
    let pruned = prune_page(&mut doc);
    assert!(pruned.contains(keep), "{name}: {keep:?} lost");
    assert!(!pruned.contains(lose), "{name}: {lose:?} kept");
    assert_eq!(doc.html(), before, "{name}: the tree was not put back");
}

/// WeChat hides the article (`visibility: hidden`) until a script shows
/// it, and gives its time only in a script variable (`ct`).
#[test]
fn a_wechat_article_is_shown_and_dated() {
    let wechat = "https://mp.weixin.qq.com/s/AbCdEf";
    let keeps = ["此次降准共计释放长期资金约1.2万亿元", "对楼市有何影响？"];
    let a = prunes("zh-wechat-1.html", wechat, None, &keeps, &["扫码关注"]);
    let date = a.published.map(|d| d.to_rfc3339());
    assert_eq!(date.as_deref(), Some("2021-12-06T19:00:00+08:00"));
    // The same variable on another host is not a date.
    let other = fixture("zh-wechat-1.html", "https://example.cn/s/AbCdEf");
    assert_eq!(other.published, None);
}

/// Captions: classed as such under every photo of a gallery, a short
/// centred line under an image, a few words beside one, `figcaption`.
#[test]
fn captions_are_not_the_article() {
    let news = "http://www.news.cn/a.htm";
    prunes(
        "zh-xinhua-2.html",
        news,
        None,
        &["眼下，江西各地晚稻陆续进入收获期"],
        &["彭昭之 摄"],
    );
    let keeps = ["每年可封存二氧化碳30万吨"];
    prunes(
        "zh-xinhua-1.html",
        news,
        None,
        &keeps,
        &["工作人员在恩平15-1平台上巡检"],
    );
    let dm = "https://www.dailymail.co.uk/news/a.html";
    let drops = ["Firefighters tackle a blaze", "DON'T MISS"];
    let a = prunes(
        "en-dailymail-1.html",
        dm,
        None,
        &["A provisional reading of 40.3C"],
        &drops,
    );
    // The images stay in the HTML.
    assert!(a.content_html.unwrap_or_default().contains("<img"));
    let ne = "https://www.163.com/dy/article/a.html";
    let a = prunes(
        "zh-163-1.html",
        ne,
        None,
        &["实现净投放500亿元"],
        &["资料图"],
    );
    assert!(a.content_html.unwrap_or_default().contains("<img"));
    pruned_page(
        "en-dailymail-1.html",
        "A provisional reading of 40.3C",
        "Firefighters tackle a blaze",
    );
}

/// Hover cards (`display:none`) hold other headlines: not in the page
/// readability is given, nor in the body read when it gives up.
#[test]
fn hidden_blocks_are_not_the_article() {
    let keep = "longest streak on record";
    let lose = "Where home prices are falling fastest";
    prunes(
        "en-wapo-1.html",
        "https://www.washingtonpost.com/a/",
        None,
        &[keep],
        &[lose],
    );
    pruned_page("en-wapo-1.html", keep, lose);
}

/// A portal's disclaimer, whatever its length, its editor line, and its
/// source line, which gives the origin; a newsletter box.
#[test]
fn notices_are_pruned_and_the_source_line_gives_the_origin() {
    let em = "https://finance.eastmoney.com/a/1.html";
    let drops = ["郑重声明", "文章来源", "DF524"];
    let a = prunes(
        "zh-eastmoney-1.html",
        em,
        None,
        &["储能电池系统实现营收449.80亿元"],
        &drops,
    );
    assert_eq!(a.origin.as_deref(), Some("证券时报网"));
    let ne = "https://www.163.com/dy/article/a.html";
    prunes(
        "zh-163-1.html",
        ne,
        None,
        &["王青说"],
        &["Notice: The content above", "责任编辑"],
    );
    let gu = "https://www.theguardian.com/a";
    let drops = ["Sign up to Business Today", "Privacy Notice"];
    prunes(
        "en-guardian-1.html",
        gu,
        None,
        &["remaining in double digits"],
        &drops,
    );
}

/// The headline and the date line again at the top of the body; a
/// `speakable` lead (marked for voice assistants) is the article.
#[test]
fn the_header_is_not_the_article() {
    let first = Some("财联社3月27日电，工业和信息化部等七部门");
    prunes(
        "zh-cls-1.html",
        "https://www.cls.cn/detail/1",
        first,
        &[],
        &["星期三"],
    );
    let first = Some("Ramp, a startup that offers corporate cards");
    prunes(
        "en-techcrunch-1.html",
        "https://techcrunch.com/a/",
        first,
        &[],
        &["Image Credits"],
    );
}

/// Share buttons under an item; the item itself, though it is the
/// headline too, stays.
#[test]
fn share_lines_go_and_a_quote_stays() {
    let keeps = ["Price is what you pay. Value is what you get."];
    let drops = ["Whatsapp Facebook", "Rule No. 1"];
    prunes(
        "en-quotes-1.html",
        "https://quotes.example.com/q/1",
        None,
        &keeps,
        &drops,
    );
}

/// Dates: a date-only tag yields to the time shown under the headline;
/// a date above the headline in spans; `2022-09-15-18:30:12`; JSON-LD;
/// an English month in running text.
#[test]
fn the_date_the_page_shows() {
    for (name, want) in [
        ("zh-people-1.html", "2021-12-07T16:31:00+08:00"),
        ("zh-xinhua-1.html", "2023-06-01T10:18:35+08:00"),
        ("zh-gov-1.html", "2022-09-15T18:30:12+08:00"),
        ("en-aljazeera-1.html", "2022-05-19T09:31:10+00:00"),
        ("en-caixinglobal-1.html", "2023-03-01T11:53:00+08:00"),
    ] {
        let a = fixture(name, "https://news.example.com/a.html");
        assert_eq!(
            a.published.map(|d| d.to_rfc3339()).as_deref(),
            Some(want),
            "{name}"
        );
    }
}

/// A video player's controls printed as text, a risk notice, a wire's
/// credits in parentheses, a print-edition line.
#[test]
fn player_controls_and_credits_are_not_the_article() {
    let url = "https://news.example.com/a.html";
    let keeps = ["电影总票房突破200亿元"];
    prunes(
        "zh-163-2.html",
        url,
        None,
        &keeps,
        &["进入全屏", "特别声明"],
    );
    prunes(
        "zh-jrj-1.html",
        url,
        None,
        &["北向资金合计净买入132.5亿元"],
        &["风险提示"],
    );
    prunes(
        "en-yahoo-1.html",
        url,
        None,
        &["riding a boom in artificial intelligence"],
        &["Reporting by"],
    );
    let drops = ["print edition"];
    prunes(
        "en-economist-1.html",
        url,
        None,
        &["the recovery has faltered"],
        &drops,
    );
}

/// A label before the headline (`Update:`) that the title tags leave out is
/// the page's headline all the same.
#[test]
fn a_labelled_headline_is_the_headline() {
    let a = fixture(
        "en-caixinglobal-1.html",
        "https://www.caixinglobal.com/a.html",
    );
    assert_eq!(
        a.title.as_deref(),
        Some("Update: China's Factory Activity Expands at Fastest Pace in a Decade")
    );
}

/// A page of thousands of veiled blocks costs a few passes over the page,
/// not one per block (3,000 passes over its 2 MB before the bound).
#[test]
fn veiled_blocks_cost_a_bounded_number_of_passes() {
    let text = "正文".repeat(120);
    let page: String = (0..3000)
        .map(|i| format!("<div style=\"visibility: hidden; order: {i}\">{text}</div>"))
        .collect();
    let page = format!("<html><body>{page}</body></html>");
    let mut doc = Html::parse_document(&page);
    let pruned = prune_page(&mut doc);
    // A few styles shown, the rest as they were.
    let shown = 3000 - pruned.matches("visibility: hidden").count();
    assert_eq!(shown, prune::MAX_VEILED);
}

/// What stands above and around a magazine's article: its rubric and dek
/// (classed so), a label and a date line at the top, "Read:" modules, the
/// author's bio; a site's sign-off and a print-edition line.
#[test]
fn a_magazines_furniture_is_not_the_article() {
    let url = "https://news.example.com/a.html";
    let first = Some("Three years after the pandemic sent office workers home");
    let drops = [
        "Work in Progress",
        "one mandate at a time",
        "Read: The case",
        "is a staff writer",
    ];
    prunes(
        "en-atlantic-1.html",
        url,
        first,
        &["settled at about 28 percent"],
        &drops,
    );
    let first = Some("The European Parliament voted on Wednesday");
    let drops = ["The AI Act sets limits", "Most Popular", "Mar 13, 2024"];
    prunes(
        "en-wired-1.html",
        url,
        first,
        &["7 percent of a company"],
        &drops,
    );
    let first = Some("Walmart raised its annual sales");
    prunes(
        "en-fortune-1.html",
        url,
        first,
        &[],
        &["Retail", "August 17, 2023 at 8:45"],
    );
    let keeps = ["点阵图显示"];
    prunes(
        "zh-wallstreetcn-1.html",
        url,
        None,
        &keeps,
        &["欢迎下载APP"],
    );
    prunes("zh-gmw-1.html", url, None, &["九章三号"], &["08版"]);
}
