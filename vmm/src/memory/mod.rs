//! Guest RAM: a vm-memory [`GuestMemoryMmap`] built from the board's RAM regions, backed by
//! anonymous memory, a memfd, or a file (or a temporary file in a directory, hugetlbfs included).
//!
//! Everything that can make the guest fail later (size, huge page alignment and supply, a missing
//! or read-only path, a file system that cannot map the file shared) is checked before the guest
//! starts, and reported as one line naming the problem and the fix.

mod backend;
pub mod host;
pub mod prealloc;

use std::fmt;
use std::path::PathBuf;

use vm_memory::mmap::MmapRegionBuilder;
use vm_memory::{FileOffset, GuestAddress, GuestMemoryMmap, GuestRegionMmap};

/// What backs guest RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MemBackend {
    /// Anonymous memory (private unless `--mem-shared`).
    #[default]
    Anon,
    /// A memfd (`memfd_create`), mapped shared; `--hugepages` makes it `MFD_HUGETLB`.
    Memfd,
    /// The file `--mem-path`, or a temporary file created and unlinked in the directory
    /// `--mem-path` (hugetlbfs mounts included); mapped shared.
    File,
}

impl fmt::Display for MemBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemBackend::Anon => "anon",
            MemBackend::Memfd => "memfd",
            MemBackend::File => "file",
        })
    }
}

/// How to back guest RAM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryConfig {
    /// The backend.
    pub backend: MemBackend,
    /// The file or directory of the `file` backend.
    pub path: Option<PathBuf>,
    /// Back memory with huge pages (`anon`: `MAP_HUGETLB`, `memfd`: `MFD_HUGETLB`; for `file`,
    /// put `--mem-path` on hugetlbfs instead).
    pub hugepages: bool,
    /// Populate all memory before the guest starts.
    pub prealloc: bool,
    /// Map shared (`MAP_SHARED`) even for `anon`; `memfd` and `file` are always shared.
    pub shared: bool,
}

/// Why guest RAM could not be set up. Every message names the problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// No RAM asked for.
    #[error("guest memory size is 0; give --memory a size above zero, e.g. --memory 512M")]
    ZeroSize,
    /// More than the host has.
    #[error(
        "guest memory {} is more than the host's RAM ({}); give a smaller --memory",
        human(*size),
        human(*host)
    )]
    TooLarge {
        /// Requested size.
        size: u64,
        /// Host RAM.
        host: u64,
    },
    /// Huge pages are needed but the host has none configured.
    #[error("huge pages requested but this host has no huge page support ({0}); drop --hugepages")]
    NoHugepages(String),
    /// A RAM region is not a multiple of the huge page size.
    #[error(
        "guest memory region {} at {base:#x} is not a multiple of the huge page size {} of {what}; \
         give --memory a multiple of {}",
        human(*size),
        human(*page),
        human(*page)
    )]
    NotHugeAligned {
        /// Region base.
        base: u64,
        /// Region size.
        size: u64,
        /// Huge page size.
        page: u64,
        /// What the page size belongs to.
        what: String,
    },
    /// Not enough free huge pages.
    #[error(
        "guest memory needs {need} free huge pages of {}, but {pool}/free_hugepages has {free}; \
         reserve more (echo {need} > {pool}/nr_hugepages) or give a smaller --memory",
        human(*page)
    )]
    NotEnoughHugepages {
        /// Pages needed.
        need: u64,
        /// Pages free.
        free: u64,
        /// Page size.
        page: u64,
        /// The sysfs pool directory.
        pool: String,
    },
    /// `--mem-path` is missing for the file backend.
    #[error("--mem-backend file needs --mem-path; give a file or a directory to create one in")]
    PathRequired,
    /// `--mem-path` given with another backend.
    #[error("--mem-path only applies to --mem-backend file (got {0}); drop --mem-path or use --mem-backend file")]
    PathWithoutFile(MemBackend),
    /// `--hugepages` with the file backend.
    #[error(
        "--hugepages does not apply to --mem-backend file; put --mem-path on a hugetlbfs mount \
         (e.g. /dev/hugepages) instead"
    )]
    HugepagesWithFile,
    /// The path does not exist.
    #[error("--mem-path {0}: no such file or directory; create it or give an existing file or directory")]
    PathMissing(PathBuf),
    /// The path (or its file system) is read-only.
    #[error("--mem-path {path} is read-only ({why}); give a writable file or directory")]
    ReadOnly {
        /// The path.
        path: PathBuf,
        /// What said so.
        why: String,
    },
    /// The path is neither a regular file nor a directory.
    #[error("--mem-path {0} is not a regular file or a directory; give a file or a directory")]
    NotFileOrDir(PathBuf),
    /// The file system cannot map the file shared.
    #[error(
        "--mem-path {path}: the file system cannot map the file shared ({err}){fuse}; put \
         --mem-path on tmpfs, ext4, xfs or hugetlbfs, or use --mem-backend anon",
        fuse = if *fuse { "; FUSE file systems are a known case" } else { "" }
    )]
    CannotMapShared {
        /// The path.
        path: PathBuf,
        /// The mmap error.
        err: std::io::Error,
        /// The file system is FUSE.
        fuse: bool,
    },
    /// Another I/O error on the path.
    #[error("--mem-path {path}: {what}: {err}; check the path")]
    PathIo {
        /// The path.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The error.
        err: std::io::Error,
    },
    /// `memfd_create` failed.
    #[error("memfd_create failed: {0}; use --mem-backend anon")]
    Memfd(std::io::Error),
    /// Sizing the backing file failed.
    #[error("cannot size the guest memory backing to {}: {err}; free space or give a smaller --memory", human(*size))]
    Resize {
        /// Requested size.
        size: u64,
        /// The error.
        err: std::io::Error,
    },
    /// `mmap` failed.
    #[error("cannot map {} of guest memory: {err}; give a smaller --memory{hint}", human(*size))]
    Map {
        /// Region size.
        size: u64,
        /// The error.
        err: String,
        /// Extra advice.
        hint: &'static str,
    },
    /// `--mem-prealloc` could not populate memory.
    #[error(
        "preallocating {} of guest memory failed: {err}; free host memory (or huge pages), give a \
         smaller --memory, or drop --mem-prealloc",
        human(*size)
    )]
    Prealloc {
        /// Total size.
        size: u64,
        /// The error.
        err: std::io::Error,
    },
    /// The board's regions overlap or wrap (a bug in the board).
    #[error("guest RAM regions are invalid: {0}")]
    Regions(String),
}

