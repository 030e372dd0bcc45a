//! Translation of a region (several tier-0 blocks from one guest page) into one Cranelift
//! function.
//!
//! Generated function: `tail fn(cpu: *mut Cpu) -> u64`. On entry it checks the instruction limit
//! (`cpu.jit.limit`) and the hart's attention flag, loads the guest registers it uses into
//! Cranelift variables and runs; internal branches are Cranelift control flow (back-edges
//! re-check the limit and the flag). Every exit stores the changed registers, `pc` and `instret`,
//! then either tail-calls the next region (a filled per-exit slot, or a jump-cache hit for
//! indirect jumps) or returns: the slot's address (so the dispatcher can link it) or 0.
//!
//! All addresses (helpers, slots, jump cache) are immediates, so the code has no relocations and
//! can be compiled on another thread and copied into the code arena.

use std::collections::HashMap;
use std::mem::size_of;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, AbiParam, Block, Function, InstBuilder, MemFlagsData, SigRef, Signature, UserFuncName,
    Value,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_codegen::{control::ControlPlane, Context};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};

use crate::decode::{Insn, Op};
use crate::jit::layout::*;
use crate::jit::{mode_data_idx, mode_fs_dirty, JcEntry, JC_SIZE};
use crate::mmu::{Tlb, TLB_FOLD_SHIFT, TLB_SIZE};

mod fp_exact;
mod loops;
mod mem;
use fp_exact::{Exact, ExactOp};
use loops::{BlockCost, Budget, Loops, Regs, Traffic};
use mem::Probe;

/// One tier-0 block of a region.
#[derive(Debug, Clone)]
pub struct BlockDesc {
    /// Byte offset of its first instruction from the region entry.
    pub off: i64,
    /// Index of its first instruction in the region's flat instruction array.
    pub first: usize,
    /// The instructions.
    pub insns: Vec<Insn>,
}

/// Everything needed to translate a region (plain data: sent to the compile thread).
#[derive(Debug, Clone)]
pub struct RegionDesc {
    /// Offset of the entry within its 4 KiB page.
    pub page_off: i64,
    /// The mode key the code is specialised for (see `jit::mode_key`).
    pub mode: u32,
    /// The blocks; `blocks[0]` is the entry.
    pub blocks: Vec<BlockDesc>,
    /// Address of the flat instruction array (for [`super::helpers::exec_insn`]).
    pub insns_addr: u64,
    /// Address of the exit slots: two `[target, mode]` pairs per block (taken, fall-through).
    pub slots_addr: u64,
    /// Address of the jump cache.
    pub jc_addr: u64,
    /// Address of the hart's attention flag (a byte).
    pub attention_addr: u64,
    /// Keep guest registers in the CPU structure (every read a load, every write a store)
    /// instead of Cranelift variables: far less work for the compiler (no SSA values live
    /// across the region, nothing to store at exits), slower code. For the quick tier.
    pub regs_in_memory: bool,
    /// Address of a countdown of entries (0: none). Each entry, chained or dispatched,
    /// decrements it; the entry that brings it to zero returns [`PROMOTE_TAG`] instead of
    /// running (nothing has changed yet), so the dispatcher can have the region recompiled.
    pub countdown_addr: u64,
}

/// Bit 0 of a region's return value: the rest is the address of an instruction whose memory
/// access missed the TLB; the dispatcher executes it on tier 0, then resumes. (Exit slots are
/// 8-byte aligned, so their addresses never have it.)
pub const MISS_TAG: u64 = 1;

/// A region's return value asking for it to be recompiled optimised (see
/// [`RegionDesc::countdown_addr`]); the CPU state is that of the region's entry.
pub const PROMOTE_TAG: u64 = 2;

/// The frm field of a mode key.
fn mode_frm(mode: u32) -> u8 {
    ((mode >> 6) & 7) as u8
}

/// Host registers the register budget leaves to the CPU pointer, the instruction count and
/// temporaries (three) in every loop.
const FIXED_HOST_REGS: usize = 5;
/// Host FP registers the register budget leaves to temporaries in every loop.
const FIXED_HOST_FP_REGS: usize = 4;
/// The smallest register budget (guest registers of a class a loop keeps in host registers).
const MIN_REG_BUDGET: usize = 4;

/// Allocatable integer registers (the stack and frame pointers aside) and FP registers of the
/// host.
fn host_regs(isa: &dyn TargetIsa) -> (usize, usize) {
    match isa.name() {
        "x64" => (14, 16),
        "aarch64" | "riscv64" => (26, 32),
        _ => (12, 16),
    }
}

fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Guest memory through a host pointer from the TLB: cannot trap, may alias anything guest.
fn guest_mem() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// Reusable per-thread translation state.
pub struct Translator {
    ctx: Context,
    fctx: FunctionBuilderContext,
}

impl Default for Translator {
    fn default() -> Self {
        Self::new()
    }
}

impl Translator {
    /// A translator with empty contexts.
    pub fn new() -> Translator {
        Translator {
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
        }
    }

    /// Compiles `desc` to position-independent machine code. A Cranelift panic is reported as
    /// an error (the region then stays on tier 0).
    pub fn compile(&mut self, isa: &dyn TargetIsa, desc: &RegionDesc) -> Result<Vec<u8>, String> {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.compile_inner(isa, desc)
        }));
        match r {
            Ok(r) => r,
            Err(_) => {
                // The contexts may be in any state: start afresh.
                *self = Translator::new();
                Err("cranelift panicked".into())
            }
        }
    }

    fn compile_inner(&mut self, isa: &dyn TargetIsa, desc: &RegionDesc) -> Result<Vec<u8>, String> {
        self.ctx.clear();
        let mut func = Function::with_name_signature(UserFuncName::default(), region_sig(isa));
        {
            let b = FunctionBuilder::new(&mut func, &mut self.fctx);
            let mut e = Emitter::new(b, isa, desc);
            e.emit_region();
            e.b.seal_all_blocks();
            e.b.finalize(isa.frontend_config());
        }
        self.ctx.func = func;
        let code = self
            .ctx
            .compile(isa, &mut ControlPlane::default())
            .map_err(|e| format!("{:?}", e.inner))?;
        if !code.buffer.relocs().is_empty() {
            return Err("translated code has relocations".into());
        }
        Ok(code.code_buffer().to_vec())
    }
}

/// The signature of region code.
pub fn region_sig(isa: &dyn TargetIsa) -> Signature {
    let ptr = isa.pointer_type();
    let mut s = Signature::new(CallConv::Tail);
    s.params.push(AbiParam::new(ptr));
    s.returns.push(AbiParam::new(types::I64));
    s
}

/// Compiles the host-ABI trampoline `fn(cpu, code) -> u64` that enters region code.
pub fn compile_trampoline(isa: &dyn TargetIsa) -> Result<Vec<u8>, String> {
    let ptr = isa.pointer_type();
    let mut sig = Signature::new(isa.default_call_conv());
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(ptr));
    sig.returns.push(AbiParam::new(types::I64));
    let mut func = Function::with_name_signature(UserFuncName::default(), sig);
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let cpu = b.block_params(entry)[0];
        let code = b.block_params(entry)[1];
        let rsig = b.import_signature(region_sig(isa));
        let call = b.ins().call_indirect(rsig, code, &[cpu]);
        let r = b.inst_results(call)[0];
        b.ins().return_(&[r]);
        b.seal_all_blocks();
        b.finalize(isa.frontend_config());
    }
    let mut ctx = Context::for_function(func);
    let code = ctx
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| format!("{:?}", e.inner))?;
    Ok(code.code_buffer().to_vec())
}

/// How a block's code continues after an instruction.
#[derive(PartialEq, Eq)]
enum Flow {
    /// Straight on to the next instruction.
    Next,
    /// The instruction ended the Cranelift block (branch, jump, exit).
    Done,
}

