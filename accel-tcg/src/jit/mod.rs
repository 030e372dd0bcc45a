//! Compiled code: the baseline tier for warm blocks ([`baseline`], x86-64 hosts) and Cranelift
//! translation of hot code regions.
//!
//! - Levels: a tier-0 block that ran [`BASELINE_THRESHOLD`] times gets baseline code (a
//!   template per instruction, compiled synchronously in microseconds); baseline code that keeps
//!   running (`--jit-threshold` weighted runs, counted by its own entry countdown) is compiled
//!   by Cranelift at [`OptLevel::Full`]. Without the baseline tier, entries go from tier 0 to a
//!   [`OptLevel::Quick`] region, then to `Full` when they stay hot.
//! - A *region* is a set of tier-0 blocks from one guest physical page, found by following the
//!   static successors (branches, `jal`, fall-through) of a hot entry block. It is keyed by the
//!   entry's physical address and the [`mode_key`] (privilege, data MMU index, FS, frm), and its
//!   code works for any virtual address mapping that page (`pc` is read at entry).
//! - The dispatcher ([`dispatch`], called from the tier-0 run loop for hot blocks) counts
//!   executions of entries; at the threshold it forms the block or region and compiles it at
//!   the first level, Cranelift levels on the compile thread ([`worker`]) or synchronously.
//!   Code the dispatcher keeps entering ([`PROMOTE_ENTRIES`]) or whose countdown runs out is
//!   recompiled at the next level.
//!   Finished code is installed into the [`arena::CodeArena`] between two dispatches, so swapping
//!   tiers never races with running code.
//! - Memory accesses probe the softmmu TLB inline. A miss (page walk, MMIO, fault) and any
//!   instruction without an inline form (CSRs, system instructions, AMOs, rare FP) end
//!   translated code with the state stored for that instruction; the dispatcher runs it on tier
//!   0 ([`helpers::exec_insn`]) and carries on, so the exact guest pc and instret of faults and
//!   MMIO come for free, and region code makes no calls (an FP operation whose host result may
//!   differ in flags leaves the same way).
//! - Exits chain: a static exit tail-calls the code stored in its slot (filled by the dispatcher
//!   the first time the exit returns), an indirect jump looks the target up in the jump cache.
//! - Invalidation: the tier-0 hooks queue removed blocks, TLB flushes (whole, or of single
//!   pages) and `fence.i` in [`JitCpu`]; the dispatcher applies them before running any code
//!   (regions holding a removed block are dropped; links and jump-cache entries cleared, all of
//!   them or those into the flushed pages). A full arena flushes everything.

pub mod arena;
#[cfg(target_arch = "x86_64")]
mod baseline;
pub mod helpers;
mod layout;
mod links;
pub mod translate;
mod worker;

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::settings::{self, Configurable};

use crate::block::Block;
use crate::cpu::Cpu;
use crate::decode::{Insn, Op};
use crate::mmu::{Access, PAGE_MASK};

use arena::CodeArena;
use translate::{BlockDesc, RegionDesc, Translator};

/// Entries in the jump cache (power of two).
pub const JC_SIZE: usize = 4096;
/// Dispatcher entries (returns from translated code at timer polls, TLB misses and unlinked
/// exits: a sample of where time goes) after which a region compiled at [`OptLevel::Quick`] is
/// recompiled at [`OptLevel::Full`]. Measured on a Linux boot (single-threaded CPU time, same
/// instruction count): promoting after 64 entries recompiled 220 regions and cost 25 % more
/// than never promoting; at 4096 about 20 regions are recompiled (the boot's few real loops),
/// while a benchmark loop is promoted after ~16 M instructions (a few milliseconds). That was
/// with a timer poll every 4096 instructions; it is every 32768 now, so 512 keeps a loop's
/// promotion at ~16 M instructions (without it, `crc32` with `--jit-baseline off` ran 10 %
/// slower). Only the path without the baseline tier has quick code.
const PROMOTE_ENTRIES: u64 = 512;
/// Entries of a quick region, chained or dispatched (counted by its own code), after which it
/// is recompiled optimised. Regions that chain into each other in a loop are rarely entered
/// from the dispatcher, so [`PROMOTE_ENTRIES`] alone left e.g. a sort's partition loop in the
/// quick tier for good.
const PROMOTE_REGION_ENTRIES: u64 = 16384;
/// Page flushes queued for the dispatcher beyond which it clears every link instead.
const MAX_FLUSHED_PAGES: usize = 32;
/// Maximum blocks in a region.
const MAX_REGION_BLOCKS: usize = 16;
/// Maximum instructions in a region.
const MAX_REGION_INSNS: usize = 64;
/// Blocks considered for a region (see [`form_region`]).
const CANDIDATE_BLOCKS: usize = 48;
/// Instructions considered for a region.
const CANDIDATE_INSNS: usize = 256;
/// Invalidations after which a region entry stays on tier 0 (self-modifying code).
const MAX_REWRITES: u32 = 4;
/// Entries in the hotness map before it is reset.
const MAX_HOT_ENTRIES: usize = 1 << 20;
/// Code arena size.
const ARENA_SIZE: usize = 64 << 20;
/// Default Cranelift threshold: runs of a block (weighted, see `baseline::HELPER_WEIGHT`) as
/// baseline code, or of a region entry on tier 0 without the baseline tier, before a region is
/// compiled from it. Baseline code already runs warm code several times faster than tier 0, so
/// only code that runs for long is worth Cranelift's compile time. Linux boot to init, ratio to
/// QEMU (session 3, 7-9 interleaved runs, baseline code recompiled at the Full level directly):
/// 1 000 000 → 0.76×, 300 000 → 0.77×, 100 000 → 0.75-0.78×, 30 000 → 0.74× (flat within noise);
/// benchmarks against 1 000 000: sort 0.43 → 0.41 s, nbody 0.19 → 0.15 s, memsum 0.25 → 0.24 s
/// (less time in baseline code before the optimised code arrives), crc32 and hash unchanged.
/// (Before baseline code went straight to Full, with quick regions in between, the boot wanted
/// a million: 100 000 → 0.86×, 1 000 000 → 0.73×.)
pub const DEFAULT_THRESHOLD: u32 = 100_000;
/// Executions of a block before the baseline tier compiles it (when that tier is on: see
/// [`JitConfig::baseline`]). A block costs a few microseconds to compile there and then runs
/// several times faster than on tier 0.
pub const BASELINE_THRESHOLD: u32 = 32;

