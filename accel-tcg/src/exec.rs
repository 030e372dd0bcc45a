//! The tier-0 interpreter: executes one decoded [`Insn`] (integer, atomic, CSR, system ops; FP ops
//! are delegated to [`crate::fp`]).

use crate::cpu::{cause, prv, Cpu, Exc};
use crate::csr::{ENVCFG_CBCFE, ENVCFG_CBIE, ENVCFG_CBZE, MSTATUS_TVM, MSTATUS_TW};
use crate::decode::{Insn, Op};
use crate::mmu::Access;

pub(crate) fn illegal() -> Exc {
    Exc {
        cause: cause::ILLEGAL,
        tval: 0,
    }
}

fn clmul(a: u64, b: u64) -> u64 {
    let mut r = 0u64;
    for i in 0..64 {
        if (b >> i) & 1 != 0 {
            r ^= a << i;
        }
    }
    r
}

fn clmulh(a: u64, b: u64) -> u64 {
    let mut r = 0u64;
    for i in 1..64 {
        if (b >> i) & 1 != 0 {
            r ^= a >> (64 - i);
        }
    }
    r
}

fn clmulr(a: u64, b: u64) -> u64 {
    let mut r = 0u64;
    for i in 0..64 {
        if (b >> i) & 1 != 0 {
            r ^= a >> (63 - i);
        }
    }
    r
}

fn orc_b(a: u64) -> u64 {
    let mut r = 0u64;
    for i in 0..8 {
        if (a >> (8 * i)) & 0xff != 0 {
            r |= 0xff << (8 * i);
        }
    }
    r
}

#[inline(always)]
fn sx32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

