//! `export jsonl`: one JSON object per post, every contract column plus the
//! sources that delivered it, written as the rows are read.

use std::io::Write;

use super::ExportError;
use crate::store::PostRow;

/// Writes one post as one line.
pub fn write_post(out: &mut impl Write, post: &PostRow) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *out, post).map_err(|e| ExportError::Output(e.into()))?;
    out.write_all(b"\n").map_err(ExportError::Output)
}
