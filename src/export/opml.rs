//! OPML both ways: `sources import-opml` turns every feed of an OPML 1.0/2.0
//! file (nested outlines too) into `[[sources]]` TOML ready for `sources.d/`,
//! with slugs made from the titles and kept distinct; `sources export-opml`
//! writes the configured sources as OPML 2.0.

use std::collections::HashSet;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::config::Source;
use crate::slug::slugify;

/// One feed found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    pub title: String,
    pub xml_url: String,
    pub html_url: Option<String>,
    /// The titles of the outlines it is nested in.
    pub folders: Vec<String>,
}

/// Why an OPML file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not an OPML file: {0}")]
pub struct OpmlError(String);

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        if a.key.as_ref().eq_ignore_ascii_case(name) {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        } else {
            None
        }
    })
}

/// Every outline with an `xmlUrl`, in document order.
pub fn parse(text: &str) -> Result<Vec<OpmlFeed>, OpmlError> {
    let mut reader = Reader::from_str(text);
    let mut feeds = Vec::new();
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut saw_opml = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| OpmlError(format!("at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == "opml" => saw_opml = true,
            Event::Start(e) if e.name().as_ref() == "outline" => {
                let title = attr(&e, "title").or_else(|| attr(&e, "text"));
                if let Some(feed) = outline_feed(&e, &folders) {
                    feeds.push(feed);
                    folders.push(None);
                } else {
                    folders.push(title);
                }
            }
            Event::Empty(e) if e.name().as_ref() == "outline" => {
                if let Some(feed) = outline_feed(&e, &folders) {
                    feeds.push(feed);
                }
            }
            Event::End(e) if e.name().as_ref() == "outline" => {
                folders.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_opml {
        return Err(OpmlError("no <opml> element".into()));
    }
    Ok(feeds)
}

fn outline_feed(e: &BytesStart<'_>, folders: &[Option<String>]) -> Option<OpmlFeed> {
    let xml_url = attr(e, "xmlUrl")?;
    let title = attr(e, "title")
        .or_else(|| attr(e, "text"))
        .unwrap_or_else(|| xml_url.clone());
    Some(OpmlFeed {
        title,
        xml_url,
        html_url: attr(e, "htmlUrl"),
        folders: folders.iter().flatten().cloned().collect(),
    })
}

/// `[[sources]]` TOML for `feeds`, with slugs distinct from each other and
/// from `taken` (the configured ones).
pub fn to_toml(feeds: &[OpmlFeed], taken: &HashSet<String>) -> String {
    let mut used: HashSet<String> = taken.clone();
    let mut out = String::new();
    for f in feeds {
        let mut base = slugify(&f.title);
        if base.is_empty() {
            base = url::Url::parse(&f.xml_url)
                .ok()
                .and_then(|u| u.host_str().map(slugify))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "feed".to_string());
        }
        let mut slug = base.clone();
        let mut n = 2;
        while used.contains(&slug) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        used.insert(slug.clone());
        out.push('\n');
        if !f.folders.is_empty() {
            out.push_str(&format!("# folder: {}\n", one_line(&f.folders.join(" / "))));
        }
        if let Some(h) = &f.html_url {
            out.push_str(&format!("# site: {}\n", one_line(h)));
        }
        out.push_str("[[sources]]\n");
        out.push_str(&format!("name = {}\n", toml_str(&f.title)));
        out.push_str(&format!("slug = {}\n", toml_str(&slug)));
        out.push_str(&format!("url  = {}\n", toml_str(&f.xml_url)));
    }
    out
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The configured sources as an OPML 2.0 document.
pub fn export(sources: &[Source]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>newscrawl sources</title>\n  </head>\n  <body>\n",
    );
    for s in sources {
        out.push_str(&format!(
            "    <outline type=\"rss\" text=\"{name}\" title=\"{name}\" xmlUrl=\"{url}\"/>\n",
            name = xml_attr(&s.name),
            url = xml_attr(&crate::fetch::redacted(&s.url))
        ));
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

fn xml_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>subs</title></head><body>
  <outline text="财经">
    <outline text="新华社" title="新华社" type="rss" xmlUrl="http://a.example/rss.xml" htmlUrl="http://a.example/"/>
    <outline text="新华社" type="rss" xmlUrl="http://b.example/rss.xml"/>
    <outline text="Deep"><outline title="R &amp; D" xmlUrl="http://c.example/feed?x=1&amp;y=2"/></outline>
  </outline>
  <outline text="!!!" xmlUrl="https://d.example/atom"/>
  <outline text="no feed here" htmlUrl="http://e.example/"/>
</body></opml>"#;

    #[test]
    fn nested_outlines_and_distinct_slugs() {
        let feeds = parse(OPML).unwrap();
        assert_eq!(feeds.len(), 4);
        assert_eq!(feeds[2].title, "R & D");
        assert_eq!(feeds[2].xml_url, "http://c.example/feed?x=1&y=2");
        assert_eq!(feeds[2].folders, ["财经", "Deep"]);
        let taken: HashSet<String> = ["xinhuashe".to_string()].into();
        let toml_text = to_toml(&feeds, &taken);
        let parsed: toml::Table = toml::from_str(&toml_text).unwrap();
        let slugs: Vec<&str> = parsed["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["xinhuashe-2", "xinhuashe-3", "rd", "dexample"]);
        assert!(toml_text.contains("# folder: 财经 / Deep"));
    }

    #[test]
    fn not_opml() {
        assert!(parse("<rss/>").is_err());
        assert!(parse("<opml><body><outline").is_err());
    }
}
