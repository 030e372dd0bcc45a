//! Firmware boot flow (OpenSBI `fw_dynamic`): the richer MROM reset stub, the `fw_dynamic_info`
//! block it passes in `a2`, and where the kernel, initrd and device tree go in DRAM.
//!
//! With `--bios none` the board keeps the plain reset stub of spec §3, word for word; the stub
//! here is used only when firmware is booted. It still starts at 0x1004 and ends in DRAM at
//! 0x8000_0000, and sets `a0` = hartid, `a1` = device tree, `a2` = `fw_dynamic_info`.

use super::map::{DRAM_BASE, MROM_BASE};
use crate::BoardError;

/// `fw_dynamic_info.magic`: "OSBI".
pub const FW_DYNAMIC_MAGIC: u64 = 0x4942_534f;
/// `fw_dynamic_info.version` (2 adds `boot_hart`).
pub const FW_DYNAMIC_VERSION: u64 = 2;
/// `fw_dynamic_info.next_mode` for S-mode.
pub const NEXT_MODE_S: u64 = 1;
/// Alignment of the device tree (and the room above it for firmware fix-ups).
const FDT_ALIGN: u64 = 2 << 20;
/// Where Linux's `Image` goes: DRAM + 2 MiB, the RISC-V boot convention.
pub const KERNEL_OFFSET: u64 = 2 << 20;

/// What the firmware reset stub hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirmwareBoot {
    /// Where the stub jumps (the firmware's entry, DRAM base).
    pub entry: u64,
    /// Guest-physical address of the device tree (`a1`).
    pub fdt_addr: u64,
    /// Where the firmware continues in `next_mode` (the kernel).
    pub next_addr: u64,
    /// Privilege for `next_addr` (1 = S-mode).
    pub next_mode: u64,
}

/// Offset of the data words (entry, fdt) after the code at 0x1004.
const DATA_OFF: u64 = 0x1c;
/// Offset of `fw_dynamic_info` from 0x1004 (8-byte aligned at 0x1030).
const INFO_OFF: u64 = 0x2c;

/// The MROM contents for a firmware boot.
pub fn firmware_rom(boot: &FirmwareBoot) -> Vec<u8> {
    let code: [u32; 7] = [
        0x0000_0000, // 0x1000: kept zero, as in the plain stub
        0x0000_0297, // 0x1004: auipc t0, 0
        0x0200_0613 | ((INFO_OFF as u32) << 20) | (5 << 15), // addi a2, t0, INFO_OFF
        0xf140_2573, // csrr a0, mhartid
        0x0000_3583 | (((DATA_OFF + 8) as u32) << 20) | (5 << 15), // ld a1, DATA_OFF+8(t0)
        0x0000_3283 | ((DATA_OFF as u32) << 20) | (5 << 15), // ld t0, DATA_OFF(t0)
        0x0002_8067, // jr t0
    ];
    let mut rom: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    rom.resize((4 + DATA_OFF) as usize, 0); // pad to the 8-byte aligned data words at 0x1020
    for v in [boot.entry, boot.fdt_addr] {
        rom.extend_from_slice(&v.to_le_bytes());
    }
    rom.resize((4 + INFO_OFF) as usize, 0);
    for v in [
        FW_DYNAMIC_MAGIC,
        FW_DYNAMIC_VERSION,
        boot.next_addr,
        boot.next_mode,
        0, // options
        0, // boot_hart
    ] {
        rom.extend_from_slice(&v.to_le_bytes());
    }
    rom
}

/// Guest-physical address of `fw_dynamic_info` in the firmware ROM.
pub const fn fw_dynamic_info_addr() -> u64 {
    MROM_BASE + 4 + INFO_OFF
}

/// Where a Linux boot puts things in DRAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinuxLayout {
    /// Kernel `Image` load address (DRAM + 2 MiB).
    pub kernel: u64,
    /// Initrd `[start, end)`.
    pub initrd: Option<(u64, u64)>,
    /// Device tree address.
    pub fdt: u64,
}

/// The memory the kernel occupies once running: the `image_size` field of the RISC-V `Image`
/// header when present, else the file size.
pub fn kernel_footprint(image: &[u8]) -> u64 {
    let is_image = image.len() >= 64 && &image[48..56] == b"RISCV\0\0\0";
    let field = image
        .get(16..24)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0);
    if is_image && field >= image.len() as u64 {
        field
    } else {
        image.len() as u64
    }
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

