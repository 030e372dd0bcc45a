//! Guest time: the 10 MHz timebase of `mtime` and the `time` CSR.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How guest time advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// From the host monotonic clock.
    Host,
    /// From retired instructions: one tick every `insns_per_tick` instructions (deterministic).
    Icount {
        /// Guest instructions per 100 ns timer tick.
        insns_per_tick: u64,
    },
}

/// The guest's timebase, shared by the timer device and the CPU.
#[derive(Debug)]
pub struct GuestClock {
    mode: ClockMode,
    freq_hz: u64,
    start: Instant,
    /// Added to the raw count; changed by guest writes to `mtime`.
    offset: AtomicI64,
    /// Instructions retired, published by the CPU in icount mode.
    icount: AtomicU64,
}

impl GuestClock {
    /// A clock ticking at `freq_hz` in the given mode, starting at 0.
    pub fn new(mode: ClockMode, freq_hz: u64) -> Self {
        Self {
            mode,
            freq_hz: freq_hz.max(1),
            start: Instant::now(),
            offset: AtomicI64::new(0),
            icount: AtomicU64::new(0),
        }
    }

    /// The clock's mode.
    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// Ticks per second.
    pub fn freq_hz(&self) -> u64 {
        self.freq_hz
    }

    fn raw(&self) -> u64 {
        match self.mode {
            ClockMode::Host => {
                let ns = self.start.elapsed().as_nanos();
                (ns * u128::from(self.freq_hz) / 1_000_000_000) as u64
            }
            ClockMode::Icount { insns_per_tick } => {
                self.icount.load(Ordering::Acquire) / insns_per_tick.max(1)
            }
        }
    }

    /// The current time in ticks (`mtime`).
    pub fn now(&self) -> u64 {
        self.raw()
            .wrapping_add(self.offset.load(Ordering::Acquire) as u64)
    }

    /// Sets the current time (a guest write to `mtime`).
    pub fn set_now(&self, ticks: u64) {
        self.offset
            .store(ticks.wrapping_sub(self.raw()) as i64, Ordering::Release);
    }

    /// Publishes the number of retired instructions (icount mode only; ignored otherwise).
    pub fn set_icount(&self, retired: u64) {
        self.icount.store(retired, Ordering::Release);
    }

    /// Host time until the clock reaches `ticks`, `None` if it never will by waiting (icount mode:
    /// time only moves when the CPU runs) and zero if it already has.
    pub fn host_time_until(&self, ticks: u64) -> Option<Duration> {
        let now = self.now();
        if now >= ticks {
            return Some(Duration::ZERO);
        }
        match self.mode {
            ClockMode::Host => {
                let delta = u128::from(ticks - now);
                let ns = delta * 1_000_000_000 / u128::from(self.freq_hz) + 1;
                Some(Duration::from_nanos(ns.min(u128::from(u64::MAX)) as u64))
            }
            ClockMode::Icount { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icount_mode_derives_time_from_instructions() {
        let c = GuestClock::new(ClockMode::Icount { insns_per_tick: 10 }, 10_000_000);
        assert_eq!(c.now(), 0);
        c.set_icount(105);
        assert_eq!(c.now(), 10);
        c.set_now(1000);
        assert_eq!(c.now(), 1000);
        c.set_icount(205);
        assert_eq!(c.now(), 1010);
        assert_eq!(c.host_time_until(2000), None);
        assert_eq!(c.host_time_until(5), Some(Duration::ZERO));
    }

    #[test]
    fn host_mode_advances_and_can_be_set() {
        let c = GuestClock::new(ClockMode::Host, 10_000_000);
        let a = c.now();
        std::thread::sleep(Duration::from_millis(2));
        let b = c.now();
        assert!(
            b >= a + 10_000,
            "2 ms is at least 20000 ticks at 10 MHz: {a} {b}"
        );
        c.set_now(u64::MAX / 2);
        assert!(c.now() >= u64::MAX / 2);
        let d = c.host_time_until(c.now() + 10_000_000).unwrap();
        assert!(d <= Duration::from_secs(1) + Duration::from_millis(1));
    }
}