/// How the JIT tier runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitConfig {
    /// Whether hot code is compiled at all.
    pub enabled: bool,
    /// Executions of a region entry before it is compiled.
    pub threshold: u32,
    /// Compile on a background thread (else synchronously, deterministic: for tests).
    pub background: bool,
}

impl Default for JitConfig {
    fn default() -> Self {
        JitConfig {
            enabled: true,
            threshold: DEFAULT_THRESHOLD,
            background: true,
        }
    }
}

/// JIT counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JitStats {
    /// Regions compiled and installed.
    pub regions_compiled: u64,
    /// Guest instructions in compiled regions.
    pub insns_compiled: u64,
    /// Compilations that failed (the code keeps running on tier 0).
    pub compile_failures: u64,
    /// Host time spent compiling (on whichever thread).
    pub compile_time: Duration,
    /// Code arena flushes (generation resets).
    pub cache_flushes: u64,
    /// Regions dropped because their code was overwritten or `fence.i`.
    pub invalidations: u64,
    /// Exits that went straight into the next region (slot or jump cache).
    pub chained_exits: u64,
    /// Entries into compiled code from the dispatcher.
    pub dispatched_entries: u64,
    /// Regions recompiled at the full optimisation level because they stayed hot.
    pub upgrades: u64,
    /// Compile requests dropped unserved (they waited behind too many newer ones).
    pub compiles_dropped: u64,
    /// Blocks compiled by the baseline tier.
    pub baseline_blocks: u64,
    /// Guest instructions in those blocks.
    pub baseline_insns: u64,
    /// Exit slots linked by the dispatcher.
    pub links: u64,
    /// Instructions translated code handed to tier 0 (TLB misses, system instructions, CSRs,
    /// AMOs, FP without an inline form).
    pub tier0_steps: u64,
    /// Guest instructions retired while in translated code (including the tier-0 steps it
    /// handed over).
    pub jit_insns: u64,
}

/// The JIT's part of the CPU state (`#[repr(C)]`: translated code reads `limit` and writes
/// `chained` at fixed offsets).
#[repr(C)]
pub struct JitCpu {
    /// Translated code returns when `instret` reaches this (timer poll or budget).
    pub(crate) limit: u64,
    /// Chained exits taken by translated code.
    pub(crate) chained: u64,
    /// The jump cache's epoch in bits 32-63: an entry is valid only if its mode word equals
    /// `mode | jc_epoch`, so invalidating the cache is an increment.
    pub(crate) jc_epoch: u64,
    /// Whether the tier is on.
    pub(crate) enabled: bool,
    /// A TLB flush happened: virtual-address links and the jump cache are stale.
    pub(crate) flush_links: bool,
    /// Virtual pages whose translation was flushed (`sfence.vma` with an address): links and
    /// jump-cache entries into them are stale.
    pub(crate) flushed_pages: Vec<u64>,
    /// Set when the dispatcher found the entry it was asked about still being compiled (tier 0
    /// then leaves that block alone for a while instead of asking on every execution).
    pub(crate) pending_seen: bool,
    /// `fence.i` or similar: drop every region.
    pub(crate) flush_all: bool,
    /// Tier-0 blocks (by physical address) removed since the last dispatch.
    pub(crate) removed_blocks: Vec<u64>,
    pub(crate) config: JitConfigOpt,
    /// Dispatcher entries before Quick code is recompiled at the full level (0: compile at
    /// the full level directly).
    pub(crate) promote_after: u64,
    /// Whether warm blocks go to the baseline tier (see [`Cpu::set_jit_baseline`]).
    pub(crate) baseline: BaselineMode,
    pub(crate) stats: JitStats,
    pub(crate) state: Option<Box<JitState>>,
}

impl Default for JitCpu {
    fn default() -> Self {
        JitCpu {
            limit: 0,
            chained: 0,
            jc_epoch: 0,
            enabled: false,
            flush_links: false,
            flushed_pages: Vec::new(),
            pending_seen: false,
            flush_all: false,
            removed_blocks: Vec::new(),
            config: JitConfigOpt::default(),
            promote_after: PROMOTE_ENTRIES,
            baseline: BaselineMode::On,
            stats: JitStats::default(),
            state: None,
        }
    }
}

/// The configuration as stored in the CPU (`None` until set).
#[derive(Default, Clone, Copy)]
pub(crate) struct JitConfigOpt(Option<JitConfig>);

impl JitCpu {
    /// Whether invalidations are queued that the dispatcher must apply first.
    #[inline]
    pub(crate) fn needs_dispatch(&self) -> bool {
        self.flush_links
            || self.flush_all
            || !self.removed_blocks.is_empty()
            || !self.flushed_pages.is_empty()
    }

    /// Executions of a tier-0 block before the dispatcher compiles it: the baseline tier's
    /// threshold when that tier is on, else the configured (Cranelift) one.
    #[inline]
    pub(crate) fn threshold(&self) -> u32 {
        let t = self.config.0.map_or(DEFAULT_THRESHOLD, |c| c.threshold);
        if self.baseline_on() {
            BASELINE_THRESHOLD.min(t)
        } else {
            t
        }
    }

    /// Whether warm blocks go to the baseline tier first (asked for, and on an x86-64 host).
    #[inline]
    fn baseline_on(&self) -> bool {
        self.baseline != BaselineMode::Off && cfg!(target_arch = "x86_64")
    }

    /// Hook: tier 0 removed the block at physical `pa`.
    #[inline]
    pub(crate) fn block_removed(&mut self, pa: u64) {
        if self.enabled {
            self.removed_blocks.push(pa);
        }
    }

    /// Hook: every TLB was flushed.
    #[inline]
    pub(crate) fn tlb_flushed(&mut self) {
        self.flush_links = self.enabled;
    }

