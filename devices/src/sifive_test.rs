//! The SiFive test finisher (QEMU `sifive_test`, compatible "sifive,test1"): a register through
//! which the guest powers the machine off or resets it.

use std::sync::Arc;

use crate::bus::{le_value, BusDevice};
use crate::irq::{ExitRequest, HartInterrupts};

/// Status word requesting a failing poweroff; the exit code is in bits 31:16.
const FINISHER_FAIL: u32 = 0x3333;
/// Status word requesting a clean poweroff.
const FINISHER_PASS: u32 = 0x5555;
/// Status word requesting a reset.
const FINISHER_RESET: u32 = 0x7777;

/// The test finisher device (window 0x1000).
pub struct SifiveTest {
    hart: Arc<HartInterrupts>,
}

impl SifiveTest {
    /// A finisher that sends its requests to `hart`.
    pub fn new(hart: Arc<HartInterrupts>) -> SifiveTest {
        SifiveTest { hart }
    }
}

impl BusDevice for SifiveTest {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        // 16-bit writes carry just the command (OpenSBI resets with `writew`), 32-bit writes
        // a status code in the upper half too; QEMU's sifive_test accepts both.
        if offset != 0 || data.len() < 2 {
            log::debug!(
                "sifive_test: ignored {}-byte write at {offset:#x}",
                data.len()
            );
            return;
        }
        let value = le_value(data) as u32;
        let code = value >> 16;
        match value & 0xFFFF {
            FINISHER_PASS => self.hart.request_exit(ExitRequest::Poweroff(0)),
            FINISHER_FAIL => {
                let code = if code == 0 { 1 } else { code as i32 };
                self.hart.request_exit(ExitRequest::Poweroff(code));
            }
            FINISHER_RESET => self.hart.request_exit(ExitRequest::Reset),
            _ => log::debug!("sifive_test: ignored value {value:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{rd, wr, wr32};

    #[test]
    fn sixteen_bit_writes_carry_the_command() {
        let (h, mut d) = dev();
        crate::bus::BusDevice::write(&mut d, 0, &0x7777u16.to_le_bytes());
        assert_eq!(h.exit_request(), Some(ExitRequest::Reset));
        let (h, mut d) = dev();
        crate::bus::BusDevice::write(&mut d, 0, &0x5555u16.to_le_bytes());
        assert_eq!(h.exit_request(), Some(ExitRequest::Poweroff(0)));
        let (h, mut d) = dev();
        crate::bus::BusDevice::write(&mut d, 0, &[0x77]);
        assert_eq!(h.exit_request(), None, "a byte is not a command");
    }

    fn dev() -> (Arc<HartInterrupts>, SifiveTest) {
        let h = Arc::new(HartInterrupts::new());
        (h.clone(), SifiveTest::new(h))
    }

    #[test]
    fn pass_powers_off_with_zero() {
        let (h, mut d) = dev();
        wr32(&mut d, 0, 0x5555);
        assert_eq!(h.exit_request(), Some(ExitRequest::Poweroff(0)));
        assert_eq!(rd(&mut d, 0, 4), 0);
    }

    #[test]
    fn fail_reports_code_and_zero_as_one() {
        let (h, mut d) = dev();
        wr32(&mut d, 0, 0x3333 | (42 << 16));
        assert_eq!(h.exit_request(), Some(ExitRequest::Poweroff(42)));
        let (h, mut d) = dev();
        wr32(&mut d, 0, 0x3333);
        assert_eq!(h.exit_request(), Some(ExitRequest::Poweroff(1)));
    }

    #[test]
    fn reset_and_ignored_values() {
        let (h, mut d) = dev();
        wr32(&mut d, 0, 0x1234);
        wr32(&mut d, 4, 0x5555);
        wr(&mut d, 0, 1, 0x55);
        assert_eq!(h.exit_request(), None);
        wr(&mut d, 0, 8, 0x7777);
        assert_eq!(h.exit_request(), Some(ExitRequest::Reset));
    }
}
