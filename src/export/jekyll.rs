//! The Jekyll exporter: one Markdown post per stored post, in the seed
//! system's format byte for byte (or a template of the user's), and
//! optionally one category page per category. Files are written atomically
//! (a temp file created exclusively beside it, then a rename), and a file
//! whose content would not change is not touched.
//!
//! What a publisher sent is inert on the site: the body is block HTML
//! (kramdown leaves it alone), `{{`/`{%` never reach Liquid, the text that
//! templates put into Markdown is escaped, every YAML scalar reads back as
//! itself, and file names are ones no other post can have.
//!
//! (Over 600 lines with its tests, about 450 without: each rule above has
//! its test beside it.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use chrono_tz::Tz;
use minijinja::Environment;
use serde::Serialize;

use super::ExportError;
use crate::slug::slugify;
use crate::store::{PostRow, StoryPost};

/// The built-in post template: the seed system's shape.
pub const DEFAULT_TEMPLATE: &str = include_str!("post.md.j2");

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JekyllSummary {
    pub written: usize,
    pub unchanged: usize,
    pub category_pages_written: usize,
    /// Posts that could not be exported (each reported; the rest went on).
    pub failed: usize,
}

/// The longest infoCode used in a file name, and the longest category;
/// longer ones are named otherwise (see [`file_stem`], [`category`]), so
/// that no name nears the file system's 255 bytes.
const MAX_NAME_PART: usize = 100;

/// The variables a post template sees. Those that go into the Markdown
/// body are made inert there: `content_html` is block HTML with Liquid's
/// delimiters broken up, `url` has `{`/`}` percent-encoded, and the texts
/// (`media`, `summary`, `content_text`, `origin`, `author`, `source_name`)
/// are Markdown-escaped; `title` and `tags` are for the front matter (with
/// `yaml_str`/`yaml_plain`).
#[derive(Debug, Serialize)]
pub struct PostVars<'a> {
    pub id: i64,
    pub title: &'a str,
    /// `YYYY-MM-DD HH:MM:SS +ZZZZ`, in the source's offset.
    pub date: String,
    pub category: String,
    /// The origin, or the source's name.
    pub media: String,
    /// `<media>新闻`.
    pub tags: String,
    pub content_html: String,
    pub content_text: String,
    pub summary: String,
    pub url: String,
    pub site: &'a str,
    pub info_code: &'a str,
    pub origin: String,
    pub author: String,
    pub source: &'a str,
    pub source_name: String,
    pub published_at: &'a str,
    pub updated_at: &'a str,
    /// The post's enclosures: `url` (braces percent-encoded), `type`,
    /// `length` (either may be none).
    pub enclosures: Vec<EnclosureVars>,
    /// With `--one-per-story`: the other outlets that carried the story
    /// (their sources' names, each once, Markdown-escaped); else empty.
    pub story_outlets: Vec<String>,
    /// With `--one-per-story`: the story's other posts, the earliest first;
    /// else empty.
    pub story_posts: Vec<StoryPostVars>,
}

/// Another post of the story, for templates: `outlet` and `title`
/// Markdown-escaped, `url` an http(s) URL with what would end a Markdown
/// link or a Liquid tag percent-encoded (empty for any other scheme).
#[derive(Debug, Serialize)]
pub struct StoryPostVars {
    pub outlet: String,
    pub title: String,
    pub url: String,
    pub published_at: String,
}

/// One enclosure, for templates.
#[derive(Debug, Serialize)]
pub struct EnclosureVars {
    pub url: String,
    #[serde(rename = "type")]
    pub mime: Option<String>,
    pub length: Option<i64>,
}

/// A template environment with newscrawl's filters: `yaml_str` (a
/// double-quoted YAML string) and `yaml_plain` (a plain YAML scalar, quoted
/// only when it would not read back as itself).
pub fn environment(template: &str) -> Result<Environment<'static>, ExportError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("yaml_str", |s: String| yaml_quoted(&s));
    env.add_filter("yaml_plain", |s: String| yaml_plain(&s));
    env.add_filter("md_text", |s: String| markdown_text(&s));
    env.add_template_owned("post", template.to_string())
        .map_err(|e| ExportError::Template(e.to_string()))?;
    Ok(env)
}

