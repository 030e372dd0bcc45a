//! `vmm run`: validate every input, map guest RAM, build the board and load its images, start
//! the console, signal and timeout threads, run the accelerator, and turn the way the guest
//! ended into an exit status. Board-specific steps live in per-board modules ([`crate::g233`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use boards::BoardInfo;
use devices::clock::ClockMode;

use crate::accel::{self, Accel, GuestExit};
use crate::cli::{self, BadValue, BiosSpec, RunArgs, SerialSpec};
use crate::error::VmmError;
use crate::image::Image;
use crate::memory::{self, MemBackend, MemoryConfig};
use crate::serial;
use crate::stop::{self, StopReason, StopState};

/// `vmm run`'s inputs, validated and with every file read.
pub struct Resolved {
    /// The board.
    pub board: &'static BoardInfo,
    /// Guest RAM size.
    pub ram_size: u64,
    /// How to back RAM.
    pub mem: MemoryConfig,
    /// Serial console.
    pub serial: SerialSpec,
    /// `--flash` chip selects and images.
    pub flash: Vec<(usize, PathBuf)>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// Guest time source.
    pub clock: ClockMode,
    /// The accelerator and why it was chosen.
    pub accel: (Accel, String),
    /// Semihosting on.
    pub semihosting: bool,
    /// The kernel (or bare-metal program); `None` when only `--loader` images are given.
    pub kernel: Option<Image>,
    /// `--bios` as given (`None`: the board's rule decides).
    pub bios: Option<BiosSpec>,
    /// `--initrd`.
    pub initrd: Option<Image>,
    /// `--append`.
    pub append: Option<String>,
    /// `--loader` images.
    pub loaders: Vec<Image>,
    /// `--dumpdtb`: write the device tree here and exit.
    pub dumpdtb: Option<PathBuf>,
    /// `--no-reboot`: a guest reset ends the run.
    pub no_reboot: bool,
    /// `--jit`: Cranelift tier on.
    pub jit: bool,
    /// `--jit-threshold`.
    pub jit_threshold: u32,
    /// `--jit-baseline`.
    pub jit_baseline: accel_tcg::jit::BaselineMode,
    /// `-v` count.
    pub verbose: u8,
}

/// Prints a `-v` note on stderr.
pub fn note(verbose: u8, msg: &str) {
    if verbose > 0 {
        eprintln!("vmm: {msg}");
    }
}

/// Validates `args` and reads the images, in the order a user would fix things.
pub fn resolve(args: &RunArgs, verbose: u8) -> Result<Resolved, VmmError> {
    let board = boards::find(&args.board).ok_or_else(|| {
        let names: Vec<&str> = boards::list().iter().map(|b| b.name).collect();
        BadValue(format!(
            "unknown board '{}'; use one of: {} (see vmm boards)",
            args.board,
            names.join(", ")
        ))
    })?;
    let ram_size = match &args.memory {
        Some(s) => cli::parse_size(s).map_err(|e| BadValue(format!("--memory: {e}")))?,
        None => board.default_ram,
    };
    if ram_size == 0 {
        return Err(memory::MemoryError::ZeroSize.into());
    }
    let backend = args.mem_backend.unwrap_or(if args.mem_path.is_some() {
        MemBackend::File
    } else {
        MemBackend::Anon
    });
    let mem = MemoryConfig {
        backend,
        path: args.mem_path.clone(),
        hugepages: args.hugepages,
        prealloc: args.mem_prealloc,
        shared: args.mem_shared,
    };
    let serial = cli::parse_serial(&args.serial)?;
    let flash = args
        .flash
        .iter()
        .map(|s| cli::parse_flash(s))
        .collect::<Result<Vec<_>, _>>()?;
    let timeout = args
        .timeout
        .as_deref()
        .map(cli::parse_timeout)
        .transpose()?;
    let clock = match args.icount {
        Some(0) => {
            return Err(BadValue(
                "--icount 0: instructions per tick must be at least 1; e.g. --icount 100".into(),
            )
            .into())
        }
        Some(n) => ClockMode::Icount { insns_per_tick: n },
        None => ClockMode::Host,
    };
    let bios = args.bios.as_deref().map(cli::parse_bios).transpose()?;
    let accel = accel::choose(args.accel, board.name, board.isa)?;
    note(verbose, &format!("accelerator {} ({})", accel.0, accel.1));
    // Without --kernel: the built-in demo, unless --loader images are the program (as with
    // QEMU's generic loader and no -kernel).
    let (kernel, builtin) = match &args.kernel {
        Some(p) => (Some(Image::read("kernel", p)?), false),
        None if !args.loader.is_empty() => (None, false),
        None => (Some(Image::builtin()), true),
    };
    let initrd = args
        .initrd
        .as_deref()
        .map(|p| Image::read("initrd", p))
        .transpose()?;
    let loaders = args
        .loader
        .iter()
        .map(|p| Image::read("--loader image", p))
        .collect::<Result<Vec<_>, _>>()?;
    if builtin && !args.semihosting {
        note(verbose, "built-in firmware: semihosting on");
    }
    Ok(Resolved {
        board,
        ram_size,
        mem,
        serial,
        flash,
        timeout,
        clock,
        accel,
        semihosting: args.semihosting || builtin,
        kernel,
        bios,
        initrd,
        append: args.append.clone(),
        loaders,
        dumpdtb: args.dumpdtb.clone(),
        jit: args.jit == cli::OnOff::On,
        jit_baseline: args.jit_baseline.into(),
        jit_threshold: match args.jit_threshold {
            Some(0) => {
                return Err(BadValue(
                    "--jit-threshold 0: a region must run at least once before it is compiled; \
                     e.g. --jit-threshold 50"
                        .into(),
                )
                .into())
            }
            Some(n) => n,
            None => accel_tcg::jit::DEFAULT_THRESHOLD,
        },
        no_reboot: args.no_reboot,
        verbose,
    })
}

