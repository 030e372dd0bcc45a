//! Test helpers shared by the device tests (and usable by other crates' tests): an interrupt
//! line probe and bus access shorthands.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::bus::{le_value, put_le_value, BusDevice};
use crate::irq::IrqLine;

/// An [`IrqLine`] that records its current level and how often it was driven.
#[derive(Debug, Default)]
pub struct IrqProbe {
    level: AtomicBool,
    calls: AtomicUsize,
    rises: AtomicUsize,
}

impl IrqProbe {
    /// A new probe, low.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The level last driven.
    pub fn level(&self) -> bool {
        self.level.load(Ordering::SeqCst)
    }

    /// How many times `set_level` was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// How many low→high transitions were seen.
    pub fn rises(&self) -> usize {
        self.rises.load(Ordering::SeqCst)
    }
}

impl IrqLine for IrqProbe {
    fn set_level(&self, level: bool) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.level.swap(level, Ordering::SeqCst) && level {
            self.rises.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Reads `size` bytes at `offset` of `dev`, zero-extended.
pub fn rd(dev: &mut dyn BusDevice, offset: u64, size: usize) -> u64 {
    let mut b = [0u8; 8];
    dev.read(offset, &mut b[..size]);
    le_value(&b[..size])
}

/// Writes the low `size` bytes of `value` at `offset` of `dev`.
pub fn wr(dev: &mut dyn BusDevice, offset: u64, size: usize, value: u64) {
    let mut b = [0u8; 8];
    put_le_value(&mut b[..size], value);
    dev.write(offset, &b[..size]);
}

/// Reads a 32-bit register.
pub fn rd32(dev: &mut dyn BusDevice, offset: u64) -> u32 {
    rd(dev, offset, 4) as u32
}

/// Writes a 32-bit register.
pub fn wr32(dev: &mut dyn BusDevice, offset: u64, value: u32) {
    wr(dev, offset, 4, u64::from(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_records_level_and_rises() {
        let p = IrqProbe::new();
        assert!(!p.level());
        p.set_level(true);
        p.set_level(true);
        p.set_level(false);
        p.set_level(true);
        assert!(p.level());
        assert_eq!(p.calls(), 4);
        assert_eq!(p.rises(), 2);
    }
}
