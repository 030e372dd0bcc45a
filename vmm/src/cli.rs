//! The command line: clap definitions and the parsing of values clap leaves as text (sizes,
//! `--serial`, `--flash`, `--bios`), so that a bad value gives one clear line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::memory::MemBackend;

const EXIT_STATUS: &str = "\
EXIT STATUS:
  N      the guest's semihosting exit code (SYS_EXIT / SYS_EXIT_EXTENDED), or the failure code
         it powered off with (g233 test finisher); modulo 256, but never 0 for a failure
  0      the guest powered off cleanly, or the user quit with Ctrl-A x (or a command other
         than run succeeded)
  1      VMM or user error (bad value, missing file, image that does not fit...); one line on
         stderr: `vmm: error: <problem>; <fix>`
  2      usage error (unknown option, missing value), reported by the argument parser
  3      the guest crashed the VM: a KVM internal error or failed VM entry (one line with
         the exit reason, suberror, instruction bytes and rip; -v adds the registers), or
         a microvm guest stuck in a reset loop (10 resets in a row, each within 1s of boot)
  124    --timeout expired
  128+N  stopped by signal N (130 for SIGINT, 143 for SIGTERM)";

const TOP_HELP: &str = "\
EXAMPLES:
  vmm                                   boot the built-in G233 demo guest
  vmm run --kernel prog.elf --semihosting
                                        run a bare-metal G233 program, exit with its status
  vmm boards                            list the boards
  vmm accels                            say which accelerators work on this host, and why not

Run `vmm run --help` for every option of `run`.
";

/// A virtual machine monitor: runs the G233 RISC-V board (emulated with TCG, or under KVM on a
/// RISC-V host) and, on x86 hosts, an x86_64 board under KVM.
///
/// With no command, boots the built-in G233 demo firmware (board g233, accel auto,
/// semihosting on), exactly like `vmm run`.
#[derive(Debug, Parser)]
#[command(name = "vmm", version, after_help = format!("{TOP_HELP}\n{EXIT_STATUS}"))]
pub struct Cli {
    /// What to do (default: `run` with no options).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// More messages on stderr: -v says which accelerator and memory backing are used and why,
    /// -vv adds debug logs, -vvv trace logs. RUST_LOG overrides the log level.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Boot a board (the default command).
    Run(Box<RunArgs>),
    /// List the boards with a one-line description each.
    Boards,
    /// Say which accelerators work on this host and, for those that do not, why.
    Accels,
}

/// The accelerator that runs the guest CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum AccelChoice {
    /// KVM when /dev/kvm opens and the host ISA equals the board's, else TCG.
    #[default]
    Auto,
    /// Hardware virtualisation through /dev/kvm (host ISA must equal the board's).
    Kvm,
    /// Emulation (RISC-V boards only).
    Tcg,
}

const RUN_HELP: &str = "\
BOOT FLOW (g233):
  Without --kernel the built-in demo firmware runs (and semihosting is turned on).
  --bios none: the kernel (ELF at its physical addresses, or raw at 0x80000000) and every
    --loader image are loaded; the CPU starts at the reset vector 0x1004, whose ROM jumps to
    0x80000000.
  --bios default|PATH: the firmware (OpenSBI fw_dynamic; default
    /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin from the Debian package `opensbi`)
    is loaded raw at 0x80000000 and the kernel at 0x80200000.
  Without --bios: `none` when --kernel is an ELF whose lowest segment is at 0x80000000 (a
    bare-metal program), otherwise `default`.

SIZES: plain bytes or a number with a binary suffix K, M, G or T (512M, 2G, 1024K, 1073741824).

MEMORY BACKENDS:
  anon   anonymous memory, private (shared with --mem-shared)
  memfd  a memfd, mapped shared; with --hugepages it is MFD_HUGETLB (default huge page size)
  file   --mem-path FILE (used in place, extended to the RAM size) or --mem-path DIR (a file is
         created there and unlinked at once); hugetlbfs mounts such as /dev/hugepages give huge
         pages. Mapped shared.
  Sizes, huge page alignment and free huge pages, the path and whether its file system can map
  the file shared are all checked before the guest starts.

