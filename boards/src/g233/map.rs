//! G233 memory map and interrupt numbers (spec §1, §5).

/// MROM (boot ROM).
pub const MROM_BASE: u64 = 0x1000;
/// MROM size: 8 KiB.
pub const MROM_SIZE: u64 = 0x2000;
/// ACLINT MSWI.
pub const MSWI_BASE: u64 = 0x0200_0000;
/// ACLINT MSWI window.
pub const MSWI_SIZE: u64 = 0x4000;
/// ACLINT MTIMER (`mtimecmp` at +0, `mtime` at +0x7FF8).
pub const MTIMER_BASE: u64 = 0x0200_4000;
/// ACLINT MTIMER window.
pub const MTIMER_SIZE: u64 = 0x8000;
/// PLIC.
pub const PLIC_BASE: u64 = 0x0C00_0000;
/// PLIC window.
pub const PLIC_SIZE: u64 = 0x0400_0000;
/// PLIC interrupt sources including the reserved source 0 (IDs 1–52 are usable).
pub const PLIC_SOURCES: u32 = 53;
/// UART0 (PL011).
pub const UART0_BASE: u64 = 0x1000_0000;
/// UART0 window.
pub const UART0_SIZE: u64 = 0x1000;
/// GPIO0 (SiFive GPIO).
pub const GPIO0_BASE: u64 = 0x1001_2000;
/// GPIO0 window.
pub const GPIO0_SIZE: u64 = 0x1000;
/// GPIO0 pins.
pub const GPIO_PINS: u32 = 32;
/// PWM0 (SiFive PWM).
pub const PWM0_BASE: u64 = 0x1001_5000;
/// PWM0 window.
pub const PWM0_SIZE: u64 = 0x1000;
/// SPI0 controller.
pub const SPI0_BASE: u64 = 0x1001_8000;
/// SPI0 window.
pub const SPI0_SIZE: u64 = 0x1000;
/// Test finisher (a documented G233 extension: `sifive,test1` for poweroff and reset).
pub const TEST_BASE: u64 = 0x0010_0000;
/// Test finisher window.
pub const TEST_SIZE: u64 = 0x1000;
/// DRAM.
pub const DRAM_BASE: u64 = 0x8000_0000;
/// DRAM size when `--memory` is not given.
pub const DEFAULT_RAM: u64 = 1 << 30;
/// Largest DRAM the map leaves room for below the 64-bit hole we keep for future devices.
pub const MAX_RAM: u64 = 64 << 30;
/// ACLINT timebase: 10 MHz.
pub const TIMEBASE_HZ: u64 = 10_000_000;

/// PLIC source of UART0.
pub const IRQ_UART0: u32 = 1;
/// PLIC source of PWM0.
pub const IRQ_PWM0: u32 = 2;
/// PLIC source of SPI0.
pub const IRQ_SPI0: u32 = 3;
/// PLIC source of GPIO0 pin 0 (pin n is `IRQ_GPIO0_BASE + n`).
pub const IRQ_GPIO0_BASE: u32 = 8;
