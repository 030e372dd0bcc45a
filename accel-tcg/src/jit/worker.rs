//! The background compile thread: receives region descriptions, returns machine code.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::translate::{RegionDesc, Translator};
use super::{HostIsas, OptLevel};

/// A finished compilation.
pub(crate) struct Done {
    pub id: u64,
    pub code: Result<Vec<u8>, String>,
    pub time: Duration,
}

/// Handle to the compile thread (joined on drop).
pub(crate) struct Worker {
    tx: Option<Sender<(u64, OptLevel, RegionDesc)>>,
    rx: Receiver<Done>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread, which compiles for `isas`.
    pub fn spawn(isas: HostIsas) -> std::io::Result<Worker> {
        let (tx, req_rx) = channel::<(u64, OptLevel, RegionDesc)>();
        let (done_tx, rx) = channel::<Done>();
        let handle = std::thread::Builder::new()
            .name("jit-compile".into())
            .spawn(move || {
                let mut t = Translator::new();
                while let Ok((id, level, desc)) = req_rx.recv() {
                    let t0 = Instant::now();
                    let code = t.compile(isas.get(level), &desc);
                    let done = Done {
                        id,
                        code,
                        time: t0.elapsed(),
                    };
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Worker {
            tx: Some(tx),
            rx,
            handle: Some(handle),
        })
    }

    /// Queues a compilation at `level`; false if the thread is gone.
    pub fn submit(&self, id: u64, level: OptLevel, desc: RegionDesc) -> bool {
        self.tx
            .as_ref()
            .is_some_and(|tx| tx.send((id, level, desc)).is_ok())
    }

    /// A finished compilation, if any (non-blocking).
    pub fn try_result(&self) -> Option<Done> {
        self.rx.try_recv().ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the request channel ends the thread's loop.
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
