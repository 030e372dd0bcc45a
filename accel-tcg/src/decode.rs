//! The RV64 instruction decoder shared by every execution tier.
//!
//! [`decode`] turns a 32-bit word (or a 16-bit compressed parcel in its low half) into an [`Insn`]:
//! a flat record of an [`Op`] and its operands. Compressed instructions decode to the same ops as
//! their 32-bit expansions (with `len == 2`), so executors see a single instruction set. Encodings
//! that are not implemented decode to [`Op::Illegal`], keeping the raw bits (the 16-bit parcel
//! zero-extended for compressed ones) for `mtval`.

use devices::cpu_ext::CustomInsnHook;

/// One operation the CPU implements. Operand roles are documented on [`Insn`].
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Op {
    Illegal,
    // RV64I
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
    Sb,
    Sh,
    Sw,
    Sd,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    Fence,
    FenceI,
    Ecall,
    Ebreak,
    // M
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    // A
    LrW,
    ScW,
    AmoswapW,
    AmoaddW,
    AmoxorW,
    AmoandW,
    AmoorW,
    AmominW,
    AmomaxW,
    AmominuW,
    AmomaxuW,
    LrD,
    ScD,
    AmoswapD,
    AmoaddD,
    AmoxorD,
    AmoandD,
    AmoorD,
    AmominD,
    AmomaxD,
    AmominuD,
    AmomaxuD,
    // Zicsr
    Csrrw,
    Csrrs,
    Csrrc,
    Csrrwi,
    Csrrsi,
    Csrrci,
    // Privileged
    Mret,
    Sret,
    Wfi,
    SfenceVma,
    SinvalVma,
    SfenceWInval,
    SfenceInvalIr,
    // Zba
    AddUw,
    Sh1add,
    Sh2add,
    Sh3add,
    Sh1addUw,
    Sh2addUw,
    Sh3addUw,
    SlliUw,
    // Zbb
    Andn,
    Orn,
    Xnor,
    Clz,
    Clzw,
    Ctz,
    Ctzw,
    Cpop,
    Cpopw,
    Max,
    Maxu,
    Min,
    Minu,
    SextB,
    SextH,
    ZextH,
    Rol,
    Rolw,
    Ror,
    Rori,
    Roriw,
    Rorw,
    OrcB,
    Rev8,
    // Zbc
    Clmul,
    Clmulh,
    Clmulr,
    // Zbs
    Bclr,
    Bclri,
    Bext,
    Bexti,
    Binv,
    Binvi,
    Bset,
    Bseti,
    // Zicond
    CzeroEqz,
    CzeroNez,
    // Zicbom / Zicboz
    CboZero,
    CboClean,
    CboFlush,
    CboInval,
    // F
    Flw,
    Fsw,
    FmaddS,
    FmsubS,
    FnmsubS,
    FnmaddS,
    FaddS,
    FsubS,
    FmulS,
    FdivS,
    FsqrtS,
    FsgnjS,
    FsgnjnS,
    FsgnjxS,
    FminS,
    FmaxS,
    FcvtWS,
    FcvtWuS,
    FcvtLS,
    FcvtLuS,
    FmvXW,
    FeqS,
    FltS,
    FleS,
    FclassS,
    FcvtSW,
    FcvtSWu,
    FcvtSL,
    FcvtSLu,
    FmvWX,
    // D
    Fld,
    Fsd,
    FmaddD,
    FmsubD,
    FnmsubD,
    FnmaddD,
    FaddD,
    FsubD,
    FmulD,
    FdivD,
    FsqrtD,
    FsgnjD,
    FsgnjnD,
    FsgnjxD,
    FminD,
    FmaxD,
    FcvtSD,
    FcvtDS,
    FeqD,
    FltD,
    FleD,
    FclassD,
    FcvtWD,
    FcvtWuD,
    FcvtLD,
    FcvtLuD,
    FmvXD,
    FcvtDW,
    FcvtDWu,
    FcvtDL,
    FcvtDLu,
    FmvDX,
    // Zfa
    FliS,
    FliD,
    FminmS,
    FmaxmS,
    FminmD,
    FmaxmD,
    FroundS,
    FroundnxS,
    FroundD,
    FroundnxD,
    FcvtmodWD,
    FltqS,
    FleqS,
    FltqD,
    FleqD,
    /// A board-registered custom instruction (see [`CustomInsnHook`]); `raw` holds the word.
    Custom,
}

/// A decoded instruction.
///
/// Operands: `rd`, `rs1`, `rs2`, `rs3` are register numbers (integer or FP depending on the op);
/// `imm` is the sign-extended immediate (branch/jump offsets relative to the instruction; shift
/// amounts; for CSR ops the CSR number, with `rs1` holding the register or the 5-bit uimm); `rm`
/// is the FP rounding-mode field (7 = dynamic); `len` is 2 or 4; `raw` is the encoding (16-bit
/// parcels zero-extended).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// The operation.
    pub op: Op,
    /// Destination register.
    pub rd: u8,
    /// First source register (or CSR uimm).
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// Third source register (fused multiply-add).
    pub rs3: u8,
    /// Rounding mode field for FP ops.
    pub rm: u8,
    /// Length in bytes: 2 or 4.
    pub len: u8,
    /// Immediate (see the type documentation).
    pub imm: i64,
    /// The raw encoding.
    pub raw: u32,
}

