/* Code pages for the MMU test. */
    .section .text.xpage, "ax", @progbits
    .balign 4096
    .globl xpage
xpage:                      /* mapped executable at a test VA: returns 0x77 */
    li      a0, 0x77
    ret

    .balign 4096
    .globl xpage2
xpage2:                     /* the same VA remapped here: returns 0x88 */
    li      a0, 0x88
    ret

    .balign 4096
    .globl xjump
xjump:                      /* mapped right below xpage's VA: a direct jump into that page */
    j       . + 4096

    /* S mode: call the code at VA a0; returns its a0, or a0 unchanged when the
     * fetch faults (the test resumes at s_exec_after). */
    .globl s_exec, s_exec_after
s_exec:
    addi    sp, sp, -16
    sd      ra, 0(sp)
    jalr    ra, 0(a0)
s_exec_after:
    ld      ra, 0(sp)
    addi    sp, sp, 16
    ret

    /* U mode (run through the U alias): load from a0 and leave U mode. */
    .globl u_load_exit
u_load_exit:
    ld      a0, 0(a0)
    li      a7, 0x6d6f6465
    ecall
1:  j       1b
