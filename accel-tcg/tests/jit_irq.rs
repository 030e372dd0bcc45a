//! Interrupts reach a guest spinning in translated code: a device raises MEIP from another
//! thread while the hart runs a compiled tight loop; the loop must leave translated code (at
//! the next instruction-limit check on its back-edge) and take the interrupt.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accel_tcg::jit::JitConfig;
use accel_tcg::{Cpu, RunExit};
use devices::clock::{ClockMode, GuestClock};
use devices::irq::ExitRequest;
use devices::{Bus, BusDevice, HartInterrupts};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

const RAM: u64 = 0x8000_0000;
const DEV: u64 = 0x1000_0000;

struct StopDev(Arc<HartInterrupts>);

impl BusDevice for StopDev {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }
    fn write(&mut self, _offset: u64, _data: &[u8]) {
        self.0.request_exit(ExitRequest::HostStop);
    }
}

fn csr(csr: u32, rs1: u32, f3: u32, rd: u32) -> u32 {
    (csr << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x73
}

#[test]
fn interrupt_leaves_a_compiled_loop() {
    let ram = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(RAM), 1 << 20)]).unwrap();
    let prog = [
        csr(0x305, 5, 1, 0), // csrw mtvec, x5
        csr(0x304, 6, 2, 0), // csrs mie, x6
        csr(0x300, 7, 2, 0), // csrs mstatus, x7
        0x0015_0513,         // loop: addi a0, a0, 1
        0xffdf_f06f,         // j loop
    ];
    for (k, w) in prog.iter().enumerate() {
        ram.write_obj(*w, GuestAddress(RAM + 4 * k as u64)).unwrap();
    }
    // Handler: sd x0, 0(x9) (stop); j .
    ram.write_obj(0x0004_b023u32, GuestAddress(RAM + 0x100))
        .unwrap();
    ram.write_obj(0x0000_006fu32, GuestAddress(RAM + 0x104))
        .unwrap();
    let hart = Arc::new(HartInterrupts::new());
    let mut bus = Bus::new();
    bus.insert(Arc::new(Mutex::new(StopDev(hart.clone()))), DEV, 0x100)
        .unwrap();
    let clock = Arc::new(GuestClock::new(ClockMode::Host, 10_000_000));
    let mut cpu: Box<Cpu> = Cpu::new(ram, Arc::new(bus), hart.clone(), clock, None, RAM).unwrap();
    cpu.set_jit(JitConfig {
        enabled: true,
        threshold: 2,
        background: false,
    });
    cpu.x[5] = RAM + 0x100;
    cpu.x[6] = 1 << 11; // MEIE
    cpu.x[7] = 1 << 3; // MIE
    cpu.x[9] = DEV;
    let h = hart.clone();
    let raiser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        h.set_line(devices::irq::mip::MEIP, true);
    });
    let start = Instant::now();
    let mut exit = RunExit::Budget;
    while start.elapsed() < Duration::from_secs(30) {
        exit = cpu.run_for(u64::MAX);
        if exit != RunExit::Budget {
            break;
        }
    }
    raiser.join().unwrap();
    assert_eq!(exit, RunExit::Request(ExitRequest::HostStop));
    assert_eq!(
        cpu.csr(0x342),
        Some((1 << 63) | 11),
        "machine external interrupt"
    );
    let epc = cpu.csr(0x341).unwrap();
    assert!(
        epc == RAM + 12 || epc == RAM + 16,
        "interrupted inside the loop: {epc:#x}"
    );
    let stats = cpu.jit_stats();
    assert!(stats.regions_compiled >= 1, "{stats:?}");
    // The loop ran for 100 ms, almost entirely in translated code.
    assert!(cpu.x[10] > 1_000_000, "iterations: {}", cpu.x[10]);
}
