//! One document of one source: fetched (conditionally), decoded, parsed
//! (a feed, or a JSON list by its mapping), its items turned into the posts
//! the store saves, identities decided over the whole document.

use super::*;

/// A fetched feed: what the exchange said, and the items when it parsed.
pub struct FeedFetch {
    pub status: Option<u16>,
    pub bytes: u64,
    /// Where a chain of permanent redirects led.
    pub moved_to: Option<Url>,
    /// How long the server asked us to stay away (429/503 with `Retry-After`).
    pub retry_after: Option<std::time::Duration>,
    /// The items and the new validators; `Ok(None)` is a 304.
    pub result: Result<Option<Parsed>, PollError>,
}

/// A body that parsed, its items made into posts.
pub struct Parsed {
    pub posts: Vec<NewPost>,
    /// Items the source's rules blocked, with the rule.
    pub blocked: Vec<(NewPost, String)>,
    /// Items of a JSON list that could not be mapped, one message each.
    pub skipped: Vec<String>,
    /// What `crawler.max_items` left out, when it did.
    pub cut: Option<String>,
    pub validators: Validators,
}

pub const JSON_ACCEPT: &str = "application/json, text/javascript;q=0.9, */*;q=0.5";

/// Fetches the feed (or, with `items`, the JSON list) of `source` at `url`,
/// conditionally with `validators`, parses it and makes its items posts.
pub async fn fetch_feed(
    fetcher: &Fetcher,
    source: &Source,
    url: &Url,
    validators: &Validators,
    config: &crate::config::Config,
) -> FeedFetch {
    let crawler = &config.crawler;
    let fingerprints = config.stories.group;
    let tz = crawler.timezone;
    let accept = match source.kind {
        SourceKind::Feed => FEED_ACCEPT,
        SourceKind::JsonList(_) => JSON_ACCEPT,
    };
    let fetched = match fetcher
        .get(url, accept, validators, Reach::Any, &source.fetch)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            return FeedFetch {
                status: e.http_status(),
                bytes: 0,
                moved_to: None,
                retry_after: e.retry_after(),
                result: Err(e.into()),
            };
        }
    };
    let moved_to = fetched.moved_to().cloned();
    let body = match fetched {
        Fetched::NotModified { .. } => {
            return FeedFetch {
                status: Some(304),
                bytes: 0,
                moved_to,
                retry_after: None,
                result: Ok(None),
            };
        }
        Fetched::Body(b) => b,
    };
    let status = Some(body.status);
    let bytes = body.bytes.len() as u64;
    let final_url = body.final_url.to_string();
    // Decoding, parsing and sanitizing are CPU work (and the parser is not
    // Send): off the runtime. The items become posts there and are dropped,
    // so a poll waiting for the database holds only its posts.
    let (source, url, tracking) = (source.clone(), url.clone(), crawler.tracking_params.clone());
    let max_items = crawler.max_items;
    let parsed = tokio::task::spawn_blocking(move || {
        let final_url = body.final_url.clone();
        let validators = body.validators.clone();
        let mut doc = parse_body(body, tz, &source.kind)?;
        let held = doc.items.len();
        let dropped = feed::keep_newest(&mut doc.items, max_items);
        let cut = (dropped > 0).then(|| {
            format!("{held} items, more than crawler.max_items ({max_items}): the {dropped} oldest left out")
        });
        let mut not_articles = doc.site_links.clone();
        not_articles.extend([url.clone(), final_url.clone()]);
        let posts = to_posts(
            &source,
            &doc.items,
            &final_url,
            &not_articles,
            &tracking,
            fingerprints,
        );
        let (posts, blocked) = crate::rules::apply(&source.rules, posts);
        Ok(Parsed {
            posts,
            blocked,
            skipped: doc.skipped,
            cut,
            validators,
        })
    })
    .await
    .unwrap_or_else(|e| Err(FeedError::Parse(format!("parser crashed: {e}"))));
    FeedFetch {
        status,
        bytes,
        moved_to,
        retry_after: None,
        result: match parsed {
            Ok(ok) => Ok(Some(ok)),
            Err(source) => Err(PollError::Feed {
                url: final_url,
                source,
            }),
        },
    }
}