/// What a board built for a run: the machine for the accelerator, and what the run loop needs
/// from the board afterwards.
pub struct Built {
    /// The machine handed to the accelerator.
    pub machine: accel::Machine,
    /// Feeds console input to the board's UART.
    pub serial_input: serial::PushFn,
    /// Saves persistent state (flash images); called at every exit after the board exists.
    pub flush: Box<dyn Fn() -> Result<(), String>>,
    /// The generated device tree, for `--dumpdtb`.
    pub device_tree: Vec<u8>,
}

/// A writer shared by every incarnation of the board across guest resets (the serial file is
/// opened once, so a reboot appends to it).
#[derive(Clone)]
pub(crate) struct SharedWriter(pub(crate) Arc<std::sync::Mutex<Box<dyn std::io::Write + Send>>>);

impl std::io::Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        devices::bus::lock(&self.0).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        devices::bus::lock(&self.0).flush()
    }
}

/// Where console input goes: the UART of the board incarnation currently running.
pub(crate) type InputTarget = Arc<std::sync::Mutex<Option<serial::PushFn>>>;

/// Runs the guest described by `args`; returns the exit status. A guest reset rebuilds the
/// board and reloads every image (a cold reboot), unless `--no-reboot`.
pub fn run(args: &RunArgs, verbose: u8, stop: Arc<StopState>) -> Result<i32, VmmError> {
    let r = resolve(args, verbose)?;
    crate::microvm::check_options(args, r.board.name)?;
    #[cfg(target_arch = "x86_64")]
    if r.board.name == "microvm" {
        return crate::microvm::run(args, &r, stop);
    }
    let regions: Vec<(u64, u64)> = match r.board.name {
        "g233" => crate::g233::ram_regions(r.ram_size),
        other => return Err(VmmError::Board(format!("board {other} has no run support"))),
    };
    let serial_out = SharedWriter(Arc::new(std::sync::Mutex::new(serial::output(&r.serial)?)));
    let input: InputTarget = Arc::new(std::sync::Mutex::new(None));
    let mut host_threads_started = false;
    let mut _raw = None;
    loop {
        let ram = memory::create(&regions, &r.mem)?;
        note(verbose, &ram.summary());
        let built = match r.board.name {
            "g233" => crate::g233::build(&r, ram.mem, Box::new(serial_out.clone()))?,
            other => return Err(VmmError::Board(format!("board {other} has no run support"))),
        };
        if let Some(path) = &r.dumpdtb {
            std::fs::write(path, &built.device_tree).map_err(|e| -> VmmError {
                BadValue(format!(
                    "--dumpdtb {}: cannot write it: {e}; check the directory exists and is \
                     writable",
                    path.display()
                ))
                .into()
            })?;
            note(
                verbose,
                &format!("device tree written to {}", path.display()),
            );
            return Ok(0);
        }
        *devices::bus::lock(&input) = Some(built.serial_input);
        stop.attach(built.machine.hart.clone());
        if !host_threads_started {
            _raw = start_host_threads(&r, input.clone(), stop.clone())?;
            host_threads_started = true;
        }
        let result = run_machine(&r, built.machine, stop.clone());
        *devices::bus::lock(&input) = None;
        let flushed = (built.flush)();
        let exit = result?;
        if let Err(e) = flushed {
            eprintln!(
                "vmm: error: saving flash images failed: {e}; check the files and free space"
            );
            let code = exit_code(exit, stop.reason(), r.verbose);
            return Ok(if code == 0 { 1 } else { code });
        }
        if exit == GuestExit::Reset && !r.no_reboot && stop.reason().is_none() {
            note(verbose, "guest reset: rebooting the board");
            continue;
        }
        return Ok(exit_code(exit, stop.reason(), r.verbose));
    }
}

