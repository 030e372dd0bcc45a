//! The x86_64 `microvm` board under KVM, end to end through the `vmm` binary: the test guests
//! of `resources/x86/guests` (built here with the host gcc by `build.sh`), each run as `vmm run --board microvm --kernel ...`
//! and judged by its serial output, the files it leaves and vmm's exit status and stderr.
//!
//! Skipped, with the reason printed, where `/dev/kvm` cannot be opened or the host is not
//! x86_64.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use vmm_tests::{kvm_usable, vmm_binary, workspace_root};

/// Host-side limit after which a hung `vmm` is killed.
const HOST_TIMEOUT: Duration = Duration::from_secs(90);

/// Builds the x86 guests once (`resources/x86/guests/build.sh`) and returns their directory.
fn guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("vmm-kvm-vmm-guests-{}", std::process::id()));
        let src = workspace_root().join("resources/x86/guests");
        let st = Command::new("sh")
            .arg(src.join("build.sh"))
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .expect("sh runs");
        assert!(st.success(), "resources/x86/guests/build.sh failed");
        out
    })
}

fn guest(name: &str) -> String {
    guests()
        .join(format!("{name}.elf"))
        .to_string_lossy()
        .into_owned()
}

/// A running `vmm` with its output collected as it arrives.
struct Vmm {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// How a `vmm` run ended.
#[derive(Debug)]
struct Ended {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Vmm {
    fn start(args: &[&str], stdin: Stdio) -> Vmm {
        let mut child = Command::new(vmm_binary().expect("vmm binary"))
            .arg("run")
            .args(["--board", "microvm"])
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vmm starts");
        let collect = |mut pipe: Box<dyn Read + Send>| {
            let buf = Arc::new(Mutex::new(String::new()));
            let b = buf.clone();
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    b.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            });
            buf
        };
        let stdout = collect(Box::new(child.stdout.take().expect("stdout")));
        let stderr = collect(Box::new(child.stderr.take().expect("stderr")));
        Vmm {
            child,
            stdout,
            stderr,
        }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn wait_for_output(&self, needle: &str) -> bool {
        let t = Instant::now();
        while t.elapsed() < HOST_TIMEOUT {
            if self.stdout().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the exit (killing `vmm` after [`HOST_TIMEOUT`]).
    fn wait(mut self) -> Ended {
        let t = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            if t.elapsed() > HOST_TIMEOUT {
                let _ = self.child.kill();
                panic!("vmm hung; output so far: {}", self.stdout());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = t.elapsed();
        // Let the readers drain the pipes.
        std::thread::sleep(Duration::from_millis(50));
        Ended {
            status: status.code(),
            stdout: self.stdout(),
            stderr: self.stderr.lock().unwrap().clone(),
            elapsed,
        }
    }
}

/// Runs `vmm run --board microvm ARGS` with stdin closed.
fn run(args: &[&str]) -> Ended {
    Vmm::start(args, Stdio::null()).wait()
}

/// Asserts `e` ended with `status`, and (for 0) printed nothing on stderr.
fn assert_status(e: &Ended, status: i32) {
    assert_eq!(e.status, Some(status), "{e:#?}");
    assert!(!e.stderr.contains("panicked"), "{e:#?}");
    if status == 0 {
        assert_eq!(e.stderr, "", "{e:#?}");
    }
}

#[test]
fn kvm_vmm_entry_state_follows_the_64bit_boot_protocol() {
    if !kvm_usable() {
        return;
    }
    let e = run(&["--kernel", &guest("entry")]);
    assert_status(&e, 0);
    assert!(e.stdout.contains("ENTRY OK"), "{e:#?}");
}

#[test]
fn kvm_vmm_pvh_guest_prints_through_com1_to_stdout_and_to_a_file() {
    if !kvm_usable() {
        return;
    }
    let e = run(&["--kernel", &guest("hello_pvh")]);
    assert_status(&e, 0);
    assert_eq!(e.stdout, "HELLO\n", "{e:#?}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("serial.txt");
    let spec = format!("file:{}", out.display());
    let e = run(&["--kernel", &guest("hello_pvh"), "--serial", &spec]);
    assert_status(&e, 0);
    assert_eq!(e.stdout, "", "serial went to the file");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "HELLO\n");
    let e = run(&["--kernel", &guest("hello_pvh"), "--serial", "none"]);
    assert_status(&e, 0);
    assert_eq!(e.stdout, "");
}

#[test]
fn kvm_vmm_mmio_test_device_is_there_only_when_asked() {
    if !kvm_usable() {
        return;
    }
    let e = run(&["--kernel", &guest("mmio"), "--mmio-test"]);
    assert_status(&e, 0);
    assert!(e.stdout.contains("MMIO OK"), "{e:#?}");
    // Without the device, reads return zeros: a read-back check fails and its number is the
    // status.
    let e = run(&["--kernel", &guest("mmio")]);
    let st = e.status.expect("exited");
    assert!((1..=20).contains(&st), "{e:#?}");
    assert!(!e.stdout.contains("MMIO OK"), "{e:#?}");
}

fn disk_image(dir: &Path) -> PathBuf {
    let p = dir.join("disk.img");
    let mut image = vec![0u8; 1 << 20];
    image[..8].copy_from_slice(b"HOSTDATA");
    std::fs::write(&p, &image).unwrap();
    p
}

#[test]
fn kvm_vmm_virtio_blk_write_flush_read_reaches_the_host_file() {
    if !kvm_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = disk_image(dir.path());
    let drive = format!("file={}", disk.display());
    let e = run(&["--kernel", &guest("virtio_blk"), "--drive", &drive]);
    assert_status(&e, 0);
    assert!(e.stdout.contains("BLK OK"), "{e:#?}");
    let after = std::fs::read(&disk).unwrap();
    assert_eq!(after.len(), 1 << 20);
    assert_eq!(&after[..8], b"HOSTDATA", "sector 0 kept");
    assert!(
        after[1024..1536].iter().all(|&b| b == b'W'),
        "sector 2 written"
    );
    assert!(
        after[1536..].iter().all(|&b| b == 0),
        "nothing else written"
    );

    // Read-only: the write fails in the guest and the file is untouched.
    let disk = disk_image(dir.path());
    let drive = format!("file={},readonly=on", disk.display());
    let e = run(&["--kernel", &guest("virtio_blk"), "--drive", &drive]);
    assert_ne!(e.status, Some(0), "{e:#?}");
    assert!(e.stdout.contains("BLK FAIL"), "{e:#?}");
    let after = std::fs::read(&disk).unwrap();
    assert!(
        after[1024..1536].iter().all(|&b| b == 0),
        "read-only disk written"
    );
}

#[test]
fn kvm_vmm_serial_irqfd_wakes_a_halted_guest() {
    if !kvm_usable() {
        return;
    }
    let mut vmm = Vmm::start(&["--kernel", &guest("serial_irq")], Stdio::piped());
    assert!(vmm.wait_for_output("WAITING"), "guest got ready");
    // The guest halts with only IRQ 4 unmasked: nothing but the UART can wake it.
    std::thread::sleep(Duration::from_millis(300));
    assert!(vmm.running(), "guest ended without input: {}", vmm.stdout());
    assert!(
        !vmm.stdout().contains("IRQ4 OK"),
        "woke without an interrupt"
    );
    let mut stdin = vmm.child.stdin.take().expect("stdin");
    stdin.write_all(b"K").unwrap();
    stdin.flush().unwrap();
    let e = vmm.wait();
    drop(stdin);
    assert_status(&e, i32::from(b'K'));
    assert!(e.stdout.contains("IRQ4 OK K"), "{e:#?}");
}

#[test]
fn kvm_vmm_stdin_reaches_com1() {
    if !kvm_usable() {
        return;
    }
    let mut vmm = Vmm::start(&["--kernel", &guest("echo")], Stdio::piped());
    assert!(vmm.wait_for_output("READY"));
    let mut stdin = vmm.child.stdin.take().expect("stdin");
    stdin.write_all(b"Z").unwrap();
    let e = vmm.wait();
    assert_status(&e, i32::from(b'Z'));
    assert!(e.stdout.contains("GOT Z"), "{e:#?}");
}

#[test]
fn kvm_vmm_reset_exits_0_with_no_reboot() {
    if !kvm_usable() {
        return;
    }
    for (g, msg) in [("reset", "RESET"), ("triple", "FAULT")] {
        let e = run(&["--kernel", &guest(g), "--no-reboot"]);
        assert_status(&e, 0);
        assert_eq!(e.stdout.matches(msg).count(), 1, "{g}: {e:#?}");
    }
}

#[test]
fn kvm_vmm_reset_reboots_and_a_reset_loop_ends_with_3() {
    if !kvm_usable() {
        return;
    }
    for (g, msg) in [("reset", "RESET"), ("triple", "FAULT")] {
        // (--timeout: a host too loaded to boot the guest within the 1 s of a "quick" reset
        // would otherwise reboot it forever; that fails here with 124 instead of hanging.)
        let e = run(&["--kernel", &guest(g), "--timeout", "60"]);
        // Every reset rebooted the board (the guest ran again), ten quick ones end the run.
        assert_eq!(e.stdout.matches(msg).count(), 10, "{g}: {e:#?}");
        assert_eq!(e.status, Some(3), "{g}: {e:#?}");
        assert_eq!(e.stderr.lines().count(), 1, "{g}: {e:#?}");
        assert!(
            e.stderr
                .starts_with("vmm: error: the guest crashed the VM: the guest reset 10 times")
                && e.stderr.contains("--no-reboot"),
            "{g}: {e:#?}"
        );
    }
}

#[test]
fn kvm_vmm_poweroff_status_is_the_exit_status_and_cpu_masks_apply() {
    if !kvm_usable() {
        return;
    }
    // The cpuid guest powers off with 0x80 | POPCNT | XSAVE << 1 | SMAP << 2.
    let e = run(&["--kernel", &guest("cpuid")]);
    let full = e.status.expect("exited");
    assert!((0x80..=0x87).contains(&full), "{e:#?}");
    let e = run(&["--kernel", &guest("cpuid"), "--cpu", "-xsave,-smap,-popcnt"]);
    let masked = e.status.expect("exited");
    assert!((0x80..=0x87).contains(&masked), "{e:#?}");
    // A KVM that honours KVM_SET_CPUID2 feature bits hides all three; the software KVM of the
    // development host reports the host's bits whatever the table says.
    assert!(masked == 0x80 || masked == full, "{full:#x} {masked:#x}");
    let e = run(&["--kernel", &guest("cpuid"), "--cpu", "-warp"]);
    assert_eq!(e.status, Some(1), "{e:#?}");
    assert!(e.stderr.contains("unknown CPU feature `warp`"), "{e:#?}");
}

#[test]
fn kvm_vmm_internal_error_is_one_line_and_status_3() {
    if !kvm_usable() {
        return;
    }
    let e = run(&["--kernel", &guest("popcnt")]);
    assert!(e.stdout.contains("BEFORE"), "{e:#?}");
    if e.status == Some(7) {
        eprintln!("this KVM runs POPCNT (hardware virtualization): no internal error to report");
        return;
    }
    assert_eq!(e.status, Some(3), "{e:#?}");
    assert_eq!(e.stderr.lines().count(), 1, "one line: {e:#?}");
    let line = e.stderr.trim_end();
    for needle in [
        "vmm: error: the guest crashed the VM: vCPU 0: KVM internal error: ",
        "exit reason KVM_EXIT_INTERNAL_ERROR (17)",
        "suberror 1 (emulation failure",
        "instruction bytes f3 48 0f b8",
        ", rip=0x0000000000100",
    ] {
        assert!(line.contains(needle), "{needle:?} not in {line}");
    }
    // -v adds the registers, still with the one error line.
    let e = run(&["--kernel", &guest("popcnt"), "-v"]);
    assert_eq!(e.status, Some(3), "{e:#?}");
    assert!(e.stderr.contains("vmm: registers: cs=0x0010"), "{e:#?}");
    assert_eq!(e.stderr.matches("vmm: error:").count(), 1, "{e:#?}");
}

#[test]
fn kvm_vmm_timeout_and_signals_stop_a_halted_guest() {
    if !kvm_usable() {
        return;
    }
    // The irq guest halts until an IRQ 3 nobody raises.
    let e = run(&["--kernel", &guest("irq"), "--timeout", "0.5"]);
    assert_eq!(e.status, Some(124), "{e:#?}");
    assert!(e.stderr.contains("--timeout"), "{e:#?}");
    assert!(e.elapsed < Duration::from_secs(30), "{e:#?}");
    for (sig, name) in [(15, "TERM"), (2, "INT")] {
        let vmm = Vmm::start(&["--kernel", &guest("irq")], Stdio::null());
        assert!(vmm.wait_for_output("WAITING"));
        let st = Command::new("kill")
            .args(["-s", name, &vmm.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let e = vmm.wait();
        assert_eq!(e.status, Some(128 + sig), "SIG{name}: {e:#?}");
        assert!(e.elapsed < Duration::from_secs(30), "{e:#?}");
    }
}

#[test]
fn kvm_vmm_every_memory_backend_runs_the_guest() {
    if !kvm_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ram");
    // An existing (empty) file is used in place and extended to the RAM size.
    std::fs::write(&file, b"").unwrap();
    let dir_s = dir.path().to_string_lossy().into_owned();
    let file_s = file.to_string_lossy().into_owned();
    for extra in [
        &["--mem-backend", "anon"][..],
        &["--mem-backend", "anon", "--mem-shared", "--mem-prealloc"][..],
        &["--mem-backend", "memfd", "-m", "64M"][..],
        &["--mem-path", &dir_s, "-m", "32M"][..],
        &["--mem-path", &file_s, "-m", "32M", "--mem-prealloc"][..],
    ] {
        let mut args = vec!["--kernel", &*guest("hello_pvh")]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = run(&refs);
        assert_status(&e, 0);
        assert_eq!(e.stdout, "HELLO\n", "{extra:?}: {e:#?}");
    }
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 32 << 20);
    // RAM above the 3 GiB MMIO hole: two regions, both mapped and given to KVM.
    let e = run(&["--kernel", &guest("entry"), "-m", "3200M"]);
    assert_status(&e, 0);
    assert!(e.stdout.contains("ENTRY OK"), "{e:#?}");
}

#[test]
fn kvm_vmm_auto_picks_kvm_and_says_why() {
    if !kvm_usable() {
        return;
    }
    let e = run(&["--kernel", &guest("hello_pvh"), "-v"]);
    assert_eq!(e.status, Some(0), "{e:#?}");
    assert!(
        e.stderr
            .contains("vmm: accelerator kvm (auto: /dev/kvm works and the host ISA is x86_64)"),
        "{e:#?}"
    );
    assert!(
        e.stderr.contains("kernel command line: console=ttyS0"),
        "{e:#?}"
    );
    assert!(
        e.stderr.contains("guest powered off with status 0"),
        "{e:#?}"
    );
    let e = run(&["--kernel", &guest("hello_pvh"), "--accel", "kvm"]);
    assert_status(&e, 0);
}
