//! The G233 RISC-V teaching board (`/work/shared/spec/g233.md` is the full behaviour).
//!
//! Memory map (spec §1): MROM at 0x1000, ACLINT MSWI/MTIMER at 0x200_0000/0x200_4000, PLIC at
//! 0xC00_0000, PL011 UART0 at 0x1000_0000, SiFive GPIO0 at 0x1001_2000, PWM0 at 0x1001_5000, SPI0
//! at 0x1001_8000 with a W25X16 on CS0 and a W25X32 on CS1, DRAM from 0x8000_0000. Plus one
//! documented extension: a SiFive test finisher at 0x10_0000 for guest poweroff/reset.

pub mod boot;
mod custom_insn;
pub mod fdt;
mod map;

pub use custom_insn::G233CustomInsns;
pub use map::*;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use devices::aclint::{Mswi, Mtimer};
use devices::bus::lock;
use devices::clock::{ClockMode, GuestClock};
use devices::cpu_ext::CustomInsnHook;
use devices::g233_spi::G233Spi;
use devices::irq::{mip, IrqLine};
use devices::pl011::Pl011;
use devices::plic::Plic;
use devices::rom::Rom;
use devices::sifive_gpio::SifiveGpio;
use devices::sifive_pwm::SifivePwm;
use devices::sifive_test::SifiveTest;
use devices::spi_flash::{FlashModel, SpiFlash, SpiSlave};
use devices::{Bus, HartInterrupts};

use crate::{BoardError, RamRegion};

/// How the board is configured by the user.
pub struct G233Config {
    /// DRAM size in bytes.
    pub ram_size: u64,
    /// Backing files of the flashes on CS0 (W25X16) and CS1 (W25X32); `None`: erased, in memory.
    pub flash: [Option<PathBuf>; 2],
    /// Where UART0 transmits.
    pub serial: Box<dyn Write + Send>,
    /// How guest time advances.
    pub clock: ClockMode,
}

/// Feeds host input into UART0's receive FIFO. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct SerialInput {
    uart: Arc<Mutex<Pl011>>,
}

impl SerialInput {
    /// Queues as many of `bytes` as the receive FIFO has room for; returns how many were taken.
    pub fn push(&self, bytes: &[u8]) -> usize {
        let mut uart = lock(&self.uart);
        bytes.iter().take_while(|&&b| uart.receive(b)).count()
    }
}

/// A built G233 board: its MMIO bus, hart interrupt inputs and clock.
pub struct G233 {
    /// Every device on the board, by guest-physical address.
    pub mmio: Arc<Bus>,
    /// The interrupt inputs of hart 0.
    pub hart: Arc<HartInterrupts>,
    /// The 10 MHz timebase.
    pub clock: Arc<GuestClock>,
    rom: Arc<Mutex<Rom>>,
    uart: Arc<Mutex<Pl011>>,
    gpio: Arc<Mutex<SifiveGpio>>,
    flashes: Vec<Arc<Mutex<SpiFlash>>>,
    ram_size: u64,
}

impl G233 {
    /// Start of DRAM.
    pub const RAM_BASE: u64 = DRAM_BASE;
    /// Where the hart starts after reset (inside the MROM).
    pub const RESET_PC: u64 = MROM_BASE + 4;

    /// The RAM map for `ram_size` bytes of DRAM.
    pub fn ram_regions(ram_size: u64) -> Vec<RamRegion> {
        vec![RamRegion {
            base: DRAM_BASE,
            size: ram_size,
        }]
    }