/// Starts what lives across guest resets: the `--timeout` thread and the console input thread
/// (with the terminal in raw mode, restored when the returned guard drops).
pub(crate) fn start_host_threads(
    r: &Resolved,
    input: InputTarget,
    stop: Arc<StopState>,
) -> Result<Option<serial::RawModeGuard>, VmmError> {
    if let Some(t) = r.timeout {
        stop::spawn_timeout(stop.clone(), t)
            .map_err(|e| VmmError::Board(format!("cannot start the timeout thread: {e}")))?;
    }
    if r.serial != SerialSpec::Stdio {
        return Ok(None);
    }
    let raw = if serial::stdin_is_tty() {
        serial::enter_raw_mode()
            .map_err(|e| log::warn!("cannot put the terminal in raw mode: {e}"))
            .ok()
    } else {
        None
    };
    let push: serial::PushFn = Box::new(move |bytes: &[u8]| {
        match devices::bus::lock(&input).as_mut() {
            Some(push) => push(bytes),
            // Between two incarnations of the board: keep the bytes for the next one.
            None => 0,
        }
    });
    serial::spawn_stdin_thread(push, stop)
        .map_err(|e| VmmError::Board(format!("cannot start the console thread: {e}")))?;
    Ok(raw)
}

fn run_machine(
    r: &Resolved,
    machine: accel::Machine,
    stop: Arc<StopState>,
) -> Result<GuestExit, VmmError> {
    let opts = accel::RunOptions {
        semihosting: r.semihosting,
        jit: r.jit,
        jit_threshold: r.jit_threshold,
        jit_baseline: r.jit_baseline,
        verbose: r.verbose,
        console: Box::new(serial::StdoutWriter),
        // With a stdio serial console stdin belongs to the UART.
        console_in: if r.serial == SerialSpec::Stdio {
            None
        } else {
            Some(Box::new(std::io::stdin()))
        },
    };
    if stop.reason().is_some() {
        // Stopped while setting up (e.g. during a long --mem-prealloc).
        return Ok(GuestExit::HostStop);
    }
    accel::run(r.accel.0, machine, opts)
}

/// A guest status as a process exit status: modulo 256 like `exit(3)`, except that a failure
/// must not read as success (256 becomes 1, not 0).
pub fn process_status(code: i32) -> i32 {
    match code & 0xff {
        0 if code != 0 => 1,
        low => low,
    }
}

