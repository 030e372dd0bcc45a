//! Winbond W25X16/W25X32 SPI NOR flashes, in memory or backed by an image file.
//!
//! A file-backed flash maps its image with `MAP_SHARED` ([`memmap2::MmapMut`]): every program
//! or erase lands in the page cache at once, so nothing the guest wrote is lost if the VMM is
//! killed; [`SpiFlash::flush`] additionally forces it to disk (`msync`).
//!
//! Timing choices (operations complete instantly, BUSY always reads 0):
//! - page program ANDs each data byte into the array as it arrives (bits only go 1→0), the
//!   address wrapping within the 256-byte page; WEL is cleared when CS is deasserted;
//! - sector, block and chip erase execute as soon as their last byte (the last address byte, or
//!   the command byte for chip erase) arrives, and clear WEL at once.
//!
//! Real parts act on CS deassert instead; the difference is only visible to a guest that never
//! deasserts CS, and acting early means a guest killed mid-command loses nothing it sent.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use memmap2::{MmapMut, MmapOptions};

use crate::bus::lock;

/// A device on an SPI bus, seen from the controller.
pub trait SpiSlave: Send {
    /// Drives the chip-select input; deasserting resets the command state machine.
    fn set_selected(&mut self, selected: bool);
    /// Exchanges one byte (MSB first on the wire): `tx` in, the returned byte out.
    fn transfer(&mut self, tx: u8) -> u8;
}

/// A shared slave: the board keeps one handle (e.g. to flush a flash at exit), the controller
/// another.
impl<T: SpiSlave + ?Sized> SpiSlave for Arc<Mutex<T>> {
    fn set_selected(&mut self, selected: bool) {
        lock(self).set_selected(selected);
    }

    fn transfer(&mut self, tx: u8) -> u8 {
        lock(self).transfer(tx)
    }
}

/// The flash parts G233 carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashModel {
    /// Winbond W25X16: 2 MiB, JEDEC ID EF 30 15.
    W25X16,
    /// Winbond W25X32: 4 MiB, JEDEC ID EF 30 16.
    W25X32,
}

impl FlashModel {
    /// Capacity in bytes.
    pub fn size(self) -> u64 {
        match self {
            FlashModel::W25X16 => 2 << 20,
            FlashModel::W25X32 => 4 << 20,
        }
    }

    /// The three bytes answered to JEDEC ID (0x9F): manufacturer, memory type, capacity.
    pub fn jedec_id(self) -> [u8; 3] {
        match self {
            FlashModel::W25X16 => [0xEF, 0x30, 0x15],
            FlashModel::W25X32 => [0xEF, 0x30, 0x16],
        }
    }

    /// The device ID answered to 0xAB and 0x90.
    pub fn device_id(self) -> u8 {
        match self {
            FlashModel::W25X16 => 0x14,
            FlashModel::W25X32 => 0x15,
        }
    }

    /// The part's name.
    pub fn name(self) -> &'static str {
        match self {
            FlashModel::W25X16 => "W25X16",
            FlashModel::W25X32 => "W25X32",
        }
    }
}

/// Why a flash image could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FlashError {
    /// The image could not be opened (or created) read-write.
    #[error(
        "cannot open flash image {} read-write: {source} (the file, or its directory if the \
         file does not exist yet, must be writable: the guest programs the flash)",
        .path.display()
    )]
    Open {
        /// The image path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The image is not a regular file.
    #[error("flash image {} is not a regular file", .path.display())]
    NotAFile {
        /// The image path.
        path: PathBuf,
    },
    /// The image exists with a size other than the chip's.
    #[error(
        "flash image {} is {actual} bytes but the flash needs exactly {expected} bytes; \
         create it with: truncate -s {expected} {} (or remove it and vmm creates an erased one)",
        .path.display(),
        .path.display()
    )]
    WrongSize {
        /// The image path.
        path: PathBuf,
        /// Its size.
        actual: u64,
        /// The chip size.
        expected: u64,
    },
    /// Another process holds the image.
    #[error("flash image {} is in use by another process", .path.display())]
    Locked {
        /// The image path.
        path: PathBuf,
    },
    /// Preparing, mapping or syncing the image failed.
    #[error("flash image {}: {what}: {source}", .path.display())]
    Io {
        /// The image path.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
}

