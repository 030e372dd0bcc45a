//! Host FP results when fflags.NX is clear: exactness tests.
//!
//! The host computes add, sub, mul, div and sqrt correctly rounded (round to nearest even, the
//! only mode translated code uses inline), so its result equals RISC-V's; only the flags can
//! differ. A result that is a normal number of moderate exponent ([`Emitter::plain_result`])
//! raises no overflow, underflow, invalid or divide-by-zero, and raises inexact exactly when
//! the operation was inexact. With NX already set that does not matter; with NX clear, these
//! tests prove the operation exact (so no flag changes) with a few more host operations:
//!
//! - `a + b` (and `a - b` as `a + (-b)`): TwoSum's error term `(a - (r - (r - a))) + (b - (r -
//!   a))` is exactly `a + b - r` when nothing overflows (an overflow gives an infinity or a NaN,
//!   never 0).
//! - `a * b`: `fma(a, b, -r)` is `a*b - r` rounded once; it is a multiple of the operands' unit
//!   product, so with `|r|` well above the underflow range (exponent field >= 54 for double,
//!   30 for single) a nonzero error cannot round to 0.
//! - `a / b`: the remainder `fma(-r, b, a)` (zero exactly when `r * b == a`), with `a` of
//!   exponent field >= 60 (double) / 30 (single) so a nonzero remainder cannot round to 0.
//! - `sqrt(a)`: `fma(-r, r, a)`, same bound on `a`.
//!
//! Multiplications, divisions and square roots need a host fused multiply-add; without one,
//! NX clear keeps taking the slow path.
//!
//! Zero results (which the tests above leave to the slow path: a zero result may be an
//! underflow) are exact, with no flag, when: `a + b` or `a - b` is zero (a nonzero exact sum is
//! at least the smallest subnormal, so it never rounds to zero); `a * b` is zero with `a` or
//! `b` zero; `a / b` with `a` zero; `sqrt(a)` is zero (only `sqrt(±0)`); a fused multiply-add
//! `±a * b ± c` is zero with `a` or `b` zero and `c` zero. (An infinite or NaN operand gives a
//! NaN result, never zero.) The slow path leaves translated code, so these common exact zeros
//! (`0 + 0`, `x * 0`) have this fast path of their own.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};

use super::Emitter;

/// The operation whose exactness is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ExactOp {
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    /// A fused multiply-add (only its zero results are tested).
    Fma,
}

/// An FP operation `r = a op b` to test for exactness (see the module doc).
#[derive(Clone, Copy)]
pub(super) struct Exact {
    /// The operation.
    pub op: ExactOp,
    /// The operands and the host result (F64 or F32 values).
    pub a: Value,
    pub b: Value,
    pub r: Value,
    /// The addend of a fused multiply-add (else unused).
    pub c: Option<Value>,
    /// The raw bits of the result (zero-extended to I64).
    pub rbits: Value,
    /// Double precision (else single).
    pub double: bool,
    /// A condition the fast path needs besides exactness (e.g. the operands are NaN-boxed).
    pub pre: Option<Value>,
}

impl Emitter<'_, '_> {
    /// Whether the exponent field of the float with raw bits `bits` is in `lo..=max - 1`
    /// (normal, at least `lo`, not infinite or NaN).
    pub(super) fn exp_in(&mut self, bits: Value, double: bool, lo: i64) -> Value {
        let (shift, mask) = if double { (52, 0x7ff) } else { (23, 0xff) };
        let e = self.b.ins().ushr_imm_s(bits, shift);
        let e = self.b.ins().band_imm_s(e, mask);
        let e = self.b.ins().iadd_imm_s(e, -lo);
        self.b
            .ins()
            .icmp_imm_s(IntCC::UnsignedLessThan, e, mask - lo)
    }

    /// Whether `x.op` needs a fused multiply-add the host lacks (then no test is possible).
    pub(super) fn exact_possible(&self, op: ExactOp) -> bool {
        matches!(op, ExactOp::Add | ExactOp::Sub | ExactOp::Fma) || self.fma
    }

