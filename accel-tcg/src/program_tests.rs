//! End-to-end tests: small hand-assembled programs run through the tier-0 executor.

use std::sync::{Arc, Mutex};

use crate::block::RunExit;
use crate::csr::num;
use crate::testutil::asm::*;
use crate::testutil::*;

const HANDLER: u64 = RAM_BASE + 0x800;

fn addr(idx: usize) -> u64 {
    RAM_BASE + 4 * idx as u64
}

fn csrr(rd: u32, csr: u16) -> u32 {
    csrrs(rd, csr as u32, ZERO)
}

fn csrw(csr: u16, rs: u32) -> u32 {
    csrrw(ZERO, csr as u32, rs)
}

/// Loads words at a physical address.
fn put(cpu: &mut crate::Cpu, at: u64, words: &[u32]) {
    for (k, w) in words.iter().enumerate() {
        write32(cpu, at + 4 * k as u64, *w);
    }
}

/// Handler that records mcause/mtval/mepc in a0/a1/a2 and spins.
fn m_handler() -> Vec<u32> {
    vec![
        csrr(A0, num::MCAUSE),
        csrr(A1, num::MTVAL),
        csrr(A2, num::MEPC),
        SPIN,
    ]
}

fn set_mtvec(p: &mut Vec<u32>) {
    p.extend(li(T0, HANDLER as i64));
    p.push(csrw(num::MTVEC, T0));
}

#[test]
fn sums_a_loop() {
    let mut p = vec![addi(A0, ZERO, 0), addi(A1, ZERO, 10)];
    p.push(add(A0, A0, A1));
    p.push(addi(A1, A1, -1));
    p.push(bne(A1, ZERO, -8));
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    cpu.run_for(1000);
    assert_eq!(cpu.x[10], 55);
}

#[test]
fn illegal_instruction_traps_with_bits_in_mtval() {
    let mut p = Vec::new();
    set_mtvec(&mut p);
    let bad = p.len();
    p.push(0xffff_ffff);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(100);
    assert_eq!(cpu.x[10], 2);
    assert_eq!(cpu.x[11], 0xffff_ffff);
    assert_eq!(cpu.x[12], addr(bad));

    // Compressed reserved encoding (c.lui a0, 0): the 16-bit parcel.
    let mut p = Vec::new();
    set_mtvec(&mut p);
    let bad = p.len();
    p.push(0x0001_6501); // c.lui a0,0 ; c.nop
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(100);
    assert_eq!((cpu.x[10], cpu.x[11], cpu.x[12]), (2, 0x6501, addr(bad)));

    // An unknown CSR is illegal, mtval holds the csrr encoding.
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.push(csrr(A3, 0x7c0));
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(100);
    assert_eq!((cpu.x[10], cpu.x[11]), (2, csrr(A3, 0x7c0) as u64));
}

#[test]
fn division_corner_cases() {
    let mut p = Vec::new();
    p.extend(li(A1, i64::MIN));
    p.extend(li(A2, -1));
    p.push(div(A3, A1, A2)); // overflow → MIN
    p.push(rem(A4, A1, A2)); // overflow → 0
    p.push(div(A5, A1, ZERO)); // /0 → -1
    p.push(rem(T1, A1, ZERO)); // %0 → dividend
    p.extend(li(T2, 0x8000_0000));
    p.push(divw(A0, T2, A2)); // 32-bit overflow → sext(i32::MIN)
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    cpu.run_for(100);
    assert_eq!(cpu.x[13], i64::MIN as u64);
    assert_eq!(cpu.x[14], 0);
    assert_eq!(cpu.x[15], u64::MAX);
    assert_eq!(cpu.x[6], i64::MIN as u64);
    assert_eq!(cpu.x[10], i32::MIN as i64 as u64);
}

