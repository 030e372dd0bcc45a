//! The G233 SPI0 controller: one byte exchanged synchronously per DR write, up to four chip
//! selects (G233 wires a W25X16 on CS0 and a W25X32 on CS1).

use std::sync::Arc;

use crate::bus::BusDevice;
use crate::irq::IrqLine;
use crate::regs::{merge, read_regs, write_regs, Regs32};
use crate::spi_flash::SpiSlave;

/// Size of the controller's window.
pub const SPI_SIZE: u64 = 0x1000;

/// Control register 1.
pub const CR1: u64 = 0x00;
/// Control register 2 (interrupt enables).
pub const CR2: u64 = 0x04;
/// Status register.
pub const SR: u64 = 0x08;
/// Data register.
pub const DR: u64 = 0x0C;
/// Chip-select control.
pub const CSCTRL: u64 = 0x10;

/// CR1: SPI enable.
pub const CR1_SPE: u32 = 1 << 6;
/// CR1: master mode.
pub const CR1_MSTR: u32 = 1 << 2;
/// CR2: TX-empty interrupt enable.
pub const CR2_TXEIE: u32 = 1 << 7;
/// CR2: RX-not-empty interrupt enable.
pub const CR2_RXNEIE: u32 = 1 << 6;
/// CR2: error interrupt enable.
pub const CR2_ERRIE: u32 = 1 << 5;
/// CR2: slave-select output enable (stored only).
pub const CR2_SSOE: u32 = 1 << 4;
/// SR: busy (never set: exchanges are synchronous).
pub const SR_BSY: u32 = 1 << 7;
/// SR: overrun (write 1 to clear).
pub const SR_OVERRUN: u32 = 1 << 3;
/// SR: underrun (write 1 to clear).
pub const SR_UNDERRUN: u32 = 1 << 2;
/// SR: transmit buffer empty.
pub const SR_TXE: u32 = 1 << 1;
/// SR: receive buffer not empty.
pub const SR_RXNE: u32 = 1 << 0;

const SR_RESET: u32 = SR_TXE;
const CR2_MASK: u32 = CR2_TXEIE | CR2_RXNEIE | CR2_ERRIE | CR2_SSOE;

/// The G233 SPI controller.
pub struct G233Spi {
    slaves: [Option<Box<dyn SpiSlave>>; 4],
    irq: Arc<dyn IrqLine>,
    cr1: u32,
    cr2: u32,
    sr: u32,
    csctrl: u32,
    rx: u8,
}

impl G233Spi {
    /// A controller with `slaves[n]` on chip select n, interrupting through `irq`.
    pub fn new(mut slaves: [Option<Box<dyn SpiSlave>>; 4], irq: Arc<dyn IrqLine>) -> G233Spi {
        for s in slaves.iter_mut().flatten() {
            s.set_selected(false);
        }
        let spi = G233Spi {
            slaves,
            irq,
            cr1: 0,
            cr2: 0,
            sr: SR_RESET,
            csctrl: 0,
            rx: 0,
        };
        spi.update_irq();
        spi
    }

    /// The slave on chip select `cs`, if any.
    pub fn slave_mut(&mut self, cs: usize) -> Option<&mut (dyn SpiSlave + 'static)> {
        self.slaves.get_mut(cs)?.as_deref_mut()
    }

    /// Chip selects asserted by `csctrl` (bit n: CSn_EN and CSn_ACT).
    fn asserted(csctrl: u32) -> u32 {
        csctrl & (csctrl >> 4) & 0xF
    }

    fn set_csctrl(&mut self, value: u32) {
        let old = Self::asserted(self.csctrl);
        self.csctrl = value & 0xFF;
        let new = Self::asserted(self.csctrl);
        for (n, slave) in self.slaves.iter_mut().enumerate() {
            if (old ^ new) >> n & 1 != 0 {
                if let Some(s) = slave {
                    s.set_selected(new >> n & 1 != 0);
                }
            }
        }
    }

    fn exchange(&mut self, tx: u8) -> u8 {
        let sel = Self::asserted(self.csctrl);
        if sel.count_ones() > 1 {
            log::debug!("g233_spi: several chip selects asserted ({sel:#x})");
        }
        let mut reply = None;
        for (n, slave) in self.slaves.iter_mut().enumerate() {
            if sel >> n & 1 != 0 {
                if let Some(s) = slave {
                    let r = s.transfer(tx);
                    reply.get_or_insert(r);
                }
            }
        }
        reply.unwrap_or(0)
    }

