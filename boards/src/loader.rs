//! Loading guest images into RAM: ELF files (their `PT_LOAD` segments at the *physical* addresses
//! `p_paddr`) and raw binaries at a given address.
//!
//! Every byte written is bounds-checked first: a segment outside RAM, or one overlapping a region
//! reserved by the caller (the firmware, an image loaded earlier), is an error and nothing of that
//! image is written. Files are untrusted input: a truncated or malformed ELF is an error, never a
//! panic.

use goblin::container::{Container, Ctx};
use goblin::elf::header::{EM_386, EM_AARCH64, EM_ARM, EM_RISCV, EM_X86_64};
use goblin::elf::program_header::{ProgramHeader, PT_LOAD};
use goblin::elf::Elf;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

use crate::Isa;

/// What kind of image was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// An ELF file, loaded segment by segment.
    Elf,
    /// A raw binary, copied as one block.
    Raw,
}

/// Where an image landed in guest-physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadedImage {
    /// The entry point: the ELF's `e_entry` translated to a physical address when it lies inside
    /// a loaded segment (unchanged otherwise); the load address for a raw image.
    pub entry: u64,
    /// Lowest guest-physical address written.
    pub start: u64,
    /// One past the highest guest-physical address written (`start` when nothing was loaded).
    pub end: u64,
    /// ELF or raw.
    pub kind: ImageKind,
}

/// A guest-physical range an image must not overlap (e.g. the firmware's), with a name for the
/// error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// What occupies the range (`"the firmware"`, `"the kernel"`).
    pub what: String,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Reserved {
    /// The range `[start, end)` occupied by `what`.
    pub fn new(what: impl Into<String>, start: u64, end: u64) -> Self {
        Self {
            what: what.into(),
            start,
            end,
        }
    }
}

/// The facts about an ELF file that a boot-flow decision needs, read without loading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfSummary {
    /// `e_entry`, translated to physical as in [`LoadedImage::entry`].
    pub entry: u64,
    /// Lowest physical address of a non-empty `PT_LOAD` segment (`None`: no such segment).
    pub lowest_paddr: Option<u64>,
}

/// Why an image could not be loaded. Messages name the problem and its fix; the caller adds the
/// file name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    /// The file is empty.
    #[error("the image is empty; give a non-empty ELF or raw binary")]
    Empty,
    /// The ELF could not be parsed (truncated, bad header, bad program headers).
    #[error("malformed or truncated ELF: {0}; rebuild or re-copy the image")]
    Malformed(String),
    /// The ELF is for another machine than the board's.
    #[error(
        "ELF of another machine: the image is for {found}, the board runs {isa} (needs \
         {needed}); build the image for {isa}"
    )]
    WrongMachine {
        /// The ELF's `e_machine`.
        machine: u16,
        /// Its conventional name.
        found: String,
        /// The board's ISA.
        isa: Isa,
        /// The `e_machine` the board needs, by name.
        needed: &'static str,
    },
    /// 32-bit ELF on a 64-bit board, or the other way round.
    #[error("the image is a {found}-bit ELF, the board runs {isa} (64-bit); build a 64-bit image")]
    WrongClass {
        /// 32 or 64.
        found: u8,
        /// The board's ISA.
        isa: Isa,
    },
    /// The ELF has nothing to load.
    #[error("the ELF has no loadable (PT_LOAD) segment; link it with a loadable segment")]
    NoSegments,
    /// A segment (or raw image) falls outside guest RAM.
    #[error(
        "image range {start:#x}..{end:#x} is outside guest RAM ({ram}); {fix}",
        fix = if *start >= *ram_base { "give more memory with --memory" } else { "link the image inside RAM" }
    )]
    OutsideRam {
        /// First byte of the offending range.
        start: u64,
        /// One past its last byte.
        end: u64,
        /// The RAM ranges, printed.
        ram: String,
        /// Base of the lowest RAM region (decides which fix to suggest).
        ram_base: u64,
    },
    /// A segment (or raw image) overlaps a reserved range.
    #[error(
        "image range {start:#x}..{end:#x} overlaps {what} at {rstart:#x}..{rend:#x}; \
         link or place the image elsewhere"
    )]
    Overlap {
        /// First byte of the offending range.
        start: u64,
        /// One past its last byte.
        end: u64,
        /// What it overlaps.
        what: String,
        /// Start of the reserved range.
        rstart: u64,
        /// End of the reserved range.
        rend: u64,
    },
    /// Writing guest memory failed after the checks passed (should not happen).
    #[error("writing guest memory at {addr:#x} failed: {msg}")]
    Write {
        /// Where the write was attempted.
        addr: u64,
        /// The memory error.
        msg: String,
    },
}

