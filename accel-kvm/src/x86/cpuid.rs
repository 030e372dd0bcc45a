//! CPUID: the table KVM supports (`KVM_GET_SUPPORTED_CPUID`), adjusted per vCPU, minus the
//! features the user removes with `--cpu -xsave,-smap,-popcnt`.

use kvm_bindings::{kvm_cpuid_entry2, CpuId};

use crate::error::KvmError;

/// A CPUID output register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reg {
    /// EAX.
    Eax,
    /// EBX.
    Ebx,
    /// ECX.
    Ecx,
    /// EDX.
    Edx,
}

/// Where a feature flag lives: leaf, subleaf, register, bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureBit {
    /// The Linux `/proc/cpuinfo` name.
    pub name: &'static str,
    /// CPUID leaf (EAX input).
    pub leaf: u32,
    /// CPUID subleaf (ECX input).
    pub subleaf: u32,
    /// Output register.
    pub reg: Reg,
    /// Bit number.
    pub bit: u8,
}

const fn f(name: &'static str, leaf: u32, subleaf: u32, reg: Reg, bit: u8) -> FeatureBit {
    FeatureBit {
        name,
        leaf,
        subleaf,
        reg,
        bit,
    }
}

use Reg::*;

/// The features `--cpu` can remove, named as in `/proc/cpuinfo`.
pub const FEATURES: &[FeatureBit] = &[
    f("fpu", 1, 0, Edx, 0),
    f("vme", 1, 0, Edx, 1),
    f("de", 1, 0, Edx, 2),
    f("pse", 1, 0, Edx, 3),
    f("tsc", 1, 0, Edx, 4),
    f("msr", 1, 0, Edx, 5),
    f("pae", 1, 0, Edx, 6),
    f("mce", 1, 0, Edx, 7),
    f("cx8", 1, 0, Edx, 8),
    f("apic", 1, 0, Edx, 9),
    f("sep", 1, 0, Edx, 11),
    f("mtrr", 1, 0, Edx, 12),
    f("pge", 1, 0, Edx, 13),
    f("mca", 1, 0, Edx, 14),
    f("cmov", 1, 0, Edx, 15),
    f("pat", 1, 0, Edx, 16),
    f("pse36", 1, 0, Edx, 17),
    f("clflush", 1, 0, Edx, 19),
    f("mmx", 1, 0, Edx, 23),
    f("fxsr", 1, 0, Edx, 24),
    f("sse", 1, 0, Edx, 25),
    f("sse2", 1, 0, Edx, 26),
    f("ss", 1, 0, Edx, 27),
    f("ht", 1, 0, Edx, 28),
    f("pni", 1, 0, Ecx, 0),
    f("sse3", 1, 0, Ecx, 0),
    f("pclmulqdq", 1, 0, Ecx, 1),
    f("monitor", 1, 0, Ecx, 3),
    f("vmx", 1, 0, Ecx, 5),
    f("ssse3", 1, 0, Ecx, 9),
    f("fma", 1, 0, Ecx, 12),
    f("cx16", 1, 0, Ecx, 13),
    f("pdcm", 1, 0, Ecx, 15),
    f("pcid", 1, 0, Ecx, 17),
    f("sse4_1", 1, 0, Ecx, 19),
    f("sse4_2", 1, 0, Ecx, 20),
    f("x2apic", 1, 0, Ecx, 21),
    f("movbe", 1, 0, Ecx, 22),
    f("popcnt", 1, 0, Ecx, 23),
    f("tsc_deadline_timer", 1, 0, Ecx, 24),
    f("aes", 1, 0, Ecx, 25),
    f("xsave", 1, 0, Ecx, 26),
    f("avx", 1, 0, Ecx, 28),
    f("f16c", 1, 0, Ecx, 29),
    f("rdrand", 1, 0, Ecx, 30),
    f("hypervisor", 1, 0, Ecx, 31),
    f("fsgsbase", 7, 0, Ebx, 0),
    f("tsc_adjust", 7, 0, Ebx, 1),
    f("bmi1", 7, 0, Ebx, 3),
    f("hle", 7, 0, Ebx, 4),
    f("avx2", 7, 0, Ebx, 5),
    f("smep", 7, 0, Ebx, 7),
    f("bmi2", 7, 0, Ebx, 8),
    f("erms", 7, 0, Ebx, 9),
    f("invpcid", 7, 0, Ebx, 10),
    f("rtm", 7, 0, Ebx, 11),
    f("mpx", 7, 0, Ebx, 14),
    f("avx512f", 7, 0, Ebx, 16),
    f("avx512dq", 7, 0, Ebx, 17),
    f("rdseed", 7, 0, Ebx, 18),
    f("adx", 7, 0, Ebx, 19),
    f("smap", 7, 0, Ebx, 20),
    f("avx512ifma", 7, 0, Ebx, 21),
    f("clflushopt", 7, 0, Ebx, 23),
    f("clwb", 7, 0, Ebx, 24),
    f("avx512cd", 7, 0, Ebx, 28),
    f("sha_ni", 7, 0, Ebx, 29),
    f("avx512bw", 7, 0, Ebx, 30),
    f("avx512vl", 7, 0, Ebx, 31),
    f("avx512vbmi", 7, 0, Ecx, 1),
    f("umip", 7, 0, Ecx, 2),
    f("pku", 7, 0, Ecx, 3),
    f("waitpkg", 7, 0, Ecx, 5),
    f("avx512_vbmi2", 7, 0, Ecx, 6),
    f("gfni", 7, 0, Ecx, 8),
    f("vaes", 7, 0, Ecx, 9),
    f("vpclmulqdq", 7, 0, Ecx, 10),
    f("avx512_vnni", 7, 0, Ecx, 11),
    f("avx512_bitalg", 7, 0, Ecx, 12),
    f("avx512_vpopcntdq", 7, 0, Ecx, 14),
    f("la57", 7, 0, Ecx, 16),
    f("rdpid", 7, 0, Ecx, 22),
    f("fsrm", 7, 0, Edx, 4),
    f("md_clear", 7, 0, Edx, 10),
    f("serialize", 7, 0, Edx, 14),
    f("arch_capabilities", 7, 0, Edx, 29),
    f("xsaveopt", 0xd, 1, Eax, 0),
    f("xsavec", 0xd, 1, Eax, 1),
    f("xgetbv1", 0xd, 1, Eax, 2),
    f("xsaves", 0xd, 1, Eax, 3),
    f("lahf_lm", 0x8000_0001, 0, Ecx, 0),
    f("cmp_legacy", 0x8000_0001, 0, Ecx, 1),
    f("svm", 0x8000_0001, 0, Ecx, 2),
    f("abm", 0x8000_0001, 0, Ecx, 5),
    f("lzcnt", 0x8000_0001, 0, Ecx, 5),
    f("sse4a", 0x8000_0001, 0, Ecx, 6),
    f("misalignsse", 0x8000_0001, 0, Ecx, 7),
    f("3dnowprefetch", 0x8000_0001, 0, Ecx, 8),
    f("xop", 0x8000_0001, 0, Ecx, 11),
    f("fma4", 0x8000_0001, 0, Ecx, 16),
    f("tbm", 0x8000_0001, 0, Ecx, 21),
    f("topoext", 0x8000_0001, 0, Ecx, 22),
    f("syscall", 0x8000_0001, 0, Edx, 11),
    f("nx", 0x8000_0001, 0, Edx, 20),
    f("mmxext", 0x8000_0001, 0, Edx, 22),
    f("pdpe1gb", 0x8000_0001, 0, Edx, 26),
    f("rdtscp", 0x8000_0001, 0, Edx, 27),
    f("lm", 0x8000_0001, 0, Edx, 29),
];

