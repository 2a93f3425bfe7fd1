//! JSON (and JSONP) list endpoints → items, by a mapping from the
//! configuration (`kind = "json"`, `[sources.items]`): where the array is
//! (a JSON pointer), and for each item field either a key, a JSON pointer,
//! or a template over the item's fields (`"http://host/a/{infoCode}.html"`).
//! Many Chinese news sources offer nothing else. The items then take the
//! same dedup, article and store path as feed items. Pure functions.

use chrono::Utc;
use chrono_tz::Tz;
use serde_json::Value;
use url::Url;

use crate::date::parse_date;
use crate::error::FeedError;
use crate::feed::{Document, Item};

/// Where one item field comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A key of the item object: `title`.
    Key(String),
    /// A JSON pointer into the item: `/meta/title`.
    Pointer(String),
    /// Text with `{key}` or `{/pointer}` holes.
    Template(Vec<Part>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Hole(String),
}

impl Field {
    /// Parses a mapping value; the error says what is wrong with it.
    pub fn parse(spec: &str) -> Result<Field, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("empty".into());
        }
        if !spec.contains(['{', '}']) {
            return Ok(if spec.starts_with('/') {
                Field::Pointer(spec.to_string())
            } else {
                Field::Key(spec.to_string())
            });
        }
        let mut parts = Vec::new();
        let mut rest = spec;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Text(rest.to_string()));
                    rest = "";
                }
                Some(i) if rest[i..].starts_with('}') => {
                    return Err(format!("{spec:?}: a '}}' without its '{{'"));
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Text(rest[..i].to_string()));
                    }
                    let after = &rest[i + 1..];
                    let close = after
                        .find('}')
                        .ok_or_else(|| format!("{spec:?}: a '{{' without its '}}'"))?;
                    let name = after[..close].trim();
                    if name.is_empty() || name.contains('{') {
                        return Err(format!("{spec:?}: an empty or nested {{}}"));
                    }
                    parts.push(Part::Hole(name.to_string()));
                    rest = &after[close + 1..];
                }
            }
        }
        Ok(Field::Template(parts))
    }

    /// The field's text for `item`: `Ok(None)` when a key or pointer is
    /// absent, an error when a template misses one of its holes.
    pub fn eval(&self, item: &Value) -> Result<Option<String>, String> {
        match self {
            Field::Key(k) => Ok(item.get(k).and_then(text)),
            Field::Pointer(p) => Ok(item.pointer(p).and_then(text)),
            Field::Template(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        Part::Text(t) => out.push_str(t),
                        Part::Hole(name) => {
                            let v = if name.starts_with('/') {
                                item.pointer(name)
                            } else {
                                item.get(name)
                            };
                            match v.and_then(text) {
                                Some(t) => out.push_str(&t),
                                None => return Err(format!("no field {name:?}")),
                            }
                        }
                    }
                }
                Ok(Some(out))
            }
        }
    }
}

/// Scalars as text; objects, arrays and null are no text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `[sources.items]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemsMapping {
    /// JSON pointer to the array of items (`""` for a top-level array).
    pub path: String,
    pub id: Option<Field>,
    pub title: Option<Field>,
    pub link: Option<Field>,
    pub published: Option<Field>,
    pub summary: Option<Field>,
    pub origin: Option<Field>,
    pub author: Option<Field>,
}

/// Maps the list in `text` (JSON or JSONP). A body that is not JSON, or has no
/// array at `path`, is an error; a bad item is skipped and reported.
pub fn parse(text: &str, map: &ItemsMapping, base: &Url, tz: Tz) -> Result<Document, FeedError> {
    let value: Value = serde_json::from_str(unwrap_jsonp(text))
        .map_err(|e| FeedError::Parse(format!("not JSON: {e}")))?;
    let list = value
        .pointer(&map.path)
        .and_then(Value::as_array)
        .ok_or_else(|| FeedError::Parse(format!("no array at {:?}", map.path)))?;
    let now = Utc::now().with_timezone(&tz).fixed_offset();
    let mut out = Document::default();
    for (i, entry) in list.iter().enumerate() {
        match map_item(entry, map, base, tz, now) {
            Ok(item) => out.items.push(item),
            Err(e) => out.skipped.push(format!("item {i}: {e}")),
        }
    }
    Ok(out)
}

fn map_item(
    entry: &Value,
    map: &ItemsMapping,
    base: &Url,
    tz: Tz,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> Result<Item, String> {
    if !entry.is_object() {
        return Err("not an object".into());
    }
    let get = |f: &Option<Field>, name: &str| -> Result<Option<String>, String> {
        match f {
            None => Ok(None),
            Some(f) => f.eval(entry).map_err(|e| format!("{name}: {e}")),
        }
    };
    let link = match get(&map.link, "link")? {
        None => None,
        Some(l) => Some(
            base.join(&l)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| format!("link: {l:?} is not an http(s) URL"))?,
        ),
    };
    let title = get(&map.title, "title")?;
    if title.is_none() && link.is_none() {
        return Err("neither a title nor a link".into());
    }
    let published = match get(&map.published, "published")? {
        None => None,
        Some(d) => {
            Some(parse_date(&d, tz, now).ok_or_else(|| format!("published: {d:?} is not a date"))?)
        }
    };
    Ok(Item {
        guid: get(&map.id, "id")?,
        link,
        title,
        author: get(&map.author, "author")?,
        summary: get(&map.summary, "summary")?,
        content: None,
        published,
        updated: None,
        origin: get(&map.origin, "origin")?,
        fingerprint: None,
        enclosures: Vec::new(),
    })
}

