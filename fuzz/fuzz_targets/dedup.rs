//! Canonical URLs and infoCodes from arbitrary links.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let re = regex::Regex::new(newscrawl::config::DEFAULT_ID_PATTERN).unwrap();
    let _ = newscrawl::dedup::info_code(&re, data);
    if let Ok(u) = url::Url::parse(data) {
        let c = newscrawl::dedup::canonical_url(&u, &["spm".to_string()]);
        // Canonicalizing is idempotent.
        let again = newscrawl::dedup::canonical_url(&url::Url::parse(&c).unwrap(), &["spm".to_string()]);
        assert_eq!(c, again);
    }
});
