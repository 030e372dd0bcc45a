//! The baseline tier: a template compiler from one tier-0 block straight to x86-64 machine code.
//!
//! Warm code (run tens to thousands of times: a Linux boot is mostly that) is too hot for the
//! tier-0 interpreter and too cold to pay for Cranelift (~0.2 ms + ~13 µs per guest instruction
//! for a quick region). This tier emits a fixed instruction sequence per guest instruction in a
//! few microseconds per block, on the dispatcher's thread, so a block runs compiled after a few
//! dozen executions; the countdown in its code then asks for a Cranelift region when it stays hot.
//!
//! The code follows the region ABI of [`super::translate`] exactly (Cranelift's `tail` calling
//! convention: `fn(cpu /* rdi */) -> u64 /* rax */`, callee-saved rbx/rbp/r12-r15; the same
//! entry checks, exit slots, jump-cache exits, `MISS`-free slow paths and return values), so the
//! dispatcher, linking, invalidation and promotion treat it like any region, and baseline blocks
//! and Cranelift regions chain into each other.
//!
//! Guest registers live in the CPU structure; within a block the recently used ones are held in
//! five caller-saved host registers ([`regs`]: loaded at first use, stored when evicted, before
//! helper calls and at exits; `x0` is never written). `rbx` holds the CPU pointer; `cpu.pc`
//! holds the block entry's address plus a known offset (`pc_base`), and `instret` is advanced
//! lazily (`synced`): both are brought up to date before a helper call and at exits. Loads and stores probe the softmmu TLB inline; a miss
//! calls [`helpers::exec_insn`] (page walk, MMIO, faults: the exact tier-0 semantics) and carries
//! on. Instructions without a template (FP arithmetic, AMOs, CSRs, division, ...) call the same
//! helper.
//!
//! The assembler is `dynasm-rs` (a well-kept runtime assembler: encodings are checked at build
//! time, labels and relocations handled); a Cranelift function per block would defeat the
//! purpose of this tier.

// dynasm's dynamic register operands (`Rq(n)`) expand to `n.into()`.
#![allow(clippy::useless_conversion)]

use std::mem::size_of;

use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

mod regs;

use super::layout::*;
use super::translate::{RegionDesc, PROMOTE_TAG};
use super::{helpers, JC_SIZE};
use crate::decode::{Insn, Op};
use crate::mmu::{Tlb, PAGE_MASK, TLB_FOLD_SHIFT, TLB_SIZE};
use regs::RegCache;

const _: () = assert!(TLB_SIZE <= 256 && JC_SIZE <= 1 << 20);

/// x86-64 register numbers (for dynasm's dynamic `Rq`/`Rd` operands).
const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;
const RSI: u8 = 6;

type Asm = VecAssembler<X64Relocation>;

/// A slow path emitted after the block's main code: run instruction `gi` (at byte offset `off`,
/// `k`-th of the block) through the helper, then resume at `done` with the main path's view of
/// `pc` and `instret` restored.
struct SlowPath {
    entry: DynamicLabel,
    done: DynamicLabel,
    gi: usize,
    off: i64,
    len: i64,
    k: i64,
    pc_base: i64,
    synced: i64,
    /// Registers held before the access (their dirty ones are stored before the call).
    pre: RegCache,
    /// Registers held after it on the main path (reloaded after the call).
    post: RegCache,
}

struct Emitter<'d> {
    a: Asm,
    d: &'d RegionDesc,
    /// `cpu.pc` minus the entry's address at this point of the code.
    pc_base: i64,
    /// Instructions already added to `cpu.instret` at this point of the code.
    synced: i64,
    /// `xor eax, eax; pop rbx; ret`: leave with the state already stored.
    exit0: DynamicLabel,
    /// `pop rbx; ret` (rax holds the return value).
    ret_rax: DynamicLabel,
    slow: Vec<SlowPath>,
    /// Instructions run through the helper on the main path (the block's weight).
    helpers: u32,
    /// Guest registers held in host registers at this point of the code.
    regs: RegCache,
    /// Where the countdown's decrement (a 32-bit immediate) sits in the code.
    weight_at: Option<usize>,
}

/// How much one run of a block counts towards its promotion: 1, plus [`HELPER_WEIGHT`] per
/// instruction the block runs through the helper (FP arithmetic, division, atomics...), which
/// makes such blocks far slower here than in Cranelift code.
const HELPER_WEIGHT: u32 = 4;