#[test]
fn ecall_from_user_is_delegated_to_supervisor() {
    let user = RAM_BASE + 0x400;
    let s_handler = RAM_BASE + 0xc00;
    let mut p = Vec::new();
    p.extend(li(T0, s_handler as i64));
    p.push(csrw(num::STVEC, T0));
    p.extend(li(T0, 1 << 8));
    p.push(csrw(num::MEDELEG, T0));
    p.extend(li(T0, user as i64));
    p.push(csrw(num::MEPC, T0));
    p.extend(li(T0, 3 << 11));
    p.push(csrrc(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T0, -1));
    p.push(csrw(num::PMPADDR0, T0));
    p.extend(li(T0, 0x1f));
    p.push(csrw(num::PMPCFG0, T0));
    p.push(MRET);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, user, &[ECALL]);
    put(
        &mut cpu,
        s_handler,
        &[csrr(A0, num::SCAUSE), csrr(A1, num::SEPC), SPIN],
    );
    cpu.run_for(200);
    assert_eq!(cpu.x[10], 8);
    assert_eq!(cpu.x[11], user);
    assert_eq!(cpu.prv, crate::cpu::prv::S);
}

#[test]
fn mmio_raised_interrupt_is_taken_before_the_next_instruction() {
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(T0, 1 << 11));
    p.push(csrw(num::MIE, T0));
    p.push(csrrsi(ZERO, num::MSTATUS as u32, 8));
    p.extend(li(T1, DEV_BASE as i64));
    p.push(addi(T2, ZERO, 1));
    p.push(sw(T2, T1, 0));
    let next = p.len();
    p.push(addi(A3, ZERO, 1));
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(200);
    assert_eq!(cpu.x[10], (1 << 63) | 11);
    assert_eq!(cpu.x[12], addr(next));
    assert_eq!(cpu.x[13], 0, "the instruction after the store must not run");
}

#[test]
fn csr_write_enabling_a_pending_interrupt_traps_immediately() {
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(T0, 1 << 3)); // MSIE
    p.push(csrw(num::MIE, T0));
    p.push(csrrsi(ZERO, num::MSTATUS as u32, 8));
    let next = p.len();
    p.push(addi(A3, ZERO, 1));
    p.push(SPIN);
    let (mut cpu, hart) = machine(&p);
    hart.set_line(devices::irq::mip::MSIP, true);
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(200);
    assert_eq!(cpu.x[10], (1 << 63) | 3);
    assert_eq!(cpu.x[12], addr(next));
    assert_eq!(cpu.x[13], 0);
}

#[test]
fn timer_interrupt_fires_in_icount_mode() {
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(T0, 1 << 7));
    p.push(csrw(num::MIE, T0));
    p.push(csrrsi(ZERO, num::MSTATUS as u32, 8));
    p.push(addi(A5, A5, 1));
    p.push(jal(ZERO, -4));
    let (mut cpu, hart) = machine(&p);
    hart.set_mtimecmp(60);
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(1000);
    assert_eq!(cpu.x[10], (1 << 63) | 7);
    assert!(cpu.x[15] > 10 && cpu.x[15] < 60, "a5 = {}", cpu.x[15]);
}

#[test]
fn wfi_sleeps_until_the_timer_without_the_global_enable() {
    let mut p = Vec::new();
    p.extend(li(T0, 1 << 7));
    p.push(csrw(num::MIE, T0));
    p.push(WFI);
    p.push(addi(A0, ZERO, 7));
    p.push(SPIN);
    let (mut cpu, hart) = machine(&p);
    hart.set_mtimecmp(1_000_000);
    cpu.run_for(100);
    assert_eq!(
        cpu.x[10],
        7,
        "pc {:#x} now {} wfi {}",
        cpu.pc,
        cpu.clock.now(),
        cpu.wfi
    );
    assert!(cpu.clock.now() >= 1_000_000);
    assert!(cpu.instret <= 110, "time was skipped, not executed");
}

#[test]
fn wfi_wakes_on_host_kick() {
    let p = vec![
        addi(T0, ZERO, 1 << 3),
        csrw(num::MIE, T0),
        WFI,
        addi(A0, ZERO, 9),
        SPIN,
    ];
    let (mut cpu, hart) = machine_with_clock(&p, devices::clock::ClockMode::Host);
    let h2 = hart.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(30));
        h2.set_line(devices::irq::mip::MSIP, true);
    });
    let start = std::time::Instant::now();
    cpu.run_for(100);
    t.join().unwrap();
    assert_eq!(cpu.x[10], 9);
    assert!(start.elapsed() >= std::time::Duration::from_millis(25));
}

