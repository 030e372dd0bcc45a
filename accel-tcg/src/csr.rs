//! Control and status registers: access checks, read and write semantics.

use crate::cpu::{cause, prv, Cpu, Exc};
use devices::irq::mip;

/// mstatus.SIE
pub const MSTATUS_SIE: u64 = 1 << 1;
/// mstatus.MIE
pub const MSTATUS_MIE: u64 = 1 << 3;
/// mstatus.SPIE
pub const MSTATUS_SPIE: u64 = 1 << 5;
/// mstatus.MPIE
pub const MSTATUS_MPIE: u64 = 1 << 7;
/// mstatus.SPP
pub const MSTATUS_SPP: u64 = 1 << 8;
/// mstatus.MPP
pub const MSTATUS_MPP: u64 = 3 << 11;
/// mstatus.FS
pub const MSTATUS_FS: u64 = 3 << 13;
/// mstatus.MPRV
pub const MSTATUS_MPRV: u64 = 1 << 17;
/// mstatus.SUM
pub const MSTATUS_SUM: u64 = 1 << 18;
/// mstatus.MXR
pub const MSTATUS_MXR: u64 = 1 << 19;
/// mstatus.TVM
pub const MSTATUS_TVM: u64 = 1 << 20;
/// mstatus.TW
pub const MSTATUS_TW: u64 = 1 << 21;
/// mstatus.TSR
pub const MSTATUS_TSR: u64 = 1 << 22;
/// mstatus.UXL and SXL (read-only 2 = 64-bit).
pub const MSTATUS_XL: u64 = (3 << 32) | (3 << 34);
/// mstatus.SD
pub const MSTATUS_SD: u64 = 1 << 63;

const MSTATUS_WMASK: u64 = MSTATUS_SIE
    | MSTATUS_MIE
    | MSTATUS_SPIE
    | MSTATUS_MPIE
    | MSTATUS_SPP
    | MSTATUS_MPP
    | MSTATUS_FS
    | MSTATUS_MPRV
    | MSTATUS_SUM
    | MSTATUS_MXR
    | MSTATUS_TVM
    | MSTATUS_TW
    | MSTATUS_TSR;
const SSTATUS_WMASK: u64 =
    MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR;
const SSTATUS_RMASK: u64 = SSTATUS_WMASK | (3 << 32) | MSTATUS_SD;

/// menvcfg.CBZE
pub const ENVCFG_CBZE: u64 = 1 << 7;
/// menvcfg.CBCFE
pub const ENVCFG_CBCFE: u64 = 1 << 6;
/// menvcfg.CBIE field
pub const ENVCFG_CBIE: u64 = 3 << 4;
/// menvcfg.PBMTE
pub const MENVCFG_PBMTE: u64 = 1 << 62;
/// menvcfg.STCE
pub const MENVCFG_STCE: u64 = 1 << 63;
const SENVCFG_WMASK: u64 = 1 | ENVCFG_CBIE | ENVCFG_CBCFE | ENVCFG_CBZE;
const MENVCFG_WMASK: u64 = SENVCFG_WMASK | MENVCFG_PBMTE | MENVCFG_STCE;

const MEDELEG_WMASK: u64 = 0xb3ff;
const MIDELEG_WMASK: u64 = mip::SSIP | mip::STIP | mip::SEIP;
const MIE_WMASK: u64 = 0xaaa;

