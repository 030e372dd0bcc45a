//! The virtio-mmio transport (version 2 register layout).

use std::sync::Arc;

use virtio_queue::{Queue, QueueT};
use vm_memory::GuestMemoryMmap;
use vmm_sys_util::eventfd::EventFd;

use super::{VirtioDevice, VIRTIO_F_VERSION_1};
use crate::bus::{le_value, put_le_value, BusDevice};
use crate::irq::IrqLine;

/// Size of a virtio-mmio window.
pub const VIRTIO_MMIO_LEN: u64 = 0x1000;
/// Offset of the `QueueNotify` register (where ioeventfds listen).
pub const QUEUE_NOTIFY: u64 = 0x50;

const MAGIC: u32 = 0x7472_6976; // "virt"
const VENDOR: u32 = 0x554d_4551; // "QEMU", as most VMMs report

const STATUS_ACKNOWLEDGE: u32 = 1;
const STATUS_DRIVER: u32 = 2;
const STATUS_DRIVER_OK: u32 = 4;
const STATUS_FEATURES_OK: u32 = 8;
const STATUS_FAILED: u32 = 0x80;

/// `InterruptStatus` bit: a queue has new used buffers.
pub const INT_VRING: u32 = 1;
/// `InterruptStatus` bit: the configuration changed.
pub const INT_CONFIG: u32 = 2;

/// A virtio device on the MMIO transport.
pub struct VirtioMmio {
    device: Box<dyn VirtioDevice>,
    queues: Vec<Queue>,
    notify: Vec<EventFd>,
    mem: GuestMemoryMmap,
    irq: Arc<dyn IrqLine>,
    queue_sel: u32,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    status: u32,
    interrupt_status: u32,
    config_generation: u32,
}