    fn write_dr(&mut self, value: u8) {
        if self.cr1 & (CR1_SPE | CR1_MSTR) != CR1_SPE | CR1_MSTR {
            log::debug!("g233_spi: DR write while not enabled as master ignored");
            return;
        }
        if self.sr & SR_RXNE != 0 {
            self.sr |= SR_OVERRUN;
            return;
        }
        self.rx = self.exchange(value);
        self.sr |= SR_RXNE | SR_TXE;
        self.sr &= !SR_BSY;
    }

    fn read_dr(&mut self) -> u32 {
        if self.sr & SR_RXNE == 0 {
            self.sr |= SR_UNDERRUN;
            return 0;
        }
        self.sr &= !SR_RXNE;
        u32::from(self.rx)
    }

    fn update_irq(&self) {
        let level = (self.cr2 & CR2_TXEIE != 0 && self.sr & SR_TXE != 0)
            || (self.cr2 & CR2_RXNEIE != 0 && self.sr & SR_RXNE != 0)
            || (self.cr2 & CR2_ERRIE != 0 && self.sr & (SR_OVERRUN | SR_UNDERRUN) != 0);
        self.irq.set_level(level);
    }
}

impl Regs32 for G233Spi {
    fn read32(&mut self, offset: u64) -> u32 {
        match offset {
            CR1 => self.cr1,
            CR2 => self.cr2,
            SR => self.sr,
            DR => self.read_dr(),
            CSCTRL => self.csctrl,
            _ => 0,
        }
    }

    fn write32(&mut self, offset: u64, value: u32, mask: u32) {
        match offset {
            CR1 => {
                self.cr1 = merge(self.cr1, value, mask) & (CR1_SPE | CR1_MSTR);
                if self.cr1 & CR1_SPE == 0 {
                    // Disabled: back to the reset status (TXE=1, RXNE=0, BSY=0, no errors).
                    self.sr = SR_RESET;
                }
            }
            CR2 => self.cr2 = merge(self.cr2, value, mask) & CR2_MASK,
            SR => self.sr &= !(value & mask & (SR_OVERRUN | SR_UNDERRUN)),
            DR if mask & 0xFF != 0 => self.write_dr(value as u8),
            CSCTRL => self.set_csctrl(merge(self.csctrl, value, mask)),
            _ => log::debug!("g233_spi: ignored write {value:#x} at {offset:#x}"),
        }
    }
}

impl BusDevice for G233Spi {
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
    use crate::spi_flash::{FlashModel, SpiFlash};
    use crate::test_util::{rd32, wr, wr32, IrqProbe};
    use std::sync::Mutex;

    /// A slave recording what it saw and replying with `tx + 1`.
    #[derive(Default)]
    struct Echo {
        selected: bool,
        selects: Vec<bool>,
        seen: Vec<u8>,
    }

    impl SpiSlave for Echo {
        fn set_selected(&mut self, selected: bool) {
            self.selected = selected;
            self.selects.push(selected);
        }
        fn transfer(&mut self, tx: u8) -> u8 {
            self.seen.push(tx);
            tx.wrapping_add(1)
        }
    }

    type Shared<T> = Arc<Mutex<T>>;

    fn setup() -> (G233Spi, Arc<IrqProbe>, Shared<SpiFlash>, Shared<SpiFlash>) {
        let f0 = Arc::new(Mutex::new(SpiFlash::new_erased(FlashModel::W25X16)));
        let f1 = Arc::new(Mutex::new(SpiFlash::new_erased(FlashModel::W25X32)));
        let irq = IrqProbe::new();
        let spi = G233Spi::new(
            [
                Some(Box::new(f0.clone())),
                Some(Box::new(f1.clone())),
                None,
                None,
            ],
            irq.clone(),
        );
        (spi, irq, f0, f1)
    }