/// CSR numbers used by the CPU.
#[allow(missing_docs)]
pub mod num {
    pub const FFLAGS: u16 = 0x001;
    pub const FRM: u16 = 0x002;
    pub const FCSR: u16 = 0x003;
    pub const CYCLE: u16 = 0xc00;
    pub const TIME: u16 = 0xc01;
    pub const INSTRET: u16 = 0xc02;
    pub const SSTATUS: u16 = 0x100;
    pub const SIE: u16 = 0x104;
    pub const STVEC: u16 = 0x105;
    pub const SCOUNTEREN: u16 = 0x106;
    pub const SENVCFG: u16 = 0x10a;
    pub const SSCRATCH: u16 = 0x140;
    pub const SEPC: u16 = 0x141;
    pub const SCAUSE: u16 = 0x142;
    pub const STVAL: u16 = 0x143;
    pub const SIP: u16 = 0x144;
    pub const STIMECMP: u16 = 0x14d;
    pub const SATP: u16 = 0x180;
    pub const MVENDORID: u16 = 0xf11;
    pub const MARCHID: u16 = 0xf12;
    pub const MIMPID: u16 = 0xf13;
    pub const MHARTID: u16 = 0xf14;
    pub const MCONFIGPTR: u16 = 0xf15;
    pub const MSTATUS: u16 = 0x300;
    pub const MISA: u16 = 0x301;
    pub const MEDELEG: u16 = 0x302;
    pub const MIDELEG: u16 = 0x303;
    pub const MIE: u16 = 0x304;
    pub const MTVEC: u16 = 0x305;
    pub const MCOUNTEREN: u16 = 0x306;
    pub const MENVCFG: u16 = 0x30a;
    pub const MCOUNTINHIBIT: u16 = 0x320;
    pub const MSCRATCH: u16 = 0x340;
    pub const MEPC: u16 = 0x341;
    pub const MCAUSE: u16 = 0x342;
    pub const MTVAL: u16 = 0x343;
    pub const MIP: u16 = 0x344;
    pub const PMPCFG0: u16 = 0x3a0;
    pub const PMPADDR0: u16 = 0x3b0;
    pub const MCYCLE: u16 = 0xb00;
    pub const MINSTRET: u16 = 0xb02;
}

fn illegal() -> Exc {
    // tval is filled in with the instruction bits by the executor.
    Exc {
        cause: cause::ILLEGAL,
        tval: 0,
    }
}

impl Cpu {
    /// mstatus as software reads it (SD computed from FS).
    pub(crate) fn mstatus_read(&self) -> u64 {
        let mut v = self.mstatus;
        if v & MSTATUS_FS == MSTATUS_FS {
            v |= MSTATUS_SD;
        }
        v
    }

    /// The full pending-interrupt bits: software-written, device lines, timers.
    pub(crate) fn mip_read(&self) -> u64 {
        let mut sw = self.mip_sw;
        if self.menvcfg & MENVCFG_STCE != 0 {
            sw &= !mip::STIP;
        }
        sw | self.hart.lines() | self.mip_timer
    }

    fn counter_gate(&self, bit: u64) -> Result<(), Exc> {
        if self.prv < prv::M && self.mcounteren & (1 << bit) == 0 {
            return Err(illegal());
        }
        if self.prv == prv::U && self.scounteren & (1 << bit) == 0 {
            return Err(illegal());
        }
        Ok(())
    }

    fn fs_check(&self) -> Result<(), Exc> {
        if self.mstatus & MSTATUS_FS == 0 {
            Err(illegal())
        } else {
            Ok(())
        }
    }

    /// Marks the FP state dirty.
    #[inline]
    pub(crate) fn fs_dirty(&mut self) {
        self.mstatus |= MSTATUS_FS;
    }

    pub(crate) fn mcycle(&self) -> u64 {
        if self.mcountinhibit & 1 != 0 {
            self.cycle_frozen
        } else {
            self.instret.wrapping_add(self.cycle_offset)
        }
    }

    pub(crate) fn minstret(&self) -> u64 {
        if self.mcountinhibit & 4 != 0 {
            self.instret_frozen
        } else {
            self.instret.wrapping_add(self.instret_offset)
        }
    }

    /// The current guest time (publishing the instruction count first in icount mode).
    pub(crate) fn time_now(&self) -> u64 {
        self.publish_icount();
        self.clock.now()
    }

    /// Checks existence and privilege of `csr` for an access that writes iff `write`.
    fn csr_check(&self, csr: u16, write: bool) -> Result<(), Exc> {
        let min_prv = ((csr >> 8) & 3) as u8;
        if self.prv < min_prv {
            return Err(illegal());
        }
        if write && (csr >> 10) & 3 == 3 {
            return Err(illegal());
        }
        Ok(())
    }

