//! One vCPU and its `KVM_RUN` exit loop, dispatching MMIO and port I/O to the shared buses.

use std::collections::HashSet;
use std::sync::Arc;

use devices::irq::ExitRequest;
use devices::{Bus, HartInterrupts};
use kvm_ioctls::{VcpuExit, VcpuFd};
use vm_memory::GuestMemoryMmap;

use crate::error::KvmError;
use crate::kick::RunPointerGuard;

/// What a vCPU's exits are dispatched to, shared by every vCPU of a VM.
#[derive(Clone)]
pub struct VcpuIo {
    /// The MMIO bus.
    pub mmio: Arc<Bus>,
    /// The port I/O bus (x86 only; `None` elsewhere).
    pub pio: Option<Arc<Bus>>,
    /// The stop flag: devices (reset, poweroff) and the host (signals) request an exit here.
    pub stop: Arc<HartInterrupts>,
}

/// Why a vCPU's run loop returned without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VcpuStop {
    /// An exit was requested through the stop flag (poweroff, reset, host stop).
    Requested(ExitRequest),
    /// The guest asked for a reset (x86 triple fault, `KVM_SYSTEM_EVENT_RESET`).
    Reset,
    /// The guest powered off (`KVM_SYSTEM_EVENT_SHUTDOWN`).
    Poweroff,
    /// The vCPU halted with no in-kernel interrupt controller to wake it.
    Halted,
}

static FIRST_RUN: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();

/// When the first `KVM_RUN` of this process was issued (for start-up measurements).
pub fn first_kvm_run() -> Option<std::time::SystemTime> {
    FIRST_RUN.get().copied()
}

/// At most this many distinct unmapped addresses are logged per vCPU.
const UNMAPPED_LOG_LIMIT: usize = 64;

/// A KVM vCPU.
pub struct KvmVcpu {
    id: u32,
    pub(crate) fd: VcpuFd,
    unmapped: HashSet<(bool, u64)>,
    pub(crate) mem: GuestMemoryMmap,
    #[cfg(target_arch = "riscv64")]
    pub(crate) riscv: crate::riscv64::RiscvVcpuState,
}

/// What to do after an exit, decided while the exit borrows the vCPU.
enum Next {
    Continue,
    Stop(VcpuStop),
    Interrupted,
    Unmapped {
        pio: bool,
        addr: u64,
    },
    InternalError,
    FailEntry(u64),
    Unhandled(String),
    #[cfg(target_arch = "riscv64")]
    Sbi,
}

impl KvmVcpu {
    pub(crate) fn new(id: u32, fd: VcpuFd, mem: GuestMemoryMmap) -> Self {
        KvmVcpu {
            id,
            fd,
            unmapped: HashSet::new(),
            mem,
            #[cfg(target_arch = "riscv64")]
            riscv: Default::default(),
        }
    }

    /// This vCPU's index.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The vCPU file descriptor, for operations this crate does not wrap.
    pub fn fd(&self) -> &VcpuFd {
        &self.fd
    }

    /// Runs the guest until it stops or an exit is requested through `io.stop`.
    ///
    /// Must run on the thread that a [`crate::Kicker`] registration names, so kicks reach it;
    /// [`crate::start`] does that.
    pub fn run(&mut self, io: &VcpuIo) -> Result<VcpuStop, KvmError> {
        crate::kick::install_handler()?;
        let _published = RunPointerGuard::new(self.fd.get_kvm_run());
        FIRST_RUN.get_or_init(std::time::SystemTime::now);
        loop {
            if let Some(req) = io.stop.exit_request() {
                return Ok(VcpuStop::Requested(req));
            }
            #[cfg(target_arch = "riscv64")]
            self.riscv_sync_interrupts(io)?;
            match self.step(io) {
                Next::Continue => {}
                Next::Stop(s) => return Ok(s),
                Next::Interrupted => self.fd.set_kvm_immediate_exit(0),
                Next::Unmapped { pio, addr } => self.log_unmapped(pio, addr),
                Next::InternalError => return Err(self.internal_error()),
                Next::FailEntry(reason) => {
                    return Err(KvmError::FailEntry {
                        cpu: self.id,
                        reason,
                        regs: self.dump_regs(),
                    })
                }
                Next::Unhandled(exit) => {
                    return Err(KvmError::UnhandledExit {
                        cpu: self.id,
                        exit,
                        regs: self.dump_regs(),
                    })
                }
                #[cfg(target_arch = "riscv64")]
                Next::Sbi => {
                    if let Some(stop) = self.handle_sbi(io)? {
                        return Ok(stop);
                    }
                }
            }
        }
    }

