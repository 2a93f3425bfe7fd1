//! Downstream formats read from the database: Jekyll posts, JSON lines and
//! OPML (both ways). The database is the interface; these are its first
//! readers.

pub mod continuous;
pub mod jekyll;
pub mod jsonl;
pub mod opml;

use std::path::Path;

use crate::store::StoreError;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("template: {0}")]
    Template(String),
    #[error("{0}")]
    Data(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing output: {0}")]
    Output(std::io::Error),
}

impl ExportError {
    pub fn io(path: &Path, source: std::io::Error) -> ExportError {
        ExportError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
