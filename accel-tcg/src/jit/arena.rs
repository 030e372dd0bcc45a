//! Executable memory for translated code: one fixed-size mapping, bump-allocated, reset as a whole
//! (a "generation flush") when full. Pages are writable only while code is copied in (W^X).

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

/// A bump allocator over an executable mapping.
pub struct CodeArena {
    base: NonNull<u8>,
    size: usize,
    /// Bytes in use.
    used: usize,
    /// Bytes that survive a reset (the trampoline).
    pinned: usize,
}

impl CodeArena {
    /// Maps `size` bytes (rounded up to pages), read+execute.
    pub fn new(size: usize) -> Result<CodeArena, ArenaError> {
        let size = size.div_ceil(PAGE) * PAGE;
        // SAFETY: an anonymous private mapping with no address hint; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(ArenaError::Map(size, std::io::Error::last_os_error()));
        }
        let base = NonNull::new(p as *mut u8)
            .ok_or_else(|| ArenaError::Map(size, std::io::Error::other("null mapping")))?;
        Ok(CodeArena {
            base,
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
        let pstart = start / PAGE * PAGE;
        let pend = end.div_ceil(PAGE) * PAGE;
        let len = pend - pstart;
        // SAFETY: [pstart, pend) lies inside our mapping (end <= size, size is page-aligned).
        let region = unsafe { self.base.as_ptr().add(pstart) } as *mut libc::c_void;
        self.protect(region, len, libc::PROT_READ | libc::PROT_WRITE)?;
        // SAFETY: the destination range is inside the mapping and now writable; the source is a
        // separate Rust slice, so they do not overlap. No code runs from these pages meanwhile
        // (the CPU thread is the only one executing translated code, and it is here).
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), self.base.as_ptr().add(start), code.len())
        };
        self.protect(region, len, libc::PROT_READ | libc::PROT_EXEC)?;
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
        // SAFETY: unmapping our own mapping; no code from it runs after the owner is dropped.
        unsafe { libc::munmap(self.base.as_ptr() as *mut libc::c_void, self.size) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_reset_and_full() {
        let mut a = CodeArena::new(8192).unwrap();
        let p = a.install(&[0xc3; 10]).unwrap();
        // SAFETY: reading back what was just installed (the pages are readable).
        assert_eq!(unsafe { *p }, 0xc3);
        a.pin();
        let q = a.install(&[0x90; 100]).unwrap();
        assert_eq!(q as usize % 16, 0);
        assert!(a.install(&[0; 9000]).is_err());
        a.reset();
        assert_eq!(a.used(), 10);
    }
}
