//! x86_64 vCPU set-up: CPUID, MSRs, LAPIC, FPU and the entry state a boot protocol promises
//! (64-bit Linux boot protocol or 32-bit PVH), plus register dumps for error reports.

pub mod cpuid;
mod segments;

use kvm_bindings::{kvm_fpu, kvm_msr_entry, kvm_segment, Msrs};
use vm_memory::{Bytes, GuestAddress};

use crate::error::{ioctl, KvmError};
use crate::vcpu::KvmVcpu;
use crate::vm::KvmVm;

pub use cpuid::CpuFeatureMask;
pub use segments::segment_from_gdt;

/// Guest-physical address of the three pages KVM uses for the real-mode TSS (Intel).
pub const TSS_ADDR: u64 = 0xfffb_d000;
/// Guest-physical address of the identity-map page KVM needs on Intel without unrestricted guest.
pub const IDENTITY_MAP_ADDR: u64 = 0xfffb_c000;

pub use devices::x86_entry::{X86Entry, X86Mode};

const CR0_PE: u64 = 1;
const CR0_ET: u64 = 1 << 4;
const CR0_NW: u64 = 1 << 29;
const CR0_CD: u64 = 1 << 30;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;

/// How one vCPU is configured.
#[derive(Debug, Clone)]
pub struct X86VcpuConfig<'a> {
    /// Entry state; only the boot vCPU (id 0) uses it, the others wait for INIT/SIPI.
    pub entry: &'a X86Entry,
    /// Number of vCPUs in the VM.
    pub cpu_count: u32,
    /// CPUID features hidden from the guest.
    pub features: &'a CpuFeatureMask,
}

impl KvmVcpu {
    /// Sets CPUID, MSRs, the LAPIC's LINT pins, the FPU and (vCPU 0) the entry registers.
    pub fn setup_x86(&self, vm: &KvmVm, cfg: &X86VcpuConfig<'_>) -> Result<(), KvmError> {
        let supported = vm
            .kvm()
            .get_supported_cpuid(kvm_bindings::KVM_MAX_CPUID_ENTRIES)
            .map_err(ioctl("KVM_GET_SUPPORTED_CPUID"))?;
        let table = cpuid::vcpu_cpuid(&supported, self.id(), cfg.cpu_count, cfg.features)?;
        self.fd
            .set_cpuid2(&table)
            .map_err(ioctl("KVM_SET_CPUID2"))?;
        self.setup_msrs()?;
        self.setup_lapic()?;
        let fpu = kvm_fpu {
            fcw: 0x37f,
            mxcsr: 0x1f80,
            ..Default::default()
        };
        self.fd.set_fpu(&fpu).map_err(ioctl("KVM_SET_FPU"))?;
        if self.id() == 0 {
            self.set_entry_state(cfg.entry)?;
        }
        Ok(())
    }

    fn setup_msrs(&self) -> Result<(), KvmError> {
        let e = |index: u32, data: u64| kvm_msr_entry {
            index,
            data,
            ..Default::default()
        };
        let entries = [
            e(0x174, 0),             // IA32_SYSENTER_CS
            e(0x175, 0),             // IA32_SYSENTER_ESP
            e(0x176, 0),             // IA32_SYSENTER_EIP
            e(0xc000_0081, 0),       // STAR
            e(0xc000_0082, 0),       // LSTAR
            e(0xc000_0083, 0),       // CSTAR
            e(0xc000_0084, 0),       // SYSCALL_MASK
            e(0xc000_0102, 0),       // KERNEL_GS_BASE
            e(0x10, 0),              // TSC
            e(0x1a0, 1),             // IA32_MISC_ENABLE: fast strings
            e(0x2ff, (1 << 11) | 6), // MTRRdefType: MTRRs on, write-back
        ];
        let msrs = Msrs::from_entries(&entries)
            .map_err(|e| KvmError::CpuFeatures(format!("MSR list: {e:?}")))?;
        let n = self.fd.set_msrs(&msrs).map_err(ioctl("KVM_SET_MSRS"))?;
        if n != entries.len() {
            // KVM stops at the first MSR it rejects.
            let idx = entries.get(n).map_or(0, |e| e.index);
            return Err(KvmError::CpuFeatures(format!(
                "KVM rejected MSR {idx:#x} ({n} of {} set)",
                entries.len()
            )));
        }
        Ok(())
    }

    /// LINT0 as ExtINT (the 8259 PIC's output) and LINT1 as NMI, as on a PC.
    fn setup_lapic(&self) -> Result<(), KvmError> {
        let mut lapic = self.fd.get_lapic().map_err(ioctl("KVM_GET_LAPIC"))?;
        let mut set_mode = |offset: usize, mode: u32| {
            let mut b = [0u8; 4];
            for (i, x) in b.iter_mut().enumerate() {
                *x = lapic.regs[offset + i] as u8;
            }
            let v = (u32::from_le_bytes(b) & !0x700) | (mode << 8);
            for (i, x) in v.to_le_bytes().iter().enumerate() {
                lapic.regs[offset + i] = *x as _;
            }
        };
        set_mode(0x350, 7); // LVT0: ExtINT
        set_mode(0x360, 4); // LVT1: NMI
        self.fd.set_lapic(&lapic).map_err(ioctl("KVM_SET_LAPIC"))
    }

