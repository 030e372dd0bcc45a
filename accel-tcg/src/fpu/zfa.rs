//! Zfa: `fround`/`froundnx` and the `fli` constant tables.

use super::softfloat::with_state;
use super::{Rm, CANONICAL_NAN_D, CANONICAL_NAN_S};
use softfloat_sys as sf;

/// `fround.s`: rounds to an integral value in `rm`; never raises NX (NV for a signaling NaN,
/// NaNs give the canonical NaN).
pub fn round_s(a: u32, rm: Rm, fl: &mut u8) -> u32 {
    // SAFETY: pure SoftFloat computation on a plain bit pattern with a valid rounding mode.
    with_state(rm, fl, || unsafe {
        sf::f32_roundToInt(sf::float32_t { v: a }, rm as u8, false).v
    })
}

/// `froundnx.s`: as [`round_s`] but raises NX when the result differs from the input.
pub fn roundnx_s(a: u32, rm: Rm, fl: &mut u8) -> u32 {
    // SAFETY: as in `round_s`.
    with_state(rm, fl, || unsafe {
        sf::f32_roundToInt(sf::float32_t { v: a }, rm as u8, true).v
    })
}

/// `fround.d`: rounds to an integral value in `rm`; never raises NX.
pub fn round_d(a: u64, rm: Rm, fl: &mut u8) -> u64 {
    // SAFETY: as in `round_s`.
    with_state(rm, fl, || unsafe {
        sf::f64_roundToInt(sf::float64_t { v: a }, rm as u8, false).v
    })
}

/// `froundnx.d`: as [`round_d`] but raises NX when the result differs from the input.
pub fn roundnx_d(a: u64, rm: Rm, fl: &mut u8) -> u64 {
    // SAFETY: as in `round_s`.
    with_state(rm, fl, || unsafe {
        sf::f64_roundToInt(sf::float64_t { v: a }, rm as u8, true).v
    })
}

/// The `fli` table as doubles for entries 2..=29 (0, 1, 30 and 31 are special-cased).
const FLI_VALUES: [f64; 32] = [
    -1.0,
    0.0, // minimum positive normal, format dependent
    1.0 / 65536.0,
    1.0 / 32768.0,
    1.0 / 256.0,
    1.0 / 128.0,
    0.0625,
    0.125,
    0.25,
    0.3125,
    0.375,
    0.4375,
    0.5,
    0.625,
    0.75,
    0.875,
    1.0,
    1.25,
    1.5,
    1.75,
    2.0,
    2.5,
    3.0,
    4.0,
    8.0,
    16.0,
    128.0,
    256.0,
    32768.0,
    65536.0,
    f64::INFINITY,
    0.0, // canonical NaN
];

/// Zfa `fli.s`: the constant selected by the `rs1` field (only its low 5 bits are used).
pub fn fli_s(index: u8) -> u32 {
    match index & 31 {
        1 => 0x0080_0000, // 2^-126
        31 => CANONICAL_NAN_S,
        // Every other entry is exactly representable in single precision.
        i => (FLI_VALUES[usize::from(i)] as f32).to_bits(),
    }
}

