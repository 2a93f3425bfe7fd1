//! The command line, as the contract writes it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "newscrawl",
    version,
    about = "A news crawler and aggregator daemon",
    long_about = "A news crawler and aggregator daemon. newscrawl polls the configured \
RSS, Atom, JSON Feed and JSON news-list sources, fetches the article pages they link to, \
stores each article once (keyed by its infoCode and canonical URL) as a post in SQLite, \
and keeps a Jekyll _posts directory current. `newscrawl crawl --once` polls every source \
once; `newscrawl crawl` runs as a daemon (systemd notify, SIGHUP reloads).\n\n\
Exit status: 0 all went well; 1 a source failed (the others were stored); 2 bad usage \
or configuration; 3 a fatal error (the database cannot be opened or written, the disk \
is full)."
)]
pub struct Cli {
    /// The main configuration file [default: $NEWSCRAWL_CONFIG, else
    /// ./config/newscrawl.toml if it exists, else /etc/newscrawl/newscrawl.toml]
    #[arg(long, global = true, env = "NEWSCRAWL_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The database, overriding the configuration's `database`: a SQLite
    /// file, or a postgres:// URL
    #[arg(
        long,
        global = true,
        env = "NEWSCRAWL_DATABASE",
        value_name = "PATH|URL"
    )]
    pub database: Option<String>,
    /// More log output (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only warnings and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log line format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll sources: once with --once, else as a daemon on their schedules
    Crawl(CrawlArgs),
    /// Inspect the configured sources; OPML in and out
    Sources {
        #[command(subcommand)]
        command: SourcesCommand,
    },
    /// Write stored posts out for downstream tools
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Delete old posts, keeping their keys as tombstones so they are never stored again
    Prune(PruneArgs),
    /// Copy a SQLite database into PostgreSQL (resumable; counts compared at the end)
    ///
    /// Stop the daemon first. Run it again after an interruption: each
    /// table goes on from the last row copied. Then point `database` at
    /// the PostgreSQL URL.
    Migrate(MigrateArgs),
    /// Search and index stored posts
    Posts {
        #[command(subcommand)]
        command: PostsCommand,
    },
    /// The same news republished by several outlets, grouped
    Stories {
        #[command(subcommand)]
        command: StoriesCommand,
    },
    /// Print a completion script for a shell (generated from this command line)
    ///
    /// bash: newscrawl completions bash > /etc/bash_completion.d/newscrawl;
    /// zsh: newscrawl completions zsh > "${fpath[1]}/_newscrawl";
    /// fish: newscrawl completions fish > ~/.config/fish/completions/newscrawl.fish
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one per command into a directory
    ///
    /// newscrawl man > /usr/local/share/man/man1/newscrawl.1;
    /// newscrawl man --dir /usr/local/share/man/man1 (newscrawl.1,
    /// newscrawl-crawl.1, newscrawl-sources-list.1, …)
    Man {
        /// Write newscrawl.1 and a page per subcommand here instead
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PostsCommand {
    /// Posts that contain every word (Chinese words of 2+ characters,
    /// "quoted phrases", a OR b, prefix*), newest first, one line per story
    Search(SearchArgs),
    /// Index every post not yet searchable through posts_fts, and exit
    Index,
    /// One post: its fields, then its text
    Show {
        /// The post's id (`posts search` prints it)
        id: i64,
        /// The post as one JSON object, as `export jsonl` writes it
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoriesCommand {
    /// Stories seen lately, the biggest first: posts, outlets, title
    List {
        /// Only stories with a post stored on or after this date
        /// (YYYY-MM-DD, in crawler.timezone), or within this age (24h, 7d)
        #[arg(long, value_name = "DATE|AGE", default_value = "24h")]
        since: String,
        /// Only stories with at least this many posts
        #[arg(long, value_name = "N", default_value_t = 1)]
        min_posts: i64,
        /// At most this many stories
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per story (with its posts) instead of a table
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The words to look for
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,
    /// Only posts this source delivered; may be repeated
    #[arg(long = "source", value_name = "SLUG")]
    pub sources: Vec<String>,
    /// Only posts published on or after this date (YYYY-MM-DD, in crawler.timezone)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// At most this many posts
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// One JSON object per line instead of a table
    #[arg(long)]
    pub json: bool,
    /// Every matching post on a line of its own, instead of one line per
    /// story (its newest match, and the outlets that carried it)
    #[arg(long)]
    pub every_post: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// One Markdown file per post, in the seed system's Jekyll format
    Jekyll {
        /// The _posts directory to write into (default: [export.jekyll] out)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Only posts published on or after this date (YYYY-MM-DD, in
        /// crawler.timezone), or within this age (24h, 7d)
        #[arg(long, value_name = "DATE|AGE")]
        since: Option<String>,
        /// Only posts this source delivered; may be repeated
        #[arg(long = "source", value_name = "SLUG")]
        sources: Vec<String>,
        /// Also write DIR/<category>.html for every category exported
        /// (default: [export.jekyll] category_pages)
        #[arg(long, value_name = "DIR")]
        category_pages: Option<PathBuf>,
        /// One file per story: its earliest post, with a line naming the
        /// other outlets that carried it and linking their posts (template
        /// variables `story_outlets`, `story_posts`)
        #[arg(long)]
        one_per_story: bool,
    },
    /// One JSON object per post on stdout
    Jsonl {
        /// Only posts published on or after this date (YYYY-MM-DD, in
        /// crawler.timezone), or within this age (24h, 7d)
        #[arg(long, value_name = "DATE|AGE")]
        since: Option<String>,
        /// Only posts stored after the post with this id: print the last id
        /// you read, ask for what came after it next time
        #[arg(long, value_name = "ID")]
        after_id: Option<i64>,
        /// Only posts this source delivered; may be repeated
        #[arg(long = "source", value_name = "SLUG")]
        sources: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite database to copy
    #[arg(long, value_name = "PATH")]
    pub from: PathBuf,
    /// The PostgreSQL database to copy into: postgres://user@host:5432/dbname
    /// (password from the URL or $PGPASSWORD)
    #[arg(long, value_name = "URL")]
    pub to: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Age past which posts (and fetch records) go: a number and a unit
    /// (s, min, h, d, w, mo, y), like 90d or 12h
    #[arg(long, value_name = "AGE")]
    pub older_than: String,
    /// Print what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Poll every enabled source (or those named) once, store, and exit
    #[arg(long)]
    pub once: bool,
    /// Only this source (by slug); may be repeated
    #[arg(long = "source", value_name = "SLUG")]
    pub sources: Vec<String>,
    /// With --once: return once the posts are stored, leaving the ones not
    /// yet indexed for search to the daemon, `posts index` or the next crawl
    /// (`posts search` finds them meanwhile)
    #[arg(long, requires = "once")]
    pub defer_index: bool,
}

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// One row per source: slug, schedule, health, post count
    List {
        /// One JSON object per source instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Fetch and parse now, print what would be stored, store nothing
    Check {
        /// Sources to check (default: every enabled source)
        slugs: Vec<String>,
        /// Also fetch and extract the first N articles (default 3) as the
        /// crawl would: title, date, origin, the first lines of the body
        #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "3")]
        articles: Option<usize>,
    },
    /// Print [[sources]] TOML for every feed in an OPML file
    ImportOpml {
        /// The OPML file
        file: PathBuf,
    },
    /// Print the configured sources as OPML 2.0
    ExportOpml,
    /// Add a source: a feed's URL, or a page whose feeds are found
    ///
    /// A page's announced feeds (<link rel="alternate">) are tried, else
    /// the common paths (/feed, /rss.xml, /atom.xml, …); one feed found is
    /// taken, several are listed (take one with --pick). The source is
    /// written to sources.d/50-<slug>.toml and a running daemon reloads.
    Add {
        /// The feed, or a page of the site
        url: String,
        /// The source's name (default: the feed's title)
        #[arg(long)]
        name: Option<String>,
        /// The source's slug (default: the name in toneless pinyin)
        #[arg(long)]
        slug: Option<String>,
        /// A cron schedule (default: crawler.schedule)
        #[arg(long)]
        schedule: Option<String>,
        /// "none", "link" or an article URL template
        #[arg(long)]
        follow: Option<String>,
        /// Of several feeds found, take this one (1 is the first listed)
        #[arg(long, value_name = "N")]
        pick: Option<usize>,
    },
    /// Stop polling a source: sets enabled = false where it is defined
    Disable {
        /// The source's slug
        slug: String,
    },
    /// Poll a disabled source again: sets enabled = true where it is defined
    Enable {
        /// The source's slug
        slug: String,
    },
}
