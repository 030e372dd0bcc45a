//! The hart state ([`Cpu`]) and its construction.
//!
//! `Cpu` is `#[repr(C)]` with the hot state first (registers, pc, privilege, the softmmu TLB) so
//! translated code can address it at fixed offsets (`std::mem::offset_of!`).

use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::Arc;

use devices::clock::GuestClock;
use devices::cpu_ext::CustomInsnHook;
use devices::{Bus, HartInterrupts};
use vm_memory::{GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion, MemoryRegionAddress};

use crate::block::{Block, JumpCache};
use crate::mmu::{Tlb, MMU_IDX_COUNT};

/// Privilege levels.
pub mod prv {
    /// User mode.
    pub const U: u8 = 0;
    /// Supervisor mode.
    pub const S: u8 = 1;
    /// Machine mode.
    pub const M: u8 = 3;
}

/// A synchronous exception: `cause` (mcause value, no interrupt bit) and `tval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exc {
    /// The exception code.
    pub cause: u64,
    /// The trap value written to `mtval`/`stval`.
    pub tval: u64,
}

/// Exception codes.
pub mod cause {
    /// Instruction address misaligned.
    pub const FETCH_MISALIGNED: u64 = 0;
    /// Instruction access fault.
    pub const FETCH_ACCESS: u64 = 1;
    /// Illegal instruction.
    pub const ILLEGAL: u64 = 2;
    /// Breakpoint.
    pub const BREAKPOINT: u64 = 3;
    /// Load address misaligned.
    pub const LOAD_MISALIGNED: u64 = 4;
    /// Load access fault.
    pub const LOAD_ACCESS: u64 = 5;
    /// Store/AMO address misaligned.
    pub const STORE_MISALIGNED: u64 = 6;
    /// Store/AMO access fault.
    pub const STORE_ACCESS: u64 = 7;
    /// Environment call from U-mode (add the privilege for S and M).
    pub const ECALL_U: u64 = 8;
    /// Instruction page fault.
    pub const FETCH_PAGE: u64 = 12;
    /// Load page fault.
    pub const LOAD_PAGE: u64 = 13;
    /// Store/AMO page fault.
    pub const STORE_PAGE: u64 = 15;
}

/// A region of guest RAM with its host mapping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RamRegion {
    pub base: u64,
    pub len: u64,
    pub host: *mut u8,
}

/// Errors constructing a CPU from a machine description.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// A RAM region has no host mapping.
    #[error("guest RAM region at {0:#x} has no host mapping")]
    NoHostMapping(u64),
}

/// The RV64 hart: architectural state, softmmu TLB, block cache and the machine around it.
#[repr(C)]
pub struct Cpu {
    /// Integer registers (x[0] is kept 0).
    pub x: [u64; 32],
    /// FP registers (raw 64-bit; single values NaN-boxed).
    pub f: [u64; 32],
    /// Program counter.
    pub pc: u64,
    /// Current privilege (see [`prv`]).
    pub prv: u8,
    /// TLB index used for data accesses (depends on prv, MPRV/MPP, SUM).
    pub data_idx: u8,
    /// TLB index used for instruction fetch.
    pub fetch_idx: u8,
    /// Set by an instruction that must end the current block (MMIO access, code invalidation).
    pub break_block: bool,
    /// Set when interrupt state may have changed (CSR writes, xRET, MMIO).
    pub check_irq: bool,
    /// Set by `wfi` until an interrupt is pending.
    pub wfi: bool,
    /// The softmmu TLB, one direct-mapped table per MMU index.
    pub tlb: [Tlb; MMU_IDX_COUNT],
    /// Instructions retired since reset.
    pub instret: u64,
    /// The JIT tier's state (limit/status words read by translated code, invalidation queue).
    pub(crate) jit: crate::jit::JitCpu,

