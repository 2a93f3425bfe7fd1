//! Configuration: reads the main TOML file and every `sources.d/*.toml` beside
//! it (in name order), rejects unknown keys, and turns the raw text into a
//! checked [`Config`]: parsed cron schedules, URLs, time zone, compiled regexes
//! and CSS selectors. Every error names `file:line` and the key at fault.
//! Here the checked types; [`raw`] is the text as written (serde), [`load`]
//! reads the files and checks the main table and `[crawler]`, [`source`]
//! checks a `[[sources]]` table, [`units`] reads durations, ages, sizes;
//! [`fetch`] a source's request options, [`rules`] and [`hooks`] their
//! tables, and [`edit`] changes the files from the command line.

mod database;
pub mod edit;
mod fetch;
mod hooks;
mod load;
mod raw;
mod rules;
mod source;
#[cfg(test)]
mod tests;
mod units;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use regex::Regex;
use url::Url;

pub use database::{Database, Postgres, is_postgres_url};
pub use fetch::{FetchOptions, Header, Secret};
pub use load::{DEFAULT_MAX_ITEMS, default_path, default_user_agent, load, parse_text};
pub use units::{parse_age, parse_duration, parse_size};

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
    /// `database`: a SQLite file or a PostgreSQL URL.
    pub database: Database,
    pub crawler: CrawlerConfig,
    pub export: ExportConfig,
    /// `[metrics] listen`: where the daemon serves Prometheus metrics.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `[retention] older_than`: the daemon prunes posts older than this, daily.
    pub retention: Option<Duration>,
    /// `[stories]`: how posts are grouped into stories.
    pub stories: StoriesConfig,
    pub sources: Vec<Source>,
    /// `[[hooks]]`: run on each new or updated post.
    pub hooks: Vec<Hook>,
}

/// Where a hook delivers a post.
#[derive(Debug, Clone, PartialEq)]
pub enum HookTarget {
    /// Run this program with these arguments, the post as JSON on stdin.
    Command(Vec<String>),
    /// POST the post as JSON here.
    Url(Secret),
}

/// A checked `[[hooks]]` table (see [`crate::hooks`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// Its cursor in `export_cursors` is `hook:<name>`.
    pub name: String,
    pub target: HookTarget,
    /// Only posts of these sources (all when empty).
    pub sources: Vec<String>,
    pub on_new: bool,
    pub on_updated: bool,
    /// Which posts it gets (as a source's rules decide which items are kept).
    pub rules: Vec<Rule>,
    /// The most one delivery may take.
    pub timeout: Duration,
    /// Deliveries tried per post before it is given up (and said at WARN).
    pub attempts: u32,
    pub defined_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoriesConfig {
    /// `group` (default true): posts are compared and near-duplicates
    /// grouped. False: no fingerprints are taken, and each new post is a
    /// story of its own (a crawl without grouping's CPU and memory).
    pub group: bool,
    /// `window` (default 3 days): a post joins a story one of whose posts
    /// was stored, and published, within this long of it.
    pub window: Duration,
    /// `threshold` (default 0.5): the estimated Jaccard similarity of two
    /// texts (of two titles, for a teaser) over which they tell one story.
    pub threshold: f64,
}

impl Default for StoriesConfig {
    fn default() -> StoriesConfig {
        StoriesConfig {
            group: true,
            window: Duration::from_secs(3 * 86_400),
            threshold: crate::stories::THRESHOLD,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CrawlerConfig {
    pub user_agent: String,
    /// `[crawler] headers` and `proxy`: every source's defaults (each
    /// source's [`Source::fetch`] holds them merged with its own).
    pub fetch: FetchOptions,
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
/// module that reads it; the compiler then names every `match` to extend:
/// [`SourceKind::name`] (which asks for a [`KindName`], whose own matches
/// follow: its `kind = "…"` spelling, its place in [`KindName::ALL`], and the
/// configuration's check of the keys that kind takes), then the `Accept`
/// header and the parser in `crawl`.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// RSS 0.9x/1.0/2.0, Atom or JSON Feed (`kind = "feed"`, the default).
    Feed,
    /// A JSON or JSONP news list, read by a mapping (`kind = "json"`,
    /// `[sources.items]`; [`crate::jsonlist`]).
    JsonList(Box<crate::jsonlist::ItemsMapping>),
}

impl SourceKind {
    /// The `kind` key's value for this kind.
    pub fn name(&self) -> KindName {
        match self {
            SourceKind::Feed => KindName::Feed,
            SourceKind::JsonList(_) => KindName::Json,
        }
    }
}

/// The values of a source's `kind` key, one per [`SourceKind`] variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindName {
    Feed,
    Json,
}

impl KindName {
    /// Every kind, in the order the documentation and errors list them.
    pub const ALL: [KindName; 2] = [KindName::Feed, KindName::Json];

    /// As written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            KindName::Feed => "feed",
            KindName::Json => "json",
        }
    }

    /// Where this kind sits in [`KindName::ALL`]: a match, so that a new
    /// variant stops the build until it is given a place there (a test checks
    /// that the places agree).
    pub const fn position(self) -> usize {
        match self {
            KindName::Feed => 0,
            KindName::Json => 1,
        }
    }
}

/// What a rule does to the items it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// Items that match are dropped.
    Block,
    /// Only items that match (one of the keep rules) are kept.
    Keep,
}

/// The item field a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleField {
    Title,
    /// The body's text (the feed's: articles are fetched after the rules).
    Content,
    Author,
    /// The item's link.
    Url,
    /// The media the item names as its source.
    Origin,
    /// Every field above.
    Any,
}

/// A checked rule (`[[rules]]`, `[[sources.rules]]`; see [`crate::rules`]).
#[derive(Debug, Clone)]
pub struct Rule {
    pub action: RuleAction,
    pub field: RuleField,
    /// `pattern`, or `keyword` escaped and matched whatever the case.
    pub regex: Arc<Regex>,
    /// Where and what: `newscrawl.toml:12: block title ~ "广告"`.
    pub label: String,
}

impl PartialEq for Rule {
    fn eq(&self, o: &Self) -> bool {
        self.label == o.label && self.regex.as_str() == o.regex.as_str()
    }
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
    /// How its requests are made: `user_agent`, `headers`, `timeout`,
    /// `proxy`, credentials ([`FetchOptions`]).
    pub fetch: FetchOptions,
    /// `retention`: this source's posts are pruned past this age, whatever
    /// `[retention] older_than` says.
    pub retention: Option<Duration>,
    /// `[[rules]]` then its own `[[sources.rules]]`.
    pub rules: Vec<Rule>,
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
            && self.fetch == o.fetch
            && self.retention == o.retention
            && self.rules == o.rules
            && self.allow_private_networks == o.allow_private_networks
    }
}