impl Insn {
    /// An illegal instruction with the given raw bits and length.
    pub fn illegal(raw: u32, len: u8) -> Insn {
        Insn {
            op: Op::Illegal,
            rd: 0,
            rs1: 0,
            rs2: 0,
            rs3: 0,
            rm: 0,
            len,
            imm: 0,
            raw,
        }
    }

    /// Whether this instruction may change control flow, privilege, translation or interrupt
    /// state, so that a pre-decoded block must end after it.
    pub fn ends_block(&self) -> bool {
        use Op::*;
        matches!(
            self.op,
            Illegal
                | Jal
                | Jalr
                | Beq
                | Bne
                | Blt
                | Bge
                | Bltu
                | Bgeu
                | FenceI
                | Ecall
                | Ebreak
                | Csrrw
                | Csrrs
                | Csrrc
                | Csrrwi
                | Csrrsi
                | Csrrci
                | Mret
                | Sret
                | Wfi
                | SfenceVma
                | SinvalVma
                | SfenceWInval
                | SfenceInvalIr
                | Custom
        )
    }
}

/// Length in bytes of the instruction whose first 16-bit parcel is `lo`.
pub fn insn_len(lo: u16) -> u8 {
    if lo & 3 == 3 {
        4
    } else {
        2
    }
}

/// The extensions this CPU model implements, named as in the device tree's
/// `riscv,isa-extensions` (single letters first). What a board advertises comes from here, so it
/// never claims an extension before the decoder and executor implement it.
pub const ISA_EXTENSIONS: &[&str] = &[
    "i",
    "m",
    "a",
    "f",
    "d",
    "c",
    "zicntr",
    "zicsr",
    "zifencei",
    "zihintpause",
    "zicbom",
    "zicbop",
    "zicboz",
    "zicond",
    "zfa",
    "zca",
    "zcb",
    "zcd",
    "zba",
    "zbb",
    "zbc",
    "zbs",
    "sstc",
    "svinval",
    "svnapot",
    "svpbmt",
];

/// The widest address-translation mode (`mmu-type` in the device tree).
pub const MMU_TYPE: &str = "riscv,sv48";

/// Decodes an instruction; `word` holds a 32-bit instruction, or a compressed one in its low 16
/// bits (the upper bits are then ignored).
pub fn decode(word: u32) -> Insn {
    if word & 3 != 3 {
        decode_compressed(word as u16)
    } else {
        decode32(word)
    }
}

/// Decodes like [`decode`], then offers otherwise-illegal 32-bit encodings to a custom hook.
pub fn decode_with_hook(word: u32, hook: Option<&dyn CustomInsnHook>) -> Insn {
    let insn = decode(word);
    match hook {
        Some(h) if insn.op == Op::Illegal && insn.len == 4 && h.claims(word) => Insn {
            op: Op::Custom,
            rd: ((word >> 7) & 31) as u8,
            rs1: ((word >> 15) & 31) as u8,
            rs2: ((word >> 20) & 31) as u8,
            ..insn
        },
        _ => insn,
    }
}

fn sext(v: u32, bits: u32) -> i64 {
    let s = 32 - bits;
    (((v << s) as i32) >> s) as i64
}

fn mk(op: Op, rd: u32, rs1: u32, rs2: u32, imm: i64, raw: u32) -> Insn {
    Insn {
        op,
        rd: rd as u8,
        rs1: rs1 as u8,
        rs2: rs2 as u8,
        rs3: 0,
        rm: 0,
        len: 4,
        imm,
        raw,
    }
}

