//! The RISC-V ACLINT: the machine software interrupt device (MSWI) and the machine timer
//! (MTIMER), one hart.

use std::sync::Arc;

use crate::bus::{le_value, put_le_value, BusDevice};
use crate::clock::GuestClock;
use crate::irq::{mip, HartInterrupts};
use crate::regs::{merge, read_regs, write_regs, Regs32};

/// Size of the MSWI window.
pub const MSWI_SIZE: u64 = 0x4000;
/// Size of the MTIMER window.
pub const MTIMER_SIZE: u64 = 0x8000;
/// Offset of `mtime` in the MTIMER window.
pub const MTIME_OFFSET: u64 = 0x7FF8;

/// ACLINT MSWI: `msip` of hart 0 at +0; bit 0 drives the hart's MSIP.
pub struct Mswi {
    hart: Arc<HartInterrupts>,
    msip: bool,
}

impl Mswi {
    /// An MSWI for `hart`, `msip` clear.
    pub fn new(hart: Arc<HartInterrupts>) -> Mswi {
        hart.set_line(mip::MSIP, false);
        Mswi { hart, msip: false }
    }
}

impl Regs32 for Mswi {
    fn read32(&mut self, offset: u64) -> u32 {
        if offset == 0 {
            u32::from(self.msip)
        } else {
            0
        }
    }

    fn write32(&mut self, offset: u64, value: u32, mask: u32) {
        if offset == 0 {
            self.msip = merge(u32::from(self.msip), value, mask) & 1 != 0;
        } else {
            log::debug!("mswi: ignored write {value:#x} at {offset:#x}");
        }
    }
}

impl BusDevice for Mswi {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        read_regs(self, offset, data);
        self.hart.set_line(mip::MSIP, self.msip);
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        write_regs(self, offset, data);
        self.hart.set_line(mip::MSIP, self.msip);
    }
}

/// ACLINT MTIMER: `mtimecmp` of hart 0 at +0 and `mtime` at +0x7FF8, both 64-bit (also
/// accessible as 32-bit halves).
///
/// `mtimecmp` is published to [`HartInterrupts::set_mtimecmp`]; the CPU derives MTIP from it and
/// the clock, so this device never drives MTIP itself. `mtimecmp` resets to 0, as on QEMU.
pub struct Mtimer {
    hart: Arc<HartInterrupts>,
    clock: Arc<GuestClock>,
    mtimecmp: u64,
}

impl Mtimer {
    /// A timer for `hart` reading time from `clock`; publishes `mtimecmp = 0`.
    pub fn new(hart: Arc<HartInterrupts>, clock: Arc<GuestClock>) -> Mtimer {
        hart.set_mtimecmp(0);
        Mtimer {
            hart,
            clock,
            mtimecmp: 0,
        }
    }

    /// The current `mtimecmp` of hart 0.
    pub fn mtimecmp(&self) -> u64 {
        self.mtimecmp
    }

    fn set_mtimecmp(&mut self, value: u64) {
        self.mtimecmp = value;
        self.hart.set_mtimecmp(value);
    }
}

/// Replaces the 32-bit half of `old` at `high` (false: low) with `value` under `mask`.
fn merge_half(old: u64, high: bool, value: u32, mask: u32) -> u64 {
    let shift = if high { 32 } else { 0 };
    let half = merge((old >> shift) as u32, value, mask);
    (old & !(0xFFFF_FFFFu64 << shift)) | (u64::from(half) << shift)
}

impl Regs32 for Mtimer {
    fn read32(&mut self, offset: u64) -> u32 {
        match offset {
            0 => self.mtimecmp as u32,
            4 => (self.mtimecmp >> 32) as u32,
            MTIME_OFFSET => self.clock.now() as u32,
            o if o == MTIME_OFFSET + 4 => (self.clock.now() >> 32) as u32,
            _ => 0,
        }
    }

    fn write32(&mut self, offset: u64, value: u32, mask: u32) {
        match offset {
            0 | 4 => {
                let v = merge_half(self.mtimecmp, offset == 4, value, mask);
                self.set_mtimecmp(v);
            }
            o if o == MTIME_OFFSET || o == MTIME_OFFSET + 4 => {
                let v = merge_half(self.clock.now(), o != MTIME_OFFSET, value, mask);
                self.clock.set_now(v);
            }
            _ => log::debug!("mtimer: ignored write {value:#x} at {offset:#x}"),
        }
    }
}

