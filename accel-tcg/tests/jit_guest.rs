//! The CPU part of the guest suite (`resources/guest`, built by `make -C resources/guest`) run
//! with the JIT compiling every region synchronously at its first execution, compared with
//! tier 0: same exit code, same console output, same instruction count. (The vmm-tests suite
//! runs the same programs through `vmm` with the default JIT settings.)

use std::sync::{Arc, Mutex};

use accel_tcg::jit::JitConfig;
use accel_tcg::{build_cpu, RunExit, TcgConfig, TcgMachine};
use devices::aclint::{Mswi, Mtimer, MSWI_SIZE, MTIMER_SIZE};
use devices::clock::{ClockMode, GuestClock};
use devices::{Bus, HartInterrupts};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

/// Console output collected from semihosting.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What compiled code a JIT run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tier {
    /// Baseline code first, then regions compiled quickly, optimised when hot.
    Quick,
    /// Baseline code first, then regions optimised at once (the code hot loops run).
    Full,
    /// Baseline code only.
    Baseline,
}

/// Runs `elf` (icount clock); returns (exit, console, instret, compiled instructions).
fn run(bytes: &[u8], jit: bool, tier: Tier) -> (RunExit, String, u64, u64) {
    let elf = goblin::elf::Elf::parse(bytes).unwrap();
    let ram =
        GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0x8000_0000), 256 << 20)]).unwrap();
    for ph in elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
    {
        let off = ph.p_offset as usize;
        let data = &bytes[off..off + ph.p_filesz as usize];
        ram.write_slice(data, GuestAddress(ph.p_paddr)).unwrap();
    }
    let hart = Arc::new(HartInterrupts::new());
    let clock = Arc::new(GuestClock::new(
        ClockMode::Icount { insns_per_tick: 1 },
        10_000_000,
    ));
    let mut bus = Bus::new();
    bus.insert(
        Arc::new(Mutex::new(Mswi::new(hart.clone()))),
        0x200_0000,
        MSWI_SIZE,
    )
    .unwrap();
    bus.insert(
        Arc::new(Mutex::new(Mtimer::new(hart.clone(), clock.clone()))),
        0x200_4000,
        MTIMER_SIZE,
    )
    .unwrap();
    // G233's MROM: a zero word, then `addiw t0,zero,1; slli t0,t0,31; jr t0`.
    let rom: Vec<u8> = [0u32, 0x0010_029b, 0x01f2_9293, 0x0002_8067]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    bus.insert(
        Arc::new(Mutex::new(devices::rom::Rom::new(rom, 0x2000))),
        0x1000,
        0x2000,
    )
    .unwrap();
    let machine = TcgMachine {
        ram,
        mmio: Arc::new(bus),
        hart,
        clock,
        custom: None,
    };
    let out = Sink::default();
    let config = TcgConfig {
        reset_pc: elf.entry,
        boot_regs: vec![],
        semihosting: true,
        console: Box::new(out.clone()),
        console_in: None,
        jit,
        jit_threshold: 1,
        jit_baseline: if tier == Tier::Baseline {
            accel_tcg::jit::BaselineMode::Only
        } else {
            accel_tcg::jit::BaselineMode::On
        },
    };
    let mut cpu = build_cpu(machine, config).unwrap();
    cpu.set_jit(JitConfig {
        enabled: jit,
        threshold: 1,
        background: false,
    });
    if tier == Tier::Full {
        cpu.set_jit_promote_after(0);
    }
    let mut exit = RunExit::Budget;
    for _ in 0..50 {
        exit = cpu.run_for(10_000_000);
        if exit != RunExit::Budget {
            break;
        }
    }
    let console = String::from_utf8_lossy(&out.0.lock().unwrap()).into_owned();
    let s = cpu.jit_stats();
    (
        exit,
        console,
        cpu.instret,
        s.insns_compiled + s.baseline_insns,
    )
}

#[test]
fn guest_cpu_suite_matches_tier0() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../resources/build/guest");
    let names = [
        "rv64i",
        "rv64m",
        "rv64a",
        "rv64fd",
        "rvc",
        "bitmanip",
        "rva23ext",
        "privilege",
        "mmu",
        "interrupts",
    ];
    let mut ran = 0;
    for name in names {
        let Ok(bytes) = std::fs::read(dir.join(format!("{name}.elf"))) else {
            eprintln!("{name}.elf not built (make -C resources/guest); skipped");
            continue;
        };
        let reference = run(&bytes, false, Tier::Quick);
        assert_eq!(reference.0, RunExit::Semihosting(0), "{name} on tier 0");
        for tier in [Tier::Quick, Tier::Full, Tier::Baseline] {
            let jit = run(&bytes, true, tier);
            assert_eq!(jit.0, reference.0, "{name} ({tier:?}): exit");
            assert_eq!(jit.1, reference.1, "{name} ({tier:?}): console");
            assert_eq!(jit.2, reference.2, "{name} ({tier:?}): instret");
            assert!(jit.3 > 0, "{name} ({tier:?}): nothing was compiled");
        }
        ran += 1;
    }
    if ran == 0 {
        eprintln!("no guest programs found: run make -C resources/guest first");
    }
}