#[test]
fn sv39_translation_and_page_fault_tval() {
    let root = 0x8010_0000u64;
    let s_code = RAM_BASE + 0x400;
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(T0, -1));
    p.push(csrw(num::PMPADDR0, T0));
    p.extend(li(T0, 0x1f));
    p.push(csrw(num::PMPCFG0, T0));
    p.extend(li(T0, ((8u64 << 60) | (root >> 12)) as i64));
    p.push(csrw(num::SATP, T0));
    p.extend(li(T0, 3 << 11));
    p.push(csrrc(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T0, 1 << 11));
    p.push(csrrs(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T0, s_code as i64));
    p.push(csrw(num::MEPC, T0));
    p.push(MRET);
    let mut s = Vec::new();
    s.extend(li(T1, 0x4020_0000));
    s.push(ld(A3, T1, 0));
    s.extend(li(T1, 0xc000_0000));
    s.push(ld(A4, T1, 0));
    s.push(SPIN);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, s_code, &s);
    put(&mut cpu, HANDLER, &m_handler());
    // Gigapages: VA 0x8000_0000 identity (RWX), VA 0x4000_0000 → PA 0x8000_0000 (RW).
    let leaf = |pa: u64, flags: u64| ((pa >> 12) << 10) | flags | 0xc1;
    write64(&mut cpu, root + 2 * 8, leaf(0x8000_0000, 0xe));
    write64(&mut cpu, root + 8, leaf(0x8000_0000, 0x6));
    write64(&mut cpu, 0x8020_0000, 0x1234_5678_9abc);
    cpu.run_for(500);
    assert_eq!(cpu.x[13], 0x1234_5678_9abc);
    assert_eq!(cpu.x[10], 13);
    assert_eq!(cpu.x[11], 0xc000_0000);
}

#[test]
fn self_modifying_code_is_seen() {
    let mut p = Vec::new();
    // target is placed at index 20.
    let target = 20usize;
    p.extend(li(T0, addr(target) as i64));
    p.extend(li(T1, addi(A0, ZERO, 42) as i64));
    let call1 = p.len();
    p.push(jal(RA, ((target - call1) * 4) as i32));
    p.push(add(A1, ZERO, A0));
    p.push(sw(T1, T0, 0));
    let call2 = p.len();
    p.push(jal(RA, ((target - call2) * 4) as i32));
    p.push(SPIN);
    assert!(p.len() <= target);
    p.resize(target, NOP);
    p.push(addi(A0, ZERO, 1));
    p.push(jalr(ZERO, RA, 0));
    let (mut cpu, _) = machine(&p);
    cpu.run_for(200);
    assert_eq!(cpu.x[11], 1);
    assert_eq!(cpu.x[10], 42);
}

#[test]
fn lr_sc_reservation_rules() {
    let mut p = Vec::new();
    p.extend(li(T0, (RAM_BASE + 0x1000) as i64));
    p.push(addi(T1, ZERO, 5));
    p.push(lr_d(A0, T0));
    p.push(sc_d(A1, T1, T0)); // succeeds: a1 = 0
    p.push(sc_d(A2, T1, T0)); // no reservation: a2 = 1
    p.push(ld(A3, T0, 0));
    p.push(amoadd_w(A4, T1, T0)); // a4 = 5, mem = 10
    p.push(lw(A5, T0, 0));
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    write64(&mut cpu, RAM_BASE + 0x1000, 77);
    cpu.run_for(100);
    assert_eq!(
        (cpu.x[10], cpu.x[11], cpu.x[12], cpu.x[13], cpu.x[14], cpu.x[15]),
        (77, 0, 1, 5, 5, 10)
    );
}

#[test]
fn misaligned_amo_faults_and_misaligned_load_works() {
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(T0, (RAM_BASE + 0x1ffd) as i64));
    p.push(ld(A5, T0, 0)); // crosses a page: done in software
    p.push(amoadd_w(A4, T1, T0));
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, HANDLER, &m_handler());
    write64(&mut cpu, RAM_BASE + 0x1ff8, 0x8877_6655_4433_2211);
    write64(&mut cpu, RAM_BASE + 0x2000, 0x00ff_eedd_ccbb_aa99);
    cpu.run_for(100);
    assert_eq!(cpu.x[15], 0xddcc_bbaa_9988_7766);
    assert_eq!((cpu.x[10], cpu.x[11]), (6, RAM_BASE + 0x1ffd));
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn semihosting_program() -> Vec<u32> {
    let mut p = Vec::new();
    p.push(addi(A0, ZERO, 4));
    p.extend(li(A1, (RAM_BASE + 0x900) as i64));
    p.extend([SEMI_PRE, EBREAK, SEMI_POST]);
    p.push(addi(A0, ZERO, 0x18));
    p.extend(li(A1, (RAM_BASE + 0xa00) as i64));
    p.extend([SEMI_PRE, EBREAK, SEMI_POST]);
    p.push(SPIN);
    p
}

