//! Feed bytes, any encoding: decoding, the XML repairs, the lenient feed parser, and the JSON list mapping.
#![no_main]
use libfuzzer_sys::fuzz_target;
use newscrawl::jsonlist::{Field, ItemsMapping};

fuzz_target!(|data: &[u8]| {
    let base = url::Url::parse("http://fuzz.example/feed.xml").unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    let declared = newscrawl::decode::xml_declared(data);
    let text = newscrawl::decode::decode(data, None, declared, Some("cn")).text;
    let _ = newscrawl::feed::parse(&text, &base, tz);
    let map = ItemsMapping {
        path: "/list".into(),
        title: Field::parse("title").ok(),
        link: Field::parse("http://x.example/{id}").ok(),
        published: Field::parse("/meta/time").ok(),
        ..ItemsMapping::default()
    };
    let _ = newscrawl::jsonlist::parse(&text, &map, &base, tz);
});
