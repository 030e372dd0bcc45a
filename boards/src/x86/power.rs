//! The poweroff port (I/O port 0x501): writing a byte `n` powers the machine off with exit
//! status `n`, like QEMU's `isa-debug-exit` but without its `(n << 1) | 1` encoding.

use std::sync::Arc;

use devices::irq::{ExitRequest, HartInterrupts};
use devices::BusDevice;

/// The poweroff port.
pub struct PoweroffPort {
    stop: Arc<HartInterrupts>,
}

impl PoweroffPort {
    /// A port that asks `stop` for a poweroff.
    pub fn new(stop: Arc<HartInterrupts>) -> Self {
        PoweroffPort { stop }
    }
}

impl BusDevice for PoweroffPort {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if let (0, Some(&b)) = (offset, data.first()) {
            self.stop.request_exit(ExitRequest::Poweroff(i32::from(b)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_write_powers_off_with_that_status() {
        let stop = Arc::new(HartInterrupts::new());
        let mut p = PoweroffPort::new(stop.clone());
        p.write(1, &[9]);
        assert_eq!(stop.exit_request(), None);
        p.write(0, &[42]);
        assert_eq!(stop.exit_request(), Some(ExitRequest::Poweroff(42)));
    }
}