#[test]
fn semihosting_write0_and_exit() {
    let (mut cpu, _) = machine(&semihosting_program());
    let out = SharedBuf::default();
    cpu.set_semihosting(true, Box::new(out.clone()), None);
    put(
        &mut cpu,
        RAM_BASE + 0x900,
        &[u32::from_le_bytes(*b"hi!\n"), 0],
    );
    write64(&mut cpu, RAM_BASE + 0xa00, 0x20026);
    write64(&mut cpu, RAM_BASE + 0xa08, 3);
    assert_eq!(cpu.run_for(1000), RunExit::Semihosting(3));
    assert_eq!(&out.0.lock().unwrap()[..], b"hi!\n");
}

#[test]
fn ebreak_without_semihosting_is_a_breakpoint() {
    let mut p = semihosting_program();
    let mut pre = Vec::new();
    set_mtvec(&mut pre);
    let off = pre.len();
    pre.append(&mut p);
    let (mut cpu, _) = machine(&pre);
    put(&mut cpu, HANDLER, &m_handler());
    assert_eq!(cpu.run_for(1000), RunExit::Budget);
    assert_eq!(cpu.x[10], 3);
    // The first ebreak: after addi + li(2 words... ) + pre.
    let ebreak_idx = (off..pre.len()).find(|&k| pre[k] == EBREAK).unwrap();
    assert_eq!(cpu.x[12], addr(ebreak_idx));
    assert_eq!(cpu.x[11], addr(ebreak_idx));
}

#[test]
fn custom_instruction_hook_runs_with_guest_memory() {
    struct Store;
    impl devices::cpu_ext::CustomInsnHook for Store {
        fn claims(&self, insn: u32) -> bool {
            insn & 0x7f == 0x7b
        }
        fn execute(
            &mut self,
            insn: u32,
            x: &mut [u64; 32],
            mem: &mut dyn devices::cpu_ext::GuestDataAccess,
        ) -> devices::cpu_ext::CustomOutcome {
            let rd = ((insn >> 7) & 31) as usize;
            let rs1 = ((insn >> 15) & 31) as usize;
            match mem.store(x[rs1], 4, x[rd]) {
                Ok(()) => devices::cpu_ext::CustomOutcome::Done,
                Err(_) => devices::cpu_ext::CustomOutcome::Fault,
            }
        }
    }
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(A0, (RAM_BASE + 0x1000) as i64));
    p.extend(li(A1, 0x55aa));
    p.push(r(6, A2, A0, 6, A1, 0x7b));
    p.push(addi(A0, ZERO, 0)); // store to address 0: access fault
    let bad = p.len();
    p.push(r(6, A2, A0, 6, A1, 0x7b));
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    cpu.custom = Some(Box::new(Store));
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(100);
    assert_eq!(read64(&cpu, RAM_BASE + 0x1000) as u32, 0x55aa);
    assert_eq!((cpu.x[10], cpu.x[11], cpu.x[12]), (7, 0, addr(bad)));
}

fn fadd_d(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    r(0x01, rs2, rs1, rm, rd, 0x53)
}

fn fadd_s(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    r(0x00, rs2, rs1, rm, rd, 0x53)
}

fn fmv_d_x(rd: u32, rs1: u32) -> u32 {
    r(0x79, 0, rs1, 0, rd, 0x53)
}

fn fmv_x_d(rd: u32, rs1: u32) -> u32 {
    r(0x71, 0, rs1, 0, rd, 0x53)
}

fn fmv_x_w(rd: u32, rs1: u32) -> u32 {
    r(0x70, 0, rs1, 0, rd, 0x53)
}

