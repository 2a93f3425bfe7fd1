//! `newscrawl posts search|show|index`.

use super::*;

pub(super) fn posts_search(config: &Config, args: &SearchArgs) -> Result<u8, Error> {
    let text = args.query.join(" ");
    let query = crate::search::Query::parse(&text)
        .ok_or_else(|| Error::Usage(format!("{text:?}: nothing to search for")))?;
    known_slugs(config, &args.sources)?;
    let filter = store::PostFilter {
        since: parse_since(config, args.since.as_deref())?,
        sources: args.sources.clone(),
        one_per_story: !args.every_post,
        ..store::PostFilter::default()
    };
    let db = open_for_export(config)?;
    let hits = db.search(&query, &filter, args.limit)?;
    let mut out = TerminalSafe(std::io::BufWriter::new(std::io::stdout().lock()));
    let tz = config.crawler.timezone;
    for hit in &hits {
        // The other posts of its story, with their outlets.
        let others: Vec<store::StoryPost> = match hit.story_id {
            Some(story) if !args.every_post => db
                .story_posts(story)?
                .into_iter()
                .filter(|p| p.id != hit.id)
                .collect(),
            _ => Vec::new(),
        };
        let mut outlets: Vec<&str> = Vec::new();
        for p in &others {
            if !outlets.contains(&p.source_name.as_str()) {
                outlets.push(&p.source_name);
            }
        }
        if args.json {
            let mut value =
                serde_json::to_value(hit).map_err(|e| Error::Internal(e.to_string()))?;
            if !args.every_post {
                value["story_posts"] = (others.len() + 1).into();
                value["other_outlets"] = outlets.clone().into();
            }
            writeln!(out, "{value}")?;
        } else {
            let when = hit
                .published_at
                .as_deref()
                .unwrap_or(&hit.fetched_at)
                .parse::<chrono::DateTime<chrono::FixedOffset>>()
                .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|_| "-".into());
            let also = if others.is_empty() {
                String::new()
            } else {
                format!("  [+{}: {}]", others.len(), outlets.join(", "))
            };
            writeln!(
                out,
                "{:>7}  {when}  {:<16}  {}{also}",
                hit.id,
                hit.source,
                hit.title.as_deref().unwrap_or("(no title)")
            )?;
        }
    }
    out.flush()?;
    Ok(EXIT_OK)
}

pub(super) fn posts_show(config: &Config, id: i64, json: bool) -> Result<u8, Error> {
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
        crate::export::jsonl::write_post(&mut out, &post).map_err(Error::from)?;
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
        if let Some(story) = post.story_id {
            let posts = db.story_posts(story)?;
            let mut outlets: Vec<&str> = Vec::new();
            for p in posts.iter().filter(|p| p.id != post.id) {
                if !outlets.contains(&p.source_name.as_str()) {
                    outlets.push(&p.source_name);
                }
            }
            if outlets.is_empty() {
                writeln!(out, "story:     {story} (this post alone)")?;
            } else {
                writeln!(
                    out,
                    "story:     {story} ({} posts; also {})",
                    posts.len(),
                    outlets.join(", ")
                )?;
            }
        }
        writeln!(out)?;
        writeln!(out, "{}", post.content_text.as_deref().unwrap_or(""))?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

pub(super) async fn posts_index(config: &Config) -> Result<u8, Error> {
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
