/* G233 GPIO0 (g233-only): SiFive GPIO registers, output read back through
 * input_val (output-enabled pins are driven by output_val ^ out_xor), rise/fall/
 * high/low pending bits (write 1 to clear; high/low re-latch while the level
 * persists), and PLIC source 8+n interrupts with claim/complete. */
#include "check.h"
#include "trap.h"
#include "g233.h"

#define G(off) REG32(GPIO0_BASE + (off))
#define INPUT_VAL 0x00
#define INPUT_EN 0x04
#define OUTPUT_EN 0x08
#define OUTPUT_VAL 0x0C
#define RISE_IE 0x18
#define RISE_IP 0x1C
#define FALL_IE 0x20
#define FALL_IP 0x24
#define HIGH_IE 0x28
#define HIGH_IP 0x2C
#define LOW_IE 0x30
#define LOW_IP 0x34
#define IOF_EN 0x38
#define OUT_XOR 0x40

#define PIN 5
#define BIT (1u << PIN)

static volatile unsigned irq_n, irq_id, irq_t0;

static int ext_hook(struct trap_frame *f)
{
    if (f->cause != (CAUSE_INTR | IRQ_M_EXT))
        return 0;
    uint32_t id = PLIC_CLAIM(0);
    irq_id = id;
    if (irq_n == 0)
        irq_t0 = (unsigned)f->x[5];
    irq_n++;
    /* the source is level: clear the pending bits and disable, then complete */
    G(RISE_IE) = 0;
    G(HIGH_IE) = 0;
    G(RISE_IP) = BIT;
    PLIC_CLAIM(0) = id;
    if (irq_n > 50)
        csr_clear(mie, MIP_MEIP);
    return 1;
}

int main(void)
{
    CHECK_EQ(G(INPUT_EN), 0, "input_en resets to 0");
    CHECK_EQ(G(OUTPUT_EN), 0, "output_en resets to 0");
    CHECK_EQ(G(OUTPUT_VAL), 0, "output_val resets to 0");
    CHECK_EQ(G(RISE_IE), 0, "rise_ie resets to 0");
    CHECK_EQ(G(IOF_EN), 0, "iof_en resets to 0");
    G(OUTPUT_VAL) = 0xa5a5a5a5u;
    CHECK_EQ(G(OUTPUT_VAL), 0xa5a5a5a5u, "output_val read back");
    G(OUTPUT_VAL) = 0;

    G(INPUT_EN) = BIT;
    G(OUTPUT_EN) = BIT;
    G(RISE_IP) = ~0u;
    G(FALL_IP) = ~0u;
    CHECK_EQ(G(INPUT_VAL) & BIT, 0, "pin low");
    G(OUTPUT_VAL) = BIT;
    CHECK_EQ(G(INPUT_VAL) & BIT, BIT, "driven output seen in input_val");
    CHECK_EQ(G(RISE_IP) & BIT, BIT, "rise_ip latched on 0->1");
    CHECK_EQ(G(HIGH_IP) & BIT, BIT, "high_ip while high");
    G(RISE_IP) = BIT;
    CHECK_EQ(G(RISE_IP) & BIT, 0, "rise_ip write-1-to-clear");
    G(HIGH_IP) = BIT;
    CHECK_EQ(G(HIGH_IP) & BIT, BIT, "high_ip re-latches while still high");
    G(OUT_XOR) = BIT;
    CHECK_EQ(G(INPUT_VAL) & BIT, 0, "out_xor inverts the pin");
    CHECK_EQ(G(FALL_IP) & BIT, BIT, "fall_ip latched on 1->0");
    G(OUT_XOR) = 0;
    G(FALL_IP) = BIT;
    G(LOW_IP) = BIT;
    CHECK_EQ(G(LOW_IP) & BIT, 0, "low_ip clears while high");
    G(INPUT_EN) = 0;
    CHECK_EQ(G(INPUT_VAL) & BIT, 0, "input_en=0 masks input_val");
    G(INPUT_EN) = BIT;
    G(RISE_IP) = ~0u;

    /* Interrupt through PLIC source 8+PIN */
    mtrap_hook = ext_hook;
    plic_enable_m(IRQ_GPIO(PIN), 2);
    PLIC_THRESHOLD(0) = 0;
    csr_set(mie, MIP_MEIP);
    csr_set(mstatus, MSTATUS_MIE);
    G(OUTPUT_VAL) = 0;
    G(RISE_IP) = BIT;
    irq_n = 0;
    G(RISE_IE) = BIT;
    CHECK_EQ(irq_n, 0, "rise_ie without a rise: no interrupt");
    uint64_t t;
    __asm__ volatile("li t0, 0\n\tsw %1, 0(%2)\n\taddi t0, t0, 1\n\tmv %0, t0"
                     : "=&r"(t) : "r"(BIT), "r"(&G(OUTPUT_VAL)) : "t0", "memory");
    CHECK_EQ(irq_n, 1, "rising pin interrupts once");
    CHECK_EQ(irq_t0, 0, "GPIO interrupt taken before the next instruction");
    CHECK_EQ(irq_id, IRQ_GPIO(PIN), "claim returns 8+pin");
    irq_n = 0;
    G(HIGH_IE) = BIT; /* high now: level interrupt at once */
    __asm__ volatile("nop");
    CHECK_EQ(irq_n, 1, "high_ie while high interrupts");
    CHECK_EQ(PLIC_PENDING(0) & (1u << IRQ_GPIO(PIN)), 0, "nothing pending after handling");
    csr_clear(mstatus, MSTATUS_MIE);
    csr_clear(mie, MIP_MEIP);
    plic_disable_m(IRQ_GPIO(PIN));
    mtrap_hook = 0;
    G(OUTPUT_VAL) = 0;
    G(OUTPUT_EN) = 0;
    G(INPUT_EN) = 0;
    return check_finish();
}