    fn xfer(spi: &mut G233Spi, tx: u8) -> u8 {
        while rd32(spi, SR) & SR_TXE == 0 {}
        wr32(spi, DR, u32::from(tx));
        assert_eq!(
            rd32(spi, SR) & (SR_RXNE | SR_TXE | SR_BSY),
            SR_RXNE | SR_TXE
        );
        rd32(spi, DR) as u8
    }

    fn select(spi: &mut G233Spi, cs: u32) {
        wr32(spi, CSCTRL, (1 << cs) | (1 << (cs + 4)));
    }

    fn jedec(spi: &mut G233Spi, cs: u32) -> [u8; 3] {
        select(spi, cs);
        xfer(spi, 0x9F);
        let id = [xfer(spi, 0), xfer(spi, 0), xfer(spi, 0)];
        wr32(spi, CSCTRL, 0);
        id
    }

    #[test]
    fn reset_state_and_register_masks() {
        let (mut spi, irq, _, _) = setup();
        assert_eq!(rd32(&mut spi, SR), 0x2);
        assert_eq!(rd32(&mut spi, CR1), 0);
        assert_eq!(rd32(&mut spi, CR2), 0);
        assert_eq!(rd32(&mut spi, CSCTRL), 0);
        assert!(!irq.level());
        wr32(&mut spi, CR1, 0xFFFF_FFFF);
        assert_eq!(rd32(&mut spi, CR1), CR1_SPE | CR1_MSTR);
        wr32(&mut spi, CR2, CR2_SSOE | 0xF);
        assert_eq!(rd32(&mut spi, CR2), CR2_SSOE);
        wr32(&mut spi, CSCTRL, 0xFFFF_FF00);
        assert_eq!(rd32(&mut spi, CSCTRL), 0);
        assert_eq!(rd32(&mut spi, 0x14), 0);
        wr32(&mut spi, 0x14, 1);
        assert_eq!(rd32(&mut spi, 0x14), 0);
    }

    #[test]
    fn jedec_ids_through_both_chip_selects() {
        let (mut spi, _, _, _) = setup();
        wr32(&mut spi, CR1, CR1_SPE | CR1_MSTR);
        assert_eq!(jedec(&mut spi, 0), [0xEF, 0x30, 0x15]);
        assert_eq!(jedec(&mut spi, 1), [0xEF, 0x30, 0x16]);
        // Nothing on CS2; nothing selected: 0x00.
        assert_eq!(jedec(&mut spi, 2), [0, 0, 0]);
        assert_eq!(xfer(&mut spi, 0x9F), 0);
    }

    #[test]
    fn chip_select_needs_enable_and_active() {
        let mut spi = G233Spi::new(
            [Some(Box::new(Echo::default())), None, None, None],
            IrqProbe::new(),
        );
        wr32(&mut spi, CR1, CR1_SPE | CR1_MSTR);
        wr32(&mut spi, CSCTRL, 0x01); // EN only
        assert_eq!(xfer(&mut spi, 5), 0);
        wr32(&mut spi, CSCTRL, 0x10); // ACT only
        assert_eq!(xfer(&mut spi, 5), 0);
        wr32(&mut spi, CSCTRL, 0x11);
        assert_eq!(xfer(&mut spi, 5), 6);
        wr32(&mut spi, CSCTRL, 0x11); // unchanged: no new set_selected call
        wr32(&mut spi, CSCTRL, 0x01);
        let s = spi.slave_mut(0).unwrap();
        assert_eq!(s.transfer(9), 10);
        assert!(spi.slave_mut(1).is_none());
        assert!(spi.slave_mut(7).is_none());
    }

    #[test]
    fn selection_edges_reach_the_slave() {
        let echo = Arc::new(Mutex::new(Echo::default()));
        let mut spi = G233Spi::new(
            [None, None, None, Some(Box::new(echo.clone()))],
            IrqProbe::new(),
        );
        wr32(&mut spi, CR1, CR1_SPE | CR1_MSTR);
        wr32(&mut spi, CSCTRL, 0x88);
        wr32(&mut spi, CSCTRL, 0x88);
        xfer(&mut spi, 1);
        wr32(&mut spi, CSCTRL, 0x08);
        let e = lock(&echo);
        assert_eq!(e.selects, vec![false, true, false]);
        assert_eq!(e.seen, vec![1]);
    }

