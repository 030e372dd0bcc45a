/* Vectored trap tables for the privilege test. Each interrupt entry records its
 * cause number in vec_hit and clears the source; entry 0 (exceptions) records 100
 * and skips the 4-byte instruction. */
#include "csr.h"

    .section .text
    .balign 256
    .globl mvec_table
mvec_table:
    .option push
    .option norvc
    j       mvec_exc
    .rept 2
    j       mvec_other
    .endr
    j       mvec_msi        /* 3: machine software interrupt */
    .rept 12
    j       mvec_other
    .endr
    .option pop

mvec_exc:
    csrrw   sp, mscratch, sp
    addi    sp, sp, -16
    sd      t0, 0(sp)
    sd      t1, 8(sp)
    csrr    t0, mepc
    addi    t0, t0, 4
    csrw    mepc, t0
    li      t0, 100
    j       mvec_done
mvec_msi:
    csrrw   sp, mscratch, sp
    addi    sp, sp, -16
    sd      t0, 0(sp)
    sd      t1, 8(sp)
    li      t0, 0x2000000
    sw      zero, 0(t0)     /* clear msip */
    li      t0, 3
    j       mvec_done
mvec_other:
    csrrw   sp, mscratch, sp
    addi    sp, sp, -16
    sd      t0, 0(sp)
    sd      t1, 8(sp)
    csrr    t0, mcause
    addi    t0, t0, 200     /* 200 + cause: unexpected entry */
    li      t1, MSTATUS_MPIE    /* do not re-enable interrupts */
    csrc    mstatus, t1
mvec_done:
    la      t1, vec_hit
    sd      t0, 0(t1)
    csrr    t0, mcause
    la      t1, vec_cause
    sd      t0, 0(t1)
    ld      t0, 0(sp)
    ld      t1, 8(sp)
    addi    sp, sp, 16
    csrrw   sp, mscratch, sp
    mret

    .balign 256
    .globl svec_table
svec_table:
    .option push
    .option norvc
    j       svec_other
    j       svec_ssi        /* 1: supervisor software interrupt */
    .rept 14
    j       svec_other
    .endr
    .option pop
svec_ssi:
    csrrw   sp, sscratch, sp
    addi    sp, sp, -16
    sd      t0, 0(sp)
    sd      t1, 8(sp)
    csrci   sip, MIP_SSIP
    li      t0, 1
    j       svec_done
svec_other:
    csrrw   sp, sscratch, sp
    addi    sp, sp, -16
    sd      t0, 0(sp)
    sd      t1, 8(sp)
    csrr    t0, scause
    addi    t0, t0, 200
    li      t1, MSTATUS_SPIE
    csrc    sstatus, t1
svec_done:
    la      t1, vec_hit
    sd      t0, 0(t1)
    csrr    t0, scause
    la      t1, vec_cause
    sd      t0, 0(t1)
    ld      t0, 0(sp)
    ld      t1, 8(sp)
    addi    sp, sp, 16
    csrrw   sp, sscratch, sp
    sret

    .section .bss
    .balign 8
    .globl vec_hit, vec_cause
vec_hit:    .space 8
vec_cause:  .space 8