/// `callback({...});` → `{...}`; anything else unchanged.
pub fn unwrap_jsonp(text: &str) -> &str {
    let t = text.trim().trim_start_matches('\u{FEFF}');
    if t.starts_with('{') || t.starts_with('[') {
        return t;
    }
    match (t.find('('), t.rfind(')')) {
        (Some(open), Some(close)) if open < close => {
            let name = t[..open].trim();
            let is_callback = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '.'));
            if is_callback {
                t[open + 1..close].trim()
            } else {
                t
            }
        }
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonp_is_unwrapped() {
        assert_eq!(unwrap_jsonp("cb({\"a\":1});"), "{\"a\":1}");
        assert_eq!(unwrap_jsonp("  jQuery123_456({\"a\":[1]})"), "{\"a\":[1]}");
        assert_eq!(unwrap_jsonp("{\"a\":\"(x)\"}"), "{\"a\":\"(x)\"}");
    }

    fn base() -> Url {
        Url::parse("http://list.example.cn/web/webapi?type=45").unwrap()
    }

    fn node_list() -> ItemsMapping {
        ItemsMapping {
            path: "/nodeList".into(),
            id: Some(Field::parse("infocode").unwrap()),
            title: Some(Field::parse("title").unwrap()),
            link: Some(
                Field::parse(
                    "http://finews.example.cn/html_News/NewsShare.html?infoCode={infocode}",
                )
                .unwrap(),
            ),
            published: Some(Field::parse("showtime").unwrap()),
            origin: Some(Field::parse("from").unwrap()),
            ..ItemsMapping::default()
        }
    }

    #[test]
    fn fields_parse() {
        assert_eq!(Field::parse("title"), Ok(Field::Key("title".into())));
        assert_eq!(Field::parse("/a/b"), Ok(Field::Pointer("/a/b".into())));
        assert_eq!(
            Field::parse("x{a}y{/b/c}"),
            Ok(Field::Template(vec![
                Part::Text("x".into()),
                Part::Hole("a".into()),
                Part::Text("y".into()),
                Part::Hole("/b/c".into())
            ]))
        );
        for bad in ["", "{", "a}", "{}", "{a{b}}"] {
            assert!(Field::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn maps_a_node_list_and_reports_bad_items() {
        let text = r#"jQuery_1({"nodeList":[
            {"title":"公安部：全国范围已实现5项户口迁移“跨省通办”","from":"央视新闻客户端","infocode":"NW202201102242232593","showtime":"2022-01-10 16:57:30"},
            {"title":"缺编号","from":"新华社","showtime":"2022-01-10 17:00:00"},
            {"title":"坏日期","from":"新华社","infocode":"NW1","showtime":"昨天"},
            {"title":7,"infocode":12345,"showtime":"2022-01-10 18:00:00"},
            "not an object"
        ]});"#;
        let m = parse(text, &node_list(), &base(), chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(m.items.len(), 2);
        let a = &m.items[0];
        assert_eq!(a.guid.as_deref(), Some("NW202201102242232593"));
        assert_eq!(
            a.link.as_ref().unwrap().as_str(),
            "http://finews.example.cn/html_News/NewsShare.html?infoCode=NW202201102242232593"
        );
        assert_eq!(
            a.published.unwrap().to_rfc3339(),
            "2022-01-10T16:57:30+08:00"
        );
        assert_eq!(a.origin.as_deref(), Some("央视新闻客户端"));
        // Numbers are text too.
        assert_eq!(m.items[1].title.as_deref(), Some("7"));
        assert_eq!(m.items[1].guid.as_deref(), Some("12345"));
        assert_eq!(m.skipped.len(), 3, "{:?}", m.skipped);
        assert!(
            m.skipped[0].contains("item 1: link: no field \"infocode\""),
            "{:?}",
            m.skipped
        );
        assert!(m.skipped[1].contains("published"), "{:?}", m.skipped);
        assert!(m.skipped[2].contains("not an object"), "{:?}", m.skipped);
    }

    #[test]
    fn whole_body_errors() {
        let tz = chrono_tz::Asia::Shanghai;
        assert!(parse("<html>", &node_list(), &base(), tz).is_err());
        let e = parse(r#"{"records":[]}"#, &node_list(), &base(), tz).unwrap_err();
        assert!(e.to_string().contains("no array at \"/nodeList\""), "{e}");
        let top = ItemsMapping {
            path: String::new(),
            title: Some(Field::parse("t").unwrap()),
            ..ItemsMapping::default()
        };
        assert_eq!(
            parse(r#"[{"t":"a"},{"t":"b"}]"#, &top, &base(), tz)
                .unwrap()
                .items
                .len(),
            2
        );
    }
}
