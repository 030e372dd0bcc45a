//! riscv64 vCPU set-up and exits (G233 on riscv64 hosts): `KVM_SET_ONE_REG` for pc/a0/a1, the
//! userspace PLIC's supervisor external interrupt line driving `KVM_INTERRUPT`, and SBI calls
//! KVM forwards to user space (`KVM_EXIT_RISCV_SBI`, which kvm-ioctls reports as
//! `VcpuExit::Unsupported(35)`): the legacy console and the debug console (DBCN).
//! SBI reset/shutdown come back as `KVM_EXIT_SYSTEM_EVENT`, handled by the generic loop.

use std::io::Write;
use std::sync::{Arc, Mutex};

use devices::bus::lock;
use devices::irq::mip;
use kvm_bindings::{kvm_interrupt, KVM_INTERRUPT_SET, KVM_INTERRUPT_UNSET};
use vm_memory::{Bytes, GuestAddress};
use vmm_sys_util::ioctl::ioctl_with_ref;

use crate::error::KvmError;
use crate::vcpu::{KvmVcpu, VcpuIo, VcpuStop};

/// `KVM_EXIT_RISCV_SBI`.
pub const KVM_EXIT_RISCV_SBI: u32 = 35;

vmm_sys_util::ioctl_iow_nr!(KVM_INTERRUPT, 0xAE, 0x86, kvm_interrupt);

const SBI_LEGACY_PUTCHAR: u64 = 0x01;
const SBI_LEGACY_GETCHAR: u64 = 0x02;
const SBI_EXT_DBCN: u64 = 0x4442_434e;
const SBI_SUCCESS: u64 = 0;
const SBI_ERR_NOT_SUPPORTED: u64 = (-2i64) as u64;
const SBI_ERR_INVALID_PARAM: u64 = (-3i64) as u64;
/// Largest DBCN write copied at once.
const DBCN_MAX: u64 = 4096;

/// Where the boot hart starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiscvEntry {
    /// Entry point (a supervisor-mode kernel or payload).
    pub pc: u64,
    /// Hart id, passed in a0.
    pub hartid: u64,
    /// Device tree address, passed in a1.
    pub fdt: u64,
}

/// Per-vCPU riscv64 state.
#[derive(Default)]
pub struct RiscvVcpuState {
    external_irq: bool,
    console: Option<Arc<Mutex<dyn Write + Send>>>,
}

/// `KVM_REG_RISCV | KVM_REG_SIZE_U64 | KVM_REG_RISCV_CORE | index` (index in u64 words of
/// `struct kvm_riscv_core`: 0 pc, 1 ra, ..., 10 a0, 11 a1).
pub fn core_reg(index: u64) -> u64 {
    (kvm_bindings::KVM_REG_RISCV as u64)
        | kvm_bindings::KVM_REG_SIZE_U64
        | u64::from(kvm_bindings::KVM_REG_RISCV_CORE)
        | index
}

impl KvmVcpu {
    /// Sets pc, a0 = hartid, a1 = device tree; SBI console output goes to `console`.
    pub fn setup_riscv(
        &mut self,
        entry: &RiscvEntry,
        console: Arc<Mutex<dyn Write + Send>>,
    ) -> Result<(), KvmError> {
        for (index, value) in [(0, entry.pc), (10, entry.hartid), (11, entry.fdt)] {
            self.fd
                .set_one_reg(core_reg(index), &value.to_le_bytes())
                .map_err(crate::error::ioctl("KVM_SET_ONE_REG"))?;
        }
        self.riscv.console = Some(console);
        Ok(())
    }

