//! Address translation: the softmmu TLB and the Sv39/Sv48 page-table walk (with Svade, Svpbmt,
//! Svnapot), plus PMP applied to the resulting physical address.
//!
//! The TLB is direct-mapped per MMU index (U, S, S with SUM, M). An entry caches one 4 KiB virtual
//! page: separate read/write/fetch tags (the page's virtual address, or [`TLB_INVALID`]) and, for
//! RAM pages, the host addend (`host = addend + vaddr`). A fast-path access compares
//! `vaddr & (PAGE_MASK | (size - 1))` with the tag, so misaligned accesses take the slow path. Only
//! RAM pages get fast tags; writes to pages holding translated code never do (`write_slow` still
//! caches the translation for the slow path).

use crate::cpu::{cause, prv, Cpu, Exc};
use crate::csr::{MSTATUS_MXR, MSTATUS_SUM};

/// Number of entries in each TLB (power of two).
pub const TLB_SIZE: usize = 256;
/// Number of MMU indices.
pub const MMU_IDX_COUNT: usize = 4;
/// MMU index for U-mode accesses.
pub const MMU_U: u8 = 0;
/// MMU index for S-mode accesses with SUM=0.
pub const MMU_S: u8 = 1;
/// MMU index for S-mode accesses with SUM=1.
pub const MMU_S_SUM: u8 = 2;
/// MMU index for M-mode accesses (no translation).
pub const MMU_M: u8 = 3;
/// A tag that never matches (its low bits are set).
pub const TLB_INVALID: u64 = u64::MAX;
/// Mask of the page-number bits of an address.
pub const PAGE_MASK: u64 = !0xfff;

/// One TLB entry.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TlbEntry {
    /// Virtual page if loads may use the fast path.
    pub read: u64,
    /// Virtual page if stores may use the fast path.
    pub write: u64,
    /// Virtual page if instruction fetch is permitted.
    pub exec: u64,
    /// Host address minus virtual address (RAM pages only).
    pub addend: u64,
    /// Physical page address.
    pub paddr: u64,
    /// Virtual page if stores are permitted (slow path: code page or not).
    pub write_slow: u64,
}

impl TlbEntry {
    const EMPTY: TlbEntry = TlbEntry {
        read: TLB_INVALID,
        write: TLB_INVALID,
        exec: TLB_INVALID,
        addend: 0,
        paddr: 0,
        write_slow: TLB_INVALID,
    };
}

/// One direct-mapped TLB.
#[repr(C)]
pub struct Tlb {
    /// The entries, indexed by [`tlb_index`].
    pub entries: [TlbEntry; TLB_SIZE],
}

impl Tlb {
    /// An empty TLB.
    pub fn new() -> Tlb {
        Tlb {
            entries: [TlbEntry::EMPTY; TLB_SIZE],
        }
    }

    /// Invalidates every entry.
    pub fn flush(&mut self) {
        self.entries.fill(TlbEntry::EMPTY);
    }
}

impl Default for Tlb {
    fn default() -> Self {
        Self::new()
    }
}

/// The index of `va` in a TLB: the page number folded with the page number of its 4 MiB window,
/// so that buffers a large power of two apart (e.g. a copy between two 64 MiB buffers) do not
/// evict each other's entries on every access. Translated code computes the same function.
#[inline(always)]
pub fn tlb_index(va: u64) -> usize {
    let vpn = va >> 12;
    ((vpn ^ (vpn >> TLB_FOLD_SHIFT)) as usize) & (TLB_SIZE - 1)
}

/// See [`tlb_index`].
pub const TLB_FOLD_SHIFT: u32 = 10;

/// Kind of memory access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Data load.
    Read,
    /// Data store or AMO.
    Write,
    /// Instruction fetch.
    Exec,
}

