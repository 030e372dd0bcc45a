//! Which guest registers a baseline block holds in host registers at a point of its code.
//!
//! Within a block the emitter keeps recently used guest registers in a few caller-saved host
//! registers (written back when evicted, before helper calls and at exits), so a value computed
//! by one instruction feeds the next without a store and a reload. This is pure bookkeeping: the
//! emitter emits the loads and stores the decisions here call for.

/// Host registers (x86-64 numbers) that hold guest registers: rdi, r8-r11 (caller-saved, not
/// used by the templates' scratch registers rax, rcx, rdx, rsi, nor by rbx, the CPU pointer).
pub(super) const HOST: [u8; 5] = [7, 8, 9, 10, 11];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    /// The guest register held (1-31), 0 when free.
    guest: u8,
    /// Changed since loaded: must be stored before the slot is reused or the block left.
    dirty: bool,
    /// Last use (for least-recently-used eviction).
    used: u32,
}

/// The guest registers held in [`HOST`] registers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct RegCache {
    slots: [Slot; HOST.len()],
    tick: u32,
}

/// What the emitter must do to make a guest register available.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Placement {
    /// The host register now assigned to the guest register.
    pub host: u8,
    /// Whether it already held it (else it must be loaded, for a read).
    pub hit: bool,
    /// A dirty guest register evicted from `host`: store it first (guest, host).
    pub spill: Option<u8>,
}

impl RegCache {
    /// The host register holding guest register `r`, if any (marks it used).
    fn find(&mut self, r: u8) -> Option<usize> {
        let k = self.slots.iter().position(|s| s.guest == r)?;
        self.tick += 1;
        self.slots[k].used = self.tick;
        Some(k)
    }

    /// Places guest register `r` (1-31) in a host register; `write` marks it dirty.
    pub(super) fn place(&mut self, r: u8, write: bool) -> Placement {
        if let Some(k) = self.find(r) {
            self.slots[k].dirty |= write;
            return Placement {
                host: HOST[k],
                hit: true,
                spill: None,
            };
        }
        let k = (0..HOST.len())
            .min_by_key(|&k| (self.slots[k].guest != 0, self.slots[k].used))
            .unwrap_or(0);
        let old = self.slots[k];
        self.tick += 1;
        self.slots[k] = Slot {
            guest: r,
            dirty: write,
            used: self.tick,
        };
        Placement {
            host: HOST[k],
            hit: false,
            spill: (old.guest != 0 && old.dirty).then_some(old.guest),
        }
    }

    /// The (guest, host) pairs of dirty registers.
    pub(super) fn dirty(&self) -> impl Iterator<Item = (u8, u8)> + '_ {
        self.slots
            .iter()
            .zip(HOST)
            .filter(|(s, _)| s.guest != 0 && s.dirty)
            .map(|(s, h)| (s.guest, h))
    }

    /// The (guest, host) pairs of every held register.
    pub(super) fn held(&self) -> impl Iterator<Item = (u8, u8)> + '_ {
        self.slots
            .iter()
            .zip(HOST)
            .filter(|(s, _)| s.guest != 0)
            .map(|(s, h)| (s.guest, h))
    }

    /// Everything stored: nothing is dirty any more.
    pub(super) fn clean(&mut self) {
        for s in self.slots.iter_mut() {
            s.dirty = false;
        }
    }

    /// The host registers were clobbered (a call): nothing is held.
    pub(super) fn forget(&mut self) {
        self.slots = Default::default();
    }
}

#[cfg(test)]
mod tests {
    use super::{RegCache, HOST};

    #[test]
    fn hits_evicts_least_recently_used_and_reports_dirty_spills() {
        let mut c = RegCache::default();
        let a = c.place(10, false);
        assert!(!a.hit && a.spill.is_none());
        assert!(c.place(10, false).hit);
        // Fill every slot; guest 11 is written (dirty).
        let b = c.place(11, true);
        for r in 12..(10 + HOST.len() as u8) {
            c.place(r, false);
        }
        // Touch 10 so 11 is now the least recently used: the next new register evicts it.
        c.place(10, false);
        let e = c.place(20, false);
        assert_eq!(e.host, b.host);
        assert_eq!(e.spill, Some(11));
        assert!(c.dirty().next().is_none());
        c.place(20, true);
        assert_eq!(c.dirty().collect::<Vec<_>>(), vec![(20, b.host)]);
        assert_eq!(c.held().count(), HOST.len());
        c.clean();
        assert!(c.dirty().next().is_none());
        c.forget();
        assert_eq!(c.held().count(), 0);
    }
}