struct Emitter<'a, 'd> {
    b: FunctionBuilder<'a>,
    d: &'d RegionDesc,
    cpu: Value,
    xv: Vec<Variable>,
    fv: Vec<Variable>,
    icnt: Variable,
    /// Registers that may differ from their memory copy at the current emission point (stored
    /// at exits and before helpers): the dirty-in set of the block plus its writes so far.
    wx: u32,
    wf: u32,
    /// Dirty-in sets per block (forward data flow over the region's CFG).
    dirty_in: Vec<(u32, u32)>,
    /// The region's loops (register split at loop boundaries).
    loops: Loops,
    /// Cached TLB probes that accesses may reuse (see `mem.rs`).
    probes: Vec<Probe>,
    /// Index of the guest block being emitted.
    cur_bi: usize,
    /// Registers held in the CPU structure in the current guest block (see `loops.rs`): read
    /// from memory once per block, written through.
    res: Regs,
    /// Resident registers whose current value is in their variable in the current guest block
    /// (defined earlier on the block's straight-line path).
    rv: Regs,
    /// Registers the rest of the current guest block may write (after the instruction being
    /// emitted): a resident register's write is stored only at its last write in the block
    /// (until then it is dirty, and exits store it).
    later_w: Regs,
    /// Allocatable host integer and FP registers (for the register budget).
    host_regs: (usize, usize),
    /// The quick tier's copy of `cpu` in the current Cranelift block (see `cpu_here`).
    cpu_copy: Option<(Block, Value)>,
    /// Registers read or written (loaded at entry).
    ux: u32,
    uf: u32,
    /// Cranelift block of each guest block, by offset.
    by_off: HashMap<i64, (usize, Block)>,
    /// What to add to `icnt` for the count before the current instruction: `icnt` is advanced
    /// by a whole guest block at its start, so `k` runs from minus the block's length up to 0.
    /// (Advancing at the start gives both successors of a loop's closing branch the same
    /// `icnt` value: counting at the end made Cranelift keep the old and the new value live
    /// at once, a register move and an extra jump on every back-edge.)
    k: i64,
    sig_region: SigRef,
    /// fflags.NX at region entry (an i8 condition).
    nx: Value,
    /// Whether the host has a fused multiply-add instruction.
    fma: bool,
}

impl<'a, 'd> Emitter<'a, 'd> {
    fn new(mut b: FunctionBuilder<'a>, isa: &dyn TargetIsa, d: &'d RegionDesc) -> Self {
        let sig_region = b.import_signature(region_sig(isa));
        let xv = (0..32).map(|_| b.declare_var(types::I64)).collect();
        // FP registers live in host FP registers (their bits are bitcast where an integer
        // operation needs them).
        let fv = (0..32).map(|_| b.declare_var(types::F64)).collect();
        let icnt = b.declare_var(types::I64);
        let (mut wx, mut wf, mut ux, mut uf) = (0u32, 0u32, 0u32, 0u32);
        for blk in &d.blocks {
            for i in &blk.insns {
                let u = regs_of(i);
                wx |= u.wx;
                wf |= u.wf;
                ux |= u.rx | u.wx;
                uf |= u.rf | u.wf;
            }
        }
        ux &= !1;
        let _ = (wx, wf);
        let dummy = b.create_block();
        let mut e = Emitter {
            b,
            d,
            cpu: Value::from_u32(0),
            xv,
            fv,
            icnt,
            wx: 0,
            wf: 0,
            dirty_in: Vec::new(),
            loops: Loops::default(),
            probes: Vec::new(),
            cur_bi: 0,
            res: (0, 0),
            rv: (0, 0),
            later_w: (0, 0),
            host_regs: host_regs(isa),
            cpu_copy: None,
            ux,
            uf,
            by_off: HashMap::new(),
            k: 0,
            sig_region,
            nx: Value::from_u32(0),
            fma: isa.has_native_fma(),
        };
        // `dummy` only exists to have a Block value for the map type; it is the entry block.
        e.b.append_block_params_for_function_params(dummy);
        e.b.switch_to_block(dummy);
        e.cpu = e.b.block_params(dummy)[0];
        e
    }

    /// The CPU pointer for use in the current Cranelift block. The quick tier's register
    /// allocator keeps a value that is live across blocks in a stack slot and reloads it at
    /// every use; with guest registers in memory every guest register access uses the pointer,
    /// so that tier takes one copy per block (one reload) instead.
    fn cpu_here(&mut self) -> Value {
        if !self.d.regs_in_memory {
            return self.cpu;
        }
        let cur = self.b.current_block();
        match self.cpu_copy {
            Some((blk, v)) if Some(blk) == cur => v,
            _ => {
                // `x & -1`, not `x + 0` (which folds into address modes and disappears).
                let v = self.b.ins().band_imm_s(self.cpu, -1);
                if let Some(blk) = cur {
                    self.cpu_copy = Some((blk, v));
                }
                v
            }
        }
    }

    fn iconst(&mut self, v: i64) -> Value {
        self.b.ins().iconst(types::I64, v)
    }

    fn x(&mut self, r: u8) -> Value {
        let r = r & 31;
        if r == 0 {
            self.iconst(0)
        } else if self.d.regs_in_memory {
            let cpu = self.cpu_here();
            self.b
                .ins()
                .load(types::I64, trusted(), cpu, X_OFF + 8 * r as i32)
        } else if self.res.0 & !self.rv.0 & (1 << r) != 0 {
            // Resident, not yet read or written in this block: its memory copy is current.
            let v = self
                .b
                .ins()
                .load(types::I64, trusted(), self.cpu, X_OFF + 8 * r as i32);
            self.b.def_var(self.xv[r as usize], v);
            self.rv.0 |= 1 << r;
            v
        } else {
            self.b.use_var(self.xv[r as usize])
        }
    }

    fn set_x(&mut self, r: u8, v: Value) {
        let r = r & 31;
        if r == 0 {
        } else if self.d.regs_in_memory {
            let cpu = self.cpu_here();
            self.b.ins().store(trusted(), v, cpu, X_OFF + 8 * r as i32);
        } else {
            self.wx |= 1 << r;
            self.b.def_var(self.xv[r as usize], v);
            if self.res.0 & (1 << r) != 0 {
                // Resident: stored at its last write in the block, so clean at the block's end.
                self.rv.0 |= 1 << r;
                if self.later_w.0 & (1 << r) == 0 {
                    self.store_x(r);
                }
            }
        }
    }

    /// Stores integer register `r` (its variable) to its home; it is then clean.
    fn store_x(&mut self, r: u8) {
        let v = self.b.use_var(self.xv[r as usize]);
        self.b
            .ins()
            .store(trusted(), v, self.cpu, X_OFF + 8 * r as i32);
        self.wx &= !(1 << r);
    }

    /// Stores FP register `r` (its variable) to its home; it is then clean.
    fn store_f(&mut self, r: u8) {
        let v = self.b.use_var(self.fv[r as usize]);
        self.b
            .ins()
            .store(trusted(), v, self.cpu, F_OFF + 8 * r as i32);
        self.wf &= !(1 << r);
    }

    /// Stores the resident registers still dirty (before the current guest block's internal
    /// edges: resident registers are clean between blocks).
    fn flush_resident(&mut self) {
        for r in 1..32u8 {
            if self.res.0 & self.wx & (1 << r) != 0 {
                self.store_x(r);
            }
        }
        for r in 0..32u8 {
            if self.res.1 & self.wf & (1 << r) != 0 {
                self.store_f(r);
            }
        }
    }

    /// FP register `r` as an F64 value (its raw bits: a NaN-boxed single too).
    fn fd(&mut self, r: u8) -> Value {
        let r = r & 31;
        if self.d.regs_in_memory {
            let cpu = self.cpu_here();
            self.b
                .ins()
                .load(types::F64, trusted(), cpu, F_OFF + 8 * r as i32)
        } else if self.res.1 & !self.rv.1 & (1 << r) != 0 {
            let v = self
                .b
                .ins()
                .load(types::F64, trusted(), self.cpu, F_OFF + 8 * r as i32);
            self.b.def_var(self.fv[r as usize], v);
            self.rv.1 |= 1 << r;
            v
        } else {
            self.b.use_var(self.fv[r as usize])
        }
    }

    /// FP register `r`'s raw bits (I64).
    fn f(&mut self, r: u8) -> Value {
        let v = self.fd(r);
        self.f64_to_bits(v)
    }

    /// Sets FP register `r` to raw bits `v` (I64).
    fn set_f(&mut self, r: u8, v: Value) {
        let v = self.bits_to_f64(v);
        self.set_fd(r, v)
    }

    /// Sets FP register `r` to the F64 value `v`.
    fn set_fd(&mut self, r: u8, v: Value) {
        let r = r & 31;
        if self.d.regs_in_memory {
            let cpu = self.cpu_here();
            self.b.ins().store(trusted(), v, cpu, F_OFF + 8 * r as i32);
        } else {
            self.wf |= 1 << r;
            self.b.def_var(self.fv[r as usize], v);
            if self.res.1 & (1 << r) != 0 {
                self.rv.1 |= 1 << r;
                if self.later_w.1 & (1 << r) == 0 {
                    self.store_f(r);
                }
            }
        }
    }

