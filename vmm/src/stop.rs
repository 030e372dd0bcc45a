//! Host-side reasons to stop the guest: SIGINT/SIGTERM/SIGHUP, `--timeout`, and Ctrl-A x.
//!
//! Signals are blocked in every thread (the mask is set before any thread starts and inherited)
//! and received by one thread with `sigwait`, so no code runs in signal context. The first stop
//! asks the hart to exit (`ExitRequest::HostStop`); the main thread then flushes the board and
//! exits with the status of [`StopReason::exit_code`]. A second signal exits at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use devices::bus::lock;
use devices::irq::ExitRequest;
use devices::HartInterrupts;

use crate::error::{EXIT_SIGNAL_BASE, EXIT_TIMEOUT};

/// Why the host stopped the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A signal arrived.
    Signal(i32),
    /// `--timeout` expired.
    Timeout(Duration),
    /// The user typed Ctrl-A x on the console.
    UserQuit,
}

impl StopReason {
    /// The process exit status for this stop.
    pub fn exit_code(self) -> i32 {
        match self {
            StopReason::Signal(n) => EXIT_SIGNAL_BASE + n,
            StopReason::Timeout(_) => EXIT_TIMEOUT,
            StopReason::UserQuit => 0,
        }
    }
}

/// Shared stop state: the first reason wins and is forwarded to the hart once there is one.
#[derive(Debug, Default)]
pub struct StopState {
    reason: Mutex<Option<StopReason>>,
    hart: Mutex<Option<Arc<HartInterrupts>>>,
}

impl StopState {
    /// No stop requested yet, no hart attached.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Attaches the hart to stop; if a stop came earlier, asks it to exit now.
    pub fn attach(&self, hart: Arc<HartInterrupts>) {
        *lock(&self.hart) = Some(hart.clone());
        // `stop` records the reason before looking for the hart, and this looks for a reason
        // after recording the hart, so a racing stop is forwarded by one side or both.
        if self.reason().is_some() {
            hart.request_exit(ExitRequest::HostStop);
        }
    }

    /// Requests a stop; returns false if one was already requested (the first reason wins).
    pub fn stop(&self, why: StopReason) -> bool {
        {
            let mut r = lock(&self.reason);
            if r.is_some() {
                return false;
            }
            *r = Some(why);
        }
        if let Some(h) = lock(&self.hart).as_ref() {
            h.request_exit(ExitRequest::HostStop);
        }
        true
    }

    /// The stop reason, if any.
    pub fn reason(&self) -> Option<StopReason> {
        *lock(&self.reason)
    }
}

/// The signals that stop the guest.
const STOP_SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

fn stop_sigset() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in STOP_SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Blocks the stop signals in the calling thread; threads started afterwards inherit the mask.
/// Call first thing in `main`.
pub fn block_signals() -> std::io::Result<()> {
    let set = stop_sigset();
    // SAFETY: `set` is initialised; the old mask is not needed.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(std::io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// Starts the thread that receives stop signals. On the first, `state.stop`; on a second,
/// `on_second(signal)` (expected to restore the terminal and exit the process).
pub fn spawn_signal_thread(
    state: Arc<StopState>,
    on_second: fn(i32),
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let set = stop_sigset();
            loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: `set` is initialised and `sig` writable.
                let r = unsafe { libc::sigwait(&set, &mut sig) };
                if r != 0 {
                    log::warn!("sigwait failed: {}", std::io::Error::from_raw_os_error(r));
                    return;
                }
                log::info!("received signal {sig}, stopping the guest");
                if !state.stop(StopReason::Signal(sig)) {
                    on_second(sig);
                }
            }
        })
}

/// Starts a thread that stops the guest after `after`.
pub fn spawn_timeout(state: Arc<StopState>, after: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("timeout".into())
        .spawn(move || {
            std::thread::sleep(after);
            state.stop(StopReason::Timeout(after));
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins_and_reaches_the_hart() {
        let s = StopState::new();
        let hart = Arc::new(HartInterrupts::new());
        s.attach(hart.clone());
        assert_eq!(hart.exit_request(), None);
        assert!(s.stop(StopReason::Signal(libc::SIGTERM)));
        assert!(!s.stop(StopReason::UserQuit));
        assert_eq!(s.reason(), Some(StopReason::Signal(libc::SIGTERM)));
        assert_eq!(hart.exit_request(), Some(ExitRequest::HostStop));
        assert_eq!(s.reason().unwrap().exit_code(), 143);
    }

    #[test]
    fn stop_before_attach_is_forwarded_on_attach() {
        let s = StopState::new();
        s.stop(StopReason::UserQuit);
        let hart = Arc::new(HartInterrupts::new());
        s.attach(hart.clone());
        assert_eq!(hart.exit_request(), Some(ExitRequest::HostStop));
        assert_eq!(StopReason::UserQuit.exit_code(), 0);
    }

    #[test]
    fn timeout_thread_stops_with_124() {
        let s = StopState::new();
        let hart = Arc::new(HartInterrupts::new());
        s.attach(hart.clone());
        spawn_timeout(s.clone(), Duration::from_millis(10)).unwrap();
        hart.wait(Some(Duration::from_secs(10)));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while s.reason().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(s.reason().map(StopReason::exit_code), Some(124));
        assert_eq!(hart.exit_request(), Some(ExitRequest::HostStop));
    }
}
