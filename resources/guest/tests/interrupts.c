/* Interrupts: ACLINT machine timer (mtimecmp/mtime) and software interrupt (msip)
 * taken immediately (before the next instruction, checked with a counter), CSR
 * writes and mret that unmask a pending interrupt, priorities, wfi wake-up with
 * MIE=0 and with MIE=1 (mepc after wfi), M interrupts always enabled below M,
 * delegated S interrupts, and Sstc stimecmp delivered to S. */
#include "check.h"
#include "trap.h"

#define MSIP ((volatile uint32_t *)0x2000000UL)
#define MTIMECMP ((volatile uint64_t *)0x2004000UL)
#define MTIME ((volatile uint64_t *)0x200BFF8UL)

static volatile uint64_t irq_count, irq_cause, irq_epc, irq_t0, irq_order[4];

static void record(struct trap_frame *f)
{
    if (irq_count < 4)
        irq_order[irq_count] = f->cause;
    irq_count++;
    irq_cause = f->cause;
    irq_epc = f->epc;
    irq_t0 = f->x[5];
}

static int m_hook(struct trap_frame *f)
{
    if (!(f->cause & CAUSE_INTR))
        return 0;
    record(f);
    switch (f->cause & 0xff) {
    case IRQ_M_SOFT:
        *MSIP = 0;
        break;
    case IRQ_M_TIMER:
        *MTIMECMP = ~0UL;
        break;
    case IRQ_S_SOFT:
        csr_clear(mip, MIP_SSIP);
        break;
    default:
        gprintf("     unexpected interrupt cause 0x%lx\n", (unsigned long)f->cause);
        csr_write(mie, 0);
        break;
    }
    return 1;
}

static volatile uint64_t s_count, s_cause;
static int s_hook(struct trap_frame *f)
{
    if (!(f->cause & CAUSE_INTR))
        return 0;
    s_count++;
    s_cause = f->cause;
    if ((f->cause & 0xff) == IRQ_S_TIMER)
        csr_write(CSR_STIMECMP, ~0UL);
    else if ((f->cause & 0xff) == IRQ_S_SOFT)
        csr_clear(sip, MIP_SSIP);
    else
        csr_write(sie, 0);
    return 1;
}

static void reset_irq(void)
{
    irq_count = 0;
    irq_cause = irq_epc = irq_t0 = 0;
}

static void timer_basics(void)
{
    *MTIMECMP = ~0UL;
    uint64_t t0 = *MTIME, t1;
    do
        t1 = *MTIME;
    while (t1 == t0);
    CHECK(t1 > t0, "mtime advances");
    uint64_t ct = csr_read(time);
    CHECK(ct >= t1 && ct - t1 < 1000000, "time CSR follows mtime");
    CHECK(!(csr_read(mip) & MIP_MTIP), "mtimecmp = max: MTIP clear");
    *MTIMECMP = 0;
    CHECK(csr_read(mip) & MIP_MTIP, "mtimecmp = 0: MTIP set at once");
    *MTIMECMP = ~0UL;
    CHECK(!(csr_read(mip) & MIP_MTIP), "mtimecmp = max again: MTIP clears at once");
    *MTIMECMP = 0x1122334455667788UL;
    CHECK_EQ(*MTIMECMP, 0x1122334455667788UL, "mtimecmp 64-bit read back");
    volatile uint32_t *half = (volatile uint32_t *)MTIMECMP;
    half[1] = 0xffffffffu;
    CHECK_EQ(*MTIMECMP, 0xffffffff55667788UL, "mtimecmp 32-bit write of upper half");
    *MTIMECMP = ~0UL;
}

