//! SQLite's memory from the process's allocator (jemalloc in the
//! binary) rather than the C library's `malloc`: the writer allocates for
//! every statement (a post's text bound, its record built, the statement
//! journal a post's insert keeps because of the triggers), and glibc's
//! `malloc` and `free` were 7% of the writer's time in a cold crawl.
//!
//! SQLite asks for no more than 8-byte alignment and wants to know the
//! size of what it frees and reallocates: each block carries its size in
//! 8 bytes before the part SQLite sees, as SQLite's own default allocator
//! does without `malloc_usable_size`.

use std::alloc::{Layout, alloc, dealloc, realloc};
use std::ffi::{c_int, c_void};

use rusqlite::ffi;

const HEADER: usize = 8;

/// The layout of a block whose part for SQLite is `n` bytes.
fn layout(n: usize) -> Option<Layout> {
    Layout::from_size_align(n.checked_add(HEADER)?, HEADER).ok()
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let Some(layout) = usize::try_from(n).ok().and_then(layout) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout's size is at least HEADER, never zero.
    let block = unsafe { alloc(layout) };
    if block.is_null() {
        return block.cast();
    }
    // SAFETY: the block has HEADER bytes at its start, aligned for a u64.
    unsafe {
        block.cast::<u64>().write(layout.size() as u64);
        block.add(HEADER).cast()
    }
}

/// The block of SQLite's pointer `p` and its layout.
///
/// # Safety
/// `p` came from [`x_malloc`] or [`x_realloc`] and is not freed.
unsafe fn block_of(p: *mut c_void) -> (*mut u8, Layout) {
    // SAFETY: per the contract, HEADER bytes before `p` hold the block's size.
    unsafe {
        let block = p.cast::<u8>().sub(HEADER);
        let size = block.cast::<u64>().read() as usize;
        (block, Layout::from_size_align_unchecked(size, HEADER))
    }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what its allocator gave it, once.
    unsafe {
        let (block, layout) = block_of(p);
        dealloc(block, layout);
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    let Some(new) = usize::try_from(n).ok().and_then(layout) else {
        return std::ptr::null_mut();
    };
    // SAFETY: SQLite reallocates only a live block of its allocator (never
    // a null one: it calls xMalloc for that); the new size is non-zero.
    unsafe {
        let (block, old) = block_of(p);
        let moved = realloc(block, old, new.size());
        if moved.is_null() {
            return std::ptr::null_mut();
        }
        moved.cast::<u64>().write(new.size() as u64);
        moved.add(HEADER).cast()
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: as x_free.
    let (_, layout) = unsafe { block_of(p) };
    c_int::try_from(layout.size() - HEADER).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    // Never less than asked (SQLite asks under 2^31 - 256).
    n.checked_add(7).map_or(n, |m| m & !7)
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Has SQLite allocate through the process's global allocator. Only
/// before SQLite's first use in the process (no connection opened yet);
/// false when it is too late, and SQLite keeps `malloc`.
pub(crate) fn use_global_allocator() -> bool {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(x_malloc),
        xFree: Some(x_free),
        xRealloc: Some(x_realloc),
        xSize: Some(x_size),
        xRoundup: Some(x_roundup),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to a sqlite3_mem_methods
    // and copies it; ours are sound for any size SQLite asks. SQLite
    // refuses (SQLITE_MISUSE) once initialized, and changes nothing then.
    unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        ) == ffi::SQLITE_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks are 8-aligned, know their size, keep their bytes through a
    /// reallocation up and down, and sizes SQLite cannot mean are refused.
    #[test]
    fn blocks_keep_their_size_and_bytes() {
        // SAFETY: each pointer is used as SQLite would: within its size,
        // freed once.
        unsafe {
            let p = x_malloc(100).cast::<u8>();
            assert!(!p.is_null());
            assert_eq!(p as usize % 8, 0);
            assert_eq!(x_size(p.cast()), 100);
            for i in 0..100 {
                p.add(i).write(i as u8);
            }
            let q = x_realloc(p.cast(), 100_000).cast::<u8>();
            assert_eq!(x_size(q.cast()), 100_000);
            assert!((0..100).all(|i| q.add(i).read() == i as u8));
            let r = x_realloc(q.cast(), 10).cast::<u8>();
            assert_eq!(x_size(r.cast()), 10);
            assert!((0..10).all(|i| r.add(i).read() == i as u8));
            x_free(r.cast());
            x_free(std::ptr::null_mut());
            assert!(x_malloc(-1).is_null());
            assert_eq!(x_size(std::ptr::null_mut()), 0);
            assert_eq!(
                [
                    x_roundup(1),
                    x_roundup(8),
                    x_roundup(9),
                    x_roundup(c_int::MAX)
                ],
                [8, 8, 16, c_int::MAX]
            );
        }
    }
}