enum Storage {
    Memory(Vec<u8>),
    File {
        map: MmapMut,
        path: PathBuf,
        /// Kept open for the advisory lock.
        _file: File,
    },
}

/// Where the command state machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The next byte is a command.
    Idle,
    /// Collecting the `n`th address byte of `cmd`.
    Addr { cmd: u8, addr: u32, n: u8 },
    /// Fast read: the dummy byte before the data.
    Dummy { addr: u32 },
    /// Streaming data out.
    Read { addr: u32 },
    /// Page program data coming in.
    Program { addr: u32 },
    /// JEDEC ID bytes going out.
    JedecId { idx: u8 },
    /// Status register, repeated.
    Status,
    /// Release power-down: `n` dummy bytes seen so far, then the device ID (repeated).
    ReleasePowerDown { n: u8 },
    /// Manufacturer/device ID pairs going out.
    MfrDeviceId { idx: u8 },
    /// Command done (or unknown): ignore bytes until CS is deasserted.
    Ignore,
}

const PAGE: u32 = 256;
const SECTOR: u32 = 4 << 10;
const BLOCK: u32 = 64 << 10;
const STATUS_WEL: u8 = 1 << 1;

/// A W25X16/W25X32 SPI NOR flash.
pub struct SpiFlash {
    model: FlashModel,
    storage: Storage,
    selected: bool,
    phase: Phase,
    wel: bool,
}

impl SpiFlash {
    fn with_storage(model: FlashModel, storage: Storage) -> SpiFlash {
        SpiFlash {
            model,
            storage,
            selected: false,
            phase: Phase::Idle,
            wel: false,
        }
    }

    /// An erased (all 0xFF) flash held in memory.
    pub fn new_erased(model: FlashModel) -> SpiFlash {
        Self::with_storage(model, Storage::Memory(vec![0xFF; model.size() as usize]))
    }

