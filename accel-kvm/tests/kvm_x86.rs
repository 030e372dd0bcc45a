//! x86_64 KVM integration tests: the microvm board run through the accel-kvm API on small
//! guests from `resources/x86/guests` (built here with the host gcc). Skipped, with the reason
//! printed, where /dev/kvm cannot be used.
#![cfg(target_arch = "x86_64")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accel_kvm::x86::{CpuFeatureMask, X86VcpuConfig};
use accel_kvm::{IoEventSpace, KvmError, KvmVm, RunOutcome, VcpuIo};
use boards::x86::{MicroVm, MicroVmConfig, X86Mode};
use devices::irq::ExitRequest;
use vm_memory::{GuestAddress, GuestMemoryMmap};
use vmm_sys_util::eventfd::EventFd;

fn kvm_usable() -> bool {
    match accel_kvm::probe() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skipping KVM test: {e}");
            false
        }
    }
}

/// Builds `resources/x86/guests/<name>.S` into an ELF.
fn guest(name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../resources/x86/guests");
    let out = std::env::temp_dir().join(format!("vmm-kvm-guests-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let elf = out.join(format!("{name}.elf"));
    let st = std::process::Command::new("gcc")
        .args(["-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none"])
        .arg("-Wl,--no-warn-rwx-segments")
        .arg(format!(
            "-Wl,-T,{}",
            src.join(if name.ends_with("_pvh") {
                "link-pvh.ld"
            } else {
                "link.ld"
            })
            .display()
        ))
        .arg("-o")
        .arg(&elf)
        .arg(src.join(format!("{name}.S")))
        .status()
        .expect("host gcc runs");
    assert!(st.success(), "building guest {name}");
    elf
}

/// Captures COM1 output.
#[derive(Clone, Default)]
struct Serial(Arc<Mutex<Vec<u8>>>);

impl Write for Serial {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Serial {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    fn wait_for(&self, s: &str, timeout: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if self.text().contains(s) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

struct Machine {
    board: MicroVm,
    vm: KvmVm,
    serial: Serial,
    _mem: GuestMemoryMmap,
}

/// Builds memory, the board and the VM (irqchip, irqfds, ioeventfds, one set-up vCPU).
fn machine(kernel: &Path, edit: impl FnOnce(&mut MicroVmConfig)) -> (Machine, accel_kvm::KvmVcpu) {
    machine_with(kernel, edit, &CpuFeatureMask::none())
}

fn machine_with(
    kernel: &Path,
    edit: impl FnOnce(&mut MicroVmConfig),
    features: &CpuFeatureMask,
) -> (Machine, accel_kvm::KvmVcpu) {
    let serial = Serial::default();
    let mut cfg = MicroVmConfig::new(kernel.to_path_buf(), Box::new(serial.clone()));
    cfg.ram_size = 64 << 20;
    cfg.cmdline = "console=ttyS0".into();
    cfg.rng = false;
    edit(&mut cfg);
    let ranges: Vec<_> = MicroVm::ram_regions(cfg.ram_size)
        .iter()
        .map(|r| (GuestAddress(r.base), r.size as usize))
        .collect();
    let mem = GuestMemoryMmap::from_ranges(&ranges).unwrap();
    let board = MicroVm::new(cfg, &mem).unwrap();
    let mut vm = KvmVm::new(&mem).unwrap();
    vm.create_x86_irqchip().unwrap();
    for (fd, gsi) in board.irqfds() {
        vm.register_irqfd(fd, gsi).unwrap();
    }
    for ev in board.ioeventfds() {
        vm.register_ioeventfd(ev.fd, IoEventSpace::Mmio(ev.addr), Some(ev.datamatch))
            .unwrap();
    }
    let vcpu = vm.create_vcpu().unwrap();
    vcpu.setup_x86(
        &vm,
        &X86VcpuConfig {
            entry: board.entry(),
            cpu_count: 1,
            features,
        },
    )
    .unwrap();
    (
        Machine {
            board,
            vm,
            serial,
            _mem: mem,
        },
        vcpu,
    )
}

/// Runs to the end (or `timeout`, then stops the VM as the host would).
fn run(
    m: &Machine,
    vcpu: accel_kvm::KvmVcpu,
    timeout: Duration,
    during: impl FnOnce(&Machine),
) -> Result<RunOutcome, KvmError> {
    run_with_input(m, vcpu, timeout, None, during)
}

fn run_with_input(
    m: &Machine,
    vcpu: accel_kvm::KvmVcpu,
    timeout: Duration,
    input: Option<std::fs::File>,
    during: impl FnOnce(&Machine),
) -> Result<RunOutcome, KvmError> {
    let io = m.board.start_io(input).unwrap();
    let running = accel_kvm::start(
        vec![vcpu],
        VcpuIo {
            mmio: m.board.mmio.clone(),
            pio: Some(m.board.pio.clone()),
            stop: m.board.stop.clone(),
        },
    )
    .unwrap();
    let stopper = running.stop_handle();
    let stop = m.board.stop.clone();
    let watchdog = std::thread::spawn(move || {
        let t = Instant::now();
        while t.elapsed() < timeout && stop.exit_request().is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        stopper.stop(ExitRequest::HostStop);
    });
    during(m);
    let r = running.wait();
    watchdog.join().unwrap();
    io.stop();
    r
}

const T: Duration = Duration::from_secs(60);

#[test]
fn kvm_entry_state_matches_the_linux_boot_protocol() {
    if !kvm_usable() {
        return;
    }
    let (m, vcpu) = machine(&guest("entry"), |_| {});
    let out = run(&m, vcpu, T, |_| {});
    let text = m.serial.text();
    assert_eq!(out.unwrap(), RunOutcome::Poweroff(0), "serial: {text}");
    assert!(text.contains("ENTRY OK"), "serial: {text}");
}

#[test]
fn kvm_mmio_test_device_reads_and_writes() {
    if !kvm_usable() {
        return;
    }
    let (m, vcpu) = machine(&guest("mmio"), |c| c.mmio_test = true);
    let out = run(&m, vcpu, T, |_| {});
    let text = m.serial.text();
    assert_eq!(out.unwrap(), RunOutcome::Poweroff(0), "serial: {text}");
    assert!(text.contains("MMIO OK"));
    let dev = m.board.mmio_test().unwrap();
    let d = dev.lock().unwrap();
    assert_eq!(d.scratch(0), Some(0x1122_3344_5566_7788));
    assert_eq!(d.scratch(1), Some(0xcafe_f00d));
    assert_eq!(d.scratch(2), Some(0x5a));
    assert_eq!(d.writes(), 3);
    assert_eq!(d.reads(), 5);
}

#[test]
fn kvm_virtio_blk_write_flush_read_reaches_the_host_file() {
    if !kvm_usable() {
        return;
    }
    let mut disk = tempfile::NamedTempFile::new().unwrap();
    let mut image = vec![0u8; 1 << 20];
    image[..8].copy_from_slice(b"HOSTDATA");
    disk.write_all(&image).unwrap();
    let path = disk.path().to_path_buf();
    let (m, vcpu) = machine(&guest("virtio_blk"), |c| {
        c.disks.push(boards::x86::DiskConfig {
            path: path.clone(),
            read_only: false,
        })
    });
    let out = run(&m, vcpu, T, |_| {});
    let text = m.serial.text();
    assert_eq!(out.unwrap(), RunOutcome::Poweroff(0), "serial: {text}");
    assert!(text.contains("BLK OK"));
    let after = std::fs::read(&path).unwrap();
    assert!(
        after[1024..1536].iter().all(|&b| b == b'W'),
        "sector 2 written"
    );
    assert_eq!(&after[..8], b"HOSTDATA");
    assert!(after[1536..].iter().all(|&b| b == 0));
}

#[test]
fn kvm_irqfd_wakes_a_halted_guest() {
    if !kvm_usable() {
        return;
    }
    let (m, vcpu) = machine(&guest("irq"), |_| {});
    let irq = EventFd::new(libc::EFD_NONBLOCK).unwrap();
    m.vm.register_irqfd(&irq, 3).unwrap();
    let out = run(&m, vcpu, T, |m| {
        assert!(m.serial.wait_for("WAITING", T), "guest got ready");
        // The guest halts; nothing else can wake it.
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !m.serial.text().contains("IRQ OK"),
            "woke without an interrupt"
        );
        irq.write(1).unwrap();
    });
    let text = m.serial.text();
    assert_eq!(out.unwrap(), RunOutcome::Poweroff(0), "serial: {text}");
    assert!(text.contains("IRQ OK"), "serial: {text}");
}

#[test]
fn kvm_i8042_reset_ends_the_run_with_reset() {
    if !kvm_usable() {
        return;
    }
    let (m, vcpu) = machine(&guest("reset"), |_| {});
    let out = run(&m, vcpu, T, |_| {}).unwrap();
    assert_eq!(out, RunOutcome::Reset);
    assert_eq!(out.exit_code(), 0);
    assert!(m.serial.text().contains("RESET"));
}

#[test]
fn kvm_triple_fault_is_a_reset() {
    if !kvm_usable() {
        return;
    }
    let (m, vcpu) = machine(&guest("triple"), |_| {});
    let out = run(&m, vcpu, T, |_| {}).unwrap();
    assert_eq!(out, RunOutcome::Reset);
    assert!(m.serial.text().contains("FAULT"));
}

#[test]
fn kvm_host_stop_interrupts_a_halted_guest() {
    if !kvm_usable() {
        return;
    }
    // The irq guest halts forever without the interrupt: the host stop must end it.
    let (m, vcpu) = machine(&guest("irq"), |_| {});
    let t = Instant::now();
    let out = run(&m, vcpu, Duration::from_millis(1500), |_| {}).unwrap();
    assert_eq!(out, RunOutcome::HostStop);
    assert_eq!(out.exit_code(), 130);
    assert!(t.elapsed() < Duration::from_secs(30));
}

/// The exit status the cpuid guest reports for a vCPU's CPUID table.
fn cpuid_code(vcpu: &accel_kvm::KvmVcpu) -> i32 {
    let t = vcpu
        .fd()
        .get_cpuid2(kvm_bindings::KVM_MAX_CPUID_ENTRIES)
        .unwrap();
    let find = |leaf: u32| {
        t.as_slice()
            .iter()
            .find(|e| e.function == leaf && e.index == 0)
            .copied()
            .unwrap_or_default()
    };
    let (l1, l7) = (find(1), find(7));
    (0x80 | ((l1.ecx >> 23) & 1) | (((l1.ecx >> 26) & 1) << 1) | (((l7.ebx >> 20) & 1) << 2)) as i32
}

#[test]
fn kvm_guest_sees_the_vcpu_cpuid_table_with_the_feature_mask() {
    if !kvm_usable() {
        return;
    }
    let elf = guest("cpuid");
    // Unmasked: the guest sees its vCPU's CPUID table.
    let (m, vcpu) = machine(&elf, |_| {});
    let expect = cpuid_code(&vcpu);
    assert_eq!(
        run(&m, vcpu, T, |_| {}).unwrap(),
        RunOutcome::Poweroff(expect)
    );
    // Masked: POPCNT, XSAVE and SMAP are cleared in the table given to KVM_SET_CPUID2.
    let mask = CpuFeatureMask::parse("-xsave,-smap,-popcnt").unwrap();
    let (m, vcpu) = machine_with(&elf, |_| {}, &mask);
    let held = cpuid_code(&vcpu);
    if held != 0x80 {
        // Seen on the software /dev/kvm of the development host: KVM_GET_CPUID2 after
        // KVM_SET_CPUID2 reports the host's feature bits whatever the table said.
        eprintln!("this KVM ignores CPUID feature bits from KVM_SET_CPUID2 (holds {held:#x})");
    }
    assert_eq!(
        run(&m, vcpu, T, |_| {}).unwrap(),
        RunOutcome::Poweroff(held)
    );
}

#[test]
fn kvm_internal_error_is_reported_with_instruction_and_registers() {
    if !kvm_usable() {
        return;
    }
    let (m, vcpu) = machine(&guest("popcnt"), |_| {});
    match run(&m, vcpu, T, |_| {}) {
        Err(KvmError::Internal { cpu, detail }) => {
            eprintln!("reported: vCPU {cpu}: {detail}");
            assert_eq!(cpu, 0);
            assert!(detail.contains("KVM_EXIT_INTERNAL_ERROR"), "{detail}");
            assert!(detail.contains("suberror"), "{detail}");
            assert!(
                detail.contains("f3 48 0f b8"),
                "instruction bytes: {detail}"
            );
            assert!(detail.contains("rip=0x00000000001"), "{detail}");
            assert!(m.serial.text().contains("BEFORE"));
        }
        // A hardware KVM runs POPCNT natively.
        Ok(RunOutcome::Poweroff(7)) => eprintln!("this KVM emulates POPCNT; nothing to report"),
        other => panic!("unexpected result {other:?}"),
    }
}

#[test]
fn kvm_pvh_entry_runs_a_32bit_guest() {
    if !kvm_usable() {
        return;
    }
    let (m, vcpu) = machine(&guest("hello_pvh"), |_| {});
    assert_eq!(m.board.entry().mode, X86Mode::Protected32);
    let out = run(&m, vcpu, T, |_| {}).unwrap();
    assert_eq!(out, RunOutcome::Poweroff(0));
    assert!(m.serial.text().contains("HELLO"));
}

#[test]
fn kvm_host_input_reaches_com1_through_the_io_thread() {
    use std::os::fd::FromRawFd;
    if !kvm_usable() {
        return;
    }
    let (m, vcpu) = machine(&guest("echo"), |_| {});
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) fills the two-element array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned by nothing else.
    let (rd, mut wr) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    let out = run_with_input(&m, vcpu, T, Some(rd), |m| {
        assert!(m.serial.wait_for("READY", T));
        wr.write_all(b"Z").unwrap();
    })
    .unwrap();
    assert_eq!(out, RunOutcome::Poweroff(i32::from(b'Z')));
    assert!(m.serial.text().contains("GOT Z"));
}

/// The vmlinux built by `resources/x86/linux/build-kernel.sh`, if it is in the cache.
fn cached_vmlinux() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("VMM_X86_VMLINUX") {
        return Some(PathBuf::from(p));
    }
    let cache = std::env::var("VMM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/vmm")
        });
    let dir = std::fs::read_dir(cache.join("linux")).ok()?;
    dir.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("vmlinux-x86_64-"))
    })
}

