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
    // The truncated magnitude `int` is exact whenever it is below 2^32 (exponent below 32).
    let in_range = exp - 1023 < 32 && if neg { int <= 1 << 31 } else { int < 1 << 31 };
    if !in_range {
        *fl |= flags::NV;
    } else if inexact {
        *fl |= flags::NX;
    }
    let low = int as u32;
    let low = if neg { low.wrapping_neg() } else { low };
    low as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::flags::{NV, NX, OF, UF};
    use crate::fpu::{CANONICAL_NAN_D, CANONICAL_NAN_S};

    const ALL_RM: [Rm; 5] = [Rm::Rne, Rm::Rtz, Rm::Rdn, Rm::Rup, Rm::Rmm];
    const QNAN_S: u32 = 0x7fc0_0000;
    const NEG_QNAN_S: u32 = 0xffc0_0000;
    const SNAN_S: u32 = 0x7f80_0001;
    const QNAN_D: u64 = CANONICAL_NAN_D;
    const NEG_SNAN_D: u64 = 0xfff0_0000_0000_0001;

    fn f(x: f32) -> u32 {
        x.to_bits()
    }

    fn g(x: f64) -> u64 {
        x.to_bits()
    }

    fn run<T>(op: impl FnOnce(&mut u8) -> T) -> (T, u8) {
        let mut fl = 0;
        let r = op(&mut fl);
        (r, fl)
    }

    #[test]
    fn float_to_int_rounding_modes() {
        // 2.5, -2.5 and 1.3 across rne, rtz, rdn, rup, rmm.
        let cases: [(f32, [i32; 5]); 4] = [
            (2.5, [2, 2, 2, 3, 3]),
            (-2.5, [-2, -2, -3, -2, -3]),
            (1.3, [1, 1, 1, 2, 1]),
            (-0.5, [0, 0, -1, 0, -1]),
        ];
        for (x, want) in cases {
            for (rm, w) in ALL_RM.iter().zip(want) {
                assert_eq!(run(|fl| cvt_w_s(f(x), *rm, fl)), (w, NX), "{x} {rm:?}");
                assert_eq!(
                    run(|fl| cvt_l_d(g(x.into()), *rm, fl)),
                    (w.into(), NX),
                    "{x}"
                );
                assert_eq!(run(|fl| cvt_w_d(g(x.into()), *rm, fl)), (w, NX), "{x}");
                assert_eq!(run(|fl| cvt_l_s(f(x), *rm, fl)), (w.into(), NX), "{x}");
            }
        }
        assert_eq!(run(|fl| cvt_w_s(f(-7.0), Rm::Rne, fl)), (-7, 0));
        assert_eq!(run(|fl| cvt_lu_d(g(7.0), Rm::Rne, fl)), (7, 0));
    }

    #[test]
    fn float_to_signed_saturation_and_nan() {
        let inf = f(f32::INFINITY);
        let ninf = f(f32::NEG_INFINITY);
        for nan in [QNAN_S, NEG_QNAN_S, SNAN_S] {
            assert_eq!(run(|fl| cvt_w_s(nan, Rm::Rne, fl)), (i32::MAX, NV));
            assert_eq!(run(|fl| cvt_l_s(nan, Rm::Rne, fl)), (i64::MAX, NV));
            assert_eq!(run(|fl| cvt_wu_s(nan, Rm::Rne, fl)), (u32::MAX, NV));
            assert_eq!(run(|fl| cvt_lu_s(nan, Rm::Rne, fl)), (u64::MAX, NV));
        }
        for nan in [QNAN_D, NEG_SNAN_D] {
            assert_eq!(run(|fl| cvt_w_d(nan, Rm::Rtz, fl)), (i32::MAX, NV));
            assert_eq!(run(|fl| cvt_l_d(nan, Rm::Rtz, fl)), (i64::MAX, NV));
            assert_eq!(run(|fl| cvt_wu_d(nan, Rm::Rtz, fl)), (u32::MAX, NV));
            assert_eq!(run(|fl| cvt_lu_d(nan, Rm::Rtz, fl)), (u64::MAX, NV));
        }
        assert_eq!(run(|fl| cvt_w_s(inf, Rm::Rne, fl)), (i32::MAX, NV));
        assert_eq!(run(|fl| cvt_w_s(ninf, Rm::Rne, fl)), (i32::MIN, NV));
        assert_eq!(run(|fl| cvt_l_s(inf, Rm::Rne, fl)), (i64::MAX, NV));
        assert_eq!(run(|fl| cvt_l_s(ninf, Rm::Rne, fl)), (i64::MIN, NV));
        // Boundaries: 2^31 overflows, -2^31 is exact; 2^31 - 0.5 (double) rounds per mode.
        assert_eq!(
            run(|fl| cvt_w_s(f(2147483648.0), Rm::Rne, fl)),
            (i32::MAX, NV)
        );
        assert_eq!(
            run(|fl| cvt_w_s(f(-2147483648.0), Rm::Rne, fl)),
            (i32::MIN, 0)
        );
        assert_eq!(
            run(|fl| cvt_w_d(g(2147483647.5), Rm::Rtz, fl)),
            (i32::MAX, NX)
        );
        assert_eq!(
            run(|fl| cvt_w_d(g(2147483647.5), Rm::Rne, fl)),
            (i32::MAX, NV)
        );
        assert_eq!(
            run(|fl| cvt_w_d(g(-2147483648.5), Rm::Rup, fl)),
            (i32::MIN, NX)
        );
        assert_eq!(
            run(|fl| cvt_w_d(g(-2147483648.5), Rm::Rdn, fl)),
            (i32::MIN, NV)
        );
        assert_eq!(run(|fl| cvt_l_d(g(9.3e18), Rm::Rne, fl)), (i64::MAX, NV));
        assert_eq!(
            run(|fl| cvt_l_d(g(-9223372036854775808.0), Rm::Rne, fl)),
            (i64::MIN, 0)
        );
        assert_eq!(run(|fl| cvt_l_d(g(-1e19), Rm::Rne, fl)), (i64::MIN, NV));
    }

    #[test]
    fn float_to_unsigned_negative_and_overflow() {
        // Negative values that round to zero: 0 with NX only.
        assert_eq!(run(|fl| cvt_wu_s(f(-0.3), Rm::Rtz, fl)), (0, NX));
        assert_eq!(run(|fl| cvt_wu_d(g(-0.5), Rm::Rne, fl)), (0, NX));
        assert_eq!(run(|fl| cvt_lu_s(f(-0.9), Rm::Rup, fl)), (0, NX));
        assert_eq!(run(|fl| cvt_lu_d(g(-0.0), Rm::Rne, fl)), (0, 0));
        // Negative values that round to a nonzero integer: 0 with NV only.
        assert_eq!(run(|fl| cvt_wu_s(f(-0.3), Rm::Rdn, fl)), (0, NV));
        assert_eq!(run(|fl| cvt_wu_s(f(-1.0), Rm::Rne, fl)), (0, NV));
        assert_eq!(run(|fl| cvt_lu_d(g(-3.7), Rm::Rtz, fl)), (0, NV));
        assert_eq!(
            run(|fl| cvt_wu_d(g(f64::NEG_INFINITY), Rm::Rne, fl)),
            (0, NV)
        );
        assert_eq!(
            run(|fl| cvt_lu_s(f(f32::NEG_INFINITY), Rm::Rne, fl)),
            (0, NV)
        );
        // Overflow saturates to the maximum.
        assert_eq!(
            run(|fl| cvt_wu_d(g(4294967296.0), Rm::Rne, fl)),
            (u32::MAX, NV)
        );
        assert_eq!(
            run(|fl| cvt_wu_d(g(4294967295.0), Rm::Rne, fl)),
            (u32::MAX, 0)
        );
        assert_eq!(
            run(|fl| cvt_wu_s(f(f32::INFINITY), Rm::Rne, fl)),
            (u32::MAX, NV)
        );
        assert_eq!(run(|fl| cvt_lu_s(f(1.9e19), Rm::Rne, fl)), (u64::MAX, NV));
        assert_eq!(
            run(|fl| cvt_lu_d(g(1.8e19), Rm::Rne, fl)),
            (18_000_000_000_000_000_000, 0)
        );
        assert_eq!(
            run(|fl| cvt_lu_d(g(f64::INFINITY), Rm::Rne, fl)),
            (u64::MAX, NV)
        );
    }

    #[test]
    fn int_to_float() {
        // 2^24 + 1 is a tie between 2^24 and 2^24 + 2.
        let want = [
            16777216.0f32,
            16777216.0,
            16777216.0,
            16777218.0,
            16777218.0,
        ];
        for (rm, w) in ALL_RM.iter().zip(want) {
            assert_eq!(run(|fl| cvt_s_w(16_777_217, *rm, fl)), (f(w), NX), "{rm:?}");
            assert_eq!(
                run(|fl| cvt_s_wu(16_777_217, *rm, fl)),
                (f(w), NX),
                "{rm:?}"
            );
            assert_eq!(run(|fl| cvt_s_l(16_777_217, *rm, fl)), (f(w), NX), "{rm:?}");
            assert_eq!(
                run(|fl| cvt_s_lu(16_777_217, *rm, fl)),
                (f(w), NX),
                "{rm:?}"
            );
        }
        assert_eq!(
            run(|fl| cvt_s_w(-16_777_217, Rm::Rdn, fl)),
            (f(-16777218.0), NX)
        );
        assert_eq!(
            run(|fl| cvt_s_w(i32::MIN, Rm::Rne, fl)),
            (f(-2147483648.0), 0)
        );
        assert_eq!(run(|fl| cvt_s_w(0, Rm::Rdn, fl)), (0, 0)); // +0, never -0
        assert_eq!(run(|fl| cvt_s_l(i64::MAX, Rm::Rne, fl)), (0x5f00_0000, NX));
        assert_eq!(run(|fl| cvt_s_lu(u64::MAX, Rm::Rtz, fl)), (0x5f7f_ffff, NX));
        assert_eq!(run(|fl| cvt_s_lu(u64::MAX, Rm::Rne, fl)), (0x5f80_0000, NX));
        assert_eq!(run(|fl| cvt_s_wu(u32::MAX, Rm::Rne, fl)), (0x4f80_0000, NX));
        // Every 32-bit integer is exact in double.
        assert_eq!(
            run(|fl| cvt_d_w(i32::MIN, Rm::Rne, fl)),
            (g(-2147483648.0), 0)
        );
        assert_eq!(
            run(|fl| cvt_d_wu(u32::MAX, Rm::Rne, fl)),
            (g(4294967295.0), 0)
        );
        // 2^53 + 1 is a tie in double.
        let t = (1i64 << 53) + 1;
        assert_eq!(
            run(|fl| cvt_d_l(t, Rm::Rne, fl)),
            (g(9007199254740992.0), NX)
        );
        assert_eq!(
            run(|fl| cvt_d_l(t, Rm::Rmm, fl)),
            (g(9007199254740994.0), NX)
        );
        assert_eq!(
            run(|fl| cvt_d_l(-t, Rm::Rup, fl)),
            (g(-9007199254740992.0), NX)
        );
        assert_eq!(
            run(|fl| cvt_d_lu(u64::MAX, Rm::Rne, fl)),
            (g(18446744073709551616.0), NX)
        );
        assert_eq!(
            run(|fl| cvt_d_lu(u64::MAX, Rm::Rtz, fl)),
            (0x43ef_ffff_ffff_ffff, NX)
        );
        assert_eq!(run(|fl| cvt_d_l(-5, Rm::Rne, fl)), (g(-5.0), 0));
    }

    #[test]
    fn float_to_float() {
        assert_eq!(run(|fl| cvt_d_s(f(1.5), fl)), (g(1.5), 0));
        assert_eq!(
            run(|fl| cvt_d_s(1, fl)),
            (g(f64::from(f32::from_bits(1))), 0)
        );
        assert_eq!(run(|fl| cvt_d_s(SNAN_S, fl)), (CANONICAL_NAN_D, NV));
        assert_eq!(run(|fl| cvt_d_s(0xffc1_2345, fl)), (CANONICAL_NAN_D, 0));
        assert_eq!(run(|fl| cvt_s_d(g(1.5), Rm::Rne, fl)), (f(1.5), 0));
        assert_eq!(
            run(|fl| cvt_s_d(NEG_SNAN_D, Rm::Rne, fl)),
            (CANONICAL_NAN_S, NV)
        );
        assert_eq!(
            run(|fl| cvt_s_d(0x7ff8_1234_0000_0000, Rm::Rne, fl)),
            (CANONICAL_NAN_S, 0)
        );
        // Overflow per mode.
        let inf = f(f32::INFINITY);
        let max = f(f32::MAX);
        let want = [inf, max, max, inf, inf];
        for (rm, w) in ALL_RM.iter().zip(want) {
            assert_eq!(run(|fl| cvt_s_d(g(1e300), *rm, fl)), (w, OF | NX), "{rm:?}");
        }
        // Underflow.
        assert_eq!(run(|fl| cvt_s_d(g(1e-50), Rm::Rne, fl)), (0, UF | NX));
        assert_eq!(run(|fl| cvt_s_d(g(1e-50), Rm::Rup, fl)), (1, UF | NX));
        assert_eq!(
            run(|fl| cvt_s_d(g(-1e-50), Rm::Rne, fl)),
            (f(-0.0), UF | NX)
        );
        // A tie: 1 + 2^-24 between 1.0 and 1 + 2^-23.
        let tie = g(1.0 + 2f64.powi(-24));
        let up = f(1.0) + 1;
        let want = [f(1.0), f(1.0), f(1.0), up, up];
        for (rm, w) in ALL_RM.iter().zip(want) {
            assert_eq!(run(|fl| cvt_s_d(tie, *rm, fl)), (w, NX), "{rm:?}");
        }
        assert_eq!(
            run(|fl| cvt_s_d(g(f64::NEG_INFINITY), Rm::Rne, fl)),
            (0xff80_0000, 0)
        );
    }

    #[test]
    fn fcvtmod_w_d_table() {
        // (input bits, expected result, expected flags); matches hardware reference tests.
        let cases: &[(u64, i32, u8)] = &[
            (g(0.0), 0, 0),
            (g(-0.0), 0, 0),
            (0x0000_0000_0000_0001, 0, NX),
            (0x8000_ffff_ffff_ffff, 0, NX),
            (0x7ff0_0000_0000_0000, 0, NV),
            (0xfff0_0000_0000_0000, 0, NV),
            (0x7ff8_0000_0000_0000, 0, NV),
            (0x7ff0_0000_0010_0000, 0, NV),
            (0x0010_0000_0000_0000, 0, NX),
            (g(-0.5), 0, NX),
            (0x3fef_ffff_ffff_ffff, 0, NX),
            (0xbfef_ffff_ffff_ffff, 0, NX),
            (g(1.0), 1, 0),
            (g(-1.0), -1, 0),
            (g(1.5), 1, NX),
            (g(-1.5), -1, NX),
            (g(2147483647.0), i32::MAX, 0),
            (g(2147483648.0), i32::MIN, NV),
            (g(2147483649.0), i32::MIN + 1, NV),
            (g(-2147483648.0), i32::MIN, 0),
            (g(-2147483649.0), i32::MAX, NV),
            (g(-2147483650.0), i32::MAX - 1, NV),
            (g(-2147483648.5), i32::MIN, NX),
            (g(4294967296.0 + 5.0), 5, NV),
            (g(-4294967296.0 - 5.0), -5, NV),
            (g(2f64.powi(52) + 3.0), 3, NV),
            (g(2f64.powi(60) + 2f64.powi(8)), 256, NV),
            (g(2f64.powi(84)), 0, NV),
            (g(f64::MAX), 0, NV),
            (g(123456.75), 123456, NX),
        ];
        for &(a, want, want_fl) in cases {
            assert_eq!(run(|fl| cvtmod_w_d(a, fl)), (want, want_fl), "{a:#x}");
        }
    }

    #[test]
    fn fcvtmod_agrees_with_fcvt_in_range() {
        // Inside the i32 range fcvtmod.w.d equals fcvt.w.d with RTZ, flags included.
        let mut x = -3.0e9f64;
        while x < 3.0e9 {
            let mut a = 0;
            let mut b = 0;
            let m = cvtmod_w_d(g(x), &mut a);
            let c = cvt_w_d(g(x), Rm::Rtz, &mut b);
            if b & NV == 0 {
                assert_eq!((m, a), (c, b), "{x}");
            } else {
                assert_eq!(a, NV, "{x}");
                assert_eq!(i64::from(m), (x.trunc() as i64) as i32 as i64, "{x}");
            }
            x += 12_345_678.901;
        }
    }
}
