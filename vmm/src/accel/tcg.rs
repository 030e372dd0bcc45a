//! The TCG accelerator: hands the machine to `accel-tcg` and translates how it ended.

use accel_tcg::{TcgConfig, TcgExit, TcgMachine};
use devices::irq::ExitRequest;

use super::{GuestExit, Machine, RunOptions};
use crate::error::VmmError;

/// Runs `machine` on the RISC-V emulator until it stops.
pub fn run(machine: Machine, opts: RunOptions) -> Result<GuestExit, VmmError> {
    let tcg_machine = TcgMachine {
        ram: machine.ram,
        mmio: machine.mmio,
        hart: machine.hart,
        clock: machine.clock,
        custom: machine.custom,
    };
    let config = TcgConfig {
        reset_pc: machine.reset_pc,
        boot_regs: machine.boot_regs,
        semihosting: opts.semihosting,
        console: opts.console,
        console_in: opts.console_in,
        jit: true,
        jit_threshold: accel_tcg::jit::DEFAULT_THRESHOLD,
    };
    let (exit, stats) = accel_tcg::run(tcg_machine, config)
        .map_err(|e| VmmError::GuestCrash(format!("TCG: {e}")))?;
    log::debug!("tcg: {stats:?}");
    Ok(match exit {
        TcgExit::Semihosting(code) => GuestExit::Semihosting(code),
        TcgExit::Request(ExitRequest::Poweroff(code)) => GuestExit::Poweroff(code),
        TcgExit::Request(ExitRequest::Reset) => GuestExit::Reset,
        TcgExit::Request(ExitRequest::HostStop) => GuestExit::HostStop,
    })
}
