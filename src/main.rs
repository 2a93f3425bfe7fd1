use std::process::ExitCode;

use clap::Parser;

/// jemalloc, configured in `.cargo/config.toml` to hand freed memory back
/// within a tenth of a second. glibc's malloc kept 20–30 MB of freed memory in its
/// per-thread arenas on a 1,000-feed crawl with articles (a 17 MB heap peak,
/// measured with heaptrack, in a 60 MB process); with jemalloc the same
/// crawl peaks at 55 MB and runs a little faster (bench/RESULTS.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    newscrawl::run(newscrawl::cli::Cli::parse())
}
