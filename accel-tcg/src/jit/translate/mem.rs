//! Guest loads and stores: inline softmmu TLB probes, and reuse of earlier probes.
//!
//! A probe compares the TLB entry's tag (the page address, zero low bits; a never-matching
//! value when the fast path is not allowed) with `va & (PAGE_MASK | (size - 1))`: equal means
//! same page and aligned. After a hit, the tag and the host addend stay valid until translated
//! code is left (TLB fills and flushes happen only in the dispatcher or on tier 0), so a later
//! access of the same kind (load or store) can compare its own masked address with a cached tag
//! instead of indexing the TLB; a different page or a misaligned access fails the compare and
//! takes the full probe (then the TLB miss exit), so page crossings are exact whatever the
//! cache holds.
//!
//! The cache has a few slots for the whole region (held in variables, so a loop's next pass
//! sees the pages its previous pass used), for the accesses of its innermost loops, keyed by
//! base register, kind and the 4 KiB bucket of the offset: accesses through one base register
//! mostly stay on one page (unrolled loops: `ld a5, 0(a4)`, `ld a3, 8(a4)`, ...; a pointer
//! walking a buffer; a table base plus a small index). The first key of each kind gets a slot
//! first; an access whose key got none shares the first slot of its kind (an unrolled copy with
//! one pointer per word reads one page through all of them). A slot starts with a tag no
//! address matches.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, Value};
use cranelift_frontend::Variable;

use super::{guest_mem, trusted, Dest, Emitter, TLBE_ADDEND, TLBE_READ, TLBE_WRITE};
use crate::mmu::PAGE_MASK;

/// Cache slots per region (each holds two values live across the region: tag and addend).
const MAX_PROBES: usize = 3;

/// A cache slot: the last TLB probe that hit for accesses of one kind through `base` with
/// offsets in one 4 KiB bucket.
pub(super) struct Probe {
    /// The base register (5 bits).
    base: u8,
    /// `offset >> 12`.
    bucket: i64,
    /// Probed for stores (else loads).
    write: bool,
    /// The matched tag (page address).
    tag: Variable,
    /// The entry's host addend.
    addend: Variable,
}