    /// Hook: the translation of virtual page `page` was flushed.
    #[inline]
    pub(crate) fn tlb_page_flushed(&mut self, page: u64) {
        if !self.enabled || self.flush_links {
            return;
        }
        if self.flushed_pages.len() >= MAX_FLUSHED_PAGES {
            // Cheaper to start over.
            self.flushed_pages.clear();
            self.flush_links = true;
        } else {
            self.flushed_pages.push(page);
        }
    }

    /// Hook: all translated code must go.
    #[inline]
    pub(crate) fn code_flushed(&mut self) {
        self.flush_all = self.enabled;
        self.removed_blocks.clear();
    }
}

/// The mode bits translated code is specialised for: privilege (bits 0-1), data MMU index
/// (2-3), mstatus.FS (4-5), frm (6-8).
#[inline]
pub(crate) fn mode_key(cpu: &Cpu) -> u32 {
    cpu.prv as u32
        | (cpu.data_idx as u32) << 2
        | (((cpu.mstatus >> 13) & 3) as u32) << 4
        | (cpu.frm as u32 & 7) << 6
}

/// Data MMU index of a mode key.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn mode_data_idx(mode: u32) -> usize {
    ((mode >> 2) & 3) as usize
}

/// Whether the FP state is Dirty in a mode key (FP instructions may then run inline).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn mode_fs_dirty(mode: u32) -> bool {
    (mode >> 4) & 3 == 3
}

/// One jump-cache entry (virtual pc and mode → code).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct JcEntry {
    vpc: u64,
    mode: u64,
    code: u64,
    /// Dispatcher entries through this entry (see [`PROMOTE_ENTRIES`]); not read by
    /// translated code.
    hits: u64,
}

const JC_EMPTY: JcEntry = JcEntry {
    vpc: 1, // odd: never a pc
    mode: u64::MAX,
    code: 0,
    hits: 0,
};

/// A fast non-cryptographic hasher for the dispatcher's maps (keys are guest addresses).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(b as u64);
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.add(v as u64);
    }
}

/// A hash map keyed by guest addresses, with a fast non-cryptographic hash (the keys are not
/// attacker-chosen in a way that matters: a guest can only slow itself down).
pub(crate) type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// Memory a region's code refers to by address; lives until the next arena flush.
struct RegionMem {
    insns: Box<[Insn]>,
    slots: Box<[[u64; 2]]>,
}

enum Entry {
    /// Being compiled (request id).
    Pending(u64),
    /// Installed code, compiled at `level`; `upgrade` is the request recompiling it at the
    /// next level, if one is pending; `countdown` is its entry countdown (null if none).
    Ready {
        code: *const u8,
        level: OptLevel,
        upgrade: Option<u64>,
        countdown: *mut u64,
    },
    /// Could not be compiled; stays on tier 0.
    Failed,
}

struct PendingRegion {
    key: (u64, u32),
    level: OptLevel,
    blocks: Vec<Rc<Block>>,
    mem: RegionMem,
    ninsns: usize,
    generation: u64,
}

/// Per-CPU JIT state owned by the dispatcher.
pub(crate) struct JitState {
    isas: HostIsas,
    arena: CodeArena,
    tramp: *const u8,
    jc: Box<[JcEntry]>,
    /// Pages that may have jump-cache entries (flushing another page needs no scan).
    jc_pages: crate::page_filter::PageFilter,
    regions: FxMap<(u64, u32), Entry>,
    hot: FxMap<(u64, u32), u32>,
    /// How often each region was invalidated by stores to its code.
    rewrites: FxMap<(u64, u32), u32>,
    /// Tier-0 block → regions containing it.
    by_block: FxMap<u64, Vec<(u64, u32)>>,
    /// Region memories (kept until the arena is flushed).
    mems: Vec<RegionMem>,
    /// Filled exit slots, with the virtual address they lead to.
    links: links::LinkIndex,
    pending: FxMap<u64, PendingRegion>,
    next_id: u64,
    generation: u64,
    translator: Translator,
    worker: Option<worker::Worker>,
    /// Executions of an entry before its first compile (at `first_level`).
    threshold: u32,
    /// Entries of baseline code before it asks for a Cranelift region.
    region_threshold: u32,
    /// The level code is first compiled at: baseline when that tier is on.
    first_level: OptLevel,
}

/// Errors setting up the JIT.
#[derive(Debug, thiserror::Error)]
pub enum JitError {
    /// The host ISA is not supported by Cranelift.
    #[error("host ISA: {0}")]
    Isa(String),
    /// Code memory.
    #[error(transparent)]
    Arena(#[from] arena::ArenaError),
    /// The trampoline did not compile.
    #[error("trampoline: {0}")]
    Trampoline(String),
}

/// Whether the baseline tier runs (see [`OptLevel::Baseline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BaselineMode {
    /// Warm blocks are compiled by the baseline tier, hot code by Cranelift (the default).
    #[default]
    On,
    /// No baseline tier: code goes from tier 0 to Cranelift.
    Off,
    /// Baseline code only, never Cranelift (for tests and measurements).
    Only,
}

/// How much Cranelift optimises a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptLevel {
    /// No e-graph pass, the single-pass register allocator and guest registers kept in
    /// memory (see `RegionDesc::regs_in_memory`): about 3x cheaper to compile than `Full`.
    /// Regions start here when the baseline tier is off.
    Quick,
    /// The e-graph optimiser (GVN, LICM, folding), the backtracking register allocator and
    /// guest registers in Cranelift variables. For regions that stay hot.
    Full,
    /// Not Cranelift: one block, a template per instruction ([`baseline`]), compiled on the
    /// dispatcher's thread in microseconds. Warm code starts here when that tier is on.
    Baseline,
}

/// The host ISA descriptions for both optimisation levels.
#[derive(Clone)]
pub(crate) struct HostIsas {
    quick: Arc<dyn TargetIsa>,
    full: Arc<dyn TargetIsa>,
}

impl HostIsas {
    /// Builds both.
    pub(crate) fn new() -> Result<HostIsas, JitError> {
        Ok(HostIsas {
            quick: host_isa(OptLevel::Quick)?,
            full: host_isa(OptLevel::Full)?,
        })
    }