BOOT FLOW (microvm, x86_64 under KVM):
  --kernel is a vmlinux ELF (entered through its PVH note when it has one, else in 64-bit
    mode) or a bzImage (64-bit Linux boot protocol); --initrd is loaded at the top of low RAM.
  --append replaces the default command line
    \"console=ttyS0 reboot=k panic=1 pci=off nomodule i8042.noaux i8042.nomux i8042.nopnp
    i8042.dumbkbd noxsave\"; the board appends one virtio_mmio.device= entry per device.
  Devices: COM1 (8250, port 0x3f8, IRQ 4), i8042 (reset), poweroff port 0x501 (a byte n
    written there exits with status n), --drive disks and --rng on virtio-mmio from
    0xd0000000 (IRQs 5, 6, 7, 9, 10, 11), the in-kernel PIC/IOAPIC/LAPIC/PIT.
  A reset (i8042 0xfe, triple fault) reboots the board (rebuilt and reloaded) unless
    --no-reboot, which exits 0.

SERIAL (--serial stdio): the console is stdin/stdout. On a terminal, input is raw and Ctrl-A x
  quits (Ctrl-A Ctrl-A sends Ctrl-A); the terminal is restored at exit.

EXAMPLES:
  vmm run --kernel hello.elf --semihosting
  vmm run --kernel Image --initrd rootfs.cpio --append console=ttyAMA0 --memory 2G
  vmm run --kernel prog.elf --flash 0=cs0.bin --flash 1=cs1.bin --timeout 10
  vmm run --kernel prog.elf --icount 100 --serial file:out.txt
  vmm run --kernel prog.elf --mem-path /dev/hugepages --mem-prealloc
  vmm run --board microvm --kernel vmlinux --initrd initrd.cpio --drive file=disk.img --rng
  vmm run --board microvm --kernel bzImage --append \"console=ttyS0 root=/dev/vda\" -m 1G
";