    /// Whether float `v` is ±0.
    fn is_zero(&mut self, v: Value, zero: Value) -> Value {
        self.b.ins().fcmp(FloatCC::Equal, v, zero)
    }

    /// The condition under which the host result of `x` is RISC-V's with no flag raised.
    pub(super) fn exact_ok(&mut self, x: &Exact) -> Value {
        let zero = if x.double {
            self.b.ins().f64const(0.0)
        } else {
            self.b.ins().f32const(0.0)
        };
        let (lo_r, lo_a) = if x.double { (54, 60) } else { (30, 30) };
        // The raw bits of `a` (zero-extended to I64), for the exponent tests.
        let abits = if x.double {
            self.b.ins().bitcast(types::I64, MemFlagsData::new(), x.a)
        } else {
            let b32 = self.b.ins().bitcast(types::I32, MemFlagsData::new(), x.a);
            self.b.ins().uextend(types::I64, b32)
        };
        // Exact zero results (see the module doc).
        let rz = self.is_zero(x.r, zero);
        let zero_ok = match x.op {
            ExactOp::Add | ExactOp::Sub | ExactOp::Sqrt => rz,
            ExactOp::Mul | ExactOp::Fma => {
                let az = self.is_zero(x.a, zero);
                let bz = self.is_zero(x.b, zero);
                let abz = self.b.ins().bor(az, bz);
                let z = self.b.ins().band(rz, abz);
                match x.c {
                    Some(c) if x.op == ExactOp::Fma => {
                        let cz = self.is_zero(c, zero);
                        self.b.ins().band(z, cz)
                    }
                    _ => z,
                }
            }
            ExactOp::Div => {
                let az = self.is_zero(x.a, zero);
                self.b.ins().band(rz, az)
            }
        };
        if x.op == ExactOp::Fma {
            return match x.pre {
                Some(p) => self.b.ins().band(zero_ok, p),
                None => zero_ok,
            };
        }
        let (err, guard) = match x.op {
            ExactOp::Add | ExactOp::Sub => {
                let b = if x.op == ExactOp::Sub {
                    self.b.ins().fneg(x.b)
                } else {
                    x.b
                };
                let bv = self.b.ins().fsub(x.r, x.a);
                let av = self.b.ins().fsub(x.r, bv);
                let da = self.b.ins().fsub(x.a, av);
                let db = self.b.ins().fsub(b, bv);
                let err = self.b.ins().fadd(da, db);
                (err, self.exp_in(x.rbits, x.double, 2))
            }
            ExactOp::Mul => {
                let nr = self.b.ins().fneg(x.r);
                let err = self.b.ins().fma(x.a, x.b, nr);
                (err, self.exp_in(x.rbits, x.double, lo_r))
            }
            ExactOp::Div => {
                let nr = self.b.ins().fneg(x.r);
                let err = self.b.ins().fma(nr, x.b, x.a);
                let g1 = self.exp_in(x.rbits, x.double, 2);
                let g2 = self.exp_in(abits, x.double, lo_a);
                (err, self.b.ins().band(g1, g2))
            }
            // (`Fma` returned above.)
            ExactOp::Sqrt | ExactOp::Fma => {
                let nr = self.b.ins().fneg(x.r);
                let err = self.b.ins().fma(nr, x.r, x.a);
                let g1 = self.exp_in(x.rbits, x.double, 2);
                let g2 = self.exp_in(abits, x.double, lo_a);
                (err, self.b.ins().band(g1, g2))
            }
        };
        let exact = self.b.ins().fcmp(FloatCC::Equal, err, zero);
        let ok = self.b.ins().band(exact, guard);
        let ok = self.b.ins().bor(ok, zero_ok);
        match x.pre {
            Some(p) => self.b.ins().band(ok, p),
            None => ok,
        }
    }
}
