//! Checking one `[[sources]]` table: URL, slug, schedule, id pattern,
//! `follow`, article selectors, `kind` and its item mapping.

use super::load::SourceFile;
use super::raw::*;
use super::*;
use std::ops::Range;

use toml::Spanned;

use crate::error::ConfigError;
use crate::slug::slugify;

pub(super) fn source_config(
    file: &SourceFile,
    index: usize,
    raw: RawSource,
    span: &Range<usize>,
    crawler: &CrawlerConfig,
    crawler_rules: &[Rule],
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
    let fetch = super::fetch::source_options(file, &key, &raw, &crawler.fetch, &url)?;
    let mut rules = crawler_rules.to_vec();
    rules.extend(super::rules::rules(file, &key("rules"), &raw.rules)?);
    let retention = match &raw.retention {
        None => None,
        Some(r) => Some(parse_age(r.get_ref()).filter(|d| !d.is_zero()).ok_or_else(|| {
            file.err(
                &r.span(),
                format!(
                    "{}: {:?} is not an age like \"30d\", \"12w\" or \"6mo\" (a bare number is not)",
                    key("retention"),
                    r.get_ref()
                ),
            )
        })?),
    };
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
    let kind_name = match &raw.kind {
        None => KindName::Feed,
        Some(k) => match KindName::ALL.iter().find(|n| n.as_str() == k.get_ref()) {
            Some(n) => *n,
            None => {
                let known: Vec<String> = KindName::ALL
                    .iter()
                    .map(|n| format!("{:?}", n.as_str()))
                    .collect();
                return Err(file.err(
                    &k.span(),
                    format!(
                        "{}: {:?} is not one of {}",
                        key("kind"),
                        k.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
        },
    };
    let kind = match (kind_name, raw.items) {
        (KindName::Feed, None) => SourceKind::Feed,
        (KindName::Feed, Some(i)) => {
            return Err(file.err(
                &i.span(),
                format!("{}: only for kind = \"json\"", key("items")),
            ));
        }
        (KindName::Json, None) => {
            let at = raw.kind.as_ref().map_or_else(|| span.clone(), |k| k.span());
            return Err(file.err(
                &at,
                format!(
                    "{}: kind = \"json\" needs a [sources.items] mapping",
                    key("kind")
                ),
            ));
        }
        (KindName::Json, Some(i)) => SourceKind::JsonList(Box::new(items_mapping(file, &key, i)?)),
    };
    debug_assert_eq!(kind.name(), kind_name);
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
        fetch,
        retention,
        rules,
        defined_at: file.location(span),
    })
}

pub(super) fn items_mapping(
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

pub(super) fn compile_css(
    file: &SourceFile,
    s: &Spanned<String>,
    key: &str,
) -> Result<Css, ConfigError> {
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
