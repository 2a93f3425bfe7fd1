//! Work and memory per input byte for hostile HTML: every shape in
//! `it/hostile.rs`, at two sizes, through what a feed's text and an
//! article page go through (`html::clean`, `html::to_text`,
//! `article::extract_page`). Memory is the peak of live heap bytes, counted
//! by this binary's allocator; time is this thread's CPU time (not wall
//! time, so a loaded machine does not move it much), and what is asserted
//! is how it grows: linear work grows about 8× from 32 KiB to 256 KiB,
//! quadratic work 64×.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[path = "it/hostile.rs"]
mod hostile;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn thread_cpu() -> Duration {
    // SAFETY: `rusage` is plain old data that getrusage fills in.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    assert_eq!(r, 0);
    Duration::from_secs(u.ru_utime.tv_sec as u64)
        + Duration::from_micros(u.ru_utime.tv_usec as u64)
        + Duration::from_secs(u.ru_stime.tv_sec as u64)
        + Duration::from_micros(u.ru_stime.tv_usec as u64)
}

/// CPU time and peak heap above what was live before, for `f`.
fn measured(f: impl FnOnce()) -> (Duration, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let t = thread_cpu();
    f();
    let cpu = thread_cpu() - t;
    (cpu, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

fn process(html: &str) {
    let url = url::Url::parse("http://hostile.example/a/1.html").unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let cleaned = newscrawl::html::clean(html, &url);
    let _ = newscrawl::html::to_text(&cleaned);
    let _ = newscrawl::html::to_text(html);
    let page = format!("<html><head><title>t</title></head><body>{html}</body></html>");
    let _ = newscrawl::article::extract_page(
        &page,
        &url,
        &Default::default(),
        chrono_tz::Asia::Shanghai,
        now,
    );
}

const SMALL: usize = 32 << 10;
const LARGE: usize = 256 << 10;

#[test]
fn hostile_html_costs_linear_time_and_memory() {
    // The allocator counts every thread: this test runs alone in its binary.
    process(&hostile::deep_divs(1 << 10)); // warm up lazily built statics
    let mut report = Vec::new();
    for (name, make) in hostile::SHAPES {
        let small = make(SMALL);
        let large = make(LARGE);
        let (t_small, _) = measured(|| process(&small));
        let (t_large, m_large) = measured(|| process(&large));
        report.push(format!(
            "{name}: {:?} → {:?}, peak heap {} KiB for {} KiB",
            t_small,
            t_large,
            m_large >> 10,
            large.len() >> 10
        ));
        // Memory: a bounded multiple of the input (parse trees, the
        // sanitized copy, the text), never its square.
        assert!(
            m_large <= 64 * large.len() + (8 << 20),
            "{name}: {m_large} bytes of heap for {} bytes\n{}",
            large.len(),
            report.join("\n")
        );
        // Time: 8× the input may cost at most 20× (linear is about 8×,
        // quadratic 64×), with 50 ms for timer granularity.
        assert!(
            t_large <= t_small * 20 + Duration::from_millis(50),
            "{name}: {t_small:?} for {} bytes but {t_large:?} for {}\n{}",
            small.len(),
            large.len(),
            report.join("\n")
        );
        // And an absolute ceiling per byte (debug build): 10 µs.
        assert!(
            t_large <= Duration::from_micros(10) * large.len() as u32,
            "{name}: {t_large:?} for {} bytes\n{}",
            large.len(),
            report.join("\n")
        );
    }
    println!("{}", report.join("\n"));
}
