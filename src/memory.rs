//! Gives freed heap memory back to the operating system.
//!
//! glibc's malloc gives each thread that allocates its own arena and keeps
//! what is freed there for reuse; with parsing on the blocking pool, fetching
//! on the runtime's workers and SQLite on the writer thread, a 1,000-feed
//! crawl left 20–30 MB of free but resident memory behind (bench/RESULTS.md).
//! `malloc_trim` returns it. Limiting arenas (`M_ARENA_MAX`) did the same for
//! memory but cost a sixth of the throughput in lock contention. Other
//! allocators (musl's, macOS's) need nothing here.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one trim per this interval: a trim walks every arena.
const EVERY: Duration = Duration::from_secs(1);

/// Returns free heap memory to the system, at most once a second whoever
/// calls: call it after work that allocated a lot (a poll, a batch of articles).
pub fn release_free_memory() {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    {
        let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        *last = Some(Instant::now());
    }
    trim();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointers and only rearranges glibc's own
    // free lists; it is documented as safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
