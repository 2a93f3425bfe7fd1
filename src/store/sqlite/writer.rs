//! The one writer connection, on its own thread: jobs come through a
//! channel and run in order, the polls' saves that wait together in one
//! transaction (group commit, [`run_shared`]); between jobs it indexes a
//! slice of the posts queued for search, so a poll's save waits for one
//! slice at most. Beside
//! it, the checkpointer: a second connection on a thread of its own that
//! copies the write-ahead log into the database file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, ffi};

use super::open_connection;
use super::search::index_pending;
use super::stories::Stories;
use crate::store::StoreError;

type AloneJob = Box<dyn FnOnce(&mut Connection, &mut Stories) + Send>;

/// What the writer runs.
enum Job {
    /// A job with transactions of its own.
    Alone(AloneJob),
    /// A save that shares its transaction with the saves waiting beside it
    /// ([`Writer::call_shared`]).
    Shared(Step),
}

/// A save that can share the writer's transaction: run in it (again,
/// alone, when another save of the group failed), then told the outcome
/// of the commit.
trait SharedSave: Send {
    /// Runs the save in the open transaction, keeping its result.
    fn run(&mut self, conn: &Connection, stories: &mut Stories) -> Result<(), StoreError>;
    /// Tells the caller: its result when `outcome` (the commit's) is Ok.
    fn finish(self: Box<Self>, outcome: Result<(), StoreError>);
}

type Step = Box<dyn SharedSave>;

struct Save<F, R> {
    f: F,
    result: Option<R>,
    reply: tokio::sync::oneshot::Sender<Result<R, StoreError>>,
    path: PathBuf,
}

impl<F, R> SharedSave for Save<F, R>
where
    F: FnMut(&Connection, &mut Stories) -> Result<R, StoreError> + Send,
    R: Send,
{
    fn run(&mut self, conn: &Connection, stories: &mut Stories) -> Result<(), StoreError> {
        self.result = Some((self.f)(conn, stories)?);
        Ok(())
    }

    fn finish(self: Box<Self>, outcome: Result<(), StoreError>) {
        let Save {
            result,
            reply,
            path,
            ..
        } = *self;
        let result = outcome.and_then(|()| result.ok_or(StoreError::WriterGone));
        let _ = reply.send(result.map_err(|e| e.on_disk(&path)));
    }
}

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

    /// The same error again, for the next of the callers whose saves one
    /// failed commit undid.
    fn again(&self) -> StoreError {
        let (code, message) = match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
                (*code, message.clone())
            }
            other => (
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(other.to_string()),
            ),
        };
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message))
    }
}

/// Saves run in one transaction at most (group commit): as many as wait
/// when the writer takes the first, up to this. A commit writes every page
/// its transaction changed to the log, and the index pages a poll's posts
/// change (keyed by URL, identity and time, all over the indexes) are
/// mostly other polls' pages too: committed once for several polls, each
/// is written once. Few, because the polls of a group wait for its commit
/// together: groups of 16 (every poll in flight) left the fetchers idle
/// meanwhile and gained nothing.
const SHARED_SAVES: usize = 4;

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
/// Past this many pages (60 MB) the checkpointer also has the writer
/// pause between two jobs to copy the rest and start the log over: a log
/// that busy commits always keep a little ahead of the copy is never
/// restarted by passive checkpoints alone, and would grow with every
/// commit.
///
/// The log's file is as long as the log ever was (a restart writes it
/// again from its start), and its length costs twice: each page of it is
/// allocated in the page cache when first written (about 0.5 ms a MB
/// here), and freed, with its disk blocks, when the last checkpoint
/// truncates it (0.15–0.3 ms a MB). Restarting at 200 MB, the log reached
/// 268 MB in a cold crawl of 1,000 feeds (the rounds below let it grow
/// while they copy); at 60 MB it reaches 110–130 MB, with four restarts
/// rather than two: the crawl 2.06 → 1.92 s (8 runs each, alternating,
/// every run faster). Lower marks gain no more (40 MB: 1.96 s against
/// 1.91 s in one set; `bench/ANALYSIS.md`).
const RESTART_PAGES: i32 = 15_000;
/// Rounds of copying and syncing before a restart, at most, without holding
/// the writer ([`checkpointer`]): the first copies what the passive
/// checkpoints left and syncs the database file, the next the pages
/// committed meanwhile, and so on while a round has many to copy; the
/// restart is left the pages of the last round.
const EARLY_ROUNDS: usize = 5;
/// A round that copied fewer pages than this is the last.
const FEW_PAGES: i64 = 1_000;
/// How long a restart waits for the writer and readers.
const RESTART_WAIT: Duration = Duration::from_millis(250);
/// The log's limit, in restart marks: past it the writer starts no job
/// while a restart is under way, so that however busy it is the log stays
/// under four times the mark (240 MB) and one job's pages. Not twice: the
/// rounds before a restart let the log grow to about twice the mark, so
/// the writer would wait at the restarts of a crawl (with a mark of 48 MB
/// and the limit at twice it, the log passed the limit at its restarts
/// and a cold crawl took 2.04 s where marks of 60 and 80 MB took 1.88 s).
const LIMIT: i32 = 4;