impl Access {
    pub(crate) fn page_fault(self, va: u64) -> Exc {
        let cause = match self {
            Access::Read => cause::LOAD_PAGE,
            Access::Write => cause::STORE_PAGE,
            Access::Exec => cause::FETCH_PAGE,
        };
        Exc { cause, tval: va }
    }

    pub(crate) fn access_fault(self, va: u64) -> Exc {
        let cause = match self {
            Access::Read => cause::LOAD_ACCESS,
            Access::Write => cause::STORE_ACCESS,
            Access::Exec => cause::FETCH_ACCESS,
        };
        Exc { cause, tval: va }
    }
}

/// Permission bits of a translation.
pub(crate) const PERM_R: u8 = 1;
pub(crate) const PERM_W: u8 = 2;
pub(crate) const PERM_X: u8 = 4;

const PTE_V: u64 = 1;
const PTE_R: u64 = 2;
const PTE_W: u64 = 4;
const PTE_X: u64 = 8;
const PTE_U: u64 = 16;
const PTE_A: u64 = 64;
const PTE_D: u64 = 128;
const PTE_N: u64 = 1 << 63;
const PTE_PBMT: u64 = 3 << 61;
const PTE_RESERVED: u64 = 0x7f << 54;
const PTE_PPN_MASK: u64 = ((1u64 << 44) - 1) << 10;

impl Cpu {
    /// The privilege and MMU index of an access of kind `acc`.
    fn access_prv(&self, acc: Access) -> (u8, u8) {
        match acc {
            Access::Exec => (self.prv, self.fetch_idx),
            _ => {
                let eff = match self.data_idx {
                    MMU_U => prv::U,
                    MMU_S | MMU_S_SUM => prv::S,
                    _ => prv::M,
                };
                (eff, self.data_idx)
            }
        }
    }

    /// Translates `va` for an access of kind `acc` at the current effective privilege, checks PMP
    /// for `size` bytes, and fills the TLB. Returns the physical address.
    pub(crate) fn translate(&mut self, va: u64, acc: Access, size: u64) -> Result<u64, Exc> {
        let (eff, idx) = self.access_prv(acc);
        let e = &self.tlb[idx as usize].entries[tlb_index(va)];
        let page = va & PAGE_MASK;
        let hit = match acc {
            Access::Read => e.read == page,
            Access::Write => e.write_slow == page,
            Access::Exec => e.exec == page,
        };
        if hit && (va & 0xfff) + size <= 0x1000 {
            return Ok(e.paddr | (va & 0xfff));
        }
        let (pa, perms, leaf_mask) = self.walk(va, acc, eff)?;
        if leaf_mask > 0xfff {
            // Remember where entries from large pages are: `sfence.vma` of an address in there
            // must flush everything (the entries of one large page are spread over the TLB).
            self.large_pages.0 = self.large_pages.0.min(va & !leaf_mask);
            self.large_pages.1 = self.large_pages.1.max(va | leaf_mask);
        }
        let pa_page = pa & PAGE_MASK;
        // PMP: the access itself must pass; the TLB only caches pages PMP treats uniformly.
        if !self.pmp_check(pa, size, acc, eff) {
            return Err(acc.access_fault(va));
        }
        let uniform = self.pmp_page_perms(pa_page, eff);
        let host = self.ram_host(pa_page, 0x1000);
        let code = self.code_pages.contains_key(&pa_page);
        if let Some(pmp_perms) = uniform {
            let perms = perms & pmp_perms;
            let e = &mut self.tlb[idx as usize].entries[tlb_index(va)];
            *e = TlbEntry {
                read: TLB_INVALID,
                write: TLB_INVALID,
                exec: if perms & PERM_X != 0 {
                    page
                } else {
                    TLB_INVALID
                },
                addend: 0,
                paddr: pa_page,
                write_slow: if perms & PERM_W != 0 {
                    page
                } else {
                    TLB_INVALID
                },
            };
            if perms & PERM_R != 0 {
                // Read tag only with a host mapping: MMIO loads keep taking the slow path, which
                // re-translates through `read` below... so also cache MMIO read translations.
                e.read = page;
            }
            if let Some(h) = host {
                e.addend = (h as u64).wrapping_sub(page);
                if perms & PERM_W != 0 && !code {
                    e.write = page;
                }
            } else if e.read == page {
                // MMIO page: keep the translation but force loads off the fast path.
                e.read = TLB_INVALID;
            }
        }
        Ok(pa)
    }

