//! SiFive GPIO controller (FE310 register layout), 32 pins, one interrupt line per pin.
//!
//! Follows QEMU's `sifive_gpio` model: pin levels are recomputed after every access and every
//! host input change; `input_val` shows pin levels masked by `input_en`; `rise_ip`/`fall_ip`
//! latch on edges of that value, `high_ip`/`low_ip` latch while it is high/low (so clearing one
//! while the level persists sets it again at once); all four are write-1-to-clear. Pin n's
//! line is `(rise_ip & rise_ie | fall_ip & fall_ie | high_ip & high_ie | low_ip & low_ie)` bit n.
//!
//! Pin level: an output-enabled pin is driven by `output_val ^ out_xor` (so a program reading
//! back its own outputs sees them); otherwise by the host-side input if one was given
//! ([`SifiveGpio::set_input`]), else by the pull-up (`pue`). IOF is not modelled.

use std::sync::Arc;

use crate::bus::BusDevice;
use crate::irq::IrqLine;
use crate::regs::{merge, read_regs, write_regs, Regs32};

/// Size of the GPIO window.
pub const GPIO_SIZE: u64 = 0x1000;
/// Number of pins.
pub const PINS: u32 = 32;

/// Pin values (read-only).
pub const INPUT_VAL: u64 = 0x00;
/// Input enable.
pub const INPUT_EN: u64 = 0x04;
/// Output enable.
pub const OUTPUT_EN: u64 = 0x08;
/// Output value.
pub const OUTPUT_VAL: u64 = 0x0C;
/// Pull-up enable.
pub const PUE: u64 = 0x10;
/// Drive strength.
pub const DS: u64 = 0x14;
/// Rise interrupt enable.
pub const RISE_IE: u64 = 0x18;
/// Rise interrupt pending (write 1 to clear).
pub const RISE_IP: u64 = 0x1C;
/// Fall interrupt enable.
pub const FALL_IE: u64 = 0x20;
/// Fall interrupt pending (write 1 to clear).
pub const FALL_IP: u64 = 0x24;
/// High interrupt enable.
pub const HIGH_IE: u64 = 0x28;
/// High interrupt pending (write 1 to clear).
pub const HIGH_IP: u64 = 0x2C;
/// Low interrupt enable.
pub const LOW_IE: u64 = 0x30;
/// Low interrupt pending (write 1 to clear).
pub const LOW_IP: u64 = 0x34;
/// I/O function enable.
pub const IOF_EN: u64 = 0x38;
/// I/O function select.
pub const IOF_SEL: u64 = 0x3C;
/// Output XOR (invert).
pub const OUT_XOR: u64 = 0x40;

/// The GPIO controller.
pub struct SifiveGpio {
    irqs: Vec<Arc<dyn IrqLine>>,
    value: u32,
    input_en: u32,
    output_en: u32,
    output_val: u32,
    pue: u32,
    ds: u32,
    rise_ie: u32,
    rise_ip: u32,
    fall_ie: u32,
    fall_ip: u32,
    high_ie: u32,
    high_ip: u32,
    low_ie: u32,
    low_ip: u32,
    iof_en: u32,
    iof_sel: u32,
    out_xor: u32,
    /// Host-side input levels.
    input: u32,
    /// Pins whose level the host drives.
    input_driven: u32,
}

impl SifiveGpio {
    /// A controller with `irqs[n]` as pin n's interrupt line (pins beyond `irqs.len()` have
    /// none; extra lines are ignored).
    pub fn new(mut irqs: Vec<Arc<dyn IrqLine>>) -> SifiveGpio {
        if irqs.len() > PINS as usize {
            log::warn!("sifive_gpio: {} irq lines for {PINS} pins", irqs.len());
            irqs.truncate(PINS as usize);
        }
        let gpio = SifiveGpio {
            irqs,
            value: 0,
            input_en: 0,
            output_en: 0,
            output_val: 0,
            pue: 0,
            ds: 0,
            rise_ie: 0,
            rise_ip: 0,
            fall_ie: 0,
            fall_ip: 0,
            high_ie: 0,
            high_ip: 0,
            low_ie: 0,
            low_ip: 0,
            iof_en: 0,
            iof_sel: 0,
            out_xor: 0,
            input: 0,
            input_driven: 0,
        };
        gpio.update_irqs();
        gpio
    }

    /// Drives pin `pin` from the host side (ignored for pins ≥ 32). An output-enabled pin keeps
    /// the level its output drives.
    pub fn set_input(&mut self, pin: u32, level: bool) {
        if pin >= PINS {
            log::debug!("sifive_gpio: no pin {pin}");
            return;
        }
        let bit = 1u32 << pin;
        self.input_driven |= bit;
        if level {
            self.input |= bit;
        } else {
            self.input &= !bit;
        }
        self.update_state();
    }

