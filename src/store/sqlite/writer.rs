//! The one writer connection, on its own thread: jobs come through a
//! channel and run in order; between jobs it indexes a slice of the posts
//! queued for search, so a poll's save waits for one slice at most. Beside
//! it, the checkpointer: a second connection on a thread of its own that
//! copies the write-ahead log into the database file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::open_connection;
use super::search::index_pending;
use super::stories::Stories;
use crate::store::StoreError;

type Job = Box<dyn FnOnce(&mut Connection, &mut Stories) + Send>;

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
/// Posts stored before stories that the writer gives theirs per
/// transaction while it has nothing else to do.
pub(crate) const STORY_SLICE: usize = 500;
/// With nothing queued, the writer still looks this often for posts whose
/// wait for their article ran out.
const INDEX_RECHECK: Duration = Duration::from_secs(60);

/// The writer asks for a checkpoint once the log holds this many pages
/// (40 MB): SQLite's own default is 1,000, and copying pages that later
/// commits change again, then syncing, that often cost a cold crawl of 1,000
/// feeds (266 MB of text) 4.4 s instead of 3.7.
const CHECKPOINT_PAGES: i32 = 10_000;
/// Past this many pages (200 MB) the checkpointer also waits for a pause
/// between the writer's transactions to copy the rest and start the log
/// over: a log that busy commits always keep a little ahead of the copy is
/// never restarted by passive checkpoints alone, and would grow with every
/// commit.
const RESTART_PAGES: i32 = 5 * CHECKPOINT_PAGES;
/// How long a restart waits for the writer and readers.
const RESTART_WAIT: Duration = Duration::from_millis(250);

/// When the writer asks for checkpoints, in pages of the log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Marks {
    pub(crate) checkpoint: i32,
    pub(crate) restart: i32,
}

