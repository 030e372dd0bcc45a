//! Boot set-up: loading the kernel (ELF vmlinux, with its PVH entry where present, or bzImage)
//! and initrd, the command line, the zero page or PVH start info, the boot GDT and identity page
//! tables, and the entry state the boot protocol promises.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use linux_loader::loader::bootparam::{boot_e820_entry, boot_params};
use linux_loader::loader::bzimage::BzImage;
use linux_loader::loader::elf::{Elf, PvhBootCapability};
use linux_loader::loader::KernelLoader;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::layout::*;
use crate::BoardError;

pub use devices::x86_entry::{X86Entry, X86Mode};

/// The boot GDT: null, null, 64-bit code (0x10 = `__BOOT_CS`), data (0x18 = `__BOOT_DS`),
/// TSS (0x20), 32-bit code (0x28, for PVH).
pub const BOOT_GDT: [u64; 6] = [
    0,
    0,
    0x00af_9b00_0000_ffff,
    0x00cf_9300_0000_ffff,
    0x008f_8b00_0000_ffff,
    0x00cf_9b00_0000_ffff,
];
/// 64-bit code selector.
pub const BOOT_CS: u16 = 0x10;
/// Data selector.
pub const BOOT_DS: u16 = 0x18;
/// TSS selector.
pub const BOOT_TSS: u16 = 0x20;
/// 32-bit code selector.
pub const BOOT_CS32: u16 = 0x28;

const PVH_MAGIC: u32 = 0x336e_c578;

fn mem_err(what: &str) -> impl FnOnce(vm_memory::GuestMemoryError) -> BoardError + '_ {
    move |e| BoardError::Config(format!("writing {what} into guest memory: {e}"))
}

/// Writes the GDT and the identity page tables covering the first 4 GiB (2 MiB pages).
pub fn write_gdt_and_page_tables(mem: &GuestMemoryMmap) -> Result<(), BoardError> {
    for (i, d) in BOOT_GDT.iter().enumerate() {
        mem.write_obj(*d, GuestAddress(GDT_ADDR + 8 * i as u64))
            .map_err(mem_err("the GDT"))?;
    }
    mem.write_obj(PDPT_ADDR | 3, GuestAddress(PML4_ADDR))
        .map_err(mem_err("the PML4"))?;
    for i in 0..4u64 {
        let pd = PD_ADDR + i * 0x1000;
        mem.write_obj(pd | 3, GuestAddress(PDPT_ADDR + 8 * i))
            .map_err(mem_err("the PDPT"))?;
        for j in 0..512u64 {
            let page = ((i * 512 + j) << 21) | 0x83;
            mem.write_obj(page, GuestAddress(pd + 8 * j))
                .map_err(mem_err("a page directory"))?;
        }
    }
    Ok(())
}

/// What was loaded and where.
pub struct Loaded {
    /// The entry state.
    pub entry: X86Entry,
}

/// Loads `kernel` (+ `initrd`) and writes every boot structure for `cmdline` and `ram_size`.
pub fn load(
    mem: &GuestMemoryMmap,
    ram_size: u64,
    kernel: &Path,
    initrd: Option<&Path>,
    cmdline: &str,
) -> Result<Loaded, BoardError> {
    let open = |p: &Path| {
        File::open(p).map_err(|e| BoardError::Config(format!("cannot open {}: {e}", p.display())))
    };
    let mut f = open(kernel)?;
    let mut magic = [0u8; 4];
    f.read_exact(&mut magic)
        .and_then(|_| f.seek(SeekFrom::Start(0)))
        .map_err(|e| BoardError::Config(format!("reading {}: {e}", kernel.display())))?;
    let himem = Some(GuestAddress(HIMEM_START));
    let load_err = |e: linux_loader::loader::Error| {
        BoardError::Config(format!("loading kernel {}: {e}", kernel.display()))
    };
    let (rip, kernel_end, setup, pvh) = if magic == *b"\x7fELF" {
        let r = Elf::load(mem, None, &mut f, himem).map_err(load_err)?;
        let pvh = match r.pvh_boot_cap {
            PvhBootCapability::PvhEntryPresent(a) => Some(a.0),
            _ => None,
        };
        (r.kernel_load.0, r.kernel_end, None, pvh)
    } else {
        let r = BzImage::load(mem, None, &mut f, himem).map_err(load_err)?;
        // The 64-bit entry point is 0x200 past the protected-mode kernel's start.
        (r.kernel_load.0 + 0x200, r.kernel_end, r.setup_header, None)
    };

    write_gdt_and_page_tables(mem)?;
    let bytes = cmdline.as_bytes();
    if bytes.contains(&0) || bytes.len() + 1 > CMDLINE_MAX {
        return Err(BoardError::Config(format!(
            "kernel command line must be at most {} bytes without NUL characters",
            CMDLINE_MAX - 1
        )));
    }
    mem.write_slice(bytes, GuestAddress(CMDLINE_ADDR))
        .and_then(|_| mem.write_obj(0u8, GuestAddress(CMDLINE_ADDR + bytes.len() as u64)))
        .map_err(mem_err("the command line"))?;

    let low_end = ram_size.min(MMIO_GAP_START);
    let initrd = match initrd {
        None => None,
        Some(p) => {
            let mut f = open(p)?;
            let size = f
                .metadata()
                .map_err(|e| BoardError::Config(format!("{}: {e}", p.display())))?
                .len();
            let max = setup
                .map(|h| u64::from(h.initrd_addr_max))
                .filter(|&m| m != 0)
                .unwrap_or(INITRD_ADDR_MAX);
            let top = low_end.min(max.saturating_add(1));
            let addr = top.checked_sub(size).map(|a| a & !0xfff);
            let addr = match addr {
                Some(a) if a >= kernel_end && size > 0 => a,
                _ => {
                    return Err(BoardError::Config(format!(
                        "initrd {} ({size} bytes) does not fit between the kernel (ends at \
                         {kernel_end:#x}) and {top:#x}; give the VM more memory",
                        p.display()
                    )))
                }
            };
            mem.read_exact_volatile_from(GuestAddress(addr), &mut f, size as usize)
                .map_err(mem_err("the initrd"))?;
            Some((addr, size))
        }
    };

    let e820 = e820(ram_size);
    let entry = match pvh {
        Some(pvh_entry) => {
            write_pvh_info(mem, &e820, initrd, cmdline)?;
            X86Entry {
                mode: X86Mode::Protected32,
                rip: pvh_entry,
                rsp: BOOT_STACK,
                rsi: 0,
                rbx: PVH_INFO_ADDR,
                cr3: 0,
                gdt_base: GDT_ADDR,
                gdt: BOOT_GDT.to_vec(),
                code_selector: BOOT_CS32,
                data_selector: BOOT_DS,
                tss_selector: BOOT_TSS,
                idt_base: IDT_ADDR,
                idt_limit: 0,
            }
        }
        None => {
            write_zero_page(mem, setup, &e820, initrd, bytes.len())?;
            X86Entry {
                mode: X86Mode::Long64,
                rip,
                rsp: BOOT_STACK,
                rsi: ZERO_PAGE_ADDR,
                rbx: 0,
                cr3: PML4_ADDR,
                gdt_base: GDT_ADDR,
                gdt: BOOT_GDT.to_vec(),
                code_selector: BOOT_CS,
                data_selector: BOOT_DS,
                tss_selector: BOOT_TSS,
                idt_base: IDT_ADDR,
                idt_limit: 0,
            }
        }
    };
    Ok(Loaded { entry })
}

