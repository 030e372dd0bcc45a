//! Arithmetic: add, sub, mul, div, sqrt and fused multiply-add (F and D).

use super::softfloat::{op2_d, op2_s, with_state};
use super::Rm;
use softfloat_sys as sf;

const SIGN_S: u32 = 0x8000_0000;
const SIGN_D: u64 = 0x8000_0000_0000_0000;

/// Host fast path for a round-to-nearest-even addition of two moderate finite values.
///
/// Relies on the host FPU being in its default state (round to nearest even, no flush-to-zero),
/// which Rust guarantees. With both magnitudes below 2^126 the sum cannot overflow, a subnormal
/// sum is always exact (so UF never applies), and Knuth's TwoSum recovers the exact rounding
/// error, whose being nonzero is exactly NX. Returns `None` when SoftFloat must decide.
#[inline]
fn fast_add_s(a: u32, b: u32, fl: &mut u8) -> Option<u32> {
    const LIMIT: u32 = 0x7e80_0000; // 2^126
    if a & !SIGN_S >= LIMIT || b & !SIGN_S >= LIMIT {
        return None;
    }
    let (x, y) = (f32::from_bits(a), f32::from_bits(b));
    let s = x + y;
    let bb = s - x;
    let err = (x - (s - bb)) + (y - bb);
    if err != 0.0 {
        *fl |= super::flags::NX;
    }
    Some(s.to_bits())
}

/// Double-precision counterpart of [`fast_add_s`] (both magnitudes below 2^1022).
#[inline]
fn fast_add_d(a: u64, b: u64, fl: &mut u8) -> Option<u64> {
    const LIMIT: u64 = 0x7fd0_0000_0000_0000; // 2^1022
    if a & !SIGN_D >= LIMIT || b & !SIGN_D >= LIMIT {
        return None;
    }
    let (x, y) = (f64::from_bits(a), f64::from_bits(b));
    let s = x + y;
    let bb = s - x;
    let err = (x - (s - bb)) + (y - bb);
    if err != 0.0 {
        *fl |= super::flags::NX;
    }
    Some(s.to_bits())
}

/// Host fast path for a round-to-nearest-even multiplication of two normal values whose
/// magnitudes lie in [2^-62, 2^63), so that the product is normal and finite (no OF/UF).
///
/// The product is exact, hence NX clear, iff the exact product of the two 24-bit significands
/// has at most 24 significant bits. Returns `None` when SoftFloat must decide.
#[inline]
fn fast_mul_s(a: u32, b: u32, fl: &mut u8) -> Option<u32> {
    let in_range = |v: u32| (0x41..=0xbd).contains(&((v >> 23) & 0xff));
    if !in_range(a) || !in_range(b) {
        return None;
    }
    let p = f32::from_bits(a) * f32::from_bits(b);
    let sig = |v: u32| u64::from(v & 0x007f_ffff | 0x0080_0000);
    let exact = sig(a) * sig(b);
    if 64 - exact.leading_zeros() - exact.trailing_zeros() > 24 {
        *fl |= super::flags::NX;
    }
    Some(p.to_bits())
}

/// Double-precision counterpart of [`fast_mul_s`]: magnitudes in [2^-510, 2^511), 53-bit
/// significands.
#[inline]
fn fast_mul_d(a: u64, b: u64, fl: &mut u8) -> Option<u64> {
    let in_range = |v: u64| (0x201..=0x5fd).contains(&((v >> 52) & 0x7ff));
    if !in_range(a) || !in_range(b) {
        return None;
    }
    let p = f64::from_bits(a) * f64::from_bits(b);
    let sig = |v: u64| u128::from(v & 0x000f_ffff_ffff_ffff | 0x0010_0000_0000_0000);
    let exact = sig(a) * sig(b);
    if 128 - exact.leading_zeros() - exact.trailing_zeros() > 53 {
        *fl |= super::flags::NX;
    }
    Some(p.to_bits())
}

/// `fadd.s`: `a + b`.
pub fn add_s(a: u32, b: u32, rm: Rm, fl: &mut u8) -> u32 {
    if rm == Rm::Rne {
        if let Some(r) = fast_add_s(a, b, fl) {
            return r;
        }
    }
    op2_s(sf::f32_add, a, b, rm, fl)
}

/// `fsub.s`: `a - b`.
pub fn sub_s(a: u32, b: u32, rm: Rm, fl: &mut u8) -> u32 {
    if rm == Rm::Rne {
        if let Some(r) = fast_add_s(a, b ^ SIGN_S, fl) {
            return r;
        }
    }
    op2_s(sf::f32_sub, a, b, rm, fl)
}