    /// The guest address at offset `off` from the region entry. `cpu.pc` holds the entry's
    /// address until an exit stores a new one, so it is read where needed rather than kept in
    /// a host register across the region.
    fn pc_at(&mut self, off: i64) -> Value {
        let cpu = self.cpu_here();
        let vpc = self.b.ins().load(types::I64, trusted(), cpu, PC_OFF);
        self.b.ins().iadd_imm_s(vpc, off)
    }

    fn cur_icnt(&mut self) -> Value {
        let c = self.b.use_var(self.icnt);
        self.b.ins().iadd_imm_s(c, self.k)
    }

    /// Stores every register the region writes.
    fn spill(&mut self) {
        for r in 1..32u8 {
            if self.wx & (1 << r) != 0 {
                let v = self.x(r);
                self.b
                    .ins()
                    .store(trusted(), v, self.cpu, X_OFF + 8 * r as i32);
            }
        }
        for r in 0..32u8 {
            if self.wf & (1 << r) != 0 {
                let v = self.fd(r);
                self.b
                    .ins()
                    .store(trusted(), v, self.cpu, F_OFF + 8 * r as i32);
            }
        }
    }

    /// Stores registers, `pc = vpc + off` and `instret` (the count of retired instructions).
    fn sync_state(&mut self, pc: Value) {
        self.spill();
        self.b.ins().store(trusted(), pc, self.cpu, PC_OFF);
        let n = self.cur_icnt();
        self.b.ins().store(trusted(), n, self.cpu, INSTRET_OFF);
    }

    fn ret(&mut self, v: i64) {
        let z = self.iconst(v);
        self.b.ins().return_(&[z]);
    }

    /// Exit to a static target outside the region (or after a failed back-edge check when
    /// `slot` is `None`); ends the current Cranelift block.
    fn exit_static(&mut self, off: i64, slot: Option<usize>) {
        let pc = self.pc_at(off);
        self.sync_state(pc);
        match slot {
            Some(s) => {
                let saddr = self.d.slots_addr as i64 + 16 * s as i64;
                let sa = self.iconst(saddr);
                let t = self.b.ins().load(types::I64, trusted(), sa, 0);
                let chain = self.b.create_block();
                let back = self.b.create_block();
                self.b.set_cold_block(back);
                self.b.ins().brif(t, chain, &[], back, &[]);
                self.b.switch_to_block(chain);
                self.count_chain();
                self.b
                    .ins()
                    .return_call_indirect(self.sig_region, t, &[self.cpu]);
                self.b.switch_to_block(back);
                self.b.ins().return_(&[sa]);
            }
            None => self.ret(0),
        }
    }

    fn count_chain(&mut self) {
        let c = self
            .b
            .ins()
            .load(types::I64, trusted(), self.cpu, CHAINED_OFF);
        let c = self.b.ins().iadd_imm_s(c, 1);
        self.b.ins().store(trusted(), c, self.cpu, CHAINED_OFF);
    }

    /// Exit to a computed target through the jump cache; ends the current Cranelift block.
    fn exit_dynamic(&mut self, target: Value) {
        self.sync_state(target);
        let idx = self.b.ins().ushr_imm_s(target, 1);
        let idx = self.b.ins().band_imm_s(idx, (JC_SIZE - 1) as i64);
        let off = self.b.ins().imul_imm_s(idx, size_of::<JcEntry>() as i64);
        let e = self.b.ins().iadd_imm_s(off, self.d.jc_addr as i64);
        let vpc = self.b.ins().load(types::I64, trusted(), e, 0);
        let mode = self.b.ins().load(types::I64, trusted(), e, 8);
        let c1 = self.b.ins().icmp(IntCC::Equal, vpc, target);
        // Entries carry the jump cache's epoch (bumped instead of clearing the cache).
        let epoch = self
            .b
            .ins()
            .load(types::I64, trusted(), self.cpu, JC_EPOCH_OFF);
        let want = self.b.ins().bor_imm_s(epoch, self.d.mode as i64);
        let c2 = self.b.ins().icmp(IntCC::Equal, mode, want);
        let c = self.b.ins().band(c1, c2);
        let chain = self.b.create_block();
        let back = self.b.create_block();
        self.b.set_cold_block(back);
        self.b.ins().brif(c, chain, &[], back, &[]);
        self.b.switch_to_block(chain);
        let code = self.b.ins().load(types::I64, trusted(), e, 16);
        self.count_chain();
        self.b
            .ins()
            .return_call_indirect(self.sig_region, code, &[self.cpu]);
        self.b.switch_to_block(back);
        self.ret(0);
    }

    /// Whether a jump from the block at `from` to offset `target` is a back-edge inside the
    /// region (the rule [`Self::compute_dirty_in`] uses too).
    fn is_back_edge(&self, target: i64, from: i64) -> bool {
        target <= from && self.by_off.contains_key(&target)
    }

