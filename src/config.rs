//! Configuration: reads the main TOML file and every `sources.d/*.toml` beside
//! it (in name order), rejects unknown keys, and turns the raw text into a
//! checked [`Config`]: parsed cron schedules, URLs, time zone, compiled regexes
//! and CSS selectors. Every error names `file:line` and the key at fault.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use regex::Regex;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::error::ConfigError;
use crate::slug::slugify;

/// The contract's default `id_pattern`: the first group that matched is the infoCode.
pub const DEFAULT_ID_PATTERN: &str = r"infoCode=(?:NW)?(\d+)|[/,](\d{18})\.html";
static DEFAULT_ID_REGEX: std::sync::LazyLock<Arc<Regex>> = std::sync::LazyLock::new(|| {
    Arc::new(Regex::new(DEFAULT_ID_PATTERN).expect("the default id_pattern compiles"))
});

/// Query parameters dropped from canonical URLs besides every `utm_*`.
pub const DEFAULT_TRACKING_PARAMS: &[&str] = &["fbclid", "gclid", "yclid", "mc_cid", "mc_eid"];

/// A checked configuration, ready to crawl with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The main file this configuration was read from.
    pub path: PathBuf,
    pub database: PathBuf,
    pub crawler: CrawlerConfig,
    pub export: ExportConfig,
    /// `[metrics] listen`: where the daemon serves Prometheus metrics.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `[retention] older_than`: the daemon prunes posts older than this, daily.
    pub retention: Option<Duration>,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CrawlerConfig {
    pub user_agent: String,
    pub concurrency: usize,
    pub per_host: usize,
    pub timeout: Duration,
    pub max_body: u64,
    pub schedule: Schedule,
    pub timezone: Tz,
    pub tracking_params: Vec<String>,
    /// Fetch article links that resolve to loopback, private or link-local addresses.
    pub allow_private_networks: bool,
    /// How many times an article fetch is tried before the post keeps its feed text for good.
    pub article_attempts: u32,
    /// The least time between the starts of two requests to one host.
    pub host_delay: Duration,
    /// The longest a failing source waits between polls.
    pub max_backoff: Duration,
    /// The most items read from one document (the newest are kept).
    pub max_items: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportConfig {
    /// `[export.jekyll] site`: the site prefix for links in exported posts.
    pub jekyll_site: String,
    /// `[export.jekyll] template`: a post template replacing the built-in one.
    pub jekyll_template: Option<PathBuf>,
    /// `[export.jekyll] out`: the `_posts` directory the daemon and
    /// `crawl --once` keep current (continuous export); `None`: no export
    /// but `newscrawl export jekyll`.
    pub jekyll_out: Option<PathBuf>,
    /// `[export.jekyll] category_pages`: where the continuous export writes
    /// `<category>.html` for each category it exports.
    pub jekyll_category_pages: Option<PathBuf>,
}

/// A validated cron schedule (5 fields, or 6 with seconds first).
#[derive(Debug, Clone)]
pub struct Schedule {
    pub expr: String,
    /// Shared: a parsed `Cron` is about 5 KiB.
    pub cron: Arc<croner::Cron>,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Schedule {
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let fields = expr.split_whitespace().count();
        if !(fields == 5 || fields == 6) {
            return Err(format!(
                "invalid cron expression {expr:?}: expected 5 fields (or 6 with seconds first), found {fields}"
            ));
        }
        let cron = croner::parser::CronParser::new()
            .parse(expr)
            .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))?;
        Ok(Schedule {
            expr: expr.to_string(),
            cron: Arc::new(cron),
        })
    }
}

/// What to do with an item's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// Store what the feed says.
    None,
    /// Fetch the item's link as the article page.
    Link,
    /// Fetch this URL template, with `{info_code}`, `{guid}` and `{url}` filled in
    /// (an article endpoint keyed by infoCode).
    Template(String),
}

impl Follow {
    /// The article URL for an item, or `None` when there is nothing to fetch
    /// (no following, or the template needs a value the item lacks).
    pub fn article_url(
        &self,
        link: Option<&str>,
        info_code: Option<&str>,
        guid: Option<&str>,
    ) -> Option<url::Url> {
        let text = match self {
            Follow::None => return None,
            Follow::Link => link?.to_string(),
            Follow::Template(t) => {
                // One pass, each value URL-encoded: a value never makes a
                // placeholder or a delimiter of its own.
                let enc = |v: &str| -> String {
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
                };
                let mut out = String::with_capacity(t.len() + 64);
                let mut rest = t.as_str();
                while let Some(i) = rest.find('{') {
                    out.push_str(rest.get(..i)?);
                    let after = rest.get(i..)?;
                    let (value, len) = if after.starts_with("{info_code}") {
                        (enc(info_code?), "{info_code}".len())
                    } else if after.starts_with("{guid}") {
                        (enc(guid?), "{guid}".len())
                    } else if after.starts_with("{url}") {
                        (enc(link?), "{url}".len())
                    } else {
                        ("{".to_string(), 1)
                    };
                    out.push_str(&value);
                    rest = after.get(len..)?;
                }
                out.push_str(rest);
                out
            }
        };
        let url = url::Url::parse(&text).ok()?;
        matches!(url.scheme(), "http" | "https").then_some(url)
    }
}

