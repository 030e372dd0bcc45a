use super::*;
use std::io::Write;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

/// A minimal ELF64 executable: one PT_LOAD of `code` at 0x100000 (entry there), and a PVH note
/// (entry `pvh`) when given.
fn elf(code: &[u8], pvh: Option<u32>) -> Vec<u8> {
    let phnum: u16 = if pvh.is_some() { 2 } else { 1 };
    let code_off = 64 + 56 * u64::from(phnum);
    let mut note = Vec::new();
    if let Some(e) = pvh {
        note.extend_from_slice(&4u32.to_le_bytes()); // namesz
        note.extend_from_slice(&4u32.to_le_bytes()); // descsz
        note.extend_from_slice(&18u32.to_le_bytes()); // XEN_ELFNOTE_PHYS32_ENTRY
        note.extend_from_slice(b"Xen\0");
        note.extend_from_slice(&e.to_le_bytes());
    }
    let note_off = code_off + code.len() as u64;
    let mut v = Vec::new();
    v.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    v.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    v.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&0x10_0000u64.to_le_bytes()); // e_entry
    v.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    v.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&64u16.to_le_bytes());
    v.extend_from_slice(&56u16.to_le_bytes());
    v.extend_from_slice(&phnum.to_le_bytes());
    v.extend_from_slice(&[0u8; 6]);
    let ph = |v: &mut Vec<u8>, t: u32, off: u64, addr: u64, len: u64| {
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(&5u32.to_le_bytes());
        v.extend_from_slice(&off.to_le_bytes());
        v.extend_from_slice(&addr.to_le_bytes());
        v.extend_from_slice(&addr.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&8u64.to_le_bytes());
    };
    ph(&mut v, 1, code_off, 0x10_0000, code.len() as u64);
    if pvh.is_some() {
        ph(&mut v, 4, note_off, 0, note.len() as u64);
    }
    v.extend_from_slice(code);
    v.extend_from_slice(&note);
    v
}

fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f
}

fn memory(size: u64) -> GuestMemoryMmap {
    let r: Vec<_> = MicroVm::ram_regions(size)
        .iter()
        .map(|r| (GuestAddress(r.base), r.size as usize))
        .collect();
    GuestMemoryMmap::from_ranges(&r).unwrap()
}

#[test]
fn linux_protocol_boot_structures() {
    let k = file(&elf(&[0xf4; 16], None));
    let disk = file(&[0u8; 4096]);
    let initrd = file(&[0x11u8; 5000]);
    let mem = memory(64 << 20);
    let mut cfg = MicroVmConfig::new(k.path().to_path_buf(), Box::new(std::io::sink()));
    cfg.ram_size = 64 << 20;
    cfg.cmdline = "console=ttyS0".into();
    cfg.initrd = Some(initrd.path().to_path_buf());
    cfg.disks.push(DiskConfig {
        path: disk.path().to_path_buf(),
        read_only: false,
    });
    cfg.mmio_test = true;
    let vm = MicroVm::new(cfg, &mem).unwrap();
    let e = vm.entry();
    assert_eq!(e.mode, X86Mode::Long64);
    assert_eq!(e.rip, 0x10_0000);
    assert_eq!(e.rsi, layout::ZERO_PAGE_ADDR);
    assert_eq!(e.code_selector, 0x10);
    assert_eq!(e.data_selector, 0x18);
    assert_eq!(
        vm.cmdline(),
        "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6"
    );
    // Zero page: header magic, command line pointer, e820, initrd.
    let zp = layout::ZERO_PAGE_ADDR;
    let hdrs: u32 = mem.read_obj(GuestAddress(zp + 0x202)).unwrap();
    assert_eq!(hdrs, 0x5372_6448);
    let cmd_ptr: u32 = mem.read_obj(GuestAddress(zp + 0x228)).unwrap();
    assert_eq!(u64::from(cmd_ptr), layout::CMDLINE_ADDR);
    let mut cmd = vec![0u8; vm.cmdline().len() + 1];
    mem.read_slice(&mut cmd, GuestAddress(layout::CMDLINE_ADDR))
        .unwrap();
    assert_eq!(&cmd[..cmd.len() - 1], vm.cmdline().as_bytes());
    assert_eq!(cmd.last(), Some(&0));
    let e820_entries: u8 = mem.read_obj(GuestAddress(zp + 0x1e8)).unwrap();
    assert_eq!(e820_entries, 2);
    let rd_addr: u32 = mem.read_obj(GuestAddress(zp + 0x218)).unwrap();
    let rd_size: u32 = mem.read_obj(GuestAddress(zp + 0x21c)).unwrap();
    assert_eq!(rd_size, 5000);
    assert_eq!(rd_addr % 4096, 0);
    assert!(u64::from(rd_addr) + 5000 <= 64 << 20);
    let b: u8 = mem
        .read_obj(GuestAddress(u64::from(rd_addr) + 4999))
        .unwrap();
    assert_eq!(b, 0x11);
    // Identity map: PML4 → PDPT → PD, 2 MiB page 0x1ff of the 4th PD maps 0xffe0_0000.
    let pml4: u64 = mem.read_obj(GuestAddress(layout::PML4_ADDR)).unwrap();
    assert_eq!(pml4 & !0xfff, layout::PDPT_ADDR);
    let pde: u64 = mem
        .read_obj(GuestAddress(layout::PD_ADDR + 3 * 0x1000 + 8 * 511))
        .unwrap();
    assert_eq!(pde, 0xffe0_0000 | 0x83);
    let code: u64 = mem.read_obj(GuestAddress(layout::GDT_ADDR + 0x10)).unwrap();
    assert_eq!(code, BOOT_GDT[2]);
    // Interrupt and notification plumbing for the accelerator.
    let gsis: Vec<u32> = vm.irqfds().iter().map(|(_, g)| *g).collect();
    assert_eq!(gsis, vec![4, 5, 6]);
    let ev = vm.ioeventfds();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].addr, 0xd000_0050);
    assert_eq!(ev[0].datamatch, 0);
    assert_eq!(ev[1].addr, 0xd000_1050);
    // Devices answer on the buses.
    let mut id = [0u8; 4];
    vm.mmio.read(0xd000_0000, &mut id).unwrap();
    assert_eq!(u32::from_le_bytes(id), 0x7472_6976);
    vm.mmio.read(layout::MMIO_TEST_BASE, &mut id).unwrap();
    assert_eq!(u32::from_le_bytes(id), 0x544d_564b);
    vm.pio.write(layout::POWEROFF_PORT, &[3]).unwrap();
    assert_eq!(
        vm.stop.exit_request(),
        Some(devices::irq::ExitRequest::Poweroff(3))
    );
}

