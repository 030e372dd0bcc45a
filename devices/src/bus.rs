//! The dispatch layer: an MMIO (or PIO) bus mapping address ranges to devices.
//!
//! Modelled on Firecracker's `vmm::devices::Bus`: a sorted range map, each device seeing offsets
//! relative to its own base. An access that hits no device is reported to the caller as
//! [`BusError::Unmapped`]; what to do with it (access fault, log and read zeros) is the
//! accelerator's decision.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A device that answers reads and writes in an address window.
///
/// `offset` is relative to the base the device was inserted at; `data.len()` is the access size
/// (1, 2, 4 or 8 bytes for CPU accesses). Data is little-endian, as on RISC-V and x86.
pub trait BusDevice: Send {
    /// Fills `data` with the value read at `offset`.
    fn read(&mut self, offset: u64, data: &mut [u8]);
    /// Writes `data` at `offset`.
    fn write(&mut self, offset: u64, data: &[u8]);
}

/// A device shared between the bus and whoever else drives it (e.g. a host input thread).
pub type SharedDevice = Arc<Mutex<dyn BusDevice>>;

/// Errors from inserting into or accessing a [`Bus`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BusError {
    /// No device is mapped at the address.
    #[error("no device at address {0:#x}")]
    Unmapped(u64),
    /// The new range overlaps one already on the bus.
    #[error("range {base:#x}+{len:#x} overlaps a device already on the bus")]
    Overlap {
        /// Base of the rejected range.
        base: u64,
        /// Length of the rejected range.
        len: u64,
    },
    /// Zero-length or wrapping range.
    #[error("invalid range {base:#x}+{len:#x}")]
    InvalidRange {
        /// Base of the rejected range.
        base: u64,
        /// Length of the rejected range.
        len: u64,
    },
}

#[derive(Clone)]
struct Slot {
    len: u64,
    device: SharedDevice,
}

/// A range map of devices. Built once by the board, then shared read-only (`Arc<Bus>`).
#[derive(Clone, Default)]
pub struct Bus {
    slots: BTreeMap<u64, Slot>,
}

impl Bus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `device` at `[base, base + len)`.
    pub fn insert(&mut self, device: SharedDevice, base: u64, len: u64) -> Result<(), BusError> {
        let end = base
            .checked_add(len)
            .filter(|_| len > 0)
            .ok_or(BusError::InvalidRange { base, len })?;
        if let Some((&b, s)) = self.slots.range(..end).next_back() {
            if b + s.len > base {
                return Err(BusError::Overlap { base, len });
            }
        }
        self.slots.insert(base, Slot { len, device });
        Ok(())
    }

    /// The device covering `addr`, with its base and length.
    pub fn resolve(&self, addr: u64) -> Option<(u64, u64, &SharedDevice)> {
        let (&base, slot) = self.slots.range(..=addr).next_back()?;
        (addr - base < slot.len).then_some((base, slot.len, &slot.device))
    }

    /// Reads `data.len()` bytes at `addr`.
    pub fn read(&self, addr: u64, data: &mut [u8]) -> Result<(), BusError> {
        let (base, len, dev) = self.resolve(addr).ok_or(BusError::Unmapped(addr))?;
        if addr - base + data.len() as u64 > len {
            return Err(BusError::Unmapped(addr));
        }
        lock(dev).read(addr - base, data);
        Ok(())
    }

    /// Writes `data` at `addr`.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), BusError> {
        let (base, len, dev) = self.resolve(addr).ok_or(BusError::Unmapped(addr))?;
        if addr - base + data.len() as u64 > len {
            return Err(BusError::Unmapped(addr));
        }
        lock(dev).write(addr - base, data);
        Ok(())
    }
}

/// Locks a device, recovering from a poisoned lock (a panic elsewhere must not wedge the bus).
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads a little-endian value of `data.len()` (≤ 8) bytes.
pub fn le_value(data: &[u8]) -> u64 {
    data.iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Stores the low `data.len()` (≤ 8) bytes of `value` little-endian into `data`.
pub fn put_le_value(data: &mut [u8], value: u64) {
    for (i, b) in data.iter_mut().enumerate() {
        *b = (value >> (8 * i)) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo(u64);
    impl BusDevice for Echo {
        fn read(&mut self, offset: u64, data: &mut [u8]) {
            put_le_value(data, self.0 + offset);
        }
        fn write(&mut self, _offset: u64, data: &[u8]) {
            self.0 = le_value(data);
        }
    }

    #[test]
    fn dispatches_by_range_with_relative_offsets() {
        let mut bus = Bus::new();
        bus.insert(Arc::new(Mutex::new(Echo(100))), 0x1000, 0x100)
            .unwrap();
        bus.insert(Arc::new(Mutex::new(Echo(200))), 0x2000, 0x100)
            .unwrap();
        let mut b = [0u8; 4];
        bus.read(0x1004, &mut b).unwrap();
        assert_eq!(u32::from_le_bytes(b), 104);
        bus.write(0x2000, &7u32.to_le_bytes()).unwrap();
        bus.read(0x2001, &mut b).unwrap();
        assert_eq!(u32::from_le_bytes(b), 8);
    }

    #[test]
    fn unmapped_and_straddling_accesses_are_reported() {
        let mut bus = Bus::new();
        bus.insert(Arc::new(Mutex::new(Echo(0))), 0x1000, 0x100)
            .unwrap();
        let mut b = [0u8; 4];
        assert_eq!(bus.read(0xfff, &mut b), Err(BusError::Unmapped(0xfff)));
        assert_eq!(bus.read(0x1100, &mut b), Err(BusError::Unmapped(0x1100)));
        assert_eq!(bus.read(0x10fe, &mut b), Err(BusError::Unmapped(0x10fe)));
        assert_eq!(bus.write(0x0, &[1]), Err(BusError::Unmapped(0)));
    }

    #[test]
    fn overlapping_and_empty_ranges_are_rejected() {
        let mut bus = Bus::new();
        let d = || -> SharedDevice { Arc::new(Mutex::new(Echo(0))) };
        bus.insert(d(), 0x1000, 0x100).unwrap();
        assert!(matches!(
            bus.insert(d(), 0x10ff, 1),
            Err(BusError::Overlap { .. })
        ));
        assert!(matches!(
            bus.insert(d(), 0xf00, 0x101),
            Err(BusError::Overlap { .. })
        ));
        assert!(matches!(
            bus.insert(d(), 0x0, 0),
            Err(BusError::InvalidRange { .. })
        ));
        assert!(matches!(
            bus.insert(d(), u64::MAX, 2),
            Err(BusError::InvalidRange { .. })
        ));
        bus.insert(d(), 0x1100, 0x100).unwrap();
        bus.insert(d(), 0xf00, 0x100).unwrap();
    }
}
