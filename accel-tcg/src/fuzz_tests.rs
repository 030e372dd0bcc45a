//! Fuzz test: random 32-bit and 16-bit instruction words run through the tier-0 executor.
//! Nothing may panic or hang, and encodings the decoder rejects must trap as illegal with the
//! bits in mtval. `TCG_FUZZ_ITERS` scales the run (default: a few seconds in the test profile).

use crate::cpu::prv;
use crate::decode::{decode, Op};
use crate::testutil::asm::*;
use crate::testutil::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn fuzz(iters: u64, seed: u64) {
    let handler = RAM_BASE + 0x800;
    let (mut cpu, hart) = machine(&[]);
    // MTIP stays pending (mtimecmp = 0) and MTIE is set, so `wfi` never sleeps.
    hart.set_mtimecmp(0);
    let mut rng = Rng(seed | 1);
    let mut illegal = 0u64;
    for _ in 0..iters {
        let r = rng.next();
        let compressed = r & 1 == 0;
        let word = if compressed {
            let mut h = (r >> 8) as u16;
            if h & 3 == 3 {
                h &= !1;
            }
            // c.j . after it, then a spin.
            h as u32 | 0xa001 << 16
        } else {
            (r >> 16) as u32 | 3
        };
        write32(&mut cpu, RAM_BASE, word);
        write32(&mut cpu, RAM_BASE + 4, SPIN);
        write32(&mut cpu, handler, SPIN);
        cpu.invalidate_code_range(RAM_BASE, 8);
        cpu.invalidate_code_range(handler, 4);
        for k in 1..32 {
            let v = rng.next();
            cpu.x[k] = match v & 3 {
                0 => RAM_BASE + 0x1000 + (v >> 8) % (RAM_SIZE as u64 - 0x2000),
                1 => v >> 40,
                _ => v,
            };
        }
        cpu.x[0] = 0;
        cpu.pc = RAM_BASE;
        cpu.prv = prv::M;
        cpu.wfi = false;
        cpu.mstatus = (1 << 13) | (2 << 32) | (2 << 34);
        cpu.mtvec = handler;
        cpu.satp = 0;
        cpu.mie = 1 << 7;
        cpu.mideleg = 0;
        cpu.medeleg = 0;
        cpu.mcause = 0;
        cpu.mtval = 0;
        cpu.pmpcfg = [0; 16];
        cpu.update_mmu_idx();
        cpu.flush_tlb();
        cpu.run_for(1);
        let d = decode(word);
        if d.op == Op::Illegal {
            illegal += 1;
            let raw = if compressed { word & 0xffff } else { word };
            assert_eq!(cpu.mcause, 2, "word {word:#010x}");
            assert_eq!(cpu.mtval, raw as u64, "word {word:#010x}");
            assert_eq!(cpu.pc, handler, "word {word:#010x}");
        }
    }
    assert!(
        illegal > 0 && illegal < iters,
        "the mix covers legal and illegal words"
    );
}

#[test]
fn random_words_never_panic_and_illegal_ones_trap() {
    let iters = std::env::var("TCG_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    fuzz(iters, 0x1234_5678_9abc_def1);
}

#[test]
#[ignore = "long: millions of words"]
fn random_words_millions() {
    fuzz(3_000_000, 0xfeed_f00d_dead_beef);
}