    /// A flash backed by the image at `path`: a missing or empty file is created/extended to
    /// the chip size and erased (0xFF); a file of exactly the chip size is used as is; any other
    /// size is refused.
    pub fn open(model: FlashModel, path: &Path) -> Result<SpiFlash, FlashError> {
        let pb = || path.to_path_buf();
        let io = |what: &'static str| {
            move |source| FlashError::Io {
                path: path.to_path_buf(),
                what,
                source,
            }
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|source| FlashError::Open { path: pb(), source })?;
        let meta = file.metadata().map_err(io("reading its metadata"))?;
        if !meta.is_file() {
            return Err(FlashError::NotAFile { path: pb() });
        }
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(FlashError::Locked { path: pb() });
            }
            log::warn!("flash image {}: cannot lock it: {e}", path.display());
        }
        let expected = model.size();
        match meta.len() {
            0 => {
                // Written with write(2) rather than through the mapping, so a full disk is an
                // error here and not a SIGBUS later.
                let chunk = vec![0xFFu8; 64 << 10];
                for _ in 0..expected / chunk.len() as u64 {
                    file.write_all(&chunk).map_err(io("erasing it"))?;
                }
                file.sync_all().map_err(io("erasing it"))?;
            }
            n if n == expected => {
                // Allocate any holes (e.g. from `truncate -s`) now, for the same reason.
                // SAFETY: posix_fallocate on a file descriptor we own; no memory is involved.
                let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, expected as i64) };
                if rc == libc::ENOSPC {
                    return Err(FlashError::Io {
                        path: pb(),
                        what: "allocating its blocks",
                        source: std::io::Error::from_raw_os_error(rc),
                    });
                }
            }
            actual => {
                return Err(FlashError::WrongSize {
                    path: pb(),
                    actual,
                    expected,
                })
            }
        }
        // SAFETY: the mapping covers exactly the file's length, checked or set above, and the
        // file is locked against other cooperating users. Another process truncating it
        // behind our back could still cause SIGBUS; that is outside what we can prevent.
        let map = unsafe { MmapOptions::new().len(expected as usize).map_mut(&file) }
            .map_err(io("mapping it"))?;
        Ok(Self::with_storage(
            model,
            Storage::File {
                map,
                path: pb(),
                _file: file,
            },
        ))
    }

    /// Forces file-backed contents to disk (no-op in memory).
    pub fn flush(&self) -> Result<(), FlashError> {
        match &self.storage {
            Storage::Memory(_) => Ok(()),
            Storage::File { map, path, .. } => map.flush().map_err(|source| FlashError::Io {
                path: path.clone(),
                what: "writing it back",
                source,
            }),
        }
    }

    /// The part.
    pub fn model(&self) -> FlashModel {
        self.model
    }

    /// The whole array.
    pub fn contents(&self) -> &[u8] {
        match &self.storage {
            Storage::Memory(v) => v,
            Storage::File { map, .. } => map,
        }
    }

    fn contents_mut(&mut self) -> &mut [u8] {
        match &mut self.storage {
            Storage::Memory(v) => v,
            Storage::File { map, .. } => map,
        }
    }

    /// Whether the write-enable latch is set.
    pub fn write_enabled(&self) -> bool {
        self.wel
    }

    fn status(&self) -> u8 {
        if self.wel {
            STATUS_WEL
        } else {
            0
        }
    }

    fn mask(&self) -> u32 {
        (self.model.size() - 1) as u32
    }

    fn erase(&mut self, addr: u32, len: u32) {
        let start = (addr & self.mask() & !(len - 1)) as usize;
        let end = start + len as usize;
        if let Some(s) = self.contents_mut().get_mut(start..end) {
            s.fill(0xFF);
        }
        self.wel = false;
    }

    /// Handles the command byte.
    fn command(&mut self, cmd: u8) -> Phase {
        let needs_wel = matches!(cmd, 0x02 | 0x20 | 0xD8 | 0xC7 | 0x60);
        if needs_wel && !self.wel {
            log::debug!(
                "{}: command {cmd:#04x} without WEL ignored",
                self.model.name()
            );
            return Phase::Ignore;
        }
        match cmd {
            0x9F => Phase::JedecId { idx: 0 },
            0x05 => Phase::Status,
            0x06 => {
                self.wel = true;
                Phase::Ignore
            }
            0x04 => {
                self.wel = false;
                Phase::Ignore
            }
            0x03 | 0x0B | 0x02 | 0x20 | 0xD8 | 0x90 => Phase::Addr { cmd, addr: 0, n: 0 },
            0xC7 | 0x60 => {
                self.contents_mut().fill(0xFF);
                self.wel = false;
                Phase::Ignore
            }
            0xAB => Phase::ReleasePowerDown { n: 0 },
            _ => {
                log::debug!("{}: unknown command {cmd:#04x}", self.model.name());
                Phase::Ignore
            }
        }
    }

    /// Handles the last address byte of `cmd`.
    fn addressed(&mut self, cmd: u8, addr: u32) -> Phase {
        let addr = addr & self.mask();
        match cmd {
            0x03 => Phase::Read { addr },
            0x0B => Phase::Dummy { addr },
            0x02 => Phase::Program { addr },
            0x20 => {
                self.erase(addr, SECTOR);
                Phase::Ignore
            }
            0xD8 => {
                self.erase(addr, BLOCK);
                Phase::Ignore
            }
            0x90 => Phase::MfrDeviceId {
                idx: (addr & 1) as u8,
            },
            _ => Phase::Ignore,
        }
    }
}

impl SpiSlave for SpiFlash {
    fn set_selected(&mut self, selected: bool) {
        if self.selected && !selected && matches!(self.phase, Phase::Program { .. }) {
            self.wel = false;
        }
        if self.selected != selected {
            self.phase = Phase::Idle;
        }
        self.selected = selected;
    }

