//! `newscrawl crawl --once`: every source polled once, the summary, the
//! continuous export's round and the hooks', the exit status.

use super::*;

/// `crawl --once`; `progress`: whether a terminal may show a progress line.
pub(super) async fn crawl(config: Config, args: &CrawlArgs, progress: bool) -> Result<u8, Error> {
    let sources = select_sources(&config, &args.sources)?;
    let export = crate::export::continuous::Target::from_config(&config).map_err(Error::from)?;
    // The HTTP clients (each reads the system's TLS roots) are built while
    // the database opens: a few milliseconds each, which a `crawl --once`
    // run every few minutes pays every time (a run whose feeds all answer
    // 304 takes a tenth of a second).
    let (fetcher, store) = std::thread::scope(|s| {
        let fetcher = s.spawn(|| fetch::Fetcher::new(&config.crawler));
        let store = store::Store::open_with(&config.database, !args.defer_index);
        (fetcher.join(), store)
    });
    let fetcher = match fetcher {
        Ok(built) => built.map_err(|e| Error::Internal(e.to_string()))?,
        Err(_) => return Err(Error::Internal("building the HTTP client panicked".into())),
    };
    let store = store?;
    info!(database = %config.database, "database opened");
    daemon::sync_sources(&store, &config).await?;
    // A hook seen for the first time starts with what this run stores.
    crate::hooks::start_cursors(&config.hooks, &config.database, &store).await?;
    let hooks = config.hooks.clone();
    // The hooks' client only for hooks to run.
    let hook_client = (!hooks.is_empty()).then(|| crate::hooks::client(&config.crawler.user_agent));

    let db = config.database.clone();
    let crawler = Arc::new(crate::crawl::Crawler::new(
        Arc::new(config),
        Arc::new(fetcher),
        Arc::new(store),
    ));
    let started = std::time::Instant::now();
    let mut shown = crate::progress::Progress::start(sources.len(), progress);
    let reports = crawler.poll_all(sources, |r| shown.source_done(r)).await?;
    drop(shown);
    // Posts an older version stored have their stories too (none left
    // after the first run).
    let assigned = crawler.store.assign_stories().await?;
    if assigned > 0 {
        info!(posts = assigned, "older posts given their stories");
    }
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
        let reader = Arc::new(crate::store::KeptReader::new(db.clone()));
        let round = crate::export::continuous::round(Arc::new(target), &reader, &crawler.store)
            .await
            .map_err(Error::from)?;
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
    // Then the hooks, once each: a failing one is said, and its posts wait
    // for the next run; it does not change the exit status.
    if let Some(client) = &hook_client {
        crate::hooks::once(&hooks, client, &db, &crawler.store).await;
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