/// A CSS selector with the text it was compiled from.
#[derive(Debug, Clone)]
pub struct Css {
    pub text: String,
    pub selector: scraper::Selector,
}

impl PartialEq for Css {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// `[sources.article]`: where the parts of an article page are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArticleSelectors {
    pub title: Option<Css>,
    pub published: Option<Css>,
    pub body: Option<Css>,
    pub origin: Option<Css>,
    pub remove: Vec<Css>,
    /// For article endpoints that answer JSON (or JSONP): JSON pointers to
    /// the HTML, tried in order (`["/content", "/text"]`).
    pub json: Vec<String>,
}

/// What a source's URL answers with (`kind`), and so how it is fetched
/// and its items read. A new kind of source is a variant here and a
/// module that reads it; the compiler then names every `match` to extend
/// (the `Accept` header and the parser in `crawl`, the configuration).
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// RSS 0.9x/1.0/2.0, Atom or JSON Feed (`kind = "feed"`, the default).
    Feed,
    /// A JSON or JSONP news list, read by a mapping (`kind = "json"`,
    /// `[sources.items]`; [`crate::jsonlist`]).
    JsonList(Box<crate::jsonlist::ItemsMapping>),
}

/// One configured source.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub slug: String,
    pub url: Url,
    pub schedule: Schedule,
    pub enabled: bool,
    /// Shared, not cloned: each `Regex` clone grows its own match cache
    /// (up to megabytes), and a daemon holds thousands of sources.
    pub id_pattern: Arc<Regex>,
    pub follow: Follow,
    pub article: ArticleSelectors,
    /// What the URL answers with, and so how its items are read.
    pub kind: SourceKind,
    /// `allow_private_networks`: this source's article links may reach
    /// loopback and private addresses. Only configuration lifts the guard.
    pub allow_private_networks: bool,
    /// `file:line` of the `[[sources]]` table, for messages.
    pub defined_at: String,
}

impl PartialEq for Source {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
            && self.slug == o.slug
            && self.url == o.url
            && self.schedule == o.schedule
            && self.enabled == o.enabled
            && self.id_pattern.as_str() == o.id_pattern.as_str()
            && self.follow == o.follow
            && self.article == o.article
            && self.kind == o.kind
            && self.allow_private_networks == o.allow_private_networks
    }
}

