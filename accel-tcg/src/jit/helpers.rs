//! Functions translated code calls for what it does not do inline: TLB misses (page walk, MMIO,
//! faults) and whole instructions with tier-0 semantics.
//!
//! Protocol: before a call that can trap or read architectural state, translated code has stored
//! every guest register it changed, `pc` (the instruction's address) and `instret` (the count
//! before the instruction) into the [`Cpu`]. The memory helpers report in `cpu.jit.status`:
//! [`ST_OK`] (continue), [`ST_EXIT`] (the access completed and the helper finished the
//! instruction in memory, because translated code must end after it: MMIO or code invalidation)
//! or [`ST_TRAP`] (the trap has been taken: `pc` and the CSRs are the handler's). In the last two
//! cases translated code returns at once without storing anything.

use crate::cpu::{cause, Cpu};
use crate::decode::Insn;

/// Continue in translated code.
pub const ST_OK: u64 = 0;
/// The instruction completed; end translated code after it.
pub const ST_EXIT: u64 = 1;
/// The instruction trapped; the CPU state is the trap handler's.
pub const ST_TRAP: u64 = 2;

/// Load destination: an integer register.
pub const DEST_X: u8 = 0;
/// Load destination: an FP register, 64-bit.
pub const DEST_F64: u8 = 1;
/// Load destination: an FP register, NaN-boxed 32-bit.
pub const DEST_F32: u8 = 2;

/// Packs what [`load_slow`] needs to finish a load itself.
pub const fn load_info(size: u8, signed: bool, dest: u8, rd: u8, len: u8) -> u64 {
    size as u64
        | (signed as u64) << 4
        | (dest as u64) << 5
        | ((rd & 31) as u64) << 8
        | (len as u64) << 16
}

/// Completes an instruction in memory: `pc` and `instret` move past it.
fn finish(cpu: &mut Cpu, len: u64) {
    cpu.pc = cpu.pc.wrapping_add(len);
    cpu.instret += 1;
}

/// Slow-path load at virtual `va`; `info` from [`load_info`]. Returns the value zero-extended.
/// When the access must end translated code (MMIO), the helper completes the instruction
/// itself (destination register, `pc`, `instret`) and reports [`ST_EXIT`].
///
/// # Safety
/// `cpu` must point to the live [`Cpu`] running the translated code, with no other reference to
/// it in use.
pub unsafe extern "C" fn load_slow(cpu: *mut Cpu, va: u64, info: u64) -> u64 {
    // SAFETY: the caller (translated code entered from `JitState::call`) passes the unique CPU.
    let cpu = unsafe { &mut *cpu };
    let size = info & 15;
    match cpu.load(va, size) {
        Ok(v) => {
            cpu.jit.status = if cpu.break_block {
                cpu.break_block = false;
                let rd = ((info >> 8) & 31) as usize;
                match ((info >> 5) & 7) as u8 {
                    DEST_F64 => cpu.f[rd] = v,
                    DEST_F32 => cpu.f[rd] = crate::fp::box_s(v as u32),
                    _ => {
                        let signed = info & 16 != 0;
                        let sh = 64 - 8 * size as u32;
                        let x = if signed && sh > 0 {
                            (((v << sh) as i64) >> sh) as u64
                        } else {
                            v
                        };
                        if rd != 0 {
                            cpu.x[rd] = x;
                        }
                    }
                }
                finish(cpu, (info >> 16) & 7);
                ST_EXIT
            } else {
                ST_OK
            };
            v
        }
        Err(e) => {
            cpu.raise(e);
            cpu.break_block = false;
            cpu.jit.status = ST_TRAP;
            0
        }
    }
}

/// Slow-path store of the low `size` bytes of `v` at virtual `va` (`info` = size | len << 8);
/// completes the instruction itself when reporting [`ST_EXIT`].
///
/// # Safety
/// As for [`load_slow`].
pub unsafe extern "C" fn store_slow(cpu: *mut Cpu, va: u64, info: u64, v: u64) {
    // SAFETY: as for `load_slow`.
    let cpu = unsafe { &mut *cpu };
    let size = info & 15;
    match cpu.store(va, size, v) {
        Ok(()) => {
            cpu.jit.status = if cpu.break_block {
                cpu.break_block = false;
                finish(cpu, (info >> 8) & 7);
                ST_EXIT
            } else {
                ST_OK
            };
        }
        Err(e) => {
            cpu.raise(e);
            cpu.break_block = false;
            cpu.jit.status = ST_TRAP;
        }
    }
}

/// Executes one instruction exactly as tier 0 does (register write, `instret`, `pc`, traps).
/// Returns [`ST_OK`] when translated code may continue with the next instruction (after
/// reloading the destination register), anything else when it must return to the dispatcher
/// (the CPU state in memory is then complete).
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
