//! Running the G233 board: its RAM map, flash slots, the boot-flow rule, and image placement.
//!
//! - `--bios none`: the kernel (ELF at its physical addresses, raw at 0x8000_0000) and the
//!   `--loader` ELFs are loaded; the hart starts at the reset vector 0x1004 whose ROM jumps to
//!   0x8000_0000.
//! - firmware (`--bios default|PATH`, OpenSBI `fw_dynamic`): firmware at 0x8000_0000, kernel at
//!   0x8020_0000 (an ELF kernel at its own addresses), initrd above it, the device tree at the top
//!   of DRAM, and the firmware reset stub passing `a0`/`a1`/`a2` (see `boards::g233::boot`).
//! - no `--bios`: `none` when the kernel is an ELF whose lowest segment is at 0x8000_0000,
//!   otherwise `default`.

use std::io::Write;
use std::path::{Path, PathBuf};

use boards::g233::{boot, fdt, G233Config, G233};
use boards::loader::{self, LoadedImage, Reserved};
use boards::Isa;
use vm_memory::GuestMemoryMmap;

use crate::accel::Machine;
use crate::cli::{BadValue, BiosSpec};
use crate::error::VmmError;
use crate::image::Image;
use crate::run::{note, Built, Resolved};

/// Debian's OpenSBI `fw_dynamic` firmware (package `opensbi`).
pub const DEFAULT_FIRMWARE_PATH: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

/// The G233 RAM map for `ram_size` bytes, as `(base, size)` pairs.
pub fn ram_regions(ram_size: u64) -> Vec<(u64, u64)> {
    G233::ram_regions(ram_size)
        .iter()
        .map(|r| (r.base, r.size))
        .collect()
}

/// Maps `--flash CS=PATH` options onto the two chip selects.
pub fn flash_slots(list: &[(usize, PathBuf)]) -> Result<[Option<PathBuf>; 2], VmmError> {
    let mut slots: [Option<PathBuf>; 2] = [None, None];
    for (cs, path) in list {
        let slot = slots.get_mut(*cs).ok_or_else(|| {
            BadValue(format!(
                "--flash {cs}={}: g233 has flashes on chip selects 0 (W25X16, 2 MiB) and 1 \
                 (W25X32, 4 MiB); use --flash 0=PATH or --flash 1=PATH",
                path.display()
            ))
        })?;
        if slot.is_some() {
            return Err(BadValue(format!(
                "--flash {cs}= is given twice; give each chip select once"
            ))
            .into());
        }
        *slot = Some(path.clone());
    }
    Ok(slots)
}

/// The firmware to boot: `None` for a bare-metal boot, else the firmware image.
pub fn choose_firmware(
    spec: Option<&BiosSpec>,
    kernel: Option<&Image>,
) -> Result<Option<Image>, VmmError> {
    let spec = match (spec, kernel) {
        (Some(s), _) => s.clone(),
        // Only --loader images: a bare-metal program, like QEMU's generic loader.
        (None, None) => BiosSpec::None,
        (None, Some(kernel)) => {
            if loader::is_elf(&kernel.bytes) {
                let summary = loader::elf_summary(&kernel.bytes, Isa::Riscv64)
                    .map_err(|e| kernel.load_error(e))?;
                if summary.lowest_paddr == Some(G233::RAM_BASE) {
                    BiosSpec::None
                } else {
                    BiosSpec::Default
                }
            } else {
                BiosSpec::Default
            }
        }
    };
    match spec {
        BiosSpec::None => Ok(None),
        BiosSpec::Path(p) => Image::read("--bios firmware", &p).map(Some),
        BiosSpec::Default => {
            let p = Path::new(DEFAULT_FIRMWARE_PATH);
            if !p.exists() {
                return Err(BadValue(format!(
                    "the default firmware {DEFAULT_FIRMWARE_PATH} is missing; install the Debian \
                     package opensbi (apt-get install opensbi), or give --bios PATH, or --bios \
                     none for a bare-metal program"
                ))
                .into());
            }
            Image::read("default firmware", p).map(Some)
        }
    }
}

/// What the device tree says about the CPU: exactly what the TCG CPU model implements.
fn cpu_fdt_config() -> fdt::FdtConfig {
    fdt::FdtConfig {
        isa_base: "rv64i".into(),
        isa_extensions: accel_tcg::decode::ISA_EXTENSIONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        mmu_type: accel_tcg::decode::MMU_TYPE.into(),
        ..Default::default()
    }
}

fn board_err(e: impl std::fmt::Display) -> VmmError {
    VmmError::Board(e.to_string())
}