/// Zfa `fli.d`: the constant selected by the `rs1` field (only its low 5 bits are used).
pub fn fli_d(index: u8) -> u64 {
    match index & 31 {
        1 => 0x0010_0000_0000_0000, // 2^-1022
        31 => CANONICAL_NAN_D,
        i => FLI_VALUES[usize::from(i)].to_bits(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::flags::{NV, NX};

    const ALL_RM: [Rm; 5] = [Rm::Rne, Rm::Rtz, Rm::Rdn, Rm::Rup, Rm::Rmm];

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
    fn fround_per_mode_without_nx() {
        let cases: [(f64, [f64; 5]); 4] = [
            (2.5, [2.0, 2.0, 2.0, 3.0, 3.0]),
            (-2.5, [-2.0, -2.0, -3.0, -2.0, -3.0]),
            (0.3, [0.0, 0.0, 0.0, 1.0, 0.0]),
            (-0.3, [-0.0, -0.0, -1.0, -0.0, -0.0]),
        ];
        for (x, want) in cases {
            for (rm, w) in ALL_RM.iter().zip(want) {
                assert_eq!(run(|fl| round_d(g(x), *rm, fl)), (g(w), 0), "{x} {rm:?}");
                assert_eq!(run(|fl| roundnx_d(g(x), *rm, fl)), (g(w), NX), "{x} {rm:?}");
                let (xs, ws) = (x as f32, w as f32);
                assert_eq!(run(|fl| round_s(f(xs), *rm, fl)), (f(ws), 0), "{x} {rm:?}");
                assert_eq!(
                    run(|fl| roundnx_s(f(xs), *rm, fl)),
                    (f(ws), NX),
                    "{x} {rm:?}"
                );
            }
        }
    }

    #[test]
    fn fround_exact_special_and_nan() {
        // Already integral, infinite, zero or too large to have a fraction: unchanged, no flags.
        for x in [
            3.0f64,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            2f64.powi(60),
        ] {
            assert_eq!(run(|fl| roundnx_d(g(x), Rm::Rne, fl)), (g(x), 0), "{x}");
            let xs = x as f32;
            assert_eq!(run(|fl| roundnx_s(f(xs), Rm::Rup, fl)), (f(xs), 0), "{x}");
        }
        // NaNs: canonical, NV only for signaling ones.
        assert_eq!(
            run(|fl| round_s(0x7f80_0001, Rm::Rne, fl)),
            (CANONICAL_NAN_S, NV)
        );
        assert_eq!(
            run(|fl| round_s(0xffc0_0001, Rm::Rne, fl)),
            (CANONICAL_NAN_S, 0)
        );
        assert_eq!(
            run(|fl| roundnx_d(0x7ff0_0000_0000_0001, Rm::Rne, fl)),
            (CANONICAL_NAN_D, NV)
        );
        assert_eq!(
            run(|fl| round_d(0xfff8_0000_0000_0001, Rm::Rne, fl)),
            (CANONICAL_NAN_D, 0)
        );
    }

    #[test]
    fn fli_tables() {
        let single: [u32; 32] = [
            0xbf80_0000,
            0x0080_0000,
            0x3780_0000,
            0x3800_0000,
            0x3b80_0000,
            0x3c00_0000,
            0x3d80_0000,
            0x3e00_0000,
            0x3e80_0000,
            0x3ea0_0000,
            0x3ec0_0000,
            0x3ee0_0000,
            0x3f00_0000,
            0x3f20_0000,
            0x3f40_0000,
            0x3f60_0000,
            0x3f80_0000,
            0x3fa0_0000,
            0x3fc0_0000,
            0x3fe0_0000,
            0x4000_0000,
            0x4020_0000,
            0x4040_0000,
            0x4080_0000,
            0x4100_0000,
            0x4180_0000,
            0x4300_0000,
            0x4380_0000,
            0x4700_0000,
            0x4780_0000,
            0x7f80_0000,
            0x7fc0_0000,
        ];
        let double: [u64; 32] = [
            0xbff0_0000_0000_0000,
            0x0010_0000_0000_0000,
            0x3ef0_0000_0000_0000,
            0x3f00_0000_0000_0000,
            0x3f70_0000_0000_0000,
            0x3f80_0000_0000_0000,
            0x3fb0_0000_0000_0000,
            0x3fc0_0000_0000_0000,
            0x3fd0_0000_0000_0000,
            0x3fd4_0000_0000_0000,
            0x3fd8_0000_0000_0000,
            0x3fdc_0000_0000_0000,
            0x3fe0_0000_0000_0000,
            0x3fe4_0000_0000_0000,
            0x3fe8_0000_0000_0000,
            0x3fec_0000_0000_0000,
            0x3ff0_0000_0000_0000,
            0x3ff4_0000_0000_0000,
            0x3ff8_0000_0000_0000,
            0x3ffc_0000_0000_0000,
            0x4000_0000_0000_0000,
            0x4004_0000_0000_0000,
            0x4008_0000_0000_0000,
            0x4010_0000_0000_0000,
            0x4020_0000_0000_0000,
            0x4030_0000_0000_0000,
            0x4060_0000_0000_0000,
            0x4070_0000_0000_0000,
            0x40e0_0000_0000_0000,
            0x40f0_0000_0000_0000,
            0x7ff0_0000_0000_0000,
            0x7ff8_0000_0000_0000,
        ];
        for i in 0..32u8 {
            assert_eq!(fli_s(i), single[usize::from(i)], "fli.s {i}");
            assert_eq!(fli_d(i), double[usize::from(i)], "fli.d {i}");
            // Out-of-range indices use only the 5-bit field and never panic.
            assert_eq!(fli_s(i | 0xe0), fli_s(i));
            assert_eq!(fli_d(i | 0x20), fli_d(i));
        }
    }
}
