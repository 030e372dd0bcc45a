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
