//! Device models and the MMIO/PIO dispatch layer shared by every accelerator.
//!
//! Devices are plain state machines behind [`bus::BusDevice`]; they raise interrupts through
//! [`irq::IrqLine`] and know nothing of the accelerator that drives them.

pub mod bus;
pub mod clock;
pub mod cpu_ext;
pub mod irq;

pub mod aclint;
pub mod g233_spi;
pub mod pl011;
pub mod plic;
pub mod regs;
pub mod rom;
pub mod sifive_gpio;
pub mod sifive_pwm;
pub mod sifive_test;
pub mod spi_flash;
pub mod test_util;

pub mod i8042;
pub mod mmio_test;
pub mod uart_8250;
pub mod virtio;
pub mod x86_entry;

pub use bus::{Bus, BusDevice, BusError, SharedDevice};
pub use irq::{HartInterrupts, IrqLine};
