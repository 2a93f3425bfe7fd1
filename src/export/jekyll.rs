//! The Jekyll exporter: one Markdown post per stored post, in the seed
//! system's format byte for byte (or a template of the user's), and
//! optionally one category page per category. Files are written atomically
//! (temp file + rename), and a file whose content would not change is not
//! touched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use chrono_tz::Tz;
use minijinja::Environment;
use serde::Serialize;

use super::ExportError;
use crate::slug::slugify;
use crate::store::PostRow;

/// The built-in post template: the seed system's shape.
pub const DEFAULT_TEMPLATE: &str = include_str!("post.md.j2");

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JekyllSummary {
    pub written: usize,
    pub unchanged: usize,
    pub category_pages_written: usize,
}

/// The variables a post template sees.
#[derive(Debug, Serialize)]
pub struct PostVars<'a> {
    pub id: i64,
    pub title: &'a str,
    /// `YYYY-MM-DD HH:MM:SS +ZZZZ`, in the source's offset.
    pub date: String,
    pub category: String,
    /// The origin, or the source's name.
    pub media: &'a str,
    /// `<media>新闻`.
    pub tags: String,
    pub content_html: String,
    pub content_text: &'a str,
    pub summary: &'a str,
    pub url: &'a str,
    pub site: &'a str,
    pub info_code: &'a str,
    pub origin: &'a str,
    pub author: &'a str,
    pub source: &'a str,
    pub source_name: &'a str,
    pub published_at: &'a str,
    pub updated_at: &'a str,
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

/// The category of a post: its origin's slug, else its source's slug.
pub fn category(post: &PostRow) -> String {
    post.origin
        .as_deref()
        .map(slugify)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| post.source.clone())
}

/// The post's file name and content.
pub fn render(
    env: &Environment<'_>,
    post: &PostRow,
    site: &str,
    tz: Tz,
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
        post.info_code
            .clone()
            .unwrap_or_else(|| post.id.to_string())
    );
    let media = post.origin.as_deref().unwrap_or(&post.source_name);
    let content_html = match (&post.content_html, &post.summary) {
        (Some(h), _) => h.clone(),
        (None, Some(s)) => format!("<p>{}</p>", html_escape(s)),
        (None, None) => String::new(),
    };
    let vars = PostVars {
        id: post.id,
        title: post.title.as_deref().unwrap_or(""),
        date: when.format("%Y-%m-%d %H:%M:%S %z").to_string(),
        category: category(post),
        media,
        tags: format!("{media}新闻"),
        content_html,
        content_text: post.content_text.as_deref().unwrap_or(""),
        summary: post.summary.as_deref().unwrap_or(""),
        url: post.url.as_deref().unwrap_or(""),
        site,
        info_code: post.info_code.as_deref().unwrap_or(""),
        origin: post.origin.as_deref().unwrap_or(""),
        author: post.author.as_deref().unwrap_or(""),
        source: &post.source,
        source_name: &post.source_name,
        published_at: post.published_at.as_deref().unwrap_or(""),
        updated_at: post.updated_at.as_deref().unwrap_or(""),
    };
    let text = env
        .get_template("post")
        .and_then(|t| t.render(minijinja::value::Serde(&vars)))
        .map_err(|e| ExportError::Template(format!("post {}: {e}", post.id)))?;
    Ok((name, text))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `DIR/<category>.html` for a category, titled as the seed titled it.
pub fn category_page(category: &str) -> String {
    let title = python_title(category);
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
        })
    }

    pub fn post(&mut self, post: &PostRow) -> Result<(), ExportError> {
        let (name, text) = render(&self.env, post, &self.site, self.tz)?;
        self.categories.insert(category(post));
        if write_if_changed(&self.out.join(name), text.as_bytes())? {
            self.summary.written += 1;
        } else {
            self.summary.unchanged += 1;
        }
        Ok(())
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
/// file already holds exactly those bytes. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, ExportError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| ExportError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ExportError::io(path, e)
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> PostRow {
        PostRow {
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
            sources: vec!["yaowen".into()],
        }
    }

    #[test]
    fn renders_the_seed_shape() {
        let env = environment(DEFAULT_TEMPLATE).unwrap();
        let (name, text) = render(
            &env,
            &post(),
            "//finews.withounder.com",
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
        assert_eq!(name, "2022-01-10-202201102242232593.md");
        assert_eq!(
            text,
            "---\nlayout: post\ntitle: \"标题\"\ndate: 2022-01-10 16:57:30 +0800\ncategories: yangshixinwenkehuduan\ntags: 央视新闻客户端新闻\n---\n<p>正文</p>\n\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201102242232593>\n\n[返回央视新闻客户端新闻](//finews.withounder.com/category/yangshixinwenkehuduan.html)｜[返回首页](//finews.withounder.com/)"
        );
    }

    #[test]
    fn no_origin_uses_the_source_and_no_date_uses_fetched_at() {
        let mut p = post();
        p.origin = None;
        p.info_code = None;
        p.published_at = None;
        p.url = None;
        let env = environment(DEFAULT_TEMPLATE).unwrap();
        let (name, text) = render(&env, &p, "", chrono_tz::Asia::Shanghai).unwrap();
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