/// Compiles `desc`, which must hold exactly one block, to position-independent machine code.
pub(crate) fn compile(desc: &RegionDesc) -> Result<Vec<u8>, String> {
    let [blk] = desc.blocks.as_slice() else {
        return Err("the baseline tier compiles single blocks".into());
    };
    let mut a = Asm::new(0);
    let exit0 = a.new_dynamic_label();
    let ret_rax = a.new_dynamic_label();
    let mut e = Emitter {
        a,
        d: desc,
        pc_base: 0,
        synced: 0,
        exit0,
        ret_rax,
        slow: Vec::new(),
        helpers: 0,
        regs: RegCache::default(),
        weight_at: None,
    };
    e.prologue();
    let mut off = blk.off;
    let mut ended = false;
    for (k, i) in blk.insns.iter().enumerate() {
        let gi = blk.first + k;
        ended = e.insn(i, gi, off, k as i64);
        off += i.len as i64;
        if ended {
            break;
        }
    }
    if !ended {
        // Ran off the end of the block (length limit or page end): fall through.
        e.slot_exit(1, off, blk.insns.len() as i64);
    }
    e.epilogues();
    let weight = 1 + HELPER_WEIGHT * e.helpers;
    let weight_at = e.weight_at;
    let mut code =
        e.a.finalize()
            .map_err(|err| format!("baseline assembler: {err:?}"))?;
    if let Some(at) = weight_at {
        code[at - 4..at].copy_from_slice(&weight.to_le_bytes());
    }
    Ok(code)
}

fn xoff(r: u8) -> i32 {
    X_OFF + 8 * (r & 31) as i32
}

fn foff(r: u8) -> i32 {
    F_OFF + 8 * (r & 31) as i32
}

