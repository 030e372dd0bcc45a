//! SIGINT/SIGTERM → a clean stop of the running VM.
//!
//! The handler only writes to an eventfd (async-signal-safe); a watcher thread reads it and calls
//! [`StopHandle::stop`] with [`ExitRequest::HostStop`].

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use devices::irq::ExitRequest;
use vmm_sys_util::eventfd::EventFd;

use crate::error::KvmError;
use crate::runner::StopHandle;

static SIGNAL_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_stop_signal(
    _sig: libc::c_int,
    _info: *mut libc::siginfo_t,
    _ctx: *mut libc::c_void,
) {
    let fd = SIGNAL_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: write(2) is async-signal-safe; `one` is a valid 8-byte buffer.
        unsafe { libc::write(fd, std::ptr::addr_of!(one).cast(), 8) };
    }
}

/// Makes SIGINT and SIGTERM stop the VM behind `handle` (run outcome `HostStop`).
///
/// Returns the watcher thread; it lives for the rest of the process.
pub fn stop_on_signals(handle: StopHandle) -> Result<std::thread::JoinHandle<()>, KvmError> {
    let evt = EventFd::new(libc::EFD_CLOEXEC).map_err(|e| KvmError::Thread(e.to_string()))?;
    let fd = evt.as_raw_fd();
    if SIGNAL_FD
        .compare_exchange(-1, fd, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return Err(KvmError::Thread(
            "stop signals are already routed to another VM".into(),
        ));
    }
    for sig in [libc::SIGINT, libc::SIGTERM] {
        install(sig)?;
    }
    std::thread::Builder::new()
        .name("stop-signals".into())
        .spawn(move || {
            while evt.read().is_ok() {
                handle.stop(ExitRequest::HostStop);
            }
        })
        .map_err(|e| KvmError::Thread(e.to_string()))
}

fn install(sig: libc::c_int) -> Result<(), KvmError> {
    // SAFETY: a zeroed sigaction is valid; we fill the handler, flags and mask before use.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = on_stop_signal as *const () as usize;
    act.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
    // SAFETY: `act.sa_mask` is a valid sigset_t to initialise; `act` is fully initialised and
    // the handler only performs async-signal-safe work.
    let rc = unsafe {
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(sig, &act, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(KvmError::Thread(format!(
            "sigaction({sig}): {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}