    /// Levels driven by output-enabled pins (0 for the others).
    pub fn outputs(&self) -> u32 {
        self.output_en & (self.output_val ^ self.out_xor)
    }

    /// The level of every pin.
    fn pins(&self) -> u32 {
        let external = (self.input & self.input_driven) | (self.pue & !self.input_driven);
        self.outputs() | (external & !self.output_en)
    }

    fn update_state(&mut self) {
        let prev = self.value;
        let ival = self.pins() & self.input_en;
        self.high_ip |= ival;
        self.low_ip |= !ival;
        self.rise_ip |= ival & !prev;
        self.fall_ip |= !ival & prev;
        self.value = ival;
        self.update_irqs();
    }

    fn update_irqs(&self) {
        let pending = (self.rise_ip & self.rise_ie)
            | (self.fall_ip & self.fall_ie)
            | (self.high_ip & self.high_ie)
            | (self.low_ip & self.low_ie);
        for (n, line) in self.irqs.iter().enumerate() {
            line.set_level(pending >> n & 1 != 0);
        }
    }
}

impl Regs32 for SifiveGpio {
    fn read32(&mut self, offset: u64) -> u32 {
        match offset {
            INPUT_VAL => self.value,
            INPUT_EN => self.input_en,
            OUTPUT_EN => self.output_en,
            OUTPUT_VAL => self.output_val,
            PUE => self.pue,
            DS => self.ds,
            RISE_IE => self.rise_ie,
            RISE_IP => self.rise_ip,
            FALL_IE => self.fall_ie,
            FALL_IP => self.fall_ip,
            HIGH_IE => self.high_ie,
            HIGH_IP => self.high_ip,
            LOW_IE => self.low_ie,
            LOW_IP => self.low_ip,
            IOF_EN => self.iof_en,
            IOF_SEL => self.iof_sel,
            OUT_XOR => self.out_xor,
            _ => 0,
        }
    }

    fn write32(&mut self, offset: u64, value: u32, mask: u32) {
        let w1c = value & mask;
        let reg = match offset {
            INPUT_EN => &mut self.input_en,
            OUTPUT_EN => &mut self.output_en,
            OUTPUT_VAL => &mut self.output_val,
            PUE => &mut self.pue,
            DS => &mut self.ds,
            RISE_IE => &mut self.rise_ie,
            FALL_IE => &mut self.fall_ie,
            HIGH_IE => &mut self.high_ie,
            LOW_IE => &mut self.low_ie,
            IOF_EN => &mut self.iof_en,
            IOF_SEL => &mut self.iof_sel,
            OUT_XOR => &mut self.out_xor,
            RISE_IP => return self.rise_ip &= !w1c,
            FALL_IP => return self.fall_ip &= !w1c,
            HIGH_IP => return self.high_ip &= !w1c,
            LOW_IP => return self.low_ip &= !w1c,
            _ => {
                log::debug!("sifive_gpio: ignored write {value:#x} at {offset:#x}");
                return;
            }
        };
        *reg = merge(*reg, value, mask);
    }
}

impl BusDevice for SifiveGpio {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        read_regs(self, offset, data);
        self.update_state();
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        write_regs(self, offset, data);
        self.update_state();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{rd, rd32, wr, wr32, IrqProbe};

    fn gpio() -> (SifiveGpio, Vec<Arc<IrqProbe>>) {
        let probes: Vec<_> = (0..32).map(|_| IrqProbe::new()).collect();
        let lines = probes
            .iter()
            .map(|p| p.clone() as Arc<dyn IrqLine>)
            .collect();
        (SifiveGpio::new(lines), probes)
    }

    #[test]
    fn plain_registers_read_back() {
        let (mut g, _) = gpio();
        for reg in [
            INPUT_EN, OUTPUT_EN, OUTPUT_VAL, PUE, DS, RISE_IE, FALL_IE, HIGH_IE, LOW_IE, IOF_EN,
            IOF_SEL, OUT_XOR,
        ] {
            assert_eq!(rd32(&mut g, reg), 0, "reset value of {reg:#x}");
            wr32(&mut g, reg, 0xA5A5_0F0F);
            assert_eq!(rd32(&mut g, reg), 0xA5A5_0F0F, "register {reg:#x}");
            wr32(&mut g, reg, 0);
        }
        wr(&mut g, OUTPUT_VAL, 1, 0xFF);
        wr(&mut g, OUTPUT_VAL + 2, 1, 0x12);
        assert_eq!(rd32(&mut g, OUTPUT_VAL), 0x0012_00FF);
        // input_val is read-only; unknown offsets read 0.
        wr32(&mut g, INPUT_VAL, 0xFFFF_FFFF);
        assert_eq!(rd32(&mut g, INPUT_VAL), 0);
        wr32(&mut g, 0x44, 1);
        assert_eq!(rd32(&mut g, 0x44), 0);
    }

