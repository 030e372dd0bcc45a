//! Runs a bare-metal RV64 ELF on the tier-0 CPU with RAM at 0x8000_0000, an ACLINT and
//! semihosting (the guest test suite's QEMU-compatible environment). Prints the exit code and
//! the throughput.
//!
//! Usage: `run_elf <file.elf> [--icount N] [--host-clock]`

use std::sync::{Arc, Mutex};

use accel_tcg::{run, TcgConfig, TcgExit, TcgMachine};
use devices::aclint::{Mswi, Mtimer, MSWI_SIZE, MTIMER_SIZE};
use devices::clock::{ClockMode, GuestClock};
use devices::{Bus, HartInterrupts};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: run_elf <file.elf> [--icount N] [--host-clock]")?;
    let mut mode = ClockMode::Icount { insns_per_tick: 1 };
    let mut k = 2;
    while k < args.len() {
        match args[k].as_str() {
            "--icount" => {
                let n = args.get(k + 1).ok_or("--icount needs a value")?.parse()?;
                mode = ClockMode::Icount { insns_per_tick: n };
                k += 1;
            }
            "--host-clock" => mode = ClockMode::Host,
            a => return Err(format!("unknown argument {a}").into()),
        }
        k += 1;
    }
    let bytes = std::fs::read(path)?;
    let elf = goblin::elf::Elf::parse(&bytes)?;
    let ram = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0x8000_0000), 256 << 20)])?;
    for ph in elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
    {
        let off = ph.p_offset as usize;
        let data = bytes
            .get(off..off + ph.p_filesz as usize)
            .ok_or("segment outside the file")?;
        ram.write_slice(data, GuestAddress(ph.p_paddr))?;
        let zeros = vec![0u8; (ph.p_memsz - ph.p_filesz) as usize];
        ram.write_slice(&zeros, GuestAddress(ph.p_paddr + ph.p_filesz))?;
    }
    let hart = Arc::new(HartInterrupts::new());
    let clock = Arc::new(GuestClock::new(mode, 10_000_000));
    let mut bus = Bus::new();
    bus.insert(
        Arc::new(Mutex::new(Mswi::new(hart.clone()))),
        0x200_0000,
        MSWI_SIZE,
    )?;
    bus.insert(
        Arc::new(Mutex::new(Mtimer::new(hart.clone(), clock.clone()))),
        0x200_4000,
        MTIMER_SIZE,
    )?;
    // G233's MROM: a zero word, then `addiw t0,zero,1; slli t0,t0,31; jr t0`.
    let rom: Vec<u8> = [0u32, 0x0010_029b, 0x01f2_9293, 0x0002_8067]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    bus.insert(
        Arc::new(Mutex::new(devices::rom::Rom::new(rom, 0x2000))),
        0x1000,
        0x2000,
    )?;
    let machine = TcgMachine {
        ram,
        mmio: Arc::new(bus),
        hart,
        clock,
        custom: None,
    };
    let config = TcgConfig {
        reset_pc: elf.entry,
        boot_regs: vec![],
        semihosting: true,
        console: Box::new(std::io::stdout()),
        console_in: None,
        jit: std::env::var("JIT").map_or(true, |v| v != "off"),
        jit_threshold: std::env::var("JIT_THRESHOLD")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(accel_tcg::jit::DEFAULT_THRESHOLD),
        jit_baseline: match std::env::var("JIT_BASELINE").as_deref() {
            Ok("off") => accel_tcg::jit::BaselineMode::Off,
            Ok("only") => accel_tcg::jit::BaselineMode::Only,
            _ => accel_tcg::jit::BaselineMode::On,
        },
    };
    let (exit, stats) = run(machine, config)?;
    eprintln!(
        "exit {exit:?}: {} instructions, {} blocks, {:.3} s, {:.1} MIPS",
        stats.instret,
        stats.blocks_translated,
        stats.host_time.as_secs_f64(),
        stats.mips()
    );
    eprintln!("jit: {:?}", stats.jit);
    match exit {
        TcgExit::Semihosting(c) => std::process::exit(c),
        TcgExit::Request(_) => std::process::exit(1),
    }
}
