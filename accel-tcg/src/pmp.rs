//! Physical memory protection: 16 entries (pmpcfg0/2, pmpaddr0-15), granularity 4 bytes.

use crate::cpu::{prv, Cpu};
use crate::mmu::{Access, PERM_R, PERM_W, PERM_X};

const CFG_L: u8 = 0x80;
const CFG_A: u8 = 0x18;
/// Implemented pmpaddr bits (physical address bits 55:2).
const ADDR_MASK: u64 = (1 << 54) - 1;

impl Cpu {
    /// Writes pmpcfg byte `i`, honouring the lock bit and the reserved R=0/W=1 combination.
    pub(crate) fn pmp_write_cfg(&mut self, i: usize, mut v: u8) {
        if self.pmpcfg[i] & CFG_L != 0 {
            return;
        }
        v &= 0x9f;
        if v & 3 == 2 {
            v &= !2;
        }
        self.pmpcfg[i] = v;
    }

    /// Writes pmpaddr `i` unless locked (directly, or through a locked TOR entry above it).
    pub(crate) fn pmp_write_addr(&mut self, i: usize, v: u64) {
        if self.pmpcfg[i] & CFG_L != 0 {
            return;
        }
        if i + 1 < 16 {
            let next = self.pmpcfg[i + 1];
            if next & CFG_L != 0 && (next & CFG_A) >> 3 == 1 {
                return;
            }
        }
        self.pmpaddr[i] = v & ADDR_MASK;
    }

    /// The byte range `[lo, hi)` entry `i` covers, or `None` if it is off.
    fn pmp_range(&self, i: usize) -> Option<(u64, u64)> {
        let cfg = self.pmpcfg[i];
        let a = self.pmpaddr[i];
        match (cfg & CFG_A) >> 3 {
            1 => {
                let lo = if i == 0 { 0 } else { self.pmpaddr[i - 1] << 2 };
                let hi = a << 2;
                (lo < hi).then_some((lo, hi))
            }
            2 => Some((a << 2, (a << 2) + 4)),
            3 => {
                let t = a.trailing_ones();
                if t >= 54 {
                    return Some((0, u64::MAX));
                }
                let size = 1u64 << (t + 3);
                let lo = (a & !((1u64 << t) - 1)) << 2;
                Some((lo, lo.saturating_add(size)))
            }
            _ => None,
        }
    }

    fn pmp_entry_perms(&self, i: usize, eff: u8) -> u8 {
        let cfg = self.pmpcfg[i];
        if eff == prv::M && cfg & CFG_L == 0 {
            PERM_R | PERM_W | PERM_X
        } else {
            cfg & 7
        }
    }

    /// Whether an access of `size` bytes at `pa` is allowed at privilege `eff`.
    pub(crate) fn pmp_check(&self, pa: u64, size: u64, acc: Access, eff: u8) -> bool {
        let need = match acc {
            Access::Read => PERM_R,
            Access::Write => PERM_W,
            Access::Exec => PERM_X,
        };
        let end = pa.saturating_add(size);
        for i in 0..16 {
            if let Some((lo, hi)) = self.pmp_range(i) {
                let overlaps = pa < hi && end > lo;
                if !overlaps {
                    continue;
                }
                if pa < lo || end > hi {
                    return false; // partial match
                }
                return self.pmp_entry_perms(i, eff) & need != 0;
            }
        }
        eff == prv::M
    }

    /// The permissions PMP grants uniformly over the 4 KiB page at `page`, or `None` if they
    /// differ within the page (the TLB must then not cache it).
    pub(crate) fn pmp_page_perms(&self, page: u64, eff: u8) -> Option<u8> {
        let end = page.saturating_add(0x1000);
        for i in 0..16 {
            if let Some((lo, hi)) = self.pmp_range(i) {
                if page >= hi || end <= lo {
                    continue;
                }
                if page < lo || end > hi {
                    return None;
                }
                return Some(self.pmp_entry_perms(i, eff));
            }
        }
        Some(if eff == prv::M {
            PERM_R | PERM_W | PERM_X
        } else {
            0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::machine;

    #[test]
    fn no_entries_allow_m_deny_s() {
        let (cpu, _) = machine(&[]);
        assert!(cpu.pmp_check(0x8000_0000, 4, Access::Read, prv::M));
        assert!(!cpu.pmp_check(0x8000_0000, 4, Access::Read, prv::S));
    }

    #[test]
    fn napot_and_tor_ranges() {
        let (mut cpu, _) = machine(&[]);
        // Entry 0: NAPOT 0x8000_0000 + 64 KiB, R only.
        cpu.pmp_write_addr(0, (0x8000_0000 >> 2) | ((0x10000 >> 3) - 1));
        cpu.pmp_write_cfg(0, 0x18 | 1);
        // Entry 1: TOR up to 0x9000_0000 from entry 0's address, RWX.
        cpu.pmp_write_addr(1, 0x9000_0000 >> 2);
        cpu.pmp_write_cfg(1, 0x08 | 7);
        assert!(cpu.pmp_check(0x8000_0000, 8, Access::Read, prv::S));
        assert!(!cpu.pmp_check(0x8000_0000, 8, Access::Write, prv::S));
        assert!(cpu.pmp_check(0x8000_0000, 8, Access::Write, prv::M));
        assert!(cpu.pmp_check(0x8800_0000, 8, Access::Write, prv::U));
        assert!(!cpu.pmp_check(0x9000_0000, 8, Access::Read, prv::U));
        assert_eq!(cpu.pmp_page_perms(0x8000_f000, prv::S), Some(PERM_R));
        // Locking entry 0 makes it apply to M too, and freezes it.
        cpu.pmp_write_cfg(0, 0x80 | 0x18 | 1);
        assert!(!cpu.pmp_check(0x8000_0000, 8, Access::Write, prv::M));
        cpu.pmp_write_cfg(0, 0x18 | 7);
        assert_eq!(cpu.pmpcfg[0], 0x80 | 0x18 | 1);
        // W without R is reserved.
        cpu.pmp_write_cfg(2, 0x08 | 2);
        assert_eq!(cpu.pmpcfg[2], 0x08);
    }
}
