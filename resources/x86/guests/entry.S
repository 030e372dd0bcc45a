/* Checks the 64-bit entry state the Linux boot protocol promises, reports on COM1 and powers
 * off with 0 (all good) or the number of the first failed check:
 *  1 CS = __BOOT_CS (0x10)          2 DS/ES/SS = __BOOT_DS (0x18)   3 interrupts disabled
 *  4 CR0.PE and CR0.PG               5 CR4.PAE                       6 EFER.LME and EFER.LMA
 *  7 running at the load address     8 %rsi -> boot_params ("HdrS", 0xaa55)
 *  9 command line pointer valid     10 e820 table not empty          11 stack usable */
#include "lib.inc"
        .section .text.start
        .globl _start
        .code64
_start:
        movq %rsi, %r15                 /* boot_params */
        movb $1, %bl
        movw %cs, %ax
        cmpw $0x10, %ax
        jne fail
        movb $2, %bl
        movw %ds, %ax
        cmpw $0x18, %ax
        jne fail
        movw %es, %ax
        cmpw $0x18, %ax
        jne fail
        movw %ss, %ax
        cmpw $0x18, %ax
        jne fail
        movb $3, %bl
        pushfq
        popq %rax
        testq $0x200, %rax
        jnz fail
        movb $4, %bl
        movq %cr0, %rax
        movq %rax, %rcx
        andl $0x80000001, %ecx
        cmpl $0x80000001, %ecx
        jne fail
        movb $5, %bl
        movq %cr4, %rax
        testq $0x20, %rax
        jz fail
        movb $6, %bl
        movl $0xc0000080, %ecx
        rdmsr
        andl $0x500, %eax
        cmpl $0x500, %eax
        jne fail
        movb $7, %bl
        leaq _start(%rip), %rax
        cmpq $0x100000, %rax
        jne fail
        movb $8, %bl
        cmpl $0x53726448, 0x202(%r15)
        jne fail
        cmpw $0xaa55, 0x1fe(%r15)
        jne fail
        movb $9, %bl
        movl 0x228(%r15), %eax
        testl %eax, %eax
        jz fail
        cmpb $'c', (%rax)               /* the test's command line starts with "console=" */
        jne fail
        movb $10, %bl
        cmpb $0, 0x1e8(%r15)
        je fail
        movb $11, %bl
        pushq $0x1234
        popq %rax
        cmpq $0x1234, %rax
        jne fail
        PUTS ok
        POWEROFF_WITH $0
fail:
        PUTS bad
        call put_hex8
        movb $'\n', %al
        call putc
        POWEROFF_WITH %bl

        LIB_FUNCS
        .section .rodata
ok:     .asciz "ENTRY OK\n"
bad:    .asciz "ENTRY FAIL "