fn decode32(w: u32) -> Insn {
    use Op::*;
    let opcode = w & 0x7f;
    let rd = (w >> 7) & 31;
    let f3 = (w >> 12) & 7;
    let rs1 = (w >> 15) & 31;
    let rs2 = (w >> 20) & 31;
    let f7 = w >> 25;
    let imm_i = sext(w >> 20, 12);
    let imm_s = sext(((w >> 25) << 5) | ((w >> 7) & 31), 12);
    let imm_b = sext(
        ((w >> 31) << 12)
            | (((w >> 7) & 1) << 11)
            | (((w >> 25) & 0x3f) << 5)
            | (((w >> 8) & 0xf) << 1),
        13,
    );
    let imm_u = ((w & 0xffff_f000) as i32) as i64;
    let imm_j = sext(
        ((w >> 31) << 20)
            | (((w >> 12) & 0xff) << 12)
            | (((w >> 20) & 1) << 11)
            | (((w >> 21) & 0x3ff) << 1),
        21,
    );
    let ill = Insn::illegal(w, 4);
    let r = |op: Op| mk(op, rd, rs1, rs2, 0, w);
    let i = |op: Op| mk(op, rd, rs1, 0, imm_i, w);
    match opcode {
        0x37 => mk(Lui, rd, 0, 0, imm_u, w),
        0x17 => mk(Auipc, rd, 0, 0, imm_u, w),
        0x6f => mk(Jal, rd, 0, 0, imm_j, w),
        0x67 if f3 == 0 => i(Jalr),
        0x63 => {
            let op = match f3 {
                0 => Beq,
                1 => Bne,
                4 => Blt,
                5 => Bge,
                6 => Bltu,
                7 => Bgeu,
                _ => return ill,
            };
            mk(op, 0, rs1, rs2, imm_b, w)
        }
        0x03 => {
            let op = match f3 {
                0 => Lb,
                1 => Lh,
                2 => Lw,
                3 => Ld,
                4 => Lbu,
                5 => Lhu,
                6 => Lwu,
                _ => return ill,
            };
            i(op)
        }
        0x23 => {
            let op = match f3 {
                0 => Sb,
                1 => Sh,
                2 => Sw,
                3 => Sd,
                _ => return ill,
            };
            mk(op, 0, rs1, rs2, imm_s, w)
        }
        0x13 => decode_op_imm(w, rd, f3, rs1, imm_i),
        0x1b => decode_op_imm32(w, rd, f3, rs1, imm_i),
        0x33 => {
            let op = match (f7, f3) {
                (0, 0) => Add,
                (0x20, 0) => Sub,
                (0, 1) => Sll,
                (0, 2) => Slt,
                (0, 3) => Sltu,
                (0, 4) => Xor,
                (0, 5) => Srl,
                (0x20, 5) => Sra,
                (0, 6) => Or,
                (0, 7) => And,
                (1, 0) => Mul,
                (1, 1) => Mulh,
                (1, 2) => Mulhsu,
                (1, 3) => Mulhu,
                (1, 4) => Div,
                (1, 5) => Divu,
                (1, 6) => Rem,
                (1, 7) => Remu,
                (0x10, 2) => Sh1add,
                (0x10, 4) => Sh2add,
                (0x10, 6) => Sh3add,
                (0x20, 7) => Andn,
                (0x20, 6) => Orn,
                (0x20, 4) => Xnor,
                (0x05, 6) => Max,
                (0x05, 7) => Maxu,
                (0x05, 4) => Min,
                (0x05, 5) => Minu,
                (0x30, 1) => Rol,
                (0x30, 5) => Ror,
                (0x05, 1) => Clmul,
                (0x05, 3) => Clmulh,
                (0x05, 2) => Clmulr,
                (0x24, 1) => Bclr,
                (0x24, 5) => Bext,
                (0x34, 1) => Binv,
                (0x14, 1) => Bset,
                (0x07, 5) => CzeroEqz,
                (0x07, 7) => CzeroNez,
                _ => return ill,
            };
            r(op)
        }
        0x3b => {
            let op = match (f7, f3) {
                (0, 0) => Addw,
                (0x20, 0) => Subw,
                (0, 1) => Sllw,
                (0, 5) => Srlw,
                (0x20, 5) => Sraw,
                (1, 0) => Mulw,
                (1, 4) => Divw,
                (1, 5) => Divuw,
                (1, 6) => Remw,
                (1, 7) => Remuw,
                (0x04, 0) => AddUw,
                (0x10, 2) => Sh1addUw,
                (0x10, 4) => Sh2addUw,
                (0x10, 6) => Sh3addUw,
                (0x04, 4) if rs2 == 0 => ZextH,
                (0x30, 1) => Rolw,
                (0x30, 5) => Rorw,
                _ => return ill,
            };
            r(op)
        }
        0x0f => match f3 {
            // FENCE (including PAUSE and FENCE.TSO): ordering is a no-op on one hart.
            0 => mk(Fence, 0, 0, 0, 0, w),
            1 => mk(FenceI, 0, 0, 0, 0, w),
            2 if rd == 0 => {
                let op = match w >> 20 {
                    0 => CboInval,
                    1 => CboClean,
                    2 => CboFlush,
                    4 => CboZero,
                    _ => return ill,
                };
                mk(op, 0, rs1, 0, 0, w)
            }
            _ => ill,
        },
        0x73 => decode_system(w, rd, f3, rs1, rs2, f7),
        0x2f => decode_amo(w, rd, f3, rs1, rs2),
        0x07 => match f3 {
            2 => i(Flw),
            3 => i(Fld),
            _ => ill,
        },
        0x27 => match f3 {
            2 => mk(Fsw, 0, rs1, rs2, imm_s, w),
            3 => mk(Fsd, 0, rs1, rs2, imm_s, w),
            _ => ill,
        },
        0x43 | 0x47 | 0x4b | 0x4f => {
            let fmt = (w >> 25) & 3;
            let op = match (opcode, fmt) {
                (0x43, 0) => FmaddS,
                (0x47, 0) => FmsubS,
                (0x4b, 0) => FnmsubS,
                (0x4f, 0) => FnmaddS,
                (0x43, 1) => FmaddD,
                (0x47, 1) => FmsubD,
                (0x4b, 1) => FnmsubD,
                (0x4f, 1) => FnmaddD,
                _ => return ill,
            };
            Insn {
                rs3: (w >> 27) as u8,
                rm: f3 as u8,
                ..mk(op, rd, rs1, rs2, 0, w)
            }
        }
        0x53 => decode_fp(w, rd, f3, rs1, rs2, f7),
        _ => ill,
    }
}

