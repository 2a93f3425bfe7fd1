//! Hooks (`[[hooks]]`): each new or updated post, as the JSON object of
//! `export jsonl` plus `"event": "new" | "updated"` and `"hook"`, given to
//! a command on its standard input or POSTed to a URL. Each hook keeps a
//! cursor in `export_cursors` (`hook:<name>`), the number of the last change
//! (`post_changes.seq`) it has dealt with: a hook runs beside the polls and
//! never holds one up, and a post is never lost to it. A delivery is tried
//! `attempts` times with a growing pause; when all fail, the round stops at
//! that post, said once at WARN, and the next round (after the next poll
//! that stores something, a minute later at the latest, or at the next
//! start) begins with it again. A new hook starts at the newest change: it
//! is for what is stored from then on. The daemon runs each hook in a task
//! of its own; `crawl --once` runs a round of each before it returns.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{Database, Hook, HookTarget};
use crate::store::{KeptReader, PostFilter, PostRow, Reader, Store, StoreError};

/// Changes read per batch.
const BATCH: usize = 200;
/// The most of a failing command's standard error kept for the log.
const STDERR_KEPT: usize = 2048;
/// A round that stopped at a failing post is tried again this often.
const RETRY_ROUND: Duration = Duration::from_secs(60);

/// Why a round stopped.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hook's task failed: {0}")]
    Task(String),
    #[error("post {post}: {message}")]
    Delivery { post: i64, message: String },
}

/// What a round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HookRound {
    pub delivered: usize,
    /// Posts the hook's sources, events or rules left out.
    pub skipped: usize,
}

fn cursor_name(hook: &Hook) -> String {
    format!("hook:{}", hook.name)
}

/// The highest post id the hook has seen: a post past it is new to it.
fn ids_name(hook: &Hook) -> String {
    format!("hook:{}:id", hook.name)
}

/// Gives hooks that have none a cursor at the newest change (and the
/// newest post id), so that they start with what is stored from now on.
pub async fn start_cursors(hooks: &[Hook], db: &Database, store: &Store) -> Result<(), StoreError> {
    if hooks.is_empty() {
        return Ok(());
    }
    let Some(reader) = Reader::open(db)? else {
        return Ok(());
    };
    let newest = reader.last_change()?;
    let top = reader.max_post_id()?;
    for hook in hooks {
        if reader.find_export_cursor(&cursor_name(hook))?.is_none() {
            store.set_export_cursor(&cursor_name(hook), newest).await?;
            store.set_export_cursor(&ids_name(hook), top).await?;
        }
    }
    Ok(())
}

/// Delivers what changed since the hook's cursor, in order, moving the
/// cursor as it goes; stops at a post whose every attempt failed.
pub async fn round(
    hook: &Hook,
    client: &reqwest::Client,
    reader: &Arc<KeptReader>,
    store: &Store,
) -> Result<HookRound, HookError> {
    let mut done = HookRound::default();
    loop {
        let (after, top, batch) = {
            let kept = Arc::clone(reader);
            let (c, i) = (cursor_name(hook), ids_name(hook));
            tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
                Ok(kept
                    .with(|reader| -> Result<_, StoreError> {
                        let after = reader.export_cursor(&c)?;
                        let top = reader.export_cursor(&i)?;
                        let changes = reader.changes_after(after, BATCH)?;
                        // The batch's posts in one read (a change's post is in it when
                        // its latest change is in the batch's range), then in the
                        // order of their changes.
                        let mut posts = std::collections::HashMap::new();
                        if let Some(&(last, _)) = changes.last() {
                            reader.for_each_post::<StoreError>(
                                &PostFilter {
                                    changed: Some((after, last)),
                                    ..PostFilter::default()
                                },
                                |p| {
                                    posts.insert(p.id, p);
                                    Ok(())
                                },
                            )?;
                        }
                        let batch: Vec<(i64, Option<PostRow>)> = changes
                            .into_iter()
                            .map(|(seq, id)| (seq, posts.remove(&id)))
                            .collect();
                        Ok((after, top, batch))
                    })?
                    .unwrap_or((0, 0, Vec::new())))
            })
            .await
            .map_err(|e| HookError::Task(e.to_string()))??
        };
        if batch.is_empty() {
            return Ok(done);
        }
        let (mut cursor, mut newest_id) = (after, top);
        let mut stopped = None;
        for (seq, post) in batch {
            if let Some(post) = post {
                let new = post.id > top;
                if wanted(hook, &post, new) {
                    if let Err(e) = deliver_with_retries(hook, client, &post, new).await {
                        stopped = Some(e);
                        break;
                    }
                    done.delivered += 1;
                } else {
                    done.skipped += 1;
                }
                newest_id = newest_id.max(post.id);
            }
            cursor = seq;
        }
        if cursor > after {
            store.set_export_cursor(&cursor_name(hook), cursor).await?;
            store.set_export_cursor(&ids_name(hook), newest_id).await?;
        }
        if let Some(e) = stopped {
            return Err(e);
        }
    }
}

/// Whether `hook` takes `post`: its sources, its events, its rules.
fn wanted(hook: &Hook, post: &PostRow, new: bool) -> bool {
    (hook.sources.is_empty() || post.sources.iter().any(|s| hook.sources.contains(s)))
        && (if new { hook.on_new } else { hook.on_updated })
        && crate::rules::blocked_by(&hook.rules, post).is_none()
}