    // --- CSRs ---
    pub(crate) mstatus: u64,
    pub(crate) medeleg: u64,
    pub(crate) mideleg: u64,
    pub(crate) mie: u64,
    /// Software-written mip bits (SSIP, STIP, SEIP).
    pub(crate) mip_sw: u64,
    /// Timer bits (MTIP, and STIP from stimecmp) computed at the last poll.
    pub(crate) mip_timer: u64,
    pub(crate) mtvec: u64,
    pub(crate) mcounteren: u64,
    pub(crate) mscratch: u64,
    pub(crate) mepc: u64,
    pub(crate) mcause: u64,
    pub(crate) mtval: u64,
    pub(crate) menvcfg: u64,
    pub(crate) mcountinhibit: u64,
    pub(crate) stvec: u64,
    pub(crate) scounteren: u64,
    pub(crate) sscratch: u64,
    pub(crate) sepc: u64,
    pub(crate) scause: u64,
    pub(crate) stval: u64,
    pub(crate) senvcfg: u64,
    pub(crate) satp: u64,
    pub(crate) stimecmp: u64,
    pub(crate) fflags: u8,
    pub(crate) frm: u8,
    pub(crate) pmpcfg: [u8; 16],
    pub(crate) pmpaddr: [u64; 16],
    /// mcycle = instret + cycle_offset (when not inhibited).
    pub(crate) cycle_offset: u64,
    /// minstret = instret + instret_offset (when not inhibited).
    pub(crate) instret_offset: u64,
    /// Frozen values while inhibited.
    pub(crate) cycle_frozen: u64,
    pub(crate) instret_frozen: u64,
    /// LR/SC reservation (virtual address).
    pub(crate) reservation: Option<u64>,
    /// Extra instruction counts added in icount mode while sleeping in `wfi`.
    pub(crate) icount_skip: u64,
    /// Instret at which the timer is polled next.
    pub(crate) next_poll: u64,

    // --- machine ---
    pub(crate) ram: GuestMemoryMmap,
    pub(crate) ram_regions: Vec<RamRegion>,
    pub(crate) mmio: Arc<Bus>,
    pub(crate) hart: Arc<HartInterrupts>,
    pub(crate) clock: Arc<GuestClock>,
    pub(crate) custom: Option<Box<dyn CustomInsnHook>>,

    // --- block cache ---
    pub(crate) blocks: crate::jit::FxMap<u64, Rc<Block>>,
    /// Physical page → the blocks that hold code from it.
    pub(crate) code_pages: crate::jit::FxMap<u64, crate::memory::CodePage>,
    pub(crate) jump_cache: JumpCache,
    /// The virtual range (first, last address) in which TLB entries from large pages may be
    /// cached since the last full flush (empty: `(u64::MAX, 0)`).
    pub(crate) large_pages: (u64, u64),
    /// Bumped whenever a block leaves the block map: tier-0 links made before are stale.
    pub(crate) block_epoch: u64,
    /// Blocks translated since reset.
    pub blocks_translated: u64,

    // --- semihosting ---
    pub(crate) semihosting: bool,
    pub(crate) console: Box<dyn Write + Send>,
    pub(crate) console_in: Option<Box<dyn Read + Send>>,
    pub(crate) semi_errno: u64,
    pub(crate) start_time: std::time::Instant,
    /// Exit code requested by a semihosting SYS_EXIT.
    pub(crate) semi_exit: Option<i32>,
}

/// `misa`: RV64 with A, B, C, D, F, I, M, S, U.
pub const MISA: u64 = (2 << 62)
    | (1 << 0)   // A
    | (1 << 1)   // B
    | (1 << 2)   // C
    | (1 << 3)   // D
    | (1 << 5)   // F
    | (1 << 8)   // I
    | (1 << 12)  // M
    | (1 << 18)  // S
    | (1 << 20); // U

