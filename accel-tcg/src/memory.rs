//! Guest memory accesses: the TLB fast path, the slow path (translation, MMIO dispatch,
//! misaligned accesses, self-modifying-code detection) and instruction fetch.

use crate::cpu::{Cpu, Exc};
use crate::mmu::{tlb_index, Access, PAGE_MASK};

/// Reads `size` (1, 2, 4, 8) little-endian bytes at host address `p`.
///
/// # Safety
/// `p..p+size` must be readable host memory.
#[inline(always)]
pub(crate) unsafe fn host_read(p: *const u8, size: usize) -> u64 {
    // SAFETY: the caller guarantees the range is readable; unaligned reads are used.
    unsafe {
        match size {
            1 => *p as u64,
            2 => u16::from_le((p as *const u16).read_unaligned()) as u64,
            4 => u32::from_le((p as *const u32).read_unaligned()) as u64,
            _ => u64::from_le((p as *const u64).read_unaligned()),
        }
    }
}

/// Writes the low `size` (1, 2, 4, 8) bytes of `v` little-endian at host address `p`.
///
/// # Safety
/// `p..p+size` must be writable host memory.
#[inline(always)]
pub(crate) unsafe fn host_write(p: *mut u8, size: usize, v: u64) {
    // SAFETY: the caller guarantees the range is writable; unaligned writes are used.
    unsafe {
        match size {
            1 => *p = v as u8,
            2 => (p as *mut u16).write_unaligned((v as u16).to_le()),
            4 => (p as *mut u32).write_unaligned((v as u32).to_le()),
            _ => (p as *mut u64).write_unaligned(v.to_le()),
        }
    }
}

impl Cpu {
    /// Loads `size` bytes at virtual `va` (zero-extended) with the data MMU index.
    #[inline(always)]
    pub(crate) fn load(&mut self, va: u64, size: u64) -> Result<u64, Exc> {
        let e = &self.tlb[self.data_idx as usize].entries[tlb_index(va)];
        if e.read == va & (PAGE_MASK | (size - 1)) {
            let p = e.addend.wrapping_add(va) as *const u8;
            // SAFETY: a read tag only matches for RAM pages whose addend maps the whole page into
            // the guest RAM mapping, which lives as long as `self`; the access is aligned so it
            // does not leave the page.
            return Ok(unsafe { host_read(p, size as usize) });
        }
        self.load_slow(va, size)
    }

    /// Stores the low `size` bytes of `v` at virtual `va` with the data MMU index.
    #[inline(always)]
    pub(crate) fn store(&mut self, va: u64, size: u64, v: u64) -> Result<(), Exc> {
        let e = &self.tlb[self.data_idx as usize].entries[tlb_index(va)];
        if e.write == va & (PAGE_MASK | (size - 1)) {
            let p = e.addend.wrapping_add(va) as *mut u8;
            // SAFETY: as for `load`; write tags are only set for RAM pages without code.
            unsafe { host_write(p, size as usize, v) };
            return Ok(());
        }
        self.store_slow(va, size, v)
    }

    #[inline(never)]
    fn load_slow(&mut self, va: u64, size: u64) -> Result<u64, Exc> {
        if va & (size - 1) != 0 && (va & 0xfff) + size > 0x1000 {
            // Misaligned across a page boundary: byte by byte (both pages are checked first).
            self.translate(va, Access::Read, 1)?;
            self.translate(va.wrapping_add(size - 1), Access::Read, 1)?;
            let mut v = 0u64;
            for i in 0..size {
                let a = va.wrapping_add(i);
                let pa = self.translate(a, Access::Read, 1)?;
                v |= self.phys_read(pa, 1, Access::Read, a)? << (8 * i);
            }
            return Ok(v);
        }
        let pa = self.translate(va, Access::Read, size)?;
        self.phys_read(pa, size, Access::Read, va)
    }

    #[inline(never)]
    fn store_slow(&mut self, va: u64, size: u64, v: u64) -> Result<(), Exc> {
        if va & (size - 1) != 0 && (va & 0xfff) + size > 0x1000 {
            self.translate(va, Access::Write, 1)?;
            self.translate(va.wrapping_add(size - 1), Access::Write, 1)?;
            for i in 0..size {
                let a = va.wrapping_add(i);
                let pa = self.translate(a, Access::Write, 1)?;
                self.phys_write(pa, 1, v >> (8 * i), a)?;
            }
            return Ok(());
        }
        let pa = self.translate(va, Access::Write, size)?;
        self.phys_write(pa, size, v, va)
    }