    /// The description for `level`.
    pub(crate) fn get(&self, level: OptLevel) -> &dyn TargetIsa {
        match level {
            // (Baseline code is not Cranelift's: never asked for.)
            OptLevel::Quick | OptLevel::Baseline => &*self.quick,
            OptLevel::Full => &*self.full,
        }
    }
}

/// Builds the host ISA description for Cranelift at optimisation `level`.
pub(crate) fn host_isa(level: OptLevel) -> Result<Arc<dyn TargetIsa>, JitError> {
    let mut fb = settings::builder();
    let set = |fb: &mut settings::Builder, k: &str, v: &str| {
        fb.set(k, v).map_err(|e| JitError::Isa(format!("{k}: {e}")))
    };
    let (opt, regalloc) = match level {
        OptLevel::Quick | OptLevel::Baseline => ("none", "single_pass"),
        OptLevel::Full => ("speed", "backtracking"),
    };
    set(&mut fb, "opt_level", opt)?;
    set(&mut fb, "regalloc_algorithm", regalloc)?;
    set(&mut fb, "enable_verifier", "false")?;
    set(&mut fb, "is_pic", "false")?;
    // Cranelift's x64 tail calls rely on frame pointers.
    set(&mut fb, "preserve_frame_pointers", "true")?;
    let flags = settings::Flags::new(fb);
    let ib = cranelift_native::builder().map_err(|e| JitError::Isa(e.to_string()))?;
    ib.finish(flags).map_err(|e| JitError::Isa(e.to_string()))
}

type Tramp = unsafe extern "C" fn(*mut Cpu, *const u8) -> u64;

impl JitState {
    /// The state for configuration `cfg` and the CPU's JIT settings `jit` (first threshold,
    /// baseline tier).
    fn new(cfg: &JitConfig, jit: &JitCpu) -> Result<JitState, JitError> {
        let isas = HostIsas::new()?;
        let mut arena = CodeArena::new(ARENA_SIZE)?;
        let code = translate::compile_trampoline(isas.get(OptLevel::Full))
            .map_err(JitError::Trampoline)?;
        let tramp = arena.install(&code)?;
        arena.pin();
        let worker = if cfg.background {
            match worker::Worker::spawn(isas.clone()) {
                Ok(w) => Some(w),
                Err(e) => {
                    log::warn!("jit: no compile thread ({e}); compiling synchronously");
                    None
                }
            }
        } else {
            None
        };
        Ok(JitState {
            isas,
            arena,
            tramp,
            jc: vec![JC_EMPTY; JC_SIZE].into_boxed_slice(),
            jc_pages: Default::default(),
            regions: FxMap::default(),
            hot: FxMap::default(),
            rewrites: FxMap::default(),
            by_block: FxMap::default(),
            mems: Vec::new(),
            links: links::LinkIndex::default(),
            pending: FxMap::default(),
            next_id: 1,
            generation: 0,
            translator: Translator::new(),
            worker,
            threshold: jit.threshold(),
            region_threshold: cfg.threshold,
            first_level: if jit.baseline_on() {
                OptLevel::Baseline
            } else {
                OptLevel::Quick
            },
        })
    }

    #[inline]
    fn jc_slot(vpc: u64) -> usize {
        ((vpc >> 1) as usize) & (JC_SIZE - 1)
    }

    fn clear_links(&mut self, jit: &mut JitCpu) {
        // SAFETY: every recorded slot points into a `RegionMem` in `self.mems`, alive until
        // the arena flush that also clears `links`.
        unsafe { self.links.clear_all() };
        jit.flushed_pages.clear();
        jit.jc_epoch = jit.jc_epoch.wrapping_add(1 << 32);
        if jit.jc_epoch == 0 {
            self.jc.fill(JC_EMPTY);
        }
        // Every entry is stale now (old epoch).
        self.jc_pages.clear();
    }

    /// Clears the exit slots and jump-cache entries that lead to `code` (replaced by a
    /// recompiled version: they link again to the new code on their next use).
    fn unlink_code(&mut self, code: *const u8) {
        let code = code as u64;
        // SAFETY: as in `clear_links`.
        unsafe { self.links.unlink_code(code) };
        for e in self.jc.iter_mut() {
            if e.code == code {
                *e = JC_EMPTY;
            }
        }
    }

    /// Applies queued invalidations.
    fn process_invalidations(&mut self, cpu: &mut Cpu) {
        if cpu.jit.flush_all {
            cpu.jit.flush_all = false;
            cpu.jit.removed_blocks.clear();
            cpu.jit.flush_links = false;
            let n = self
                .regions
                .values()
                .filter(|e| matches!(e, Entry::Ready { .. }))
                .count();
            cpu.jit.stats.invalidations += n as u64;
            self.regions.retain(|_, e| matches!(e, Entry::Pending(_)));
            self.by_block.clear();
            self.hot.clear();
            self.clear_links(&mut cpu.jit);
            // Pending compilations may have read the old code: forget them.
            self.generation += 1;
            return;
        }
        if !cpu.jit.removed_blocks.is_empty() {
            let removed = std::mem::take(&mut cpu.jit.removed_blocks);
            for pa in removed {
                if let Some(keys) = self.by_block.remove(&pa) {
                    for k in keys {
                        if let Some(Entry::Ready { code, .. }) = self.regions.remove(&k) {
                            // Exits and jump-cache entries leading to it go back to the
                            // dispatcher (regions holding the block are all in `keys`).
                            self.unlink_code(code);
                            cpu.jit.stats.invalidations += 1;
                            // Code that keeps rewriting itself stays on tier 0.
                            let n = self.rewrites.entry(k).or_insert(0);
                            *n += 1;
                            if *n >= MAX_REWRITES {
                                self.regions.insert(k, Entry::Failed);
                            }
                        }
                        self.hot.remove(&k);
                    }
                }
                // Pending regions using the block are dropped when they arrive (block check).
            }
        }
        if cpu.jit.flush_links {
            cpu.jit.flush_links = false;
            self.clear_links(&mut cpu.jit);
        }
        if !cpu.jit.flushed_pages.is_empty() {
            let pages = std::mem::take(&mut cpu.jit.flushed_pages);
            for &page in &pages {
                // SAFETY: as in `clear_links`.
                unsafe { self.links.unlink_page(page) };
                for k in self.jc_pages.slots_of(page, JC_SIZE) {
                    if self.jc[k].vpc & PAGE_MASK == page {
                        self.jc[k] = JC_EMPTY;
                    }
                }
            }
            cpu.jit.flushed_pages = pages;
            cpu.jit.flushed_pages.clear();
        }
    }

