//! Differential tests: generated programs run on tier 0 alone and with the JIT (tiny compile
//! thresholds, synchronous compilation) must end in identical architectural state: registers,
//! pc, instret, trap CSRs, FP flags and memory.
//!
//! The generator mixes ALU (I, M, Zba, Zbb, Zbs, Zicond), forward branches, counted loops,
//! direct and indirect jumps, loads/stores to mapped RAM, MMIO, unmapped and (in the Sv39
//! variant) unmapped virtual pages, misaligned accesses, FP (D and F, all rounding modes incl.
//! invalid ones), CSR reads/writes (fflags, frm, mscratch, minstret), AMOs, LR/SC, ecall, ebreak
//! and illegal instructions. A machine-mode handler skips each trapping instruction.

use std::sync::{Arc, Mutex};

use accel_tcg::jit::{BaselineMode, JitConfig};
use accel_tcg::{Cpu, RunExit};
use devices::clock::{ClockMode, GuestClock};
use devices::irq::ExitRequest;
use devices::{Bus, BusDevice, HartInterrupts};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

const RAM: u64 = 0x8000_0000;
const RAM_SIZE: usize = 4 << 20;
const HANDLER: u64 = RAM + 0x100;
const BODY: u64 = RAM + 0x1000;
const DATA: u64 = RAM + 0x20_0000;
const TABLE: u64 = DATA - 0x100;
const ROOT: u64 = RAM + 0x30_0000;
const DEV: u64 = 0x1000_0000;

struct StopDev {
    hart: Arc<HartInterrupts>,
    reg: u64,
}

impl BusDevice for StopDev {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        let v = if offset == 8 { self.reg } else { 0x55 };
        devices::bus::put_le_value(data, v);
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        match offset {
            0 => self.hart.request_exit(ExitRequest::HostStop),
            8 => self.reg = devices::bus::le_value(data),
            _ => {}
        }
    }
}

static JIT_INSNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static JIT_ENTRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

fn r(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
fn i(imm: i32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
fn s(imm: i32, rs2: u32, rs1: u32, f3: u32, op: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op
}
fn b(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
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
fn j(imm: i32, rd: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 20) & 1) << 31)
        | (((imm >> 1) & 0x3ff) << 21)
        | (((imm >> 11) & 1) << 20)
        | (((imm >> 12) & 0xff) << 12)
        | (rd << 7)
        | 0x6f
}
fn csr(csr: u32, rs1: u32, f3: u32, rd: u32) -> u32 {
    (csr << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x73
}

/// Registers the generated code may write: not x8 (data), x9 (device), x30 (loop), x31 (handler).
const WREGS: [u32; 27] = [
    1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    28, 29,
];

struct Gen<'a> {
    rng: &'a mut Rng,
    code: Vec<u32>,
    sv39: bool,
    /// Outer loops around the chunks (counter x29, then not written by generated code).
    nested: bool,
}

