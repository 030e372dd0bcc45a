//! The board's I/O thread: an event-manager loop feeding host input to COM1 and servicing
//! virtio queue notifications (the ioeventfds KVM signals).

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use devices::bus::lock;
use devices::uart_8250::Uart8250;
use devices::virtio::VirtioMmio;
use event_manager::{EventManager, EventOps, EventSet, Events, MutEventSubscriber, SubscriberOps};
use vmm_sys_util::eventfd::EventFd;

use crate::BoardError;

/// Most host input buffered while the guest does not drain COM1.
const INPUT_BUFFER: usize = 64 * 1024;

/// Host input → COM1's receive FIFO.
struct SerialIn {
    uart: Arc<Mutex<Uart8250>>,
    input: File,
    pending: Vec<u8>,
}

impl SerialIn {
    fn pump(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let n = lock(&self.uart).receive(&self.pending);
        self.pending.drain(..n);
    }
}

impl MutEventSubscriber for SerialIn {
    fn process(&mut self, events: Events, ops: &mut EventOps) {
        let mut buf = [0u8; 512];
        match self.input.read(&mut buf) {
            Ok(0) => {
                // End of input: stop watching it.
                let _ = ops.remove(Events::empty(&self.input));
            }
            Ok(n) => {
                let room = INPUT_BUFFER.saturating_sub(self.pending.len());
                if room < n {
                    log::warn!(
                        "serial input: guest not reading, {} bytes dropped",
                        n - room
                    );
                }
                self.pending.extend_from_slice(&buf[..n.min(room)]);
                self.pump();
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                log::warn!("serial input: {e}; no more input");
                let _ = ops.remove(Events::empty(&self.input));
            }
        }
        if events.event_set().contains(EventSet::HANG_UP) {
            let _ = ops.remove(Events::empty(&self.input));
        }
    }

    fn init(&mut self, ops: &mut EventOps) {
        if let Err(e) = ops.add(Events::new(&self.input, EventSet::IN)) {
            log::warn!("serial input: cannot watch input: {e:?}");
        }
    }
}

/// Queue eventfds of one virtio device → `VirtioMmio::notify`.
struct VirtioNotify {
    dev: Arc<Mutex<VirtioMmio>>,
    fds: Vec<EventFd>,
}

impl MutEventSubscriber for VirtioNotify {
    fn process(&mut self, events: Events, _ops: &mut EventOps) {
        lock(&self.dev).notify(events.data() as usize);
    }

    fn init(&mut self, ops: &mut EventOps) {
        for (i, fd) in self.fds.iter().enumerate() {
            if let Err(e) = ops.add(Events::with_data(fd, i as u32, EventSet::IN)) {
                log::warn!("virtio: cannot watch queue {i}: {e:?}");
            }
        }
    }
}

/// Wakes the loop so it sees the stop flag at once.
struct Wake(EventFd);

impl MutEventSubscriber for Wake {
    fn process(&mut self, _events: Events, _ops: &mut EventOps) {
        let _ = self.0.read();
    }

    fn init(&mut self, ops: &mut EventOps) {
        if let Err(e) = ops.add(Events::new(&self.0, EventSet::IN)) {
            log::warn!("board I/O loop: cannot watch its wake-up eventfd: {e:?}");
        }
    }
}

type Subscriber = Arc<Mutex<dyn MutEventSubscriber + Send>>;

/// The running I/O thread; stop it with [`IoThread::stop`].
pub struct IoThread {
    stop: Arc<AtomicBool>,
    wake: Option<EventFd>,
    thread: Option<JoinHandle<()>>,
}

impl IoThread {
    /// Starts the loop for `uart` fed by `input` and the `virtio` devices.
    pub(crate) fn start(
        uart: Arc<Mutex<Uart8250>>,
        input: Option<File>,
        virtio: &[Arc<Mutex<VirtioMmio>>],
    ) -> Result<IoThread, BoardError> {
        let err = |e: event_manager::Error| BoardError::Config(format!("event loop: {e:?}"));
        let mut mgr: EventManager<Subscriber> = EventManager::new().map_err(err)?;
        let mut serial = None;
        if let Some(input) = input {
            // SAFETY: fcntl on a file descriptor we own, with valid flags.
            unsafe {
                let fd = input.as_raw_fd();
                let fl = libc::fcntl(fd, libc::F_GETFL);
                if fl >= 0 {
                    libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                }
            }
            let s = Arc::new(Mutex::new(SerialIn {
                uart,
                input,
                pending: Vec::new(),
            }));
            mgr.add_subscriber(s.clone());
            serial = Some(s);
        }
        for dev in virtio {
            let fds = {
                let d = lock(dev);
                (0..d.num_queues())
                    .filter_map(|i| d.notify_fd(i).and_then(|f| f.try_clone().ok()))
                    .collect()
            };
            mgr.add_subscriber(Arc::new(Mutex::new(VirtioNotify {
                dev: dev.clone(),
                fds,
            })));
        }
        let wake = EventFd::new(libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)
            .map_err(|e| BoardError::Config(format!("event loop: {e}")))?;
        let wake2 = wake.try_clone().ok();
        mgr.add_subscriber(Arc::new(Mutex::new(Wake(wake))));
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("board-io".into())
            .spawn(move || {
                while !stop2.load(Ordering::Acquire) {
                    if let Err(e) = mgr.run_with_timeout(20) {
                        log::error!("board I/O loop: {e:?}");
                        break;
                    }
                    if let Some(s) = &serial {
                        lock(s).pump();
                    }
                }
            })
            .map_err(|e| BoardError::Config(format!("I/O thread: {e}")))?;
        Ok(IoThread {
            stop,
            wake: wake2,
            thread: Some(thread),
        })
    }

    /// Stops the loop and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(w) = &self.wake {
            let _ = w.write(1);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for IoThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}
