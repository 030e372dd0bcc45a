/* Reports CPUID features as the exit status: bit 0 POPCNT (1.ECX[23]), bit 1 XSAVE
 * (1.ECX[26]), bit 2 SMAP (7.0.EBX[20]); 0x80 is added so a clean exit is never 0. */
#include "lib.inc"
        .section .text.start
        .globl _start
        .code64
_start:
        movl $1, %eax
        xorl %ecx, %ecx
        cpuid
        xorl %ebx, %ebx
        btl $23, %ecx
        adcb $0, %bl
        btl $26, %ecx
        jnc 1f
        orb $2, %bl
1:      movl %ebx, %r12d
        movl $7, %eax
        xorl %ecx, %ecx
        cpuid
        btl $20, %ebx
        jnc 2f
        orl $4, %r12d
2:      orl $0x80, %r12d
        PUTS msg
        movl %r12d, %ebx
        POWEROFF_WITH %bl
        LIB_FUNCS
        .section .rodata
msg:    .asciz "CPUID\n"