    /// One `KVM_RUN` and the dispatch of its exit.
    fn step(&mut self, io: &VcpuIo) -> Next {
        let exit = match self.fd.run() {
            Ok(e) => e,
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                return Next::Interrupted
            }
            Err(e) => return Next::Unhandled(format!("KVM_RUN error: {e}")),
        };
        match exit {
            VcpuExit::IoOut(port, data) => match &io.pio {
                Some(bus) => match bus.write(u64::from(port), data) {
                    Ok(()) => Next::Continue,
                    Err(_) => Next::Unmapped {
                        pio: true,
                        addr: u64::from(port),
                    },
                },
                None => Next::Continue,
            },
            VcpuExit::IoIn(port, data) => {
                let ok = io
                    .pio
                    .as_ref()
                    .is_some_and(|bus| bus.read(u64::from(port), data).is_ok());
                if ok {
                    Next::Continue
                } else {
                    // No device: the ISA bus floats high.
                    data.fill(0xff);
                    Next::Unmapped {
                        pio: true,
                        addr: u64::from(port),
                    }
                }
            }
            VcpuExit::MmioRead(addr, data) => {
                if io.mmio.read(addr, data).is_ok() {
                    Next::Continue
                } else {
                    data.fill(0);
                    Next::Unmapped { pio: false, addr }
                }
            }
            VcpuExit::MmioWrite(addr, data) => match io.mmio.write(addr, data) {
                Ok(()) => Next::Continue,
                Err(_) => Next::Unmapped { pio: false, addr },
            },
            VcpuExit::Hlt => Next::Stop(VcpuStop::Halted),
            VcpuExit::Shutdown => Next::Stop(VcpuStop::Reset),
            VcpuExit::SystemEvent(kind, _) => match kind {
                kvm_bindings::KVM_SYSTEM_EVENT_RESET => Next::Stop(VcpuStop::Reset),
                kvm_bindings::KVM_SYSTEM_EVENT_SHUTDOWN => Next::Stop(VcpuStop::Poweroff),
                k => Next::Unhandled(format!("system event {k}")),
            },
            VcpuExit::Intr => Next::Interrupted,
            VcpuExit::InternalError => Next::InternalError,
            VcpuExit::FailEntry(reason, _) => Next::FailEntry(reason),
            #[cfg(target_arch = "riscv64")]
            VcpuExit::Unsupported(crate::riscv64::KVM_EXIT_RISCV_SBI) => Next::Sbi,
            other => Next::Unhandled(format!("{other:?}")),
        }
    }

    fn log_unmapped(&mut self, pio: bool, addr: u64) {
        if self.unmapped.len() < UNMAPPED_LOG_LIMIT && self.unmapped.insert((pio, addr)) {
            let space = if pio { "I/O port" } else { "MMIO address" };
            log::warn!(
                "vCPU {}: access to unmapped {space} {addr:#x} ignored (logged once)",
                self.id
            );
        }
    }

    /// The internal-error exit as a readable error: suberror, instruction bytes, registers.
    fn internal_error(&mut self) -> KvmError {
        let run = self.fd.get_kvm_run();
        // SAFETY: the exit reason is KVM_EXIT_INTERNAL_ERROR, so the kernel filled `internal`;
        // `emulation_failure` overlays it with the same leading fields.
        let (suberror, ndata, data, emu) = unsafe {
            let i = run.__bindgen_anon_1.internal;
            (
                i.suberror,
                i.ndata,
                i.data,
                run.__bindgen_anon_1.emulation_failure,
            )
        };
        let mut detail = format!(
            "exit reason KVM_EXIT_INTERNAL_ERROR (17), suberror {suberror} ({})",
            suberror_name(suberror)
        );
        let n = (ndata as usize).min(data.len());
        if n > 0 {
            let words: Vec<String> = data[..n].iter().map(|d| format!("{d:#x}")).collect();
            detail.push_str(&format!(", data [{}]", words.join(", ")));
        }
        // KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES
        let mut insn: Vec<u8> = Vec::new();
        if suberror == 1 && emu.flags & 1 != 0 {
            // SAFETY: the flag says the kernel filled the instruction bytes.
            let b = unsafe { emu.__bindgen_anon_1.__bindgen_anon_1 };
            let len = usize::from(b.insn_size).min(b.insn_bytes.len());
            insn.extend_from_slice(&b.insn_bytes[..len]);
        }
        if insn.is_empty() {
            insn = self.fetch_insn_bytes();
        }
        if !insn.is_empty() {
            let hex: Vec<String> = insn.iter().map(|b| format!("{b:02x}")).collect();
            detail.push_str(&format!(", instruction bytes {}", hex.join(" ")));
        }
        detail.push('\n');
        detail.push_str(&self.dump_regs());
        KvmError::Internal {
            cpu: self.id,
            detail,
        }
    }
}

/// Names of `KVM_INTERNAL_ERROR_*` suberrors.
pub fn suberror_name(s: u32) -> &'static str {
    match s {
        1 => "emulation failure: KVM cannot emulate this instruction",
        2 => "simultaneous exceptions",
        3 => "delivery event exit",
        4 => "unexpected exit reason",
        _ => "unknown",
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "riscv64")))]
impl KvmVcpu {
    fn dump_regs(&self) -> String {
        String::from("(register dump not supported on this host)")
    }
    fn fetch_insn_bytes(&self) -> Vec<u8> {
        Vec::new()
    }
}
