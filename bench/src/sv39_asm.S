/* Assembly parts of the sv39 benchmark: the M- and S-mode trap entries, the
 * switches to S- and U-mode, and the U-mode loop (which uses no stack). */

#define FRAME_SIZE (32 * 8)

    .section .text
    /* M-mode: only S-mode ecalls are expected (exit or fatal error); they never
     * return, so no registers are saved. */
    .balign 4
    .globl sv39_mtrap_entry
sv39_mtrap_entry:
    csrrw   sp, mscratch, sp
    mv      a2, a7
    csrr    a3, mcause
    csrr    a4, mepc
    csrr    a5, mtval
    call    sv39_mtrap
1:  j       1b

    /* enter_smode(entry, arg, stack): mret to S-mode at entry(arg) on stack. */
    .globl enter_smode
enter_smode:
    li      t0, (3 << 11)
    csrc    mstatus, t0
    li      t0, (1 << 11)
    csrs    mstatus, t0
    csrw    mepc, a0
    mv      a0, a1
    mv      sp, a2
    mret

    /* enter_umode(entry, arg): sret to U-mode at entry(arg). */
    .globl enter_umode
enter_umode:
    li      t0, (1 << 8)        /* sstatus.SPP = U */
    csrc    sstatus, t0
    csrw    sepc, a0
    mv      a0, a1
    sret

    /* S-mode trap entry: all GPRs into a frame on the S trap stack (sscratch),
     * sv39_strap(frame) may change them (a0, and sepc through the CSR). */
    .balign 4
    .globl sv39_strap_entry
sv39_strap_entry:
    csrrw   sp, sscratch, sp
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
    csrr    t0, sscratch
    sd      t0, 2*8(sp)
    mv      a0, sp
    call    sv39_strap
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
    addi    sp, sp, FRAME_SIZE
    csrrw   sp, sscratch, sp
    sret

/* U-mode loop, mapped alone with U=1. a0 = outer iterations. Each iteration
 * touches TOUCHES pages of the user window (stride 37 pages over 1024: every
 * page is revisited, scattered), loads, mixes and stores one word in each, then
 * makes a "tick" system call; at the end an "exit" call with the sum. */
#define USER_BASE 0x40000000
#define USER_PAGES_MASK 1023
#define TOUCHES 16
#define SYSCALL_TICK 1
#define SYSCALL_EXIT 2

    .section .user.text, "ax", @progbits
    .globl user_main
user_main:
    li      s0, USER_BASE
    mv      s1, a0
    li      s2, 0
    li      s3, 0
1:  li      s4, TOUCHES
2:  andi    t0, s3, USER_PAGES_MASK
    slli    t1, t0, 12
    add     t1, t1, s0
    andi    t2, t0, 63
    slli    t2, t2, 6
    add     t1, t1, t2
    ld      t3, 0(t1)
    add     s2, s2, t3
    xor     t3, t3, s2
    sd      t3, 0(t1)
    addi    s3, s3, 37
    addi    s4, s4, -1
    bnez    s4, 2b
    li      a7, SYSCALL_TICK
    mv      a0, s2
    ecall
    add     s2, s2, a0
    addi    s1, s1, -1
    bnez    s1, 1b
    li      a7, SYSCALL_EXIT
    mv      a0, s2
    ecall
3:  j       3b