/// Features that cannot work without another: removing the key removes the values too.
const DEPENDENTS: &[(&str, &[&str])] = &[
    (
        "xsave",
        &[
            "avx", "avx2", "fma", "f16c", "xsaveopt", "xsavec", "xgetbv1", "xsaves", "avx512f",
            "pku", "mpx",
        ],
    ),
    (
        "avx",
        &["avx2", "fma", "f16c", "vaes", "vpclmulqdq", "avx512f"],
    ),
    (
        "avx512f",
        &[
            "avx512dq",
            "avx512ifma",
            "avx512cd",
            "avx512bw",
            "avx512vl",
            "avx512vbmi",
            "avx512_vbmi2",
            "avx512_vnni",
            "avx512_bitalg",
            "avx512_vpopcntdq",
        ],
    ),
    (
        "sse2",
        &["sse3", "pni", "ssse3", "sse4_1", "sse4_2", "popcnt", "aes"],
    ),
    ("apic", &["x2apic", "tsc_deadline_timer"]),
];

/// A set of CPUID features to hide from the guest, parsed from `-xsave,-smap,-popcnt`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuFeatureMask {
    removed: Vec<&'static FeatureBit>,
}

impl CpuFeatureMask {
    /// No feature removed.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a comma-separated list of `-feature` removals (names as in `/proc/cpuinfo`; an
    /// optional leading `host,` is accepted). Removing a feature also removes the features that
    /// depend on it (e.g. `-xsave` removes AVX).
    pub fn parse(spec: &str) -> Result<Self, KvmError> {
        let mut names: Vec<&str> = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "host" {
                continue;
            }
            let Some(name) = item.strip_prefix('-') else {
                return Err(KvmError::CpuFeatures(format!(
                    "`{item}`: only removals (`-name`) are supported; KVM already exposes \
                     every feature it can"
                )));
            };
            let name = name.to_ascii_lowercase();
            let Some(known) = FEATURES.iter().find(|fb| fb.name == name) else {
                return Err(KvmError::CpuFeatures(format!(
                    "unknown CPU feature `{name}`; known: {}",
                    FEATURES
                        .iter()
                        .map(|fb| fb.name)
                        .collect::<Vec<_>>()
                        .join(" ")
                )));
            };
            names.push(known.name);
        }
        // Close over dependents.
        let mut i = 0;
        while i < names.len() {
            if let Some((_, deps)) = DEPENDENTS.iter().find(|(k, _)| *k == names[i]) {
                for d in deps.iter() {
                    if !names.contains(d) {
                        names.push(d);
                    }
                }
            }
            i += 1;
        }
        let removed = names
            .iter()
            .filter_map(|n| FEATURES.iter().find(|fb| fb.name == *n))
            .collect();
        Ok(CpuFeatureMask { removed })
    }

    /// Whether the feature called `name` is removed.
    pub fn removes(&self, name: &str) -> bool {
        self.removed.iter().any(|fb| fb.name == name)
    }

    /// Clears the removed features' bits in `entries`.
    pub fn apply(&self, entries: &mut [kvm_cpuid_entry2]) {
        for fb in &self.removed {
            for e in entries
                .iter_mut()
                .filter(|e| e.function == fb.leaf && e.index == fb.subleaf)
            {
                let r = match fb.reg {
                    Eax => &mut e.eax,
                    Ebx => &mut e.ebx,
                    Ecx => &mut e.ecx,
                    Edx => &mut e.edx,
                };
                *r &= !(1u32 << fb.bit);
            }
        }
        if self.removes("xsave") {
            // No XSAVE: the state-component leaf describes nothing.
            for e in entries.iter_mut().filter(|e| e.function == 0xd) {
                e.eax = 0;
                e.ebx = 0;
                e.ecx = 0;
                e.edx = 0;
            }
        }
    }
}

