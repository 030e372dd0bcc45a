//! G233 custom instructions (spec §4): `dma`, `sort`, `crush`, `expand` on opcode custom-3
//! (0x7B), funct3 = 6, R-type, where `rd` is an input operand and no register is written.
//!
//! They reach the CPU through [`CustomInsnHook`], so the generic RISC-V decoder knows nothing of
//! them. Every memory access goes through [`GuestDataAccess`]: ordinary data accesses at the
//! current privilege, faults reported at the instruction.

use devices::cpu_ext::{CustomInsnHook, CustomOutcome, GuestDataAccess};

const OPCODE_CUSTOM3: u32 = 0x7b;
const FUNCT3: u32 = 6;
const F7_DMA: u32 = 0b000_0110;
const F7_SORT: u32 = 0b001_0110;
const F7_CRUSH: u32 = 0b010_0110;
const F7_EXPAND: u32 = 0b011_0110;

/// The G233 custom-instruction extension.
#[derive(Debug, Default, Clone, Copy)]
pub struct G233CustomInsns;

fn fields(insn: u32) -> (u32, usize, usize, usize) {
    (
        insn >> 25,
        ((insn >> 7) & 31) as usize,
        ((insn >> 15) & 31) as usize,
        ((insn >> 20) & 31) as usize,
    )
}

impl CustomInsnHook for G233CustomInsns {
    fn claims(&self, insn: u32) -> bool {
        insn & 0x7f == OPCODE_CUSTOM3
            && (insn >> 12) & 7 == FUNCT3
            && matches!(insn >> 25, F7_DMA | F7_SORT | F7_CRUSH | F7_EXPAND)
    }

    fn execute(
        &mut self,
        insn: u32,
        x: &mut [u64; 32],
        mem: &mut dyn GuestDataAccess,
    ) -> CustomOutcome {
        if !self.claims(insn) {
            return CustomOutcome::Illegal;
        }
        let (f7, rd, rs1, rs2) = fields(insn);
        let (vd, v1, v2) = (x[rd], x[rs1], x[rs2]);
        let result = match f7 {
            F7_DMA => {
                if v2 > 2 {
                    return CustomOutcome::Illegal;
                }
                dma(mem, vd, v1, 8u64 << v2)
            }
            F7_SORT => sort(mem, v1, vd.min(v2)),
            F7_CRUSH => crush(mem, vd, v1, v2),
            _ => expand(mem, vd, v1, v2),
        };
        match result {
            Ok(()) => CustomOutcome::Done,
            Err(_) => CustomOutcome::Fault,
        }
    }
}

type Res = Result<(), devices::cpu_ext::MemFault>;

/// `dst[j*n+i] = src[i*n+j]` for an n×n matrix of 32-bit words.
fn dma(mem: &mut dyn GuestDataAccess, dst: u64, src: u64, n: u64) -> Res {
    for i in 0..n {
        for j in 0..n {
            let v = mem.load(src.wrapping_add((i * n + j) * 4), 4)?;
            mem.store(dst.wrapping_add((j * n + i) * 4), 4, v)?;
        }
    }
    Ok(())
}

/// Ascending sort of `count` signed 32-bit words at `base`.
///
/// The result equals the bubble sort the spec names (an ascending sort of integers has one
/// result), computed in O(n log n) so that a guest-chosen huge `count` costs the guest time in
/// proportion to the memory it touches, not quadratically. All loads happen before any store, and
/// only elements whose value changes are written back.
fn sort(mem: &mut dyn GuestDataAccess, base: u64, count: u64) -> Res {
    let mut values = Vec::new();
    for i in 0..count {
        values.push(mem.load(base.wrapping_add(i * 4), 4)? as u32 as i32);
    }
    let mut sorted = values.clone();
    sorted.sort_unstable();
    for (i, (old, new)) in values.iter().zip(&sorted).enumerate() {
        if old != new {
            mem.store(base.wrapping_add(i as u64 * 4), 4, u64::from(*new as u32))?;
        }
    }
    Ok(())
}

