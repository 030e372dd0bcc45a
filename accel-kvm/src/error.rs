//! Errors of the KVM accelerator.

/// Everything that can go wrong creating or running a KVM virtual machine.
#[derive(Debug, thiserror::Error)]
pub enum KvmError {
    /// `/dev/kvm` could not be opened (missing, no permission, not a KVM host).
    #[error("cannot use /dev/kvm: {0}")]
    Open(#[source] kvm_ioctls::Error),
    /// The kernel's KVM API version is not 12.
    #[error("unsupported KVM API version {0} (need 12)")]
    ApiVersion(i32),
    /// A capability the accelerator needs is missing.
    #[error("KVM lacks a required capability: {0}")]
    MissingCap(&'static str),
    /// An ioctl failed.
    #[error("KVM {what} failed: {err}")]
    Ioctl {
        /// Which operation.
        what: &'static str,
        /// The error the kernel returned.
        #[source]
        err: kvm_ioctls::Error,
    },
    /// Guest memory cannot be given to KVM.
    #[error("guest memory: {0}")]
    Memory(String),
    /// A CPU feature specification could not be parsed or applied.
    #[error("cpu features: {0}")]
    CpuFeatures(String),
    /// KVM stopped the vCPU with an internal error (e.g. an instruction its emulator cannot run).
    #[error("vCPU {cpu}: KVM internal error: {detail}")]
    Internal {
        /// The vCPU index.
        cpu: u32,
        /// Exit reason, suberror, instruction bytes and register state.
        detail: String,
    },
    /// VM entry failed (invalid guest state).
    #[error("vCPU {cpu}: VM entry failed, hardware reason {reason:#x}\n{regs}")]
    FailEntry {
        /// The vCPU index.
        cpu: u32,
        /// The hardware entry failure reason.
        reason: u64,
        /// Register state at the failure.
        regs: String,
    },
    /// An exit the accelerator does not handle.
    #[error("vCPU {cpu}: unhandled KVM exit {exit}\n{regs}")]
    UnhandledExit {
        /// The vCPU index.
        cpu: u32,
        /// The exit, as printed by kvm-ioctls.
        exit: String,
        /// Register state at the exit.
        regs: String,
    },
    /// A vCPU thread could not be started or panicked.
    #[error("vCPU thread: {0}")]
    Thread(String),
}

/// Wraps an ioctl error with the name of the operation.
pub(crate) fn ioctl(what: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> KvmError {
    move |err| KvmError::Ioctl { what, err }
}
