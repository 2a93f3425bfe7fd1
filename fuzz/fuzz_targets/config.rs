//! Configuration text: every error must be a ConfigError, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let _ = newscrawl::config::parse_text(data, std::path::Path::new("/nonexistent/newscrawl.toml"));
});