    /// Reads physical memory: RAM directly, anything else through the MMIO bus (which ends the
    /// current block so interrupts raised by the device are taken before the next instruction).
    pub(crate) fn phys_read(
        &mut self,
        pa: u64,
        size: u64,
        acc: Access,
        va: u64,
    ) -> Result<u64, Exc> {
        if let Some(v) = self.ram_read_phys(pa, size) {
            return Ok(v);
        }
        self.publish_icount();
        let mut buf = [0u8; 8];
        let data = &mut buf[..size as usize];
        if self.mmio.read(pa, data).is_err() {
            return Err(acc.access_fault(va));
        }
        if acc != Access::Exec {
            self.break_block = true;
            self.check_irq = true;
        }
        Ok(devices::bus::le_value(data))
    }

    /// Writes physical memory (RAM or MMIO), invalidating translated code it overwrites.
    pub(crate) fn phys_write(&mut self, pa: u64, size: u64, v: u64, va: u64) -> Result<(), Exc> {
        if !self.code_pages.is_empty() {
            self.invalidate_code(pa, size);
        }
        if let Some(h) = self.ram_host(pa, size) {
            // SAFETY: `ram_host` checked that the range lies in mapped guest RAM.
            unsafe { host_write(h, size as usize, v) };
            return Ok(());
        }
        self.publish_icount();
        let mut buf = [0u8; 8];
        devices::bus::put_le_value(&mut buf[..size as usize], v);
        if self.mmio.write(pa, &buf[..size as usize]).is_err() {
            return Err(Access::Write.access_fault(va));
        }
        self.break_block = true;
        self.check_irq = true;
        Ok(())
    }

    /// Fetches the 16-bit parcel at virtual `va` through instruction translation.
    pub(crate) fn fetch16(&mut self, va: u64) -> Result<(u16, u64), Exc> {
        let pa = self.translate(va, Access::Exec, 2)?;
        let v = self.phys_read(pa, 2, Access::Exec, va)?;
        Ok((v as u16, pa))
    }

    /// Fetches the instruction at virtual `va` (16 or 32 bits; a 32-bit one may straddle pages).
    pub(crate) fn fetch_insn(&mut self, va: u64) -> Result<u32, Exc> {
        let (lo, _) = self.fetch16(va)?;
        if lo & 3 != 3 {
            return Ok(lo as u32);
        }
        let (hi, _) = self.fetch16(va.wrapping_add(2))?;
        Ok(lo as u32 | (hi as u32) << 16)
    }

    /// A load for an atomic or LR: alignment first (misaligned → `misaligned` cause), then both
    /// read and write permission for AMOs (`write`), then the read. Returns (value, pa).
    pub(crate) fn amo_prepare(
        &mut self,
        va: u64,
        size: u64,
        write: bool,
    ) -> Result<(u64, u64), Exc> {
        if va & (size - 1) != 0 {
            let cause = if write {
                crate::cpu::cause::STORE_MISALIGNED
            } else {
                crate::cpu::cause::LOAD_MISALIGNED
            };
            return Err(Exc { cause, tval: va });
        }
        let acc = if write { Access::Write } else { Access::Read };
        let pa = self.translate(va, acc, size)?;
        let v = self.phys_read(pa, size, acc, va)?;
        Ok((v, pa))
    }

    /// Removes translated blocks overlapping `[pa, pa + size)`.
    pub(crate) fn invalidate_code(&mut self, pa: u64, size: u64) {
        let page = pa & PAGE_MASK;
        let Some(cp) = self.code_pages.get_mut(&page) else {
            return;
        };
        let end = pa.saturating_add(size);
        if cp.lines & CodePage::lines_of(pa, end) == 0 {
            // Data next to code: no block there.
            return;
        }
        let blocks = &mut self.blocks;
        let jit = &mut self.jit;
        let mut removed = false;
        cp.blocks.retain(|&start| {
            let overlaps = blocks
                .get(&start)
                .is_none_or(|b| start < end && b.end_pa > pa);
            if overlaps {
                blocks.remove(&start);
                jit.block_removed(start);
                removed = true;
            }
            !overlaps
        });
        if cp.blocks.is_empty() {
            self.code_pages.remove(&page);
        } else if removed {
            cp.lines = cp
                .blocks
                .iter()
                .filter_map(|s| blocks.get(s))
                .fold(0, |m, b| m | CodePage::lines_of(b.pa, b.end_pa));
        }
        if removed {
            self.jump_cache.clear();
            self.block_epoch += 1;
            self.break_block = true;
        }
    }

