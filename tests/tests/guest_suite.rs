//! Runs the project's own RISC-V guest test suite (`resources/guest`) under the `vmm` binary:
//! one `#[test]` per guest program, each asserting exit status 0 and a final `PASS` line.
//!
//! Building the suite: `make -C resources/guest` (once per test process). When the cross
//! compiler `riscv64-unknown-elf-gcc` is missing the tests print why and return without
//! running anything (CI installs it, so there they always run).
//!
//! Locating `vmm`: `env!("CARGO_BIN_EXE_vmm")` only exists inside the `vmm` package, so this
//! suite runs `cargo build -p vmm` itself (same target directory and profile as this test
//! binary, derived from its own path `<target>/<profile>/deps/guest_suite-*`) and uses
//! `<target>/<profile>/vmm`. Cargo releases its build lock before running tests, so the
//! nested build does not deadlock, and the binary is never stale. `VMM_BIN=/path/to/vmm`
//! skips the build and uses that binary instead.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use std::time::{Duration, Instant};
use vmm_tests::{vmm_binary, workspace_root};

/// Guest-side time limit passed to `vmm --timeout`.
const GUEST_TIMEOUT_SECS: u64 = 60;
/// Host-side limit after which a hung `vmm` is killed (the guest limit plus slack).
const HOST_TIMEOUT: Duration = Duration::from_secs(GUEST_TIMEOUT_SECS + 30);
/// Size of the CS0 (W25X16) and CS1 (W25X32) flash images.
const FLASH0_SIZE: usize = 2 << 20;
const FLASH1_SIZE: usize = 4 << 20;

/// Where the suite's ELFs are built (the Makefile's default `OUT`).
fn guest_out_dir() -> PathBuf {
    workspace_root().join("resources/build/guest")
}

/// Builds the guest suite once. `Ok(None)`: cross compiler missing, skip with that reason.
fn guest_suite() -> Result<Option<PathBuf>, String> {
    static BUILT: OnceLock<Result<Option<PathBuf>, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let have_gcc = Command::new("riscv64-unknown-elf-gcc")
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !have_gcc {
                return Ok(None);
            }
            let out = Command::new("make")
                .arg("-C")
                .arg(workspace_root().join("resources/guest"))
                .arg(format!("OUT={}", guest_out_dir().display()))
                .output()
                .map_err(|e| format!("cannot run make: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "make -C resources/guest failed ({}):\n{}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(Some(guest_out_dir()))
        })
        .clone()
}

/// How a guest image is handed to the VMM.
#[derive(Clone, Copy)]
enum Load {
    /// `--kernel X.elf`
    Kernel,
    /// `--loader X.elf` (generic loader, no kernel)
    Loader,
}

/// What one run produced.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// Runs `vmm` with `args`, killing it after [`HOST_TIMEOUT`].
fn run_vmm(args: &[String]) -> Outcome {
    let vmm = match vmm_binary() {
        Ok(v) => v,
        Err(e) => panic!("no vmm binary: {e}"),
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut child = Command::new(&vmm)
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("stdout file"))
        .stderr(fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", vmm.display()));
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() > HOST_TIMEOUT => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for vmm: {e}"),
        }
    };
    let read = |p: &Path| {
        let mut s = Vec::new();
        if let Ok(mut f) = fs::File::open(p) {
            let _ = f.read_to_end(&mut s);
        }
        String::from_utf8_lossy(&s).into_owned()
    };
    Outcome {
        code: status.and_then(|s| s.code()),
        stdout: read(&out_path),
        stderr: read(&err_path),
        timed_out,
    }
}

