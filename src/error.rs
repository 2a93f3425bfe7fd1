//! Typed errors, one enum per concern. Every message names the file, source,
//! URL or key at fault, so a log line is enough to act on.

use std::path::PathBuf;

/// A configuration that cannot be used. Always maps to exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `location` is `file:line` (or `file:line:column`), `message` names the key.
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
    #[error("no configuration file found (tried {0}); pass --config PATH")]
    NotFound(String),
    #[error("no source named {0:?} in the configuration")]
    UnknownSource(String),
}

/// Why one HTTP request did not produce a usable body.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: only http and https URLs are fetched")]
    Scheme { url: String },
    #[error("{url}: a private address; refused (allow_private_networks)")]
    Private { url: String },
    #[error("{url}: timed out")]
    Timeout { url: String },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: HTTP {status}")]
    Status {
        url: String,
        status: u16,
        /// What `Retry-After` asked for.
        retry_after: Option<std::time::Duration>,
    },
    #[error("{url}: {message}")]
    Redirect { url: String, message: String },
    #[error("{url}: body exceeds the {limit}-byte limit (crawler.max_body)")]
    TooLarge { url: String, limit: u64 },
}

impl FetchError {
    pub fn http_status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked us to stay away (429 or 503 with `Retry-After`).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            FetchError::Status {
                status: 429 | 503,
                retry_after,
                ..
            } => *retry_after,
            _ => None,
        }
    }
}

/// A body that arrived but is not a feed we can read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("not a feed: {0}")]
    Parse(String),
}
