//! Board-level tests: the memory map and the interrupt wiring, driven through the MMIO bus.

use super::*;
use devices::irq::ExitRequest;

fn board() -> G233 {
    G233::new(G233Config {
        ram_size: DEFAULT_RAM,
        flash: [None, None],
        serial: Box::new(std::io::sink()),
        clock: ClockMode::Icount { insns_per_tick: 1 },
    })
    .expect("board builds")
}

fn r32(b: &G233, addr: u64) -> u32 {
    let mut d = [0u8; 4];
    b.mmio.read(addr, &mut d).expect("mapped");
    u32::from_le_bytes(d)
}

fn w32(b: &G233, addr: u64, v: u32) {
    b.mmio.write(addr, &v.to_le_bytes()).expect("mapped");
}

#[test]
fn mrom_holds_the_reset_stub() {
    let b = board();
    assert_eq!(r32(&b, 0x1000), 0);
    assert_eq!(r32(&b, 0x1004), 0x0010_029b);
    assert_eq!(r32(&b, 0x1008), 0x01f2_9293);
    assert_eq!(r32(&b, 0x100c), 0x0002_8067);
    assert_eq!(G233::RESET_PC, 0x1004);
    w32(&b, 0x1004, 0); // read-only: ignored
    assert_eq!(r32(&b, 0x1004), 0x0010_029b);
}

#[test]
fn unmapped_addresses_are_reported() {
    let b = board();
    let mut d = [0u8; 4];
    assert!(b.mmio.read(0x0, &mut d).is_err());
    assert!(b.mmio.read(0x1000_1000, &mut d).is_err());
    assert!(b.mmio.read(0x3000, &mut d).is_err());
}

fn plic_enable_m(b: &G233, id: u32) {
    w32(b, PLIC_BASE + 4 * u64::from(id), 1);
    let word = PLIC_BASE + 0x2000 + 4 * u64::from(id / 32);
    let old = r32(b, word);
    w32(b, word, old | 1 << (id % 32));
}

#[test]
fn spi0_reaches_both_flashes_and_raises_plic_source_3() {
    let b = board();
    w32(&b, SPI0_BASE, 0x44); // SPE | MSTR
    for (cs, want) in [(0u32, [0xef, 0x30, 0x15]), (1, [0xef, 0x30, 0x16])] {
        w32(&b, SPI0_BASE + 0x10, (1 << cs) | (1 << (4 + cs)));
        let mut got = Vec::new();
        for tx in [0x9f, 0, 0, 0] {
            w32(&b, SPI0_BASE + 0xc, tx);
            got.push(r32(&b, SPI0_BASE + 0xc) as u8);
        }
        assert_eq!(&got[1..], &want, "JEDEC ID on CS{cs}");
        w32(&b, SPI0_BASE + 0x10, 0);
    }
    plic_enable_m(&b, IRQ_SPI0);
    assert_eq!(b.hart.lines() & mip::MEIP, 0);
    w32(&b, SPI0_BASE + 4, 1 << 7); // TXEIE while TXE=1
    assert_ne!(b.hart.lines() & mip::MEIP, 0);
    assert_eq!(r32(&b, PLIC_BASE + 0x20_0004), IRQ_SPI0);
}

#[test]
fn uart_rx_interrupt_is_plic_source_1_and_gpio_pin_n_is_8_plus_n() {
    let b = board();
    plic_enable_m(&b, IRQ_UART0);
    w32(&b, UART0_BASE + 0x38, 1 << 4); // IMSC.RXIM
    assert_eq!(b.serial_input().push(b"hi"), 2);
    assert_ne!(b.hart.lines() & mip::MEIP, 0);
    assert_eq!(r32(&b, PLIC_BASE + 0x20_0004), IRQ_UART0);
    assert_eq!(r32(&b, UART0_BASE) & 0xff, u32::from(b'h'));

    let b = board();
    plic_enable_m(&b, IRQ_GPIO0_BASE + 5);
    w32(&b, GPIO0_BASE + 0x04, 1 << 5); // input_en
    w32(&b, GPIO0_BASE + 0x18, 1 << 5); // rise_ie
    b.set_gpio_input(5, true);
    assert_eq!(r32(&b, PLIC_BASE + 0x20_0004), IRQ_GPIO0_BASE + 5);
}

#[test]
fn test_finisher_requests_poweroff_and_reset() {
    let b = board();
    w32(&b, TEST_BASE, 0x3333 | 7 << 16);
    assert_eq!(b.hart.exit_request(), Some(ExitRequest::Poweroff(7)));
    let b = board();
    w32(&b, TEST_BASE, 0x7777);
    assert_eq!(b.hart.exit_request(), Some(ExitRequest::Reset));
}

#[test]
fn mtimer_and_mswi_drive_the_hart() {
    let b = board();
    w32(&b, MSWI_BASE, 1);
    assert_ne!(b.hart.lines() & mip::MSIP, 0);
    w32(&b, MSWI_BASE, 0);
    assert_eq!(b.hart.lines() & mip::MSIP, 0);
    b.mmio
        .write(MTIMER_BASE, &0x1234_5678_9abc_u64.to_le_bytes())
        .unwrap();
    assert_eq!(b.hart.mtimecmp(), 0x1234_5678_9abc);
    b.clock.set_icount(500);
    let mut d = [0u8; 8];
    b.mmio.read(MTIMER_BASE + 0x7ff8, &mut d).unwrap();
    assert_eq!(u64::from_le_bytes(d), 500);
}

#[test]
fn bad_ram_size_is_a_config_error() {
    let cfg = |ram_size| G233Config {
        ram_size,
        flash: [None, None],
        serial: Box::new(std::io::sink()),
        clock: ClockMode::Host,
    };
    assert!(matches!(G233::new(cfg(0)), Err(BoardError::Config(_))));
    assert!(matches!(
        G233::new(cfg(MAX_RAM + 1)),
        Err(BoardError::Config(_))
    ));
}
