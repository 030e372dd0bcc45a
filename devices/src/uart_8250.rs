//! The PC's 16550A-compatible UART (COM1 at I/O port 0x3f8, IRQ 4), from vm-superio.

use std::io::Write;
use std::sync::Arc;

use vm_superio::serial::NoEvents;
use vm_superio::{Serial, Trigger};

use crate::bus::BusDevice;
use crate::irq::IrqLine;

/// Raises a pulse on an interrupt line each time the UART signals an interrupt (the 8250's
/// interrupt output is edge-triggered on the ISA bus).
pub struct IrqPulse(pub Arc<dyn IrqLine>);

impl Trigger for IrqPulse {
    type E = std::convert::Infallible;

    fn trigger(&self) -> Result<(), Self::E> {
        self.0.set_level(true);
        self.0.set_level(false);
        Ok(())
    }
}

/// A 16550A UART: eight byte-wide registers, transmit to a host writer, receive FIFO fed by the
/// host.
pub struct Uart8250 {
    serial: Serial<IrqPulse, NoEvents, Box<dyn Write + Send>>,
}

impl Uart8250 {
    /// Number of I/O ports the UART occupies.
    pub const LEN: u64 = 8;

    /// A UART transmitting to `out` and interrupting through `irq`.
    pub fn new(out: Box<dyn Write + Send>, irq: Arc<dyn IrqLine>) -> Self {
        Uart8250 {
            serial: Serial::new(IrqPulse(irq), out),
        }
    }

    /// Queues host input into the receive FIFO; returns how many bytes were taken.
    pub fn receive(&mut self, bytes: &[u8]) -> usize {
        if self.serial.fifo_capacity() == 0 {
            return 0;
        }
        self.serial.enqueue_raw_bytes(bytes).unwrap_or(0)
    }

    /// Free space in the receive FIFO.
    pub fn rx_room(&self) -> usize {
        self.serial.fifo_capacity()
    }
}

impl BusDevice for Uart8250 {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        if offset < Self::LEN {
            if let Some(b) = data.first_mut() {
                *b = self.serial.read(offset as u8);
            }
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if offset >= Self::LEN {
            return;
        }
        if let Some(&b) = data.first() {
            if let Err(e) = self.serial.write(offset as u8, b) {
                log::debug!("uart_8250: write to register {offset}: {e:?}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Pulses(AtomicUsize);
    impl IrqLine for Pulses {
        fn set_level(&self, level: bool) {
            if level {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn transmits_and_receives_with_interrupts() {
        let out = Sink::default();
        let irq = Arc::new(Pulses::default());
        let mut u = Uart8250::new(Box::new(out.clone()), irq.clone());
        u.write(0, b"h");
        u.write(0, b"i");
        assert_eq!(&*out.0.lock().unwrap(), b"hi");
        // Enable the received-data interrupt, then feed input.
        u.write(1, &[1]);
        assert_eq!(u.receive(b"ok"), 2);
        assert!(irq.0.load(Ordering::SeqCst) >= 1);
        let mut lsr = [0u8];
        u.read(5, &mut lsr);
        assert_eq!(lsr[0] & 1, 1, "data ready");
        let mut b = [0u8];
        u.read(0, &mut b);
        assert_eq!(b[0], b'o');
        u.read(0, &mut b);
        assert_eq!(b[0], b'k');
        u.read(5, &mut lsr);
        assert_eq!(lsr[0] & 1, 0, "fifo drained");
    }

    #[test]
    fn out_of_range_accesses_are_ignored() {
        let out = Sink::default();
        let mut u = Uart8250::new(Box::new(out.clone()), Arc::new(Pulses::default()));
        u.write(9, b"x");
        let mut d = [0xaau8; 2];
        u.read(12, &mut d);
        assert_eq!(d, [0, 0]);
        assert!(out.0.lock().unwrap().is_empty());
    }
}
