//! The TCG accelerator: hands the machine to `accel-tcg` and translates how it ended.

use accel_tcg::{TcgConfig, TcgExit, TcgMachine};
use devices::irq::ExitRequest;

use super::{GuestExit, Machine, RunOptions};
use crate::error::VmmError;

/// Runs `machine` on the RISC-V emulator until it stops.
pub fn run(machine: Machine, opts: RunOptions) -> Result<GuestExit, VmmError> {
    let (opts_verbose, jit) = (opts.verbose, opts.jit);
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
        jit: opts.jit,
        jit_threshold: opts.jit_threshold,
        jit_baseline: opts.jit_baseline,
    };
    let (exit, stats) = accel_tcg::run(tcg_machine, config)
        .map_err(|e| VmmError::GuestCrash(format!("TCG: {e}")))?;
    log::debug!("tcg: {stats:?}");
    if opts_verbose > 0 {
        let j = &stats.jit;
        eprintln!(
            "vmm: tcg: {} instructions in {:.3}s ({:.0} MIPS), {} blocks decoded",
            stats.instret,
            stats.host_time.as_secs_f64(),
            stats.mips(),
            stats.blocks_translated
        );
        if jit {
            eprintln!(
                "vmm: jit: {} baseline blocks ({} instructions), \
                 {} regions compiled ({} instructions, {} failed, {} recompiled optimised, \
                 {} requests dropped) \
                 in {:.3}s, {} cache \
                 flushes, {} invalidations, {} chained vs {} dispatched entries, {} instructions \
                 ({:.1}%) run translated",
                j.baseline_blocks,
                j.baseline_insns,
                j.regions_compiled,
                j.insns_compiled,
                j.compile_failures,
                j.upgrades,
                j.compiles_dropped,
                j.compile_time.as_secs_f64(),
                j.cache_flushes,
                j.invalidations,
                j.chained_exits,
                j.dispatched_entries,
                j.jit_insns,
                100.0 * j.jit_insns as f64 / stats.instret.max(1) as f64
            );
        }
    }
    Ok(match exit {
        TcgExit::Semihosting(code) => GuestExit::Semihosting(code),
        TcgExit::Request(ExitRequest::Poweroff(code)) => GuestExit::Poweroff(code),
        TcgExit::Request(ExitRequest::Reset) => GuestExit::Reset,
        TcgExit::Request(ExitRequest::HostStop) => GuestExit::HostStop,
    })
}