    fn set_entry_state(&self, s: &X86Entry) -> Result<(), KvmError> {
        let seg = |sel: u16| -> Result<kvm_segment, KvmError> {
            let d = s.gdt.get(usize::from(sel >> 3)).copied().ok_or_else(|| {
                KvmError::CpuFeatures(format!("selector {sel:#x} is outside the boot GDT"))
            })?;
            Ok(segment_from_gdt(d, sel))
        };
        let mut sregs = self.fd.get_sregs().map_err(ioctl("KVM_GET_SREGS"))?;
        let code = seg(s.code_selector)?;
        let data = seg(s.data_selector)?;
        sregs.cs = code;
        sregs.ds = data;
        sregs.es = data;
        sregs.fs = data;
        sregs.gs = data;
        sregs.ss = data;
        sregs.tr = seg(s.tss_selector)?;
        sregs.gdt.base = s.gdt_base;
        sregs.gdt.limit = (s.gdt.len() * 8).saturating_sub(1) as u16;
        sregs.idt.base = s.idt_base;
        sregs.idt.limit = s.idt_limit;
        sregs.cr0 = (sregs.cr0 | CR0_PE | CR0_ET) & !(CR0_CD | CR0_NW);
        match s.mode {
            X86Mode::Long64 => {
                sregs.cr3 = s.cr3;
                sregs.cr4 |= CR4_PAE;
                sregs.cr0 |= CR0_PG;
                sregs.efer |= EFER_LME | EFER_LMA;
            }
            X86Mode::Protected32 => {
                sregs.cr0 &= !CR0_PG;
                sregs.cr4 = 0;
                sregs.efer = 0;
            }
        }
        self.fd.set_sregs(&sregs).map_err(ioctl("KVM_SET_SREGS"))?;
        let regs = kvm_bindings::kvm_regs {
            rflags: 2,
            rip: s.rip,
            rsp: s.rsp,
            rbp: s.rsp,
            rsi: s.rsi,
            rbx: s.rbx,
            ..Default::default()
        };
        self.fd.set_regs(&regs).map_err(ioctl("KVM_SET_REGS"))
    }

    /// The general-purpose and control registers, formatted for an error report.
    pub fn dump_regs(&self) -> String {
        let mut out = String::new();
        match self.fd.get_regs() {
            Ok(r) => out.push_str(&format!(
                "rip={:#018x} rflags={:#x}\n\
                 rax={:#018x} rbx={:#018x} rcx={:#018x} rdx={:#018x}\n\
                 rsi={:#018x} rdi={:#018x} rsp={:#018x} rbp={:#018x}\n\
                 r8 ={:#018x} r9 ={:#018x} r10={:#018x} r11={:#018x}\n\
                 r12={:#018x} r13={:#018x} r14={:#018x} r15={:#018x}\n",
                r.rip,
                r.rflags,
                r.rax,
                r.rbx,
                r.rcx,
                r.rdx,
                r.rsi,
                r.rdi,
                r.rsp,
                r.rbp,
                r.r8,
                r.r9,
                r.r10,
                r.r11,
                r.r12,
                r.r13,
                r.r14,
                r.r15
            )),
            Err(e) => out.push_str(&format!("(KVM_GET_REGS failed: {e})\n")),
        }
        match self.fd.get_sregs() {
            Ok(s) => out.push_str(&format!(
                "cs={:#06x} (base {:#x} l={} db={}) ss={:#06x}\n\
                 cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} efer={:#x} apic_base={:#x}",
                s.cs.selector,
                s.cs.base,
                s.cs.l,
                s.cs.db,
                s.ss.selector,
                s.cr0,
                s.cr2,
                s.cr3,
                s.cr4,
                s.efer,
                s.apic_base
            )),
            Err(e) => out.push_str(&format!("(KVM_GET_SREGS failed: {e})")),
        }
        out
    }

    /// Up to 15 instruction bytes at the guest's `cs:rip`, read through its page tables.
    pub(crate) fn fetch_insn_bytes(&self) -> Vec<u8> {
        let (Ok(regs), Ok(sregs)) = (self.fd.get_regs(), self.fd.get_sregs()) else {
            return Vec::new();
        };
        let linear = sregs.cs.base.wrapping_add(regs.rip);
        let Ok(t) = self.fd.translate_gva(linear) else {
            return Vec::new();
        };
        if t.valid == 0 {
            return Vec::new();
        }
        // Stay within the page: the next one may not be mapped contiguously.
        let room = 0x1000 - (t.physical_address & 0xfff);
        let mut buf = vec![0u8; room.min(15) as usize];
        match self
            .mem
            .read_slice(&mut buf, GuestAddress(t.physical_address))
        {
            Ok(()) => buf,
            Err(_) => Vec::new(),
        }
    }
}
