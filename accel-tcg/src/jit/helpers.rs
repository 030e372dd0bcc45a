//! What the dispatcher runs for translated code: whole instructions with tier-0 semantics (TLB
//! misses: page walk, MMIO, faults; and instructions without an inline form).
//!
//! Protocol: translated code does not call these; it returns with every guest register it
//! changed, `pc` (the instruction's address) and `instret` (the count before the instruction)
//! stored into the [`Cpu`], and the dispatcher runs the instruction with [`exec_insn`].

use crate::cpu::{cause, Cpu};
use crate::decode::Insn;

/// Continue in translated code.
pub const ST_OK: u64 = 0;
/// The instruction completed; end translated code after it.
pub const ST_EXIT: u64 = 1;
/// The instruction trapped; the CPU state is the trap handler's.
pub const ST_TRAP: u64 = 2;

/// Executes one instruction exactly as tier 0 does (register write, `instret`, `pc`, traps),
/// for the dispatcher after translated code handed it over. Returns [`ST_OK`] when execution
/// simply continues at the next instruction, [`ST_EXIT`] when the run loop must look at the
/// state first (interrupts may be unmasked, mode or translation changed...), [`ST_TRAP`] after a
/// trap.
///
/// # Safety
/// `cpu` must point to a live [`Cpu`] that nothing else borrows during the call; `insn` must
/// point to a live [`Insn`].
pub unsafe extern "C" fn exec_insn(cpu: *mut Cpu, insn: *const Insn) -> u64 {
    // SAFETY: the caller passes the running CPU, not otherwise borrowed, and an instruction of
    // the region's memory, which outlives its code.
    let (cpu, insn) = unsafe { (&mut *cpu, &*insn) };
    let next = cpu.pc.wrapping_add(insn.len as u64);
    let mode = super::mode_key(cpu);
    match cpu.exec(insn) {
        Ok(()) => {
            cpu.x[0] = 0;
            cpu.instret += 1;
            let brk = std::mem::take(&mut cpu.break_block);
            if brk
                || cpu.check_irq
                || cpu.wfi
                || cpu.pc != next
                || cpu.semi_exit.is_some()
                || super::mode_key(cpu) != mode
                || cpu.jit.needs_dispatch()
            {
                ST_EXIT
            } else {
                ST_OK
            }
        }
        Err(mut e) => {
            cpu.x[0] = 0;
            if e.cause == cause::ILLEGAL {
                e.tval = insn.raw as u64;
            }
            cpu.raise(e);
            cpu.break_block = false;
            ST_TRAP
        }
    }
}
