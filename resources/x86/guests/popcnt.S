/* Prints BEFORE, then executes an instruction this host's software KVM cannot emulate
 * (POPCNT): the run must end with a KVM internal-error report. */
#include "lib.inc"
        .section .text.start
        .globl _start
        .code64
_start:
        PUTS msg
        movq $0xff, %rax
        popcntq %rax, %rbx
        POWEROFF_WITH $7
        LIB_FUNCS
        .section .rodata
msg:    .asciz "BEFORE\n"
