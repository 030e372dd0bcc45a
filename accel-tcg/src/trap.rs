//! Trap entry (exceptions and interrupts, with delegation and vectoring), interrupt selection,
//! and `mret`/`sret`.

use crate::cpu::{prv, Cpu, Exc};
use crate::csr::*;

/// Interrupts in priority order: MEI, MSI, MTI, SEI, SSI, STI.
const PRIORITY: [u64; 6] = [11, 3, 7, 9, 1, 5];

impl Cpu {
    /// Takes a synchronous exception at the current pc.
    pub(crate) fn raise(&mut self, e: Exc) {
        self.trap(e.cause, e.tval, false);
    }

    /// Enters the trap handler for `cause` (an interrupt number if `interrupt`).
    pub(crate) fn trap(&mut self, cause: u64, tval: u64, interrupt: bool) {
        log::trace!(
            "trap: {} {cause} at pc {:#x} prv {} tval {tval:#x}",
            if interrupt { "interrupt" } else { "exception" },
            self.pc,
            self.prv
        );
        let bit = 1u64 << (cause & 63);
        let deleg = if interrupt {
            self.mideleg
        } else {
            self.medeleg
        };
        let epc = self.pc;
        let vec_off = if interrupt { 4 * cause } else { 0 };
        let mcause = if interrupt { cause | (1 << 63) } else { cause };
        if self.prv <= prv::S && deleg & bit != 0 {
            self.scause = mcause;
            self.sepc = epc;
            self.stval = tval;
            let s = self.mstatus;
            let mut ns = s & !(MSTATUS_SPIE | MSTATUS_SIE | MSTATUS_SPP);
            if s & MSTATUS_SIE != 0 {
                ns |= MSTATUS_SPIE;
            }
            if self.prv == prv::S {
                ns |= MSTATUS_SPP;
            }
            self.mstatus = ns;
            self.prv = prv::S;
            self.pc = (self.stvec & !3).wrapping_add(if self.stvec & 1 != 0 { vec_off } else { 0 });
        } else {
            self.mcause = mcause;
            self.mepc = epc;
            self.mtval = tval;
            let s = self.mstatus;
            let mut ns = s & !(MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPP);
            if s & MSTATUS_MIE != 0 {
                ns |= MSTATUS_MPIE;
            }
            ns |= (self.prv as u64) << 11;
            self.mstatus = ns;
            self.prv = prv::M;
            self.pc = (self.mtvec & !3).wrapping_add(if self.mtvec & 1 != 0 { vec_off } else { 0 });
        }
        self.reservation = None;
        self.update_mmu_idx();
        self.check_irq = true;
        self.break_block = true;
    }

    /// The interrupt that should be taken now, if any.
    pub(crate) fn pending_interrupt(&self) -> Option<u64> {
        let pending = self.mip_read() & self.mie;
        if pending == 0 {
            return None;
        }
        let m_enabled = self.prv < prv::M || self.mstatus & MSTATUS_MIE != 0;
        let s_enabled =
            self.prv < prv::S || (self.prv == prv::S && self.mstatus & MSTATUS_SIE != 0);
        let mut take = 0;
        if m_enabled {
            take |= pending & !self.mideleg;
        }
        if s_enabled {
            take |= pending & self.mideleg;
        }
        if take == 0 {
            return None;
        }
        // M-level interrupts outrank S-level ones; within a level the fixed order applies.
        let m_level = take & !self.mideleg;
        let set = if m_level != 0 { m_level } else { take };
        PRIORITY.iter().copied().find(|&c| set & (1 << c) != 0)
    }

    /// Takes a pending enabled interrupt, if any; returns whether one was taken.
    pub(crate) fn check_interrupts(&mut self) -> bool {
        self.check_irq = false;
        match self.pending_interrupt() {
            Some(c) => {
                self.wfi = false;
                self.trap(c, 0, true);
                true
            }
            None => false,
        }
    }

    /// Whether any interrupt is pending and individually enabled (the `wfi` wake-up condition,
    /// regardless of the global enables).
    pub(crate) fn wfi_wake(&self) -> bool {
        self.mip_read() & self.mie != 0
    }

