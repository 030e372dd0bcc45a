//! Interrupt lines backed by eventfds, for the accelerator to bind as KVM irqfds.

use std::sync::atomic::{AtomicBool, Ordering};

use devices::IrqLine;
use vmm_sys_util::eventfd::EventFd;

/// An edge interrupt into an in-kernel interrupt controller input (GSI): every rising edge of
/// the device's level writes the eventfd, which KVM turns into a pulse on the GSI.
pub struct IrqfdLine {
    fd: EventFd,
    gsi: u32,
    level: AtomicBool,
}

impl IrqfdLine {
    /// A line for `gsi` with a fresh eventfd.
    pub fn new(gsi: u32) -> std::io::Result<Self> {
        Ok(IrqfdLine {
            fd: EventFd::new(libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)?,
            gsi,
            level: AtomicBool::new(false),
        })
    }

    /// The eventfd to register with `KVM_IRQFD`.
    pub fn fd(&self) -> &EventFd {
        &self.fd
    }

    /// The GSI it drives.
    pub fn gsi(&self) -> u32 {
        self.gsi
    }
}

impl IrqLine for IrqfdLine {
    fn set_level(&self, level: bool) {
        let was = self.level.swap(level, Ordering::AcqRel);
        if level && !was {
            if let Err(e) = self.fd.write(1) {
                log::warn!("irqfd for GSI {}: {e}", self.gsi);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rising_edges_signal() {
        let l = IrqfdLine::new(5).unwrap();
        assert_eq!(l.gsi(), 5);
        l.set_level(true);
        l.set_level(true);
        assert_eq!(l.fd().read().unwrap(), 1);
        l.set_level(false);
        assert!(l.fd().read().is_err(), "no edge: nothing pending");
        l.set_level(true);
        assert_eq!(l.fd().read().unwrap(), 1);
    }
}
