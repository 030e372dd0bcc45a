//! Serial console backends: stdout writer, file writer, discarding writer; the stdin reader
//! thread with raw terminal mode and the Ctrl-A escape (x quits, h helps, Ctrl-A sends Ctrl-A).

use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use devices::bus::lock;

use crate::cli::SerialSpec;
use crate::error::VmmError;
use crate::stop::{StopReason, StopState};

/// Writes to stdout and flushes after every write, so prompts without a newline appear at once.
pub struct StdoutWriter;

impl Write for StdoutWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = io::stdout().lock();
        out.write_all(buf)?;
        out.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

/// The writer UART output goes to, for `spec`.
pub fn output(spec: &SerialSpec) -> Result<Box<dyn Write + Send>, VmmError> {
    Ok(match spec {
        SerialSpec::Stdio => Box::new(StdoutWriter),
        SerialSpec::None => Box::new(io::sink()),
        SerialSpec::File(path) => {
            let f = File::create(path).map_err(|err| VmmError::Read {
                what: "--serial file",
                path: path.clone(),
                err,
            })?;
            Box::new(io::LineWriter::new(f))
        }
    })
}

/// The escape character: Ctrl-A.
pub const ESCAPE: u8 = 0x01;

/// What a console input byte means after the Ctrl-A escape is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Send this byte to the guest.
    Byte(u8),
    /// Ctrl-A x: quit.
    Quit,
    /// Ctrl-A h: print the escape help.
    Help,
    /// Consumed (first half of an escape, or an unknown escape).
    Nothing,
}

/// The Ctrl-A escape state machine.
#[derive(Debug, Default)]
pub struct EscapeFilter {
    after_escape: bool,
}

impl EscapeFilter {
    /// Interprets one input byte.
    pub fn feed(&mut self, b: u8) -> Input {
        if self.after_escape {
            self.after_escape = false;
            return match b {
                b'x' | b'X' => Input::Quit,
                b'h' | b'H' | b'?' => Input::Help,
                ESCAPE => Input::Byte(ESCAPE),
                _ => Input::Nothing,
            };
        }
        if b == ESCAPE {
            self.after_escape = true;
            Input::Nothing
        } else {
            Input::Byte(b)
        }
    }
}

/// The escape help line.
pub const ESCAPE_HELP: &str = "\r\nC-a x    quit\r\nC-a h    this help\r\nC-a C-a  send C-a\r\n";

/// The terminal settings to restore at exit (set while stdin is in raw mode).
static SAVED_TERMIOS: Mutex<Option<libc::termios>> = Mutex::new(None);

/// Whether stdin is a terminal.
pub fn stdin_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(libc::STDIN_FILENO) == 1 }
}

/// Puts the stdin terminal in raw input mode (no line editing, echo or signals from keys; output
/// processing kept). Restored by [`restore_terminal`] or when the returned guard drops.
pub fn enter_raw_mode() -> io::Result<RawModeGuard> {
    // SAFETY: zeroed termios filled by tcgetattr.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor and struct.
    if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    *lock(&SAVED_TERMIOS) = Some(t);
    let mut raw = t;
    raw.c_iflag &= !(libc::IGNBRK
        | libc::BRKINT
        | libc::PARMRK
        | libc::ISTRIP
        | libc::INLCR
        | libc::IGNCR
        | libc::ICRNL
        | libc::IXON);
    raw.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
    raw.c_cflag &= !(libc::CSIZE | libc::PARENB);
    raw.c_cflag |= libc::CS8;
    raw.c_cc[libc::VMIN] = 1;
    raw.c_cc[libc::VTIME] = 0;
    // SAFETY: valid descriptor and struct.
    if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } != 0 {
        let e = io::Error::last_os_error();
        lock(&SAVED_TERMIOS).take();
        return Err(e);
    }
    Ok(RawModeGuard)
}

/// Restores the terminal settings saved by [`enter_raw_mode`], if any (idempotent).
pub fn restore_terminal() {
    if let Some(t) = lock(&SAVED_TERMIOS).take() {
        // SAFETY: valid descriptor and the struct saved earlier.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) };
    }
}

/// Restores the terminal when dropped.
#[derive(Debug)]
pub struct RawModeGuard;

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Feeds bytes to the guest; returns how many were accepted (the rest is retried).
pub type PushFn = Box<dyn FnMut(&[u8]) -> usize + Send>;

