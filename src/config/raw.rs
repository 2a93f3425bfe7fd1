//! The configuration as written: what serde reads, unknown keys refused,
//! values kept with their byte spans for `file:line` messages.

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMain {
    pub(super) database: Option<Spanned<String>>,
    pub(super) database_password_file: Option<Spanned<String>>,
    pub(super) database_ca_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) crawler: RawCrawler,
    #[serde(default)]
    pub(super) export: RawExport,
    #[serde(default)]
    pub(super) metrics: RawMetrics,
    #[serde(default)]
    pub(super) retention: RawRetention,
    #[serde(default)]
    pub(super) stories: RawStories,
    #[serde(default)]
    pub(super) sources: Vec<Spanned<RawSource>>,
    #[serde(default)]
    pub(super) rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    pub(super) hooks: Vec<Spanned<RawHook>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHook {
    pub(super) name: Spanned<String>,
    pub(super) command: Option<Spanned<Vec<String>>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) sources: Option<Spanned<Vec<String>>>,
    pub(super) events: Option<Spanned<Vec<String>>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) attempts: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) action: Spanned<String>,
    pub(super) field: Option<Spanned<String>>,
    pub(super) pattern: Option<Spanned<String>>,
    pub(super) keyword: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) listen: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStories {
    pub(super) group: Option<bool>,
    pub(super) window: Option<Spanned<String>>,
    pub(super) threshold: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    pub(super) older_than: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDropIn {
    #[serde(default)]
    pub(super) sources: Vec<Spanned<RawSource>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCrawler {
    pub(super) user_agent: Option<String>,
    pub(super) concurrency: Option<Spanned<i64>>,
    pub(super) per_host: Option<Spanned<i64>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) max_body: Option<Spanned<String>>,
    pub(super) schedule: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) tracking_params: Option<Vec<String>>,
    pub(super) allow_private_networks: Option<bool>,
    pub(super) article_attempts: Option<Spanned<i64>>,
    pub(super) host_delay: Option<Spanned<String>>,
    pub(super) max_backoff: Option<Spanned<String>>,
    pub(super) max_items: Option<Spanned<i64>>,
    pub(super) headers: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    pub(super) proxy: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExport {
    #[serde(default)]
    pub(super) jekyll: RawJekyll,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJekyll {
    pub(super) site: Option<String>,
    pub(super) template: Option<Spanned<String>>,
    pub(super) out: Option<Spanned<String>>,
    pub(super) category_pages: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) name: Spanned<String>,
    pub(super) slug: Option<Spanned<String>>,
    pub(super) url: Spanned<String>,
    pub(super) schedule: Option<Spanned<String>>,
    pub(super) enabled: Option<bool>,
    pub(super) id_pattern: Option<Spanned<String>>,
    pub(super) follow: Option<Spanned<String>>,
    pub(super) article: Option<RawArticle>,
    pub(super) kind: Option<Spanned<String>>,
    pub(super) items: Option<Spanned<RawItems>>,
    pub(super) allow_private_networks: Option<bool>,
    pub(super) user_agent: Option<Spanned<String>>,
    pub(super) headers: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    pub(super) headers_file: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) proxy: Option<Spanned<String>>,
    pub(super) username: Option<Spanned<String>>,
    pub(super) password_file: Option<Spanned<String>>,
    pub(super) password_env: Option<Spanned<String>>,
    pub(super) retention: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawItems {
    pub(super) path: Spanned<String>,
    pub(super) id: Option<Spanned<String>>,
    pub(super) title: Option<Spanned<String>>,
    pub(super) link: Option<Spanned<String>>,
    pub(super) published: Option<Spanned<String>>,
    pub(super) summary: Option<Spanned<String>>,
    pub(super) origin: Option<Spanned<String>>,
    pub(super) author: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArticle {
    pub(super) title: Option<Spanned<String>>,
    pub(super) published: Option<Spanned<String>>,
    pub(super) body: Option<Spanned<String>>,
    pub(super) origin: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) remove: Vec<Spanned<String>>,
    /// One JSON pointer, or several tried in order.
    pub(super) json: Option<Spanned<toml::Value>>,
}