    fn transfer(&mut self, tx: u8) -> u8 {
        if !self.selected {
            return 0;
        }
        let (reply, next) = match self.phase {
            Phase::Idle => (0, self.command(tx)),
            Phase::Addr { cmd, addr, n } => {
                let addr = (addr << 8) | u32::from(tx);
                if n == 2 {
                    (0, self.addressed(cmd, addr))
                } else {
                    (
                        0,
                        Phase::Addr {
                            cmd,
                            addr,
                            n: n + 1,
                        },
                    )
                }
            }
            Phase::Dummy { addr } => (0, Phase::Read { addr }),
            Phase::Read { addr } => {
                let b = self.contents().get(addr as usize).copied().unwrap_or(0xFF);
                (
                    b,
                    Phase::Read {
                        addr: addr.wrapping_add(1) & self.mask(),
                    },
                )
            }
            Phase::Program { addr } => {
                if let Some(b) = self.contents_mut().get_mut(addr as usize) {
                    *b &= tx;
                }
                let next = (addr & !(PAGE - 1)) | (addr.wrapping_add(1) & (PAGE - 1));
                (0, Phase::Program { addr: next })
            }
            Phase::JedecId { idx } => {
                let id = self.model.jedec_id();
                let b = id.get(usize::from(idx)).copied().unwrap_or(0);
                (
                    b,
                    Phase::JedecId {
                        idx: idx.saturating_add(1),
                    },
                )
            }
            Phase::Status => (self.status(), Phase::Status),
            Phase::ReleasePowerDown { n } if n < 3 => (0, Phase::ReleasePowerDown { n: n + 1 }),
            Phase::ReleasePowerDown { n } => {
                (self.model.device_id(), Phase::ReleasePowerDown { n })
            }
            Phase::MfrDeviceId { idx } => {
                let b = if idx & 1 == 0 {
                    0xEF
                } else {
                    self.model.device_id()
                };
                (b, Phase::MfrDeviceId { idx: idx ^ 1 })
            }
            Phase::Ignore => (0, Phase::Ignore),
        };
        self.phase = next;
        reply
    }
}

impl Drop for SpiFlash {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            log::error!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one CS-framed command, returning every reply byte.
    fn cmd(f: &mut dyn SpiSlave, bytes: &[u8]) -> Vec<u8> {
        f.set_selected(true);
        let r = bytes.iter().map(|&b| f.transfer(b)).collect();
        f.set_selected(false);
        r
    }

    fn read(f: &mut dyn SpiSlave, addr: u32, n: usize) -> Vec<u8> {
        let mut b = vec![0x03, (addr >> 16) as u8, (addr >> 8) as u8, addr as u8];
        b.resize(4 + n, 0);
        cmd(f, &b)[4..].to_vec()
    }

    fn program(f: &mut dyn SpiSlave, addr: u32, data: &[u8]) {
        cmd(f, &[0x06]);
        let mut b = vec![0x02, (addr >> 16) as u8, (addr >> 8) as u8, addr as u8];
        b.extend_from_slice(data);
        cmd(f, &b);
    }

    fn status(f: &mut dyn SpiSlave) -> u8 {
        cmd(f, &[0x05, 0])[1]
    }

    #[test]
    fn models_and_ids() {
        for (m, size, id, dev) in [
            (FlashModel::W25X16, 2 << 20, [0xEF, 0x30, 0x15], 0x14),
            (FlashModel::W25X32, 4 << 20, [0xEF, 0x30, 0x16], 0x15),
        ] {
            assert_eq!(m.size(), size);
            let mut f = SpiFlash::new_erased(m);
            assert_eq!(f.contents().len() as u64, size);
            assert_eq!(
                cmd(&mut f, &[0x9F, 0, 0, 0, 0]),
                vec![0, id[0], id[1], id[2], 0]
            );
            assert_eq!(
                cmd(&mut f, &[0xAB, 0, 0, 0, 0, 0]),
                vec![0, 0, 0, 0, dev, dev]
            );
            assert_eq!(
                cmd(&mut f, &[0x90, 0, 0, 0, 0, 0, 0]),
                vec![0, 0, 0, 0, 0xEF, dev, 0xEF]
            );
            assert_eq!(
                cmd(&mut f, &[0x90, 0, 0, 1, 0, 0]),
                vec![0, 0, 0, 0, dev, 0xEF]
            );
            assert_eq!(m.device_id(), dev);
            assert_eq!(m.jedec_id(), id);
        }
    }

    #[test]
    fn erased_read_streams_and_wraps_at_chip_size() {
        let mut f = SpiFlash::new_erased(FlashModel::W25X16);
        assert_eq!(read(&mut f, 0, 4), vec![0xFF; 4]);
        program(&mut f, 0, &[1, 2]);
        program(&mut f, 0x1F_FFFF, &[9]);
        assert_eq!(read(&mut f, 0x1F_FFFE, 4), vec![0xFF, 9, 1, 2]);
        // Address bits above the chip size are ignored.
        assert_eq!(read(&mut f, 0xE0_0000, 2), vec![1, 2]);
        // Fast read: one dummy byte after the address.
        assert_eq!(
            cmd(&mut f, &[0x0B, 0, 0, 0, 0, 0, 0]),
            vec![0, 0, 0, 0, 0, 1, 2]
        );
    }