    /// Reads a CSR at the current privilege.
    pub(crate) fn csr_read(&mut self, csr: u16) -> Result<u64, Exc> {
        self.csr_check(csr, false)?;
        use num::*;
        Ok(match csr {
            FFLAGS => {
                self.fs_check()?;
                self.fflags as u64
            }
            FRM => {
                self.fs_check()?;
                self.frm as u64
            }
            FCSR => {
                self.fs_check()?;
                ((self.frm as u64) << 5) | self.fflags as u64
            }
            CYCLE => {
                self.counter_gate(0)?;
                self.mcycle()
            }
            TIME => {
                self.counter_gate(1)?;
                self.time_now()
            }
            INSTRET => {
                self.counter_gate(2)?;
                self.minstret()
            }
            0xc03..=0xc1f => {
                self.counter_gate((csr - 0xc00) as u64)?;
                0
            }
            SSTATUS => self.mstatus_read() & SSTATUS_RMASK,
            SIE => self.mie & self.mideleg,
            STVEC => self.stvec,
            SCOUNTEREN => self.scounteren,
            SENVCFG => self.senvcfg,
            SSCRATCH => self.sscratch,
            SEPC => self.sepc,
            SCAUSE => self.scause,
            STVAL => self.stval,
            SIP => {
                self.update_timer();
                self.mip_read() & self.mideleg
            }
            STIMECMP => {
                self.stimecmp_check()?;
                self.stimecmp
            }
            SATP => {
                if self.prv == prv::S && self.mstatus & MSTATUS_TVM != 0 {
                    return Err(illegal());
                }
                self.satp
            }
            MVENDORID | MARCHID | MIMPID | MHARTID | MCONFIGPTR => 0,
            MSTATUS => self.mstatus_read(),
            num::MISA => crate::cpu::MISA,
            MEDELEG => self.medeleg,
            MIDELEG => self.mideleg,
            MIE => self.mie,
            MTVEC => self.mtvec,
            MCOUNTEREN => self.mcounteren,
            MENVCFG => self.menvcfg,
            MCOUNTINHIBIT => self.mcountinhibit,
            0x323..=0x33f => 0,
            MSCRATCH => self.mscratch,
            MEPC => self.mepc,
            MCAUSE => self.mcause,
            MTVAL => self.mtval,
            MIP => {
                self.update_timer();
                self.mip_read()
            }
            0x3a0 | 0x3a2 => {
                let base = ((csr - PMPCFG0) * 4) as usize;
                let mut v = 0u64;
                for i in 0..8 {
                    v |= (self.pmpcfg[base + i] as u64) << (8 * i);
                }
                v
            }
            0x3a4..=0x3ae if csr.is_multiple_of(2) => 0,
            0x3b0..=0x3bf => self.pmpaddr[(csr - PMPADDR0) as usize],
            0x3c0..=0x3ef => 0,
            MCYCLE => self.mcycle(),
            MINSTRET => self.minstret(),
            0xb03..=0xb1f => 0,
            _ => return Err(illegal()),
        })
    }

    fn stimecmp_check(&self) -> Result<(), Exc> {
        if self.prv < prv::M && (self.mcounteren & 2 == 0 || self.menvcfg & MENVCFG_STCE == 0) {
            return Err(illegal());
        }
        Ok(())
    }