/// `fmul.s`: `a * b`.
pub fn mul_s(a: u32, b: u32, rm: Rm, fl: &mut u8) -> u32 {
    if rm == Rm::Rne {
        if let Some(r) = fast_mul_s(a, b, fl) {
            return r;
        }
    }
    op2_s(sf::f32_mul, a, b, rm, fl)
}

/// `fdiv.s`: `a / b`.
pub fn div_s(a: u32, b: u32, rm: Rm, fl: &mut u8) -> u32 {
    op2_s(sf::f32_div, a, b, rm, fl)
}

/// `fsqrt.s`: square root of `a`.
pub fn sqrt_s(a: u32, rm: Rm, fl: &mut u8) -> u32 {
    with_state(rm, fl, || {
        // SAFETY: pure SoftFloat computation on a plain bit pattern.
        unsafe { sf::f32_sqrt(sf::float32_t { v: a }).v }
    })
}

/// Fused multiply-add with one rounding: `(±(a*b)) ± c`.
///
/// `fmadd.s` = `(a*b)+c`; `fmsub.s` = `(a*b)-c` (`neg_add`); `fnmsub.s` = `-(a*b)+c`
/// (`neg_prod`); `fnmadd.s` = `-(a*b)-c` (both).
pub fn fma_s(a: u32, b: u32, c: u32, neg_prod: bool, neg_add: bool, rm: Rm, fl: &mut u8) -> u32 {
    // Negating `a` negates the exact product (also for zero products); NaN signs are irrelevant
    // because every NaN result is canonical.
    let a = if neg_prod { a ^ SIGN_S } else { a };
    let c = if neg_add { c ^ SIGN_S } else { c };
    with_state(rm, fl, || {
        // SAFETY: pure SoftFloat computation on plain bit patterns.
        unsafe {
            sf::f32_mulAdd(
                sf::float32_t { v: a },
                sf::float32_t { v: b },
                sf::float32_t { v: c },
            )
            .v
        }
    })
}

/// `fadd.d`: `a + b`.
pub fn add_d(a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    if rm == Rm::Rne {
        if let Some(r) = fast_add_d(a, b, fl) {
            return r;
        }
    }
    op2_d(sf::f64_add, a, b, rm, fl)
}

/// `fsub.d`: `a - b`.
pub fn sub_d(a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    if rm == Rm::Rne {
        if let Some(r) = fast_add_d(a, b ^ SIGN_D, fl) {
            return r;
        }
    }
    op2_d(sf::f64_sub, a, b, rm, fl)
}

/// `fmul.d`: `a * b`.
pub fn mul_d(a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    if rm == Rm::Rne {
        if let Some(r) = fast_mul_d(a, b, fl) {
            return r;
        }
    }
    op2_d(sf::f64_mul, a, b, rm, fl)
}

/// `fdiv.d`: `a / b`.
pub fn div_d(a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    op2_d(sf::f64_div, a, b, rm, fl)
}

/// `fsqrt.d`: square root of `a`.
pub fn sqrt_d(a: u64, rm: Rm, fl: &mut u8) -> u64 {
    with_state(rm, fl, || {
        // SAFETY: pure SoftFloat computation on a plain bit pattern.
        unsafe { sf::f64_sqrt(sf::float64_t { v: a }).v }
    })
}

