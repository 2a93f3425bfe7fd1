use super::*;

/// The plain-text shortcuts give what the full path gives, on strings
/// made of the characters whose handling differs (spaces of every kind,
/// line breaks, indents, CJK next to Latin, characters that get escaped).
#[test]
fn plain_text_shortcut_matches_the_parser() {
    const ALPHABET: &[char] = &[
        '中', '文', '。', 'a', 'b', ' ', ' ', '\n', '\t', '\u{3000}', '\u{a0}', '>', '"', '\'',
        '\u{2028}', '\u{200b}',
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let s: String = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        assert!(is_plain(&s));
        assert_eq!(clean_plain(&s), clean_markup(&s, &base()), "clean {s:?}");
        assert_eq!(to_text(&s), to_text_markup(&s), "to_text {s:?}");
    }
    for s in ["a<b", "a&amp;b", "a\rb", "a\0b", "a\u{1}b"] {
        assert!(!is_plain(s), "{s:?}");
    }
}

fn base() -> Url {
    Url::parse("https://news.example.cn/a/b/page.html").unwrap()
}

#[test]
fn drops_scripts_handlers_forms_and_iframes() {
    let html = r#"<div><p onclick="x()">正文<script>alert(1)</script></p><style>p{}</style><iframe src="//evil"></iframe><form><input name=q></form><p>第二段</p></div>"#;
    assert_eq!(clean(html, &base()), "<p>正文</p><p>第二段</p>");
}

#[test]
fn urls_become_absolute() {
    let html = r#"<p><a href="../c.html">链接</a><img src="/img/1.png" alt="图"></p>"#;
    assert_eq!(
        clean(html, &base()),
        r#"<p><a href="https://news.example.cn/a/c.html">链接</a><img alt="图" src="https://news.example.cn/img/1.png"></p>"#
    );
}

#[test]
fn only_http_https_mailto_links_survive() {
    let html = r#"<p><a href="javascript:alert(1)">x</a><a href="//cdn.example/y">y</a><a href="mailto:a@b.example">m</a><img src="data:image/png;base64,AAAA"><a href="http://[bad">z</a></p>"#;
    assert_eq!(
        clean(html, &base()),
        r#"<p><a>x</a><a href="https://cdn.example/y">y</a><a href="mailto:a@b.example">m</a><img><a>z</a></p>"#
    );
}

#[test]
fn one_line_no_indents_class_on_p_kept() {
    let html = "<div>\n  <p>\n　　第一段，\n文字继续。\n  </p>\n\n  <p class=\"em_media\">（文章来源：央视新闻客户端）</p>\n</div>";
    assert_eq!(
        clean(html, &base()),
        "<p>第一段，文字继续。</p><p class=\"em_media\">（文章来源：央视新闻客户端）</p>"
    );
}

#[test]
fn spaces_between_latin_words_and_inline_elements_stay() {
    assert_eq!(
        clean(
            "<p>Hello\n  <em>big</em> <strong>world</strong> &amp; co</p>",
            &base()
        ),
        "<p>Hello <em>big</em> <strong>world</strong> &amp; co</p>"
    );
}

