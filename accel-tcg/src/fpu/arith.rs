//! Arithmetic: add, sub, mul, div, sqrt and fused multiply-add (F and D).

use super::softfloat::{op2_d, op2_s, with_state};
use super::Rm;
use softfloat_sys as sf;

const SIGN_S: u32 = 0x8000_0000;
const SIGN_D: u64 = 0x8000_0000_0000_0000;

/// `fadd.s`: `a + b`.
pub fn add_s(a: u32, b: u32, rm: Rm, fl: &mut u8) -> u32 {
    op2_s(sf::f32_add, a, b, rm, fl)
}

/// `fsub.s`: `a - b`.
pub fn sub_s(a: u32, b: u32, rm: Rm, fl: &mut u8) -> u32 {
    op2_s(sf::f32_sub, a, b, rm, fl)
}

/// `fmul.s`: `a * b`.
pub fn mul_s(a: u32, b: u32, rm: Rm, fl: &mut u8) -> u32 {
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
    op2_d(sf::f64_add, a, b, rm, fl)
}

/// `fsub.d`: `a - b`.
pub fn sub_d(a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    op2_d(sf::f64_sub, a, b, rm, fl)
}

/// `fmul.d`: `a * b`.
pub fn mul_d(a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
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
