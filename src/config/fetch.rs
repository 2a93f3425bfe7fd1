//! How a source's requests are made: `user_agent`, `headers`,
//! `headers_file`, `timeout`, `proxy`, and HTTP Basic credentials
//! (`username` with `password_file` or `password_env`), per source and, for
//! `headers` and `proxy`, as `[crawler]` defaults. Checked and read at load
//! (a reload reads the files and the environment again); every value that
//! may be a secret is kept in a [`Secret`], which never prints, and errors
//! name the file, line and key, never the value.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use toml::Spanned;
use url::Url;

use super::load::SourceFile;
use super::raw::RawSource;
use crate::error::ConfigError;

/// A value that must not be shown: a password, a cookie, a header value,
/// a proxy URL that may carry credentials. `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// One header to send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// Lower case, as HTTP/2 sends it.
    pub name: String,
    pub value: Secret,
    /// Sent only to the source's own host (see [`FetchOptions`]).
    pub credential: bool,
}

/// How one source's requests differ from `[crawler]`'s. The default (all
/// empty) is a source without options. Credentials (the Basic ones, any
/// `Cookie` or `Authorization` header, and every header from
/// `headers_file`) go only to the host of the source's URL: to its feed and
/// to article pages on that host, never to another host, not even through a
/// redirect (as with user info in the URL). The other headers, the user
/// agent and the timeout apply to all of the source's requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FetchOptions {
    /// `user_agent`: replaces `[crawler] user_agent`.
    pub user_agent: Option<String>,
    /// `timeout`: replaces `[crawler] timeout`.
    pub timeout: Option<Duration>,
    /// `proxy`, or `[crawler] proxy`: `http://`, `https://`, `socks5://` or
    /// `socks5h://` (the proxy resolves names). Through a proxy the
    /// private-network guard checks literal addresses only: names are the
    /// proxy's to resolve and police.
    pub proxy: Option<Secret>,
    /// `[crawler] headers`, then the source's `headers` (a name set in both
    /// takes the source's value), then its `headers_file`.
    pub headers: Vec<Header>,
    /// `username` and its password: HTTP Basic.
    pub basic: Option<(String, Secret)>,
    /// The host credentials go to: the source URL's.
    pub credentials_host: Option<String>,
}

impl FetchOptions {
    /// Whether credentials go with a request to `url`.
    pub fn credentials_for(&self, url: &Url) -> bool {
        self.credentials_host.is_some() && url.host_str() == self.credentials_host.as_deref()
    }
}

/// Headers the crawler sets itself, or that would break the exchange.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "if-none-match",
    "if-modified-since",
];

fn header(
    file: &SourceFile,
    span: &std::ops::Range<usize>,
    key: &str,
    name: &str,
    value: &str,
    credential: bool,
) -> Result<Header, ConfigError> {
    let parsed = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| file.err(span, format!("{key}: {name:?} is not a header name")))?;
    let lower = parsed.as_str().to_string();
    if RESERVED.contains(&lower.as_str()) {
        return Err(file.err(
            span,
            format!("{key}: {name:?} is set by newscrawl itself and cannot be configured"),
        ));
    }
    let value = value.trim();
    if HeaderValue::from_str(value).is_err() {
        // The value is not shown: it may be a secret.
        return Err(file.err(
            span,
            format!("{key}: the value of {name:?} is not a valid header value (control characters or line breaks)"),
        ));
    }
    let credential = credential
        || matches!(
            lower.as_str(),
            "cookie" | "authorization" | "proxy-authorization"
        );
    Ok(Header {
        name: lower,
        value: Secret::new(value),
        credential,
    })
}

/// `headers = { Referer = "…", Cookie = "…" }`.
pub(super) fn headers(
    file: &SourceFile,
    key: &str,
    raw: &Option<Spanned<BTreeMap<String, String>>>,
) -> Result<Vec<Header>, ConfigError> {
    let Some(h) = raw else {
        return Ok(Vec::new());
    };
    h.get_ref()
        .iter()
        .map(|(name, value)| header(file, &h.span(), key, name, value, false))
        .collect()
}

/// `proxy = "socks5://127.0.0.1:1080"`.
pub(super) fn proxy(
    file: &SourceFile,
    key: &str,
    raw: &Option<Spanned<String>>,
) -> Result<Option<Secret>, ConfigError> {
    let Some(p) = raw else {
        return Ok(None);
    };
    // The URL is not shown: it may hold the proxy's password.
    let bad = |why: &str| {
        file.err(
            &p.span(),
            format!("{key}: {why} (like \"http://host:3128\" or \"socks5h://host:1080\")"),
        )
    };
    let url = Url::parse(p.get_ref().trim()).map_err(|_| bad("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(bad("the scheme must be http, https, socks5 or socks5h"));
    }
    if url.host_str().is_none() {
        return Err(bad("no host"));
    }
    reqwest::Proxy::all(url.as_str()).map_err(|_| bad("not a proxy reqwest can use"))?;
    Ok(Some(Secret::new(url.as_str())))
}

/// Reads a file named by the configuration: relative to the file that
/// names it. Its content is never shown.
fn read_named(
    file: &SourceFile,
    span: &std::ops::Range<usize>,
    key: &str,
    name: &str,
) -> Result<(std::path::PathBuf, String), ConfigError> {
    let path = file.dir().join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| file.err(span, format!("{key}: cannot read {}: {e}", path.display())))?;
    Ok((path, text))
}

