//! `newscrawl crawl` as a daemon: one task per source, sleeping until the
//! source is due ([`crate::schedule`]) and running the same poll as
//! `crawl --once`; SIGHUP reloads the configuration (the sources that were
//! added start at once, removed ones stop, changed ones are rescheduled, and
//! a configuration that does not load leaves the running one in place);
//! SIGTERM/SIGINT stop taking new work, let in-flight polls finish for up to
//! 10 s and exit 0, and a second signal exits at once. Under systemd it says
//! READY, RELOADING/READY, STOPPING and STATUS, and pings the watchdog while
//! the scheduler loop and the database writer answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, error, info, info_span, warn};

use crate::Error;
use crate::config::{Config, Database, Source};
use crate::crawl::Crawler;
use crate::error::ConfigError;
use crate::export::continuous::Target;
use crate::fetch::Fetcher;
use crate::metrics::Metrics;
use crate::schedule;
use crate::store::Store;
use crate::store::StoreError;

/// A claimed poll's lease at least (see [`source_task`]).
const MIN_LEASE: Duration = Duration::from_secs(10);
/// How far ahead of the database's clock a daemon's may run and still
/// claim a poll that is due.
const CLOCK_SLACK: Duration = Duration::from_secs(2);
/// How soon a source's task on a shared database tries again after the
/// database failed it.
const DB_RETRY: Duration = Duration::from_secs(10);
/// How soon a daemon looks again at a poll it could not claim.
const CLAIM_RETRY: Duration = Duration::from_secs(1);

/// How long in-flight polls get to finish after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long a stopping daemon waits for the database to take its claims back.
const RELEASE_LIMIT: Duration = Duration::from_secs(2);

/// What the daemon is running now.
struct Running {
    crawler: Arc<Crawler>,
    /// Signalled by every crawler's saves; passed on to each of `listeners`.
    saved: Arc<tokio::sync::Notify>,
    /// Who hears of saves: the continuous export (first), then each hook.
    listeners: Arc<std::sync::Mutex<Vec<Arc<tokio::sync::Notify>>>>,
    export_saved: Arc<tokio::sync::Notify>,
    /// The continuous export running now, and how to stop it.
    export: Option<(Arc<Target>, CancellationToken)>,
    /// The hooks running now: each with its signal and how to stop it.
    hooks: Vec<(
        crate::config::Hook,
        Arc<tokio::sync::Notify>,
        CancellationToken,
    )>,
    hook_client: reqwest::Client,
    tasks: HashMap<String, (Source, CancellationToken)>,
    metrics: Arc<Metrics>,
    root: CancellationToken,
    tracker: TaskTracker,
    last_reload: Option<String>,
    /// This daemon's name in the claims it makes (`host:pid`).
    holder: Arc<str>,
}

impl Running {
    fn spawn(&mut self, source: Source, poll_now: bool) {
        let token = self.root.child_token();
        let span = info_span!("poll", source = %source.slug);
        self.tasks
            .insert(source.slug.clone(), (source.clone(), token.clone()));
        self.tracker.spawn(
            source_task(
                Arc::clone(&self.crawler),
                source,
                token,
                poll_now,
                Arc::clone(&self.metrics),
                Arc::clone(&self.holder),
            )
            .instrument(span),
        );
    }

    /// Starts the continuous export to `target` (stopping the one running),
    /// or stops it when `target` is `None`.
    fn export(&mut self, target: Option<Target>, db: &Database, store: &Arc<Store>) {
        if self.export.as_ref().map(|(t, _)| t.as_ref()) == target.as_ref() {
            return;
        }
        if let Some((_, token)) = self.export.take() {
            token.cancel();
        }
        let Some(target) = target else { return };
        let target = Arc::new(target);
        let token = self.root.child_token();
        info!(out = %target.out.display(), "exporting posts to Jekyll as they are stored");
        self.tracker.spawn(crate::export::continuous::run(
            Arc::clone(&target),
            db.clone(),
            Arc::clone(store),
            Arc::clone(&self.export_saved),
            token.clone(),
        ));
        self.export = Some((target, token));
    }