/// The body as a document of items. One that holds items but yields none
/// is an error, never an empty success.
fn parse_body(
    body: Body,
    tz: chrono_tz::Tz,
    kind: &SourceKind,
) -> Result<feed::Document, FeedError> {
    let http_charset = body
        .content_type
        .as_deref()
        .and_then(decode::charset_from_content_type);
    let tld = body.final_url.host_str().and_then(decode::tld_of);
    let mut doc = match kind {
        SourceKind::JsonList(mapping) => {
            let (text, _) = decode::decode_text(&body.bytes, http_charset, None, tld);
            jsonlist::parse(&text, mapping, &body.final_url, tz)?
        }
        SourceKind::Feed => {
            let declared = decode::xml_declared(&body.bytes);
            let (text, _) = decode::decode_text(&body.bytes, http_charset, declared, tld);
            feed::parse(&text, &body.final_url, tz)?
        }
    };
    // A publisher's links may carry user info of their own: never stored.
    for item in &mut doc.items {
        if let Some(link) = item.link.as_mut().filter(|l| fetch::has_credentials(l)) {
            *link = fetch::without_credentials(link);
        }
        for e in item
            .enclosures
            .iter_mut()
            .filter(|e| fetch::has_credentials(&e.url))
        {
            e.url = fetch::without_credentials(&e.url);
        }
    }
    if doc.items.is_empty()
        && let Some(first) = doc.skipped.first()
    {
        return Err(FeedError::Parse(format!(
            "none of its {} items could be read: {first}",
            doc.skipped.len()
        )));
    }
    Ok(doc)
}

/// Turns one document's items into the posts the store saves; identities
/// are decided over the whole document (see [`dedup`]). Each post has its
/// fingerprint for stories when `fingerprints` (`[stories] group`).
pub fn to_posts(
    source: &Source,
    items: &[Item],
    feed_url: &Url,
    not_articles: &[Url],
    tracking: &[String],
    fingerprints: bool,
) -> Vec<NewPost> {
    let titles: Vec<Option<String>> = items
        .iter()
        .map(|i| {
            i.title
                .as_deref()
                .map(html::plain_line)
                .filter(|t| !t.is_empty())
        })
        .collect();
    let dates: Vec<Option<String>> = items
        .iter()
        .map(|i| {
            i.published
                .or(i.updated)
                .map(|d| crate::date::to_rfc3339(&d))
        })
        .collect();
    let keys: Vec<dedup::Keys<'_>> = items
        .iter()
        .zip(titles.iter().zip(&dates))
        .map(|(i, (t, d))| dedup::Keys {
            link: i.link.as_ref(),
            guid: i.guid.as_deref(),
            title: t.as_deref(),
            date: d.as_deref(),
            content: i.content.as_deref().or(i.summary.as_deref()),
            fingerprint: i.fingerprint.as_deref(),
        })
        .collect();
    let ids = dedup::identities(
        &source.slug,
        &keys,
        not_articles,
        &source.id_pattern,
        tracking,
    );
    items
        .iter()
        .zip(ids)
        .zip(titles)
        .map(|((item, identity), title)| {
            to_post(source, item, identity, title, feed_url, fingerprints)
        })
        .collect()
}

/// One item and its identity → the post.
fn to_post(
    source: &Source,
    item: &Item,
    identity: dedup::Identity,
    title: Option<String>,
    feed_url: &Url,
    fingerprint: bool,
) -> NewPost {
    let base = item.link.as_ref().unwrap_or(feed_url);
    let body = item.content.as_deref().or(item.summary.as_deref());
    let (content_html, content_text) = match body.map(|b| html::clean_with_text(b, base)) {
        Some((h, t)) if !h.is_empty() => (Some(h), Some(t)),
        _ => (None, None),
    };
    // An item without content has its summary as the body: its teaser is
    // the body's opening (sanitized, so nothing of a script or a form), not
    // a second copy of a body of kilobytes.
    let summary = if item.content.is_none() {
        content_text.as_deref().map(html::teaser)
    } else {
        item.summary.as_deref().map(html::to_text)
    }
    .filter(|s| !s.is_empty());
    let article_pending = source
        .follow
        .article_url(
            item.link.as_ref().map(Url::as_str),
            identity.info_code.as_deref(),
            item.guid.as_deref(),
        )
        .is_some();
    // A post whose article is to come is compared by its article, which
    // refiles it within the run: its teaser's fingerprint would be taken
    // for nothing (2% of the CPU of a crawl that follows every link). If
    // the article never comes, the store takes the teaser's then, from
    // the stored text (`Stories::file_stored`).
    let fingerprint = (fingerprint && !article_pending).then(|| {
        crate::stories::Fingerprint::of(
            title.as_deref().unwrap_or(""),
            content_text.as_deref().unwrap_or(""),
        )
    });
    NewPost {
        fingerprint,
        url: item.link.as_ref().map(|u| u.to_string()),
        guid: item.guid.clone(),
        title,
        author: item.author.clone(),
        summary,
        content_html,
        content_text,
        origin: item.origin.as_deref().and_then(article::clean_origin),
        article_pending,
        identity,
        enclosures: item.enclosures.clone(),
        published_at: item.published.or(item.updated),
        updated_at: item.updated,
    }
}
