//! The PostgreSQL backend: the same operations as [`super::sqlite`], on a
//! PostgreSQL database that other hosts and tools share. Each connection
//! lives on a thread of its own ([`Worker`]): the `postgres` client blocks,
//! and must never block the crawler's async threads. The writer is one
//! such worker; every [`crate::store::Reader`] is another, with its own
//! connection. Split by concern: [`migrate`], [`sources`], [`posts`],
//! [`stories`], [`articles`], [`search`], [`export`], [`prune`].
//!
//! Times are `timestamptz`; a publisher's own UTC offset is kept beside
//! `published_at` and `updated_at` (seconds), so posts read back exactly
//! as the SQLite backend gives them (RFC 3339 in the publisher's offset).

mod articles;
mod batch;
mod export;
mod migrate;
mod posts;
mod prepared;
mod prune;
mod search;
mod sources;
mod stories;
#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use postgres::Client;

pub(crate) use articles::*;
pub(crate) use export::*;
pub(crate) use posts::*;
pub(crate) use prepared::Prepared;
pub(crate) use prune::*;
pub(crate) use search::*;
pub(crate) use sources::*;
pub(crate) use stories::*;

pub(crate) use super::model::*;
pub(crate) use crate::config::Postgres;
pub(crate) use crate::store::StoreError;
pub(crate) use crate::store::story_state::Stories;

type Job = Box<dyn FnOnce(&mut Client, &mut Stories) + Send>;

/// How often a worker whose connection was closed tries to connect again.
const RECONNECT_EVERY: Duration = Duration::from_secs(5);
/// How long the writer waits between looks for posts without a story.
const IDLE_RECHECK: Duration = Duration::from_secs(60);
/// Posts without a story given theirs per transaction in idle time.
pub(crate) const STORY_SLICE: usize = 500;