// ---------------------------------------------------------------------------
// Raw, as written.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMain {
    database: Option<Spanned<String>>,
    #[serde(default)]
    crawler: RawCrawler,
    #[serde(default)]
    export: RawExport,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    sources: Vec<Spanned<RawSource>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    older_than: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDropIn {
    #[serde(default)]
    sources: Vec<Spanned<RawSource>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCrawler {
    user_agent: Option<String>,
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    max_body: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    tracking_params: Option<Vec<String>>,
    allow_private_networks: Option<bool>,
    article_attempts: Option<Spanned<i64>>,
    host_delay: Option<Spanned<String>>,
    max_backoff: Option<Spanned<String>>,
    max_items: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawExport {
    #[serde(default)]
    jekyll: RawJekyll,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawJekyll {
    site: Option<String>,
    template: Option<Spanned<String>>,
    out: Option<Spanned<String>>,
    category_pages: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    slug: Option<Spanned<String>>,
    url: Spanned<String>,
    schedule: Option<Spanned<String>>,
    enabled: Option<bool>,
    id_pattern: Option<Spanned<String>>,
    follow: Option<Spanned<String>>,
    article: Option<RawArticle>,
    kind: Option<Spanned<String>>,
    items: Option<Spanned<RawItems>>,
    allow_private_networks: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItems {
    path: Spanned<String>,
    id: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    link: Option<Spanned<String>>,
    published: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
    origin: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArticle {
    title: Option<Spanned<String>>,
    published: Option<Spanned<String>>,
    body: Option<Spanned<String>>,
    origin: Option<Spanned<String>>,
    #[serde(default)]
    remove: Vec<Spanned<String>>,
    /// One JSON pointer, or several tried in order.
    json: Option<Spanned<toml::Value>>,
}

// ---------------------------------------------------------------------------
// Loading.

/// Where the configuration is looked for when `--config` is absent (and
/// `$NEWSCRAWL_CONFIG` is unset): `config/newscrawl.toml` under the working
/// directory, else `/etc/newscrawl/newscrawl.toml`.
pub fn default_path() -> Result<PathBuf, ConfigError> {
    let candidates = [
        PathBuf::from("config/newscrawl.toml"),
        PathBuf::from("/etc/newscrawl/newscrawl.toml"),
    ];
    for c in &candidates {
        if c.is_file() {
            return Ok(c.clone());
        }
    }
    Err(ConfigError::NotFound(
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

/// One TOML file's text, for turning byte spans into `file:line`.
struct SourceFile {
    path: PathBuf,
    text: String,
}

impl SourceFile {
    fn read(path: &Path) -> Result<SourceFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(SourceFile {
            path: path.to_path_buf(),
            text,
        })
    }

    fn location(&self, span: &Range<usize>) -> String {
        let upto = self.text.get(..span.start).unwrap_or(&self.text);
        let line = upto.matches('\n').count() + 1;
        format!("{}:{}", self.path.display(), line)
    }

    fn err(&self, span: &Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            location: self.location(span),
            message: message.into(),
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(&self.text).map_err(|e| {
            let location = match e.span() {
                Some(span) => {
                    let upto = self.text.get(..span.start).unwrap_or(&self.text);
                    let line = upto.matches('\n').count() + 1;
                    let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!("{}:{}:{}", self.path.display(), line, col)
                }
                None => self.path.display().to_string(),
            };
            ConfigError::Invalid {
                location,
                message: e.message().trim().to_string(),
            }
        })
    }
}

/// Reads and checks the configuration at `path` and its `sources.d/`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_from(SourceFile::read(path)?, true)
}

/// Checks configuration text as if read from `path`, without its
/// `sources.d/` (for tools and fuzzing).
pub fn parse_text(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let file = SourceFile {
        path: path.to_path_buf(),
        text: text.to_string(),
    };
    load_from(file, false)
}

/// The database when the configuration names none: `newscrawl.db` in the
/// service's state directory when systemd gives one (`StateDirectory=` sets
/// `$STATE_DIRECTORY`, a colon-separated list: the first), else beside the
/// configuration file.
fn default_database(config_dir: &Path, state_directory: Option<&std::ffi::OsStr>) -> PathBuf {
    let state = state_directory
        .and_then(|s| s.to_str())
        .and_then(|s| s.split(':').next())
        .filter(|s| !s.is_empty());
    match state {
        Some(dir) => Path::new(dir).join("newscrawl.db"),
        None => config_dir.join("newscrawl.db"),
    }
}

fn load_from(main_file: SourceFile, dropins: bool) -> Result<Config, ConfigError> {
    let path = main_file.path.clone();
    let path = path.as_path();
    let raw: RawMain = main_file.parse()?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };

    let crawler = crawler_config(&main_file, raw.crawler)?;
    let database = match &raw.database {
        Some(db) if db.get_ref().trim().is_empty() => {
            return Err(main_file.err(&db.span(), "database: must not be empty"));
        }
        Some(db) => base.join(db.get_ref()),
        None => default_database(&base, std::env::var_os("STATE_DIRECTORY").as_deref()),
    };

    let mut sources = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut add = |file: &SourceFile, raws: Vec<Spanned<RawSource>>| -> Result<(), ConfigError> {
        for (i, raw) in raws.into_iter().enumerate() {
            let span = raw.span();
            let source = source_config(file, i, raw.into_inner(), &span, &crawler)?;
            if let Some(first) = seen.get(&source.slug) {
                return Err(file.err(
                    &span,
                    format!(
                        "sources[{i}].slug: duplicate slug {:?} (first defined at {first}); set a distinct `slug`",
                        source.slug
                    ),
                ));
            }
            seen.insert(source.slug.clone(), source.defined_at.clone());
            sources.push(source);
        }
        Ok(())
    };
    add(&main_file, raw.sources)?;

    let dropin_dir = base.join("sources.d");
    if dropins && dropin_dir.is_dir() {
        let entries = std::fs::read_dir(&dropin_dir).map_err(|source| ConfigError::Read {
            path: dropin_dir.clone(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        for f in files {
            let file = SourceFile::read(&f)?;
            let raw: RawDropIn = file.parse()?;
            add(&file, raw.sources)?;
        }
    }

    let metrics_listen = match &raw.metrics.listen {
        None => None,
        Some(l) => Some(l.get_ref().parse().map_err(|_| {
            main_file.err(
                &l.span(),
                format!(
                    "metrics.listen: {:?} is not an address like \"127.0.0.1:9464\"",
                    l.get_ref()
                ),
            )
        })?),
    };
    let retention = match &raw.retention.older_than {
        None => None,
        Some(o) => Some(
            parse_age(o.get_ref())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    main_file.err(
                        &o.span(),
                        format!(
                            "retention.older_than: {:?} is not an age: a number and a unit \
                             (s, min, h, d, w, mo, y), like \"90d\"",
                            o.get_ref()
                        ),
                    )
                })?,
        ),
    };

    let dir_key =
        |key: &str, v: &Option<Spanned<String>>| -> Result<Option<PathBuf>, ConfigError> {
            match v {
                Some(d) if d.get_ref().trim().is_empty() => {
                    Err(main_file.err(&d.span(), format!("export.jekyll.{key}: must not be empty")))
                }
                Some(d) => Ok(Some(base.join(d.get_ref()))),
                None => Ok(None),
            }
        };
    let jekyll_out = dir_key("out", &raw.export.jekyll.out)?;
    let jekyll_category_pages = dir_key("category_pages", &raw.export.jekyll.category_pages)?;
    if let (None, Some(c)) = (&jekyll_out, &raw.export.jekyll.category_pages) {
        return Err(main_file.err(
            &c.span(),
            "export.jekyll.category_pages: goes with export.jekyll.out (the continuous export)",
        ));
    }

    Ok(Config {
        path: path.to_path_buf(),
        database,
        metrics_listen,
        retention,
        crawler,
        export: ExportConfig {
            jekyll_site: raw.export.jekyll.site.unwrap_or_default(),
            jekyll_template: match &raw.export.jekyll.template {
                None => None,
                Some(t) => {
                    let p = base.join(t.get_ref());
                    if !p.is_file() {
                        return Err(main_file.err(
                            &t.span(),
                            format!("export.jekyll.template: no such file {}", p.display()),
                        ));
                    }
                    Some(p)
                }
            },
            jekyll_out,
            jekyll_category_pages,
        },
        sources,
    })
}

fn crawler_config(file: &SourceFile, raw: RawCrawler) -> Result<CrawlerConfig, ConfigError> {
    let positive = |v: &Option<Spanned<i64>>, key: &str, default: usize| match v {
        None => Ok(default),
        Some(v) => match usize::try_from(*v.get_ref()) {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(file.err(
                &v.span(),
                format!("crawler.{key}: must be a positive whole number"),
            )),
        },
    };
    let duration =
        |v: &Option<Spanned<String>>, key: &str, default: Duration, zero_ok: bool| match v {
            None => Ok(default),
            Some(t) => parse_duration(t.get_ref())
                .filter(|d| zero_ok || !d.is_zero())
                .ok_or_else(|| {
                    file.err(
                        &t.span(),
                        format!(
                            "crawler.{key}: {:?} is not a duration like \"30s\" or \"2m\"",
                            t.get_ref()
                        ),
                    )
                }),
        };
    let timeout = match &raw.timeout {
        None => Duration::from_secs(30),
        Some(t) => parse_duration(t.get_ref())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                file.err(
                    &t.span(),
                    format!(
                        "crawler.timeout: {:?} is not a duration like \"30s\" or \"2m\"",
                        t.get_ref()
                    ),
                )
            })?,
    };
    let max_body = match &raw.max_body {
        None => 16 * 1024 * 1024,
        Some(s) => parse_size(s.get_ref()).filter(|n| *n > 0).ok_or_else(|| {
            file.err(
                &s.span(),
                format!(
                    "crawler.max_body: {:?} is not a size like \"16MiB\"",
                    s.get_ref()
                ),
            )
        })?,
    };
    let schedule = match &raw.schedule {
        None => Schedule::parse("*/10 * * * *").map_err(|m| file.err(&(0..0), m))?,
        Some(s) => Schedule::parse(s.get_ref())
            .map_err(|m| file.err(&s.span(), format!("crawler.schedule: {m}")))?,
    };
    let timezone = match &raw.timezone {
        None => chrono_tz::Asia::Shanghai,
        Some(tz) => tz.get_ref().parse::<Tz>().map_err(|_| {
            file.err(
                &tz.span(),
                format!(
                    "crawler.timezone: unknown time zone {:?} (use an IANA name such as \"Asia/Shanghai\")",
                    tz.get_ref()
                ),
            )
        })?,
    };
    Ok(CrawlerConfig {
        user_agent: raw.user_agent.unwrap_or_else(default_user_agent),
        concurrency: positive(&raw.concurrency, "concurrency", 16)?,
        per_host: positive(&raw.per_host, "per_host", 2)?,
        timeout,
        max_body,
        schedule,
        timezone,
        tracking_params: raw.tracking_params.unwrap_or_else(|| {
            DEFAULT_TRACKING_PARAMS
                .iter()
                .map(|s| s.to_string())
                .collect()
        }),
        allow_private_networks: raw.allow_private_networks.unwrap_or(false),
        host_delay: duration(&raw.host_delay, "host_delay", Duration::ZERO, true)?,
        max_backoff: duration(
            &raw.max_backoff,
            "max_backoff",
            Duration::from_secs(6 * 3600),
            false,
        )?,
        article_attempts: positive(&raw.article_attempts, "article_attempts", 5)? as u32,
        max_items: positive(&raw.max_items, "max_items", DEFAULT_MAX_ITEMS)?,
    })
}

/// `crawler.max_items` when unset: far more than any real feed holds (the
/// largest real feeds list a few thousand), far fewer than a hostile one
/// can (a 7 MB feed holds 200,000 empty items).
pub const DEFAULT_MAX_ITEMS: usize = 10_000;

/// `Mozilla/5.0 (compatible; newscrawl/<version>; +<project URL>)`.
pub fn default_user_agent() -> String {
    format!(
        "Mozilla/5.0 (compatible; newscrawl/{}; +{})",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_HOMEPAGE")
    )
}

fn source_config(
    file: &SourceFile,
    index: usize,
    raw: RawSource,
    span: &Range<usize>,
    crawler: &CrawlerConfig,
) -> Result<Source, ConfigError> {
    let key = |k: &str| format!("sources[{index}].{k}");
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(file.err(
            &raw.name.span(),
            format!("{}: must not be empty", key("name")),
        ));
    }
    let slug = match &raw.slug {
        Some(s) => {
            let slug = s.get_ref().clone();
            let ok = !slug.is_empty()
                && slug
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !ok {
                return Err(file.err(
                    &s.span(),
                    format!(
                        "{}: {slug:?} must be non-empty lowercase ASCII letters, digits, '-' or '_'",
                        key("slug")
                    ),
                ));
            }
            slug
        }
        None => {
            let slug = slugify(&name);
            if slug.is_empty() {
                return Err(file.err(
                    &raw.name.span(),
                    format!("{}: {name:?} gives an empty slug; set `slug`", key("name")),
                ));
            }
            slug
        }
    };
    let url = Url::parse(raw.url.get_ref().trim()).map_err(|e| {
        file.err(
            &raw.url.span(),
            format!("{}: {:?} is not a URL: {e}", key("url"), raw.url.get_ref()),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(file.err(
            &raw.url.span(),
            format!(
                "{}: {:?} must be an http or https URL",
                key("url"),
                raw.url.get_ref()
            ),
        ));
    }
    let schedule = match &raw.schedule {
        None => crawler.schedule.clone(),
        Some(s) => Schedule::parse(s.get_ref())
            .map_err(|m| file.err(&s.span(), format!("{}: {m}", key("schedule"))))?,
    };
    let id_pattern = match &raw.id_pattern {
        // Compiled once and shared by every source that uses it.
        None => Arc::clone(&DEFAULT_ID_REGEX),
        Some(p) => {
            let re = Regex::new(p.get_ref()).map_err(|e| {
                file.err(
                    &p.span(),
                    format!("{}: invalid regex: {e}", key("id_pattern")),
                )
            })?;
            if re.captures_len() < 2 {
                return Err(file.err(
                    &p.span(),
                    format!(
                        "{}: needs at least one capture group for the infoCode",
                        key("id_pattern")
                    ),
                ));
            }
            Arc::new(re)
        }
    };
    let follow = match &raw.follow {
        None => Follow::None,
        Some(f) => match f.get_ref().as_str() {
            "none" => Follow::None,
            "link" => Follow::Link,
            template if template.contains("://") => {
                let sample = Follow::Template(template.to_string());
                if sample
                    .article_url(Some("http://example.org/a"), Some("1"), Some("g"))
                    .is_none()
                {
                    return Err(file.err(
                        &f.span(),
                        format!(
                            "{}: {template:?} does not make an http(s) URL",
                            key("follow")
                        ),
                    ));
                }
                sample
            }
            other => {
                return Err(file.err(
                    &f.span(),
                    format!(
                        "{}: {other:?} is not one of \"link\", \"none\" or a URL template with {{info_code}} or {{url}}",
                        key("follow")
                    ),
                ));
            }
        },
    };
    let article = match raw.article {
        None => ArticleSelectors::default(),
        Some(a) => {
            let css = |s: &Option<Spanned<String>>, k: &str| -> Result<Option<Css>, ConfigError> {
                s.as_ref()
                    .map(|s| compile_css(file, s, &key(&format!("article.{k}"))))
                    .transpose()
            };
            ArticleSelectors {
                title: css(&a.title, "title")?,
                published: css(&a.published, "published")?,
                body: css(&a.body, "body")?,
                origin: css(&a.origin, "origin")?,
                remove: a
                    .remove
                    .iter()
                    .map(|s| compile_css(file, s, &key("article.remove")))
                    .collect::<Result<_, _>>()?,
                json: match a.json {
                    None => Vec::new(),
                    Some(v) => {
                        let span = v.span();
                        let pointers: Option<Vec<String>> = match v.into_inner() {
                            toml::Value::String(p) => Some(vec![p]),
                            toml::Value::Array(a) => a
                                .into_iter()
                                .map(|p| p.as_str().map(str::to_string))
                                .collect(),
                            _ => None,
                        };
                        match pointers {
                            Some(ps) if ps.iter().all(|p| p.is_empty() || p.starts_with('/')) => ps,
                            _ => {
                                return Err(file.err(
                                    &span,
                                    format!(
                                        "{}: a JSON pointer (like \"/content\") or a list of them",
                                        key("article.json")
                                    ),
                                ));
                            }
                        }
                    }
                },
            }
        }
    };
    let kind = match (
        raw.kind.as_ref().map(|k| (k.get_ref().as_str(), k.span())),
        raw.items,
    ) {
        (None | Some(("feed", _)), None) => SourceKind::Feed,
        (None | Some(("feed", _)), Some(i)) => {
            return Err(file.err(
                &i.span(),
                format!("{}: only for kind = \"json\"", key("items")),
            ));
        }
        (Some(("json", span)), None) => {
            return Err(file.err(
                &span,
                format!(
                    "{}: kind = \"json\" needs a [sources.items] mapping",
                    key("kind")
                ),
            ));
        }
        (Some(("json", _)), Some(i)) => {
            SourceKind::JsonList(Box::new(items_mapping(file, &key, i)?))
        }
        (Some((other, span)), _) => {
            return Err(file.err(
                &span,
                format!(
                    "{}: {other:?} is not one of \"feed\", \"json\"",
                    key("kind")
                ),
            ));
        }
    };
    Ok(Source {
        name,
        slug,
        url,
        kind,
        schedule,
        enabled: raw.enabled.unwrap_or(true),
        id_pattern,
        follow,
        article,
        allow_private_networks: raw.allow_private_networks.unwrap_or(false),
        defined_at: file.location(span),
    })
}

fn items_mapping(
    file: &SourceFile,
    key: &dyn Fn(&str) -> String,
    raw: Spanned<RawItems>,
) -> Result<crate::jsonlist::ItemsMapping, ConfigError> {
    use crate::jsonlist::{Field, ItemsMapping};
    let span = raw.span();
    let raw = raw.into_inner();
    let field = |f: &Option<Spanned<String>>, name: &str| -> Result<Option<Field>, ConfigError> {
        f.as_ref()
            .map(|f| {
                Field::parse(f.get_ref()).map_err(|e| {
                    file.err(&f.span(), format!("{}: {e}", key(&format!("items.{name}"))))
                })
            })
            .transpose()
    };
    let path = raw.path.get_ref().trim().to_string();
    if !(path.is_empty() || path.starts_with('/')) {
        return Err(file.err(
            &raw.path.span(),
            format!(
                "{}: {path:?} is not a JSON pointer (like \"/data/list\")",
                key("items.path")
            ),
        ));
    }
    let mapping = ItemsMapping {
        path,
        id: field(&raw.id, "id")?,
        title: field(&raw.title, "title")?,
        link: field(&raw.link, "link")?,
        published: field(&raw.published, "published")?,
        summary: field(&raw.summary, "summary")?,
        origin: field(&raw.origin, "origin")?,
        author: field(&raw.author, "author")?,
    };
    if mapping.title.is_none() && mapping.link.is_none() {
        return Err(file.err(
            &span,
            format!("{}: map at least `title` or `link`", key("items")),
        ));
    }
    Ok(mapping)
}

fn compile_css(file: &SourceFile, s: &Spanned<String>, key: &str) -> Result<Css, ConfigError> {
    let selector = scraper::Selector::parse(s.get_ref()).map_err(|e| {
        file.err(
            &s.span(),
            format!("{key}: invalid CSS selector {:?}: {e}", s.get_ref()),
        )
    })?;
    Ok(Css {
        text: s.get_ref().clone(),
        selector,
    })
}

/// `30s`, `10m`, `2h`, `7d`, `500ms`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => return Some(Duration::from_millis(n)),
        "" | "s" => n,
        "m" | "min" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// An age for `prune --older-than`: a number and a unit, always (a bare
/// `90` deleted everything older than 90 seconds). `s`, `min`, `h`, `d`,
/// `w`, `mo` (30 days), `y` (365 days); `m` is refused as ambiguous
/// (minutes or months: the wrong guess deletes what was meant to stay).
pub fn parse_age(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let unit_secs: u64 = match unit.trim() {
        "s" => 1,
        "min" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "mo" => 30 * 86_400,
        "y" => 365 * 86_400,
        _ => return None,
    };
    n.checked_mul(unit_secs).map(Duration::from_secs)
}

/// `16MiB`, `512KiB`, `1GiB`, `10MB`, `1000` (bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn load_err(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "newscrawl.toml", text);
        load(&p).unwrap_err().to_string()
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("6h"), Some(Duration::from_secs(21_600)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("5 fortnights"), None);
        assert_eq!(parse_size("16MiB"), Some(16 << 20));
        assert_eq!(parse_size("512KiB"), Some(512 << 10));
        assert_eq!(parse_size("2GB"), Some(2_000_000_000));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999999999999GiB"), None);
    }

    #[test]
    fn the_service_state_directory_holds_the_default_database() {
        let etc = Path::new("/etc/newscrawl");
        assert_eq!(
            default_database(etc, None),
            Path::new("/etc/newscrawl/newscrawl.db")
        );
        assert_eq!(
            default_database(etc, Some("/var/lib/newscrawl".as_ref())),
            Path::new("/var/lib/newscrawl/newscrawl.db")
        );
        assert_eq!(
            default_database(etc, Some("/var/lib/newscrawl:/var/lib/other".as_ref())),
            Path::new("/var/lib/newscrawl/newscrawl.db")
        );
        assert_eq!(
            default_database(etc, Some("".as_ref())),
            Path::new("/etc/newscrawl/newscrawl.db")
        );
    }

    #[test]
    fn export_directories_resolve_and_category_pages_need_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "etc/newscrawl.toml",
            "[export.jekyll]\nout = \"../site/_posts\"\ncategory_pages = \"/srv/c\"\n",
        );
        let c = load(&p).unwrap();
        assert_eq!(
            c.export.jekyll_out,
            Some(dir.path().join("etc").join("../site/_posts"))
        );
        assert_eq!(
            c.export.jekyll_category_pages,
            Some(PathBuf::from("/srv/c"))
        );
        let e = load_err("[export.jekyll]\ncategory_pages = \"c\"\n");
        assert!(
            e.contains("newscrawl.toml:2") && e.contains("goes with export.jekyll.out"),
            "{e}"
        );
        let e = load_err("[export.jekyll]\nout = \" \"\n");
        assert!(e.contains("export.jekyll.out: must not be empty"), "{e}");
    }

    #[test]
    fn defaults_and_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "etc/newscrawl.toml",
            "database = \"../data/n.db\"\n[[sources]]\nname = \"央视新闻客户端\"\nurl = \"https://example.org/a.xml\"\n",
        );
        let c = load(&p).unwrap();
        assert_eq!(c.database, dir.path().join("etc").join("../data/n.db"));
        let s = &c.sources[0];
        assert_eq!(s.slug, "yangshixinwenkehuduan");
        assert_eq!(s.schedule.expr, "*/10 * * * *");
        assert_eq!(s.follow, Follow::None);
        assert!(s.enabled);
        assert_eq!(c.crawler.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(c.crawler.max_body, 16 << 20);
        assert!(
            c.crawler
                .user_agent
                .starts_with("Mozilla/5.0 (compatible; newscrawl/")
        );
    }

    #[test]
    fn dropins_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "newscrawl.toml",
            "[crawler]\nschedule = \"0 */5 * * * *\"\n",
        );
        write(
            dir.path(),
            "sources.d/b.toml",
            "[[sources]]\nname = \"B\"\nurl = \"http://b.example/\"\n",
        );
        write(
            dir.path(),
            "sources.d/a.toml",
            "[[sources]]\nname = \"A\"\nurl = \"http://a.example/\"\n",
        );
        write(dir.path(), "sources.d/ignored.txt", "not toml");
        let c = load(&p).unwrap();
        let slugs: Vec<_> = c.sources.iter().map(|s| s.slug.as_str()).collect();
        assert_eq!(slugs, ["a", "b"]);
        assert_eq!(c.sources[0].schedule.expr, "0 */5 * * * *");
        assert!(c.sources[0].defined_at.ends_with("a.toml:1"));
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = load_err("[crawler]\nconcurrency = 4\nfrobnicate = 1\n");
        assert!(e.contains("newscrawl.toml:3:1"), "{e}");
        assert!(e.contains("frobnicate"), "{e}");
    }

    #[test]
    fn bad_values_name_file_line_and_key() {
        let src = "[[sources]]\nname = \"x\"\nurl = \"http://x.example/\"\n";
        let cases = [
            (
                "schedule = \"every tuesday\"\n",
                "sources[0].schedule",
                "cron",
            ),
            ("schedule = \"* * * * * * *\"\n", "sources[0].schedule", "7"),
            (
                "id_pattern = \"(unclosed\"\n",
                "sources[0].id_pattern",
                "regex",
            ),
            ("follow = \"sometimes\"\n", "sources[0].follow", "sometimes"),
            ("slug = \"Not A Slug\"\n", "sources[0].slug", "lowercase"),
        ];
        for (extra, key, word) in cases {
            let e = load_err(&format!("{src}{extra}"));
            assert!(e.contains("newscrawl.toml:4"), "{extra}: {e}");
            assert!(e.contains(key) && e.contains(word), "{extra}: {e}");
        }
        let e = load_err("[[sources]]\nname = \"x\"\nurl = \"not a url\"\n");
        assert!(
            e.contains("newscrawl.toml:3") && e.contains("sources[0].url"),
            "{e}"
        );
        let e = load_err("[[sources]]\nname = \"x\"\nurl = \"ftp://x.example/\"\n");
        assert!(e.contains("http or https"), "{e}");
        let e = load_err("[crawler]\ntimezone = \"Mars/Olympus\"\n");
        assert!(
            e.contains("newscrawl.toml:2") && e.contains("crawler.timezone"),
            "{e}"
        );
        let e = load_err("[crawler]\ntimeout = \"soon\"\n");
        assert!(e.contains("crawler.timeout"), "{e}");
        let e = load_err(
            "[[sources]]\nname = \"x\"\nurl = \"http://x.example/\"\n[sources.article]\nbody = \"##\"\n",
        );
        assert!(
            e.contains("newscrawl.toml:5") && e.contains("article.body"),
            "{e}"
        );
        let e = load_err(
            "[[sources]]\nname = \"x\"\nurl = \"http://x.example/\"\n[sources.article]\njson = \"content\"\n",
        );
        assert!(
            e.contains("newscrawl.toml:5") && e.contains("article.json"),
            "{e}"
        );
        let e = load_err(
            "[[sources]]\nname = \"x\"\nurl = \"http://x.example/\"\nfollow = \"ftp://x/{info_code}\"\n",
        );
        assert!(
            e.contains("newscrawl.toml:4") && e.contains("http(s) URL"),
            "{e}"
        );
    }

    #[test]
    fn follow_templates() {
        let t = Follow::Template("http://api.example/content?code={info_code}&from={url}".into());
        assert_eq!(
            t.article_url(Some("http://x.example/a?b=1"), Some("2022"), None)
                .unwrap()
                .as_str(),
            "http://api.example/content?code=2022&from=http%3A%2F%2Fx.example%2Fa%3Fb%3D1"
        );
        assert_eq!(t.article_url(Some("http://x.example/a"), None, None), None);
        // Values are encoded, and never read as placeholders themselves.
        assert_eq!(
            t.article_url(Some("http://x.example/a"), Some("1&x={url}#"), None)
                .unwrap()
                .as_str(),
            "http://api.example/content?code=1%26x%3D%7Burl%7D%23&from=http%3A%2F%2Fx.example%2Fa"
        );
        let g = Follow::Template("http://api.example/text?id={guid}".into());
        assert_eq!(
            g.article_url(None, None, Some("NW2022")).unwrap().as_str(),
            "http://api.example/text?id=NW2022"
        );
        assert_eq!(
            Follow::Link
                .article_url(Some("https://x.example/p"), None, None)
                .unwrap()
                .as_str(),
            "https://x.example/p"
        );
        assert_eq!(
            Follow::Link.article_url(Some("javascript:alert(1)"), None, None),
            None
        );
        assert_eq!(
            Follow::None.article_url(Some("https://x.example/p"), Some("1"), None),
            None
        );
    }

    #[test]
    fn duplicate_slugs_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "newscrawl.toml",
            "[[sources]]\nname = \"新华社\"\nurl = \"http://a.example/\"\n",
        );
        write(
            dir.path(),
            "sources.d/x.toml",
            "\n[[sources]]\nname = \"Xinhuashe\"\nurl = \"http://b.example/\"\n",
        );
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("x.toml:2"), "{e}");
        assert!(e.contains("duplicate slug \"xinhuashe\""), "{e}");
        assert!(e.contains("newscrawl.toml:1"), "{e}");
    }
}
