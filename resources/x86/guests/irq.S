/* Programs the 8259 PIC (IRQ 3 unmasked, vectors 0x20-0x2f), installs an IDT, prints WAITING
 * and halts with interrupts enabled. The host then injects IRQ 3 through an irqfd; the
 * handler acknowledges it and the guest prints IRQ OK and powers off with 0. Any other
 * interrupt or exception powers off with 0x60. */
#include "lib.inc"
        .section .text.start
        .globl _start
        .code64
_start:
        /* IDT: every vector to `other`, vector 0x23 to `irq3`. */
        leaq idt(%rip), %rdi
        xorl %ecx, %ecx
1:      leaq other(%rip), %rax
        cmpl $0x23, %ecx
        jne 2f
        leaq irq3(%rip), %rax
2:      movw %ax, (%rdi)
        movw $0x10, 2(%rdi)
        movw $0x8e00, 4(%rdi)
        shrq $16, %rax
        movw %ax, 6(%rdi)
        shrq $16, %rax
        movl %eax, 8(%rdi)
        movl $0, 12(%rdi)
        addq $16, %rdi
        incl %ecx
        cmpl $256, %ecx
        jne 1b
        lidt idtr(%rip)
        /* PIC: ICW1..ICW4, master vectors 0x20, slave 0x28, mask all but IRQ 3. */
        movb $0x11, %al
        outb %al, $0x20
        outb %al, $0xa0
        movb $0x20, %al
        outb %al, $0x21
        movb $0x28, %al
        outb %al, $0xa1
        movb $0x04, %al
        outb %al, $0x21
        movb $0x02, %al
        outb %al, $0xa1
        movb $0x01, %al
        outb %al, $0x21
        outb %al, $0xa1
        movb $0xf7, %al
        outb %al, $0x21
        movb $0xff, %al
        outb %al, $0xa1
        PUTS waiting
3:      sti
        hlt
        cli
        cmpb $0, got(%rip)
        je 3b
        PUTS ok
        POWEROFF_WITH $0

irq3:
        movb $1, got(%rip)
        pushq %rax
        movb $0x20, %al
        outb %al, $0x20                 /* EOI */
        popq %rax
        iretq

other:
        PUTS unexpected
        POWEROFF_WITH $0x60

        LIB_FUNCS
        .section .rodata
waiting:    .asciz "WAITING\n"
ok:         .asciz "IRQ OK\n"
unexpected: .asciz "UNEXPECTED INTERRUPT\n"
        .section .data
        .balign 8
idtr:   .word 256 * 16 - 1
        .quad idt
got:    .byte 0
        .section .bss
        .balign 16
idt:    .skip 256 * 16
