//! Linux on the x86_64 `microvm` under KVM, end to end through the `vmm` binary: boots the
//! project's kernel (`resources/x86/linux/build-kernel.sh`, an uncompressed vmlinux entered
//! through PVH) with an initramfs built here (a static `/init` from `kvm_linux_init.S` and
//! `/dev/console`, `/dev/kmsg`), a virtio-blk disk and virtio-rng, and asserts on the kernel's
//! own console lines (earlycon, so they appear before the console driver registers) that what
//! the VMM set up is what the kernel saw: the command line (with the board's
//! `virtio_mmio.device=` entries), the e820 RAM ranges, the memory size and the initrd.
//!
//! Two outcomes are accepted, each with everything that must be there:
//! - the development host's software `/dev/kvm` dies with a KVM internal error at the first
//!   INT3 the kernel executes (while patching alternatives): status 3 and one clear error line
//!   (exit reason, suberror, instruction bytes `cc`, rip in the kernel's text);
//! - hardware virtualization boots on: `Run /init as init process`, the virtio-blk probe line
//!   (`[vda]` with the disk's size in sectors), the init's marker, then the init restarts the
//!   machine (`reboot=k`: the i8042 reset) and `--no-reboot` makes that status 0.
//!
//! The kernel comes from `$VMM_X86_VMLINUX` when set (the test script builds it first, so its
//! progress is visible), else from the build script (cached per machine). Where the script
//! cannot build it the test prints why and returns, except under CI (`CI` set).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vmm_tests::{kvm_usable, vmm_binary, workspace_root};

/// Guest RAM for the boot.
const RAM: u64 = 128 << 20;
/// The disk: 2048 sectors of 512 bytes.
const DISK_SIZE: usize = 1 << 20;
/// vmm's `--timeout`: a boot to the internal error takes ~20 s on the loaded 2-core
/// development host, a hardware boot to /init a second or two.
const GUEST_TIMEOUT_SECS: u64 = 200;

/// The vmlinux: `$VMM_X86_VMLINUX`, or the path `build-kernel.sh` prints.
fn vmlinux() -> Result<Option<PathBuf>, String> {
    if let Some(p) = std::env::var_os("VMM_X86_VMLINUX") {
        return Ok(Some(PathBuf::from(p)));
    }
    let script = workspace_root().join("resources/x86/linux/build-kernel.sh");
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        let why = format!(
            "resources/x86/linux/build-kernel.sh failed ({}); see its message above",
            out.status
        );
        return if std::env::var_os("CI").is_some() {
            Err(why)
        } else {
            eprintln!("skipped: {why}");
            Ok(None)
        };
    }
    Ok(Some(PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim(),
    )))
}

