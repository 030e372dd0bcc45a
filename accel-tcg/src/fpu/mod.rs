//! IEEE 754 floating point for the RISC-V F, D and Zfa extensions, bit-exact with hardware.
//!
//! Values are raw bit patterns: single precision as `u32`, double precision as `u64` (NaN-boxing,
//! sign injection, `fmv` and the `fcsr` CSR are handled by the CPU, not here). Every operation that
//! can raise IEEE exceptions ORs the RISC-V `fflags` bits ([`flags`]) into its `fl` argument.
//!
//! Arithmetic, square root, fused multiply-add and the conversions use Berkeley SoftFloat 3 built
//! with its RISC-V specialization (canonical NaNs, RISC-V saturation on float→int, tininess
//! detected after rounding). SoftFloat keeps its rounding mode and exception flags in C globals
//! declared `_Thread_local` by the `softfloat-sys` build, so they are per host thread: each call
//! here sets the rounding mode, clears the flags, runs the operation and reads the flags back on the
//! same thread, with nothing in between that could run other floating-point code. A vCPU thread
//! therefore never observes another thread's state. The comparisons, min/max, `fclass` and the Zfa
//! table are plain Rust.

mod arith;
mod compare;
mod convert;
mod softfloat;
mod zfa;

pub use arith::*;
pub use compare::*;
pub use convert::*;
pub use zfa::*;

/// RISC-V rounding mode, already resolved (never DYN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Rm {
    /// Round to nearest, ties to even.
    Rne = 0,
    /// Round towards zero.
    Rtz = 1,
    /// Round down (towards negative infinity).
    Rdn = 2,
    /// Round up (towards positive infinity).
    Rup = 3,
    /// Round to nearest, ties to max magnitude.
    Rmm = 4,
}

impl Rm {
    /// Decodes an instruction `rm` field or `frm` value; `None` for reserved values and DYN (7).
    pub fn from_bits(v: u8) -> Option<Rm> {
        match v {
            0 => Some(Rm::Rne),
            1 => Some(Rm::Rtz),
            2 => Some(Rm::Rdn),
            3 => Some(Rm::Rup),
            4 => Some(Rm::Rmm),
            _ => None,
        }
    }
}

/// RISC-V `fflags` exception bits (identical to SoftFloat's `softfloat_flag_*` bit layout).
pub mod flags {
    /// Inexact.
    pub const NX: u8 = 1;
    /// Underflow.
    pub const UF: u8 = 2;
    /// Overflow.
    pub const OF: u8 = 4;
    /// Divide by zero.
    pub const DZ: u8 = 8;
    /// Invalid operation.
    pub const NV: u8 = 16;
}

/// Canonical single-precision NaN.
pub const CANONICAL_NAN_S: u32 = 0x7fc0_0000;
/// Canonical double-precision NaN.
pub const CANONICAL_NAN_D: u64 = 0x7ff8_0000_0000_0000;

/// Whether `a` is any single-precision NaN.
pub(crate) fn is_nan_s(a: u32) -> bool {
    a & 0x7fff_ffff > 0x7f80_0000
}

/// Whether `a` is a signaling single-precision NaN.
pub(crate) fn is_snan_s(a: u32) -> bool {
    is_nan_s(a) && a & 0x0040_0000 == 0
}

/// Whether `a` is any double-precision NaN.
pub(crate) fn is_nan_d(a: u64) -> bool {
    a & 0x7fff_ffff_ffff_ffff > 0x7ff0_0000_0000_0000
}

/// Whether `a` is a signaling double-precision NaN.
pub(crate) fn is_snan_d(a: u64) -> bool {
    is_nan_d(a) && a & 0x0008_0000_0000_0000 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rm_from_bits() {
        assert_eq!(Rm::from_bits(0), Some(Rm::Rne));
        assert_eq!(Rm::from_bits(1), Some(Rm::Rtz));
        assert_eq!(Rm::from_bits(2), Some(Rm::Rdn));
        assert_eq!(Rm::from_bits(3), Some(Rm::Rup));
        assert_eq!(Rm::from_bits(4), Some(Rm::Rmm));
        for v in 5..=255u8 {
            assert_eq!(Rm::from_bits(v), None);
        }
    }

    #[test]
    fn flag_layout_matches_softfloat() {
        use softfloat_sys as sf;
        assert_eq!(flags::NX, sf::softfloat_flag_inexact);
        assert_eq!(flags::UF, sf::softfloat_flag_underflow);
        assert_eq!(flags::OF, sf::softfloat_flag_overflow);
        assert_eq!(flags::DZ, sf::softfloat_flag_infinite);
        assert_eq!(flags::NV, sf::softfloat_flag_invalid);
        assert_eq!(Rm::Rne as u8, sf::softfloat_round_near_even);
        assert_eq!(Rm::Rtz as u8, sf::softfloat_round_minMag);
        assert_eq!(Rm::Rdn as u8, sf::softfloat_round_min);
        assert_eq!(Rm::Rup as u8, sf::softfloat_round_max);
        assert_eq!(Rm::Rmm as u8, sf::softfloat_round_near_maxMag);
    }

    #[test]
    fn nan_predicates() {
        assert!(is_nan_s(0x7fc0_0000) && !is_snan_s(0x7fc0_0000));
        assert!(is_nan_s(0xff80_0001) && is_snan_s(0xff80_0001));
        assert!(!is_nan_s(0x7f80_0000) && !is_nan_s(0xff80_0000));
        assert!(is_nan_d(CANONICAL_NAN_D) && !is_snan_d(CANONICAL_NAN_D));
        assert!(is_snan_d(0x7ff0_0000_0000_0001));
        assert!(!is_nan_d(0xfff0_0000_0000_0000));
    }
}
