//! Test helpers: a small machine (RAM at 0x8000_0000) and a tiny RV64 assembler.

use std::sync::{Arc, Mutex};

use devices::clock::{ClockMode, GuestClock};
use devices::{Bus, BusDevice, HartInterrupts};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use crate::cpu::Cpu;

pub const RAM_BASE: u64 = 0x8000_0000;
pub const RAM_SIZE: usize = 8 << 20;
/// Where [`TestDev`] is mapped by [`machine`].
pub const DEV_BASE: u64 = 0x1000_0000;

/// A test MMIO device: writing offset 0 drives MEIP (bit 0 of the value); offset 8 holds a
/// plain read/write register.
pub struct TestDev {
    pub hart: Arc<HartInterrupts>,
    pub reg: u64,
}

impl BusDevice for TestDev {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        let v = if offset == 8 { self.reg } else { 0 };
        devices::bus::put_le_value(data, v);
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        let v = devices::bus::le_value(data);
        match offset {
            0 => self.hart.set_line(devices::irq::mip::MEIP, v & 1 != 0),
            8 => self.reg = v,
            _ => {}
        }
    }
}

/// A CPU at RAM_BASE with `prog` loaded there, a [`TestDev`] at DEV_BASE, icount clock.
pub fn machine(prog: &[u32]) -> (Box<Cpu>, Arc<HartInterrupts>) {
    machine_with_clock(prog, ClockMode::Icount { insns_per_tick: 1 })
}

/// Like [`machine`] with a given clock mode.
pub fn machine_with_clock(prog: &[u32], mode: ClockMode) -> (Box<Cpu>, Arc<HartInterrupts>) {
    let ram = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(RAM_BASE), RAM_SIZE)]).unwrap();
    for (k, w) in prog.iter().enumerate() {
        ram.write_obj(*w, GuestAddress(RAM_BASE + 4 * k as u64))
            .unwrap();
    }
    let hart = Arc::new(HartInterrupts::new());
    let mut bus = Bus::new();
    bus.insert(
        Arc::new(Mutex::new(TestDev {
            hart: hart.clone(),
            reg: 0,
        })),
        DEV_BASE,
        0x1000,
    )
    .unwrap();
    let clock = Arc::new(GuestClock::new(mode, 10_000_000));
    let cpu = Cpu::new(ram, Arc::new(bus), hart.clone(), clock, None, RAM_BASE).unwrap();
    (cpu, hart)
}

/// Opens PMP entry 0 over all memory (RWX) so S- and U-mode may access it.
pub fn open_pmp(cpu: &mut Cpu) {
    cpu.pmp_write_addr(0, u64::MAX);
    cpu.pmp_write_cfg(0, 0x1f);
}

pub fn write64(cpu: &mut Cpu, pa: u64, v: u64) {
    cpu.ram().write_obj(v, GuestAddress(pa)).unwrap();
}

pub fn read64(cpu: &Cpu, pa: u64) -> u64 {
    cpu.ram().read_obj(GuestAddress(pa)).unwrap()
}

pub fn write32(cpu: &mut Cpu, pa: u64, v: u32) {
    cpu.ram().write_obj(v, GuestAddress(pa)).unwrap();
}

/// Instruction encoders.
#[allow(dead_code)]
pub mod asm {
    pub const ZERO: u32 = 0;
    pub const RA: u32 = 1;
    pub const SP: u32 = 2;
    pub const T0: u32 = 5;
    pub const T1: u32 = 6;
    pub const T2: u32 = 7;
    pub const A0: u32 = 10;
    pub const A1: u32 = 11;
    pub const A2: u32 = 12;
    pub const A3: u32 = 13;
    pub const A4: u32 = 14;
    pub const A5: u32 = 15;