impl VirtioMmio {
    /// Puts `device` on the transport, using `mem` for its queues and `irq` for interrupts.
    pub fn new(
        device: Box<dyn VirtioDevice>,
        mem: GuestMemoryMmap,
        irq: Arc<dyn IrqLine>,
    ) -> std::io::Result<Self> {
        let mut queues = Vec::new();
        let mut notify = Vec::new();
        for &max in device.queue_max_sizes() {
            let q = Queue::new(max).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("queue: {e:?}"))
            })?;
            queues.push(q);
            notify.push(EventFd::new(libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)?);
        }
        Ok(VirtioMmio {
            device,
            queues,
            notify,
            mem,
            irq,
            queue_sel: 0,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            status: 0,
            interrupt_status: 0,
            config_generation: 0,
        })
    }

    /// Number of queues.
    pub fn num_queues(&self) -> usize {
        self.queues.len()
    }

    /// The eventfd to signal when the guest notifies queue `index` (for a KVM ioeventfd on
    /// `base + QUEUE_NOTIFY` with datamatch `index`).
    pub fn notify_fd(&self, index: usize) -> Option<&EventFd> {
        self.notify.get(index)
    }

    /// The virtio device status register.
    pub fn status(&self) -> u32 {
        self.status
    }

    /// Handles a guest notification of queue `index` (from the queue's eventfd).
    pub fn notify(&mut self, index: usize) {
        if let Some(fd) = self.notify.get(index) {
            let _ = fd.read(); // clear the counter; EAGAIN when it was a trapped write
        }
        self.process(index);
    }

    fn device_features(&self) -> u64 {
        self.device.features() | VIRTIO_F_VERSION_1
    }

    fn process(&mut self, index: usize) {
        if self.status & STATUS_DRIVER_OK == 0 || self.status & STATUS_FAILED != 0 {
            return;
        }
        let Some(q) = self.queues.get_mut(index) else {
            log::debug!("virtio: notify for missing queue {index}");
            return;
        };
        if !q.ready() {
            return;
        }
        if self.device.process_queue(index, q, &self.mem) {
            let needed = q.needs_notification(&self.mem).unwrap_or(true);
            if needed {
                self.raise(INT_VRING);
            }
        }
    }

    fn raise(&mut self, bits: u32) {
        self.interrupt_status |= bits;
        self.irq.set_level(true);
    }

    fn reset(&mut self) {
        self.device.reset();
        for q in &mut self.queues {
            q.reset();
        }
        self.queue_sel = 0;
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.status = 0;
        self.interrupt_status = 0;
        self.irq.set_level(false);
    }

    fn selected(&mut self) -> Option<&mut Queue> {
        self.queues.get_mut(self.queue_sel as usize)
    }

    fn read_reg(&mut self, offset: u64) -> u32 {
        match offset {
            0x00 => MAGIC,
            0x04 => 2,
            0x08 => self.device.device_type(),
            0x0c => VENDOR,
            0x10 => match self.device_features_sel {
                0 => self.device_features() as u32,
                1 => (self.device_features() >> 32) as u32,
                _ => 0,
            },
            0x34 => self.selected().map_or(0, |q| u32::from(q.max_size())),
            0x44 => self.selected().map_or(0, |q| u32::from(q.ready())),
            0x60 => self.interrupt_status,
            0x70 => self.status,
            0xfc => self.config_generation,
            _ => 0,
        }
    }

    fn write_reg(&mut self, offset: u64, v: u32) {
        // Queue set-up registers are only writable before the driver is up.
        let setup = self.status & STATUS_DRIVER_OK == 0;
        match offset {
            0x14 => self.device_features_sel = v,
            0x20 => {
                if self.status & STATUS_FEATURES_OK == 0 {
                    match self.driver_features_sel {
                        0 => {
                            self.driver_features =
                                (self.driver_features & !0xffff_ffff) | u64::from(v)
                        }
                        1 => {
                            self.driver_features =
                                (self.driver_features & 0xffff_ffff) | (u64::from(v) << 32)
                        }
                        _ => {}
                    }
                }
            }
            0x24 => self.driver_features_sel = v,
            0x30 => self.queue_sel = v,
            0x38 if setup => {
                if let Some(q) = self.selected() {
                    q.set_size(v.min(u32::from(u16::MAX)) as u16);
                }
            }
            0x44 if setup => {
                let mem = self.mem.clone();
                if let Some(q) = self.selected() {
                    q.set_ready(v == 1);
                    if v == 1 && !q.is_valid(&mem) {
                        log::warn!("virtio: driver enabled an invalid queue; ignored");
                        q.set_ready(false);
                    }
                }
            }
            QUEUE_NOTIFY => self.process(v as usize),
            0x64 => {
                self.interrupt_status &= !v;
                if self.interrupt_status == 0 {
                    self.irq.set_level(false);
                }
            }
            0x70 => self.write_status(v),
            0x80 | 0x84 | 0x90 | 0x94 | 0xa0 | 0xa4 if setup => {
                if let Some(q) = self.selected() {
                    let (lo, hi) = if offset & 4 == 0 {
                        (Some(v), None)
                    } else {
                        (None, Some(v))
                    };
                    match offset & !4 {
                        0x80 => q.set_desc_table_address(lo, hi),
                        0x90 => q.set_avail_ring_address(lo, hi),
                        _ => q.set_used_ring_address(lo, hi),
                    }
                }
            }
            _ => log::debug!("virtio: ignored write {v:#x} to {offset:#x}"),
        }
    }

    fn write_status(&mut self, v: u32) {
        if v == 0 {
            self.reset();
            return;
        }
        let mut v = v;
        // FEATURES_OK is accepted only for a subset of what the device offers, with VERSION_1.
        if v & STATUS_FEATURES_OK != 0 && self.status & STATUS_FEATURES_OK == 0 {
            let ok = self.driver_features & !self.device_features() == 0
                && self.driver_features & VIRTIO_F_VERSION_1 != 0;
            if !ok {
                v &= !STATUS_FEATURES_OK;
            }
        }
        // Status bits only accumulate (except through a reset).
        self.status |= v
            & (STATUS_ACKNOWLEDGE
                | STATUS_DRIVER
                | STATUS_FEATURES_OK
                | STATUS_DRIVER_OK
                | STATUS_FAILED);
        if self.status & STATUS_DRIVER_OK != 0 {
            let event_idx = self.driver_features & (1 << 29) != 0;
            for q in &mut self.queues {
                q.set_event_idx(event_idx);
            }
        }
    }
}

impl BusDevice for VirtioMmio {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        if offset >= 0x100 {
            self.device.read_config(offset - 0x100, data);
            return;
        }
        if data.len() != 4 || offset & 3 != 0 {
            data.fill(0);
            return;
        }
        let v = self.read_reg(offset);
        put_le_value(data, u64::from(v));
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if offset >= 0x100 {
            self.device.write_config(offset - 0x100, data);
            self.config_generation = self.config_generation.wrapping_add(1);
            return;
        }
        if data.len() != 4 || offset & 3 != 0 {
            log::debug!("virtio: ignored {}-byte write at {offset:#x}", data.len());
            return;
        }
        self.write_reg(offset, le_value(data) as u32);
    }
}