    /// At a jump or branch that may close a loop, once it is counted: `if instret - 1 >= limit
    /// { exit }`, the exit going where the instruction goes (`taken`, or `next` when its
    /// condition `c` is false). The limit is the next timer poll (at most 4096 instructions
    /// away), so a loop also notices the attention flag (checked at every region entry) within
    /// that many instructions; every pass of a loop retires at least the branch, so the check
    /// eventually fires. Checking ahead of the branch (not on the back-edge) lets the branch
    /// itself close the loop: one taken branch per iteration. Exiting to the loop's head (not
    /// to the branch) lets the dispatcher see which region the loop's time goes to.
    fn limit_check(&mut self, taken: i64, cond: Option<(Value, i64)>) {
        // Read from memory each time (a folded memory operand) rather than held in a register.
        let cpu = self.cpu_here();
        let limit = self.b.ins().load(types::I64, trusted(), cpu, LIMIT_OFF);
        let stop = if self.k == 0 {
            // `icnt - 1 >= limit`, i.e. `icnt > limit` (`icnt` counts the branch: no wrap).
            let c = self.b.use_var(self.icnt);
            self.b.ins().icmp(IntCC::UnsignedGreaterThan, c, limit)
        } else {
            let n = self.cur_icnt();
            let n = self.b.ins().iadd_imm_s(n, -1);
            self.b
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, n, limit)
        };
        let out = self.b.create_block();
        self.b.set_cold_block(out);
        let go = self.b.create_block();
        self.b.ins().brif(stop, out, &[], go, &[]);
        self.b.switch_to_block(out);
        let saved = (self.wx, self.wf);
        match cond {
            Some((c, next)) => {
                let t = self.b.create_block();
                let f = self.b.create_block();
                self.b.set_cold_block(t);
                self.b.set_cold_block(f);
                self.b.ins().brif(c, t, &[], f, &[]);
                self.b.switch_to_block(t);
                self.exit_static(taken, None);
                (self.wx, self.wf) = saved;
                self.b.switch_to_block(f);
                self.exit_static(next, None);
            }
            None => self.exit_static(taken, None),
        }
        (self.wx, self.wf) = saved;
        self.b.switch_to_block(go);
    }

    /// The Cranelift block that continues at guest offset `off` from the current block: the
    /// region block itself for internal edges, else a stub (register traffic at loop
    /// boundaries, exit through `slot` for targets outside the region) filled by
    /// [`Self::fill_edge`] once the current block is terminated.
    fn new_edge(&mut self, off: i64, slot: usize) -> Edge {
        match self.by_off.get(&off).copied() {
            Some((t, blk)) => {
                // Back-edges were limit-checked at the branch (`limit_check`).
                let tr = self.edge_traffic(self.cur_bi, t);
                if tr.is_empty() {
                    Edge { blk, fill: None }
                } else {
                    Edge {
                        blk: self.b.create_block(),
                        fill: Some((off, EdgeKind::Internal(blk, tr))),
                    }
                }
            }
            None => {
                // Leaving the region: off the path of its loops.
                let blk = self.b.create_block();
                self.b.set_cold_block(blk);
                Edge {
                    blk,
                    fill: Some((off, EdgeKind::Exit(slot))),
                }
            }
        }
    }

    fn fill_edge(&mut self, e: Edge) {
        if let Some((off, kind)) = e.fill {
            self.b.switch_to_block(e.blk);
            match kind {
                EdgeKind::Internal(target, tr) => {
                    // The dirty set is the source block's: restore it for its other edges.
                    let saved = (self.wx, self.wf);
                    self.apply_traffic(tr);
                    self.b.ins().jump(target, &[]);
                    (self.wx, self.wf) = saved;
                }
                EdgeKind::Exit(slot) => self.exit_static(off, Some(slot)),
            }
        }
    }

    /// The register traffic on the edge from guest block `s` to guest block `t`.
    fn edge_traffic(&self, s: usize, t: usize) -> Traffic {
        if self.d.regs_in_memory {
            return Traffic::default();
        }
        self.loops.traffic(s, t, (self.ux, self.uf))
    }

    /// Emits an edge's traffic: dirty registers of `tr.store` to memory (then clean), fresh
    /// values for `tr.reload` from memory.
    fn apply_traffic(&mut self, tr: Traffic) {
        for r in 1..32u8 {
            if tr.store.0 & self.wx & (1 << r) != 0 {
                let v = self.x(r);
                self.b
                    .ins()
                    .store(trusted(), v, self.cpu, X_OFF + 8 * r as i32);
            }
        }
        for r in 0..32u8 {
            if tr.store.1 & self.wf & (1 << r) != 0 {
                let v = self.fd(r);
                self.b
                    .ins()
                    .store(trusted(), v, self.cpu, F_OFF + 8 * r as i32);
            }
        }
        self.wx &= !tr.store.0;
        self.wf &= !tr.store.1;
        for r in 1..32u8 {
            if tr.reload.0 & (1 << r) != 0 {
                let v = self
                    .b
                    .ins()
                    .load(types::I64, trusted(), self.cpu, X_OFF + 8 * r as i32);
                self.b.def_var(self.xv[r as usize], v);
            }
        }
        for r in 0..32u8 {
            if tr.reload.1 & (1 << r) != 0 {
                let v = self
                    .b
                    .ins()
                    .load(types::F64, trusted(), self.cpu, F_OFF + 8 * r as i32);
                self.b.def_var(self.fv[r as usize], v);
            }
        }
    }

    fn flush_k(&mut self) {
        if self.k != 0 {
            let n = self.cur_icnt();
            self.b.def_var(self.icnt, n);
            self.k = 0;
        }
    }

    fn emit_region(&mut self) {
        // Entry: limit and attention checks, register loads.
        let instret = self
            .b
            .ins()
            .load(types::I64, trusted(), self.cpu, INSTRET_OFF);
        // Addressed through a separate pointer value: Cranelift's redundant-load elimination
        // would otherwise reuse this load at loop back-edges (see `check_then_jump`) and keep
        // the limit live in a register (or a spill slot) across every loop of the region.
        let la = self.b.ins().iadd_imm_s(self.cpu, LIMIT_OFF as i64);
        let limit = self.b.ins().load(types::I64, trusted(), la, 0);
        let over = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, instret, limit);
        let aa = self.iconst(self.d.attention_addr as i64);
        let att = self.b.ins().uload8(types::I64, trusted(), aa, 0);
        let att = self.b.ins().icmp_imm_s(IntCC::NotEqual, att, 0);
        let stop = self.b.ins().bor(over, att);
        let bail = self.b.create_block();
        self.b.set_cold_block(bail);
        let go = self.b.create_block();
        self.b.ins().brif(stop, bail, &[], go, &[]);
        self.b.switch_to_block(bail);
        self.ret(0);
        self.b.switch_to_block(go);
        if self.d.countdown_addr != 0 {
            let ca = self.iconst(self.d.countdown_addr as i64);
            let c = self.b.ins().load(types::I64, trusted(), ca, 0);
            let c = self.b.ins().iadd_imm_s(c, -1);
            self.b.ins().store(trusted(), c, ca, 0);
            let due = self.b.ins().icmp_imm_s(IntCC::Equal, c, 0);
            let promote = self.b.create_block();
            self.b.set_cold_block(promote);
            let run = self.b.create_block();
            self.b.ins().brif(due, promote, &[], run, &[]);
            self.b.switch_to_block(promote);
            self.ret(PROMOTE_TAG as i64);
            self.b.switch_to_block(run);
        }
        self.nx = if self.uf != 0 {
            let fl = self
                .b
                .ins()
                .uload8(types::I64, trusted(), self.cpu, FFLAGS_OFF);
            let nx = self.b.ins().band_imm_s(fl, 1);
            self.b.ins().icmp_imm_s(IntCC::NotEqual, nx, 0)
        } else {
            // No FP instruction (they all name an FP register): never read.
            self.b.ins().iconst(types::I8, 0)
        };
        self.b.def_var(self.icnt, instret);
        for (i, blk) in self.d.blocks.iter().enumerate() {
            let cb = self.b.create_block();
            self.by_off.entry(blk.off).or_insert((i, cb));
        }
        self.compute_dirty_in();
        // Registers resident in the entry block are read from memory where used (and reloaded
        // on edges to blocks where they are not resident): only the others are loaded here.
        let res0 = self.loops.resident_at(0);
        for r in 0..32u8 {
            if self.d.regs_in_memory {
                break;
            }
            let v = if r != 0 && self.ux & !res0.0 & (1 << r) != 0 {
                self.b
                    .ins()
                    .load(types::I64, trusted(), self.cpu, X_OFF + 8 * r as i32)
            } else {
                self.iconst(0)
            };
            self.b.def_var(self.xv[r as usize], v);
            let v = if self.uf & !res0.1 & (1 << r) != 0 {
                self.b
                    .ins()
                    .load(types::F64, trusted(), self.cpu, F_OFF + 8 * r as i32)
            } else {
                self.b.ins().f64const(0.0)
            };
            self.b.def_var(self.fv[r as usize], v);
        }
        let first = self.by_off[&self.d.blocks[0].off].1;
        self.b.ins().jump(first, &[]);
        let d = self.d;
        for (bi, blk) in d.blocks.iter().enumerate() {
            let (owner, cb) = self.by_off[&blk.off];
            if owner != bi {
                continue;
            }
            self.b.switch_to_block(cb);
            let n = blk.insns.len() as i64;
            let c = self.b.use_var(self.icnt);
            // `uadd_overflow` rather than `iadd`: Cranelift rematerialises `x + constant` in
            // every block that uses it, so a successor would recompute the count from the
            // predecessor's, keeping the old and the new count live at once on every loop's
            // closing branch (a register move and an extra jump per pass). A two-result
            // instruction stays where it is. (The overflow flag is unused: `instret` does not
            // wrap.)
            let c = if self.d.regs_in_memory {
                // The quick tier does not run the optimiser that rematerialises.
                self.b.ins().iadd_imm_s(c, n)
            } else {
                let nv = self.iconst(n);
                self.b.ins().uadd_overflow(c, nv).0
            };
            self.b.def_var(self.icnt, c);
            self.k = -n;
            self.cur_bi = bi;
            (self.wx, self.wf) = if self.d.regs_in_memory {
                (0, 0)
            } else {
                self.dirty_in[bi]
            };
            self.res = if self.d.regs_in_memory {
                (0, 0)
            } else {
                self.loops.resident_at(bi)
            };
            self.rv = (0, 0);
            let mut off = blk.off;
            let mut flow = Flow::Next;
            for (j, insn) in blk.insns.iter().enumerate() {
                self.later_w = blk.insns[j + 1..].iter().fold((0, 0), |w, i| {
                    let u = regs_of(i);
                    (w.0 | u.wx, w.1 | u.wf)
                });
                flow = self.emit_insn(bi, blk, blk.first + j, insn, off);
                off += insn.len as i64;
                if flow == Flow::Done {
                    break;
                }
            }
            if flow == Flow::Next {
                // Fell off the end (size limit, page end, or a system instruction that let
                // execution continue).
                self.flush_resident();
                self.flush_k();
                let e = self.new_edge(off, 2 * bi + 1);
                self.b.ins().jump(e.blk, &[]);
                self.fill_edge(e);
            }
        }
    }

    fn sx32(&mut self, v: Value) -> Value {
        let n = self.b.ins().ireduce(types::I32, v);
        self.b.ins().sextend(types::I64, n)
    }

    fn zx32(&mut self, v: Value) -> Value {
        let n = self.b.ins().ireduce(types::I32, v);
        self.b.ins().uextend(types::I64, n)
    }

    fn lo32(&mut self, v: Value) -> Value {
        self.b.ins().ireduce(types::I32, v)
    }

    fn bool64(&mut self, c: Value) -> Value {
        self.b.ins().uextend(types::I64, c)
    }

    /// RISC-V division and remainder (no host traps: zero and overflow divisors are replaced).
    fn divrem(&mut self, a: Value, b: Value, signed: bool, rem: bool, w32: bool) -> Value {
        let (a, b, ty) = if w32 {
            (self.lo32(a), self.lo32(b), types::I32)
        } else {
            (a, b, types::I64)
        };
        let zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
        let one = self.b.ins().iconst(ty, 1);
        let bad = if signed {
            let min = if w32 { i32::MIN as i64 } else { i64::MIN };
            let amin = self.b.ins().icmp_imm_s(IntCC::Equal, a, min);
            let bm1 = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
            let ovf = self.b.ins().band(amin, bm1);
            self.b.ins().bor(zero, ovf)
        } else {
            zero
        };
        let sb = self.b.ins().select(bad, one, b);
        let r = match (signed, rem) {
            (true, false) => self.b.ins().sdiv(a, sb),
            (true, true) => self.b.ins().srem(a, sb),
            (false, false) => self.b.ins().udiv(a, sb),
            (false, true) => self.b.ins().urem(a, sb),
        };
        let on_zero = if rem { a } else { self.b.ins().iconst(ty, -1) };
        let r = self.b.ins().select(zero, on_zero, r);
        if w32 {
            self.b.ins().sextend(types::I64, r)
        } else {
            r
        }
    }

    /// Emits one instruction.
    fn emit_insn(&mut self, bi: usize, blk: &BlockDesc, gi: usize, i: &Insn, off: i64) -> Flow {
        use Op::*;
        let imm = i.imm;
        let len = i.len;
        let next = off + len as i64;
        let (r1, r2) = (i.rs1, i.rs2);
        macro_rules! rr {
            ($f:ident) => {{
                let a = self.x(r1);
                let b = self.x(r2);
                self.b.ins().$f(a, b)
            }};
        }
        macro_rules! ri {
            ($f:ident, $imm:expr) => {{
                let a = self.x(r1);
                self.b.ins().$f(a, $imm)
            }};
        }
        macro_rules! rrw {
            ($f:ident) => {{
                let a = self.x(r1);
                let b = self.x(r2);
                let a = self.lo32(a);
                let b = self.lo32(b);
                let v = self.b.ins().$f(a, b);
                self.b.ins().sextend(types::I64, v)
            }};
        }
        macro_rules! cmp {
            ($cc:expr, $a:expr, $b:expr) => {{
                let c = self.b.ins().icmp($cc, $a, $b);
                self.bool64(c)
            }};
        }
        macro_rules! unw {
            ($f:ident) => {{
                let a = self.x(r1);
                let a = self.lo32(a);
                let v = self.b.ins().$f(a);
                self.b.ins().uextend(types::I64, v)
            }};
        }
        let fs = mode_fs_dirty(self.d.mode);
        let v: Value = match i.op {
            Lui => self.iconst(imm),
            Auipc => self.pc_at(off.wrapping_add(imm)),
            Jal => {
                let ra = self.pc_at(next);
                self.set_x(i.rd, ra);
                self.k += 1;
                if self.is_back_edge(off.wrapping_add(imm), blk.off) {
                    self.limit_check(off.wrapping_add(imm), None);
                }
                self.flush_resident();
                self.flush_k();
                let e = self.new_edge(off.wrapping_add(imm), 2 * bi);
                self.b.ins().jump(e.blk, &[]);
                self.fill_edge(e);
                return Flow::Done;
            }
            Jalr => {
                let a = self.x(r1);
                let t = self.b.ins().iadd_imm_s(a, imm);
                let t = self.b.ins().band_imm_s(t, !1);
                let ra = self.pc_at(next);
                self.set_x(i.rd, ra);
                self.k += 1;
                self.flush_k();
                self.exit_dynamic(t);
                return Flow::Done;
            }
            Beq | Bne | Blt | Bge | Bltu | Bgeu => {
                let cc = match i.op {
                    Beq => IntCC::Equal,
                    Bne => IntCC::NotEqual,
                    Blt => IntCC::SignedLessThan,
                    Bge => IntCC::SignedGreaterThanOrEqual,
                    Bltu => IntCC::UnsignedLessThan,
                    _ => IntCC::UnsignedGreaterThanOrEqual,
                };
                let a = self.x(r1);
                let b = self.x(r2);
                let c = self.b.ins().icmp(cc, a, b);
                self.k += 1;
                if self.is_back_edge(off.wrapping_add(imm), blk.off) {
                    self.limit_check(off.wrapping_add(imm), Some((c, next)));
                }
                self.flush_resident();
                self.flush_k();
                let t = self.new_edge(off.wrapping_add(imm), 2 * bi);
                let f = self.new_edge(next, 2 * bi + 1);
                self.b.ins().brif(c, t.blk, &[], f.blk, &[]);
                self.fill_edge(t);
                self.fill_edge(f);
                return Flow::Done;
            }
            Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => {
                let (size, signed) = match i.op {
                    Lb => (1, true),
                    Lh => (2, true),
                    Lw => (4, true),
                    Ld => (8, false),
                    Lbu => (1, false),
                    Lhu => (2, false),
                    _ => (4, false),
                };
                let a = self.x(r1);
                let va = self.b.ins().iadd_imm_s(a, imm);
                self.load_into(va, size, signed, (r1, imm), gi, off, Dest::X(i.rd));
                self.k += 1;
                return Flow::Next;
            }
            Flw | Fld if fs => {
                let a = self.x(r1);
                let va = self.b.ins().iadd_imm_s(a, imm);
                if i.op == Flw {
                    self.load_into(va, 4, false, (r1, imm), gi, off, Dest::F32(i.rd));
                } else {
                    self.load_into(va, 8, false, (r1, imm), gi, off, Dest::F64(i.rd));
                }
                self.k += 1;
                return Flow::Next;
            }
            Sb | Sh | Sw | Sd | Fsw | Fsd => {
                if matches!(i.op, Fsw | Fsd) && !fs {
                    return self.emit_generic(gi, i, off);
                }
                let size = match i.op {
                    Sb => 1,
                    Sh => 2,
                    Sw | Fsw => 4,
                    _ => 8,
                };
                let a = self.x(r1);
                let va = self.b.ins().iadd_imm_s(a, imm);
                let v = if i.op == Fsd {
                    // An F64 store (8 bytes, as is).
                    self.fd(r2)
                } else if i.op == Fsw {
                    self.f(r2)
                } else {
                    self.x(r2)
                };
                self.store(va, v, size, (r1, imm), gi, off);
                self.k += 1;
                return Flow::Next;
            }
            Addi => ri!(iadd_imm_s, imm),
            Slti => {
                let a = self.x(r1);
                let c = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, a, imm);
                self.bool64(c)
            }
            Sltiu => {
                let a = self.x(r1);
                let c = self.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, a, imm);
                self.bool64(c)
            }
            Xori => ri!(bxor_imm_s, imm),
            Ori => ri!(bor_imm_s, imm),
            Andi => ri!(band_imm_s, imm),
            Slli => ri!(ishl_imm_s, imm & 63),
            Srli => ri!(ushr_imm_s, imm & 63),
            Srai => ri!(sshr_imm_s, imm & 63),
            Add => rr!(iadd),
            Sub => rr!(isub),
            Sll => rr!(ishl),
            Srl => rr!(ushr),
            Sra => rr!(sshr),
            Xor => rr!(bxor),
            Or => rr!(bor),
            And => rr!(band),
            Slt => {
                let (a, b) = (self.x(r1), self.x(r2));
                cmp!(IntCC::SignedLessThan, a, b)
            }
            Sltu => {
                let (a, b) = (self.x(r1), self.x(r2));
                cmp!(IntCC::UnsignedLessThan, a, b)
            }
            Addiw => {
                let a = self.x(r1);
                let v = self.b.ins().iadd_imm_s(a, imm);
                self.sx32(v)
            }
            Slliw | Srliw | Sraiw => {
                let a = self.x(r1);
                let a = self.lo32(a);
                let sh = imm & 31;
                let v = match i.op {
                    Slliw => self.b.ins().ishl_imm_s(a, sh),
                    Srliw => self.b.ins().ushr_imm_s(a, sh),
                    _ => self.b.ins().sshr_imm_s(a, sh),
                };
                self.b.ins().sextend(types::I64, v)
            }
            Addw => rrw!(iadd),
            Subw => rrw!(isub),
            Sllw => rrw!(ishl),
            Srlw => rrw!(ushr),
            Sraw => rrw!(sshr),
            Mul => rr!(imul),
            Mulh => rr!(smulhi),
            Mulhu => rr!(umulhi),
            Mulhsu => {
                let a = self.x(r1);
                let b = self.x(r2);
                let h = self.b.ins().umulhi(a, b);
                let s = self.b.ins().sshr_imm_s(a, 63);
                let t = self.b.ins().band(s, b);
                self.b.ins().isub(h, t)
            }
            Mulw => rrw!(imul),
            Div | Divu | Rem | Remu | Divw | Divuw | Remw | Remuw => {
                let a = self.x(r1);
                let b = self.x(r2);
                let signed = matches!(i.op, Div | Rem | Divw | Remw);
                let rem = matches!(i.op, Rem | Remu | Remw | Remuw);
                let w32 = matches!(i.op, Divw | Divuw | Remw | Remuw);
                self.divrem(a, b, signed, rem, w32)
            }
            Fence => {
                self.k += 1;
                return Flow::Next;
            }
            AddUw => {
                let a = self.x(r1);
                let a = self.zx32(a);
                let b = self.x(r2);
                self.b.ins().iadd(a, b)
            }
            Sh1add | Sh2add | Sh3add | Sh1addUw | Sh2addUw | Sh3addUw => {
                let a = self.x(r1);
                let a = if matches!(i.op, Sh1addUw | Sh2addUw | Sh3addUw) {
                    self.zx32(a)
                } else {
                    a
                };
                let sh = match i.op {
                    Sh1add | Sh1addUw => 1,
                    Sh2add | Sh2addUw => 2,
                    _ => 3,
                };
                let a = self.b.ins().ishl_imm_s(a, sh);
                let b = self.x(r2);
                self.b.ins().iadd(a, b)
            }
            SlliUw => {
                let a = self.x(r1);
                let a = self.zx32(a);
                self.b.ins().ishl_imm_s(a, imm & 63)
            }
            Andn => rr!(band_not),
            Orn => rr!(bor_not),
            Xnor => rr!(bxor_not),
            Clz => {
                let a = self.x(r1);
                self.b.ins().clz(a)
            }
            Ctz => {
                let a = self.x(r1);
                self.b.ins().ctz(a)
            }
            Cpop => {
                let a = self.x(r1);
                self.b.ins().popcnt(a)
            }
            Clzw => unw!(clz),
            Ctzw => unw!(ctz),
            Cpopw => unw!(popcnt),
            Max => rr!(smax),
            Maxu => rr!(umax),
            Min => rr!(smin),
            Minu => rr!(umin),
            SextB | SextH => {
                let a = self.x(r1);
                let t = if i.op == SextB { types::I8 } else { types::I16 };
                let n = self.b.ins().ireduce(t, a);
                self.b.ins().sextend(types::I64, n)
            }
            ZextH => ri!(band_imm_s, 0xffff),
            Rol => rr!(rotl),
            Ror => rr!(rotr),
            Rori => ri!(rotr_imm_s, imm & 63),
            Rolw => rrw!(rotl),
            Rorw => rrw!(rotr),
            Roriw => {
                let a = self.x(r1);
                let a = self.lo32(a);
                let v = self.b.ins().rotr_imm_s(a, imm & 31);
                self.b.ins().sextend(types::I64, v)
            }
            Rev8 => {
                let a = self.x(r1);
                self.b.ins().bswap(a)
            }
            Bclr | Bset | Binv | Bext => {
                let a = self.x(r1);
                let b = self.x(r2);
                if i.op == Bext {
                    let s = self.b.ins().ushr(a, b);
                    self.b.ins().band_imm_s(s, 1)
                } else {
                    let one = self.iconst(1);
                    let m = self.b.ins().ishl(one, b);
                    match i.op {
                        Bclr => self.b.ins().band_not(a, m),
                        Bset => self.b.ins().bor(a, m),
                        _ => self.b.ins().bxor(a, m),
                    }
                }
            }
            Bclri => ri!(band_imm_s, !(1i64 << (imm & 63))),
            Bseti => ri!(bor_imm_s, 1i64 << (imm & 63)),
            Binvi => ri!(bxor_imm_s, 1i64 << (imm & 63)),
            Bexti => {
                let a = self.x(r1);
                let s = self.b.ins().ushr_imm_s(a, imm & 63);
                self.b.ins().band_imm_s(s, 1)
            }
            CzeroEqz | CzeroNez => {
                let a = self.x(r1);
                let b = self.x(r2);
                let z = self.iconst(0);
                if i.op == CzeroEqz {
                    self.b.ins().select(b, a, z)
                } else {
                    self.b.ins().select(b, z, a)
                }
            }
            _ => {
                if let Some(flow) = self.emit_fp(gi, i, off) {
                    return flow;
                }
                return self.emit_generic(gi, i, off);
            }
        };
        self.set_x(i.rd, v);
        self.k += 1;
        Flow::Next
    }

    /// Splits an FP instruction into a host fast path (`fast`, taken when `ok`, or when the
    /// exactness test `exact` shows the host result raises no flag) and a slow path that leaves
    /// translated code at the instruction (global index `gi`, offset `off`) for tier 0 to run
    /// it. Leaving instead of calling a helper keeps region code free of calls: a call anywhere
    /// in a loop clobbers every caller-saved host register, so the loop's values would live in
    /// callee-saved registers or on the stack on the hot path too. `rd` (`x[rd]` when `xdest`,
    /// else `f[rd]`: raw bits, or an F64 value) gets the fast result.
    #[allow(clippy::too_many_arguments)]
    fn fast_or_exit(
        &mut self,
        gi: usize,
        off: i64,
        i: &Insn,
        ok: Value,
        fast: Value,
        xdest: bool,
        exact: Option<Exact>,
    ) -> Flow {
        let join = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        // When `ok` fails (NX clear, or an unusual result), an exactness test may still show
        // that the host result raises no flag (see `fp_exact.rs`).
        // Out of line: with NX set (as soon as a program has had one inexact result) `ok`
        // holds for every ordinary result.
        let second = match exact {
            Some(_) => {
                let t = self.b.create_block();
                self.b.set_cold_block(t);
                t
            }
            None => slow,
        };
        self.b.ins().brif(ok, join, &[], second, &[]);
        if let Some(x) = exact {
            self.b.switch_to_block(second);
            let ok2 = self.exact_ok(&x);
            self.b.ins().brif(ok2, join, &[], slow, &[]);
        }
        self.b.switch_to_block(slow);
        self.miss_exit(gi, off);
        self.b.switch_to_block(join);
        if xdest {
            self.set_x(i.rd, fast);
        } else if self.b.func.dfg.value_type(fast) == types::F64 {
            self.set_fd(i.rd, fast);
        } else {
            self.set_f(i.rd, fast);
        }
        self.k += 1;
        Flow::Next
    }

    fn bits_to_f64(&mut self, v: Value) -> Value {
        self.b.ins().bitcast(types::F64, MemFlagsData::new(), v)
    }

    fn f64_to_bits(&mut self, v: Value) -> Value {
        self.b.ins().bitcast(types::I64, MemFlagsData::new(), v)
    }

    /// The single-precision value of a NaN-boxed register (as F32).
    fn bits_to_f32(&mut self, v: Value) -> Value {
        let lo = self.b.ins().ireduce(types::I32, v);
        self.b.ins().bitcast(types::F32, MemFlagsData::new(), lo)
    }

    /// Whether a register holds a NaN-boxed single.
    fn boxed(&mut self, v: Value) -> Value {
        let hi = self.b.ins().ushr_imm_s(v, 32);
        self.b.ins().icmp_imm_s(IntCC::Equal, hi, 0xffff_ffff)
    }

    /// Whether fflags.NX is already set (then an inexact host result changes no flag).
    ///
    /// Read once at region entry: inside a region NX can only go from clear to set (by a slow
    /// path), so the entry value is a safe under-approximation.
    fn nx_set(&mut self) -> Value {
        self.nx
    }

    /// Whether a result (raw bits) is a normal number with exponent field >= 2: not zero,
    /// subnormal, the smallest normal binade (tininess after rounding), infinite or NaN. With NX
    /// already set, such a result raises no flag that the host could have missed.
    fn plain_result(&mut self, bits: Value, double: bool) -> Value {
        let (shift, mask, lim) = if double {
            (52, 0x7ff, 0x7fd)
        } else {
            (23, 0xff, 0xfd)
        };
        let e = self.b.ins().ushr_imm_s(bits, shift);
        let e = self.b.ins().band_imm_s(e, mask);
        let e = self.b.ins().iadd_imm_s(e, -2);
        self.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, e, lim)
    }

    /// Inline FP where host results provably equal RISC-V's (round-to-nearest-even, no new
    /// flags); `None`: use the generic helper.
    fn emit_fp(&mut self, gi: usize, i: &Insn, off: i64) -> Option<Flow> {
        use Op::*;
        if !mode_fs_dirty(self.d.mode) {
            return None;
        }
        let rne = i.rm == 0 || (i.rm == 7 && mode_frm(self.d.mode) == 0);
        let (rd, r1, r2, r3) = (i.rd, i.rs1, i.rs2, i.rs3);
        match i.op {
            FaddD | FsubD | FmulD | FdivD | FsqrtD | FmaddD | FmsubD | FnmsubD | FnmaddD if rne => {
                let is_fma = matches!(i.op, FmaddD | FmsubD | FnmsubD | FnmaddD);
                if is_fma && !self.fma {
                    return None;
                }
                let a = self.fd(r1);
                let b = if i.op == FsqrtD { a } else { self.fd(r2) };
                let c = is_fma.then(|| self.fd(r3));
                let r = match (i.op, c) {
                    (FaddD, _) => self.b.ins().fadd(a, b),
                    (FsubD, _) => self.b.ins().fsub(a, b),
                    (FmulD, _) => self.b.ins().fmul(a, b),
                    (FdivD, _) => self.b.ins().fdiv(a, b),
                    (FsqrtD, _) | (_, None) => self.b.ins().sqrt(a),
                    (_, Some(c)) => {
                        let (na, nc) = match i.op {
                            FmaddD => (false, false),
                            FmsubD => (false, true),
                            FnmsubD => (true, false),
                            _ => (true, true),
                        };
                        let a = if na { self.b.ins().fneg(a) } else { a };
                        let c = if nc { self.b.ins().fneg(c) } else { c };
                        self.b.ins().fma(a, b, c)
                    }
                };
                let bits = self.f64_to_bits(r);
                let p = self.plain_result(bits, true);
                let nx = self.nx_set();
                let ok = self.b.ins().band(p, nx);
                let exact = exact_op(i.op)
                    .filter(|&op| self.exact_possible(op))
                    .map(|op| Exact {
                        op,
                        a,
                        b,
                        c,
                        r,
                        rbits: bits,
                        double: true,
                        pre: None,
                    });
                Some(self.fast_or_exit(gi, off, i, ok, r, false, exact))
            }
            FaddS | FsubS | FmulS | FdivS | FsqrtS | FmaddS | FmsubS | FnmsubS | FnmaddS if rne => {
                let is_fma = matches!(i.op, FmaddS | FmsubS | FnmsubS | FnmaddS);
                if is_fma && !self.fma {
                    return None;
                }
                let ra = self.f(r1);
                let rb = if i.op == FsqrtS { ra } else { self.f(r2) };
                let rc = if is_fma { self.f(r3) } else { ra };
                let mut ok = self.boxed(ra);
                if i.op != FsqrtS {
                    let bb = self.boxed(rb);
                    ok = self.b.ins().band(ok, bb);
                }
                if is_fma {
                    let bc = self.boxed(rc);
                    ok = self.b.ins().band(ok, bc);
                }
                let a = self.bits_to_f32(ra);
                let b = self.bits_to_f32(rb);
                let c = is_fma.then(|| self.bits_to_f32(rc));
                let r = match (i.op, c) {
                    (FaddS, _) => self.b.ins().fadd(a, b),
                    (FsubS, _) => self.b.ins().fsub(a, b),
                    (FmulS, _) => self.b.ins().fmul(a, b),
                    (FdivS, _) => self.b.ins().fdiv(a, b),
                    (FsqrtS, _) | (_, None) => self.b.ins().sqrt(a),
                    (_, Some(c)) => {
                        let (na, nc) = match i.op {
                            FmaddS => (false, false),
                            FmsubS => (false, true),
                            FnmsubS => (true, false),
                            _ => (true, true),
                        };
                        let a = if na { self.b.ins().fneg(a) } else { a };
                        let c = if nc { self.b.ins().fneg(c) } else { c };
                        self.b.ins().fma(a, b, c)
                    }
                };
                let bits = self.b.ins().bitcast(types::I32, MemFlagsData::new(), r);
                let bits = self.b.ins().uextend(types::I64, bits);
                let p = self.plain_result(bits, false);
                let nx = self.nx_set();
                let pre = ok;
                let ok = self.b.ins().band(ok, p);
                let ok = self.b.ins().band(ok, nx);
                let boxed = self
                    .b
                    .ins()
                    .bor_imm_s(bits, 0xffff_ffff_0000_0000u64 as i64);
                let exact = exact_op(i.op)
                    .filter(|&op| self.exact_possible(op))
                    .map(|op| Exact {
                        op,
                        a,
                        b,
                        c,
                        r,
                        rbits: bits,
                        double: false,
                        pre: Some(pre),
                    });
                Some(self.fast_or_exit(gi, off, i, ok, boxed, false, exact))
            }
            FsgnjD | FsgnjnD | FsgnjxD if r1 == r2 => {
                // fmv.d, fneg.d, fabs.d: sign-bit operations on the host FP value (Cranelift's
                // `fneg` and `fabs` are bitwise, NaNs included).
                let a = self.fd(r1);
                let v = match i.op {
                    FsgnjD => a,
                    FsgnjnD => self.b.ins().fneg(a),
                    _ => self.b.ins().fabs(a),
                };
                self.set_fd(rd, v);
                self.k += 1;
                Some(Flow::Next)
            }
            FsgnjD | FsgnjnD | FsgnjxD => {
                let a = self.f(r1);
                let b = self.f(r2);
                let sign = 1i64 << 63;
                let v = match i.op {
                    FsgnjD => {
                        let m = self.b.ins().band_imm_s(a, !sign);
                        let s = self.b.ins().band_imm_s(b, sign);
                        self.b.ins().bor(m, s)
                    }
                    FsgnjnD => {
                        let m = self.b.ins().band_imm_s(a, !sign);
                        let nb = self.b.ins().bnot(b);
                        let s = self.b.ins().band_imm_s(nb, sign);
                        self.b.ins().bor(m, s)
                    }
                    _ => {
                        let s = self.b.ins().band_imm_s(b, sign);
                        self.b.ins().bxor(a, s)
                    }
                };
                self.set_f(rd, v);
                self.k += 1;
                Some(Flow::Next)
            }
            FmvXD => {
                let a = self.f(r1);
                self.set_x(rd, a);
                self.k += 1;
                Some(Flow::Next)
            }
            FmvDX => {
                let a = self.x(r1);
                self.set_f(rd, a);
                self.k += 1;
                Some(Flow::Next)
            }
            FmvXW => {
                let a = self.f(r1);
                let v = self.sx32(a);
                self.set_x(rd, v);
                self.k += 1;
                Some(Flow::Next)
            }
            FmvWX => {
                let a = self.x(r1);
                let v = self.zx32(a);
                let v = self.b.ins().bor_imm_s(v, 0xffff_ffff_0000_0000u64 as i64);
                self.set_f(rd, v);
                self.k += 1;
                Some(Flow::Next)
            }
            FeqD | FltD | FleD => {
                let a = self.fd(r1);
                let b = self.fd(r2);
                let cc = match i.op {
                    FeqD => FloatCC::Equal,
                    FltD => FloatCC::LessThan,
                    _ => FloatCC::LessThanOrEqual,
                };
                let c = self.b.ins().fcmp(cc, a, b);
                let v = self.bool64(c);
                let ord = self.b.ins().fcmp(FloatCC::Ordered, a, b);
                Some(self.fast_or_exit(gi, off, i, ord, v, true, None))
            }
            FcvtDW | FcvtDL if rne => {
                let a = self.x(r1);
                let r = if i.op == FcvtDW {
                    let a = self.lo32(a);
                    self.b.ins().fcvt_from_sint(types::F64, a)
                } else {
                    self.b.ins().fcvt_from_sint(types::F64, a)
                };
                if i.op == FcvtDW {
                    // Exact for every int32.
                    self.set_fd(rd, r);
                    self.k += 1;
                    return Some(Flow::Next);
                }
                let ok = self.nx_set();
                Some(self.fast_or_exit(gi, off, i, ok, r, false, None))
            }
            _ => None,
        }
    }

    /// Forward data flow: the registers that may be dirty (written since region entry) on entry
    /// to each block.
    fn compute_dirty_in(&mut self) {
        let d = self.d;
        let n = d.blocks.len();
        let mut writes = vec![(0u32, 0u32); n];
        let mut refs = vec![(0u32, 0u32); n];
        let mut costs = vec![BlockCost::default(); n];
        let mut succ: Vec<Vec<(usize, bool)>> = vec![Vec::new(); n];
        for (bi, blk) in d.blocks.iter().enumerate() {
            if self.by_off.get(&blk.off).map(|&(o, _)| o) != Some(bi) {
                // A duplicate of an earlier block: never emitted.
                continue;
            }
            let mut off = blk.off;
            let (mut seen, mut written): (Regs, Regs) = ((0, 0), (0, 0));
            for i in &blk.insns {
                let u = regs_of(i);
                writes[bi].0 |= u.wx & !1;
                writes[bi].1 |= u.wf;
                refs[bi].0 |= u.rx | u.wx;
                refs[bi].1 |= u.rf | u.wf;
                costs[bi].add(
                    (u.rx & !1, u.rf),
                    (u.wx & !1, u.wf),
                    &mut seen,
                    &mut written,
                );
                off += i.len as i64;
            }
            let mut targets = vec![off];
            if let Some(last) = blk.insns.last() {
                let last_off = off - last.len as i64;
                if matches!(
                    last.op,
                    Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu | Op::Jal
                ) {
                    targets.push(last_off.wrapping_add(last.imm));
                }
            }
            for t in targets {
                if let Some(&(owner, _)) = self.by_off.get(&t) {
                    // The same rule as `new_edge`: a target not after the block's start is a
                    // back-edge.
                    succ[bi].push((owner, t <= blk.off));
                }
            }
        }
        self.loops = Loops::find(&succ, &refs);
        // The probe cache's values take host registers in the innermost loops.
        self.setup_probes();
        let budget = Budget {
            x: self.host_regs.0.saturating_sub(FIXED_HOST_REGS),
            f: self.host_regs.1.saturating_sub(FIXED_HOST_FP_REGS),
            min: MIN_REG_BUDGET,
            // A slot's tag and host addend.
            per_probe: 2,
        };
        let probes: Vec<u32> = (0..n).map(|bi| self.probes_used(bi)).collect();
        self.loops.evict(&costs, &probes, budget);
        let mut din = vec![(0u32, 0u32); n];
        let mut changed = true;
        while changed {
            changed = false;
            for bi in 0..n {
                // Resident registers are written through: never dirty.
                let res = self.loops.resident_at(bi);
                let out = (
                    (din[bi].0 | writes[bi].0) & !res.0,
                    (din[bi].1 | writes[bi].1) & !res.1,
                );
                for &(s, _) in &succ[bi] {
                    // Registers stored on the edge are clean in the target.
                    let st = self.edge_traffic(bi, s).store;
                    let new = (din[s].0 | (out.0 & !st.0), din[s].1 | (out.1 & !st.1));
                    if new != din[s] {
                        din[s] = new;
                        changed = true;
                    }
                }
            }
        }
        self.dirty_in = din;
    }

    /// Hands `insn` (global index `gi`) at offset `off` to tier 0: translated code ends before
    /// it and the dispatcher executes it (system instructions, CSRs, AMOs, rare FP). Leaving
    /// instead of calling keeps the host's caller-saved registers usable across the region.
    fn emit_generic(&mut self, gi: usize, _insn: &Insn, off: i64) -> Flow {
        self.miss_exit(gi, off);
        Flow::Done
    }

    /// The host address of the TLB entry for `va` in the region's data MMU index.
    fn tlb_entry(&mut self, va: Value) -> Value {
        // `tlb_index(va) * 48`, computed as `idx * 16` straight from the address (the shifts
        // stop 4 bits early) times 3 (an `lea`, where a multiply would cost 3 cycles).
        let lo = self.b.ins().ushr_imm_s(va, 12 - 4);
        let hi = self
            .b
            .ins()
            .ushr_imm_s(va, (12 + TLB_FOLD_SHIFT - 4) as i64);
        let idx16 = self.b.ins().bxor(lo, hi);
        let idx16 = self.b.ins().band_imm_s(idx16, ((TLB_SIZE - 1) << 4) as i64);
        let x2 = self.b.ins().ishl_imm_s(idx16, 1);
        let off = self.b.ins().iadd(idx16, x2);
        let base = TLB_OFF + mode_data_idx(self.d.mode) * size_of::<Tlb>();
        let off = self.b.ins().iadd_imm_s(off, base as i64);
        let cpu = self.cpu_here();
        self.b.ins().iadd(cpu, off)
    }

    fn write_dest(&mut self, dest: Dest, v: Value) {
        match dest {
            Dest::X(r) => self.set_x(r, v),
            // Loaded as F64.
            Dest::F64(r) => self.set_fd(r, v),
            Dest::F32(r) => {
                let v = self.b.ins().bor_imm_s(v, 0xffff_ffff_0000_0000u64 as i64);
                self.set_f(r, v)
            }
        }
    }

    /// Ends translated code before the instruction at `off` (global index `gi`): stores the
    /// state and returns the instruction's address tagged with bit 0, asking the dispatcher to
    /// execute it on tier 0 (see [`MISS_TAG`]).
    fn miss_exit(&mut self, gi: usize, off: i64) {
        let pc = self.pc_at(off);
        self.sync_state(pc);
        let ia = (self.d.insns_addr + (gi * size_of::<Insn>()) as u64) | MISS_TAG;
        self.ret(ia as i64);
    }
}

