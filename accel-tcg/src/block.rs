//! Tier 0: pre-decoded blocks cached by physical address, a jump cache by virtual pc in front of
//! the block map, and the run loop (interrupt polling, `wfi` sleep, exits).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use devices::clock::ClockMode;
use devices::irq::ExitRequest;

use crate::cpu::{cause, Cpu, Exc};
use crate::decode::{decode_with_hook, Insn, Op};
use crate::mmu::{Access, PAGE_MASK};

/// Maximum number of instructions in a block.
pub const MAX_BLOCK_INSNS: usize = 64;
/// When the block cache holds this many blocks it is flushed (bounds host memory).
pub const MAX_CACHED_BLOCKS: usize = 1 << 18;
const JUMP_CACHE_SIZE: usize = 4096;
/// Executions a hot block runs on tier 0 without asking the JIT dispatcher again after it
/// found the block's code still being compiled.
const PENDING_BACKOFF: u32 = 32;
/// Instructions between timer polls in host-clock mode: how late a timer interrupt may be seen
/// while the hart is busy (`wfi` sleeps until the deadline instead) and how long compiled loops
/// run between returns to the run loop (device interrupts raise the attention flag, seen at
/// every block or region entry). 32768 instructions are ~20-60 µs of compiled code; against
/// 4096, the benchmark loops ran 7-15 % faster (sort, crc32, hash, memsum; five alternating runs
/// each, session 3) and the Linux boot was unchanged within noise.
const POLL_INTERVAL: u64 = 32768;

/// A straight-line run of decoded instructions from one guest page, ending at the first
/// control-flow or state-changing instruction.
#[derive(Debug)]
pub struct Block {
    /// Physical address of the first instruction.
    pub pa: u64,
    /// Physical address just past the last instruction.
    pub end_pa: u64,
    /// The instructions.
    pub insns: Box<[Insn]>,
    /// Tier-0 executions counted before the JIT dispatcher is consulted for this block (see
    /// [`Cpu::run_for`]): cold blocks skip the dispatcher entirely.
    pub hot: Cell<u32>,
    /// Whether the run loop may chain to the next block without a lookup when this one
    /// completes (it ends in a branch, a jump or plain fall-through: nothing that can change
    /// privilege or address translation).
    chain: bool,
    /// Successors found by earlier executions (slot 1: fall-through, slot 0: anything else).
    links: RefCell<[Link; 2]>,
}

/// A successor of a block in the same physical page, valid while no block has been removed
/// since it was made (`epoch`, see `Cpu::block_epoch`).
#[derive(Debug, Default)]
struct Link {
    pa: u64,
    epoch: u64,
    to: Weak<Block>,
}

impl Block {
    /// A block of `insns` at physical `pa` ending just before `end_pa`.
    pub fn new(pa: u64, end_pa: u64, insns: Box<[Insn]>) -> Block {
        use Op::*;
        let chain = insns.last().is_some_and(|l| {
            matches!(l.op, Beq | Bne | Blt | Bge | Bltu | Bgeu | Jal | Jalr)
                || !(l.ends_block() || l.op == Custom)
        });
        Block {
            pa,
            end_pa,
            insns,
            hot: Cell::new(0),
            chain,
            links: RefCell::default(),
        }
    }
}

#[derive(Clone)]
struct JcEntry {
    vpc: u64,
    idx: u8,
    block: Option<Rc<Block>>,
}

/// Direct-mapped cache from (virtual pc, fetch MMU index) to block.
pub(crate) struct JumpCache {
    entries: Box<[JcEntry]>,
    /// Pages that may have entries (flushing another page needs no scan).
    pages: crate::page_filter::PageFilter,
}

impl JumpCache {
    pub(crate) fn new() -> JumpCache {
        JumpCache {
            entries: vec![
                JcEntry {
                    vpc: 0,
                    idx: 0,
                    block: None
                };
                JUMP_CACHE_SIZE
            ]
            .into_boxed_slice(),
            pages: Default::default(),
        }
    }

    pub(crate) fn clear(&mut self) {
        for e in self.entries.iter_mut() {
            e.block = None;
        }
        self.pages.clear();
    }

    /// Drops the entries for pcs in the 4 KiB virtual page `page` (they occupy 2048
    /// consecutive slots).
    pub(crate) fn clear_page(&mut self, page: u64) {
        for k in self.pages.slots_of(page, JUMP_CACHE_SIZE) {
            let e = &mut self.entries[k];
            if e.vpc & PAGE_MASK == page {
                e.block = None;
            }
        }
    }