    #[test]
    fn deselect_resets_flash_mid_command() {
        let (mut spi, _, f0, _) = setup();
        wr32(&mut spi, CR1, CR1_SPE | CR1_MSTR);
        select(&mut spi, 0);
        xfer(&mut spi, 0x03);
        xfer(&mut spi, 0x00);
        wr32(&mut spi, CSCTRL, 0x01); // ACT cleared: deasserted
        assert_eq!(jedec(&mut spi, 0), [0xEF, 0x30, 0x15]);
        // Write and read back through the controller.
        select(&mut spi, 0);
        xfer(&mut spi, 0x06);
        wr32(&mut spi, CSCTRL, 0);
        select(&mut spi, 0);
        for b in [0x02, 0x00, 0x01, 0x00, 0xA5] {
            xfer(&mut spi, b);
        }
        wr32(&mut spi, CSCTRL, 0);
        assert_eq!(lock(&f0).contents()[0x100], 0xA5);
        select(&mut spi, 0);
        for b in [0x03, 0x00, 0x01, 0x00] {
            assert_eq!(xfer(&mut spi, b), 0);
        }
        assert_eq!(xfer(&mut spi, 0), 0xA5);
    }

    #[test]
    fn overrun_keeps_unread_byte_and_w1c_clears_only_it() {
        let (mut spi, irq, _, _) = setup();
        wr32(&mut spi, CR1, CR1_SPE | CR1_MSTR);
        select(&mut spi, 0);
        wr32(&mut spi, DR, 0x9F);
        wr32(&mut spi, DR, 0x00);
        assert_eq!(rd32(&mut spi, SR), SR_OVERRUN | SR_TXE | SR_RXNE);
        // The second byte was not exchanged: the kept byte is the reply to 0x9F, and the next
        // exchange gives the first ID byte.
        assert_eq!(rd32(&mut spi, DR), 0);
        assert_eq!(xfer(&mut spi, 0), 0xEF);
        // Underrun: DR read with nothing received.
        assert_eq!(rd32(&mut spi, DR), 0);
        assert_eq!(rd32(&mut spi, SR), SR_OVERRUN | SR_UNDERRUN | SR_TXE);
        wr32(&mut spi, SR, SR_OVERRUN | SR_TXE | SR_RXNE | SR_BSY);
        assert_eq!(rd32(&mut spi, SR), SR_UNDERRUN | SR_TXE);
        wr32(&mut spi, SR, SR_UNDERRUN);
        assert_eq!(rd32(&mut spi, SR), SR_TXE);
        assert!(!irq.level());
    }

    #[test]
    fn disabling_resets_status_and_disabled_writes_do_nothing() {
        let (mut spi, _, _, _) = setup();
        select(&mut spi, 0);
        wr32(&mut spi, DR, 0x9F); // not enabled: ignored
        assert_eq!(rd32(&mut spi, SR), SR_TXE);
        wr32(&mut spi, CR1, CR1_SPE); // not master: ignored
        wr32(&mut spi, DR, 0x9F);
        assert_eq!(rd32(&mut spi, SR), SR_TXE);
        wr32(&mut spi, CR1, CR1_SPE | CR1_MSTR);
        wr32(&mut spi, DR, 0x9F);
        wr32(&mut spi, DR, 0x00);
        assert_eq!(rd32(&mut spi, SR), SR_OVERRUN | SR_TXE | SR_RXNE);
        wr32(&mut spi, CR1, 0);
        assert_eq!(rd32(&mut spi, SR), SR_TXE);
        assert_eq!(rd32(&mut spi, CR1), 0);
    }

