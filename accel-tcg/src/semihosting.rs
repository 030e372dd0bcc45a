//! RISC-V semihosting: `slli x0,x0,0x1f; ebreak; srai x0,x0,7` with the operation in a0 and
//! its parameter in a1; the result goes to a0. Guest memory is accessed through the MMU at the
//! current privilege; bad pointers give -1, never a panic.

use std::io::Write;

use crate::cpu::Cpu;

const SLLI_X0_1F: u32 = 0x01f0_1013;
const EBREAK: u32 = 0x0010_0073;
const SRAI_X0_7: u32 = 0x4070_5013;

/// Semihosting operation numbers.
#[allow(missing_docs)]
pub mod op {
    pub const SYS_OPEN: u64 = 0x01;
    pub const SYS_CLOSE: u64 = 0x02;
    pub const SYS_WRITEC: u64 = 0x03;
    pub const SYS_WRITE0: u64 = 0x04;
    pub const SYS_WRITE: u64 = 0x05;
    pub const SYS_READ: u64 = 0x06;
    pub const SYS_READC: u64 = 0x07;
    pub const SYS_ISERROR: u64 = 0x08;
    pub const SYS_ISTTY: u64 = 0x09;
    pub const SYS_SEEK: u64 = 0x0a;
    pub const SYS_FLEN: u64 = 0x0c;
    pub const SYS_CLOCK: u64 = 0x10;
    pub const SYS_TIME: u64 = 0x11;
    pub const SYS_ERRNO: u64 = 0x13;
    pub const SYS_GET_CMDLINE: u64 = 0x15;
    pub const SYS_HEAPINFO: u64 = 0x16;
    pub const SYS_EXIT: u64 = 0x18;
    pub const SYS_EXIT_EXTENDED: u64 = 0x20;
    pub const SYS_ELAPSED: u64 = 0x30;
    pub const SYS_TICKFREQ: u64 = 0x31;
}

/// `ADP_Stopped_ApplicationExit`.
pub const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

const HANDLE_STDIN: u64 = 1;
const HANDLE_STDOUT: u64 = 2;
const HANDLE_STDERR: u64 = 3;
const EBADF: u64 = 9;
const ENOENT: u64 = 2;
const EFAULT: u64 = 14;
/// Longest string or buffer a single call transfers.
const MAX_LEN: u64 = 1 << 20;

impl Cpu {
    /// Whether the `ebreak` at pc is the middle of the semihosting sequence.
    pub(crate) fn is_semihosting_call(&mut self) -> bool {
        let pc = self.pc;
        let pre = pc.wrapping_sub(4);
        let post = pc.wrapping_add(4);
        if pre & !0xfff != post & !0xfff {
            return false;
        }
        matches!(
            (
                self.fetch_insn(pre),
                self.fetch_insn(pc),
                self.fetch_insn(post)
            ),
            (Ok(SLLI_X0_1F), Ok(EBREAK), Ok(SRAI_X0_7))
        )
    }

    fn semi_word(&mut self, addr: u64) -> Option<u64> {
        self.load(addr, 8).ok()
    }

    fn semi_bytes(&mut self, addr: u64, len: u64) -> Option<Vec<u8>> {
        if len > MAX_LEN {
            return None;
        }
        let mut v = Vec::with_capacity(len as usize);
        for i in 0..len {
            v.push(self.load(addr.wrapping_add(i), 1).ok()? as u8);
        }
        Some(v)
    }

    fn semi_string(&mut self, addr: u64) -> Option<Vec<u8>> {
        let mut v = Vec::new();
        for i in 0..MAX_LEN {
            let b = self.load(addr.wrapping_add(i), 1).ok()? as u8;
            if b == 0 {
                return Some(v);
            }
            v.push(b);
        }
        None
    }