    /// Walks the page tables (or not, in bare mode / M-mode) and returns the physical address,
    /// the permissions the leaf grants at privilege `eff` and the leaf's offset mask (0xfff for
    /// a 4 KiB page, more for a superpage or a Svnapot page).
    fn walk(&mut self, va: u64, acc: Access, eff: u8) -> Result<(u64, u8, u64), Exc> {
        let mode = self.satp >> 60;
        if eff == prv::M || mode == 0 {
            return Ok((va, PERM_R | PERM_W | PERM_X, 0xfff));
        }
        let levels: u32 = if mode == 9 { 4 } else { 3 };
        let va_bits = 12 + 9 * levels;
        // The upper bits must be a sign extension of the top VA bit.
        let top = ((va as i64) << (64 - va_bits)) >> (64 - va_bits);
        if top as u64 != va {
            return Err(acc.page_fault(va));
        }
        let sum = self.mstatus & MSTATUS_SUM != 0;
        let mxr = self.mstatus & MSTATUS_MXR != 0;
        let pbmte = self.menvcfg & crate::csr::MENVCFG_PBMTE != 0;
        let mut a = (self.satp & ((1 << 44) - 1)) << 12;
        let mut level = levels as i32 - 1;
        loop {
            let vpn = (va >> (12 + 9 * level as u32)) & 0x1ff;
            let pte_addr = a + vpn * 8;
            if !self.pmp_check(pte_addr, 8, Access::Read, prv::S) {
                return Err(acc.access_fault(va));
            }
            let pte = match self.ram_read_phys(pte_addr, 8) {
                Some(v) => v,
                None => return Err(acc.access_fault(va)),
            };
            if pte & PTE_V == 0 || (pte & PTE_R == 0 && pte & PTE_W != 0) || pte & PTE_RESERVED != 0
            {
                return Err(acc.page_fault(va));
            }
            let pbmt = (pte & PTE_PBMT) >> 61;
            if (pbmt != 0 && !pbmte) || pbmt == 3 {
                return Err(acc.page_fault(va));
            }
            let ppn = (pte & PTE_PPN_MASK) >> 10;
            if pte & (PTE_R | PTE_X) == 0 {
                // Pointer to the next level.
                if pte & (PTE_N | PTE_PBMT | PTE_A | PTE_D | PTE_U) != 0 || level == 0 {
                    return Err(acc.page_fault(va));
                }
                a = ppn << 12;
                level -= 1;
                continue;
            }
            // Leaf.
            let mut ppn = ppn;
            if pte & PTE_N != 0 {
                // Svnapot: only 64 KiB pages (ppn[3:0] = 1000) at level 0.
                if level != 0 || ppn & 0xf != 0x8 {
                    return Err(acc.page_fault(va));
                }
                ppn = (ppn & !0xf) | ((va >> 12) & 0xf);
            }
            // Superpage alignment.
            let low_ppn_bits = 9 * level as u32;
            if level > 0 && ppn & ((1 << low_ppn_bits) - 1) != 0 {
                return Err(acc.page_fault(va));
            }
            let mut perms = 0u8;
            let user = pte & PTE_U != 0;
            let allowed_prv = match eff {
                prv::U => user,
                _ => !user || sum,
            };
            if allowed_prv {
                if pte & PTE_R != 0 || (mxr && pte & PTE_X != 0) {
                    perms |= PERM_R;
                }
                if pte & PTE_W != 0 {
                    perms |= PERM_W;
                }
            }
            // S-mode never executes user pages, whatever SUM says.
            let exec_ok = match eff {
                prv::U => user,
                _ => !user,
            };
            if exec_ok && pte & PTE_X != 0 {
                perms |= PERM_X;
            }
            // Svade: no hardware A/D updates; a missing A (or D for stores) is a page fault.
            if pte & PTE_A == 0 {
                return Err(acc.page_fault(va));
            }
            if pte & PTE_D == 0 {
                perms &= !PERM_W;
            }
            let need = match acc {
                Access::Read => PERM_R,
                Access::Write => PERM_W,
                Access::Exec => PERM_X,
            };
            if perms & need == 0 {
                return Err(acc.page_fault(va));
            }
            let offset_mask = (1u64 << (12 + low_ppn_bits)) - 1;
            let pa = ((ppn << 12) & !offset_mask) | (va & offset_mask);
            let leaf_mask = if pte & PTE_N != 0 {
                0xffff
            } else {
                offset_mask
            };
            return Ok((pa, perms, leaf_mask));
        }
    }