/// Forwards `input` to `push` until end of input or a stop. With `escapes`, Ctrl-A x stops the
/// guest through `stop` and Ctrl-A h prints the escape help to `echo`.
pub fn forward_input(
    mut input: impl Read,
    mut push: PushFn,
    escapes: bool,
    stop: &StopState,
    echo: &mut dyn Write,
) {
    let mut filter = EscapeFilter::default();
    let mut buf = [0u8; 256];
    let mut out = Vec::with_capacity(256);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::warn!("console input: {e}");
                return;
            }
        };
        out.clear();
        let mut quit = false;
        for &b in &buf[..n] {
            match if escapes {
                filter.feed(b)
            } else {
                Input::Byte(b)
            } {
                Input::Byte(b) => out.push(b),
                Input::Quit => {
                    quit = true;
                    break;
                }
                Input::Help => {
                    let _ = echo.write_all(ESCAPE_HELP.as_bytes());
                    let _ = echo.flush();
                }
                Input::Nothing => {}
            }
        }
        let mut rest = &out[..];
        while !rest.is_empty() {
            if stop.reason().is_some() {
                return;
            }
            let taken = push(rest).min(rest.len());
            rest = &rest[taken..];
            if !rest.is_empty() {
                // The guest's receive FIFO is full: wait for it to read.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        if quit {
            stop.stop(StopReason::UserQuit);
            return;
        }
    }
}

/// Starts the stdin reader thread feeding `push`; escapes are on when stdin is a terminal.
pub fn spawn_stdin_thread(push: PushFn, stop: Arc<StopState>) -> io::Result<()> {
    let escapes = stdin_is_tty();
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || forward_input(io::stdin(), push, escapes, &stop, &mut StdoutWriter))
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut f = EscapeFilter::default();
        assert_eq!(f.feed(b'a'), Input::Byte(b'a'));
        assert_eq!(f.feed(ESCAPE), Input::Nothing);
        assert_eq!(f.feed(ESCAPE), Input::Byte(ESCAPE));
        assert_eq!(f.feed(ESCAPE), Input::Nothing);
        assert_eq!(f.feed(b'h'), Input::Help);
        assert_eq!(f.feed(ESCAPE), Input::Nothing);
        assert_eq!(f.feed(b'z'), Input::Nothing);
        assert_eq!(f.feed(b'x'), Input::Byte(b'x'));
        assert_eq!(f.feed(ESCAPE), Input::Nothing);
        assert_eq!(f.feed(b'x'), Input::Quit);
    }

    #[test]
    fn forwarding_retries_a_full_fifo_and_quits_on_ctrl_a_x() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let mut calls = 0;
        // Accepts one byte per call, and nothing every other call.
        let push: PushFn = Box::new(move |b: &[u8]| {
            calls += 1;
            if calls % 2 == 0 {
                return 0;
            }
            lock(&g).push(b[0]);
            1
        });
        let stop = StopState::new();
        let mut echo = Vec::new();
        let input: &[u8] = b"hey\x01\x01\x01hZ\x01xafter";
        forward_input(input, push, true, &stop, &mut echo);
        assert_eq!(&*lock(&got), b"hey\x01Z");
        assert_eq!(stop.reason(), Some(StopReason::UserQuit));
        assert!(String::from_utf8_lossy(&echo).contains("C-a x"));
    }

    #[test]
    fn without_escapes_everything_passes() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let push: PushFn = Box::new(move |b: &[u8]| {
            lock(&g).extend_from_slice(b);
            b.len()
        });
        let stop = StopState::new();
        forward_input(&b"a\x01xb"[..], push, false, &stop, &mut Vec::new());
        assert_eq!(&*lock(&got), b"a\x01xb");
        assert_eq!(stop.reason(), None);
    }

    #[test]
    fn file_output_and_bad_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        let mut w = output(&SerialSpec::File(p.clone())).unwrap();
        w.write_all(b"hi\n").unwrap();
        drop(w);
        assert_eq!(std::fs::read(&p).unwrap(), b"hi\n");
        let e = output(&SerialSpec::File("/nonexistent/dir/out".into()))
            .err()
            .expect("error");
        assert!(e.to_string().contains("/nonexistent/dir/out"), "{e}");
    }
}
