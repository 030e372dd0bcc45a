//! KVM accelerator: VM and vCPUs through `/dev/kvm`, dispatching exits to the shared buses.
//!
//! The accelerator knows nothing of a board's devices: it takes guest memory
//! (`&GuestMemoryMmap`, one memslot per region), the MMIO and PIO [`devices::Bus`]es, and a stop
//! flag ([`devices::HartInterrupts`]). Per-ISA set-up lives in [`x86`] (x86_64 hosts) and
//! `riscv64` (riscv64 hosts).
//!
//! Typical use (x86): [`KvmVm::new`], [`KvmVm::create_x86_irqchip`], register the board's
//! irqfds and ioeventfds, [`KvmVm::create_vcpu`] + [`KvmVcpu::setup_x86`], then [`start`] and
//! [`RunningVm::wait`].

mod error;
pub mod kick;
mod runner;
pub mod signals;
mod vcpu;
mod vm;

#[cfg(target_arch = "riscv64")]
pub mod riscv64;
#[cfg(target_arch = "x86_64")]
pub mod x86;

pub use error::KvmError;
pub use kick::Kicker;
pub use runner::{start, RunOutcome, RunningVm, StopHandle};
pub use vcpu::{first_kvm_run, suberror_name, KvmVcpu, VcpuIo, VcpuStop};
pub use vm::{probe, IoEventSpace, KvmVm};
