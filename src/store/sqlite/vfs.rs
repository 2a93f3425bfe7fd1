//! The writer's SQLite VFS: SQLite's own default (`unix`) with one change,
//! its write-ahead log's frames written in runs of up to [`RUN`] bytes
//! instead of two system calls a page.
//!
//! SQLite writes each frame of the log as two `pwrite`s, its 24-byte header
//! and then its page. A cold crawl of 1,000 feeds wrote 137,000 frames that
//! way, 274,000 system calls on the writer's thread and a fifth of the
//! crawl's system CPU; written in runs, the same frames take about 2,000
//! (`bench/ANALYSIS.md`). No SQLite option does this, and the Rust VFS
//! crates found (`sqlite-vfs`, `sqlite-plugin`, `rsqlite-vfs`) build a
//! whole file system of their own (locks, shared memory) rather than wrap
//! SQLite's, so this shim forwards every call to the default VFS, and only
//! holds back appended frames.
//!
//! Why holding frames back is safe: readers (other connections, other
//! processes, the checkpointer) read only frames that the log's index in
//! shared memory says are committed, and SQLite publishes a transaction
//! there only after it has written the transaction's last frame, its
//! commit frame (a frame header whose commit field, bytes 4..8, is not
//! zero; SQLite always appends it anew, `walFrames` in `sqlite3.c`). So:
//!
//! - a run starts only at the header of a frame that is not a commit
//!   frame, and grows only by writes that continue it;
//! - any other write (a commit frame's header, a page written over in
//!   place, the log's own header) first writes the run out, then itself;
//!   a commit frame's page follows its header with no run open, so it is
//!   written at once too;
//! - every other operation on the log (a read, a sync, a truncation, its
//!   size, closing it) first writes the run out.
//!
//! Hence when the commit frame is written, everything before it is in the
//! file, and a run never holds a byte of a committed transaction. A write
//! of a run that fails fails the call that made it (a later frame's write,
//! or the commit frame's), and so the transaction. A crash loses only
//! frames of a transaction that never committed, which SQLite ignores.
//!
//! Only files SQLite opens as a write-ahead log are changed; the database
//! file, journals and temporary files pass straight through.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name the writer's connection opens its database with.
pub(crate) const NAME: &CStr = c"newscrawl-walrun";

/// The most bytes a run holds before it is written: 31 frames of 4 KB.
/// The default VFS writes at most 128 KiB − 1 a call (`seekAndWriteFd`
/// keeps the low 17 bits of the length), and reports a longer write as a
/// full disk.
const RUN: usize = 127 * 1024;
/// A frame header's size; a frame's commit field is its bytes 4..8.
const FRAME_HEADER: c_int = 24;

/// Our part of an open file, followed in the same allocation by the default
/// VFS's own (at [`REAL_OFFSET`]).
#[repr(C)]
struct File {
    /// What SQLite sees: its `pMethods` is [`METHODS`].
    base: ffi::sqlite3_file,
    /// The default VFS's file, in the same allocation.
    real: *mut ffi::sqlite3_file,
    /// Whether this is a write-ahead log (the only files runs are kept for).
    wal: bool,
    /// Bytes held back, to be written at `start`.
    run: Vec<u8>,
    start: i64,
}

/// Where the default VFS's file starts in ours (8-byte aligned).
const REAL_OFFSET: usize = std::mem::size_of::<File>().next_multiple_of(8);

/// Whether the VFS is registered (decided once a process).
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the VFS (once a process) and says whether it can be used: a
/// process where it cannot (no default VFS, or one too old to wrap) opens
/// its writer with SQLite's default.
pub(crate) fn available() -> bool {
    *REGISTERED.get_or_init(|| register().is_some())
}

fn register() -> Option<()> {
    // SAFETY: `sqlite3_vfs_find(NULL)` returns the default VFS or NULL;
    // the VFS registered is leaked, so it outlives every connection.
    unsafe {
        let real = ffi::sqlite3_vfs_find(std::ptr::null());
        if real.is_null() || (*real).iVersion < 3 {
            return None;
        }
        let real_size = usize::try_from((*real).szOsFile).ok()?;
        let vfs = Box::leak(Box::new(ffi::sqlite3_vfs {
            iVersion: 3,
            szOsFile: c_int::try_from(REAL_OFFSET + real_size).ok()?,
            mxPathname: (*real).mxPathname,
            pNext: std::ptr::null_mut(),
            zName: NAME.as_ptr(),
            pAppData: real.cast(),
            xOpen: Some(open),
            xDelete: Some(delete),
            xAccess: Some(access),
            xFullPathname: Some(full_pathname),
            xDlOpen: Some(dl_open),
            xDlError: Some(dl_error),
            xDlSym: Some(dl_sym),
            xDlClose: Some(dl_close),
            xRandomness: Some(randomness),
            xSleep: Some(sleep),
            xCurrentTime: Some(current_time),
            xGetLastError: Some(get_last_error),
            xCurrentTimeInt64: Some(current_time_int64),
            xSetSystemCall: Some(set_system_call),
            xGetSystemCall: Some(get_system_call),
            xNextSystemCall: Some(next_system_call),
        }));
        (ffi::sqlite3_vfs_register(vfs, 0) == ffi::SQLITE_OK).then_some(())
    }
}

