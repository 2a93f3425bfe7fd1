//! Article pages: charset detection, selectors, readability, sanitizing, text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("http://fuzz.example/a/1.html").unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    let now = chrono::Utc::now().fixed_offset();
    let page = newscrawl::article::decode_page(data, Some("text/html"), &url);
    let _ = newscrawl::article::extract_page(&page, &url, &Default::default(), tz, now);
    let cleaned = newscrawl::html::clean(&page, &url);
    let _ = newscrawl::html::to_text(&cleaned);
    let _ = newscrawl::html::plain_line(&page);
    let _ = newscrawl::article::clean_origin(&page);
});