fn decode_op_imm(w: u32, rd: u32, f3: u32, rs1: u32, imm: i64) -> Insn {
    use Op::*;
    let shamt = ((w >> 20) & 63) as i64;
    let f6 = w >> 26;
    let ill = Insn::illegal(w, 4);
    let op = match f3 {
        0 => Addi,
        2 => Slti,
        3 => Sltiu,
        4 => Xori,
        6 => Ori,
        7 => Andi,
        1 => match f6 {
            0 => return mk(Slli, rd, rs1, 0, shamt, w),
            0x12 => return mk(Bclri, rd, rs1, 0, shamt, w),
            0x1a => return mk(Binvi, rd, rs1, 0, shamt, w),
            0x0a => return mk(Bseti, rd, rs1, 0, shamt, w),
            0x18 => {
                let op = match (w >> 20) & 63 {
                    0 => Clz,
                    1 => Ctz,
                    2 => Cpop,
                    4 => SextB,
                    5 => SextH,
                    _ => return ill,
                };
                return mk(op, rd, rs1, 0, 0, w);
            }
            _ => return ill,
        },
        _ => match (f6, w >> 20) {
            (0, _) => return mk(Srli, rd, rs1, 0, shamt, w),
            (0x10, _) => return mk(Srai, rd, rs1, 0, shamt, w),
            (0x18, _) => return mk(Rori, rd, rs1, 0, shamt, w),
            (0x12, _) => return mk(Bexti, rd, rs1, 0, shamt, w),
            (_, 0x287) => return mk(OrcB, rd, rs1, 0, 0, w),
            (_, 0x6b8) => return mk(Rev8, rd, rs1, 0, 0, w),
            _ => return ill,
        },
    };
    mk(op, rd, rs1, 0, imm, w)
}

fn decode_op_imm32(w: u32, rd: u32, f3: u32, rs1: u32, imm: i64) -> Insn {
    use Op::*;
    let shamt5 = ((w >> 20) & 31) as i64;
    let f7 = w >> 25;
    let ill = Insn::illegal(w, 4);
    match f3 {
        0 => mk(Addiw, rd, rs1, 0, imm, w),
        1 => match f7 {
            0 => mk(Slliw, rd, rs1, 0, shamt5, w),
            0x04 | 0x05 => mk(SlliUw, rd, rs1, 0, ((w >> 20) & 63) as i64, w),
            0x30 => {
                let op = match (w >> 20) & 31 {
                    0 => Clzw,
                    1 => Ctzw,
                    2 => Cpopw,
                    _ => return ill,
                };
                mk(op, rd, rs1, 0, 0, w)
            }
            _ => ill,
        },
        5 => match f7 {
            0 => mk(Srliw, rd, rs1, 0, shamt5, w),
            0x20 => mk(Sraiw, rd, rs1, 0, shamt5, w),
            0x30 => mk(Roriw, rd, rs1, 0, shamt5, w),
            _ => ill,
        },
        _ => ill,
    }
}

fn decode_system(w: u32, rd: u32, f3: u32, rs1: u32, rs2: u32, f7: u32) -> Insn {
    use Op::*;
    let ill = Insn::illegal(w, 4);
    let csr = (w >> 20) as i64;
    let op = match f3 {
        0 => {
            let op = match (f7, rs2) {
                (0, 0) if rd == 0 && rs1 == 0 => Ecall,
                (0, 1) if rd == 0 && rs1 == 0 => Ebreak,
                (0x18, 2) if rd == 0 && rs1 == 0 => Mret,
                (0x08, 2) if rd == 0 && rs1 == 0 => Sret,
                (0x08, 5) if rd == 0 && rs1 == 0 => Wfi,
                (0x09, _) if rd == 0 => SfenceVma,
                (0x0b, _) if rd == 0 => SinvalVma,
                (0x0c, 0) if rd == 0 && rs1 == 0 => SfenceWInval,
                (0x0c, 1) if rd == 0 && rs1 == 0 => SfenceInvalIr,
                _ => return ill,
            };
            return mk(op, 0, rs1, rs2, 0, w);
        }
        1 => Csrrw,
        2 => Csrrs,
        3 => Csrrc,
        5 => Csrrwi,
        6 => Csrrsi,
        7 => Csrrci,
        _ => return ill,
    };
    mk(op, rd, rs1, 0, csr, w)
}

