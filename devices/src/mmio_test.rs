//! A test device for accelerator tests: an identification register, eight read/write scratch
//! registers that accept 1-, 2-, 4- and 8-byte accesses, and access counters the host can check.

/// The value of the identification register at offset 0 ("KVMT" little-endian plus version 1).
pub const MMIO_TEST_ID: u64 = 0x0000_0001_544d_564b;
/// Size of the device window.
pub const MMIO_TEST_LEN: u64 = 0x100;

use crate::bus::{le_value, put_le_value, BusDevice};

/// Register map: 0x00 ID (read-only), 0x08 reads (read-only), 0x10 writes (read-only),
/// 0x20..0x60 scratch[0..8], 0x60 the complement of scratch[0] (read-only).
#[derive(Debug, Default)]
pub struct MmioTest {
    scratch: [u64; 8],
    reads: u64,
    writes: u64,
}

impl MmioTest {
    /// A device with zeroed scratch registers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scratch register `i` (0..8).
    pub fn scratch(&self, i: usize) -> Option<u64> {
        self.scratch.get(i).copied()
    }

    /// Guest reads seen (ID reads included).
    pub fn reads(&self) -> u64 {
        self.reads
    }

    /// Guest writes seen (ignored ones included).
    pub fn writes(&self) -> u64 {
        self.writes
    }

    fn reg(&self, offset: u64) -> u64 {
        match offset & !7 {
            0x00 => MMIO_TEST_ID,
            0x08 => self.reads,
            0x10 => self.writes,
            o @ 0x20..=0x58 => self.scratch[((o - 0x20) / 8) as usize],
            0x60 => !self.scratch[0],
            _ => 0,
        }
    }
}

impl BusDevice for MmioTest {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        self.reads += 1;
        let shift = (offset & 7) * 8;
        let fits = (offset & 7) as usize + data.len() <= 8;
        let v = if fits { self.reg(offset) >> shift } else { 0 };
        put_le_value(data, v);
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        self.writes += 1;
        let lane = (offset & 7) as usize;
        if !(0x20..0x60).contains(&offset) || lane + data.len() > 8 || data.is_empty() {
            return;
        }
        let i = ((offset - 0x20) / 8) as usize;
        let shift = lane * 8;
        let mask = if data.len() == 8 {
            u64::MAX
        } else {
            ((1u64 << (8 * data.len())) - 1) << shift
        };
        self.scratch[i] = (self.scratch[i] & !mask) | ((le_value(data) << shift) & mask);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_scratch_and_counters() {
        let mut d = MmioTest::new();
        let mut b8 = [0u8; 8];
        d.read(0, &mut b8);
        assert_eq!(u64::from_le_bytes(b8), MMIO_TEST_ID);
        d.write(0x20, &0x1122_3344_5566_7788u64.to_le_bytes());
        d.write(0x22, &[0xaa]); // byte lane 2
        d.write(0x24, &0xdead_beefu32.to_le_bytes()); // upper half
        assert_eq!(d.scratch(0), Some(0xdead_beef_55aa_7788));
        let mut b4 = [0u8; 4];
        d.read(0x24, &mut b4);
        assert_eq!(u32::from_le_bytes(b4), 0xdead_beef);
        d.read(0x60, &mut b8);
        assert_eq!(u64::from_le_bytes(b8), !0xdead_beef_55aa_7788);
        d.write(0x00, &[1]); // read-only: ignored
        d.read(0, &mut b8);
        assert_eq!(u64::from_le_bytes(b8), MMIO_TEST_ID);
        assert_eq!(d.writes(), 4);
        assert_eq!(d.reads(), 4);
        d.read(0x10, &mut b8);
        assert_eq!(u64::from_le_bytes(b8), 4);
    }

    #[test]
    fn straddling_and_out_of_range_accesses_are_harmless() {
        let mut d = MmioTest::new();
        d.write(0x26, &u64::MAX.to_le_bytes()); // crosses a register boundary: ignored
        assert_eq!(d.scratch(0), Some(0));
        d.write(0xf8, &[1; 8]);
        let mut b = [0xffu8; 8];
        d.read(0x27, &mut b);
        assert_eq!(b, [0; 8]);
        assert_eq!(d.scratch(9), None);
    }
}