/// Loads a bare-metal boot: kernel, then `--loader` images, none overlapping another.
fn load_bare_metal(r: &Resolved, mem: &GuestMemoryMmap) -> Result<(), VmmError> {
    if r.initrd.is_some() || r.append.is_some() {
        return Err(BadValue(
            "--initrd and --append need a firmware boot, but --bios is none (or the kernel is a \
             bare-metal ELF at 0x80000000); give --bios default or --bios PATH, or drop them"
                .into(),
        )
        .into());
    }
    let mut reserved = Vec::new();
    if let Some(k) = &r.kernel {
        let img = loader::load_image(mem, &k.bytes, Isa::Riscv64, G233::RAM_BASE, &[])
            .map_err(|e| k.load_error(e))?;
        note(
            r.verbose,
            &format!(
                "kernel {}: {} at {:#x}..{:#x}",
                k.path.display(),
                match img.kind {
                    loader::ImageKind::Elf => "ELF",
                    loader::ImageKind::Raw => "raw",
                },
                img.start,
                img.end
            ),
        );
        reserved.push(Reserved::new(
            format!("the kernel {}", k.path.display()),
            img.start,
            img.end,
        ));
    }
    load_loaders(r, mem, &mut reserved)
}

fn load_loaders(
    r: &Resolved,
    mem: &GuestMemoryMmap,
    reserved: &mut Vec<Reserved>,
) -> Result<(), VmmError> {
    for l in &r.loaders {
        if !loader::is_elf(&l.bytes) {
            return Err(l.load_error(loader::LoadError::Malformed(
                "not an ELF file (--loader takes ELF images)".into(),
            )));
        }
        let img =
            loader::load_elf(mem, &l.bytes, Isa::Riscv64, reserved).map_err(|e| l.load_error(e))?;
        note(
            r.verbose,
            &format!(
                "--loader {}: {:#x}..{:#x}",
                l.path.display(),
                img.start,
                img.end
            ),
        );
        reserved.push(Reserved::new(
            format!("--loader image {}", l.path.display()),
            img.start,
            img.end,
        ));
    }
    Ok(())
}

/// Loads a firmware boot and sets the firmware reset stub; returns the device tree.
fn load_firmware_boot(
    r: &Resolved,
    board: &G233,
    mem: &GuestMemoryMmap,
    fw: &Image,
) -> Result<Vec<u8>, VmmError> {
    let fw_img = loader::load_image(mem, &fw.bytes, Isa::Riscv64, G233::RAM_BASE, &[])
        .map_err(|e| fw.load_error(e))?;
    note(
        r.verbose,
        &format!(
            "firmware {}: {:#x}..{:#x}",
            fw.path.display(),
            fw_img.start,
            fw_img.end
        ),
    );
    let mut reserved = vec![Reserved::new(
        format!("the firmware {}", fw.path.display()),
        fw_img.start,
        fw_img.end,
    )];
    let kernel_addr = G233::RAM_BASE + boot::KERNEL_OFFSET;
    let mut footprint = 0;
    let mut next_addr = kernel_addr;
    if let Some(k) = &r.kernel {
        let kimg: LoadedImage =
            loader::load_image(mem, &k.bytes, Isa::Riscv64, kernel_addr, &reserved)
                .map_err(|e| k.load_error(e))?;
        note(
            r.verbose,
            &format!(
                "kernel {}: {:#x}..{:#x}",
                k.path.display(),
                kimg.start,
                kimg.end
            ),
        );
        reserved.push(Reserved::new(
            format!("the kernel {}", k.path.display()),
            kimg.start,
            kimg.end,
        ));
        next_addr = kimg.entry;
        footprint = if kimg.kind == loader::ImageKind::Raw {
            boot::kernel_footprint(&k.bytes)
        } else {
            kimg.end.saturating_sub(kernel_addr)
        };
    }
    let mut cfg = cpu_fdt_config();
    cfg.ram_size = r.ram_size;
    cfg.bootargs = r.append.clone().unwrap_or_default();
    // Size the device tree with placeholder initrd values: their encoding has a fixed size.
    cfg.initrd = r.initrd.as_ref().map(|_| (0, 0));
    let fdt_size = fdt::build(&cfg).map_err(board_err)?.len() as u64;
    let initrd_size = r.initrd.as_ref().map(|i| i.bytes.len() as u64);
    let layout =
        boot::plan_linux_layout(r.ram_size, footprint, initrd_size, fdt_size).map_err(board_err)?;
    if let (Some(initrd), Some((start, end))) = (&r.initrd, layout.initrd) {
        loader::load_raw(mem, &initrd.bytes, start, &reserved).map_err(|e| initrd.load_error(e))?;
        reserved.push(Reserved::new("the initrd", start, end));
    }
    cfg.initrd = layout.initrd;
    let blob = fdt::build(&cfg).map_err(board_err)?;
    let dtb = Image {
        what: "device tree",
        path: PathBuf::from("(generated)"),
        bytes: blob.clone().into(),
    };
    loader::load_raw(mem, &dtb.bytes, layout.fdt, &reserved).map_err(|e| dtb.load_error(e))?;
    reserved.push(Reserved::new(
        "the device tree",
        layout.fdt,
        layout.fdt + dtb.bytes.len() as u64,
    ));
    load_loaders(r, mem, &mut reserved)?;
    board.set_firmware_boot(&boot::FirmwareBoot {
        entry: fw_img.entry,
        fdt_addr: layout.fdt,
        next_addr,
        next_mode: boot::NEXT_MODE_S,
    });
    Ok(blob)
}