    #[test]
    fn irq_formula_each_term() {
        let (mut spi, irq, _, _) = setup();
        // TXEIE with TXE=1 interrupts at once.
        wr32(&mut spi, CR2, CR2_TXEIE);
        assert!(irq.level());
        wr32(&mut spi, CR2, 0);
        assert!(!irq.level());
        // RXNEIE: only while RXNE.
        wr32(&mut spi, CR2, CR2_RXNEIE);
        assert!(!irq.level());
        wr32(&mut spi, CR1, CR1_SPE | CR1_MSTR);
        wr32(&mut spi, DR, 0);
        assert!(irq.level());
        rd32(&mut spi, DR);
        assert!(!irq.level());
        // ERRIE: overrun.
        wr32(&mut spi, CR2, CR2_ERRIE);
        wr32(&mut spi, DR, 0);
        assert!(!irq.level());
        wr32(&mut spi, DR, 0);
        assert!(irq.level());
        wr32(&mut spi, SR, SR_OVERRUN);
        assert!(!irq.level());
        // ERRIE: underrun.
        rd32(&mut spi, DR);
        rd32(&mut spi, DR);
        assert!(irq.level());
        wr32(&mut spi, SR, SR_UNDERRUN);
        assert!(!irq.level());
        // Errors without ERRIE do not interrupt.
        wr32(&mut spi, CR2, 0);
        rd32(&mut spi, DR);
        assert_ne!(rd32(&mut spi, SR) & SR_UNDERRUN, 0);
        assert!(!irq.level());
    }

    #[test]
    fn line_through_plic_repends_after_complete() {
        use crate::irq::{mip, HartInterrupts};
        use crate::plic::Plic;
        let hart = Arc::new(HartInterrupts::new());
        let plic = Arc::new(Mutex::new(Plic::new(53, vec![(hart.clone(), mip::MEIP)])));
        let mut spi = G233Spi::new([None, None, None, None], Plic::source(&plic, 3));
        {
            let mut p = lock(&plic);
            wr32(&mut *p, 3 * 4, 1);
            wr32(&mut *p, 0x2000, 1 << 3);
        }
        // TXEIE with TXE=1: the hart sees MEIP right after the CR2 write.
        wr32(&mut spi, CR2, CR2_TXEIE);
        assert_eq!(hart.lines() & mip::MEIP, mip::MEIP);
        let claim = 0x20_0004;
        assert_eq!(rd32(&mut *lock(&plic), claim), 3);
        assert_eq!(hart.lines() & mip::MEIP, 0);
        // The handler completes without clearing the cause: interrupted again at once.
        wr32(&mut *lock(&plic), claim, 3);
        assert_eq!(hart.lines() & mip::MEIP, mip::MEIP);
        assert_eq!(rd32(&mut *lock(&plic), claim), 3);
        wr32(&mut spi, CR2, 0);
        wr32(&mut *lock(&plic), claim, 3);
        assert_eq!(hart.lines() & mip::MEIP, 0);
    }

    #[test]
    fn file_backed_flash_persists_through_the_controller() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk1.img");
        let run = |ops: &[&[u8]], last_reply_len: usize| -> Vec<u8> {
            let f = Arc::new(Mutex::new(
                SpiFlash::open(FlashModel::W25X32, &path).unwrap(),
            ));
            let mut spi = G233Spi::new(
                [None, Some(Box::new(f.clone())), None, None],
                IrqProbe::new(),
            );
            wr32(&mut spi, CR1, CR1_SPE | CR1_MSTR);
            let mut replies = Vec::new();
            for op in ops {
                select(&mut spi, 1);
                replies = op.iter().map(|&b| xfer(&mut spi, b)).collect();
                wr32(&mut spi, CSCTRL, 0);
            }
            replies.split_off(replies.len() - last_reply_len)
        };
        run(&[&[0x06], &[0x02, 0x3F, 0xFF, 0x00, 1, 2, 3]], 0);
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(&raw[0x3F_FF00..0x3F_FF03], &[1, 2, 3]);
        assert_eq!(run(&[&[0x03, 0x3F, 0xFF, 0x00, 0, 0, 0]], 3), vec![1, 2, 3]);
    }

    #[test]
    fn sub_word_and_wide_accesses() {
        let (mut spi, _, _, _) = setup();
        wr(&mut spi, CR1, 1, u64::from(CR1_SPE | CR1_MSTR));
        select(&mut spi, 1);
        wr(&mut spi, DR, 1, 0x9F);
        assert_eq!(rd32(&mut spi, SR) & SR_RXNE, SR_RXNE);
        rd32(&mut spi, DR);
        // A byte write to a non-data lane of DR exchanges nothing.
        wr(&mut spi, DR + 1, 1, 0);
        assert_eq!(rd32(&mut spi, SR) & SR_RXNE, 0);
        wr(&mut spi, DR, 2, 0);
        assert_eq!(rd32(&mut spi, DR), 0xEF);
    }
}