/// The operation an FP instruction's exactness test checks.
fn exact_op(op: Op) -> Option<ExactOp> {
    use Op::*;
    match op {
        FaddD | FaddS => Some(ExactOp::Add),
        FsubD | FsubS => Some(ExactOp::Sub),
        FmulD | FmulS => Some(ExactOp::Mul),
        FdivD | FdivS => Some(ExactOp::Div),
        FsqrtD | FsqrtS => Some(ExactOp::Sqrt),
        FmaddD | FmaddS | FmsubD | FmsubS | FnmsubD | FnmsubS | FnmaddD | FnmaddS => {
            Some(ExactOp::Fma)
        }
        _ => None,
    }
}

/// A control-flow edge: the block to branch to and how to fill it.
struct Edge {
    blk: Block,
    fill: Option<(i64, EdgeKind)>,
}

enum EdgeKind {
    /// To a block of the region, with register traffic.
    Internal(Block, Traffic),
    /// Out of the region through exit slot `usize`.
    Exit(usize),
}

/// Where a loaded value goes.
#[derive(Clone, Copy)]
enum Dest {
    /// An integer register (value already extended).
    X(u8),
    /// An FP register, 64-bit value (loaded as F64).
    F64(u8),
    /// An FP register, 32-bit value to NaN-box.
    F32(u8),
}

