/* Entry point of every guest test program (M-mode, from the board's reset stub).
 * Sets up gp/sp, an open PMP (so S/U code may touch memory on boards with PMP),
 * the M-mode trap vector, FP enabled, zeroed .bss, then calls main() and exits
 * through semihosting with main's return value. */
#include "csr.h"

    .section .text.init, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    /* PMP: entry 0 = NAPOT over the whole address space, RWX. Boards without
     * PMP may trap on these CSRs: a temporary vector skips the instruction. */
    la      t0, skip_insn_trap
    csrw    mtvec, t0
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f            /* A=NAPOT, X, W, R */
    csrw    pmpcfg0, t0
    /* Real trap vector, trap stack in mscratch. */
    la      t0, trap_vector
    csrw    mtvec, t0
    la      t0, __trap_stack_top
    csrw    mscratch, t0
    /* No delegation, no interrupts enabled, FS=Initial. */
    csrw    medeleg, zero
    csrw    mideleg, zero
    csrw    mie, zero
    li      t0, MSTATUS_FS_INITIAL
    csrs    mstatus, t0
    csrw    fcsr, zero
    /* Zero .bss. */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    main
    call    sh_exit
3:  j       3b

    /* Used only during start-up: skip the (4-byte) trapping instruction. */
    .balign 4
skip_insn_trap:
    csrr    t6, mepc
    addi    t6, t6, 4
    csrw    mepc, t6
    mret
