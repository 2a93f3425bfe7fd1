//! What the store takes and gives: plain data, the same whatever the backend.
//! What goes in carries real times (`DateTime<Utc>` for newscrawl's own
//! bookkeeping, `DateTime<FixedOffset>` for a publisher's dates, whose offset
//! is kept). What comes out for exports and listings ([`PostRow`],
//! [`SourceRow`], [`SearchHit`]) carries the times as the database's
//! documented RFC 3339 text, exactly as stored: exports print them so, and a
//! row written by another tool comes out as that tool wrote it.

use chrono::DateTime;

use crate::dedup::Identity;
use crate::fetch::Validators;

/// The stored state of a source that a poll starts from.
#[derive(Debug, Clone, Default)]
pub struct SourceState {
    pub validators: Validators,
    pub failures: i64,
    /// The URL in effect, when it differs from nothing (the row exists).
    pub url: Option<String>,
    pub hold_until: Option<DateTime<chrono::Utc>>,
    pub last_unconditional_at: Option<DateTime<chrono::Utc>>,
    /// When it is due, as the database has it (shared by several daemons).
    pub next_poll_at: Option<DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    NotModified,
    Error,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotModified => "not_modified",
            Outcome::Error => "error",
        }
    }
}

/// One HTTP request, for the `fetches` table.
#[derive(Debug, Clone)]
pub struct FetchRecord {
    pub url: String,
    pub started_at: DateTime<chrono::Utc>,
    pub duration_ms: i64,
    pub http_status: Option<u16>,
    pub outcome: Outcome,
    pub bytes: u64,
    pub error: Option<String>,
}

/// A post as the pipeline hands it to the store.
#[derive(Debug, Clone, Default)]
pub struct NewPost {
    pub identity: Identity,
    pub url: Option<String>,
    pub guid: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub summary: Option<String>,
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub origin: Option<String>,
    /// Files attached to the item, in the feed's order.
    pub enclosures: Vec<crate::feed::Enclosure>,
    /// In the source's offset (or the configured time zone's).
    pub published_at: Option<DateTime<chrono::FixedOffset>>,
    pub updated_at: Option<DateTime<chrono::FixedOffset>>,
    /// Its article is still to be fetched.
    pub article_pending: bool,
    /// What its story is decided on, computed with the post (off the
    /// writer's thread); `None` gives it a story of its own.
    pub fingerprint: Option<crate::stories::Fingerprint>,
}

/// A post whose article is due to be fetched.
#[derive(Debug, Clone)]
pub struct ArticleJob {
    pub post_id: i64,
    pub url: Option<String>,
    pub info_code: Option<String>,
    pub guid: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
    /// The post's title (the article's fingerprint is taken with it: the
    /// post keeps it).
    pub title: Option<String>,
}

/// What an article page gave, for the post's columns.
#[derive(Debug, Clone, Default)]
pub struct ArticleFields {
    pub title: Option<String>,
    pub published_at: Option<DateTime<chrono::FixedOffset>>,
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub origin: Option<String>,
    /// The post's fingerprint with the article's text, which may move it to
    /// another story (boxed: the other outcomes are small).
    pub fingerprint: Option<Box<crate::stories::Fingerprint>>,
}

/// How an article attempt ended.
#[derive(Debug, Clone)]
pub enum ArticleOutcome {
    Done(ArticleFields),
    /// Failed; try again at this time.
    Retry {
        next_at: DateTime<chrono::Utc>,
    },
    /// Failed for the last time: the post keeps the feed's text.
    GiveUp,
}

/// One article attempt, for the post and the `fetches` table.
#[derive(Debug, Clone)]
pub struct ArticleResult {
    pub post_id: i64,
    pub fetch: FetchRecord,
    pub outcome: ArticleOutcome,
}

/// Everything one poll of one source produced.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub source: String,
    pub fetch: FetchRecord,
    /// New validators, present only when the body parsed.
    pub validators: Option<Validators>,
    pub items: usize,
    pub posts: Vec<NewPost>,
    pub next_poll_at: Option<DateTime<chrono::Utc>>,
    /// The fetch went out without validators and succeeded.
    pub unconditional: bool,
    /// The feed moved permanently here: the URL in effect from now on.
    pub moved_to: Option<String>,
    /// No poll before this time (`Retry-After`, kept to the millisecond);
    /// `None` clears a hold.
    pub hold_until: Option<DateTime<chrono::Utc>>,
    /// When the run this poll belongs to started (a `crawl --once`, or the
    /// daemon's round for this source): a post another source stored since
    /// then came in the same run, and the owner is decided by configuration
    /// order.
    pub run_started_at: DateTime<chrono::Utc>,
    /// Items a rule blocked: not stored as posts, remembered with the rule.
    pub blocked: Vec<BlockedItem>,
}

/// An item a rule blocked.
#[derive(Debug, Clone)]
pub struct BlockedItem {
    pub identity: Identity,
    pub title: Option<String>,
    /// The rule, as the configuration states it.
    pub rule: String,
}

