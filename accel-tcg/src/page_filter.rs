//! A set of virtual pages with false positives: which pages a jump cache may hold entries for,
//! so that flushing one page's entries (an `sfence.vma` with an address) can skip the scan of
//! half the cache when the page never had any (a data page: the common case).

use crate::mmu::PAGE_MASK;

/// Bits in the filter (a power of two).
const BITS: usize = 4096;

/// Pages that may have entries (one bit per page number modulo [`BITS`]).
#[derive(Clone)]
pub(crate) struct PageFilter {
    bits: Box<[u64; BITS / 64]>,
}

impl Default for PageFilter {
    fn default() -> Self {
        PageFilter {
            bits: Box::new([0; BITS / 64]),
        }
    }
}

impl PageFilter {
    #[inline(always)]
    fn bit(va: u64) -> (usize, u64) {
        let n = ((va & PAGE_MASK) >> 12) as usize & (BITS - 1);
        (n / 64, 1 << (n % 64))
    }

    /// Notes that the page of `va` has (or may have) entries.
    #[inline(always)]
    pub(crate) fn insert(&mut self, va: u64) {
        let (w, m) = Self::bit(va);
        self.bits[w] |= m;
    }

    /// Whether the page of `va` may have entries (false: it certainly has none).
    #[inline(always)]
    pub(crate) fn may_contain(&self, va: u64) -> bool {
        let (w, m) = Self::bit(va);
        self.bits[w] & m != 0
    }

    /// The slots of a direct-mapped cache of `size` entries indexed by `(pc >> 1) % size` that
    /// may hold pcs of `page`: its 2048 consecutive slots (wrapping), or none when the page
    /// certainly has no entries.
    pub(crate) fn slots_of(&self, page: u64, size: usize) -> impl Iterator<Item = usize> {
        let first = ((page >> 1) as usize) & (size - 1);
        let n = if self.may_contain(page) {
            (size / 2).min(0x1000 / 2)
        } else {
            0
        };
        (0..n).map(move |k| (first + k) & (size - 1))
    }

    /// Forgets every page (the cache was emptied).
    pub(crate) fn clear(&mut self) {
        self.bits.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::{PageFilter, BITS};

    #[test]
    fn holds_inserted_pages_and_forgets_on_clear() {
        let mut f = PageFilter::default();
        assert!(!f.may_contain(0x8000_1234));
        f.insert(0x8000_1000);
        assert!(f.may_contain(0x8000_1ffe));
        assert!(!f.may_contain(0x8000_2000));
        // Pages BITS apart share a bit: a false positive, never a false negative.
        assert!(f.may_contain(0x8000_1000 + (BITS as u64) * 4096));
        assert_eq!(f.slots_of(0x8000_2000, 4096).count(), 0);
        let slots: Vec<usize> = f.slots_of(0x8000_1000, 4096).collect();
        assert_eq!(slots.len(), 2048);
        assert_eq!(slots[0], (0x8000_1000 >> 1) & 4095);
        f.clear();
        assert!(!f.may_contain(0x8000_1000));
    }
}
