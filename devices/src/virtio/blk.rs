//! virtio-blk backed by a host file: read, write, flush (honoured with `fdatasync`), get-id,
//! and a read-only mode.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use virtio_queue::{Queue, QueueT};
use vm_memory::GuestMemoryMmap;

use super::{read_config_bytes, VirtioDevice, TYPE_BLOCK};

/// Sector size of the virtio-blk protocol.
pub const SECTOR_SIZE: u64 = 512;

const VIRTIO_BLK_F_RO: u64 = 1 << 5;
const VIRTIO_BLK_F_FLUSH: u64 = 1 << 9;

const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
const T_GET_ID: u32 = 8;

const S_OK: u8 = 0;
const S_IOERR: u8 = 1;
const S_UNSUPP: u8 = 2;

/// Largest buffer moved in one step (requests can be larger; they are split).
const CHUNK: usize = 64 * 1024;

const QUEUE_SIZES: [u16; 1] = [256];

/// A block device on a host file whose length is a multiple of 512 bytes (a partial last
/// sector is not visible to the guest).
pub struct VirtioBlk {
    file: File,
    sectors: u64,
    read_only: bool,
    id: [u8; 20],
}

impl VirtioBlk {
    /// Opens `path` (read-write unless `read_only`).
    pub fn open(path: &Path, read_only: bool) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(path)?;
        let len = file.metadata()?.len();
        let mut id = [0u8; 20];
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (d, s) in id.iter_mut().zip(name.bytes()) {
            *d = s;
        }
        Ok(VirtioBlk {
            file,
            sectors: len / SECTOR_SIZE,
            read_only,
            id,
        })
    }

    /// Capacity in 512-byte sectors.
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Whether `len` bytes at `sector` lie within the disk.
    fn in_range(&self, sector: u64, len: usize) -> bool {
        let Some(start) = sector.checked_mul(SECTOR_SIZE) else {
            return false;
        };
        start
            .checked_add(len as u64)
            .is_some_and(|end| end <= self.sectors * SECTOR_SIZE)
    }

    /// Executes one request; returns (status, bytes written to the guest before the status).
    fn execute(
        &mut self,
        kind: u32,
        sector: u64,
        reader: &mut impl Read,
        readable: usize,
        writer: &mut impl Write,
        data_out: usize,
    ) -> (u8, usize) {
        match kind {
            T_IN => {
                if !self.in_range(sector, data_out) {
                    return (S_IOERR, 0);
                }
                let mut done = 0usize;
                let mut buf = vec![0u8; data_out.min(CHUNK)];
                while done < data_out {
                    let n = (data_out - done).min(CHUNK);
                    let pos = sector * SECTOR_SIZE + done as u64;
                    if self.file.read_exact_at(&mut buf[..n], pos).is_err()
                        || writer.write_all(&buf[..n]).is_err()
                    {
                        return (S_IOERR, done);
                    }
                    done += n;
                }
                (S_OK, done)
            }
            T_OUT => {
                if self.read_only || !self.in_range(sector, readable) {
                    return (S_IOERR, 0);
                }
                let mut done = 0usize;
                let mut buf = vec![0u8; readable.min(CHUNK)];
                while done < readable {
                    let n = (readable - done).min(CHUNK);
                    let pos = sector * SECTOR_SIZE + done as u64;
                    if reader.read_exact(&mut buf[..n]).is_err()
                        || self.file.write_all_at(&buf[..n], pos).is_err()
                    {
                        return (S_IOERR, 0);
                    }
                    done += n;
                }
                (S_OK, 0)
            }
            T_FLUSH => {
                if self.read_only {
                    return (S_OK, 0);
                }
                match self.file.sync_data() {
                    Ok(()) => (S_OK, 0),
                    Err(_) => (S_IOERR, 0),
                }
            }
            T_GET_ID => {
                let n = data_out.min(self.id.len());
                if writer.write_all(&self.id[..n]).is_err() {
                    return (S_IOERR, 0);
                }
                (S_OK, n)
            }
            _ => (S_UNSUPP, 0),
        }
    }
}

impl VirtioDevice for VirtioBlk {
    fn device_type(&self) -> u32 {
        TYPE_BLOCK
    }

    fn features(&self) -> u64 {
        let ro = if self.read_only { VIRTIO_BLK_F_RO } else { 0 };
        VIRTIO_BLK_F_FLUSH | ro
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &QUEUE_SIZES
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        // capacity (le64) is the only field we offer.
        read_config_bytes(&self.sectors.to_le_bytes(), offset, data);
    }