#[test]
fn fp_is_illegal_while_fs_is_off() {
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.push(fadd_d(1, 2, 3, 7));
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(100);
    assert_eq!((cpu.x[10], cpu.x[11]), (2, fadd_d(1, 2, 3, 7) as u64));
}

#[test]
fn fp_arithmetic_nan_boxing_and_rounding_modes() {
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(T0, 1 << 13));
    p.push(csrrs(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T1, 0x4000_0000_0000_0000)); // 2.0
    p.push(fmv_d_x(1, T1));
    p.extend(li(T1, 0x3ff0_0000_0000_0000)); // 1.0
    p.push(fmv_d_x(2, T1));
    p.push(fadd_d(3, 1, 2, 7));
    p.push(fmv_x_d(A3, 3)); // 3.0
    p.push(fadd_s(4, 1, 2, 0)); // unboxed inputs: canonical NaN
    p.push(fmv_x_w(A4, 4));
    p.push(csrr(A5, num::MSTATUS));
    p.push(csrrwi(ZERO, num::FRM as u32, 5)); // invalid frm
    let bad = p.len();
    p.push(fadd_d(3, 1, 2, 7)); // DYN with frm = 5: illegal
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(200);
    assert_eq!(cpu.x[13], 0x4008_0000_0000_0000);
    assert_eq!(cpu.x[14], 0x7fc0_0000);
    assert_eq!(cpu.x[15] >> 63, 1, "SD reflects FS = Dirty");
    assert_eq!(cpu.x[15] & (3 << 13), 3 << 13);
    assert_eq!(
        (cpu.x[10], cpu.x[11], cpu.x[12]),
        (2, fadd_d(3, 1, 2, 7) as u64, addr(bad))
    );

    // A reserved static rounding mode is illegal too.
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(T0, 1 << 13));
    p.push(csrrs(ZERO, num::MSTATUS as u32, T0));
    p.push(fadd_d(3, 1, 2, 5));
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, HANDLER, &m_handler());
    cpu.run_for(100);
    assert_eq!((cpu.x[10], cpu.x[11]), (2, fadd_d(3, 1, 2, 5) as u64));
}

/// Opens PMP, sets MPP = S (and SIE if asked), and mrets to `target`.
fn enter_s(p: &mut Vec<u32>, target: u64, sie: bool) {
    p.extend(li(T0, -1));
    p.push(csrw(num::PMPADDR0, T0));
    p.extend(li(T0, 0x1f));
    p.push(csrw(num::PMPCFG0, T0));
    p.extend(li(T0, 3 << 11));
    p.push(csrrc(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T0, (1 << 11) | if sie { 2 } else { 0 }));
    p.push(csrrs(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T0, target as i64));
    p.push(csrw(num::MEPC, T0));
    p.push(MRET);
}

#[test]
fn sstc_supervisor_timer_is_delegated() {
    let s_code = RAM_BASE + 0x400;
    let s_handler = RAM_BASE + 0xc00;
    let mut p = Vec::new();
    p.extend(li(T0, i64::MIN)); // menvcfg.STCE
    p.push(csrrs(ZERO, num::MENVCFG as u32, T0));
    p.extend(li(T0, 1 << 5));
    p.push(csrw(num::MIDELEG, T0));
    p.push(csrw(num::MIE, T0));
    p.extend(li(T0, s_handler as i64));
    p.push(csrw(num::STVEC, T0));
    p.extend(li(T0, 80));
    p.push(csrw(num::STIMECMP, T0));
    enter_s(&mut p, s_code, true);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, s_code, &[addi(A5, A5, 1), jal(ZERO, -4)]);
    put(
        &mut cpu,
        s_handler,
        &[csrr(A0, num::SCAUSE), csrr(A1, num::SIP), SPIN],
    );
    cpu.run_for(1000);
    assert_eq!(cpu.x[10], (1 << 63) | 5);
    assert_eq!(cpu.x[11] & (1 << 5), 1 << 5);
    assert!(cpu.x[15] > 0);
    assert_eq!(cpu.prv, crate::cpu::prv::S);
}