    fn console_write(&mut self, bytes: &[u8]) {
        // Host console errors (e.g. a closed pipe) must not stop the guest.
        let _ = self.console.write_all(bytes);
        let _ = self.console.flush();
    }

    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        match self.console_in.as_mut() {
            Some(r) => r.read(buf).unwrap_or(0),
            None => 0,
        }
    }

    fn semi_fail(&mut self, errno: u64) -> u64 {
        self.semi_errno = errno;
        u64::MAX
    }

    /// Performs the semihosting call in a0/a1 and writes the result to a0.
    pub(crate) fn semihosting_call(&mut self) {
        let opn = self.x[10];
        let a1 = self.x[11];
        let r = match opn {
            op::SYS_OPEN => self.semi_open(a1),
            op::SYS_CLOSE => 0,
            op::SYS_WRITEC => match self.load(a1, 1) {
                Ok(b) => {
                    self.console_write(&[b as u8]);
                    0
                }
                Err(_) => self.semi_fail(EFAULT),
            },
            op::SYS_WRITE0 => match self.semi_string(a1) {
                Some(s) => {
                    self.console_write(&s);
                    0
                }
                None => self.semi_fail(EFAULT),
            },
            op::SYS_WRITE => self.semi_write(a1),
            op::SYS_READ => self.semi_read(a1),
            op::SYS_READC => {
                let mut b = [0u8; 1];
                if self.console_read(&mut b) == 1 {
                    b[0] as u64
                } else {
                    u64::MAX
                }
            }
            op::SYS_ISERROR => ((self.semi_word(a1).unwrap_or(0) as i64) < 0) as u64,
            op::SYS_ISTTY => match self.semi_word(a1) {
                Some(HANDLE_STDIN..=HANDLE_STDERR) => 1,
                _ => self.semi_fail(EBADF),
            },
            op::SYS_SEEK | op::SYS_FLEN => self.semi_fail(EBADF),
            op::SYS_CLOCK => (self.start_time.elapsed().as_millis() / 10) as u64,
            op::SYS_TIME => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            op::SYS_ERRNO => self.semi_errno,
            op::SYS_GET_CMDLINE => {
                // Block {buffer, length}: an empty command line.
                let ok = self
                    .semi_word(a1)
                    .map(|buf| {
                        self.store(buf, 1, 0).is_ok()
                            && self.store(a1.wrapping_add(8), 8, 0).is_ok()
                    })
                    .unwrap_or(false);
                if ok {
                    0
                } else {
                    self.semi_fail(EFAULT)
                }
            }
            op::SYS_HEAPINFO => {
                // Block pointer → four words; zeros mean "unknown" to the C library.
                let ok = self
                    .semi_word(a1)
                    .map(|blk| (0..4).all(|k| self.store(blk.wrapping_add(8 * k), 8, 0).is_ok()))
                    .unwrap_or(false);
                if ok {
                    0
                } else {
                    self.semi_fail(EFAULT)
                }
            }
            op::SYS_EXIT | op::SYS_EXIT_EXTENDED => {
                let code = match (self.semi_word(a1), self.semi_word(a1.wrapping_add(8))) {
                    (Some(ADP_STOPPED_APPLICATION_EXIT), Some(sub)) => sub as i32,
                    (Some(_), Some(_)) => 1,
                    // An unreadable block is a failed call (as QEMU does), not an exit.
                    _ => {
                        self.x[10] = self.semi_fail(EFAULT);
                        return;
                    }
                };
                let _ = self.console.flush();
                self.semi_exit = Some(code);
                self.break_block = true;
                return;
            }
            op::SYS_ELAPSED => {
                let t = self.instret;
                if self.store(a1, 8, t).is_ok() {
                    0
                } else {
                    self.semi_fail(EFAULT)
                }
            }
            op::SYS_TICKFREQ => self.clock.freq_hz(),
            _ => {
                log::warn!("unsupported semihosting call {opn:#x}");
                u64::MAX
            }
        };
        self.x[10] = r;
    }

    fn semi_open(&mut self, a1: u64) -> u64 {
        let (Some(name), Some(mode), Some(len)) = (
            self.semi_word(a1),
            self.semi_word(a1.wrapping_add(8)),
            self.semi_word(a1.wrapping_add(16)),
        ) else {
            return self.semi_fail(EFAULT);
        };
        let Some(name) = self.semi_bytes(name, len) else {
            return self.semi_fail(EFAULT);
        };
        if name != b":tt" {
            return self.semi_fail(ENOENT);
        }
        match mode {
            0..=3 => HANDLE_STDIN,
            4..=7 => HANDLE_STDOUT,
            _ => HANDLE_STDERR,
        }
    }

    fn semi_write(&mut self, a1: u64) -> u64 {
        let (Some(h), Some(buf), Some(len)) = (
            self.semi_word(a1),
            self.semi_word(a1.wrapping_add(8)),
            self.semi_word(a1.wrapping_add(16)),
        ) else {
            return self.semi_fail(EFAULT);
        };
        if h != HANDLE_STDOUT && h != HANDLE_STDERR {
            self.semi_fail(EBADF);
            return len;
        }
        match self.semi_bytes(buf, len) {
            Some(b) => {
                self.console_write(&b);
                0
            }
            None => self.semi_fail(EFAULT),
        }
    }

    fn semi_read(&mut self, a1: u64) -> u64 {
        let (Some(h), Some(buf), Some(len)) = (
            self.semi_word(a1),
            self.semi_word(a1.wrapping_add(8)),
            self.semi_word(a1.wrapping_add(16)),
        ) else {
            return self.semi_fail(EFAULT);
        };
        if h != HANDLE_STDIN {
            return self.semi_fail(EBADF);
        }
        let mut tmp = vec![0u8; len.min(MAX_LEN) as usize];
        let n = self.console_read(&mut tmp);
        for (i, b) in tmp[..n].iter().enumerate() {
            if self
                .store(buf.wrapping_add(i as u64), 1, *b as u64)
                .is_err()
            {
                return self.semi_fail(EFAULT);
            }
        }
        len - n as u64
    }
}
