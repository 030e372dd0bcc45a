//! The G233 device tree, generated from the board's memory map for firmware and Linux.
//!
//! Nodes: `cpus` (with the hart's interrupt controller and the extensions the CPU model
//! reports), `memory`, `soc` with the ACLINT (as `riscv,clint0`), the PLIC (M and S contexts),
//! the PL011 (`arm,pl011` + `arm,primecell` with an `apb_pclk` fixed clock), GPIO, PWM, SPI0 with
//! both flashes (`jedec,spi-nor`), and the test finisher with `syscon-poweroff`/`syscon-reboot`;
//! `chosen` with `stdout-path`, `bootargs` and the initrd range.

use vm_fdt::{FdtWriter, FdtWriterResult};

use super::map::*;

const PH_CPU_INTC: u32 = 1;
const PH_PLIC: u32 = 2;
const PH_APB_PCLK: u32 = 3;
const PH_TEST: u32 = 4;
const PH_GPIO: u32 = 5;

/// What the device tree describes beyond the fixed memory map.
#[derive(Debug, Clone, Default)]
pub struct FdtConfig {
    /// DRAM size in bytes.
    pub ram_size: u64,
    /// The kernel command line (`chosen/bootargs`).
    pub bootargs: String,
    /// Guest-physical `[start, end)` of the initrd, if one is loaded.
    pub initrd: Option<(u64, u64)>,
    /// The ISA base, e.g. `rv64i`.
    pub isa_base: String,
    /// Extensions the CPU model implements, lower case (`i`, `m`, `a`, ..., `zicsr`, `sstc`).
    pub isa_extensions: Vec<String>,
    /// The MMU's widest mode, e.g. `riscv,sv48`.
    pub mmu_type: String,
}

impl FdtConfig {
    /// The legacy `riscv,isa` string: the single-letter extensions run together, then the
    /// multi-letter ones joined with `_` (e.g. `rv64imafdc_zicsr_zifencei`).
    pub fn isa_string(&self) -> String {
        let (single, multi): (Vec<&String>, Vec<&String>) =
            self.isa_extensions.iter().partition(|e| e.len() == 1);
        let mut s = String::from("rv64");
        for e in single {
            s.push_str(e);
        }
        for e in multi {
            s.push('_');
            s.push_str(e);
        }
        s
    }
}

fn reg(base: u64, size: u64) -> [u64; 2] {
    [base, size]
}

