//! Executable memory for translated code: one fixed-size area, bump-allocated, reset as a whole
//! (a "generation flush") when full.
//!
//! W^X without `mprotect`: the area is a memfd mapped twice, once read+execute (where code runs)
//! and once read+write (where it is copied in); no mapping is both writable and executable.
//! Changing page protection on every install (the previous scheme) made the kernel shoot down
//! TLB entries on every core the process runs on — with the compile thread on the other core,
//! an inter-processor interrupt per installed region, a few percent of a Linux boot. Where a
//! memfd cannot be had, the arena falls back to one mapping whose pages are made writable only
//! while code is copied in.

use std::ptr::NonNull;

/// Errors of the code arena.
#[derive(Debug, thiserror::Error)]
pub enum ArenaError {
    /// mmap failed.
    #[error("cannot map {0} bytes of code memory: {1}")]
    Map(usize, std::io::Error),
    /// mprotect failed.
    #[error("cannot change code memory protection: {0}")]
    Protect(std::io::Error),
    /// The code does not fit in what is left of the arena.
    #[error("code arena full")]
    Full,
}

const PAGE: usize = 4096;

/// How code gets written.
enum Writer {
    /// A second, writable mapping of the same memory.
    Alias(NonNull<u8>),
    /// `mprotect` around each copy.
    Protect,
}

/// A bump allocator over an executable mapping.
pub struct CodeArena {
    base: NonNull<u8>,
    writer: Writer,
    size: usize,
    /// Bytes in use.
    used: usize,
    /// Bytes that survive a reset (the trampoline).
    pinned: usize,
}

/// Maps `size` bytes of `fd` (or anonymous memory when `fd` is -1) with protection `prot`.
fn map(size: usize, prot: i32, fd: i32) -> Result<NonNull<u8>, ArenaError> {
    let flags = if fd < 0 {
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS
    } else {
        libc::MAP_SHARED
    };
    // SAFETY: a new mapping with no address hint (of our own memfd, or anonymous); the result
    // is checked.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), size, prot, flags, fd, 0) };
    if p == libc::MAP_FAILED {
        return Err(ArenaError::Map(size, std::io::Error::last_os_error()));
    }
    NonNull::new(p as *mut u8).ok_or_else(|| ArenaError::Map(size, std::io::Error::other("null")))
}