    /// Drops every region and resets the arena.
    fn flush_arena(&mut self, cpu: &mut Cpu) {
        self.regions.clear();
        self.by_block.clear();
        self.hot.clear();
        self.clear_links(&mut cpu.jit);
        self.mems.clear();
        self.rewrites.clear();
        self.arena.reset();
        self.generation += 1;
        cpu.jit.stats.cache_flushes += 1;
    }

    /// Settles entry `key` whose compilation will not be retried: a first compile stays on
    /// tier 0 for good; an upgrade keeps its `old` code, now counted as final.
    fn give_up(&mut self, key: (u64, u32), old: Option<*const u8>) {
        let entry = match old {
            None => Entry::Failed,
            Some(code) => Entry::Ready {
                code,
                level: OptLevel::Full,
                upgrade: None,
                countdown: std::ptr::null_mut(),
            },
        };
        self.regions.insert(key, entry);
    }

    /// Installs compiled code for pending request `id` (or handles its failure or drop).
    fn install(&mut self, cpu: &mut Cpu, id: u64, outcome: worker::Outcome, t: Duration) {
        cpu.jit.stats.compile_time += t;
        let Some(mut p) = self.pending.remove(&id) else {
            return;
        };
        let old = match self.regions.get(&p.key) {
            Some(Entry::Pending(i)) if *i == id => None,
            Some(&Entry::Ready {
                code,
                level,
                upgrade: Some(i),
                countdown,
            }) if i == id => Some((code, level, countdown)),
            _ => return,
        };
        // The blocks must still be the ones the region was built from.
        let intact = p.generation == self.generation
            && p.blocks
                .iter()
                .all(|b| cpu.blocks.get(&b.pa).is_some_and(|c| Rc::ptr_eq(b, c)));
        if !intact {
            match old {
                None => {
                    self.regions.remove(&p.key);
                }
                Some((code, ..)) => self.give_up(p.key, Some(code)),
            }
            return;
        }
        let code = match outcome {
            worker::Outcome::Code(c) => c,
            worker::Outcome::Dropped => {
                // Not compiled: the entry may turn hot and be requested again.
                cpu.jit.stats.compiles_dropped += 1;
                match old {
                    None => {
                        self.regions.remove(&p.key);
                    }
                    Some((code, level, countdown)) => {
                        if !countdown.is_null() {
                            // Count again before asking (the countdown ran out to ask).
                            // SAFETY: the countdown lives in the old code's `RegionMem`, kept
                            // until the arena is flushed (which drops this entry too).
                            unsafe { *countdown = self.recount(level) };
                        }
                        self.regions.insert(
                            p.key,
                            Entry::Ready {
                                code,
                                level,
                                upgrade: None,
                                countdown,
                            },
                        );
                    }
                }
                return;
            }
            worker::Outcome::Failed(e) => {
                log::debug!("jit: region {:#x} failed to compile: {e}", p.key.0);
                cpu.jit.stats.compile_failures += 1;
                self.give_up(p.key, old.map(|(code, ..)| code));
                return;
            }
        };
        let ptr = match self.arena.install(&code) {
            Ok(ptr) => ptr,
            Err(arena::ArenaError::Full) => {
                self.flush_arena(cpu);
                // The request's memory survives in `p`; retry into the empty arena (the old
                // code of an upgrade is gone with it).
                match self.arena.install(&code) {
                    Ok(ptr) => ptr,
                    Err(_) => return,
                }
            }
            Err(e) => {
                log::warn!("jit: {e}");
                cpu.jit.stats.compile_failures += 1;
                self.give_up(p.key, old.map(|(code, ..)| code));
                return;
            }
        };
        if let Some(dir) = std::env::var_os("VMM_JIT_DUMP") {
            // Debugging aid: the machine code of every installed region, named by physical
            // address, mode key, level and offset in the arena (what `perf` shows for addresses
            // in the arena's memfd).
            let name = format!(
                "{:x}_{:x}_{:?}_{:x}.bin",
                p.key.0,
                p.key.1,
                p.level,
                self.arena.offset(ptr)
            );
            if let Err(e) = std::fs::write(std::path::Path::new(&dir).join(name), &code) {
                log::warn!("jit: cannot dump code: {e}");
            }
        }
        for b in &p.blocks {
            self.by_block.entry(b.pa).or_default().push(p.key);
        }
        let countdown = p
            .mem
            .slots
            .last_mut()
            .map_or(std::ptr::null_mut(), |s| s.as_mut_ptr());
        let counting = (p.level == OptLevel::Baseline && cpu.jit.baseline != BaselineMode::Only)
            || (p.level == OptLevel::Quick && cpu.jit.promote_after != 0);
        self.regions.insert(
            p.key,
            Entry::Ready {
                code: ptr,
                level: p.level,
                upgrade: None,
                countdown: if counting {
                    countdown
                } else {
                    std::ptr::null_mut()
                },
            },
        );
        self.mems.push(p.mem);
        if let Some((old_code, old_level, _)) = old {
            // Links and jump-cache entries still lead to the old code (which stays valid
            // until the next arena flush): let them find the new one.
            self.unlink_code(old_code);
            if old_level == OptLevel::Baseline {
                cpu.jit.stats.regions_compiled += 1;
                cpu.jit.stats.insns_compiled += p.ninsns as u64;
            } else {
                cpu.jit.stats.upgrades += 1;
            }
        } else if p.level == OptLevel::Baseline {
            cpu.jit.stats.baseline_blocks += 1;
            cpu.jit.stats.baseline_insns += p.ninsns as u64;
        } else {
            cpu.jit.stats.regions_compiled += 1;
            cpu.jit.stats.insns_compiled += p.ninsns as u64;
        }
    }

