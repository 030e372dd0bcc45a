//! Populating guest memory up front (`--mem-prealloc`), so that a shortage of host memory or
//! huge pages shows as an error at start instead of a `SIGBUS` or the OOM killer later.

use std::io;

/// Faults in every page of `[addr, addr + len)` for writing, splitting the work over `threads`
/// threads. `addr` and `len` must describe a mapping owned by the caller that nothing else
/// accesses during the call; `page` is its page size (a power of two).
///
/// Uses `MADV_POPULATE_WRITE` (Linux ≥ 5.14), which reports a shortage as an error; on older
/// kernels it falls back to touching each page.
pub fn populate(addr: *mut u8, len: usize, page: usize, threads: usize) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    let page = page.max(1);
    let threads = threads.clamp(1, 16);
    let pages = len.div_ceil(page);
    let per_thread = pages.div_ceil(threads) * page;
    let base = addr as usize;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| i * per_thread)
            .take_while(|&off| off < len)
            .map(|off| {
                let n = per_thread.min(len - off);
                s.spawn(move || populate_range(base + off, n, page))
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(io::Error::other("populate thread panicked")))
        })
    })
}

/// Populates one chunk (one thread's share).
fn populate_range(addr: usize, len: usize, page: usize) -> io::Result<()> {
    // SAFETY: the caller guarantees `[addr, addr + len)` lies in a mapping it owns; madvise only
    // faults pages in and does not change their contents.
    let r = unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::EINVAL) {
        return Err(e);
    }
    // Kernel without MADV_POPULATE_WRITE: write each page's first byte back to itself.
    let mut off = 0;
    while off < len {
        let p = (addr + off) as *mut u8;
        // SAFETY: `p` is inside the caller's mapping, no other thread touches this chunk, and the
        // byte is rewritten with its own value.
        unsafe { p.write_volatile(p.read_volatile()) };
        off += page;
    }
    Ok(())
}

/// Threads to use for populating `len` bytes: one per 256 MiB, at most the host's CPUs.
pub fn thread_count(len: u64) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let by_size = (len >> 28).max(1) as usize;
    by_size.min(cpus).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resident_pages(addr: *mut u8, len: usize, page: usize) -> usize {
        let mut vec = vec![0u8; len.div_ceil(page)];
        // SAFETY: `addr` is a page-aligned mapping of `len` bytes and `vec` has one byte per page.
        let r = unsafe { libc::mincore(addr.cast(), len, vec.as_mut_ptr()) };
        assert_eq!(r, 0);
        vec.iter().filter(|b| **b & 1 != 0).count()
    }

    #[test]
    fn populate_makes_every_page_resident_and_keeps_contents() {
        let page = super::super::host::page_size() as usize;
        let len = 64 * page + 123;
        // SAFETY: a fresh private anonymous mapping, unmapped at the end of the test.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(addr, libc::MAP_FAILED);
        let addr = addr.cast::<u8>();
        // SAFETY: inside the mapping.
        unsafe { addr.add(5 * page).write(0x5A) };
        assert!(resident_pages(addr, len, page) < 65);
        populate(addr, len, page, 3).unwrap();
        assert_eq!(resident_pages(addr, len, page), 65);
        // SAFETY: inside the mapping.
        assert_eq!(unsafe { addr.add(5 * page).read() }, 0x5A);
        // SAFETY: the mapping created above.
        unsafe { libc::munmap(addr.cast(), len) };
    }

    #[test]
    fn thread_count_is_bounded() {
        assert_eq!(thread_count(1 << 20), 1);
        assert!(thread_count(64 << 30) >= 1);
        assert!(thread_count(64 << 30) <= 64);
    }
}
