/* Trap vectors and privilege-switching helpers for the guest tests. */
#include "csr.h"

#define FRAME_SIZE (36 * 8)
#define MODE_EXIT_MAGIC 0x6d6f6465

/* Saves x1..x31 (x2 = the interrupted sp, taken from \scratch) and the trap CSRs
 * of prefix \p (m or s) into a frame on the trap stack. */
.macro SAVE_FRAME p
    csrrw   sp, \p\()scratch, sp
    addi    sp, sp, -FRAME_SIZE
    sd      x1, 1*8(sp)
    sd      x3, 3*8(sp)
    sd      x4, 4*8(sp)
    sd      x5, 5*8(sp)
    sd      x6, 6*8(sp)
    sd      x7, 7*8(sp)
    sd      x8, 8*8(sp)
    sd      x9, 9*8(sp)
    sd      x10, 10*8(sp)
    sd      x11, 11*8(sp)
    sd      x12, 12*8(sp)
    sd      x13, 13*8(sp)
    sd      x14, 14*8(sp)
    sd      x15, 15*8(sp)
    sd      x16, 16*8(sp)
    sd      x17, 17*8(sp)
    sd      x18, 18*8(sp)
    sd      x19, 19*8(sp)
    sd      x20, 20*8(sp)
    sd      x21, 21*8(sp)
    sd      x22, 22*8(sp)
    sd      x23, 23*8(sp)
    sd      x24, 24*8(sp)
    sd      x25, 25*8(sp)
    sd      x26, 26*8(sp)
    sd      x27, 27*8(sp)
    sd      x28, 28*8(sp)
    sd      x29, 29*8(sp)
    sd      x30, 30*8(sp)
    sd      x31, 31*8(sp)
    sd      x0, 0(sp)
    csrr    t0, \p\()scratch
    sd      t0, 2*8(sp)
    csrw    \p\()scratch, sp        /* a nested trap pushes below this frame */
    csrr    t0, \p\()epc
    sd      t0, 32*8(sp)
    csrr    t0, \p\()status
    sd      t0, 33*8(sp)
    csrr    t0, \p\()cause
    sd      t0, 34*8(sp)
    csrr    t0, \p\()tval
    sd      t0, 35*8(sp)
.endm

.macro RESTORE_FRAME p
    ld      t0, 32*8(sp)
    csrw    \p\()epc, t0
    ld      t0, 33*8(sp)
    csrw    \p\()status, t0
    addi    t0, sp, FRAME_SIZE
    csrw    \p\()scratch, t0
    ld      x1, 1*8(sp)
    ld      x3, 3*8(sp)
    ld      x4, 4*8(sp)
    ld      x5, 5*8(sp)
    ld      x6, 6*8(sp)
    ld      x7, 7*8(sp)
    ld      x8, 8*8(sp)
    ld      x9, 9*8(sp)
    ld      x10, 10*8(sp)
    ld      x11, 11*8(sp)
    ld      x12, 12*8(sp)
    ld      x13, 13*8(sp)
    ld      x14, 14*8(sp)
    ld      x15, 15*8(sp)
    ld      x16, 16*8(sp)
    ld      x17, 17*8(sp)
    ld      x18, 18*8(sp)
    ld      x19, 19*8(sp)
    ld      x20, 20*8(sp)
    ld      x21, 21*8(sp)
    ld      x22, 22*8(sp)
    ld      x23, 23*8(sp)
    ld      x24, 24*8(sp)
    ld      x25, 25*8(sp)
    ld      x26, 26*8(sp)
    ld      x27, 27*8(sp)
    ld      x28, 28*8(sp)
    ld      x29, 29*8(sp)
    ld      x30, 30*8(sp)
    ld      x31, 31*8(sp)
    ld      sp, 2*8(sp)
.endm

    .section .text
    .balign 64
    .globl trap_vector
trap_vector:
    SAVE_FRAME m
    mv      a0, sp
    call    mtrap_handler
    RESTORE_FRAME m
    mret

    .balign 64
    .globl strap_vector
strap_vector:
    SAVE_FRAME s
    mv      a0, sp
    call    strap_handler
    RESTORE_FRAME s
    sret

/* uint64_t run_in_mode(unsigned mode, uint64_t (*fn)(uint64_t), uint64_t arg) */
    .globl run_in_mode
run_in_mode:
    la      t0, mode_ctx
    sd      ra, 0*8(t0)
    sd      sp, 1*8(t0)
    sd      gp, 2*8(t0)
    sd      tp, 3*8(t0)
    sd      s0, 4*8(t0)
    sd      s1, 5*8(t0)
    sd      s2, 6*8(t0)
    sd      s3, 7*8(t0)
    sd      s4, 8*8(t0)
    sd      s5, 9*8(t0)
    sd      s6, 10*8(t0)
    sd      s7, 11*8(t0)
    sd      s8, 12*8(t0)
    sd      s9, 13*8(t0)
    sd      s10, 14*8(t0)
    sd      s11, 15*8(t0)
    csrr    t1, mstatus
    sd      t1, 16*8(t0)
    li      t1, MSTATUS_MPP
    csrc    mstatus, t1
    andi    a0, a0, 3
    slli    a0, a0, 11
    csrs    mstatus, a0
    csrw    mepc, a1
    mv      a0, a2
    la      ra, mode_exit_stub
    mret

/* Where fn returns to (in its own mode): mode_exit(a0). */
    .globl mode_exit
mode_exit:
mode_exit_stub:
    li      a7, MODE_EXIT_MAGIC
    ecall
1:  j       1b

/* void mode_return(uint64_t value): M-mode only. */
    .globl mode_return
mode_return:
    la      t0, mode_ctx
    ld      ra, 0*8(t0)
    ld      sp, 1*8(t0)
    ld      gp, 2*8(t0)
    ld      tp, 3*8(t0)
    ld      s0, 4*8(t0)
    ld      s1, 5*8(t0)
    ld      s2, 6*8(t0)
    ld      s3, 7*8(t0)
    ld      s4, 8*8(t0)
    ld      s5, 9*8(t0)
    ld      s6, 10*8(t0)
    ld      s7, 11*8(t0)
    ld      s8, 12*8(t0)
    ld      s9, 13*8(t0)
    ld      s10, 14*8(t0)
    ld      s11, 15*8(t0)
    la      t1, __trap_stack_top
    csrw    mscratch, t1
    /* Restore mstatus.MIE as it was when run_in_mode was called. */
    ld      t1, 16*8(t0)
    andi    t1, t1, MSTATUS_MIE
    csrs    mstatus, t1
    ret

    .globl strap_install
strap_install:
    la      t0, strap_vector
    csrw    stvec, t0
    la      t0, s_trap_stack_top
    csrw    sscratch, t0
    ret

    .section .bss
    .balign 16
mode_ctx:
    .space 17*8
    .balign 16
    .space 0x2000
    .globl s_trap_stack_top
s_trap_stack_top:
