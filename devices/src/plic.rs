//! The SiFive platform-level interrupt controller (PLIC), level-sensitive gateways.
//!
//! Layout (offsets in the 0x400_0000 window): priority of source `i` at `4·i`, pending bits at
//! 0x1000, enable bits of context `c` at `0x2000 + 0x80·c`, threshold of context `c` at
//! `0x20_0000 + 0x1000·c` and its claim/complete register 4 bytes above.
//!
//! Gateway: while a source's line is high and the source is not in service (claimed and not yet
//! completed) it is pending; a line dropping before the claim withdraws the request. Completing
//! a source whose line is still high pends it again at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::bus::{lock, BusDevice};
use crate::irq::{HartInterrupts, IrqLine};
use crate::regs::{merge, read_regs, write_regs, Regs32};

/// Size of the PLIC window.
pub const PLIC_SIZE: u64 = 0x400_0000;
/// Highest priority value (priorities are 3 bits).
pub const MAX_PRIORITY: u32 = 7;
/// Most sources the SiFive layout has room for.
pub const MAX_SOURCES: u32 = 1024;

const PENDING_BASE: u64 = 0x1000;
const ENABLE_BASE: u64 = 0x2000;
const ENABLE_STRIDE: u64 = 0x80;
const CONTEXT_BASE: u64 = 0x20_0000;
const CONTEXT_STRIDE: u64 = 0x1000;

struct Context {
    hart: Arc<HartInterrupts>,
    mip_mask: u64,
    enable: Vec<u32>,
    threshold: u32,
}

/// A SiFive PLIC with level-sensitive sources.
pub struct Plic {
    num_sources: u32,
    priority: Vec<u32>,
    level: Vec<bool>,
    pending: Vec<bool>,
    in_service: Vec<bool>,
    contexts: Vec<Context>,
}

impl Plic {
    /// A PLIC with `num_sources` sources (ID 0 included, hardwired to "no interrupt"; at most
    /// 1024) and the given contexts: each is a hart and the `mip` bit it drives
    /// (`mip::MEIP` for an M-mode context, `mip::SEIP` for an S-mode one).
    pub fn new(num_sources: u32, contexts: Vec<(Arc<HartInterrupts>, u64)>) -> Plic {
        let n = num_sources.clamp(1, MAX_SOURCES);
        if n != num_sources {
            log::warn!("plic: {num_sources} sources requested, using {n}");
        }
        let words = n.div_ceil(32) as usize;
        let contexts = contexts
            .into_iter()
            .map(|(hart, mip_mask)| Context {
                hart,
                mip_mask,
                enable: vec![0; words],
                threshold: 0,
            })
            .collect();
        let plic = Plic {
            num_sources: n,
            priority: vec![0; n as usize],
            level: vec![false; n as usize],
            pending: vec![false; n as usize],
            in_service: vec![false; n as usize],
            contexts,
        };
        plic.update();
        plic
    }

    /// The interrupt line of source `id`; driving it locks `plic` when the level changes.
    /// An out-of-range `id` (or 0) gives a line connected to nothing (logged).
    pub fn source(plic: &Arc<Mutex<Plic>>, id: u32) -> Arc<dyn IrqLine> {
        let valid = {
            let p = lock(plic);
            id != 0 && id < p.num_sources
        };
        if !valid {
            log::warn!("plic: source {id} does not exist; its line is not connected");
            return Arc::new(crate::irq::NoIrq);
        }
        Arc::new(PlicSource {
            plic: plic.clone(),
            id,
            level: AtomicBool::new(false),
        })
    }

    /// Number of sources (including source 0).
    pub fn num_sources(&self) -> u32 {
        self.num_sources
    }

    /// Drives the line of source `id` (ignored for 0 and out-of-range IDs).
    pub fn set_level(&mut self, id: u32, level: bool) {
        let Some(i) = self.index(id) else {
            return;
        };
        self.level[i] = level;
        self.pending[i] = level && !self.in_service[i];
        self.update();
    }

    /// Whether source `id` is pending.
    pub fn is_pending(&self, id: u32) -> bool {
        self.index(id).is_some_and(|i| self.pending[i])
    }

    fn index(&self, id: u32) -> Option<usize> {
        (id != 0 && id < self.num_sources).then_some(id as usize)
    }

    fn enabled(&self, ctx: usize, id: usize) -> bool {
        self.contexts[ctx]
            .enable
            .get(id / 32)
            .is_some_and(|w| w >> (id % 32) & 1 != 0)
    }

    /// The best pending enabled source above context `ctx`'s threshold (lowest ID on ties).
    fn best(&self, ctx: usize) -> Option<usize> {
        let threshold = self.contexts[ctx].threshold;
        let mut best: Option<(usize, u32)> = None;
        for id in 1..self.num_sources as usize {
            let prio = self.priority[id];
            if self.pending[id]
                && prio > threshold
                && self.enabled(ctx, id)
                && best.is_none_or(|(_, p)| prio > p)
            {
                best = Some((id, prio));
            }
        }
        best.map(|(id, _)| id)
    }

    /// Drives every context's hart line from the current state.
    fn update(&self) {
        for (c, ctx) in self.contexts.iter().enumerate() {
            ctx.hart.set_line(ctx.mip_mask, self.best(c).is_some());
        }
    }

    fn claim(&mut self, ctx: usize) -> u32 {
        match self.best(ctx) {
            Some(id) => {
                self.pending[id] = false;
                self.in_service[id] = true;
                id as u32
            }
            None => 0,
        }
    }

    fn complete(&mut self, ctx: usize, id: u32) {
        let Some(i) = self.index(id) else {
            log::debug!("plic: completion of invalid source {id} ignored");
            return;
        };
        if !self.enabled(ctx, i) {
            log::debug!("plic: completion of source {id}, not enabled in context {ctx}, ignored");
            return;
        }
        self.in_service[i] = false;
        if self.level[i] {
            self.pending[i] = true;
        }
    }

    fn pending_word(&self, w: usize) -> u32 {
        (0..32)
            .filter(|b| self.pending.get(w * 32 + b).copied().unwrap_or(false))
            .fold(0, |acc, b| acc | 1 << b)
    }

    /// Bits of enable word `w` that name existing sources (source 0 is hardwired to 0).
    fn valid_bits(&self, w: usize) -> u32 {
        (0..32u32)
            .filter(|b| {
                let id = w as u64 * 32 + u64::from(*b);
                id != 0 && id < u64::from(self.num_sources)
            })
            .fold(0, |acc, b| acc | 1 << b)
    }

    /// Decodes a context-area offset: (context, register within it).
    fn context_reg(&self, offset: u64) -> Option<(usize, u64)> {
        let rel = offset.checked_sub(CONTEXT_BASE)?;
        let ctx = usize::try_from(rel / CONTEXT_STRIDE).ok()?;
        (ctx < self.contexts.len()).then_some((ctx, rel % CONTEXT_STRIDE))
    }

    /// Decodes an enable-area offset: (context, word).
    fn enable_reg(&self, offset: u64) -> Option<(usize, usize)> {
        let rel = offset.checked_sub(ENABLE_BASE)?;
        if offset >= CONTEXT_BASE {
            return None;
        }
        let ctx = usize::try_from(rel / ENABLE_STRIDE).ok()?;
        let w = ((rel % ENABLE_STRIDE) / 4) as usize;
        (ctx < self.contexts.len() && w < self.contexts[ctx].enable.len()).then_some((ctx, w))
    }
}

impl Regs32 for Plic {
    fn read32(&mut self, offset: u64) -> u32 {
        if offset < PENDING_BASE {
            return self
                .index((offset / 4) as u32)
                .map_or(0, |i| self.priority[i]);
        }
        if offset < ENABLE_BASE {
            let w = ((offset - PENDING_BASE) / 4) as usize;
            return self.pending_word(w);
        }
        if let Some((ctx, w)) = self.enable_reg(offset) {
            return self.contexts[ctx].enable[w];
        }
        match self.context_reg(offset) {
            Some((ctx, 0)) => self.contexts[ctx].threshold,
            Some((ctx, 4)) => self.claim(ctx),
            _ => 0,
        }
    }

    fn write32(&mut self, offset: u64, value: u32, mask: u32) {
        if offset < PENDING_BASE {
            if let Some(i) = self.index((offset / 4) as u32) {
                self.priority[i] = merge(self.priority[i], value, mask) & MAX_PRIORITY;
            }
            return;
        }
        if offset < ENABLE_BASE {
            log::debug!("plic: write to read-only pending bits at {offset:#x} ignored");
            return;
        }
        if let Some((ctx, w)) = self.enable_reg(offset) {
            let valid = self.valid_bits(w);
            let e = &mut self.contexts[ctx].enable[w];
            *e = merge(*e, value, mask) & valid;
            return;
        }
        match self.context_reg(offset) {
            Some((ctx, 0)) => {
                let t = &mut self.contexts[ctx].threshold;
                *t = merge(*t, value, mask) & MAX_PRIORITY;
            }
            Some((ctx, 4)) => self.complete(ctx, value & mask),
            _ => log::debug!("plic: ignored write {value:#x} at {offset:#x}"),
        }
    }
}

