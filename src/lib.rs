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
pub mod config;
pub mod crawl;
pub mod daemon;
pub mod date;
pub mod decode;
pub mod dedup;
pub mod error;
pub mod export;
pub mod feed;
pub mod fetch;
pub mod html;
pub mod jsonlist;
mod logging;
pub mod metrics;
pub mod progress;
pub mod schedule;
pub mod search;
pub mod slug;
pub mod store;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use tracing::{error, info};

use crate::cli::{
    Cli, Command, CrawlArgs, ExportCommand, PostsCommand, PruneArgs, SearchArgs, SourcesCommand,
};
use crate::config::{Config, Source};
use crate::error::ConfigError;
pub use crate::error::Error;
use crate::store::Outcome;

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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        // Parsing runs on the blocking pool: one thread per CPU keeps them
        // busy; more (tokio's default cap is 512) only add stacks and malloc
        // arenas to the resident size. At 1,000 feeds on 2 CPUs, 2 threads
        // instead of 4 took the peak from 67 to 60 MB and were faster.
        .max_blocking_threads(std::thread::available_parallelism().map_or(2, |n| n.get().max(2)))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FATAL);
        }
    };
    let code = runtime.block_on(dispatch(cli));
    // Work abandoned at shutdown (a poll past the stop grace) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(code)
}

async fn dispatch(cli: Cli) -> u8 {
    let result = async {
        // What is generated from the command line needs no configuration.
        let config = match &cli.command {
            Command::Completions { shell } => return completions(*shell),
            Command::Man { dir } => return man_pages(dir.as_deref()),
            _ => load_config(&cli)?,
        };
        match &cli.command {
            Command::Crawl(args) if !args.once => {
                if !args.sources.is_empty() {
                    return Err(Error::Usage("--source goes with --once".into()));
                }
                daemon::run(config, || load_config(&cli)).await
            }
            Command::Crawl(args) => crawl(config, args, !cli.quiet).await,
            Command::Sources { command } => match command {
                SourcesCommand::List { json } => sources_list(&config, *json),
                SourcesCommand::Check { slugs } => sources_check(config, slugs).await,
                SourcesCommand::ImportOpml { file } => import_opml(&config, file),
                SourcesCommand::ExportOpml => {
                    print_out(&export::opml::export(&config.sources))?;
                    Ok(EXIT_OK)
                }
            },
            Command::Export { command } => match command {
                ExportCommand::Jekyll {
                    out,
                    since,
                    sources,
                    category_pages,
                } => export_jekyll(
                    &config,
                    out.as_deref(),
                    since.as_deref(),
                    sources,
                    category_pages.as_deref(),
                ),
                ExportCommand::Jsonl {
                    since,
                    after_id,
                    sources,
                } => export_jsonl(&config, since.as_deref(), *after_id, sources),
            },
            Command::Prune(args) => prune(&config, args).await,
            Command::Completions { shell } => completions(*shell),
            Command::Man { dir } => man_pages(dir.as_deref()),
            Command::Posts { command } => match command {
                PostsCommand::Search(args) => posts_search(&config, args),
                PostsCommand::Index => posts_index(&config).await,
                PostsCommand::Show { id, json } => posts_show(&config, *id, *json),
            },
        }
    }
    .await;
    match result {
        Ok(code) => code,
        Err(e) => {
            error!("{e}");
            match e {
                Error::Config(_) | Error::Usage(_) => EXIT_USAGE,
                // The reader of our output went away (`| head`): nothing failed.
                Error::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
                Error::Store(_) | Error::Io(_) | Error::Internal(_) | Error::AlreadyRunning(_) => {
                    EXIT_FATAL
                }
            }
        }
    }
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
        config.database = db.clone();
    }
    Ok(config)
}

/// `--source` filters of the exports and of search name configured sources.
fn known_slugs(config: &Config, slugs: &[String]) -> Result<(), ConfigError> {
    match slugs
        .iter()
        .find(|slug| !config.sources.iter().any(|c| &c.slug == *slug))
    {
        Some(unknown) => Err(ConfigError::UnknownSource(unknown.clone())),
        None => Ok(()),
    }
}

