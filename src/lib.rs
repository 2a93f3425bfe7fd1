//! newscrawl: a news crawler and aggregator daemon. Sources (RSS, Atom, JSON
//! Feed) are polled, their items deduplicated by infoCode and canonical URL,
//! and stored as posts in SQLite for downstream tools.
//!
//! The pipeline, one module per stage, data flowing down this list:
//! [`config`] → [`fetch`] → [`decode`] → [`feed`] → [`dedup`] → [`html`] →
//! [`store`], driven by [`crawl`]. [`cli`] is the command line and [`run`]
//! its entry point.

pub mod article;
pub mod cli;
mod commands;
pub mod config;
pub mod crawl;
pub mod daemon;
pub mod date;
pub mod decode;
pub mod dedup;
pub mod discover;
pub mod error;
pub mod export;
pub mod feed;
pub mod fetch;
pub mod hooks;
pub mod html;
pub mod jsonlist;
mod logging;
pub mod metrics;
pub mod progress;
pub mod rules;
pub mod schedule;
pub mod search;
pub mod slug;
pub mod store;
pub mod stories;
#[cfg(test)]
mod testing;

use std::process::ExitCode;

use tracing::error;

use crate::cli::Cli;
use crate::config::Config;
use crate::error::ConfigError;
use crate::store::StoreError;

/// Anything that ends a command early.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
    /// Another daemon holds the database.
    #[error("{0}")]
    AlreadyRunning(String),
}

/// What an export's failure means for the command: a template of the
/// user's is bad usage, a file or directory that cannot be written or the
/// database are fatal.
impl From<export::ExportError> for Error {
    fn from(e: export::ExportError) -> Error {
        use export::ExportError;
        match e {
            ExportError::Store(s) => Error::Store(s),
            ExportError::Template(t) => Error::Usage(format!("export.jekyll.template: {t}")),
            ExportError::Io { path, source } => Error::Io(std::io::Error::new(
                source.kind(),
                format!("{path}: {source}"),
            )),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Exit status: all went well.
pub const EXIT_OK: u8 = 0;
/// Exit status: at least one source failed (the others were still crawled).
pub const EXIT_SOURCE_FAILED: u8 = 1;
/// Exit status: bad usage or configuration; nothing fetched or written.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: a fatal error ended the command (the database cannot be
/// opened, is not newscrawl's, is read-only, the disk is full): not "a
/// source failed", so the systemd units, which accept 1, count it a failure.
pub const EXIT_FATAL: u8 = 3;

/// Runs a parsed command line and returns the process's exit status.
pub fn run(cli: Cli) -> ExitCode {
    logging::init(cli.verbose, cli.quiet, cli.log_format);
    // Before any connection: SQLite takes its allocator once.
    if !store::sqlite_uses_global_allocator() {
        tracing::debug!("SQLite keeps its own allocator");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        // Parsing runs on the blocking pool: one thread per CPU keeps them
        // busy; more (tokio's default cap is 512) only add stacks and malloc
        // arenas to the resident size. At 1,000 feeds on 2 CPUs, 2 threads
        // instead of 4 took the peak from 67 to 60 MB and were faster.
        .max_blocking_threads(std::thread::available_parallelism().map_or(2, |n| n.get().max(2)))
        .enable_all()
        .on_thread_start(yield_to_the_writer())
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FATAL);
        }
    };
    let code = runtime.block_on(commands::dispatch(cli));
    // Work abandoned at shutdown (a poll past the stop grace) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(code)
}

/// How much nicer than the rest of the process the runtime's threads run
/// (fetching, decoding, parsing, extracting, fingerprinting).
const RUNTIME_NICENESS: i32 = 10;

/// What each runtime thread runs as it starts: its nice value set to the
/// calling (main) thread's plus [`RUNTIME_NICENESS`], whichever thread
/// spawned it (a thread starts with its spawner's: the blocking pool's are
/// spawned from workers). On Linux, a nice value is a thread's own;
/// elsewhere nothing is done.
///
/// The store's writer is the crawl's one serial stage: every poll's posts
/// pass through its thread. With more runnable threads than cores (two
/// workers and two parsers beside it on a 2-core machine), the kernel's
/// fair share gave the writer part of a core while polls queued behind it;
/// at a lower weight the runtime's threads take what the writer leaves
/// (its own thread and the checkpointer's are spawned from the main
/// thread, and keep the process's priority). Cold crawl of the benchmark,
/// 6 runs each, alternating: 3.18 → 2.99 s, every run faster; the articles
/// run 12.82 → 12.55 s (`bench/ANALYSIS.md`). A crawler is background
/// work: on a shared machine, the rest of it goes first too. Raising a
/// nice value needs no privilege; a failure leaves the thread as it was.
#[cfg(target_os = "linux")]
fn yield_to_the_writer() -> impl Fn() + Send + Sync + 'static {
    // `None`: the calling thread, on Linux.
    let target = rustix::process::getpriority_process(None)
        .ok()
        .map(|base| (base + RUNTIME_NICENESS).min(19));
    move || {
        if let Some(nice) = target {
            let _ = rustix::process::setpriority_process(None, nice);
        }
    }
}

/// Elsewhere a nice value is the whole process's: nothing is done.
#[cfg(not(target_os = "linux"))]
fn yield_to_the_writer() -> impl Fn() + Send + Sync + 'static {
    || {}
}

/// The configuration `--config` (or `$NEWSCRAWL_CONFIG`, or the default
/// lookup) names, with `--database` applied.
pub fn load_config(cli: &Cli) -> Result<Config, ConfigError> {
    let path = match &cli.config {
        Some(p) => p.clone(),
        None => config::default_path()?,
    };
    let mut config = config::load(&path)?;
    if let Some(db) = &cli.database {
        config.database =
            config::Database::parse(db, std::path::Path::new(""), None).map_err(|message| {
                ConfigError::Invalid {
                    location: "--database".into(),
                    message,
                }
            })?;
    }
    Ok(config)
}
