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
                "polled_by": row.and_then(|r| r.lease_holder.as_deref()),
                "lease_until": row.and_then(|r| r.lease_until.as_deref()),
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
        // Several daemons: the one polling it now says so.
        let next = match row.and_then(|r| r.lease_holder.as_deref()) {
            Some(holder) => format!("now ({holder})"),
            None if s.enabled => local(row.and_then(|r| r.next_poll_at.as_deref())),
            None => "disabled".into(),
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

pub(super) async fn sources_check(
    config: Config,
    slugs: &[String],
    articles: Option<usize>,
) -> Result<u8, Error> {
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
            &config,
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
                for post in posts.iter().take(articles.unwrap_or(0)) {
                    let shown = match crate::crawl::preview_article(&fetcher, &config, source, post)
                        .await
                    {
                        Ok((url, a)) => {
                            let body: Vec<&str> = a
                                .content_text
                                .as_deref()
                                .unwrap_or_default()
                                .lines()
                                .filter(|l| !l.trim().is_empty())
                                .take(3)
                                .collect();
                            format!(
                                "  article {url}\n    title:  {}\n    date:   {}\n    origin: {}\n    body:   {}",
                                a.title.as_deref().unwrap_or("-"),
                                a.published_at
                                    .as_ref()
                                    .map_or("-".into(), crate::date::to_rfc3339),
                                a.origin.as_deref().unwrap_or("-"),
                                body.join("\n            ")
                            )
                        }
                        Err(e) => format!("  article FAILED: {e}"),
                    };
                    let _ = writeln!(out, "{shown}");
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

/// `sources add`'s choices besides the URL.
pub(super) struct AddOptions<'a> {
    pub(super) name: Option<&'a str>,
    pub(super) slug: Option<&'a str>,
    pub(super) schedule: Option<&'a str>,
    pub(super) follow: Option<&'a str>,
    pub(super) pick: Option<usize>,
}

/// A fetched document: its final URL, its type, its text.
struct Page {
    url: url::Url,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

async fn get_page(fetcher: &fetch::Fetcher, url: &url::Url) -> Result<Page, String> {
    match fetcher
        .get(
            url,
            fetch::FEED_ACCEPT,
            &fetch::Validators::default(),
            fetch::Reach::Any,
            &Default::default(),
        )
        .await
    {
        Ok(fetch::Fetched::Body(b)) => Ok(Page {
            url: b.final_url,
            content_type: b.content_type,
            bytes: b.bytes,
        }),
        Ok(fetch::Fetched::NotModified { .. }) => {
            Err(format!("{url}: answered 304 to a plain GET"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The page's text, decoded as the crawl decodes it.
fn page_text(page: &Page) -> String {
    let charset = page
        .content_type
        .as_deref()
        .and_then(crate::decode::charset_from_content_type);
    let tld = page.url.host_str().and_then(crate::decode::tld_of);
    let declared = crate::decode::xml_declared(&page.bytes);
    crate::decode::decode(&page.bytes, charset, declared, tld).text
}

/// The feed's title when `page` is a feed with items, `Some(None)` for a
/// feed without a title, `None` when it is not a feed.
fn as_feed(page: &Page, tz: chrono_tz::Tz) -> Option<Option<String>> {
    if crate::discover::is_html(page.content_type.as_deref(), &page.bytes) {
        return None;
    }
    let text = page_text(page);
    let doc = crate::feed::parse(&text, &page.url, tz).ok()?;
    if doc.items.is_empty() {
        return None;
    }
    Some(crate::discover::feed_title(&text))
}

pub(super) async fn sources_add(
    config: &Config,
    url: &str,
    opts: AddOptions<'_>,
) -> Result<u8, Error> {
    let given = url::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| Error::Usage(format!("{url:?} is not an http or https URL")))?;
    let fetcher =
        fetch::Fetcher::new(&config.crawler).map_err(|e| Error::Internal(e.to_string()))?;
    let tz = config.crawler.timezone;
    let first = get_page(&fetcher, &given)
        .await
        .map_err(|e| Error::Usage(format!("cannot add {}: {e}", fetch::redacted(&given))))?;
    // (feed URL, its title), and the page it was found on.
    let mut found: Vec<(url::Url, Option<String>)> = Vec::new();
    let mut found_on = None;
    if let Some(title) = as_feed(&first, tz) {
        found.push((first.url.clone(), title));
    } else {
        let announced = crate::discover::announced(&page_text(&first), &first.url);
        let tried: Vec<(url::Url, Option<String>)> = if announced.is_empty() {
            crate::discover::COMMON_PATHS
                .iter()
                .filter_map(|p| first.url.join(p).ok().map(|u| (u, None)))
                .collect()
        } else {
            announced
        };
        for (candidate, link_title) in tried {
            let Ok(page) = get_page(&fetcher, &candidate).await else {
                continue;
            };
            if let Some(title) = as_feed(&page, tz)
                && !found.iter().any(|(u, _)| *u == page.url)
            {
                found.push((page.url, title.or(link_title)));
            }
        }
        found_on = Some(first.url.clone());
    }
    // Feeds already configured are not offered again; when they are all
    // there is, the first one is refused below.
    let configured = |u: &url::Url| {
        let c = crate::dedup::canonical_url(u, &config.crawler.tracking_params);
        config
            .sources
            .iter()
            .find(|s| crate::dedup::canonical_url(&s.url, &config.crawler.tracking_params) == c)
    };
    if found.iter().any(|(u, _)| configured(u).is_none()) {
        found.retain(|(u, _)| configured(u).is_none());
    } else {
        found.truncate(1);
    }
    let (feed, title) = match (found.len(), opts.pick) {
        (0, _) => {
            return Err(Error::Usage(format!(
                "no feed found at {}: it announces none that parses, and none of {} holds one",
                fetch::redacted(&given),
                crate::discover::COMMON_PATHS.join(", ")
            )));
        }
        (_, Some(n)) if n >= 1 && n <= found.len() => found.swap_remove(n - 1),
        (1, None) => found.swap_remove(0),
        (n, _) => {
            let list: Vec<String> = found
                .iter()
                .enumerate()
                .map(|(i, (u, t))| {
                    format!(
                        "  {}. {}{}",
                        i + 1,
                        fetch::redacted(u),
                        t.as_deref().map(|t| format!("  ({t})")).unwrap_or_default()
                    )
                })
                .collect();
            return Err(Error::Usage(format!(
                "{n} feeds found at {}; take one with --pick N:\n{}",
                fetch::redacted(&given),
                list.join("\n")
            )));
        }
    };
    if let Some(s) = configured(&feed) {
        return Err(Error::Usage(format!(
            "{} is already configured: source {:?} ({})",
            fetch::redacted(&feed),
            s.slug,
            s.defined_at
        )));
    }
    let name = opts
        .name
        .map(str::to_string)
        .or(title)
        .or_else(|| feed.host_str().map(str::to_string))
        .unwrap_or_else(|| feed.to_string());
    let slug = match opts.slug {
        Some(s) => s.to_string(),
        None => crate::slug::slugify(&name),
    };
    if slug.is_empty() {
        return Err(Error::Usage(format!(
            "no slug can be made of {name:?}: set --slug"
        )));
    }
    if let Some(s) = config.sources.iter().find(|s| s.slug == slug) {
        return Err(Error::Usage(format!(
            "the slug {slug:?} is taken ({}): set --slug",
            s.defined_at
        )));
    }
    let url_text = fetch::without_credentials(&feed).to_string();
    let found_text = found_on.as_ref().map(fetch::redacted);
    let file = config::edit::add_source(
        config,
        &config::edit::NewSource {
            name: &name,
            slug: &slug,
            url: &url_text,
            schedule: opts.schedule,
            follow: opts.follow,
            found_at: found_text.as_deref(),
        },
    )?;
    print_out(&format!(
        "added {slug} ({}) in {}\n{}\n",
        fetch::redacted(&feed),
        file.display(),
        reload_note(config)
    ))?;
    Ok(EXIT_OK)
}

/// Tells a running daemon to reload, and says so.
fn reload_note(config: &Config) -> String {
    if matches!(config.database, config::Database::Postgres(_)) {
        return "reload every daemon that reads this configuration (systemctl reload newscrawl, \
                or SIGHUP); a crawl --once picks the change up"
            .into();
    }
    match daemon::ask_reload(&config.database) {
        Some(pid) => format!("the daemon (pid {pid}) reloads its configuration"),
        None => format!(
            "no daemon runs on {}: the next crawl picks the change up",
            config.database
        ),
    }
}

pub(super) fn sources_enable(config: &Config, slug: &str, enabled: bool) -> Result<u8, Error> {
    let source = config
        .sources
        .iter()
        .find(|s| s.slug == slug)
        .ok_or_else(|| Error::Usage(format!("no source {slug:?} in the configuration")))?;
    let state = if enabled { "enabled" } else { "disabled" };
    if source.enabled == enabled {
        print_out(&format!(
            "{slug} is already {state} ({})\n",
            source.defined_at
        ))?;
        return Ok(EXIT_OK);
    }
    let file = config::edit::set_enabled(config, source, enabled)?;
    print_out(&format!(
        "{slug} {state} in {}\n{}\n",
        file.display(),
        reload_note(config)
    ))?;
    Ok(EXIT_OK)
}
