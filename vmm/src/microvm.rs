//! Running the x86_64 `microvm` board under KVM: its options (`--drive`, `--rng`, `--cpu`,
//! `--mmio-test`), the checks that keep board-specific options on their board, and the run loop
//! (a guest reset rebuilds the board and its RAM, like g233, unless `--no-reboot`; a guest stuck
//! in a reset loop ends the run with status 3 instead of spinning forever).

use std::path::PathBuf;

use crate::cli::{BadValue, RunArgs};
use crate::error::VmmError;

/// Options that only the g233 board takes, with the flag that names each.
fn g233_only(args: &RunArgs) -> Vec<&'static str> {
    let mut v = Vec::new();
    if args.bios.is_some() {
        v.push("--bios");
    }
    if !args.flash.is_empty() {
        v.push("--flash");
    }
    if !args.loader.is_empty() {
        v.push("--loader");
    }
    if args.semihosting {
        v.push("--semihosting");
    }
    if args.icount.is_some() {
        v.push("--icount");
    }
    if args.dumpdtb.is_some() {
        v.push("--dumpdtb");
    }
    v
}

/// Options that only the microvm board takes.
fn microvm_only(args: &RunArgs) -> Vec<&'static str> {
    let mut v = Vec::new();
    if args.cpu.is_some() {
        v.push("--cpu");
    }
    if !args.drive.is_empty() {
        v.push("--drive");
    }
    if args.rng {
        v.push("--rng");
    }
    if args.mmio_test {
        v.push("--mmio-test");
    }
    v
}

/// Rejects options that the board `board` does not have, in one line naming them.
pub fn check_options(args: &RunArgs, board: &str) -> Result<(), VmmError> {
    let (foreign, owner) = if board == "microvm" {
        (g233_only(args), "g233")
    } else {
        (microvm_only(args), "microvm")
    };
    if foreign.is_empty() {
        return Ok(());
    }
    Err(BadValue(format!(
        "{} {} only for board {owner}, not {board}; drop {}",
        foreign.join(", "),
        if foreign.len() == 1 { "is" } else { "are" },
        if foreign.len() == 1 { "it" } else { "them" }
    ))
    .into())
}

/// A `--drive` value: a disk image and whether the guest may write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drive {
    /// The backing file.
    pub path: PathBuf,
    /// `readonly=on`.
    pub read_only: bool,
}

/// Parses `file=PATH[,readonly=on|off]` (keys in any order; a bare PATH is taken as `file=`).
/// A path containing a comma is written with the comma doubled, as in QEMU (`a,,b` is `a,b`).
pub fn parse_drive(s: &str) -> Result<Drive, BadValue> {
    let bad = |why: &str| {
        BadValue(format!(
            "invalid --drive '{s}': {why}; use file=PATH[,readonly=on], e.g. --drive \
             file=disk.img,readonly=on"
        ))
    };
    if s.is_empty() {
        return Err(bad("no file= given"));
    }
    // Split on single commas; ",," is a literal comma.
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                cur.push(',');
            } else {
                items.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    items.push(cur);
    let mut path: Option<PathBuf> = None;
    let mut read_only = false;
    for (i, item) in items.iter().enumerate() {
        let (key, value) = match item.split_once('=') {
            Some(kv) => kv,
            None if i == 0 && !item.is_empty() => ("file", item.as_str()),
            None => return Err(bad(&format!("'{item}' is not KEY=VALUE"))),
        };
        match key {
            "file" => {
                if value.is_empty() {
                    return Err(bad("the file is empty"));
                }
                if path.replace(PathBuf::from(value)).is_some() {
                    return Err(bad("file= is given twice"));
                }
            }
            "readonly" => {
                read_only = match value {
                    "on" | "true" | "yes" | "1" => true,
                    "off" | "false" | "no" | "0" => false,
                    _ => return Err(bad(&format!("readonly={value} is not on or off"))),
                }
            }
            _ => return Err(bad(&format!("unknown key '{key}' (known: file, readonly)"))),
        }
    }
    let path = path.ok_or_else(|| bad("no file= given"))?;
    Ok(Drive { path, read_only })
}

