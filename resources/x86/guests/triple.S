/* Prints FAULT then takes an exception with an empty IDT: a triple fault, i.e. a reset. */
#include "lib.inc"
        .section .text.start
        .globl _start
        .code64
_start:
        PUTS msg
        xorl %eax, %eax
        movq (%rax), %rax               /* harmless */
        ud2
        LIB_FUNCS
        .section .rodata
msg:    .asciz "FAULT\n"
