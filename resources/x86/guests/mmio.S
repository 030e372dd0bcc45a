/* Reads and writes the MMIO test device at 0xd1000000 with 1-, 4- and 8-byte accesses; powers
 * off with 0 when every read-back matches, else the number of the failed check. */
#include "lib.inc"
        .set DEV, 0xd1000000
        .section .text.start
        .globl _start
        .code64
_start:
        movl $DEV, %edi
        movb $1, %bl
        movq (%rdi), %rax
        movabsq $0x00000001544d564b, %rcx
        cmpq %rcx, %rax
        jne fail
        movb $2, %bl
        movabsq $0x1122334455667788, %rax
        movq %rax, 0x20(%rdi)
        movq 0x20(%rdi), %rdx
        cmpq %rax, %rdx
        jne fail
        movb $3, %bl
        movl $0xcafef00d, 0x28(%rdi)
        movl 0x28(%rdi), %edx
        cmpl $0xcafef00d, %edx
        jne fail
        movb $4, %bl
        movb $0x5a, 0x30(%rdi)
        movb 0x30(%rdi), %dl
        cmpb $0x5a, %dl
        jne fail
        movb $5, %bl
        movq 0x60(%rdi), %rdx
        notq %rdx
        cmpq %rax, %rdx
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
ok:     .asciz "MMIO OK\n"
bad:    .asciz "MMIO FAIL "