    /// The entry countdown of code at `level` (entries before it asks for the next level).
    fn recount(&self, level: OptLevel) -> u64 {
        match level {
            OptLevel::Baseline => self.region_threshold.max(1) as u64,
            _ => PROMOTE_REGION_ENTRIES,
        }
    }

    fn poll_worker(&mut self, cpu: &mut Cpu) {
        if self.pending.is_empty() {
            return;
        }
        while let Some(r) = self.worker.as_mut().and_then(|w| w.try_result()) {
            self.install(cpu, r.id, r.outcome, r.time);
        }
    }

    /// Forms the region at `pc`/`pa` and compiles it (or queues it) at `level`. An upgrade
    /// (`level` Full for a region that has Quick code) keeps the old code running meanwhile.
    fn request(&mut self, cpu: &mut Cpu, pc: u64, pa: u64, mode: u32, level: OptLevel) {
        let key = (pa, mode);
        let formed = if level == OptLevel::Baseline {
            single_block(cpu, pc, pa)
        } else {
            form_region(cpu, pc, pa)
        };
        let Some(blocks) = formed else {
            if !matches!(self.regions.get(&key), Some(Entry::Ready { .. })) {
                self.regions.insert(key, Entry::Failed);
            }
            return;
        };
        let mut descs = Vec::with_capacity(blocks.len());
        let mut flat = Vec::new();
        for b in &blocks {
            descs.push(BlockDesc {
                off: b.pa.wrapping_sub(pa) as i64,
                first: flat.len(),
                insns: b.insns.to_vec(),
            });
            flat.extend_from_slice(&b.insns);
        }
        let ninsns = flat.len();
        // Two exit slots per block, then the entry countdown of quick code.
        let mut slots = vec![[0u64, mode as u64]; 2 * blocks.len() + 1];
        let counting = (level == OptLevel::Baseline && cpu.jit.baseline != BaselineMode::Only)
            || (level == OptLevel::Quick && cpu.jit.promote_after != 0);
        slots[2 * blocks.len()] = [self.recount(level), 0];
        let mem = RegionMem {
            insns: flat.into_boxed_slice(),
            slots: slots.into_boxed_slice(),
        };
        let desc = RegionDesc {
            page_off: (pa & 0xfff) as i64,
            mode,
            blocks: descs,
            insns_addr: mem.insns.as_ptr() as u64,
            slots_addr: mem.slots.as_ptr() as u64,
            jc_addr: self.jc.as_ptr() as u64,
            attention_addr: cpu.hart.attention_flag() as *const _ as u64,
            regs_in_memory: level == OptLevel::Quick,
            countdown_addr: if counting {
                mem.slots[2 * blocks.len()].as_ptr() as u64
            } else {
                0
            },
        };
        let id = self.next_id;
        self.next_id += 1;
        match self.regions.get_mut(&key) {
            Some(Entry::Ready { upgrade, .. }) => *upgrade = Some(id),
            _ => {
                self.regions.insert(key, Entry::Pending(id));
            }
        }
        self.pending.insert(
            id,
            PendingRegion {
                key,
                level,
                blocks,
                mem,
                ninsns,
                generation: self.generation,
            },
        );
        if level != OptLevel::Baseline {
            if let Some(w) = &mut self.worker {
                if w.submit(id, level, desc.clone()) {
                    return;
                }
            }
        }
        let t0 = Instant::now();
        let compiled = match level {
            #[cfg(target_arch = "x86_64")]
            OptLevel::Baseline => baseline::compile(&desc),
            _ => self.translator.compile(self.isas.get(level), &desc),
        };
        let code = match compiled {
            Ok(c) => worker::Outcome::Code(c),
            Err(e) => worker::Outcome::Failed(e),
        };
        self.install(cpu, id, code, t0.elapsed());
    }

    /// Finds compiled code for the current pc and mode, counting hotness otherwise.
    /// `seed` is the count to start from for an entry not counted yet (executions tier 0
    /// counted before consulting the dispatcher).
    fn lookup(&mut self, cpu: &mut Cpu, mode: u32, seed: u32) -> Option<*const u8> {
        if let Some(code) = self.jc_hit(cpu, mode) {
            return Some(code);
        }
        let pc = cpu.pc;
        let tag = mode as u64 | cpu.jit.jc_epoch;
        let pa = cpu.translate(pc, Access::Exec, 2).ok()?;
        let key = (pa, mode);
        match self.regions.get(&key) {
            Some(&Entry::Ready { code, level, .. }) => {
                self.jc_pages.insert(pc);
                self.jc[Self::jc_slot(pc)] = JcEntry {
                    vpc: pc,
                    mode: tag,
                    code: code as u64,
                    // Only quick code is promoted by dispatcher entries (baseline code counts
                    // its own runs; full code is final).
                    hits: if level == OptLevel::Quick {
                        0
                    } else {
                        u64::MAX / 2
                    },
                };
                Some(code)
            }
            Some(Entry::Pending(_)) => {
                cpu.jit.pending_seen = true;
                None
            }
            Some(_) => None,
            None => {
                if self.hot.len() >= MAX_HOT_ENTRIES {
                    // Bounded memory: forget the counts (cold code just counts again).
                    self.hot.clear();
                }
                let h = self.hot.entry(key).or_insert(seed);
                *h += 1;
                if *h < self.threshold {
                    return None;
                }
                self.hot.remove(&key);
                let level = match self.first_level {
                    OptLevel::Quick if cpu.jit.promote_after == 0 => OptLevel::Full,
                    l => l,
                };
                self.request(cpu, pc, pa, mode, level);
                match self.regions.get(&key) {
                    Some(Entry::Ready { code, .. }) => Some(*code),
                    _ => None,
                }
            }
        }
    }

