//! Checking `[[hooks]]`: a name, a command or a URL, which posts (sources,
//! events, rules), and how long and how often a delivery is tried.

use std::time::Duration;

use toml::Spanned;

use super::load::SourceFile;
use super::raw::RawHook;
use super::{Hook, HookTarget, Secret, Source};
use crate::error::ConfigError;

pub(super) fn hooks(
    file: &SourceFile,
    raws: &[Spanned<RawHook>],
    sources: &[Source],
) -> Result<Vec<Hook>, ConfigError> {
    let mut out: Vec<Hook> = Vec::new();
    for (i, raw) in raws.iter().enumerate() {
        let key = |k: &str| format!("hooks[{i}].{k}");
        let r = raw.get_ref();
        let name = r.name.get_ref().trim().to_string();
        if name.is_empty() || name.chars().any(|c| c.is_control()) {
            return Err(file.err(
                &r.name.span(),
                format!("{}: must be a non-empty line", key("name")),
            ));
        }
        if out.iter().any(|h| h.name == name) {
            return Err(file.err(
                &r.name.span(),
                format!("{}: {name:?} is taken by another hook", key("name")),
            ));
        }
        let target = match (&r.command, &r.url) {
            (Some(c), None) => {
                if c.get_ref().first().is_none_or(|p| p.trim().is_empty()) {
                    return Err(file.err(
                        &c.span(),
                        format!("{}: needs a program, then its arguments", key("command")),
                    ));
                }
                HookTarget::Command(c.get_ref().clone())
            }
            (None, Some(u)) => {
                // Not shown: a hook URL often carries a token.
                let ok = url::Url::parse(u.get_ref().trim())
                    .ok()
                    .filter(|x| matches!(x.scheme(), "http" | "https") && x.host_str().is_some());
                let Some(url) = ok else {
                    return Err(file.err(
                        &u.span(),
                        format!("{}: not an http or https URL", key("url")),
                    ));
                };
                HookTarget::Url(Secret::new(url.as_str()))
            }
            _ => {
                return Err(file.err(
                    &raw.span(),
                    format!("hooks[{i}]: needs a `command` or a `url` (one of them)"),
                ));
            }
        };
        let wanted = r
            .sources
            .as_ref()
            .map(|s| s.get_ref().clone())
            .unwrap_or_default();
        if let (Some(s), Some(unknown)) = (
            &r.sources,
            wanted
                .iter()
                .find(|w| !sources.iter().any(|c| &c.slug == *w)),
        ) {
            return Err(file.err(
                &s.span(),
                format!("{}: no source {unknown:?} is configured", key("sources")),
            ));
        }
        let (mut on_new, mut on_updated) = (true, true);
        if let Some(e) = &r.events {
            on_new = false;
            on_updated = false;
            for ev in e.get_ref() {
                match ev.as_str() {
                    "new" => on_new = true,
                    "updated" => on_updated = true,
                    other => {
                        return Err(file.err(
                            &e.span(),
                            format!(
                                "{}: {other:?} is not one of \"new\", \"updated\"",
                                key("events")
                            ),
                        ));
                    }
                }
            }
        }
        let timeout = match &r.timeout {
            None => Duration::from_secs(30),
            Some(t) => super::load::positive_duration(file, &key("timeout"), t)?,
        };
        let attempts = match &r.attempts {
            None => 3,
            Some(a) => u32::try_from(*a.get_ref())
                .ok()
                .filter(|n| (1..=20).contains(n))
                .ok_or_else(|| {
                    file.err(
                        &a.span(),
                        format!("{}: a whole number from 1 to 20", key("attempts")),
                    )
                })?,
        };
        out.push(Hook {
            name,
            target,
            sources: wanted,
            on_new,
            on_updated,
            rules: super::rules::rules(file, &format!("hooks[{i}].rules"), &r.rules)?,
            timeout,
            attempts,
            defined_at: file.location(&raw.span()),
        });
    }
    Ok(out)
}
