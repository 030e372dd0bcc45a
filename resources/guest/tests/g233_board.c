/* G233 board (g233-only): MROM reset stub contents, ID CSRs, misa write-ignore,
 * access faults for unmapped addresses, PL011 UART (FR idle value, PrimeCell IDs,
 * TX without initialisation), PLIC register basics, PWM0 reset values. */
#include "check.h"
#include "trap.h"
#include "g233.h"

static void mrom(void)
{
    static const uint32_t want[4] = { 0x00000000, 0x0010029b, 0x01f29293, 0x00028067 };
    int ok = 1;
    for (int i = 0; i < 4; i++)
        ok &= REG32(MROM_BASE + 4 * i) == want[i];
    CHECK(ok, "MROM at 0x1000: 0, addiw t0,zero,1; slli t0,t0,31; jr t0");
    CHECK(!on_qemu_virt(), "running on G233, not QEMU virt");
    /* Read-only: a store is ignored or faults, and never changes the ROM. */
    expect_mtrap();
    REG32(MROM_BASE + 4) = 0x12345678;
    int trapped = !mtrap_armed;
    mtrap_armed = 0;
    CHECK(!trapped || mtrap.cause == CAUSE_STORE_ACCESS, "MROM store: ignored or store access fault");
    CHECK_EQ(REG32(MROM_BASE + 4), 0x0010029b, "MROM unchanged after a store");
}

static void ids(void)
{
    CHECK_EQ(csr_read(mvendorid), 0, "mvendorid = 0");
    CHECK_EQ(csr_read(marchid), 0, "marchid = 0");
    CHECK_EQ(csr_read(mimpid), 0, "mimpid = 0");
    CHECK_EQ(csr_read(mhartid), 0, "mhartid = 0");
    uint64_t misa = csr_read(misa);
    CHECK_EQ(misa >> 62, 2, "misa MXL = 64");
    /* Lab start-up code writes a value lacking U, H and B: ignored. */
    csr_write(misa, 0x8000000000001105UL);
    CHECK_EQ(csr_read(misa), misa, "misa unchanged after lab-style write");
    csr_write(misa, 0);
    CHECK_EQ(csr_read(misa), misa, "misa unchanged after writing 0");
}

static void unmapped(void)
{
    volatile uint64_t v = 0;
    expect_mtrap();
    v = *(volatile uint64_t *)0x40000000UL;
    CHECK(mtrap.cause == CAUSE_LOAD_ACCESS && mtrap.tval == 0x40000000UL, "unmapped load: access fault 5, tval");
    expect_mtrap();
    *(volatile uint32_t *)0x30000010UL = 1;
    CHECK(mtrap.cause == CAUSE_STORE_ACCESS && mtrap.tval == 0x30000010UL, "unmapped store: access fault 7, tval");
    expect_mtrap();
    v = *(volatile uint8_t *)0x10001000UL; /* hole between UART0 and GPIO0 */
    CHECK_EQ(mtrap.cause, CAUSE_LOAD_ACCESS, "load from hole between devices: access fault");
    expect_mtrap();
    __asm__ volatile("la t1, 1f\n\tsd t1, 0(%0)\n\t"   /* mtrap_resume = 1f */
                     "li t0, 0x40000000\n\tjalr ra, 0(t0)\n1:"
                     : : "r"(&mtrap_resume) : "t0", "t1", "ra", "memory");
    CHECK(mtrap.cause == CAUSE_FETCH_ACCESS && mtrap.tval == 0x40000000UL && mtrap.epc == 0x40000000UL,
          "fetch from unmapped: access fault 1, tval");
    mtrap_resume = 0;
    (void)v;
}

#define UART_DR REG32(UART0_BASE + 0x00)
#define UART_FR REG32(UART0_BASE + 0x18)

static void uart(void)
{
    CHECK_EQ(UART_FR, 0x90, "PL011 FR idle = TXFE|RXFE (0x90)");
    static const uint8_t pid[8] = { 0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1 };
    int ok = 1;
    for (int i = 0; i < 8; i++)
        ok &= REG32(UART0_BASE + 0xFE0 + 4 * i) == pid[i];
    CHECK(ok, "PL011 PrimeCell ID registers");
    const char *msg = "G233-UART-MARKER\n";
    unsigned spins = 0;
    for (const char *p = msg; *p; p++) {
        while ((UART_FR & 0x20) && spins < 1000000)
            spins++;
        UART_DR = (uint8_t)*p;
    }
    CHECK(spins < 1000000, "PL011 TXFF never sticks");
    CHECK_EQ(UART_FR & 0x20, 0, "PL011 FR.TXFF clear after sending");
}

static void plic(void)
{
    PLIC_PRIORITY(IRQ_SPI0) = 5;
    CHECK_EQ(PLIC_PRIORITY(IRQ_SPI0), 5, "PLIC priority read back");
    PLIC_PRIORITY(IRQ_SPI0) = 0;
    PLIC_PRIORITY(52) = 7;
    CHECK_EQ(PLIC_PRIORITY(52), 7, "PLIC source 52 exists (priority 7)");
    PLIC_PRIORITY(52) = 0;
    PLIC_THRESHOLD(0) = 3;
    CHECK_EQ(PLIC_THRESHOLD(0), 3, "PLIC threshold context 0 read back");
    PLIC_THRESHOLD(0) = 0;
    PLIC_ENABLE(1, 0) = 0x10;
    CHECK_EQ(PLIC_ENABLE(1, 0), 0x10, "PLIC enable context 1 (S) read back");
    PLIC_ENABLE(1, 0) = 0;
    CHECK_EQ(PLIC_CLAIM(0), 0, "PLIC claim with nothing pending = 0");
    CHECK_EQ(REG32(PWM0_BASE + 0x00), 0, "PWM0 pwmcfg resets to 0");
    CHECK_EQ(REG32(PWM0_BASE + 0x20), 0, "PWM0 pwmcmp0 resets to 0");
}

int main(void)
{
    mrom();
    ids();
    unmapped();
    uart();
    plic();
    return check_finish();
}