    /// Flushes every TLB and the jump cache (satp writes, sfence.vma, MXR or PMP changes).
    pub(crate) fn flush_tlb(&mut self) {
        for t in self.tlb.iter_mut() {
            t.flush();
        }
        self.large_pages = (u64::MAX, 0);
        self.jump_cache.clear();
        self.jit.tlb_flushed();
    }

    /// Flushes what translates the 4 KiB virtual page of `va` (`sfence.vma` with an address):
    /// its entry in each TLB, its jump-cache entries, and (queued) the JIT's links and jump-cache
    /// entries into it. If `va` is where large-page entries may be cached, flushes everything.
    /// Linux issues thousands of these while booting; a full flush each time cost it ~5 %.
    pub(crate) fn flush_tlb_page(&mut self, va: u64) {
        let page = va & PAGE_MASK;
        if (self.large_pages.0..=self.large_pages.1).contains(&page) {
            self.flush_tlb();
            return;
        }
        let i = tlb_index(va);
        for t in self.tlb.iter_mut() {
            let e = &mut t.entries[i];
            if e.read == page || e.write == page || e.exec == page || e.write_slow == page {
                *e = TlbEntry::EMPTY;
            }
        }
        self.jump_cache.clear_page(page);
        self.jit.tlb_page_flushed(page);
    }

    /// Removes the fast write tags of every TLB entry mapping physical page `pa_page` (it now
    /// holds translated code).
    pub(crate) fn tlb_protect_code_page(&mut self, pa_page: u64) {
        for t in self.tlb.iter_mut() {
            for e in t.entries.iter_mut() {
                if e.paddr == pa_page {
                    e.write = TLB_INVALID;
                }
            }
        }
    }

    /// The host address of `[pa, pa + len)` if it lies entirely in one RAM region.
    #[inline]
    pub(crate) fn ram_host(&self, pa: u64, len: u64) -> Option<*mut u8> {
        for r in &self.ram_regions {
            if pa >= r.base && pa - r.base < r.len && r.len - (pa - r.base) >= len {
                return Some(r.host.wrapping_add((pa - r.base) as usize));
            }
        }
        None
    }