impl Gen<'_> {
    fn rd(&mut self) -> u32 {
        loop {
            let r = self.rng.pick(&WREGS);
            if !(self.nested && r == 29) {
                return r;
            }
        }
    }
    fn rs(&mut self) -> u32 {
        self.rng.below(32) as u32
    }
    fn freg(&mut self) -> u32 {
        self.rng.below(32) as u32
    }

    /// One random non-control-flow instruction (may trap).
    fn simple(&mut self) {
        let rd = self.rd();
        let rs1 = self.rs();
        let rs2 = self.rs();
        let kind = self.rng.below(100);
        let w = match kind {
            0..=19 => {
                // R-type ALU, M, Zba/Zbb/Zbs/Zicond.
                let (f7, f3, op) = self.rng.pick(&[
                    (0, 0, 0x33),
                    (0x20, 0, 0x33),
                    (0, 1, 0x33),
                    (0, 2, 0x33),
                    (0, 3, 0x33),
                    (0, 4, 0x33),
                    (0, 5, 0x33),
                    (0x20, 5, 0x33),
                    (0, 6, 0x33),
                    (0, 7, 0x33),
                    (1, 0, 0x33),
                    (1, 1, 0x33),
                    (1, 2, 0x33),
                    (1, 3, 0x33),
                    (1, 4, 0x33),
                    (1, 5, 0x33),
                    (1, 6, 0x33),
                    (1, 7, 0x33),
                    (0, 0, 0x3b),
                    (0x20, 0, 0x3b),
                    (0, 1, 0x3b),
                    (0, 5, 0x3b),
                    (0x20, 5, 0x3b),
                    (1, 0, 0x3b),
                    (1, 4, 0x3b),
                    (1, 5, 0x3b),
                    (1, 6, 0x3b),
                    (1, 7, 0x3b),
                    (0x10, 2, 0x33), // sh1add
                    (0x10, 4, 0x33), // sh2add
                    (0x10, 6, 0x33), // sh3add
                    (0x04, 0, 0x3b), // add.uw
                    (0x10, 2, 0x3b), // sh1add.uw
                    (0x20, 7, 0x33), // andn
                    (0x20, 6, 0x33), // orn
                    (0x20, 4, 0x33), // xnor
                    (0x05, 6, 0x33), // max
                    (0x05, 7, 0x33), // maxu
                    (0x05, 4, 0x33), // min
                    (0x05, 5, 0x33), // minu
                    (0x30, 1, 0x33), // rol
                    (0x30, 5, 0x33), // ror
                    (0x30, 1, 0x3b), // rolw
                    (0x30, 5, 0x3b), // rorw
                    (0x24, 1, 0x33), // bclr
                    (0x14, 1, 0x33), // bset
                    (0x34, 1, 0x33), // binv
                    (0x24, 5, 0x33), // bext
                    (0x05, 1, 0x33), // clmul
                    (0x07, 5, 0x33), // czero.eqz
                    (0x07, 7, 0x33), // czero.nez
                ]);
                r(f7, rs2, rs1, f3, rd, op)
            }
            20..=34 => {
                let imm = (self.rng.next() as i32) >> 20;
                let sh = self.rng.below(64) as i32;
                match self.rng.below(16) {
                    0 => i(imm, rs1, 0, rd, 0x13),
                    1 => i(imm, rs1, 2, rd, 0x13),
                    2 => i(imm, rs1, 3, rd, 0x13),
                    3 => i(imm, rs1, 4, rd, 0x13),
                    4 => i(imm, rs1, 6, rd, 0x13),
                    5 => i(imm, rs1, 7, rd, 0x13),
                    6 => i(sh, rs1, 1, rd, 0x13),
                    7 => i(sh, rs1, 5, rd, 0x13),
                    8 => i(sh | 0x400, rs1, 5, rd, 0x13),
                    9 => i(imm, rs1, 0, rd, 0x1b),
                    10 => i(sh & 31, rs1, 1, rd, 0x1b),
                    11 => i((sh & 31) | 0x400, rs1, 5, rd, 0x1b),
                    12 => ((self.rng.next() as u32) & !0xfff) | (rd << 7) | 0x37,
                    13 => ((self.rng.next() as u32) & !0xfff) | (rd << 7) | 0x17,
                    14 => i(0x600 | self.rng.pick(&[0, 1, 2, 4, 5]), rs1, 1, rd, 0x13), // clz..sext
                    _ => i(0x480 | sh, rs1, 5, rd, 0x13),                               // bexti
                }
            }
            35..=54 => {
                // Loads and stores.
                let (base, off) = match self.rng.below(10) {
                    0..=5 => (8, (self.rng.below(0x700) as i32) & !7),
                    6 => (8, self.rng.below(0x700) as i32), // maybe misaligned
                    7 => (9, self.rng.pick(&[8, 0x10, 0x800])), // MMIO register, gap
                    8 => (8, 0x7f8 + self.rng.below(8) as i32), // ok
                    _ => (self.rs(), 0),                    // anything
                };
                let base = if base == 8 && self.rng.below(4) == 0 {
                    // A register holding a data-page address with an offset.
                    8
                } else {
                    base
                };
                if self.rng.below(2) == 0 {
                    let f3 = self.rng.pick(&[0, 1, 2, 3, 4, 5, 6]);
                    i(off, base, f3, rd, 0x03)
                } else {
                    let f3 = self.rng.pick(&[0, 1, 2, 3]);
                    s(off, rs2, base, f3, 0x23)
                }
            }
            55..=74 => self.fp(),
            75..=80 => {
                let (c, f3, src) = self.rng.pick(&[
                    (0x001, 2, 0),  // csrr fflags
                    (0x003, 2, 0),  // csrr fcsr
                    (0x340, 1, 99), // csrrw mscratch
                    (0xb02, 2, 0),  // csrr minstret
                    (0xb00, 2, 0),  // csrr mcycle
                    (0x002, 5, 99), // csrwi frm
                    (0x001, 1, 99), // csrrw fflags
                    (0x7c0, 2, 0),  // unknown CSR: illegal
                ]);
                let src = if src == 99 {
                    if f3 == 5 {
                        self.rng.below(5) as u32 // valid frm values only here
                    } else {
                        rs1
                    }
                } else {
                    src
                };
                csr(c, src, f3, rd)
            }
            81..=86 => {
                // AMOs and LR/SC on the data page (x8).
                let f5 = self
                    .rng
                    .pick(&[0x00, 0x01, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c]);
                let f3 = self.rng.pick(&[2, 3]);
                match self.rng.below(6) {
                    0 => r(0x02 << 2, 0, 8, f3, rd, 0x2f),   // lr
                    1 => r(0x03 << 2, rs2, 8, f3, rd, 0x2f), // sc
                    _ => r(f5 << 2, rs2, 8, f3, rd, 0x2f),
                }
            }
            87 => 0x0000_0073, // ecall
            88 => 0x0010_0073, // ebreak
            89 => 0xffff_ffff, // illegal
            90 => 0x0000_100f, // fence.i
            91 => {
                // Two compressed instructions: c.addi rd, imm; c.mv rd, rs2 (rs2 != 0).
                let imm = self.rng.below(64) as u32;
                let c1 = ((imm >> 5) << 12) | (rd << 7) | ((imm & 31) << 2) | 1;
                let rs = 1 + self.rng.below(31) as u32;
                let c2 = (0b1000 << 12) | (rd << 7) | (rs << 2) | 2;
                c1 | (c2 << 16)
            }
            92 => 0x0ff0_000f, // fence
            _ => r(0, rs2, rs1, 0, rd, 0x33),
        };
        self.code.push(w);
    }

    fn fp(&mut self) -> u32 {
        let rd = self.freg();
        let rs1 = self.freg();
        let rs2 = self.freg();
        let rs3 = self.freg();
        let rm = self.rng.pick(&[0, 0, 0, 7, 7, 1, 2, 3, 4, 5]);
        let xrd = self.rd();
        match self.rng.below(22) {
            0 => r(0x01, rs2, rs1, rm, rd, 0x53), // fadd.d
            1 => r(0x05, rs2, rs1, rm, rd, 0x53), // fsub.d
            2 => r(0x09, rs2, rs1, rm, rd, 0x53), // fmul.d
            3 => r(0x0d, rs2, rs1, rm, rd, 0x53), // fdiv.d
            4 => r(0x2d, 0, rs1, rm, rd, 0x53),   // fsqrt.d
            5 => r(0x00, rs2, rs1, rm, rd, 0x53), // fadd.s
            6 => r(0x08, rs2, rs1, rm, rd, 0x53), // fmul.s
            7 => r(0x0c, rs2, rs1, rm, rd, 0x53), // fdiv.s
            8 => {
                (rs3 << 27) | (1 << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | 0x43
            }
            9 => {
                (rs3 << 27) | (1 << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | 0x4f
            }
            10 => r(0x11, rs2, rs1, self.rng.below(3) as u32, rd, 0x53), // fsgnj*.d
            11 => r(0x15, rs2, rs1, self.rng.below(2) as u32, rd, 0x53), // fmin/max.d
            12 => r(0x51, rs2, rs1, self.rng.below(3) as u32, xrd, 0x53), // fle/flt/feq.d
            13 => r(0x61, self.rng.below(4) as u32, rs1, rm, xrd, 0x53), // fcvt.{w,wu,l,lu}.d
            14 => r(0x69, self.rng.below(4) as u32, self.rs(), rm, rd, 0x53), // fcvt.d.*
            15 => r(0x71, 0, rs1, 0, xrd, 0x53),                         // fmv.x.d
            16 => r(0x79, 0, self.rs(), 0, rd, 0x53),                    // fmv.d.x
            17 => r(0x20, 1, rs1, rm, rd, 0x53),                         // fcvt.s.d
            18 => r(0x21, 0, rs1, rm, rd, 0x53),                         // fcvt.d.s
            19 => i((self.rng.below(0x700) as i32) & !7, 8, 3, rd, 0x07), // fld
            20 => s(
                (self.rng.below(0x700) as i32) & !3,
                rs2,
                8,
                self.rng.pick(&[2, 3]),
                0x27,
            ),
            _ => i((self.rng.below(0x700) as i32) & !3, 8, 2, rd, 0x07), // flw
        }
    }

    /// A chunk: straight-line code with forward branches and jumps, sometimes in a loop.
    fn chunk(&mut self, depth: u32) {
        let n = 1 + self.rng.below(12);
        let looped = depth == 0 && self.rng.below(3) == 0;
        let head = self.code.len();
        if looped {
            let count = 1 + self.rng.below(20) as i32;
            self.code.push(i(count, 0, 0, 30, 0x13)); // li x30, count
        }
        let start = self.code.len();
        for _ in 0..n {
            match self.rng.below(10) {
                0 => {
                    // Forward branch over 1-3 instructions.
                    let k = 1 + self.rng.below(3) as usize;
                    let f3 = self.rng.pick(&[0, 1, 4, 5, 6, 7]);
                    let (a, bb) = (self.rs(), self.rs());
                    self.code.push(b(4 * (k as i32 + 1), bb, a, f3));
                    for _ in 0..k {
                        self.simple();
                    }
                }
                1 => {
                    // jal over one instruction, or an indirect jump over one.
                    if self.rng.below(2) == 0 {
                        let rd = self.rng.pick(&[0, 1, 5]);
                        self.code.push(j(8, rd));
                    } else {
                        self.code.push(0x0000_0297); // auipc t0, 0
                        self.code.push(i(12, 5, 0, self.rng.pick(&[0, 1]), 0x67));
                        // jalr 12(t0)
                    }
                    self.simple();
                }
                _ => self.simple(),
            }
        }
        if looped {
            self.code.push(i(-1, 30, 0, 30, 0x13)); // addi x30, x30, -1
            let back = -(4 * (self.code.len() - start) as i32);
            self.code.push(b(back, 0, 30, 1)); // bne x30, x0, start
        }
        let _ = head;
        let _ = self.sv39;
    }

    /// An outer loop (counter x29) around a few chunks, each of which may hold an inner loop
    /// (counter x30): regions with nested loops, where translated code moves registers the
    /// inner loop leaves alone to memory and back at its boundaries.
    fn outer_loop(&mut self) {
        let count = 1 + self.rng.below(6) as i32;
        self.code.push(i(count, 0, 0, 29, 0x13)); // li x29, count
        let start = self.code.len();
        for _ in 0..1 + self.rng.below(3) {
            for _ in 0..self.rng.below(4) {
                self.simple();
            }
            self.chunk(0);
        }
        self.code.push(i(-1, 29, 0, 29, 0x13)); // addi x29, x29, -1
        let back = -(4 * (self.code.len() - start) as i32);
        self.code.push(b(back, 0, 29, 1)); // bne x29, x0, start
    }
}

/// The state compared between tiers.
#[derive(Debug, PartialEq)]
struct State {
    exit: String,
    x: [u64; 32],
    f: [u64; 32],
    pc: u64,
    instret: u64,
    csrs: Vec<Option<u64>>,
    data: Vec<u8>,
}

struct Program {
    body: Vec<u32>,
    x: [u64; 32],
    f: [u64; 32],
    data: Vec<u8>,
    sv39: bool,
    /// More initial RAM contents: (guest address, bytes).
    extra: Vec<(u64, Vec<u8>)>,
}

fn write_words(ram: &GuestMemoryMmap, at: u64, words: &[u32]) {
    for (k, w) in words.iter().enumerate() {
        ram.write_obj(*w, GuestAddress(at + 4 * k as u64)).unwrap();
    }
}

/// Sv39 tables identity-mapping RAM (1 GiB leaf) and the device page, leaving 0x4000_0000 and
/// everything else unmapped.
fn page_tables(ram: &GuestMemoryMmap) {
    let pte = |pa: u64, flags: u64| ((pa >> 12) << 10) | flags;
    // RAM: gigapage 2 (0x8000_0000) RWX, A, D.
    ram.write_obj(pte(RAM, 0xcf), GuestAddress(ROOT + 2 * 8))
        .unwrap();
    // Device: gigapage 0 → level-1 table → 2 MiB leaf at 0x1000_0000.
    let l1 = ROOT + 0x1000;
    ram.write_obj(pte(l1, 1), GuestAddress(ROOT)).unwrap();
    ram.write_obj(pte(DEV, 0xc7), GuestAddress(l1 + (DEV >> 21) * 8))
        .unwrap();
}

/// What compiled code a JIT run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tier {
    /// Baseline code first, then regions compiled quickly, optimised when hot.
    Quick,
    /// Baseline code first, then regions optimised at once (the code benchmarks run).
    Full,
    /// Baseline code only.
    Baseline,
}
use Tier::{Baseline, Full, Quick};