/// Options of `vmm run`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = format!("{RUN_HELP}\n{EXIT_STATUS}"))]
pub struct RunArgs {
    /// Accelerator: auto (KVM when /dev/kvm opens and the host ISA equals the board's, else
    /// TCG), kvm, or tcg.
    #[arg(long, value_enum, default_value_t = AccelChoice::Auto)]
    pub accel: AccelChoice,
    /// Board to run (see `vmm boards`).
    #[arg(long, value_name = "NAME", default_value = "g233")]
    pub board: String,
    /// Kernel or bare-metal program: an ELF (loaded at its physical addresses) or a raw binary.
    /// Default: the built-in demo firmware.
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<PathBuf>,
    /// Firmware: `none`, `default` (OpenSBI fw_dynamic from the `opensbi` package) or a PATH.
    /// Default: see BOOT FLOW below.
    #[arg(long, value_name = "PATH|none|default")]
    pub bios: Option<String>,
    /// Initial ramdisk for a Linux kernel.
    #[arg(long, value_name = "PATH")]
    pub initrd: Option<PathBuf>,
    /// Kernel command line.
    #[arg(long, value_name = "STR")]
    pub append: Option<String>,
    /// Write the board's generated device tree blob to FILE and exit (like QEMU's dumpdtb).
    #[arg(long, value_name = "FILE")]
    pub dumpdtb: Option<PathBuf>,
    /// Exit when the guest resets instead of rebooting the board.
    #[arg(long)]
    pub no_reboot: bool,
    /// Guest RAM size (default: the board's, 1G for g233, 256M for microvm).
    #[arg(short = 'm', long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// What backs guest RAM: anon (default), memfd or file (implied by --mem-path).
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub mem_backend: Option<MemBackend>,
    /// File or directory backing guest RAM (--mem-backend file).
    #[arg(long, value_name = "PATH")]
    pub mem_path: Option<PathBuf>,
    /// Back guest RAM with huge pages (anon: MAP_HUGETLB, memfd: MFD_HUGETLB). For the file
    /// backend put --mem-path on hugetlbfs instead.
    #[arg(long)]
    pub hugepages: bool,
    /// Populate all guest RAM before the guest starts (MADV_POPULATE_WRITE, several threads), so
    /// that a shortage fails at start.
    #[arg(long)]
    pub mem_prealloc: bool,
    /// Map anonymous guest RAM shared (MAP_SHARED) instead of private; memfd and file backings
    /// are always shared.
    #[arg(long)]
    pub mem_shared: bool,
    /// Serial console: stdio, file:PATH (output only) or none.
    #[arg(long, value_name = "stdio|file:PATH|none", default_value = "stdio")]
    pub serial: String,
    /// Enable RISC-V semihosting (console to stdout; the guest's exit code becomes vmm's).
    #[arg(long)]
    pub semihosting: bool,
    /// Back SPI flash chip select CS with the image PATH (repeatable; CS 0 or 1 on g233).
    /// Guest writes are saved to the file.
    #[arg(long, value_name = "CS=PATH")]
    pub flash: Vec<String>,
    /// Also load this ELF's segments into RAM without changing the boot flow (repeatable),
    /// like QEMU's generic loader.
    #[arg(long, value_name = "PATH")]
    pub loader: Vec<PathBuf>,
    /// Stop the guest after SECONDS (decimals allowed) and exit with status 124.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<String>,
    /// Deterministic guest time: N instructions per 100 ns timer tick (default 100 when given
    /// without N). Without it, guest time follows the host clock.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "100")]
    pub icount: Option<u64>,
    /// TCG: compile warm guest code (the baseline tier) and hot guest code (Cranelift) (`on`,
    /// the default) or run everything on the tier-0 interpreter (`off`). With -v the JIT's
    /// counters are printed at exit.
    #[arg(long, value_enum, value_name = "on|off", default_value = "on")]
    pub jit: OnOff,
    /// TCG: how many times a block runs (as baseline code, or on the interpreter with
    /// --jit-baseline off) before Cranelift compiles a region from it (default 100000; blocks
    /// that run FP or atomics through helpers count more; lower compiles sooner at the cost of
    /// compile time on a second core).
    #[arg(long, value_name = "N")]
    pub jit_threshold: Option<u32>,
    /// TCG on x86-64 hosts: compile warm blocks with the baseline tier (a template compiler,
    /// microseconds per block) after 32 runs, before Cranelift sees them (`on`, the default);
    /// `off` leaves them on the interpreter until the --jit-threshold; `only` never uses
    /// Cranelift (for measurements).
    #[arg(long, value_enum, value_name = "on|off|only", default_value = "on")]
    pub jit_baseline: BaselineArg,
    /// microvm: CPUID features to hide from the guest, as removals named like /proc/cpuinfo
    /// flags, e.g. `-xsave,-smap,-popcnt` (removing one also removes what depends on it).
    #[arg(long, value_name = "-FEATURE,...", allow_hyphen_values = true)]
    pub cpu: Option<String>,
    /// microvm: a virtio-blk disk backed by PATH, `file=PATH[,readonly=on]` (repeatable; the
    /// first is /dev/vda). Guest writes go to the file.
    #[arg(long, value_name = "file=PATH[,readonly=on]")]
    pub drive: Vec<String>,
    /// microvm: add a virtio-rng entropy device (fed from the host's getrandom).
    #[arg(long)]
    pub rng: bool,
    /// microvm: add the MMIO test device at 0xd1000000 (scratch registers for test guests).
    #[arg(long)]
    pub mmio_test: bool,
}

/// Where the serial console goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialSpec {
    /// stdin/stdout.
    Stdio,
    /// Output written to a file (truncated at start).
    File(PathBuf),
    /// Discarded.
    None,
}

/// `--bios`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BiosSpec {
    /// No firmware.
    None,
    /// The board's default firmware.
    Default,
    /// A firmware file.
    Path(PathBuf),
}

/// A value the user gave that cannot be used; the message names the problem and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadValue(pub String);