/// The sources a command acts on: those named (which must exist), else every
/// enabled one.
fn select_sources(config: &Config, slugs: &[String]) -> Result<Vec<Source>, ConfigError> {
    if slugs.is_empty() {
        return Ok(config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .cloned()
            .collect());
    }
    slugs
        .iter()
        .map(|slug| {
            config
                .sources
                .iter()
                .find(|s| &s.slug == slug)
                .cloned()
                .ok_or_else(|| ConfigError::UnknownSource(slug.clone()))
        })
        .collect()
}

/// `crawl --once`; `progress`: whether a terminal may show a progress line.
async fn crawl(config: Config, args: &CrawlArgs, progress: bool) -> Result<u8, Error> {
    let sources = select_sources(&config, &args.sources)?;
    let fetcher =
        fetch::Fetcher::new(&config.crawler).map_err(|e| Error::Internal(e.to_string()))?;
    let export = export::continuous::Target::from_config(&config).map_err(export_error)?;
    let store = store::Store::open_with(&config.database, !args.defer_index)?;
    info!(database = %config.database.display(), "database opened");
    daemon::sync_sources(&store, &config).await?;

    let db = config.database.clone();
    let crawler = Arc::new(crawl::Crawler::new(
        Arc::new(config),
        Arc::new(fetcher),
        Arc::new(store),
    ));
    let started = std::time::Instant::now();
    let mut shown = progress::Progress::start(sources.len(), progress);
    let reports = crawler.poll_all(sources, |r| shown.source_done(r)).await?;
    drop(shown);
    // Everything stored is searchable when the command returns, unless the
    // caller would rather not wait for it.
    let (indexed, unindexed) = if args.defer_index {
        let left = crawler.store.unindexed().await?;
        if left > 0 {
            info!(
                unindexed = left,
                "posts stored but not yet searchable through posts_fts \
                 (`newscrawl posts index` indexes them; `posts search` finds them meanwhile)"
            );
        }
        (0, left)
    } else {
        (crawler.store.index_all().await?, 0)
    };
    let failing: Vec<&str> = reports
        .iter()
        .filter(|r| r.outcome == Some(Outcome::Error))
        .map(|r| r.slug.as_str())
        .collect();
    let failed = failing.len();
    if failed > 0 {
        // Said at WARN whatever each source's own log said (a repeat failure
        // logs at DEBUG), so `-q` and the journal name them.
        tracing::warn!(
            failed,
            sources = %failing.join(","),
            "{failed} of {} sources failed: {}",
            reports.len(),
            failing.join(", ")
        );
    }
    let not_modified = reports
        .iter()
        .filter(|r| r.outcome == Some(Outcome::NotModified))
        .count();
    let new_posts: usize = reports.iter().map(|r| r.saved.new_posts).sum();
    let items: usize = reports.iter().map(|r| r.items).sum();
    // The continuous export, once, when everything is stored: a directory
    // that cannot be written is fatal (the posts are stored; the next run
    // writes them), a post that cannot be rendered counts as a failure.
    let mut export_failed = 0;
    if let Some(target) = export {
        let round = export::continuous::round(Arc::new(target), &db, &crawler.store)
            .await
            .map_err(export_error)?;
        let s = round.summary;
        export_failed = s.failed;
        info!(
            written = s.written,
            unchanged = s.unchanged,
            category_pages = s.category_pages_written,
            failed = s.failed,
            "jekyll export finished"
        );
    }
    info!(
        sources = reports.len(),
        failed,
        not_modified,
        items,
        new_posts,
        indexed,
        unindexed,
        secs = format!("{:.2}", started.elapsed().as_secs_f64()),
        "crawl finished"
    );
    Ok(if failed > 0 || export_failed > 0 {
        EXIT_SOURCE_FAILED
    } else {
        EXIT_OK
    })
}