impl Default for Marks {
    fn default() -> Marks {
        Marks {
            checkpoint: CHECKPOINT_PAGES,
            restart: RESTART_PAGES,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Checkpoint {
    /// Copy what is committed, without waiting for anyone.
    Passive,
    /// Wait for the writer to pause, copy everything, start the log over.
    Restart,
}

/// The writer's asks to the checkpointer: the one waiting (a restart
/// outranks a passive copy, and one ask covers all that is committed when
/// it runs, so none is lost and none piles up), and whether the writer
/// is gone.
#[derive(Default)]
struct Asks {
    state: Mutex<(Option<Checkpoint>, bool)>,
    wake: Condvar,
}

impl Asks {
    fn lock(&self) -> MutexGuard<'_, (Option<Checkpoint>, bool)> {
        // Nothing is left half-done under this lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ask(&self, ask: Checkpoint) {
        let mut s = self.lock();
        if s.0 != Some(Checkpoint::Restart) {
            s.0 = Some(ask);
        }
        self.wake.notify_one();
    }

    fn close(&self) {
        self.lock().1 = true;
        self.wake.notify_one();
    }

    /// The next ask, or `None` once the writer is gone and none is left.
    fn next(&self) -> Option<Checkpoint> {
        let mut s = self.lock();
        loop {
            if let Some(ask) = s.0.take() {
                return Some(ask);
            }
            if s.1 {
                return None;
            }
            s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Closes the asks when the writer's hook goes, with its connection.
struct CloseOnDrop(Arc<Asks>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Checkpoints on their own connection and thread. A checkpoint syncs the
/// log and the database file, and waiting for the disk there is what
/// stalled the writer when it checkpointed itself (SQLite's default: the
/// commit that crosses the mark does it): a cold crawl of 1,000 feeds took
/// 3.3–3.5 s, against 2.5 s with syncing off; with this thread, 3.0–3.3 s
/// (the rest is the restarts, which the writer waits for). Here the writer
/// goes on while the copy and the syncs run, and commits stay as durable
/// as before (with
/// `synchronous = NORMAL`, a commit is on disk at the next checkpoint, and
/// at the latest when the last connection closes, which checkpoints the
/// whole log).
fn checkpointer(conn: &Connection, asks: &Asks, restarts: &AtomicU64) {
    // A restart waits for the writer to finish its transaction and for
    // readers to move to the newest snapshot, and holds up the writer while
    // it waits: a reader with a long query must not stall the crawl, so it
    // gives up soon and is asked again as the log grows.
    let _ = conn.busy_timeout(RESTART_WAIT);
    let mut failing = false;
    while let Some(ask) = asks.next() {
        let sql = match ask {
            Checkpoint::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
            Checkpoint::Restart => "PRAGMA wal_checkpoint(RESTART)",
        };
        let copied = conn.query_row(sql, [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        match copied {
            Ok((busy, log, done)) => {
                tracing::debug!(?ask, busy, log, done, "checkpoint");
                if matches!(ask, Checkpoint::Restart) && busy == 0 {
                    restarts.fetch_add(1, Ordering::Release);
                }
                if std::mem::take(&mut failing) {
                    tracing::info!("checkpoints work again");
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, ?ask, "checkpoint failed; the log grows until one works");
                }
            }
        }
    }
    // The writer is gone: copy the whole log into the database file and
    // empty it. SQLite does so when the last connection closes, but that
    // may be a reader's (read-only connections cannot checkpoint), and
    // then the database file alone (what `cp` backs up) would lack the
    // last commits until the next writer came.
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "the last checkpoint failed; the log keeps the last commits");
    }
}

/// Has the writer ask the checkpointer, after each commit, once the log is
/// long enough. Never fails: an error from the hook would fail the
/// statement whose transaction already committed.
fn hand_checkpoints_over(
    conn: &mut Connection,
    asks: Arc<Asks>,
    marks: Marks,
    log: Arc<AtomicU64>,
) -> rusqlite::Result<()> {
    // Asked again only once the log has grown by as much again: a passive
    // checkpoint leaves the log as long as it was (only a restart shortens
    // it), and one per commit would sync the disk for nothing.
    let mut next = marks.checkpoint;
    let asks = CloseOnDrop(asks);
    conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: i32| {
        log.store(u64::try_from(pages).unwrap_or(0), Ordering::Release);
        if pages < next - marks.checkpoint {
            // The log was started over.
            next = marks.checkpoint;
        }
        if pages < next {
            return Ok(());
        }
        next = pages + marks.checkpoint;
        let ask = if pages >= marks.restart {
            Checkpoint::Restart
        } else {
            Checkpoint::Passive
        };
        asks.0.ask(ask);
        Ok(())
    }))
}

/// Runs jobs as they come; whenever none is waiting, indexes a slice of the
/// queued posts for search. Polls come first: indexing never holds a poll
/// for more than one slice, and catches up when the polls pause.
fn writer_loop(conn: &mut Connection, jobs: &mpsc::Receiver<Job>, index: bool) {
    // A killed run may have left posts queued: look once at the start.
    let mut maybe_queued = index;
    let mut failing = false;
    let mut stories = Stories::default();
    // Posts stored before stories (or by another tool) get theirs, once.
    let mut maybe_unassigned = true;
    loop {
        let job = if maybe_queued || maybe_unassigned {
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
            job(conn, &mut stories);
            maybe_queued = index;
            continue;
        }
        if maybe_unassigned {
            match super::stories::assign_unassigned(conn, &mut stories, STORY_SLICE) {
                Ok(n) => maybe_unassigned = n == STORY_SLICE,
                Err(e) => {
                    stories.forget();
                    maybe_unassigned = false;
                    tracing::warn!(error = %e, "giving older posts their stories failed; tried again at the next start");
                }
            }
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
    checkpoints: Option<JoinHandle<()>>,
    /// Restarts of the log the checkpointer carried out.
    restarts: Arc<AtomicU64>,
    /// The log's length in pages after the last commit.
    log: Arc<AtomicU64>,
}

impl Writer {
    /// Opens the database; with `index` false the writer leaves the search
    /// index alone (`crawl --once --defer-index`: the posts queued for it stay
    /// queued, and the count it reports stays true).
    pub(crate) fn open_with(path: &Path, index: bool) -> Result<Writer, StoreError> {
        Writer::open_with_marks(path, index, Marks::default())
    }

    pub(crate) fn open_with_marks(
        path: &Path,
        index: bool,
        marks: Marks,
    ) -> Result<Writer, StoreError> {
        let mut conn = open_connection(path)?;
        let asks = Arc::new(Asks::default());
        let theirs = Arc::clone(&asks);
        let restarts = Arc::new(AtomicU64::new(0));
        let log = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&restarts);
        let checkpoints = Connection::open(path).ok().and_then(|c| {
            std::thread::Builder::new()
                .name("newscrawl-ckpt".into())
                .spawn(move || checkpointer(&c, &theirs, &counted))
                .ok()
        });
        // Without the thread, SQLite's own checkpoints stay on (the
        // `wal_autocheckpoint` of `open_connection`).
        if checkpoints.is_some() {
            hand_checkpoints_over(&mut conn, asks, marks, Arc::clone(&log))?;
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("newscrawl-db".into())
            .spawn(move || writer_loop(&mut conn, &rx, index))
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Writer {
            path: path.to_path_buf(),
            jobs: Some(tx),
            thread: Some(thread),
            checkpoints,
            restarts,
            log,
        })
    }

    /// Runs `f` on the writer connection and returns its result.
    pub(crate) async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.call_stories(move |conn, _| f(conn)).await
    }

    /// Runs `f` on the writer connection with the writer's story state;
    /// when `f` fails (its transaction rolled back), the state is read
    /// again from the database at its next use.
    pub(crate) async fn call_stories<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection, &mut Stories) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let path = self.path.clone();
        let job: Job = Box::new(move |conn, stories| {
            // Whatever the job, its transactions see other processes' posts.
            stories.begin();
            let result = f(conn, stories);
            if result.is_err() {
                stories.forget();
            }
            let _ = tx.send(result.map_err(|e| e.on_disk(&path)));
        });
        self.jobs
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(job)
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// How many times the checkpointer started the log over.
    #[cfg(test)]
    pub(crate) fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Acquire)
    }

    /// The log's length in pages after the last commit.
    #[cfg(test)]
    pub(crate) fn log_pages(&self) -> u64 {
        self.log.load(Ordering::Acquire)
    }

    /// Ends the writer, then the checkpointer (whose channel closes with
    /// the writer's connection). The last of them to close its connection
    /// checkpoints the whole log, so every commit is on disk on return.
    fn shutdown(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(t) = self.checkpoints.take() {
            let _ = t.join();
        }
        tracing::debug!(
            restarts = self.restarts.load(Ordering::Acquire),
            log_pages = self.log.load(Ordering::Acquire),
            "writer closed"
        );
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