/// Parses `512M`, `2G`, `1024K`, `1T` (binary units) or plain bytes.
pub fn parse_size(s: &str) -> Result<u64, BadValue> {
    let bad = || {
        BadValue(format!(
            "invalid size '{s}'; give bytes or a number with K, M, G or T, e.g. 512M or 2G"
        ))
    };
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits_end);
    if num.is_empty() {
        return Err(bad());
    }
    let n: u64 = num.parse().map_err(|_| bad())?;
    let suffix = suffix.trim_start();
    let unit = suffix
        .strip_suffix("iB")
        .or_else(|| suffix.strip_suffix('B').filter(|u| !u.is_empty()))
        .unwrap_or(suffix);
    let shift = match unit {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        _ => return Err(bad()),
    };
    n.checked_mul(1u64 << shift).ok_or_else(|| {
        BadValue(format!(
            "size '{s}' is too large; give a smaller size, e.g. 2G"
        ))
    })
}

/// Parses `--serial`.
pub fn parse_serial(s: &str) -> Result<SerialSpec, BadValue> {
    match s {
        "stdio" => Ok(SerialSpec::Stdio),
        "none" | "null" => Ok(SerialSpec::None),
        _ => match s.strip_prefix("file:") {
            Some(p) if !p.is_empty() => Ok(SerialSpec::File(PathBuf::from(p))),
            _ => Err(BadValue(format!(
                "invalid --serial '{s}'; use stdio, file:PATH or none"
            ))),
        },
    }
}

/// Parses `--bios`.
pub fn parse_bios(s: &str) -> Result<BiosSpec, BadValue> {
    match s {
        "none" => Ok(BiosSpec::None),
        "default" => Ok(BiosSpec::Default),
        "" => Err(BadValue(
            "empty --bios; use none, default or a firmware PATH".into(),
        )),
        p => Ok(BiosSpec::Path(PathBuf::from(p))),
    }
}

/// Parses one `--flash CS=PATH`.
pub fn parse_flash(s: &str) -> Result<(usize, PathBuf), BadValue> {
    let bad = || {
        BadValue(format!(
            "invalid --flash '{s}'; use CS=PATH with a chip select number, e.g. --flash 0=cs0.bin"
        ))
    };
    let (cs, path) = s.split_once('=').ok_or_else(bad)?;
    let cs: usize = cs.trim().parse().map_err(|_| bad())?;
    if path.is_empty() {
        return Err(bad());
    }
    Ok((cs, PathBuf::from(path)))
}