impl Cpu {
    /// Executes one instruction: updates registers, memory and `pc`, or returns the exception
    /// (with `tval = 0` for illegal instructions: the caller fills in the encoding).
    #[inline(always)]
    pub(crate) fn exec(&mut self, i: &Insn) -> Result<(), Exc> {
        let rd = (i.rd & 31) as usize;
        let x1 = self.x[(i.rs1 & 31) as usize];
        let x2 = self.x[(i.rs2 & 31) as usize];
        let imm = i.imm as u64;
        let pc = self.pc;
        let next = pc.wrapping_add(i.len as u64);
        macro_rules! w {
            ($v:expr) => {{
                let v = $v;
                self.x[rd] = v;
            }};
        }
        macro_rules! branch {
            ($c:expr) => {{
                if $c {
                    self.pc = pc.wrapping_add(imm);
                    return Ok(());
                }
            }};
        }
        macro_rules! amo {
            ($size:expr, $f:expr) => {{
                let va = x1;
                let (old, pa) = self.amo_prepare(va, $size, true)?;
                let old = if $size == 4 { sx32(old) } else { old };
                let f: fn(u64, u64) -> u64 = $f;
                let new = f(old, x2);
                self.phys_write(pa, $size, new, va)?;
                w!(old)
            }};
        }
        use Op::*;
        match i.op {
            Lui => w!(imm),
            Auipc => w!(pc.wrapping_add(imm)),
            Jal => {
                w!(next);
                self.pc = pc.wrapping_add(imm);
                return Ok(());
            }
            Jalr => {
                let t = x1.wrapping_add(imm) & !1;
                w!(next);
                self.pc = t;
                return Ok(());
            }
            Beq => branch!(x1 == x2),
            Bne => branch!(x1 != x2),
            Blt => branch!((x1 as i64) < (x2 as i64)),
            Bge => branch!((x1 as i64) >= (x2 as i64)),
            Bltu => branch!(x1 < x2),
            Bgeu => branch!(x1 >= x2),
            Lb => w!(self.load(x1.wrapping_add(imm), 1)? as i8 as i64 as u64),
            Lh => w!(self.load(x1.wrapping_add(imm), 2)? as i16 as i64 as u64),
            Lw => w!(sx32(self.load(x1.wrapping_add(imm), 4)?)),
            Ld => w!(self.load(x1.wrapping_add(imm), 8)?),
            Lbu => w!(self.load(x1.wrapping_add(imm), 1)?),
            Lhu => w!(self.load(x1.wrapping_add(imm), 2)?),
            Lwu => w!(self.load(x1.wrapping_add(imm), 4)?),
            Sb => self.store(x1.wrapping_add(imm), 1, x2)?,
            Sh => self.store(x1.wrapping_add(imm), 2, x2)?,
            Sw => self.store(x1.wrapping_add(imm), 4, x2)?,
            Sd => self.store(x1.wrapping_add(imm), 8, x2)?,
            Addi => w!(x1.wrapping_add(imm)),
            Slti => w!(((x1 as i64) < (imm as i64)) as u64),
            Sltiu => w!((x1 < imm) as u64),
            Xori => w!(x1 ^ imm),
            Ori => w!(x1 | imm),
            Andi => w!(x1 & imm),
            Slli => w!(x1 << (imm & 63)),
            Srli => w!(x1 >> (imm & 63)),
            Srai => w!(((x1 as i64) >> (imm & 63)) as u64),
            Add => w!(x1.wrapping_add(x2)),
            Sub => w!(x1.wrapping_sub(x2)),
            Sll => w!(x1 << (x2 & 63)),
            Slt => w!(((x1 as i64) < (x2 as i64)) as u64),
            Sltu => w!((x1 < x2) as u64),
            Xor => w!(x1 ^ x2),
            Srl => w!(x1 >> (x2 & 63)),
            Sra => w!(((x1 as i64) >> (x2 & 63)) as u64),
            Or => w!(x1 | x2),
            And => w!(x1 & x2),
            Addiw => w!(sx32(x1.wrapping_add(imm))),
            Slliw => w!(sx32(((x1 as u32) << (imm & 31)) as u64)),
            Srliw => w!(sx32(((x1 as u32) >> (imm & 31)) as u64)),
            Sraiw => w!(((x1 as i32) >> (imm & 31)) as i64 as u64),
            Addw => w!(sx32(x1.wrapping_add(x2))),
            Subw => w!(sx32(x1.wrapping_sub(x2))),
            Sllw => w!(sx32(((x1 as u32) << (x2 & 31)) as u64)),
            Srlw => w!(sx32(((x1 as u32) >> (x2 & 31)) as u64)),
            Sraw => w!(((x1 as i32) >> (x2 & 31)) as i64 as u64),
            Fence => {}
            FenceI => {
                // Every store into a page holding translated code already dropped the blocks
                // (and JIT regions) it overlapped, at the store (`phys_write`), and blocks that
                // straddle pages are never cached: no stale code can exist here. Ending the block
                // makes the next instruction come from a fresh fetch. Flushing everything instead
                // would throw away all translated code on each of Linux's frequent `fence.i`s.
                self.break_block = true;
            }
            Ecall => {
                return Err(Exc {
                    cause: cause::ECALL_U + self.prv as u64,
                    tval: 0,
                })
            }
            Ebreak => {
                if self.semihosting
                    && i.len == 4
                    && self.prv != prv::U
                    && self.is_semihosting_call()
                {
                    self.semihosting_call();
                } else {
                    return Err(Exc {
                        cause: cause::BREAKPOINT,
                        tval: pc,
                    });
                }
            }
            Mul => w!(x1.wrapping_mul(x2)),
            Mulh => w!((((x1 as i64 as i128) * (x2 as i64 as i128)) >> 64) as u64),
            Mulhsu => w!((((x1 as i64 as i128).wrapping_mul(x2 as i128)) >> 64) as u64),
            Mulhu => w!((((x1 as u128) * (x2 as u128)) >> 64) as u64),
            Div => w!(if x2 == 0 {
                u64::MAX
            } else {
                (x1 as i64).wrapping_div(x2 as i64) as u64
            }),
            Divu => w!(x1.checked_div(x2).unwrap_or(u64::MAX)),
            Rem => w!(if x2 == 0 {
                x1
            } else {
                (x1 as i64).wrapping_rem(x2 as i64) as u64
            }),
            Remu => w!(if x2 == 0 { x1 } else { x1 % x2 }),
            Mulw => w!(sx32(x1.wrapping_mul(x2))),
            Divw => w!(if x2 as u32 == 0 {
                u64::MAX
            } else {
                (x1 as i32).wrapping_div(x2 as i32) as i64 as u64
            }),
            Divuw => w!(match (x1 as u32).checked_div(x2 as u32) {
                Some(q) => sx32(q as u64),
                None => u64::MAX,
            }),
            Remw => w!(if x2 as u32 == 0 {
                sx32(x1)
            } else {
                (x1 as i32).wrapping_rem(x2 as i32) as i64 as u64
            }),
            Remuw => w!(if x2 as u32 == 0 {
                sx32(x1)
            } else {
                sx32(((x1 as u32) % (x2 as u32)) as u64)
            }),
            LrW | LrD => {
                let size = if i.op == LrW { 4 } else { 8 };
                let (v, _) = self.amo_prepare(x1, size, false)?;
                self.reservation = Some(x1);
                w!(if size == 4 { sx32(v) } else { v })
            }
            ScW | ScD => {
                let size = if i.op == ScW { 4 } else { 8 };
                if x1 & (size - 1) != 0 {
                    return Err(Exc {
                        cause: cause::STORE_MISALIGNED,
                        tval: x1,
                    });
                }
                if self.reservation.take() == Some(x1) {
                    let pa = self.translate(x1, Access::Write, size)?;
                    self.phys_write(pa, size, x2, x1)?;
                    w!(0)
                } else {
                    w!(1)
                }
            }
            AmoswapW => amo!(4, |_, b| b),
            AmoaddW => amo!(4, |a, b| a.wrapping_add(b)),
            AmoxorW => amo!(4, |a, b| a ^ b),
            AmoandW => amo!(4, |a, b| a & b),
            AmoorW => amo!(4, |a, b| a | b),
            AmominW => amo!(4, |a, b| if (a as i32) < (b as i32) { a } else { b }),
            AmomaxW => amo!(4, |a, b| if (a as i32) > (b as i32) { a } else { b }),
            AmominuW => amo!(4, |a, b| if (a as u32) < (b as u32) { a } else { b }),
            AmomaxuW => amo!(4, |a, b| if (a as u32) > (b as u32) { a } else { b }),
            AmoswapD => amo!(8, |_, b| b),
            AmoaddD => amo!(8, |a, b| a.wrapping_add(b)),
            AmoxorD => amo!(8, |a, b| a ^ b),
            AmoandD => amo!(8, |a, b| a & b),
            AmoorD => amo!(8, |a, b| a | b),
            AmominD => amo!(8, |a, b| if (a as i64) < (b as i64) { a } else { b }),
            AmomaxD => amo!(8, |a, b| if (a as i64) > (b as i64) { a } else { b }),
            AmominuD => amo!(8, |a, b| a.min(b)),
            AmomaxuD => amo!(8, |a, b| a.max(b)),
            Csrrw | Csrrwi => {
                let src = if i.op == Csrrw { x1 } else { i.rs1 as u64 };
                let csr = i.imm as u16 & 0xfff;
                let old = if rd != 0 {
                    Some(self.csr_read(csr)?)
                } else {
                    None
                };
                self.csr_write(csr, src)?;
                if let Some(old) = old {
                    w!(old);
                }
            }
            Csrrs | Csrrc | Csrrsi | Csrrci => {
                let src = if matches!(i.op, Csrrs | Csrrc) {
                    x1
                } else {
                    i.rs1 as u64
                };
                let csr = i.imm as u16 & 0xfff;
                let old = self.csr_read(csr)?;
                if i.rs1 != 0 {
                    let new = if matches!(i.op, Csrrs | Csrrsi) {
                        old | src
                    } else {
                        old & !src
                    };
                    self.csr_write(csr, new)?;
                }
                w!(old);
            }
            Mret => return self.mret(),
            Sret => return self.sret(),
            Wfi => {
                if self.prv == prv::U || (self.prv == prv::S && self.mstatus & MSTATUS_TW != 0) {
                    return Err(illegal());
                }
                self.wfi = true;
                self.break_block = true;
            }
            SfenceVma | SinvalVma => {
                if self.prv == prv::U || (self.prv == prv::S && self.mstatus & MSTATUS_TVM != 0) {
                    return Err(illegal());
                }
                if i.rs1 & 31 == 0 {
                    self.flush_tlb();
                } else {
                    self.flush_tlb_page(x1);
                }
                self.break_block = true;
            }
            SfenceWInval | SfenceInvalIr => {
                if self.prv == prv::U {
                    return Err(illegal());
                }
            }
            AddUw => w!((x1 as u32 as u64).wrapping_add(x2)),
            Sh1add => w!((x1 << 1).wrapping_add(x2)),
            Sh2add => w!((x1 << 2).wrapping_add(x2)),
            Sh3add => w!((x1 << 3).wrapping_add(x2)),
            Sh1addUw => w!(((x1 as u32 as u64) << 1).wrapping_add(x2)),
            Sh2addUw => w!(((x1 as u32 as u64) << 2).wrapping_add(x2)),
            Sh3addUw => w!(((x1 as u32 as u64) << 3).wrapping_add(x2)),
            SlliUw => w!((x1 as u32 as u64) << (imm & 63)),
            Andn => w!(x1 & !x2),
            Orn => w!(x1 | !x2),
            Xnor => w!(!(x1 ^ x2)),
            Clz => w!(x1.leading_zeros() as u64),
            Clzw => w!((x1 as u32).leading_zeros() as u64),
            Ctz => w!(x1.trailing_zeros() as u64),
            Ctzw => w!((x1 as u32).trailing_zeros() as u64),
            Cpop => w!(x1.count_ones() as u64),
            Cpopw => w!((x1 as u32).count_ones() as u64),
            Max => w!((x1 as i64).max(x2 as i64) as u64),
            Maxu => w!(x1.max(x2)),
            Min => w!((x1 as i64).min(x2 as i64) as u64),
            Minu => w!(x1.min(x2)),
            SextB => w!(x1 as i8 as i64 as u64),
            SextH => w!(x1 as i16 as i64 as u64),
            ZextH => w!(x1 & 0xffff),
            Rol => w!(x1.rotate_left((x2 & 63) as u32)),
            Rolw => w!(sx32((x1 as u32).rotate_left((x2 & 31) as u32) as u64)),
            Ror => w!(x1.rotate_right((x2 & 63) as u32)),
            Rori => w!(x1.rotate_right((imm & 63) as u32)),
            Roriw => w!(sx32((x1 as u32).rotate_right((imm & 31) as u32) as u64)),
            Rorw => w!(sx32((x1 as u32).rotate_right((x2 & 31) as u32) as u64)),
            OrcB => w!(orc_b(x1)),
            Rev8 => w!(x1.swap_bytes()),
            Clmul => w!(clmul(x1, x2)),
            Clmulh => w!(clmulh(x1, x2)),
            Clmulr => w!(clmulr(x1, x2)),
            Bclr => w!(x1 & !(1 << (x2 & 63))),
            Bclri => w!(x1 & !(1 << (imm & 63))),
            Bext => w!((x1 >> (x2 & 63)) & 1),
            Bexti => w!((x1 >> (imm & 63)) & 1),
            Binv => w!(x1 ^ (1 << (x2 & 63))),
            Binvi => w!(x1 ^ (1 << (imm & 63))),
            Bset => w!(x1 | (1 << (x2 & 63))),
            Bseti => w!(x1 | (1 << (imm & 63))),
            CzeroEqz => w!(if x2 == 0 { 0 } else { x1 }),
            CzeroNez => w!(if x2 != 0 { 0 } else { x1 }),
            CboZero => {
                self.cbo_enabled(ENVCFG_CBZE, ENVCFG_CBZE)?;
                let base = x1 & !63;
                // One translation covers the aligned 64-byte block; check before writing.
                self.translate(base, Access::Write, 64)?;
                for k in 0..8 {
                    self.store(base.wrapping_add(8 * k), 8, 0)?;
                }
            }
            CboClean | CboFlush => {
                self.cbo_enabled(ENVCFG_CBCFE, ENVCFG_CBCFE)?;
                self.cbo_access(x1 & !63)?;
            }
            CboInval => {
                self.cbo_enabled(ENVCFG_CBIE, ENVCFG_CBIE)?;
                self.cbo_access(x1 & !63)?;
            }
            Custom => self.exec_custom(i)?,
            Illegal => return Err(illegal()),
            _ => self.exec_fp(i)?,
        }
        self.pc = next;
        Ok(())
    }

