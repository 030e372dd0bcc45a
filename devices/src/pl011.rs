//! ARM PrimeCell PL011 UART (G233 UART0).
//!
//! Hand-written rather than `vm-superio` (which has a 16550A serial but no PL011). What the model
//! does:
//! - a DR write transmits the byte at once (flushing the output) whatever CR/LCR_H say, so lab
//!   programs that never initialise the UART still print; the TX FIFO is therefore always
//!   empty: FR reads TXFE (never TXFF, never BUSY) and the TX interrupt (RIS bit 5) is asserted
//!   permanently, reaching the line when IMSC.TXIM is set;
//! - host input goes into a 32-entry RX FIFO ([`Pl011::receive`]) whatever CR says (its size does
//!   not shrink to 1 when LCR_H.FEN is clear);
//! - RX interrupt (bit 4): FIFO level ≥ the IFLS RX trigger (1/8 … 7/8 of 32) when LCR_H.FEN is
//!   set, ≥ 1 otherwise; receive timeout (bit 6): asserted whenever the FIFO holds data (as QEMU
//!   does; there is no character-time timer). Both are levels derived from the FIFO, so ICR does
//!   not clear them while data is waiting; reading the data does.
//! - IBRD, FBRD, LCR_H, CR (reset 0x300), IFLS (reset 0x12), IMSC, DMACR and ILPR are stored.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Arc;

use crate::bus::BusDevice;
use crate::irq::IrqLine;
use crate::regs::{merge, read_regs, write_regs, Regs32};

/// Size of the PL011 window.
pub const PL011_SIZE: u64 = 0x1000;
/// RX FIFO depth.
pub const RX_FIFO_SIZE: usize = 32;

/// Data register.
pub const DR: u64 = 0x000;
/// Receive status / error clear.
pub const RSR: u64 = 0x004;
/// Flag register.
pub const FR: u64 = 0x018;
/// IrDA low-power counter.
pub const ILPR: u64 = 0x020;
/// Integer baud rate divisor.
pub const IBRD: u64 = 0x024;
/// Fractional baud rate divisor.
pub const FBRD: u64 = 0x028;
/// Line control.
pub const LCR_H: u64 = 0x02C;
/// Control.
pub const CR: u64 = 0x030;
/// Interrupt FIFO level select.
pub const IFLS: u64 = 0x034;
/// Interrupt mask set/clear.
pub const IMSC: u64 = 0x038;
/// Raw interrupt status.
pub const RIS: u64 = 0x03C;
/// Masked interrupt status.
pub const MIS: u64 = 0x040;
/// Interrupt clear.
pub const ICR: u64 = 0x044;
/// DMA control.
pub const DMACR: u64 = 0x048;

/// FR: receive FIFO empty.
pub const FR_RXFE: u32 = 1 << 4;
/// FR: transmit FIFO full.
pub const FR_TXFF: u32 = 1 << 5;
/// FR: receive FIFO full.
pub const FR_RXFF: u32 = 1 << 6;
/// FR: transmit FIFO empty.
pub const FR_TXFE: u32 = 1 << 7;

/// Interrupt bit: receive.
pub const INT_RX: u32 = 1 << 4;
/// Interrupt bit: transmit.
pub const INT_TX: u32 = 1 << 5;
/// Interrupt bit: receive timeout.
pub const INT_RT: u32 = 1 << 6;

/// LCR_H: FIFO enable.
pub const LCR_H_FEN: u32 = 1 << 4;

/// PeriphID0–3 and PCellID0–3 at 0xFE0..0xFFC.
const IDS: [u32; 8] = [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1];

/// A PL011 UART.
pub struct Pl011 {
    out: Box<dyn Write + Send>,
    irq: Arc<dyn IrqLine>,
    rx: VecDeque<u8>,
    ilpr: u32,
    ibrd: u32,
    fbrd: u32,
    lcr_h: u32,
    cr: u32,
    ifls: u32,
    imsc: u32,
    dmacr: u32,
    out_failed: bool,
}

impl Pl011 {
    /// A UART transmitting to `out` and interrupting through `irq`.
    pub fn new(out: Box<dyn Write + Send>, irq: Arc<dyn IrqLine>) -> Pl011 {
        let uart = Pl011 {
            out,
            irq,
            rx: VecDeque::with_capacity(RX_FIFO_SIZE),
            ilpr: 0,
            ibrd: 0,
            fbrd: 0,
            lcr_h: 0,
            cr: 0x300,
            ifls: 0x12,
            imsc: 0,
            dmacr: 0,
            out_failed: false,
        };
        uart.update_irq();
        uart
    }

    /// Queues a byte of host input; `false` (byte dropped) when the RX FIFO is full.
    pub fn receive(&mut self, byte: u8) -> bool {
        if self.rx.len() >= RX_FIFO_SIZE {
            return false;
        }
        self.rx.push_back(byte);
        self.update_irq();
        true
    }

    /// Free entries in the RX FIFO.
    pub fn rx_room(&self) -> usize {
        RX_FIFO_SIZE.saturating_sub(self.rx.len())
    }

