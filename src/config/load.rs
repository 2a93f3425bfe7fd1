//! Reading the main file and `sources.d/`, and checking the main table and
//! `[crawler]`.

use super::raw::*;
use super::source::source_config;
use super::*;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use crate::error::ConfigError;

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
pub(super) struct SourceFile {
    path: PathBuf,
    text: String,
    /// Where each line after the first starts, found at the first
    /// [`SourceFile::location`]: every source of a file is given its line,
    /// and counting from the top for each made a file of 1,000 sources cost
    /// as the square of its length.
    lines: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub(super) fn read(path: &Path) -> Result<SourceFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(SourceFile {
            path: path.to_path_buf(),
            text,
            lines: std::sync::OnceLock::new(),
        })
    }

    /// The directory of the file: paths the file names are relative to it.
    pub(super) fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    pub(super) fn location(&self, span: &Range<usize>) -> String {
        let starts = self.lines.get_or_init(|| {
            memchr::memchr_iter(b'\n', self.text.as_bytes())
                .map(|at| at + 1)
                .collect()
        });
        // Lines starting at or before the span's start, plus the first.
        let line = starts.partition_point(|&s| s <= span.start) + 1;
        format!("{}:{}", self.path.display(), line)
    }

    pub(super) fn err(&self, span: &Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            location: self.location(span),
            message: message.into(),
        }
    }

    pub(super) fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
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
        lines: std::sync::OnceLock::new(),
    };
    load_from(file, false)
}

/// The database when the configuration names none: `newscrawl.db` in the
/// service's state directory when systemd gives one (`StateDirectory=` sets
/// `$STATE_DIRECTORY`, a colon-separated list: the first), else beside the
/// configuration file.
pub(super) fn default_database(
    config_dir: &Path,
    state_directory: Option<&std::ffi::OsStr>,
) -> PathBuf {
    let state = state_directory
        .and_then(|s| s.to_str())
        .and_then(|s| s.split(':').next())
        .filter(|s| !s.is_empty());
    match state {
        Some(dir) => Path::new(dir).join("newscrawl.db"),
        None => config_dir.join("newscrawl.db"),
    }
}

pub(super) fn load_from(main_file: SourceFile, dropins: bool) -> Result<Config, ConfigError> {
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
        Some(db) => Database::parse(db.get_ref(), &base, None)
            .map_err(|m| main_file.err(&db.span(), format!("database: {m}")))?,
        None => Database::Sqlite(default_database(
            &base,
            std::env::var_os("STATE_DIRECTORY").as_deref(),
        )),
    };
    for (key, f) in [
        ("database_password_file", &raw.database_password_file),
        ("database_ca_file", &raw.database_ca_file),
    ] {
        if let (Some(f), Database::Sqlite(_)) = (f, &database) {
            return Err(main_file.err(
                &f.span(),
                format!("{key}: goes with a PostgreSQL database (database = \"postgres://…\")"),
            ));
        }
    }
    let password = match &raw.database_password_file {
        None => None,
        Some(f) => {
            let file = base.join(f.get_ref());
            let text = std::fs::read_to_string(&file).map_err(|e| {
                main_file.err(
                    &f.span(),
                    format!(
                        "database_password_file: cannot read {}: {e}",
                        file.display()
                    ),
                )
            })?;
            Some(Secret::new(text.trim_end_matches(['\r', '\n'])))
        }
    };
    let database = match password {
        Some(p) => database.with_password(p),
        None => database,
    };
    let database = match &raw.database_ca_file {
        None => database,
        Some(f) => {
            let file = base.join(f.get_ref());
            let pem = std::fs::read(&file).map_err(|e| {
                main_file.err(
                    &f.span(),
                    format!("database_ca_file: cannot read {}: {e}", file.display()),
                )
            })?;
            if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                return Err(main_file.err(
                    &f.span(),
                    format!(
                        "database_ca_file: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                        file.display()
                    ),
                ));
            }
            database.with_ca(pem)
        }
    };

    let global_rules = super::rules::rules(&main_file, "rules", &raw.rules)?;
    let mut sources = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut add = |file: &SourceFile, raws: Vec<Spanned<RawSource>>| -> Result<(), ConfigError> {
        for (i, raw) in raws.into_iter().enumerate() {
            let span = raw.span();
            let source = source_config(file, i, raw.into_inner(), &span, &crawler, &global_rules)?;
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
    // An age key: a number and a unit, more than nothing.
    let age = |key: &str, v: &Spanned<String>, example: &str| {
        parse_age(v.get_ref())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                main_file.err(
                    &v.span(),
                    format!(
                        "{key}: {:?} is not an age: a number and a unit \
                     (s, min, h, d, w, mo, y), like \"{example}\"",
                        v.get_ref()
                    ),
                )
            })
    };
    let retention = match &raw.retention.older_than {
        None => None,
        Some(o) => Some(age("retention.older_than", o, "90d")?),
    };

    let stories = StoriesConfig {
        group: raw.stories.group.unwrap_or(true),
        window: match &raw.stories.window {
            None => StoriesConfig::default().window,
            Some(w) => age("stories.window", w, "3d")?,
        },
        threshold: match &raw.stories.threshold {
            None => StoriesConfig::default().threshold,
            Some(t) if (0.05..=1.0).contains(t.get_ref()) => *t.get_ref(),
            Some(t) => {
                return Err(main_file.err(
                    &t.span(),
                    format!(
                        "stories.threshold: {} is not a similarity between 0.05 and 1 \
                         (the share of the text two posts must have in common; default 0.5)",
                        t.get_ref()
                    ),
                ));
            }
        },
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
        stories,
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
        hooks: super::hooks::hooks(&main_file, &raw.hooks, &sources)?,
        sources,
    })
}

/// A duration that must not be zero (`30s`, `2m`), or an error naming
/// `key` and the file and line.
pub(super) fn positive_duration(
    file: &SourceFile,
    key: &str,
    t: &Spanned<String>,
) -> Result<Duration, ConfigError> {
    parse_duration(t.get_ref())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            file.err(
                &t.span(),
                format!(
                    "{key}: {:?} is not a duration like \"30s\" or \"2m\"",
                    t.get_ref()
                ),
            )
        })
}

pub(super) fn crawler_config(
    file: &SourceFile,
    raw: RawCrawler,
) -> Result<CrawlerConfig, ConfigError> {
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
        Some(t) => positive_duration(file, "crawler.timeout", t)?,
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
    let fetch = FetchOptions {
        headers: super::fetch::headers(file, "crawler.headers", &raw.headers)?,
        proxy: super::fetch::proxy(file, "crawler.proxy", &raw.proxy)?,
        ..FetchOptions::default()
    };
    if let Some(ua) = &raw.user_agent
        && (ua.trim().is_empty() || reqwest::header::HeaderValue::from_str(ua.trim()).is_err())
    {
        return Err(file.err(
            &(0..0),
            "crawler.user_agent: must be a non-empty header value",
        ));
    }
    Ok(CrawlerConfig {
        fetch,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_is_named_by_its_line() {
        let file = SourceFile {
            path: PathBuf::from("n.toml"),
            text: "a = 1\n\n[[sources]]\nname = \"x\"\n".into(),
            lines: std::sync::OnceLock::new(),
        };
        let at = |start| file.location(&(start..start + 1));
        // Each byte's line, counted from the top as an editor does.
        for (start, line) in [
            (0, 1),
            (5, 1),
            (6, 2),
            (7, 3),
            (18, 3),
            (19, 4),
            (30, 5),
            (99, 5),
        ] {
            assert_eq!(at(start), format!("n.toml:{line}"), "byte {start}");
        }
    }
}