fn write_zero_page(
    mem: &GuestMemoryMmap,
    setup: Option<linux_loader::loader::bootparam::setup_header>,
    e820: &[(u64, u64, u32)],
    initrd: Option<(u64, u64)>,
    cmdline_len: usize,
) -> Result<(), BoardError> {
    let mut p = boot_params::default();
    if let Some(h) = setup {
        p.hdr = h;
    } else {
        p.hdr.kernel_alignment = 0x100_0000;
    }
    p.hdr.boot_flag = 0xaa55;
    p.hdr.header = 0x5372_6448; // "HdrS"
    p.hdr.type_of_loader = 0xff;
    p.hdr.cmd_line_ptr = CMDLINE_ADDR as u32;
    p.hdr.cmdline_size = cmdline_len as u32;
    if let Some((addr, size)) = initrd {
        p.hdr.ramdisk_image = addr as u32;
        p.hdr.ramdisk_size = size as u32;
    }
    for (slot, &(addr, size, type_)) in p.e820_table.iter_mut().zip(e820) {
        *slot = boot_e820_entry {
            addr,
            size,
            r#type: type_,
        };
    }
    p.e820_entries = e820.len().min(p.e820_table.len()) as u8;
    mem.write_obj(p, GuestAddress(ZERO_PAGE_ADDR))
        .map_err(mem_err("the zero page"))
}

fn write_pvh_info(
    mem: &GuestMemoryMmap,
    e820: &[(u64, u64, u32)],
    initrd: Option<(u64, u64)>,
    _cmdline: &str,
) -> Result<(), BoardError> {
    let mut info = Vec::with_capacity(56);
    info.extend_from_slice(&PVH_MAGIC.to_le_bytes());
    info.extend_from_slice(&1u32.to_le_bytes()); // version
    info.extend_from_slice(&0u32.to_le_bytes()); // flags
    info.extend_from_slice(&u32::from(initrd.is_some()).to_le_bytes()); // nr_modules
    info.extend_from_slice(&PVH_MODLIST_ADDR.to_le_bytes());
    info.extend_from_slice(&CMDLINE_ADDR.to_le_bytes());
    info.extend_from_slice(&0u64.to_le_bytes()); // rsdp
    info.extend_from_slice(&PVH_MEMMAP_ADDR.to_le_bytes());
    info.extend_from_slice(&(e820.len() as u32).to_le_bytes());
    info.extend_from_slice(&0u32.to_le_bytes());
    mem.write_slice(&info, GuestAddress(PVH_INFO_ADDR))
        .map_err(mem_err("the PVH start info"))?;
    let mut map = Vec::new();
    for &(addr, size, type_) in e820 {
        map.extend_from_slice(&addr.to_le_bytes());
        map.extend_from_slice(&size.to_le_bytes());
        map.extend_from_slice(&type_.to_le_bytes());
        map.extend_from_slice(&0u32.to_le_bytes());
    }
    mem.write_slice(&map, GuestAddress(PVH_MEMMAP_ADDR))
        .map_err(mem_err("the PVH memory map"))?;
    if let Some((addr, size)) = initrd {
        let mut m = Vec::new();
        m.extend_from_slice(&addr.to_le_bytes());
        m.extend_from_slice(&size.to_le_bytes());
        m.extend_from_slice(&[0u8; 16]);
        mem.write_slice(&m, GuestAddress(PVH_MODLIST_ADDR))
            .map_err(mem_err("the PVH module list"))?;
    }
    Ok(())
}
