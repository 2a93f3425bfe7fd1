//! Generators of HTML that costs a naive parse more than its size: each
//! shape is one way to make html5ever's tree builder (and what walks its
//! tree) do superlinear work. Shared by the end-to-end tests, the property
//! test in `tests/budget.rs` and the fuzz seeds in `fuzz/seeds/hostile/`.

/// A generator: about `len` bytes of one shape (never less than one
/// repetition of its pattern).
pub type Generator = fn(usize) -> String;

/// Every shape, by name.
pub const SHAPES: &[(&str, Generator)] = &[
    ("nested_formatting", nested_formatting),
    ("misnested_tables", misnested_tables),
    ("self_closed_containers", self_closed_containers),
    ("foreign_content", foreign_content),
    ("unclosed_everything", unclosed_everything),
    ("deep_divs", deep_divs),
    ("many_attributes", many_attributes),
    ("dense_markup", dense_markup),
];

fn fill(mut s: String, len: usize, unit: &str) -> String {
    while s.len() < len {
        s.push_str(unit);
    }
    s
}

/// 500 distinct open `<b>`s, which every later paragraph rebuilds.
pub fn nested_formatting(len: usize) -> String {
    let mut s = String::from("<p>");
    for i in 0..500 {
        s.push_str(&format!("<b x=\"{i}\">"));
    }
    s.push_str("</p>");
    fill(s, len, "<p>x</p>")
}

/// Formatting elements fostered out of tables that are never closed, with
/// cells opened inside them.
pub fn misnested_tables(len: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < len {
        s.push_str(&format!(
            "<table><i y=\"{i}\">x<tr><td><a href=\"#{i}\">y</a><table><tr><td>"
        ));
        i += 1;
    }
    s
}

/// `<div/>`: HTML ignores the slash, so each one nests in the last.
pub fn self_closed_containers(len: usize) -> String {
    fill(String::new(), len, "<div/>")
}

/// Markup inside SVG's `<title>` (an HTML integration point), which a
/// scan that treats `<title>` as raw text would skip.
pub fn foreign_content(len: usize) -> String {
    let mut s = String::from("<svg><title>");
    s = fill(s, len.saturating_sub(14), "<div><span>");
    s.push_str("</title></svg>");
    s
}

/// Nothing ever closed: containers, formatting, lists, tables.
pub fn unclosed_everything(len: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < len {
        s.push_str(&format!(
            "<div><span class=c{i}><a href=\"/{i}\"><font color=\"#{i:06}\"><ul><li><em>z"
        ));
        i += 1;
    }
    s
}

/// Plain nesting, opened and closed.
pub fn deep_divs(len: usize) -> String {
    let n = (len / 11).max(1);
    format!("{}正文{}", "<div>".repeat(n), "</div>".repeat(n))
}

/// One tag of as many attributes as fit, each name new: the tokenizer
/// compares every attribute's name with all before it in its tag.
pub fn many_attributes(len: usize) -> String {
    let mut s = String::from("<p><a");
    let mut i = 0;
    while s.len() + 10 < len {
        s.push_str(&format!(" a{i}"));
        i += 1;
    }
    s.push_str(">x</a></p>");
    s
}

/// Markup nested and closed as written, a node in every 5 bytes: nothing
/// for a tree builder to repair and no more nodes than one parse's budget
/// allows, but every tree kept of it is some 50 times its size (the
/// article extractor keeps two at once).
pub fn dense_markup(len: usize) -> String {
    fill(String::new(), len, "<p><b>x</b> <a href=\"/a\">y</a></p>")
}
