/*
 * The default guest `vmm` boots when run with no arguments: a short tour of the G233 board.
 * It prints through the PL011, reads both SPI flashes' JEDEC IDs, takes a timer interrupt from
 * the ACLINT, runs a G233 custom instruction, then exits with status 0 through semihosting.
 */
#include <stdint.h>

#define UART0 0x10000000UL
#define SPI0 0x10018000UL
#define MTIMECMP 0x02004000UL
#define MTIME 0x0200BFF8UL

volatile uint64_t timer_ticks;
long semihost_call(long op, void *arg);

static inline void w32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t r32(uint64_t a) { return *(volatile uint32_t *)a; }

static void putc_(char c) { w32(UART0, (uint8_t)c); }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--) putc_("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

static uint32_t jedec_id(int cs) {
    w32(SPI0 + 0x00, 0x44);                     /* SPE | MSTR */
    w32(SPI0 + 0x10, (1u << cs) | (1u << (4 + cs)));
    uint32_t id = 0;
    for (int i = 0; i < 4; i++) {
        while (!(r32(SPI0 + 0x08) & 2)) {}      /* TXE */
        w32(SPI0 + 0x0c, i == 0 ? 0x9f : 0);
        while (!(r32(SPI0 + 0x08) & 1)) {}      /* RXNE */
        uint32_t b = r32(SPI0 + 0x0c) & 0xff;
        if (i) id = (id << 8) | b;
    }
    w32(SPI0 + 0x10, 0);
    return id;
}

void semihost_exit(void) {
    uint64_t block[2] = {0x20026, 0};
    semihost_call(0x20, block);
}

int main(void) {
    uint64_t misa;
    __asm__ volatile("csrr %0, misa" : "=r"(misa));
    puts_("\r\nG233 default guest (vmm)\r\n");
    puts_("  misa        0x"); puthex(misa, 16); puts_("\r\n");
    puts_("  flash CS0   JEDEC "); puthex(jedec_id(0), 6); puts_(" (W25X16)\r\n");
    puts_("  flash CS1   JEDEC "); puthex(jedec_id(1), 6); puts_(" (W25X32)\r\n");

    uint64_t now = *(volatile uint64_t *)MTIME;
    *(volatile uint64_t *)MTIMECMP = now + 10000;   /* 1 ms at 10 MHz */
    __asm__ volatile("csrs mie, %0; csrsi mstatus, 8" :: "r"(1 << 7));
    while (!timer_ticks) __asm__ volatile("wfi");
    puts_("  timer       interrupt after 1 ms of guest time\r\n");

    /* G233 `expand` (custom-3, funct7 54): split 0xa5 into nibbles. */
    volatile uint8_t src[1] = {0xa5}, dst[2] = {0, 0};
    uint64_t n = 1;
    __asm__ volatile(".insn r 0x7b, 6, 54, %0, %1, %2" :: "r"(dst), "r"(src), "r"(n) : "memory");
    puts_("  expand 0xa5 -> "); puthex(dst[0], 1); putc_(' '); puthex(dst[1], 1); puts_("\r\n");
    puts_("Run Linux or your own program with: vmm run --kernel IMAGE (see vmm run --help)\r\n");
    return 0;
}
