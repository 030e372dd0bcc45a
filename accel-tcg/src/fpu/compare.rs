//! Comparisons, min/max (F, D and Zfa forms) and `fclass`.
//!
//! All of these are exact without rounding, so they run in Rust on the host's IEEE comparisons of
//! non-NaN values and compute the RISC-V flags themselves.

use super::{flags, is_nan_d, is_nan_s, is_snan_d, is_snan_s, CANONICAL_NAN_D, CANONICAL_NAN_S};

/// Generates the comparison family for one format.
macro_rules! compare_ops {
    (
        $bits:ty, $float:ty, $is_nan:ident, $is_snan:ident, $canon:expr, $sign:expr,
        $exp:expr, $frac:expr, $sfx:literal,
        $min:ident, $max:ident, $minm:ident, $maxm:ident,
        $eq:ident, $lt:ident, $le:ident, $ltq:ident, $leq:ident, $class:ident
    ) => {
        /// Raises NV if either operand is a signaling NaN.
        fn signal_snan(a: $bits, b: $bits, fl: &mut u8) {
            if $is_snan(a) || $is_snan(b) {
                *fl |= flags::NV;
            }
        }

        /// The lesser of two non-NaN values, with -0 ordered below +0.
        fn lesser(a: $bits, b: $bits) -> $bits {
            let (fa, fb) = (<$float>::from_bits(a), <$float>::from_bits(b));
            if fa < fb || (fa == fb && a & $sign != 0) {
                a
            } else {
                b
            }
        }

        /// The greater of two non-NaN values, with +0 ordered above -0.
        fn greater(a: $bits, b: $bits) -> $bits {
            let (fa, fb) = (<$float>::from_bits(a), <$float>::from_bits(b));
            if fa > fb || (fa == fb && a & $sign == 0) {
                a
            } else {
                b
            }
        }

        #[doc = concat!("`fmin.", $sfx, "` (IEEE 754-2019 minimumNumber): a single NaN operand yields the ")]
        #[doc = "other one, two NaNs the canonical NaN; -0 < +0; NV for any signaling NaN."]
        pub fn $min(a: $bits, b: $bits, fl: &mut u8) -> $bits {
            signal_snan(a, b, fl);
            match ($is_nan(a), $is_nan(b)) {
                (true, true) => $canon,
                (true, false) => b,
                (false, true) => a,
                (false, false) => lesser(a, b),
            }
        }

        #[doc = concat!("`fmax.", $sfx, "` (IEEE 754-2019 maximumNumber); NaN rules as for `fmin`.")]
        pub fn $max(a: $bits, b: $bits, fl: &mut u8) -> $bits {
            signal_snan(a, b, fl);
            match ($is_nan(a), $is_nan(b)) {
                (true, true) => $canon,
                (true, false) => b,
                (false, true) => a,
                (false, false) => greater(a, b),
            }
        }

        #[doc = concat!("Zfa `fminm.", $sfx, "` (minimum): any NaN operand yields the canonical NaN; -0 < +0; ")]
        #[doc = "NV for any signaling NaN."]
        pub fn $minm(a: $bits, b: $bits, fl: &mut u8) -> $bits {
            signal_snan(a, b, fl);
            if $is_nan(a) || $is_nan(b) {
                $canon
            } else {
                lesser(a, b)
            }
        }

        #[doc = concat!("Zfa `fmaxm.", $sfx, "` (maximum): any NaN operand yields the canonical NaN.")]
        pub fn $maxm(a: $bits, b: $bits, fl: &mut u8) -> $bits {
            signal_snan(a, b, fl);
            if $is_nan(a) || $is_nan(b) {
                $canon
            } else {
                greater(a, b)
            }
        }

        #[doc = concat!("`feq.", $sfx, "` (quiet): false with a NaN; NV only for a signaling NaN.")]
        pub fn $eq(a: $bits, b: $bits, fl: &mut u8) -> bool {
            signal_snan(a, b, fl);
            !$is_nan(a) && !$is_nan(b) && <$float>::from_bits(a) == <$float>::from_bits(b)
        }

        #[doc = concat!("`flt.", $sfx, "` (signaling): false with NV for any NaN operand.")]
        pub fn $lt(a: $bits, b: $bits, fl: &mut u8) -> bool {
            if $is_nan(a) || $is_nan(b) {
                *fl |= flags::NV;
                return false;
            }
            <$float>::from_bits(a) < <$float>::from_bits(b)
        }

        #[doc = concat!("`fle.", $sfx, "` (signaling): false with NV for any NaN operand.")]
        pub fn $le(a: $bits, b: $bits, fl: &mut u8) -> bool {
            if $is_nan(a) || $is_nan(b) {
                *fl |= flags::NV;
                return false;
            }
            <$float>::from_bits(a) <= <$float>::from_bits(b)
        }

        #[doc = concat!("Zfa `fltq.", $sfx, "` (quiet less-than): NV only for a signaling NaN.")]
        pub fn $ltq(a: $bits, b: $bits, fl: &mut u8) -> bool {
            signal_snan(a, b, fl);
            !$is_nan(a) && !$is_nan(b) && <$float>::from_bits(a) < <$float>::from_bits(b)
        }

        #[doc = concat!("Zfa `fleq.", $sfx, "` (quiet less-or-equal): NV only for a signaling NaN.")]
        pub fn $leq(a: $bits, b: $bits, fl: &mut u8) -> bool {
            signal_snan(a, b, fl);
            !$is_nan(a) && !$is_nan(b) && <$float>::from_bits(a) <= <$float>::from_bits(b)
        }

        #[doc = concat!("`fclass.", $sfx, "`: one-hot class mask (bit 0 -inf, 1 -normal, 2 -subnormal, ")]
        #[doc = "3 -0, 4 +0, 5 +subnormal, 6 +normal, 7 +inf, 8 signaling NaN, 9 quiet NaN)."]
        pub fn $class(a: $bits) -> u64 {
            let neg = a & $sign != 0;
            let exp = a & $exp;
            let frac = a & $frac;
            let bit = if $is_nan(a) {
                if $is_snan(a) {
                    8
                } else {
                    9
                }
            } else if exp == $exp {
                if neg {
                    0
                } else {
                    7
                }
            } else if exp == 0 && frac == 0 {
                if neg {
                    3
                } else {
                    4
                }
            } else if exp == 0 {
                if neg {
                    2
                } else {
                    5
                }
            } else if neg {
                1
            } else {
                6
            };
            1 << bit
        }
    };
}

/// Single precision.
mod single {
    use super::*;
    compare_ops!(
        u32,
        f32,
        is_nan_s,
        is_snan_s,
        CANONICAL_NAN_S,
        0x8000_0000u32,
        0x7f80_0000u32,
        0x007f_ffffu32,
        "s",
        min_s,
        max_s,
        minm_s,
        maxm_s,
        eq_s,
        lt_s,
        le_s,
        ltq_s,
        leq_s,
        classify_s
    );
}

/// Double precision.
mod double {
    use super::*;
    compare_ops!(
        u64,
        f64,
        is_nan_d,
        is_snan_d,
        CANONICAL_NAN_D,
        0x8000_0000_0000_0000u64,
        0x7ff0_0000_0000_0000u64,
        0x000f_ffff_ffff_ffffu64,
        "d",
        min_d,
        max_d,
        minm_d,
        maxm_d,
        eq_d,
        lt_d,
        le_d,
        ltq_d,
        leq_d,
        classify_d
    );
}

pub use double::*;
pub use single::*;