impl Emitter<'_> {
    /// Entry: save rbx, take the CPU pointer, check the limit and the attention flag, count
    /// down to promotion: the countdown drops by the block's weight (patched in at the end) and
    /// the run that takes it below zero asks for promotion (it wraps around: only once).
    fn prologue(&mut self) {
        let att = self.d.attention_addr as i64;
        let exit0 = self.exit0;
        dynasm!(self.a
            ; .arch x64
            ; push rbx
            ; mov rbx, rdi
            ; mov rax, QWORD [rbx + INSTRET_OFF]
            ; cmp rax, QWORD [rbx + LIMIT_OFF]
            ; jae =>exit0
            ; mov rax, QWORD att
            ; cmp BYTE [rax], 0
            ; jne =>exit0
        );
        if self.d.countdown_addr != 0 {
            let promote = self.a.new_dynamic_label();
            let run = self.a.new_dynamic_label();
            let ca = self.d.countdown_addr as i64;
            dynasm!(self.a
                ; .arch x64
                ; mov rax, QWORD ca
                ; sub QWORD [rax], 0x7fff_ffff
            );
            self.weight_at = Some(self.a.offset().0);
            dynasm!(self.a
                ; .arch x64
                ; jae =>run
                ; =>promote
                ; mov eax, PROMOTE_TAG as i32
                ; pop rbx
                ; ret
                ; =>run
            );
        }
    }

    /// The shared exits and the slow paths.
    fn epilogues(&mut self) {
        let (exit0, ret_rax) = (self.exit0, self.ret_rax);
        dynasm!(self.a
            ; .arch x64
            ; =>exit0
            ; xor eax, eax
            ; =>ret_rax
            ; pop rbx
            ; ret
        );
        for s in std::mem::take(&mut self.slow) {
            self.a.dynamic_label(s.entry);
            self.pc_base = s.pc_base;
            self.synced = s.synced;
            for (g, h) in s.pre.dirty() {
                self.store_host(g, h);
            }
            self.call_helper(s.gi, s.off, s.len, s.k);
            // Back to the main path's view: `pc` at its base, `instret` at its count, the
            // registers it holds (the helper wrote the instruction's result to memory).
            self.add_mem(PC_OFF, s.pc_base - self.pc_base);
            self.add_mem(INSTRET_OFF, s.synced - self.synced);
            for (g, h) in s.post.held() {
                dynasm!(self.a ; .arch x64 ; mov Rq(h), QWORD [rbx + xoff(g)]);
            }
            let done = s.done;
            dynasm!(self.a ; .arch x64 ; jmp =>done);
        }
    }

    /// `add QWORD [rbx + field], v` (v fits in 32 bits: offsets within a block, counts).
    fn add_mem(&mut self, field: i32, v: i64) {
        if v == 0 {
            return;
        }
        match i32::try_from(v) {
            Ok(v) => dynasm!(self.a ; .arch x64 ; add QWORD [rbx + field], v),
            Err(_) => dynasm!(self.a
                ; .arch x64
                ; mov rdx, QWORD v
                ; add QWORD [rbx + field], rdx
            ),
        }
    }

    /// Makes `cpu.pc` the address at offset `off` from the entry.
    fn set_pc(&mut self, off: i64) {
        self.add_mem(PC_OFF, off.wrapping_sub(self.pc_base));
        self.pc_base = off;
    }

    /// Makes `cpu.instret` count `n` instructions of the block.
    fn sync(&mut self, n: i64) {
        self.add_mem(INSTRET_OFF, n - self.synced);
        self.synced = n;
    }

    /// Stores host register `h` into guest register `g`'s home.
    fn store_host(&mut self, g: u8, h: u8) {
        dynasm!(self.a ; .arch x64 ; mov QWORD [rbx + xoff(g)], Rq(h));
    }

    /// The host register holding guest register `r` for a read: a held one, or one it is
    /// loaded into now; for `x0`, `scratch` zeroed.
    fn src(&mut self, r: u8, scratch: u8) -> u8 {
        let r = r & 31;
        if r == 0 {
            dynasm!(self.a ; .arch x64 ; xor Rd(scratch), Rd(scratch));
            return scratch;
        }
        let p = self.regs.place(r, false);
        if let Some(g) = p.spill {
            self.store_host(g, p.host);
        }
        if !p.hit {
            dynasm!(self.a ; .arch x64 ; mov Rq(p.host), QWORD [rbx + xoff(r)]);
        }
        p.host
    }

    /// Writes host register `from` (a scratch register) to guest register `r` (held, dirty;
    /// nothing for `x0`).
    fn set(&mut self, r: u8, from: u8) {
        let r = r & 31;
        if r == 0 {
            return;
        }
        let p = self.regs.place(r, true);
        if let Some(g) = p.spill {
            self.store_host(g, p.host);
        }
        dynasm!(self.a ; .arch x64 ; mov Rq(p.host), Rq(from));
    }

    /// Stores every changed register held (they stay held, now clean).
    fn flush(&mut self) {
        let dirty: Vec<(u8, u8)> = self.regs.dirty().collect();
        for (g, h) in dirty {
            self.store_host(g, h);
        }
        self.regs.clean();
    }

    /// `rax = cpu.pc + (off - pc_base) + extra`: the guest address at offset `off` plus `extra`.
    fn pc_plus(&mut self, off: i64, extra: i64) {
        let v = off.wrapping_sub(self.pc_base).wrapping_add(extra);
        dynasm!(self.a ; .arch x64 ; mov rax, QWORD [rbx + PC_OFF]);
        match i32::try_from(v) {
            Ok(0) => {}
            Ok(v) => dynasm!(self.a ; .arch x64 ; add rax, v),
            Err(_) => dynasm!(self.a
                ; .arch x64
                ; mov rcx, QWORD v
                ; add rax, rcx
            ),
        }
    }

    /// Runs instruction `gi` through [`helpers::exec_insn`]: leaves when it reports anything but
    /// a plain completion; afterwards `pc` is the next instruction's and `instret` counts it.
    fn call_helper(&mut self, gi: usize, off: i64, len: i64, k: i64) {
        self.set_pc(off);
        self.sync(k);
        let insn = (self.d.insns_addr + (gi * size_of::<Insn>()) as u64) as i64;
        let f = helpers::exec_insn as *const () as usize as i64;
        let exit0 = self.exit0;
        dynasm!(self.a
            ; .arch x64
            ; mov rdi, rbx
            ; mov rsi, QWORD insn
            ; mov rax, QWORD f
            ; call rax
            ; test rax, rax
            ; jnz =>exit0
        );
        self.pc_base = off + len;
        self.synced = k + 1;
    }

    /// Leaves through exit slot `slot` to the address at offset `target` with `n` of the block's
    /// instructions retired: tail-calls the slot's code if linked, else returns the slot address.
    fn slot_exit(&mut self, slot: usize, target: i64, n: i64) {
        self.flush();
        self.set_pc(target);
        self.sync(n);
        let sa = (self.d.slots_addr + 16 * slot as u64) as i64;
        let ret_rax = self.ret_rax;
        dynasm!(self.a
            ; .arch x64
            ; mov rax, QWORD sa
            ; mov rcx, QWORD [rax]
            ; test rcx, rcx
            ; jz =>ret_rax
            ; add QWORD [rbx + CHAINED_OFF], 1
            ; mov rdi, rbx
            ; pop rbx
            ; jmp rcx
        );
    }

    /// Leaves to the address in rax (stored as `pc`, `n` instructions retired) through the jump
    /// cache, or returns 0.
    fn dynamic_exit(&mut self, n: i64) {
        self.flush();
        dynasm!(self.a ; .arch x64 ; mov QWORD [rbx + PC_OFF], rax);
        self.sync(n);
        let jc = self.d.jc_addr as i64;
        let mode = self.d.mode as i32;
        let exit0 = self.exit0;
        dynasm!(self.a
            ; .arch x64
            ; mov rcx, rax
            ; shr rcx, 1
            ; and ecx, (JC_SIZE - 1) as i32
            ; shl rcx, 5
            ; mov rdx, QWORD jc
            ; add rdx, rcx
            ; cmp rax, QWORD [rdx + JCE_VPC]
            ; jne =>exit0
            ; mov rcx, QWORD [rbx + JC_EPOCH_OFF]
            ; or rcx, mode
            ; cmp rcx, QWORD [rdx + JCE_MODE]
            ; jne =>exit0
            ; mov rcx, QWORD [rdx + JCE_CODE]
            ; add QWORD [rbx + CHAINED_OFF], 1
            ; mov rdi, rbx
            ; pop rbx
            ; jmp rcx
        );
    }

    /// Emits one instruction; returns whether it ended the block's code.
    fn insn(&mut self, i: &Insn, gi: usize, off: i64, k: i64) -> bool {
        use Op::*;
        let (rd, r1, r2) = (i.rd & 31, i.rs1 & 31, i.rs2 & 31);
        let imm = i.imm;
        let len = i.len as i64;
        let next = off + len;
        let imm32 = i32::try_from(imm).ok();
        let fs = super::mode_fs_dirty(self.d.mode);
        // `rd = r1 op imm`, computed in rax.
        macro_rules! ri {
            ($($t:tt)*) => {{
                let a = self.src(r1, RAX);
                if a != RAX {
                    dynasm!(self.a ; .arch x64 ; mov rax, Rq(a));
                }
                dynasm!(self.a ; .arch x64 ; $($t)*);
                self.set(rd, RAX);
            }};
        }
        // `rd = r1 op r2`, computed in rax; `$b` names the host register holding r2 (rcx
        // when `$cl`: shift counts).
        macro_rules! rr {
            ($b:ident, $cl:expr, $($t:tt)*) => {{
                let a = self.src(r1, RAX);
                let $b = self.src(r2, RCX);
                if a != RAX {
                    dynasm!(self.a ; .arch x64 ; mov rax, Rq(a));
                }
                let $b = if $cl && $b != RCX {
                    dynasm!(self.a ; .arch x64 ; mov rcx, Rq($b));
                    RCX
                } else {
                    $b
                };
                let _ = $b; // (shifts name rcx directly)
                dynasm!(self.a ; .arch x64 ; $($t)*);
                self.set(rd, RAX);
            }};
        }
        let sh = (imm & 63) as i8;
        let shw = (imm & 31) as i8;
        match (i.op, imm32) {
            (Lui, Some(v)) => {
                if rd != 0 {
                    dynasm!(self.a ; .arch x64 ; mov rax, v);
                    self.set(rd, RAX);
                }
            }
            (Auipc, _) => {
                if rd != 0 {
                    self.pc_plus(off, imm);
                    self.set(rd, RAX);
                }
            }
            (Addi, Some(v)) => ri!(add rax, v),
            (Xori, Some(v)) => ri!(xor rax, v),
            (Ori, Some(v)) => ri!(or rax, v),
            (Andi, Some(v)) => ri!(and rax, v),
            (Slti, Some(v)) => ri!(xor ecx, ecx ; cmp rax, v ; setl cl ; mov rax, rcx),
            (Sltiu, Some(v)) => ri!(xor ecx, ecx ; cmp rax, v ; setb cl ; mov rax, rcx),
            (Slli, _) => ri!(shl rax, sh),
            (Srli, _) => ri!(shr rax, sh),
            (Srai, _) => ri!(sar rax, sh),
            (Addiw, Some(v)) => ri!(add eax, v ; movsxd rax, eax),
            (Slliw, _) => ri!(shl eax, shw ; movsxd rax, eax),
            (Srliw, _) => ri!(shr eax, shw ; movsxd rax, eax),
            (Sraiw, _) => ri!(sar eax, shw ; movsxd rax, eax),
            (Add, _) => rr!(b, false, add rax, Rq(b)),
            (Sub, _) => rr!(b, false, sub rax, Rq(b)),
            (And, _) => rr!(b, false, and rax, Rq(b)),
            (Or, _) => rr!(b, false, or rax, Rq(b)),
            (Xor, _) => rr!(b, false, xor rax, Rq(b)),
            (Sll, _) => rr!(b, true, shl rax, cl),
            (Srl, _) => rr!(b, true, shr rax, cl),
            (Sra, _) => rr!(b, true, sar rax, cl),
            (Slt, _) => rr!(b, false, xor edx, edx ; cmp rax, Rq(b) ; setl dl ; mov rax, rdx),
            (Sltu, _) => rr!(b, false, xor edx, edx ; cmp rax, Rq(b) ; setb dl ; mov rax, rdx),
            (Addw, _) => rr!(b, false, add eax, Rd(b) ; movsxd rax, eax),
            (Subw, _) => rr!(b, false, sub eax, Rd(b) ; movsxd rax, eax),
            (Sllw, _) => rr!(b, true, shl eax, cl ; movsxd rax, eax),
            (Srlw, _) => rr!(b, true, shr eax, cl ; movsxd rax, eax),
            (Sraw, _) => rr!(b, true, sar eax, cl ; movsxd rax, eax),
            (Mul, _) => rr!(b, false, imul rax, Rq(b)),
            (Mulw, _) => rr!(b, false, imul eax, Rd(b) ; movsxd rax, eax),
            (Fence, _) => {}
            (Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu, Some(_)) => self.access(i, gi, off, k, false),
            (Sb | Sh | Sw | Sd, Some(_)) => self.access(i, gi, off, k, true),
            (Flw | Fld, Some(_)) if fs => self.access(i, gi, off, k, false),
            (Fsw | Fsd, Some(_)) if fs => self.access(i, gi, off, k, true),
            (Beq | Bne | Blt | Bge | Bltu | Bgeu, _) => {
                let a = self.src(r1, RAX);
                let b = self.src(r2, RCX);
                // Both exits leave: store changed registers once, before the compare.
                self.flush();
                let taken = self.a.new_dynamic_label();
                dynasm!(self.a ; .arch x64 ; cmp Rq(a), Rq(b));
                match i.op {
                    Beq => dynasm!(self.a ; .arch x64 ; je =>taken),
                    Bne => dynasm!(self.a ; .arch x64 ; jne =>taken),
                    Blt => dynasm!(self.a ; .arch x64 ; jl =>taken),
                    Bge => dynasm!(self.a ; .arch x64 ; jge =>taken),
                    Bltu => dynasm!(self.a ; .arch x64 ; jb =>taken),
                    _ => dynasm!(self.a ; .arch x64 ; jae =>taken),
                }
                let (pb, sy) = (self.pc_base, self.synced);
                self.slot_exit(1, next, k + 1);
                self.a.dynamic_label(taken);
                (self.pc_base, self.synced) = (pb, sy);
                self.slot_exit(0, off.wrapping_add(imm), k + 1);
                return true;
            }
            (Jal, _) => {
                if rd != 0 {
                    self.pc_plus(next, 0);
                    self.set(rd, RAX);
                }
                self.slot_exit(0, off.wrapping_add(imm), k + 1);
                return true;
            }
            (Jalr, Some(v)) => {
                // The target first (`rd` may be `rs1`), in rdx, which `pc_plus` leaves alone.
                let a = self.src(r1, RDX);
                dynasm!(self.a
                    ; .arch x64
                    ; lea rdx, [Rq(a) + v]
                    ; and rdx, -2
                );
                if rd != 0 {
                    self.pc_plus(next, 0);
                    self.set(rd, RAX);
                }
                dynasm!(self.a ; .arch x64 ; mov rax, rdx);
                self.dynamic_exit(k + 1);
                return true;
            }
            _ => {
                // No template: the tier-0 code does it (from memory; the call clobbers the
                // host registers holding guest ones).
                self.helpers += 1;
                self.flush();
                self.call_helper(gi, off, len, k);
                self.regs.forget();
                if i.ends_block() {
                    self.slot_exit(1, next, k + 1);
                    return true;
                }
            }
        }
        false
    }

    /// A load or store (integer or FP) with an inline TLB probe; a miss runs the instruction
    /// through the helper on a slow path.
    fn access(&mut self, i: &Insn, gi: usize, off: i64, k: i64, write: bool) {
        use Op::*;
        let size: i32 = match i.op {
            Lb | Lbu | Sb => 1,
            Lh | Lhu | Sh => 2,
            Lw | Lwu | Sw | Flw | Fsw => 4,
            _ => 8,
        };
        let imm = i.imm as i32;
        let base = (TLB_OFF + super::mode_data_idx(self.d.mode) * size_of::<Tlb>()) as i32;
        let field = base + if write { TLBE_WRITE } else { TLBE_READ };
        let addend = base + TLBE_ADDEND;
        let mask = (PAGE_MASK | (size as u64 - 1)) as i64 as i32;
        let lo = (12 - 4) as i8;
        let hi = (12 + TLB_FOLD_SHIFT - 4) as i8;
        let imask = ((TLB_SIZE - 1) << 4) as i32;
        let entry = self.a.new_dynamic_label();
        let done = self.a.new_dynamic_label();
        let a = self.src(i.rs1, RSI);
        dynasm!(self.a ; .arch x64 ; lea rsi, [Rq(a) + imm]);
        // The value of an integer store, in a held register (or rcx for x0), before the split.
        let v = if matches!(i.op, Sb | Sh | Sw | Sd) {
            let v = self.src(i.rs2, RCX);
            if v != RCX {
                dynasm!(self.a ; .arch x64 ; mov rcx, Rq(v));
            }
            RCX
        } else {
            RCX
        };
        let pre = self.regs.clone();
        // rax = tlb_index(va) * 48; rdx = va masked to page and alignment.
        dynasm!(self.a
            ; .arch x64
            ; mov rax, rsi
            ; shr rax, lo
            ; mov rdx, rsi
            ; shr rdx, hi
            ; xor eax, edx
            ; and eax, imask
            ; lea rax, [rax + rax * 2]
            ; mov rdx, rsi
            ; and rdx, mask
            ; cmp rdx, QWORD [rbx + rax + field]
            ; jne =>entry
            ; add rsi, QWORD [rbx + rax + addend]
        );
        let rd = i.rd & 31;
        match i.op {
            Lb => dynasm!(self.a ; .arch x64 ; movsx rax, BYTE [rsi]),
            Lbu => dynasm!(self.a ; .arch x64 ; movzx eax, BYTE [rsi]),
            Lh => dynasm!(self.a ; .arch x64 ; movsx rax, WORD [rsi]),
            Lhu => dynasm!(self.a ; .arch x64 ; movzx eax, WORD [rsi]),
            Lw => dynasm!(self.a ; .arch x64 ; movsxd rax, DWORD [rsi]),
            Lwu => dynasm!(self.a ; .arch x64 ; mov eax, DWORD [rsi]),
            Ld => dynasm!(self.a ; .arch x64 ; mov rax, QWORD [rsi]),
            Flw => dynasm!(self.a
                ; .arch x64
                ; mov eax, DWORD [rsi]
                ; mov rcx, QWORD 0xffff_ffff_0000_0000u64 as i64
                ; or rax, rcx
                ; mov QWORD [rbx + foff(rd)], rax
            ),
            Fld => dynasm!(self.a
                ; .arch x64
                ; mov rax, QWORD [rsi]
                ; mov QWORD [rbx + foff(rd)], rax
            ),
            Sb => dynasm!(self.a ; .arch x64 ; mov BYTE [rsi], Rb(v)),
            Sh => dynasm!(self.a ; .arch x64 ; mov WORD [rsi], Rw(v)),
            Sw => dynasm!(self.a ; .arch x64 ; mov DWORD [rsi], Rd(v)),
            Sd => dynasm!(self.a ; .arch x64 ; mov QWORD [rsi], Rq(v)),
            Fsw => dynasm!(self.a
                ; .arch x64
                ; mov ecx, DWORD [rbx + foff(i.rs2)]
                ; mov DWORD [rsi], ecx
            ),
            _ => dynasm!(self.a
                ; .arch x64
                ; mov rcx, QWORD [rbx + foff(i.rs2)]
                ; mov QWORD [rsi], rcx
            ),
        }
        if matches!(i.op, Lb | Lbu | Lh | Lhu | Lw | Lwu | Ld) {
            self.set(rd, RAX);
        }
        self.a.dynamic_label(done);
        self.slow.push(SlowPath {
            entry,
            done,
            gi,
            off,
            len: i.len as i64,
            k,
            pc_base: self.pc_base,
            synced: self.synced,
            pre,
            post: self.regs.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::cpu::Cpu;
    use crate::jit::{BaselineMode, JitConfig};
    use crate::testutil::{asm, machine, read64, RAM_BASE};

    const OP: u32 = 0x33;
    const OP32: u32 = 0x3b;
    const IMM: u32 = 0x13;
    const IMM32: u32 = 0x1b;
    const LOAD: u32 = 0x03;
    const STORE: u32 = 0x23;
    const DATA: u64 = RAM_BASE + 0x10000;

    /// Runs `prog` for `budget` instructions on tier 0 alone and with baseline code only
    /// (compiled at the first execution); returns both CPUs.
    fn both(prog: &[u32], budget: u64) -> (Box<Cpu>, Box<Cpu>) {
        let run = |jit: bool| {
            let (mut cpu, _hart) = machine(prog);
            cpu.set_jit_baseline(BaselineMode::Only);
            cpu.set_jit(JitConfig {
                enabled: jit,
                threshold: 1,
                background: false,
            });
            let target = cpu.instret + budget;
            while cpu.instret < target {
                cpu.run_for(target - cpu.instret);
            }
            cpu
        };
        (run(false), run(true))
    }

    fn assert_same(t0: &Cpu, bl: &Cpu) {
        assert_eq!(t0.x, bl.x, "registers");
        assert_eq!(t0.pc, bl.pc, "pc");
        assert_eq!(t0.instret, bl.instret, "instret");
        assert_eq!(
            (t0.mcause, t0.mepc, t0.mtval),
            (bl.mcause, bl.mepc, bl.mtval),
            "trap state"
        );
        for k in 0..64 {
            let a = DATA + 8 * k;
            assert_eq!(read64(t0, a), read64(bl, a), "memory at {a:#x}");
        }
        let s = bl.jit_stats();
        assert!(s.baseline_blocks > 0, "{s:?}");
        assert_eq!(s.regions_compiled, 0, "{s:?}");
        assert!(s.jit_insns > bl.instret / 2, "mostly baseline code: {s:?}");
    }

    /// Every templated integer operation, loads and stores of every size (aligned, misaligned,
    /// MMIO), helper-run instructions (division, CSR), calls and returns, in a loop.
    #[test]
    fn integer_memory_and_control_flow_match_tier0() {
        let mut p = Vec::new();
        p.extend(asm::li(5, DATA as i64));
        p.extend(asm::li(11, 300));
        p.extend(asm::li(10, 0));
        p.extend(asm::li(12, 0x1234_5678_9abc_def1));
        p.extend(asm::li(13, -7));
        p.extend(asm::li(9, crate::testutil::DEV_BASE as i64));
        let top = p.len();
        p.extend([
            asm::r(0, 10, 12, 0, 14, OP),        // add a4, a2, a0
            asm::r(0x20, 13, 14, 0, 15, OP),     // sub a5, a4, a3
            asm::r(0, 10, 12, 1, 16, OP),        // sll
            asm::r(0, 13, 15, 5, 17, OP),        // srl
            asm::r(0x20, 10, 15, 5, 18, OP),     // sra
            asm::r(0, 10, 13, 2, 19, OP),        // slt
            asm::r(0, 10, 13, 3, 20, OP),        // sltu
            asm::r(0, 17, 16, 4, 21, OP),        // xor
            asm::r(0, 21, 18, 6, 22, OP),        // or
            asm::r(0, 12, 22, 7, 23, OP),        // and
            asm::r(1, 15, 12, 0, 24, OP),        // mul
            asm::r(0, 15, 12, 0, 25, OP32),      // addw
            asm::r(0x20, 12, 13, 0, 26, OP32),   // subw
            asm::r(0, 10, 12, 1, 27, OP32),      // sllw
            asm::r(0, 10, 15, 5, 28, OP32),      // srlw
            asm::r(0x20, 10, 15, 5, 29, OP32),   // sraw
            asm::r(1, 14, 12, 0, 30, OP32),      // mulw
            asm::i(-2047, 14, 0, 31, IMM),       // addi
            asm::i(100, 15, 2, 6, IMM),          // slti
            asm::i(5, 13, 3, 7, IMM),            // sltiu
            asm::i(-1, 15, 4, 8, IMM),           // xori
            asm::i(0x555, 14, 6, 3, IMM),        // ori
            asm::i(0x7f0, 12, 7, 4, IMM),        // andi
            asm::i(13, 12, 1, 16, IMM),          // slli
            asm::i(7, 13, 5, 17, IMM),           // srli
            asm::i(0x400 | 9, 13, 5, 18, IMM),   // srai
            asm::i(-5, 12, 0, 19, IMM32),        // addiw
            asm::i(31, 12, 1, 20, IMM32),        // slliw
            asm::i(3, 13, 5, 21, IMM32),         // srliw
            asm::i(0x400 | 3, 13, 5, 22, IMM32), // sraiw
            (5 << 12) | (23 << 7) | 0x17,        // auipc s7, 5
            asm::lui(0, 0x12345),                // lui zero (discarded)
            asm::r(0, 12, 0, 0, 0, OP),          // add zero, zero, a2 (discarded)
            // Memory: a slot chosen by the counter.
            asm::i(0x1f8, 10, 7, 24, IMM), // andi s8, a0, 0x1f8
            asm::r(0, 24, 5, 0, 24, OP),   // add s8, t0, s8
            asm::s(0, 12, 24, 3, STORE),   // sd a2, 0(s8)
            asm::s(8, 15, 24, 2, STORE),   // sw a5, 8(s8)
            asm::s(12, 14, 24, 1, STORE),  // sh a4, 12(s8)
            asm::s(14, 13, 24, 0, STORE),  // sb a3, 14(s8)
            asm::i(0, 24, 3, 25, LOAD),    // ld
            asm::i(8, 24, 2, 26, LOAD),    // lw
            asm::i(8, 24, 6, 27, LOAD),    // lwu
            asm::i(12, 24, 1, 28, LOAD),   // lh
            asm::i(12, 24, 5, 29, LOAD),   // lhu
            asm::i(14, 24, 0, 30, LOAD),   // lb
            asm::i(14, 24, 4, 31, LOAD),   // lbu
            asm::i(3, 24, 3, 1, LOAD),     // ld ra, 3(s8): misaligned
            asm::s(5, 10, 24, 3, STORE),   // sd a0, 5(s8): misaligned
            asm::s(8, 10, 9, 3, STORE),    // sd a0, 8(s1): MMIO
            asm::i(8, 9, 3, 2, LOAD),      // ld sp, 8(s1): MMIO
            asm::i(0, 24, 3, 0, LOAD),     // ld zero, 0(s8) (discarded)
            asm::div(3, 12, 13),           // div: helper
            asm::r(1, 13, 12, 1, 4, OP),   // mulh: helper
        ]);
        p.push(asm::i(1, 10, 0, 10, IMM)); // addi a0, a0, 1
        let back = (top as i32 - p.len() as i32) * 4;
        p.push(asm::b(back, 11, 10, 4)); // blt a0, a1, top
                                         // A call and a return, a CSR, then spin.
        p.push(asm::jal(1, 16));
        p.push(asm::csrrs(29, 0x340, 10)); // csrrs t4, mscratch, a0
        p.push(asm::csrrs(30, 0x340, 0)); // csrrs t5, mscratch, zero
        p.push(asm::SPIN);
        p.push(asm::i(5, 10, 0, 10, IMM)); // f: addi a0, a0, 5
        p.push(asm::jalr(0, 1, 0)); // ret
        let (t0, bl) = both(&p, 40_000);
        assert_eq!(t0.x[10], 305, "the loop ran and the call returned");
        assert_same(&t0, &bl);
    }

    /// A load fault in the middle of a block: the trap has the exact pc and count; the handler
    /// skips the instruction and the loop goes on.
    #[test]
    fn faults_inside_compiled_blocks_are_precise() {
        let mut p = Vec::new();
        p.extend(asm::li(5, 0x100)); // nothing mapped there
        p.extend(asm::li(11, 50));
        p.extend(asm::li(10, 0));
        // mtvec = the handler, pc-relative (patched below).
        let setup = p.len();
        p.extend([(7 << 7) | 0x17, asm::NOP, asm::csrrw(0, 0x305, 7)]);
        let top = p.len();
        p.push(asm::i(1, 10, 0, 10, IMM)); // addi a0, a0, 1
        p.push(asm::i(0, 5, 3, 6, LOAD)); // ld t1, 0(t0): access fault
        p.push(asm::i(1, 12, 0, 12, IMM)); // addi a2, a2, 1
        let back = (top as i32 - p.len() as i32) * 4;
        p.push(asm::b(back, 11, 10, 4));
        p.push(asm::SPIN);
        // Handler: mepc += 4; count in a3; mret.
        let handler = p.len();
        p.push(asm::csrrs(7, 0x341, 0)); // csrr t2, mepc
        p.push(asm::i(4, 7, 0, 7, IMM));
        p.push(asm::csrrw(0, 0x341, 7)); // csrw mepc, t2
        p.push(asm::i(1, 13, 0, 13, IMM));
        p.push(asm::MRET);
        p[setup + 1] = asm::i(4 * (handler - setup) as i32, 7, 0, 7, IMM); // addi t2, t2, off
        let (t0, bl) = both(&p, 5_000);
        assert_eq!(t0.x[13], 50, "every fault reached the handler");
        assert_eq!(t0.x[12], 50, "and the loop went on after it");
        assert_eq!(t0.mtval, 0x100);
        assert_same(&t0, &bl);
    }

    /// Code that rewrites an instruction of its own block on every pass (then `fence.i`):
    /// the baseline code of the block is dropped at the store and the new instruction runs.
    #[test]
    fn self_modifying_loop_matches_tier0() {
        let mut p = Vec::new();
        p.extend(asm::li(11, 200));
        p.extend(asm::li(10, 0));
        // t4 = address of the patched instruction (pc-relative, filled in below).
        let at = p.len();
        p.extend([(29 << 7) | 0x17, asm::NOP]);
        let top = p.len();
        // t3 = addi a2, a2, (a0 & 1) + 1: encoded as (((a0 & 1) + 1) << 20) | addi a2, a2, 0.
        p.push(asm::i(1, 10, 7, 28, IMM)); // andi t3, a0, 1
        p.push(asm::i(1, 28, 0, 28, IMM)); // addi t3, t3, 1
        p.push(asm::i(20, 28, 1, 28, IMM)); // slli t3, t3, 20
        p.extend(asm::li(30, asm::i(0, 12, 0, 12, IMM) as i64));
        p.push(asm::r(0, 30, 28, 6, 28, OP)); // or t3, t3, t5
        p.push(asm::s(0, 28, 29, 2, STORE)); // sw t3, 0(t4)
        p.push(asm::FENCE_I);
        let patched = p.len();
        p.push(asm::i(1, 12, 0, 12, IMM)); // addi a2, a2, 1 (rewritten)
        p.push(asm::i(1, 10, 0, 10, IMM)); // addi a0, a0, 1
        let back = (top as i32 - p.len() as i32) * 4;
        p.push(asm::b(back, 11, 10, 4));
        p.push(asm::SPIN);
        p[at + 1] = asm::i(4 * (patched - at) as i32, 29, 0, 29, IMM);
        let (t0, bl) = both(&p, 20_000);
        // Pass k adds (k & 1) + 1: 100 * 1 + 100 * 2.
        assert_eq!(
            t0.x[12], 300,
            "every pass ran the instruction it had just written"
        );
        assert_eq!(t0.x, bl.x, "registers");
        assert_eq!((t0.pc, t0.instret), (bl.pc, bl.instret));
        assert!(bl.jit_stats().baseline_blocks > 0);
    }
}
