//! virtio-rng: fills the guest's buffers from the host's `getrandom(2)`.

use std::io::Write;

use virtio_queue::{Queue, QueueT};
use vm_memory::GuestMemoryMmap;

use super::{VirtioDevice, TYPE_RNG};

const QUEUE_SIZES: [u16; 1] = [64];
/// At most this many bytes per request.
const MAX_REQUEST: usize = 64 * 1024;

/// An entropy source device.
#[derive(Debug, Default)]
pub struct VirtioRng;

impl VirtioRng {
    /// A new entropy source.
    pub fn new() -> Self {
        VirtioRng
    }
}

fn fill_random(buf: &mut [u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a valid writable buffer of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n <= 0 {
            return false;
        }
        done += n as usize;
    }
    true
}

impl VirtioDevice for VirtioRng {
    fn device_type(&self) -> u32 {
        TYPE_RNG
    }

    fn features(&self) -> u64 {
        0
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &QUEUE_SIZES
    }

    fn read_config(&self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }

    fn process_queue(&mut self, _index: usize, queue: &mut Queue, mem: &GuestMemoryMmap) -> bool {
        let mut used_any = false;
        while let Some(chain) = queue.pop_descriptor_chain(mem) {
            let head = chain.head_index();
            let mut written = 0usize;
            if let Ok(mut w) = chain.writer(mem) {
                let n = w.available_bytes().min(MAX_REQUEST);
                let mut buf = vec![0u8; n];
                if fill_random(&mut buf) && w.write_all(&buf).is_ok() {
                    written = n;
                }
            }
            if let Err(e) = queue.add_used(mem, head, written as u32) {
                log::warn!("virtio-rng: add_used: {e}");
            }
            used_any = true;
        }
        used_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::virtio::testq::{Desc, Driver};

    #[test]
    fn fills_writable_buffers() {
        let mut d = Driver::new(Box::new(VirtioRng::new()), 0);
        let (bufs, len) = d.request(&[Desc::W(64), Desc::W(64)]);
        assert_eq!(len, 128);
        assert!(bufs.iter().any(|b| b.iter().any(|&x| x != 0)));
        assert_eq!(d.interrupts(), 1);
    }
}
