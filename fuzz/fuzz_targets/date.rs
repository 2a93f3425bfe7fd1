//! Dates as feeds and pages write them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let now = chrono::Utc::now().fixed_offset();
    for tz in [chrono_tz::Asia::Shanghai, chrono_tz::America::New_York] {
        if let Some(d) = newscrawl::date::parse_date(data, tz, now) {
            let _ = newscrawl::date::to_rfc3339(&d);
        }
        let _ = newscrawl::article::find_date(data, tz, now);
    }
});