/// The JSON a hook gets: the post as `export jsonl` writes it, with the
/// event and the hook's name.
fn payload(hook: &Hook, post: &PostRow, new: bool) -> Vec<u8> {
    let mut v = serde_json::to_value(post).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("event".into(), (if new { "new" } else { "updated" }).into());
        o.insert("hook".into(), hook.name.clone().into());
    }
    let mut bytes = v.to_string().into_bytes();
    bytes.push(b'\n');
    bytes
}

async fn deliver_with_retries(
    hook: &Hook,
    client: &reqwest::Client,
    post: &PostRow,
    new: bool,
) -> Result<(), HookError> {
    let body = payload(hook, post, new);
    let mut attempt = 1;
    loop {
        match tokio::time::timeout(hook.timeout, deliver(hook, client, &body)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(message)) if attempt >= hook.attempts => {
                return Err(HookError::Delivery {
                    post: post.id,
                    message,
                });
            }
            Err(_) if attempt >= hook.attempts => {
                return Err(HookError::Delivery {
                    post: post.id,
                    message: format!("no answer within {} s", hook.timeout.as_secs()),
                });
            }
            _ => {
                tracing::debug!(hook = %hook.name, post = post.id, attempt, "hook delivery failed; trying again");
                tokio::time::sleep(Duration::from_secs(1 << (attempt - 1).min(5))).await;
                attempt += 1;
            }
        }
    }
}

/// One delivery. A command that runs past the timeout is killed (dropped).
async fn deliver(hook: &Hook, client: &reqwest::Client, body: &[u8]) -> Result<(), String> {
    match &hook.target {
        HookTarget::Command(argv) => {
            let (program, args) = argv.split_first().ok_or("no program")?;
            let mut child = tokio::process::Command::new(program)
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot run {program}: {e}"))?;
            let stdin = child.stdin.take();
            let stderr = child.stderr.take();
            // Its input written while its error output is read (a program
            // may write before it has read everything), the latter only up
            // to STDERR_KEPT: a chatty program costs no memory (the rest is
            // not read; it may stop on a broken pipe, its own business, as is
            // a program that does not read its input).
            let write = async move {
                if let Some(mut stdin) = stdin {
                    let _ = stdin.write_all(body).await;
                }
            };
            let read = async move {
                let mut kept = Vec::new();
                if let Some(e) = stderr {
                    let _ = e.take(STDERR_KEPT as u64).read_to_end(&mut kept).await;
                }
                kept
            };
            let ((), kept) = tokio::join!(write, read);
            let status = child.wait().await.map_err(|e| format!("{program}: {e}"))?;
            if status.success() {
                return Ok(());
            }
            let err = String::from_utf8_lossy(&kept);
            Err(format!(
                "{program} exited with {status}: {}",
                crate::fetch::scrub(err.trim())
            ))
        }
        HookTarget::Url(url) => {
            let shown = url::Url::parse(url.expose())
                .map(|u| crate::fetch::redacted(&u))
                .unwrap_or_default();
            let resp = client
                .post(url.expose())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec())
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "{shown}: {}",
                        crate::fetch::scrub(&e.without_url().to_string())
                    )
                })?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(format!("{shown}: HTTP {}", resp.status().as_u16()))
            }
        }
    }
}

/// The client hooks POST with: no redirects, a connect timeout.
pub fn client(user_agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// A round of every hook, one after the other (`crawl --once`). A hook
/// that fails is said at WARN; the others go on. On a shared database, a
/// hook a daemon runs is left to it (it delivers these posts too).
pub async fn once(hooks: &[Hook], client: &reqwest::Client, db: &Database, store: &Store) {
    let reader = Arc::new(KeptReader::new(db.clone()));
    for hook in hooks {
        match store.lead(&cursor_name(hook)).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(hook = %hook.name, "a daemon runs this hook: it delivers the new posts");
                continue;
            }
            Err(e) => {
                tracing::warn!(hook = %hook.name, error = %e, "hook failing; tried again at the next run");
                continue;
            }
        }
        match round(hook, client, &reader, store).await {
            Ok(r) if r.delivered > 0 => {
                tracing::info!(hook = %hook.name, delivered = r.delivered, "hook ran")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(hook = %hook.name, error = %e, "hook failing; tried again at the next run")
            }
        }
    }
}

/// The daemon's task for one hook: a round at start, then one after the
/// polls that store, or a minute after a failed round ([`after_saves`]),
/// until `stop`.
///
/// [`after_saves`]: crate::schedule::after_saves
pub async fn run(
    hook: Arc<Hook>,
    client: reqwest::Client,
    db: Database,
    store: Arc<Store>,
    saved: Arc<Notify>,
    stop: CancellationToken,
) {
    let what = format!("hook {:?}", hook.name);
    let duty = Arc::new(crate::store::Duty::new(cursor_name(&hook), what.clone()));
    let every = store.shared().then_some(crate::store::SHARED_ROUND);
    let reader = Arc::new(KeptReader::new(db));
    crate::schedule::after_saves(&what, &saved, &stop, Some(RETRY_ROUND), every, || {
        let (hook, client, reader, store, duty) = (
            Arc::clone(&hook),
            client.clone(),
            Arc::clone(&reader),
            Arc::clone(&store),
            Arc::clone(&duty),
        );
        async move {
            if !duty.mine(&store).await.map_err(|e| e.to_string())? {
                return Ok(());
            }
            let r = round(&hook, &client, &reader, &store)
                .await
                .map_err(|e| e.to_string())?;
            if r.delivered > 0 {
                tracing::debug!(hook = %hook.name, delivered = r.delivered, skipped = r.skipped, "hook ran");
            }
            Ok(())
        }
    })
    .await;
}