/// `e_machine` and class the board's ISA needs.
fn isa_machine(isa: Isa) -> (u16, &'static str) {
    match isa {
        Isa::Riscv64 => (EM_RISCV, "EM_RISCV"),
        Isa::X86_64 => (EM_X86_64, "EM_X86_64"),
    }
}

fn machine_name(machine: u16) -> String {
    match machine {
        EM_RISCV => "RISC-V (EM_RISCV)".into(),
        EM_X86_64 => "x86-64 (EM_X86_64)".into(),
        EM_386 => "i386 (EM_386)".into(),
        EM_AARCH64 => "AArch64 (EM_AARCH64)".into(),
        EM_ARM => "ARM (EM_ARM)".into(),
        m => format!("e_machine {m}"),
    }
}

/// Whether `bytes` starts with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// One `PT_LOAD` segment, validated against the file.
struct Segment {
    paddr: u64,
    vaddr: u64,
    offset: usize,
    filesz: usize,
    memsz: u64,
}

struct ParsedElf {
    entry: u64,
    segments: Vec<Segment>,
}

fn malformed(e: impl std::fmt::Display) -> LoadError {
    LoadError::Malformed(e.to_string())
}

/// Parses and validates the header and `PT_LOAD` program headers of an ELF for `isa`.
fn parse_elf(bytes: &[u8], isa: Isa) -> Result<ParsedElf, LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    if !is_elf(bytes) {
        return Err(LoadError::Malformed("no ELF magic".into()));
    }
    let header = Elf::parse_header(bytes).map_err(malformed)?;
    let (needed, needed_name) = isa_machine(isa);
    if header.e_machine != needed {
        return Err(LoadError::WrongMachine {
            machine: header.e_machine,
            found: machine_name(header.e_machine),
            isa,
            needed: needed_name,
        });
    }
    let container = header.container().map_err(malformed)?;
    if container != Container::Big {
        return Err(LoadError::WrongClass { found: 32, isa });
    }
    let endian = header.endianness().map_err(malformed)?;
    if header.e_phnum == 0xffff {
        return Err(LoadError::Malformed(
            "extended program header count (PN_XNUM) is not supported".into(),
        ));
    }
    let ctx = Ctx::new(container, endian);
    if usize::from(header.e_phentsize) != ProgramHeader::size(ctx) && header.e_phnum != 0 {
        return Err(LoadError::Malformed(format!(
            "program header size {} (expected {})",
            header.e_phentsize,
            ProgramHeader::size(ctx)
        )));
    }
    let phoff = usize::try_from(header.e_phoff).map_err(malformed)?;
    let phnum = usize::from(header.e_phnum);
    let table_end = phnum
        .checked_mul(ProgramHeader::size(ctx))
        .and_then(|n| n.checked_add(phoff))
        .ok_or_else(|| malformed("program header table offset overflows"))?;
    if table_end > bytes.len() {
        return Err(LoadError::Malformed(format!(
            "program header table ends at byte {table_end}, the file has {} bytes",
            bytes.len()
        )));
    }
    let phdrs = ProgramHeader::parse(bytes, phoff, phnum, ctx).map_err(malformed)?;
    let mut segments = Vec::new();
    for (i, ph) in phdrs.iter().enumerate() {
        if ph.p_type != PT_LOAD || ph.p_memsz == 0 {
            continue;
        }
        if ph.p_filesz > ph.p_memsz {
            return Err(LoadError::Malformed(format!(
                "segment {i}: file size {:#x} exceeds memory size {:#x}",
                ph.p_filesz, ph.p_memsz
            )));
        }
        let offset = usize::try_from(ph.p_offset).map_err(malformed)?;
        let filesz = usize::try_from(ph.p_filesz).map_err(malformed)?;
        let file_end = offset
            .checked_add(filesz)
            .ok_or_else(|| malformed(format!("segment {i}: file range overflows")))?;
        if file_end > bytes.len() {
            return Err(LoadError::Malformed(format!(
                "segment {i} needs file bytes {offset:#x}..{file_end:#x}, the file has {:#x} bytes",
                bytes.len()
            )));
        }
        if ph.p_paddr.checked_add(ph.p_memsz).is_none() {
            return Err(LoadError::Malformed(format!(
                "segment {i}: address range {:#x}+{:#x} overflows",
                ph.p_paddr, ph.p_memsz
            )));
        }
        segments.push(Segment {
            paddr: ph.p_paddr,
            vaddr: ph.p_vaddr,
            offset,
            filesz,
            memsz: ph.p_memsz,
        });
    }
    if segments.is_empty() {
        return Err(LoadError::NoSegments);
    }
    let entry = segments
        .iter()
        .find(|s| header.e_entry >= s.vaddr && header.e_entry - s.vaddr < s.memsz)
        .map_or(header.e_entry, |s| s.paddr + (header.e_entry - s.vaddr));
    Ok(ParsedElf { entry, segments })
}

