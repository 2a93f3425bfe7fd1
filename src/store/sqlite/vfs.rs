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
//! The database file gets runs of its own, during a checkpoint's copy
//! only. A checkpoint copies the log's newest frame of each page into the
//! database file, a `pwrite` of one page each, in the order of the pages'
//! numbers; the pages a crawl appends come one after another, and Linux
//! takes a write of 4 KB to a new part of a file at about 3.3 µs of system
//! time, where a write of 128 KB costs some 26 µs, 0.8 µs a page (`dd` of
//! 300 MB here; the page cache takes a larger write in larger pieces). So
//! between SQLite's `SQLITE_FCNTL_CKPT_START` and `SQLITE_FCNTL_CKPT_DONE`,
//! page writes that continue one another are held back and written
//! together, and:
//!
//! - any other call on the file, a write that does not continue the run,
//!   and the run reaching [`RUN`] bytes first write the run out; an error
//!   doing so is that call's, so SQLite ends the copy with it, before it
//!   counts anything copied;
//! - the last run is written at `SQLITE_FCNTL_CKPT_DONE`, whose result
//!   SQLite does not look at: right after it, the checkpoint records the
//!   frames as copied. So a run is held only when writing it cannot fail
//!   for want of room. SQLite sends `SQLITE_FCNTL_SIZE_HINT` before the
//!   copy when the file is to grow, and the growth is then allocated with
//!   `fallocate(2)` (Linux: the descriptor is read from SQLite's unix
//!   VFS, see [`descriptor_of`]; elsewhere the copy is never held back).
//!   When it could not be allocated, the checkpoint's writes pass straight
//!   through as before, and fail as before. A file that does not grow is
//!   written over where it is. If the last run cannot be written all the
//!   same (an I/O error), it is tried again in pieces of 4 KB, and then
//!   the process aborts rather than let SQLite record pages as copied that
//!   are not: a crash there is one SQLite is built to survive (the log
//!   keeps every frame, and the next checkpoint copies them again).
//!
//! The allocated growth reads as zeros until written, and is never read as
//! the database's: SQLite asks for the database's size as of the log's
//! newest commit, every page of it past the file's end is in the log for
//! every reader whose snapshot has it, and a checkpoint that copies the
//! whole log cuts the file to its size again.
//!
//! Journals and temporary files pass straight through.

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
    /// Whether this is a write-ahead log.
    wal: bool,
    /// Whether this is a main database file.
    main_db: bool,
    /// A main database file inside a checkpoint's copy, its growth
    /// allocated: its page writes are held back in runs.
    copying: bool,
    /// The main database file's descriptor, when it is known (Linux), for
    /// `fallocate`; else -1, and a checkpoint's copy is never held back.
    fd: c_int,
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
    if f.wal {
        tests::count_write();
    } else {
        tests::count_db_write(f.main_db);
    }
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
                main_db: flags & ffi::SQLITE_OPEN_MAIN_DB != 0,
                copying: false,
                fd: -1,
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
        #[cfg(target_os = "linux")]
        if rc == ffi::SQLITE_OK && flags & ffi::SQLITE_OPEN_MAIN_DB != 0 {
            (*p.cast::<File>()).fd = descriptor_of(real_vfs, real, name);
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
        if !f.wal && !f.copying {
            #[cfg(test)]
            tests::count_db_write(f.main_db);
            return write(f.real, data, amount, offset);
        }
        let Ok(len) = usize::try_from(amount) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len);
        if f.copying {
            // A checkpoint's page: the run goes on, or is written out and
            // this page starts the next.
            let end = f.start + f.run.len() as i64;
            if !f.run.is_empty() && offset == end && f.run.len() + len <= RUN {
                f.run.extend_from_slice(bytes);
                return ffi::SQLITE_OK;
            }
            let rc = write_run(f);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            if len < RUN {
                f.run.reserve(RUN);
                f.run.extend_from_slice(bytes);
                f.start = offset;
                return ffi::SQLITE_OK;
            }
            return write(f.real, data, amount, offset);
        }
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
forward!(forward_file_control, xFileControl, ffi::SQLITE_NOTFOUND, (op: c_int, arg: *mut c_void));

/// A checkpoint's start, growth and end on a database file (see the module
/// doc) are seen here; every file control is then the default VFS's.
unsafe extern "C" fn file_control(p: *mut ffi::sqlite3_file, op: c_int, arg: *mut c_void) -> c_int {
    // SAFETY: `p` is one of ours; for SQLITE_FCNTL_SIZE_HINT SQLite passes
    // a pointer to the size it needs, an `i64`.
    unsafe {
        let f = file(p);
        if f.main_db {
            match op {
                ffi::SQLITE_FCNTL_CKPT_START => f.copying = f.fd >= 0,
                ffi::SQLITE_FCNTL_SIZE_HINT if f.copying => {
                    let size = arg.cast::<i64>().as_ref().copied();
                    if size.is_none_or(|size| grow(f, size) != ffi::SQLITE_OK) {
                        f.copying = false;
                    }
                }
                ffi::SQLITE_FCNTL_CKPT_DONE => {
                    f.copying = false;
                    finish_copy(f);
                }
                _ => {}
            }
        }
        forward_file_control(p, op, arg)
    }
}

