/* Trap handling for the guest tests: M- and S-mode vectors that record a trap the
 * test expects (cause, tval, epc, previous privilege) and resume after the faulting
 * instruction (or at a chosen address); any unexpected trap ends the program with
 * a FAIL. Also run_in_mode(), which calls a function in S or U mode and returns
 * when it finishes (the function returns, or calls mode_exit()). */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H
#include <stdint.h>
#include "csr.h"

/* The ecall a7 value that means "return to run_in_mode()'s caller". */
#define MODE_EXIT_MAGIC 0x6d6f6465UL

/* Registers and trap CSRs saved on trap entry (x[2] is the interrupted sp). */
struct trap_frame {
    uint64_t x[32];
    uint64_t epc, status, cause, tval;
};

/* What the last expected trap looked like. */
struct trap_record {
    uint64_t cause, tval, epc, status;
    uint64_t count; /* number of expected traps recorded */
};

/* Last trap taken by the M-mode (resp. S-mode) vector while armed. */
extern volatile struct trap_record mtrap, strap;
/* Nonzero: the next trap is expected (recorded, not fatal). Cleared by the trap. */
extern volatile int mtrap_armed, strap_armed;
/* If nonzero, the expected trap resumes here instead of after the faulting insn. */
extern volatile uint64_t mtrap_resume, strap_resume;
/* mcause and mstatus of the ecall that last ended a run_in_mode() call. */
extern volatile uint64_t mode_exit_cause, mode_exit_status;
/* Optional hooks run first for every trap; return 1 when they handled it. */
extern int (*volatile mtrap_hook)(struct trap_frame *f);
extern int (*volatile strap_hook)(struct trap_frame *f);

/* The vectors (direct mode) and the helpers, in trap.S. */
void trap_vector(void);
void strap_vector(void);
/* Runs fn(arg) in privilege `mode` (PRV_U, PRV_S or PRV_M via mret); returns its result. */
uint64_t run_in_mode(unsigned mode, uint64_t (*fn)(uint64_t), uint64_t arg);
/* From M-mode trap code only: unwinds to run_in_mode()'s caller returning `value`. */
void mode_return(uint64_t value) __attribute__((noreturn));
/* From S or U mode: leaves the mode, run_in_mode() returns `value`. */
void mode_exit(uint64_t value) __attribute__((noreturn));
/* Installs strap_vector in stvec with its own stack in sscratch. */
void strap_install(void);

/* Arms the M-mode recorder for one expected trap (and forgets the previous one). */
static inline void expect_mtrap(void)
{
    mtrap.cause = ~0UL;
    mtrap.tval = ~0UL;
    mtrap.epc = ~0UL;
    mtrap_resume = 0;
    mtrap_armed = 1;
    __asm__ volatile("" ::: "memory");
}

/* Arms the S-mode recorder for one expected trap. */
static inline void expect_strap(void)
{
    strap.cause = ~0UL;
    strap.tval = ~0UL;
    strap.epc = ~0UL;
    strap_resume = 0;
    strap_armed = 1;
    __asm__ volatile("" ::: "memory");
}

/* Previous privilege recorded in the saved mstatus.MPP (resp. sstatus.SPP). */
#define MTRAP_PREV_PRIV() ((mtrap.status >> 11) & 3)
#define STRAP_PREV_PRIV() ((strap.status >> 8) & 1)

#endif