/// The memory operation of an access.
#[derive(Clone, Copy)]
enum Op {
    /// A load of `size` bytes, sign- or zero-extended to 64 bits (`float`: 8 bytes into an F64
    /// value).
    Load { size: u8, signed: bool, float: bool },
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

/// The slot key of a memory instruction (base register, offset bucket, store), if it is one.
fn key_of(i: &crate::decode::Insn, fs: bool) -> Option<(u8, i64, bool)> {
    use crate::decode::Op::*;
    let write = match i.op {
        Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => false,
        Flw | Fld if fs => false,
        Sb | Sh | Sw | Sd => true,
        Fsw | Fsd if fs => true,
        _ => return None,
    };
    Some((i.rs1 & 31, i.imm >> 12, write))
}

impl Emitter<'_, '_> {
    /// Creates the cache slots (in the entry block: their variables start with a tag no address
    /// matches) for the first distinct keys of the region's memory instructions. Not in the
    /// quick tier (registers in memory): fewer live values for its simple register allocator.
    pub(super) fn setup_probes(&mut self) {
        if self.d.regs_in_memory {
            return;
        }
        let fs = super::mode_fs_dirty(self.d.mode);
        let d = self.d;
        // Only for the accesses of the innermost loops: a slot's two values are live across
        // the whole region, and in the loops that do not use it they only add spills.
        let owned = |bi: usize| self.by_off.get(&d.blocks[bi].off).map(|&(o, _)| o) == Some(bi);
        let depth = (0..d.blocks.len())
            .filter(|&bi| owned(bi))
            .map(|bi| self.loops.depth(bi))
            .max()
            .unwrap_or(0);
        let mut keys: Vec<(u8, i64, bool)> = Vec::new();
        for (bi, blk) in d.blocks.iter().enumerate() {
            if !owned(bi) || self.loops.depth(bi) != depth {
                continue;
            }
            for i in &blk.insns {
                if let Some(k) = key_of(i, fs) {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
            }
        }
        // The first key of each kind first (accesses whose key has no slot share the first slot
        // of their kind: see `slot_for`), then the others in order.
        let mut chosen: Vec<(u8, i64, bool)> = Vec::new();
        for write in [false, true] {
            if let Some(&k) = keys.iter().find(|k| k.2 == write) {
                chosen.push(k);
            }
        }
        for &k in &keys {
            if chosen.len() >= MAX_PROBES {
                break;
            }
            if !chosen.contains(&k) {
                chosen.push(k);
            }
        }
        for (base, bucket, write) in chosen {
            let tag = self.b.declare_var(types::I64);
            let addend = self.b.declare_var(types::I64);
            let never = self.b.ins().iconst(types::I64, -1);
            let zero = self.b.ins().iconst(types::I64, 0);
            self.b.def_var(tag, never);
            self.b.def_var(addend, zero);
            self.probes.push(Probe {
                base,
                bucket,
                write,
                tag,
                addend,
            });
        }
    }

    /// The cache slot an access of kind `write` through `base` with offset bucket `bucket`
    /// uses: its own, else the first one of its kind (accesses through different base
    /// registers often share a page, e.g. an unrolled copy with one pointer per word; when they
    /// do not, the shared slot's compare fails and the access takes the full probe, which
    /// refills the slot).
    fn slot_for(&self, base: u8, bucket: i64, write: bool) -> Option<usize> {
        self.probes
            .iter()
            .position(|p| p.base == base && p.bucket == bucket && p.write == write)
            .or_else(|| self.probes.iter().position(|p| p.write == write))
    }

    /// The cache slots the memory instructions of guest block `bi` use (bit `k`: slot `k`).
    pub(super) fn probes_used(&self, bi: usize) -> u32 {
        let fs = super::mode_fs_dirty(self.d.mode);
        let mut m = 0;
        for i in self.d.blocks.get(bi).map_or(&[][..], |b| &b.insns[..]) {
            let Some((base, bucket, write)) = key_of(i, fs) else {
                continue;
            };
            if let Some(k) = self.slot_for(base, bucket, write) {
                m |= 1 << k;
            }
        }
        m
    }

    /// Emits `op` at host address `host`; the loaded value for a load.
    fn access_at(&mut self, host: Value, op: Op) -> Option<Value> {
        let m = guest_mem();
        match op {
            Op::Load { float: true, .. } => Some(self.b.ins().load(types::F64, m, host, 0)),
            Op::Load { size, signed, .. } => Some(match (size, signed) {
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
    fn guest_access(
        &mut self,
        va: Value,
        op: Op,
        (base, imm): (u8, i64),
        gi: usize,
        off: i64,
    ) -> Option<Value> {
        let (base, bucket) = (base & 31, imm >> 12);
        let write = matches!(op, Op::Store { .. });
        let cmp = self
            .b
            .ins()
            .band_imm_s(va, (PAGE_MASK | (op.size() as u64 - 1)) as i64);
        let ty = match op {
            Op::Load { float: true, .. } => types::F64,
            _ => types::I64,
        };
        let result = self.b.declare_var(ty);
        let done = self.b.create_block();
        let cached = self
            .slot_for(base, bucket, write)
            .map(|k| (self.probes[k].tag, self.probes[k].addend));
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
            None => self.full_probe(va, cmp, op, None, result, done, gi, off, false),
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

    /// A load of `size` bytes at `va` (`base`: base register and offset) into `dest`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn load_into(
        &mut self,
        va: Value,
        size: u8,
        signed: bool,
        base: (u8, i64),
        gi: usize,
        off: i64,
        dest: Dest,
    ) {
        let float = matches!(dest, Dest::F64(_));
        let op = Op::Load {
            size,
            signed,
            float,
        };
        if let Some(v) = self.guest_access(va, op, base, gi, off) {
            self.write_dest(dest, v);
        }
    }

    /// A store of the low `size` bytes of `v` at `va` (`base`: base register and offset).
    pub(super) fn store(
        &mut self,
        va: Value,
        v: Value,
        size: u8,
        base: (u8, i64),
        gi: usize,
        off: i64,
    ) {
        self.guest_access(va, Op::Store { size, v }, base, gi, off);
    }
}
