//! Running a VM: one thread per vCPU, a stop handle that kicks them, and the run's outcome.

use std::sync::Arc;
use std::thread::JoinHandle;

use devices::irq::ExitRequest;
use devices::HartInterrupts;

use crate::error::KvmError;
use crate::kick::Kicker;
use crate::vcpu::{KvmVcpu, VcpuIo, VcpuStop};

/// How a run ended.
///
/// Documented exit statuses ([`RunOutcome::exit_code`]): a poweroff with code `n` → `n`; a guest
/// reset (i8042 reset command, triple fault, SBI/PSCI reset) → 0; a stop asked by the host
/// (SIGINT/SIGTERM, timeout) → 130; a vCPU halted with nothing to wake it → 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// The guest powered off with this status.
    Poweroff(i32),
    /// The guest reset the machine.
    Reset,
    /// The host stopped the run.
    HostStop,
    /// The (only) vCPU halted with no interrupt controller to wake it.
    Halted,
}

impl RunOutcome {
    /// The process exit status the `vmm` reports for this outcome.
    pub fn exit_code(self) -> i32 {
        match self {
            RunOutcome::Poweroff(c) => c,
            RunOutcome::Reset | RunOutcome::Halted => 0,
            RunOutcome::HostStop => 130,
        }
    }
}

impl From<ExitRequest> for RunOutcome {
    fn from(r: ExitRequest) -> Self {
        match r {
            ExitRequest::Poweroff(c) => RunOutcome::Poweroff(c),
            ExitRequest::Reset => RunOutcome::Reset,
            ExitRequest::HostStop => RunOutcome::HostStop,
        }
    }
}

/// Stops a running VM from any thread: records the reason and kicks every vCPU out of KVM_RUN.
#[derive(Clone)]
pub struct StopHandle {
    stop: Arc<HartInterrupts>,
    kicker: Kicker,
}

impl StopHandle {
    /// Asks every vCPU to stop (the first reason recorded wins).
    pub fn stop(&self, why: ExitRequest) {
        self.stop.request_exit(why);
        self.kicker.kick_all();
    }

    /// Kicks every vCPU out of KVM_RUN without stopping them (they re-check their inputs).
    pub fn kick(&self) {
        self.kicker.kick_all();
    }
}

/// A VM whose vCPUs run on their own threads.
pub struct RunningVm {
    threads: Vec<JoinHandle<Result<VcpuStop, KvmError>>>,
    handle: StopHandle,
    watcher: Option<JoinHandle<()>>,
}

/// Kicks the vCPUs whenever a device changes their interrupt inputs (riscv64: the userspace
/// PLIC drives `KVM_INTERRUPT`, which only the vCPU thread can issue), until the run ends.
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
fn spawn_interrupt_watcher(handle: StopHandle) -> Result<JoinHandle<()>, KvmError> {
    std::thread::Builder::new()
        .name("vcpu-irq-watch".into())
        .spawn(move || loop {
            if handle.stop.exit_request().is_some() {
                break;
            }
            handle.stop.wait(Some(std::time::Duration::from_millis(50)));
            if handle.stop.needs_attention() {
                handle.kicker.kick_all();
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
        .map_err(|e| KvmError::Thread(e.to_string()))
}

/// Starts one thread per vCPU, each running [`KvmVcpu::run`] on `io`.
pub fn start(vcpus: Vec<KvmVcpu>, io: VcpuIo) -> Result<RunningVm, KvmError> {
    crate::kick::install_handler()?;
    let handle = StopHandle {
        stop: io.stop.clone(),
        kicker: Kicker::new(),
    };
    let mut threads = Vec::new();
    for mut vcpu in vcpus {
        let io = io.clone();
        let h = handle.clone();
        let t = std::thread::Builder::new()
            .name(format!("vcpu{}", vcpu.id()))
            .spawn(move || {
                let result = {
                    let _reg = h.kicker.register(vcpu.id());
                    vcpu.run(&io)
                };
                // Whatever ended this vCPU ends the others.
                let why = match &result {
                    Ok(VcpuStop::Requested(r)) => *r,
                    Ok(VcpuStop::Poweroff) => ExitRequest::Poweroff(0),
                    Ok(VcpuStop::Reset) => ExitRequest::Reset,
                    Ok(VcpuStop::Halted) | Err(_) => ExitRequest::HostStop,
                };
                h.stop(why);
                result
            })
            .map_err(|e| KvmError::Thread(e.to_string()));
        match t {
            Ok(t) => threads.push(t),
            Err(e) => {
                handle.stop(ExitRequest::HostStop);
                for t in threads {
                    let _ = t.join();
                }
                return Err(e);
            }
        }
    }
    #[cfg(target_arch = "riscv64")]
    let watcher = Some(spawn_interrupt_watcher(handle.clone())?);
    #[cfg(not(target_arch = "riscv64"))]
    let watcher = None;
    Ok(RunningVm {
        threads,
        handle,
        watcher,
    })
}

impl RunningVm {
    /// A handle that stops this VM from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.handle.clone()
    }

    /// Waits for every vCPU to stop; the first vCPU error, else the recorded reason.
    pub fn wait(self) -> Result<RunOutcome, KvmError> {
        let mut first_err = None;
        let mut halted = false;
        let mut outcome = None;
        for t in self.threads {
            match t.join() {
                Ok(Ok(VcpuStop::Halted)) => halted = true,
                Ok(Ok(VcpuStop::Requested(r))) => {
                    outcome.get_or_insert(RunOutcome::from(r));
                }
                Ok(Ok(VcpuStop::Reset)) => {
                    outcome.get_or_insert(RunOutcome::Reset);
                }
                Ok(Ok(VcpuStop::Poweroff)) => {
                    outcome.get_or_insert(RunOutcome::Poweroff(0));
                }
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(KvmError::Thread("a vCPU thread panicked".into()));
                }
            }
        }
        if let Some(w) = self.watcher {
            let _ = w.join();
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        if halted {
            return Ok(RunOutcome::Halted);
        }
        // The recorded request is authoritative (a device may have asked first).
        Ok(self
            .handle
            .stop
            .exit_request()
            .map(RunOutcome::from)
            .or(outcome)
            .unwrap_or(RunOutcome::HostStop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_as_documented() {
        assert_eq!(RunOutcome::Poweroff(7).exit_code(), 7);
        assert_eq!(RunOutcome::Reset.exit_code(), 0);
        assert_eq!(RunOutcome::HostStop.exit_code(), 130);
        assert_eq!(RunOutcome::from(ExitRequest::Reset), RunOutcome::Reset);
        assert_eq!(
            RunOutcome::from(ExitRequest::Poweroff(3)),
            RunOutcome::Poweroff(3)
        );
    }
}
