//! Runs a kernel on the x86_64 microvm under KVM and reports start-up measurements: the same
//! sequence the `vmm` binary needs (memory → board → VM → irqfds/ioeventfds → vCPU → run).
//!
//! `cargo run --release -p accel-kvm --example microvm_run -- KERNEL [RAM_MiB] [START_NS]`
//! START_NS: the wall-clock time (ns since the epoch, e.g. `date +%s%N`) the process was
//! launched, to report the time from process start to the first KVM_RUN.

#[cfg(target_arch = "x86_64")]
fn main() {
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    use accel_kvm::x86::{CpuFeatureMask, X86VcpuConfig};
    use accel_kvm::{IoEventSpace, KvmVm, VcpuIo};
    use boards::x86::{MicroVm, MicroVmConfig};
    use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

    let t_main = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let Some(kernel) = args.get(1) else {
        eprintln!("usage: microvm_run KERNEL [RAM_MiB] [START_NS]");
        std::process::exit(2);
    };
    let ram = args
        .get(2)
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(64)
        << 20;
    let start_ns: Option<u128> = args.get(3).and_then(|s| s.parse().ok());

    let mut cfg = MicroVmConfig::new(kernel.into(), Box::new(std::io::stdout()));
    cfg.ram_size = ram;
    cfg.rng = false;
    let ranges: Vec<_> = MicroVm::ram_regions(ram)
        .iter()
        .map(|r| (GuestAddress(r.base), r.size as usize))
        .collect();
    let fail = |e: String| -> ! {
        eprintln!("microvm_run: {e}");
        std::process::exit(1)
    };
    let mem = GuestMemoryMmap::from_ranges(&ranges).unwrap_or_else(|e| fail(e.to_string()));
    let board = MicroVm::new(cfg, &mem).unwrap_or_else(|e| fail(e.to_string()));
    let mut vm = KvmVm::new(&mem).unwrap_or_else(|e| fail(e.to_string()));
    vm.create_x86_irqchip()
        .unwrap_or_else(|e| fail(e.to_string()));
    for (fd, gsi) in board.irqfds() {
        vm.register_irqfd(fd, gsi)
            .unwrap_or_else(|e| fail(e.to_string()));
    }
    for ev in board.ioeventfds() {
        vm.register_ioeventfd(ev.fd, IoEventSpace::Mmio(ev.addr), Some(ev.datamatch))
            .unwrap_or_else(|e| fail(e.to_string()));
    }
    let vcpu = vm.create_vcpu().unwrap_or_else(|e| fail(e.to_string()));
    vcpu.setup_x86(
        &vm,
        &X86VcpuConfig {
            entry: board.entry(),
            cpu_count: 1,
            features: &CpuFeatureMask::none(),
        },
    )
    .unwrap_or_else(|e| fail(e.to_string()));
    let io = board.start_io(None).unwrap_or_else(|e| fail(e.to_string()));
    let running = accel_kvm::start(
        vec![vcpu],
        VcpuIo {
            mmio: board.mmio.clone(),
            pio: Some(board.pio.clone()),
            stop: board.stop.clone(),
        },
    )
    .unwrap_or_else(|e| fail(e.to_string()));
    let _sig = accel_kvm::signals::stop_on_signals(running.stop_handle());
    let outcome = running.wait();
    io.stop();

    // RSS of the process minus the guest RAM mappings.
    let guest: Vec<(u64, u64)> = mem.iter().map(|r| (r.as_ptr() as u64, r.len())).collect();
    let (mut total_kb, mut guest_kb) = (0u64, 0u64);
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut in_guest = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, _)) = first.split_once('-') {
            if let Ok(start) = u64::from_str_radix(a, 16) {
                in_guest = guest.iter().any(|&(g, len)| start >= g && start < g + len);
                continue;
            }
        }
        if let Some(v) = line.strip_prefix("Rss:") {
            let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
            total_kb += kb;
            if in_guest {
                guest_kb += kb;
            }
        }
    }
    let since = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    eprintln!("outcome: {outcome:?}");
    if let (Some(s), Some(first)) = (start_ns, accel_kvm::first_kvm_run()) {
        eprintln!(
            "process start -> first KVM_RUN: {:.2} ms",
            (since(first).saturating_sub(s)) as f64 / 1e6
        );
    }
    if let Some(s) = start_ns {
        eprintln!(
            "process start -> exit: {:.2} ms",
            since(SystemTime::now()).saturating_sub(s) as f64 / 1e6
        );
    }
    eprintln!(
        "main -> exit: {:.2} ms",
        t_main.elapsed().as_secs_f64() * 1e3
    );
    eprintln!(
        "RSS {total_kb} kB, guest RAM {guest_kb} kB, VMM without guest RAM {} kB",
        total_kb - guest_kb
    );
    std::process::exit(match outcome {
        Ok(o) => o.exit_code(),
        Err(e) => {
            eprintln!("{e}");
            1
        }
    });
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    eprintln!("microvm_run needs an x86_64 host");
}