    #[inline(always)]
    fn slot(vpc: u64) -> usize {
        ((vpc >> 1) as usize) & (JUMP_CACHE_SIZE - 1)
    }
}

/// Why [`Cpu::run_for`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunExit {
    /// The instruction budget was used up.
    Budget,
    /// The guest exited through semihosting with this code.
    Semihosting(i32),
    /// A device or the host asked to stop.
    Request(ExitRequest),
}

impl Cpu {
    /// Finds (or translates) the block at the current pc.
    fn lookup_block(&mut self) -> Result<Rc<Block>, Exc> {
        let pc = self.pc;
        let slot = JumpCache::slot(pc);
        let e = &self.jump_cache.entries[slot];
        if e.vpc == pc && e.idx == self.fetch_idx {
            if let Some(b) = &e.block {
                return Ok(b.clone());
            }
        }
        let pa = self.translate(pc, Access::Exec, 2)?;
        let b = match self.blocks.get(&pa) {
            Some(b) => b.clone(),
            None => match self.translate_block(pc, pa)? {
                (b, true) => b,
                (b, false) => return Ok(b),
            },
        };
        self.jump_cache.entries[slot] = JcEntry {
            vpc: pc,
            idx: self.fetch_idx,
            block: Some(b.clone()),
        };
        self.jump_cache.pages.insert(pc);
        Ok(b)
    }

    /// Reads a 16-bit parcel of code at physical `pa` (RAM or a bus device such as the MROM).
    fn fetch_phys16(&mut self, pa: u64) -> Option<u16> {
        if !self.pmp_check(pa, 2, Access::Exec, self.prv) {
            return None;
        }
        self.phys_read(pa, 2, Access::Exec, pa)
            .ok()
            .map(|v| v as u16)
    }

    /// Decodes a block starting at virtual `pc` / physical `pa`. Returns the block and whether it
    /// may be cached (not if its only instruction straddles a page boundary).
    pub(crate) fn translate_block(&mut self, pc: u64, pa: u64) -> Result<(Rc<Block>, bool), Exc> {
        // Offsets within the page avoid overflow at the top of the address space.
        let page = pa & PAGE_MASK;
        let mut off = pa & 0xfff;
        let mut insns = Vec::new();
        let hook = self.custom.take();
        let result = loop {
            let cur = page | off;
            let Some(lo) = self.fetch_phys16(cur) else {
                if insns.is_empty() {
                    break Err(Access::Exec.access_fault(pc));
                }
                break Ok(true);
            };
            let word = if lo & 3 == 3 {
                if off + 4 > 0x1000 {
                    if insns.is_empty() {
                        // A 32-bit instruction straddling two pages: fetch it through translation
                        // each time, without caching.
                        match self.fetch_insn(pc) {
                            Ok(w) => {
                                insns.push(decode_with_hook(w, hook.as_deref()));
                                off += 4;
                                break Ok(false);
                            }
                            Err(e) => break Err(e),
                        }
                    }
                    break Ok(true);
                }
                let Some(hi) = self.fetch_phys16(page | (off + 2)) else {
                    if insns.is_empty() {
                        break Err(Access::Exec.access_fault(pc.wrapping_add(2)));
                    }
                    break Ok(true);
                };
                lo as u32 | (hi as u32) << 16
            } else {
                lo as u32
            };
            let insn = decode_with_hook(word, hook.as_deref());
            insns.push(insn);
            off += insn.len as u64;
            if insn.ends_block() || insns.len() >= MAX_BLOCK_INSNS || off >= 0x1000 {
                break Ok(true);
            }
        };
        self.custom = hook;
        let cacheable = result?;
        let block = Rc::new(Block::new(
            pa,
            page.wrapping_add(off),
            insns.into_boxed_slice(),
        ));
        self.blocks_translated += 1;
        if cacheable && self.blocks.len() >= MAX_CACHED_BLOCKS {
            self.invalidate_all_code();
        }
        if cacheable {
            self.blocks.insert(pa, block.clone());
            let cp = self.code_pages.entry(page).or_default();
            let first = cp.blocks.is_empty();
            cp.add(pa, block.end_pa);
            if first {
                self.tlb_protect_code_page(page);
            }
        }
        Ok((block, cacheable))
    }

    /// Executes one block; stops early at a trap or when an instruction asks to end the block.
    /// Returns whether every instruction ran (no trap, no early end).
    #[inline(always)]
    fn exec_block(&mut self, b: &Block) -> bool {
        for insn in b.insns.iter() {
            match self.exec(insn) {
                Ok(()) => {
                    self.x[0] = 0;
                    self.instret += 1;
                    if self.break_block {
                        self.break_block = false;
                        return false;
                    }
                }
                Err(mut e) => {
                    self.x[0] = 0;
                    if e.cause == cause::ILLEGAL {
                        e.tval = insn.raw as u64;
                    }
                    self.raise(e);
                    self.break_block = false;
                    return false;
                }
            }
        }
        true
    }

