//! Feed bytes, any encoding: decoding, the XML repairs, the lenient feed parser, the
//! items' HTML (sanitized, to text), and the JSON list mapping.
#![no_main]
use libfuzzer_sys::fuzz_target;
use newscrawl::jsonlist::{Field, ItemsMapping};

fuzz_target!(|data: &[u8]| {
    let base = url::Url::parse("http://fuzz.example/feed.xml").unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    let declared = newscrawl::decode::xml_declared(data);
    let text = newscrawl::decode::decode(data, None, declared, Some("cn")).text;
    if let Ok(doc) = newscrawl::feed::parse(&text, &base, tz) {
        for item in &doc.items {
            for html in [&item.content, &item.summary].into_iter().flatten() {
                let _ = newscrawl::html::to_text(&newscrawl::html::clean(html, &base));
            }
            if let Some(t) = &item.title {
                let _ = newscrawl::html::plain_line(t);
            }
        }
    }
    // The bytes as a feed item's HTML, whatever they are.
    let _ = newscrawl::html::clean(&text, &base);
    let map = ItemsMapping {
        path: "/list".into(),
        title: Field::parse("title").ok(),
        link: Field::parse("http://x.example/{id}").ok(),
        published: Field::parse("/meta/time").ok(),
        ..ItemsMapping::default()
    };
    let _ = newscrawl::jsonlist::parse(&text, &map, &base, tz);
});