/// `headers_file`: one `Name: value` per line, `#` comments and blank
/// lines ignored (a cookie kept out of the configuration). Every header in
/// it is a credential.
fn headers_file(
    file: &SourceFile,
    key: &str,
    raw: &Spanned<String>,
) -> Result<Vec<Header>, ConfigError> {
    let (path, text) = read_named(file, &raw.span(), key, raw.get_ref())?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{}:{}", path.display(), n + 1);
        let Some((name, value)) = line.split_once(':') else {
            return Err(ConfigError::Invalid {
                location: at,
                message: format!("{key}: not a `Name: value` line"),
            });
        };
        out.push(
            header(file, &raw.span(), key, name, value, true).map_err(|e| match e {
                ConfigError::Invalid { message, .. } => ConfigError::Invalid {
                    location: at.clone(),
                    message,
                },
                other => other,
            })?,
        );
    }
    Ok(out)
}

/// A source's options, with `[crawler]`'s `headers` and `proxy` as
/// defaults. `url` is the source's (its host receives the credentials).
pub(super) fn source_options(
    file: &SourceFile,
    key: &dyn Fn(&str) -> String,
    raw: &RawSource,
    defaults: &FetchOptions,
    url: &Url,
) -> Result<FetchOptions, ConfigError> {
    let user_agent = match &raw.user_agent {
        None => None,
        Some(ua) => {
            let v = ua.get_ref().trim();
            if v.is_empty() || HeaderValue::from_str(v).is_err() {
                return Err(file.err(
                    &ua.span(),
                    format!("{}: must be a non-empty header value", key("user_agent")),
                ));
            }
            Some(v.to_string())
        }
    };
    let timeout = match &raw.timeout {
        None => None,
        Some(t) => Some(super::load::positive_duration(file, &key("timeout"), t)?),
    };
    let mut merged = defaults.headers.clone();
    for h in headers(file, &key("headers"), &raw.headers)? {
        merged.retain(|d| d.name != h.name);
        merged.push(h);
    }
    if let Some(f) = &raw.headers_file {
        for h in headers_file(file, &key("headers_file"), f)? {
            merged.retain(|d| d.name != h.name);
            merged.push(h);
        }
    }
    let basic = match (&raw.username, &raw.password_file, &raw.password_env) {
        (None, None, None) => None,
        (Some(u), None, None) => {
            return Err(file.err(
                &u.span(),
                format!(
                    "{}: needs `password_file` or `password_env` (a password is never written in the configuration)",
                    key("username")
                ),
            ));
        }
        (None, Some(p), _) | (None, None, Some(p)) => {
            return Err(file.err(
                &p.span(),
                format!("{}: needs a `username`", key("username")),
            ));
        }
        (Some(_), Some(_), Some(e)) => {
            return Err(file.err(
                &e.span(),
                format!(
                    "{}: set `password_file` or `password_env`, not both",
                    key("password_env")
                ),
            ));
        }
        (Some(u), Some(p), None) => {
            let (_, text) = read_named(file, &p.span(), &key("password_file"), p.get_ref())?;
            let password = text.strip_suffix('\n').unwrap_or(&text);
            let password = password.strip_suffix('\r').unwrap_or(password);
            if password.is_empty() {
                return Err(file.err(
                    &p.span(),
                    format!("{}: the file is empty", key("password_file")),
                ));
            }
            Some((u.get_ref().clone(), Secret::new(password)))
        }
        (Some(u), None, Some(e)) => {
            let name = e.get_ref().trim();
            let password = std::env::var(name).map_err(|_| {
                file.err(
                    &e.span(),
                    format!("{}: the environment has no {name:?}", key("password_env")),
                )
            })?;
            Some((u.get_ref().clone(), Secret::new(password)))
        }
    };
    if let Some((user, _)) = &basic
        && user.contains(':')
    {
        return Err(file.err(
            &raw.username.as_ref().map_or(0..0, |u| u.span()),
            format!("{}: must not contain ':'", key("username")),
        ));
    }
    let proxy = match proxy(file, &key("proxy"), &raw.proxy)? {
        Some(p) => Some(p),
        None => defaults.proxy.clone(),
    };
    Ok(FetchOptions {
        user_agent,
        timeout,
        proxy,
        headers: merged,
        basic,
        credentials_host: url.host_str().map(str::to_string),
    })
}