    /// The block at `pc`, which is in the same virtual page as the block `prev` that just
    /// completed normally (so in the same physical page, with the same privilege and
    /// translation): through `prev`'s links, else the block map, else a new translation.
    fn chained_block(&mut self, prev: &Block, pc: u64) -> Result<Rc<Block>, Exc> {
        let pa = (prev.pa & PAGE_MASK) | (pc & !PAGE_MASK);
        let slot = usize::from(pa == prev.end_pa);
        {
            let links = prev.links.borrow();
            let l = &links[slot];
            if l.pa == pa && l.epoch == self.block_epoch {
                if let Some(b) = l.to.upgrade() {
                    return Ok(b);
                }
            }
        }
        let b = match self.blocks.get(&pa) {
            Some(b) => b.clone(),
            None => match self.translate_block(pc, pa)? {
                (b, true) => b,
                (b, false) => return Ok(b),
            },
        };
        prev.links.borrow_mut()[slot] = Link {
            pa,
            epoch: self.block_epoch,
            to: Rc::downgrade(&b),
        };
        Ok(b)
    }

    /// Polls the timer, the attention flag and pending interrupts. Returns an exit request.
    fn poll(&mut self) -> Option<ExitRequest> {
        if self.hart.take_attention() {
            if let Some(r) = self.hart.exit_request() {
                return Some(r);
            }
        }
        self.update_timer();
        self.next_poll = self.instret + self.poll_interval();
        self.check_interrupts();
        None
    }

    fn poll_interval(&self) -> u64 {
        match self.clock.mode() {
            ClockMode::Host => POLL_INTERVAL,
            ClockMode::Icount { insns_per_tick } => match self.next_timer_deadline() {
                Some((deadline, now)) => (deadline - now)
                    .saturating_mul(insns_per_tick.max(1))
                    .clamp(1, POLL_INTERVAL),
                None => POLL_INTERVAL,
            },
        }
    }

    /// The earliest timer compare value still in the future, with the current time. Timers
    /// that already expired are reflected in mip and need no polling.
    fn next_timer_deadline(&self) -> Option<(u64, u64)> {
        let now = self.clock.now();
        let mut d = Some(self.hart.mtimecmp()).filter(|&t| t > now);
        if self.menvcfg & crate::csr::MENVCFG_STCE != 0 && self.stimecmp > now {
            d = Some(d.map_or(self.stimecmp, |t| t.min(self.stimecmp)));
        }
        d.map(|t| (t, now))
    }

    /// Sleeps in `wfi` until an interrupt is pending (or an exit is requested).
    fn wait_for_interrupt(&mut self) -> Option<ExitRequest> {
        loop {
            self.hart.take_attention();
            if let Some(r) = self.hart.exit_request() {
                return Some(r);
            }
            self.update_timer();
            if self.wfi_wake() {
                self.wfi = false;
                self.check_irq = true;
                return None;
            }
            let next = self.next_timer_deadline();
            match (self.clock.mode(), next) {
                (ClockMode::Icount { insns_per_tick }, Some((deadline, now)))
                    if deadline != u64::MAX =>
                {
                    // Skip idle time deterministically: advance the instruction count.
                    let skip = (deadline - now).saturating_mul(insns_per_tick.max(1));
                    self.icount_skip = self.icount_skip.wrapping_add(skip);
                }
                (ClockMode::Host, Some((deadline, _))) => {
                    let t = self
                        .clock
                        .host_time_until(deadline)
                        .unwrap_or(std::time::Duration::from_secs(1))
                        .min(std::time::Duration::from_secs(1));
                    self.hart.wait(Some(t));
                }
                // No timer can wake us: wait for a device or the host (bounded, to re-check).
                _ => self.hart.wait(Some(std::time::Duration::from_secs(1))),
            }
        }
    }

    /// Decides whether the JIT dispatcher must see the tier-0 block `b` about to run: `None`
    /// while the block is cold (its first `threshold - 1` executions, counted in the block, with
    /// no invalidation queued), else `Some(seed)`, where `seed` is the executions already counted
    /// (non-zero once, when the block first turns hot) to start the dispatcher's own count.
    /// A region is only ever entered at a block that was hot, so skipping cold blocks never
    /// skips compiled code.
    #[inline(always)]
    fn jit_gate(&self, b: &Block) -> Option<u32> {
        let gate = self.jit.threshold().saturating_sub(1);
        let n = b.hot.get();
        if n < gate {
            b.hot.set(n + 1);
            return self.jit.needs_dispatch().then_some(0);
        }
        if n == gate {
            b.hot.set(n.saturating_add(1));
            return Some(gate);
        }
        Some(0)
    }