    /// Runs `hooks`, each in a task of its own, stopping those that were
    /// running (when they differ).
    fn hooks(&mut self, hooks: &[crate::config::Hook], db: &Database, store: &Arc<Store>) {
        if self.hooks.iter().map(|(h, _, _)| h).eq(hooks.iter()) {
            return;
        }
        for (_, _, token) in self.hooks.drain(..) {
            token.cancel();
        }
        let mut listeners = vec![Arc::clone(&self.export_saved)];
        for hook in hooks {
            let signal = Arc::new(tokio::sync::Notify::new());
            let token = self.root.child_token();
            info!(hook = %hook.name, "running a hook on new and updated posts");
            self.tracker.spawn(crate::hooks::run(
                Arc::new(hook.clone()),
                self.hook_client.clone(),
                db.clone(),
                Arc::clone(store),
                Arc::clone(&signal),
                token.clone(),
            ));
            listeners.push(Arc::clone(&signal));
            self.hooks.push((hook.clone(), signal, token));
        }
        *self.listeners.lock().unwrap_or_else(|p| p.into_inner()) = listeners;
    }

    fn stop(&mut self, slug: &str) {
        if let Some((_, token)) = self.tasks.remove(slug) {
            token.cancel();
        }
        self.metrics.forget(slug);
    }

    fn status(&self) -> String {
        let mut s = format!(
            "polling {} sources, {} failing",
            self.tasks.len(),
            self.metrics.failing()
        );
        if let Some(r) = &self.last_reload {
            s.push_str("; ");
            s.push_str(r);
        }
        s
    }
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        warn!("cannot notify the service manager: {e}");
    }
}

fn new_crawler(
    config: &Config,
    store: &Arc<Store>,
    fetcher: Option<Arc<Fetcher>>,
    saved: &Arc<tokio::sync::Notify>,
) -> Result<Arc<Crawler>, Error> {
    let fetcher = match fetcher {
        Some(f) => f,
        None => {
            Arc::new(Fetcher::new(&config.crawler).map_err(|e| Error::Internal(e.to_string()))?)
        }
    };
    Ok(Arc::new(
        Crawler::new(Arc::new(config.clone()), fetcher, Arc::clone(store))
            .signalling(Arc::clone(saved)),
    ))
}

/// Records the configured sources (slug, name, URL without user info) and
/// their order in the database, and hands the store the `[stories]`
/// settings.
pub(crate) async fn sync_sources(store: &Store, config: &Config) -> Result<(), StoreError> {
    store.configure_stories(config.stories.clone()).await?;
    let rows: Vec<(String, String, String)> = config
        .sources
        .iter()
        .map(|s| {
            let url = crate::fetch::without_credentials(&s.url).to_string();
            (s.slug.clone(), s.name.clone(), url)
        })
        .collect();
    store.sync_sources(rows).await
}

/// This daemon's name in the polls it claims on a shared database:
/// `host:pid`.
fn daemon_name() -> String {
    let uname = rustix::system::uname();
    format!(
        "{}:{}",
        uname.nodename().to_string_lossy(),
        std::process::id()
    )
}

/// What the daemons sharing a database must agree on: each source's slug,
/// name, URL (without credentials), schedule, whether it is enabled, what
/// it follows and its kind, and the `[stories]` settings.
fn config_digest(config: &Config) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for s in &config.sources {
        h.update(format!(
            "{}\t{}\t{}\t{}\t{}\t{:?}\t{:?}\t{}\n",
            s.slug,
            s.name,
            crate::fetch::without_credentials(&s.url),
            s.schedule.expr,
            s.enabled,
            s.follow,
            s.kind,
            s.id_pattern.as_str()
        ));
    }
    h.update(format!("{:?}", config.stories));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// On a database several daemons share, records this configuration and
