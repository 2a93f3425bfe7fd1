//! The continuous Jekyll export (`[export.jekyll] out`): the seed system's
//! whole job. After a poll or an article batch stores or changes posts, the
//! daemon writes their files into the `_posts` directory (and the category
//! pages), and `crawl --once` does the same before it returns. Each round
//! writes the posts whose latest change (`post_changes.seq`) is past the
//! export's cursor (`export_cursors`, one per output directory) and then
//! moves the cursor: a process killed between the two writes the same files
//! again next time, which leaves them untouched (same bytes), and nothing
//! stored is ever skipped. The files are those of `newscrawl export jekyll`.

use std::path::PathBuf;
use std::sync::Arc;

use chrono_tz::Tz;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::ExportError;
use super::jekyll::{JekyllSummary, JekyllWriter};
use crate::config::{Config, Database};
use crate::store::{self, KeptReader, Reader, Store};

/// Where and how the continuous export writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub out: PathBuf,
    pub category_pages: Option<PathBuf>,
    template: String,
    site: String,
    tz: Tz,
}

/// The post template in effect: the configured file's, or the built-in one.
pub fn template(config: &Config) -> Result<String, ExportError> {
    match &config.export.jekyll_template {
        Some(p) => std::fs::read_to_string(p).map_err(|e| ExportError::io(p, e)),
        None => Ok(super::jekyll::DEFAULT_TEMPLATE.to_string()),
    }
}

impl Target {
    /// The configured continuous export, if any; its template is read and
    /// compiled now, so that a bad one is refused at start.
    pub fn from_config(config: &Config) -> Result<Option<Target>, ExportError> {
        let Some(out) = &config.export.jekyll_out else {
            return Ok(None);
        };
        let template = template(config)?;
        super::jekyll::environment(&template)?;
        Ok(Some(Target {
            out: out.clone(),
            category_pages: config.export.jekyll_category_pages.clone(),
            template,
            site: config.export.jekyll_site.clone(),
            tz: config.crawler.timezone,
        }))
    }

    /// The cursor's name in `export_cursors`: one per output directory, so
    /// that pointing `out` elsewhere writes everything there.
    pub fn cursor_name(&self) -> String {
        format!("jekyll:{}", self.out.display())
    }

    /// Writes every post changed after the cursor, reading one snapshot of
    /// the database; returns what it wrote and the change numbers it went
    /// from and to.
    fn write_changes(&self, db: &Reader) -> Result<(JekyllSummary, i64, i64), ExportError> {
        db.snapshot(|db| self.write_snapshot(db))
    }

    fn write_snapshot(&self, db: &Reader) -> Result<(JekyllSummary, i64, i64), ExportError> {
        // A directory that is gone (removed by hand, a new site) gets
        // every post again, not only those changed since.
        let after = if self.out.is_dir() {
            db.export_cursor(&self.cursor_name())?
        } else {
            0
        };
        let upto = db.last_change()?;
        if upto <= after {
            return Ok((JekyllSummary::default(), after, upto));
        }
        let mut writer = JekyllWriter::new(&self.template, &self.out, &self.site, self.tz)?;
        let filter = store::PostFilter {
            changed: Some((after, upto)),
            ..store::PostFilter::default()
        };
        db.for_each_post(&filter, |post| {
            writer.post(&post, &[], &|code| db.has_info_code(code).unwrap_or(true));
            Ok::<(), ExportError>(())
        })?;
        if let Some(e) = writer.io_error.take() {
            return Err(e);
        }
        if let Some(dir) = &self.category_pages {
            writer.category_pages(dir)?;
        }
        Ok((writer.summary, after, upto))
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub summary: JekyllSummary,
    /// Posts the round looked at (changed since the cursor).
    pub changed_from: i64,
    pub changed_to: i64,
}

/// One round: writes what changed since the cursor (reading the database
/// at `db` through a read-only connection, off the async threads), then
/// moves the cursor through the writer. A post that cannot be rendered is
/// reported and counted in `summary.failed`, and the cursor moves past it
/// (it is tried again when it changes); a file or directory that cannot be
/// written fails the round after the rest is written, and the cursor stays.
pub async fn round(
    target: Arc<Target>,
    reader: &Arc<KeptReader>,
    store: &Store,
) -> Result<Round, ExportError> {
    let kept = Arc::clone(reader);
    let t = Arc::clone(&target);
    let (summary, after, upto) = tokio::task::spawn_blocking(move || {
        kept.with(|reader| t.write_changes(reader))?
            .ok_or_else(|| ExportError::Data(format!("no database at {}", kept.database())))
    })
    .await
    .map_err(|e| ExportError::Data(format!("the export task failed: {e}")))??;
    if upto > after {
        let name = target.cursor_name();
        store.set_export_cursor(&name, upto).await?;
    }
    Ok(Round {
        summary,
        changed_from: after,
        changed_to: upto,
    })
}

/// The daemon's exporter: a round at start (what an earlier run stored and
/// did not export), then one after the polls that store ([`after_saves`]),
/// until `stop`.
///
/// [`after_saves`]: crate::schedule::after_saves
pub async fn run(
    target: Arc<Target>,
    db: Database,
    store: Arc<Store>,
    saved: Arc<Notify>,
    stop: CancellationToken,
) {
    let what = format!("jekyll export to {}", target.out.display());
    let duty = Arc::new(crate::store::Duty::new(
        format!("jekyll {}", target.cursor_name()),
        what.clone(),
    ));
    let every = store.shared().then_some(crate::store::SHARED_ROUND);
    let reader = Arc::new(KeptReader::new(db));
    crate::schedule::after_saves(&what, &saved, &stop, None, every, || {
        let (target, reader, store, duty) = (
            Arc::clone(&target),
            Arc::clone(&reader),
            Arc::clone(&store),
            Arc::clone(&duty),
        );
        async move {
            if !duty.mine(&store).await.map_err(|e| e.to_string())? {
                return Ok(());
            }
            let s = round(target, &reader, &store)
                .await
                .map_err(|e| e.to_string())?
                .summary;
            if s.written + s.failed + s.category_pages_written > 0 {
                tracing::debug!(
                    written = s.written,
                    unchanged = s.unchanged,
                    category_pages = s.category_pages_written,
                    failed = s.failed,
                    "jekyll export"
                );
            }
            Ok(())
        }
    })
    .await;
}