    /// Runs until about `budget` more instructions have retired (checked at block boundaries),
    /// or an exit.
    ///
    /// Tier-0 blocks chain: when a block completes normally and the next pc is in the same
    /// virtual page, the next block comes from the previous one's links (no translation, no
    /// jump-cache or map lookup). Anything in between (a poll, an interrupt, compiled code)
    /// breaks the chain.
    pub fn run_for(&mut self, budget: u64) -> RunExit {
        let target = self.instret.saturating_add(budget);
        let mut prev: Option<(Rc<Block>, u64)> = None;
        loop {
            if self.check_irq || self.hart.needs_attention() || self.instret >= self.next_poll {
                prev = None;
                if let Some(r) = self.poll() {
                    return RunExit::Request(r);
                }
            }
            if self.wfi {
                prev = None;
                if let Some(r) = self.wait_for_interrupt() {
                    return RunExit::Request(r);
                }
                continue;
            }
            if self.instret >= target {
                return RunExit::Budget;
            }
            let pc = self.pc;
            if prev.is_none() && self.jit.enabled && crate::jit::enter_cached(self, target) {
                // Compiled code ran (found by pc alone, no tier-0 block needed).
                if let Some(code) = self.semi_exit {
                    return RunExit::Semihosting(code);
                }
                continue;
            }
            let next = match prev.take() {
                Some((p, ppc)) if (ppc ^ pc) & PAGE_MASK == 0 => self.chained_block(&p, pc),
                _ => self.lookup_block(),
            };
            match next {
                Ok(b) => {
                    if self.jit.enabled {
                        if let Some(seed) = self.jit_gate(&b) {
                            if crate::jit::dispatch(self, target, seed) {
                                if let Some(code) = self.semi_exit {
                                    return RunExit::Semihosting(code);
                                }
                                continue;
                            }
                            if std::mem::take(&mut self.jit.pending_seen) {
                                // Its code is being compiled: ask again in a while (a Linux
                                // boot asked a million times, mostly in vain, before this).
                                let gate = self.jit.threshold().saturating_sub(1);
                                b.hot.set(gate.saturating_sub(PENDING_BACKOFF));
                            }
                        }
                    }
                    if self.exec_block(&b) && b.chain {
                        prev = Some((b, pc));
                    }
                }
                Err(e) => {
                    self.raise(e);
                    self.break_block = false;
                }
            }
            if let Some(code) = self.semi_exit {
                return RunExit::Semihosting(code);
            }
        }
    }

