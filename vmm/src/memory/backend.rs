//! The three backings of guest RAM: checking a plan without side effects, then opening it.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};

use super::{host, MemBackend, MemoryConfig, MemoryError};

/// Where the file of a `file` backing comes from.
#[derive(Debug)]
enum FileSource {
    /// An existing regular file, used in place.
    Existing(PathBuf),
    /// A directory: a temporary file is created there and unlinked at once.
    InDir(PathBuf),
}

/// A checked backing, not yet opened.
#[derive(Debug)]
pub struct Plan {
    backend: MemBackend,
    source: Option<FileSource>,
    /// Huge page size when the backing uses huge pages.
    pub hugepage: Option<u64>,
    /// Bytes already in an existing file (pages already allocated on hugetlbfs).
    pub existing_len: u64,
    shared: bool,
    fuse: bool,
    /// One phrase saying what backs RAM.
    pub what: String,
}

/// An opened backing, ready to map.
#[derive(Debug)]
pub struct Backing {
    /// The memfd or file (`None` for anonymous memory).
    pub file: Option<File>,
    /// `mmap` flags for every region.
    pub mmap_flags: i32,
    /// Huge page size when the backing uses huge pages.
    pub hugepage: Option<u64>,
    /// One phrase saying what backs RAM.
    pub what: String,
}