    #[test]
    fn outputs_read_back_through_input_val() {
        let (mut g, _) = gpio();
        wr32(&mut g, OUTPUT_EN, 0xF);
        wr32(&mut g, OUTPUT_VAL, 0b0101);
        assert_eq!(g.outputs(), 0b0101);
        assert_eq!(
            rd32(&mut g, INPUT_VAL),
            0,
            "input_en clear: nothing visible"
        );
        wr32(&mut g, INPUT_EN, 0xFF);
        assert_eq!(rd32(&mut g, INPUT_VAL), 0b0101);
        wr32(&mut g, OUT_XOR, 0b0011);
        assert_eq!(g.outputs(), 0b0110);
        assert_eq!(rd32(&mut g, INPUT_VAL), 0b0110);
        // The host cannot override a driven output, but drives the inputs.
        g.set_input(0, false);
        g.set_input(4, true);
        assert_eq!(rd32(&mut g, INPUT_VAL), 0b1_0110);
        // Pull-up on an undriven input pin.
        wr32(&mut g, PUE, 1 << 5);
        assert_eq!(rd32(&mut g, INPUT_VAL), 0b11_0110);
        g.set_input(5, false);
        assert_eq!(rd32(&mut g, INPUT_VAL), 0b01_0110);
        g.set_input(99, true); // no such pin: ignored
    }

    #[test]
    fn rise_and_fall_interrupts_latch_with_w1c() {
        let (mut g, p) = gpio();
        wr32(&mut g, INPUT_EN, 1 << 3);
        wr32(&mut g, RISE_IE, 1 << 3);
        wr32(&mut g, FALL_IE, 1 << 3);
        wr32(&mut g, FALL_IP, u32::MAX);
        assert!(!p[3].level());
        g.set_input(3, true);
        assert!(p[3].level());
        assert_eq!(rd32(&mut g, RISE_IP), 1 << 3);
        assert_eq!(rd32(&mut g, FALL_IP), 0);
        // Edge latched: clearing it ends the interrupt even though the level stays high.
        wr32(&mut g, RISE_IP, 1 << 3);
        assert_eq!(rd32(&mut g, RISE_IP), 0);
        assert!(!p[3].level());
        g.set_input(3, false);
        assert!(p[3].level());
        assert_eq!(rd32(&mut g, FALL_IP), 1 << 3);
        // Writing 0 bits does not clear.
        wr32(&mut g, FALL_IP, 0);
        assert_eq!(rd32(&mut g, FALL_IP), 1 << 3);
        wr32(&mut g, FALL_IP, 1 << 3);
        assert!(!p[3].level());
        // Other pins are untouched.
        assert!(p.iter().enumerate().all(|(i, l)| i == 3 || !l.level()));
    }

    #[test]
    fn high_and_low_interrupts_persist_while_level_holds() {
        let (mut g, p) = gpio();
        wr32(&mut g, INPUT_EN, 1 << 7);
        wr32(&mut g, HIGH_IE, 1 << 7);
        assert!(!p[7].level());
        g.set_input(7, true);
        assert!(p[7].level());
        wr32(&mut g, HIGH_IP, 1 << 7);
        assert_eq!(rd32(&mut g, HIGH_IP), 1 << 7, "re-set while high");
        assert!(p[7].level());
        g.set_input(7, false);
        wr32(&mut g, HIGH_IP, 1 << 7);
        assert_eq!(rd32(&mut g, HIGH_IP), 0);
        assert!(!p[7].level());
        wr32(&mut g, HIGH_IE, 0);
        wr32(&mut g, LOW_IE, 1 << 7);
        assert!(p[7].level());
        wr32(&mut g, LOW_IP, 1 << 7);
        assert!(p[7].level(), "re-set while low");
        g.set_input(7, true);
        wr32(&mut g, LOW_IP, 1 << 7);
        assert_eq!(rd32(&mut g, LOW_IP) & (1 << 7), 0);
        assert!(!p[7].level());
    }

    #[test]
    fn own_output_edges_interrupt() {
        let (mut g, p) = gpio();
        wr32(&mut g, INPUT_EN, 1);
        wr32(&mut g, OUTPUT_EN, 1);
        wr32(&mut g, RISE_IE, 1);
        wr32(&mut g, OUTPUT_VAL, 1);
        assert!(p[0].level());
        assert_eq!(rd(&mut g, RISE_IP, 1), 1);
    }

    #[test]
    fn fewer_lines_than_pins_is_fine() {
        let probe = IrqProbe::new();
        let mut g = SifiveGpio::new(vec![probe.clone()]);
        wr32(&mut g, INPUT_EN, u32::MAX);
        wr32(&mut g, LOW_IE, u32::MAX);
        assert!(probe.level());
        assert_eq!(rd32(&mut g, LOW_IP), u32::MAX);
    }
}
