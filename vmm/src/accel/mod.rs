//! Accelerators: which ones work on this host, choosing one for a board, and one run function
//! per accelerator taking the board-neutral [`Machine`].

mod kvm;
mod tcg;

use std::fmt;
use std::sync::Arc;

use boards::Isa;
use devices::clock::GuestClock;
use devices::cpu_ext::CustomInsnHook;
use devices::{Bus, HartInterrupts};
use vm_memory::GuestMemoryMmap;

use crate::cli::AccelChoice;
use crate::error::VmmError;

pub use kvm::probe as probe_kvm;
#[cfg(target_arch = "x86_64")]
pub use kvm::run_microvm;

/// An accelerator that can run a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// KVM through /dev/kvm.
    Kvm,
    /// The RISC-V emulator.
    Tcg,
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        })
    }
}

/// What a board hands to an accelerator: the meeting point of the two (RAM, buses, IRQs, time).
pub struct Machine {
    /// The board's name (for messages).
    pub board: &'static str,
    /// The board's ISA.
    pub isa: Isa,
    /// Guest RAM.
    pub ram: GuestMemoryMmap,
    /// The MMIO bus.
    pub mmio: Arc<Bus>,
    /// Interrupt inputs of the (single) hart.
    pub hart: Arc<HartInterrupts>,
    /// The guest timebase.
    pub clock: Arc<GuestClock>,
    /// Board-specific custom instructions.
    pub custom: Option<Box<dyn CustomInsnHook>>,
    /// Where the CPU starts.
    pub reset_pc: u64,
    /// Integer registers set before the first instruction (`(index, value)`).
    pub boot_regs: Vec<(usize, u64)>,
}

/// Run-time options of the accelerator.
pub struct RunOptions {
    /// RISC-V semihosting on.
    pub semihosting: bool,
    /// TCG: Cranelift tier on.
    pub jit: bool,
    /// TCG: executions before a region is compiled.
    pub jit_threshold: u32,
    /// TCG: whether the baseline tier runs (x86-64 hosts).
    pub jit_baseline: accel_tcg::jit::BaselineMode,
    /// `-v` count (statistics at exit).
    pub verbose: u8,
    /// Where semihosting console output goes.
    pub console: Box<dyn std::io::Write + Send>,
    /// Where semihosting console input comes from.
    pub console_in: Option<Box<dyn std::io::Read + Send>>,
}

/// How a guest run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestExit {
    /// Semihosting `SYS_EXIT`/`SYS_EXIT_EXTENDED` with this code.
    Semihosting(i32),
    /// The guest powered off (status 0 is clean).
    Poweroff(i32),
    /// The guest asked for a reset.
    Reset,
    /// The host asked to stop (signal, timeout, Ctrl-A x).
    HostStop,
}

/// Whether TCG can run boards of `isa`.
pub fn tcg_supports(isa: Isa) -> Result<(), String> {
    match isa {
        Isa::Riscv64 => Ok(()),
        other => Err(format!("TCG emulates riscv64 only, not {other}")),
    }
}

/// Whether KVM can run a board of `isa` here: `/dev/kvm` works and the host ISA matches.
pub fn kvm_supports(isa: Isa) -> Result<(), String> {
    let host = Isa::host().ok_or_else(|| "the host ISA has no board".to_string())?;
    if host != isa {
        return Err(format!(
            "KVM needs the host ISA ({host}) to equal the board's ({isa})"
        ));
    }
    probe_kvm().map(|_| ())
}