    /// Reads `size` (1, 2, 4, 8) bytes of RAM at physical `pa`; `None` outside RAM.
    pub(crate) fn ram_read_phys(&self, pa: u64, size: u64) -> Option<u64> {
        let h = self.ram_host(pa, size)?;
        // SAFETY: `ram_host` checked that [pa, pa+size) lies inside a mapped RAM region that
        // lives as long as `self.ram`; unaligned reads are used.
        Some(unsafe { crate::memory::host_read(h, size as usize) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::machine;

    #[test]
    fn tlb_index_wraps() {
        assert_eq!(tlb_index(0x1000), 1);
        assert_eq!(tlb_index(0x1000 * TLB_SIZE as u64), 0);
    }

    fn map(cpu: &mut Cpu, root: u64, va: u64, pa: u64, flags: u64, l1: u64, l0: u64) {
        // Three-level Sv39 mapping of one 4 KiB page using tables at root, l1, l0.
        let w = |cpu: &mut Cpu, a: u64, v: u64| crate::testutil::write64(cpu, a, v);
        let vpn2 = (va >> 30) & 0x1ff;
        let vpn1 = (va >> 21) & 0x1ff;
        let vpn0 = (va >> 12) & 0x1ff;
        w(cpu, root + vpn2 * 8, ((l1 >> 12) << 10) | PTE_V);
        w(cpu, l1 + vpn1 * 8, ((l0 >> 12) << 10) | PTE_V);
        w(cpu, l0 + vpn0 * 8, ((pa >> 12) << 10) | flags);
    }

    /// S-mode with Sv39 tables at `root`.
    fn sv39_s_mode(cpu: &mut Cpu, root: u64) {
        cpu.satp = (8 << 60) | (root >> 12);
        cpu.prv = prv::S;
        cpu.update_mmu_idx();
    }

    #[test]
    fn sv39_walk_permissions_and_svade() {
        let (mut cpu, _) = machine(&[]);
        crate::testutil::open_pmp(&mut cpu);
        let root = 0x8010_0000;
        map(
            &mut cpu,
            root,
            0x4000_0000,
            0x8020_0000,
            PTE_V | PTE_R | PTE_W | PTE_A | PTE_D,
            0x8010_1000,
            0x8010_2000,
        );
        map(
            &mut cpu,
            root,
            0x4000_1000,
            0x8020_1000,
            PTE_V | PTE_R | PTE_W | PTE_A,
            0x8010_1000,
            0x8010_2000,
        );
        map(
            &mut cpu,
            root,
            0x4000_2000,
            0x8020_2000,
            PTE_V | PTE_R | PTE_U | PTE_A,
            0x8010_1000,
            0x8010_2000,
        );
        sv39_s_mode(&mut cpu, root);
        assert_eq!(cpu.translate(0x4000_0123, Access::Read, 1), Ok(0x8020_0123));
        assert_eq!(
            cpu.translate(0x4000_0123, Access::Write, 1),
            Ok(0x8020_0123)
        );
        // D clear → store page fault (no hardware update).
        assert_eq!(
            cpu.translate(0x4000_1000, Access::Write, 1),
            Err(Exc {
                cause: 15,
                tval: 0x4000_1000
            })
        );
        // Not executable.
        assert_eq!(
            cpu.translate(0x4000_0000, Access::Exec, 2),
            Err(Exc {
                cause: 12,
                tval: 0x4000_0000
            })
        );
        // U page from S without SUM.
        assert_eq!(
            cpu.translate(0x4000_2000, Access::Read, 1),
            Err(Exc {
                cause: 13,
                tval: 0x4000_2000
            })
        );
        cpu.mstatus |= MSTATUS_SUM;
        cpu.update_mmu_idx();
        assert_eq!(cpu.translate(0x4000_2008, Access::Read, 1), Ok(0x8020_2008));
        // Unmapped and non-canonical addresses.
        assert_eq!(
            cpu.translate(0x5000_0000, Access::Read, 1)
                .unwrap_err()
                .cause,
            13
        );
        assert_eq!(
            cpu.translate(0x0000_0080_0000_0000, Access::Read, 1)
                .unwrap_err()
                .cause,
            13
        );
    }

    #[test]
    fn misaligned_superpage_faults() {
        let (mut cpu, _) = machine(&[]);
        crate::testutil::open_pmp(&mut cpu);
        let root = 0x8010_0000;
        // A 2 MiB leaf at level 1 whose ppn is not 2 MiB aligned.
        crate::testutil::write64(&mut cpu, root, ((0x8010_1000u64 >> 12) << 10) | PTE_V);
        crate::testutil::write64(
            &mut cpu,
            0x8010_1000,
            ((0x8020_1000u64 >> 12) << 10) | PTE_V | PTE_R | PTE_A,
        );
        crate::testutil::write64(
            &mut cpu,
            0x8010_1008,
            ((0x8040_0000u64 >> 12) << 10) | PTE_V | PTE_R | PTE_A,
        );
        sv39_s_mode(&mut cpu, root);
        assert_eq!(
            cpu.translate(0x1234, Access::Read, 1).unwrap_err().cause,
            13
        );
        assert_eq!(cpu.translate(0x20_1234, Access::Read, 1), Ok(0x8040_1234));
    }

    fn two_pages(cpu: &mut Cpu) {
        crate::testutil::open_pmp(cpu);
        let root = 0x8010_0000;
        let f = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
        map(
            cpu,
            root,
            0x4000_0000,
            0x8020_0000,
            f,
            0x8010_1000,
            0x8010_2000,
        );
        map(
            cpu,
            root,
            0x4000_1000,
            0x8020_1000,
            f,
            0x8010_1000,
            0x8010_2000,
        );
        sv39_s_mode(cpu, root);
        assert_eq!(cpu.translate(0x4000_0010, Access::Read, 8), Ok(0x8020_0010));
        assert_eq!(cpu.translate(0x4000_1010, Access::Read, 8), Ok(0x8020_1010));
    }

    fn cached(cpu: &Cpu, va: u64) -> bool {
        cpu.tlb[MMU_S as usize].entries[tlb_index(va)].read == va & PAGE_MASK
    }

    #[test]
    fn page_flush_drops_only_that_page() {
        let (mut cpu, _) = machine(&[]);
        two_pages(&mut cpu);
        assert!(cached(&cpu, 0x4000_0000) && cached(&cpu, 0x4000_1000));
        // Remap the first page; before the flush the stale translation may still be used.
        let f = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
        crate::testutil::write64(&mut cpu, 0x8010_2000, ((0x8030_0000u64 >> 12) << 10) | f);
        assert_eq!(cpu.translate(0x4000_0010, Access::Read, 8), Ok(0x8020_0010));
        cpu.flush_tlb_page(0x4000_0abc);
        assert!(!cached(&cpu, 0x4000_0000));
        assert!(cached(&cpu, 0x4000_1000), "the other page stays cached");
        assert_eq!(cpu.translate(0x4000_0010, Access::Read, 8), Ok(0x8030_0010));
    }

    #[test]
    fn page_flush_inside_a_large_page_flushes_everything() {
        let (mut cpu, _) = machine(&[]);
        two_pages(&mut cpu);
        // A 2 MiB page at 0x4020_0000 (level-1 leaf in the same level-1 table).
        crate::testutil::write64(
            &mut cpu,
            0x8010_1000 + 8,
            ((0x8040_0000u64 >> 12) << 10) | PTE_V | PTE_R | PTE_A,
        );
        assert_eq!(cpu.translate(0x4021_2345, Access::Read, 1), Ok(0x8041_2345));
        assert!(cached(&cpu, 0x4021_2000));
        // A page of the large mapping other than the cached one: everything goes.
        cpu.flush_tlb_page(0x4030_0000);
        assert!(!cached(&cpu, 0x4021_2000));
        assert!(!cached(&cpu, 0x4000_1000));
        // Outside the large page's range, only the page itself goes.
        assert_eq!(cpu.translate(0x4000_0010, Access::Read, 8), Ok(0x8020_0010));
        assert_eq!(cpu.translate(0x4000_1010, Access::Read, 8), Ok(0x8020_1010));
        cpu.flush_tlb_page(0x4000_0000);
        assert!(cached(&cpu, 0x4000_1000));
    }
}