    /// Executes a single instruction (no block cache), taking pending interrupts first.
    pub fn step(&mut self) -> RunExit {
        if let Some(r) = self.poll() {
            return RunExit::Request(r);
        }
        let pc = self.pc;
        match self.fetch_insn(pc) {
            Ok(w) => {
                let hook = self.custom.take();
                let insn = decode_with_hook(w, hook.as_deref());
                self.custom = hook;
                let b = Block::new(0, 0, Box::new([insn]));
                self.exec_block(&b);
            }
            Err(e) => self.raise(e),
        }
        self.break_block = false;
        match self.semi_exit {
            Some(code) => RunExit::Semihosting(code),
            None => RunExit::Budget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Block;
    use crate::jit::{BaselineMode, JitConfig};
    use crate::testutil::{asm, machine, RAM_BASE};

    fn block() -> Block {
        Block::new(RAM_BASE, RAM_BASE + 4, Box::new([]))
    }

    #[test]
    fn gate_skips_cold_blocks_then_seeds_the_dispatcher_once() {
        let (mut cpu, _hart) = machine(&[]);
        cpu.set_jit(JitConfig {
            enabled: true,
            threshold: 4,
            background: false,
        });
        let b = block();
        // Executions 1-3 stay on tier 0 without the dispatcher.
        for _ in 0..3 {
            assert_eq!(cpu.jit_gate(&b), None);
        }
        // The 4th reaches the dispatcher with the 3 executions counted so far, once.
        assert_eq!(cpu.jit_gate(&b), Some(3));
        assert_eq!(cpu.jit_gate(&b), Some(0));
        assert_eq!(cpu.jit_gate(&b), Some(0));
    }

    #[test]
    fn gate_lets_queued_invalidations_through_for_cold_blocks() {
        let (mut cpu, _hart) = machine(&[]);
        cpu.set_jit(JitConfig {
            enabled: true,
            threshold: 100,
            background: false,
        });
        let b = block();
        assert_eq!(cpu.jit_gate(&b), None);
        cpu.jit.block_removed(RAM_BASE + 0x100);
        assert_eq!(cpu.jit_gate(&b), Some(0));
        assert_eq!(b.hot.get(), 2);
    }

    #[test]
    fn threshold_one_always_dispatches() {
        let (mut cpu, _hart) = machine(&[]);
        cpu.set_jit(JitConfig {
            enabled: true,
            threshold: 1,
            background: false,
        });
        let b = block();
        assert_eq!(cpu.jit_gate(&b), Some(0));
        assert_eq!(cpu.jit_gate(&b), Some(0));
    }

    /// `a0 = 0; <set a1>; loop: a0 += 1; blt a0, a1, loop;` then spin on `j .`.
    fn counting_loop(set_a1: u32) -> [u32; 5] {
        [
            asm::i(0, 0, 0, asm::A0, 0x13),
            set_a1,
            asm::i(1, asm::A0, 0, asm::A0, 0x13),
            asm::b(-4, asm::A1, asm::A0, 4),
            asm::jal(0, 0),
        ]
    }

    /// Runs a counting loop to `a1 = 49 << 12` (2M instructions in slices); the JIT counters.
    fn run_to_200704(cpu: &mut crate::cpu::Cpu) -> crate::jit::JitStats {
        for _ in 0..100 {
            cpu.run_for(20_000);
        }
        assert_eq!(cpu.x[asm::A0 as usize], 49 << 12);
        cpu.jit_stats()
    }

    /// Synchronous compilation after `threshold` executions.
    fn sync_jit(threshold: u32) -> JitConfig {
        JitConfig {
            enabled: true,
            threshold,
            background: false,
        }
    }

    #[test]
    fn hot_loop_still_compiles_at_the_threshold() {
        let (mut cpu, _hart) = machine(&counting_loop(asm::i(1000, 0, 0, asm::A1, 0x13)));
        cpu.set_jit(sync_jit(50));
        cpu.run_for(20_000);
        assert_eq!(cpu.x[asm::A0 as usize], 1000);
        let s = cpu.jit_stats();
        assert!(s.regions_compiled >= 1, "{s:?}");
        assert!(s.dispatched_entries >= 1, "{s:?}");
    }

    #[test]
    fn hot_quick_code_is_recompiled_optimised_and_keeps_running() {
        // a1 = 49 << 12 = 200704.
        let (mut cpu, _hart) = machine(&counting_loop(asm::lui(asm::A1, 49)));
        cpu.set_jit_baseline(BaselineMode::Off);
        cpu.set_jit(sync_jit(10));
        cpu.set_jit_promote_after(3);
        let s = run_to_200704(&mut cpu);
        assert!(s.upgrades >= 1, "{s:?}");
        assert!(s.jit_insns > 500_000, "{s:?}");
    }

    #[test]
    fn quick_regions_that_only_chain_are_promoted_by_their_own_count() {
        // A loop across a page boundary: `addi a0, a0, 1` in the last word of the first page,
        // `blt a0, a1, back` in the next page, so two regions chain into each other and the
        // dispatcher only sees the timer-poll exits (far fewer than its promotion count).
        let mut prog = vec![asm::i(0, 0, 0, asm::A0, 0x13), asm::lui(asm::A1, 49)];
        prog.resize(1023, asm::i(0, 0, 0, 0, 0x13));
        prog.push(asm::i(1, asm::A0, 0, asm::A0, 0x13));
        prog.push(asm::b(-4, asm::A1, asm::A0, 4));
        prog.push(asm::jal(0, 0));
        let (mut cpu, _hart) = machine(&prog);
        cpu.set_jit_baseline(BaselineMode::Off);
        cpu.set_jit(sync_jit(10));
        let s = run_to_200704(&mut cpu);
        assert!(s.upgrades >= 1, "{s:?}");
        assert!(s.chained_exits > 100_000, "{s:?}");
    }

    #[test]
    fn hot_baseline_code_is_recompiled_optimised_directly() {
        let (mut cpu, _hart) = machine(&counting_loop(asm::lui(asm::A1, 49)));
        cpu.set_jit(sync_jit(100));
        let s = run_to_200704(&mut cpu);
        assert!(s.regions_compiled >= 1, "{s:?}");
        if cfg!(target_arch = "x86_64") {
            assert!(s.baseline_blocks >= 1, "{s:?}");
            assert_eq!(s.upgrades, 0, "no quick level in between: {s:?}");
        }
    }
}
