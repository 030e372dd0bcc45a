//! Runs the `vmm` binary: help, listings, every bad input (one stderr line, non-zero exit, no
//! panic), memory backends end to end, timeout and signals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const VMM: &str = env!("CARGO_BIN_EXE_vmm");
const RAM: u64 = 0x8000_0000;

/// Host-side limit for one `vmm` run: a regression that hangs fails the test instead of
/// stalling the whole suite.
const WATCHDOG: Duration = Duration::from_secs(120);

fn vmm(args: &[&str]) -> Output {
    let child = Command::new(VMM)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG")
        .spawn()
        .expect("vmm runs");
    let pid = child.id() as i32;
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(WATCHDOG).is_err() {
            // SAFETY: kill(2) on the pid of our own child; at worst the pid is already reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("vmm output");
    let _ = done_tx.send(());
    let killed = watchdog.join().unwrap_or(false);
    assert!(
        !killed,
        "vmm {args:?} ran longer than {WATCHDOG:?} and was killed; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts the run failed with status 1 and exactly one stderr line `vmm: error: ...` holding
/// every needle.
fn assert_one_line_error(args: &[&str], needles: &[&str]) {
    let o = vmm(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: stderr {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(err.starts_with("vmm: error: "), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err:?} lacks {n:?}");
    }
}

/// A little-endian RISC-V ELF64 executable with one PT_LOAD segment.
fn riscv_elf(paddr: u64, data: &[u8], memsz: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out.extend_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&paddr.to_le_bytes()); // e_entry
    out.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    out.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, 1, 64, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    out.extend_from_slice(&7u32.to_le_bytes());
    out.extend_from_slice(&120u64.to_le_bytes()); // p_offset
    out.extend_from_slice(&paddr.to_le_bytes()); // p_vaddr
    out.extend_from_slice(&paddr.to_le_bytes()); // p_paddr
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    out.extend_from_slice(&memsz.to_le_bytes());
    out.extend_from_slice(&0x1000u64.to_le_bytes());
    out.extend_from_slice(data);
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A raw G233 program that loops forever at 0x8000_0000 (`j .`).
fn forever(dir: &Path) -> PathBuf {
    write(dir, "forever.bin", &0x0000_006fu32.to_le_bytes())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn help_documents_commands_flags_and_exit_status() {
    let o = vmm(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for n in [
        "run",
        "boards",
        "accels",
        "EXIT STATUS",
        "124",
        "128+N",
        "EXAMPLES",
    ] {
        assert!(out.contains(n), "--help lacks {n}");
    }
    let o = vmm(&["run", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for n in [
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
        "BOOT FLOW",
        "Ctrl-A x",
    ] {
        assert!(out.contains(n), "run --help lacks {n}");
    }
}

#[test]
fn boards_and_accels() {
    let o = vmm(&["boards"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.lines().any(|l| l.starts_with("g233 ")), "{out}");
    let o = vmm(&["accels"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("kvm ") && out.contains("tcg "), "{out}");
    assert!(out.contains("board g233"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let o = vmm(&["run", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));
    let o = vmm(&["run", "--accel", "hvf"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_images_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert_one_line_error(
        &["run", "--kernel", "/nonexistent/k.elf"],
        &["kernel /nonexistent/k.elf", "No such file"],
    );
    let good = riscv_elf(RAM, &[0x6f, 0, 0, 0], 4);
    let trunc = write(dir.path(), "trunc.elf", &good[..100]);
    assert_one_line_error(
        &["run", "--kernel", s(&trunc)],
        &["trunc.elf", "truncated ELF"],
    );
    let beyond = write(
        dir.path(),
        "beyond.elf",
        &riscv_elf(RAM + (64 << 20), &[1; 16], 16),
    );
    assert_one_line_error(
        &["run", "--memory", "16M", "--kernel", s(&beyond)],
        &[
            "beyond.elf",
            "0x84000000..0x84000010",
            "0x80000000..0x81000000",
            "--memory",
        ],
    );
    let raw = write(dir.path(), "big.bin", &vec![0u8; 3 << 20]);
    assert_one_line_error(
        &[
            "run",
            "--memory",
            "2M",
            "--bios",
            "none",
            "--kernel",
            s(&raw),
        ],
        &["big.bin", "outside guest RAM", "--memory"],
    );
    let not_elf = write(dir.path(), "blob.bin", b"not an elf");
    assert_one_line_error(
        &["run", "--loader", s(&not_elf)],
        &["blob.bin", "--loader takes ELF"],
    );
    let overlap = write(dir.path(), "overlap.elf", &riscv_elf(RAM, &[1; 16], 16));
    let kernel = write(
        dir.path(),
        "kernel.elf",
        &riscv_elf(RAM, &[0x6f, 0, 0, 0], 4),
    );
    assert_one_line_error(
        &["run", "--kernel", s(&kernel), "--loader", s(&overlap)],
        &["overlap.elf", "overlaps the kernel"],
    );
    let fw = write(dir.path(), "fw.bin", &[0x6f, 0, 0, 0]);
    let under_fw = write(dir.path(), "under-fw.elf", &riscv_elf(RAM, &[1; 16], 16));
    assert_one_line_error(
        &["run", "--bios", s(&fw), "--kernel", s(&under_fw)],
        &["under-fw.elf", "overlaps the firmware"],
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x86_elf_on_g233_names_both_machines() {
    assert_one_line_error(
        &["run", "--kernel", "/bin/true"],
        &["/bin/true", "another machine", "x86-64", "riscv64"],
    );
}

#[test]
fn bad_memory_is_one_line_error() {
    assert_one_line_error(&["run", "--memory", "0"], &["size is 0", "--memory"]);
    assert_one_line_error(
        &["run", "--memory", "lots"],
        &["invalid size 'lots'", "512M"],
    );
    assert_one_line_error(
        &["run", "--memory", "64T"],
        &["more than the host's RAM", "--memory"],
    );
    assert_one_line_error(
        &["run", "--mem-path", "/nonexistent/ram"],
        &["/nonexistent/ram", "no such file"],
    );
    assert_one_line_error(&["run", "--mem-backend", "file"], &["--mem-path"]);
}

#[test]
fn read_only_mem_path_is_one_line_error() {
    let parent = tempfile::tempdir().unwrap();
    let ro = parent.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    // Root ignores permissions: make the directory immutable instead.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| stdout(&o).trim() == "0");
    let immutable = root
        && Command::new("chattr")
            .arg("+i")
            .arg(&ro)
            .status()
            .is_ok_and(|s| s.success());
    if root && !immutable {
        eprintln!("skipped: root and no chattr +i here");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        assert_one_line_error(
            &["run", "--memory", "16M", "--mem-path", s(&ro)],
            &[s(&ro), "read-only"],
        )
    });
    if immutable {
        let _ = Command::new("chattr").arg("-i").arg(&ro).status();
    }
    std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

#[test]
fn bad_board_accel_flash_serial() {
    assert_one_line_error(
        &["run", "--board", "nope"],
        &["unknown board 'nope'", "g233"],
    );
    #[cfg(not(target_arch = "riscv64"))]
    assert_one_line_error(
        &["run", "--accel", "kvm"],
        &["--accel kvm", "g233", "--accel tcg"],
    );
    let dir = tempfile::tempdir().unwrap();
    let small = write(dir.path(), "small.bin", &[0xff; 1000]);
    let arg = format!("0={}", s(&small));
    assert_one_line_error(&["run", "--flash", &arg], &["small.bin", "2097152"]);
    assert_one_line_error(&["run", "--flash", "2=x.bin"], &["chip selects 0", "1"]);
    assert_one_line_error(&["run", "--flash", "x.bin"], &["--flash", "CS=PATH"]);
    assert_one_line_error(&["run", "--serial", "pty"], &["--serial", "stdio"]);
    assert_one_line_error(&["run", "--timeout", "soon"], &["--timeout", "seconds"]);
    assert_one_line_error(
        &["run", "--bios", "/nonexistent/fw.bin"],
        &["/nonexistent/fw.bin"],
    );
}

/// Runs the looping guest for a short `--timeout` with `extra` options; returns the output.
fn run_forever(extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let k = forever(dir.path());
    let mut args = vec![
        "run",
        "--bios",
        "none",
        "--kernel",
        s(&k),
        "--timeout",
        "0.3",
    ];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    vmm(&refs)
}

fn assert_timed_out(o: &Output) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(124), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("timeout"), "{err}");
}

#[test]
fn timeout_exits_124_with_one_line() {
    let start = Instant::now();
    assert_timed_out(&run_forever(&["--memory", "64M"]));
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn memory_backends_run_the_guest() {
    assert_timed_out(&run_forever(&["--memory", "64M", "--mem-backend", "memfd"]));
    assert_timed_out(&run_forever(&[
        "--memory",
        "64M",
        "--mem-prealloc",
        "--mem-shared",
    ]));
    let dir = tempfile::tempdir().unwrap();
    assert_timed_out(&run_forever(&[
        "--memory",
        "64M",
        "--mem-path",
        s(dir.path()),
    ]));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the RAM file in a --mem-path directory is unlinked"
    );
    let file = dir.path().join("ram.img");
    std::fs::write(&file, b"").unwrap();
    assert_timed_out(&run_forever(&[
        "--memory",
        "16M",
        "--mem-path",
        s(&file),
        "--mem-prealloc",
    ]));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 16 << 20);
    let data = std::fs::read(&file).unwrap();
    assert_eq!(
        &data[..4],
        &0x0000_006fu32.to_le_bytes(),
        "guest RAM is the file"
    );
}

#[test]
fn hugepages_run_or_fail_in_one_line() {
    let pool = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
    let free: u64 = std::fs::read_to_string(pool)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let args = ["--memory", "4M", "--mem-backend", "memfd", "--hugepages"];
    if free >= 2 {
        assert_timed_out(&run_forever(&args));
    } else {
        let dir = tempfile::tempdir().unwrap();
        let k = forever(dir.path());
        let mut a = vec!["run", "--bios", "none", "--kernel", s(&k)];
        a.extend_from_slice(&args);
        assert_one_line_error(&a, &["huge pages", "nr_hugepages"]);
        eprintln!("skipped: the positive huge page run (no free 2 MiB pages)");
    }
    let hugetlbfs = std::fs::read_to_string("/proc/mounts").ok().and_then(|m| {
        m.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"hugetlbfs")).then(|| f[1].to_string())
        })
    });
    match hugetlbfs {
        Some(dir) if free >= 2 => {
            assert_timed_out(&run_forever(&["--memory", "4M", "--mem-path", &dir]))
        }
        Some(dir) => assert_one_line_error(
            &["run", "--memory", "4M", "--mem-path", &dir],
            &[&dir, "huge pages"],
        ),
        None => eprintln!("skipped: no hugetlbfs mount"),
    }
    // Not a multiple of the huge page size: always refused.
    assert_one_line_error(
        &[
            "run",
            "--memory",
            "3M",
            "--mem-backend",
            "memfd",
            "--hugepages",
        ],
        &["multiple of", "--memory"],
    );
}

fn stop_with_signal(sig: i32) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let k = forever(dir.path());
    let child = Command::new(VMM)
        .args([
            "run",
            "--bios",
            "none",
            "--memory",
            "64M",
            "--kernel",
            s(&k),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, sig) };
    child.wait_with_output().unwrap()
}

#[test]
fn signals_exit_128_plus_n() {
    let o = stop_with_signal(libc::SIGTERM);
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    let o = stop_with_signal(libc::SIGINT);
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
}

#[test]
fn default_guest_runs_and_exits_0() {
    let o = Command::new(VMM)
        .args(["--timeout", "60"])
        .stdin(Stdio::null())
        .output();
    // `--timeout` belongs to `run`: with no command only -v is accepted.
    assert_eq!(o.unwrap().status.code(), Some(2));
    let mut child = Command::new(VMM)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let out = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout {out} stderr {}",
        stderr(&o)
    );
    assert!(out.contains("G233 default guest"), "{out}");
}

/// Raw G233 program: semihosting SYS_EXIT_EXTENDED with code 7, then `j .`.
const EXIT7: [u32; 12] = [
    0x0200_0513, // li a0, 0x20
    0x0000_0597, // auipc a1, 0
    0x01c5_8593, // addi a1, a1, 28  (-> block)
    0x01f0_1013, // slli zero, zero, 0x1f
    0x0010_0073, // ebreak
    0x4070_5013, // srai zero, zero, 7
    0x0000_006f, // j .
    0,
    0x0002_0026, // block: ADP_Stopped_ApplicationExit
    0,
    7, // exit code
    0,
];

/// Raw G233 program: test finisher FAIL with code 3 (0x33333 to 0x100000), then `j .`.
const POWEROFF3: [u32; 5] = [
    0x0010_02b7, // lui t0, 0x100
    0x0003_3337, // lui t1, 0x33
    0x3333_0313, // addi t1, t1, 0x333
    0x0062_a023, // sw t1, 0(t0)
    0x0000_006f, // j .
];

fn words(dir: &Path, name: &str, w: &[u32]) -> PathBuf {
    let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
    write(dir, name, &bytes)
}

#[test]
fn guest_exit_codes_become_vmm_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let exit7 = words(dir.path(), "exit7.bin", &EXIT7);
    let base = [
        "run",
        "--bios",
        "none",
        "--memory",
        "64M",
        "--kernel",
        s(&exit7),
    ];
    let mut args = base.to_vec();
    args.push("--semihosting");
    let o = vmm(&args);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    // Without --semihosting the ebreak is a breakpoint exception: the guest does not exit.
    let mut args = base.to_vec();
    args.extend_from_slice(&["--timeout", "0.3"]);
    assert_timed_out(&vmm(&args));
    let off = words(dir.path(), "poweroff.bin", &POWEROFF3);
    let o = vmm(&[
        "run",
        "--bios",
        "none",
        "--memory",
        "64M",
        "--kernel",
        s(&off),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn serial_backends_and_icount() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("serial.txt");
    let arg = format!("file:{}", s(&out));
    let o = vmm(&["run", "--serial", &arg, "--icount", "50"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("G233 default guest"), "{text}");
    assert!(!stdout(&o).contains("G233 default guest"));
    let o = vmm(&["run", "--serial", "none"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("G233 default guest"));
}

#[test]
fn verbose_says_which_accelerator_and_why() {
    let o = vmm(&["-v", "run", "--serial", "none"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("vmm: accelerator "), "{err}");
    assert!(err.contains("of guest RAM"), "{err}");
}

/// Raw G233 program: waits for one byte on UART0 and exits through semihosting with it.
const READ_UART: [u32; 18] = [
    0x1000_02b7, // lui t0, 0x10000
    0x0182_a303, // 1: lw t1, 0x18(t0)   (FR)
    0x0103_7313, // andi t1, t1, 0x10    (RXFE)
    0xfe03_1ce3, // bnez t1, 1b
    0x0002_a383, // lw t2, 0(t0)         (DR)
    0x0ff3_f393, // andi t2, t2, 0xff
    0x0000_0597, // auipc a1, 0
    0x0205_8593, // addi a1, a1, 32      (-> block)
    0x0075_b423, // sd t2, 8(a1)
    0x0200_0513, // li a0, 0x20
    0x01f0_1013, // slli zero, zero, 0x1f
    0x0010_0073, // ebreak
    0x4070_5013, // srai zero, zero, 7
    0x0000_006f, // j .
    0x0002_0026, // block: ADP_Stopped_ApplicationExit
    0,
    0, // exit code, written by the program
    0,
];

#[test]
fn stdin_reaches_the_guest_uart() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let k = words(dir.path(), "read-uart.bin", &READ_UART);
    let mut child = Command::new(VMM)
        .args(["run", "--bios", "none", "--memory", "64M", "--semihosting"])
        .args(["--timeout", "20", "--kernel", s(&k)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"A").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(i32::from(b'A')), "{}", stderr(&o));
}

/// Raw G233 program: programs 0x5A at address 0 of the CS0 flash (WREN, PP), then `j .`.
const PROGRAM_FLASH: [u32; 28] = [
    0x1001_82b7, // lui t0, 0x10018      (SPI0)
    0x0440_0313, // li t1, 0x44          (SPE | MSTR)
    0x0062_a023, // sw t1, 0(t0)         (CR1)
    0x0110_0313, // li t1, 0x11          (CS0 enabled and active)
    0x0062_a823, // sw t1, 16(t0)        (CSCTRL)
    0x0060_0513, // li a0, 6             (WREN)
    0x0400_00ef, // jal xfer
    0x0002_a823, // sw zero, 16(t0)      (deselect)
    0x0110_0313, // li t1, 0x11
    0x0062_a823, // sw t1, 16(t0)
    0x0020_0513, // li a0, 2             (page program)
    0x02c0_00ef, // jal xfer
    0x0000_0513, // li a0, 0             (address 0, 3 bytes)
    0x0240_00ef, // jal xfer
    0x0000_0513, // li a0, 0
    0x01c0_00ef, // jal xfer
    0x0000_0513, // li a0, 0
    0x0140_00ef, // jal xfer
    0x05a0_0513, // li a0, 0x5a          (data)
    0x00c0_00ef, // jal xfer
    0x0002_a823, // sw zero, 16(t0)
    0x0000_006f, // j .
    0x00a2_a623, // xfer: sw a0, 12(t0)  (DR)
    0x0082_a303, // 1: lw t1, 8(t0)      (SR)
    0x0013_7313, // andi t1, t1, 1       (RXNE)
    0xfe03_0ce3, // beqz t1, 1b
    0x00c2_a303, // lw t1, 12(t0)
    0x0000_8067, // ret
];

#[test]
fn flash_writes_survive_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let k = words(dir.path(), "flash.bin", &PROGRAM_FLASH);
    let img = write(dir.path(), "cs0.img", &vec![0xff; 2 << 20]);
    let flash = format!("0={}", s(&img));
    let child = Command::new(VMM)
        .args([
            "run", "--bios", "none", "--memory", "64M", "--flash", &flash,
        ])
        .args(["--kernel", s(&k)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    let data = std::fs::read(&img).unwrap();
    assert_eq!(data.len(), 2 << 20);
    assert_eq!(&data[..2], &[0x5a, 0xff]);
}

/// Raw firmware: exits through semihosting with 42 when the fw_dynamic reset stub handed it
/// `a2` -> fw_dynamic_info (magic "OSBI", next_addr 0x8020_0000) and `a1` -> a device tree;
/// with 1 otherwise.
const FW_CHECK: [u32; 30] = [
    0x0006_3283, // ld t0, 0(a2)        (fw_dynamic_info.magic)
    0x4942_5337, // li t1, 0x4942534f  ("OSBI")
    0x34f3_031b,
    0x0262_9a63, // bne t0, t1, fail
    0x0005_e283, // lwu t0, 0(a1)       (device tree magic)
    0x000e_e337, // li t1, 0xedfe0dd0
    0xfe13_031b,
    0x00c3_1313,
    0xdd03_0313,
    0x0062_9e63, // bne t0, t1, fail
    0x0106_3283, // ld t0, 16(a2)       (next_addr)
    0x4010_031b, // li t1, 0x80200000
    0x0153_1313,
    0x0062_9663, // bne t0, t1, fail
    0x02a0_0393, // li t2, 42
    0x0080_006f, // j done
    0x0010_0393, // fail: li t2, 1
    0x0000_0597, // done: la a1, block
    0x0245_8593,
    0x0075_b423, // sd t2, 8(a1)
    0x0200_0513, // li a0, 0x20
    0x01f0_1013, // slli zero, zero, 0x1f
    0x0010_0073, // ebreak
    0x4070_5013, // srai zero, zero, 7
    0x0000_006f, // j .
    0x0000_0013, // nop (align)
    0x0002_0026, // block: ADP_Stopped_ApplicationExit
    0x0000_0000,
    0x0000_0000, // exit code, written by the program
    0x0000_0000,
];

#[test]
fn firmware_boot_passes_fdt_and_fw_dynamic_info() {
    let dir = tempfile::tempdir().unwrap();
    let fw = words(dir.path(), "fw.bin", &FW_CHECK);
    let kernel = write(dir.path(), "Image", &[0x6f, 0, 0, 0]);
    let initrd = write(dir.path(), "initrd", &[0u8; 4096]);
    let o = vmm(&[
        "run",
        "--bios",
        s(&fw),
        "--kernel",
        s(&kernel),
        "--initrd",
        s(&initrd),
        "--append",
        "console=ttyAMA0",
        "--semihosting",
        "--memory",
        "128M",
        "--timeout",
        "20",
    ]);
    assert_eq!(o.status.code(), Some(42), "{}", stderr(&o));
    // A bare-metal boot refuses --initrd and --append: they need a firmware boot.
    assert_one_line_error(
        &[
            "run",
            "--bios",
            "none",
            "--kernel",
            s(&kernel),
            "--append",
            "x",
        ],
        &["--append", "--bios default"],
    );
}

/// Raw G233 program: test finisher RESET (0x7777 to 0x100000), then `j .`.
const RESET: [u32; 5] = [
    0x0010_02b7, // lui t0, 0x100
    0x0000_7337, // lui t1, 0x7
    0x7773_0313, // addi t1, t1, 0x777
    0x0062_a023, // sw t1, 0(t0)
    0x0000_006f, // j .
];

#[test]
fn guest_reset_reboots_the_board_or_exits_with_no_reboot() {
    let dir = tempfile::tempdir().unwrap();
    let reset = words(dir.path(), "reset.bin", &RESET);
    let base = [
        "run", "--accel", "tcg", "--board", "g233", "--bios", "none", "-v", "--kernel",
    ];
    let mut once = base.to_vec();
    once.extend([s(&reset), "--no-reboot"]);
    let o = vmm(&once);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("--no-reboot"), "{}", stderr(&o));

    // Without --no-reboot every reset rebuilds the board and runs the program again, until
    // the timeout stops it.
    let mut looping = base.to_vec();
    looping.extend([s(&reset), "--timeout", "2"]);
    let o = vmm(&looping);
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    let reboots = stderr(&o)
        .matches("guest reset: rebooting the board")
        .count();
    assert!(reboots >= 2, "expected several reboots:\n{}", stderr(&o));
}

#[test]
fn dumpdtb_writes_the_device_tree_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let dtb = dir.path().join("g233.dtb");
    let o = vmm(&[
        "run",
        "--board",
        "g233",
        "--memory",
        "512M",
        "--dumpdtb",
        s(&dtb),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let blob = std::fs::read(&dtb).unwrap();
    assert_eq!(&blob[..4], &0xd00d_feedu32.to_be_bytes());
    let has = |n: &str| blob.windows(n.len()).any(|w| w == n.as_bytes());
    for n in [
        "arm,pl011",
        "riscv,plic0",
        "sifive,gpio0",
        "jedec,spi-nor",
        "riscv,isa-extensions",
    ] {
        assert!(has(n), "{n} missing");
    }
    // 512 MiB of memory at 0x8000_0000: reg = <0 0x80000000 0 0x20000000>.
    let reg: Vec<u8> = [0u32, 0x8000_0000, 0, 0x2000_0000]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    assert!(blob.windows(16).any(|w| w == reg.as_slice()), "memory node");

    let o = vmm(&["run", "--dumpdtb", "/nonexistent/dir/x.dtb"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn jit_flags_switch_tiers_and_report_counters() {
    for jit in ["on", "off"] {
        let o = vmm(&["run", "--accel", "tcg", "--jit", jit, "-v"]);
        assert_eq!(o.status.code(), Some(0), "--jit {jit}: {}", stderr(&o));
        assert!(stdout(&o).contains("G233 default guest"), "{}", stdout(&o));
        assert!(stderr(&o).contains("vmm: tcg: "), "{}", stderr(&o));
        assert_eq!(
            stderr(&o).contains("vmm: jit: "),
            jit == "on",
            "JIT counters only with the JIT on: {}",
            stderr(&o)
        );
    }
    let o = vmm(&["run", "--jit-threshold", "1", "--jit", "on"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_one_line_error(&["run", "--jit-threshold", "0"], &["--jit-threshold 0"]);
    let o = vmm(&["run", "--jit", "maybe"]);
    assert_eq!(o.status.code(), Some(2), "clap rejects it: {}", stderr(&o));
}