/// Fused multiply-add, double precision; see [`fma_s`] for the meaning of the flags.
pub fn fma_d(a: u64, b: u64, c: u64, neg_prod: bool, neg_add: bool, rm: Rm, fl: &mut u8) -> u64 {
    let a = if neg_prod { a ^ SIGN_D } else { a };
    let c = if neg_add { c ^ SIGN_D } else { c };
    with_state(rm, fl, || {
        // SAFETY: pure SoftFloat computation on plain bit patterns.
        unsafe {
            sf::f64_mulAdd(
                sf::float64_t { v: a },
                sf::float64_t { v: b },
                sf::float64_t { v: c },
            )
            .v
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::{flags::*, CANONICAL_NAN_D, CANONICAL_NAN_S};

    const ALL_RM: [Rm; 5] = [Rm::Rne, Rm::Rtz, Rm::Rdn, Rm::Rup, Rm::Rmm];

    fn f(x: f32) -> u32 {
        x.to_bits()
    }

    fn g(x: f64) -> u64 {
        x.to_bits()
    }

    /// Runs `op` with fresh flags, returning (result, flags).
    fn run<T>(op: impl FnOnce(&mut u8) -> T) -> (T, u8) {
        let mut fl = 0;
        let r = op(&mut fl);
        (r, fl)
    }

    #[test]
    fn basic_values_and_no_flags() {
        assert_eq!(run(|fl| add_s(f(1.0), f(2.0), Rm::Rne, fl)), (f(3.0), 0));
        assert_eq!(run(|fl| sub_s(f(1.0), f(2.0), Rm::Rne, fl)), (f(-1.0), 0));
        assert_eq!(run(|fl| mul_s(f(1.5), f(-4.0), Rm::Rne, fl)), (f(-6.0), 0));
        assert_eq!(run(|fl| div_s(f(1.0), f(4.0), Rm::Rne, fl)), (f(0.25), 0));
        assert_eq!(run(|fl| sqrt_s(f(9.0), Rm::Rne, fl)), (f(3.0), 0));
        assert_eq!(run(|fl| add_d(g(1.0), g(2.0), Rm::Rne, fl)), (g(3.0), 0));
        assert_eq!(run(|fl| sub_d(g(1.0), g(2.0), Rm::Rne, fl)), (g(-1.0), 0));
        assert_eq!(run(|fl| mul_d(g(1.5), g(-4.0), Rm::Rne, fl)), (g(-6.0), 0));
        assert_eq!(run(|fl| div_d(g(1.0), g(4.0), Rm::Rne, fl)), (g(0.25), 0));
        assert_eq!(run(|fl| sqrt_d(g(2.25), Rm::Rne, fl)), (g(1.5), 0));
        // Flags accumulate (OR) into the caller's value.
        let mut fl = DZ;
        add_s(f(1.0), f(2.0), Rm::Rne, &mut fl);
        assert_eq!(fl, DZ);
    }

    #[test]
    fn rounding_modes_on_ties_single() {
        let half_ulp = f(2f32.powi(-24));
        let up = f(1.0) + 1;
        // 1 + 2^-24 is exactly halfway between 1.0 and the next float (even = 1.0).
        let want = [f(1.0), f(1.0), f(1.0), up, up];
        for (rm, w) in ALL_RM.iter().zip(want) {
            assert_eq!(
                run(|fl| add_s(f(1.0), half_ulp, *rm, fl)),
                (w, NX),
                "{rm:?}"
            );
        }
        let nup = f(-1.0) + 1;
        let want = [f(-1.0), f(-1.0), nup, f(-1.0), nup];
        for (rm, w) in ALL_RM.iter().zip(want) {
            assert_eq!(
                run(|fl| sub_s(f(-1.0), half_ulp, *rm, fl)),
                (w, NX),
                "{rm:?}"
            );
        }
        // Tie with an odd lower neighbour: RNE and RMM both go up.
        let (r, _) = run(|fl| add_s(up, half_ulp, Rm::Rne, fl));
        assert_eq!(r, up + 1);
    }

    #[test]
    fn rounding_modes_on_ties_double() {
        let half_ulp = g(2f64.powi(-53));
        let up = g(1.0) + 1;
        let want = [g(1.0), g(1.0), g(1.0), up, up];
        for (rm, w) in ALL_RM.iter().zip(want) {
            assert_eq!(
                run(|fl| add_d(g(1.0), half_ulp, *rm, fl)),
                (w, NX),
                "{rm:?}"
            );
        }
        // 1/3 is not a tie: RNE rounds down, RUP up; RMM equals RNE.
        let (rne, fl) = run(|fl| div_d(g(1.0), g(3.0), Rm::Rne, fl));
        assert_eq!((rne, fl), (g(1.0 / 3.0), NX));
        assert_eq!(run(|fl| div_d(g(1.0), g(3.0), Rm::Rup, fl)).0, rne + 1);
        assert_eq!(run(|fl| div_d(g(1.0), g(3.0), Rm::Rmm, fl)).0, rne);
        assert_eq!(run(|fl| div_d(g(1.0), g(3.0), Rm::Rtz, fl)).0, rne);
    }

    #[test]
    fn directed_rounding_of_sqrt_div_mul_fma() {
        // sqrt(2) and 2/3 are irrational / non-terminating: RDN and RTZ truncate, RUP is one ulp
        // above, RNE and RMM pick the nearer one (the host's answer).
        let near = g(2f64.sqrt());
        let lo = run(|fl| sqrt_d(g(2.0), Rm::Rdn, fl)).0;
        assert_eq!(run(|fl| sqrt_d(g(2.0), Rm::Rne, fl)), (near, NX));
        assert_eq!(run(|fl| sqrt_d(g(2.0), Rm::Rmm, fl)).0, near);
        assert_eq!(run(|fl| sqrt_d(g(2.0), Rm::Rtz, fl)).0, lo);
        assert_eq!(run(|fl| sqrt_d(g(2.0), Rm::Rup, fl)), (lo + 1, NX));
        assert!(near == lo || near == lo + 1);
        let near = f(2.0f32 / 3.0);
        let lo = run(|fl| div_s(f(2.0), f(3.0), Rm::Rtz, fl)).0;
        assert_eq!(run(|fl| div_s(f(2.0), f(3.0), Rm::Rne, fl)), (near, NX));
        assert_eq!(run(|fl| div_s(f(2.0), f(3.0), Rm::Rup, fl)).0, lo + 1);
        assert_eq!(run(|fl| div_s(f(-2.0), f(3.0), Rm::Rup, fl)).0, lo | SIGN_S);
        assert_eq!(
            run(|fl| div_s(f(-2.0), f(3.0), Rm::Rdn, fl)).0,
            (lo + 1) | SIGN_S
        );
        // Directed rounding also reaches the (non-fast-path) multiply: 0.1 * 0.1.
        let p = run(|fl| mul_d(g(0.1), g(0.1), Rm::Rtz, fl)).0;
        assert_eq!(run(|fl| mul_d(g(0.1), g(0.1), Rm::Rup, fl)).0, p + 1);
        // fma: 1 * 1 + 2^-60 is inexact; RUP rounds up to 1 + ulp, RNE keeps 1.
        let tiny = g(2f64.powi(-60));
        assert_eq!(
            run(|fl| fma_d(g(1.0), g(1.0), tiny, false, false, Rm::Rup, fl)),
            (g(1.0) + 1, NX)
        );
        assert_eq!(
            run(|fl| fma_d(g(1.0), g(1.0), tiny, false, false, Rm::Rne, fl)),
            (g(1.0), NX)
        );
        // fma overflow in RTZ saturates to the largest finite value.
        let max = f(f32::MAX);
        assert_eq!(
            run(|fl| fma_s(max, f(2.0), 0, false, false, Rm::Rtz, fl)),
            (max, OF | NX)
        );
    }

    #[test]
    fn overflow_per_rounding_mode() {
        let max = f(f32::MAX);
        let inf = f(f32::INFINITY);
        let want = [inf, max, max, inf, inf];
        for (rm, w) in ALL_RM.iter().zip(want) {
            assert_eq!(
                run(|fl| mul_s(max, f(2.0), *rm, fl)),
                (w, OF | NX),
                "{rm:?}"
            );
        }
        // Negative overflow: RDN gives -inf, RUP gives -max.
        assert_eq!(
            run(|fl| mul_d(g(-f64::MAX), g(2.0), Rm::Rup, fl)),
            (g(-f64::MAX), OF | NX)
        );
        assert_eq!(
            run(|fl| mul_d(g(-f64::MAX), g(2.0), Rm::Rdn, fl)),
            (g(f64::NEG_INFINITY), OF | NX)
        );
        // Infinity arithmetic is exact and raises nothing.
        assert_eq!(run(|fl| add_s(inf, f(1.0), Rm::Rne, fl)), (inf, 0));
    }

    #[test]
    fn underflow_tininess_after_rounding() {
        // (1 - 2^-23) * 2^-126 (1 + 2^-23) = 2^-126 (1 - 2^-46): tiny before rounding but rounds
        // to the minimum normal with unbounded exponent, so RISC-V raises NX without UF.
        let (r, fl) = run(|fl| mul_s(0x3f7f_fffe, 0x0080_0001, Rm::Rne, fl));
        assert_eq!((r, fl), (0x0080_0000, NX));
        let (r, fl) = run(|fl| mul_d(0x3fef_ffff_ffff_fffe, 0x0010_0000_0000_0001, Rm::Rne, fl));
        assert_eq!((r, fl), (0x0010_0000_0000_0000, NX));
        // In RTZ the same product stays subnormal: tiny and inexact.
        let (r, fl) = run(|fl| mul_s(0x3f7f_fffe, 0x0080_0001, Rm::Rtz, fl));
        assert_eq!((r, fl), (0x007f_ffff, UF | NX));
        // Inexact subnormal result: UF | NX; exact subnormal result: no flags.
        assert_eq!(
            run(|fl| mul_s(0x0080_0001, f(0.5), Rm::Rne, fl)),
            (0x0040_0000, UF | NX)
        );
        assert_eq!(
            run(|fl| mul_s(0x0080_0000, f(0.5), Rm::Rne, fl)),
            (0x0040_0000, 0)
        );
        // Underflow to zero.
        assert_eq!(run(|fl| mul_d(1, g(0.25), Rm::Rne, fl)), (0, UF | NX));
        assert_eq!(run(|fl| mul_d(1, g(0.25), Rm::Rup, fl)), (1, UF | NX));
    }

    #[test]
    fn invalid_and_divide_by_zero() {
        let inf = f(f32::INFINITY);
        assert_eq!(run(|fl| div_s(f(1.0), 0, Rm::Rne, fl)), (inf, DZ));
        assert_eq!(
            run(|fl| div_s(f(-1.0), 0, Rm::Rne, fl)),
            (inf | 1 << 31, DZ)
        );
        assert_eq!(run(|fl| div_s(0, 0, Rm::Rne, fl)), (CANONICAL_NAN_S, NV));
        assert_eq!(
            run(|fl| div_s(inf, inf, Rm::Rne, fl)),
            (CANONICAL_NAN_S, NV)
        );
        assert_eq!(
            run(|fl| sub_s(inf, inf, Rm::Rne, fl)),
            (CANONICAL_NAN_S, NV)
        );
        assert_eq!(run(|fl| mul_s(inf, 0, Rm::Rne, fl)), (CANONICAL_NAN_S, NV));
        assert_eq!(
            run(|fl| sqrt_s(f(-1.0), Rm::Rne, fl)),
            (CANONICAL_NAN_S, NV)
        );
        assert_eq!(run(|fl| sqrt_s(f(-0.0), Rm::Rne, fl)), (f(-0.0), 0));
        assert_eq!(
            run(|fl| div_d(g(1.0), 0, Rm::Rne, fl)),
            (g(f64::INFINITY), DZ)
        );
        assert_eq!(run(|fl| div_d(0, 0, Rm::Rne, fl)), (CANONICAL_NAN_D, NV));
        assert_eq!(
            run(|fl| sqrt_d(g(-2.0), Rm::Rne, fl)),
            (CANONICAL_NAN_D, NV)
        );
    }

    #[test]
    fn nan_operands_give_canonical_nan() {
        let qnan_payload = 0xffc0_1234; // negative quiet NaN with payload
        let snan = 0x7f80_0001;
        assert_eq!(
            run(|fl| add_s(qnan_payload, f(1.0), Rm::Rne, fl)),
            (CANONICAL_NAN_S, 0)
        );
        assert_eq!(
            run(|fl| add_s(snan, f(1.0), Rm::Rne, fl)),
            (CANONICAL_NAN_S, NV)
        );
        assert_eq!(
            run(|fl| mul_s(f(1.0), snan, Rm::Rne, fl)),
            (CANONICAL_NAN_S, NV)
        );
        assert_eq!(run(|fl| sqrt_s(snan, Rm::Rne, fl)), (CANONICAL_NAN_S, NV));
        assert_eq!(
            run(|fl| sqrt_s(qnan_payload, Rm::Rne, fl)),
            (CANONICAL_NAN_S, 0)
        );
        let dsnan = 0xfff0_0000_0000_0001;
        let dqnan = 0x7ff8_dead_beef_0000;
        assert_eq!(
            run(|fl| div_d(dqnan, g(1.0), Rm::Rne, fl)),
            (CANONICAL_NAN_D, 0)
        );
        assert_eq!(
            run(|fl| div_d(g(1.0), dsnan, Rm::Rne, fl)),
            (CANONICAL_NAN_D, NV)
        );
        assert_eq!(
            run(|fl| fma_d(g(1.0), g(1.0), dsnan, false, false, Rm::Rne, fl)),
            (CANONICAL_NAN_D, NV)
        );
    }

    #[test]
    fn fma_sign_variants() {
        let (a, b, c) = (f(2.0), f(3.0), f(1.0));
        assert_eq!(
            run(|fl| fma_s(a, b, c, false, false, Rm::Rne, fl)),
            (f(7.0), 0)
        );
        assert_eq!(
            run(|fl| fma_s(a, b, c, false, true, Rm::Rne, fl)),
            (f(5.0), 0)
        );
        assert_eq!(
            run(|fl| fma_s(a, b, c, true, false, Rm::Rne, fl)),
            (f(-5.0), 0)
        );
        assert_eq!(
            run(|fl| fma_s(a, b, c, true, true, Rm::Rne, fl)),
            (f(-7.0), 0)
        );
        let (a, b, c) = (g(2.0), g(3.0), g(1.0));
        assert_eq!(
            run(|fl| fma_d(a, b, c, false, false, Rm::Rne, fl)),
            (g(7.0), 0)
        );
        assert_eq!(
            run(|fl| fma_d(a, b, c, false, true, Rm::Rne, fl)),
            (g(5.0), 0)
        );
        assert_eq!(
            run(|fl| fma_d(a, b, c, true, false, Rm::Rne, fl)),
            (g(-5.0), 0)
        );
        assert_eq!(
            run(|fl| fma_d(a, b, c, true, true, Rm::Rne, fl)),
            (g(-7.0), 0)
        );
    }

    #[test]
    fn fma_signed_zeros() {
        let (z, one) = (f(0.0), f(1.0));
        // fnmadd: -(0*1) - 0 = -0.
        assert_eq!(
            run(|fl| fma_s(z, one, z, true, true, Rm::Rne, fl)).0,
            f(-0.0)
        );
        // fnmsub: -(0*1) + 0 = +0 in RNE, -0 in RDN.
        assert_eq!(
            run(|fl| fma_s(z, one, z, true, false, Rm::Rne, fl)).0,
            f(0.0)
        );
        assert_eq!(
            run(|fl| fma_s(z, one, z, true, false, Rm::Rdn, fl)).0,
            f(-0.0)
        );
        // fmsub: (1*1) - 1 = +0, or -0 in RDN.
        assert_eq!(
            run(|fl| fma_d(g(1.0), g(1.0), g(1.0), false, true, Rm::Rne, fl)).0,
            0
        );
        assert_eq!(
            run(|fl| fma_d(g(1.0), g(1.0), g(1.0), false, true, Rm::Rdn, fl)).0,
            g(-0.0)
        );
    }

    #[test]
    fn fma_single_rounding_and_invalid() {
        // (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24 exactly; an unfused multiply would lose the 2^-24.
        let a = f(1.0 + 2f32.powi(-12));
        let (r, fl) = run(|fl| fma_s(a, a, f(1.0), false, true, Rm::Rne, fl));
        assert_eq!((r, fl), (f(2f32.powi(-11) + 2f32.powi(-24)), 0));
        let (p, _) = run(|fl| mul_s(a, a, Rm::Rne, fl));
        assert_eq!(run(|fl| sub_s(p, f(1.0), Rm::Rne, fl)).0, f(2f32.powi(-11)));
        // inf * 0 + qNaN: RISC-V requires NV (the product is invalid regardless of c).
        let inf = f(f32::INFINITY);
        assert_eq!(
            run(|fl| fma_s(inf, 0, CANONICAL_NAN_S, false, false, Rm::Rne, fl)),
            (CANONICAL_NAN_S, NV)
        );
        assert_eq!(
            run(|fl| fma_d(
                0,
                g(f64::INFINITY),
                CANONICAL_NAN_D,
                false,
                false,
                Rm::Rne,
                fl
            )),
            (CANONICAL_NAN_D, NV)
        );
        // inf * 1 - inf: invalid.
        assert_eq!(
            run(|fl| fma_s(inf, f(1.0), inf, false, true, Rm::Rne, fl)),
            (CANONICAL_NAN_S, NV)
        );
        // qNaN * 1 + 1: quiet, canonical.
        assert_eq!(
            run(|fl| fma_s(0x7fc0_0001, f(1.0), f(1.0), false, false, Rm::Rne, fl)),
            (CANONICAL_NAN_S, 0)
        );
    }

    /// A small deterministic generator (xorshift64*) for the cross-checks.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// Random bits, biased towards interesting exponents (near 0, near 1, near the extremes).
        fn f64_bits(&mut self) -> u64 {
            let r = self.next();
            match r & 7 {
                0 => r & 0x800f_ffff_ffff_ffff, // zero/subnormal
                1 => (r & 0x800f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000, // [1, 2)
                2 => (r & 0x800f_ffff_ffff_ffff) | 0x7fe0_0000_0000_0000, // huge
                3 => (r & 0x800f_ffff_ffff_ffff) | 0x0010_0000_0000_0000, // tiny normal
                _ => r,
            }
        }

        fn f32_bits(&mut self) -> u32 {
            let r = self.next() as u32;
            match r & 7 {
                0 => r & 0x807f_ffff,
                1 => (r & 0x807f_ffff) | 0x3f80_0000,
                2 => (r & 0x807f_ffff) | 0x7f00_0000,
                3 => (r & 0x807f_ffff) | 0x0080_0000,
                _ => r,
            }
        }
    }

    fn same_d(ours: u64, host: f64) -> bool {
        if host.is_nan() {
            ours == CANONICAL_NAN_D
        } else {
            ours == host.to_bits()
        }
    }

    fn same_s(ours: u32, host: f32) -> bool {
        if host.is_nan() {
            ours == CANONICAL_NAN_S
        } else {
            ours == host.to_bits()
        }
    }

    #[test]
    fn random_cross_check_against_host_double() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut fl = 0;
        for i in 0..4000 {
            let (a, b, c) = (rng.f64_bits(), rng.f64_bits(), rng.f64_bits());
            let (x, y, z) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
            assert!(
                same_d(add_d(a, b, Rm::Rne, &mut fl), x + y),
                "{i}: {a:#x} + {b:#x}"
            );
            assert!(
                same_d(sub_d(a, b, Rm::Rne, &mut fl), x - y),
                "{i}: {a:#x} - {b:#x}"
            );
            assert!(
                same_d(mul_d(a, b, Rm::Rne, &mut fl), x * y),
                "{i}: {a:#x} * {b:#x}"
            );
            assert!(
                same_d(div_d(a, b, Rm::Rne, &mut fl), x / y),
                "{i}: {a:#x} / {b:#x}"
            );
            assert!(
                same_d(sqrt_d(a, Rm::Rne, &mut fl), x.sqrt()),
                "{i}: sqrt {a:#x}"
            );
            assert!(
                same_d(
                    fma_d(a, b, c, false, false, Rm::Rne, &mut fl),
                    x.mul_add(y, z)
                ),
                "{i}: fma {a:#x} {b:#x} {c:#x}"
            );
            assert!(
                same_d(
                    fma_d(a, b, c, true, true, Rm::Rne, &mut fl),
                    -x.mul_add(y, z)
                ),
                "{i}: fnmadd {a:#x} {b:#x} {c:#x}"
            );
        }
    }

    #[test]
    fn random_cross_check_against_host_single() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let mut fl = 0;
        for i in 0..4000 {
            let (a, b, c) = (rng.f32_bits(), rng.f32_bits(), rng.f32_bits());
            let (x, y, z) = (f32::from_bits(a), f32::from_bits(b), f32::from_bits(c));
            assert!(
                same_s(add_s(a, b, Rm::Rne, &mut fl), x + y),
                "{i}: {a:#x} + {b:#x}"
            );
            assert!(
                same_s(sub_s(a, b, Rm::Rne, &mut fl), x - y),
                "{i}: {a:#x} - {b:#x}"
            );
            assert!(
                same_s(mul_s(a, b, Rm::Rne, &mut fl), x * y),
                "{i}: {a:#x} * {b:#x}"
            );
            assert!(
                same_s(div_s(a, b, Rm::Rne, &mut fl), x / y),
                "{i}: {a:#x} / {b:#x}"
            );
            assert!(
                same_s(sqrt_s(a, Rm::Rne, &mut fl), x.sqrt()),
                "{i}: sqrt {a:#x}"
            );
            assert!(
                same_s(
                    fma_s(a, b, c, false, false, Rm::Rne, &mut fl),
                    x.mul_add(y, z)
                ),
                "{i}: fma {a:#x} {b:#x} {c:#x}"
            );
            assert!(
                same_s(
                    fma_s(a, b, c, false, true, Rm::Rne, &mut fl),
                    x.mul_add(y, -z)
                ),
                "{i}: fmsub {a:#x} {b:#x} {c:#x}"
            );
        }
    }

    #[test]
    fn fast_add_path_matches_softfloat_including_flags() {
        let mut rng = Rng(0x5eed_5eed_5eed_5eed);
        let mut specials_d = vec![
            (g(1.0), g(-1.0)),
            (g(-0.0), g(-0.0)),
            (g(0.0), g(-0.0)),
            (1, 0x8000_0000_0000_0002),
            (0x0010_0000_0000_0000, 0x8000_0000_0000_0001),
            (g(1.0), g(2f64.powi(-53))),
            (g(1e300), g(-1e-300)),
            (0x7fcf_ffff_ffff_ffff, 0x7fcf_ffff_ffff_ffff),
        ];
        for _ in 0..20_000 {
            specials_d.push((rng.f64_bits(), rng.f64_bits()));
        }
        for (a, b) in specials_d {
            let (mut f1, mut f2) = (0, 0);
            let soft = op2_d(sf::f64_add, a, b, Rm::Rne, &mut f1);
            if let Some(fast) = fast_add_d(a, b, &mut f2) {
                assert_eq!((fast, f2), (soft, f1), "{a:#x} + {b:#x}");
            }
        }
        let mut specials_s = vec![
            (f(1.0), f(-1.0)),
            (f(-0.0), f(-0.0)),
            (1, 0x8000_0002),
            (f(1.0), f(2f32.powi(-24))),
            (0x7e7f_ffff, 0x7e7f_ffff),
        ];
        for _ in 0..20_000 {
            specials_s.push((rng.f32_bits(), rng.f32_bits()));
        }
        for (a, b) in specials_s {
            let (mut f1, mut f2) = (0, 0);
            let soft = op2_s(sf::f32_add, a, b, Rm::Rne, &mut f1);
            if let Some(fast) = fast_add_s(a, b, &mut f2) {
                assert_eq!((fast, f2), (soft, f1), "{a:#x} + {b:#x}");
            }
        }
        // The fast path declines operands it cannot handle exactly.
        let mut fl = 0;
        assert!(fast_add_d(g(f64::MAX), g(f64::MAX), &mut fl).is_none());
        assert!(fast_add_d(CANONICAL_NAN_D, g(1.0), &mut fl).is_none());
        assert!(fast_add_s(f(f32::INFINITY), f(1.0), &mut fl).is_none());
        assert_eq!(fl, 0);
    }

    #[test]
    fn fast_mul_path_matches_softfloat_including_flags() {
        let mut rng = Rng(0xfeed_f00d_1234_5678);
        let mut hits = 0;
        for i in 0..40_000u32 {
            // Half the operands are short (few significand bits) so exact products are common.
            let short = |v: u64| if i % 2 == 0 { v & !0xffff_ffff } else { v };
            let (a, b) = (short(rng.f64_bits()), short(rng.f64_bits()));
            let (mut f1, mut f2) = (0, 0);
            let soft = op2_d(sf::f64_mul, a, b, Rm::Rne, &mut f1);
            if let Some(fast) = fast_mul_d(a, b, &mut f2) {
                hits += 1;
                assert_eq!((fast, f2), (soft, f1), "{a:#x} * {b:#x}");
            }
            let short = |v: u32| if i % 2 == 0 { v & !0xffff } else { v };
            let (a, b) = (short(rng.f32_bits()), short(rng.f32_bits()));
            let (mut f1, mut f2) = (0, 0);
            let soft = op2_s(sf::f32_mul, a, b, Rm::Rne, &mut f1);
            if let Some(fast) = fast_mul_s(a, b, &mut f2) {
                assert_eq!((fast, f2), (soft, f1), "{a:#x} * {b:#x}");
            }
        }
        assert!(hits > 1000, "fast path exercised only {hits} times");
        // Range edges fall back; an exact and an inexact product inside the range.
        let mut fl = 0;
        assert!(fast_mul_d(g(2f64.powi(511)), g(2.0), &mut fl).is_none());
        assert!(fast_mul_d(g(2f64.powi(-511)), g(2.0), &mut fl).is_none());
        assert!(fast_mul_s(0, f(2.0), &mut fl).is_none());
        assert_eq!(fast_mul_d(g(3.0), g(0.5), &mut fl), Some(g(1.5)));
        assert_eq!(fl, 0);
        assert_eq!(fast_mul_d(g(0.1), g(0.1), &mut fl), Some(g(0.1 * 0.1)));
        assert_eq!(fl, NX);
    }

    #[test]
    fn state_is_per_thread() {
        // A second thread running in RUP with its own flags must not disturb this one.
        let h = std::thread::spawn(|| {
            let mut fl = 0;
            let mut r = 0;
            for _ in 0..1000 {
                r = div_d(g(1.0), g(3.0), Rm::Rup, &mut fl);
            }
            (r, fl)
        });
        let mut last = (0, 0);
        for _ in 0..1000 {
            last = run(|fl| add_d(g(1.0), g(2.0), Rm::Rne, fl));
        }
        assert_eq!(last, (g(3.0), 0));
        let (r, fl) = h.join().expect("worker thread panicked");
        assert_eq!((r, fl), (g(1.0 / 3.0) + 1, NX));
    }
}