impl BusDevice for Plic {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        read_regs(self, offset, data);
        self.update();
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        write_regs(self, offset, data);
        self.update();
    }
}

/// The line of one PLIC source.
struct PlicSource {
    plic: Arc<Mutex<Plic>>,
    id: u32,
    level: AtomicBool,
}

impl IrqLine for PlicSource {
    fn set_level(&self, level: bool) {
        if self.level.swap(level, Ordering::AcqRel) != level {
            lock(&self.plic).set_level(self.id, level);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::mip;
    use crate::test_util::{rd32, wr, wr32};

    const CLAIM0: u64 = CONTEXT_BASE + 4;
    const CLAIM1: u64 = CONTEXT_BASE + CONTEXT_STRIDE + 4;

    fn g233() -> (Arc<HartInterrupts>, Arc<Mutex<Plic>>) {
        let h = Arc::new(HartInterrupts::new());
        let p = Plic::new(53, vec![(h.clone(), mip::MEIP), (h.clone(), mip::SEIP)]);
        (h, Arc::new(Mutex::new(p)))
    }

    fn with<R>(p: &Arc<Mutex<Plic>>, f: impl FnOnce(&mut Plic) -> R) -> R {
        f(&mut lock(p))
    }

    #[test]
    fn priorities_are_three_bits_and_source_zero_is_hardwired() {
        let (_h, p) = g233();
        with(&p, |p| {
            wr32(p, 4, 0xFF);
            assert_eq!(rd32(p, 4), 7);
            wr32(p, 52 * 4, 3);
            assert_eq!(rd32(p, 52 * 4), 3);
            wr32(p, 0, 5);
            assert_eq!(rd32(p, 0), 0);
            // Source 53 does not exist on G233.
            wr32(p, 53 * 4, 5);
            assert_eq!(rd32(p, 53 * 4), 0);
            // Enable bits: source 0 and sources >= 53 cannot be enabled.
            wr32(p, ENABLE_BASE, 0xFFFF_FFFF);
            wr32(p, ENABLE_BASE + 4, 0xFFFF_FFFF);
            assert_eq!(rd32(p, ENABLE_BASE), 0xFFFF_FFFE);
            assert_eq!(rd32(p, ENABLE_BASE + 4), 0x001F_FFFF);
            assert_eq!(rd32(p, ENABLE_BASE + 8), 0);
            wr32(p, CONTEXT_BASE, 0x1F);
            assert_eq!(rd32(p, CONTEXT_BASE), 7);
        });
    }

    #[test]
    fn claim_complete_with_level_repend() {
        let (h, p) = g233();
        let line = Plic::source(&p, 3);
        with(&p, |p| {
            wr32(p, 3 * 4, 1);
            wr32(p, ENABLE_BASE, 1 << 3);
        });
        assert_eq!(h.lines() & mip::MEIP, 0);
        line.set_level(true);
        assert_eq!(h.lines() & mip::MEIP, mip::MEIP);
        with(&p, |p| {
            assert_eq!(rd32(p, PENDING_BASE), 1 << 3);
            // Pending bits are read-only.
            wr32(p, PENDING_BASE, 0);
            assert_eq!(rd32(p, PENDING_BASE), 1 << 3);
            assert_eq!(rd32(p, CLAIM0), 3);
            assert_eq!(rd32(p, PENDING_BASE), 0);
            // In service: not pending again while the line stays high.
            assert_eq!(rd32(p, CLAIM0), 0);
        });
        assert_eq!(h.lines() & mip::MEIP, 0);
        with(&p, |p| wr32(p, CLAIM0, 3));
        // Line still high: pending again right after completion.
        assert_eq!(h.lines() & mip::MEIP, mip::MEIP);
        with(&p, |p| {
            assert_eq!(rd32(p, PENDING_BASE), 1 << 3);
            assert_eq!(rd32(p, CLAIM0), 3);
        });
        line.set_level(false);
        with(&p, |p| wr32(p, CLAIM0, 3));
        assert_eq!(h.lines() & mip::MEIP, 0);
        with(&p, |p| assert_eq!(rd32(p, PENDING_BASE), 0));
    }

    #[test]
    fn line_dropping_before_claim_withdraws_the_request() {
        let (h, p) = g233();
        let line = Plic::source(&p, 1);
        with(&p, |p| {
            wr32(p, 4, 1);
            wr32(p, ENABLE_BASE, 1 << 1);
        });
        line.set_level(true);
        assert!(with(&p, |p| p.is_pending(1)));
        line.set_level(false);
        assert!(!with(&p, |p| p.is_pending(1)));
        assert_eq!(h.lines() & mip::MEIP, 0);
        with(&p, |p| assert_eq!(rd32(p, CLAIM0), 0));
    }

    #[test]
    fn priority_threshold_and_tie_breaking() {
        let (h, p) = g233();
        let lines: Vec<_> = [1u32, 2, 3, 40]
            .iter()
            .map(|&i| Plic::source(&p, i))
            .collect();
        with(&p, |p| {
            wr32(p, 4, 2);
            wr32(p, 8, 5);
            wr32(p, 12, 5);
            wr32(p, 40 * 4, 6);
            wr32(p, ENABLE_BASE, 0b1110);
            wr32(p, ENABLE_BASE + 4, 1 << 8);
        });
        for l in &lines {
            l.set_level(true);
        }
        with(&p, |p| {
            assert_eq!(rd32(p, PENDING_BASE + 4), 1 << 8);
            // Threshold 6 masks everything (priority must be strictly greater).
            wr32(p, CONTEXT_BASE, 6);
        });
        assert_eq!(h.lines() & mip::MEIP, 0);
        with(&p, |p| {
            assert_eq!(rd32(p, CLAIM0), 0);
            wr32(p, CONTEXT_BASE, 0);
            assert_eq!(rd32(p, CLAIM0), 40);
            // 2 and 3 tie at priority 5: lowest ID first.
            assert_eq!(rd32(p, CLAIM0), 2);
            assert_eq!(rd32(p, CLAIM0), 3);
            // Threshold 2 now hides source 1 (priority 2).
            wr32(p, CONTEXT_BASE, 2);
            assert_eq!(rd32(p, CLAIM0), 0);
            wr32(p, CONTEXT_BASE, 1);
            assert_eq!(rd32(p, CLAIM0), 1);
        });
        // Priority 0 never interrupts.
        let l5 = Plic::source(&p, 5);
        with(&p, |p| {
            wr32(p, ENABLE_BASE, 1 << 5);
            wr32(p, CONTEXT_BASE, 0);
        });
        l5.set_level(true);
        with(&p, |p| assert_eq!(rd32(p, CLAIM0), 0));
    }

    #[test]
    fn context_one_drives_seip_independently() {
        let (h, p) = g233();
        let line = Plic::source(&p, 8);
        with(&p, |p| {
            wr32(p, 8 * 4, 1);
            wr32(p, ENABLE_BASE + ENABLE_STRIDE, 1 << 8);
        });
        line.set_level(true);
        assert_eq!(h.lines() & (mip::MEIP | mip::SEIP), mip::SEIP);
        with(&p, |p| {
            assert_eq!(rd32(p, CLAIM0), 0);
            assert_eq!(rd32(p, CLAIM1), 8);
        });
        assert_eq!(h.lines() & mip::SEIP, 0);
        // Completion through a context where the source is not enabled is ignored.
        line.set_level(false);
        with(&p, |p| wr32(p, CLAIM0, 8));
        line.set_level(true);
        assert_eq!(h.lines() & mip::SEIP, 0, "still in service");
        with(&p, |p| wr32(p, CLAIM1, 8));
        assert_eq!(h.lines() & mip::SEIP, mip::SEIP);
        // Enabling in context 0 with threshold 0 also raises MEIP.
        with(&p, |p| wr32(p, ENABLE_BASE, 1 << 8));
        assert_eq!(h.lines() & mip::MEIP, mip::MEIP);
    }

    #[test]
    fn invalid_sources_and_offsets_are_harmless() {
        let (h, p) = g233();
        let none = Plic::source(&p, 0);
        none.set_level(true);
        let none = Plic::source(&p, 53);
        none.set_level(true);
        with(&p, |p| {
            p.set_level(9999, true);
            assert_eq!(rd32(p, PENDING_BASE), 0);
            assert_eq!(rd32(p, PENDING_BASE + 4), 0);
            // Context 2 does not exist.
            wr32(p, CONTEXT_BASE + 2 * CONTEXT_STRIDE, 1);
            assert_eq!(rd32(p, CONTEXT_BASE + 2 * CONTEXT_STRIDE + 4), 0);
            wr32(p, ENABLE_BASE + 2 * ENABLE_STRIDE, 1);
            assert_eq!(rd32(p, ENABLE_BASE + 2 * ENABLE_STRIDE), 0);
            wr32(p, CLAIM0, 0);
            wr32(p, CLAIM0, 12345);
            wr(p, PLIC_SIZE - 8, 8, u64::MAX);
            assert_eq!(rd32(p, PLIC_SIZE - 4), 0);
        });
        assert_eq!(h.lines(), 0);
    }
}