/// says, at WARN, when it differs from the one another daemon synced last:
/// daemons that disagree on the sources poll different sets.
async fn record_config(store: &Store, config: &Config, holder: &str) -> Result<(), StoreError> {
    if let Some((by, at)) = store.record_config(&config_digest(config), holder).await?
        && by != holder
    {
        warn!(
            other = %by,
            synced_at = %at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "this configuration differs from the one the database was last synced with; \
             every daemon on a database should read the same sources"
        );
    }
    Ok(())
}

/// Runs until SIGTERM or SIGINT. `reload` reads the configuration again.
/// Takes the database for this daemon, for as long as the returned file is
/// open (the system lets go when the process ends, however it ends): a
/// second daemon on the same database would poll every source twice and
/// race the first one's schedule. `crawl --once` takes no lock and runs
/// beside a daemon. The lock file, `<database>.daemon.lock`, holds the pid.
fn lock_database(db: &std::path::Path) -> Result<std::fs::File, Error> {
    use std::io::{Read, Seek, Write};
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| crate::store::StoreError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let mut path = db.as_os_str().to_owned();
    path.push(".daemon.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{}", std::process::id())?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            Err(Error::AlreadyRunning(format!(
                "another newscrawl daemon (pid {}) runs on {}: one daemon per database \
                 (a `crawl --once` beside it is fine)",
                pid.trim(),
                db.display()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// The pid of the daemon running on `db`, if one is: it holds the lock.
pub fn running_pid(db: &std::path::Path) -> Option<i32> {
    use std::io::Read;
    let mut path = db.as_os_str().to_owned();
    path.push(".daemon.lock");
    let mut file = std::fs::File::open(&path).ok()?;
    match file.try_lock_shared() {
        // Nobody holds it: no daemon. (Let go at once.)
        Ok(()) => None,
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            file.read_to_string(&mut pid).ok()?;
            pid.trim().parse().ok()
        }
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// Asks the daemon running on `db`, if any, to read its configuration
/// again (SIGHUP); its pid when it was asked.
pub fn ask_reload(db: &Database) -> Option<i32> {
    let pid = running_pid(db.sqlite_path()?)?;
    let target = rustix::process::Pid::from_raw(pid)?;
    rustix::process::kill_process(target, rustix::process::Signal::HUP).ok()?;
    Some(pid)
}

pub async fn run(
    config: Config,
    reload: impl Fn() -> Result<Config, ConfigError>,
) -> Result<u8, Error> {
    // Before the store opens: a refused daemon writes nothing at all.
    let _lock = match &config.database {
        Database::Sqlite(path) => Some(lock_database(path)?),
        Database::Postgres(_) => None,
    };
    let store = Arc::new(Store::open(&config.database)?);
    info!(database = %config.database, "database opened");
    let holder = daemon_name();
    sync_sources(&store, &config).await?;
    record_config(&store, &config, &holder).await?;
    let export = Target::from_config(&config).map_err(Error::from)?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;

    let saved = Arc::new(tokio::sync::Notify::new());
    let export_saved = Arc::new(tokio::sync::Notify::new());
    let mut run = Running {
        crawler: new_crawler(&config, &store, None, &saved)?,
        saved,
        listeners: Arc::new(std::sync::Mutex::new(vec![Arc::clone(&export_saved)])),
        export_saved,
        export: None,
        hooks: Vec::new(),
        hook_client: crate::hooks::client(&config.crawler.user_agent),
        tasks: HashMap::new(),
        metrics: Arc::new(Metrics::default()),
        root: CancellationToken::new(),
        tracker: TaskTracker::new(),
        last_reload: None,
        holder: holder.into(),
    };
    if store.shared() {
        run.metrics.set_daemon(&run.holder);
        info!(daemon = %run.holder, "several daemons may share this database: each poll is claimed first");
    }
    // Every save is passed on to each listener (a Notify wakes one waiter).
    {
        let (saved, listeners, stop) = (
            Arc::clone(&run.saved),
            Arc::clone(&run.listeners),
            run.root.child_token(),
        );
        run.tracker.spawn(async move {
            loop {
                tokio::select! {
                    _ = saved.notified() => {
                        for l in listeners.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                            l.notify_one();
                        }
                    }
                    _ = stop.cancelled() => return,
                }
            }
        });
    }
    if let Some(addr) = config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Usage(format!("metrics.listen {addr}: {e}")))?;
        info!(%addr, "serving metrics");
        let (m, stop) = (Arc::clone(&run.metrics), run.root.child_token());
        run.tracker.spawn(crate::metrics::serve(listener, m, stop));
    }
    run.export(export, &config.database, &store);
    crate::hooks::start_cursors(&config.hooks, &config.database, &store).await?;
    run.hooks(&config.hooks, &config.database, &store);
    for source in config.sources.iter().filter(|s| s.enabled) {
        run.spawn(source.clone(), true);
    }
    info!(sources = run.tasks.len(), database = %config.database, "daemon started");
    notify(&[NotifyState::Ready, NotifyState::Status(&run.status())]);

    let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    let mut status_tick = tokio::time::interval(Duration::from_secs(60));
    let mut retention_tick = tokio::time::interval(Duration::from_secs(24 * 3600));
    let mut current = config;

    loop {
        tokio::select! {
            _ = hup.recv() => {
                if let Ok(m) = NotifyState::monotonic_usec_now() {
                    notify(&[NotifyState::Reloading, m]);
                } else {
                    notify(&[NotifyState::Reloading]);
                }
                match reload() {
                    Ok(new) => {
                        apply(&mut run, &store, &current, &new).await?;
                        run.last_reload = Some(format!("configuration reloaded at {}", crate::date::now_utc()));
                        info!(sources = run.tasks.len(), "configuration reloaded");
                        current = new;
                    }
                    Err(e) => {
                        error!("reload failed, still running the previous configuration: {e}");
                        run.last_reload = Some(format!("reload failed, previous configuration kept: {e}"));
                    }
                }
                notify(&[NotifyState::Ready, NotifyState::Status(&run.status())]);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = watchdog_tick.tick(), if watchdog.is_some() => {
                // The ping says the loop runs and the database writer answers.
                let limit = watchdog.unwrap_or(Duration::from_secs(1));
                let alive = tokio::time::timeout(limit, store.ping()).await;
                match alive {
                    Ok(Ok(_)) => notify(&[NotifyState::Watchdog]),
                    _ => warn!("the database writer does not answer; withholding the watchdog ping"),
                }
            }
            _ = status_tick.tick() => notify(&[NotifyState::Status(&run.status())]),
            _ = retention_tick.tick(), if has_retention(&current) => {
                match store.prune(retention_cutoffs(&current, Utc::now())).await {
                    Ok(p) if p.posts + p.fetches > 0 => info!(posts = p.posts, fetches = p.fetches, "retention: pruned"),
                    Ok(_) => {}
                    Err(e) => error!("retention: {e}"),
                }
            }
        }
    }

    notify(&[NotifyState::Stopping]);
    info!(
        "stopping: waiting up to {} s for polls in flight",
        STOP_GRACE.as_secs()
    );
    run.root.cancel();
    run.tracker.close();
    let finished = tokio::select! {
        _ = run.tracker.wait() => true,
        _ = tokio::time::sleep(STOP_GRACE) => false,
        _ = term.recv() => exit_now(&store, &run.holder).await,
        _ = int.recv() => exit_now(&store, &run.holder).await,
    };
    if !finished {
        warn!(
            "polls still running after {} s were abandoned; their transactions never committed",
            STOP_GRACE.as_secs()
        );
        release_held(&store, &run.holder).await;
    }
    info!("stopped");
    Ok(crate::EXIT_OK)
}

/// On a shared database, gives the claims of abandoned polls back, so that
/// their sources are polled at once (by another daemon, or this one
/// started again) rather than when the claims expire. Bounded: a database
/// that does not answer leaves them to expire.
async fn release_held(store: &Store, holder: &str) {
    if !store.shared() {
        return;
    }
    match tokio::time::timeout(RELEASE_LIMIT, store.release_held(holder)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => info!(claims = n, "claims of abandoned polls given back"),
        Ok(Err(e)) => warn!("claims of abandoned polls left to expire: {e}"),
        Err(_) => warn!("claims of abandoned polls left to expire: the database did not answer"),
    }
}

/// Whether the daemon prunes at all: `[retention]`, or a source's own.
fn has_retention(config: &Config) -> bool {
    config.retention.is_some() || config.sources.iter().any(|s| s.retention.is_some())
}

/// The cutoffs of `[retention] older_than` and of each source's
/// `retention`, at `now`.
fn retention_cutoffs(config: &Config, now: chrono::DateTime<Utc>) -> crate::store::Cutoffs {
    let at = |age: Duration| chrono::Duration::from_std(age).ok().map(|a| now - a);
    crate::store::Cutoffs {
        default: config.retention.and_then(at),
        per_source: config
            .sources
            .iter()
            .filter_map(|s| Some((s.slug.clone(), at(s.retention?)?)))
            .collect(),
    }
}

async fn exit_now(store: &Store, holder: &str) -> bool {
    warn!("second signal: exiting at once");
    release_held(store, holder).await;
    std::process::exit(1)
}

/// Applies a reloaded configuration: added sources start (polled at once),
/// removed ones stop, changed ones are rescheduled. A changed `[crawler]`
/// section reschedules every source with a new HTTP client.
async fn apply(
    run: &mut Running,
    store: &Arc<Store>,
    old: &Config,
    new: &Config,
) -> Result<(), Error> {
    if new.database != old.database {
        warn!(
            "the database path changed to {}; that takes a restart, the daemon keeps writing to {}",
            new.database, old.database
        );
    }
    // A template that does not compile keeps the export running as it was.
    match Target::from_config(new) {
        Ok(target) => run.export(target, &old.database, store),
        Err(e) => error!("export.jekyll: {e}; the export goes on as before"),
    }
    sync_sources(store, new).await?;
    record_config(store, new, &run.holder).await?;
    crate::hooks::start_cursors(&new.hooks, &old.database, store).await?;
    run.hooks(&new.hooks, &old.database, store);
    let crawler_changed = new.crawler != old.crawler;
    let fetcher = (!crawler_changed).then(|| Arc::clone(&run.crawler.fetcher));
    run.crawler = new_crawler(new, store, fetcher, &run.saved)?;

    let wanted: HashMap<&str, &Source> = new
        .sources
        .iter()
        .filter(|s| s.enabled)
        .map(|s| (s.slug.as_str(), s))
        .collect();
    let running: Vec<String> = run.tasks.keys().cloned().collect();
    for slug in running {
        match wanted.get(slug.as_str()) {
            None => {
                info!(source = %slug, "source removed; its posts stay");
                run.stop(&slug);
            }
            Some(s)
                if crawler_changed || run.tasks.get(&slug).is_some_and(|(old, _)| old != *s) =>
            {
                info!(source = %slug, "source changed; rescheduled");
                run.stop(&slug);
                run.spawn((*s).clone(), false);
            }
            Some(_) => {}
        }
    }
    for (slug, s) in wanted {
        if !run.tasks.contains_key(slug) {
            info!(source = %slug, "source added");
            run.spawn(s.clone(), true);
        }
    }
    Ok(())
}

/// One source, forever: sleep until due, poll, work out when it is due next.
/// On a database several daemons share, each poll is claimed first
/// ([`Store::claim_poll`]): the one that gets it polls, the others wait for
/// the next time the database has it due.
async fn source_task(
    crawler: Arc<Crawler>,
    source: Source,
    token: CancellationToken,
    poll_now: bool,
    metrics: Arc<Metrics>,
    holder: Arc<str>,
) {
    let tz = crawler.config.crawler.timezone;
    let cap = crawler.config.crawler.max_backoff;
    let shared = crawler.store.shared();
    // A claim outlives the longest a poll should take (its fetches, then
    // its articles): a daemon that dies while polling lets go then.
    let lease = (crawler.config.crawler.timeout * 4).max(MIN_LEASE);
    let slug = source.slug.clone();
    let mut first = poll_now;
    loop {
        let state = match crawler.store.source_state(&slug).await {
            Ok(s) => s,
            Err(e) if shared => {
                // A shared database is across a network: try again.
                error!("database: {e}");
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(DB_RETRY) => {}
                }
                continue;
            }
            Err(e) => {
                error!("database: {e}");
                return;
            }
        };
        let now = Utc::now();
        let failures = u32::try_from(state.failures).unwrap_or(u32::MAX);
        let next_due = |now| {
            schedule::next_due(
                &slug,
                &source.schedule,
                tz,
                now,
                failures,
                state.hold_until,
                cap,
            )
        };
        let due = if first {
            state.hold_until.map_or(now, |h| h.max(now))
        } else if shared {
            // Whoever polled last set it.
            state.next_poll_at.unwrap_or_else(|| next_due(now))
        } else {
            next_due(now)
        };
        first = false;
        if !shared && let Err(e) = crawler.store.set_next_poll(&slug, due).await {
            error!("database: {e}");
        }
        let wait = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        // The time of the poll being made: what comes next is after it,
        // even when this daemon claims it a little early.
        let slot = due.max(state.next_poll_at.unwrap_or(due));
        if shared {
            let now = Utc::now().max(slot);
            let next = next_due(now);
            // A clock a little ahead may claim a little early, never a
            // whole slot early.
            let early = CLOCK_SLACK.min(schedule::interval(&source.schedule, tz, now) / 4);
            match crawler
                .store
                .claim_poll(&slug, &holder, lease, early, next)
                .await
            {
                Ok(true) => metrics.claim(&slug, true),
                Ok(false) => {
                    metrics.claim(&slug, false);
                    // Another daemon polls it (or the database's clock is
                    // behind this host's): look again shortly.
                    tokio::select! {
                        _ = token.cancelled() => return,
                        _ = tokio::time::sleep(CLAIM_RETRY) => {}
                    }
                    continue;
                }
                Err(e) => {
                    // A shared database is across a network: try again.
                    error!("database: {e}");
                    tokio::select! {
                        _ = token.cancelled() => return,
                        _ = tokio::time::sleep(DB_RETRY) => {}
                    }
                    continue;
                }
            }
        }
        let started = Instant::now();
        // Boxed: a poll's future is large (HTTP, parsing, articles), and a
        // task that holds it inline keeps that much memory resident for
        // ever, also while it sleeps. A thousand sources would idle at
        // 150 MB instead of a few.
        let round = schedule::round_start(&source.schedule, tz, due);
        match Box::pin(crawler.poll_isolated(&source, round)).await {
            Ok(report) => metrics.record(&report, started.elapsed()),
            Err(e) => error!("database: {e}"),
        }
        if shared {
            // Due next by the poll's outcome (a failure backs off).
            let now = Utc::now().max(slot);
            let next = match crawler.store.source_state(&slug).await {
                Ok(after) => schedule::next_due(
                    &slug,
                    &source.schedule,
                    tz,
                    now,
                    u32::try_from(after.failures).unwrap_or(u32::MAX),
                    after.hold_until,
                    cap,
                ),
                Err(_) => next_due(now),
            };
            if let Err(e) = crawler.store.release_poll(&slug, &holder, next).await {
                error!("database: {e}");
            }
            metrics.released(&slug);
        }
        if token.is_cancelled() {
            return;
        }
    }
}