/// Reads an ELF's entry point and lowest load address without loading it (same validation as
/// [`load_elf`] except the RAM and overlap checks).
pub fn elf_summary(bytes: &[u8], isa: Isa) -> Result<ElfSummary, LoadError> {
    let elf = parse_elf(bytes, isa)?;
    Ok(ElfSummary {
        entry: elf.entry,
        lowest_paddr: elf.segments.iter().map(|s| s.paddr).min(),
    })
}

fn ram_description(mem: &GuestMemoryMmap) -> (String, u64) {
    let mut ranges: Vec<(u64, u64)> = mem
        .iter()
        .map(|r| (r.start_addr().0, r.start_addr().0 + r.len()))
        .collect();
    ranges.sort_unstable();
    let text = ranges
        .iter()
        .map(|(s, e)| format!("{s:#x}..{e:#x}"))
        .collect::<Vec<_>>()
        .join(", ");
    (text, ranges.first().map_or(0, |r| r.0))
}

/// Checks `[start, end)` lies in RAM and overlaps no reserved range.
fn check_range(
    mem: &GuestMemoryMmap,
    start: u64,
    end: u64,
    reserved: &[Reserved],
) -> Result<(), LoadError> {
    let len = end - start;
    let in_ram = usize::try_from(len)
        .ok()
        .is_some_and(|l| GuestMemoryBackend::check_range(mem, GuestAddress(start), l));
    if !in_ram {
        let (ram, ram_base) = ram_description(mem);
        return Err(LoadError::OutsideRam {
            start,
            end,
            ram,
            ram_base,
        });
    }
    if let Some(r) = reserved.iter().find(|r| start < r.end && r.start < end) {
        return Err(LoadError::Overlap {
            start,
            end,
            what: r.what.clone(),
            rstart: r.start,
            rend: r.end,
        });
    }
    Ok(())
}

fn write_err(addr: u64, e: impl std::fmt::Display) -> LoadError {
    LoadError::Write {
        addr,
        msg: e.to_string(),
    }
}

/// Writes `len` zero bytes at `addr` (already bounds-checked).
fn zero_fill(mem: &GuestMemoryMmap, addr: u64, len: u64) -> Result<(), LoadError> {
    const CHUNK: usize = 64 * 1024;
    let zeros = [0u8; CHUNK];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(CHUNK as u64) as usize;
        mem.write_slice(&zeros[..n], GuestAddress(addr + done))
            .map_err(|e| write_err(addr + done, e))?;
        done += n as u64;
    }
    Ok(())
}

