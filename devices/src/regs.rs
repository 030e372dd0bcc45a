//! Splitting CPU accesses of any size into accesses to 32-bit registers.
//!
//! Every G233 device has 32-bit registers but the CPU may access them with 1, 2, 4 or 8 bytes
//! (e.g. a 64-bit access to `mtimecmp`, a 16-bit `readw` of the PL011 data register). A device
//! implements [`Regs32`]; [`read_regs`] and [`write_regs`] cut an access into the 32-bit words it
//! touches and pass each word a byte-lane mask, so the device decides how a partial write merges
//! (plain registers merge, write-1-to-clear registers clear only the written lanes).

/// A device made of 32-bit registers at 4-byte aligned offsets.
pub trait Regs32 {
    /// Reads the register at the 4-byte aligned `offset`.
    fn read32(&mut self, offset: u64) -> u32;
    /// Writes the register at the 4-byte aligned `offset`; only the bits in `mask` (whole byte
    /// lanes) were written by the CPU.
    fn write32(&mut self, offset: u64, value: u32, mask: u32);
}

/// Replaces the bits of `old` selected by `mask` with those of `value`.
pub fn merge(old: u32, value: u32, mask: u32) -> u32 {
    (old & !mask) | (value & mask)
}

/// The 32-bit words covered by an access of `len` bytes at `offset`: (word offset, first byte
/// lane, number of lanes, position of the first lane in the access data).
fn words(offset: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize, usize)> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= len {
            return None;
        }
        let addr = offset.checked_add(pos as u64)?;
        let word = addr & !3;
        let lane = (addr & 3) as usize;
        let n = (4 - lane).min(len - pos);
        let item = (word, lane, n, pos);
        pos += n;
        Some(item)
    })
}

/// Serves a read of `data.len()` bytes at `offset` from 32-bit registers.
pub fn read_regs<D: Regs32 + ?Sized>(dev: &mut D, offset: u64, data: &mut [u8]) {
    let len = data.len();
    for (word, lane, n, pos) in words(offset, len) {
        let bytes = dev.read32(word).to_le_bytes();
        data[pos..pos + n].copy_from_slice(&bytes[lane..lane + n]);
    }
}

/// Serves a write of `data.len()` bytes at `offset` to 32-bit registers.
pub fn write_regs<D: Regs32 + ?Sized>(dev: &mut D, offset: u64, data: &[u8]) {
    for (word, lane, n, pos) in words(offset, data.len()) {
        let mut bytes = [0u8; 4];
        bytes[lane..lane + n].copy_from_slice(&data[pos..pos + n]);
        let mask = if n == 4 {
            u32::MAX
        } else {
            ((1u32 << (8 * n)) - 1) << (8 * lane)
        };
        dev.write32(word, u32::from_le_bytes(bytes), mask);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Log {
        regs: [u32; 4],
        writes: Vec<(u64, u32, u32)>,
    }

    impl Regs32 for Log {
        fn read32(&mut self, offset: u64) -> u32 {
            self.regs[(offset / 4) as usize % 4]
        }
        fn write32(&mut self, offset: u64, value: u32, mask: u32) {
            self.writes.push((offset, value, mask));
            let r = &mut self.regs[(offset / 4) as usize % 4];
            *r = merge(*r, value, mask);
        }
    }

    #[test]
    fn sub_word_accesses_use_byte_lanes() {
        let mut d = Log {
            regs: [0x4433_2211, 0x8877_6655, 0, 0],
            ..Default::default()
        };
        let mut b = [0u8; 2];
        read_regs(&mut d, 1, &mut b);
        assert_eq!(b, [0x22, 0x33]);
        write_regs(&mut d, 2, &[0xAA]);
        assert_eq!(d.writes, vec![(0, 0x00AA_0000, 0x00FF_0000)]);
        assert_eq!(d.regs[0], 0x44AA_2211);
    }

    #[test]
    fn eight_byte_accesses_span_two_registers() {
        let mut d = Log::default();
        write_regs(&mut d, 0, &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(
            d.writes,
            vec![(0, 0x5566_7788, u32::MAX), (4, 0x1122_3344, u32::MAX)]
        );
        let mut b = [0u8; 8];
        read_regs(&mut d, 0, &mut b);
        assert_eq!(u64::from_le_bytes(b), 0x1122_3344_5566_7788);
    }

    #[test]
    fn unaligned_access_straddles_words() {
        let mut d = Log::default();
        write_regs(&mut d, 3, &[1, 2]);
        assert_eq!(
            d.writes,
            vec![(0, 0x0100_0000, 0xFF00_0000), (4, 0x0000_0002, 0x0000_00FF)]
        );
        assert_eq!(merge(0xFFFF_FFFF, 0, 0x0000_FF00), 0xFFFF_00FF);
    }
}
