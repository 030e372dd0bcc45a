//! The PC keyboard controller, only for what a VM needs from it: the CPU reset command (0xFE
//! written to port 0x64), which Linux uses with `reboot=k`. From vm-superio.

use std::sync::Arc;

use vm_superio::{I8042Device, Trigger};

use crate::bus::BusDevice;
use crate::irq::{ExitRequest, HartInterrupts};

/// Requests a machine reset when the controller's reset line fires.
pub struct ResetRequest(pub Arc<HartInterrupts>);

impl Trigger for ResetRequest {
    type E = std::convert::Infallible;

    fn trigger(&self) -> Result<(), Self::E> {
        self.0.request_exit(ExitRequest::Reset);
        Ok(())
    }
}

/// The i8042, mapped on the I/O bus at port 0x60 with a 5-port window (0x60 data, 0x64
/// status/command).
pub struct I8042 {
    dev: I8042Device<ResetRequest>,
}

impl I8042 {
    /// First port.
    pub const BASE: u64 = 0x60;
    /// Window length (ports 0x60..=0x64).
    pub const LEN: u64 = 5;

    /// A controller whose reset command asks `stop` for [`ExitRequest::Reset`].
    pub fn new(stop: Arc<HartInterrupts>) -> Self {
        I8042 {
            dev: I8042Device::new(ResetRequest(stop)),
        }
    }
}

impl BusDevice for I8042 {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        if let Some(b) = data.first_mut() {
            *b = self.dev.read(offset as u8);
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if let Some(&b) = data.first() {
            let _ = self.dev.write(offset as u8, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_command_requests_reset() {
        let stop = Arc::new(HartInterrupts::new());
        let mut k = I8042::new(stop.clone());
        k.write(4, &[0x20]); // some other command: no reset
        assert_eq!(stop.exit_request(), None);
        k.write(0, &[0xfe]); // data port: not a command
        assert_eq!(stop.exit_request(), None);
        k.write(4, &[0xfe]);
        assert_eq!(stop.exit_request(), Some(ExitRequest::Reset));
    }
}