    fn rx_trigger(&self) -> usize {
        if self.lcr_h & LCR_H_FEN == 0 {
            return 1;
        }
        match (self.ifls >> 3) & 7 {
            0 => RX_FIFO_SIZE / 8,
            1 => RX_FIFO_SIZE / 4,
            3 => RX_FIFO_SIZE * 3 / 4,
            4 => RX_FIFO_SIZE * 7 / 8,
            _ => RX_FIFO_SIZE / 2,
        }
    }

    fn ris(&self) -> u32 {
        let mut ris = INT_TX;
        if !self.rx.is_empty() {
            ris |= INT_RT;
        }
        if self.rx.len() >= self.rx_trigger() {
            ris |= INT_RX;
        }
        ris
    }

    fn fr(&self) -> u32 {
        let mut fr = FR_TXFE;
        if self.rx.is_empty() {
            fr |= FR_RXFE;
        }
        if self.rx.len() >= RX_FIFO_SIZE {
            fr |= FR_RXFF;
        }
        fr
    }

    fn update_irq(&self) {
        self.irq.set_level(self.ris() & self.imsc != 0);
    }

    fn transmit(&mut self, byte: u8) {
        let r = self.out.write_all(&[byte]).and_then(|_| self.out.flush());
        if let Err(e) = r {
            if !self.out_failed {
                self.out_failed = true;
                log::warn!("pl011: output failed, further output may be lost: {e}");
            }
        }
    }
}

impl Regs32 for Pl011 {
    fn read32(&mut self, offset: u64) -> u32 {
        match offset {
            DR => self.rx.pop_front().map_or(0, u32::from),
            RSR => 0,
            FR => self.fr(),
            ILPR => self.ilpr,
            IBRD => self.ibrd,
            FBRD => self.fbrd,
            LCR_H => self.lcr_h,
            CR => self.cr,
            IFLS => self.ifls,
            IMSC => self.imsc,
            RIS => self.ris(),
            MIS => self.ris() & self.imsc,
            DMACR => self.dmacr,
            0xFE0..=0xFFC => IDS[((offset - 0xFE0) / 4) as usize],
            _ => 0,
        }
    }

    fn write32(&mut self, offset: u64, value: u32, mask: u32) {
        match offset {
            DR if mask & 0xFF != 0 => self.transmit(value as u8),
            RSR => {} // error clear: no errors are ever recorded
            ILPR => self.ilpr = merge(self.ilpr, value, mask) & 0xFF,
            IBRD => self.ibrd = merge(self.ibrd, value, mask) & 0xFFFF,
            FBRD => self.fbrd = merge(self.fbrd, value, mask) & 0x3F,
            LCR_H => self.lcr_h = merge(self.lcr_h, value, mask) & 0xFF,
            CR => self.cr = merge(self.cr, value, mask) & 0xFFFF,
            IFLS => self.ifls = merge(self.ifls, value, mask) & 0x3F,
            IMSC => self.imsc = merge(self.imsc, value, mask) & 0x7FF,
            ICR => {} // every interrupt is a level derived from the FIFOs
            DMACR => self.dmacr = merge(self.dmacr, value, mask) & 0x7,
            _ => log::debug!("pl011: ignored write {value:#x} at {offset:#x}"),
        }
    }
}

