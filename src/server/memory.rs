//! Giving back to the system the memory that starting up used and freed.

/// Returns the allocator's free heap pages to the system. glibc keeps freed memory for reuse,
/// and starting up frees a good deal of it (settings, migrations, the route list, the OpenAPI
/// description): without this, an idle server keeps it resident. Called once, when the server
/// is ready.
pub fn release_startup_garbage() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and trims the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
