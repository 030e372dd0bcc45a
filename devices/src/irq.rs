//! Interrupt plumbing: level-sensitive lines from devices, and the per-hart pending bits that an
//! accelerator consumes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A level-sensitive interrupt line driven by a device.
///
/// Implemented by a PLIC source (G233), an irqfd (KVM x86), or a test probe. Devices call
/// `set_level` after every register access that can change their interrupt condition; an
/// implementation must tolerate repeated calls with the same level.
pub trait IrqLine: Send + Sync {
    /// Drives the line high (`true`) or low (`false`).
    fn set_level(&self, level: bool);
}

/// An interrupt line connected to nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoIrq;

impl IrqLine for NoIrq {
    fn set_level(&self, _level: bool) {}
}

/// `mip` bit numbers of the RISC-V interrupt sources a device can drive.
pub mod mip {
    /// Supervisor software interrupt.
    pub const SSIP: u64 = 1 << 1;
    /// Machine software interrupt (ACLINT MSWI).
    pub const MSIP: u64 = 1 << 3;
    /// Supervisor timer interrupt.
    pub const STIP: u64 = 1 << 5;
    /// Machine timer interrupt.
    pub const MTIP: u64 = 1 << 7;
    /// Supervisor external interrupt (PLIC context 1).
    pub const SEIP: u64 = 1 << 9;
    /// Machine external interrupt (PLIC context 0).
    pub const MEIP: u64 = 1 << 11;
}

/// Why the machine asks its vCPU to stop running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitRequest {
    /// The guest asked to power off, with an exit status (0 for a clean poweroff).
    Poweroff(i32),
    /// The guest asked for a reset.
    Reset,
    /// The host asked to stop (SIGINT/SIGTERM, `--timeout`).
    HostStop,
}

/// The interrupt inputs of one hart, shared between devices (writers) and the vCPU (reader).
///
/// Devices set `mip` bits with [`set_line`](Self::set_line); the ACLINT MTIMER publishes
/// `mtimecmp` here so the CPU can compare it with the time without taking a lock. Any change
/// raises the *attention* flag and wakes a hart sleeping in `wfi`, so the vCPU re-evaluates
/// interrupts before its next instruction.
#[derive(Debug)]
pub struct HartInterrupts {
    lines: AtomicU64,
    mtimecmp: AtomicU64,
    attention: AtomicBool,
    exit: Mutex<Option<ExitRequest>>,
    sleep: Mutex<()>,
    wake: Condvar,
}

impl Default for HartInterrupts {
    fn default() -> Self {
        Self {
            lines: AtomicU64::new(0),
            mtimecmp: AtomicU64::new(u64::MAX),
            attention: AtomicBool::new(false),
            exit: Mutex::new(None),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
        }
    }
}

impl HartInterrupts {
    /// A hart with no interrupt pending and `mtimecmp` at its reset value (never fires).
    pub fn new() -> Self {
        Self::default()
    }

    /// Drives the `mip` bit(s) `mask` to `level`.
    pub fn set_line(&self, mask: u64, level: bool) {
        let old = if level {
            self.lines.fetch_or(mask, Ordering::SeqCst)
        } else {
            self.lines.fetch_and(!mask, Ordering::SeqCst)
        };
        let changed = if level {
            old & mask != mask
        } else {
            old & mask != 0
        };
        if changed {
            self.kick();
        }
    }

    /// The `mip` bits currently driven by devices.
    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Acquire)
    }

    /// Sets this hart's `mtimecmp` (in timer ticks).
    pub fn set_mtimecmp(&self, value: u64) {
        self.mtimecmp.store(value, Ordering::SeqCst);
        self.kick();
    }

    /// This hart's `mtimecmp`.
    pub fn mtimecmp(&self) -> u64 {
        self.mtimecmp.load(Ordering::Acquire)
    }

    /// Asks the vCPU to look at its interrupt inputs (and wakes it from `wfi`).
    pub fn kick(&self) {
        self.attention.store(true, Ordering::SeqCst);
        let _guard = crate::bus::lock(&self.sleep);
        self.wake.notify_all();
    }

    /// Whether something changed since the last call; clears the flag.
    pub fn take_attention(&self) -> bool {
        self.attention.swap(false, Ordering::AcqRel)
    }

    /// The attention flag itself, for translated code that polls it with a plain byte load.
    pub fn attention_flag(&self) -> &AtomicBool {
        &self.attention
    }

    /// Whether something changed, without clearing the flag (cheap check for hot loops).
    pub fn needs_attention(&self) -> bool {
        self.attention.load(Ordering::Relaxed)
    }

    /// Blocks until [`kick`](Self::kick) is called or `timeout` passes (`None`: no timeout).
    /// Returns at once if the attention flag is already set.
    pub fn wait(&self, timeout: Option<Duration>) {
        let guard = crate::bus::lock(&self.sleep);
        if self.attention.load(Ordering::SeqCst) {
            return;
        }
        // A poisoned lock only means another thread panicked while notifying: waking is fine.
        match timeout {
            Some(t) => drop(self.wake.wait_timeout(guard, t)),
            None => drop(self.wake.wait(guard)),
        }
    }

    /// Asks the vCPU to stop; the first request wins.
    pub fn request_exit(&self, why: ExitRequest) {
        let mut e = crate::bus::lock(&self.exit);
        if e.is_none() {
            *e = Some(why);
        }
        drop(e);
        self.kick();
    }

    /// The pending exit request, if any.
    pub fn exit_request(&self) -> Option<ExitRequest> {
        *crate::bus::lock(&self.exit)
    }

    /// Clears a pending exit request (after a board reset).
    pub fn clear_exit_request(&self) {
        *crate::bus::lock(&self.exit) = None;
    }
}

/// An [`IrqLine`] that drives one `mip` bit of a hart directly (e.g. ACLINT MSWI → MSIP).
pub struct HartLine {
    hart: std::sync::Arc<HartInterrupts>,
    mask: u64,
}

impl HartLine {
    /// A line driving `mask` of `hart`.
    pub fn new(hart: std::sync::Arc<HartInterrupts>, mask: u64) -> Self {
        Self { hart, mask }
    }
}

impl IrqLine for HartLine {
    fn set_level(&self, level: bool) {
        self.hart.set_line(self.mask, level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn lines_set_and_clear_with_attention() {
        let h = HartInterrupts::new();
        assert!(!h.take_attention());
        h.set_line(mip::MEIP, true);
        assert_eq!(h.lines(), mip::MEIP);
        assert!(h.take_attention());
        assert!(!h.take_attention());
        h.set_line(mip::MEIP, true); // unchanged: no new attention
        assert!(!h.take_attention());
        h.set_line(mip::MEIP, false);
        assert_eq!(h.lines(), 0);
        assert!(h.take_attention());
    }

    #[test]
    fn wait_wakes_on_kick_from_another_thread() {
        let h = Arc::new(HartInterrupts::new());
        let h2 = h.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            h2.set_line(mip::MSIP, true);
        });
        h.wait(Some(Duration::from_secs(10)));
        assert_eq!(h.lines() & mip::MSIP, mip::MSIP);
        t.join().unwrap();
    }

    #[test]
    fn first_exit_request_wins() {
        let h = HartInterrupts::new();
        h.request_exit(ExitRequest::Poweroff(3));
        h.request_exit(ExitRequest::HostStop);
        assert_eq!(h.exit_request(), Some(ExitRequest::Poweroff(3)));
        h.clear_exit_request();
        assert_eq!(h.exit_request(), None);
    }
}