/// The default VFS our `vfs` wraps.
///
/// # Safety
/// `vfs` is ours (its `pAppData` is the default VFS).
unsafe fn real_vfs(vfs: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    unsafe { (*vfs).pAppData.cast() }
}

/// Writes out the run held back, if any; an error is the call's to return.
fn write_run(f: &mut File) -> c_int {
    if f.run.is_empty() {
        return ffi::SQLITE_OK;
    }
    #[cfg(test)]
    tests::count_write();
    let rc = match (c_int::try_from(f.run.len()), real_methods(f).xWrite) {
        // SAFETY: `real` is the open default-VFS file of this `File`.
        (Ok(len), Some(write)) => unsafe { write(f.real, f.run.as_ptr().cast(), len, f.start) },
        _ => ffi::SQLITE_IOERR_WRITE,
    };
    // Written or failed, the run is done with: on failure the transaction
    // it belongs to fails, and SQLite writes its frames again if it retries.
    f.run.clear();
    rc
}

fn real_methods(f: &File) -> &ffi::sqlite3_io_methods {
    // SAFETY: `open` installs our methods only once the default VFS opened
    // `real`, which set its methods.
    unsafe { &*(*f.real).pMethods }
}

/// Our `File` behind SQLite's pointer.
///
/// # Safety
/// `p` is a file `open` made (SQLite calls our methods only on those).
unsafe fn file<'a>(p: *mut ffi::sqlite3_file) -> &'a mut File {
    unsafe { &mut *p.cast::<File>() }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    p: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite gives `p` `szOsFile` bytes, 8-byte aligned: ours, then
    // the default VFS's at `REAL_OFFSET`.
    unsafe {
        let real = p.cast::<u8>().add(REAL_OFFSET).cast::<ffi::sqlite3_file>();
        (*real).pMethods = std::ptr::null();
        std::ptr::write(
            p.cast::<File>(),
            File {
                base: ffi::sqlite3_file {
                    pMethods: std::ptr::null(),
                },
                real,
                wal: flags & ffi::SQLITE_OPEN_WAL != 0,
                run: Vec::new(),
                start: 0,
            },
        );
        let real_vfs = real_vfs(vfs);
        let rc = match (*real_vfs).xOpen {
            Some(open) => open(real_vfs, name, real, flags, out_flags),
            None => ffi::SQLITE_CANTOPEN,
        };
        // SQLite calls `xClose` on a file whose `pMethods` is set, even when
        // the open failed: set ours exactly when the default VFS set its own.
        if !(*real).pMethods.is_null() {
            (*p).pMethods = &METHODS;
        }
        rc
    }
}

unsafe extern "C" fn close(p: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file once; after this it never touches `p`.
    unsafe {
        let f = file(p);
        let written = write_run(f);
        let rc = match real_methods(f).xClose {
            Some(close) => close(f.real),
            None => ffi::SQLITE_OK,
        };
        std::ptr::drop_in_place(p.cast::<File>());
        if written != ffi::SQLITE_OK {
            written
        } else {
            rc
        }
    }
}

unsafe extern "C" fn write(
    p: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite passes `amount` readable bytes at `data`.
    unsafe {
        let f = file(p);
        let Some(write) = real_methods(f).xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        if !f.wal {
            return write(f.real, data, amount, offset);
        }
        let Ok(len) = usize::try_from(amount) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len);
        let header = amount == FRAME_HEADER;
        let commit = header && bytes.get(4..8).is_some_and(|c| c != [0, 0, 0, 0]);
        let end = f.start + f.run.len() as i64;
        if !f.run.is_empty() && !commit && offset == end && f.run.len() + len <= RUN {
            f.run.extend_from_slice(bytes);
            return ffi::SQLITE_OK;
        }
        let rc = write_run(f);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        if header && !commit {
            f.run.reserve(RUN);
            f.run.extend_from_slice(bytes);
            f.start = offset;
            return ffi::SQLITE_OK;
        }
        write(f.real, data, amount, offset)
    }
}

/// Forwards a method to the default VFS's file, after writing out the run
/// held back (an error writing it is the call's).
macro_rules! forward {
    ($name:ident, $method:ident, $missing:expr, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(p: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            // SAFETY: `p` is one of ours; the default VFS's method gets its
            // own file and SQLite's arguments unchanged.
            unsafe {
                let f = file(p);
                let rc = write_run(f);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                match real_methods(f).$method {
                    Some(m) => m(f.real, $($arg),*),
                    None => $missing,
                }
            }
        }
    };
}