/// Maps a memfd of `size` bytes twice: (read+execute, read+write).
fn map_alias(size: usize) -> Result<(NonNull<u8>, NonNull<u8>), ArenaError> {
    // SAFETY: the name is a NUL-terminated literal; the result is checked.
    let fd = unsafe { libc::memfd_create(c"vmm-jit-code".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(ArenaError::Map(size, std::io::Error::last_os_error()));
    }
    let r = (|| {
        // SAFETY: `fd` is our own new memfd.
        if unsafe { libc::ftruncate(fd, size as libc::off_t) } != 0 {
            return Err(ArenaError::Map(size, std::io::Error::last_os_error()));
        }
        let rx = map(size, libc::PROT_READ | libc::PROT_EXEC, fd)?;
        match map(size, libc::PROT_READ | libc::PROT_WRITE, fd) {
            Ok(rw) => Ok((rx, rw)),
            Err(e) => {
                // SAFETY: unmapping the mapping made just above, never used.
                unsafe { libc::munmap(rx.as_ptr() as *mut libc::c_void, size) };
                Err(e)
            }
        }
    })();
    // SAFETY: the mappings keep the memory; the descriptor is no longer needed.
    unsafe { libc::close(fd) };
    r
}

impl CodeArena {
    /// Maps `size` bytes (rounded up to pages) of code memory.
    pub fn new(size: usize) -> Result<CodeArena, ArenaError> {
        let size = size.div_ceil(PAGE) * PAGE;
        let (base, writer) = match map_alias(size) {
            Ok((rx, rw)) => (rx, Writer::Alias(rw)),
            Err(e) => {
                log::debug!("jit: no aliased code memory ({e}); using mprotect");
                (
                    map(size, libc::PROT_READ | libc::PROT_EXEC, -1)?,
                    Writer::Protect,
                )
            }
        };
        Ok(CodeArena {
            base,
            writer,
            size,
            used: 0,
            pinned: 0,
        })
    }

    /// Copies `code` in (16-byte aligned) and returns its executable address.
    pub fn install(&mut self, code: &[u8]) -> Result<*const u8, ArenaError> {
        let start = self.used.div_ceil(16) * 16;
        let end = start.checked_add(code.len()).ok_or(ArenaError::Full)?;
        if end > self.size {
            return Err(ArenaError::Full);
        }
        match self.writer {
            Writer::Alias(rw) => {
                // SAFETY: [start, end) lies inside the writable alias (end <= size); the source
                // is a separate Rust slice. No code runs from this range meanwhile: it is past
                // everything installed so far (or freed by a reset, after which nothing jumps
                // there), and only this thread executes translated code.
                unsafe {
                    std::ptr::copy_nonoverlapping(code.as_ptr(), rw.as_ptr().add(start), code.len())
                };
            }
            Writer::Protect => {
                let pstart = start / PAGE * PAGE;
                let pend = end.div_ceil(PAGE) * PAGE;
                let len = pend - pstart;
                // SAFETY: [pstart, pend) lies inside our mapping (end <= size, size is
                // page-aligned).
                let region = unsafe { self.base.as_ptr().add(pstart) } as *mut libc::c_void;
                self.protect(region, len, libc::PROT_READ | libc::PROT_WRITE)?;
                // SAFETY: the destination range is inside the mapping and now writable; the
                // source is a separate Rust slice, so they do not overlap. No code runs from
                // these pages meanwhile (the CPU thread is the only one executing translated
                // code, and it is here).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        code.as_ptr(),
                        self.base.as_ptr().add(start),
                        code.len(),
                    )
                };
                self.protect(region, len, libc::PROT_READ | libc::PROT_EXEC)?;
            }
        }
        self.used = end;
        // SAFETY: start < size.
        Ok(unsafe { self.base.as_ptr().add(start) })
    }

    fn protect(&self, p: *mut libc::c_void, len: usize, prot: i32) -> Result<(), ArenaError> {
        // SAFETY: `p..p+len` is a page-aligned part of our own mapping.
        if unsafe { libc::mprotect(p, len, prot) } != 0 {
            return Err(ArenaError::Protect(std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// The offset of installed code `p` from the arena's start (as profilers show addresses in
    /// the arena's memfd mapping).
    pub fn offset(&self, p: *const u8) -> usize {
        (p as usize).wrapping_sub(self.base.as_ptr() as usize)
    }

    /// Whether code is written through a second mapping (no protection changes).
    pub fn aliased(&self) -> bool {
        matches!(self.writer, Writer::Alias(_))
    }

    /// Keeps everything installed so far across [`reset`](Self::reset).
    pub fn pin(&mut self) {
        self.pinned = self.used;
    }

    /// Forgets all unpinned code. The caller guarantees nothing will jump into it again.
    pub fn reset(&mut self) {
        self.used = self.pinned;
    }

    /// Bytes in use.
    pub fn used(&self) -> usize {
        self.used
    }
}

impl Drop for CodeArena {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mappings; no code from them runs after the owner is
        // dropped.
        unsafe {
            libc::munmap(self.base.as_ptr() as *mut libc::c_void, self.size);
            if let Writer::Alias(rw) = self.writer {
                libc::munmap(rw.as_ptr() as *mut libc::c_void, self.size);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_reset_and_full() {
        let mut a = CodeArena::new(8192).unwrap();
        assert!(a.aliased(), "memfd code memory is available on Linux");
        let p = a.install(&[0xc3; 10]).unwrap();
        // SAFETY: reading back what was just installed (the pages are readable).
        assert_eq!(unsafe { *p }, 0xc3);
        a.pin();
        let q = a.install(&[0x90; 100]).unwrap();
        assert_eq!(q as usize % 16, 0);
        // SAFETY: as above.
        assert_eq!(unsafe { *q.add(99) }, 0x90);
        assert!(a.install(&[0; 9000]).is_err());
        a.reset();
        assert_eq!(a.used(), 10);
    }

    #[test]
    fn executable_view_is_not_writable() {
        let a = CodeArena::new(4096).unwrap();
        // /proc/self/maps lists the executable view as read+execute only.
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let base = a.base.as_ptr() as usize;
        let line = maps
            .lines()
            .find(|l| {
                let r = l.split(' ').next().unwrap_or("");
                let lo = usize::from_str_radix(r.split('-').next().unwrap_or("0"), 16).unwrap_or(0);
                lo == base
            })
            .expect("arena mapping listed");
        let perms = line.split(' ').nth(1).unwrap();
        assert!(perms.starts_with("r-x"), "{line}");
    }
}