    /// `mret`.
    pub(crate) fn mret(&mut self) -> Result<(), Exc> {
        if self.prv != prv::M {
            return Err(Exc {
                cause: crate::cpu::cause::ILLEGAL,
                tval: 0,
            });
        }
        let s = self.mstatus;
        let mpp = ((s & MSTATUS_MPP) >> 11) as u8;
        let mut ns = s & !(MSTATUS_MIE | MSTATUS_MPP);
        if s & MSTATUS_MPIE != 0 {
            ns |= MSTATUS_MIE;
        }
        ns |= MSTATUS_MPIE;
        if mpp != prv::M {
            ns &= !MSTATUS_MPRV;
        }
        self.mstatus = ns;
        self.prv = mpp;
        self.pc = self.mepc;
        self.reservation = None;
        self.update_mmu_idx();
        self.check_irq = true;
        Ok(())
    }

    /// `sret`.
    pub(crate) fn sret(&mut self) -> Result<(), Exc> {
        if self.prv < prv::S || (self.prv == prv::S && self.mstatus & MSTATUS_TSR != 0) {
            return Err(Exc {
                cause: crate::cpu::cause::ILLEGAL,
                tval: 0,
            });
        }
        let s = self.mstatus;
        let spp = if s & MSTATUS_SPP != 0 { prv::S } else { prv::U };
        let mut ns = s & !(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV);
        if s & MSTATUS_SPIE != 0 {
            ns |= MSTATUS_SIE;
        }
        ns |= MSTATUS_SPIE;
        self.mstatus = ns;
        self.prv = spp;
        self.pc = self.sepc;
        self.reservation = None;
        self.update_mmu_idx();
        self.check_irq = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::machine;
    use devices::irq::mip;

    #[test]
    fn interrupt_priority_and_enables() {
        let (mut cpu, hart) = machine(&[]);
        cpu.mie = 0xaaa;
        hart.set_line(mip::MTIP | mip::MSIP, false);
        cpu.mip_sw = mip::SSIP | mip::STIP;
        hart.set_line(mip::MEIP | mip::MSIP, true);
        // M-mode with MIE clear: nothing.
        assert_eq!(cpu.pending_interrupt(), None);
        cpu.mstatus |= MSTATUS_MIE;
        assert_eq!(cpu.pending_interrupt(), Some(11));
        hart.set_line(mip::MEIP, false);
        assert_eq!(cpu.pending_interrupt(), Some(3));
        hart.set_line(mip::MSIP, false);
        assert_eq!(cpu.pending_interrupt(), Some(1), "SSI before STI");
        // Delegated interrupts are never taken in M-mode.
        cpu.mideleg = mip::SSIP | mip::STIP;
        assert_eq!(cpu.pending_interrupt(), None);
        // In S-mode they need SIE; in U-mode they are always enabled.
        cpu.prv = prv::S;
        assert_eq!(cpu.pending_interrupt(), None);
        cpu.mstatus |= MSTATUS_SIE;
        assert_eq!(cpu.pending_interrupt(), Some(1));
        cpu.mstatus &= !(MSTATUS_SIE | MSTATUS_MIE);
        cpu.prv = prv::U;
        assert_eq!(cpu.pending_interrupt(), Some(1));
        // An M-level interrupt outranks S-level ones whatever the numbers.
        hart.set_line(mip::SEIP, true);
        cpu.mideleg = mip::SSIP;
        assert_eq!(cpu.pending_interrupt(), Some(9));
    }

    #[test]
    fn trap_delegation_and_vectoring() {
        let (mut cpu, _) = machine(&[]);
        cpu.mtvec = 0x8000_1001;
        cpu.stvec = 0x8000_2000;
        cpu.medeleg = 1 << 8;
        cpu.prv = prv::U;
        cpu.pc = 0x1234;
        cpu.trap(8, 0, false);
        assert_eq!(
            (cpu.prv, cpu.pc, cpu.sepc, cpu.scause),
            (prv::S, 0x8000_2000, 0x1234, 8)
        );
        assert_eq!(cpu.mstatus & MSTATUS_SPP, 0);
        cpu.trap(7, 0, true);
        assert_eq!((cpu.prv, cpu.pc), (prv::M, 0x8000_1000 + 28));
        assert_eq!(cpu.mcause, (1 << 63) | 7);
        assert_eq!((cpu.mstatus & MSTATUS_MPP) >> 11, prv::S as u64);
        cpu.mepc = 0x4000;
        cpu.mret().unwrap();
        assert_eq!((cpu.prv, cpu.pc), (prv::S, 0x4000));
        assert!(cpu.mret().is_err(), "mret from S is illegal");
    }
}