impl BusDevice for Mtimer {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        // A whole 64-bit register is read at once (no tearing between the halves of mtime).
        match (offset, data.len()) {
            (0, 8) => put_le_value(data, self.mtimecmp),
            (MTIME_OFFSET, 8) => put_le_value(data, self.clock.now()),
            _ => read_regs(self, offset, data),
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        match (offset, data.len()) {
            (0, 8) => self.set_mtimecmp(le_value(data)),
            (MTIME_OFFSET, 8) => self.clock.set_now(le_value(data)),
            _ => write_regs(self, offset, data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockMode;
    use crate::test_util::{rd, rd32, wr, wr32};

    #[test]
    fn mswi_msip_drives_hart_line() {
        let h = Arc::new(HartInterrupts::new());
        let mut m = Mswi::new(h.clone());
        assert_eq!(rd32(&mut m, 0), 0);
        wr32(&mut m, 0, 0xFFFF_FFFF);
        assert_eq!(rd32(&mut m, 0), 1, "only bit 0 is implemented");
        assert_eq!(h.lines() & mip::MSIP, mip::MSIP);
        assert!(h.take_attention());
        wr(&mut m, 0, 1, 0);
        assert_eq!(h.lines() & mip::MSIP, 0);
        // Other harts' msip and unknown offsets: read 0, writes ignored.
        wr32(&mut m, 4, 1);
        assert_eq!(rd32(&mut m, 4), 0);
        assert_eq!(h.lines() & mip::MSIP, 0);
        wr(&mut m, 0, 8, 1);
        assert_eq!(rd(&mut m, 0, 8), 1);
    }

    fn timer() -> (Arc<HartInterrupts>, Arc<GuestClock>, Mtimer) {
        let h = Arc::new(HartInterrupts::new());
        let c = Arc::new(GuestClock::new(
            ClockMode::Icount { insns_per_tick: 1 },
            10_000_000,
        ));
        let t = Mtimer::new(h.clone(), c.clone());
        (h, c, t)
    }

    #[test]
    fn mtimecmp_resets_to_zero_and_is_published() {
        let (h, _c, mut t) = timer();
        assert_eq!(h.mtimecmp(), 0);
        assert_eq!(rd(&mut t, 0, 8), 0);
        wr(&mut t, 0, 8, 0x1234_5678_9abc_def0);
        assert_eq!(h.mtimecmp(), 0x1234_5678_9abc_def0);
        assert_eq!(t.mtimecmp(), 0x1234_5678_9abc_def0);
        assert_eq!(rd32(&mut t, 0), 0x9abc_def0);
        assert_eq!(rd32(&mut t, 4), 0x1234_5678);
        // 32-bit halves, as RV32-style code writes them.
        wr32(&mut t, 4, 0xFFFF_FFFF);
        wr32(&mut t, 0, 5);
        assert_eq!(h.mtimecmp(), 0xFFFF_FFFF_0000_0005);
        // A byte write only touches its lane.
        wr(&mut t, 1, 1, 0xAB);
        assert_eq!(h.mtimecmp(), 0xFFFF_FFFF_0000_AB05);
        // The device never drives MTIP itself.
        assert_eq!(h.lines() & mip::MTIP, 0);
    }

    #[test]
    fn mtime_reads_and_writes_the_clock() {
        let (_h, c, mut t) = timer();
        c.set_icount(1000);
        assert_eq!(rd(&mut t, MTIME_OFFSET, 8), 1000);
        wr(&mut t, MTIME_OFFSET, 8, 0x1_0000_0000);
        assert_eq!(c.now(), 0x1_0000_0000);
        c.set_icount(1010);
        assert_eq!(rd32(&mut t, MTIME_OFFSET), 10);
        assert_eq!(rd32(&mut t, MTIME_OFFSET + 4), 1);
        wr32(&mut t, MTIME_OFFSET + 4, 7);
        assert_eq!(c.now(), 0x7_0000_000a);
        wr32(&mut t, MTIME_OFFSET, 3);
        assert_eq!(c.now(), 0x7_0000_0003);
        // Unknown offsets read 0.
        assert_eq!(rd(&mut t, 0x100, 8), 0);
        wr(&mut t, 0x100, 8, 99);
        assert_eq!(rd(&mut t, 0x100, 8), 0);
    }
}