/// When the writer asks for checkpoints, in pages of the log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Marks {
    pub(crate) checkpoint: i32,
    pub(crate) restart: i32,
    /// The longest the writer waits for a restart when the log is past
    /// [`Marks::limit`].
    pub(crate) held_max: Duration,
}

impl Marks {
    /// Past this many pages the writer waits for a restart under way.
    pub(crate) fn limit(&self) -> i32 {
        self.restart.saturating_mul(LIMIT)
    }
}

impl Default for Marks {
    fn default() -> Marks {
        Marks {
            checkpoint: CHECKPOINT_PAGES,
            restart: RESTART_PAGES,
            held_max: HELD_MAX,
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

/// What the writer and the checkpointer tell each other.
#[derive(Default)]
struct AskState {
    /// The ask waiting: a restart outranks a passive copy, and one ask
    /// covers all that is committed when it runs, so none is lost and none
    /// piles up.
    ask: Option<Checkpoint>,
    /// The writer is gone.
    closed: bool,
    /// A restart is asked for or under way.
    restarting: bool,
    /// The log is past [`Marks::limit`].
    over: bool,
    /// The checkpointer asks the writer not to start another job while it
    /// restarts the log.
    hold: bool,
    /// The writer is running a job (and may have a transaction open).
    busy: bool,
}

/// The writer's asks to the checkpointer, and the checkpointer's ask to
/// the writer to wait for a restart.
struct Asks {
    state: Mutex<AskState>,
    wake: Condvar,
    held_max: Duration,
}

/// How long the checkpointer waits for the writer to finish its job and
/// stop before a restart: past it, the restart goes ahead and waits for the
/// writer's lock as SQLite does (a job runs a few milliseconds; an `Alone`
/// job of the command line's may run longer).
const HOLD_WAIT: Duration = Duration::from_millis(250);
/// The longest the writer waits for a restart past the log's limit: a
/// checkpointer stuck on the disk holds up the writer no longer.
const HELD_MAX: Duration = Duration::from_secs(2);

impl Asks {
    fn new(held_max: Duration) -> Asks {
        Asks {
            state: Mutex::default(),
            wake: Condvar::new(),
            held_max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, AskState> {
        // Nothing is left half-done under this lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ask(&self, ask: Checkpoint) {
        let mut s = self.lock();
        if s.ask != Some(Checkpoint::Restart) {
            s.ask = Some(ask);
        }
        if ask == Checkpoint::Restart {
            s.restarting = true;
        }
        self.wake.notify_all();
    }

    /// Whether the log is past its limit, from the writer's hook.
    fn over(&self, over: bool) {
        self.lock().over = over;
    }

    fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    /// The next ask, or `None` once the writer is gone and none is left.
    fn next(&self) -> Option<Checkpoint> {
        let mut s = self.lock();
        loop {
            if let Some(ask) = s.ask.take() {
                return Some(ask);
            }
            if s.closed {
                return None;
            }
            s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The checkpointer's side: asks the writer not to start another job,
    /// and waits (up to [`HOLD_WAIT`]) until it has none running; whether
    /// it has none. The writer starts none until [`Asks::release_writer`].
    fn hold_writer(&self) -> bool {
        let mut s = self.lock();
        s.hold = true;
        let (s, _) = self
            .wake
            .wait_timeout_while(s, HOLD_WAIT, |s| s.busy && !s.closed)
            .unwrap_or_else(|e| e.into_inner());
        !s.busy
    }

    /// Lets the writer go on after a restart, done or not; `restarted`:
    /// the log was started over, so a restart asked meanwhile (by the
    /// commits it covered) is dropped.
    fn release_writer(&self, restarted: bool) {
        let mut s = self.lock();
        s.hold = false;
        s.restarting = s.ask == Some(Checkpoint::Restart);
        if restarted && s.restarting {
            s.ask = None;
            s.restarting = false;
        }
        self.wake.notify_all();
    }

    /// The writer's side, before a job: waits while a restart holds it, or
    /// while one is under way and the log is past its limit, up to
    /// [`Marks::held_max`] (past it the writer goes on, and waits no more
    /// for that restart because of the limit; a hold still standing is
    /// waited for again before the next job); then counts as busy until
    /// the guard goes.
    fn busy(&self) -> Busy<'_> {
        let s = self.lock();
        let (mut s, waited) = self
            .wake
            .wait_timeout_while(s, self.held_max, |s| s.hold || (s.over && s.restarting))
            .unwrap_or_else(|e| e.into_inner());
        // Said once a restart (the next wait for a hold standing is not
        // said again): a disk stuck for a minute is one line, not one a job.
        if waited.timed_out() && std::mem::take(&mut s.restarting) {
            tracing::warn!(
                "the log's restart takes longer than {:?}; the writer goes on",
                self.held_max
            );
        }
        s.busy = true;
        Busy(self)
    }
}

/// The writer's job is running; [`Asks::busy`].
struct Busy<'a>(&'a Asks);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.busy = false;
        if s.hold {
            self.0.wake.notify_all();
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
        if ask == Checkpoint::Restart {
            // A restart holds up the writer while it copies the rest of the
            // log and syncs the database file, and a sync of everything the
            // passive checkpoints copied since the last one is long (in a
            // cold crawl, 0.2 s in which nothing else moved: see
            // `bench/ANALYSIS.md`). The copy and the sync first, without
            // holding anyone up, round after round while a round had many
            // pages to copy (those the writer committed during the round
            // before, its sync mostly): the restart is then left the pages
            // committed during the last. A failure here is only time lost:
            // the restart below copies and syncs everything anyway.
            let mut copied = 0;
            for _ in 0..EARLY_ROUNDS {
                let round = conn
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2))
                    .and_then(|done| sync_database_file(conn).map(|()| done));
                match round {
                    Ok(done) => {
                        let this = done - std::mem::replace(&mut copied, done);
                        if this < FEW_PAGES {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "copy before the restart");
                        break;
                    }
                }
            }
        }
        let sql = match ask {
            Checkpoint::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
            Checkpoint::Restart => "PRAGMA wal_checkpoint(RESTART)",
        };
        // A restart needs the writer's lock between two of its
        // transactions, and the writer starts the next one as soon as it
        // commits: SQLite's busy wait (sleeps of 1 to 100 ms) rarely
        // catches it in the gap, and a cold crawl's log grew to 1.5–2.3
        // times the mark before one did. So the writer is asked to wait
        // after its job instead, and the restart finds the lock free.
        let held = ask == Checkpoint::Restart && asks.hold_writer();
        let copied = conn.query_row(sql, [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        if ask == Checkpoint::Restart {
            asks.release_writer(matches!(copied, Ok((0, _, _))));
        }
        match copied {
            Ok((busy, log, done)) => {
                tracing::debug!(?ask, busy, log, done, held, "checkpoint");
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

/// Syncs `conn`'s database file to the disk, through SQLite's own handle
/// of it: a descriptor of our own for the file would, once closed, drop
/// the POSIX locks SQLite holds on it for every connection of the process.
/// Nothing to do for a database without a file.
pub(super) fn sync_database_file(conn: &Connection) -> rusqlite::Result<()> {
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: `conn` is open and used by this thread only; the file
    // control writes one pointer to `file`, which stays valid while the
    // connection is open, and SQLite's pager does not use the file during
    // the call (the connection runs no statement).
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&raw mut file).cast(),
        )
    };
    if rc != ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None));
    }
    // SAFETY: a non-null `file` is the open file SQLite gave; its methods
    // are null until it is opened.
    let sync = unsafe { file.as_ref() }
        .and_then(|f| unsafe { f.pMethods.as_ref() })
        .and_then(|m| m.xSync);
    let Some(sync) = sync else {
        return Ok(());
    };
    // SAFETY: the file's own method, on the file, with SQLite's flag.
    let rc = unsafe { sync(file, ffi::SQLITE_SYNC_NORMAL) };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None))
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
    let mut over = false;
    let asks = CloseOnDrop(asks);
    conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: i32| {
        log.store(u64::try_from(pages).unwrap_or(0), Ordering::Release);
        if over != (pages >= marks.limit()) {
            over = !over;
            asks.0.over(over);
        }
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
fn writer_loop(conn: &mut Connection, jobs: &mpsc::Receiver<Job>, index: bool, asks: &Asks) {
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
        // No transaction is open between two jobs (and while the writer
        // waits for one): a restart of the log may be waiting for that.
        let _busy = asks.busy();
        if let Some(mut next) = job {
            loop {
                match next {
                    Job::Alone(f) => {
                        // Its statements outside a transaction of its own
                        // fire the triggers as the schema has them now.
                        if let Err(e) = super::triggers::keep_up(conn) {
                            tracing::warn!(error = %e, "the triggers could not be brought up to date");
                        }
                        f(conn, &mut stories)
                    }
                    Job::Shared(step) => {
                        // The job that ended the shared transaction, if any.
                        if let Some(after) = run_shared(conn, &mut stories, step, jobs) {
                            next = after;
                            continue;
                        }
                    }
                }
                break;
            }
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

/// Runs `first` and the shared saves waiting behind it, up to
/// [`SHARED_SAVES`], in one transaction, then commits and tells each
/// caller the outcome: a caller hears that its posts are saved only once
/// they are committed. When a save fails, the transaction is rolled back
/// and each save of the group runs again in a transaction of its own, so
/// that one poll's error is that poll's alone (a savepoint each would do
/// it in one go, but copies every page it changes to its journal: the
/// cold crawl took 4.9–5.5 s instead of 3.9–4.1). Returns the job that
/// came next when it is not a shared save (it runs after the commit).
fn run_shared(
    conn: &mut Connection,
    stories: &mut Stories,
    first: Step,
    jobs: &mpsc::Receiver<Job>,
) -> Option<Job> {
    let mut group = vec![first];
    let mut after = None;
    let tx = match super::begin_write(conn) {
        Ok(tx) => tx,
        Err(e) => {
            finish_all(group, Err(e));
            return None;
        }
    };
    // The index takes in other processes' posts once per transaction.
    stories.begin();
    let mut failed = false;
    let mut ran = 0;
    while let Some(step) = group.get_mut(ran) {
        if step.run(&tx, stories).is_err() {
            failed = true;
            break;
        }
        ran += 1;
        if group.len() >= SHARED_SAVES {
            break;
        }
        match jobs.try_recv() {
            Ok(Job::Shared(s)) => group.push(s),
            Ok(other) => {
                after = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    if failed {
        drop(tx);
        // The index may hold the posts rolled back.
        stories.forget();
        for step in group {
            run_alone(conn, stories, step);
        }
        return after;
    }
    let committed = tx.commit().map_err(StoreError::from);
    if committed.is_err() {
        stories.forget();
    }
    finish_all(group, committed);
    after
}

/// Tells every save of a group the outcome of its commit.
fn finish_all(group: Vec<Step>, outcome: Result<(), StoreError>) {
    for step in group {
        step.finish(match &outcome {
            Ok(()) => Ok(()),
            Err(e) => Err(e.again()),
        });
    }
}

/// One shared save in a transaction of its own.
fn run_alone(conn: &mut Connection, stories: &mut Stories, mut step: Step) {
    let outcome = super::begin_write(conn).and_then(|tx| {
        stories.begin();
        step.run(&tx, stories)?;
        Ok(tx.commit()?)
    });
    if outcome.is_err() {
        stories.forget();
    }
    step.finish(outcome);
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
        // The writer's inserts of posts do the insert triggers' work.
        super::triggers::install(&conn)?;
        let asks = Arc::new(Asks::new(marks.held_max));
        let theirs = Arc::clone(&asks);
        let restarts = Arc::new(AtomicU64::new(0));
        let log = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&restarts);
        // On the shim too, which writes a checkpoint's pages in runs.
        let checkpointing = if super::vfs::available() {
            Connection::open_with_flags_and_vfs(
                path,
                rusqlite::OpenFlags::default(),
                super::vfs::NAME,
            )
        } else {
            Connection::open(path)
        };
        let checkpoints = checkpointing.ok().and_then(|c| {
            std::thread::Builder::new()
                .name("newscrawl-ckpt".into())
                .spawn(move || checkpointer(&c, &theirs, &counted))
                .ok()
        });
        // Without the thread, SQLite's own checkpoints stay on (the
        // `wal_autocheckpoint` of `open_connection`).
        if checkpoints.is_some() {
            hand_checkpoints_over(&mut conn, Arc::clone(&asks), marks, Arc::clone(&log))?;
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("newscrawl-db".into())
            .spawn(move || writer_loop(&mut conn, &rx, index, &asks))
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
        let job = Job::Alone(Box::new(move |conn, stories| {
            // Whatever the job, its transactions see other processes' posts.
            stories.begin();
            let result = f(conn, stories);
            if result.is_err() {
                stories.forget();
            }
            let _ = tx.send(result.map_err(|e| e.on_disk(&path)));
        }));
        self.send(job)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `f` on the writer connection, in a transaction that the saves
    /// waiting at the same time share (group commit; `f` must not begin
    /// or end transactions), and returns its result once it is committed.
    /// `f` may run twice: when another save of its group fails, the
    /// group's transaction is rolled back and each runs again alone.
    pub(crate) async fn call_shared<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&Connection, &mut Stories) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(Job::Shared(Box::new(Save {
            f,
            result: None,
            reply,
            path: self.path.clone(),
        })))?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(job)
            .map_err(|_| StoreError::WriterGone)
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