    /// Writes a CSR at the current privilege (the caller has already read it if needed).
    pub(crate) fn csr_write(&mut self, csr: u16, v: u64) -> Result<(), Exc> {
        self.csr_check(csr, true)?;
        use num::*;
        self.check_irq = true;
        match csr {
            FFLAGS => {
                self.fs_check()?;
                self.fflags = (v & 0x1f) as u8;
                self.fs_dirty();
            }
            FRM => {
                self.fs_check()?;
                self.frm = (v & 7) as u8;
                self.fs_dirty();
            }
            FCSR => {
                self.fs_check()?;
                self.fflags = (v & 0x1f) as u8;
                self.frm = ((v >> 5) & 7) as u8;
                self.fs_dirty();
            }
            SSTATUS => {
                let nv = (self.mstatus & !SSTATUS_WMASK) | (v & SSTATUS_WMASK);
                self.set_mstatus(nv);
            }
            SIE => {
                let m = self.mideleg & MIE_WMASK;
                self.mie = (self.mie & !m) | (v & m);
            }
            STVEC => {
                if v & 3 < 2 {
                    self.stvec = v;
                }
            }
            SCOUNTEREN => self.scounteren = v & 0xffff_ffff,
            SENVCFG => self.senvcfg = v & SENVCFG_WMASK,
            SSCRATCH => self.sscratch = v,
            SEPC => self.sepc = v & !1,
            SCAUSE => self.scause = v,
            STVAL => self.stval = v,
            SIP => {
                let m = self.mideleg & mip::SSIP;
                self.mip_sw = (self.mip_sw & !m) | (v & m);
            }
            STIMECMP => {
                self.stimecmp_check()?;
                self.stimecmp = v;
                self.update_timer();
            }
            SATP => {
                if self.prv == prv::S && self.mstatus & MSTATUS_TVM != 0 {
                    return Err(illegal());
                }
                let mode = v >> 60;
                if mode == 0 || mode == 8 || mode == 9 {
                    // ASIDLEN = 16 and 44 PPN bits: every field is implemented; bare mode
                    // requires the other fields to be zero.
                    self.satp = if mode == 0 { 0 } else { v };
                    self.flush_tlb();
                }
            }
            MSTATUS => self.set_mstatus(v),
            num::MISA => {}
            MEDELEG => self.medeleg = v & MEDELEG_WMASK,
            MIDELEG => self.mideleg = v & MIDELEG_WMASK,
            MIE => self.mie = v & MIE_WMASK,
            MTVEC => {
                if v & 3 < 2 {
                    self.mtvec = v;
                }
            }
            MCOUNTEREN => self.mcounteren = v & 0xffff_ffff,
            MENVCFG => {
                self.menvcfg = v & MENVCFG_WMASK;
                self.update_timer();
            }
            MCOUNTINHIBIT => {
                let old = self.mcountinhibit;
                let cy = self.mcycle();
                let ir = self.minstret();
                self.mcountinhibit = v & 0xffff_fffd;
                if self.mcountinhibit & 1 != 0 {
                    self.cycle_frozen = cy;
                } else if old & 1 != 0 {
                    self.cycle_offset = cy.wrapping_sub(self.instret);
                }
                if self.mcountinhibit & 4 != 0 {
                    self.instret_frozen = ir;
                } else if old & 4 != 0 {
                    self.instret_offset = ir.wrapping_sub(self.instret);
                }
            }
            0x323..=0x33f => {}
            MSCRATCH => self.mscratch = v,
            MEPC => self.mepc = v & !1,
            MCAUSE => self.mcause = v,
            MTVAL => self.mtval = v,
            MIP => {
                let mut m = mip::SSIP | mip::SEIP;
                if self.menvcfg & MENVCFG_STCE == 0 {
                    m |= mip::STIP;
                }
                self.mip_sw = (self.mip_sw & !m) | (v & m);
            }
            0x3a0 | 0x3a2 => {
                let base = ((csr - PMPCFG0) * 4) as usize;
                for i in 0..8 {
                    self.pmp_write_cfg(base + i, (v >> (8 * i)) as u8);
                }
                self.flush_tlb();
            }
            0x3a4..=0x3ae if csr.is_multiple_of(2) => {}
            0x3b0..=0x3bf => {
                self.pmp_write_addr((csr - PMPADDR0) as usize, v);
                self.flush_tlb();
            }
            0x3c0..=0x3ef => {}
            MCYCLE => {
                if self.mcountinhibit & 1 != 0 {
                    self.cycle_frozen = v;
                } else {
                    // The writing instruction's own retirement must not show.
                    self.cycle_offset = v.wrapping_sub(self.instret.wrapping_add(1));
                }
            }
            MINSTRET => {
                if self.mcountinhibit & 4 != 0 {
                    self.instret_frozen = v;
                } else {
                    self.instret_offset = v.wrapping_sub(self.instret.wrapping_add(1));
                }
            }
            0xb03..=0xb1f => {}
            _ => return Err(illegal()),
        }
        Ok(())
    }

