//! Guest loads and stores: inline softmmu TLB probes, and reuse of a probe by later accesses
//! through the same base register.
//!
//! A probe compares the TLB entry's tag (the page address, zero low bits; a never-matching
//! value when the fast path is not allowed) with `va & (PAGE_MASK | (size - 1))`: equal means
//! same page and aligned. After a hit, the tag and the host addend stay valid until translated
//! code is left (TLB fills and flushes happen only in the dispatcher or on tier 0), so a later
//! access of the same kind (load or store) can compare its own masked address with the cached
//! tag instead of indexing the TLB again; a different page or a misaligned access fails the
//! compare and takes the full probe (then the TLB miss exit), so page crossings are exact.
//! Reuse is tried for accesses through the same base register while it is unchanged within one
//! guest block (unrolled loops: `ld a5, 0(a4)`, `ld a3, 8(a4)`, ...), where it almost always
//! hits.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, Value};
use cranelift_frontend::Variable;

use super::{guest_mem, trusted, Dest, Emitter, TLBE_ADDEND, TLBE_READ, TLBE_WRITE};
use crate::mmu::PAGE_MASK;

/// Cached probes per guest block (each holds two values live: tag and addend).
const MAX_PROBES: usize = 3;

/// A TLB probe that hit, reusable by later accesses of the same kind through `base`.
pub(super) struct Probe {
    /// The base register of the probed access (5 bits).
    pub base: u8,
    /// Probed for stores (else loads).
    pub write: bool,
    /// The matched tag (page address).
    tag: Variable,
    /// The entry's host addend.
    addend: Variable,
}

/// The memory operation of an access.
#[derive(Clone, Copy)]
enum Op {
    /// A load of `size` bytes, sign- or zero-extended to 64 bits.
    Load { size: u8, signed: bool },
    /// A store of the low `size` bytes of a value.
    Store { size: u8, v: Value },
}

impl Op {
    fn size(self) -> u8 {
        match self {
            Op::Load { size, .. } | Op::Store { size, .. } => size,
        }
    }
}

impl Emitter<'_, '_> {
    /// Emits `op` at host address `host`; the loaded value for a load.
    fn access_at(&mut self, host: Value, op: Op) -> Option<Value> {
        let m = guest_mem();
        match op {
            Op::Load { size, signed } => Some(match (size, signed) {
                (1, false) => self.b.ins().uload8(types::I64, m, host, 0),
                (1, true) => self.b.ins().sload8(types::I64, m, host, 0),
                (2, false) => self.b.ins().uload16(types::I64, m, host, 0),
                (2, true) => self.b.ins().sload16(types::I64, m, host, 0),
                (4, false) => self.b.ins().uload32(m, host, 0),
                (4, true) => self.b.ins().sload32(m, host, 0),
                _ => self.b.ins().load(types::I64, m, host, 0),
            }),
            Op::Store { size, v } => {
                match size {
                    1 => self.b.ins().istore8(m, v, host, 0),
                    2 => self.b.ins().istore16(m, v, host, 0),
                    4 => self.b.ins().istore32(m, v, host, 0),
                    _ => self.b.ins().store(m, v, host, 0),
                };
                None
            }
        }
    }