/// The per-vCPU CPUID: KVM's supported table with the APIC ids of vCPU `id` (of `count`), the
/// hypervisor bit set and `mask` applied.
pub fn vcpu_cpuid(
    supported: &CpuId,
    id: u32,
    count: u32,
    mask: &CpuFeatureMask,
) -> Result<CpuId, KvmError> {
    let mut entries: Vec<kvm_cpuid_entry2> = supported.as_slice().to_vec();
    for e in entries.iter_mut() {
        match e.function {
            1 => {
                // Initial APIC id, logical processor count, CLFLUSH line size (8 × 8 bytes).
                e.ebx = (id << 24) | ((count.clamp(1, 255)) << 16) | (8 << 8);
                e.ecx |= 1 << 31; // hypervisor
                if count > 1 {
                    e.edx |= 1 << 28; // HTT: the count field is valid
                }
            }
            0xb | 0x1f => e.edx = id, // x2APIC id
            _ => {}
        }
    }
    mask.apply(&mut entries);
    CpuId::from_entries(&entries)
        .map_err(|e| KvmError::CpuFeatures(format!("building the CPUID table: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(function: u32, index: u32, ecx: u32, ebx: u32) -> kvm_cpuid_entry2 {
        kvm_cpuid_entry2 {
            function,
            index,
            ecx,
            ebx,
            ..Default::default()
        }
    }

    #[test]
    fn parses_removals_and_closes_dependents() {
        let m = CpuFeatureMask::parse("-xsave, -smap,-POPCNT").unwrap();
        assert!(m.removes("xsave"));
        assert!(m.removes("avx"), "avx depends on xsave");
        assert!(m.removes("avx2"), "avx2 depends on avx");
        assert!(m.removes("smap"));
        assert!(m.removes("popcnt"));
        assert!(!m.removes("sse2"));
        assert_eq!(CpuFeatureMask::parse("").unwrap(), CpuFeatureMask::none());
        assert_eq!(
            CpuFeatureMask::parse("host").unwrap(),
            CpuFeatureMask::none()
        );
    }

    #[test]
    fn rejects_additions_and_unknown_names() {
        assert!(matches!(
            CpuFeatureMask::parse("+avx"),
            Err(KvmError::CpuFeatures(_))
        ));
        let e = CpuFeatureMask::parse("-nosuchflag")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nosuchflag") && e.contains("xsave"), "{e}");
    }

    #[test]
    fn apply_clears_exactly_the_named_bits() {
        let mut t = vec![
            entry(1, 0, (1 << 23) | (1 << 26) | (1 << 28) | 1, 0),
            entry(7, 0, 0, (1 << 20) | (1 << 7)),
            entry(0xd, 0, 7, 0x240),
        ];
        CpuFeatureMask::parse("-popcnt,-smap")
            .unwrap()
            .apply(&mut t);
        assert_eq!(t[0].ecx, (1 << 26) | (1 << 28) | 1);
        assert_eq!(t[1].ebx, 1 << 7);
        assert_eq!(t[2].ecx, 7);
        CpuFeatureMask::parse("-xsave").unwrap().apply(&mut t);
        assert_eq!(t[0].ecx, 1, "xsave and avx gone, sse3 kept");
        assert_eq!((t[2].eax, t[2].ebx, t[2].ecx), (0, 0, 0));
    }

    #[test]
    fn vcpu_cpuid_sets_apic_id_and_hypervisor_bit() {
        let sup = CpuId::from_entries(&[entry(1, 0, 0, 0xffff_ffff), entry(0xb, 0, 0, 0)]).unwrap();
        let c = vcpu_cpuid(&sup, 1, 2, &CpuFeatureMask::none()).unwrap();
        let s = c.as_slice();
        assert_eq!(s[0].ebx >> 24, 1);
        assert_eq!((s[0].ebx >> 16) & 0xff, 2);
        assert_ne!(s[0].ecx & (1 << 31), 0);
        assert_eq!(s[1].edx, 1);
    }
}