#[test]
fn sv48_translation_and_canonical_check() {
    let root = 0x8010_0000u64;
    let l2 = 0x8010_1000u64;
    let s_code = RAM_BASE + 0x400;
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(T0, ((9u64 << 60) | (root >> 12)) as i64));
    p.push(csrw(num::SATP, T0));
    enter_s(&mut p, s_code, false);
    let mut s = Vec::new();
    s.extend(li(T1, 0x4020_0000));
    s.push(ld(A3, T1, 0));
    s.extend(li(T1, 0x0000_8000_0000_0000)); // not sign-extended from bit 47
    s.push(ld(A4, T1, 0));
    s.push(SPIN);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, s_code, &s);
    put(&mut cpu, HANDLER, &m_handler());
    let leaf = |pa: u64, flags: u64| ((pa >> 12) << 10) | flags | 0xc1;
    write64(&mut cpu, root, ((l2 >> 12) << 10) | 1);
    write64(&mut cpu, l2 + 2 * 8, leaf(0x8000_0000, 0xe));
    write64(&mut cpu, l2 + 8, leaf(0x8000_0000, 0x6));
    write64(&mut cpu, 0x8020_0000, 0xfeed);
    cpu.run_for(500);
    assert_eq!(cpu.x[13], 0xfeed);
    assert_eq!((cpu.x[10], cpu.x[11]), (13, 0x0000_8000_0000_0000));
}

#[test]
fn minstret_write_and_inhibit() {
    let mut p = Vec::new();
    p.extend(li(T0, 1000));
    p.push(csrw(num::MINSTRET, T0));
    p.push(csrr(A3, num::MINSTRET));
    p.push(csrrwi(ZERO, 0x320, 4)); // mcountinhibit.IR
    p.push(NOP);
    p.push(csrr(A4, num::MINSTRET));
    p.push(csrr(A5, num::MINSTRET));
    p.push(csrr(T2, num::MCYCLE));
    p.push(csrr(T1, num::MCYCLE));
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    cpu.run_for(100);
    assert_eq!(cpu.x[13], 1000);
    assert_eq!(cpu.x[14], cpu.x[15]);
    assert!(cpu.x[14] == 1001 || cpu.x[14] == 1002);
    assert_eq!(cpu.x[6], cpu.x[7] + 1, "mcycle keeps counting");
}

#[test]
fn cbo_zero_clears_the_block_and_is_gated_in_s_mode() {
    let s_code = RAM_BASE + 0x400;
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(A3, (RAM_BASE + 0x1010) as i64));
    p.push(0x0046_a00f); // cbo.zero (a3)
    enter_s(&mut p, s_code, false);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, s_code, &[0x0046_a00f, SPIN]); // cbo.zero in S without menvcfg.CBZE
    put(&mut cpu, HANDLER, &m_handler());
    for k in 0..10 {
        write64(&mut cpu, RAM_BASE + 0x1000 + 8 * k, u64::MAX);
    }
    cpu.run_for(200);
    for k in 0..8 {
        assert_eq!(read64(&cpu, RAM_BASE + 0x1000 + 8 * k), 0);
    }
    assert_eq!(read64(&cpu, RAM_BASE + 0x1040), u64::MAX);
    assert_eq!((cpu.x[10], cpu.x[11], cpu.x[12]), (2, 0x0046_a00f, s_code));
}

fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes a timespec through a valid pointer to a local.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn wfi_with_an_expired_masked_timer_sleeps_instead_of_spinning() {
    let p = vec![
        addi(T0, ZERO, 1 << 3), // MSIE only; MTIP is pending (mtimecmp = 0) but masked
        csrw(num::MIE, T0),
        WFI,
        addi(A0, ZERO, 9),
        SPIN,
    ];
    let (mut cpu, hart) = machine_with_clock(&p, devices::clock::ClockMode::Host);
    hart.set_mtimecmp(0);
    let h2 = hart.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        h2.set_line(devices::irq::mip::MSIP, true);
    });
    let cpu0 = thread_cpu_time();
    cpu.run_for(100);
    let used = thread_cpu_time() - cpu0;
    t.join().unwrap();
    assert_eq!(cpu.x[10], 9);
    assert!(
        used < std::time::Duration::from_millis(100),
        "idle wfi used {used:?} of CPU"
    );
}