    pub fn r(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
        (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
    }
    pub fn i(imm: i32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
        (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
    }
    pub fn s(imm: i32, rs2: u32, rs1: u32, f3: u32, op: u32) -> u32 {
        let imm = imm as u32;
        (((imm >> 5) & 0x7f) << 25)
            | (rs2 << 20)
            | (rs1 << 15)
            | (f3 << 12)
            | ((imm & 31) << 7)
            | op
    }
    pub fn b(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
        let imm = imm as u32;
        (((imm >> 12) & 1) << 31)
            | (((imm >> 5) & 0x3f) << 25)
            | (rs2 << 20)
            | (rs1 << 15)
            | (f3 << 12)
            | (((imm >> 1) & 0xf) << 8)
            | (((imm >> 11) & 1) << 7)
            | 0x63
    }
    pub fn lui(rd: u32, imm20: u32) -> u32 {
        (imm20 << 12) | (rd << 7) | 0x37
    }
    pub fn jal(rd: u32, imm: i32) -> u32 {
        let imm = imm as u32;
        (((imm >> 20) & 1) << 31)
            | (((imm >> 1) & 0x3ff) << 21)
            | (((imm >> 11) & 1) << 20)
            | (((imm >> 12) & 0xff) << 12)
            | (rd << 7)
            | 0x6f
    }
    pub fn jalr(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 0, rd, 0x67)
    }
    pub fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 0, rd, 0x13)
    }
    pub fn addiw(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 0, rd, 0x1b)
    }
    pub fn slli(rd: u32, rs1: u32, sh: u32) -> u32 {
        i(sh as i32, rs1, 1, rd, 0x13)
    }
    pub fn add(rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(0, rs2, rs1, 0, rd, 0x33)
    }
    pub fn sub(rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(0x20, rs2, rs1, 0, rd, 0x33)
    }
    pub fn mul(rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(1, rs2, rs1, 0, rd, 0x33)
    }
    pub fn div(rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(1, rs2, rs1, 4, rd, 0x33)
    }
    pub fn rem(rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(1, rs2, rs1, 6, rd, 0x33)
    }
    pub fn divw(rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(1, rs2, rs1, 4, rd, 0x3b)
    }
    pub fn xor(rd: u32, rs1: u32, rs2: u32) -> u32 {
        r(0, rs2, rs1, 4, rd, 0x33)
    }
    pub fn beq(rs1: u32, rs2: u32, imm: i32) -> u32 {
        b(imm, rs2, rs1, 0)
    }
    pub fn bne(rs1: u32, rs2: u32, imm: i32) -> u32 {
        b(imm, rs2, rs1, 1)
    }
    pub fn ld(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 3, rd, 0x03)
    }
    pub fn lw(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 2, rd, 0x03)
    }
    pub fn sd(rs2: u32, rs1: u32, imm: i32) -> u32 {
        s(imm, rs2, rs1, 3, 0x23)
    }
    pub fn sw(rs2: u32, rs1: u32, imm: i32) -> u32 {
        s(imm, rs2, rs1, 2, 0x23)
    }
    pub fn csrrw(rd: u32, csr: u32, rs1: u32) -> u32 {
        i(csr as i32, rs1, 1, rd, 0x73)
    }
    pub fn csrrs(rd: u32, csr: u32, rs1: u32) -> u32 {
        i(csr as i32, rs1, 2, rd, 0x73)
    }
    pub fn csrrc(rd: u32, csr: u32, rs1: u32) -> u32 {
        i(csr as i32, rs1, 3, rd, 0x73)
    }
    pub fn csrrwi(rd: u32, csr: u32, uimm: u32) -> u32 {
        i(csr as i32, uimm, 5, rd, 0x73)
    }
    pub fn csrrsi(rd: u32, csr: u32, uimm: u32) -> u32 {
        i(csr as i32, uimm, 6, rd, 0x73)
    }
    pub fn lr_d(rd: u32, rs1: u32) -> u32 {
        r(0x02 << 2, 0, rs1, 3, rd, 0x2f)
    }
    pub fn sc_d(rd: u32, rs2: u32, rs1: u32) -> u32 {
        r(0x03 << 2, rs2, rs1, 3, rd, 0x2f)
    }
    pub fn amoadd_w(rd: u32, rs2: u32, rs1: u32) -> u32 {
        r(0, rs2, rs1, 2, rd, 0x2f)
    }
    pub const ECALL: u32 = 0x0000_0073;
    pub const EBREAK: u32 = 0x0010_0073;
    pub const MRET: u32 = 0x3020_0073;
    pub const SRET: u32 = 0x1020_0073;
    pub const WFI: u32 = 0x1050_0073;
    pub const FENCE_I: u32 = 0x0000_100f;
    pub const NOP: u32 = 0x0000_0013;
    pub const SEMI_PRE: u32 = 0x01f0_1013;
    pub const SEMI_POST: u32 = 0x4070_5013;
    /// `j .`
    pub const SPIN: u32 = 0x0000_006f;

    /// Loads a 64-bit constant.
    pub fn li(rd: u32, v: i64) -> Vec<u32> {
        let lo = (v << 52) >> 52;
        if v == v as i32 as i64 {
            let hi = ((v - lo) >> 12) as u32 & 0xfffff;
            if hi == 0 {
                return vec![addi(rd, ZERO, lo as i32)];
            }
            let mut s = vec![lui(rd, hi)];
            if lo != 0 {
                s.push(addiw(rd, rd, lo as i32));
            }
            return s;
        }
        let hi = (v - lo) >> 12;
        let mut s = li(rd, hi);
        s.push(slli(rd, rd, 12));
        if lo != 0 {
            s.push(addi(rd, rd, lo as i32));
        }
        s
    }
}