/// One entry of a `newc` cpio archive.
fn cpio_entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
    let fields = [
        ino,
        mode,
        0,
        0,
        1,
        0,
        data.len() as u32,
        0,
        0,
        rdev.0,
        rdev.1,
        name.len() as u32 + 1,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// An initramfs: `/init` (built from `kvm_linux_init.S`), `/dev/console` and `/dev/kmsg`.
fn initramfs(dir: &Path) -> PathBuf {
    let init = dir.join("init");
    let st = Command::new("gcc")
        .args([
            "-nostdlib",
            "-static",
            "-no-pie",
            "-Wl,--build-id=none",
            "-o",
        ])
        .arg(&init)
        .arg(workspace_root().join("tests/tests/kvm_linux_init.S"))
        .status()
        .expect("host gcc runs");
    assert!(st.success(), "building kvm_linux_init.S failed");
    let init = std::fs::read(&init).unwrap();
    let mut cpio = Vec::new();
    cpio_entry(&mut cpio, 1, "dev", 0o040755, (0, 0), &[]);
    cpio_entry(&mut cpio, 2, "dev/console", 0o020600, (5, 1), &[]);
    cpio_entry(&mut cpio, 3, "dev/kmsg", 0o020644, (1, 11), &[]);
    cpio_entry(&mut cpio, 4, "init", 0o100755, (0, 0), &init);
    cpio_entry(&mut cpio, 5, "TRAILER!!!", 0, (0, 0), &[]);
    let path = dir.join("initramfs.cpio");
    std::fs::write(&path, &cpio).unwrap();
    path
}

/// The `RAMDISK:` line Linux prints for an initrd of `size` bytes that the board placed, page
/// aligned, at the top of RAM.
fn ramdisk_line(size: u64) -> String {
    let start = (RAM - size) & !0xfff;
    let end = (start + size).div_ceil(0x1000) * 0x1000;
    format!("RAMDISK: [mem {start:#010x}-{:#010x}]", end - 1)
}

#[test]
fn kvm_linux_boot_sees_what_the_vmm_set_up() {
    if !kvm_usable() {
        return;
    }
    let vmlinux = match vmlinux() {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(e) => panic!("{e}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let initrd = initramfs(dir.path());
    let initrd_size = std::fs::metadata(&initrd).unwrap().len();
    let disk = dir.path().join("disk.img");
    std::fs::write(&disk, vec![0u8; DISK_SIZE]).unwrap();
    let append = "console=ttyS0 earlycon=uart,io,0x3f8 reboot=k panic=1 pci=off nomodule \
                  i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd noxsave vmm_test=kvm_linux";
    let drive = format!("file={},readonly=on", disk.display());
    let timeout = GUEST_TIMEOUT_SECS.to_string();
    let args = [
        "run",
        "--board",
        "microvm",
        "--accel",
        "kvm",
        "--kernel",
        vmlinux.to_str().unwrap(),
        "--initrd",
        initrd.to_str().unwrap(),
        "--memory",
        "128M",
        "--drive",
        &drive,
        "--rng",
        "--append",
        append,
        "--no-reboot",
        "--timeout",
        &timeout,
    ];
    let t = Instant::now();
    let out = Command::new(vmm_binary().expect("vmm binary"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("vmm runs");
    let wall = t.elapsed();
    let console = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!(
        "--- console ---\n{console}\n--- stderr ---\n{stderr}--- status {:?} after {wall:.1?}",
        out.status.code()
    );
    assert!(wall < Duration::from_secs(GUEST_TIMEOUT_SECS + 30));

    // What the VMM set up, as the kernel reports it.
    assert!(console.contains("Linux version 6."), "no banner");
    let cmdline =
        format!("{append} virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6");
    assert!(
        console
            .lines()
            .any(|l| l == format!("Command line: {cmdline}")),
        "command line not echoed as given: {cmdline}"
    );
    for e820 in [
        "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
        "BIOS-e820: [mem 0x0000000000100000-0x0000000007ffffff] usable",
    ] {
        assert!(console.contains(e820), "missing {e820}");
    }
    assert!(
        console.contains("last_pfn = 0x8000 "),
        "128 MiB of RAM: the last page frame is 0x8000"
    );
    let ramdisk = ramdisk_line(initrd_size);
    assert!(console.contains(&ramdisk), "initrd not found: {ramdisk}");
    assert!(!stderr.contains("panicked"));

    match out.status.code() {
        // The software KVM of the development host stops at the kernel's first INT3.
        Some(3) => {
            let errors: Vec<&str> = stderr
                .lines()
                .filter(|l| l.starts_with("vmm: error:"))
                .collect();
            assert_eq!(errors.len(), 1, "one error line: {stderr}");
            let line = errors[0];
            for needle in [
                "the guest crashed the VM: vCPU 0: KVM internal error: ",
                "exit reason KVM_EXIT_INTERNAL_ERROR (17)",
                "suberror 1 (emulation failure",
                "instruction bytes cc",
                ", rip=0xffffffff8",
            ] {
                assert!(line.contains(needle), "{needle:?} not in {line}");
            }
            eprintln!("KVM internal error after {wall:.1?} (software KVM); boot checks passed");
        }
        // Hardware virtualization: the boot reaches /init, which restarts the machine.
        Some(0) => {
            for needle in [
                "Run /init as init process",
                "[vda] 2048 512-byte logical blocks (1.05 MB/1.00 MiB)",
                "VMM-KVM-INIT-MARKER: /init ran",
            ] {
                assert!(console.contains(needle), "missing {needle:?}");
            }
            assert!(!console.contains("Kernel panic"), "the kernel panicked");
            let total_k: u64 = console
                .lines()
                .find_map(|l| {
                    let rest = l.strip_prefix("Memory: ")?;
                    let (_, after) = rest.split_once('/')?;
                    after.split_once("K available")?.0.parse().ok()
                })
                .expect("a `Memory: xK/yK available` line");
            assert!(
                ((RAM >> 10) - 1024..=RAM >> 10).contains(&total_k),
                "Linux sees {total_k}K of {}K",
                RAM >> 10
            );
            assert_eq!(stderr.matches("vmm: error:").count(), 0, "{stderr}");
        }
        other => panic!("unexpected status {other:?}"),
    }
}