/// Packs the low nibbles of byte pairs: `dst[i] = src[2i] & 0xF | (src[2i+1] & 0xF) << 4`.
fn crush(mem: &mut dyn GuestDataAccess, dst: u64, src: u64, n: u64) -> Res {
    for i in 0..n / 2 {
        let lo = mem.load(src.wrapping_add(2 * i), 1)? & 0xf;
        let hi = mem.load(src.wrapping_add(2 * i + 1), 1)? & 0xf;
        mem.store(dst.wrapping_add(i), 1, lo | hi << 4)?;
    }
    if n % 2 == 1 {
        let last = mem.load(src.wrapping_add(n - 1), 1)? & 0xf;
        mem.store(dst.wrapping_add(n / 2), 1, last)?;
    }
    Ok(())
}

/// Splits bytes into nibbles: `dst[2i] = src[i] & 0xF; dst[2i+1] = src[i] >> 4`.
fn expand(mem: &mut dyn GuestDataAccess, dst: u64, src: u64, n: u64) -> Res {
    for i in 0..n {
        let b = mem.load(src.wrapping_add(i), 1)?;
        mem.store(dst.wrapping_add(2 * i), 1, b & 0xf)?;
        mem.store(dst.wrapping_add(2 * i + 1), 1, b >> 4)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use devices::cpu_ext::MemFault;

    /// Flat test memory at 0x1000..0x1000+len; anything else faults.
    struct Mem {
        base: u64,
        bytes: Vec<u8>,
        faults: usize,
    }
    impl Mem {
        fn new(len: usize) -> Self {
            Self {
                base: 0x1000,
                bytes: vec![0; len],
                faults: 0,
            }
        }
        fn idx(&mut self, addr: u64, size: usize) -> Result<usize, MemFault> {
            let off = addr.wrapping_sub(self.base);
            if off
                .checked_add(size as u64)
                .is_some_and(|e| e <= self.bytes.len() as u64)
            {
                Ok(off as usize)
            } else {
                self.faults += 1;
                Err(MemFault)
            }
        }
        fn w32(&mut self, addr: u64, v: u32) {
            let i = (addr - self.base) as usize;
            self.bytes[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
        fn r32(&self, addr: u64) -> u32 {
            let i = (addr - self.base) as usize;
            u32::from_le_bytes(self.bytes[i..i + 4].try_into().unwrap())
        }
    }
    impl GuestDataAccess for Mem {
        fn load(&mut self, addr: u64, size: usize) -> Result<u64, MemFault> {
            let i = self.idx(addr, size)?;
            Ok(devices::bus::le_value(&self.bytes[i..i + size]))
        }
        fn store(&mut self, addr: u64, size: usize, value: u64) -> Result<(), MemFault> {
            let i = self.idx(addr, size)?;
            devices::bus::put_le_value(&mut self.bytes[i..i + size], value);
            Ok(())
        }
    }

    /// `.insn r 0x7b, 6, f7, rd, rs1, rs2`
    fn enc(f7: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
        f7 << 25 | rs2 << 20 | rs1 << 15 | 6 << 12 | rd << 7 | 0x7b
    }

    #[test]
    fn encoding_matches_the_spec_example_and_claims_only_its_own() {
        // dma with rd=a1, rs1=a0, rs2=a2 is 0x0cc565fb (spec §4).
        assert_eq!(enc(F7_DMA, 11, 10, 12), 0x0cc5_65fb);
        let h = G233CustomInsns;
        for f7 in [F7_DMA, F7_SORT, F7_CRUSH, F7_EXPAND] {
            assert!(h.claims(enc(f7, 1, 2, 3)));
        }
        assert!(!h.claims(enc(0b111_0110, 1, 2, 3)));
        assert!(!h.claims(enc(F7_DMA, 1, 2, 3) & !(7 << 12) | 5 << 12));
        assert!(!h.claims(0x0000_0013)); // nop
    }

    fn run(mem: &mut Mem, insn: u32, regs: &[(usize, u64)]) -> CustomOutcome {
        let mut x = [0u64; 32];
        for &(r, v) in regs {
            x[r] = v;
        }
        let before = x;
        let out = G233CustomInsns.execute(insn, &mut x, mem);
        assert_eq!(x, before, "custom instructions write no register");
        out
    }

    #[test]
    fn dma_transposes_every_grain() {
        for g in 0..=2u64 {
            let n = 8u64 << g;
            let (src, dst) = (0x1000, 0x1000 + n * n * 4);
            let mut m = Mem::new((2 * n * n * 4) as usize);
            for k in 0..n * n {
                m.w32(src + k * 4, 0xa500_0000 | k as u32);
            }
            let out = run(
                &mut m,
                enc(F7_DMA, 11, 10, 12),
                &[(11, dst), (10, src), (12, g)],
            );
            assert_eq!(out, CustomOutcome::Done);
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(m.r32(dst + (j * n + i) * 4), m.r32(src + (i * n + j) * 4));
                }
            }
        }
    }

    #[test]
    fn dma_grain_above_two_is_illegal_and_bad_address_faults() {
        let mut m = Mem::new(64);
        let out = run(
            &mut m,
            enc(F7_DMA, 11, 10, 12),
            &[(11, 0x1000), (10, 0x1000), (12, 3)],
        );
        assert_eq!(out, CustomOutcome::Illegal);
        let out = run(
            &mut m,
            enc(F7_DMA, 11, 10, 12),
            &[(11, 0x1000), (10, 0x9_0000), (12, 0)],
        );
        assert_eq!(out, CustomOutcome::Fault);
        assert_eq!(m.faults, 1);
    }

    #[test]
    fn sort_orders_first_min_k_n_signed_words_only() {
        let vals: [i32; 8] = [5, -3, 9, 0, -100, 7, 2, 1];
        for (k, n) in [(6u64, 8u64), (8, 5), (100, 8), (0, 8)] {
            let mut m = Mem::new(64);
            for (i, v) in vals.iter().enumerate() {
                m.w32(0x1000 + i as u64 * 4, *v as u32);
            }
            let out = run(
                &mut m,
                enc(F7_SORT, 5, 6, 7),
                &[(5, k), (6, 0x1000), (7, n)],
            );
            assert_eq!(out, CustomOutcome::Done);
            let c = k.min(n) as usize;
            let mut want = vals;
            want[..c].sort();
            let got: Vec<i32> = (0..8).map(|i| m.r32(0x1000 + i * 4) as i32).collect();
            assert_eq!(got, want, "k={k} n={n}");
        }
    }

    #[test]
    fn crush_packs_nibbles_with_odd_tail() {
        let src = [0x12u8, 0x34, 0xab, 0xcd, 0xef];
        let mut m = Mem::new(64);
        m.bytes[..5].copy_from_slice(&src);
        m.bytes[0x20..0x24].fill(0xee);
        let out = run(
            &mut m,
            enc(F7_CRUSH, 1, 2, 3),
            &[(1, 0x1020), (2, 0x1000), (3, 5)],
        );
        assert_eq!(out, CustomOutcome::Done);
        assert_eq!(&m.bytes[0x20..0x24], &[0x42, 0xdb, 0x0f, 0xee]);
    }

    #[test]
    fn expand_splits_nibbles() {
        let mut m = Mem::new(64);
        m.bytes[..3].copy_from_slice(&[0x12, 0xab, 0xf0]);
        let out = run(
            &mut m,
            enc(F7_EXPAND, 1, 2, 3),
            &[(1, 0x1010), (2, 0x1000), (3, 3)],
        );
        assert_eq!(out, CustomOutcome::Done);
        assert_eq!(&m.bytes[0x10..0x17], &[0x2, 0x1, 0xb, 0xa, 0x0, 0xf, 0]);
    }

    #[test]
    fn zero_length_touches_nothing_and_fault_reported() {
        let mut m = Mem::new(16);
        for f7 in [F7_SORT, F7_CRUSH, F7_EXPAND] {
            let out = run(
                &mut m,
                enc(f7, 1, 2, 3),
                &[(1, 0xdead_0000), (2, 0xdead_0000), (3, 0)],
            );
            assert_eq!(out, CustomOutcome::Done, "f7={f7}");
        }
        let out = run(
            &mut m,
            enc(F7_EXPAND, 1, 2, 3),
            &[(1, 0xdead_0000), (2, 0x1000), (3, 1)],
        );
        assert_eq!(out, CustomOutcome::Fault);
    }
}
