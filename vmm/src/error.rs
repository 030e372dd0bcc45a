//! Errors of the `vmm` binary and the exit status each maps to.

use std::path::PathBuf;

use crate::cli::BadValue;
use crate::memory::MemoryError;

/// Exit status: VMM or user error.
pub const EXIT_ERROR: i32 = 1;
/// Exit status: usage error (clap).
pub const EXIT_USAGE: i32 = 2;
/// Exit status: the guest crashed the VM.
pub const EXIT_GUEST_CRASH: i32 = 3;
/// Exit status: `--timeout` expired.
pub const EXIT_TIMEOUT: i32 = 124;
/// Exit status base for a stop by signal N (128 + N).
pub const EXIT_SIGNAL_BASE: i32 = 128;

/// Everything that makes `vmm` fail. Each message is one line: the problem, then the fix.
#[derive(Debug, thiserror::Error)]
pub enum VmmError {
    /// A bad command-line value.
    #[error(transparent)]
    Bad(#[from] BadValue),
    /// Guest RAM could not be set up.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// A file could not be read.
    #[error("{what} {}: {err}; check the path", path.display())]
    Read {
        /// What the file is (`kernel`, `--loader image`).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        err: std::io::Error,
    },
    /// An image could not be loaded.
    #[error("{what} {}: {err}", path.display())]
    Load {
        /// What the image is.
        what: &'static str,
        /// Its path (or `(built-in)`).
        path: PathBuf,
        /// Why.
        err: boards::loader::LoadError,
    },
    /// The board could not be built.
    #[error("{0}")]
    Board(String),
    /// The accelerator cannot run this board.
    #[error("{0}")]
    Accel(String),
    /// The guest crashed the VM (exit status 3).
    #[error("the guest crashed the VM: {0}")]
    GuestCrash(String),
}

impl VmmError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            VmmError::GuestCrash(_) => EXIT_GUEST_CRASH,
            _ => EXIT_ERROR,
        }
    }

    /// The message as exactly one line.
    pub fn one_line(&self) -> String {
        one_line(&self.to_string())
    }
}

/// Joins the lines of `s` with `; ` so that an error is always a single line.
pub fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_single_line() {
        let e = VmmError::GuestCrash("KVM internal error".into());
        assert_eq!(e.exit_code(), EXIT_GUEST_CRASH);
        let e = VmmError::Bad(BadValue("a\n  b\n".into()));
        assert_eq!(e.exit_code(), EXIT_ERROR);
        assert_eq!(e.one_line(), "a; b");
        let e = VmmError::Read {
            what: "kernel",
            path: "/x".into(),
            err: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(e.one_line().starts_with("kernel /x: "), "{}", e.one_line());
    }
}