/// Places the kernel at DRAM + 2 MiB, the initrd above the kernel's footprint (2 MiB aligned)
/// and the device tree near the top of DRAM (below 3 GiB of DRAM offset, 2 MiB aligned), checking
/// that nothing overlaps and everything fits.
pub fn plan_linux_layout(
    ram_size: u64,
    kernel_footprint: u64,
    initrd_size: Option<u64>,
    fdt_size: u64,
) -> Result<LinuxLayout, BoardError> {
    let ram_end = DRAM_BASE + ram_size;
    let kernel = DRAM_BASE + KERNEL_OFFSET;
    let kernel_end = kernel + kernel_footprint;
    let fdt_top = ram_end.min(DRAM_BASE + (3 << 30));
    // Like QEMU: align the device tree down to 2 MiB below the top, which leaves firmware room
    // to grow it in place (OpenSBI adds reserved-memory nodes) without running off DRAM.
    let fdt = fdt_top
        .checked_sub(fdt_size)
        .map(|a| a & !(FDT_ALIGN - 1))
        .unwrap_or(0);
    let too_small = |what: &str, need: u64| {
        BoardError::Config(format!(
            "{what} does not fit in {} MiB of DRAM (needs about {} MiB); increase --memory",
            ram_size >> 20,
            need.div_ceil(1 << 20)
        ))
    };
    if kernel_end > fdt || fdt < DRAM_BASE {
        return Err(too_small(
            "the kernel",
            kernel_end - DRAM_BASE + align_up(fdt_size, 4096),
        ));
    }
    let initrd = match initrd_size {
        None => None,
        Some(size) => {
            let start = align_up(kernel_end, 2 << 20);
            let end = start + size;
            if end > fdt {
                return Err(too_small(
                    "the kernel plus initrd",
                    end - DRAM_BASE + align_up(fdt_size, 4096),
                ));
            }
            Some((start, end))
        }
    };
    Ok(LinuxLayout {
        kernel,
        initrd,
        fdt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_rom_encodes_the_stub_and_fw_dynamic_info() {
        let boot = FirmwareBoot {
            entry: 0x8000_0000,
            fdt_addr: 0xbfe0_0000,
            next_addr: 0x8020_0000,
            next_mode: NEXT_MODE_S,
        };
        let rom = firmware_rom(&boot);
        let w = |off: usize| u32::from_le_bytes(rom[off..off + 4].try_into().unwrap());
        let d = |off: usize| u64::from_le_bytes(rom[off..off + 8].try_into().unwrap());
        assert_eq!(w(0), 0);
        assert_eq!(w(4), 0x0000_0297, "auipc t0,0");
        assert_eq!(w(8), 0x02c2_8613, "addi a2,t0,44");
        assert_eq!(w(12), 0xf140_2573, "csrr a0,mhartid");
        assert_eq!(w(16), 0x0242_b583, "ld a1,36(t0)");
        assert_eq!(w(20), 0x01c2_b283, "ld t0,28(t0)");
        assert_eq!(w(24), 0x0002_8067, "jr t0");
        assert_eq!(d(0x20), 0x8000_0000);
        assert_eq!(d(0x28), 0xbfe0_0000);
        let info = (fw_dynamic_info_addr() - MROM_BASE) as usize;
        assert_eq!(info, 0x30);
        assert_eq!(d(info), FW_DYNAMIC_MAGIC);
        assert_eq!(d(info + 8), 2);
        assert_eq!(d(info + 16), 0x8020_0000);
        assert_eq!(d(info + 24), 1);
    }

    #[test]
    fn layout_places_initrd_above_kernel_and_fdt_at_the_top() {
        let l = plan_linux_layout(1 << 30, 20 << 20, Some(3 << 20), 0x2345).unwrap();
        assert_eq!(l.kernel, 0x8020_0000);
        let (s, e) = l.initrd.unwrap();
        assert!(s >= 0x8020_0000 + (20 << 20) && s % (2 << 20) == 0);
        assert_eq!(e - s, 3 << 20);
        assert!(e <= l.fdt);
        assert_eq!(l.fdt, 0xc000_0000 - (2 << 20));
        // Firmware may grow the tree in place: at least 1 MiB of room above it.
        assert!(0xc000_0000 - l.fdt >= 0x2345 + (1 << 20));
    }

    #[test]
    fn layout_rejects_what_does_not_fit() {
        assert!(plan_linux_layout(16 << 20, 20 << 20, None, 0x1000).is_err());
        assert!(plan_linux_layout(32 << 20, 20 << 20, Some(16 << 20), 0x1000).is_err());
        assert!(plan_linux_layout(64 << 20, 20 << 20, Some(16 << 20), 0x1000).is_ok());
    }

    #[test]
    fn footprint_reads_the_image_header() {
        let mut img = vec![0u8; 4096];
        img[48..56].copy_from_slice(b"RISCV\0\0\0");
        img[16..24].copy_from_slice(&(8u64 << 20).to_le_bytes());
        assert_eq!(kernel_footprint(&img), 8 << 20);
        assert_eq!(kernel_footprint(&[0u8; 100]), 100);
    }
}