fn sources_list(config: &Config, json: bool) -> Result<u8, Error> {
    let rows = open_for_export(config)?.list_sources()?;
    let tz = config.crawler.timezone;
    let mut out = TerminalSafe(std::io::BufWriter::new(std::io::stdout().lock()));
    if json {
        for s in &config.sources {
            let row = rows.iter().find(|r| r.slug == s.slug);
            let line = serde_json::json!({
                "slug": s.slug,
                "name": s.name,
                "url": fetch::redacted(&s.url),
                "schedule": s.schedule.expr,
                "enabled": s.enabled,
                "next_poll_at": row.and_then(|r| r.next_poll_at.as_deref()),
                "last_polled_at": row.and_then(|r| r.last_polled_at.as_deref()),
                "last_success_at": row.and_then(|r| r.last_success_at.as_deref()),
                "failures": row.map_or(0, |r| r.failures),
                "posts": row.map_or(0, |r| r.posts),
                "last_error": row.and_then(|r| r.last_error.as_deref()),
            });
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        return Ok(EXIT_OK);
    }
    // Stored times are UTC; shown in the configured zone, to the minute,
    // and the last line says which zone that is.
    let local = |t: Option<&str>| {
        t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|d| d.with_timezone(&tz).format("%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "-".into())
    };
    writeln!(
        out,
        "{:<24} {:<16} {:<11} {:<12} {:>5} {:>6}  {:<40}  LAST ERROR",
        "SLUG", "SCHEDULE", "NEXT POLL", "LAST OK", "FAILS", "POSTS", "URL"
    )?;
    for s in &config.sources {
        let row = rows.iter().find(|r| r.slug == s.slug);
        let next = if s.enabled {
            local(row.and_then(|r| r.next_poll_at.as_deref()))
        } else {
            "disabled".into()
        };
        writeln!(
            out,
            "{:<24} {:<16} {:<11} {:<12} {:>5} {:>6}  {:<40}  {}",
            s.slug,
            s.schedule.expr,
            next,
            local(row.and_then(|r| r.last_success_at.as_deref())),
            row.map_or(0, |r| r.failures),
            row.map_or(0, |r| r.posts),
            fetch::redacted(&s.url),
            row.and_then(|r| r.last_error.as_deref()).unwrap_or("")
        )?;
    }
    writeln!(out, "(times in {})", tz.name())?;
    out.flush()?;
    Ok(EXIT_OK)
}

async fn sources_check(config: Config, slugs: &[String]) -> Result<u8, Error> {
    let sources = select_sources(&config, slugs)?;
    let fetcher =
        fetch::Fetcher::new(&config.crawler).map_err(|e| Error::Internal(e.to_string()))?;
    let db = store::Reader::open(&config.database)?;
    let mut failed = false;
    for source in &sources {
        let fetched = crawl::fetch_feed(
            &fetcher,
            source,
            &source.url,
            &fetch::Validators::default(),
            &config.crawler,
        )
        .await;
        let mut out = TerminalSafe(std::io::stdout().lock());
        if let Some(to) = &fetched.moved_to {
            let _ = writeln!(out, "{}: moved permanently to {to}", source.slug);
        }
        match fetched.result {
            Ok(Some(crawl::Parsed {
                posts,
                skipped,
                cut,
                ..
            })) => {
                for s in &skipped {
                    let _ = writeln!(out, "  skipped {s}");
                }
                if let Some(c) = &cut {
                    let _ = writeln!(out, "  {c}");
                }
                let _ = writeln!(
                    out,
                    "{}: {} items from {}",
                    source.slug,
                    posts.len(),
                    fetch::redacted(&source.url)
                );
                for post in &posts {
                    let stored = match &db {
                        Some(db) => db.is_stored(post)?,
                        None => false,
                    };
                    let _ = writeln!(
                        out,
                        "  {:<6} {:<20} {}  {}",
                        if stored { "stored" } else { "new" },
                        post.identity.info_code.as_deref().unwrap_or("-"),
                        post.published_at.as_deref().unwrap_or("-"),
                        post.title.as_deref().unwrap_or("(no title)")
                    );
                }
            }
            Ok(None) => {
                let _ = writeln!(out, "{}: not modified", source.slug);
            }
            Err(e) => {
                failed = true;
                let _ = writeln!(out, "{}: FAILED: {e}", source.slug);
            }
        }
    }
    Ok(if failed { EXIT_SOURCE_FAILED } else { EXIT_OK })
}

/// `newscrawl completions SHELL`: the script on stdout.
fn completions(shell: clap_complete::Shell) -> Result<u8, Error> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "newscrawl", &mut out);
    print_out(&String::from_utf8_lossy(&out))?;
    Ok(EXIT_OK)
}

