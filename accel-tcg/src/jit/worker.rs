//! The background compile thread: receives region descriptions, returns machine code.
//!
//! Requests are served newest first, and at most [`MAX_QUEUED`] wait: the code the guest runs
//! now is what the most recent requests are about, while a request that has waited behind newer
//! ones is for code the guest has likely left (a Linux boot runs each init phase once). The
//! oldest requests beyond the bound are returned unserved ([`Outcome::Dropped`]), so their
//! entries can turn hot, and be requested, again.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::translate::{RegionDesc, Translator};
use super::{HostIsas, OptLevel};

/// Requests waiting beyond this many are dropped, oldest first.
pub(crate) const MAX_QUEUED: usize = 32;

/// What became of a request.
pub(crate) enum Outcome {
    /// Machine code.
    Code(Vec<u8>),
    /// Cranelift failed (the region stays on tier 0).
    Failed(String),
    /// Not compiled: it waited behind too many newer requests.
    Dropped,
}

/// A finished (or dropped) request.
pub(crate) struct Done {
    pub id: u64,
    pub outcome: Outcome,
    pub time: Duration,
}

/// The request stack shared with the thread.
#[derive(Default)]
struct Queue {
    /// Oldest at the front, served from the back.
    requests: VecDeque<(u64, OptLevel, RegionDesc)>,
    /// The handle was dropped: the thread ends.
    closed: bool,
}

type Shared = Arc<(Mutex<Queue>, Condvar)>;

/// Handle to the compile thread (joined on drop).
pub(crate) struct Worker {
    shared: Shared,
    rx: Receiver<Done>,
    /// Dropped requests, reported without going through the thread.
    dropped: Vec<u64>,
    handle: Option<JoinHandle<()>>,
}

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Queue> {
    // A panic while holding the lock cannot leave the queue inconsistent (plain pushes/pops).
    s.0.lock().unwrap_or_else(PoisonError::into_inner)
}

fn serve(shared: Shared, isas: HostIsas, done_tx: Sender<Done>) {
    let mut t = Translator::new();
    loop {
        let (id, level, desc) = {
            let mut q = lock(&shared);
            loop {
                if q.closed {
                    return;
                }
                if let Some(r) = q.requests.pop_back() {
                    break r;
                }
                q = shared.1.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let t0 = Instant::now();
        let outcome = match t.compile(isas.get(level), &desc) {
            Ok(code) => Outcome::Code(code),
            Err(e) => Outcome::Failed(e),
        };
        let done = Done {
            id,
            outcome,
            time: t0.elapsed(),
        };
        if done_tx.send(done).is_err() {
            return;
        }
    }
}

impl Worker {
    /// Starts the thread, which compiles for `isas`.
    pub fn spawn(isas: HostIsas) -> std::io::Result<Worker> {
        let shared: Shared = Arc::default();
        let (done_tx, rx) = channel::<Done>();
        let s = shared.clone();
        let handle = std::thread::Builder::new()
            .name("jit-compile".into())
            .spawn(move || serve(s, isas, done_tx))?;
        Ok(Worker {
            shared,
            rx,
            dropped: Vec::new(),
            handle: Some(handle),
        })
    }

    /// Queues a compilation at `level` (served before older ones); false if the thread is gone.
    pub fn submit(&mut self, id: u64, level: OptLevel, desc: RegionDesc) -> bool {
        if self.handle.as_ref().is_none_or(|h| h.is_finished()) {
            return false;
        }
        let mut q = lock(&self.shared);
        q.requests.push_back((id, level, desc));
        while q.requests.len() > MAX_QUEUED {
            if let Some((old, _, _)) = q.requests.pop_front() {
                self.dropped.push(old);
            }
        }
        drop(q);
        self.shared.1.notify_one();
        true
    }

    /// A finished or dropped request, if any (non-blocking).
    pub fn try_result(&mut self) -> Option<Done> {
        if let Some(id) = self.dropped.pop() {
            return Some(Done {
                id,
                outcome: Outcome::Dropped,
                time: Duration::ZERO,
            });
        }
        self.rx.try_recv().ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        lock(&self.shared).closed = true;
        self.shared.1.notify_one();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::translate::BlockDesc;

    fn desc() -> RegionDesc {
        RegionDesc {
            page_off: 0,
            mode: 3 | (3 << 2),
            // `jal x0, 8`: one exit.
            blocks: vec![BlockDesc {
                off: 0,
                first: 0,
                insns: vec![crate::decode::decode(0x0080_006f)],
            }],
            insns_addr: 0x1000,
            slots_addr: 0x2000,
            jc_addr: 0x3000,
            attention_addr: 0x4000,
            regs_in_memory: true,
            countdown_addr: 0,
        }
    }

    #[test]
    fn serves_requests_and_drops_the_oldest_beyond_the_bound() {
        let mut w = Worker::spawn(HostIsas::new().unwrap()).unwrap();
        // More than the bound, faster than the thread compiles: some of the oldest are
        // dropped (how many depends on how fast the thread is).
        let n = MAX_QUEUED as u64 + 5;
        for id in 1..=n {
            assert!(w.submit(id, OptLevel::Quick, desc()));
        }
        let mut code = Vec::new();
        let mut dropped = Vec::new();
        let t0 = Instant::now();
        while code.len() + dropped.len() < n as usize && t0.elapsed() < Duration::from_secs(30) {
            match w.try_result() {
                Some(Done {
                    id,
                    outcome: Outcome::Code(c),
                    ..
                }) => {
                    assert!(!c.is_empty());
                    code.push(id);
                }
                Some(Done {
                    id,
                    outcome: Outcome::Dropped,
                    ..
                }) => dropped.push(id),
                Some(Done {
                    outcome: Outcome::Failed(e),
                    ..
                }) => panic!("compile failed: {e}"),
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        assert_eq!(
            code.len() + dropped.len(),
            n as usize,
            "every request answered"
        );
        // Whatever was dropped is among the oldest, and the newest was compiled.
        assert!(code.contains(&n));
        assert!(dropped.iter().all(|&d| d <= n - MAX_QUEUED as u64));
    }
}