static void immediate(void)
{
    csr_write(mie, MIP_MSIP | MIP_MTIP);
    csr_set(mstatus, MSTATUS_MIE);

    /* msip store: the interrupt is taken before the next instruction. */
    reset_irq();
    uint64_t after, t;
    __asm__ volatile("li t0, 0\n\tli t1, 1\n\t"
                     "sw t1, 0(%2)\n"
                     "1:\taddi t0, t0, 1\n\taddi t0, t0, 1\n\t"
                     "la %0, 1b\n\tmv %1, t0"
                     : "=&r"(after), "=&r"(t) : "r"(MSIP) : "t0", "t1", "memory");
    CHECK_EQ(irq_count, 1, "msip: one interrupt");
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_M_SOFT, "msip: mcause 3|intr");
    CHECK_EQ(irq_t0, 0, "msip: taken before the next instruction (counter 0)");
    CHECK_EQ(irq_epc, after, "msip: mepc = instruction after the store");
    CHECK_EQ(t, 2, "msip: execution resumes after");
    CHECK_EQ(*MSIP, 0, "msip cleared by handler");

    /* mtimecmp store in the past: immediate timer interrupt. */
    reset_irq();
    __asm__ volatile("li t0, 0\n\t"
                     "sd zero, 0(%2)\n"
                     "1:\taddi t0, t0, 1\n\t"
                     "la %0, 1b\n\tmv %1, t0"
                     : "=&r"(after), "=&r"(t) : "r"(MTIMECMP) : "t0", "memory");
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_M_TIMER, "mtimecmp=0: timer interrupt");
    CHECK_EQ(irq_t0, 0, "mtimecmp=0: taken before the next instruction");
    CHECK_EQ(irq_epc, after, "mtimecmp=0: mepc after the store");

    /* Pending but disabled; enabling through csrs mie / csrs mstatus takes it at once. */
    csr_clear(mstatus, MSTATUS_MIE);
    reset_irq();
    *MSIP = 1;
    CHECK_EQ(irq_count, 0, "MIE=0: not taken");
    CHECK(csr_read(mip) & MIP_MSIP, "MIE=0: mip.MSIP pending");
    __asm__ volatile("li t0, 0\n\tcsrsi mstatus, 8\n1:\taddi t0, t0, 1\n\tla %0, 1b"
                     : "=&r"(after) : : "t0", "memory");
    CHECK(irq_count == 1 && irq_t0 == 0 && irq_epc == after, "csrs mstatus.MIE: taken before next insn");
    csr_clear(mie, MIP_MSIP);
    *MSIP = 1;
    reset_irq();
    __asm__ volatile("li t0, 0\n\tcsrs mie, %1\n1:\taddi t0, t0, 1\n\tla %0, 1b"
                     : "=&r"(after) : "r"(MIP_MSIP) : "t0", "memory");
    CHECK(irq_count == 1 && irq_t0 == 0 && irq_epc == after, "csrs mie.MSIE: taken before next insn");

    /* Priority: MSI before MTI when both pending. */
    csr_clear(mstatus, MSTATUS_MIE);
    reset_irq();
    *MSIP = 1;
    *MTIMECMP = 0;
    csr_set(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop\n\tnop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK(irq_count == 2 && irq_order[0] == (CAUSE_INTR | IRQ_M_SOFT) && irq_order[1] == (CAUSE_INTR | IRQ_M_TIMER),
          "priority: MSI before MTI");
    /* mip.SSIP written by M, taken in M when not delegated. */
    reset_irq();
    csr_set(mie, MIP_SSIP);
    csr_set(mip, MIP_SSIP);
    csr_set(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_S_SOFT, "undelegated SSI taken in M (cause 1)");
    csr_write(mie, 0);
}

static uint64_t s_count_up(uint64_t a)
{
    uint64_t t;
    __asm__ volatile("mv t0, %1\n\taddi t0, t0, 1\n\tmv %0, t0" : "=r"(t) : "r"(a) : "t0");
    return t;
}