/// The last verdict line (`PASS` or `FAIL n`) the guest printed, on stdout or stderr.
fn verdict(o: &Outcome) -> Option<String> {
    let is_verdict = |l: &&str| {
        *l == "PASS"
            || l.strip_prefix("FAIL ")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let last = |s: &str| {
        s.lines()
            .map(str::trim_end)
            .rfind(is_verdict)
            .map(str::to_string)
    };
    last(&o.stdout).or_else(|| last(&o.stderr))
}

/// Builds the suite, runs program `name` and asserts exit status 0 and a final `PASS`.
/// `extra` adds VMM arguments (e.g. flash images). `None`: skipped (no cross compiler).
fn run_guest_with(name: &str, load: Load, extra: &[String]) -> Option<Outcome> {
    let out_dir = match guest_suite() {
        Ok(Some(d)) => d,
        Ok(None) => {
            eprintln!(
                "SKIPPED guest test {name}: riscv64-unknown-elf-gcc not found \
                 (apt-get install gcc-riscv64-unknown-elf)"
            );
            return None;
        }
        Err(e) => panic!("{e}"),
    };
    let elf = out_dir.join(format!("{name}.elf"));
    assert!(elf.is_file(), "{} was not built", elf.display());
    let mut args: Vec<String> = [
        "run",
        "--accel",
        "tcg",
        "--board",
        "g233",
        "--semihosting",
        "--bios",
        "none",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(
        match load {
            Load::Kernel => "--kernel",
            Load::Loader => "--loader",
        }
        .to_string(),
    );
    args.push(elf.display().to_string());
    args.push("--timeout".into());
    args.push(GUEST_TIMEOUT_SECS.to_string());
    args.extend_from_slice(extra);
    let o = run_vmm(&args);
    let v = verdict(&o);
    let report = format!(
        "guest program {name}: vmm {}\nexit code {:?}{}, verdict {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        o.code,
        if o.timed_out { " (killed: host timeout)" } else { "" },
        v,
        o.stdout,
        o.stderr
    );
    assert_eq!(v.as_deref(), Some("PASS"), "no final PASS line\n{report}");
    assert_eq!(o.code, Some(0), "non-zero exit status\n{report}");
    Some(o)
}

fn run_guest(name: &str) {
    run_guest_with(name, Load::Kernel, &[]);
}

/// A flash image of `size` bytes, erased (all 0xFF).
fn erased_image(path: &Path, size: usize) {
    fs::write(path, vec![0xFFu8; size]).expect("write flash image");
}

macro_rules! guest_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_guest(stringify!($name));
            }
        )*
    };
}

guest_tests!(
    rv64i,
    rv64m,
    rv64a,
    rvc,
    rv64fd,
    bitmanip,
    privilege,
    mmu,
    interrupts,
    rva23ext,
    g233_board,
    g233_gpio,
    g233_custom,
);

/// SPI flashes backed by files: the guest erases and programs both chips, and what it wrote
/// must be in the image files after the VMM exits.
#[test]
fn g233_spi() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let d0 = dir.path().join("d0.img");
    let d1 = dir.path().join("d1.img");
    erased_image(&d0, FLASH0_SIZE);
    erased_image(&d1, FLASH1_SIZE);
    let extra = vec![
        "--flash".to_string(),
        format!("0={}", d0.display()),
        "--flash".to_string(),
        format!("1={}", d1.display()),
    ];
    if run_guest_with("g233_spi", Load::Kernel, &extra).is_none() {
        return;
    }
    // g233_spi.c programs "G233-CS0" at 0x1000 of CS0 and "G233-CS1" at 0x3FFF00 of CS1.
    let i0 = fs::read(&d0).expect("read d0.img");
    let i1 = fs::read(&d1).expect("read d1.img");
    assert_eq!(i0.len(), FLASH0_SIZE, "CS0 image size changed");
    assert_eq!(i1.len(), FLASH1_SIZE, "CS1 image size changed");
    assert_eq!(
        &i0[0x1000..0x1008],
        b"G233-CS0",
        "CS0 program not persisted"
    );
    assert_eq!(
        &i1[0x3F_FF00..0x3F_FF08],
        b"G233-CS1",
        "CS1 program not persisted"
    );
}

/// The same ELF given through the generic loader (`--loader`) instead of `--kernel`.
#[test]
fn rv64i_via_loader() {
    run_guest_with("rv64i", Load::Loader, &[]);
}

#[test]
fn verdict_parsing() {
    let o = Outcome {
        code: Some(0),
        stdout: "ok   a\nFAIL b\n2 checks\nFAIL 1\n".into(),
        stderr: String::new(),
        timed_out: false,
    };
    assert_eq!(verdict(&o).as_deref(), Some("FAIL 1"));
    let o = Outcome {
        code: Some(0),
        stdout: "ok   PASS-ish\n".into(),
        stderr: "1 checks\nPASS\n".into(),
        timed_out: false,
    };
    assert_eq!(verdict(&o).as_deref(), Some("PASS"));
    let o = Outcome {
        code: Some(0),
        stdout: "FAIL x: got 1\n".into(),
        stderr: String::new(),
        timed_out: false,
    };
    assert_eq!(verdict(&o), None);
}