fn decode_amo(w: u32, rd: u32, f3: u32, rs1: u32, rs2: u32) -> Insn {
    use Op::*;
    let ill = Insn::illegal(w, 4);
    let f5 = w >> 27;
    let op = match (f3, f5) {
        (2, 0x02) if rs2 == 0 => LrW,
        (2, 0x03) => ScW,
        (2, 0x01) => AmoswapW,
        (2, 0x00) => AmoaddW,
        (2, 0x04) => AmoxorW,
        (2, 0x0c) => AmoandW,
        (2, 0x08) => AmoorW,
        (2, 0x10) => AmominW,
        (2, 0x14) => AmomaxW,
        (2, 0x18) => AmominuW,
        (2, 0x1c) => AmomaxuW,
        (3, 0x02) if rs2 == 0 => LrD,
        (3, 0x03) => ScD,
        (3, 0x01) => AmoswapD,
        (3, 0x00) => AmoaddD,
        (3, 0x04) => AmoxorD,
        (3, 0x0c) => AmoandD,
        (3, 0x08) => AmoorD,
        (3, 0x10) => AmominD,
        (3, 0x14) => AmomaxD,
        (3, 0x18) => AmominuD,
        (3, 0x1c) => AmomaxuD,
        _ => return ill,
    };
    mk(op, rd, rs1, rs2, 0, w)
}

fn decode_fp(w: u32, rd: u32, f3: u32, rs1: u32, rs2: u32, f7: u32) -> Insn {
    use Op::*;
    let ill = Insn::illegal(w, 4);
    let with_rm = |op: Op| Insn {
        rm: f3 as u8,
        ..mk(op, rd, rs1, rs2, 0, w)
    };
    let plain = |op: Op| mk(op, rd, rs1, rs2, 0, w);
    match f7 {
        0x00 => with_rm(FaddS),
        0x04 => with_rm(FsubS),
        0x08 => with_rm(FmulS),
        0x0c => with_rm(FdivS),
        0x01 => with_rm(FaddD),
        0x05 => with_rm(FsubD),
        0x09 => with_rm(FmulD),
        0x0d => with_rm(FdivD),
        0x2c if rs2 == 0 => with_rm(FsqrtS),
        0x2d if rs2 == 0 => with_rm(FsqrtD),
        0x10 | 0x11 => {
            let d = f7 == 0x11;
            let op = match (f3, d) {
                (0, false) => FsgnjS,
                (1, false) => FsgnjnS,
                (2, false) => FsgnjxS,
                (0, true) => FsgnjD,
                (1, true) => FsgnjnD,
                (2, true) => FsgnjxD,
                _ => return ill,
            };
            plain(op)
        }
        0x14 | 0x15 => {
            let d = f7 == 0x15;
            let op = match (f3, d) {
                (0, false) => FminS,
                (1, false) => FmaxS,
                (2, false) => FminmS,
                (3, false) => FmaxmS,
                (0, true) => FminD,
                (1, true) => FmaxD,
                (2, true) => FminmD,
                (3, true) => FmaxmD,
                _ => return ill,
            };
            plain(op)
        }
        0x20 => match rs2 {
            1 => with_rm(FcvtSD),
            4 => with_rm(FroundS),
            5 => with_rm(FroundnxS),
            _ => ill,
        },
        0x21 => match rs2 {
            0 => with_rm(FcvtDS),
            4 => with_rm(FroundD),
            5 => with_rm(FroundnxD),
            _ => ill,
        },
        0x50 | 0x51 => {
            let d = f7 == 0x51;
            let op = match (f3, d) {
                (0, false) => FleS,
                (1, false) => FltS,
                (2, false) => FeqS,
                (4, false) => FleqS,
                (5, false) => FltqS,
                (0, true) => FleD,
                (1, true) => FltD,
                (2, true) => FeqD,
                (4, true) => FleqD,
                (5, true) => FltqD,
                _ => return ill,
            };
            plain(op)
        }
        0x60 => match rs2 {
            0 => with_rm(FcvtWS),
            1 => with_rm(FcvtWuS),
            2 => with_rm(FcvtLS),
            3 => with_rm(FcvtLuS),
            _ => ill,
        },
        0x61 => match rs2 {
            0 => with_rm(FcvtWD),
            1 => with_rm(FcvtWuD),
            2 => with_rm(FcvtLD),
            3 => with_rm(FcvtLuD),
            8 if f3 == 1 => plain(FcvtmodWD),
            _ => ill,
        },
        0x68 => match rs2 {
            0 => with_rm(FcvtSW),
            1 => with_rm(FcvtSWu),
            2 => with_rm(FcvtSL),
            3 => with_rm(FcvtSLu),
            _ => ill,
        },
        0x69 => match rs2 {
            0 => with_rm(FcvtDW),
            1 => with_rm(FcvtDWu),
            2 => with_rm(FcvtDL),
            3 => with_rm(FcvtDLu),
            _ => ill,
        },
        0x70 if rs2 == 0 => match f3 {
            0 => plain(FmvXW),
            1 => plain(FclassS),
            _ => ill,
        },
        0x71 if rs2 == 0 => match f3 {
            0 => plain(FmvXD),
            1 => plain(FclassD),
            _ => ill,
        },
        0x78 if f3 == 0 => match rs2 {
            0 => plain(FmvWX),
            1 => plain(FliS),
            _ => ill,
        },
        0x79 if f3 == 0 => match rs2 {
            0 => plain(FmvDX),
            1 => plain(FliD),
            _ => ill,
        },
        _ => ill,
    }
}