fn read_only(path: &Path, why: impl Into<String>) -> MemoryError {
    MemoryError::ReadOnly {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

fn path_io(path: &Path, what: &'static str, err: io::Error) -> MemoryError {
    match err.raw_os_error() {
        Some(libc::EROFS) => read_only(path, "read-only file system"),
        Some(libc::EACCES) | Some(libc::EPERM) => read_only(path, err.to_string()),
        Some(libc::ENOENT) => MemoryError::PathMissing(path.to_path_buf()),
        _ => MemoryError::PathIo {
            path: path.to_path_buf(),
            what,
            err,
        },
    }
}

fn default_hugepage() -> Result<u64, MemoryError> {
    host::default_hugepage_size()
        .ok_or_else(|| MemoryError::NoHugepages("no Hugepagesize in /proc/meminfo".into()))
}

/// Checks `cfg` against the host without creating anything.
pub fn plan(cfg: &MemoryConfig) -> Result<Plan, MemoryError> {
    match cfg.backend {
        MemBackend::Anon | MemBackend::Memfd => {
            if cfg.path.is_some() {
                return Err(MemoryError::PathWithoutFile(cfg.backend));
            }
            let hugepage = if cfg.hugepages {
                Some(default_hugepage()?)
            } else {
                None
            };
            let kind = if cfg.backend == MemBackend::Anon {
                "anonymous memory"
            } else {
                "memfd"
            };
            Ok(Plan {
                backend: cfg.backend,
                source: None,
                hugepage,
                existing_len: 0,
                shared: cfg.shared || cfg.backend == MemBackend::Memfd,
                fuse: false,
                what: match hugepage {
                    Some(p) => format!("{kind} on {} huge pages", super::human(p)),
                    None => kind.to_string(),
                },
            })
        }
        MemBackend::File => {
            let path = cfg.path.as_deref().ok_or(MemoryError::PathRequired)?;
            if cfg.hugepages {
                return Err(MemoryError::HugepagesWithFile);
            }
            let meta = std::fs::metadata(path).map_err(|e| path_io(path, "stat", e))?;
            let fs = host::fs_info(path).map_err(|e| path_io(path, "statfs", e))?;
            if fs.read_only {
                return Err(read_only(path, "read-only file system"));
            }
            if !host::writable(path).map_err(|e| path_io(path, "access", e))? {
                return Err(read_only(path, "no write permission"));
            }
            let hugepage = fs.is_hugetlbfs().then_some(fs.block_size);
            let (source, existing_len) = if meta.is_dir() {
                (FileSource::InDir(path.to_path_buf()), 0)
            } else if meta.is_file() {
                (FileSource::Existing(path.to_path_buf()), meta.len())
            } else {
                return Err(MemoryError::NotFileOrDir(path.to_path_buf()));
            };
            let place = if meta.is_dir() {
                format!("a temporary file in {}", path.display())
            } else {
                format!("file {}", path.display())
            };
            Ok(Plan {
                backend: cfg.backend,
                source: Some(source),
                hugepage,
                existing_len,
                shared: true,
                fuse: fs.magic == host::FUSE_SUPER_MAGIC,
                what: match hugepage {
                    Some(p) => format!("{place} (hugetlbfs, {} pages)", super::human(p)),
                    None => place,
                },
            })
        }
    }
}

/// Creates a file in `dir` that no one else can have opened, and unlinks it.
fn create_unlinked(dir: &Path) -> Result<File, MemoryError> {
    let pid = std::process::id();
    for n in 0..100u32 {
        let path = dir.join(format!(".vmm-guest-ram-{pid}-{n}"));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                std::fs::remove_file(&path).map_err(|e| path_io(&path, "unlink", e))?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(path_io(dir, "create a file", e)),
        }
    }
    Err(MemoryError::PathIo {
        path: dir.to_path_buf(),
        what: "create a file",
        err: io::Error::from(io::ErrorKind::AlreadyExists),
    })
}

fn memfd(hugetlb: bool) -> Result<File, MemoryError> {
    let name =
        CString::new("vmm-guest-ram").map_err(|e| MemoryError::Memfd(io::Error::other(e)))?;
    let mut flags = libc::MFD_CLOEXEC;
    if hugetlb {
        flags |= libc::MFD_HUGETLB;
    }
    // SAFETY: `name` is a valid NUL-terminated string.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    if fd < 0 {
        return Err(MemoryError::Memfd(io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Maps one page of `file` shared and faults it in for writing, to find file systems that refuse
/// shared mappings (ENODEV) or fail on the first write, before the guest would.
fn probe_shared(file: &File, page: u64) -> io::Result<()> {
    let len = page as usize;
    // SAFETY: a new mapping (no MAP_FIXED) of a descriptor we own; unmapped below.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `addr`/`len` is the mapping just created; populating does not change its contents.
    let r = unsafe { libc::madvise(addr, len, libc::MADV_POPULATE_WRITE) };
    let err = (r != 0).then(io::Error::last_os_error);
    // SAFETY: the mapping created above, no longer used.
    unsafe { libc::munmap(addr, len) };
    match err {
        Some(e) if e.raw_os_error() != Some(libc::EINVAL) => Err(e),
        _ => Ok(()),
    }
}

impl Plan {
    /// Creates or opens the backing, sizes it to `total` bytes, probes that it maps, and with
    /// `prealloc` allocates its blocks.
    pub fn open(self, total: u64, prealloc: bool) -> Result<Backing, MemoryError> {
        let file = match (&self.backend, &self.source) {
            (MemBackend::Anon, _) => None,
            (MemBackend::Memfd, _) => Some(memfd(self.hugepage.is_some())?),
            (MemBackend::File, Some(FileSource::InDir(dir))) => Some(create_unlinked(dir)?),
            (MemBackend::File, Some(FileSource::Existing(path))) => Some(
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .map_err(|e| path_io(path, "open", e))?,
            ),
            (MemBackend::File, None) => return Err(MemoryError::PathRequired),
        };
        let path = match &self.source {
            Some(FileSource::InDir(p)) | Some(FileSource::Existing(p)) => Some(p.clone()),
            None => None,
        };
        if let Some(f) = &file {
            let len = f
                .metadata()
                .map_err(|err| MemoryError::Resize { size: total, err })?
                .len();
            if len < total {
                f.set_len(total)
                    .map_err(|err| MemoryError::Resize { size: total, err })?;
            }
            let page = self.hugepage.unwrap_or_else(host::page_size);
            probe_shared(f, page).map_err(|err| match &path {
                Some(p) => MemoryError::CannotMapShared {
                    path: p.clone(),
                    err,
                    fuse: self.fuse,
                },
                None => MemoryError::Map {
                    size: total,
                    err: err.to_string(),
                    hint: "",
                },
            })?;
            if prealloc {
                // SAFETY: plain syscall on a descriptor we own.
                let r = unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, total as libc::off_t) };
                if r != 0 {
                    let err = io::Error::last_os_error();
                    // Not every file system can allocate; populating the mapping still works.
                    if err.raw_os_error() != Some(libc::EOPNOTSUPP) {
                        return Err(MemoryError::Prealloc { size: total, err });
                    }
                }
            }
        }
        let mut flags = if self.shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        if file.is_none() {
            flags |= libc::MAP_ANONYMOUS;
            if self.hugepage.is_some() {
                flags |= libc::MAP_HUGETLB;
            }
        }
        if self.hugepage.is_none() {
            // Guest RAM is overcommitted like QEMU's; --mem-prealloc makes it resident. Huge pages
            // keep their reservation so a shortage fails at mmap, not with SIGBUS later.
            flags |= libc::MAP_NORESERVE;
        }
        Ok(Backing {
            file,
            mmap_flags: flags,
            hugepage: self.hugepage,
            what: self.what,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::Command;

    /// A directory this process cannot create files in, and a guard restoring it; `None` when
    /// the host gives no way to make one (root on a file system without `chattr +i`).
    pub(crate) struct ReadOnlyDir {
        /// Keeps the parent alive.
        _parent: tempfile::TempDir,
        /// The read-only directory.
        pub path: PathBuf,
        immutable: bool,
    }

    impl Drop for ReadOnlyDir {
        fn drop(&mut self) {
            if self.immutable {
                let _ = Command::new("chattr").arg("-i").arg(&self.path).status();
            }
            let _ = std::fs::set_permissions(
                &self.path,
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            );
        }
    }

    pub(crate) fn read_only_dir() -> Option<ReadOnlyDir> {
        let parent = tempfile::tempdir().ok()?;
        let path = parent.path().join("ro");
        std::fs::create_dir(&path).ok()?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o555))
            .ok()?;
        let mut guard = ReadOnlyDir {
            _parent: parent,
            path,
            immutable: false,
        };
        if host::writable(&guard.path).ok()? {
            // Root ignores permissions: make the directory immutable instead.
            let ok = Command::new("chattr")
                .arg("+i")
                .arg(&guard.path)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return None;
            }
            guard.immutable = true;
            if host::writable(&guard.path).ok()? {
                return None;
            }
        }
        Some(guard)
    }

    #[test]
    fn plan_has_no_side_effects() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = MemoryConfig {
            backend: MemBackend::File,
            path: Some(dir.path().into()),
            ..Default::default()
        };
        let p = plan(&cfg).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(p.hugepage.is_none());
        let b = p.open(1 << 20, false).unwrap();
        assert_eq!(b.file.as_ref().unwrap().metadata().unwrap().len(), 1 << 20);
        assert_eq!(b.mmap_flags & libc::MAP_SHARED, libc::MAP_SHARED);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn anon_flags_follow_shared() {
        let b = plan(&MemoryConfig::default())
            .unwrap()
            .open(4096, false)
            .unwrap();
        assert!(b.file.is_none());
        assert_eq!(
            b.mmap_flags,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE
        );
        let cfg = MemoryConfig {
            shared: true,
            ..Default::default()
        };
        let b = plan(&cfg).unwrap().open(4096, false).unwrap();
        assert_eq!(b.mmap_flags & libc::MAP_SHARED, libc::MAP_SHARED);
    }

    #[test]
    fn probe_maps_a_regular_file() {
        let f = tempfile::tempfile().unwrap();
        f.set_len(4096).unwrap();
        probe_shared(&f, 4096).unwrap();
        // A descriptor without a mappable file (a pipe) fails like an unmappable file system.
        let (r, _w) = std::io::pipe().unwrap();
        // SAFETY: the descriptor stays owned by `r`, which outlives the File wrapper we forget.
        let as_file = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(r.as_raw_fd()) });
        assert!(probe_shared(&as_file, 4096).is_err());
    }

    #[test]
    fn read_only_dir_and_file_are_refused() {
        let Some(ro) = read_only_dir() else {
            eprintln!("skipped: cannot make a read-only directory here");
            return;
        };
        let cfg = MemoryConfig {
            backend: MemBackend::File,
            path: Some(ro.path.clone()),
            ..Default::default()
        };
        let e = plan(&cfg).unwrap_err();
        assert!(matches!(e, MemoryError::ReadOnly { .. }), "{e}");
    }
}