/// Registers an instruction reads and writes (bit masks).
#[derive(Default)]
struct RegUse {
    rx: u32,
    wx: u32,
    rf: u32,
    wf: u32,
}

/// The registers an instruction may read and write. Over-approximations are safe (a register
/// read but not listed would be undefined in translated code, one written but not listed
/// would not be stored at exits).
fn regs_of(i: &Insn) -> RegUse {
    use Op::*;
    let b = |r: u8| 1u32 << (r & 31);
    let mut u = RegUse::default();
    match class_of(i.op) {
        Class::Fp => {
            // Integer source in rs1 (memory base, conversion or move from an integer).
            let int_src = matches!(
                i.op,
                Flw | Fld
                    | Fsw
                    | Fsd
                    | FcvtSW
                    | FcvtSWu
                    | FcvtSL
                    | FcvtSLu
                    | FmvWX
                    | FcvtDW
                    | FcvtDWu
                    | FcvtDL
                    | FcvtDLu
                    | FmvDX
            );
            // Integer destination (comparison, classification, conversion or move to one).
            let int_dst = matches!(
                i.op,
                FcvtWS
                    | FcvtWuS
                    | FcvtLS
                    | FcvtLuS
                    | FmvXW
                    | FeqS
                    | FltS
                    | FleS
                    | FclassS
                    | FeqD
                    | FltD
                    | FleD
                    | FclassD
                    | FcvtWD
                    | FcvtWuD
                    | FcvtLD
                    | FcvtLuD
                    | FmvXD
                    | FcvtmodWD
                    | FltqS
                    | FleqS
                    | FltqD
                    | FleqD
            );
            let fma = matches!(
                i.op,
                FmaddS | FmsubS | FnmsubS | FnmaddS | FmaddD | FmsubD | FnmsubD | FnmaddD
            );
            if int_src {
                u.rx = b(i.rs1);
            } else {
                u.rf = b(i.rs1);
            }
            // rs2 of one-operand instructions is a sub-opcode: listing it is harmless.
            u.rf |= b(i.rs2);
            if fma {
                u.rf |= b(i.rs3);
            }
            if int_dst {
                u.wx = b(i.rd);
            } else if !matches!(i.op, Fsw | Fsd) {
                u.wf = b(i.rd);
            }
        }
        Class::Int => {
            u.rx = b(i.rs1) | b(i.rs2);
            u.wx = b(i.rd);
        }
    }
    u
}

#[derive(PartialEq, Eq)]
enum Class {
    Int,
    Fp,
}

fn class_of(op: Op) -> Class {
    if (op as u16) >= (Op::Flw as u16) && op != Op::Custom {
        Class::Fp
    } else {
        Class::Int
    }
}
