//! RISC-V RV64 system emulation (TCG): the CPU model the `vmm` runs G233 on when the host ISA differs.
//!
//! - [`decode`]: the single decoder (RV64GC, Zicsr, Zifencei, Zba/Zbb/Zbc/Zbs, Zicond, Zfa, Zcb,
//!   Zicbo*, custom instructions through [`devices::cpu_ext::CustomInsnHook`]).
//! - [`Cpu`]: hart state, privileged architecture (M/S/U, CSRs, traps, interrupts, PMP), Sv39/Sv48
//!   MMU with a softmmu TLB, and the tier-0 executor (pre-decoded blocks by physical address).
//! - [`run`]: the entry point the `vmm` calls.
//!
//! Design notes (tier 0, the reference the JIT is tested against):
//! - Blocks are cached by *physical* start address; decoding depends on nothing else (misa is
//!   fixed, custom instructions are claimed statically), so no mode bits are part of the key.
//!   A direct-mapped jump cache keyed by (virtual pc, fetch MMU index) sits in front of the map
//!   and is cleared whenever translation or PMP changes. Blocks end at control flow, CSR and
//!   system instructions, page ends, or 64 instructions.
//! - Stores reaching a page that holds translated code (those pages never get fast write tags)
//!   drop exactly the overlapping blocks and end the current block; `fence.i` drops everything.
//! - The softmmu TLB has one table per MMU index (U, S, S+SUM, M), so privilege, MPRV/MPP and
//!   SUM changes select a table instead of flushing; satp writes, `sfence.vma`, MXR and PMP
//!   writes flush all tables. PMP is checked when a translation is cached (pages that PMP does
//!   not treat uniformly are never cached) and on every slow-path access.
//! - Interrupts are evaluated before the next instruction after MMIO accesses, CSR writes,
//!   xRET and traps; the timer is polled every 4096 instructions (host clock) or exactly at the
//!   next compare value (icount). `wfi` sleeps on [`devices::HartInterrupts::wait`] until the
//!   next future timer deadline or a kick; in icount mode it skips guest time instead.

use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod block;
pub mod cpu;
pub mod csr;
pub mod decode;
mod exec;
pub mod fp;
pub mod fpu;
pub mod jit;
mod memory;
pub mod mmu;
mod page_filter;
mod pmp;
mod semihosting;
mod trap;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod program_tests;
#[cfg(test)]
mod testutil;

pub use block::RunExit;
pub use cpu::{Cpu, CpuError, Exc};
pub use decode::{decode, Insn, Op};

/// The machine the CPU runs in.
pub struct TcgMachine {
    /// Guest RAM regions (guest-physical).
    pub ram: vm_memory::GuestMemoryMmap,
    /// Everything else; an unmapped access is an access fault.
    pub mmio: Arc<devices::Bus>,
    /// The hart's interrupt inputs and exit request.
    pub hart: Arc<devices::HartInterrupts>,
    /// Guest time.
    pub clock: Arc<devices::clock::GuestClock>,
    /// Board-specific custom instructions.
    pub custom: Option<Box<dyn devices::cpu_ext::CustomInsnHook>>,
}

/// How to start the CPU.
pub struct TcgConfig {
    /// Reset pc (0x1004 on G233).
    pub reset_pc: u64,
    /// Initial x-registers (index, value), e.g. a0/a1/a2.
    pub boot_regs: Vec<(usize, u64)>,
    /// Whether the semihosting sequence is a host call.
    pub semihosting: bool,
    /// Semihosting output.
    pub console: Box<dyn std::io::Write + Send>,
    /// Semihosting input (SYS_READC, SYS_READ).
    pub console_in: Option<Box<dyn std::io::Read + Send>>,
    /// Whether hot code is compiled with Cranelift (`--jit on|off`; default on).
    pub jit: bool,
    /// Executions of a code region before it is compiled (`--jit-threshold`; default
    /// [`jit::DEFAULT_THRESHOLD`]).
    pub jit_threshold: u32,
    /// Whether warm blocks go to the baseline tier (`--jit-baseline`; x86-64 hosts).
    pub jit_baseline: jit::BaselineMode,
}

/// Why [`run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcgExit {
    /// The guest exited through semihosting with this code.
    Semihosting(i32),
    /// A device or the host asked to stop (`hart.request_exit`).
    Request(devices::irq::ExitRequest),
}

/// Execution statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TcgStats {
    /// Instructions retired.
    pub instret: u64,
    /// Blocks decoded.
    pub blocks_translated: u64,
    /// Host wall-clock time spent in [`run`].
    pub host_time: Duration,
    /// JIT counters (regions compiled, compile time, cache flushes, chained vs dispatched
    /// entries).
    pub jit: jit::JitStats,
}

impl TcgStats {
    /// Millions of instructions per host second.
    pub fn mips(&self) -> f64 {
        let s = self.host_time.as_secs_f64();
        if s > 0.0 {
            self.instret as f64 / s / 1e6
        } else {
            0.0
        }
    }
}

/// Host-side failures (guest misbehaviour is never an error: it is a trap).
#[derive(Debug, thiserror::Error)]
pub enum TcgError {
    /// The CPU could not be built from the machine description.
    #[error(transparent)]
    Cpu(#[from] CpuError),
    /// A boot register index is out of range.
    #[error("boot register x{0} does not exist")]
    BadBootReg(usize),
}

/// Builds the CPU for `machine` as `config` says.
pub fn build_cpu(machine: TcgMachine, config: TcgConfig) -> Result<Box<Cpu>, TcgError> {
    let mut cpu = Cpu::new(
        machine.ram,
        machine.mmio,
        machine.hart,
        machine.clock,
        machine.custom,
        config.reset_pc,
    )?;
    for &(r, v) in &config.boot_regs {
        if r == 0 || r >= 32 {
            return Err(TcgError::BadBootReg(r));
        }
        cpu.x[r] = v;
    }
    cpu.set_semihosting(config.semihosting, config.console, config.console_in);
    cpu.set_jit_baseline(config.jit_baseline);
    cpu.set_jit(jit::JitConfig {
        enabled: config.jit,
        threshold: config.jit_threshold.max(1),
        background: true,
    });
    Ok(cpu)
}

/// Runs the machine until the guest exits through semihosting or an exit is requested.
pub fn run(machine: TcgMachine, config: TcgConfig) -> Result<(TcgExit, TcgStats), TcgError> {
    let mut cpu = build_cpu(machine, config)?;
    let start = Instant::now();
    let exit = loop {
        match cpu.run_for(u64::MAX) {
            RunExit::Budget => continue,
            RunExit::Semihosting(c) => break TcgExit::Semihosting(c),
            RunExit::Request(r) => break TcgExit::Request(r),
        }
    };
    log::debug!(
        "tcg: stopped at pc={:#x} priv={} mcause={:#x} mepc={:#x} mtval={:#x} scause={:#x} sepc={:#x} satp={:#x}",
        cpu.pc,
        cpu.prv,
        cpu.mcause,
        cpu.mepc,
        cpu.mtval,
        cpu.scause,
        cpu.sepc,
        cpu.satp
    );
    let stats = TcgStats {
        instret: cpu.instret,
        blocks_translated: cpu.blocks_translated,
        host_time: start.elapsed(),
        jit: cpu.jit_stats(),
    };
    Ok((exit, stats))
}
