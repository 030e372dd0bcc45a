/* C side of the trap vectors: record expected traps, run hooks, fail loudly on
 * anything unexpected. */
#include "trap.h"
#include "check.h"
#include "semihost.h"

volatile struct trap_record mtrap, strap;
volatile int mtrap_armed, strap_armed;
volatile uint64_t mtrap_resume, strap_resume;
volatile uint64_t mode_exit_cause, mode_exit_status;
int (*volatile mtrap_hook)(struct trap_frame *f);
int (*volatile strap_hook)(struct trap_frame *f);

extern char s_trap_stack_top[];

/* Length of the instruction at `epc`, preferring an instruction-bits tval. The
 * halfword is read as the trapping mode fetched it (MPRV with MPP = that mode,
 * MXR so execute-only pages read), since epc may be a virtual address. */
static uint64_t insn_len(uint64_t epc, uint64_t cause, uint64_t tval)
{
    if (cause == CAUSE_ILLEGAL && tval != 0)
        return (tval & 3) == 3 ? 4 : 2;
    uint64_t old = csr_read(mstatus), lo;
    __asm__ volatile("csrs mstatus, %2\n\t"
                     "lhu %0, 0(%1)\n\t"
                     "csrw mstatus, %3"
                     : "=&r"(lo)
                     : "r"(epc), "r"(MSTATUS_MPRV | MSTATUS_MXR), "r"(old)
                     : "memory");
    return (lo & 3) == 3 ? 4 : 2;
}

/* Same for the S-mode vector (S reads through its own translation). */
static uint64_t insn_len_s(uint64_t epc, uint64_t cause, uint64_t tval)
{
    if (cause == CAUSE_ILLEGAL && tval != 0)
        return (tval & 3) == 3 ? 4 : 2;
    uint16_t lo = *(volatile uint16_t *)epc;
    return (lo & 3) == 3 ? 4 : 2;
}

static void unexpected(const char *who, struct trap_frame *f)
{
    gprintf("FAIL unexpected %s trap: cause=0x%lx epc=0x%lx tval=0x%lx\n", who,
            (unsigned long)f->cause, (unsigned long)f->epc, (unsigned long)f->tval);
    check_failures++;
    check_finish();
    sh_exit(99);
}

static int is_ecall(uint64_t cause)
{
    return cause == CAUSE_ECALL_U || cause == CAUSE_ECALL_S || cause == CAUSE_ECALL_M;
}

void mtrap_handler(struct trap_frame *f)
{
    if (mtrap_hook && mtrap_hook(f))
        return;
    if (is_ecall(f->cause) && f->x[17] == MODE_EXIT_MAGIC) {
        mode_exit_cause = f->cause;
        mode_exit_status = f->status;
        mode_return(f->x[10]);
    }
    if (!mtrap_armed || (f->cause & CAUSE_INTR))
        unexpected("M-mode", f);
    mtrap.cause = f->cause;
    mtrap.tval = f->tval;
    mtrap.epc = f->epc;
    mtrap.status = f->status;
    mtrap.count++;
    mtrap_armed = 0;
    if (mtrap_resume) {
        f->epc = mtrap_resume;
        mtrap_resume = 0;
    } else {
        f->epc += insn_len(f->epc, f->cause, f->tval);
    }
}

void strap_handler(struct trap_frame *f)
{
    if (strap_hook && strap_hook(f))
        return;
    if (is_ecall(f->cause) && f->x[17] == MODE_EXIT_MAGIC) {
        /* Delegated exit request from U-mode: forward it to M-mode. */
        csr_write(sscratch, (uint64_t)s_trap_stack_top);
        register uint64_t a0 __asm__("a0") = f->x[10];
        register uint64_t a7 __asm__("a7") = MODE_EXIT_MAGIC;
        __asm__ volatile("ecall" ::"r"(a0), "r"(a7) : "memory");
        for (;;)
            ;
    }
    if (!strap_armed || (f->cause & CAUSE_INTR))
        unexpected("S-mode", f);
    strap.cause = f->cause;
    strap.tval = f->tval;
    strap.epc = f->epc;
    strap.status = f->status;
    strap.count++;
    strap_armed = 0;
    if (strap_resume) {
        f->epc = strap_resume;
        strap_resume = 0;
    } else {
        f->epc += insn_len_s(f->epc, f->cause, f->tval);
    }
}
