//! Tier-0 throughput on a compute loop (loads, stores, ALU, a branch), in MIPS.
//!
//! Usage: `cargo run --release -p accel-tcg --example bench_loop [instructions]`

use std::sync::Arc;

use accel_tcg::{build_cpu, RunExit, TcgConfig, TcgMachine};
use devices::clock::{ClockMode, GuestClock};
use devices::{Bus, HartInterrupts};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

const BASE: u64 = 0x8000_0000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let budget: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(300_000_000);
    // a0 = array, a1 = sum, a2 = counter.
    let prog: [u32; 13] = [
        0x0001_0537, // lui a0, 0x10
        0x0105_0533, // add a0, a0, a6 (a6 = BASE)
        0x0000_0593, // li a1, 0
        0x7ff0_0613, // li a2, 2047
        // loop:
        0x0ff6_7293, // andi t0, a2, 255
        0x0032_9293, // slli t0, t0, 3
        0x00a2_82b3, // add t0, t0, a0
        0x0002_b303, // ld t1, 0(t0)
        0x0065_85b3, // add a1, a1, t1
        0x00c3_4333, // xor t1, t1, a2
        0x0062_b023, // sd t1, 0(t0)
        0xfff6_0613, // addi a2, a2, -1
        0xfe06_10e3, // bne a2, zero, loop
    ];
    let ram = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(BASE), 16 << 20)])?;
    for (k, w) in prog.iter().enumerate() {
        ram.write_obj(*w, GuestAddress(BASE + 4 * k as u64))?;
    }
    // After the loop: reset the counter and jump back (li a2, 2047; j loop).
    ram.write_obj(0x7ff0_0613u32, GuestAddress(BASE + 52))?;
    ram.write_obj(0xfd9f_f06fu32, GuestAddress(BASE + 56))?; // j loop
    let machine = TcgMachine {
        ram,
        mmio: Arc::new(Bus::new()),
        hart: Arc::new(HartInterrupts::new()),
        clock: Arc::new(GuestClock::new(ClockMode::Host, 10_000_000)),
        custom: None,
    };
    let config = TcgConfig {
        reset_pc: BASE,
        boot_regs: vec![(16, BASE)],
        semihosting: false,
        console: Box::new(std::io::sink()),
        console_in: None,
        jit: std::env::var("JIT").map_or(true, |v| v != "off"),
        jit_threshold: accel_tcg::jit::DEFAULT_THRESHOLD,
        jit_baseline: match std::env::var("JIT_BASELINE").as_deref() {
            Ok("off") => accel_tcg::jit::BaselineMode::Off,
            Ok("only") => accel_tcg::jit::BaselineMode::Only,
            _ => accel_tcg::jit::BaselineMode::On,
        },
    };
    let mut cpu = build_cpu(machine, config)?;
    let start = std::time::Instant::now();
    let cpu0 = thread_cpu_time();
    let exit = cpu.run_for(budget);
    let t = start.elapsed().as_secs_f64();
    let c = thread_cpu_time() - cpu0;
    assert_eq!(exit, RunExit::Budget);
    // On a shared, loaded host the wall-clock figure understates the executor: the thread's
    // CPU time is the fair measure.
    println!(
        "{} instructions: wall {:.3} s = {:.1} MIPS; thread CPU {:.3} s = {:.1} MIPS (a1 = {:#x})",
        cpu.instret,
        t,
        cpu.instret as f64 / t / 1e6,
        c,
        cpu.instret as f64 / c / 1e6,
        cpu.x[11]
    );
    println!("jit: {:?}", cpu.jit_stats());
    Ok(())
}

/// CPU time consumed by the calling thread, in seconds.
fn thread_cpu_time() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes a timespec through a valid pointer to a local.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
