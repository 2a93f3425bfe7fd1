//! The progress line of a `crawl --once` on a terminal: sources done of all,
//! posts stored, articles fetched, time so far. Nothing at all when stderr
//! is not a terminal (a pipe, a file, the journal) or with `-q`. Log lines
//! printed meanwhile go above it: the logging writer hands each line to
//! [`above`], which clears the line, writes, and draws it again.

use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::crawl::PollReport;

/// The progress line on screen now, if any (one process, one line).
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A crawl's progress line; drawn only on a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
    posts: usize,
    articles: usize,
}

impl Progress {
    /// A line for `total` sources, when `wanted` and stderr is a terminal.
    pub fn start(total: usize, wanted: bool) -> Progress {
        let bar = (wanted && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(total as u64),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            // The template is ours and fixed: it parses.
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {pos}/{len} sources  {msg}  {elapsed}")
            {
                bar.set_style(style);
            }
            bar.set_message("0 new posts, 0 articles");
            bar.enable_steady_tick(Duration::from_millis(250));
            *SHOWN.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
            bar
        });
        Progress {
            bar,
            posts: 0,
            articles: 0,
        }
    }

    /// One more source done.
    pub fn source_done(&mut self, report: &PollReport) {
        let Some(bar) = &self.bar else { return };
        self.posts += report.saved.new_posts;
        self.articles += report.articles.fetched;
        bar.set_message(format!(
            "{} new posts, {} articles",
            self.posts, self.articles
        ));
        bar.inc(1);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            SHOWN.lock().unwrap_or_else(PoisonError::into_inner).take();
            bar.finish_and_clear();
        }
    }
}

/// Runs `write` (a log line going to stderr) with the progress line, if
/// one is shown, out of its way.
pub fn above<R>(write: impl FnOnce() -> R) -> R {
    let shown = SHOWN.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match shown {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}