/// `"…"` with `\`, `"` and control characters escaped: any title reads back
/// to itself, quotes, colons, leading `-` and `#`, and newlines included.
pub fn yaml_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}') => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` as a plain scalar when YAML reads it back unchanged, else quoted.
pub fn yaml_plain(s: &str) -> String {
    let risky_start =
        s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace());
    let risky = s.is_empty()
        || risky_start
        || s.ends_with(char::is_whitespace)
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(|c| c.is_control())
        || matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
        || s.parse::<f64>().is_ok();
    if risky { yaml_quoted(s) } else { s.to_string() }
}

/// The category of a post: its origin's slug, else its source's slug. A
/// slug longer than [`MAX_NAME_PART`] bytes is cut there and told apart by
/// a hash of the whole.
pub fn category(post: &PostRow) -> String {
    let slug = post
        .origin
        .as_deref()
        .map(slugify)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| post.source.clone());
    if slug.len() <= MAX_NAME_PART {
        return slug;
    }
    use sha2::Digest;
    let hash = sha2::Sha256::digest(slug.as_bytes());
    let mut cut = MAX_NAME_PART - 9;
    while !slug.is_char_boundary(cut) {
        cut -= 1;
    }
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", slug.get(..cut).unwrap_or_default())
}

/// The part of a post's file name after the date: its infoCode when that
/// is letters, digits, `-` and `_`, at most [`MAX_NAME_PART`] of them;
/// otherwise its id, or when another post's infoCode is that id (an
/// infoCode `1` and post 1), the id with `-1`, `-2`… until no infoCode is.
/// `is_info_code` says whether some post has that infoCode.
pub fn file_stem(
    post: &PostRow,
    is_info_code: &dyn Fn(&str) -> bool,
) -> Result<String, ExportError> {
    if let Some(code) = post.info_code.as_deref().filter(|c| {
        !c.is_empty()
            && c.len() <= MAX_NAME_PART
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return Ok(code.to_string());
    }
    let id = post.id.to_string();
    std::iter::once(id.clone())
        .chain((1..100).map(|k| format!("{id}-{k}")))
        .find(|stem| !is_info_code(stem))
        .ok_or_else(|| ExportError::Data(format!("post {}: no free file name", post.id)))
}

/// The post's file name and content. `is_info_code` says whether some post
/// has a given infoCode (see [`file_stem`]).
pub fn render(
    env: &Environment<'_>,
    post: &PostRow,
    story: &[StoryPost],
    site: &str,
    tz: Tz,
    is_info_code: &dyn Fn(&str) -> bool,
) -> Result<(String, String), ExportError> {
    let when = post
        .published_at
        .as_deref()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .or_else(|| {
            DateTime::parse_from_rfc3339(&post.fetched_at)
                .ok()
                .map(|d| d.with_timezone(&tz).fixed_offset())
        })
        .ok_or_else(|| ExportError::Data(format!("post {} has no usable date", post.id)))?;
    let name = format!(
        "{}-{}.md",
        when.format("%Y-%m-%d"),
        file_stem(post, is_info_code)?
    );
    let media = post.origin.as_deref().unwrap_or(&post.source_name);
    let content_html = match (&post.content_html, &post.summary) {
        (Some(h), _) => h.clone(),
        (None, Some(s)) => format!("<p>{}</p>", html_escape(s)),
        (None, None) => String::new(),
    };
    let md = |s: Option<&str>| markdown_text(s.unwrap_or(""));
    let vars = PostVars {
        id: post.id,
        title: post.title.as_deref().unwrap_or(""),
        date: when.format("%Y-%m-%d %H:%M:%S %z").to_string(),
        category: category(post),
        media: markdown_text(media),
        tags: format!("{media}新闻"),
        content_html: inert_body(&content_html),
        content_text: md(post.content_text.as_deref()),
        summary: md(post.summary.as_deref()),
        url: post
            .url
            .as_deref()
            .unwrap_or("")
            .replace('{', "%7B")
            .replace('}', "%7D"),
        site,
        info_code: post.info_code.as_deref().unwrap_or(""),
        origin: md(post.origin.as_deref()),
        author: md(post.author.as_deref()),
        source: &post.source,
        source_name: markdown_text(&post.source_name),
        published_at: post.published_at.as_deref().unwrap_or(""),
        updated_at: post.updated_at.as_deref().unwrap_or(""),
        enclosures: post
            .enclosures
            .iter()
            .map(|e| EnclosureVars {
                url: e.url.replace('{', "%7B").replace('}', "%7D"),
                mime: e.mime.clone(),
                length: e.length,
            })
            .collect(),
        story_outlets: {
            let mut names: Vec<String> = Vec::new();
            for p in story.iter().filter(|p| p.id != post.id) {
                let name = markdown_text(&p.source_name);
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            names
        },
        story_posts: story
            .iter()
            .filter(|p| p.id != post.id)
            .map(|p| StoryPostVars {
                outlet: markdown_text(&p.source_name),
                title: md(p.title.as_deref()),
                url: link_url(p.url.as_deref().unwrap_or("")),
                published_at: p.published_at.clone().unwrap_or_default(),
            })
            .collect(),
    };
    let text = env
        .get_template("post")
        .and_then(|t| t.render(minijinja::value::Serde(&vars)))
        .map_err(|e| ExportError::Template(format!("post {}: {e}", post.id)))?;
    Ok((name, text))
}

/// A URL for a Markdown link's target: http(s) only (anything else gives
/// ``), with the characters that would end the link, open Liquid or break
/// out of the line percent-encoded.
pub fn link_url(url: &str) -> String {
    let lower = url.trim_start().to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return String::new();
    }
    url.trim()
        .chars()
        .map(|c| match c {
            '(' | ')' | '<' | '>' | '{' | '}' | '[' | ']' | '"' | '\\' | '`' => {
                format!("%{:02X}", c as u32)
            }
            c if c.is_whitespace() || c.is_control() => {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
            c => c.to_string(),
        })
        .collect()
}

/// Elements kramdown reads as the start of a block of HTML, whose content
/// it then leaves alone.
const KRAMDOWN_BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "div",
    "dl",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
];

/// Stored HTML as a post body Jekyll leaves alone: block HTML (a body whose
/// top level is not all blocks, such as plain text or inline markup, is
/// wrapped in a `<div>`, or kramdown would read Markdown and attribute
/// lists in it), and no `{{` or `{%` (their `{` written `&#123;`, which the
/// browser shows as `{` and Liquid does not see).
pub fn inert_body(html: &str) -> String {
    let body = if html.trim().is_empty() || all_blocks(html) {
        html.to_string()
    } else {
        format!("<div>{html}</div>")
    };
    break_liquid(&body, "&#123;")
}

/// Whether every top-level node of `html` is an element kramdown reads as
/// block HTML (whitespace between them aside).
fn all_blocks(html: &str) -> bool {
    let doc = scraper::Html::parse_fragment(html);
    doc.root_element().children().all(|n| match n.value() {
        scraper::Node::Element(e) => KRAMDOWN_BLOCKS.contains(&e.name()),
        scraper::Node::Text(t) => t.trim().is_empty(),
        scraper::Node::Comment(_) => true,
        _ => false,
    })
}

/// `s` with every `{` that would open a Liquid tag or output (`{{`, `{%`)
/// replaced by `brace`.
fn break_liquid(s: &str, brace: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' && matches!(chars.peek(), Some('{' | '%')) {
            out.push_str(brace);
        } else {
            out.push(c);
        }
    }
    out
}