    fn process_queue(&mut self, _index: usize, queue: &mut Queue, mem: &GuestMemoryMmap) -> bool {
        let mut used_any = false;
        while let Some(chain) = queue.pop_descriptor_chain(mem) {
            let head = chain.head_index();
            let (Ok(mut reader), Ok(mut writer)) = (chain.clone().reader(mem), chain.writer(mem))
            else {
                log::warn!("virtio-blk: malformed descriptor chain {head}; dropped");
                let _ = queue.add_used(mem, head, 0);
                used_any = true;
                continue;
            };
            let header: Result<[u8; 16], _> = reader.read_obj();
            let writable = writer.available_bytes();
            let (status, written) = match header {
                Ok(h) if writable >= 1 => {
                    let kind = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
                    let sector =
                        u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
                    let readable = reader.available_bytes();
                    let data_out = writable - 1;
                    // The status byte is the last writable byte: split it off.
                    match writer.split_at(data_out) {
                        Ok(mut status_w) => {
                            let (s, n) = self.execute(
                                kind,
                                sector,
                                &mut reader,
                                readable,
                                &mut writer,
                                data_out,
                            );
                            let _ = status_w.write_all(&[s]);
                            (s, n + 1)
                        }
                        Err(_) => (S_IOERR, 0),
                    }
                }
                _ => {
                    log::warn!("virtio-blk: request {head} without header or status byte");
                    (S_IOERR, 0)
                }
            };
            if status != S_OK {
                log::debug!("virtio-blk: request {head} failed with status {status}");
            }
            if let Err(e) = queue.add_used(mem, head, written as u32) {
                log::warn!("virtio-blk: add_used: {e}");
            }
            used_any = true;
        }
        used_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::virtio::testq::{Desc, Driver};

    fn disk(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    fn header(kind: u32, sector: u64) -> Vec<u8> {
        let mut h = kind.to_le_bytes().to_vec();
        h.extend_from_slice(&[0; 4]);
        h.extend_from_slice(&sector.to_le_bytes());
        h
    }

    #[test]
    fn write_flush_read_cycle_reaches_the_file() {
        let f = disk(&[0u8; 4096]);
        let blk = VirtioBlk::open(f.path(), false).unwrap();
        assert_eq!(blk.sectors(), 8);
        let mut d = Driver::new(Box::new(blk), 1 << 9);
        let data = vec![0x5au8; 512];
        let (st, _) = d.request(&[Desc::R(header(T_OUT, 3)), Desc::R(data.clone()), Desc::W(1)]);
        assert_eq!(st[0], [S_OK]);
        let (st, _) = d.request(&[Desc::R(header(T_FLUSH, 0)), Desc::W(1)]);
        assert_eq!(st[0], [S_OK]);
        let on_disk = std::fs::read(f.path()).unwrap();
        assert_eq!(&on_disk[3 * 512..4 * 512], &data[..]);
        assert!(on_disk[..3 * 512].iter().all(|&b| b == 0));
        let (st, len) = d.request(&[Desc::R(header(T_IN, 3)), Desc::W(512), Desc::W(1)]);
        assert_eq!(st[0], data);
        assert_eq!(st[1], [S_OK]);
        assert_eq!(len, 513);
        assert!(d.interrupts() >= 3);
    }

    #[test]
    fn out_of_range_read_only_and_unknown_requests_fail_cleanly() {
        let f = disk(&[7u8; 1024]);
        let mut d = Driver::new(Box::new(VirtioBlk::open(f.path(), true).unwrap()), 1 << 9);
        assert_ne!(d.device_features() & VIRTIO_BLK_F_RO, 0);
        let (st, _) = d.request(&[Desc::R(header(T_IN, 2)), Desc::W(512), Desc::W(1)]);
        assert_eq!(st[1], [S_IOERR]);
        let (st, _) = d.request(&[Desc::R(header(T_IN, u64::MAX)), Desc::W(512), Desc::W(1)]);
        assert_eq!(st[1], [S_IOERR]);
        let (st, _) = d.request(&[Desc::R(header(T_OUT, 0)), Desc::R(vec![1; 512]), Desc::W(1)]);
        assert_eq!(st[0], [S_IOERR]);
        assert_eq!(std::fs::read(f.path()).unwrap(), vec![7u8; 1024]);
        let (st, _) = d.request(&[Desc::R(header(99, 0)), Desc::W(1)]);
        assert_eq!(st[0], [S_UNSUPP]);
        // No status byte at all: the chain is consumed, nothing panics.
        let (_, len) = d.request(&[Desc::R(header(T_IN, 0))]);
        assert_eq!(len, 0);
    }
}
