//! The microvm memory map (Firecracker-like) and its e820 table.
//!
//! ```text
//! 0x0000_0500  boot GDT               0x0000_7000  zero page (boot_params)
//! 0x0000_0560  boot IDT (empty)       0x0000_8ff0  boot stack top
//! 0x0000_6000  PVH start_info + map   0x0000_9000  PML4, 0xa000 PDPT, 0xb000-0xefff PDs
//! 0x0002_0000  kernel command line    0x0010_0000  kernel (HIMEM)
//! RAM          [0, min(ram, 3 GiB)) and [4 GiB, 4 GiB + rest)
//! 0xd000_0000  virtio-mmio slots (4 KiB each, IRQ 5, 6, 7, 9, 10, 11)
//! 0xd100_0000  MMIO test device       0xfec0_0000 IOAPIC, 0xfee0_0000 LAPIC (in-kernel)
//! I/O ports    0x3f8 COM1 (IRQ 4), 0x60/0x64 i8042, 0x501 poweroff port
//! ```

use crate::RamRegion;

/// Boot GDT.
pub const GDT_ADDR: u64 = 0x500;
/// Boot IDT (limit 0).
pub const IDT_ADDR: u64 = 0x560;
/// PVH `hvm_start_info`.
pub const PVH_INFO_ADDR: u64 = 0x6000;
/// PVH memory map (after the start info).
pub const PVH_MEMMAP_ADDR: u64 = 0x6040;
/// PVH module list (the initrd).
pub const PVH_MODLIST_ADDR: u64 = 0x6400;
/// Linux zero page (`struct boot_params`).
pub const ZERO_PAGE_ADDR: u64 = 0x7000;
/// Boot stack pointer.
pub const BOOT_STACK: u64 = 0x8ff0;
/// Level-4 page table.
pub const PML4_ADDR: u64 = 0x9000;
/// Page-directory-pointer table.
pub const PDPT_ADDR: u64 = 0xa000;
/// First of four page directories (2 MiB pages identity-mapping 4 GiB).
pub const PD_ADDR: u64 = 0xb000;
/// Kernel command line.
pub const CMDLINE_ADDR: u64 = 0x2_0000;
/// Maximum command line length, terminating NUL included.
pub const CMDLINE_MAX: usize = 0x1_0000;
/// End of the usable low memory (the EBDA starts here on a PC).
pub const EBDA_START: u64 = 0x9_fc00;
/// Where the kernel is loaded.
pub const HIMEM_START: u64 = 0x10_0000;
/// Start of the 32-bit MMIO hole: RAM beyond this moves above 4 GiB.
pub const MMIO_GAP_START: u64 = 0xc000_0000;
/// End of the 32-bit MMIO hole.
pub const MMIO_GAP_END: u64 = 1 << 32;
/// First virtio-mmio slot.
pub const VIRTIO_BASE: u64 = 0xd000_0000;
/// Size of a virtio-mmio slot.
pub const VIRTIO_SLOT: u64 = 0x1000;
/// IRQs of the virtio slots (ISA IRQs the legacy PIC reaches, so no MP table is needed).
pub const VIRTIO_IRQS: [u32; 6] = [5, 6, 7, 9, 10, 11];
/// The MMIO test device.
pub const MMIO_TEST_BASE: u64 = 0xd100_0000;
/// COM1.
pub const COM1_PORT: u64 = 0x3f8;
/// COM1's IRQ.
pub const COM1_IRQ: u32 = 4;
/// The poweroff port: a byte written here powers off with that exit status.
pub const POWEROFF_PORT: u64 = 0x501;
/// Highest address an initrd may end at (Linux's default `initrd_addr_max`).
pub const INITRD_ADDR_MAX: u64 = 0x3fff_ffff;
/// Smallest RAM the board accepts (kernel at 1 MiB plus room).
pub const MIN_RAM: u64 = 8 << 20;

/// e820 type of usable RAM.
pub const E820_RAM: u32 = 1;

/// The guest RAM regions for `ram_size` bytes.
pub fn ram_regions(ram_size: u64) -> Vec<RamRegion> {
    let low = ram_size.min(MMIO_GAP_START);
    let mut v = vec![RamRegion { base: 0, size: low }];
    if ram_size > low {
        v.push(RamRegion {
            base: MMIO_GAP_END,
            size: ram_size - low,
        });
    }
    v
}

/// The e820 map: (address, size, type).
pub fn e820(ram_size: u64) -> Vec<(u64, u64, u32)> {
    let mut v = vec![(0, EBDA_START, E820_RAM)];
    for r in ram_regions(ram_size) {
        let start = r.base.max(HIMEM_START);
        if r.end() > start {
            v.push((start, r.end() - start, E820_RAM));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_ram_is_one_region_below_the_hole() {
        assert_eq!(
            ram_regions(256 << 20),
            vec![RamRegion {
                base: 0,
                size: 256 << 20
            }]
        );
        assert_eq!(
            e820(256 << 20),
            vec![
                (0, EBDA_START, 1),
                (HIMEM_START, (256 << 20) - HIMEM_START, 1)
            ]
        );
    }

    #[test]
    fn large_ram_is_split_around_the_mmio_hole() {
        let r = ram_regions(4 << 30);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].end(), MMIO_GAP_START);
        assert_eq!(r[1].base, 1 << 32);
        assert_eq!(r[0].size + r[1].size, 4 << 30);
        let e = e820(4 << 30);
        assert_eq!(e.last(), Some(&(1 << 32, (4 << 30) - MMIO_GAP_START, 1)));
        // Devices are in the hole, not in RAM.
        const { assert!(VIRTIO_BASE >= MMIO_GAP_START && MMIO_TEST_BASE < MMIO_GAP_END) };
    }
}
