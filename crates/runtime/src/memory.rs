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

/// Caps glibc's malloc arenas for the rest of the process. Call it first
/// in `main`; arenas made before it are kept. Does nothing elsewhere than
/// glibc on Linux.
pub fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets an allocator parameter; M_ARENA_MAX is
        // documented for use at any time, and a refusal (0) only leaves the
        // default in place.
        let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, ARENAS) };
    }
}
