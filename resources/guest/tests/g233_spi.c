/* G233 SPI0 with both flashes (g233-only): register reset values, CR1 read-back,
 * chip selects, JEDEC/device IDs (W25X16 EF3015 on CS0, W25X32 EF3016 on CS1),
 * status/WEL, erase, page program (1->0 only, wrap in page), read and fast read
 * (wrap at chip size), OVERRUN/UNDERRUN, and the PLIC source 3 interrupt
 * (TXEIE taken before the next instruction, claim/complete, level re-pend).
 * Leaves "G233-CS0" at CS0 0x1000 and "G233-CS1" at CS1 0x3FFF00 for the host
 * side to find in the image files. */
#include "check.h"
#include "trap.h"
#include "g233.h"

#define SPI_CR1 REG32(SPI0_BASE + 0x00)
#define SPI_CR2 REG32(SPI0_BASE + 0x04)
#define SPI_SR REG32(SPI0_BASE + 0x08)
#define SPI_DR REG32(SPI0_BASE + 0x0C)
#define SPI_CSCTRL REG32(SPI0_BASE + 0x10)

#define CR1_SPE (1u << 6)
#define CR1_MSTR (1u << 2)
#define CR2_TXEIE (1u << 7)
#define CR2_RXNEIE (1u << 6)
#define CR2_ERRIE (1u << 5)
#define SR_BSY (1u << 7)
#define SR_OVR (1u << 3)
#define SR_UDR (1u << 2)
#define SR_TXE (1u << 1)
#define SR_RXNE (1u << 0)

static int spin_timeout;

static void wait_sr(uint32_t mask, uint32_t want)
{
    for (unsigned i = 0; i < 1000000; i++)
        if ((SPI_SR & mask) == want)
            return;
    spin_timeout = 1;
}

static uint8_t xfer(uint8_t b)
{
    wait_sr(SR_TXE, SR_TXE);
    SPI_DR = b;
    wait_sr(SR_RXNE, SR_RXNE);
    return (uint8_t)SPI_DR;
}

static void cs(int n) { SPI_CSCTRL = n < 0 ? 0 : (0x11u << n); }
static void cs_off(void) { wait_sr(SR_BSY, 0); SPI_CSCTRL = 0; }

static void cmd_addr(uint8_t cmd, uint32_t addr)
{
    xfer(cmd);
    xfer((uint8_t)(addr >> 16));
    xfer((uint8_t)(addr >> 8));
    xfer((uint8_t)addr);
}

static uint32_t jedec(int n)
{
    cs(n);
    uint8_t first = xfer(0x9f);
    uint32_t id = (uint32_t)xfer(0) << 16;
    id |= (uint32_t)xfer(0) << 8;
    id |= xfer(0);
    cs_off();
    return first == 0 ? id : 0xbad00000u | first;
}

static uint8_t status(int n)
{
    cs(n);
    xfer(0x05);
    uint8_t s = xfer(0);
    cs_off();
    return s;
}

static void simple(int n, uint8_t c)
{
    cs(n);
    xfer(c);
    cs_off();
}

static void erase_sector(int n, uint32_t addr)
{
    simple(n, 0x06);
    cs(n);
    cmd_addr(0x20, addr);
    cs_off();
}

static void program(int n, uint32_t addr, const uint8_t *p, unsigned len)
{
    simple(n, 0x06);
    cs(n);
    cmd_addr(0x02, addr);
    for (unsigned i = 0; i < len; i++)
        xfer(p[i]);
    cs_off();
}

static void read(int n, uint32_t addr, uint8_t *p, unsigned len)
{
    cs(n);
    cmd_addr(0x03, addr);
    for (unsigned i = 0; i < len; i++)
        p[i] = xfer(0);
    cs_off();
}

static int eq(const uint8_t *a, const char *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (a[i] != (uint8_t)b[i])
            return 0;
    return 1;
}

static void registers(void)
{
    CHECK_EQ(SPI_SR, SR_TXE, "SR reset value 0x2 (TXE)");
    SPI_CR1 = 0xffffffffu;
    CHECK_EQ(SPI_CR1, CR1_SPE | CR1_MSTR, "CR1 reads back only SPE|MSTR");
    SPI_CR1 = 0;
    CHECK_EQ(SPI_SR & (SR_TXE | SR_RXNE | SR_BSY), SR_TXE, "CR1=0: TXE=1 RXNE=0 BSY=0");
    SPI_CR1 = CR1_SPE | CR1_MSTR;
    SPI_CR2 = 0;
    cs(-1);
    CHECK_EQ(xfer(0x9f), 0, "no chip selected: reply 0x00");
    SPI_CSCTRL = 0x01; /* EN without ACT: not asserted */
    CHECK_EQ(xfer(0x9f), 0, "CS0_EN without CS0_ACT: not selected");
    SPI_CSCTRL = 0;
    SPI_CSCTRL = 0x44; /* CS2: unconnected */
    CHECK_EQ(xfer(0x9f), 0, "CS2 unconnected: reply 0x00");
    SPI_CSCTRL = 0;
}

