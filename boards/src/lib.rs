//! Machines: memory maps, which devices sit where, IRQ wiring and boot set-up.
//!
//! A board knows nothing about the accelerator that will run it: it produces an MMIO bus, the
//! hart's interrupt inputs, a guest clock and a RAM map, and the accelerator meets it there.

pub mod g233;
pub mod loader;
#[cfg(target_arch = "x86_64")]
pub mod x86;

/// An instruction-set architecture a board is built around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// 64-bit RISC-V.
    Riscv64,
    /// x86-64.
    X86_64,
}

impl Isa {
    /// The ISA of the host this binary runs on, if it is one a board uses.
    pub fn host() -> Option<Isa> {
        if cfg!(target_arch = "x86_64") {
            Some(Isa::X86_64)
        } else if cfg!(target_arch = "riscv64") {
            Some(Isa::Riscv64)
        } else {
            None
        }
    }

    /// The conventional name (`riscv64`, `x86_64`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Riscv64 => "riscv64",
            Isa::X86_64 => "x86_64",
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `vmm boards` shows about a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardInfo {
    /// The name given to `--board`.
    pub name: &'static str,
    /// One line describing the board.
    pub description: &'static str,
    /// The ISA its CPU runs.
    pub isa: Isa,
    /// RAM size when `--memory` is not given, in bytes.
    pub default_ram: u64,
}

const BOARDS: &[BoardInfo] = &[BoardInfo {
    name: "g233",
    description:
        "G233 RISC-V teaching board: RV64GC hart, ACLINT, PLIC, PL011, GPIO, PWM, SPI NOR flashes",
    isa: Isa::Riscv64,
    default_ram: g233::DEFAULT_RAM,
},
#[cfg(target_arch = "x86_64")]
BoardInfo {
    name: "microvm",
    description: "x86_64 microvm for KVM: 8250 COM1, i8042 reset, virtio-mmio blk/rng, Linux or PVH boot",
    isa: Isa::X86_64,
    default_ram: x86::DEFAULT_RAM,
}];

/// Every board this build knows.
pub fn list() -> &'static [BoardInfo] {
    BOARDS
}

/// The board called `name`.
pub fn find(name: &str) -> Option<&'static BoardInfo> {
    BOARDS.iter().find(|b| b.name == name)
}

/// A range of guest-physical RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamRegion {
    /// Guest-physical start.
    pub base: u64,
    /// Length in bytes.
    pub size: u64,
}

impl RamRegion {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.base + self.size
    }
}

/// Errors building a board.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// A flash image could not be used.
    #[error(transparent)]
    Flash(#[from] devices::spi_flash::FlashError),
    /// A device could not be placed on the bus (a bug in the board's memory map).
    #[error("board memory map: {0}")]
    Bus(#[from] devices::BusError),
    /// A configuration the board cannot honour.
    #[error("{0}")]
    Config(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g233_is_listed_with_riscv64() {
        let b = find("g233").expect("g233 listed");
        assert_eq!(b.isa, Isa::Riscv64);
        assert_eq!(b.default_ram, 1 << 30);
        assert!(find("nope").is_none());
        assert!(list().iter().all(|b| !b.description.is_empty()));
    }
}