/// Builds the flattened device tree blob.
pub fn build(cfg: &FdtConfig) -> FdtWriterResult<Vec<u8>> {
    let mut f = FdtWriter::new()?;
    let root = f.begin_node("")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    f.property_string("compatible", "learning-qemu,g233")?;
    f.property_string("model", "G233 RISC-V teaching board")?;

    let chosen = f.begin_node("chosen")?;
    f.property_string("stdout-path", &format!("/soc/serial@{UART0_BASE:x}"))?;
    if !cfg.bootargs.is_empty() {
        f.property_string("bootargs", &cfg.bootargs)?;
    }
    if let Some((start, end)) = cfg.initrd {
        f.property_u64("linux,initrd-start", start)?;
        f.property_u64("linux,initrd-end", end)?;
    }
    f.end_node(chosen)?;

    let mem = f.begin_node(&format!("memory@{DRAM_BASE:x}"))?;
    f.property_string("device_type", "memory")?;
    f.property_array_u64("reg", &reg(DRAM_BASE, cfg.ram_size))?;
    f.end_node(mem)?;

    let cpus = f.begin_node("cpus")?;
    f.property_u32("#address-cells", 1)?;
    f.property_u32("#size-cells", 0)?;
    f.property_u32("timebase-frequency", TIMEBASE_HZ as u32)?;
    let cpu = f.begin_node("cpu@0")?;
    f.property_string("device_type", "cpu")?;
    f.property_u32("reg", 0)?;
    f.property_string("status", "okay")?;
    f.property_string("compatible", "riscv")?;
    f.property_string("riscv,isa", &cfg.isa_string())?;
    f.property_string("riscv,isa-base", &cfg.isa_base)?;
    f.property_string_list("riscv,isa-extensions", cfg.isa_extensions.clone())?;
    f.property_string("mmu-type", &cfg.mmu_type)?;
    f.property_u32("riscv,cbom-block-size", 64)?;
    f.property_u32("riscv,cboz-block-size", 64)?;
    let intc = f.begin_node("interrupt-controller")?;
    f.property_u32("#address-cells", 0)?;
    f.property_u32("#interrupt-cells", 1)?;
    f.property_null("interrupt-controller")?;
    f.property_string("compatible", "riscv,cpu-intc")?;
    f.property_phandle(PH_CPU_INTC)?;
    f.end_node(intc)?;
    f.end_node(cpu)?;
    f.end_node(cpus)?;

    let clk = f.begin_node("apb-pclk")?;
    f.property_string("compatible", "fixed-clock")?;
    f.property_u32("#clock-cells", 0)?;
    f.property_u32("clock-frequency", 24_000_000)?;
    f.property_string("clock-output-names", "apb_pclk")?;
    f.property_phandle(PH_APB_PCLK)?;
    f.end_node(clk)?;

    let soc = f.begin_node("soc")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    f.property_string("compatible", "simple-bus")?;
    f.property_null("ranges")?;

    // The ACLINT MSWI + MTIMER pair sits exactly where a SiFive CLINT would, so firmware and
    // Linux drive it with their CLINT drivers.
    let clint = f.begin_node(&format!("clint@{MSWI_BASE:x}"))?;
    f.property_string_list(
        "compatible",
        vec!["sifive,clint0".into(), "riscv,clint0".into()],
    )?;
    f.property_array_u64("reg", &reg(MSWI_BASE, MSWI_SIZE + MTIMER_SIZE))?;
    f.property_array_u32("interrupts-extended", &[PH_CPU_INTC, 3, PH_CPU_INTC, 7])?;
    f.end_node(clint)?;

    let plic = f.begin_node(&format!("plic@{PLIC_BASE:x}"))?;
    f.property_string_list(
        "compatible",
        vec!["sifive,plic-1.0.0".into(), "riscv,plic0".into()],
    )?;
    f.property_array_u64("reg", &reg(PLIC_BASE, PLIC_SIZE))?;
    f.property_u32("#address-cells", 0)?;
    f.property_u32("#interrupt-cells", 1)?;
    f.property_null("interrupt-controller")?;
    f.property_array_u32("interrupts-extended", &[PH_CPU_INTC, 11, PH_CPU_INTC, 9])?;
    f.property_u32("riscv,ndev", PLIC_SOURCES - 1)?;
    f.property_phandle(PH_PLIC)?;
    f.end_node(plic)?;

    let uart = f.begin_node(&format!("serial@{UART0_BASE:x}"))?;
    f.property_string_list(
        "compatible",
        vec!["arm,pl011".into(), "arm,primecell".into()],
    )?;
    f.property_array_u64("reg", &reg(UART0_BASE, UART0_SIZE))?;
    f.property_u32("interrupt-parent", PH_PLIC)?;
    f.property_u32("interrupts", IRQ_UART0)?;
    f.property_array_u32("clocks", &[PH_APB_PCLK, PH_APB_PCLK])?;
    f.property_string_list("clock-names", vec!["uartclk".into(), "apb_pclk".into()])?;
    f.end_node(uart)?;

    let gpio = f.begin_node(&format!("gpio@{GPIO0_BASE:x}"))?;
    f.property_string("compatible", "sifive,gpio0")?;
    f.property_array_u64("reg", &reg(GPIO0_BASE, GPIO0_SIZE))?;
    f.property_u32("interrupt-parent", PH_PLIC)?;
    let gpio_irqs: Vec<u32> = (0..GPIO_PINS).map(|n| IRQ_GPIO0_BASE + n).collect();
    f.property_array_u32("interrupts", &gpio_irqs)?;
    f.property_null("gpio-controller")?;
    f.property_u32("#gpio-cells", 2)?;
    f.property_null("interrupt-controller")?;
    f.property_u32("#address-cells", 0)?;
    f.property_u32("#interrupt-cells", 2)?;
    f.property_u32("ngpios", GPIO_PINS)?;
    f.property_phandle(PH_GPIO)?;
    f.end_node(gpio)?;

    let pwm = f.begin_node(&format!("pwm@{PWM0_BASE:x}"))?;
    f.property_string_list("compatible", vec!["sifive,pwm0".into()])?;
    f.property_array_u64("reg", &reg(PWM0_BASE, PWM0_SIZE))?;
    f.property_u32("interrupt-parent", PH_PLIC)?;
    f.property_u32("interrupts", IRQ_PWM0)?;
    f.property_u32("#pwm-cells", 3)?;
    f.property_u32("clocks", PH_APB_PCLK)?;
    f.end_node(pwm)?;

    let spi = f.begin_node(&format!("spi@{SPI0_BASE:x}"))?;
    f.property_string("compatible", "g233,spi0")?;
    f.property_array_u64("reg", &reg(SPI0_BASE, SPI0_SIZE))?;
    f.property_u32("interrupt-parent", PH_PLIC)?;
    f.property_u32("interrupts", IRQ_SPI0)?;
    f.property_u32("#address-cells", 1)?;
    f.property_u32("#size-cells", 0)?;
    for (cs, (part, size)) in [("w25x16", 2u32 << 20), ("w25x32", 4 << 20)]
        .iter()
        .enumerate()
    {
        let flash = f.begin_node(&format!("flash@{cs}"))?;
        f.property_string_list(
            "compatible",
            vec![format!("winbond,{part}"), "jedec,spi-nor".into()],
        )?;
        f.property_u32("reg", cs as u32)?;
        f.property_u32("spi-max-frequency", 50_000_000)?;
        f.property_u32("size", *size)?;
        f.end_node(flash)?;
    }
    f.end_node(spi)?;

    let test = f.begin_node(&format!("test@{TEST_BASE:x}"))?;
    f.property_string_list(
        "compatible",
        vec![
            "sifive,test1".into(),
            "sifive,test0".into(),
            "syscon".into(),
        ],
    )?;
    f.property_array_u64("reg", &reg(TEST_BASE, TEST_SIZE))?;
    f.property_phandle(PH_TEST)?;
    f.end_node(test)?;
    f.end_node(soc)?;
    // At the root, as on QEMU's virt board: they have no registers of their own.
    for (name, value) in [("poweroff", 0x5555u32), ("reboot", 0x7777)] {
        let n = f.begin_node(name)?;
        f.property_string("compatible", &format!("syscon-{name}"))?;
        f.property_u32("regmap", PH_TEST)?;
        f.property_u32("offset", 0)?;
        f.property_u32("value", value)?;
        f.end_node(n)?;
    }
    f.end_node(root)?;
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> FdtConfig {
        FdtConfig {
            ram_size: 1 << 30,
            bootargs: "console=ttyAMA0 earlycon".into(),
            initrd: Some((0x8800_0000, 0x8810_0000)),
            isa_base: "rv64i".into(),
            isa_extensions: ["i", "m", "a", "f", "d", "c", "zicsr", "zifencei"]
                .map(String::from)
                .to_vec(),
            mmu_type: "riscv,sv48".into(),
        }
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn blob_is_valid_and_names_every_device() {
        let dtb = build(&cfg()).expect("fdt builds");
        assert_eq!(&dtb[..4], &0xd00d_feedu32.to_be_bytes());
        assert_eq!(
            u32::from_be_bytes(dtb[4..8].try_into().unwrap()) as usize,
            dtb.len()
        );
        for s in [
            "serial@10000000",
            "arm,pl011",
            "arm,primecell",
            "apb_pclk",
            "plic@c000000",
            "riscv,plic0",
            "clint@2000000",
            "gpio@10012000",
            "sifive,gpio0",
            "pwm@10015000",
            "spi@10018000",
            "jedec,spi-nor",
            "winbond,w25x32",
            "syscon-poweroff",
            "console=ttyAMA0 earlycon",
            "linux,initrd-start",
            "memory@80000000",
            "rv64imafdc_zicsr_zifencei",
        ] {
            assert!(
                contains(&dtb, s.as_bytes()),
                "{s} missing from the device tree"
            );
        }
    }

    #[test]
    fn isa_string_orders_single_letters_first() {
        let mut c = cfg();
        c.isa_extensions = ["i", "zba", "m", "c"].map(String::from).to_vec();
        assert_eq!(c.isa_string(), "rv64imc_zba");
    }

    #[test]
    fn no_initrd_no_bootargs_leaves_them_out() {
        let mut c = cfg();
        c.initrd = None;
        c.bootargs.clear();
        let dtb = build(&c).unwrap();
        assert!(!contains(&dtb, b"linux,initrd-start"));
        assert!(!contains(&dtb, b"bootargs"));
    }
}
