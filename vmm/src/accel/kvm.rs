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
}