#[test]
fn kvm_linux_prints_its_banner_and_ends_cleanly_or_with_a_clear_error() {
    if !kvm_usable() {
        return;
    }
    let Some(vmlinux) = cached_vmlinux() else {
        eprintln!("skipping: no x86_64 vmlinux cached; run resources/x86/linux/build-kernel.sh");
        return;
    };
    let mut disk = tempfile::NamedTempFile::new().unwrap();
    disk.write_all(&vec![0u8; 1 << 20]).unwrap();
    let path = disk.path().to_path_buf();
    let (m, vcpu) = machine(&vmlinux, |c| {
        c.ram_size = 128 << 20;
        c.cmdline = format!("{} earlyprintk=serial", boards::x86::DEFAULT_CMDLINE);
        c.rng = true;
        c.disks.push(boards::x86::DiskConfig {
            path,
            read_only: true,
        });
    });
    let out = run(&m, vcpu, Duration::from_secs(120), |_| {});
    let text = m.serial.text();
    eprintln!("--- serial ---\n{text}\n--- outcome: {out:?}");
    assert!(text.contains("Linux version"), "no banner: {text}");
    match out {
        // No root file system: the kernel panics and, with panic=1 and reboot=k, resets.
        Ok(o) => assert!(
            matches!(o, RunOutcome::Reset | RunOutcome::HostStop),
            "{o:?}"
        ),
        // The software KVM of the development host stops at an instruction it cannot emulate.
        Err(KvmError::Internal { detail, .. }) => {
            assert!(
                detail.contains("instruction bytes") && detail.contains("rip="),
                "{detail}"
            )
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}
