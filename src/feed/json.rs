//! JSON Feed (1.0 and 1.1) → items, read the way feed readers read it: any
//! `version` that names jsonfeed.org (http or https), and a field of the
//! wrong type is dropped, never the feed. Written here rather than through
//! feed-rs, whose typed model rejects the whole document for one bad field
//! (`"tags": "a,b"`) or for an `http://` version URL.

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde_json::Value;
use url::Url;

use super::{Document, Item};
use crate::date::parse_date;
use crate::error::FeedError;

pub fn parse(
    text: &str,
    base: &Url,
    tz: Tz,
    now: DateTime<FixedOffset>,
) -> Result<Document, FeedError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| FeedError::Parse(format!("not JSON: {e}")))?;
    let Some(obj) = value.as_object() else {
        return Err(FeedError::Parse("not a JSON Feed: not an object".into()));
    };
    let version = obj.get("version").and_then(Value::as_str).unwrap_or("");
    let items = obj.get("items").and_then(Value::as_array);
    if !version.contains("jsonfeed.org/version/") && items.is_none() {
        return Err(FeedError::Parse(
            "not a JSON Feed: no jsonfeed.org version and no items".into(),
        ));
    }
    let mut doc = Document::default();
    let string = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let join = |s: Option<String>| -> Option<Url> {
        let u = base.join(&s?).ok()?;
        matches!(u.scheme(), "http" | "https").then_some(u)
    };
    for key in ["home_page_url", "feed_url"] {
        doc.site_links.extend(join(string(obj.get(key))));
    }
    let date = |v: Option<String>| v.and_then(|s| parse_date(&s, tz, now));
    for (i, it) in items.into_iter().flatten().enumerate() {
        let Some(it) = it.as_object() else {
            doc.skipped.push(format!("item {}: not an object", i + 1));
            continue;
        };
        let author = |v: Option<&Value>| v.and_then(|a| string(a.get("name")));
        let item = Item {
            guid: string(it.get("id")),
            link: join(string(it.get("url"))).or_else(|| join(string(it.get("external_url")))),
            title: string(it.get("title")),
            author: author(it.get("author")).or_else(|| {
                it.get("authors")
                    .and_then(Value::as_array)
                    .and_then(|a| a.iter().find_map(|p| author(Some(p))))
            }),
            summary: string(it.get("summary")),
            content: string(it.get("content_html"))
                .or_else(|| string(it.get("content_text")).map(|t| crate::html::escape(&t))),
            published: date(string(it.get("date_published"))),
            updated: date(string(it.get("date_modified"))),
            origin: None,
            fingerprint: None,
            enclosures: Vec::new(),
        };
        let mut item = item;
        for a in it
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(super::MAX_ENCLOSURES * 4)
        {
            let size = a
                .get("size_in_bytes")
                .and_then(Value::as_u64)
                .map(|n| n.to_string());
            item.add_enclosure(
                join(string(a.get("url"))),
                string(a.get("mime_type")).as_deref(),
                size.as_deref(),
            );
        }
        if item.is_bare() {
            item.fingerprint = Some(Value::Object(it.clone()).to_string());
        }
        doc.items.push(item);
    }
    Ok(doc)
}
