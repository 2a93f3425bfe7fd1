//! `newscrawl stories list`.

use super::*;

pub(super) fn stories_list(
    config: &Config,
    since: &str,
    min_posts: i64,
    limit: usize,
    json: bool,
) -> Result<u8, Error> {
    let since = parse_since(config, Some(since))?
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    let db = open_for_export(config)?;
    let stories = db.stories(since, min_posts, limit)?;
    let mut out = TerminalSafe(std::io::BufWriter::new(std::io::stdout().lock()));
    let tz = config.crawler.timezone;
    for story in &stories {
        if json {
            let line = serde_json::to_string(story).map_err(|e| Error::Internal(e.to_string()))?;
            writeln!(out, "{line}")?;
        } else {
            let first = story
                .first_seen_at
                .parse::<chrono::DateTime<chrono::FixedOffset>>()
                .map(|d| d.with_timezone(&tz).format("%m-%d %H:%M").to_string())
                .unwrap_or_else(|_| "-".into());
            writeln!(
                out,
                "{:>7}  {:>3} posts  {first}  {}\n{:>22}{}",
                story.id,
                story.post_count,
                story.title.as_deref().unwrap_or("(no title)"),
                "",
                story.outlets().join(", ")
            )?;
        }
    }
    out.flush()?;
    Ok(EXIT_OK)
}
