//! Facts about the host that guest-memory checks need: total RAM, huge page sizes and pools, and
//! what file system a path lives on.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `statfs` magic number of hugetlbfs.
pub const HUGETLBFS_MAGIC: i64 = 0x9584_58f6;
/// `statfs` magic number of FUSE file systems.
pub const FUSE_SUPER_MAGIC: i64 = 0x6573_5546;

/// Total host RAM in bytes (`sysinfo`, falling back to `MemTotal` in `/proc/meminfo`).
pub fn total_ram() -> Option<u64> {
    // SAFETY: `sysinfo` only writes into the zero-initialised struct we pass.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid, writable `sysinfo` struct.
    if unsafe { libc::sysinfo(&mut info) } == 0 && info.totalram > 0 {
        return Some((info.totalram as u64).saturating_mul(u64::from(info.mem_unit.max(1))));
    }
    meminfo_kb("MemTotal:").map(|kb| kb.saturating_mul(1024))
}

/// A `kB` field of `/proc/meminfo` (e.g. `"Hugepagesize:"`).
fn meminfo_kb(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo_kb(&text, field)
}

fn parse_meminfo_kb(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The default huge page size in bytes (`Hugepagesize` in `/proc/meminfo`).
pub fn default_hugepage_size() -> Option<u64> {
    meminfo_kb("Hugepagesize:").map(|kb| kb * 1024)
}

/// The sysfs directory describing the pool of huge pages of `size` bytes.
pub fn hugepage_pool_dir(size: u64) -> String {
    format!("/sys/kernel/mm/hugepages/hugepages-{}kB", size / 1024)
}

/// Free huge pages of `size` bytes (`free_hugepages` minus `resv_hugepages` in sysfs, which
/// counts pages promised to mappings but not yet faulted in).
pub fn free_hugepages(size: u64) -> io::Result<u64> {
    let dir = hugepage_pool_dir(size);
    let read = |name: &str| -> io::Result<u64> {
        let text = std::fs::read_to_string(format!("{dir}/{name}"))?;
        text.trim()
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{dir}/{name}: {e}")))
    };
    let free = read("free_hugepages")?;
    let resv = read("resv_hugepages").unwrap_or(0);
    Ok(free.saturating_sub(resv))
}

/// What `statfs` says about a file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsInfo {
    /// `f_type`, the file system's magic number.
    pub magic: i64,
    /// `f_bsize`; the huge page size on hugetlbfs.
    pub block_size: u64,
    /// Mounted read-only (`ST_RDONLY`).
    pub read_only: bool,
}

impl FsInfo {
    /// Whether this is hugetlbfs.
    pub fn is_hugetlbfs(&self) -> bool {
        self.magic == HUGETLBFS_MAGIC
    }
}

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// `statfs` and `statvfs` of `path`.
pub fn fs_info(path: &Path) -> io::Result<FsInfo> {
    let c = cpath(path)?;
    // SAFETY: zeroed plain-data structs, filled in by the calls below.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated string and `sfs` a writable struct.
    if unsafe { libc::statfs(c.as_ptr(), &mut sfs) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let read_only = if unsafe { libc::statvfs(c.as_ptr(), &mut vfs) } == 0 {
        vfs.f_flag & libc::ST_RDONLY != 0
    } else {
        false
    };
    Ok(FsInfo {
        magic: sfs.f_type as i64,
        block_size: sfs.f_bsize as u64,
        read_only,
    })
}

/// Whether this process may write `path` (`access(W_OK)`; root passes unless read-only mounted).
pub fn writable(path: &Path) -> io::Result<bool> {
    let c = cpath(path)?;
    // SAFETY: `c` is a valid NUL-terminated string.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
        Ok(true)
    } else {
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EROFS) | Some(libc::EPERM) => Ok(false),
            _ => Err(e),
        }
    }
}

/// The host page size.
pub fn page_size() -> u64 {
    // SAFETY: `sysconf` has no side effects.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_fields_parse() {
        let text = "MemTotal:       24000000 kB\nHugepagesize:       2048 kB\n";
        assert_eq!(parse_meminfo_kb(text, "MemTotal:"), Some(24_000_000));
        assert_eq!(parse_meminfo_kb(text, "Hugepagesize:"), Some(2048));
        assert_eq!(parse_meminfo_kb(text, "Nope:"), None);
    }

    #[test]
    fn host_facts_are_sane() {
        let ram = total_ram().expect("host RAM known");
        assert!(ram >= 64 << 20, "{ram}");
        assert!(page_size().is_power_of_two());
        assert_eq!(
            hugepage_pool_dir(2 << 20),
            "/sys/kernel/mm/hugepages/hugepages-2048kB"
        );
        let tmp = tempfile::tempdir().unwrap();
        let fs = fs_info(tmp.path()).unwrap();
        assert!(!fs.is_hugetlbfs());
        assert!(!fs.read_only);
        assert!(writable(tmp.path()).unwrap());
        assert!(fs_info(Path::new("/nonexistent/x")).is_err());
    }
}