#[test]
fn too_deep_markup_becomes_text() {
    let deep = format!(
        "{}深层正文 &amp; more{}",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    assert_eq!(clean(&deep, &base()), "<p>深层正文 &amp; more</p>");
    assert_eq!(to_text(&deep), "深层正文 & more");
}

#[test]
fn rebuilt_formatting_elements_become_text() {
    // 500 distinct open <b>s, rebuilt by html5ever for every paragraph.
    let mut html = String::from("<p>");
    for i in 0..500 {
        html.push_str(&format!("<b x=\"{i}\">"));
    }
    html.push_str("</p>");
    html.push_str(&"<p>x</p>".repeat(2_000));
    let out = clean(&html, &base());
    assert!(out.starts_with("<p>x x x"), "{:.100}", out);
    assert!(!out.contains("<b>"));
}

#[test]
fn text_has_blank_lines_between_paragraphs() {
    assert_eq!(
        to_text("<p>第一段</p>\n<p>　　第二段 <b>加粗</b></p><ul><li>一</li><li>二</li></ul>"),
        "第一段\n\n第二段 加粗\n\n一\n\n二"
    );
}

/// Inputs where two ways of cleaning could part: every fixture (feeds and
/// pages of many sites, taken whole as markup), the cases where a one-walk
/// text could drift from a re-parse (line breaks between CJK characters
/// across inline elements, `pre`, blocks inside inline elements, void
/// blocks, entities, nested lists, tables), and 3,000 strings of those
/// pieces.
fn tricky_inputs() -> Vec<String> {
    let mut inputs: Vec<String> = [
        "中\n<em>文</em>字",
        "<p>中\n<b>文</b>\n字</p><p>a\n<i>b</i></p>",
        "<pre>  a\n  b &lt; c</pre>tail",
        "<a href=x><p>block in inline</p></a> after",
        "<p>one<hr>two<br>three</p>",
        "a &amp; b &nbsp; c &#x4e2d;&#25991;",
        "<ul><li>x<ul><li>y</li></ul></li></ul><table><tr><td>c1<td>c2</table>",
        "<div>\u{3000}\u{3000}段落一</div><div>\u{3000}\u{3000}段落二</div>",
        "<script>alert(1)</script><p>shown</p><style>p{}</style>",
        "<b>bold <p>para</b> rest</p>",
        "<p>x</p>\n\n  <p>y</p>  text  ",
        "plain text > with a gt",
        "<img src=a.png alt=pic><figure><img src=b.png><figcaption>cap</figcaption></figure>",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                inputs.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    assert!(inputs.len() > 50, "{} inputs", inputs.len());
    // And 3,000 strings of the pieces where the two could part ways
    // (a fixed linear congruential sequence: the same strings each run).
    let pieces = [
        "<p>",
        "</p>",
        "<b>",
        "</b>",
        "<pre>",
        "</pre>",
        "中",
        "文",
        "\n",
        " ",
        "a",
        "&amp;",
        "<br>",
        "<div>",
        "</div>",
        "<li>",
        "<ul>",
        "</ul>",
        "<a href=x>",
        "</a>",
        "<table><tr><td>",
        "\u{3000}",
        "<script>",
        "</script>",
        "<hr>",
        "<img src=y>",
        "<h1>",
        "</h1>",
        "\t",
        "&lt;",
        "<em>",
        "</em>",
        "<blockquote>",
        "</td><td>",
        "<figure>",
        "<figcaption>",
    ];
    inputs.extend(crate::testing::joined(42, &pieces, 3000, 1..41));
    inputs
}

/// `clean_with_text` gives what `clean` then `to_text` give.
#[test]
fn clean_with_text_is_clean_then_to_text() {
    let base = base();
    for input in &tricky_inputs() {
        let cleaned = clean(input, &base);
        let expected = (cleaned.clone(), to_text(&cleaned));
        assert_eq!(clean_with_text(input, &base), expected, "{input}");
    }
}

/// The one-walk sanitizer gives what ammonia, configured as newscrawl
/// configured it until it was replaced, then a parse of ammonia's output,
/// give: the policy kept, nothing let through that ammonia removed.
#[test]
fn the_sanitizer_keeps_what_ammonia_kept() {
    let mut attrs: std::collections::HashMap<&str, std::collections::HashSet<&str>> =
        Default::default();
    for tag in sanitize::KEEP_TAGS {
        let keep: std::collections::HashSet<&str> = [
            "href", "title", "src", "alt", "width", "height", "class", "colspan", "rowspan",
        ]
        .into_iter()
        .filter(|a| sanitize::allowed_attr(tag, a))
        .collect();
        if !keep.is_empty() {
            attrs.insert(tag, keep);
        }
    }
    let mut ammonia = ammonia::Builder::empty();
    ammonia
        .tags(sanitize::KEEP_TAGS.iter().copied().collect())
        .clean_content_tags(sanitize::DROP_TAGS.iter().copied().collect())
        .tag_attributes(attrs)
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(None)
        .strip_comments(true);
    let base = base();
    let hostile = [
        "<p onclick=x() style=color:red class=lead id=a>p</p><span>span</span>",
        "<a href=\"javascript:alert(1)\">js</a><a href=\"//cdn.example/x\">scheme-relative</a>",
        "<img src=\"data:image/png;base64,AAAA\" onerror=alert(1)><img src=/a.png alt=\"x\\\"y\">",
        "<math><mi><img src=x></mi><style><img src=y onerror=z></style></math>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<svg><a href=x>in svg</a></svg><object data=x>o</object>tail",
        "<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<noscript><p>no</p></noscript><template><p>t</p></template><iframe src=x>i</iframe>",
        "<xmp><script>alert(1)</script></xmp><textarea><b>t</b></textarea>",
        "<form><input value=x><button>b</button>form text</form><select><option>o</select>",
        "a<!-- comment -->b<!-- --><script>x</script>c<span>d</span>e<!--><img src=x onerror=y>-->",
        "<div><section><article><p>deep</p></article></section></div>text",
        "<table><colgroup><col></colgroup><tr><td colspan=2 width=3>c</td></tr></table>",
        "<td>stray cell</td><tr>stray row</tr><li>stray item</li>",
        "<a href=\" javascript:alert(1)\">sp</a><a href=\"jav&#x09;ascript:alert(1)\">tab</a>",
        "<p class=\"a\\\" onmouseover=\\\"x\">q</p><a title='\"><script>x</script>'>t</a>",
    ];
    // Pages and feeds as sites write them, and markup written to get past
    // a sanitizer: the same bytes as ammonia's.
    let (random, real): (Vec<String>, Vec<String>) = {
        let all = tricky_inputs();
        let cut = all.len() - 3000;
        let mut all = all;
        let random = all.split_off(cut);
        (random, all)
    };
    let mut differ = 0;
    for input in real.iter().map(String::as_str).chain(hostile) {
        let old = normalize(&ammonia.clean(input).to_string(), Some(&base));
        let new = clean_markup(input, &base);
        if new != old {
            differ += 1;
            eprintln!("differs: {input:?}\n  new: {new:?}\n  old: {old:?}");
        }
        assert_only_the_policy(&new);
    }
    assert_eq!(differ, 0, "{differ} inputs differ");
    // Markup soup: where ammonia's output, parsed again, nests differently
    // (a heading inside a heading through an unwrapped element, which a
    // second parse splits in two), the same text in the same blocks, and
    // never more than the policy lets through.
    for input in &random {
        let old = normalize(&ammonia.clean(input).to_string(), Some(&base));
        let new = clean_markup(input, &base);
        assert_eq!(to_text(&new), to_text(&old), "{input:?}");
        assert_only_the_policy(&new);
    }
}

/// `html`, read as a browser reads it, holds only the elements and
/// attributes the sanitizer keeps, and links and images only to http,
/// https and mailto URLs.
fn assert_only_the_policy(html: &str) {
    let doc = scraper::Html::parse_fragment(html);
    for node in doc.root_element().descendants() {
        if let scraper::Node::Element(e) = node.value() {
            let name = e.name();
            if name == "html" {
                continue;
            }
            assert!(sanitize::KEEP_TAGS.contains(&name), "<{name}> in {html}");
            assert_eq!(e.name.ns, html5ever::ns!(html), "{html}");
            for (k, v) in e.attrs() {
                assert!(sanitize::allowed_attr(name, k), "{name} {k} in {html}");
                if matches!(k, "href" | "src") {
                    let u = Url::parse(v).unwrap();
                    assert!(matches!(u.scheme(), "http" | "https" | "mailto"), "{v}");
                }
            }
        }
    }
}

/// The stretch-at-a-time `collapse` and `escape_text` agree with the
/// character-at-a-time definitions on 20,000 strings of the characters
/// where they could differ.
#[test]
fn fast_text_paths_match_their_definitions() {
    let pool = [
        'a', 'Z', ' ', ' ', '\n', '\t', '\r', '\u{b}', '\u{c}', '\u{3000}', '\u{a0}', '\u{85}',
        '\u{2028}', '\u{2003}', '\u{1680}', '\u{202f}', '\u{205f}', '\u{1}', '\u{1b}', '\u{7f}',
        '\u{80}', '\u{9f}', '中', '文', '々', 'ぁ', '\u{3001}', '&', '<', '>', 'é', '😀',
        '\u{3400}', '\u{3002}', '\u{3010}', '\u{2014}', '\u{201c}', '\u{2026}', '\u{200b}',
        '\u{200a}', '\u{200e}', '\u{2029}', '\u{2060}', '\u{2080}', '\u{1681}', '\u{180e}',
        '\u{1f00}', '\u{a1}', '\u{bf}', '\u{3100}', '\u{30fc}',
    ];
    let mut next = crate::testing::below(7);
    for _ in 0..20_000 {
        let len = next(24);
        let s: String = (0..len).map(|_| pool[next(pool.len())]).collect();
        assert_eq!(collapse(&s), collapse_chars(&s), "{s:?}");
        let mut fast = String::new();
        escape_text(&s, &mut fast);
        let slow: String = s
            .chars()
            .filter(|c| !is_stray_control(*c))
            .map(|c| match c {
                '&' => "&amp;".to_string(),
                '<' => "&lt;".to_string(),
                '>' => "&gt;".to_string(),
                c => c.to_string(),
            })
            .collect();
        assert_eq!(fast, slow, "{s:?}");
    }
}

/// Both byte sets, eight bytes at a time, find what a byte-at-a-time scan
/// finds from every start, on 20,000 strings of the bytes around their
/// edges (a match below a borrow-prone byte, runs past eight bytes).
#[test]
fn byte_sets_find_the_first_byte_of_the_set() {
    let pool = [
        0x00, 0x01, 0x09, 0x0a, 0x1f, 0x20, 0x21, 0x22, b'&', b'<', b'>', b'=', b'?', b'a', 0x7e,
        0x7f, 0x80, 0x81, 0xbf, 0xc1, 0xc2, 0xc3, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xfe, 0xff,
    ];
    let mut next = crate::testing::below(11);
    for _ in 0..20_000 {
        let len = next(40);
        // Mostly plain bytes, as text is.
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if next(4) == 0 {
                    pool[next(pool.len())]
                } else {
                    b'x'
                }
            })
            .collect();
        for from in 0..=len + 1 {
            let naive = |set: &dyn Fn(u8) -> bool| {
                (from..len)
                    .find(|&i| set(bytes[i]))
                    .unwrap_or(len.max(from))
            };
            assert_eq!(
                MAY_BE_SPACE.find(&bytes, from),
                naive(&|b| b < 0x21 || matches!(b, 0x7f | 0xC2 | 0xE1 | 0xE2 | 0xE3)),
                "{bytes:x?} from {from}"
            );
            assert_eq!(
                TO_ESCAPE.find(&bytes, from),
                naive(&|b| b < 0x20 || matches!(b, 0x7f | b'&' | b'<' | b'>' | 0xC2)),
                "{bytes:x?} from {from}"
            );
        }
    }
}