/// Text for a Markdown body: the characters that make links, HTML, code,
/// emphasis and tables backslash-escaped, line breaks made spaces, and
/// braces written as HTML entities (so neither Liquid nor kramdown's
/// attribute lists see them). Text without them comes out as it was.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '[' | ']' | '<' | '>' | '*' | '_' | '`' | '|' | '$' | '!' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `DIR/<category>.html` for a category, titled as the seed titled it.
pub fn category_page(category: &str) -> String {
    let title = yaml_plain(&python_title(category));
    let category = yaml_plain(category);
    format!("---\nlayout: category\ntitle: {title}\ncategory: {category}\n---")
}

/// Python's `str.title()`: the first cased character of each run of cased
/// characters upper-cased, the rest lower-cased; digits and CJK characters
/// end a run, so `21shijijingjibaodao` becomes `21Shijijingjibaodao`.
fn python_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if in_word {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        in_word = c.is_lowercase() || c.is_uppercase();
    }
    out
}

/// Writes posts one by one (see [`JekyllWriter::post`]) and the category pages at the end.
pub struct JekyllWriter {
    env: Environment<'static>,
    out: PathBuf,
    site: String,
    tz: Tz,
    categories: BTreeSet<String>,
    pub summary: JekyllSummary,
    /// The first file that could not be written (counted in
    /// `summary.failed` too): unlike a post that cannot be rendered, it may
    /// work next time, so the continuous export tries the round again.
    pub io_error: Option<ExportError>,
}

