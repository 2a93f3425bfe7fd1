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

/// `clean_with_text` gives what `clean` then `to_text` give, on every
/// fixture (feeds and pages of many sites, taken whole as markup) and on
/// the cases where a one-walk text could drift from a re-parse: line
/// breaks between CJK characters across inline elements, `pre`, blocks
/// inside inline elements, void blocks, entities, nested lists, tables.
#[test]
fn clean_with_text_is_clean_then_to_text() {
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
    let mut x: u64 = 42;
    let mut next = |n: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) as usize) % n
    };
    for _ in 0..3000 {
        let len = 1 + next(40);
        inputs.push((0..len).map(|_| pieces[next(pieces.len())]).collect());
    }
    let base = base();
    for input in &inputs {
        let cleaned = clean(input, &base);
        let expected = (cleaned.clone(), to_text(&cleaned));
        assert_eq!(clean_with_text(input, &base), expected, "{input}");
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
        '\u{3400}',
    ];
    let mut x: u64 = 7;
    let mut next = |n: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) as usize) % n
    };
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

#[test]
fn plain_lines() {
    assert_eq!(plain_line("  标题 &amp; <b>要闻</b>\n"), "标题 & 要闻");
    assert_eq!(plain_line("A  title"), "A title");
}