#[test]
fn plain_lines() {
    assert_eq!(plain_line("  标题 &amp; <b>要闻</b>\n"), "标题 & 要闻");
    assert_eq!(plain_line("A  title"), "A title");
}

/// The check above catches what it is there to catch.
#[test]
#[should_panic(expected = "onerror")]
fn the_policy_check_sees_an_event_handler() {
    assert_only_the_policy("<p>a</p><img src=\"https://a.example/x.png\" onerror=\"alert(1)\">");
}

#[test]
fn teasers_are_whole_paragraphs_or_sentences_within_the_bound() {
    // Text that fits is the teaser.
    assert_eq!(teaser("短文。\n\n第二段。"), "短文。\n\n第二段。");
    // Whole paragraphs while they fit.
    let para = "央行今日开展逆回购操作。".repeat(10); // 120 characters
    let text = format!("{para}\n\n{para}\n\n{para}");
    assert_eq!(teaser(&text), format!("{para}\n\n{para}"));
    // One long paragraph: cut after its last sentence in the bound.
    let long = "沪指收涨0.5%，成交额放大。".repeat(30);
    let t = teaser(&long);
    assert!(t.ends_with('。'), "{t}");
    assert!(t.chars().count() <= TEASER_CHARS && t.chars().count() > TEASER_CHARS / 2);
    assert!(long.starts_with(&t));
    // Latin text without a sentence end in range: cut at a space, marked.
    let words = "word ".repeat(100);
    let t = teaser(&words);
    assert!(t.ends_with("word…"), "{t}");
    assert!(t.chars().count() <= TEASER_CHARS + 1);
    // A decimal point is not a sentence end.
    let numbers = format!("{} 3.5 {}", "a".repeat(200), "b".repeat(200));
    assert!(!teaser(&numbers).ends_with("3."), "{}", teaser(&numbers));
    // No space, no sentence end (one Chinese run): cut at the bound.
    let run = "字".repeat(1000);
    assert_eq!(teaser(&run), format!("{}…", "字".repeat(TEASER_CHARS)));
}

