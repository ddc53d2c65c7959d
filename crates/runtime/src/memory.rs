//! How the process allocates. glibc gives each thread that allocates an
//! arena of its own, up to eight per core, and an arena keeps what it once
//! held. A service that moves batches between its async workers and the
//! blocking threads that read files (a new thread per job, over a long
//! import) grew its peak resident memory with the number of jobs: the
//! validator peaked at 149 MB on a 10^6-row import against 66 MB at 10^5,
//! and at 84 MB with two arenas, at the same speed.

/// Arenas a service may use: enough that the async workers rarely contend
/// on a lock, few enough that memory does not grow with the file.
const ARENAS: i32 = 2;

/// Blocks at least this big are mapped on their own and unmapped when
/// freed. glibc otherwise raises this threshold each time such a block is
/// freed (up to 32 MB), after which a batch's buffers (a few hundred KB to
/// a few MB each) are carved from the arenas and leave holes there: the
/// validator peaked at 71-80 MB on a 10^6-row import and 53-61 MB at 10^5,
/// and at 58 and 45 MB with the threshold fixed here.
const MMAP_THRESHOLD: i32 = 256 * 1024;

/// Caps glibc's malloc arenas and fixes its mmap threshold for the rest
/// of the process. Call it first in `main`; arenas made before it are
/// kept. Does nothing elsewhere than glibc on Linux.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; M_ARENA_MAX and
        // M_MMAP_THRESHOLD are documented for use at any time, and a
        // refusal (0) only leaves the default in place.
        unsafe {
            let _ = libc::mallopt(libc::M_ARENA_MAX, ARENAS);
            let _ = libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
}