/// Allocates the room a checkpoint's copy asks for, up to `size` bytes,
/// with `fallocate`, which also sets the file's length; an error when it
/// could not (the copy then writes page by page, as SQLite does).
fn grow(f: &mut File, size: i64) -> c_int {
    #[cfg(test)]
    if tests::growth_fails() {
        return ffi::SQLITE_FULL;
    }
    let Some(file_size) = real_methods(f).xFileSize else {
        return ffi::SQLITE_IOERR_FSTAT;
    };
    let mut now = 0i64;
    // SAFETY: `real` is the open default-VFS file of this `File`.
    let rc = unsafe { file_size(f.real, &raw mut now) };
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    if now >= size {
        return ffi::SQLITE_OK;
    }
    allocate(f.fd, now, size - now)
}

/// `fallocate(2)` of `len` bytes at `offset` of `fd` (mode 0: the file
/// grows to cover them), retried when a signal interrupts it.
#[cfg(target_os = "linux")]
fn allocate(fd: c_int, offset: i64, len: i64) -> c_int {
    use rustix::fs::FallocateFlags;
    let (Ok(offset), Ok(len)) = (u64::try_from(offset), u64::try_from(len)) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    if fd < 0 {
        return ffi::SQLITE_IOERR_WRITE;
    }
    // SAFETY: a descriptor SQLite holds open while it calls us, and longer
    // than this borrow ([`descriptor_of`]).
    let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
    loop {
        match rustix::fs::fallocate(fd, FallocateFlags::empty(), offset, len) {
            Ok(()) => return ffi::SQLITE_OK,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return ffi::SQLITE_FULL,
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn allocate(_: c_int, _: i64, _: i64) -> c_int {
    ffi::SQLITE_IOERR_WRITE
}

/// The descriptor of the default VFS's open file `real`, named `name`, or
/// -1. SQLite's unix VFS keeps it in its `unixFile` after three pointers
/// (`pMethod`, `pVfs`, `pInode`) and no API gives it; it is taken only
/// when the VFS's files are that large and the descriptor is the named
/// file's (the same device and inode), so another layout gives -1, and
/// the checkpoints go page by page as before. SQLite closes it only when
/// it closes the file.
///
/// # Safety
/// `real` is an open file of `real_vfs`; `name` is SQLite's name for it.
#[cfg(target_os = "linux")]
unsafe fn descriptor_of(
    real_vfs: *mut ffi::sqlite3_vfs,
    real: *mut ffi::sqlite3_file,
    name: *const c_char,
) -> c_int {
    use std::os::unix::fs::MetadataExt;
    const AT: usize = 3 * std::mem::size_of::<*const c_void>();
    // SAFETY: the file has `szOsFile` bytes, checked to hold an `int` at
    // `AT`; `name` is a C string while the file is open.
    unsafe {
        let size = usize::try_from((*real_vfs).szOsFile).unwrap_or(0);
        if name.is_null() || size < AT + std::mem::size_of::<c_int>() {
            return -1;
        }
        let fd = real.cast::<u8>().add(AT).cast::<c_int>().read_unaligned();
        if fd < 0 {
            return -1;
        }
        // A plain `fstat`: a number that is no open descriptor fails it.
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        if libc::fstat(fd, st.as_mut_ptr()) != 0 {
            return -1;
        }
        let st = st.assume_init();
        let named = CStr::from_ptr(name)
            .to_str()
            .ok()
            .and_then(|n| std::fs::metadata(n).ok());
        match named {
            Some(m) if m.dev() == st.st_dev && m.ino() == st.st_ino => fd,
            _ => -1,
        }
    }
}

/// Writes out a checkpoint's last run, which SQLite is about to record as
/// copied without asking how it went: page by page once more if the run
/// fails, and if that fails too the process ends here (see the module doc).
fn finish_copy(f: &mut File) {
    if f.run.is_empty() {
        return;
    }
    let Some(write) = real_methods(f).xWrite else {
        abort_copy(f.start, ffi::SQLITE_IOERR_WRITE);
    };
    // Once whole, then in pieces of 4 KB (the error may be the size's).
    for piece in [RUN, 4096] {
        let mut at = f.start;
        let mut failed = None;
        for part in f.run.chunks(piece) {
            #[cfg(test)]
            tests::count_db_write(f.main_db);
            // SAFETY: `real` is the open default-VFS file of this `File`;
            // `part` is at most `RUN` readable bytes.
            let rc = unsafe { write(f.real, part.as_ptr().cast(), part.len() as c_int, at) };
            if rc != ffi::SQLITE_OK {
                failed = Some((at, rc));
                break;
            }
            at += part.len() as i64;
        }
        match failed {
            None => {
                f.run.clear();
                return;
            }
            Some((at, rc)) if piece == 4096 => abort_copy(at, rc),
            Some(_) => {}
        }
    }
}

/// Ends the process, saying why, before SQLite takes pages it could not
/// write for copied.
fn abort_copy(offset: i64, rc: c_int) -> ! {
    tracing::error!(
        offset,
        code = rc,
        "a checkpoint's pages could not be written to the database file; \
         stopping before SQLite counts them as copied (the log keeps them)"
    );
    eprintln!(
        "newscrawl: a checkpoint could not write the database file at byte {offset} \
         (SQLite error {rc}); stopping before that is taken for copied: the log keeps every commit"
    );
    std::process::abort()
}
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
