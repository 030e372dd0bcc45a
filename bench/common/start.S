/* Entry of every benchmark (M-mode, from the board's reset stub; a0/a1 are not
 * relied upon). Sets gp/sp, an open PMP (needed for S/U accesses on QEMU virt;
 * skipped if the board traps on PMP CSRs), the M-mode trap vector, FP on, zeroes
 * .bss, calls main() and exits through semihosting with its return value. */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    la      t0, skip_insn_trap
    csrw    mtvec, t0
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f            /* A=NAPOT, X, W, R */
    csrw    pmpcfg0, t0
    la      t0, mtrap_entry
    csrw    mtvec, t0
    la      t0, __trap_stack_top
    csrw    mscratch, t0
    csrw    mie, zero
    li      t0, (1 << 13)       /* mstatus.FS = Initial */
    csrs    mstatus, t0
    csrw    fcsr, zero
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    main
    call    sh_exit
3:  j       3b

    /* Start-up only: skip the (4-byte) trapping PMP CSR access. */
    .balign 4
skip_insn_trap:
    csrr    t6, mepc
    addi    t6, t6, 4
    csrw    mepc, t6
    mret

    /* Any M-mode trap not expected by a benchmark: report and exit(3). A
     * benchmark that handles M-mode traps itself installs its own vector. */
    .section .text
    .balign 4
mtrap_entry:
    csrrw   sp, mscratch, sp
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    call    bench_unexpected_trap
4:  j       4b