#[cfg(target_arch = "x86_64")]
pub use x86::run;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use accel_kvm::x86::CpuFeatureMask;
    use boards::x86::{DiskConfig, MicroVm, MicroVmConfig, DEFAULT_CMDLINE};

    use super::{parse_drive, Drive};
    use crate::accel::{self, GuestExit};
    use crate::cli::{BadValue, RunArgs};
    use crate::error::VmmError;
    use crate::memory;
    use crate::run::{exit_code, note, start_host_threads, InputTarget, Resolved, SharedWriter};
    use crate::serial;
    use crate::stop::StopState;

    /// A reset this soon after boot counts towards a reset loop.
    const QUICK_RESET: Duration = Duration::from_secs(1);
    /// This many quick resets in a row end the run (status 3).
    const RESET_LOOP_LIMIT: u32 = 10;

    /// The microvm's own inputs, checked before anything is built.
    struct Options {
        drives: Vec<Drive>,
        features: CpuFeatureMask,
        cmdline: String,
    }

    fn options(args: &RunArgs, r: &Resolved) -> Result<Options, VmmError> {
        if args.kernel.is_none() {
            return Err(BadValue(
                "board microvm needs --kernel: a vmlinux ELF (PVH or 64-bit entry) or a \
                 bzImage; e.g. --kernel vmlinux"
                    .into(),
            )
            .into());
        }
        let drives = args
            .drive
            .iter()
            .map(|d| parse_drive(d))
            .collect::<Result<Vec<_>, _>>()?;
        for d in &drives {
            let meta = std::fs::metadata(&d.path).map_err(|err| VmmError::Read {
                what: "--drive file",
                path: d.path.clone(),
                err,
            })?;
            if !meta.is_file() {
                return Err(BadValue(format!(
                    "--drive file={}: not a regular file; give a disk image file",
                    d.path.display()
                ))
                .into());
            }
        }
        let min = boards::x86::layout::MIN_RAM;
        if r.ram_size < min {
            return Err(BadValue(format!(
                "--memory {}: microvm needs at least {}M of RAM; give --memory {}M or more",
                args.memory.as_deref().unwrap_or_default(),
                min >> 20,
                min >> 20
            ))
            .into());
        }
        let slots = boards::x86::layout::VIRTIO_IRQS.len();
        let devices = drives.len() + usize::from(args.rng);
        if devices > slots {
            return Err(BadValue(format!(
                "{devices} virtio devices (--drive, --rng) but microvm has {slots} slots; give \
                 fewer"
            ))
            .into());
        }
        let features = match &args.cpu {
            None => CpuFeatureMask::none(),
            Some(spec) => {
                CpuFeatureMask::parse(spec).map_err(|e| BadValue(format!("--cpu {spec}: {e}")))?
            }
        };
        let cmdline = r
            .append
            .clone()
            .unwrap_or_else(|| DEFAULT_CMDLINE.to_string());
        Ok(Options {
            drives,
            features,
            cmdline,
        })
    }

    fn config(
        args: &RunArgs,
        r: &Resolved,
        o: &Options,
        serial: SharedWriter,
    ) -> Result<MicroVmConfig, VmmError> {
        let kernel = args
            .kernel
            .clone()
            .ok_or_else(|| VmmError::Board("board microvm needs --kernel; this is a bug".into()))?;
        let mut cfg = MicroVmConfig::new(kernel, Box::new(serial));
        cfg.ram_size = r.ram_size;
        cfg.initrd = args.initrd.clone();
        cfg.cmdline = o.cmdline.clone();
        cfg.disks = o
            .drives
            .iter()
            .map(|d| DiskConfig {
                path: d.path.clone(),
                read_only: d.read_only,
            })
            .collect();
        cfg.rng = args.rng;
        cfg.mmio_test = args.mmio_test;
        Ok(cfg)
    }

    /// Runs the microvm described by `args`/`r` under KVM; returns the exit status.
    pub fn run(args: &RunArgs, r: &Resolved, stop: Arc<StopState>) -> Result<i32, VmmError> {
        let o = options(args, r)?;
        let regions: Vec<(u64, u64)> = MicroVm::ram_regions(r.ram_size)
            .iter()
            .map(|g| (g.base, g.size))
            .collect();
        let serial_out = SharedWriter(Arc::new(Mutex::new(serial::output(&r.serial)?)));
        let input: InputTarget = Arc::new(Mutex::new(None));
        let mut host_threads_started = false;
        let mut _raw = None;
        let mut quick_resets = 0;
        loop {
            let ram = memory::create(&regions, &r.mem)?;
            note(r.verbose, &ram.summary());
            let cfg = config(args, r, &o, serial_out.clone())?;
            let board = Arc::new(MicroVm::new(cfg, &ram.mem).map_err(|e| {
                let fix = if e.to_string().contains("loading kernel") {
                    "; --kernel must be an x86_64 vmlinux ELF or a bzImage"
                } else {
                    ""
                };
                VmmError::Board(format!("board microvm: {e}{fix}"))
            })?);
            note(
                r.verbose,
                &format!("kernel command line: {}", board.cmdline()),
            );
            note(
                r.verbose,
                &format!(
                    "entry: {:?} at {:#x}",
                    board.entry().mode,
                    board.entry().rip
                ),
            );
            let b = board.clone();
            *devices::bus::lock(&input) = Some(Box::new(move |bytes: &[u8]| b.serial_input(bytes)));
            stop.attach(board.stop.clone());
            if !host_threads_started {
                _raw = start_host_threads(r, input.clone(), stop.clone())?;
                host_threads_started = true;
            }
            let started = Instant::now();
            let result = if stop.reason().is_some() {
                // Stopped while setting up (e.g. during a long --mem-prealloc).
                Ok(GuestExit::HostStop)
            } else {
                accel::run_microvm(&board, &ram.mem, &o.features, r.verbose)
            };
            *devices::bus::lock(&input) = None;
            let exit = result?;
            if exit == GuestExit::Reset && !r.no_reboot && stop.reason().is_none() {
                if started.elapsed() < QUICK_RESET {
                    quick_resets += 1;
                } else {
                    quick_resets = 0;
                }
                if quick_resets >= RESET_LOOP_LIMIT {
                    return Err(VmmError::GuestCrash(format!(
                        "the guest reset {RESET_LOOP_LIMIT} times in a row, each within {}s \
                         of boot (a reset loop); use --no-reboot to exit at the first reset",
                        QUICK_RESET.as_secs()
                    )));
                }
                note(r.verbose, "guest reset: rebooting the board");
                continue;
            }
            return Ok(exit_code(exit, stop.reason(), r.verbose));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_run_args as args;

    #[test]
    fn drives_parse() {
        assert_eq!(
            parse_drive("file=a.img"),
            Ok(Drive {
                path: "a.img".into(),
                read_only: false
            })
        );
        assert_eq!(
            parse_drive("readonly=on,file=/x/b.img"),
            Ok(Drive {
                path: "/x/b.img".into(),
                read_only: true
            })
        );
        assert_eq!(
            parse_drive("c.img,readonly=off").unwrap().path,
            PathBuf::from("c.img")
        );
        assert_eq!(parse_drive("file=a,,b").unwrap().path, PathBuf::from("a,b"));
        for (bad, needle) in [
            ("", "no file"),
            ("file=", "empty"),
            ("readonly=on", "no file"),
            ("file=a,readonly=maybe", "readonly=maybe"),
            ("file=a,cache=none", "unknown key 'cache'"),
            ("file=a,file=b", "twice"),
            ("file=a,ro", "not KEY=VALUE"),
        ] {
            let e = parse_drive(bad).unwrap_err();
            assert!(e.0.contains(needle), "{bad}: {e}");
            assert!(e.0.contains("file=PATH[,readonly=on]"), "{bad}: {e}");
        }
    }

    #[test]
    fn board_specific_options_stay_on_their_board() {
        assert!(check_options(&args(&["--drive", "file=x", "--rng"]), "microvm").is_ok());
        assert!(check_options(&args(&["--flash", "0=x"]), "g233").is_ok());
        let e = check_options(&args(&["--drive", "file=x", "--cpu", "-xsave"]), "g233")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--cpu, --drive are only for board microvm, not g233; drop them"
        );
        let e = check_options(&args(&["--flash", "0=x"]), "microvm")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--flash is only for board g233, not microvm; drop it");
        let e = check_options(&args(&["--semihosting", "--icount"]), "microvm").unwrap_err();
        assert!(e.to_string().contains("--semihosting, --icount"), "{e}");
    }

    #[test]
    fn cpu_flag_takes_a_leading_minus() {
        let a = args(&["--cpu", "-xsave,-smap,-popcnt"]);
        assert_eq!(a.cpu.as_deref(), Some("-xsave,-smap,-popcnt"));
        let a = args(&[
            "--drive",
            "file=a",
            "--drive",
            "file=b,readonly=on",
            "--mmio-test",
        ]);
        assert_eq!(a.drive.len(), 2);
        assert!(a.mmio_test && !a.rng);
    }
}