/// Picks the accelerator for a board of `isa`; returns it with the reason (shown with `-v`).
pub fn choose(choice: AccelChoice, board: &str, isa: Isa) -> Result<(Accel, String), VmmError> {
    match choice {
        AccelChoice::Kvm => match kvm_supports(isa) {
            Ok(()) => Ok((Accel::Kvm, "--accel kvm".into())),
            Err(why) => Err(VmmError::Accel(format!(
                "--accel kvm cannot run board {board} ({isa}): {why}; use --accel tcg or auto"
            ))),
        },
        AccelChoice::Tcg => match tcg_supports(isa) {
            Ok(()) => Ok((Accel::Tcg, "--accel tcg".into())),
            Err(why) => Err(VmmError::Accel(format!(
                "--accel tcg cannot run board {board}: {why}; use --accel kvm or auto"
            ))),
        },
        AccelChoice::Auto => match kvm_supports(isa) {
            Ok(()) => Ok((
                Accel::Kvm,
                format!("auto: /dev/kvm works and the host ISA is {isa}"),
            )),
            Err(kvm_why) => match tcg_supports(isa) {
                Ok(()) => Ok((Accel::Tcg, format!("auto: not KVM because {kvm_why}"))),
                Err(tcg_why) => Err(VmmError::Accel(format!(
                    "no accelerator can run board {board}: KVM: {kvm_why}; TCG: {tcg_why}"
                ))),
            },
        },
    }
}

/// Runs `machine` on `accel` until it stops.
pub fn run(accel: Accel, machine: Machine, opts: RunOptions) -> Result<GuestExit, VmmError> {
    match accel {
        Accel::Tcg => tcg::run(machine, opts),
        Accel::Kvm => kvm::run(machine, opts),
    }
}

/// The report of `vmm accels`: one block per accelerator.
pub fn report() -> String {
    let mut out = String::new();
    match Isa::host() {
        Some(h) => out.push_str(&format!("host ISA: {h}\n")),
        None => out.push_str("host ISA: none that a board uses\n"),
    }
    match probe_kvm() {
        Ok(version) => {
            out.push_str(&format!(
                "kvm   available: /dev/kvm opens, API version {version}\n"
            ));
        }
        Err(why) => out.push_str(&format!("kvm   unavailable: {why}\n")),
    }
    for b in boards::list() {
        let verdict = match kvm_supports(b.isa) {
            Ok(()) => "yes".to_string(),
            Err(why) => format!("no: {why}"),
        };
        out.push_str(&format!("      board {} ({}): {verdict}\n", b.name, b.isa));
    }
    out.push_str("tcg   available for riscv64 boards\n");
    for b in boards::list() {
        let verdict = match tcg_supports(b.isa) {
            Ok(()) => "yes".to_string(),
            Err(why) => format!("no: {why}"),
        };
        out.push_str(&format!("      board {} ({}): {verdict}\n", b.name, b.isa));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcg_runs_riscv_only() {
        assert!(tcg_supports(Isa::Riscv64).is_ok());
        assert!(tcg_supports(Isa::X86_64).unwrap_err().contains("riscv64"));
    }

    #[test]
    fn choice_follows_host_and_board_isa() {
        let host = Isa::host();
        let (accel, why) = choose(AccelChoice::Auto, "g233", Isa::Riscv64).unwrap();
        if host == Some(Isa::Riscv64) && probe_kvm().is_ok() {
            assert_eq!(accel, Accel::Kvm);
        } else {
            assert_eq!(accel, Accel::Tcg);
            assert!(why.starts_with("auto: not KVM because"), "{why}");
        }
        if host != Some(Isa::Riscv64) {
            let e = choose(AccelChoice::Kvm, "g233", Isa::Riscv64).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("g233") && msg.contains("--accel tcg"), "{msg}");
        }
        let e = choose(AccelChoice::Tcg, "pc", Isa::X86_64).unwrap_err();
        assert!(e.to_string().contains("riscv64"), "{e}");
        assert_eq!(
            choose(AccelChoice::Tcg, "g233", Isa::Riscv64).unwrap().0,
            Accel::Tcg
        );
    }

    #[test]
    fn report_covers_both_accelerators_and_every_board() {
        let r = report();
        assert!(r.contains("kvm   ") && r.contains("tcg   available"), "{r}");
        for b in boards::list() {
            assert!(r.contains(&format!("board {}", b.name)), "{r}");
        }
    }
}
