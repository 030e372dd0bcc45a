//! GDT descriptors to KVM segment registers.

use kvm_bindings::kvm_segment;

/// The segment register state loading `selector`, whose descriptor is `d`, produces.
pub fn segment_from_gdt(d: u64, selector: u16) -> kvm_segment {
    let base = ((d >> 16) & 0xff_ffff) | ((d >> 32) & 0xff00_0000);
    let raw_limit = ((d & 0xffff) | ((d >> 32) & 0xf_0000)) as u32;
    let g = ((d >> 55) & 1) as u8;
    let limit = if g == 1 {
        (raw_limit << 12) | 0xfff
    } else {
        raw_limit
    };
    let present = ((d >> 47) & 1) as u8;
    kvm_segment {
        base,
        limit,
        selector,
        type_: ((d >> 40) & 0xf) as u8,
        present,
        dpl: ((d >> 45) & 3) as u8,
        db: ((d >> 54) & 1) as u8,
        s: ((d >> 44) & 1) as u8,
        l: ((d >> 53) & 1) as u8,
        g,
        avl: ((d >> 52) & 1) as u8,
        unusable: u8::from(present == 0),
        padding: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_flat_64bit_code_and_data() {
        let code = segment_from_gdt(0x00af_9b00_0000_ffff, 0x10);
        assert_eq!(
            (code.base, code.limit, code.selector),
            (0, 0xffff_ffff, 0x10)
        );
        assert_eq!(
            (code.type_, code.s, code.l, code.db, code.present),
            (0xb, 1, 1, 0, 1)
        );
        let data = segment_from_gdt(0x00cf_9300_0000_ffff, 0x18);
        assert_eq!((data.type_, data.db, data.l, data.g), (3, 1, 0, 1));
        assert_eq!(data.unusable, 0);
    }

    #[test]
    fn decodes_base_and_byte_granular_limit() {
        // A busy 64-bit TSS at 0x12345678, limit 0x67.
        let d = 0x1200_8b34_5678_0067u64;
        let tss = segment_from_gdt(d, 0x20);
        assert_eq!(tss.base, 0x1234_5678);
        assert_eq!(tss.limit, 0x67);
        assert_eq!((tss.type_, tss.s, tss.g), (0xb, 0, 0));
        assert_eq!(segment_from_gdt(0, 0).unusable, 1);
    }
}