fn c(op: Op, rd: u32, rs1: u32, rs2: u32, imm: i64, raw: u16) -> Insn {
    Insn {
        op,
        rd: rd as u8,
        rs1: rs1 as u8,
        rs2: rs2 as u8,
        rs3: 0,
        rm: 0,
        len: 2,
        imm,
        raw: raw as u32,
    }
}

/// Decodes a 16-bit compressed instruction (RV64C plus Zcb).
pub fn decode_compressed(h: u16) -> Insn {
    use Op::*;
    let w = h as u32;
    let ill = Insn::illegal(w, 2);
    let bit = |n: u32| (w >> n) & 1;
    let bits = |hi: u32, lo: u32| (w >> lo) & ((1 << (hi - lo + 1)) - 1);
    let f3 = bits(15, 13);
    let rd_full = bits(11, 7);
    let rs2_full = bits(6, 2);
    let rdp = 8 + bits(4, 2); // rd' / rs2'
    let rs1p = 8 + bits(9, 7); // rs1' / rd'
    let imm6 = sext((bit(12) << 5) | bits(6, 2), 6);
    match (w & 3, f3) {
        (0, 0) => {
            let imm = (bits(12, 11) << 4) | (bits(10, 7) << 6) | (bit(6) << 2) | (bit(5) << 3);
            if imm == 0 {
                return ill;
            }
            c(Addi, rdp, 2, 0, imm as i64, h)
        }
        (0, 1) => {
            let imm = (bits(12, 10) << 3) | (bits(6, 5) << 6);
            c(Fld, rdp, rs1p, 0, imm as i64, h)
        }
        (0, 2) => {
            let imm = (bits(12, 10) << 3) | (bit(6) << 2) | (bit(5) << 6);
            c(Lw, rdp, rs1p, 0, imm as i64, h)
        }
        (0, 3) => {
            let imm = (bits(12, 10) << 3) | (bits(6, 5) << 6);
            c(Ld, rdp, rs1p, 0, imm as i64, h)
        }
        (0, 4) => {
            // Zcb loads and stores.
            let uimm_b = ((bit(5) << 1) | bit(6)) as i64;
            let uimm_h = (bit(5) << 1) as i64;
            match (bits(12, 10), bit(6)) {
                (0, _) => c(Lbu, rdp, rs1p, 0, uimm_b, h),
                (1, 0) => c(Lhu, rdp, rs1p, 0, uimm_h, h),
                (1, 1) => c(Lh, rdp, rs1p, 0, uimm_h, h),
                (2, _) => c(Sb, 0, rs1p, rdp, uimm_b, h),
                (3, 0) => c(Sh, 0, rs1p, rdp, uimm_h, h),
                _ => ill,
            }
        }
        (0, 5) => {
            let imm = (bits(12, 10) << 3) | (bits(6, 5) << 6);
            c(Fsd, 0, rs1p, rdp, imm as i64, h)
        }
        (0, 6) => {
            let imm = (bits(12, 10) << 3) | (bit(6) << 2) | (bit(5) << 6);
            c(Sw, 0, rs1p, rdp, imm as i64, h)
        }
        (0, 7) => {
            let imm = (bits(12, 10) << 3) | (bits(6, 5) << 6);
            c(Sd, 0, rs1p, rdp, imm as i64, h)
        }
        (1, 0) => c(Addi, rd_full, rd_full, 0, imm6, h),
        (1, 1) => {
            if rd_full == 0 {
                return ill;
            }
            c(Addiw, rd_full, rd_full, 0, imm6, h)
        }
        (1, 2) => c(Addi, rd_full, 0, 0, imm6, h),
        (1, 3) => {
            if rd_full == 2 {
                let imm = (bit(12) << 9)
                    | (bit(6) << 4)
                    | (bit(5) << 6)
                    | (bits(4, 3) << 7)
                    | (bit(2) << 5);
                if imm == 0 {
                    return ill;
                }
                c(Addi, 2, 2, 0, sext(imm, 10), h)
            } else {
                let imm = (bit(12) << 17) | (bits(6, 2) << 12);
                if imm == 0 {
                    return ill;
                }
                c(Lui, rd_full, 0, 0, sext(imm, 18), h)
            }
        }
        (1, 4) => {
            let shamt = ((bit(12) << 5) | bits(6, 2)) as i64;
            match bits(11, 10) {
                0 => c(Srli, rs1p, rs1p, 0, shamt, h),
                1 => c(Srai, rs1p, rs1p, 0, shamt, h),
                2 => c(Andi, rs1p, rs1p, 0, imm6, h),
                _ => match (bit(12), bits(6, 5)) {
                    (0, 0) => c(Sub, rs1p, rs1p, rdp, 0, h),
                    (0, 1) => c(Xor, rs1p, rs1p, rdp, 0, h),
                    (0, 2) => c(Or, rs1p, rs1p, rdp, 0, h),
                    (0, 3) => c(And, rs1p, rs1p, rdp, 0, h),
                    (1, 0) => c(Subw, rs1p, rs1p, rdp, 0, h),
                    (1, 1) => c(Addw, rs1p, rs1p, rdp, 0, h),
                    (1, 2) => c(Mul, rs1p, rs1p, rdp, 0, h),
                    _ => match bits(4, 2) {
                        0 => c(Andi, rs1p, rs1p, 0, 0xff, h),
                        1 => c(SextB, rs1p, rs1p, 0, 0, h),
                        2 => c(ZextH, rs1p, rs1p, 0, 0, h),
                        3 => c(SextH, rs1p, rs1p, 0, 0, h),
                        4 => c(AddUw, rs1p, rs1p, 0, 0, h),
                        5 => c(Xori, rs1p, rs1p, 0, -1, h),
                        _ => ill,
                    },
                },
            }
        }
        (1, 5) => {
            let imm = (bit(12) << 11)
                | (bit(11) << 4)
                | (bits(10, 9) << 8)
                | (bit(8) << 10)
                | (bit(7) << 6)
                | (bit(6) << 7)
                | (bits(5, 3) << 1)
                | (bit(2) << 5);
            c(Jal, 0, 0, 0, sext(imm, 12), h)
        }
        (1, 6) | (1, 7) => {
            let imm = (bit(12) << 8)
                | (bits(11, 10) << 3)
                | (bits(6, 5) << 6)
                | (bits(4, 3) << 1)
                | (bit(2) << 5);
            let op = if f3 == 6 { Beq } else { Bne };
            c(op, 0, rs1p, 0, sext(imm, 9), h)
        }
        (2, 0) => {
            let shamt = ((bit(12) << 5) | bits(6, 2)) as i64;
            c(Slli, rd_full, rd_full, 0, shamt, h)
        }
        (2, 1) => {
            let imm = (bit(12) << 5) | (bits(6, 5) << 3) | (bits(4, 2) << 6);
            c(Fld, rd_full, 2, 0, imm as i64, h)
        }
        (2, 2) => {
            if rd_full == 0 {
                return ill;
            }
            let imm = (bit(12) << 5) | (bits(6, 4) << 2) | (bits(3, 2) << 6);
            c(Lw, rd_full, 2, 0, imm as i64, h)
        }
        (2, 3) => {
            if rd_full == 0 {
                return ill;
            }
            let imm = (bit(12) << 5) | (bits(6, 5) << 3) | (bits(4, 2) << 6);
            c(Ld, rd_full, 2, 0, imm as i64, h)
        }
        (2, 4) => match (bit(12), rd_full, rs2_full) {
            (0, 0, 0) => ill,
            (0, _, 0) => c(Jalr, 0, rd_full, 0, 0, h),
            (0, _, _) => c(Add, rd_full, 0, rs2_full, 0, h),
            (1, 0, 0) => c(Ebreak, 0, 0, 0, 0, h),
            (1, _, 0) => c(Jalr, 1, rd_full, 0, 0, h),
            _ => c(Add, rd_full, rd_full, rs2_full, 0, h),
        },
        (2, 5) => {
            let imm = (bits(12, 10) << 3) | (bits(9, 7) << 6);
            c(Fsd, 0, 2, rs2_full, imm as i64, h)
        }
        (2, 6) => {
            let imm = (bits(12, 9) << 2) | (bits(8, 7) << 6);
            c(Sw, 0, 2, rs2_full, imm as i64, h)
        }
        (2, 7) => {
            let imm = (bits(12, 10) << 3) | (bits(9, 7) << 6);
            c(Sd, 0, 2, rs2_full, imm as i64, h)
        }
        _ => ill,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic_rv64i() {
        // addi a0, a0, -1
        let i = decode(0xfff50513);
        assert_eq!((i.op, i.rd, i.rs1, i.imm, i.len), (Op::Addi, 10, 10, -1, 4));
        // lui t0, 0x12345
        let i = decode(0x123452b7);
        assert_eq!((i.op, i.rd, i.imm), (Op::Lui, 5, 0x12345000));
        // jal ra, -4
        let i = decode(0xffdff0ef);
        assert_eq!((i.op, i.rd, i.imm), (Op::Jal, 1, -4));
        // beq a0, a1, +8
        let i = decode(0x00b50463);
        assert_eq!((i.op, i.rs1, i.rs2, i.imm), (Op::Beq, 10, 11, 8));
        // sd a1, -8(sp)
        let i = decode(0xfeb13c23);
        assert_eq!((i.op, i.rs1, i.rs2, i.imm), (Op::Sd, 2, 11, -8));
        // srai a0, a0, 63
        let i = decode(0x43f55513);
        assert_eq!((i.op, i.imm), (Op::Srai, 63));
        // csrrw x0, mscratch, a0
        let i = decode(0x34051073);
        assert_eq!((i.op, i.rs1, i.imm), (Op::Csrrw, 10, 0x340));
        assert_eq!(decode(0x30200073).op, Op::Mret);
        assert_eq!(decode(0x10500073).op, Op::Wfi);
        assert_eq!(decode(0x00100073).op, Op::Ebreak);
    }

    #[test]
    fn decodes_extensions() {
        assert_eq!(decode(0x20b54533).op, Op::Sh2add); // sh2add a0,a0,a1
        assert_eq!(decode(0x6b855513).op, Op::Rev8); // rev8 a0,a0
        assert_eq!(decode(0x28755513).op, Op::OrcB); // orc.b a0,a0
        assert_eq!(decode(0x60051513).op, Op::Clz); // clz a0,a0
        assert_eq!(decode(0x0ab51533).op, Op::Clmul);
        assert_eq!(decode(0x0eb55533).op, Op::CzeroEqz);
        assert_eq!(decode(0x0805453b).op, Op::ZextH); // zext.h a0,a0
        assert_eq!(decode(0x0045200f).op, Op::CboZero); // cbo.zero (a0)
        assert_eq!(decode(0x0100000f).op, Op::Fence); // pause
        assert_eq!(decode(0x0000100f).op, Op::FenceI);
        assert_eq!(decode(0x100520af).op, Op::LrW); // lr.w ra,(a0)
        assert_eq!(decode(0x00b5302f).op, Op::AmoaddD);
        assert_eq!(decode(0xf0108053).op, Op::FliS); // fli.s f0, 1 (rs1 index)
        assert_eq!(decode(0x02b57543).op, Op::FmaddD);
        assert_eq!(decode(0x0cc565fb).op, Op::Illegal); // custom without hook
    }

    #[test]
    fn decodes_compressed() {
        // c.addi a0, -1 = 0x157d
        let i = decode(0x157d);
        assert_eq!((i.op, i.rd, i.rs1, i.imm, i.len), (Op::Addi, 10, 10, -1, 2));
        // c.li a0, 5 = 0x4515
        let i = decode(0x4515);
        assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Addi, 10, 0, 5));
        // c.addi16sp sp, -64 = 0x7139
        let i = decode(0x7139);
        assert_eq!((i.op, i.rd, i.imm), (Op::Addi, 2, -64));
        // c.ldsp ra, 8(sp) = 0x60a2
        let i = decode(0x60a2);
        assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Ld, 1, 2, 8));
        // c.sdsp ra, 8(sp) = 0xe406
        let i = decode(0xe406);
        assert_eq!((i.op, i.rs1, i.rs2, i.imm), (Op::Sd, 2, 1, 8));
        // c.j -2 = 0xbffd
        let i = decode(0xbffd);
        assert_eq!((i.op, i.rd, i.imm), (Op::Jal, 0, -2));
        // c.beqz a0, +6 = 0xc119
        let i = decode(0xc119);
        assert_eq!((i.op, i.rs1, i.imm), (Op::Beq, 10, 6));
        // c.jr ra = 0x8082
        let i = decode(0x8082);
        assert_eq!((i.op, i.rd, i.rs1), (Op::Jalr, 0, 1));
        // c.mv a0, a1 = 0x852e
        let i = decode(0x852e);
        assert_eq!((i.op, i.rd, i.rs1, i.rs2), (Op::Add, 10, 0, 11));
        // c.ebreak
        assert_eq!(decode(0x9002).op, Op::Ebreak);
        // c.lw a0, 4(a1) = 0x41c8
        let i = decode(0x41c8);
        assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Lw, 10, 11, 4));
        // Zcb: c.not a0 = 0x9d75, c.mul a0,a1 = 0x9d4d, c.lbu a0,1(a1) = 0x81c8
        assert_eq!(decode(0x9d75).op, Op::Xori);
        assert_eq!(decode(0x9d4d).op, Op::Mul);
        let i = decode(0x81c8);
        assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Lbu, 10, 11, 1));
    }

    #[test]
    fn reserved_compressed_encodings_are_illegal() {
        for h in [
            0x0000u16, 0x6101, /* c.addi16sp 0 */
            0x6501, /* c.lui a0,0 */
            0x2001, /* c.addiw x0 */
            0x4002, /* c.lwsp x0 */
            0x8002, /* c.jr x0 */
        ] {
            let i = decode(h as u32);
            assert_eq!(i.op, Op::Illegal, "{h:#x}");
            assert_eq!(i.raw, h as u32);
            assert_eq!(i.len, 2);
        }
    }

    #[test]
    fn hook_claims_only_unknown_words() {
        struct H;
        impl CustomInsnHook for H {
            fn claims(&self, insn: u32) -> bool {
                insn & 0x7f == 0x7b
            }
            fn execute(
                &mut self,
                _insn: u32,
                _x: &mut [u64; 32],
                _mem: &mut dyn devices::cpu_ext::GuestDataAccess,
            ) -> devices::cpu_ext::CustomOutcome {
                devices::cpu_ext::CustomOutcome::Done
            }
        }
        let i = decode_with_hook(0x0cc565fb, Some(&H));
        assert_eq!((i.op, i.rd, i.rs1, i.rs2), (Op::Custom, 11, 10, 12));
        assert_eq!(decode_with_hook(0xfff50513, Some(&H)).op, Op::Addi);
    }
}