static void flashes(void)
{
    CHECK_EQ(jedec(0), 0xef3015, "CS0 JEDEC ID EF3015 (W25X16)");
    CHECK_EQ(jedec(1), 0xef3016, "CS1 JEDEC ID EF3016 (W25X32)");
    cs(0);
    xfer(0xab);
    xfer(0); xfer(0); xfer(0);
    uint8_t did = xfer(0);
    cs_off();
    CHECK_EQ(did, 0x14, "CS0 0xAB device ID 0x14");
    cs(1);
    cmd_addr(0x90, 0);
    uint8_t m = xfer(0), d = xfer(0);
    cs_off();
    CHECK(m == 0xef && d == 0x15, "CS1 0x90 manufacturer/device EF 15");
    /* Deassert resets the command state machine: a new command works. */
    cs(0);
    xfer(0x9f);
    xfer(0);
    cs_off();
    CHECK_EQ(jedec(0), 0xef3015, "deasserting CS resets the command state");

    CHECK_EQ(status(0) & 3, 0, "status: not busy, WEL=0");
    simple(0, 0x06);
    CHECK_EQ(status(0) & 3, 2, "0x06 sets WEL");
    cs(0);
    xfer(0x05);
    uint8_t s1 = xfer(0), s2 = xfer(0);
    cs_off();
    CHECK(s1 == 2 && s2 == 2, "status repeats while selected");
    simple(0, 0x04);
    CHECK_EQ(status(0) & 2, 0, "0x04 clears WEL");

    uint8_t buf[16];
    erase_sector(0, 0x1000);
    CHECK_EQ(status(0) & 3, 0, "erase done at once, WEL cleared");
    read(0, 0x1000, buf, 16);
    int ff = 1;
    for (int i = 0; i < 16; i++)
        ff &= buf[i] == 0xff;
    CHECK(ff, "sector erase reads 0xFF");
    program(0, 0x1000, (const uint8_t *)"G233-CS0", 8);
    read(0, 0x1000, buf, 8);
    CHECK(eq(buf, "G233-CS0", 8), "page program + read back (CS0 0x1000)");
    /* program without WEL: ignored */
    cs(0);
    cmd_addr(0x02, 0x1008);
    xfer(0x00);
    cs_off();
    read(0, 0x1008, buf, 1);
    CHECK_EQ(buf[0], 0xff, "program without WEL ignored");
    /* bits only go 1 -> 0 */
    program(0, 0x1010, (const uint8_t *)"\x0f", 1);
    program(0, 0x1010, (const uint8_t *)"\xf3", 1);
    read(0, 0x1010, buf, 1);
    CHECK_EQ(buf[0], 0x03, "program ANDs (1->0 only)");
    /* page program wraps within the 256-byte page */
    erase_sector(0, 0x2000);
    program(0, 0x20fe, (const uint8_t *)"\xaa\xbb\xcc\xdd", 4);
    read(0, 0x20fe, buf, 2);
    uint8_t w[2];
    read(0, 0x2000, w, 2);
    CHECK(buf[0] == 0xaa && buf[1] == 0xbb && w[0] == 0xcc && w[1] == 0xdd, "page program wraps in its page");
    read(0, 0x2100, buf, 1);
    CHECK_EQ(buf[0], 0xff, "next page untouched by wrap");
    /* fast read: address + one dummy byte */
    cs(0);
    cmd_addr(0x0b, 0x1000);
    xfer(0);
    for (int i = 0; i < 8; i++)
        buf[i] = xfer(0);
    cs_off();
    CHECK(eq(buf, "G233-CS0", 8), "fast read 0x0B");
    /* read wraps at the chip size (2 MiB) */
    erase_sector(0, 0x1ff000);
    program(0, 0x1fffff, (const uint8_t *)"\x5a", 1);
    read(0, 0x1fffff, buf, 2);
    uint8_t z[1];
    read(0, 0, z, 1);
    CHECK(buf[0] == 0x5a && buf[1] == z[0], "read wraps from 0x1FFFFF to 0");
    /* CS1 (4 MiB): the last sector */
    erase_sector(1, 0x3ff000);
    program(1, 0x3fff00, (const uint8_t *)"G233-CS1", 8);
    read(1, 0x3fff00, buf, 8);
    CHECK(eq(buf, "G233-CS1", 8), "CS1 program + read at 0x3FFF00");
    read(0, 0x1000, buf, 8);
    CHECK(eq(buf, "G233-CS0", 8), "CS0 data unaffected by CS1");
    CHECK(!spin_timeout, "SR never stuck (TXE/RXNE/BSY)");
}

