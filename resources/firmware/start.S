/* Entry of the default G233 guest: set up a stack and a trap vector, call main, exit. */
    .section .text.start
    .globl _start
_start:
    la   sp, __stack_top
    la   t0, trap_entry
    csrw mtvec, t0
    call main
    call semihost_exit
1:  wfi
    j    1b

    .align 2
    .globl trap_entry
trap_entry:
    /* The demo takes one machine timer interrupt: mask it and count it. */
    addi sp, sp, -16
    sd   t0, 0(sp)
    sd   t1, 8(sp)
    li   t0, 1 << 7
    csrc mie, t0
    la   t0, timer_ticks
    ld   t1, 0(t0)
    addi t1, t1, 1
    sd   t1, 0(t0)
    ld   t0, 0(sp)
    ld   t1, 8(sp)
    addi sp, sp, 16
    mret

    .globl semihost_call
    .align 4
semihost_call:
    .option push
    .option norvc
    slli x0, x0, 0x1f
    ebreak
    srai x0, x0, 7
    .option pop
    ret