    /// Performs `op` at `va` (base register `base`) on the fast path, or leaves translated code
    /// at the instruction (global index `gi`, offset `off`). The access is emitted on each
    /// path that found the page (so its address folds into the host instruction); continues
    /// in a new block, with the loaded value for a load.
    fn guest_access(&mut self, va: Value, op: Op, base: u8, gi: usize, off: i64) -> Option<Value> {
        let base = base & 31;
        let write = matches!(op, Op::Store { .. });
        let cmp = self
            .b
            .ins()
            .band_imm_s(va, (PAGE_MASK | (op.size() as u64 - 1)) as i64);
        let result = self.b.declare_var(types::I64);
        let done = self.b.create_block();
        let cached = self
            .probes
            .iter()
            .find(|p| p.base == base && p.write == write)
            .map(|p| (p.tag, p.addend));
        match cached {
            Some((tag, addend)) => {
                let t = self.b.use_var(tag);
                let hit = self.b.ins().icmp(IntCC::Equal, t, cmp);
                let same = self.b.create_block();
                let reprobe = self.b.create_block();
                self.b.set_cold_block(reprobe);
                self.b.ins().brif(hit, same, &[], reprobe, &[]);
                self.b.switch_to_block(same);
                let a = self.b.use_var(addend);
                let h = self.b.ins().iadd(a, va);
                if let Some(v) = self.access_at(h, op) {
                    self.b.def_var(result, v);
                }
                self.b.ins().jump(done, &[]);
                self.b.switch_to_block(reprobe);
                let c = Some((tag, addend));
                self.full_probe(va, cmp, op, c, result, done, gi, off, true);
            }
            None => {
                // Not in the quick tier (registers in memory): fewer values for its simple
                // register allocator.
                let reuse = !self.d.regs_in_memory && self.probes.len() < MAX_PROBES;
                let cache = reuse.then(|| {
                    let tag = self.b.declare_var(types::I64);
                    let addend = self.b.declare_var(types::I64);
                    self.probes.push(Probe {
                        base,
                        write,
                        tag,
                        addend,
                    });
                    (tag, addend)
                });
                self.full_probe(va, cmp, op, cache, result, done, gi, off, false);
            }
        }
        self.b.switch_to_block(done);
        (!write).then(|| self.b.use_var(result))
    }

    /// Indexes the TLB for `va` (`cmp` is its masked form): on a hit performs `op` (a loaded
    /// value goes to `result`), defines the cached probe `cache` and jumps to `done`; on a miss
    /// leaves translated code. `cold`: the probe itself is off the hot path (a cached probe's
    /// page changed).
    #[allow(clippy::too_many_arguments)]
    fn full_probe(
        &mut self,
        va: Value,
        cmp: Value,
        op: Op,
        cache: Option<(Variable, Variable)>,
        result: Variable,
        done: Block,
        gi: usize,
        off: i64,
        cold: bool,
    ) {
        let e = self.tlb_entry(va);
        let field = match op {
            Op::Store { .. } => TLBE_WRITE,
            Op::Load { .. } => TLBE_READ,
        };
        let tag = self.b.ins().load(types::I64, trusted(), e, field);
        let hit = self.b.ins().icmp(IntCC::Equal, tag, cmp);
        let fast = self.b.create_block();
        if cold {
            self.b.set_cold_block(fast);
        }
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(hit, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        let addend = self.b.ins().load(types::I64, trusted(), e, TLBE_ADDEND);
        if let Some((t, a)) = cache {
            self.b.def_var(t, tag);
            self.b.def_var(a, addend);
        }
        let h = self.b.ins().iadd(addend, va);
        if let Some(v) = self.access_at(h, op) {
            self.b.def_var(result, v);
        }
        self.b.ins().jump(done, &[]);
        // Miss: leave translated code; the dispatcher runs this one instruction on tier 0
        // (page walk, MMIO, fault) and resumes. No call here keeps host registers free.
        self.b.switch_to_block(slow);
        self.miss_exit(gi, off);
    }

    /// A load of `size` bytes at `va` (base register `base`) into `dest`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn load_into(
        &mut self,
        va: Value,
        size: u8,
        signed: bool,
        base: u8,
        gi: usize,
        off: i64,
        dest: Dest,
    ) {
        let op = Op::Load { size, signed };
        if let Some(v) = self.guest_access(va, op, base, gi, off) {
            self.write_dest(dest, v);
        }
    }

    /// A store of the low `size` bytes of `v` at `va` (base register `base`).
    pub(super) fn store(&mut self, va: Value, v: Value, size: u8, base: u8, gi: usize, off: i64) {
        self.guest_access(va, Op::Store { size, v }, base, gi, off);
    }
}