    /// Builds the board: devices on the bus, interrupts wired, flash images opened.
    pub fn new(cfg: G233Config) -> Result<G233, BoardError> {
        if cfg.ram_size == 0 || cfg.ram_size > MAX_RAM {
            return Err(BoardError::Config(format!(
                "g233 DRAM must be between 1 byte and {} GiB, not {} bytes; pick another --memory",
                MAX_RAM >> 30,
                cfg.ram_size
            )));
        }
        let hart = Arc::new(HartInterrupts::new());
        let clock = Arc::new(GuestClock::new(cfg.clock, TIMEBASE_HZ));
        let mut bus = Bus::new();

        let rom = Arc::new(Mutex::new(Rom::new(reset_stub(), MROM_SIZE)));
        bus.insert(rom.clone(), MROM_BASE, MROM_SIZE)?;
        bus.insert(
            Arc::new(Mutex::new(Mswi::new(hart.clone()))),
            MSWI_BASE,
            MSWI_SIZE,
        )?;
        bus.insert(
            Arc::new(Mutex::new(Mtimer::new(hart.clone(), clock.clone()))),
            MTIMER_BASE,
            MTIMER_SIZE,
        )?;
        let plic = Arc::new(Mutex::new(Plic::new(
            PLIC_SOURCES,
            vec![(hart.clone(), mip::MEIP), (hart.clone(), mip::SEIP)],
        )));
        bus.insert(plic.clone(), PLIC_BASE, PLIC_SIZE)?;
        let irq = |id: u32| -> Arc<dyn IrqLine> { Plic::source(&plic, id) };

        let uart = Arc::new(Mutex::new(Pl011::new(cfg.serial, irq(IRQ_UART0))));
        bus.insert(uart.clone(), UART0_BASE, UART0_SIZE)?;
        let gpio_irqs = (0..GPIO_PINS).map(|n| irq(IRQ_GPIO0_BASE + n)).collect();
        let gpio = Arc::new(Mutex::new(SifiveGpio::new(gpio_irqs)));
        bus.insert(gpio.clone(), GPIO0_BASE, GPIO0_SIZE)?;
        bus.insert(
            Arc::new(Mutex::new(SifivePwm::new(irq(IRQ_PWM0)))),
            PWM0_BASE,
            PWM0_SIZE,
        )?;

        let models = [FlashModel::W25X16, FlashModel::W25X32];
        let mut flashes = Vec::new();
        for (model, path) in models.into_iter().zip(&cfg.flash) {
            let flash = match path {
                Some(p) => SpiFlash::open(model, p)?,
                None => SpiFlash::new_erased(model),
            };
            flashes.push(Arc::new(Mutex::new(flash)));
        }
        let slave = |i: usize| -> Option<Box<dyn SpiSlave>> { Some(Box::new(flashes[i].clone())) };
        let spi = G233Spi::new([slave(0), slave(1), None, None], irq(IRQ_SPI0));
        bus.insert(Arc::new(Mutex::new(spi)), SPI0_BASE, SPI0_SIZE)?;
        bus.insert(
            Arc::new(Mutex::new(SifiveTest::new(hart.clone()))),
            TEST_BASE,
            TEST_SIZE,
        )?;

        Ok(G233 {
            mmio: Arc::new(bus),
            hart,
            clock,
            rom,
            uart,
            gpio,
            flashes,
            ram_size: cfg.ram_size,
        })
    }

    /// DRAM size in bytes.
    pub fn ram_size(&self) -> u64 {
        self.ram_size
    }

    /// Replaces the plain reset stub with the firmware stub that passes hartid, the device
    /// tree and `fw_dynamic_info` to firmware such as OpenSBI (see [`boot`]).
    pub fn set_firmware_boot(&self, boot: &boot::FirmwareBoot) {
        *lock(&self.rom) = Rom::new(boot::firmware_rom(boot), MROM_SIZE);
    }

    /// A handle that feeds host input to UART0.
    pub fn serial_input(&self) -> SerialInput {
        SerialInput {
            uart: self.uart.clone(),
        }
    }

    /// Drives GPIO0 input pin `pin` from the host side (e.g. a button).
    pub fn set_gpio_input(&self, pin: u32, level: bool) {
        lock(&self.gpio).set_input(pin, level);
    }

    /// The G233 custom instructions, for a CPU model to register.
    pub fn custom_insns(&self) -> Box<dyn CustomInsnHook> {
        Box::new(G233CustomInsns)
    }

    /// Writes flash contents back to their files (they are mapped shared, so this only forces
    /// them to stable storage).
    pub fn flush(&self) -> Result<(), BoardError> {
        for f in &self.flashes {
            lock(f).flush()?;
        }
        Ok(())
    }
}

/// The MROM contents (spec §3): a zero word at 0x1000, then at the reset PC 0x1004
/// `addiw t0,zero,1; slli t0,t0,31; jr t0` — a jump to DRAM at 0x8000_0000.
pub fn reset_stub() -> Vec<u8> {
    [0x0000_0000u32, 0x0010_029b, 0x01f2_9293, 0x0002_8067]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}

#[cfg(test)]
mod tests;