forward!(read, xRead, ffi::SQLITE_IOERR_READ, (data: *mut c_void, amount: c_int, offset: i64));
forward!(truncate, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, (size: i64));
forward!(sync, xSync, ffi::SQLITE_IOERR_FSYNC, (flags: c_int));
forward!(file_size, xFileSize, ffi::SQLITE_IOERR_FSTAT, (size: *mut i64));
forward!(lock, xLock, ffi::SQLITE_IOERR_LOCK, (level: c_int));
forward!(unlock, xUnlock, ffi::SQLITE_IOERR_UNLOCK, (level: c_int));
forward!(check_reserved_lock, xCheckReservedLock, ffi::SQLITE_IOERR_CHECKRESERVEDLOCK, (out: *mut c_int));
forward!(file_control, xFileControl, ffi::SQLITE_NOTFOUND, (op: c_int, arg: *mut c_void));
forward!(shm_map, xShmMap, ffi::SQLITE_IOERR_SHMMAP, (page: c_int, size: c_int, extend: c_int, out: *mut *mut c_void));
forward!(shm_lock, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, (offset: c_int, n: c_int, flags: c_int));
forward!(shm_unmap, xShmUnmap, ffi::SQLITE_OK, (delete: c_int));
forward!(fetch, xFetch, ffi::SQLITE_OK, (offset: i64, amount: c_int, out: *mut *mut c_void));
forward!(unfetch, xUnfetch, ffi::SQLITE_OK, (offset: i64, page: *mut c_void));

unsafe extern "C" fn sector_size(p: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: `p` is one of ours.
    unsafe {
        let f = file(p);
        real_methods(f).xSectorSize.map_or(4096, |m| m(f.real))
    }
}

unsafe extern "C" fn device_characteristics(p: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: `p` is one of ours.
    unsafe {
        let f = file(p);
        real_methods(f)
            .xDeviceCharacteristics
            .map_or(0, |m| m(f.real))
    }
}

unsafe extern "C" fn shm_barrier(p: *mut ffi::sqlite3_file) {
    // SAFETY: `p` is one of ours.
    unsafe {
        // SQLite calls barriers on database files, never on a log: there
        // is no run to write out here.
        let f = file(p);
        if let Some(m) = real_methods(f).xShmBarrier {
            m(f.real);
        }
    }
}

/// Forwards a VFS method to the default VFS.
macro_rules! forward_vfs {
    ($name:ident, $method:ident, $ret:ty, $missing:expr, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(vfs: *mut ffi::sqlite3_vfs, $($arg: $ty),*) -> $ret {
            // SAFETY: `vfs` is ours; the default VFS gets itself and
            // SQLite's arguments unchanged.
            unsafe {
                let real = real_vfs(vfs);
                match (*real).$method {
                    Some(m) => m(real, $($arg),*),
                    None => $missing,
                }
            }
        }
    };
}

forward_vfs!(delete, xDelete, c_int, ffi::SQLITE_IOERR_DELETE, (name: *const c_char, sync: c_int));
forward_vfs!(access, xAccess, c_int, ffi::SQLITE_IOERR_ACCESS, (name: *const c_char, flags: c_int, out: *mut c_int));
forward_vfs!(full_pathname, xFullPathname, c_int, ffi::SQLITE_CANTOPEN, (name: *const c_char, n: c_int, out: *mut c_char));
forward_vfs!(dl_open, xDlOpen, *mut c_void, std::ptr::null_mut(), (name: *const c_char));
forward_vfs!(dl_error, xDlError, (), (), (n: c_int, out: *mut c_char));
forward_vfs!(dl_sym, xDlSym, Option<unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char)>, None, (handle: *mut c_void, name: *const c_char));
forward_vfs!(dl_close, xDlClose, (), (), (handle: *mut c_void));
forward_vfs!(randomness, xRandomness, c_int, 0, (n: c_int, out: *mut c_char));
forward_vfs!(sleep, xSleep, c_int, 0, (micros: c_int));
forward_vfs!(current_time, xCurrentTime, c_int, ffi::SQLITE_ERROR, (out: *mut f64));
forward_vfs!(get_last_error, xGetLastError, c_int, 0, (n: c_int, out: *mut c_char));
forward_vfs!(current_time_int64, xCurrentTimeInt64, c_int, ffi::SQLITE_ERROR, (out: *mut i64));
forward_vfs!(set_system_call, xSetSystemCall, c_int, ffi::SQLITE_NOTFOUND, (name: *const c_char, call: ffi::sqlite3_syscall_ptr));
forward_vfs!(get_system_call, xGetSystemCall, ffi::sqlite3_syscall_ptr, None, (name: *const c_char));
forward_vfs!(next_system_call, xNextSystemCall, *const c_char, std::ptr::null(), (name: *const c_char));

#[cfg(test)]
mod tests;
