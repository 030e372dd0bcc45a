//! Kicking vCPU threads out of `KVM_RUN`: `immediate_exit` plus a real-time signal.
//!
//! Each vCPU thread publishes its `kvm_run` pointer in a thread-local before entering the run
//! loop. The kick signal's handler sets `immediate_exit` through that pointer, so a kick that
//! arrives just before `KVM_RUN` makes it return at once with `EINTR`, and one that arrives
//! during `KVM_RUN` interrupts it.

use std::cell::Cell;
use std::sync::{Arc, Mutex, Once};

use devices::bus::lock;
use kvm_bindings::kvm_run;

thread_local! {
    static KICK_RUN: Cell<*mut kvm_run> = const { Cell::new(std::ptr::null_mut()) };
}

/// The signal used to kick vCPU threads (`SIGRTMIN + 1`).
pub fn kick_signal() -> libc::c_int {
    vmm_sys_util::signal::SIGRTMIN() + 1
}

extern "C" fn on_kick(_sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let run = KICK_RUN.with(|c| c.get());
    if !run.is_null() {
        // SAFETY: the pointer was published by this very thread (signals sent with pthread_kill
        // are delivered to the target thread) and points to its vCPU's kvm_run mapping, which
        // outlives the period during which the pointer is published (see `RunPointerGuard`).
        unsafe { std::ptr::addr_of_mut!((*run).immediate_exit).write_volatile(1) };
    }
}

static INSTALL: Once = Once::new();

/// Installs the kick signal handler (idempotent).
pub fn install_handler() -> Result<(), crate::KvmError> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        result = vmm_sys_util::signal::register_signal_handler(kick_signal(), on_kick)
            .map_err(crate::error::ioctl("register kick signal handler"));
    });
    result
}

/// Publishes `run` as this thread's kick target until dropped.
pub(crate) struct RunPointerGuard;

impl RunPointerGuard {
    /// Publishes `run` for the kick handler of the current thread.
    pub(crate) fn new(run: *mut kvm_run) -> Self {
        KICK_RUN.with(|c| c.set(run));
        RunPointerGuard
    }
}

impl Drop for RunPointerGuard {
    fn drop(&mut self) {
        KICK_RUN.with(|c| c.set(std::ptr::null_mut()));
    }
}

/// The set of running vCPU threads that a kick reaches. Cheap to clone.
#[derive(Clone, Default)]
pub struct Kicker {
    threads: Arc<Mutex<Vec<(u32, libc::pthread_t)>>>,
}

impl Kicker {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the calling thread as vCPU `id` until the returned guard is dropped.
    pub fn register(&self, id: u32) -> KickRegistration {
        // SAFETY: pthread_self has no preconditions.
        let tid = unsafe { libc::pthread_self() };
        lock(&self.threads).push((id, tid));
        KickRegistration {
            kicker: self.clone(),
            id,
        }
    }

    /// Kicks every registered vCPU thread out of `KVM_RUN`.
    pub fn kick_all(&self) {
        // Without the handler the signal's default action would terminate the process.
        if let Err(e) = install_handler() {
            log::warn!("cannot kick vCPUs: {e}");
            return;
        }
        let threads = lock(&self.threads);
        for &(_, tid) in threads.iter() {
            // SAFETY: the thread is registered, and it unregisters (under this lock) before it
            // exits, so `tid` names a live thread.
            unsafe { libc::pthread_kill(tid, kick_signal()) };
        }
    }

    /// How many vCPU threads are registered.
    pub fn len(&self) -> usize {
        lock(&self.threads).len()
    }

    /// Whether no vCPU thread is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps a thread registered with a [`Kicker`]; unregisters on drop.
pub struct KickRegistration {
    kicker: Kicker,
    id: u32,
}

impl Drop for KickRegistration {
    fn drop(&mut self) {
        lock(&self.kicker.threads).retain(|&(i, _)| i != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_is_scoped() {
        let k = Kicker::new();
        assert!(k.is_empty());
        {
            let _r = k.register(3);
            assert_eq!(k.len(), 1);
            k.kick_all(); // no run pointer published: the handler must do nothing harmful
        }
        assert!(k.is_empty());
    }

    #[test]
    fn handler_sets_immediate_exit_of_the_published_run() {
        install_handler().unwrap();
        // SAFETY: kvm_run is plain old data; all-zero is a valid value.
        let mut run: Box<kvm_run> = Box::new(unsafe { std::mem::zeroed() });
        let k = Kicker::new();
        {
            let _g = RunPointerGuard::new(&mut *run);
            let _r = k.register(0);
            k.kick_all();
        }
        assert_eq!(run.immediate_exit, 1);
    }
}
