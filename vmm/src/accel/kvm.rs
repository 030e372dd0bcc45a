//! The KVM accelerator: probing `/dev/kvm`, and the run entry point.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use super::{GuestExit, Machine, RunOptions};
use crate::error::VmmError;

/// `KVM_GET_API_VERSION` = `_IO(KVMIO, 0x00)`.
const KVM_GET_API_VERSION: libc::c_ulong = 0xAE00;
/// The only KVM API version there has ever been.
const KVM_API_VERSION: i32 = 12;

/// Opens `/dev/kvm` and checks its API version; `Ok(version)` when KVM works, else why not.
pub fn probe() -> Result<i32, String> {
    let kvm = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/kvm")
        .map_err(|e| format!("cannot open /dev/kvm: {e}"))?;
    // SAFETY: KVM_GET_API_VERSION takes no argument and only returns a number.
    let version = unsafe { libc::ioctl(kvm.as_raw_fd(), KVM_GET_API_VERSION as _, 0) };
    if version < 0 {
        return Err(format!(
            "KVM_GET_API_VERSION on /dev/kvm failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    if version != KVM_API_VERSION {
        return Err(format!(
            "/dev/kvm reports API version {version}, not {KVM_API_VERSION}"
        ));
    }
    Ok(version)
}

/// Runs `machine` under KVM.
///
/// Not built yet: the KVM run loop lives in `accel-kvm` and is being written; until then this
/// reports that clearly instead of pretending.
pub fn run(machine: Machine, _opts: RunOptions) -> Result<GuestExit, VmmError> {
    Err(VmmError::Accel(format!(
        "the KVM backend for board {} ({}) is not built yet; use --accel tcg",
        machine.board, machine.isa
    )))
}

#[cfg(target_arch = "x86_64")]
pub use x86::run_microvm;

/// The x86_64 path: the microvm board under KVM.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::sync::Arc;
    use std::time::Duration;

    use accel_kvm::x86::{CpuFeatureMask, X86VcpuConfig};
    use accel_kvm::{IoEventSpace, KvmError, KvmVm, RunOutcome, StopHandle, VcpuIo};
    use boards::x86::MicroVm;
    use devices::HartInterrupts;
    use vm_memory::GuestMemoryMmap;

    use crate::accel::GuestExit;
    use crate::error::VmmError;

    fn setup_err(e: KvmError) -> VmmError {
        VmmError::Accel(format!(
            "KVM set-up failed: {e}; check that /dev/kvm works (vmm accels) and that the host \
             has the resources (memory, file descriptors)"
        ))
    }

    /// A KVM run error as `(one line, register dump)`: the line names the exit reason,
    /// suberror, instruction bytes and `rip`; the dump holds the full register state.
    pub fn crash_message(e: &KvmError) -> (String, String) {
        let text = e.to_string();
        let mut lines = text.lines();
        let mut first = lines.next().unwrap_or_default().trim().to_string();
        let regs: Vec<&str> = lines.collect();
        let rip = regs
            .iter()
            .flat_map(|l| l.split_whitespace())
            .find(|w| w.starts_with("rip="));
        if let Some(rip) = rip {
            first.push_str(&format!(", {rip}"));
        }
        (first, regs.join("\n"))
    }

    /// Forwards a stop requested on the board's stop flag (host signal, --timeout, Ctrl-A x)
    /// to the vCPUs: they may sit in `KVM_RUN` (a halted guest waits in the kernel), so they
    /// must be kicked, which the flag alone does not do.
    fn spawn_stop_bridge(
        stop: Arc<HartInterrupts>,
        handle: StopHandle,
    ) -> Result<std::thread::JoinHandle<()>, VmmError> {
        std::thread::Builder::new()
            .name("kvm-stop".into())
            .spawn(move || loop {
                if let Some(why) = stop.exit_request() {
                    handle.stop(why);
                    return;
                }
                // Returns at once when a request (which also kicks) came since the last turn.
                stop.wait(Some(Duration::from_millis(200)));
                stop.take_attention();
            })
            .map_err(|e| VmmError::Accel(format!("cannot start the KVM stop thread: {e}")))
    }

    /// Runs the microvm `board` (built in `mem`) under KVM with one vCPU until it powers off,
    /// resets, is stopped by the host, or crashes the VM (`VmmError::GuestCrash`, status 3).
    pub fn run_microvm(
        board: &MicroVm,
        mem: &GuestMemoryMmap,
        features: &CpuFeatureMask,
        verbose: u8,
    ) -> Result<GuestExit, VmmError> {
        let mut vm = KvmVm::new(mem).map_err(setup_err)?;
        vm.create_x86_irqchip().map_err(setup_err)?;
        for (fd, gsi) in board.irqfds() {
            vm.register_irqfd(fd, gsi).map_err(setup_err)?;
        }
        for ev in board.ioeventfds() {
            vm.register_ioeventfd(ev.fd, IoEventSpace::Mmio(ev.addr), Some(ev.datamatch))
                .map_err(setup_err)?;
        }
        let vcpu = vm.create_vcpu().map_err(setup_err)?;
        vcpu.setup_x86(
            &vm,
            &X86VcpuConfig {
                entry: board.entry(),
                cpu_count: 1,
                features,
            },
        )
        .map_err(setup_err)?;
        let io = board
            .start_io(None)
            .map_err(|e| VmmError::Board(format!("microvm I/O thread: {e}")))?;
        let running = accel_kvm::start(
            vec![vcpu],
            VcpuIo {
                mmio: board.mmio.clone(),
                pio: Some(board.pio.clone()),
                stop: board.stop.clone(),
            },
        )
        .map_err(setup_err)?;
        let bridge = spawn_stop_bridge(board.stop.clone(), running.stop_handle());
        let outcome = running.wait();
        // Every way the vCPUs end records a request on the flag, which ends the bridge.
        board.stop.request_exit(devices::irq::ExitRequest::HostStop);
        io.stop();
        if let Ok(b) = bridge {
            let _ = b.join();
        }
        match outcome {
            Ok(RunOutcome::Poweroff(code)) => Ok(GuestExit::Poweroff(code)),
            Ok(RunOutcome::Reset) => Ok(GuestExit::Reset),
            Ok(RunOutcome::HostStop) => Ok(GuestExit::HostStop),
            Ok(RunOutcome::Halted) => {
                log::info!("the vCPU halted with nothing to wake it: treated as a poweroff");
                Ok(GuestExit::Poweroff(0))
            }
            Err(
                e @ (KvmError::Internal { .. }
                | KvmError::FailEntry { .. }
                | KvmError::UnhandledExit { .. }),
            ) => {
                let (line, regs) = crash_message(&e);
                if verbose > 0 {
                    for l in regs.lines() {
                        eprintln!("vmm: registers: {l}");
                    }
                }
                Err(VmmError::GuestCrash(line))
            }
            Err(e) => Err(VmmError::Accel(format!("KVM: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_agrees_with_dev_kvm() {
        let opens = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
        match probe() {
            Ok(v) => {
                assert!(opens);
                assert_eq!(v, KVM_API_VERSION);
            }
            Err(why) => assert!(why.contains("/dev/kvm"), "{why}"),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn crash_is_one_line_with_rip_and_the_registers_apart() {
        let e = accel_kvm::KvmError::Internal {
            cpu: 0,
            detail: "exit reason KVM_EXIT_INTERNAL_ERROR (17), suberror 1 (emulation failure), \
                     instruction bytes f3 48 0f b8 d8\nrip=0x0000000000100010 rflags=0x2\n\
                     rax=0x0000000000000001 rbx=0x0"
                .into(),
        };
        let (line, regs) = x86::crash_message(&e);
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.starts_with("vCPU 0: KVM internal error: exit reason"),
            "{line}"
        );
        assert!(line.contains("suberror 1"), "{line}");
        assert!(line.contains("instruction bytes f3 48 0f b8 d8"), "{line}");
        assert!(line.ends_with(", rip=0x0000000000100010"), "{line}");
        assert!(regs.contains("rax=0x0000000000000001"), "{regs}");
        let e = accel_kvm::KvmError::FailEntry {
            cpu: 0,
            reason: 0x21,
            regs: "rip=0x0000000000001000 rflags=0x2".into(),
        };
        let (line, _) = x86::crash_message(&e);
        assert_eq!(
            line,
            "vCPU 0: VM entry failed, hardware reason 0x21, rip=0x0000000000001000"
        );
    }
}