static void lower_modes(void)
{
    /* M interrupts are enabled in S/U whatever mstatus.MIE says: mret into S with
     * MSI pending traps at the first S instruction. */
    csr_clear(mstatus, MSTATUS_MIE);
    csr_clear(mstatus, MSTATUS_MPIE);
    csr_write(mie, MIP_MSIP);
    reset_irq();
    *MSIP = 1;
    CHECK_EQ(irq_count, 0, "MSI held while in M with MIE=0");
    uint64_t r = run_in_mode(PRV_S, s_count_up, 10);
    CHECK_EQ(irq_count, 1, "MSI taken after mret to S (MIE=0)");
    CHECK_EQ(irq_epc, (uint64_t)s_count_up, "MSI taken at the first S instruction");
    CHECK_EQ(r, 11, "S code completes after the interrupt");
    reset_irq();
    *MSIP = 1;
    run_in_mode(PRV_U, s_count_up, 0);
    CHECK_EQ(irq_count, 1, "MSI taken in U (MIE=0)");
    csr_write(mie, 0);

    /* Delegated SSI: never taken in M; in S only with SIE; in U always. */
    strap_install();
    strap_hook = s_hook;
    csr_write(mideleg, MIP_SSIP);
    csr_write(sie, MIP_SSIP);
    s_count = 0;
    reset_irq();
    csr_set(mip, MIP_SSIP);
    csr_set(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK(irq_count == 0 && s_count == 0, "delegated SSI not taken in M");
    csr_clear(sstatus, MSTATUS_SIE);
    run_in_mode(PRV_S, s_count_up, 0);
    CHECK_EQ(s_count, 0, "delegated SSI not taken in S with SIE=0");
    run_in_mode(PRV_U, s_count_up, 0);
    CHECK_EQ(s_count, 1, "delegated SSI taken from U (SIE=0)");
    CHECK_EQ(s_cause, CAUSE_INTR | IRQ_S_SOFT, "scause = 1|intr");
    csr_write(mideleg, 0);
    csr_write(sie, 0);
}

static void wfi_wakeup(void)
{
    /* MIE=0: wfi resumes when an enabled interrupt becomes pending; no trap. */
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, MIP_MTIP);
    reset_irq();
    *MTIMECMP = *MTIME + 200; /* 20 us at 10 MHz */
    unsigned loops = 0;
    while (!(csr_read(mip) & MIP_MTIP) && loops < 1000000) {
        __asm__ volatile("wfi");
        loops++;
    }
    CHECK(csr_read(mip) & MIP_MTIP, "wfi with MIE=0 wakes on timer");
    CHECK_EQ(irq_count, 0, "wfi with MIE=0: no trap");
    /* MIE=1: the interrupt is taken with mepc = the instruction after wfi. The
     * timer is 10 ms away; if it still fires before the wfi is reached (epc = the
     * wfi itself), try again with a longer delay. */
    uint64_t after = 0, at_wfi = 0, delta = 100000;
    for (int attempt = 0; attempt < 4; attempt++, delta *= 4) {
        reset_irq();
        *MTIMECMP = *MTIME + delta;
        __asm__ volatile("la %0, 2f\n\tla %1, 1f\n\tcsrsi mstatus, 8\n1:\twfi\n2:"
                         : "=&r"(after), "=&r"(at_wfi) : : "memory");
        while (irq_count == 0 && *MTIME < *MTIMECMP + 1000000) /* wfi may return early */
            ;
        csr_clear(mstatus, MSTATUS_MIE);
        if (irq_epc != at_wfi)
            break;
    }
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_M_TIMER, "wfi with MIE=1: timer interrupt taken");
    CHECK_EQ(irq_epc, after, "wfi: mepc = instruction after wfi");
    csr_write(mie, 0);
    *MTIMECMP = ~0UL;
}

static uint64_t s_sstc(uint64_t delta)
{
    uint64_t now = csr_read(time);
    csr_write(CSR_STIMECMP, now + delta);
    csr_set(sie, MIP_STIP);
    csr_set(sstatus, MSTATUS_SIE);
    unsigned loops = 0;
    while (s_count == 0 && loops < 1000000) {
        __asm__ volatile("wfi");
        loops++;
    }
    csr_clear(sstatus, MSTATUS_SIE);
    return s_count;
}

static uint64_t s_read_stimecmp(uint64_t a) { (void)a; return csr_read(CSR_STIMECMP) | 1; }

static void sstc(void)
{
    csr_write(mcounteren, 2); /* TM: S may read time */
    csr_clear(CSR_MENVCFG, MENVCFG_STCE);
    expect_mtrap();
    run_in_mode(PRV_S, s_read_stimecmp, 0);
    CHECK(!mtrap_armed && mtrap.cause == CAUSE_ILLEGAL, "STCE=0: S stimecmp access illegal");
    mtrap_armed = 0;
    csr_set(CSR_MENVCFG, MENVCFG_STCE);
    CHECK(csr_read(CSR_MENVCFG) & MENVCFG_STCE, "menvcfg.STCE set");
    csr_write(CSR_STIMECMP, ~0UL);
    CHECK(!(csr_read(mip) & MIP_STIP), "stimecmp = max: STIP clear");
    csr_write(CSR_STIMECMP, 0);
    CHECK(csr_read(mip) & MIP_STIP, "stimecmp = 0: STIP set at once");
    csr_clear(mip, MIP_STIP);
    CHECK(csr_read(mip) & MIP_STIP, "with Sstc, mip.STIP is not writable");
    csr_write(CSR_STIMECMP, ~0UL);
    CHECK(!(csr_read(mip) & MIP_STIP), "stimecmp = max: STIP clears");
    strap_install();
    strap_hook = s_hook;
    csr_write(mideleg, MIP_STIP);
    s_count = 0;
    CHECK_EQ(run_in_mode(PRV_S, s_sstc, 300), 1, "Sstc: S timer interrupt delivered to S");
    CHECK_EQ(s_cause, CAUSE_INTR | IRQ_S_TIMER, "Sstc: scause = 5|intr");
    CHECK(!(csr_read(mip) & MIP_STIP), "Sstc: handler's stimecmp write cleared STIP");
    csr_write(mideleg, 0);
    csr_write(sie, 0);
    csr_clear(CSR_MENVCFG, MENVCFG_STCE);
    csr_write(mcounteren, 0);
}

int main(void)
{
    mtrap_hook = m_hook;
    timer_basics();
    immediate();
    lower_modes();
    wfi_wakeup();
    sstc();
    return check_finish();
}