/// Builds the board, loads the images into `mem`, and hands back the machine.
pub fn build(
    r: &Resolved,
    mem: GuestMemoryMmap,
    serial: Box<dyn Write + Send>,
) -> Result<Built, VmmError> {
    let flash = flash_slots(&r.flash)?;
    let firmware = choose_firmware(r.bios.as_ref(), r.kernel.as_ref())?;
    let board = G233::new(G233Config {
        ram_size: r.ram_size,
        flash,
        serial,
        clock: r.clock,
    })
    .map_err(board_err)?;
    let device_tree = match &firmware {
        None => {
            load_bare_metal(r, &mem)?;
            // Not in guest memory (a bare-metal program gets none), but --dumpdtb shows it.
            let mut cfg = cpu_fdt_config();
            cfg.ram_size = r.ram_size;
            fdt::build(&cfg).map_err(board_err)?
        }
        Some(fw) => load_firmware_boot(r, &board, &mem, fw)?,
    };
    let input = board.serial_input();
    let machine = Machine {
        board: "g233",
        isa: Isa::Riscv64,
        ram: mem,
        mmio: board.mmio.clone(),
        hart: board.hart.clone(),
        clock: board.clock.clone(),
        custom: Some(board.custom_insns()),
        reset_pc: G233::RESET_PC,
        boot_regs: Vec::new(),
    };
    Ok(Built {
        machine,
        serial_input: Box::new(move |bytes: &[u8]| input.push(bytes)),
        flush: Box::new(move || board.flush().map_err(|e| e.to_string())),
        device_tree,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn image(bytes: &'static [u8]) -> Image {
        Image {
            what: "kernel",
            path: "k".into(),
            bytes: Cow::Borrowed(bytes),
        }
    }

    #[test]
    fn flash_slots_map_and_reject() {
        let s = flash_slots(&[(1, "b".into()), (0, "a".into())]).unwrap();
        assert_eq!(s, [Some("a".into()), Some("b".into())]);
        let e = flash_slots(&[(2, "c".into())]).unwrap_err();
        assert!(e.to_string().contains("chip selects 0"), "{e}");
        let e = flash_slots(&[(0, "a".into()), (0, "b".into())]).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn bios_rule() {
        let fw = Image::builtin();
        assert!(
            choose_firmware(None, Some(&fw)).unwrap().is_none(),
            "ELF at DRAM base: none"
        );
        assert!(choose_firmware(Some(&BiosSpec::None), Some(&image(b"raw")))
            .unwrap()
            .is_none());
        // A raw kernel wants the default firmware: present or a clear error naming the package.
        match choose_firmware(None, Some(&image(b"raw"))) {
            Ok(Some(img)) => assert_eq!(img.path, PathBuf::from(DEFAULT_FIRMWARE_PATH)),
            Ok(None) => panic!("a raw kernel must not boot bare-metal by default"),
            Err(e) => assert!(e.to_string().contains("opensbi"), "{e}"),
        }
        let e = choose_firmware(Some(&BiosSpec::Path("/nonexistent/fw".into())), Some(&fw))
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/fw"), "{e}");
    }

    #[test]
    fn bios_rule_reports_an_elf_of_another_machine() {
        let mut elf = Image::builtin().bytes.into_owned();
        elf[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        let k = Image {
            what: "kernel",
            path: "x86.elf".into(),
            bytes: Cow::Owned(elf),
        };
        let e = choose_firmware(None, Some(&k)).unwrap_err();
        assert!(e.to_string().contains("another machine"), "{e}");
        assert!(e.to_string().starts_with("kernel x86.elf: "), "{e}");
    }

    #[test]
    fn regions_start_at_dram() {
        assert_eq!(ram_regions(1 << 30), vec![(0x8000_0000, 1 << 30)]);
    }
}
