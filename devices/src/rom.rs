//! Read-only memory (the G233 MROM holding the reset stub).

use crate::bus::BusDevice;

/// A read-only memory window: reads return its contents, writes are ignored (logged once).
pub struct Rom {
    data: Vec<u8>,
    warned: bool,
}

impl Rom {
    /// A ROM of `size` bytes holding `contents`, zero-padded (or truncated, with a warning) to
    /// `size`.
    pub fn new(mut contents: Vec<u8>, size: u64) -> Rom {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if contents.len() > size {
            log::warn!(
                "ROM contents ({} bytes) truncated to the ROM size ({size} bytes)",
                contents.len()
            );
        }
        contents.resize(size, 0);
        Rom {
            data: contents,
            warned: false,
        }
    }

    /// The ROM contents.
    pub fn contents(&self) -> &[u8] {
        &self.data
    }
}

impl BusDevice for Rom {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        for (i, b) in data.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(i))
                .and_then(|o| self.data.get(o))
                .copied()
                .unwrap_or(0);
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if !self.warned {
            self.warned = true;
            log::warn!(
                "guest wrote {} byte(s) to ROM offset {offset:#x}; ROM writes are ignored",
                data.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{rd, wr};

    #[test]
    fn reads_contents_zero_padded() {
        let mut rom = Rom::new(vec![0x97, 0x02, 0x00, 0x00, 0x9b, 0x82], 0x2000);
        assert_eq!(rom.contents().len(), 0x2000);
        assert_eq!(rd(&mut rom, 0, 4), 0x0000_0297);
        assert_eq!(rd(&mut rom, 4, 2), 0x829b);
        assert_eq!(rd(&mut rom, 4, 8), 0x829b);
        assert_eq!(rd(&mut rom, 0x1ff8, 8), 0);
        // Past the end (the bus never sends this, but it must not panic).
        assert_eq!(rd(&mut rom, 0x1ffe, 8), 0);
        assert_eq!(rd(&mut rom, u64::MAX, 8), 0);
    }

    #[test]
    fn writes_are_ignored() {
        let mut rom = Rom::new(vec![1, 2, 3, 4], 16);
        wr(&mut rom, 0, 4, 0xdead_beef);
        wr(&mut rom, 0, 4, 0xdead_beef);
        assert_eq!(rd(&mut rom, 0, 4), 0x0403_0201);
    }

    #[test]
    fn oversized_contents_are_truncated() {
        let mut rom = Rom::new(vec![0xAA; 32], 8);
        assert_eq!(rom.contents().len(), 8);
        assert_eq!(rd(&mut rom, 4, 4), 0xAAAA_AAAA);
    }
}