static void errors(void)
{
    cs(-1);
    SPI_SR = SR_OVR | SR_UDR;
    (void)SPI_DR;
    CHECK(SPI_SR & SR_UDR, "DR read with nothing received: UNDERRUN");
    SPI_SR = SR_UDR;
    CHECK_EQ(SPI_SR & SR_UDR, 0, "UNDERRUN write-1-to-clear");
    cs(0);
    SPI_DR = 0x9f; /* reply 0x00, RXNE=1 */
    wait_sr(SR_RXNE, SR_RXNE);
    SPI_DR = 0x00; /* while RXNE=1: overrun at once */
    uint32_t sr = SPI_SR;
    CHECK(sr & SR_OVR, "DR write with RXNE=1: OVERRUN");
    CHECK(sr & SR_RXNE, "OVERRUN keeps RXNE");
    SPI_SR = SR_OVR;
    sr = SPI_SR;
    CHECK(!(sr & SR_OVR) && (sr & SR_RXNE), "OVERRUN cleared, RXNE untouched");
    CHECK_EQ(SPI_DR, 0x00, "unread byte kept (0x00, not the ID byte)");
    cs_off();
    CHECK_EQ(SPI_SR & SR_RXNE, 0, "DR read clears RXNE");
}

static volatile unsigned irq_n, claimed[4], irq_t0, clear_after;

static int ext_hook(struct trap_frame *f)
{
    if (f->cause != (CAUSE_INTR | IRQ_M_EXT))
        return 0;
    uint32_t id = PLIC_CLAIM(0);
    if (irq_n < 4)
        claimed[irq_n] = id;
    if (irq_n == 0)
        irq_t0 = (unsigned)f->x[5];
    irq_n++;
    if (irq_n >= clear_after) {
        SPI_CR2 = 0;
        SPI_SR = SR_OVR | SR_UDR;
    }
    PLIC_CLAIM(0) = id; /* complete; re-pends at once while the line is high */
    if (irq_n > 50)
        csr_clear(mie, MIP_MEIP);
    return 1;
}

static void interrupts(void)
{
    mtrap_hook = ext_hook;
    SPI_CR2 = 0;
    plic_enable_m(IRQ_SPI0, 1);
    PLIC_THRESHOLD(0) = 0;
    csr_set(mie, MIP_MEIP);
    csr_set(mstatus, MSTATUS_MIE);
    /* TXEIE while TXE=1: interrupt before the next instruction */
    irq_n = 0;
    clear_after = 3;
    uint64_t t;
    __asm__ volatile("li t0, 0\n\tsw %1, 0(%2)\n\taddi t0, t0, 1\n\tmv %0, t0"
                     : "=&r"(t) : "r"(CR2_TXEIE), "r"(&SPI_CR2) : "t0", "memory");
    CHECK(irq_n >= 1 && irq_t0 == 0, "CR2.TXEIE with TXE=1: interrupt before next instruction");
    CHECK_EQ(claimed[0], IRQ_SPI0, "claim returns source 3");
    CHECK_EQ(irq_n, 3, "level source re-pends after complete until cleared");
    CHECK(claimed[1] == IRQ_SPI0 && claimed[2] == IRQ_SPI0, "re-pended claims are source 3");
    CHECK_EQ(PLIC_PENDING(0) & (1u << IRQ_SPI0), 0, "not pending once the line is low");
    /* RXNEIE */
    irq_n = 0;
    clear_after = 1;
    cs(-1);
    SPI_DR = 0;
    wait_sr(SR_RXNE, SR_RXNE);
    SPI_CR2 = CR2_RXNEIE;
    __asm__ volatile("nop");
    CHECK_EQ(irq_n, 1, "RXNEIE with RXNE=1 interrupts");
    (void)SPI_DR;
    /* ERRIE with UNDERRUN */
    irq_n = 0;
    SPI_CR2 = CR2_ERRIE;
    CHECK_EQ(irq_n, 0, "ERRIE without error: no interrupt");
    (void)SPI_DR; /* underrun */
    __asm__ volatile("nop");
    CHECK_EQ(irq_n, 1, "ERRIE with UNDERRUN interrupts");
    /* threshold masks */
    irq_n = 0;
    clear_after = 100;
    PLIC_THRESHOLD(0) = 1;
    SPI_CR2 = CR2_TXEIE;
    __asm__ volatile("nop");
    CHECK_EQ(irq_n, 0, "priority 1 <= threshold 1: masked");
    CHECK(PLIC_PENDING(0) & (1u << IRQ_SPI0), "masked source still pending");
    clear_after = 1;
    PLIC_THRESHOLD(0) = 0;
    __asm__ volatile("nop");
    CHECK_EQ(irq_n, 1, "lowering the threshold delivers it");
    csr_clear(mstatus, MSTATUS_MIE);
    csr_clear(mie, MIP_MEIP);
    SPI_CR2 = 0;
    plic_disable_m(IRQ_SPI0);
    mtrap_hook = 0;
}

int main(void)
{
    registers();
    flashes();
    errors();
    interrupts();
    return check_finish();
}
