/* Prints READY, waits for one byte on COM1 (polling the line status register) and powers off
 * with that byte as the exit status: host input reaches the guest through the board's I/O
 * thread. */
#include "lib.inc"
        .section .text.start
        .globl _start
        .code64
_start:
        PUTS ready
        movw $COM1+5, %dx
1:      inb %dx, %al
        testb $1, %al
        jz 1b
        movw $COM1, %dx
        inb %dx, %al
        movb %al, %bl
        PUTS got
        movb %bl, %al
        call putc
        movb $'\n', %al
        call putc
        POWEROFF_WITH %bl
        LIB_FUNCS
        .section .rodata
ready:  .asciz "READY\n"
got:    .asciz "GOT "