/// `n` bytes in the largest binary unit that divides it (`512M`, `1.5G` style for others).
pub fn human(n: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            return if n.is_multiple_of(size) {
                format!("{}{unit}", n / size)
            } else {
                format!("{:.1}{unit}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} bytes")
}

/// Guest RAM, mapped and (if asked) populated.
#[derive(Debug)]
pub struct GuestRam {
    /// The guest memory the accelerator and the loaders use.
    pub mem: GuestMemoryMmap,
    /// The page size backing it (a huge page size for hugetlb backings).
    pub page_size: u64,
    /// What backs it (see [`GuestRam::summary`]).
    pub description: String,
    /// Transparent huge pages were asked for (and accepted by the kernel).
    pub thp: bool,
}

impl GuestRam {
    /// One line saying what backs guest RAM and with which pages (for `-v`).
    pub fn summary(&self) -> String {
        format!(
            "{} ({} pages{})",
            self.description,
            human(self.page_size),
            if self.thp {
                ", transparent huge pages"
            } else {
                ""
            }
        )
    }
}

/// Maps guest RAM for the board's `regions` (`(base, size)` pairs) as `cfg` says.
pub fn create(regions: &[(u64, u64)], cfg: &MemoryConfig) -> Result<GuestRam, MemoryError> {
    let total = regions
        .iter()
        .try_fold(0u64, |acc, &(_, s)| acc.checked_add(s))
        .ok_or_else(|| MemoryError::Regions("total size overflows".into()))?;
    if total == 0 {
        return Err(MemoryError::ZeroSize);
    }
    if let Some(host) = host::total_ram() {
        if total > host {
            return Err(MemoryError::TooLarge { size: total, host });
        }
    }
    for &(base, size) in regions {
        if base.checked_add(size).is_none() {
            return Err(MemoryError::Regions(format!("{base:#x}+{size:#x} wraps")));
        }
    }
    let plan = backend::plan(cfg)?;
    if let Some(page) = plan.hugepage {
        for &(base, size) in regions {
            if size % page != 0 || base % page != 0 {
                return Err(MemoryError::NotHugeAligned {
                    base,
                    size,
                    page,
                    what: plan.what.clone(),
                });
            }
        }
        let need = total.div_ceil(page) - (plan.existing_len / page).min(total / page);
        let free = host::free_hugepages(page).map_err(|e| {
            MemoryError::NoHugepages(format!("{}: {e}", host::hugepage_pool_dir(page)))
        })?;
        if need > free {
            return Err(MemoryError::NotEnoughHugepages {
                need,
                free,
                page,
                pool: host::hugepage_pool_dir(page),
            });
        }
    }
    let backing = plan.open(total, cfg.prealloc)?;
    let page_size = backing.hugepage.unwrap_or_else(host::page_size);
    let mut thp = backing.hugepage.is_none();
    let mut mapped = Vec::with_capacity(regions.len());
    let mut offset = 0u64;
    for &(base, size) in regions {
        if size == 0 {
            continue;
        }
        let len = usize::try_from(size).map_err(|_| MemoryError::Map {
            size,
            err: "larger than the address space".into(),
            hint: "",
        })?;
        let mut builder = MmapRegionBuilder::new(len)
            .with_mmap_prot(libc::PROT_READ | libc::PROT_WRITE)
            .with_mmap_flags(backing.mmap_flags)
            .with_hugetlbfs(backing.hugepage.is_some());
        if let Some(file) = &backing.file {
            let clone = file.try_clone().map_err(|err| MemoryError::Map {
                size,
                err: err.to_string(),
                hint: "",
            })?;
            builder = builder.with_file_offset(FileOffset::new(clone, offset));
        }
        let region = builder.build().map_err(|e| MemoryError::Map {
            size,
            err: e.to_string(),
            hint: if backing.hugepage.is_some() {
                " or reserve more huge pages"
            } else {
                ""
            },
        })?;
        if thp {
            thp = advise_hugepages(region.as_ptr(), region.size());
        }
        if cfg.prealloc {
            prealloc::populate(
                region.as_ptr(),
                region.size(),
                page_size as usize,
                prealloc::thread_count(size),
            )
            .map_err(|err| MemoryError::Prealloc { size: total, err })?;
        }
        let region = GuestRegionMmap::new(region, GuestAddress(base))
            .ok_or_else(|| MemoryError::Regions(format!("{base:#x}+{size:#x} wraps")))?;
        mapped.push(region);
        offset += size;
    }
    let mem =
        GuestMemoryMmap::from_regions(mapped).map_err(|e| MemoryError::Regions(e.to_string()))?;
    let description = format!(
        "{} of guest RAM: {}{}{}",
        human(total),
        backing.what,
        if backing.mmap_flags & libc::MAP_SHARED != 0 {
            ", shared"
        } else {
            ", private"
        },
        if cfg.prealloc { ", preallocated" } else { "" }
    );
    Ok(GuestRam {
        mem,
        page_size,
        description,
        thp,
    })
}

/// Asks for transparent huge pages on `[addr, addr + len)` (as QEMU does for guest RAM): a
/// first touch then faults in 2 MiB at a time and guest memory needs fewer host TLB entries.
/// Returns whether the kernel accepted (it may be off, or not apply to this mapping).
fn advise_hugepages(addr: *mut u8, len: usize) -> bool {
    // SAFETY: `[addr, addr + len)` is a mapping just created by the caller; MADV_HUGEPAGE only
    // changes how the kernel backs it, never its contents.
    let r = unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    if r != 0 {
        log::debug!(
            "guest RAM: no transparent huge pages: {}",
            std::io::Error::last_os_error()
        );
    }
    r == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::{Bytes, GuestMemoryBackend};

    const MIB: u64 = 1 << 20;

    fn roundtrip(ram: &GuestRam, addr: u64) {
        ram.mem
            .write_obj(0xdead_beef_u32, GuestAddress(addr))
            .unwrap();
        assert_eq!(
            ram.mem.read_obj::<u32>(GuestAddress(addr)).unwrap(),
            0xdead_beef
        );
    }

    #[test]
    fn anon_backing_maps_every_region() {
        let regions = [(0x8000_0000, 4 * MIB), (0x1_0000_0000, 2 * MIB)];
        let ram = create(&regions, &MemoryConfig::default()).unwrap();
        assert_eq!(ram.mem.num_regions(), 2);
        roundtrip(&ram, 0x8000_0000 + 4 * MIB - 4);
        roundtrip(&ram, 0x1_0000_0000);
        assert!(ram
            .mem
            .read_obj::<u32>(GuestAddress(0x8000_0000 + 4 * MIB))
            .is_err());
        assert!(ram.description.contains("anonymous"), "{}", ram.description);
        assert!(ram.description.contains("private"), "{}", ram.description);
    }

    #[test]
    fn anon_shared_and_prealloc() {
        let cfg = MemoryConfig {
            shared: true,
            prealloc: true,
            ..Default::default()
        };
        let ram = create(&[(0x8000_0000, 8 * MIB)], &cfg).unwrap();
        roundtrip(&ram, 0x8000_1000);
        assert!(ram.description.contains("shared"), "{}", ram.description);
        assert!(
            ram.description.contains("preallocated"),
            "{}",
            ram.description
        );
    }

    #[test]
    fn anonymous_ram_asks_for_transparent_huge_pages() {
        let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        if thp.is_empty() || thp.contains("[never]") {
            eprintln!("skipped: transparent huge pages are off on this host");
            return;
        }
        let ram = create(&[(0x8000_0000, 64 << 20)], &MemoryConfig::default()).unwrap();
        assert!(ram.thp);
        assert!(
            ram.summary().contains("transparent huge pages"),
            "{}",
            ram.summary()
        );
        // The kernel lists the mapping as eligible.
        let addr = ram.mem.iter().next().unwrap().as_ptr() as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut in_region = false;
        let mut eligible = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((lo, _)) = range.split_once('-') {
                    if let Ok(lo) = usize::from_str_radix(lo, 16) {
                        in_region = lo == addr;
                        continue;
                    }
                }
            }
            if in_region {
                if let Some(v) = line.strip_prefix("THPeligible:") {
                    eligible = Some(v.trim().to_string());
                }
            }
        }
        assert_eq!(eligible.as_deref(), Some("1"));
    }

    #[test]
    fn memfd_backing_is_shared() {
        let cfg = MemoryConfig {
            backend: MemBackend::Memfd,
            prealloc: true,
            ..Default::default()
        };
        let ram = create(&[(0x8000_0000, 4 * MIB)], &cfg).unwrap();
        roundtrip(&ram, 0x8000_0000);
        assert!(ram.description.contains("memfd"), "{}", ram.description);
        assert!(ram.description.contains("shared"), "{}", ram.description);
    }

    #[test]
    fn file_backing_writes_through_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ram");
        std::fs::write(&path, b"").unwrap();
        let cfg = MemoryConfig {
            backend: MemBackend::File,
            path: Some(path.clone()),
            ..Default::default()
        };
        let ram = create(&[(0x8000_0000, 2 * MIB)], &cfg).unwrap();
        ram.mem
            .write_slice(b"hello", GuestAddress(0x8000_0010))
            .unwrap();
        drop(ram);
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len() as u64, 2 * MIB, "file extended to the RAM size");
        assert_eq!(&data[0x10..0x15], b"hello");
    }

    #[test]
    fn directory_backing_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = MemoryConfig {
            backend: MemBackend::File,
            path: Some(dir.path().to_path_buf()),
            prealloc: true,
            ..Default::default()
        };
        let ram = create(&[(0x8000_0000, 2 * MIB)], &cfg).unwrap();
        roundtrip(&ram, 0x8000_0000);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temp file unlinked"
        );
        assert!(ram.description.contains(&dir.path().display().to_string()));
    }

    #[test]
    fn size_errors() {
        assert!(matches!(
            create(&[(0x8000_0000, 0)], &MemoryConfig::default()),
            Err(MemoryError::ZeroSize)
        ));
        let host = host::total_ram().unwrap();
        let e = create(&[(0x8000_0000, host + MIB)], &MemoryConfig::default()).unwrap_err();
        assert!(matches!(e, MemoryError::TooLarge { .. }));
        assert!(e.to_string().contains("--memory"), "{e}");
    }

    #[test]
    fn path_errors() {
        let file = |path: PathBuf| MemoryConfig {
            backend: MemBackend::File,
            path: Some(path),
            ..Default::default()
        };
        let r = [(0x8000_0000, 2 * MIB)];
        let e = create(&r, &file("/nonexistent/vmm-ram".into())).unwrap_err();
        assert!(matches!(e, MemoryError::PathMissing(_)), "{e}");
        assert!(e.to_string().contains("/nonexistent/vmm-ram"), "{e}");
        let e = create(&r, &file("/dev/null".into())).unwrap_err();
        assert!(matches!(e, MemoryError::NotFileOrDir(_)), "{e}");
        let e = create(
            &r,
            &MemoryConfig {
                backend: MemBackend::File,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(e, MemoryError::PathRequired));
        let e = create(
            &r,
            &MemoryConfig {
                path: Some("/tmp".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(e, MemoryError::PathWithoutFile(MemBackend::Anon)));
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = file(dir.path().into());
        cfg.hugepages = true;
        assert!(matches!(
            create(&r, &cfg),
            Err(MemoryError::HugepagesWithFile)
        ));
    }

    #[test]
    fn read_only_mount_is_reported() {
        let Some(guard) = backend::tests::read_only_dir() else {
            eprintln!("skipped: cannot make a read-only directory here");
            return;
        };
        let ro = guard.path.clone();
        let cfg = MemoryConfig {
            backend: MemBackend::File,
            path: Some(ro.clone()),
            ..Default::default()
        };
        let e = create(&[(0x8000_0000, 2 * MIB)], &cfg).unwrap_err();
        assert!(matches!(e, MemoryError::ReadOnly { .. }), "{e}");
        assert!(e.to_string().contains(&ro.display().to_string()), "{e}");
    }

    #[test]
    fn hugepages_when_available_else_a_clear_error() {
        let Some(page) = host::default_hugepage_size() else {
            eprintln!("skipped: no huge page support");
            return;
        };
        let free = host::free_hugepages(page).unwrap_or(0);
        let cfg = MemoryConfig {
            backend: MemBackend::Memfd,
            hugepages: true,
            ..Default::default()
        };
        // Misaligned size is always refused, whatever the pool holds.
        let e = create(&[(0x8000_0000, page + 4096)], &cfg).unwrap_err();
        assert!(matches!(e, MemoryError::NotHugeAligned { .. }), "{e}");
        let need = free + 1;
        match create(&[(0x8000_0000, need * page)], &cfg) {
            Err(MemoryError::NotEnoughHugepages {
                need: n, free: f, ..
            }) => {
                assert_eq!((n, f), (need, free));
            }
            Err(MemoryError::TooLarge { .. }) => {}
            other => panic!("expected a huge page shortage, got {other:?}"),
        }
        if free == 0 {
            eprintln!(
                "skipped: no free huge pages of {} for the positive case",
                human(page)
            );
            return;
        }
        let ram = create(&[(0x8000_0000, page)], &cfg).unwrap();
        roundtrip(&ram, 0x8000_0000);
        assert_eq!(ram.page_size, page);
    }

    /// The first hugetlbfs mount point in `/proc/mounts`.
    pub(crate) fn hugetlbfs_mount() -> Option<PathBuf> {
        let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
        mounts.lines().find_map(|l| {
            let mut f = l.split_whitespace();
            let (_, dir, ty) = (f.next()?, f.next()?, f.next()?);
            (ty == "hugetlbfs").then(|| PathBuf::from(dir))
        })
    }

    #[test]
    fn hugetlbfs_directory_when_mounted_with_free_pages() {
        let Some(dir) = hugetlbfs_mount() else {
            eprintln!("skipped: no hugetlbfs mount in /proc/mounts");
            return;
        };
        let fs = host::fs_info(&dir).unwrap();
        assert!(fs.is_hugetlbfs());
        let page = fs.block_size;
        let cfg = MemoryConfig {
            backend: MemBackend::File,
            path: Some(dir.clone()),
            ..Default::default()
        };
        let e = create(&[(0x8000_0000, page / 2)], &cfg).unwrap_err();
        assert!(matches!(e, MemoryError::NotHugeAligned { .. }), "{e}");
        if host::free_hugepages(page).unwrap_or(0) == 0 {
            eprintln!(
                "skipped: no free huge pages of {} in {}",
                human(page),
                dir.display()
            );
            return;
        }
        let ram = create(&[(0x8000_0000, page)], &cfg).unwrap();
        roundtrip(&ram, 0x8000_0000);
        assert_eq!(ram.page_size, page);
        assert!(ram.description.contains("hugetlbfs"), "{}", ram.description);
    }

    #[test]
    fn unmappable_file_system_message_names_fuse() {
        let e = MemoryError::CannotMapShared {
            path: "/mnt/fuse/ram".into(),
            err: std::io::Error::from_raw_os_error(libc::ENODEV),
            fuse: true,
        };
        let msg = e.to_string();
        assert!(
            msg.contains("/mnt/fuse/ram") && msg.contains("FUSE"),
            "{msg}"
        );
        assert!(msg.contains("--mem-backend anon"), "{msg}");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(512 * MIB), "512M");
        assert_eq!(human(2 << 30), "2G");
        assert_eq!(human(1536 * MIB), "1.5G");
        assert_eq!(human(100), "100 bytes");
    }
}