#[test]
fn pvh_note_selects_32bit_entry() {
    let k = file(&elf(&[0xf4; 16], Some(0x10_0008)));
    let mem = memory(32 << 20);
    let mut cfg = MicroVmConfig::new(k.path().to_path_buf(), Box::new(std::io::sink()));
    cfg.ram_size = 32 << 20;
    cfg.rng = false;
    let vm = MicroVm::new(cfg, &mem).unwrap();
    let e = vm.entry();
    assert_eq!(e.mode, X86Mode::Protected32);
    assert_eq!(e.rip, 0x10_0008);
    assert_eq!(e.rbx, layout::PVH_INFO_ADDR);
    assert_eq!(e.code_selector, 0x28);
    let magic: u32 = mem.read_obj(GuestAddress(layout::PVH_INFO_ADDR)).unwrap();
    assert_eq!(magic, 0x336e_c578);
    let entries: u32 = mem
        .read_obj(GuestAddress(layout::PVH_INFO_ADDR + 48))
        .unwrap();
    assert_eq!(entries, 2);
    assert!(vm.irqfds().len() == 1 && vm.ioeventfds().is_empty());
}

#[test]
fn bad_configurations_are_refused_with_a_reason() {
    let mem = memory(32 << 20);
    let k = file(b"not a kernel at all");
    let mut cfg = MicroVmConfig::new(k.path().to_path_buf(), Box::new(std::io::sink()));
    cfg.ram_size = 32 << 20;
    assert!(matches!(
        MicroVm::new(cfg, &mem),
        Err(BoardError::Config(_))
    ));
    let k = file(&elf(&[0xf4], None));
    let mut cfg = MicroVmConfig::new(k.path().to_path_buf(), Box::new(std::io::sink()));
    cfg.ram_size = 32 << 20;
    let big = file(&vec![0u8; 40 << 20]);
    cfg.initrd = Some(big.path().to_path_buf());
    let e = MicroVm::new(cfg, &mem).err().unwrap().to_string();
    assert!(e.contains("initrd"), "{e}");
    let mut cfg = MicroVmConfig::new("/nonexistent/kernel".into(), Box::new(std::io::sink()));
    cfg.ram_size = 32 << 20;
    assert!(MicroVm::new(cfg, &mem).is_err());
}