impl JekyllWriter {
    pub fn new(
        template: &str,
        out: &Path,
        site: &str,
        tz: Tz,
    ) -> Result<JekyllWriter, ExportError> {
        std::fs::create_dir_all(out).map_err(|e| ExportError::io(out, e))?;
        Ok(JekyllWriter {
            env: environment(template)?,
            out: out.to_path_buf(),
            site: site.to_string(),
            tz,
            categories: BTreeSet::new(),
            summary: JekyllSummary::default(),
            io_error: None,
        })
    }

    /// Writes one post (with the other posts of its `story`, for
    /// `--one-per-story`; none otherwise). A post that cannot be rendered
    /// or written is reported (at ERROR, with its id) and counted in
    /// `summary.failed`; the export goes on with the next.
    pub fn post(
        &mut self,
        post: &PostRow,
        story: &[StoryPost],
        is_info_code: &dyn Fn(&str) -> bool,
    ) {
        let written = render(&self.env, post, story, &self.site, self.tz, is_info_code)
            .and_then(|(name, text)| write_if_changed(&self.out.join(name), text.as_bytes()));
        match written {
            Ok(true) => self.summary.written += 1,
            Ok(false) => self.summary.unchanged += 1,
            Err(e) => {
                tracing::error!(post = post.id, error = %e, "post not exported");
                self.summary.failed += 1;
                if matches!(e, ExportError::Io { .. }) && self.io_error.is_none() {
                    self.io_error = Some(e);
                }
                return;
            }
        }
        self.categories.insert(category(post));
    }

