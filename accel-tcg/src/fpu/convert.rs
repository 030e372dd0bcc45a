//! Conversions between the floating-point formats and to/from integers (F, D, Zfa `fcvtmod`).
//!
//! SoftFloat's RISC-V specialization already implements the RISC-V float→integer rules: a NaN
//! converts to the largest positive integer, out-of-range values saturate, and both raise NV
//! without NX; a negative value converts to an unsigned 0 with NV unless it rounds to 0.

use super::softfloat::with_state;
use super::{flags, Rm};
use softfloat_sys as sf;

/// Wraps single-precision bits for SoftFloat.
fn s(a: u32) -> sf::float32_t {
    sf::float32_t { v: a }
}

/// Wraps double-precision bits for SoftFloat.
fn d(a: u64) -> sf::float64_t {
    sf::float64_t { v: a }
}

/// `fcvt.w.s`: to a signed 32-bit integer.
pub fn cvt_w_s(a: u32, rm: Rm, fl: &mut u8) -> i32 {
    // SAFETY (all conversions below): SoftFloat conversions are pure apart from the thread-local
    // state that `with_state` manages; every bit pattern is a valid operand and `rm` is a valid
    // SoftFloat rounding mode. The `as` casts narrow SoftFloat's int_fast types, whose values
    // are already within the target range.
    with_state(rm, fl, || unsafe {
        sf::f32_to_i32(s(a), rm as u8, true) as i32
    })
}

/// `fcvt.wu.s`: to an unsigned 32-bit integer (the CPU sign-extends it on RV64).
pub fn cvt_wu_s(a: u32, rm: Rm, fl: &mut u8) -> u32 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe {
        sf::f32_to_ui32(s(a), rm as u8, true) as u32
    })
}

/// `fcvt.l.s`: to a signed 64-bit integer.
pub fn cvt_l_s(a: u32, rm: Rm, fl: &mut u8) -> i64 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::f32_to_i64(s(a), rm as u8, true) })
}

/// `fcvt.lu.s`: to an unsigned 64-bit integer.
pub fn cvt_lu_s(a: u32, rm: Rm, fl: &mut u8) -> u64 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::f32_to_ui64(s(a), rm as u8, true) })
}

/// `fcvt.s.w`: from a signed 32-bit integer.
pub fn cvt_s_w(a: i32, rm: Rm, fl: &mut u8) -> u32 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::i32_to_f32(a).v })
}

/// `fcvt.s.wu`: from an unsigned 32-bit integer.
pub fn cvt_s_wu(a: u32, rm: Rm, fl: &mut u8) -> u32 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::ui32_to_f32(a).v })
}

/// `fcvt.s.l`: from a signed 64-bit integer.
pub fn cvt_s_l(a: i64, rm: Rm, fl: &mut u8) -> u32 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::i64_to_f32(a).v })
}

/// `fcvt.s.lu`: from an unsigned 64-bit integer.
pub fn cvt_s_lu(a: u64, rm: Rm, fl: &mut u8) -> u32 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::ui64_to_f32(a).v })
}

/// `fcvt.w.d`: to a signed 32-bit integer.
pub fn cvt_w_d(a: u64, rm: Rm, fl: &mut u8) -> i32 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe {
        sf::f64_to_i32(d(a), rm as u8, true) as i32
    })
}

/// `fcvt.wu.d`: to an unsigned 32-bit integer (the CPU sign-extends it on RV64).
pub fn cvt_wu_d(a: u64, rm: Rm, fl: &mut u8) -> u32 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe {
        sf::f64_to_ui32(d(a), rm as u8, true) as u32
    })
}

/// `fcvt.l.d`: to a signed 64-bit integer.
pub fn cvt_l_d(a: u64, rm: Rm, fl: &mut u8) -> i64 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::f64_to_i64(d(a), rm as u8, true) })
}

/// `fcvt.lu.d`: to an unsigned 64-bit integer.
pub fn cvt_lu_d(a: u64, rm: Rm, fl: &mut u8) -> u64 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::f64_to_ui64(d(a), rm as u8, true) })
}

/// `fcvt.d.w`: from a signed 32-bit integer (always exact).
pub fn cvt_d_w(a: i32, rm: Rm, fl: &mut u8) -> u64 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::i32_to_f64(a).v })
}

/// `fcvt.d.wu`: from an unsigned 32-bit integer (always exact).
pub fn cvt_d_wu(a: u32, rm: Rm, fl: &mut u8) -> u64 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::ui32_to_f64(a).v })
}

/// `fcvt.d.l`: from a signed 64-bit integer.
pub fn cvt_d_l(a: i64, rm: Rm, fl: &mut u8) -> u64 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::i64_to_f64(a).v })
}

/// `fcvt.d.lu`: from an unsigned 64-bit integer.
pub fn cvt_d_lu(a: u64, rm: Rm, fl: &mut u8) -> u64 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::ui64_to_f64(a).v })
}

/// `fcvt.s.d`: narrows a double; NaNs become the canonical single NaN (NV for signaling).
pub fn cvt_s_d(a: u64, rm: Rm, fl: &mut u8) -> u32 {
    // SAFETY: see `cvt_w_s`.
    with_state(rm, fl, || unsafe { sf::f64_to_f32(d(a)).v })
}

/// `fcvt.d.s`: widens a single (exact); NaNs become the canonical double NaN (NV for signaling).
pub fn cvt_d_s(a: u32, fl: &mut u8) -> u64 {
    // SAFETY: see `cvt_w_s`.
    with_state(Rm::Rne, fl, || unsafe { sf::f32_to_f64(s(a)).v })
}

/// Zfa `fcvtmod.w.d`: truncates towards zero and returns the integer modulo 2^32.
///
/// Infinities and NaNs give 0; any value whose truncation is outside the `i32` range raises NV
/// (and not NX); an in-range inexact value raises NX.
pub fn cvtmod_w_d(a: u64, fl: &mut u8) -> i32 {
    let neg = a >> 63 != 0;
    let exp = ((a >> 52) & 0x7ff) as i32;
    let frac = a & 0x000f_ffff_ffff_ffff;
    if exp == 0x7ff {
        *fl |= flags::NV;
        return 0;
    }
    if exp == 0 {
        // Zero or subnormal: |a| < 1.
        if frac != 0 {
            *fl |= flags::NX;
        }
        return 0;
    }
    let mant = frac | 1 << 52;
    // a = mant * 2^(exp - 1075).
    let shift = exp - 1075;
    let (int, inexact) = if shift >= 0 {
        // Bits at or above 2^64 cannot affect the low 32 bits; shift in u128 to keep them.
        let wide = if shift >= 64 {
            0
        } else {
            (u128::from(mant) << shift) as u64
        };
        (wide, false)
    } else if shift <= -53 {
        (0, true)
    } else {
        let s = (-shift) as u32;
        (mant >> s, mant & ((1u64 << s) - 1) != 0)
    };
    // Truncated magnitude is at least 2^31 when exp - 1023 >= 31; exactly -2^31 is in range.
    let unbiased = exp - 1023;
    let in_range = unbiased < 31 || (neg && unbiased == 31 && frac == 0);
    if !in_range {
        *fl |= flags::NV;
    } else if inexact {
        *fl |= flags::NX;
    }
    let low = int as u32;
    let low = if neg { low.wrapping_neg() } else { low };
    low as i32
}