/// What saving a poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaveSummary {
    pub new_posts: usize,
    pub updated_posts: usize,
    pub repeats: usize,
    /// Items whose post was pruned: not stored again.
    pub pruned: usize,
    /// Items a rule blocked for the first time.
    pub blocked: usize,
}

/// A configured source's row, for `sources list`.
#[derive(Debug, Clone)]
pub struct SourceRow {
    pub slug: String,
    pub failures: i64,
    pub last_error: Option<String>,
    pub last_success_at: Option<String>,
    pub last_polled_at: Option<String>,
    pub next_poll_at: Option<String>,
    pub posts: i64,
    /// The daemon polling it now (several daemons on PostgreSQL), and
    /// until when its claim holds.
    pub lease_holder: Option<String>,
    pub lease_until: Option<String>,
}

/// What one pass of the search indexer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexRun {
    /// Posts indexed.
    pub indexed: usize,
    /// Whether it stopped at its limit with more to do.
    pub more: bool,
}

/// One post that a search found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SearchHit {
    pub id: i64,
    pub source: String,
    pub published_at: Option<String>,
    pub fetched_at: String,
    pub title: Option<String>,
    pub url: String,
    pub story_id: Option<i64>,
}

/// A stored post with what exporters need beside it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PostRow {
    pub id: i64,
    pub source: String,
    /// The name of `source` (its slug when the source row is gone).
    pub source_name: String,
    pub info_code: Option<String>,
    pub url: Option<String>,
    pub canonical_url: String,
    pub guid: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub summary: Option<String>,
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub origin: Option<String>,
    pub published_at: Option<String>,
    pub updated_at: Option<String>,
    pub fetched_at: String,
    pub article_state: Option<String>,
    pub article_attempts: i64,
    pub article_next_at: Option<String>,
    pub article_via: Option<String>,
    pub published_utc: Option<String>,
    /// Every source that delivered the post, sorted.
    pub sources: Vec<String>,
    /// Its enclosures, in the feed's order.
    pub enclosures: Vec<EnclosureRow>,
    /// The story it belongs to (`stories.id`; none only before the writer
    /// has assigned a post stored by an older version).
    pub story_id: Option<i64>,
}

/// A story, for `stories list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoryRow {
    pub id: i64,
    /// The representative's title (the post that started the story).
    pub title: Option<String>,
    /// The representative (none once it was pruned).
    pub post_id: Option<i64>,
    pub post_count: i64,
    pub first_seen_at: String,
    pub last_seen_at: String,
    /// Its posts, the earliest first.
    pub posts: Vec<StoryPost>,
}

/// One post of a story.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoryPost {
    pub id: i64,
    pub source: String,
    /// The name of `source` (its slug when the source row is gone).
    pub source_name: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub published_at: Option<String>,
    pub fetched_at: String,
}

impl StoryRow {
    /// The outlets that published it (their sources' names), each once,
    /// in the order they did.
    pub fn outlets(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.posts
            .iter()
            .map(|p| p.source_name.as_str())
            .filter(|n| seen.insert(*n))
            .collect()
    }
}

/// An enclosure as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnclosureRow {
    pub url: String,
    #[serde(rename = "type")]
    pub mime: Option<String>,
    pub length: Option<i64>,
}

/// Which posts an export reads.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    /// Only posts published (else fetched) at or after this time.
    pub since: Option<DateTime<chrono::FixedOffset>>,
    /// Only posts that one of these sources delivered.
    pub sources: Vec<String>,
    /// Only the post with this id.
    pub id: Option<i64>,
    /// Only posts stored after the one with this id (ids only grow: a
    /// consumer's cursor).
    pub after_id: Option<i64>,
    /// Only posts whose latest change (`post_changes.seq`) is after the
    /// first number and at most the second: what a continuous export has
    /// not written yet.
    pub changed: Option<(i64, i64)>,
    /// One post per story: for an export the story's earliest (published,
    /// else stored), for a search its newest match.
    pub one_per_story: bool,
}

/// Which posts (and fetch records) are old enough to prune: a source's
/// own before its cutoff, every other source's before `default` (none of
/// them when `None`). A post belongs to the source that first delivered it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cutoffs {
    pub default: Option<DateTime<chrono::Utc>>,
    pub per_source: std::collections::HashMap<String, DateTime<chrono::Utc>>,
}

impl Cutoffs {
    /// One cutoff for every source.
    pub fn all(cutoff: DateTime<chrono::Utc>) -> Cutoffs {
        Cutoffs {
            default: Some(cutoff),
            per_source: Default::default(),
        }
    }

    /// The cutoff for `source`'s posts.
    pub fn of(&self, source: &str) -> Option<DateTime<chrono::Utc>> {
        self.per_source.get(source).copied().or(self.default)
    }

    /// Nothing to prune, whatever the posts.
    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.per_source.is_empty()
    }
}

/// What a prune removes or would remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneSummary {
    pub posts: usize,
    pub fetches: usize,
}
