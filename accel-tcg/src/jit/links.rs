//! The filled exit slots of translated code, indexed so that an invalidation clears only the
//! slots it concerns: those leading to one piece of code (recompiled or removed), or to one
//! virtual page (its translation was flushed).
//!
//! A slot is recorded under both keys; clearing it through one key leaves a stale record under
//! the other. That is harmless: clearing a slot only sends its exit back to the dispatcher,
//! which links it again (so a stale record may at worst clear a slot that was relinked since).
//! Records are bounded: past [`MAX_RECORDS`] the owner clears everything.

use super::FxMap;
use crate::mmu::PAGE_MASK;

/// Records (both indexes together) beyond which [`LinkIndex::full`] says to start over.
const MAX_RECORDS: usize = 1 << 20;

/// Filled exit slots by target code and by target virtual page.
#[derive(Default)]
pub(crate) struct LinkIndex {
    by_code: FxMap<u64, Vec<*mut u64>>,
    by_page: FxMap<u64, Vec<*mut u64>>,
    records: usize,
}

impl LinkIndex {
    /// Records that `slot` now holds `code`, the code for virtual address `vpc`.
    pub(crate) fn add(&mut self, slot: *mut u64, vpc: u64, code: u64) {
        self.by_code.entry(code).or_default().push(slot);
        self.by_page.entry(vpc & PAGE_MASK).or_default().push(slot);
        self.records += 2;
    }

    /// Whether the records outgrew their bound (the owner should [`Self::clear_all`]).
    pub(crate) fn full(&self) -> bool {
        self.records >= MAX_RECORDS
    }

    /// Clears every recorded slot.
    ///
    /// # Safety
    /// Every recorded slot must still be valid for writes.
    pub(crate) unsafe fn clear_all(&mut self) {
        for slots in self.by_code.values() {
            for &s in slots {
                // SAFETY: the caller's contract.
                unsafe { *s = 0 };
            }
        }
        self.by_code.clear();
        self.by_page.clear();
        self.records = 0;
    }

    /// Clears the slots leading to `code`.
    ///
    /// # Safety
    /// As for [`Self::clear_all`].
    pub(crate) unsafe fn unlink_code(&mut self, code: u64) {
        if let Some(slots) = self.by_code.remove(&code) {
            self.records -= slots.len();
            for s in slots {
                // SAFETY: the caller's contract; the slot may have been relinked since (see
                // the module doc), but only ever to code, so clearing it is safe.
                unsafe {
                    if *s == code {
                        *s = 0;
                    }
                }
            }
        }
    }

    /// Clears the slots leading into virtual page `page`.
    ///
    /// # Safety
    /// As for [`Self::clear_all`].
    pub(crate) unsafe fn unlink_page(&mut self, page: u64) {
        if let Some(slots) = self.by_page.remove(&page) {
            self.records -= slots.len();
            for s in slots {
                // SAFETY: the caller's contract.
                unsafe { *s = 0 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LinkIndex;

    #[test]
    fn clears_by_code_by_page_and_all() {
        let mut slots = [0u64; 4];
        let p = slots.as_mut_ptr();
        let mut ix = LinkIndex::default();
        // SAFETY: `slots` outlives `ix`'s use; the pointers stay in bounds.
        unsafe {
            for (k, (vpc, code)) in [
                (0x1000, 0xa0),
                (0x1008, 0xb0),
                (0x2000, 0xa0),
                (0x3000, 0xc0),
            ]
            .into_iter()
            .enumerate()
            {
                *p.add(k) = code;
                ix.add(p.add(k), vpc, code);
            }
            ix.unlink_code(0xa0);
            assert_eq!(slots, [0, 0xb0, 0, 0xc0]);
            ix.unlink_page(0x1000);
            assert_eq!(slots, [0, 0, 0, 0xc0]);
            // A slot relinked to other code is left alone by its old code's unlink.
            *p.add(2) = 0xd0;
            ix.add(p.add(2), 0x2000, 0xd0);
            ix.unlink_code(0xa0);
            assert_eq!(slots, [0, 0, 0xd0, 0xc0]);
            ix.clear_all();
            assert_eq!(slots, [0; 4]);
            assert!(!ix.full());
        }
    }
}
