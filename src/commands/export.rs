//! `newscrawl export jekyll|jsonl`.

use super::*;

pub(super) fn export_jekyll(
    config: &Config,
    out: Option<&std::path::Path>,
    since: Option<&str>,
    sources: &[String],
    category_pages: Option<&std::path::Path>,
    one_per_story: bool,
) -> Result<u8, Error> {
    let filter = store::PostFilter {
        since: parse_since(config, since)?,
        sources: sources.to_vec(),
        one_per_story,
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
    let template = crate::export::continuous::template(config)
        .map_err(|e| Error::Usage(format!("export.jekyll.template: {e}")))?;
    let db = open_for_export(config)?;
    let started = std::time::Instant::now();
    let mut writer = crate::export::jekyll::JekyllWriter::new(
        &template,
        out,
        &config.export.jekyll_site,
        config.crawler.timezone,
    )
    .map_err(Error::from)?;
    db.for_each_post(&filter, |post| {
        let story = match post.story_id {
            Some(id) if one_per_story => db.story_posts(id)?,
            _ => Vec::new(),
        };
        writer.post(&post, &story, &|code| {
            db.has_info_code(code).unwrap_or(true)
        });
        Ok::<(), crate::export::ExportError>(())
    })
    .map_err(Error::from)?;
    if let Some(dir) = category_pages {
        writer.category_pages(dir).map_err(Error::from)?;
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

pub(super) fn export_jsonl(
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
    db.for_each_post(&filter, |post| {
        crate::export::jsonl::write_post(&mut out, &post)
    })
    .map_err(Error::from)?;
    out.flush()?;
    Ok(EXIT_OK)
}
