//! Checking `[[rules]]` and `[[sources.rules]]`: an action, a field, and a
//! regular expression (`pattern`) or a plain keyword (`keyword`, matched
//! whatever the case). The rules themselves are applied by [`crate::rules`].

use regex::RegexBuilder;
use toml::Spanned;

use super::load::SourceFile;
use super::raw::RawRule;
use super::{Rule, RuleAction, RuleField};
use crate::error::ConfigError;

/// A pattern's compiled size is bounded: rules run on every item.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Checks `raws`; `key` names the table (`rules` or `sources[2].rules`).
pub(super) fn rules(
    file: &SourceFile,
    key: &str,
    raws: &[Spanned<RawRule>],
) -> Result<Vec<Rule>, ConfigError> {
    raws.iter()
        .enumerate()
        .map(|(i, raw)| rule(file, &format!("{key}[{i}]"), raw))
        .collect()
}

fn rule(file: &SourceFile, key: &str, raw: &Spanned<RawRule>) -> Result<Rule, ConfigError> {
    let r = raw.get_ref();
    let action = match r.action.get_ref().as_str() {
        "block" => RuleAction::Block,
        "keep" => RuleAction::Keep,
        other => {
            return Err(file.err(
                &r.action.span(),
                format!("{key}.action: {other:?} is not one of \"block\", \"keep\""),
            ));
        }
    };
    let (field, field_name) = match r.field.as_ref().map(|f| (f.get_ref().as_str(), f.span())) {
        None | Some(("title", _)) => (RuleField::Title, "title"),
        Some(("content", _)) => (RuleField::Content, "content"),
        Some(("author", _)) => (RuleField::Author, "author"),
        Some(("url", _)) => (RuleField::Url, "url"),
        Some(("origin", _)) => (RuleField::Origin, "origin"),
        Some(("any", _)) => (RuleField::Any, "any"),
        Some((other, span)) => {
            return Err(file.err(
                &span,
                format!(
                    "{key}.field: {other:?} is not one of \"title\", \"content\", \"author\", \"url\", \"origin\", \"any\""
                ),
            ));
        }
    };
    let (source, shown, span) = match (&r.pattern, &r.keyword) {
        (Some(p), None) => (
            p.get_ref().clone(),
            format!("~ /{}/", p.get_ref()),
            p.span(),
        ),
        (None, Some(k)) if !k.get_ref().trim().is_empty() => (
            format!("(?i){}", regex::escape(k.get_ref().trim())),
            format!("contains {:?}", k.get_ref().trim()),
            k.span(),
        ),
        (Some(_), Some(k)) => {
            return Err(file.err(
                &k.span(),
                format!("{key}: set `pattern` or `keyword`, not both"),
            ));
        }
        _ => {
            return Err(file.err(
                &raw.span(),
                format!("{key}: needs a `pattern` (a regular expression) or a non-empty `keyword`"),
            ));
        }
    };
    let regex = RegexBuilder::new(&source)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| file.err(&span, format!("{key}: {e}")))?;
    Ok(Rule {
        action,
        field,
        regex: std::sync::Arc::new(regex),
        label: format!(
            "{}: {} {field_name} {shown}",
            file.location(&raw.span()),
            r.action.get_ref()
        ),
    })
}