/// Parses `--timeout` seconds (decimals allowed, above zero).
pub fn parse_timeout(s: &str) -> Result<Duration, BadValue> {
    let bad = || {
        BadValue(format!(
            "invalid --timeout '{s}'; give a number of seconds above zero, e.g. 10 or 0.5"
        ))
    };
    let secs: f64 = s.trim().parse().map_err(|_| bad())?;
    if !(secs.is_finite() && secs > 0.0 && secs < 1e9) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `vmm run <extra>` (for the tests of the modules that take [`RunArgs`]).
#[cfg(test)]
pub(crate) fn test_run_args(extra: &[&str]) -> RunArgs {
    use clap::Parser;
    let mut v = vec!["vmm", "run"];
    v.extend_from_slice(extra);
    match Cli::try_parse_from(v).unwrap().command {
        Some(Command::Run(r)) => *r,
        _ => panic!("run expected"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `vmm run --help`.
    fn run_help() -> String {
        Cli::command()
            .find_subcommand_mut("run")
            .expect("run subcommand")
            .render_long_help()
            .to_string()
    }

    #[test]
    fn help_states_the_real_jit_thresholds() {
        let help = run_help();
        let want = format!("(default {};", accel_tcg::jit::DEFAULT_THRESHOLD);
        assert!(help.contains(&want), "--jit-threshold help must say {want}");
        let want = format!("after {} runs", accel_tcg::jit::BASELINE_THRESHOLD);
        assert!(help.contains(&want), "--jit-baseline help must say {want}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1024K"), Ok(1 << 20));
        assert_eq!(parse_size("1073741824"), Ok(1 << 30));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("4MB"), Ok(4 << 20));
        assert_eq!(parse_size("0"), Ok(0));
        for bad in ["", "M", "abc", "1.5G", "-1", "12Q", "1 G B", "B"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.0.contains("invalid size"), "{bad}: {e}");
        }
        assert!(parse_size("99999999999T")
            .unwrap_err()
            .0
            .contains("too large"));
        assert!(parse_size("99999999999999999999999").is_err());
    }

    #[test]
    fn serial_bios_flash_timeout() {
        assert_eq!(parse_serial("stdio"), Ok(SerialSpec::Stdio));
        assert_eq!(parse_serial("none"), Ok(SerialSpec::None));
        assert_eq!(
            parse_serial("file:/tmp/x"),
            Ok(SerialSpec::File("/tmp/x".into()))
        );
        assert!(parse_serial("file:").is_err());
        assert!(parse_serial("pty").is_err());
        assert_eq!(parse_bios("none"), Ok(BiosSpec::None));
        assert_eq!(parse_bios("default"), Ok(BiosSpec::Default));
        assert_eq!(parse_bios("fw.bin"), Ok(BiosSpec::Path("fw.bin".into())));
        assert_eq!(parse_flash("1=a.bin"), Ok((1, PathBuf::from("a.bin"))));
        assert!(parse_flash("a.bin").is_err());
        assert!(parse_flash("x=a.bin").is_err());
        assert!(parse_flash("0=").is_err());
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("nan").is_err());
        assert!(parse_timeout("-3").is_err());
    }

    #[test]
    fn run_flags_parse() {
        let cli = Cli::try_parse_from([
            "vmm", "run", "--accel", "tcg", "--kernel", "k.elf", "--icount", "--memory", "2G",
            "--flash", "0=a", "--flash", "1=b", "--loader", "x.elf", "-vv",
        ])
        .unwrap();
        assert_eq!(cli.verbose, 2);
        let Some(Command::Run(r)) = cli.command else {
            panic!("run expected")
        };
        assert_eq!(r.accel, AccelChoice::Tcg);
        assert_eq!(r.icount, Some(100));
        assert_eq!(r.memory.as_deref(), Some("2G"));
        assert_eq!(r.flash.len(), 2);
        assert_eq!(r.board, "g233");
        assert_eq!(r.serial, "stdio");
        let cli = Cli::try_parse_from(["vmm", "run", "--icount", "7"]).unwrap();
        let Some(Command::Run(r)) = cli.command else {
            panic!("run expected")
        };
        assert_eq!(r.icount, Some(7));
        assert!(Cli::try_parse_from(["vmm", "run", "--accel", "hvf"]).is_err());
        assert!(Cli::try_parse_from(["vmm"]).unwrap().command.is_none());
    }

    #[test]
    fn help_documents_exit_status() {
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("EXIT STATUS") && help.contains("124"),
            "{help}"
        );
        let mut cmd = Cli::command();
        cmd.build();
        let run = cmd.find_subcommand_mut("run").unwrap();
        let help = run.render_long_help().to_string();
        for flag in [
            "--accel",
            "--board",
            "--kernel",
            "--bios",
            "--initrd",
            "--append",
            "--memory",
            "--mem-backend",
            "--mem-path",
            "--hugepages",
            "--mem-prealloc",
            "--mem-shared",
            "--serial",
            "--semihosting",
            "--flash",
            "--loader",
            "--timeout",
            "--icount",
            "--verbose",
            "EXIT STATUS",
            "128+N",
        ] {
            assert!(help.contains(flag), "run --help lacks {flag}");
        }
    }
}

/// `--jit-baseline`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BaselineArg {
    /// Baseline tier for warm code, Cranelift for hot code.
    #[default]
    On,
    /// No baseline tier.
    Off,
    /// Baseline tier only.
    Only,
}

impl From<BaselineArg> for accel_tcg::jit::BaselineMode {
    fn from(a: BaselineArg) -> Self {
        match a {
            BaselineArg::On => Self::On,
            BaselineArg::Off => Self::Off,
            BaselineArg::Only => Self::Only,
        }
    }
}

/// A switch given as `on` or `off`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnOff {
    /// Enabled.
    #[default]
    On,
    /// Disabled.
    Off,
}
