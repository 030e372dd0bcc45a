//! SiFive PWM register block (pwmcfg, pwmcount, pwms, pwmcmp0–3).
//!
//! The counter does not run by itself: `pwmcount` holds what software writes, `pwms` is its
//! scaled view `(pwmcount >> pwmscale) & 0xFFFF`. The comparator interrupt-pending bits
//! `pwmcmpNip` (pwmcfg bits 28–31) are software-writable, and the interrupt line is high while
//! any of them is set. All reset values are 0, so software written for a stubbed PWM (reads 0,
//! writes ignored) sees the same values until it configures the block.

use std::sync::Arc;

use crate::bus::BusDevice;
use crate::irq::IrqLine;
use crate::regs::{merge, read_regs, write_regs, Regs32};

/// Size of the PWM window.
pub const PWM_SIZE: u64 = 0x1000;

/// Configuration.
pub const PWMCFG: u64 = 0x00;
/// Counter.
pub const PWMCOUNT: u64 = 0x08;
/// Scaled counter (read-only).
pub const PWMS: u64 = 0x10;
/// Comparator 0 (1–3 follow at 4-byte steps).
pub const PWMCMP0: u64 = 0x20;

/// pwmcfg: the four comparator interrupt-pending bits.
pub const PWMCFG_IP: u32 = 0xF << 28;
/// pwmcfg bits that exist: scale, sticky, zerocmp, deglitch, enalways, enoneshot, cmpNcenter,
/// cmpNgang, cmpNip.
const PWMCFG_MASK: u32 = 0xFF0F_370F;
const PWMCOUNT_MASK: u32 = 0x7FFF_FFFF;

/// The PWM block.
pub struct SifivePwm {
    irq: Arc<dyn IrqLine>,
    cfg: u32,
    count: u32,
    cmp: [u32; 4],
}

impl SifivePwm {
    /// A PWM interrupting through `irq`.
    pub fn new(irq: Arc<dyn IrqLine>) -> SifivePwm {
        let pwm = SifivePwm {
            irq,
            cfg: 0,
            count: 0,
            cmp: [0; 4],
        };
        pwm.update_irq();
        pwm
    }

    fn update_irq(&self) {
        self.irq.set_level(self.cfg & PWMCFG_IP != 0);
    }

    fn cmp_index(offset: u64) -> Option<usize> {
        (PWMCMP0..PWMCMP0 + 16)
            .contains(&offset)
            .then(|| ((offset - PWMCMP0) / 4) as usize)
    }
}

impl Regs32 for SifivePwm {
    fn read32(&mut self, offset: u64) -> u32 {
        match offset {
            PWMCFG => self.cfg,
            PWMCOUNT => self.count,
            PWMS => (self.count >> (self.cfg & 0xF)) & 0xFFFF,
            o => Self::cmp_index(o).map_or(0, |i| self.cmp[i]),
        }
    }

    fn write32(&mut self, offset: u64, value: u32, mask: u32) {
        match offset {
            PWMCFG => self.cfg = merge(self.cfg, value, mask) & PWMCFG_MASK,
            PWMCOUNT => self.count = merge(self.count, value, mask) & PWMCOUNT_MASK,
            o => match Self::cmp_index(o) {
                Some(i) => self.cmp[i] = merge(self.cmp[i], value, mask) & 0xFFFF,
                None => log::debug!("sifive_pwm: ignored write {value:#x} at {offset:#x}"),
            },
        }
    }
}

impl BusDevice for SifivePwm {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        read_regs(self, offset, data);
        self.update_irq();
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        write_regs(self, offset, data);
        self.update_irq();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{rd32, wr, wr32, IrqProbe};

    #[test]
    fn reset_values_are_zero() {
        let mut p = SifivePwm::new(IrqProbe::new());
        for off in (0..0x40).step_by(4) {
            assert_eq!(rd32(&mut p, off), 0, "offset {off:#x}");
        }
    }

    #[test]
    fn registers_store_their_bits() {
        let mut p = SifivePwm::new(IrqProbe::new());
        wr32(&mut p, PWMCFG, 0x0FFF_FFFF);
        assert_eq!(rd32(&mut p, PWMCFG), 0x0F0F_370F);
        wr32(&mut p, PWMCOUNT, 0xFFFF_FFFF);
        assert_eq!(rd32(&mut p, PWMCOUNT), 0x7FFF_FFFF);
        for i in 0..4 {
            wr32(&mut p, PWMCMP0 + 4 * i, 0x1_2345 + i as u32);
            assert_eq!(rd32(&mut p, PWMCMP0 + 4 * i), 0x2345 + i as u32);
        }
        // pwms = pwmcount >> pwmscale, 16 bits.
        wr32(&mut p, PWMCFG, 4);
        wr32(&mut p, PWMCOUNT, 0x12_3450);
        assert_eq!(rd32(&mut p, PWMS), 0x2345);
        wr32(&mut p, PWMS, 0);
        assert_eq!(rd32(&mut p, PWMS), 0x2345, "pwms is read-only");
        wr(&mut p, PWMCOUNT, 1, 0);
        assert_eq!(rd32(&mut p, PWMCOUNT), 0x12_3400);
        wr32(&mut p, 0x40, 7);
        assert_eq!(rd32(&mut p, 0x40), 0);
    }

    #[test]
    fn irq_follows_each_cmp_ip_bit() {
        let irq = IrqProbe::new();
        let mut p = SifivePwm::new(irq.clone());
        assert!(!irq.level());
        for bit in 28..32 {
            wr32(&mut p, PWMCFG, 1 << bit);
            assert!(irq.level(), "cmp{}ip", bit - 28);
            wr32(&mut p, PWMCFG, 0);
            assert!(!irq.level());
        }
        wr32(&mut p, PWMCFG, 0x0000_1000);
        assert!(!irq.level(), "other bits do not interrupt");
    }
}