    /// The baseline or quick code at `pc` keeps being entered: recompile it at the next level.
    fn promote(&mut self, cpu: &mut Cpu, pc: u64, mode: u32) {
        let Ok(pa) = cpu.translate(pc, Access::Exec, 2) else {
            return;
        };
        if let Some(&Entry::Ready {
            level,
            upgrade: None,
            ..
        }) = self.regions.get(&(pa, mode))
        {
            let last = level == OptLevel::Full
                || (level == OptLevel::Baseline && cpu.jit.baseline == BaselineMode::Only);
            if !last {
                // Baseline code goes straight to optimised code: it already covers what the
                // quick level is for (warm code, soon), and measured better on every benchmark
                // (sort 0.61 -> 0.48 s, memcopy 0.41-0.63 -> 0.25-0.27 s: no quick code
                // waiting for exits to be promoted).
                self.request(cpu, pc, pa, mode, OptLevel::Full);
            }
        }
    }

    /// Runs compiled code if there is some for the current state. Returns whether it did.
    fn dispatch(&mut self, cpu: &mut Cpu, target: u64, seed: u32) -> bool {
        if cpu.jit.needs_dispatch() {
            self.process_invalidations(cpu);
        }
        self.poll_worker(cpu);
        let mode = mode_key(cpu);
        let Some(code) = self.lookup(cpu, mode, seed) else {
            return false;
        };
        self.run(cpu, code, target)
    }

    /// Runs compiled code found in the jump cache for the current pc and mode, if any, with
    /// nothing queued for the dispatcher: the run loop's first try, before it looks for a tier-0
    /// block. Returns whether code ran.
    fn enter_cached(&mut self, cpu: &mut Cpu, target: u64) -> bool {
        if cpu.jit.needs_dispatch() {
            return false;
        }
        let Some(code) = self.jc_hit(cpu, mode_key(cpu)) else {
            return false;
        };
        self.poll_worker(cpu);
        self.run(cpu, code, target)
    }

    /// The code the jump cache holds for the current pc and `mode`, if any; counts the entry
    /// (quick code is promoted after [`PROMOTE_ENTRIES`] of them).
    fn jc_hit(&mut self, cpu: &mut Cpu, mode: u32) -> Option<*const u8> {
        let pc = cpu.pc;
        let e = &mut self.jc[Self::jc_slot(pc)];
        if e.vpc != pc || e.mode != mode as u64 | cpu.jit.jc_epoch {
            return None;
        }
        e.hits += 1;
        let code = e.code as *const u8;
        if e.hits == cpu.jit.promote_after {
            self.promote(cpu, pc, mode);
        }
        Some(code)
    }

    /// Runs installed `code` (for the current pc and mode) until it returns, then handles
    /// what it returned. Returns true.
    fn run(&mut self, cpu: &mut Cpu, code: *const u8, target: u64) -> bool {
        cpu.jit.limit = cpu.next_poll.min(target);
        let start = cpu.instret;
        // SAFETY: `tramp` is the trampoline compiled for the host ABI; `code` is installed
        // region code for this CPU's mode, whose embedded addresses (slots, instructions, jump
        // cache, attention flag) are alive (they are only freed after the arena is reset, which
        // happens here, between runs). The CPU is not otherwise borrowed during the call.
        let ret = unsafe {
            let f: Tramp = std::mem::transmute::<*const u8, Tramp>(self.tramp);
            f(cpu as *mut Cpu, code)
        };
        cpu.jit.stats.dispatched_entries += 1;
        cpu.jit.stats.jit_insns += cpu.instret.wrapping_sub(start);
        if ret & translate::MISS_TAG != 0 {
            // A TLB miss or an instruction without an inline form: run it on tier 0 (a TLB
            // fill, MMIO, a trap, a CSR...), then carry on in the run loop.
            let insn = (ret & !translate::MISS_TAG) as *const Insn;
            // SAFETY: translated code returns only addresses of instructions in its own
            // `RegionMem` (alive until the next arena flush, which cannot have happened during
            // the call), with the CPU state stored for that instruction.
            unsafe { helpers::exec_insn(cpu as *mut Cpu, insn) };
            cpu.jit.stats.tier0_steps += 1;
            if cpu.jit.needs_dispatch() {
                self.process_invalidations(cpu);
            }
            return true;
        }
        if cpu.jit.needs_dispatch() {
            self.process_invalidations(cpu);
            return true;
        }
        if ret == translate::PROMOTE_TAG {
            // The region's entry countdown ran out (it returned before doing anything).
            self.promote(cpu, cpu.pc, mode_key(cpu));
            return true;
        }
        if ret != 0 {
            self.link(cpu, ret as *mut u64);
        }
        true
    }

    /// Fills the exit slot `slot` with the code for the current pc, if compiled.
    fn link(&mut self, cpu: &mut Cpu, slot: *mut u64) {
        let mode = mode_key(cpu);
        // SAFETY: translated code returns only addresses of its own slots, which live in a
        // `RegionMem` (see `clear_links`); word 1 holds the owner's mode.
        let owner_mode = unsafe { *slot.add(1) };
        if owner_mode != mode as u64 {
            return;
        }
        let pc = cpu.pc;
        let e = &self.jc[Self::jc_slot(pc)];
        let code = if e.vpc == pc && e.mode == mode as u64 | cpu.jit.jc_epoch {
            e.code
        } else {
            let Ok(pa) = cpu.translate(pc, Access::Exec, 2) else {
                return;
            };
            match self.regions.get(&(pa, mode)) {
                Some(Entry::Ready { code, .. }) => *code as u64,
                _ => return,
            }
        };
        // SAFETY: as above.
        unsafe { *slot = code };
        if self.links.full() {
            self.clear_links(&mut cpu.jit);
        }
        self.links.add(slot, pc, code);
        cpu.jit.stats.links += 1;
    }
}

/// The static successors of a block's last instruction that may be in the same region, as
/// physical addresses (`page` is the region's page).
fn successors(b: &Block) -> Vec<u64> {
    let Some(last) = b.insns.last() else {
        return Vec::new();
    };
    let last_pa = b.end_pa - last.len as u64;
    let target = last_pa.wrapping_add(last.imm as u64);
    use Op::*;
    match last.op {
        Beq | Bne | Blt | Bge | Bltu | Bgeu => vec![target, b.end_pa],
        Jal => vec![target],
        Jalr | Mret | Sret | Ecall | Ebreak | Illegal | Wfi | FenceI | SfenceVma | SinvalVma
        | Custom => Vec::new(),
        _ => vec![b.end_pa],
    }
}

