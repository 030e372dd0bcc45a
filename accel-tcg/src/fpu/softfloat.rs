//! The one place that touches SoftFloat's thread-local rounding mode and exception flags.

use super::Rm;
use softfloat_sys as sf;

/// Runs `op` with SoftFloat's rounding mode set to `rm` and its exception flags cleared, then ORs
/// the flags it raised into `fl`.
///
/// SoftFloat's state is `_Thread_local` (see the module docs), so this is correct with any number
/// of vCPU threads as long as `op` itself does not call back into this function.
#[inline]
pub(super) fn with_state<T>(rm: Rm, fl: &mut u8, op: impl FnOnce() -> T) -> T {
    // SAFETY: the helpers only write SoftFloat's thread-local globals of type uint_fast8_t; any
    // value is valid for the flags and `rm` is one of the five modes SoftFloat defines.
    unsafe {
        sf::softfloat_roundingMode_write_helper(rm as u8);
        sf::softfloat_exceptionFlags_write_helper(0);
    }
    let r = op();
    // SAFETY: reads SoftFloat's thread-local exception flags; no other effect.
    let raised = unsafe { sf::softfloat_exceptionFlags_read_helper() };
    *fl |= raised & 0x1f;
    r
}

/// A SoftFloat binary f32 operation, e.g. `f32_add`.
pub(super) type Op2S = unsafe extern "C" fn(sf::float32_t, sf::float32_t) -> sf::float32_t;
/// A SoftFloat binary f64 operation, e.g. `f64_add`.
pub(super) type Op2D = unsafe extern "C" fn(sf::float64_t, sf::float64_t) -> sf::float64_t;

/// Applies the binary SoftFloat operation `f` to single-precision bits.
#[inline]
pub(super) fn op2_s(f: Op2S, a: u32, b: u32, rm: Rm, fl: &mut u8) -> u32 {
    with_state(rm, fl, || {
        // SAFETY: SoftFloat arithmetic is pure apart from its thread-local state; operands are
        // plain bit patterns, every one of which is a valid float32_t.
        unsafe { f(sf::float32_t { v: a }, sf::float32_t { v: b }).v }
    })
}

/// Applies the binary SoftFloat operation `f` to double-precision bits.
#[inline]
pub(super) fn op2_d(f: Op2D, a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    with_state(rm, fl, || {
        // SAFETY: as in `op2_s`; every bit pattern is a valid float64_t.
        unsafe { f(sf::float64_t { v: a }, sf::float64_t { v: b }).v }
    })
}
