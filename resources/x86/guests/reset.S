/* Prints RESET then asks the i8042 to reset the CPU (0xfe to port 0x64). */
#include "lib.inc"
        .section .text.start
        .globl _start
        .code64
_start:
        PUTS msg
        movb $0xfe, %al
        outb %al, $0x64
1:      hlt
        jmp 1b
        LIB_FUNCS
        .section .rodata
msg:    .asciz "RESET\n"
