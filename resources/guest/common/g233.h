/* G233 board addresses (spec /work/shared/spec/g233.md) and PLIC helpers for the
 * g233-only tests. */
#ifndef GUEST_G233_H
#define GUEST_G233_H
#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

#define MROM_BASE 0x1000UL
#define PLIC_BASE 0x0C000000UL
#define UART0_BASE 0x10000000UL
#define GPIO0_BASE 0x10012000UL
#define PWM0_BASE 0x10015000UL
#define SPI0_BASE 0x10018000UL

#define PLIC_PRIORITY(src) REG32(PLIC_BASE + 4 * (src))
#define PLIC_PENDING(word) REG32(PLIC_BASE + 0x1000 + 4 * (word))
#define PLIC_ENABLE(ctx, word) REG32(PLIC_BASE + 0x2000 + 0x80 * (ctx) + 4 * (word))
#define PLIC_THRESHOLD(ctx) REG32(PLIC_BASE + 0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx) REG32(PLIC_BASE + 0x200004 + 0x1000 * (ctx))

#define IRQ_UART0 1
#define IRQ_PWM0 2
#define IRQ_SPI0 3
#define IRQ_GPIO(n) (8 + (n))

/* Enables PLIC source `src` for context 0 (hart 0 M-mode) with `prio`. */
static inline void plic_enable_m(unsigned src, unsigned prio)
{
    PLIC_PRIORITY(src) = prio;
    PLIC_ENABLE(0, src / 32) |= 1u << (src % 32);
}

/* Disables PLIC source `src` for context 0. */
static inline void plic_disable_m(unsigned src)
{
    PLIC_ENABLE(0, src / 32) &= ~(1u << (src % 32));
    PLIC_PRIORITY(src) = 0;
}

#endif