    #[test]
    fn wel_set_clear_and_required() {
        let mut f = SpiFlash::new_erased(FlashModel::W25X16);
        assert_eq!(status(&mut f), 0);
        cmd(&mut f, &[0x06]);
        assert_eq!(status(&mut f), STATUS_WEL);
        // Status repeats while selected.
        assert_eq!(cmd(&mut f, &[0x05, 0, 0, 0]), vec![0, 2, 2, 2]);
        cmd(&mut f, &[0x04]);
        assert_eq!(status(&mut f), 0);
        // Program without WEL does nothing.
        cmd(&mut f, &[0x02, 0, 0, 0, 0x00]);
        assert_eq!(read(&mut f, 0, 1), vec![0xFF]);
        // Program with WEL works and clears WEL.
        program(&mut f, 0, &[0x00]);
        assert_eq!(read(&mut f, 0, 1), vec![0x00]);
        assert!(!f.write_enabled());
        // Erase without WEL does nothing.
        cmd(&mut f, &[0x20, 0, 0, 0]);
        cmd(&mut f, &[0xC7]);
        assert_eq!(read(&mut f, 0, 1), vec![0x00]);
    }

    #[test]
    fn program_only_clears_bits_and_wraps_in_page() {
        let mut f = SpiFlash::new_erased(FlashModel::W25X32);
        program(&mut f, 0x100, &[0xF0]);
        program(&mut f, 0x100, &[0x3C]);
        assert_eq!(read(&mut f, 0x100, 1), vec![0x30]);
        // Start at the last byte of page 0x200: the second byte wraps to the page start.
        program(&mut f, 0x2FF, &[0xAA, 0xBB, 0xCC]);
        assert_eq!(read(&mut f, 0x2FF, 2), vec![0xAA, 0xFF]);
        assert_eq!(read(&mut f, 0x200, 2), vec![0xBB, 0xCC]);
        assert_eq!(read(&mut f, 0x300, 1), vec![0xFF]);
    }

    #[test]
    fn sector_block_and_chip_erase() {
        let mut f = SpiFlash::new_erased(FlashModel::W25X16);
        for a in [0x0FFF, 0x1000, 0x1FFF, 0x2000, 0x10000, 0x20000] {
            program(&mut f, a, &[0]);
        }
        cmd(&mut f, &[0x06]);
        cmd(&mut f, &[0x20, 0x00, 0x1A, 0xBC]); // sector 0x1000..0x2000
        assert!(!f.write_enabled());
        assert_eq!(read(&mut f, 0x0FFF, 1), vec![0]);
        assert_eq!(read(&mut f, 0x1000, 1), vec![0xFF]);
        assert_eq!(read(&mut f, 0x1FFF, 1), vec![0xFF]);
        assert_eq!(read(&mut f, 0x2000, 1), vec![0]);
        cmd(&mut f, &[0x06]);
        cmd(&mut f, &[0xD8, 0x00, 0x00, 0x10]); // block 0..0x10000
        assert_eq!(read(&mut f, 0x0FFF, 1), vec![0xFF]);
        assert_eq!(read(&mut f, 0x2000, 1), vec![0xFF]);
        assert_eq!(read(&mut f, 0x10000, 1), vec![0]);
        for c in [0xC7, 0x60] {
            program(&mut f, 0x20000, &[0]);
            cmd(&mut f, &[0x06]);
            cmd(&mut f, &[c]);
            assert!(f.contents().iter().all(|&b| b == 0xFF));
            assert!(!f.write_enabled());
        }
    }

    #[test]
    fn deselect_resets_the_state_machine_mid_command() {
        let mut f = SpiFlash::new_erased(FlashModel::W25X16);
        program(&mut f, 0x10, &[0x42]);
        f.set_selected(true);
        assert_eq!(f.transfer(0x03), 0);
        assert_eq!(f.transfer(0x00), 0);
        f.set_selected(false);
        // A fresh command, not address bytes of the aborted read.
        f.set_selected(true);
        assert_eq!(f.transfer(0x9F), 0);
        assert_eq!(f.transfer(0), 0xEF);
        f.set_selected(false);
        assert_eq!(read(&mut f, 0x10, 1), vec![0x42]);
        // Unselected: transfers are ignored.
        assert_eq!(f.transfer(0x9F), 0);
        assert_eq!(f.transfer(0), 0);
        // Unknown commands reply 0.
        assert_eq!(cmd(&mut f, &[0x77, 0x12, 0x34]), vec![0, 0, 0]);
    }