/// Loads the `PT_LOAD` segments of the ELF `bytes` at their physical addresses: `p_filesz` bytes
/// copied, the rest up to `p_memsz` zeroed. All segments are checked before any is written.
pub fn load_elf(
    mem: &GuestMemoryMmap,
    bytes: &[u8],
    isa: Isa,
    reserved: &[Reserved],
) -> Result<LoadedImage, LoadError> {
    let elf = parse_elf(bytes, isa)?;
    for s in &elf.segments {
        check_range(mem, s.paddr, s.paddr + s.memsz, reserved)?;
    }
    for s in &elf.segments {
        let data = &bytes[s.offset..s.offset + s.filesz];
        mem.write_slice(data, GuestAddress(s.paddr))
            .map_err(|e| write_err(s.paddr, e))?;
        zero_fill(mem, s.paddr + s.filesz as u64, s.memsz - s.filesz as u64)?;
    }
    let start = elf.segments.iter().map(|s| s.paddr).min().unwrap_or(0);
    let end = elf
        .segments
        .iter()
        .map(|s| s.paddr + s.memsz)
        .max()
        .unwrap_or(start);
    Ok(LoadedImage {
        entry: elf.entry,
        start,
        end,
        kind: ImageKind::Elf,
    })
}

/// Copies the raw binary `bytes` to guest-physical `addr`.
pub fn load_raw(
    mem: &GuestMemoryMmap,
    bytes: &[u8],
    addr: u64,
    reserved: &[Reserved],
) -> Result<LoadedImage, LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    let end = addr
        .checked_add(bytes.len() as u64)
        .ok_or_else(|| malformed("raw image address range overflows"))?;
    check_range(mem, addr, end, reserved)?;
    mem.write_slice(bytes, GuestAddress(addr))
        .map_err(|e| write_err(addr, e))?;
    Ok(LoadedImage {
        entry: addr,
        start: addr,
        end,
        kind: ImageKind::Raw,
    })
}

