//! Functions translated code calls for what it does not do inline: TLB misses (page walk, MMIO,
//! faults) and whole instructions with tier-0 semantics.
//!
//! Protocol: before a call that can trap or read architectural state, translated code has stored
//! every guest register it changed, `pc` (the instruction's address) and `instret` (the count
//! before the instruction) into the [`Cpu`]. (TLB misses are not calls: translated code returns
//! and the dispatcher runs the instruction with [`exec_insn`].)

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
/// `cpu` as for [`load_slow`]; `insn` must point to a live [`Insn`].
pub unsafe extern "C" fn exec_insn(cpu: *mut Cpu, insn: *const Insn) -> u64 {
    // SAFETY: as for `load_slow`; the instruction lives in the region's memory, which outlives
    // its code.
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

/// Slow path of an inline FP instruction that cannot trap (FS on, valid rounding mode, known
/// when translating): runs the tier-0 FP code on the operand values `a`, `b`, `c` (`f[rs1..3]`,
/// or `x[rs1]` in `a` for integer sources), accrues fflags, and returns the result: `x[rd]` when
/// `xdest`, else `f[rd]`.
///
/// The operands are the registers' current values, so writing them to their home slots (and the
/// result to `rd`'s) keeps memory consistent with translated code's variables.
///
/// # Safety
/// As for [`exec_insn`].
pub unsafe extern "C" fn fp_op(
    cpu: *mut Cpu,
    insn: *const Insn,
    a: u64,
    b: u64,
    c: u64,
    xsrc: u64,
    xdest: u64,
) -> u64 {
    // SAFETY: as for `exec_insn`.
    let (cpu, insn) = unsafe { (&mut *cpu, &*insn) };
    let (r1, r2, r3, rd) = (
        (insn.rs1 & 31) as usize,
        (insn.rs2 & 31) as usize,
        (insn.rs3 & 31) as usize,
        (insn.rd & 31) as usize,
    );
    if xsrc != 0 {
        if r1 != 0 {
            cpu.x[r1] = a;
        }
    } else {
        cpu.f[r1] = a;
        cpu.f[r2] = b;
        cpu.f[r3] = c;
    }
    if let Err(e) = cpu.exec_fp(insn) {
        // Excluded when translating (FS and the rounding mode are part of the region's mode).
        log::error!("jit: FP slow path trapped unexpectedly: {e:?}");
    }
    cpu.x[0] = 0;
    if xdest != 0 {
        cpu.x[rd]
    } else {
        cpu.f[rd]
    }
}