impl BusDevice for Pl011 {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        read_regs(self, offset, data);
        self.update_irq();
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        write_regs(self, offset, data);
        self.update_irq();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::lock;
    use crate::test_util::{rd, rd32, wr, wr32, IrqProbe};
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("gone"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn uart() -> (Pl011, Sink, Arc<IrqProbe>) {
        let sink = Sink::default();
        let irq = IrqProbe::new();
        (Pl011::new(Box::new(sink.clone()), irq.clone()), sink, irq)
    }

    #[test]
    fn transmits_without_initialisation() {
        let (mut u, sink, irq) = uart();
        assert_eq!(rd32(&mut u, FR), 0x90);
        for &b in b"Hi\n" {
            wr32(&mut u, DR, u32::from(b));
        }
        wr(&mut u, DR, 1, u64::from(b'!'));
        wr(&mut u, DR, 2, u64::from(b'?'));
        assert_eq!(&*lock(&sink.0), b"Hi\n!?");
        assert_eq!(rd32(&mut u, FR), 0x90);
        assert!(!irq.level());
    }

    #[test]
    fn output_errors_are_not_fatal() {
        let mut u = Pl011::new(Box::new(Broken), IrqProbe::new());
        wr32(&mut u, DR, u32::from(b'x'));
        wr32(&mut u, DR, u32::from(b'y'));
        assert_eq!(rd32(&mut u, FR), 0x90);
    }

    #[test]
    fn receive_fifo_and_flags() {
        let (mut u, _, _) = uart();
        assert_eq!(u.rx_room(), 32);
        assert_eq!(rd32(&mut u, DR), 0, "empty FIFO reads 0");
        assert!(u.receive(b'a'));
        assert!(u.receive(b'b'));
        assert_eq!(u.rx_room(), 30);
        assert_eq!(rd32(&mut u, FR), FR_TXFE);
        assert_eq!(rd32(&mut u, DR), u32::from(b'a'));
        assert_eq!(rd(&mut u, DR, 2), u64::from(b'b'));
        assert_eq!(rd32(&mut u, FR), 0x90);
        for i in 0..32 {
            assert!(u.receive(i));
        }
        assert!(!u.receive(99), "full FIFO refuses input");
        assert_eq!(u.rx_room(), 0);
        assert_eq!(rd32(&mut u, FR), FR_TXFE | FR_RXFF);
        for i in 0..32 {
            assert_eq!(rd32(&mut u, DR), i);
        }
        assert_eq!(rd32(&mut u, FR), 0x90);
    }

    #[test]
    fn rx_and_timeout_interrupts() {
        let (mut u, _, irq) = uart();
        wr32(&mut u, IMSC, INT_RX | INT_RT);
        assert!(!irq.level());
        assert_eq!(rd32(&mut u, RIS), INT_TX);
        u.receive(b'x');
        assert!(irq.level());
        assert_eq!(rd32(&mut u, RIS), INT_TX | INT_RX | INT_RT);
        assert_eq!(rd32(&mut u, MIS), INT_RX | INT_RT);
        // Only RT masked in: still interrupting while data waits.
        wr32(&mut u, IMSC, INT_RT);
        assert!(irq.level());
        rd32(&mut u, DR);
        assert!(!irq.level());
        assert_eq!(rd32(&mut u, MIS), 0);
        // FIFO enabled, trigger 1/2 (16): RX only from 16 bytes on, RT from the first.
        wr32(&mut u, LCR_H, LCR_H_FEN | 0x60);
        wr32(&mut u, IFLS, 2 << 3);
        wr32(&mut u, IMSC, INT_RX);
        for i in 0..15 {
            u.receive(i);
        }
        assert!(!irq.level());
        assert_eq!(rd32(&mut u, RIS), INT_TX | INT_RT);
        u.receive(15);
        assert!(irq.level());
        // 1/8 trigger: 4 bytes.
        wr32(&mut u, IFLS, 0);
        for _ in 0..12 {
            rd32(&mut u, DR);
        }
        assert!(irq.level());
        rd32(&mut u, DR);
        assert!(!irq.level());
        // ICR does not clear a condition that still holds.
        wr32(&mut u, IMSC, INT_RT);
        wr32(&mut u, ICR, 0x7FF);
        assert!(irq.level());
    }

    #[test]
    fn tx_interrupt_follows_txim() {
        let (mut u, _, irq) = uart();
        wr32(&mut u, IMSC, INT_TX);
        assert!(irq.level());
        assert_eq!(rd32(&mut u, MIS), INT_TX);
        wr32(&mut u, IMSC, 0);
        assert!(!irq.level());
    }

    #[test]
    fn stored_registers_and_reset_values() {
        let (mut u, _, _) = uart();
        assert_eq!(rd32(&mut u, CR), 0x300);
        assert_eq!(rd32(&mut u, IFLS), 0x12);
        for (reg, val, mask) in [
            (ILPR, 0xFFFF_FFFF, 0xFF),
            (IBRD, 0xFFFF_FFFF, 0xFFFF),
            (FBRD, 0xFFFF_FFFF, 0x3F),
            (LCR_H, 0xFFFF_FFFF, 0xFF),
            (CR, 0xFFFF_FFFF, 0xFFFF),
            (IFLS, 0xFFFF_FFFF, 0x3F),
            (IMSC, 0xFFFF_FFFF, 0x7FF),
            (DMACR, 0xFFFF_FFFF, 0x7),
        ] {
            wr32(&mut u, reg, val);
            assert_eq!(rd32(&mut u, reg), mask, "register {reg:#x}");
            wr32(&mut u, reg, 0);
            assert_eq!(rd32(&mut u, reg), 0, "register {reg:#x}");
        }
        // 16-bit accesses, as Linux's readw/writew.
        wr(&mut u, IBRD, 2, 0x1234);
        assert_eq!(rd(&mut u, IBRD, 2), 0x1234);
        // Read-only registers and unknown offsets.
        wr32(&mut u, FR, 0);
        assert_eq!(rd32(&mut u, FR), 0x90);
        wr32(&mut u, RIS, 0);
        assert_eq!(rd32(&mut u, RIS), INT_TX);
        wr32(&mut u, 0x800, 5);
        assert_eq!(rd32(&mut u, 0x800), 0);
        assert_eq!(rd32(&mut u, RSR), 0);
    }

    #[test]
    fn primecell_ids() {
        let (mut u, _, _) = uart();
        let ids: Vec<u32> = (0..8).map(|i| rd32(&mut u, 0xFE0 + 4 * i)).collect();
        assert_eq!(ids, vec![0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1]);
        assert_eq!(rd(&mut u, 0xFE0, 1), 0x11);
        wr32(&mut u, 0xFE0, 0);
        assert_eq!(rd32(&mut u, 0xFE0), 0x11);
    }
}
