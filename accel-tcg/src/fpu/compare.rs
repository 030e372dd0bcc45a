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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::flags::NV;

    const QNAN_S: u32 = 0x7fc0_0001;
    const SNAN_S: u32 = 0x7f80_0001;
    const QNAN_D: u64 = 0xfff8_0000_0000_0001;
    const SNAN_D: u64 = 0x7ff0_0000_0000_0001;

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
    fn min_max_ordinary_and_signed_zeros() {
        assert_eq!(run(|fl| min_s(f(1.0), f(-2.0), fl)), (f(-2.0), 0));
        assert_eq!(run(|fl| max_s(f(1.0), f(-2.0), fl)), (f(1.0), 0));
        for (a, b) in [(f(0.0), f(-0.0)), (f(-0.0), f(0.0))] {
            assert_eq!(run(|fl| min_s(a, b, fl)), (f(-0.0), 0));
            assert_eq!(run(|fl| max_s(a, b, fl)), (f(0.0), 0));
            assert_eq!(run(|fl| minm_s(a, b, fl)), (f(-0.0), 0));
            assert_eq!(run(|fl| maxm_s(a, b, fl)), (f(0.0), 0));
        }
        for (a, b) in [(g(0.0), g(-0.0)), (g(-0.0), g(0.0))] {
            assert_eq!(run(|fl| min_d(a, b, fl)), (g(-0.0), 0));
            assert_eq!(run(|fl| max_d(a, b, fl)), (g(0.0), 0));
            assert_eq!(run(|fl| minm_d(a, b, fl)), (g(-0.0), 0));
            assert_eq!(run(|fl| maxm_d(a, b, fl)), (g(0.0), 0));
        }
        assert_eq!(
            run(|fl| min_d(g(f64::NEG_INFINITY), g(-1e300), fl)).0,
            g(f64::NEG_INFINITY)
        );
        assert_eq!(
            run(|fl| max_d(g(f64::INFINITY), g(1e300), fl)).0,
            g(f64::INFINITY)
        );
        assert_eq!(run(|fl| max_d(1, 0, fl)).0, 1); // smallest subnormal > +0
    }

    #[test]
    fn min_max_nan_rules() {
        // One quiet NaN: the number; no flags.
        assert_eq!(run(|fl| min_s(QNAN_S, f(3.0), fl)), (f(3.0), 0));
        assert_eq!(run(|fl| max_s(f(3.0), QNAN_S, fl)), (f(3.0), 0));
        // One signaling NaN: the number, NV.
        assert_eq!(run(|fl| min_s(SNAN_S, f(3.0), fl)), (f(3.0), NV));
        assert_eq!(run(|fl| max_d(g(3.0), SNAN_D, fl)), (g(3.0), NV));
        // Two NaNs: canonical NaN, NV only with a signaling one.
        assert_eq!(run(|fl| min_s(QNAN_S, QNAN_S, fl)), (CANONICAL_NAN_S, 0));
        assert_eq!(run(|fl| max_s(SNAN_S, QNAN_S, fl)), (CANONICAL_NAN_S, NV));
        assert_eq!(run(|fl| min_d(QNAN_D, QNAN_D, fl)), (CANONICAL_NAN_D, 0));
        assert_eq!(run(|fl| max_d(QNAN_D, SNAN_D, fl)), (CANONICAL_NAN_D, NV));
        // Zfa fminm/fmaxm: any NaN gives the canonical NaN.
        assert_eq!(run(|fl| minm_s(QNAN_S, f(3.0), fl)), (CANONICAL_NAN_S, 0));
        assert_eq!(run(|fl| maxm_s(f(3.0), SNAN_S, fl)), (CANONICAL_NAN_S, NV));
        assert_eq!(run(|fl| minm_d(g(3.0), QNAN_D, fl)), (CANONICAL_NAN_D, 0));
        assert_eq!(run(|fl| maxm_d(SNAN_D, g(3.0), fl)), (CANONICAL_NAN_D, NV));
        assert_eq!(run(|fl| minm_d(g(1.0), g(2.0), fl)), (g(1.0), 0));
        assert_eq!(run(|fl| maxm_s(f(1.0), f(2.0), fl)), (f(2.0), 0));
    }

    #[test]
    fn comparisons_with_numbers() {
        let (one, two) = (f(1.0), f(2.0));
        assert_eq!(run(|fl| eq_s(one, one, fl)), (true, 0));
        assert_eq!(run(|fl| eq_s(f(0.0), f(-0.0), fl)), (true, 0));
        assert_eq!(run(|fl| lt_s(f(-0.0), f(0.0), fl)), (false, 0));
        assert_eq!(run(|fl| le_s(f(-0.0), f(0.0), fl)), (true, 0));
        assert_eq!(run(|fl| lt_s(one, two, fl)), (true, 0));
        assert_eq!(run(|fl| lt_s(two, one, fl)), (false, 0));
        assert_eq!(run(|fl| le_s(two, two, fl)), (true, 0));
        assert_eq!(run(|fl| ltq_s(one, two, fl)), (true, 0));
        assert_eq!(run(|fl| leq_s(two, one, fl)), (false, 0));
        assert_eq!(run(|fl| eq_d(g(1.5), g(1.5), fl)), (true, 0));
        assert_eq!(run(|fl| lt_d(g(-1.0), g(1.0), fl)), (true, 0));
        assert_eq!(run(|fl| le_d(g(1.0), g(-1.0), fl)), (false, 0));
        assert_eq!(
            run(|fl| ltq_d(g(f64::NEG_INFINITY), g(-1e308), fl)),
            (true, 0)
        );
        assert_eq!(run(|fl| leq_d(g(1.0), g(1.0), fl)), (true, 0));
    }

    #[test]
    fn comparisons_with_nans() {
        let one = f(1.0);
        // feq, fltq, fleq are quiet: NV only for signaling NaNs.
        assert_eq!(run(|fl| eq_s(QNAN_S, QNAN_S, fl)), (false, 0));
        assert_eq!(run(|fl| eq_s(one, SNAN_S, fl)), (false, NV));
        assert_eq!(run(|fl| ltq_s(QNAN_S, one, fl)), (false, 0));
        assert_eq!(run(|fl| ltq_s(SNAN_S, one, fl)), (false, NV));
        assert_eq!(run(|fl| leq_s(one, QNAN_S, fl)), (false, 0));
        assert_eq!(run(|fl| leq_s(one, SNAN_S, fl)), (false, NV));
        // flt, fle are signaling: NV for any NaN.
        assert_eq!(run(|fl| lt_s(QNAN_S, one, fl)), (false, NV));
        assert_eq!(run(|fl| le_s(one, QNAN_S, fl)), (false, NV));
        assert_eq!(run(|fl| lt_s(SNAN_S, one, fl)), (false, NV));
        let two = g(2.0);
        assert_eq!(run(|fl| eq_d(QNAN_D, two, fl)), (false, 0));
        assert_eq!(run(|fl| eq_d(SNAN_D, two, fl)), (false, NV));
        assert_eq!(run(|fl| lt_d(two, QNAN_D, fl)), (false, NV));
        assert_eq!(run(|fl| le_d(QNAN_D, QNAN_D, fl)), (false, NV));
        assert_eq!(run(|fl| ltq_d(two, QNAN_D, fl)), (false, 0));
        assert_eq!(run(|fl| leq_d(SNAN_D, two, fl)), (false, NV));
    }

    #[test]
    fn fclass_every_class() {
        let cases_s = [
            (f(f32::NEG_INFINITY), 0),
            (f(-1.0), 1),
            (0x807f_ffff, 2),
            (f(-0.0), 3),
            (f(0.0), 4),
            (0x0000_0001, 5),
            (f(f32::MAX), 6),
            (f(f32::INFINITY), 7),
            (SNAN_S, 8),
            (0xff80_0001, 8),
            (QNAN_S, 9),
            (0xffc0_0000, 9),
        ];
        for (v, bit) in cases_s {
            assert_eq!(classify_s(v), 1 << bit, "{v:#x}");
        }
        let cases_d = [
            (g(f64::NEG_INFINITY), 0),
            (g(-f64::MIN_POSITIVE), 1),
            (0x8000_0000_0000_0001, 2),
            (g(-0.0), 3),
            (g(0.0), 4),
            (0x000f_ffff_ffff_ffff, 5),
            (g(f64::MIN_POSITIVE), 6),
            (g(f64::INFINITY), 7),
            (SNAN_D, 8),
            (QNAN_D, 9),
            (CANONICAL_NAN_D, 9),
        ];
        for (v, bit) in cases_d {
            assert_eq!(classify_d(v), 1 << bit, "{v:#x}");
        }
    }
}