    /// Checks that a cache-block operation is enabled by menvcfg/senvcfg at this privilege.
    fn cbo_enabled(&self, mmask: u64, smask: u64) -> Result<(), Exc> {
        if self.prv != prv::M && self.menvcfg & mmask == 0 {
            return Err(illegal());
        }
        if self.prv == prv::U && self.senvcfg & smask == 0 {
            return Err(illegal());
        }
        Ok(())
    }

    /// cbo.clean/flush/inval: no data effect, but the block must be loadable or storable.
    fn cbo_access(&mut self, va: u64) -> Result<(), Exc> {
        if self.translate(va, Access::Read, 1).is_ok() {
            return Ok(());
        }
        self.translate(va, Access::Write, 1).map(|_| ())
    }

    fn exec_custom(&mut self, i: &Insn) -> Result<(), Exc> {
        let Some(mut hook) = self.custom.take() else {
            return Err(illegal());
        };
        let mut x = self.x;
        let mut mem = crate::memory::DataAccess {
            cpu: self,
            fault: None,
        };
        let outcome = hook.execute(i.raw, &mut x, &mut mem);
        let fault = mem.fault;
        self.custom = Some(hook);
        self.break_block = true;
        match outcome {
            devices::cpu_ext::CustomOutcome::Done => {
                x[0] = 0;
                self.x = x;
                Ok(())
            }
            devices::cpu_ext::CustomOutcome::Illegal => Err(illegal()),
            devices::cpu_ext::CustomOutcome::Fault => Err(fault.unwrap_or(Exc {
                cause: cause::LOAD_ACCESS,
                tval: 0,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carry_less_multiply() {
        assert_eq!(clmul(0b101, 0b11), 0b1111);
        assert_eq!(clmulh(1 << 63, 2), 1);
        assert_eq!(clmulr(1 << 63, 1 << 1), 2);
        assert_eq!(clmulr(1, 1), 0);
        assert_eq!(clmulr(1 << 32, 1 << 31), 1);
        assert_eq!(orc_b(0x0001_0000_2000_0300), 0x00ff_0000_ff00_ff00);
    }
}
