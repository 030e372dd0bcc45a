//! The `vmm` binary's command line for the x86_64 `microvm` board (KVM): listings, help, and
//! every bad combination as one stderr line with status 1. The guests themselves run in
//! `tests/tests/kvm_vmm.rs`; checks that get past the accelerator choice need a usable
//! `/dev/kvm` and say when they are skipped.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const VMM: &str = env!("CARGO_BIN_EXE_vmm");

fn vmm(args: &[&str]) -> Output {
    Command::new(VMM)
        .args(args)
        .stdin(Stdio::null())
        .env_remove("RUST_LOG")
        .output()
        .expect("vmm runs")
}

fn kvm_usable() -> bool {
    let ok = cfg!(target_arch = "x86_64")
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
    if !ok {
        eprintln!("skipping the checks past the accelerator choice: no usable /dev/kvm on x86_64");
    }
    ok
}

/// Asserts status 1 and exactly one stderr line `vmm: error: ...` holding every needle.
fn assert_one_line_error(args: &[&str], needles: &[&str]) {
    let o = vmm(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: stderr {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(err.starts_with("vmm: error: "), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err:?} lacks {n:?}");
    }
    assert!(o.stdout.is_empty(), "{args:?}: guest output");
}

/// A file that is no kernel at all.
fn junk(dir: &Path) -> String {
    let p = dir.join("junk.bin");
    std::fs::write(&p, [0x90u8; 4096]).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn microvm_is_listed_on_x86_hosts() {
    let o = vmm(&["boards"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.lines().any(|l| l.starts_with("microvm ")),
        cfg!(target_arch = "x86_64"),
        "{out}"
    );
    let o = vmm(&["accels"]);
    let out = String::from_utf8_lossy(&o.stdout);
    if cfg!(target_arch = "x86_64") {
        assert!(
            out.contains("board microvm (x86_64): no: TCG emulates riscv64 only"),
            "{out}"
        );
    }
}

#[test]
fn run_help_documents_the_microvm_options_and_statuses() {
    let o = vmm(&["run", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--cpu <-FEATURE,...>",
        "--drive <file=PATH[,readonly=on]>",
        "--rng",
        "--mmio-test",
        "BOOT FLOW (microvm",
        "virtio_mmio.device=",
        "--no-reboot, which exits 0",
        "reset loop",
        "instruction bytes and rip",
        "vmm run --board microvm --kernel vmlinux",
    ] {
        assert!(help.contains(needle), "run --help lacks {needle:?}");
    }
}

#[test]
fn tcg_cannot_run_microvm_and_kvm_cannot_run_g233_here() {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let k = junk(dir.path());
    assert_one_line_error(
        &[
            "run", "--accel", "tcg", "--board", "microvm", "--kernel", &k,
        ],
        &[
            "--accel tcg cannot run board microvm",
            "riscv64 only",
            "--accel kvm",
        ],
    );
    assert_one_line_error(
        &["run", "--accel", "kvm", "--board", "g233"],
        &["--accel kvm cannot run board g233", "x86_64", "--accel tcg"],
    );
}

#[test]
fn options_of_the_other_board_are_refused() {
    assert_one_line_error(
        &["run", "--accel", "tcg", "--drive", "file=x", "--rng"],
        &["--drive, --rng are only for board microvm, not g233"],
    );
    assert_one_line_error(
        &["run", "--accel", "tcg", "--cpu", "-xsave"],
        &["--cpu is only for board microvm"],
    );
    if !kvm_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let k = junk(dir.path());
    assert_one_line_error(
        &[
            "run", "--board", "microvm", "--kernel", &k, "--flash", "0=x",
        ],
        &["--flash is only for board g233, not microvm; drop it"],
    );
    assert_one_line_error(
        &[
            "run",
            "--board",
            "microvm",
            "--kernel",
            &k,
            "--semihosting",
            "--icount",
        ],
        &["--semihosting, --icount are only for board g233"],
    );
}

#[test]
fn bad_microvm_values_are_one_line_errors() {
    if !kvm_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let k = junk(dir.path());
    let disk = dir.path().join("d.img");
    std::fs::write(&disk, [0u8; 512]).unwrap();
    let drive = format!("file={}", disk.display());
    let m = ["run", "--board", "microvm"];
    let with =
        |extra: &[&str]| -> Vec<String> { m.iter().chain(extra).map(|s| s.to_string()).collect() };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (with(&[]), vec!["board microvm needs --kernel"]),
        (
            with(&["--kernel", &k]),
            vec!["loading kernel", "vmlinux ELF or a bzImage"],
        ),
        (
            with(&["--kernel", &k, "--memory", "4M"]),
            vec!["--memory 4M: microvm needs at least 8M", "--memory 8M"],
        ),
        (
            with(&["--kernel", &k, "--cpu", "-warp"]),
            vec!["--cpu -warp", "unknown CPU feature `warp`"],
        ),
        (
            with(&["--kernel", &k, "--cpu", "+avx"]),
            vec!["only removals"],
        ),
        (
            with(&["--kernel", &k, "--drive", "file=/nonexistent/d.img"]),
            vec!["--drive file /nonexistent/d.img", "check the path"],
        ),
        (
            with(&["--kernel", &k, "--drive", "disk.img,cache=none"]),
            vec![
                "invalid --drive",
                "unknown key 'cache'",
                "file=PATH[,readonly=on]",
            ],
        ),
        (
            with(&[
                "--kernel", &k, "--drive", &drive, "--drive", &drive, "--drive", &drive, "--drive",
                &drive, "--drive", &drive, "--drive", &drive, "--rng",
            ]),
            vec!["7 virtio devices", "6 slots"],
        ),
        (
            with(&["--kernel", &k, "--initrd", "/nonexistent/initrd"]),
            vec!["initrd /nonexistent/initrd"],
        ),
    ];
    for (args, needles) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_one_line_error(&refs, &needles);
    }
}