/// The block at `pc` (physical `pa`) alone, for the baseline tier.
fn single_block(cpu: &mut Cpu, pc: u64, pa: u64) -> Option<Vec<Rc<Block>>> {
    cached_block(cpu, pc, pa).map(|b| vec![b])
}

/// The non-empty tier-0 block cached at `pa` (virtual `pc`), translated now if need be; `None`
/// if there is none (a fetch fault, or a block that may not be cached).
fn cached_block(cpu: &mut Cpu, pc: u64, pa: u64) -> Option<Rc<Block>> {
    let b = match cpu.blocks.get(&pa) {
        Some(b) => b.clone(),
        None => match cpu.translate_block(pc, pa) {
            Ok((b, true)) => b,
            _ => return None,
        },
    };
    (!b.insns.is_empty()).then_some(b)
}

/// Collects the blocks of the region entered at `pc` (physical `pa`): candidates found by
/// following static successors in the page (breadth first, up to [`CANDIDATE_BLOCKS`] /
/// [`CANDIDATE_INSNS`]), of which the blocks on a path back to the entry go in first (the
/// loops through the entry, e.g. a partition loop's scans and swap when the entry is one of its
/// inner loops: split across regions, they chained to each other on every pass), then the rest
/// in breadth-first order, up to [`MAX_REGION_BLOCKS`] / [`MAX_REGION_INSNS`].
fn form_region(cpu: &mut Cpu, pc: u64, pa: u64) -> Option<Vec<Rc<Block>>> {
    let page = pa & PAGE_MASK;
    let mut cands: Vec<Rc<Block>> = Vec::new();
    let mut succs: Vec<Vec<u64>> = Vec::new();
    let mut index: FxMap<u64, usize> = FxMap::default();
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([pa]);
    seen.insert(pa);
    let mut ninsns = 0;
    while let Some(bpa) = queue.pop_front() {
        if cands.len() >= CANDIDATE_BLOCKS || ninsns >= CANDIDATE_INSNS {
            break;
        }
        let vpc = pc.wrapping_add(bpa.wrapping_sub(pa));
        let Some(b) = cached_block(cpu, vpc, bpa) else {
            if bpa == pa {
                return None;
            }
            continue;
        };
        ninsns += b.insns.len();
        let ss: Vec<u64> = successors(&b)
            .into_iter()
            .filter(|&s| s & PAGE_MASK == page)
            .collect();
        for &s in &ss {
            if seen.insert(s) {
                queue.push_back(s);
            }
        }
        index.insert(bpa, cands.len());
        cands.push(b);
        succs.push(ss);
    }
    if cands.is_empty() {
        return None;
    }
    // Blocks from which the entry (candidate 0) is reachable within the candidates.
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); cands.len()];
    for (i, ss) in succs.iter().enumerate() {
        for s in ss {
            if let Some(&j) = index.get(s) {
                preds[j].push(i);
            }
        }
    }
    let mut back = vec![false; cands.len()];
    back[0] = true;
    let mut work = vec![0usize];
    while let Some(j) = work.pop() {
        for &i in &preds[j] {
            if !back[i] {
                back[i] = true;
                work.push(i);
            }
        }
    }
    let order = (0..cands.len())
        .filter(|&i| back[i])
        .chain((0..cands.len()).filter(|&i| !back[i]));
    let mut out = Vec::new();
    let mut ninsns = 0;
    for i in order {
        if out.len() >= MAX_REGION_BLOCKS || ninsns >= MAX_REGION_INSNS {
            break;
        }
        ninsns += cands[i].insns.len();
        out.push(cands[i].clone());
    }
    Some(out)
}

/// Dispatcher entry from the tier-0 run loop: runs compiled code for the current pc if there is
/// some (compiling hot entries on the way). Returns whether code ran; if not, tier 0 runs the
/// next block. `seed` starts the hotness count of an entry not counted yet (see
/// [`JitState::lookup`]).
pub(crate) fn dispatch(cpu: &mut Cpu, target: u64, seed: u32) -> bool {
    let mut st = match cpu.jit.state.take() {
        Some(s) => s,
        None => {
            let cfg = cpu.jit.config.0.unwrap_or_default();
            match JitState::new(&cfg, &cpu.jit) {
                Ok(s) => Box::new(s),
                Err(e) => {
                    log::warn!("jit disabled: {e}");
                    cpu.jit.enabled = false;
                    return false;
                }
            }
        }
    };
    let r = st.dispatch(cpu, target, seed);
    cpu.jit.state = Some(st);
    r
}

/// The run loop's fast path: runs compiled code for the current pc straight from the jump cache
/// (see [`JitState::enter_cached`]). Returns whether code ran.
#[inline]
pub(crate) fn enter_cached(cpu: &mut Cpu, target: u64) -> bool {
    let Some(mut st) = cpu.jit.state.take() else {
        return false;
    };
    let r = st.enter_cached(cpu, target);
    cpu.jit.state = Some(st);
    r
}

impl Cpu {
    /// Configures the JIT tier (takes effect at the next dispatch; disabling drops all code).
    pub fn set_jit(&mut self, cfg: JitConfig) {
        self.jit.enabled = cfg.enabled;
        self.jit.config = JitConfigOpt(Some(cfg));
        self.jit.state = None;
        self.jit.removed_blocks.clear();
        self.jit.flush_all = false;
        self.jit.flush_links = false;
        self.jit.flushed_pages.clear();
    }

    /// Sets after how many dispatcher entries a region compiled quickly is recompiled with
    /// full optimisation (0: every region is compiled with full optimisation at once; for
    /// tests and measurements).
    pub fn set_jit_promote_after(&mut self, entries: u64) {
        self.jit.promote_after = entries;
    }

    /// Chooses whether the baseline tier runs (on by default; only x86-64 hosts have it).
    /// Takes effect with the next [`Cpu::set_jit`].
    pub fn set_jit_baseline(&mut self, mode: BaselineMode) {
        self.jit.baseline = mode;
    }

    /// The JIT counters so far.
    pub fn jit_stats(&self) -> JitStats {
        let mut s = self.jit.stats;
        s.chained_exits = self.jit.chained;
        s
    }
}