/// The process exit status for how the guest ended (`reason`: the host's stop reason, if any).
pub fn exit_code(exit: GuestExit, reason: Option<StopReason>, verbose: u8) -> i32 {
    match exit {
        GuestExit::Semihosting(code) => {
            note(
                verbose,
                &format!("guest exited through semihosting with {code}"),
            );
            process_status(code)
        }
        GuestExit::Poweroff(code) => {
            note(verbose, &format!("guest powered off with status {code}"));
            process_status(code)
        }
        // The host stopped us (timeout, signal) while the guest was resetting: the host's
        // reason is the status.
        GuestExit::Reset if reason.is_some() => exit_code(GuestExit::HostStop, reason, verbose),
        GuestExit::Reset => {
            note(verbose, "guest reset with --no-reboot: exiting");
            0
        }
        GuestExit::HostStop => match reason {
            Some(StopReason::Timeout(t)) => {
                eprintln!(
                    "vmm: timeout: the guest ran for {}s (--timeout) and was stopped",
                    t.as_secs_f64()
                );
                StopReason::Timeout(t).exit_code()
            }
            Some(r @ StopReason::Signal(n)) => {
                note(verbose, &format!("stopped by signal {n}"));
                r.exit_code()
            }
            Some(StopReason::UserQuit) => 0,
            None => {
                log::warn!("the accelerator stopped without a host request");
                0
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_run_args as args;

    #[test]
    fn defaults_resolve_to_the_builtin_guest() {
        let r = resolve(&args(&[]), 0).unwrap();
        assert_eq!(r.board.name, "g233");
        assert_eq!(r.ram_size, r.board.default_ram);
        assert!(r.semihosting);
        assert_eq!(r.kernel.unwrap().path, PathBuf::from("(built-in)"));
        assert_eq!(r.mem.backend, MemBackend::Anon);
        assert_eq!(r.clock, ClockMode::Host);
    }

    #[test]
    fn values_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("k.bin");
        std::fs::write(&k, [1, 2, 3]).unwrap();
        let ks = k.to_str().unwrap();
        let r = resolve(
            &args(&[
                "--kernel",
                ks,
                "--memory",
                "64M",
                "--mem-path",
                "/tmp",
                "--icount",
                "--timeout",
                "2.5",
                "--serial",
                "none",
                "--accel",
                "tcg",
            ]),
            0,
        )
        .unwrap();
        assert_eq!(r.ram_size, 64 << 20);
        assert_eq!(r.mem.backend, MemBackend::File);
        assert_eq!(
            r.clock,
            ClockMode::Icount {
                insns_per_tick: 100
            }
        );
        assert_eq!(r.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(r.serial, SerialSpec::None);
        assert!(!r.semihosting);
        assert_eq!(&*r.kernel.unwrap().bytes, &[1, 2, 3]);
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        for (extra, needle) in [
            (&["--board", "nope"][..], "unknown board 'nope'"),
            (&["--memory", "lots"][..], "invalid size 'lots'"),
            (&["--memory", "0"][..], "size is 0"),
            (&["--serial", "pty"][..], "--serial"),
            (&["--flash", "zero=x"][..], "--flash"),
            (&["--timeout=-1"][..], "--timeout"),
            (&["--icount", "0"][..], "--icount 0"),
            (&["--kernel", "/nonexistent/k"][..], "kernel /nonexistent/k"),
            (&["--loader", "/nonexistent/l"][..], "/nonexistent/l"),
        ] {
            let e = resolve(&args(extra), 0).err().expect("an error");
            let msg = e.one_line();
            assert!(msg.contains(needle), "{extra:?}: {msg}");
            assert!(!msg.contains('\n'));
            assert_eq!(e.exit_code(), 1);
        }
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(GuestExit::Semihosting(7), None, 0), 7);
        assert_eq!(exit_code(GuestExit::Semihosting(256), None, 0), 1);
        assert_eq!(exit_code(GuestExit::Semihosting(-1), None, 0), 255);
        assert_eq!(exit_code(GuestExit::Poweroff(0x3000), None, 0), 1);
        assert_eq!(exit_code(GuestExit::Poweroff(3), None, 0), 3);
        assert_eq!(exit_code(GuestExit::Poweroff(0), None, 0), 0);
        assert_eq!(
            exit_code(
                GuestExit::HostStop,
                Some(StopReason::Timeout(Duration::from_secs(1))),
                0
            ),
            124
        );
        assert_eq!(
            exit_code(GuestExit::HostStop, Some(StopReason::Signal(2)), 0),
            130
        );
        assert_eq!(
            exit_code(GuestExit::HostStop, Some(StopReason::UserQuit), 0),
            0
        );
        // A reset racing a host stop reports the host's reason.
        assert_eq!(exit_code(GuestExit::Reset, None, 0), 0);
        assert_eq!(
            exit_code(GuestExit::Reset, Some(StopReason::Signal(15)), 0),
            143
        );
    }
}