    /// Writes `dir/<category>.html` for every category exported.
    pub fn category_pages(&mut self, dir: &Path) -> Result<(), ExportError> {
        std::fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
        for c in &self.categories {
            if write_if_changed(&dir.join(format!("{c}.html")), category_page(c).as_bytes())? {
                self.summary.category_pages_written += 1;
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` through a temp file and a rename, unless the
/// file already holds exactly those bytes. Returns whether it wrote. The
/// temp file is created exclusively (`O_EXCL`, a random name) in the same
/// directory: nothing already there, a symlink included, is written through.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, ExportError> {
    use std::io::Write;
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".newscrawl-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| ExportError::io(dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| ExportError::io(tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| ExportError::io(path, e.error))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> PostRow {
        PostRow {
            story_id: None,
            id: 7,
            source: "yaowen".into(),
            source_name: "要闻精华".into(),
            info_code: Some("202201102242232593".into()),
            url: Some(
                "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201102242232593"
                    .into(),
            ),
            canonical_url: "x".into(),
            guid: None,
            title: Some("标题".into()),
            author: None,
            summary: Some("摘要".into()),
            content_html: Some("<p>正文</p>".into()),
            content_text: Some("正文".into()),
            origin: Some("央视新闻客户端".into()),
            published_at: Some("2022-01-10T16:57:30+08:00".into()),
            updated_at: None,
            fetched_at: "2022-01-10T09:00:00Z".into(),
            article_state: Some("done".into()),
            article_attempts: 1,
            article_next_at: None,
            article_via: Some("yaowen".into()),
            published_utc: Some("2022-01-10T08:57:30Z".into()),
            sources: vec!["yaowen".into()],
            enclosures: Vec::new(),
        }
    }

    #[test]
    fn bodies_are_block_html_without_liquid() {
        // The seed's shape (all blocks) is left as it is.
        let seed = "<p>　　第一段</p><p class=\"em_media\">（文章来源：央视新闻客户端）</p>";
        assert_eq!(inert_body(seed), seed);
        assert_eq!(
            inert_body("<h2>t</h2><ul><li>a</li></ul><table><tr><td>1</td></tr></table>"),
            "<h2>t</h2><ul><li>a</li></ul><table><tr><td>1</td></tr></table>"
        );
        // Text or inline markup at the top level is wrapped.
        assert_eq!(
            inert_body("a [x](javascript:y)"),
            "<div>a [x](javascript:y)</div>"
        );
        assert_eq!(inert_body("<p>a</p>tail"), "<div><p>a</p>tail</div>");
        assert_eq!(inert_body("<b>b</b>"), "<div><b>b</b></div>");
        assert_eq!(inert_body(""), "");
        // Liquid's delimiters are broken up, whatever their number.
        assert_eq!(
            inert_body("<p>{{ site.time }} {%bogus%} {{{x}}} {-}</p>"),
            "<p>&#123;{ site.time }} &#123;%bogus%} &#123;&#123;{x}}} {-}</p>"
        );
    }

    #[test]
    fn markdown_text_escapes_what_acts() {
        assert_eq!(markdown_text("央视新闻客户端"), "央视新闻客户端");
        assert_eq!(
            markdown_text("x](javascript:a)[y <b> {: a} *e*\n#"),
            "x\\](javascript:a)\\[y \\<b\\> &#123;: a&#125; \\*e\\* \\#"
        );
    }

    #[test]
    fn file_names_are_safe_short_and_never_shared() {
        let mut p = post();
        let none = |_: &str| false;
        assert_eq!(file_stem(&p, &none).unwrap(), "202201102242232593");
        p.info_code = Some("9".repeat(300));
        assert_eq!(file_stem(&p, &none).unwrap(), "7");
        p.info_code = Some("../etc".into());
        assert_eq!(file_stem(&p, &none).unwrap(), "7");
        p.info_code = None;
        assert_eq!(file_stem(&p, &|c: &str| c == "7").unwrap(), "7-1");
        assert_eq!(
            file_stem(&p, &|c: &str| c == "7" || c == "7-1").unwrap(),
            "7-2"
        );
        // A long category is cut and told apart by a hash.
        p.origin = Some(
            "中国证券监督管理委员会新闻发布与信息公开办公室关于资本市场改革发展情况的通报全文"
                .into(),
        );
        let c = category(&p);
        assert!(c.len() <= MAX_NAME_PART, "{c}");
        p.origin = Some(
            "中国证券监督管理委员会新闻发布与信息公开办公室关于资本市场改革发展情况的通报摘要"
                .into(),
        );
        assert_ne!(category(&p), c);
    }

    #[test]
    fn writes_through_no_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let target = dir.path().join("post.md");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        // A link planted where a predictable temp file would go.
        let planted = dir
            .path()
            .join(format!(".post.md.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        assert!(write_if_changed(&target, b"new").unwrap());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(
            !std::fs::symlink_metadata(&target)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // No temp file is left behind (the planted link is still there).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    /// A story's other posts are linked only over http(s), with nothing
    /// that could end the Markdown link or open a Liquid tag.
    #[test]
    fn story_links_are_inert() {
        assert_eq!(link_url("javascript:alert(1)"), "");
        assert_eq!(link_url(" JavaScript:alert(1)"), "");
        assert_eq!(link_url("data:text/html,x"), "");
        assert_eq!(
            link_url("https://a.example/p?x=(1)&y={{site}} [z]"),
            "https://a.example/p?x=%281%29&y=%7B%7Bsite%7D%7D%20%5Bz%5D"
        );
        assert_eq!(
            link_url("http://a.example/\n<b>"),
            "http://a.example/%0A%3Cb%3E"
        );
        let mut p = post();
        p.id = 7;
        let other = StoryPost {
            id: 8,
            source: "b".into(),
            source_name: "B*站*".into(),
            title: Some("[x](javascript:1)".into()),
            url: Some("javascript:alert(1)".into()),
            published_at: None,
            fetched_at: "2024-01-24T00:00:00Z".into(),
        };
        let env = environment(DEFAULT_TEMPLATE).unwrap();
        let (_, text) = render(&env, &p, &[other], "", chrono_tz::Asia::Shanghai, &|_| {
            false
        })
        .unwrap();
        let also = text.lines().find(|l| l.starts_with("另见：")).unwrap();
        assert_eq!(also, "另见：B\\*站\\*");
    }

    #[test]
    fn renders_the_seed_shape() {
        let env = environment(DEFAULT_TEMPLATE).unwrap();
        let (name, text) = render(
            &env,
            &post(),
            &[],
            "//finews.withounder.com",
            chrono_tz::Asia::Shanghai,
            &|_| false,
        )
        .unwrap();
        assert_eq!(name, "2022-01-10-202201102242232593.md");
        assert_eq!(
            text,
            "---\nlayout: post\ntitle: \"标题\"\ndate: 2022-01-10 16:57:30 +0800\ncategories: yangshixinwenkehuduan\ntags: 央视新闻客户端新闻\n---\n<p>正文</p>\n\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201102242232593>\n\n[返回央视新闻客户端新闻](//finews.withounder.com/category/yangshixinwenkehuduan.html)｜[返回首页](//finews.withounder.com/)"
        );
    }

    #[test]
    fn templates_see_enclosures_and_the_default_shape_does_not_change() {
        let mut p = post();
        p.enclosures = vec![
            crate::store::EnclosureRow {
                url: "https://media.example.cn/a/{{site.time}}.mp3".into(),
                mime: Some("audio/mpeg".into()),
                length: Some(31001234),
            },
            crate::store::EnclosureRow {
                url: "https://media.example.cn/b.jpg".into(),
                mime: None,
                length: None,
            },
        ];
        let env = environment(
            "{% for e in enclosures %}[{{ e.url }}|{{ e.type or '-' }}|{{ e.length or '-' }}]{% endfor %}",
        )
        .unwrap();
        let (_, text) = render(&env, &p, &[], "", chrono_tz::Asia::Shanghai, &|_| false).unwrap();
        assert_eq!(
            text,
            "[https://media.example.cn/a/%7B%7Bsite.time%7D%7D.mp3|audio/mpeg|31001234]\
             [https://media.example.cn/b.jpg|-|-]"
        );
        let seed = environment(DEFAULT_TEMPLATE).unwrap();
        let with = render(&seed, &p, &[], "", chrono_tz::Asia::Shanghai, &|_| false).unwrap();
        let without = render(&seed, &post(), &[], "", chrono_tz::Asia::Shanghai, &|_| {
            false
        })
        .unwrap();
        assert_eq!(with, without);
    }

    #[test]
    fn no_origin_uses_the_source_and_no_date_uses_fetched_at() {
        let mut p = post();
        p.origin = None;
        p.info_code = None;
        p.published_at = None;
        p.url = None;
        let env = environment(DEFAULT_TEMPLATE).unwrap();
        let (name, text) =
            render(&env, &p, &[], "", chrono_tz::Asia::Shanghai, &|_| false).unwrap();
        assert_eq!(name, "2022-01-10-7.md");
        assert!(
            text.contains(
                "date: 2022-01-10 17:00:00 +0800\ncategories: yaowen\ntags: 要闻精华新闻\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "<p>正文</p>\n\n[返回要闻精华新闻](/category/yaowen.html)｜[返回首页](/)"
            ),
            "{text}"
        );
    }

    #[test]
    fn titles_read_back_through_a_yaml_parser() {
        let titles = [
            "He said \"buy\"",
            "back\\slash",
            "key: value",
            "- leading dash",
            "# not a comment",
            "line one\nline two",
            "tab\there",
            "'single' quotes",
            "null",
            "控制\u{7}字符",
            "",
        ];
        for t in titles {
            let doc = format!("title: {}\ntags: {}\n", yaml_quoted(t), yaml_plain(t));
            let parsed = yaml_rust2::YamlLoader::load_from_str(&doc)
                .unwrap_or_else(|e| panic!("{t:?}: {e}"));
            assert_eq!(parsed[0]["title"].as_str(), Some(t), "{doc}");
            assert_eq!(parsed[0]["tags"].as_str(), Some(t), "{doc}");
        }
        assert_eq!(yaml_plain("央视新闻客户端新闻"), "央视新闻客户端新闻");
    }

    #[test]
    fn category_pages_capitalize() {
        assert_eq!(
            category_page("yangshixinwenkehuduan"),
            "---\nlayout: category\ntitle: Yangshixinwenkehuduan\ncategory: yangshixinwenkehuduan\n---"
        );
        // What Python's str.title() gives, checked with CPython 3.11.
        for (c, t) in [
            ("21shijijingjibaodao", "21Shijijingjibaodao"),
            ("a1b2c", "A1B2C"),
            ("xinhua_net", "Xinhua_Net"),
            ("ABC", "Abc"),
            ("zhong文guo", "Zhong文Guo"),
            ("", ""),
        ] {
            assert_eq!(python_title(c), t, "{c}");
        }
    }

    #[test]
    fn writes_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.md");
        assert!(write_if_changed(&p, b"one").unwrap());
        let before = std::fs::metadata(&p).unwrap().modified().unwrap();
        assert!(!write_if_changed(&p, b"one").unwrap());
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), before);
        assert!(write_if_changed(&p, b"two").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp files left"
        );
    }
}