#[test]
fn semihosting_bad_pointers_return_minus_one() {
    let mut p = Vec::new();
    p.push(addi(A0, ZERO, 4)); // SYS_WRITE0 from an unmapped address
    p.push(addi(A1, ZERO, 0x10));
    p.extend([SEMI_PRE, EBREAK, SEMI_POST]);
    p.push(add(A3, ZERO, A0));
    p.push(addi(A0, ZERO, 0x18)); // SYS_EXIT with an unreadable block
    p.extend(li(A1, 0x7000_0000));
    p.extend([SEMI_PRE, EBREAK, SEMI_POST]);
    p.push(add(A4, ZERO, A0));
    p.push(addi(A0, ZERO, 0x13)); // SYS_ERRNO
    p.extend([SEMI_PRE, EBREAK, SEMI_POST]);
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    cpu.set_semihosting(true, Box::new(std::io::sink()), None);
    assert_eq!(cpu.run_for(200), RunExit::Budget);
    assert_eq!(cpu.x[13], u64::MAX);
    assert_eq!(cpu.x[14], u64::MAX);
    assert_eq!(cpu.x[10], 14, "errno EFAULT");
}

#[test]
fn mprv_translates_m_mode_data_accesses_only() {
    let root = 0x8010_0000u64;
    let mut p = Vec::new();
    set_mtvec(&mut p);
    p.extend(li(T0, -1));
    p.push(csrw(num::PMPADDR0, T0));
    p.extend(li(T0, 0x1f));
    p.push(csrw(num::PMPCFG0, T0));
    p.extend(li(T0, ((8u64 << 60) | (root >> 12)) as i64));
    p.push(csrw(num::SATP, T0));
    p.extend(li(T0, 3 << 11));
    p.push(csrrc(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T0, (1 << 11) | (1 << 17))); // MPP = S, MPRV
    p.push(csrrs(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T1, 0x4020_0000));
    p.push(ld(A3, T1, 0)); // translated: PA 0x8020_0000
    p.extend(li(T0, 1 << 17));
    p.push(csrrc(ZERO, num::MSTATUS as u32, T0));
    p.push(ld(A4, T1, 0)); // bare: nothing at 0x4020_0000 → load access fault
    p.push(SPIN);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, HANDLER, &m_handler());
    write64(&mut cpu, root + 8, ((0x8000_0000u64 >> 12) << 10) | 0xc7);
    write64(&mut cpu, 0x8020_0000, 0xabcd);
    cpu.run_for(300);
    assert_eq!(cpu.x[13], 0xabcd);
    assert_eq!((cpu.x[10], cpu.x[11]), (5, 0x4020_0000));
    assert_eq!(cpu.prv, crate::cpu::prv::M);
}

#[test]
fn pmp_denies_supervisor_access_outside_its_regions() {
    let s_code = RAM_BASE + 0x400;
    let mut p = Vec::new();
    set_mtvec(&mut p);
    // Entry 0: TOR [0, RAM_BASE + 0x10_0000) RWX; nothing above.
    p.extend(li(T0, ((RAM_BASE + 0x10_0000) >> 2) as i64));
    p.push(csrw(num::PMPADDR0, T0));
    p.extend(li(T0, 0x0f));
    p.push(csrw(num::PMPCFG0, T0));
    p.extend(li(T0, 3 << 11));
    p.push(csrrc(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T0, 1 << 11));
    p.push(csrrs(ZERO, num::MSTATUS as u32, T0));
    p.extend(li(T0, s_code as i64));
    p.push(csrw(num::MEPC, T0));
    p.push(MRET);
    let mut s = Vec::new();
    s.extend(li(T1, (RAM_BASE + 0x8_0000) as i64));
    s.push(ld(A3, T1, 0)); // inside: fine
    s.extend(li(T1, (RAM_BASE + 0x20_0000) as i64));
    s.push(sd(A3, T1, 0)); // outside: store access fault
    s.push(SPIN);
    let (mut cpu, _) = machine(&p);
    put(&mut cpu, s_code, &s);
    put(&mut cpu, HANDLER, &m_handler());
    write64(&mut cpu, RAM_BASE + 0x8_0000, 0x77);
    cpu.run_for(300);
    assert_eq!(cpu.x[13], 0x77);
    assert_eq!((cpu.x[10], cpu.x[11]), (7, RAM_BASE + 0x20_0000));
}