/// `newscrawl man`: the page on stdout, or every page into `dir`.
fn man_pages(dir: Option<&std::path::Path>) -> Result<u8, Error> {
    use clap::CommandFactory;
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
                .map_err(|e| {
                    Error::Io(std::io::Error::new(
                        e.kind(),
                        format!("{}: {e}", dir.display()),
                    ))
                })?;
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            print_out(&String::from_utf8_lossy(&out))?;
        }
    }
    Ok(EXIT_OK)
}

fn print_out(text: &str) -> Result<(), Error> {
    let mut out = TerminalSafe(std::io::stdout().lock());
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn import_opml(config: &Config, file: &std::path::Path) -> Result<u8, Error> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", file.display())))?;
    let feeds =
        export::opml::parse(&text).map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
    let taken = config.sources.iter().map(|s| s.slug.clone()).collect();
    // A feed whose URL is configured already (or came earlier in the file)
    // would be polled twice under two slugs: skipped, with a note. URLs are
    // compared as parsed (case of the host, default ports).
    let same = |u: &str| url::Url::parse(u).map_or_else(|_| u.to_string(), |u| u.to_string());
    // The slug a URL is configured under; `None` for one earlier in the file.
    let mut seen: std::collections::HashMap<String, Option<String>> = config
        .sources
        .iter()
        .map(|s| (same(s.url.as_str()), Some(s.slug.clone())))
        .collect();
    let mut notes = String::new();
    let mut new = Vec::new();
    for feed in feeds {
        let key = same(&feed.xml_url);
        if let Some(slug) = seen.get(&key) {
            let why = match slug {
                Some(slug) => format!("already configured as {slug}"),
                None => "listed earlier in this file".into(),
            };
            let shown = url::Url::parse(&feed.xml_url)
                .map_or_else(|_| feed.xml_url.clone(), |u| fetch::redacted(&u));
            notes.push_str(&format!("# skipped {shown}: {why}\n"));
            continue;
        }
        seen.insert(key, None);
        new.push(feed);
    }
    let mut out = format!(
        "# {} feeds imported from {}\n",
        new.len(),
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    out.push_str(&notes);
    out.push_str(&export::opml::to_toml(&new, &taken));
    print_out(&out)?;
    Ok(EXIT_OK)
}

/// `--since DATE`: midnight of that day in the configured zone, or a full
/// date-time in any form [`date::parse_date`] reads; or `--since AGE`
/// (`24h`, `7d`: see [`config::parse_age`]): that long before now.
fn parse_since(
    config: &Config,
    since: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::FixedOffset>>, Error> {
    let Some(s) = since else { return Ok(None) };
    let tz = config.crawler.timezone;
    let now = chrono::Utc::now().with_timezone(&tz).fixed_offset();
    if let Some(age) = config::parse_age(s) {
        let age = chrono::Duration::from_std(age)
            .map_err(|_| Error::Usage(format!("--since {s:?}: too long ago")))?;
        return now
            .checked_sub_signed(age)
            .map(Some)
            .ok_or_else(|| Error::Usage(format!("--since {s:?}: too long ago")));
    }
    date::parse_date(s, tz, now).map(Some).ok_or_else(|| {
        Error::Usage(format!(
            "--since {s:?}: not a date (YYYY-MM-DD) or an age (24h, 7d)"
        ))
    })
}

fn open_for_export(config: &Config) -> Result<store::Reader, Error> {
    store::Reader::open(&config.database)?.ok_or_else(|| {
        Error::Usage(format!(
            "no database at {}: run `newscrawl crawl --once` first",
            config.database.display()
        ))
    })
}

pub(crate) fn export_error(e: export::ExportError) -> Error {
    match e {
        export::ExportError::Store(s) => Error::Store(s),
        export::ExportError::Template(t) => Error::Usage(format!("export.jekyll.template: {t}")),
        export::ExportError::Io { path, source } => Error::Io(std::io::Error::new(
            source.kind(),
            format!("{path}: {source}"),
        )),
        other => Error::Internal(other.to_string()),
    }
}

fn export_jekyll(
    config: &Config,
    out: Option<&std::path::Path>,
    since: Option<&str>,
    sources: &[String],
    category_pages: Option<&std::path::Path>,
) -> Result<u8, Error> {
    let filter = store::PostFilter {
        since: parse_since(config, since)?,
        sources: sources.to_vec(),
        ..store::PostFilter::default()
    };
    known_slugs(config, sources)?;
    let out = match (out, &config.export.jekyll_out) {
        (Some(out), _) => out,
        (None, Some(out)) => out.as_path(),
        (None, None) => {
            return Err(Error::Usage(
                "export jekyll: say where with --out DIR (or set [export.jekyll] out)".into(),
            ));
        }
    };
    let category_pages = category_pages.or(config.export.jekyll_category_pages.as_deref());
    let template = export::continuous::template(config)
        .map_err(|e| Error::Usage(format!("export.jekyll.template: {e}")))?;
    let db = open_for_export(config)?;
    let started = std::time::Instant::now();
    let mut writer = export::jekyll::JekyllWriter::new(
        &template,
        out,
        &config.export.jekyll_site,
        config.crawler.timezone,
    )
    .map_err(export_error)?;
    db.for_each_post(&filter, |post| {
        writer.post(&post, &|code| db.has_info_code(code).unwrap_or(true));
        Ok::<(), export::ExportError>(())
    })
    .map_err(export_error)?;
    if let Some(dir) = category_pages {
        writer.category_pages(dir).map_err(export_error)?;
    }
    let s = writer.summary;
    info!(
        written = s.written,
        unchanged = s.unchanged,
        category_pages = s.category_pages_written,
        failed = s.failed,
        secs = format!("{:.2}", started.elapsed().as_secs_f64()),
        "jekyll export finished"
    );
    Ok(if s.failed > 0 {
        EXIT_SOURCE_FAILED
    } else {
        EXIT_OK
    })
}

fn export_jsonl(
    config: &Config,
    since: Option<&str>,
    after_id: Option<i64>,
    sources: &[String],
) -> Result<u8, Error> {
    known_slugs(config, sources)?;
    let filter = store::PostFilter {
        since: parse_since(config, since)?,
        sources: sources.to_vec(),
        after_id,
        ..store::PostFilter::default()
    };
    let db = open_for_export(config)?;
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::new(stdout);
    db.for_each_post(&filter, |post| export::jsonl::write_post(&mut out, &post))
        .map_err(export_error)?;
    out.flush()?;
    Ok(EXIT_OK)
}

fn posts_search(config: &Config, args: &SearchArgs) -> Result<u8, Error> {
    let text = args.query.join(" ");
    let query = search::Query::parse(&text)
        .ok_or_else(|| Error::Usage(format!("{text:?}: nothing to search for")))?;
    known_slugs(config, &args.sources)?;
    let filter = store::PostFilter {
        since: parse_since(config, args.since.as_deref())?,
        sources: args.sources.clone(),
        ..store::PostFilter::default()
    };
    let db = open_for_export(config)?;
    let hits = db.search(&query, &filter, args.limit)?;
    let mut out = TerminalSafe(std::io::BufWriter::new(std::io::stdout().lock()));
    let tz = config.crawler.timezone;
    for hit in &hits {
        if args.json {
            let line = serde_json::to_string(hit).map_err(|e| Error::Internal(e.to_string()))?;
            writeln!(out, "{line}")?;
        } else {
            let when = hit
                .published_at
                .as_deref()
                .unwrap_or(&hit.fetched_at)
                .parse::<chrono::DateTime<chrono::FixedOffset>>()
                .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|_| "-".into());
            writeln!(
                out,
                "{:>7}  {when}  {:<16}  {}",
                hit.id,
                hit.source,
                hit.title.as_deref().unwrap_or("(no title)")
            )?;
        }
    }
    out.flush()?;
    Ok(EXIT_OK)
}

fn posts_show(config: &Config, id: i64, json: bool) -> Result<u8, Error> {
    let filter = store::PostFilter {
        id: Some(id),
        ..store::PostFilter::default()
    };
    let db = open_for_export(config)?;
    let mut found = None;
    db.for_each_post(&filter, |post| {
        found = Some(post);
        Ok::<(), Error>(())
    })?;
    let post = found.ok_or_else(|| Error::Usage(format!("no post with id {id}")))?;
    let mut out = TerminalSafe(std::io::BufWriter::new(std::io::stdout().lock()));
    if json {
        export::jsonl::write_post(&mut out, &post).map_err(export_error)?;
    } else {
        let tz = config.crawler.timezone;
        let local = |t: &str| {
            t.parse::<chrono::DateTime<chrono::FixedOffset>>()
                .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string())
                .unwrap_or_else(|_| t.to_string())
        };
        let field = |v: Option<&str>| v.unwrap_or("-").to_string();
        writeln!(out, "{}", post.title.as_deref().unwrap_or("(no title)"))?;
        writeln!(out, "id:        {}", post.id)?;
        writeln!(
            out,
            "source:    {} ({})",
            post.source,
            post.sources.join(", ")
        )?;
        writeln!(out, "url:       {}", field(post.url.as_deref()))?;
        writeln!(out, "infoCode:  {}", field(post.info_code.as_deref()))?;
        writeln!(out, "author:    {}", field(post.author.as_deref()))?;
        writeln!(out, "origin:    {}", field(post.origin.as_deref()))?;
        writeln!(
            out,
            "published: {}",
            post.published_at.as_deref().map_or("-".into(), local)
        )?;
        writeln!(out, "fetched:   {}", local(&post.fetched_at))?;
        writeln!(out)?;
        writeln!(out, "{}", post.content_text.as_deref().unwrap_or(""))?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

async fn posts_index(config: &Config) -> Result<u8, Error> {
    let store = store::Store::open_with(&config.database, false)?;
    let started = std::time::Instant::now();
    let indexed = store.index_all().await?;
    info!(
        indexed,
        secs = format!("{:.2}", started.elapsed().as_secs_f64()),
        "search index up to date"
    );
    Ok(EXIT_OK)
}

async fn prune(config: &Config, args: &PruneArgs) -> Result<u8, Error> {
    let age = config::parse_age(&args.older_than).ok_or_else(|| {
        Error::Usage(format!(
            "--older-than {:?}: not an age: a number and a unit (s, min, h, d, w, mo, y), like 90d or 12h",
            args.older_than
        ))
    })?;
    let age = chrono::Duration::from_std(age)
        .map_err(|_| Error::Usage("--older-than: too large".into()))?;
    let cutoff = chrono::Utc::now() - age;
    let s = if args.dry_run {
        open_for_export(config)?.prune_preview(cutoff)?
    } else {
        store::Store::open_with(&config.database, false)?
            .prune(cutoff)
            .await?
    };
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    print_out(&format!(
        "{verb} {} posts and {} fetch records older than {} (before {})\n",
        s.posts,
        s.fetches,
        args.older_than,
        cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))?;
    Ok(EXIT_OK)
}

/// Standard output for text meant for a terminal: control characters that a
/// publisher may have put into a title or an error message (escape
/// sequences that retitle or rewrite the terminal) are shown as `\u{1b}`,
/// never sent as they are. Line breaks and tabs pass.
struct TerminalSafe<W>(W);

impl<W: std::io::Write> std::io::Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        if !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.0.write_all(buf)?;
            return Ok(buf.len());
        }
        let mut out = String::with_capacity(text.len() + 16);
        for c in text.chars() {
            if c.is_control() && c != '\n' && c != '\t' {
                out.extend(c.escape_unicode());
            } else {
                out.push(c);
            }
        }
        self.0.write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