    /// Mirrors the supervisor external interrupt line (PLIC context 1) into `KVM_INTERRUPT`.
    pub(crate) fn riscv_sync_interrupts(&mut self, io: &VcpuIo) -> Result<(), KvmError> {
        io.stop.take_attention();
        let level = io.stop.lines() & mip::SEIP != 0;
        if level != self.riscv.external_irq {
            let irq = kvm_interrupt {
                irq: if level {
                    KVM_INTERRUPT_SET
                } else {
                    KVM_INTERRUPT_UNSET
                } as u32,
            };
            // SAFETY: KVM_INTERRUPT on a vCPU fd with a valid kvm_interrupt; the kernel only
            // reads it.
            let rc = unsafe { ioctl_with_ref(&self.fd, KVM_INTERRUPT(), &irq) };
            if rc < 0 {
                return Err(KvmError::Ioctl {
                    what: "KVM_INTERRUPT",
                    err: vmm_sys_util::errno::Error::last(),
                });
            }
            self.riscv.external_irq = level;
        }
        Ok(())
    }

    fn console_write(&self, bytes: &[u8]) {
        if let Some(c) = &self.riscv.console {
            let mut c = lock(c);
            let _ = c.write_all(bytes);
            let _ = c.flush();
        }
    }

    /// Handles an SBI call forwarded by KVM; never stops the vCPU itself.
    pub(crate) fn handle_sbi(&mut self, _io: &VcpuIo) -> Result<Option<VcpuStop>, KvmError> {
        let run = self.fd.get_kvm_run();
        // SAFETY: the exit reason is KVM_EXIT_RISCV_SBI, so `riscv_sbi` is the active field.
        let sbi = unsafe { run.__bindgen_anon_1.riscv_sbi };
        let (eid, fid, args) = (sbi.extension_id, sbi.function_id, sbi.args);
        let ret: [u64; 2] = match (eid, fid) {
            (SBI_LEGACY_PUTCHAR, _) => {
                self.console_write(&[args[0] as u8]);
                [0, 0]
            }
            (SBI_LEGACY_GETCHAR, _) => [u64::MAX, 0], // no input: -1
            (SBI_EXT_DBCN, 0) => {
                let len = args[0].min(DBCN_MAX);
                let addr = args[1] | (args[2] << 32);
                let mut buf = vec![0u8; len as usize];
                match self.mem.read_slice(&mut buf, GuestAddress(addr)) {
                    Ok(()) => {
                        self.console_write(&buf);
                        [SBI_SUCCESS, len]
                    }
                    Err(_) => [SBI_ERR_INVALID_PARAM, 0],
                }
            }
            (SBI_EXT_DBCN, 1) => [SBI_SUCCESS, 0], // read: nothing available
            (SBI_EXT_DBCN, 2) => {
                self.console_write(&[args[0] as u8]);
                [SBI_SUCCESS, 0]
            }
            _ => {
                log::debug!("SBI call eid {eid:#x} fid {fid} not supported");
                [SBI_ERR_NOT_SUPPORTED, 0]
            }
        };
        let run = self.fd.get_kvm_run();
        // The kernel reads `ret` back on the next KVM_RUN.
        run.__bindgen_anon_1.riscv_sbi.ret = ret;
        Ok(None)
    }

    /// pc, ra, sp, a0, a1 and the privilege mode, for error reports.
    pub fn dump_regs(&self) -> String {
        let names = [
            (0, "pc"),
            (1, "ra"),
            (2, "sp"),
            (10, "a0"),
            (11, "a1"),
            (32, "mode"),
        ];
        let mut out = String::new();
        for (i, n) in names {
            let mut b = [0u8; 8];
            match self.fd.get_one_reg(core_reg(i), &mut b) {
                Ok(_) => out.push_str(&format!("{n}={:#018x} ", u64::from_le_bytes(b))),
                Err(e) => out.push_str(&format!("{n}=? ({e}) ")),
            }
        }
        out
    }

    /// Up to 4 instruction bytes at pc when pc is a guest-physical address (paging off).
    pub(crate) fn fetch_insn_bytes(&self) -> Vec<u8> {
        let mut b = [0u8; 8];
        if self.fd.get_one_reg(core_reg(0), &mut b).is_err() {
            return Vec::new();
        }
        let mut insn = vec![0u8; 4];
        match self
            .mem
            .read_slice(&mut insn, GuestAddress(u64::from_le_bytes(b)))
        {
            Ok(()) => insn,
            Err(_) => Vec::new(),
        }
    }
}