/// Runs `p` on tier 0 (`jit` None) or with the JIT at threshold `jit` and `tier`.
fn run(p: &Program, jit: Option<u32>, tier: Tier) -> State {
    let ram = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(RAM), RAM_SIZE)]).unwrap();
    // Prologue at RAM: set up trap vector, PMP, FS, then enter the body (in S-mode for Sv39).
    let t6 = 31;
    let mut pro = vec![];
    let mut ld_csr = |slot: i32, c: u32, f3: u32| {
        pro.push(i(TABLE as i32 - DATA as i32 + 8 * slot, 8, 3, t6, 0x03));
        pro.push(csr(c, t6, f3, 0));
    };
    ld_csr(0, 0x305, 1); // mtvec
    ld_csr(1, 0x3b0, 1); // pmpaddr0
    ld_csr(2, 0x3a0, 1); // pmpcfg0
    ld_csr(3, 0x300, 2); // csrs mstatus FS
    if p.sv39 {
        ld_csr(4, 0x180, 1); // satp
        ld_csr(5, 0x300, 3); // csrc mstatus MPP
        ld_csr(6, 0x300, 2); // csrs mstatus MPP=S
        ld_csr(7, 0x341, 1); // mepc = body
        pro.push(0x3020_0073); // mret
    } else {
        let off = (BODY - RAM) as i32 - 4 * pro.len() as i32;
        pro.push(j(off, 0));
    }
    write_words(&ram, RAM, &pro);
    // Handler: mepc += 4; mret.
    write_words(
        &ram,
        HANDLER,
        &[
            csr(0x341, 0, 2, t6),
            i(4, t6, 0, t6, 0x13),
            csr(0x341, t6, 1, 0),
            0x3020_0073,
        ],
    );
    let mut body = p.body.clone();
    body.push(s(0, 0, 9, 3, 0x23)); // sd x0, 0(x9): stop
    write_words(&ram, BODY, &body);
    ram.write_slice(&p.data, GuestAddress(DATA)).unwrap();
    for (at, bytes) in &p.extra {
        ram.write_slice(bytes, GuestAddress(*at)).unwrap();
    }
    let table = [
        HANDLER,
        u64::MAX,
        0x1f,
        3 << 13,
        (8 << 60) | (ROOT >> 12),
        3 << 11,
        1 << 11,
        BODY,
    ];
    for (k, v) in table.iter().enumerate() {
        ram.write_obj(*v, GuestAddress(TABLE + 8 * k as u64))
            .unwrap();
    }
    if p.sv39 {
        page_tables(&ram);
    }
    let hart = Arc::new(HartInterrupts::new());
    let mut bus = Bus::new();
    bus.insert(
        Arc::new(Mutex::new(StopDev {
            hart: hart.clone(),
            reg: 0x1234,
        })),
        DEV,
        0x100,
    )
    .unwrap();
    let clock = Arc::new(GuestClock::new(
        ClockMode::Icount { insns_per_tick: 1 },
        10_000_000,
    ));
    let mut cpu: Box<Cpu> = Cpu::new(ram, Arc::new(bus), hart.clone(), clock, None, RAM).unwrap();
    if let Some(th) = jit {
        if tier == Baseline {
            cpu.set_jit_baseline(BaselineMode::Only);
        }
        cpu.set_jit(JitConfig {
            enabled: true,
            threshold: th,
            background: false,
        });
        if tier == Full {
            cpu.set_jit_promote_after(0);
        }
    }
    cpu.x = p.x;
    cpu.f = p.f;
    let mut exit = String::from("budget");
    for _ in 0..5 {
        let r = cpu.run_for(200_000);
        if std::env::var("JIT_DIFF_VERBOSE").is_ok() {
            eprintln!(
                "  jit {jit:?}: {r:?} pc {:#x} instret {}",
                cpu.pc, cpu.instret
            );
        }
        match r {
            RunExit::Budget => continue,
            e => {
                exit = format!("{e:?}");
                break;
            }
        }
    }
    if exit == "budget" {
        // Runaway: compare nothing but make the mismatch visible.
        exit = format!("budget at {:#x}", cpu.pc);
    }
    let csrs = [
        0x300, 0x341, 0x342, 0x343, 0x340, 0x001, 0x002, 0xb02, 0x180,
    ]
    .iter()
    .map(|&c| cpu.csr(c))
    .collect();
    let mut data = vec![0u8; 0x1000];
    cpu.ram().read_slice(&mut data, GuestAddress(DATA)).unwrap();
    let st = cpu.jit_stats();
    JIT_INSNS.fetch_add(st.insns_compiled, std::sync::atomic::Ordering::Relaxed);
    JIT_ENTRIES.fetch_add(
        st.dispatched_entries + st.chained_exits,
        std::sync::atomic::Ordering::Relaxed,
    );
    State {
        exit,
        x: cpu.x,
        f: cpu.f,
        pc: cpu.pc,
        instret: cpu.instret,
        csrs,
        data,
    }
}