    /// Drops translated code overlapping `[pa, pa + len)` of guest-physical memory (for host-side
    /// writes to guest RAM, e.g. program loading while the CPU exists).
    pub fn invalidate_code_range(&mut self, pa: u64, len: u64) {
        let mut a = pa & PAGE_MASK;
        let end = pa.saturating_add(len);
        while a < end {
            let lo = a.max(pa);
            let hi = a.saturating_add(0x1000).min(end);
            self.invalidate_code(lo, hi - lo);
            match a.checked_add(0x1000) {
                Some(n) => a = n,
                None => break,
            }
        }
        self.break_block = false;
    }

    /// Drops every translated block (fence.i).
    pub(crate) fn invalidate_all_code(&mut self) {
        self.jit.code_flushed();
        self.blocks.clear();
        self.block_epoch += 1;
        self.code_pages.clear();
        self.jump_cache.clear();
        // Pages lose their code status: let the TLB refill fast write tags.
        self.flush_tlb();
    }
}

/// The tier-0 blocks holding code from one guest-physical page, and which of its 64-byte lines
/// they cover (a store to the page's other lines needs no search: data next to code).
#[derive(Debug, Default)]
pub(crate) struct CodePage {
    /// Physical start addresses of the blocks.
    pub blocks: Vec<u64>,
    /// Bit `k`: some block covers bytes `64k..64k+63` of the page.
    pub lines: u64,
}

impl CodePage {
    /// Records the block `[pa, end)` (within this page, `end` at most the page's end).
    pub(crate) fn add(&mut self, pa: u64, end: u64) {
        self.blocks.push(pa);
        self.lines |= Self::lines_of(pa, end);
    }

    /// The line bits of the bytes `[pa, end)` that lie in `pa`'s page (none if empty).
    pub(crate) fn lines_of(pa: u64, end: u64) -> u64 {
        let lo = pa & 0xfff;
        let hi = end.saturating_sub(pa & PAGE_MASK).min(0x1000);
        if hi <= lo {
            return 0;
        }
        let (first, last) = (lo >> 6, (hi - 1) >> 6);
        (u64::MAX >> (63 - last)) & (u64::MAX << first)
    }
}

/// Guest data memory for custom instructions: virtual addresses at the current privilege.
pub(crate) struct DataAccess<'a> {
    pub cpu: &'a mut Cpu,
    pub fault: Option<Exc>,
}

impl devices::cpu_ext::GuestDataAccess for DataAccess<'_> {
    fn load(&mut self, addr: u64, size: usize) -> Result<u64, devices::cpu_ext::MemFault> {
        if !matches!(size, 1 | 2 | 4 | 8) {
            return Err(devices::cpu_ext::MemFault);
        }
        self.cpu.load(addr, size as u64).map_err(|e| {
            self.fault = Some(e);
            devices::cpu_ext::MemFault
        })
    }

    fn store(
        &mut self,
        addr: u64,
        size: usize,
        value: u64,
    ) -> Result<(), devices::cpu_ext::MemFault> {
        if !matches!(size, 1 | 2 | 4 | 8) {
            return Err(devices::cpu_ext::MemFault);
        }
        self.cpu.store(addr, size as u64, value).map_err(|e| {
            self.fault = Some(e);
            devices::cpu_ext::MemFault
        })
    }
}

#[cfg(test)]
mod tests {
    use super::CodePage;

    #[test]
    fn code_lines_cover_exactly_the_bytes_given() {
        let p = 0x8000_1000;
        assert_eq!(CodePage::lines_of(p, p + 1), 1);
        assert_eq!(CodePage::lines_of(p + 63, p + 65), 0b11);
        assert_eq!(CodePage::lines_of(p + 64, p + 128), 0b10);
        assert_eq!(CodePage::lines_of(p + 0xfc0, p + 0x2000), 1 << 63);
        assert_eq!(CodePage::lines_of(p, p + 0x1000), u64::MAX);
        assert_eq!(CodePage::lines_of(p + 8, p + 8), 0);
        let mut cp = CodePage::default();
        cp.add(p + 0x40, p + 0x4c);
        assert_eq!(cp.lines & CodePage::lines_of(p + 0x80, p + 0x88), 0);
        assert_ne!(cp.lines & CodePage::lines_of(p + 0x48, p + 0x50), 0);
    }
}