impl Cpu {
    /// A hart at reset: M-mode, `pc = reset_pc`, all registers zero.
    pub fn new(
        ram: GuestMemoryMmap,
        mmio: Arc<Bus>,
        hart: Arc<HartInterrupts>,
        clock: Arc<GuestClock>,
        custom: Option<Box<dyn CustomInsnHook>>,
        reset_pc: u64,
    ) -> Result<Box<Cpu>, CpuError> {
        let mut ram_regions = Vec::new();
        for r in ram.iter() {
            let base = r.start_addr().0;
            let host = r
                .get_host_address(MemoryRegionAddress(0))
                .map_err(|_| CpuError::NoHostMapping(base))?;
            ram_regions.push(RamRegion {
                base,
                len: r.len(),
                host,
            });
        }
        let mut cpu = Box::new(Cpu {
            x: [0; 32],
            f: [0; 32],
            pc: reset_pc,
            prv: prv::M,
            data_idx: 0,
            fetch_idx: 0,
            break_block: false,
            check_irq: true,
            wfi: false,
            tlb: std::array::from_fn(|_| Tlb::new()),
            instret: 0,
            jit: crate::jit::JitCpu::default(),
            mstatus: (2 << 32) | (2 << 34),
            medeleg: 0,
            mideleg: 0,
            mie: 0,
            mip_sw: 0,
            mip_timer: 0,
            mtvec: 0,
            mcounteren: 0,
            mscratch: 0,
            mepc: 0,
            mcause: 0,
            mtval: 0,
            menvcfg: 0,
            mcountinhibit: 0,
            stvec: 0,
            scounteren: 0,
            sscratch: 0,
            sepc: 0,
            scause: 0,
            stval: 0,
            senvcfg: 0,
            satp: 0,
            stimecmp: u64::MAX,
            fflags: 0,
            frm: 0,
            pmpcfg: [0; 16],
            pmpaddr: [0; 16],
            cycle_offset: 0,
            instret_offset: 0,
            cycle_frozen: 0,
            instret_frozen: 0,
            reservation: None,
            icount_skip: 0,
            next_poll: 0,
            ram,
            ram_regions,
            mmio,
            hart,
            clock,
            custom,
            blocks: Default::default(),
            code_pages: Default::default(),
            jump_cache: JumpCache::new(),
            large_pages: (u64::MAX, 0),
            block_epoch: 0,
            blocks_translated: 0,
            semihosting: false,
            console: Box::new(std::io::sink()),
            console_in: None,
            semi_errno: 0,
            start_time: std::time::Instant::now(),
            semi_exit: None,
        });
        cpu.update_mmu_idx();
        Ok(cpu)
    }

    /// Enables semihosting with the given console streams.
    pub fn set_semihosting(
        &mut self,
        enabled: bool,
        console: Box<dyn Write + Send>,
        console_in: Option<Box<dyn Read + Send>>,
    ) {
        self.semihosting = enabled;
        self.console = console;
        self.console_in = console_in;
    }

    /// The guest RAM.
    pub fn ram(&self) -> &GuestMemoryMmap {
        &self.ram
    }

    /// The exit code of a semihosting SYS_EXIT, once the guest made one.
    pub fn semihosting_exit(&self) -> Option<i32> {
        self.semi_exit
    }

    /// Reads a CSR as M-mode software would (for tests and debugging); `None` if it does not exist.
    pub fn csr(&mut self, csr: u16) -> Option<u64> {
        let saved = self.prv;
        self.prv = prv::M;
        let r = self.csr_read(csr).ok();
        self.prv = saved;
        r
    }

    /// The instruction count that drives icount time (instret plus time skipped in `wfi`).
    pub(crate) fn icount(&self) -> u64 {
        self.instret.wrapping_add(self.icount_skip)
    }

    /// Publishes the instruction count to the clock (icount mode; harmless otherwise).
    #[inline]
    pub(crate) fn publish_icount(&self) {
        self.clock.set_icount(self.icount());
    }

    /// Recomputes the MMU indices after a change of privilege, MPRV/MPP or SUM.
    pub(crate) fn update_mmu_idx(&mut self) {
        use crate::mmu::{MMU_M, MMU_S, MMU_S_SUM, MMU_U};
        let eff = if self.prv == prv::M && self.mstatus & crate::csr::MSTATUS_MPRV != 0 {
            ((self.mstatus >> 11) & 3) as u8
        } else {
            self.prv
        };
        let sum = self.mstatus & crate::csr::MSTATUS_SUM != 0;
        self.data_idx = match eff {
            prv::U => MMU_U,
            prv::S if sum => MMU_S_SUM,
            prv::S => MMU_S,
            _ => MMU_M,
        };
        self.fetch_idx = match self.prv {
            prv::U => MMU_U,
            prv::S => MMU_S,
            _ => MMU_M,
        };
    }
}
