//! The one writer connection, on its own thread: jobs come through a
//! channel and run in order; between jobs it indexes a slice of the posts
//! queued for search, so a poll's save waits for one slice at most.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::open_connection;
use super::search::index_pending;
use crate::store::StoreError;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

impl StoreError {
    /// Names the database file when the error is the file system's doing.
    fn on_disk(self, path: &Path) -> StoreError {
        use rusqlite::ErrorCode::*;
        match self {
            StoreError::Sqlite(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(DiskFull | SystemIoFailure | ReadOnly | CannotOpen | PermissionDenied)
                ) =>
            {
                StoreError::Disk {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
            other => other,
        }
    }
}

/// Posts indexed for search per transaction by [`index_all`].
pub(crate) const INDEX_BATCH: usize = 2000;
/// Posts indexed per transaction while the writer has nothing else to do:
/// a poll that arrives meanwhile waits for one slice at most (about 20 ms
/// of 1–3 KB bodies on the benchmark machine).
const INDEX_SLICE: usize = 200;
/// With nothing queued, the writer still looks this often for posts whose
/// wait for their article ran out.
const INDEX_RECHECK: Duration = Duration::from_secs(60);

/// Runs jobs as they come; whenever none is waiting, indexes a slice of the
/// queued posts for search. Polls come first: indexing never holds a poll
/// for more than one slice, and catches up when the polls pause.
fn writer_loop(conn: &mut Connection, jobs: &mpsc::Receiver<Job>, index: bool) {
    // A killed run may have left posts queued: look once at the start.
    let mut maybe_queued = index;
    let mut failing = false;
    loop {
        let job = if maybe_queued {
            match jobs.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match jobs.recv_timeout(INDEX_RECHECK) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        if let Some(job) = job {
            job(conn);
            maybe_queued = index;
            continue;
        }
        if !index {
            continue;
        }
        match index_pending(conn, INDEX_SLICE, false) {
            Ok(run) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("indexing posts for search works again");
                }
                maybe_queued = run.more;
            }
            Err(e) => {
                // Left queued; tried again after the next job. Said once.
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "indexing posts for search failed");
                }
                maybe_queued = false;
            }
        }
    }
}

/// The writer: one connection on its own thread.
pub(crate) struct Writer {
    path: PathBuf,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Opens the database; with `index` false the writer leaves the search
    /// index alone (`crawl --once --defer-index`: the posts queued for it stay
    /// queued, and the count it reports stays true).
    pub(crate) fn open_with(path: &Path, index: bool) -> Result<Writer, StoreError> {
        let mut conn = open_connection(path)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("newscrawl-db".into())
            .spawn(move || writer_loop(&mut conn, &rx, index))
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Writer {
            path: path.to_path_buf(),
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the writer connection and returns its result.
    pub(crate) async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let path = self.path.clone();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn).map_err(|e| e.on_disk(&path)));
        });
        self.jobs
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(job)
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    fn shutdown(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