/// html5ever's tree of a fragment, written out whole: every node, element
/// names with their attributes (sorted), text as it stands.
fn html5ever_tree(input: &str) -> String {
    fn walk(node: ego_tree::NodeRef<'_, Node>, out: &mut String) {
        for child in node.children() {
            match child.value() {
                Node::Text(t) => out.push_str(&format!("{:?}", &**t)),
                Node::Element(e) => {
                    let mut attrs: Vec<_> = e.attrs().collect();
                    attrs.sort_unstable();
                    out.push_str(&format!("<{}{attrs:?}>", e.name()));
                    walk(child, out);
                    out.push_str(&format!("</{}>", e.name()));
                }
                other => out.push_str(&format!("{other:?}")),
            }
        }
    }
    let doc = Html::parse_fragment(input);
    let mut out = String::new();
    walk(*doc.root_element(), &mut out);
    out
}

/// [`simple::parse`]'s tree, written out as [`html5ever_tree`] writes.
fn simple_tree(children: &[simple::Child<'_>]) -> String {
    let mut out = String::new();
    for child in children {
        match child {
            simple::Child::Text(t) => out.push_str(&format!("{:?}", &**t)),
            simple::Child::Elem(e) => {
                let mut attrs: Vec<(&str, &str)> =
                    e.attrs.iter().map(|(k, v)| (*k, &**v)).collect();
                attrs.sort_unstable();
                out.push_str(&format!("<{}{attrs:?}>", e.name));
                out.push_str(&simple_tree(&e.children));
                out.push_str(&format!("</{}>", e.name));
            }
        }
    }
    out
}

/// Where the simple parser gives a tree, it is html5ever's tree, node for
/// node, and the sanitizer writes the same from both: on the fixtures, the
/// tricky inputs and 30,000 fragments of the pieces where the two could
/// part ways (misnesting, implied end tags, references, attributes,
/// characters the tokenizer rewrites). And it takes the shapes feeds send.
#[test]
fn the_simple_parser_builds_html5evers_tree() {
    let mut inputs = tricky_inputs();
    let pieces = [
        "<p>",
        "</p>",
        "<P>",
        "<p class=\"lead\">",
        "<p class=lead id='x'>",
        "<b>",
        "</b>",
        "<strong>",
        "</strong>",
        "<em>",
        "</em>",
        "<i>",
        "</i>",
        "<code>",
        "</code>",
        "<u>",
        "<s>",
        "</s>",
        "<small>",
        "<a href=\"/x?a=1&amp;b=2\">",
        "<a href='y' title=t>",
        "<a href=z>",
        "</a>",
        "</A>",
        "<br>",
        "<br/>",
        "<br />",
        "</br>",
        "<br/ >",
        "<img src=\"a.png\" alt=\"图\">",
        "<img src=b.png/>",
        "<img src=c.png />",
        "<img alt src=d>",
        "<span>",
        "</span>",
        "<sub>",
        "</sup>",
        "<div>",
        "</div>",
        "<section>",
        "</section>",
        "<ul>",
        "</ul>",
        "<ol>",
        "</ol>",
        "<li>",
        "</li>",
        "<h2>",
        "</h2>",
        "<h3>",
        "</h3>",
        "<blockquote>",
        "</blockquote>",
        "<figure>",
        "</figure>",
        "<figcaption>",
        "</figcaption>",
        "中",
        "文",
        "。",
        "a",
        "b c",
        " ",
        "\n",
        "\t",
        "\u{3000}",
        "&amp;",
        "&lt;",
        "&gt;",
        "&nbsp;",
        "&quot;",
        "&#x4e2d;",
        "&#25991;",
        "&#X41;",
        "&copy;",
        "&hellip;",
        "&ldquo;",
        "&rdquo;",
        "&",
        "& ",
        "&#",
        "&#;",
        "&amp",
        "&notit;",
        "&notin;",
        "&#128;",
        "&#150;",
        "&#0;",
        "&#13;",
        "&#xD800;",
        "&#99999999;",
        "&zz;",
        "<",
        " < ",
        ">",
        "\"",
        "'",
        "=",
        "<!-- c -->",
        "<!DOCTYPE html>",
        "<?x?>",
        "<table>",
        "<tr>",
        "<td>",
        "<pre>",
        "</pre>",
        "<script>",
        "</script>",
        "<textarea>",
        "\r",
        "\r\n",
        "\0",
        "\u{c}",
        "\u{1}",
        "\u{feff}",
        "<b/>",
        "<p/>",
        "<p\nclass=x>",
        "<a href=\"x\"title=y>",
        "<a href=\"x\" href=\"y\">",
        "<a HREF=x>",
        "<a href=x=y>",
        "<a href=`x`>",
        "<img src=\"&#106;avascript:x\">",
        "<span style=\"a>b\">",
        "<center>",
        "<font color=red>",
        "</font>",
        "<hr>",
        "<h1>",
        "</h1>",
        "<div\tclass=\"x\">",
    ];
    inputs.extend(crate::testing::joined(7, &pieces, 30_000, 1..25));
    let mut next = crate::testing::below(8);
    // And 10,000 nested as written (most of them taken): elements of the
    // subset and others, texts, references and attributes.
    fn nested(next: &mut impl FnMut(usize) -> usize, depth: usize, out: &mut String) {
        const TAGS: &[&str] = &[
            "p",
            "div",
            "b",
            "strong",
            "em",
            "a",
            "span",
            "ul",
            "li",
            "h2",
            "blockquote",
            "figure",
            "figcaption",
            "sub",
            "i",
            "code",
            "section",
            "ol",
        ];
        const LEAVES: &[&str] = &[
            "中文",
            "text",
            " ",
            "\n",
            "&amp;",
            "&#8230;",
            "&nbsp;",
            "<br>",
            "<br/>",
            "<img src=\"a.png\" alt=\"x\">",
            "\u{3000}",
            "a b",
            "，",
            "&lt;b&gt;",
        ];
        for _ in 0..1 + next(4) {
            if depth < 6 && next(2) == 0 {
                let tag = TAGS[next(TAGS.len())];
                let attrs = ["", " class=\"c\"", " href=\"/x\"", " title='t'"][next(4)];
                out.push_str(&format!("<{tag}{attrs}>"));
                nested(next, depth + 1, out);
                out.push_str(&format!("</{tag}>"));
            } else {
                out.push_str(LEAVES[next(LEAVES.len())]);
            }
        }
    }
    for _ in 0..10_000 {
        let mut s = String::new();
        nested(&mut next, 0, &mut s);
        inputs.push(s);
    }
    let base = base();
    let mut accepted = 0;
    for input in &inputs {
        let Some(top) = simple::parse(input) else {
            continue;
        };
        accepted += 1;
        assert_eq!(simple_tree(&top), html5ever_tree(input), "{input:?}");
        let doc = Html::parse_fragment(input);
        for base in [Some(&base), None] {
            let mut ours = sanitize::TextSink::default();
            let mut theirs = sanitize::TextSink::default();
            let a = sanitize::write_clean_simple(
                simple::parse(input).unwrap(),
                base,
                0,
                Some(&mut ours),
            );
            let b = sanitize::write_clean(&doc, base, 0, Some(&mut theirs));
            assert_eq!((a, ours.finish()), (b, theirs.finish()), "{input:?}");
        }
    }
    // Both ways parted often enough to have been compared.
    assert!(
        accepted > 5_000 && accepted < inputs.len() - 5_000,
        "{accepted} of {}",
        inputs.len()
    );
    // The shapes feeds send.
    for shape in [
        "<p>央行今日开展<strong>逆回购</strong>操作&nbsp;1000亿元。</p>\n<p>详见<a href=\"/n/1.html\">公告</a>&hellip;</p>",
        "<p><img width=\"300\" height=\"200\" src=\"https://a.example/x.jpg\" class=\"wp-post-image\" alt=\"\" decoding=\"async\" srcset=\"x-300.jpg 300w, x.jpg 1024w\" sizes=\"(max-width: 300px) 100vw, 300px\" /></p><p>The post <a rel=\"nofollow\" href=\"https://a.example/p\">Markets rally&#8230;</a> appeared first on <a href=\"https://a.example\">Site</a>.</p>",
        "<div class=\"content\"><p style=\"text-indent:2em\">沪指收涨0.5%<br/>成交额放大</p><ul><li>一</li><li>二</li></ul></div>",
        "Plain text with a &amp; and a <em>word</em>",
    ] {
        assert!(simple::parse(shape).is_some(), "{shape}");
    }
}

/// What the simple parser takes is written without the parse budget (which
/// meters html5ever), so it keeps to the budget's bounds itself: 64 open
/// elements at most, and no more nodes than the budget allows html5ever
/// (a byte count over [`budget::BYTES_PER_NODE`], plus
/// [`budget::BASE_NODES`]); past either, the markup goes to html5ever and
/// its budget.
#[test]
fn the_simple_parser_keeps_to_the_parse_budget() {
    let deep = |spans: usize| {
        let mut s = "<span>".repeat(spans);
        s.push_str("<p><b>x</b> <a href=\"/a\">y</a></p>");
        s.push_str(&"</span>".repeat(spans));
        s
    };
    // The paragraph and its `b` make 64 open elements.
    assert!(super::simple::parse(&deep(62)).is_some());
    assert!(super::simple::parse(&deep(63)).is_none());
    // `<br>x`: two nodes in five bytes, more than the budget's one in
    // four once past its base.
    let dense = |units: usize| "<br>x".repeat(units);
    let base = super::budget::BASE_NODES as usize;
    assert!(super::simple::parse(&dense(base / 2)).is_some());
    let over = dense(4 * base);
    assert!(super::simple::parse(&over).is_none());
    assert!(super::budget::check(&over, true).is_err());
}