    /// Writes mstatus with WARL rules, updating MMU indices and flushing when needed.
    pub(crate) fn set_mstatus(&mut self, v: u64) {
        let old = self.mstatus;
        let mut nv = (old & !MSTATUS_WMASK) | (v & MSTATUS_WMASK);
        if nv & MSTATUS_MPP == 2 << 11 {
            nv = (nv & !MSTATUS_MPP) | (old & MSTATUS_MPP);
        }
        nv = (nv & !MSTATUS_XL) | (2 << 32) | (2 << 34);
        self.mstatus = nv & !MSTATUS_SD;
        if (old ^ nv) & MSTATUS_MXR != 0 {
            self.flush_tlb();
        }
        if (old ^ nv) & (MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM) != 0 {
            self.update_mmu_idx();
        }
        self.check_irq = true;
    }

    /// Recomputes the timer interrupt bits (MTIP, and STIP under Sstc).
    pub(crate) fn update_timer(&mut self) {
        let now = self.time_now();
        let mut bits = 0;
        if now >= self.hart.mtimecmp() {
            bits |= mip::MTIP;
        }
        if self.menvcfg & MENVCFG_STCE != 0 && now >= self.stimecmp {
            bits |= mip::STIP;
        }
        self.mip_timer = bits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::machine;

    #[test]
    fn misa_is_read_only_and_exact() {
        let (mut cpu, _) = machine(&[]);
        assert_eq!(cpu.csr_read(num::MISA), Ok(0x8000_0000_0014_112f));
        cpu.csr_write(num::MISA, 0).unwrap();
        assert_eq!(cpu.csr_read(num::MISA), Ok(0x8000_0000_0014_112f));
    }

    #[test]
    fn mstatus_warl_and_sd() {
        let (mut cpu, _) = machine(&[]);
        cpu.csr_write(num::MSTATUS, u64::MAX).unwrap();
        let v = cpu.csr_read(num::MSTATUS).unwrap();
        assert_eq!(v & MSTATUS_XL, (2 << 32) | (2 << 34));
        assert_ne!(v & MSTATUS_SD, 0);
        assert_eq!(v & MSTATUS_MPP, MSTATUS_MPP);
        // MPP=2 is reserved: the old value stays.
        cpu.csr_write(num::MSTATUS, 2 << 11).unwrap();
        assert_eq!(
            cpu.csr_read(num::MSTATUS).unwrap() & MSTATUS_MPP,
            MSTATUS_MPP
        );
        let s = cpu.csr_read(num::SSTATUS).unwrap();
        assert_eq!(s & (MSTATUS_MIE | MSTATUS_MPP), 0);
    }

    #[test]
    fn privilege_and_counter_gating() {
        let (mut cpu, _) = machine(&[]);
        cpu.prv = prv::S;
        assert!(cpu.csr_read(num::MSTATUS).is_err());
        assert!(cpu.csr_read(num::CYCLE).is_err());
        cpu.mcounteren = 1;
        assert!(cpu.csr_read(num::CYCLE).is_ok());
        assert!(cpu.csr_write(num::CYCLE, 1).is_err());
        cpu.prv = prv::U;
        assert!(cpu.csr_read(num::CYCLE).is_err());
        cpu.prv = prv::M;
        assert!(cpu.csr_read(0x7c0).is_err());
        assert!(cpu.csr_read(0x3a1).is_err());
    }

    #[test]
    fn satp_ignores_unsupported_modes_and_fp_csrs_need_fs() {
        let (mut cpu, _) = machine(&[]);
        cpu.csr_write(num::SATP, (8 << 60) | 0x80000).unwrap();
        assert_eq!(cpu.csr_read(num::SATP), Ok((8 << 60) | 0x80000));
        cpu.csr_write(num::SATP, (10 << 60) | 0x1).unwrap();
        assert_eq!(cpu.csr_read(num::SATP), Ok((8 << 60) | 0x80000));
        assert!(cpu.csr_read(num::FCSR).is_err());
        cpu.csr_write(num::MSTATUS, 1 << 13).unwrap();
        cpu.csr_write(num::FRM, 3).unwrap();
        assert_eq!(cpu.csr_read(num::FCSR), Ok(3 << 5));
        assert_eq!(cpu.mstatus & MSTATUS_FS, MSTATUS_FS);
    }
}
