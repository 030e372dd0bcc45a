//! A tiny virtio driver for unit tests: sets a device up through the MMIO registers and runs
//! requests through queue 0.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::{VirtioDevice, VirtioMmio, VIRTIO_F_VERSION_1};
use crate::bus::BusDevice;
use crate::irq::IrqLine;

/// One descriptor of a request: device-readable bytes, or a device-writable buffer length.
pub enum Desc {
    R(Vec<u8>),
    W(u32),
}

#[derive(Default)]
pub struct Count(AtomicUsize);
impl IrqLine for Count {
    fn set_level(&self, level: bool) {
        if level {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub struct Driver {
    pub mem: GuestMemoryMmap,
    pub dev: VirtioMmio,
    irq: Arc<Count>,
    avail_idx: u16,
}

const DESC: u64 = 0x1000;
const AVAIL: u64 = 0x2000;
const USED: u64 = 0x3000;
const BUFS: u64 = 0x10000;
const QSIZE: u32 = 16;

impl Driver {
    pub fn new(device: Box<dyn VirtioDevice>, want: u64) -> Driver {
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), 1 << 20)]).unwrap();
        let irq = Arc::new(Count::default());
        let dev = VirtioMmio::new(device, mem.clone(), irq.clone()).unwrap();
        let mut d = Driver {
            mem,
            dev,
            irq,
            avail_idx: 0,
        };
        assert_eq!(d.rd(0), 0x7472_6976);
        assert_eq!(d.rd(4), 2);
        d.wr(0x70, 1 | 2);
        let features = d.device_features() & (want | VIRTIO_F_VERSION_1);
        d.wr(0x24, 0);
        d.wr(0x20, features as u32);
        d.wr(0x24, 1);
        d.wr(0x20, (features >> 32) as u32);
        d.wr(0x70, 1 | 2 | 8);
        assert_eq!(d.rd(0x70) & 8, 8, "FEATURES_OK accepted");
        d.wr(0x30, 0);
        assert!(d.rd(0x34) >= QSIZE);
        d.wr(0x38, QSIZE);
        d.wr(0x80, DESC as u32);
        d.wr(0x84, 0);
        d.wr(0x90, AVAIL as u32);
        d.wr(0x94, 0);
        d.wr(0xa0, USED as u32);
        d.wr(0xa4, 0);
        d.wr(0x44, 1);
        assert_eq!(d.rd(0x44), 1);
        d.wr(0x70, 1 | 2 | 8 | 4);
        d
    }

    pub fn rd(&mut self, off: u64) -> u32 {
        let mut b = [0u8; 4];
        self.dev.read(off, &mut b);
        u32::from_le_bytes(b)
    }

    pub fn wr(&mut self, off: u64, v: u32) {
        self.dev.write(off, &v.to_le_bytes());
    }

    pub fn device_features(&mut self) -> u64 {
        self.wr(0x14, 0);
        let lo = self.rd(0x10);
        self.wr(0x14, 1);
        let hi = self.rd(0x10);
        (u64::from(hi) << 32) | u64::from(lo)
    }

    pub fn interrupts(&self) -> usize {
        self.irq.0.load(Ordering::SeqCst)
    }

    /// Submits one chain, notifies, and returns the writable buffers' contents and the used
    /// length.
    pub fn request(&mut self, descs: &[Desc]) -> (Vec<Vec<u8>>, u32) {
        let mut addr = BUFS;
        let mut writable = Vec::new();
        let head = 0u16;
        for (i, d) in descs.iter().enumerate() {
            let (len, flags) = match d {
                Desc::R(bytes) => {
                    self.mem.write_slice(bytes, GuestAddress(addr)).unwrap();
                    (bytes.len() as u32, 0u16)
                }
                Desc::W(n) => {
                    self.mem
                        .write_slice(&vec![0u8; *n as usize], GuestAddress(addr))
                        .unwrap();
                    writable.push((addr, *n));
                    (*n, 2u16)
                }
            };
            let next = if i + 1 < descs.len() { 1u16 } else { 0 };
            let e = DESC + 16 * i as u64;
            self.mem.write_obj(addr, GuestAddress(e)).unwrap();
            self.mem.write_obj(len, GuestAddress(e + 8)).unwrap();
            self.mem
                .write_obj(flags | next, GuestAddress(e + 12))
                .unwrap();
            self.mem
                .write_obj(i as u16 + 1, GuestAddress(e + 14))
                .unwrap();
            addr += u64::from(len.max(1)).next_multiple_of(16);
        }
        let slot = u64::from(self.avail_idx % QSIZE as u16);
        self.mem
            .write_obj(head, GuestAddress(AVAIL + 4 + 2 * slot))
            .unwrap();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.mem
            .write_obj(self.avail_idx, GuestAddress(AVAIL + 2))
            .unwrap();
        self.wr(0x50, 0);
        let used_idx: u16 = self.mem.read_obj(GuestAddress(USED + 2)).unwrap();
        assert_eq!(used_idx, self.avail_idx, "request completed");
        let len: u32 = self
            .mem
            .read_obj(GuestAddress(USED + 4 + 8 * slot + 4))
            .unwrap();
        let st = self.rd(0x60);
        self.wr(0x64, st);
        let bufs = writable
            .iter()
            .map(|&(a, n)| {
                let mut v = vec![0u8; n as usize];
                self.mem.read_slice(&mut v, GuestAddress(a)).unwrap();
                v
            })
            .collect();
        (bufs, len)
    }
}

#[test]
fn rejects_features_the_device_does_not_offer() {
    let mut d = Driver::new(Box::new(super::rng::VirtioRng::new()), 0);
    d.wr(0x70, 0); // reset
    assert_eq!(d.rd(0x70), 0);
    d.wr(0x70, 3);
    d.wr(0x24, 0);
    d.wr(0x20, 1 << 9); // not offered
    d.wr(0x70, 3 | 8);
    assert_eq!(d.rd(0x70) & 8, 0);
    // Unaligned and narrow register accesses are ignored.
    let mut b = [0xffu8; 2];
    d.dev.read(0, &mut b);
    assert_eq!(b, [0, 0]);
}