/// The TLS a connection may use: rustls, the server's certificate checked
/// against `database_ca_file`'s certificates when the configuration names
/// one, else the platform's roots. The URL's `sslmode` decides whether TLS
/// is used: `disable`, `prefer` (the default: when the server offers it)
/// or `require`; whenever it is, the certificate is checked (as libpq's
/// `verify-full` does).
fn tls(ca: Option<&[u8]>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match ca {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("database_ca_file: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("database_ca_file: {e}"))?;
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .with_platform_verifier()
            .map_err(|e| e.to_string())?,
    }
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Connects to `target`: the password from the URL, else
/// `database_password_file`, else `$PGPASSWORD`; the user from the URL,
/// else `$PGUSER`, else `$USER`.
fn connect(target: &Postgres) -> Result<Client, StoreError> {
    let err = |message: String| StoreError::Postgres {
        target: target.shown().to_string(),
        message,
    };
    let mut config: postgres::Config = target
        .url()
        .parse()
        .map_err(|e: postgres::Error| err(format!("not a usable URL: {e}")))?;
    if config.get_password().is_none() {
        if let Some(p) = target.password() {
            config.password(p);
        } else if let Ok(p) = std::env::var("PGPASSWORD") {
            config.password(p);
        }
    }
    if config.get_user().is_none()
        && let Some(user) = std::env::var("PGUSER")
            .ok()
            .or_else(|| std::env::var("USER").ok())
    {
        config.user(&user);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(30));
    }
    config.application_name("newscrawl");
    let tls = tls(target.ca()).map_err(|e| err(format!("TLS: {e}")))?;
    config.connect(tls).map_err(|e| err(e.to_string()))
}

/// A connection to `target`, its schema brought up to date, for work on
/// the caller's thread (which must not be an async runtime's: the client
/// blocks). `newscrawl migrate` copies through it.
pub(crate) fn connect_migrated(target: &Postgres) -> Result<Client, StoreError> {
    let mut client = connect(target)?;
    migrate::migrate(&mut client, target.shown())?;
    Ok(client)
}

/// One connection on a thread of its own, taking jobs in order.
pub(crate) struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Connects (on the new thread) and, for the `writer`, migrates; then
    /// runs jobs until dropped (the writer giving posts without a story
    /// theirs while it has nothing else to do).
    fn start(target: &Postgres, name: &str, writer: bool) -> Result<Worker, StoreError> {
        let (ready, is_ready) = mpsc::channel();
        let (tx, rx) = mpsc::channel::<Job>();
        let theirs = target.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let client = connect(&theirs).and_then(|mut c| {
                    if writer {
                        migrate::migrate(&mut c, theirs.shown())?;
                    }
                    Ok(c)
                });
                match client {
                    Ok(mut client) => {
                        let _ = ready.send(Ok(()));
                        run(&mut client, &theirs, &rx, writer);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .map_err(|_| StoreError::WriterGone)?;
        is_ready.recv().map_err(|_| StoreError::WriterGone)??;
        Ok(Worker {
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// The writer: migrates the database first.
    pub(crate) fn writer(target: &Postgres) -> Result<Worker, StoreError> {
        Worker::start(target, "newscrawl-pg", true)
    }

    /// A reader's connection.
    pub(crate) fn reader(target: &Postgres) -> Result<Worker, StoreError> {
        let worker = Worker::start(target, "newscrawl-pg-read", false)?;
        worker.call_blocking(|c, _| migrate::check_version(c))?;
        Ok(worker)
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(job)
            .map_err(|_| StoreError::WriterGone)
    }

    /// Runs `f` with the connection and the story state; when `f` fails
    /// (its transaction rolled back), the state is read again at its next
    /// use.
    pub(crate) async fn call_stories<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Client, &mut Stories) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Box::new(move |client, stories| {
            stories.begin();
            let result = f(client, stories);
            if result.is_err() {
                stories.forget();
            }
            let _ = tx.send(result);
        }))?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `f` with the connection.
    pub(crate) async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Client) -> Result<R, StoreError> + Send + 'static,
    {
        self.call_stories(move |c, _| f(c)).await
    }

    /// Runs `f` with the connection, waiting for it on this thread (a
    /// reader's calls).
    pub(crate) fn call_blocking<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Client, &mut Stories) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(Box::new(move |client, stories| {
            let _ = tx.send(f(client, stories));
        }))?;
        rx.recv().map_err(|_| StoreError::WriterGone)?
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs jobs as they come; the writer, when none is waiting, gives posts
/// without a story theirs (posts copied from SQLite, or stored by another
/// tool).
fn run(client: &mut Client, target: &Postgres, jobs: &mpsc::Receiver<Job>, writer: bool) {
    let mut stories = Stories::default();
    let mut maybe_unassigned = writer;
    let mut lost = false;
    loop {
        // A connection the server or the network closed is made again
        // before the next job (the job that saw it close has failed, and
        // its caller tries again): a restarted server, a failover, a
        // dropped link do not stop the daemon for good.
        if client.is_closed() {
            match connect(target) {
                Ok(c) => {
                    *client = c;
                    prepared::forget();
                    stories.forget();
                    lost = false;
                    tracing::info!(database = %target.shown(), "connected again");
                }
                Err(e) => {
                    if !std::mem::replace(&mut lost, true) {
                        tracing::warn!(error = %e, "the database connection is lost; connecting again every few seconds");
                    }
                    // Jobs meanwhile fail at once, with the closed client.
                    match jobs.recv_timeout(RECONNECT_EVERY) {
                        Ok(job) => job(client, &mut stories),
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                    continue;
                }
            }
        }
        let job = if maybe_unassigned {
            match jobs.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match jobs.recv_timeout(IDLE_RECHECK) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    maybe_unassigned = writer;
                    None
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        };
        if let Some(job) = job {
            job(client, &mut stories);
            continue;
        }
        if maybe_unassigned {
            match assign_unassigned(client, &mut stories, STORY_SLICE) {
                Ok(n) => maybe_unassigned = n == STORY_SLICE,
                Err(e) => {
                    stories.forget();
                    maybe_unassigned = false;
                    tracing::warn!(error = %e, "giving older posts their stories failed; tried again later");
                }
            }
        }
    }
}

/// UTC as the model's text: RFC 3339 to the second, `Z`.
pub(crate) fn utc_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A stored time and offset (seconds east of UTC) as the publisher gave it.
pub(crate) fn local_text(at: Option<DateTime<Utc>>, offset: Option<i32>) -> Option<String> {
    let at = at?;
    let offset = offset
        .and_then(FixedOffset::east_opt)
        .unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or(Utc.fix()));
    Some(crate::date::to_rfc3339(&at.with_timezone(&offset)))
}

/// A publisher's time as stored: the instant and its offset.
pub(crate) fn split_local(
    t: Option<&DateTime<FixedOffset>>,
) -> (Option<DateTime<Utc>>, Option<i32>) {
    match t {
        Some(t) => (
            Some(t.with_timezone(&Utc)),
            Some(t.offset().local_minus_utc()),
        ),
        None => (None, None),
    }
}

/// UTC RFC 3339 text (the model's bookkeeping times) as an instant.
pub(crate) fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

use chrono::Offset;

/// Whether the connection answers.
pub(crate) fn ping(client: &mut Client) -> Result<(), StoreError> {
    client.row("SELECT 1", &[])?;
    Ok(())
}

/// A read-only connection ([`crate::store::Reader`]'s): a worker, and
/// whether a snapshot transaction is open on it.
pub(crate) struct ReadConn {
    pub(crate) worker: Worker,
}

impl ReadConn {
    pub(crate) fn open(target: &Postgres) -> Result<ReadConn, StoreError> {
        Ok(ReadConn {
            worker: Worker::reader(target)?,
        })
    }

    /// Starts a snapshot: every read until [`ReadConn::end`] sees the
    /// database as it was at the first.
    pub(crate) fn begin(&self) -> Result<(), StoreError> {
        self.worker.call_blocking(|c, _| {
            c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
            Ok(())
        })
    }

    pub(crate) fn end(&self) -> Result<(), StoreError> {
        self.worker.call_blocking(|c, _| {
            c.batch_execute("COMMIT")?;
            Ok(())
        })
    }

    /// Runs `f` on the reader's connection and waits for its answer.
    pub(crate) fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Client) -> Result<R, StoreError> + Send + 'static,
    {
        self.worker.call_blocking(move |c, _| f(c))
    }
}
