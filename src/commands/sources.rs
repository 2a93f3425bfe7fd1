//! `newscrawl sources …`: the listing with health, a check that writes
//! nothing, OPML in.

use super::*;

pub(super) fn sources_list(config: &Config, json: bool) -> Result<u8, Error> {
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

pub(super) async fn sources_check(config: Config, slugs: &[String]) -> Result<u8, Error> {
    let sources = select_sources(&config, slugs)?;
    let fetcher =
        fetch::Fetcher::new(&config.crawler).map_err(|e| Error::Internal(e.to_string()))?;
    let db = store::Reader::open(&config.database)?;
    let mut failed = false;
    for source in &sources {
        let fetched = crate::crawl::fetch_feed(
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
            Ok(Some(crate::crawl::Parsed {
                posts,
                blocked,
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
                    "{}: {} items from {}{}",
                    source.slug,
                    posts.len() + blocked.len(),
                    fetch::redacted(&source.url),
                    if blocked.is_empty() {
                        String::new()
                    } else {
                        format!(", {} blocked by rules", blocked.len())
                    }
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
                        post.published_at
                            .as_ref()
                            .map_or("-".into(), crate::date::to_rfc3339),
                        post.title.as_deref().unwrap_or("(no title)")
                    );
                }
                for (post, rule) in &blocked {
                    let _ = writeln!(
                        out,
                        "  {:<6} {:<20} {}  {}\n         by {rule}",
                        "blocked",
                        post.identity.info_code.as_deref().unwrap_or("-"),
                        post.published_at
                            .as_ref()
                            .map_or("-".into(), crate::date::to_rfc3339),
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

pub(super) fn import_opml(config: &Config, file: &std::path::Path) -> Result<u8, Error> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", file.display())))?;
    let feeds = crate::export::opml::parse(&text)
        .map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
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
    out.push_str(&crate::export::opml::to_toml(&new, &taken));
    print_out(&out)?;
    Ok(EXIT_OK)
}