/// Loads `bytes` as an ELF when it starts with the ELF magic, else as a raw binary at `raw_addr`.
pub fn load_image(
    mem: &GuestMemoryMmap,
    bytes: &[u8],
    isa: Isa,
    raw_addr: u64,
    reserved: &[Reserved],
) -> Result<LoadedImage, LoadError> {
    if is_elf(bytes) {
        load_elf(mem, bytes, isa, reserved)
    } else {
        load_raw(mem, bytes, raw_addr, reserved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAM: u64 = 0x8000_0000;
    const RAM_SIZE: usize = 0x10_0000;

    fn mem() -> GuestMemoryMmap {
        GuestMemoryMmap::from_ranges(&[(GuestAddress(RAM), RAM_SIZE)]).unwrap()
    }

    /// A segment for the synthetic ELF writer: (paddr, vaddr, data, memsz).
    struct Seg {
        paddr: u64,
        vaddr: u64,
        data: Vec<u8>,
        memsz: u64,
    }

    /// Writes a little-endian ELF64 executable with one `PT_LOAD` per segment.
    fn elf64(machine: u16, entry: u64, segs: &[Seg]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"\x7fELF");
        out.extend_from_slice(&[2, 1, 1, 0]); // ELFCLASS64, little-endian, version 1, SysV
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        out.extend_from_slice(&machine.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&entry.to_le_bytes());
        out.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
        out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        out.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
        out.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
        out.extend_from_slice(&(segs.len() as u16).to_le_bytes());
        out.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
        out.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
        out.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
        assert_eq!(out.len(), 64);
        let mut data_off = 64 + 56 * segs.len() as u64;
        for s in segs {
            out.extend_from_slice(&PT_LOAD.to_le_bytes());
            out.extend_from_slice(&7u32.to_le_bytes()); // RWX
            out.extend_from_slice(&data_off.to_le_bytes());
            out.extend_from_slice(&s.vaddr.to_le_bytes());
            out.extend_from_slice(&s.paddr.to_le_bytes());
            out.extend_from_slice(&(s.data.len() as u64).to_le_bytes());
            out.extend_from_slice(&s.memsz.to_le_bytes());
            out.extend_from_slice(&0x1000u64.to_le_bytes());
            data_off += s.data.len() as u64;
        }
        for s in segs {
            out.extend_from_slice(&s.data);
        }
        out
    }

    fn seg(paddr: u64, data: &[u8], memsz: u64) -> Seg {
        Seg {
            paddr,
            vaddr: paddr,
            data: data.to_vec(),
            memsz,
        }
    }

    fn read(mem: &GuestMemoryMmap, addr: u64, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        mem.read_slice(&mut v, GuestAddress(addr)).unwrap();
        v
    }

    #[test]
    fn elf_segments_land_at_physical_addresses_with_bss_zeroed() {
        let m = mem();
        // Dirty the bss area first so zeroing is observable.
        m.write_slice(&[0xAA; 16], GuestAddress(RAM + 0x1004))
            .unwrap();
        let bytes = elf64(
            EM_RISCV,
            0xffff_ffff_8000_0010,
            &[
                Seg {
                    paddr: RAM,
                    vaddr: 0xffff_ffff_8000_0000,
                    data: vec![1, 2, 3, 4],
                    memsz: 0x20,
                },
                seg(RAM + 0x1000, &[9, 9, 9, 9], 20),
            ],
        );
        let img = load_elf(&m, &bytes, Isa::Riscv64, &[]).unwrap();
        assert_eq!(read(&m, RAM, 4), [1, 2, 3, 4]);
        assert_eq!(read(&m, RAM + 0x1000, 4), [9, 9, 9, 9]);
        assert_eq!(read(&m, RAM + 0x1004, 16), [0; 16]);
        assert_eq!(
            img.entry,
            RAM + 0x10,
            "virtual entry translated to physical"
        );
        assert_eq!((img.start, img.end), (RAM, RAM + 0x1014));
        assert_eq!(img.kind, ImageKind::Elf);
        let sum = elf_summary(&bytes, Isa::Riscv64).unwrap();
        assert_eq!(sum.lowest_paddr, Some(RAM));
    }

    #[test]
    fn load_image_picks_raw_for_non_elf() {
        let m = mem();
        let img = load_image(&m, &[5, 6, 7], Isa::Riscv64, RAM + 0x200, &[]).unwrap();
        assert_eq!(img.kind, ImageKind::Raw);
        assert_eq!(
            (img.entry, img.start, img.end),
            (RAM + 0x200, RAM + 0x200, RAM + 0x203)
        );
        assert_eq!(read(&m, RAM + 0x200, 3), [5, 6, 7]);
    }

    #[test]
    fn wrong_machine_names_both() {
        let bytes = elf64(EM_X86_64, RAM, &[seg(RAM, &[1], 1)]);
        let e = load_elf(&mem(), &bytes, Isa::Riscv64, &[]).unwrap_err();
        assert!(matches!(
            e,
            LoadError::WrongMachine {
                machine: EM_X86_64,
                ..
            }
        ));
        let msg = e.to_string();
        assert!(
            msg.contains("x86-64") && msg.contains("riscv64") && msg.contains("EM_RISCV"),
            "{msg}"
        );
        let bytes = elf64(EM_RISCV, RAM, &[seg(RAM, &[1], 1)]);
        assert!(matches!(
            load_elf(&mem(), &bytes, Isa::X86_64, &[]),
            Err(LoadError::WrongMachine {
                machine: EM_RISCV,
                ..
            })
        ));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = elf64(EM_RISCV, RAM, &[seg(RAM, &[1; 100], 100)]);
        let m = mem();
        for n in 1..bytes.len() {
            let e = load_elf(&m, &bytes[..n], Isa::Riscv64, &[]).unwrap_err();
            assert!(matches!(e, LoadError::Malformed(_)), "len {n}: {e:?}");
        }
        assert!(load_elf(&m, &bytes, Isa::Riscv64, &[]).is_ok());
        assert_eq!(load_elf(&m, &[], Isa::Riscv64, &[]), Err(LoadError::Empty));
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let m = mem();
        // filesz > memsz
        let mut bytes = elf64(EM_RISCV, RAM, &[seg(RAM, &[1; 8], 8)]);
        bytes[64 + 40..64 + 48].copy_from_slice(&4u64.to_le_bytes());
        assert!(matches!(
            load_elf(&m, &bytes, Isa::Riscv64, &[]),
            Err(LoadError::Malformed(_))
        ));
        // paddr + memsz overflows
        let bytes = elf64(EM_RISCV, RAM, &[seg(u64::MAX - 2, &[1; 8], 8)]);
        assert!(matches!(
            load_elf(&m, &bytes, Isa::Riscv64, &[]),
            Err(LoadError::Malformed(_))
        ));
        // huge phnum
        let mut bytes = elf64(EM_RISCV, RAM, &[seg(RAM, &[1; 8], 8)]);
        bytes[56..58].copy_from_slice(&0xfff0u16.to_le_bytes());
        assert!(matches!(
            load_elf(&m, &bytes, Isa::Riscv64, &[]),
            Err(LoadError::Malformed(_))
        ));
        // no loadable segment
        let bytes = elf64(EM_RISCV, RAM, &[]);
        assert_eq!(
            load_elf(&m, &bytes, Isa::Riscv64, &[]),
            Err(LoadError::NoSegments)
        );
        // 32-bit class
        let mut bytes = elf64(EM_RISCV, RAM, &[seg(RAM, &[1; 8], 8)]);
        bytes[4] = 1;
        assert!(matches!(
            load_elf(&m, &bytes, Isa::Riscv64, &[]),
            Err(LoadError::WrongClass { found: 32, .. }) | Err(LoadError::Malformed(_))
        ));
    }

    #[test]
    fn image_beyond_ram_is_rejected_with_ranges_and_fix() {
        let m = mem();
        let end = RAM + RAM_SIZE as u64;
        let bytes = elf64(EM_RISCV, RAM, &[seg(end - 4, &[1; 4], 8)]);
        let e = load_elf(&m, &bytes, Isa::Riscv64, &[]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("{:#x}..{:#x}", end - 4, end + 4)),
            "{msg}"
        );
        assert!(msg.contains(&format!("{RAM:#x}..{end:#x}")), "{msg}");
        assert!(msg.contains("--memory"), "{msg}");
        // Nothing was written: the check happens before any copy.
        assert_eq!(read(&m, end - 4, 4), [0; 4]);
        // Below RAM: a different fix.
        let e = load_raw(&m, &[1], 0x1000, &[]).unwrap_err();
        assert!(e.to_string().contains("link the image inside RAM"), "{e}");
    }

    #[test]
    fn overlap_with_reserved_range_is_rejected() {
        let m = mem();
        let fw = [Reserved::new("the firmware", RAM, RAM + 0x100)];
        let e = load_raw(&m, &[1; 16], RAM + 0xf8, &fw).unwrap_err();
        assert!(matches!(e, LoadError::Overlap { .. }));
        assert!(e.to_string().contains("the firmware"), "{e}");
        assert!(load_raw(&m, &[1; 16], RAM + 0x100, &fw).is_ok());
        let bytes = elf64(EM_RISCV, RAM, &[seg(RAM + 0x80, &[1], 1)]);
        assert!(matches!(
            load_elf(&m, &bytes, Isa::Riscv64, &fw),
            Err(LoadError::Overlap { .. })
        ));
    }

    #[test]
    fn large_bss_is_zeroed_across_chunks() {
        let m = mem();
        m.write_slice(&[0x55; 4], GuestAddress(RAM + 0x2_0000))
            .unwrap();
        let bytes = elf64(EM_RISCV, RAM, &[seg(RAM, &[], 0x3_0000)]);
        load_elf(&m, &bytes, Isa::Riscv64, &[]).unwrap();
        assert_eq!(read(&m, RAM + 0x2_0000, 4), [0; 4]);
    }
}
