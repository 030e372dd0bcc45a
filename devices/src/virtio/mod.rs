//! virtio over MMIO (virtio 1.x "modern" register layout) with split virtqueues from
//! virtio-queue, and two devices: a file-backed block device and an entropy source.
//!
//! Queue notifications arrive either as a trapped write to `QueueNotify` (the transport then
//! processes the queue on the spot) or, under KVM, through an ioeventfd per queue
//! ([`mmio::VirtioMmio::notify_fd`]) that an event loop turns into [`mmio::VirtioMmio::notify`].

pub mod blk;
pub mod mmio;
pub mod rng;

use virtio_queue::Queue;
use vm_memory::GuestMemoryMmap;

pub use mmio::VirtioMmio;

/// `VIRTIO_F_VERSION_1`: the modern interface (always offered by the MMIO transport).
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;

/// virtio device type of a block device.
pub const TYPE_BLOCK: u32 = 2;
/// virtio device type of an entropy source.
pub const TYPE_RNG: u32 = 4;

/// A virtio device behind a transport.
pub trait VirtioDevice: Send {
    /// The virtio device type (2 block, 4 entropy, ...).
    fn device_type(&self) -> u32;
    /// Device feature bits (the transport adds `VIRTIO_F_VERSION_1`).
    fn features(&self) -> u64;
    /// Maximum size of each of the device's queues (the length is the number of queues).
    fn queue_max_sizes(&self) -> &[u16];
    /// Reads the device-specific configuration space at `offset`; out of range reads as zeros.
    fn read_config(&self, offset: u64, data: &mut [u8]);
    /// Writes the configuration space (ignored by devices with a read-only one).
    fn write_config(&mut self, _offset: u64, _data: &[u8]) {}
    /// Processes the available buffers of queue `index`; returns whether any was used.
    fn process_queue(&mut self, index: usize, queue: &mut Queue, mem: &GuestMemoryMmap) -> bool;
    /// Device reset (status written to 0).
    fn reset(&mut self) {}
}

/// Reads `data.len()` bytes of a little-endian configuration structure `cfg` at `offset`.
pub fn read_config_bytes(cfg: &[u8], offset: u64, data: &mut [u8]) {
    data.fill(0);
    let Ok(start) = usize::try_from(offset) else {
        return;
    };
    if let Some(src) = cfg.get(start..) {
        let n = src.len().min(data.len());
        data[..n].copy_from_slice(&src[..n]);
    }
}

#[cfg(test)]
pub(crate) mod testq;
