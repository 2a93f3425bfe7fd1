//! The command handlers, one module per command group: [`crawl`]
//! (`crawl --once`; the daemon is [`crate::daemon`]), [`sources`],
//! [`export`], [`posts`], [`stories`], [`prune`], and what is generated from the command
//! line ([`generate`]: completions, manual pages). [`dispatch`] picks the
//! handler; each returns the process's exit status, and an error becomes
//! one line on stderr and its status here.

mod crawl;
mod export;
mod generate;
mod migrate;
mod posts;
mod prune;
mod sources;
mod stories;

use std::io::Write;
use std::sync::Arc;

use tracing::{error, info};

use crate::cli::{
    Cli, Command, CrawlArgs, ExportCommand, PostsCommand, PruneArgs, SearchArgs, SourcesCommand,
    StoriesCommand,
};
use crate::config::{self, Config, Source};
use crate::error::ConfigError;
use crate::store::{self, Outcome};
use crate::{
    EXIT_FATAL, EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE, Error, daemon, date, fetch, load_config,
};

use self::crawl::crawl;
use self::export::{export_jekyll, export_jsonl};
use self::generate::{completions, man_pages};
use self::posts::{posts_index, posts_search, posts_show};
use self::prune::prune;
use self::sources::{
    AddOptions, import_opml, sources_add, sources_check, sources_enable, sources_list,
};
use self::stories::stories_list;

pub(crate) async fn dispatch(cli: Cli) -> u8 {
    let result = async {
        // What is generated from the command line needs no configuration.
        let config = match &cli.command {
            Command::Completions { shell } => return completions(*shell),
            Command::Man { dir } => return man_pages(dir.as_deref()),
            // Both databases are named on the command line.
            Command::Migrate(args) => return migrate::migrate(args, !cli.quiet).await,
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
                SourcesCommand::Check { slugs, articles } => {
                    sources_check(config, slugs, *articles).await
                }
                SourcesCommand::ImportOpml { file } => import_opml(&config, file),
                SourcesCommand::ExportOpml => {
                    print_out(&crate::export::opml::export(&config.sources))?;
                    Ok(EXIT_OK)
                }
                SourcesCommand::Add {
                    url,
                    name,
                    slug,
                    schedule,
                    follow,
                    pick,
                } => {
                    sources_add(
                        &config,
                        url,
                        AddOptions {
                            name: name.as_deref(),
                            slug: slug.as_deref(),
                            schedule: schedule.as_deref(),
                            follow: follow.as_deref(),
                            pick: *pick,
                        },
                    )
                    .await
                }
                SourcesCommand::Disable { slug } => sources_enable(&config, slug, false),
                SourcesCommand::Enable { slug } => sources_enable(&config, slug, true),
            },
            Command::Export { command } => match command {
                ExportCommand::Jekyll {
                    out,
                    since,
                    sources,
                    category_pages,
                    one_per_story,
                } => export_jekyll(
                    &config,
                    out.as_deref(),
                    since.as_deref(),
                    sources,
                    category_pages.as_deref(),
                    *one_per_story,
                ),
                ExportCommand::Jsonl {
                    since,
                    after_id,
                    sources,
                } => export_jsonl(&config, since.as_deref(), *after_id, sources),
            },
            Command::Prune(args) => prune(&config, args).await,
            Command::Migrate(args) => migrate::migrate(args, !cli.quiet).await,
            Command::Completions { shell } => completions(*shell),
            Command::Man { dir } => man_pages(dir.as_deref()),
            Command::Posts { command } => match command {
                PostsCommand::Search(args) => posts_search(&config, args),
                PostsCommand::Index => posts_index(&config).await,
                PostsCommand::Show { id, json } => posts_show(&config, *id, *json),
            },
            Command::Stories { command } => match command {
                StoriesCommand::List {
                    since,
                    min_posts,
                    limit,
                    json,
                } => stories_list(&config, since, *min_posts, *limit, *json),
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

fn print_out(text: &str) -> Result<(), Error> {
    let mut out = TerminalSafe(std::io::stdout().lock());
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
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
            config.database
        ))
    })
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