    #[test]
    fn shared_handle_drives_the_same_flash() {
        let shared = Arc::new(Mutex::new(SpiFlash::new_erased(FlashModel::W25X16)));
        let mut boxed: Box<dyn SpiSlave> = Box::new(shared.clone());
        program(boxed.as_mut(), 5, &[0x5A]);
        assert_eq!(lock(&shared).contents()[5], 0x5A);
    }

    #[test]
    fn file_backed_flash_persists_without_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk0.img");
        let mut f = SpiFlash::open(FlashModel::W25X16, &path).unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.len(), 2 << 20);
        assert!(raw.iter().all(|&b| b == 0xFF), "a new image is erased");
        program(&mut f, 0x1234, b"hello");
        // MAP_SHARED: the data is in the file (page cache) before any flush.
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(&raw[0x1234..0x1239], b"hello");
        drop(f);
        let mut f = SpiFlash::open(FlashModel::W25X16, &path).unwrap();
        assert_eq!(read(&mut f, 0x1234, 5), b"hello".to_vec());
        f.flush().unwrap();
    }

    #[test]
    fn file_size_policy() {
        let dir = tempfile::tempdir().unwrap();
        // Existing empty file: extended and erased.
        let empty = dir.path().join("empty.img");
        std::fs::write(&empty, b"").unwrap();
        let f = SpiFlash::open(FlashModel::W25X32, &empty).unwrap();
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 4 << 20);
        assert!(f.contents().iter().all(|&b| b == 0xFF));
        drop(f);
        // Exact size (e.g. from truncate, zero-filled): used as is.
        let zeros = dir.path().join("zeros.img");
        std::fs::File::create(&zeros)
            .unwrap()
            .set_len(2 << 20)
            .unwrap();
        let mut f = SpiFlash::open(FlashModel::W25X16, &zeros).unwrap();
        assert_eq!(read(&mut f, 0, 2), vec![0, 0]);
        drop(f);
        // Wrong size: refused with a message naming path, sizes and the fix.
        let e = SpiFlash::open(FlashModel::W25X32, &zeros).err().unwrap();
        let msg = e.to_string();
        assert!(matches!(
            e,
            FlashError::WrongSize {
                actual: 2097152,
                expected: 4194304,
                ..
            }
        ));
        assert!(msg.contains(&zeros.display().to_string()), "{msg}");
        assert!(msg.contains("2097152") && msg.contains("4194304"), "{msg}");
        assert!(msg.contains("truncate -s 4194304"), "{msg}");
        assert!(msg.contains("remove it"), "{msg}");
        // A directory is not an image.
        let e = SpiFlash::open(FlashModel::W25X16, dir.path())
            .err()
            .unwrap();
        assert!(e.to_string().contains(&dir.path().display().to_string()));
    }

    #[test]
    fn image_in_use_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.img");
        let _f = SpiFlash::open(FlashModel::W25X16, &path).unwrap();
        let e = SpiFlash::open(FlashModel::W25X16, &path).err().unwrap();
        assert!(matches!(e, FlashError::Locked { .. }), "{e}");
    }

    #[test]
    fn read_only_image_gives_a_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro.img");
        std::fs::write(&path, vec![0xFFu8; 2 << 20]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        match SpiFlash::open(FlashModel::W25X16, &path) {
            // Running as root ignores permissions; nothing to check then.
            Ok(_) => {}
            Err(e) => {
                let msg = e.to_string();
                assert!(matches!(e, FlashError::Open { .. }));
                assert!(
                    msg.contains("read-write") && msg.contains("ro.img"),
                    "{msg}"
                );
            }
        }
        let missing = dir.path().join("no/such/dir/x.img");
        let e = SpiFlash::open(FlashModel::W25X16, &missing).err().unwrap();
        assert!(matches!(e, FlashError::Open { .. }));
    }
}
