//! The x86 register state at a kernel's entry point: made by the x86 boards (`boards::x86`),
//! loaded into a vCPU by the KVM accelerator (`accel_kvm::x86`). One type for both, so neither
//! has to translate the other's.

/// The processor mode at the kernel entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum X86Mode {
    /// 64-bit mode, paging on (Linux 64-bit boot protocol: `rsi` = zero page).
    Long64,
    /// 32-bit protected mode, paging off (PVH: `rbx` = `hvm_start_info`).
    Protected32,
}

/// The register state at the kernel entry point; the board has already written the GDT (and,
/// for long mode, the page tables) into guest memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X86Entry {
    /// Processor mode.
    pub mode: X86Mode,
    /// Entry point.
    pub rip: u64,
    /// Stack pointer.
    pub rsp: u64,
    /// `rsi` (zero page for the Linux protocol).
    pub rsi: u64,
    /// `rbx` (start info for PVH).
    pub rbx: u64,
    /// Page-table root.
    pub cr3: u64,
    /// GDT address.
    pub gdt_base: u64,
    /// GDT contents.
    pub gdt: Vec<u64>,
    /// CS selector.
    pub code_selector: u16,
    /// DS/ES/FS/GS/SS selector.
    pub data_selector: u16,
    /// TR selector.
    pub tss_selector: u16,
    /// IDT address.
    pub idt_base: u64,
    /// IDT limit.
    pub idt_limit: u16,
}