fn gen_program(seed: u64, sv39: bool, nested: bool) -> Program {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut g = Gen {
        rng: &mut rng,
        code: Vec::new(),
        sv39,
        nested,
    };
    let chunks = 3 + g.rng.below(12);
    for _ in 0..chunks {
        if nested && g.rng.below(2) == 0 {
            g.outer_loop();
        } else {
            g.chunk(0);
        }
    }
    let body = g.code;
    let mut x = [0u64; 32];
    let fvals = [
        0x3ff0_0000_0000_0000u64, // 1.0
        0x4000_0000_0000_0000,    // 2.0
        0x3fb9_9999_9999_999a,    // 0.1
        0xbff8_0000_0000_0000,    // -1.5
        0x7ff0_0000_0000_0000,    // inf
        0x7ff8_0000_0000_0000,    // qNaN
        0x7ff4_0000_0000_0000,    // sNaN
        0x0000_0000_0000_0001,    // denormal
        0x8000_0000_0000_0000,    // -0
        0x0010_0000_0000_0000,    // min normal
        0x7fef_ffff_ffff_ffff,    // max
        0xffff_ffff_3f80_0000,    // boxed 1.0f
        0xffff_ffff_4049_0fdb,    // boxed pi f
        0x4059_0000_0000_0000,    // 100.0
        0x41df_ffff_ffc0_0000,    // 2^31-1
    ];
    let mut f = [0u64; 32];
    for v in f.iter_mut() {
        *v = if rng.below(4) == 0 {
            rng.next()
        } else {
            rng.pick(&fvals)
        };
    }
    for (k, v) in x.iter_mut().enumerate() {
        *v = match rng.below(4) {
            0 => rng.below(16),
            1 => DATA + rng.below(0x800),
            _ => rng.next(),
        };
        if k == 0 {
            *v = 0;
        }
    }
    x[8] = DATA;
    x[9] = DEV;
    x[30] = 0;
    let mut data = vec![0u8; 0x1000];
    for chunk in data.chunks_mut(8) {
        let v = if rng.below(3) == 0 {
            rng.pick(&fvals)
        } else {
            rng.next()
        };
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    Program {
        body,
        x,
        f,
        data,
        sv39,
        extra: Vec::new(),
    }
}

fn check(seeds: std::ops::Range<u64>, sv39: bool, nested: bool) {
    let mut compared = 0;
    let n: u64 = std::env::var("JIT_DIFF_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(seeds.end - seeds.start);
    let first: u64 = std::env::var("JIT_DIFF_FIRST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(seeds.start);
    for seed in first..first + n {
        if std::env::var("JIT_DIFF_VERBOSE").is_ok() {
            eprintln!("seed {seed}");
        }
        let p = gen_program(seed, sv39, nested);
        if std::env::var("JIT_DIFF_DUMP").is_ok() {
            for (k, w) in p.body.iter().enumerate() {
                eprintln!("{:x}: {w:08x}", BODY + 4 * k as u64);
            }
        }
        let reference = run(&p, None, Quick);
        if reference.exit.starts_with("budget") {
            // A runaway program (e.g. it overwrote its own loop counter update): the tiers stop
            // at different instruction counts, nothing to compare.
            continue;
        }
        for (th, tier) in [(1, Quick), (3, Quick), (1, Full), (3, Full), (1, Baseline)] {
            let got = run(&p, Some(th), tier);
            if got != reference {
                let dis: Vec<String> = p.body.iter().map(|w| format!("{w:08x}")).collect();
                panic!(
                    "seed {seed} sv39 {sv39} threshold {th} tier {tier:?}: tiers differ\n tier0: {reference:x?}\n jit:   {got:x?}\n body: {}",
                    dis.join(" ")
                );
            }
        }
        compared += 1;
    }
    assert!(compared > 0);
    // The JIT really ran: code was compiled and entered.
    assert!(JIT_INSNS.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert!(JIT_ENTRIES.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

#[test]
fn machine_mode_programs_match() {
    check(0..120, false, false);
}

#[test]
fn sv39_programs_match() {
    check(1000..1120, true, false);
}

#[test]
fn nested_loop_programs_match() {
    check(2000..2120, false, true);
}

#[test]
fn sv39_nested_loop_programs_match() {
    check(3000..3080, true, true);
}

/// A loop whose loads and stores share one base register (translated code reuses the first
/// access's TLB probe for the others) while the base walks across page boundaries, aligned and
/// misaligned, including off the end of RAM (access faults, skipped by the handler): every
/// access that leaves the probed page or is misaligned must take the exact slow path.
fn same_base_program(start: u64, step: i32, sv39: bool) -> Program {
    let (base, acc, t) = (10, 15, 30);
    let mut body = vec![i(64, 0, 0, t, 0x13)]; // li x30, 64
    let top = body.len();
    body.extend_from_slice(&[
        i(0, base, 3, 11, 0x03),  // ld x11, 0(x10)
        i(8, base, 3, 12, 0x03),  // ld x12, 8(x10)
        i(16, base, 2, 13, 0x03), // lw x13, 16(x10)
        s(24, 11, base, 3, 0x23), // sd x11, 24(x10)
        s(34, 12, base, 1, 0x23), // sh x12, 34(x10)
        i(40, base, 3, 14, 0x03), // ld x14, 40(x10)
        s(4, 13, base, 2, 0x23),  // sw x13, 4(x10)
        i(46, base, 5, 16, 0x03), // lhu x16, 46(x10)
        r(0, 11, acc, 0, acc, 0x33),
        r(0, 12, acc, 0, acc, 0x33),
        r(0, 13, acc, 0, acc, 0x33),
        r(0, 14, acc, 0, acc, 0x33),
        r(0, 16, acc, 0, acc, 0x33),
        i(step, base, 0, base, 0x13), // addi x10, x10, step
        i(-1, t, 0, t, 0x13),         // addi x30, x30, -1
    ]);
    let back = -(4 * (body.len() - top) as i32);
    body.push(b(back, 0, t, 1)); // bne x30, x0, top
    let mut x = [0u64; 32];
    x[8] = DATA;
    x[9] = DEV;
    x[base as usize] = start;
    for (r, v) in x.iter_mut().enumerate().skip(11).take(6) {
        *v = 0x1111_1111_1111_1111u64.wrapping_mul(r as u64);
    }
    let pattern =
        |n: usize| -> Vec<u8> { (0..n).map(|k| (k as u8).wrapping_mul(37) ^ 0x5a).collect() };
    // The last RAM page holds data too, so that a load wrongly done past it would differ.
    let last = RAM + RAM_SIZE as u64 - 0x1000;
    Program {
        body,
        x,
        f: [0; 32],
        data: pattern(0x1000),
        sv39,
        extra: vec![(last, pattern(0x1000))],
    }
}

#[test]
fn same_base_accesses_across_pages_match() {
    let ram_end = RAM + RAM_SIZE as u64;
    for sv39 in [false, true] {
        for (start, step) in [
            (DATA + 0xe00, 16),    // aligned, crosses into the next page
            (DATA + 0xe04, 16),    // 4-aligned: the 8-byte accesses are misaligned
            (DATA + 0xc01, 24),    // misaligned everywhere
            (DATA + 0x9f0, 44),    // alignment changes every pass
            (ram_end - 0x400, 32), // walks off the end of RAM: access faults
            (ram_end - 0x3fc, 20),
        ] {
            let p = same_base_program(start, step, sv39);
            let reference = run(&p, None, Quick);
            assert!(
                reference.exit.contains("HostStop") || !reference.exit.starts_with("budget"),
                "{:#x}/{step}: reference run did not finish: {}",
                start,
                reference.exit
            );
            for (th, tier) in [(1, Quick), (2, Quick), (1, Full), (2, Full), (1, Baseline)] {
                let got = run(&p, Some(th), tier);
                assert_eq!(
                    got, reference,
                    "start {start:#x} step {step} sv39 {sv39} threshold {th} tier {tier:?}: \
                     tiers differ"
                );
            }
        }
    }
}

/// FP operations run with fflags cleared before each one (`csrrw x5, fflags, x0` after it
/// collects and clears the flags): translated code takes the host result when an exactness
/// test shows no flag is raised, so exact, inexact, underflowing, overflowing, invalid and
/// divide-by-zero cases, and operands near the tests' exponent bounds, must give tier 0's
/// results and flags.
fn fp_flags_program(double: bool, sv39: bool) -> Program {
    let d = |v: f64| v.to_bits();
    let sp = |v: f32| 0xffff_ffff_0000_0000 | v.to_bits() as u64;
    let v = |x: f64| if double { d(x) } else { sp(x as f32) };
    let tiny = if double {
        2f64.powi(-1000)
    } else {
        2f64.powi(-120)
    };
    let small = if double {
        2f64.powi(-965)
    } else {
        2f64.powi(-100)
    };
    let pairs: Vec<(u64, u64)> = vec![
        (v(1.0), v(2.0)),
        (v(3.0), v(0.5)),
        (v(6.0), v(3.0)),
        (v(4.0), v(4.0)),
        (v(1.0), v(3.0)),
        (v(0.1), v(0.2)),
        (v(2.0), v(1e-30)),
        (v(1e300), v(1e300)),
        (v(tiny), v(tiny)),
        (v(tiny), v(3.0)),
        (v(small), v(small)),
        (v(small), v(0.75)),
        (v(small * 3.0), v(3.0)),
        (v(1.5), v(tiny)),
        (v(-4.0), v(2.0)),
        (v(0.0), v(0.0)),
        (v(1.0), v(0.0)),
        (v(f64::INFINITY), v(f64::INFINITY)),
        (v(f64::NAN), v(1.0)),
        (if double { 1 } else { sp(f32::from_bits(1)) }, v(1.0)), // smallest subnormal
        (v(1.0 + 2f64.powi(-20)), v(1.0 - 2f64.powi(-20))),
        (v(12345.0), v(0.0078125)),
    ];
    let (f7_add, f3_mem) = if double { (0x01, 3) } else { (0x00, 2) };
    let mut body = Vec::new();
    let mut data = vec![0u8; 0x1000];
    for (k, &(a, b)) in pairs.iter().enumerate() {
        let at = 16 * k;
        data[at..at + 8].copy_from_slice(&a.to_le_bytes());
        data[at + 8..at + 16].copy_from_slice(&b.to_le_bytes());
    }
    let out = 0x400;
    let mut o = out;
    for k in 0..pairs.len() {
        let at = 16 * k as i32;
        body.push(i(at, 8, f3_mem, 1, 0x07)); // fld/flw f1
        body.push(i(at + 8, 8, f3_mem, 2, 0x07)); // fld/flw f2
                                                  // fadd, fsub, fmul, fdiv, fsqrt (rs2 = 0), rm = RNE.
        for f7 in [0x00, 0x04, 0x08, 0x0c, 0x2c] {
            let rs2 = if f7 == 0x2c { 0 } else { 2 };
            body.push(csr(0x001, 0, 1, 0)); // csrw fflags, x0
            body.push(r(f7 | f7_add, rs2, 1, 0, 3, 0x53));
            body.push(csr(0x001, 0, 1, 5)); // csrrw x5, fflags, x0
            body.push(s_(o, 3, 8, f3_mem)); // fsd/fsw f3
            body.push(s(o + 8, 5, 8, 3, 0x23)); // sd x5
            o += 16;
        }
    }
    assert!(o < 0x1000);
    let mut x = [0u64; 32];
    x[8] = DATA;
    x[9] = DEV;
    Program {
        body,
        x,
        f: [0; 32],
        data,
        sv39,
        extra: Vec::new(),
    }
}

/// An FP store `fs{w,d} f{rs2}, imm(x{rs1})`.
fn s_(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
    s(imm, rs2, rs1, f3, 0x27)
}

#[test]
fn fp_flags_with_nx_clear_match() {
    for double in [true, false] {
        for sv39 in [false, true] {
            let p = fp_flags_program(double, sv39);
            let reference = run(&p, None, Quick);
            assert!(
                reference.exit.contains("HostStop"),
                "reference: {}",
                reference.exit
            );
            for (th, tier) in [(1, Quick), (1, Full), (2, Full), (1, Baseline)] {
                let got = run(&p, Some(th), tier);
                assert_eq!(
                    got, reference,
                    "double {double} sv39 {sv39} threshold {th} tier {tier:?}: tiers differ"
                );
            }
        }
    }
}

/// Loops long enough that translated code stops at its instruction limit (the next timer poll)
/// inside them, again and again: closed by a conditional branch and by a `jal`, with a forward
/// branch inside. The exit must land where the closing instruction goes, with its count.
#[test]
fn long_loops_stop_at_the_limit_and_match() {
    let mut body = vec![
        i(2000, 0, 0, 30, 0x13), // li x30, 2000
        // loop1:
        r(0, 30, 11, 0, 11, 0x33), // add x11, x11, x30
        r(0, 11, 12, 4, 12, 0x33), // xor x12, x12, x11
        i(1, 30, 7, 13, 0x13),     // andi x13, x30, 1
        b(8, 0, 13, 0),            // beq x13, x0, +8
        i(1, 14, 0, 14, 0x13),     // addi x14, x14, 1
        i(-1, 30, 0, 30, 0x13),    // addi x30, x30, -1
        b(-24, 0, 30, 1),          // bne x30, x0, loop1
        i(1500, 0, 0, 29, 0x13),   // li x29, 1500
        // loop2:
        i(3, 15, 0, 15, 0x13),     // addi x15, x15, 3
        r(0, 29, 15, 0, 16, 0x33), // add x16, x15, x29
        i(-1, 29, 0, 29, 0x13),    // addi x29, x29, -1
        b(8, 0, 29, 0),            // beq x29, x0, +8 (out)
        j(-16, 0),                 // jal x0, loop2
    ];
    // out:
    body.push(r(0, 16, 11, 0, 17, 0x33)); // add x17, x11, x16
    let mut x = [0u64; 32];
    x[8] = DATA;
    x[9] = DEV;
    let p = Program {
        body,
        x,
        f: [0; 32],
        data: vec![0u8; 0x1000],
        sv39: false,
        extra: Vec::new(),
    };
    let reference = run(&p, None, Quick);
    assert!(reference.exit.contains("HostStop"), "{}", reference.exit);
    assert!(reference.instret > 20_000);
    for (th, tier) in [(1, Quick), (2, Quick), (1, Full), (5, Full), (1, Baseline)] {
        let got = run(&p, Some(th), tier);
        assert_eq!(got, reference, "threshold {th} tier {tier:?}: tiers differ");
    }
}

/// `fmadd.d`-family instruction (`op` 0x43 fmadd, 0x47 fmsub, 0x4b fnmsub, 0x4f fnmadd).
fn fma_d(op: u32, rd: u32, rs1: u32, rs2: u32, rs3: u32) -> u32 {
    (rs3 << 27) | (1 << 25) | (rs2 << 20) | (rs1 << 15) | (rd << 7) | op
}

/// Loops using more guest registers than translated code keeps in host registers (the
/// register budget keeps the rest in the CPU structure inside the loop, written back at their
/// last write in each block):
///
/// - an integer loop touching 26 registers, with loads and stores, a load that faults in the
///   middle of the loop (the handler skips it) after some registers were written and before
///   their last write;
/// - an FP loop with fflags clear touching 24 FP registers with only exact operations,
///   exact zeros among them (`x * 0`, `0 + 0`, `x - x`, `0 / x`, `sqrt(0)`, `fma(x, 0, 0)`,
///   which translated code keeps on its fast path), then its flags;
/// - an FP loop whose zeros are underflows (`tiny * tiny`, `fma(tiny, tiny, 0)`, `tiny / huge`)
///   and inexact results, then its flags.
fn register_budget_program(sv39: bool) -> Program {
    let regs: Vec<u32> = (1..30).filter(|&k| k != 8 && k != 9).collect();
    let mut body = vec![i(40, 0, 0, 30, 0x13)]; // li x30, 40
    let top = body.len();
    for (n, &k) in regs.iter().enumerate() {
        let src = regs[(n + 7) % regs.len()];
        body.push(r(0, src, k, 0, k, 0x33)); // add xk, xk, xsrc
    }
    body.extend_from_slice(&[
        i(16, 8, 3, 11, 0x03),    // ld x11, 16(x8)
        s(24, 12, 8, 3, 0x23),    // sd x12, 24(x8)
        i(32, 8, 2, 13, 0x03),    // lw x13, 32(x8)
        s(40, 14, 8, 3, 0x23),    // sd x14, 40(x8)
        i(0x800, 9, 3, 15, 0x03), // ld x15, 0x800(x9): access fault, skipped
    ]);
    for &k in &regs[..12] {
        body.push(i(k as i32, k, 4, k, 0x13)); // xori xk, xk, k
    }
    body.push(s(48, 16, 8, 3, 0x23)); // sd x16, 48(x8)
    body.push(i(-1, 30, 0, 30, 0x13)); // addi x30, x30, -1
    let back = -(4 * (body.len() - top) as i32);
    body.push(b(back, 0, 30, 1)); // bne x30, x0, top

    // FP data at DATA + 0x100: 1.5, 0.0, 2.0, tiny, huge, 0.1, 3.0.
    let fdata = [1.5f64, 0.0, 2.0, 2f64.powi(-600), 2f64.powi(600), 0.1, 3.0];
    let fld = |rd: u32, k: usize| i(0x100 + 8 * k as i32, 8, 3, rd, 0x07);
    let fop = |f7: u32, rd: u32, a: u32, b_: u32| r(f7, b_, a, 0, rd, 0x53);
    let (fadd, fsub, fmul, fdiv, fsqrt) = (0x01, 0x05, 0x09, 0x0d, 0x2d);
    // Exact loop, fflags clear.
    body.push(csr(0x001, 0, 1, 0)); // csrw fflags, x0
    body.push(i(30, 0, 0, 30, 0x13)); // li x30, 30
    let top = body.len();
    body.extend_from_slice(&[
        fld(1, 0),                 // f1 = 1.5
        fld(2, 1),                 // f2 = 0
        fld(3, 2),                 // f3 = 2
        fma_d(0x43, 4, 1, 2, 2),   // f4 = 1.5 * 0 + 0
        fop(fmul, 5, 1, 2),        // f5 = 1.5 * 0
        fop(fsub, 6, 1, 1),        // f6 = 1.5 - 1.5
        fop(fdiv, 7, 2, 1),        // f7 = 0 / 1.5
        fop(fsqrt, 8, 2, 0),       // f8 = sqrt(0)
        fop(fadd, 9, 2, 5),        // f9 = 0 + 0
        fma_d(0x4b, 10, 2, 3, 6),  // f10 = -(0 * 2) + 0
        fop(fmul, 11, 1, 3),       // f11 = 3
        fma_d(0x43, 12, 1, 3, 11), // f12 = 1.5 * 2 + 3 = 6
    ]);
    for k in 13..31u32 {
        // Exact small-integer sums through many registers.
        body.push(fop(fadd, k, k, k - 2));
    }
    body.push(fop(fadd, 31, 31, 4));
    body.push(i(-1, 30, 0, 30, 0x13));
    let back = -(4 * (body.len() - top) as i32);
    body.push(b(back, 0, 30, 1));
    body.push(csr(0x001, 0, 1, 5)); // csrrw x5, fflags, x0
    body.push(s(56, 5, 8, 3, 0x23)); // sd x5, 56(x8)
                                     // Underflowing and inexact loop.
    body.push(i(20, 0, 0, 30, 0x13)); // li x30, 20
    let top = body.len();
    body.extend_from_slice(&[
        fld(1, 3),                // f1 = tiny
        fld(2, 4),                // f2 = huge
        fld(3, 1),                // f3 = 0
        fop(fmul, 4, 1, 1),       // tiny * tiny: underflow to 0
        fma_d(0x43, 5, 1, 1, 3),  // fma(tiny, tiny, 0): underflow to 0
        fop(fdiv, 6, 1, 2),       // tiny / huge: underflow to 0
        fop(fadd, 7, 7, 4),       // 0 + 0
        fld(8, 5),                // f8 = 0.1
        fop(fmul, 9, 9, 8),       // inexact
        fma_d(0x47, 10, 8, 8, 9), // inexact
    ]);
    body.push(i(-1, 30, 0, 30, 0x13));
    let back = -(4 * (body.len() - top) as i32);
    body.push(b(back, 0, 30, 1));
    body.push(csr(0x001, 0, 1, 6)); // csrrw x6, fflags, x0
    body.push(s(64, 6, 8, 3, 0x23)); // sd x6, 64(x8)

    let mut x = [0u64; 32];
    for (k, v) in x.iter_mut().enumerate() {
        *v = 0x0123_4567_89ab_cdefu64.wrapping_mul(k as u64 + 1);
    }
    x[0] = 0;
    x[8] = DATA;
    x[9] = DEV;
    let mut f = [0u64; 32];
    for (k, v) in f.iter_mut().enumerate() {
        *v = (k as f64).to_bits();
    }
    f[9] = 1.0f64.to_bits();
    let mut data = vec![0u8; 0x1000];
    for (k, v) in fdata.iter().enumerate() {
        let at = 0x100 + 8 * k;
        data[at..at + 8].copy_from_slice(&v.to_bits().to_le_bytes());
    }
    Program {
        body,
        x,
        f,
        data,
        sv39,
        extra: Vec::new(),
    }
}

#[test]
fn loops_over_the_register_budget_match() {
    for sv39 in [false, true] {
        let p = register_budget_program(sv39);
        let reference = run(&p, None, Quick);
        assert!(
            reference.exit.contains("HostStop"),
            "reference: {}",
            reference.exit
        );
        // The exact loop raised no flag, the other one underflow and inexact.
        let word = |at: usize| u64::from_le_bytes(reference.data[at..at + 8].try_into().unwrap());
        assert_eq!(word(56), 0, "exact loop flags");
        assert_eq!(word(64), 0b00011, "underflow loop flags (UF | NX)");
        for (th, tier) in [(1, Quick), (2, Quick), (1, Full), (3, Full), (1, Baseline)] {
            let got = run(&p, Some(th), tier);
            assert_eq!(
                got, reference,
                "sv39 {sv39} threshold {th} tier {tier:?}: tiers differ"
            );
        }
    }
}

/// A loop whose loads and stores go through more base registers than translated code has TLB
/// probe cache slots, on different pages (two data pages, RAM's last page, a device page):
/// accesses without a slot of their own share one of their kind, whose compare then fails
/// now and then (a different page) and takes the full probe; every access must match tier 0.
fn shared_slots_program(sv39: bool) -> Program {
    let last = RAM + RAM_SIZE as u64 - 0x1000;
    let mut body = vec![i(40, 0, 0, 30, 0x13)]; // li x30, 40
    let top = body.len();
    body.extend_from_slice(&[
        i(0, 10, 3, 16, 0x03),     // ld x16, 0(x10)
        i(8, 11, 3, 17, 0x03),     // ld x17, 8(x11)
        i(0, 12, 2, 18, 0x03),     // lw x18, 0(x12)
        s(16, 16, 13, 3, 0x23),    // sd x16, 16(x13)
        i(8, 14, 3, 19, 0x03),     // ld x19, 8(x14): device register
        s(8, 17, 12, 3, 0x23),     // sd x17, 8(x12)
        s(24, 18, 10, 2, 0x23),    // sw x18, 24(x10)
        i(4, 15, 3, 20, 0x03),     // ld x20, 4(x15): misaligned across pages
        r(0, 16, 21, 0, 21, 0x33), // add x21, x21, x16
        r(0, 17, 21, 4, 21, 0x33), // xor x21, x21, x17
        r(0, 18, 21, 0, 21, 0x33), // add x21, x21, x18
        r(0, 20, 21, 4, 21, 0x33), // xor x21, x21, x20
        i(8, 10, 0, 10, 0x13),     // addi x10, x10, 8
        i(24, 12, 0, 12, 0x13),    // addi x12, x12, 24
        i(40, 13, 0, 13, 0x13),    // addi x13, x13, 40
        i(64, 15, 0, 15, 0x13),    // addi x15, x15, 64
        i(-1, 30, 0, 30, 0x13),    // addi x30, x30, -1
    ]);
    let back = -(4 * (body.len() - top) as i32);
    body.push(b(back, 0, 30, 1)); // bne x30, x0, top
    let mut x = [0u64; 32];
    x[8] = DATA;
    x[9] = DEV;
    x[10] = DATA + 0xe00;
    x[11] = DATA + 0x100;
    x[12] = last + 0xc00;
    x[13] = DATA + 0x1000 + 0x900;
    x[14] = DEV;
    x[15] = DATA + 0x1000 - 0x300;
    let pattern =
        |n: usize| -> Vec<u8> { (0..n).map(|k| (k as u8).wrapping_mul(29) ^ 0xa5).collect() };
    Program {
        body,
        x,
        f: [0; 32],
        data: pattern(0x1000),
        sv39,
        extra: vec![(last, pattern(0x1000)), (DATA + 0x1000, pattern(0x1000))],
    }
}

#[test]
fn accesses_sharing_probe_slots_match() {
    for sv39 in [false, true] {
        let p = shared_slots_program(sv39);
        let reference = run(&p, None, Quick);
        assert!(
            reference.exit.contains("HostStop"),
            "reference: {}",
            reference.exit
        );
        for (th, tier) in [(1, Quick), (2, Quick), (1, Full), (3, Full), (1, Baseline)] {
            let got = run(&p, Some(th), tier);
            assert_eq!(
                got, reference,
                "sv39 {sv39} threshold {th} tier {tier:?}: tiers differ"
            );
        }
    }
}
