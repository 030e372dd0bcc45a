//! Execution of F, D and Zfa instructions: FS gating, NaN-boxing, rounding-mode resolution and
//! fflags accrual around the [`crate::fpu`] arithmetic.

use crate::cpu::{Cpu, Exc};
use crate::csr::MSTATUS_FS;
use crate::decode::{Insn, Op};
use crate::exec::illegal;
use crate::fpu::{self, Rm};

const CANONICAL_NAN_S: u32 = 0x7fc0_0000;
const BOX: u64 = 0xffff_ffff_0000_0000;

/// Unboxes a single-precision value: anything not NaN-boxed reads as the canonical NaN.
#[inline]
pub fn unbox_s(v: u64) -> u32 {
    if v & BOX == BOX {
        v as u32
    } else {
        CANONICAL_NAN_S
    }
}

/// NaN-boxes a single-precision value.
#[inline]
pub fn box_s(v: u32) -> u64 {
    BOX | v as u64
}

fn sx32(v: u32) -> u64 {
    v as i32 as i64 as u64
}

impl Cpu {
    fn resolve_rm(&self, rm: u8) -> Result<Rm, Exc> {
        let r = if rm == 7 { self.frm } else { rm };
        Rm::from_bits(r).ok_or_else(illegal)
    }

    /// Executes an FP instruction (not `pc`); illegal if FS is Off.
    pub(crate) fn exec_fp(&mut self, i: &Insn) -> Result<(), Exc> {
        if self.mstatus & MSTATUS_FS == 0 {
            return Err(illegal());
        }
        let rd = (i.rd & 31) as usize;
        let r1 = (i.rs1 & 31) as usize;
        let r2 = (i.rs2 & 31) as usize;
        let r3 = (i.rs3 & 31) as usize;
        let (f1, f2, f3) = (self.f[r1], self.f[r2], self.f[r3]);
        let (s1, s2, s3) = (unbox_s(f1), unbox_s(f2), unbox_s(f3));
        let x1 = self.x[r1];
        let mut fl = 0u8;
        // Result destinations.
        enum Out {
            F(u64),
            X(u64),
            None,
        }
        use Op::*;
        let rmr = self.resolve_rm(i.rm);
        let rm = || rmr;
        let out = match i.op {
            Flw => {
                let v = self.load(x1.wrapping_add(i.imm as u64), 4)?;
                Out::F(box_s(v as u32))
            }
            Fld => Out::F(self.load(x1.wrapping_add(i.imm as u64), 8)?),
            Fsw => {
                self.store(x1.wrapping_add(i.imm as u64), 4, f2 & 0xffff_ffff)?;
                Out::None
            }
            Fsd => {
                self.store(x1.wrapping_add(i.imm as u64), 8, f2)?;
                Out::None
            }
            FmaddS => Out::F(box_s(fpu::fma_s(s1, s2, s3, false, false, rm()?, &mut fl))),
            FmsubS => Out::F(box_s(fpu::fma_s(s1, s2, s3, false, true, rm()?, &mut fl))),
            FnmsubS => Out::F(box_s(fpu::fma_s(s1, s2, s3, true, false, rm()?, &mut fl))),
            FnmaddS => Out::F(box_s(fpu::fma_s(s1, s2, s3, true, true, rm()?, &mut fl))),
            FmaddD => Out::F(fpu::fma_d(f1, f2, f3, false, false, rm()?, &mut fl)),
            FmsubD => Out::F(fpu::fma_d(f1, f2, f3, false, true, rm()?, &mut fl)),
            FnmsubD => Out::F(fpu::fma_d(f1, f2, f3, true, false, rm()?, &mut fl)),
            FnmaddD => Out::F(fpu::fma_d(f1, f2, f3, true, true, rm()?, &mut fl)),
            FaddS => Out::F(box_s(fpu::add_s(s1, s2, rm()?, &mut fl))),
            FsubS => Out::F(box_s(fpu::sub_s(s1, s2, rm()?, &mut fl))),
            FmulS => Out::F(box_s(fpu::mul_s(s1, s2, rm()?, &mut fl))),
            FdivS => Out::F(box_s(fpu::div_s(s1, s2, rm()?, &mut fl))),
            FsqrtS => Out::F(box_s(fpu::sqrt_s(s1, rm()?, &mut fl))),
            FaddD => Out::F(fpu::add_d(f1, f2, rm()?, &mut fl)),
            FsubD => Out::F(fpu::sub_d(f1, f2, rm()?, &mut fl)),
            FmulD => Out::F(fpu::mul_d(f1, f2, rm()?, &mut fl)),
            FdivD => Out::F(fpu::div_d(f1, f2, rm()?, &mut fl)),
            FsqrtD => Out::F(fpu::sqrt_d(f1, rm()?, &mut fl)),
            FsgnjS => Out::F(box_s((s1 & 0x7fff_ffff) | (s2 & 0x8000_0000))),
            FsgnjnS => Out::F(box_s((s1 & 0x7fff_ffff) | (!s2 & 0x8000_0000))),
            FsgnjxS => Out::F(box_s(s1 ^ (s2 & 0x8000_0000))),
            FsgnjD => Out::F((f1 & !(1 << 63)) | (f2 & (1 << 63))),
            FsgnjnD => Out::F((f1 & !(1 << 63)) | (!f2 & (1 << 63))),
            FsgnjxD => Out::F(f1 ^ (f2 & (1 << 63))),
            FminS => Out::F(box_s(fpu::min_s(s1, s2, &mut fl))),
            FmaxS => Out::F(box_s(fpu::max_s(s1, s2, &mut fl))),
            FminD => Out::F(fpu::min_d(f1, f2, &mut fl)),
            FmaxD => Out::F(fpu::max_d(f1, f2, &mut fl)),
            FminmS => Out::F(box_s(fpu::minm_s(s1, s2, &mut fl))),
            FmaxmS => Out::F(box_s(fpu::maxm_s(s1, s2, &mut fl))),
            FminmD => Out::F(fpu::minm_d(f1, f2, &mut fl)),
            FmaxmD => Out::F(fpu::maxm_d(f1, f2, &mut fl)),
            FcvtSD => Out::F(box_s(fpu::cvt_s_d(f1, rm()?, &mut fl))),
            FcvtDS => {
                rm()?;
                Out::F(fpu::cvt_d_s(s1, &mut fl))
            }
            FroundS => Out::F(box_s(fpu::round_s(s1, rm()?, &mut fl))),
            FroundnxS => Out::F(box_s(fpu::roundnx_s(s1, rm()?, &mut fl))),
            FroundD => Out::F(fpu::round_d(f1, rm()?, &mut fl)),
            FroundnxD => Out::F(fpu::roundnx_d(f1, rm()?, &mut fl)),
            FeqS => Out::X(fpu::eq_s(s1, s2, &mut fl) as u64),
            FltS => Out::X(fpu::lt_s(s1, s2, &mut fl) as u64),
            FleS => Out::X(fpu::le_s(s1, s2, &mut fl) as u64),
            FltqS => Out::X(fpu::ltq_s(s1, s2, &mut fl) as u64),
            FleqS => Out::X(fpu::leq_s(s1, s2, &mut fl) as u64),
            FeqD => Out::X(fpu::eq_d(f1, f2, &mut fl) as u64),
            FltD => Out::X(fpu::lt_d(f1, f2, &mut fl) as u64),
            FleD => Out::X(fpu::le_d(f1, f2, &mut fl) as u64),
            FltqD => Out::X(fpu::ltq_d(f1, f2, &mut fl) as u64),
            FleqD => Out::X(fpu::leq_d(f1, f2, &mut fl) as u64),
            FclassS => Out::X(fpu::classify_s(s1)),
            FclassD => Out::X(fpu::classify_d(f1)),
            FcvtWS => Out::X(fpu::cvt_w_s(s1, rm()?, &mut fl) as i64 as u64),
            FcvtWuS => Out::X(sx32(fpu::cvt_wu_s(s1, rm()?, &mut fl))),
            FcvtLS => Out::X(fpu::cvt_l_s(s1, rm()?, &mut fl) as u64),
            FcvtLuS => Out::X(fpu::cvt_lu_s(s1, rm()?, &mut fl)),
            FcvtWD => Out::X(fpu::cvt_w_d(f1, rm()?, &mut fl) as i64 as u64),
            FcvtWuD => Out::X(sx32(fpu::cvt_wu_d(f1, rm()?, &mut fl))),
            FcvtLD => Out::X(fpu::cvt_l_d(f1, rm()?, &mut fl) as u64),
            FcvtLuD => Out::X(fpu::cvt_lu_d(f1, rm()?, &mut fl)),
            FcvtmodWD => Out::X(fpu::cvtmod_w_d(f1, &mut fl) as i64 as u64),
            FmvXW => Out::X(sx32(f1 as u32)),
            FmvXD => Out::X(f1),
            FcvtSW => Out::F(box_s(fpu::cvt_s_w(x1 as i32, rm()?, &mut fl))),
            FcvtSWu => Out::F(box_s(fpu::cvt_s_wu(x1 as u32, rm()?, &mut fl))),
            FcvtSL => Out::F(box_s(fpu::cvt_s_l(x1 as i64, rm()?, &mut fl))),
            FcvtSLu => Out::F(box_s(fpu::cvt_s_lu(x1, rm()?, &mut fl))),
            FcvtDW => Out::F(fpu::cvt_d_w(x1 as i32, rm()?, &mut fl)),
            FcvtDWu => Out::F(fpu::cvt_d_wu(x1 as u32, rm()?, &mut fl)),
            FcvtDL => Out::F(fpu::cvt_d_l(x1 as i64, rm()?, &mut fl)),
            FcvtDLu => Out::F(fpu::cvt_d_lu(x1, rm()?, &mut fl)),
            FmvWX => Out::F(box_s(x1 as u32)),
            FmvDX => Out::F(x1),
            FliS => Out::F(box_s(fpu::fli_s(i.rs1))),
            FliD => Out::F(fpu::fli_d(i.rs1)),
            _ => return Err(illegal()),
        };
        match out {
            Out::F(v) => {
                self.f[rd] = v;
                self.fs_dirty();
            }
            Out::X(v) => self.x[rd] = v,
            Out::None => {}
        }
        if fl != 0 {
            self.fflags |= fl;
            self.fs_dirty();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_boxing() {
        assert_eq!(unbox_s(box_s(0x3f80_0000)), 0x3f80_0000);
        assert_eq!(unbox_s(0x0000_0000_3f80_0000), CANONICAL_NAN_S);
        assert_eq!(unbox_s(0xffff_fffe_3f80_0000), CANONICAL_NAN_S);
    }
}
