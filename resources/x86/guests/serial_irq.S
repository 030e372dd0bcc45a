/* Used by tests/tests/kvm_vmm.rs (the irqfd wake-up through the vmm binary).
 * Enables COM1's received-data interrupt (IER bit 0, MCR OUT2), unmasks IRQ 4 at the 8259 PIC
 * (vectors 0x20-0x2f), prints WAITING and halts with interrupts enabled. Host input on the vmm's
 * stdin reaches the UART, whose interrupt is an irqfd on GSI 4: it wakes the halted vCPU. The
 * guest then reads the byte, prints IRQ4 OK <byte> and powers off with the byte as the status.
 * Any other interrupt or exception powers off with 0x60. */
#include "lib.inc"
        .section .text.start
        .globl _start
        .code64
_start:
        /* IDT: every vector to `other`, vector 0x24 to `irq4`. */
        leaq idt(%rip), %rdi
        xorl %ecx, %ecx
1:      leaq other(%rip), %rax
        cmpl $0x24, %ecx
        jne 2f
        leaq irq4(%rip), %rax
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
        /* PIC: ICW1..ICW4, master vectors 0x20, slave 0x28, mask all but IRQ 4. */
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
        movb $0xef, %al
        outb %al, $0x21
        movb $0xff, %al
        outb %al, $0xa1
        /* COM1: OUT2 (gates the IRQ on a PC) and the received-data-available interrupt. */
        movw $COM1+4, %dx
        movb $0x08, %al
        outb %al, %dx
        movw $COM1+1, %dx
        movb $0x01, %al
        outb %al, %dx
        PUTS waiting
3:      sti
        hlt
        cli
        cmpb $0, got(%rip)
        je 3b
        movw $COM1, %dx
        inb %dx, %al
        movb %al, %bl
        PUTS ok
        movb %bl, %al
        call putc
        movb $'\n', %al
        call putc
        POWEROFF_WITH %bl

irq4:
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
ok:         .asciz "IRQ4 OK "
unexpected: .asciz "UNEXPECTED INTERRUPT\n"
        .section .data
        .balign 8
idtr:   .word 256 * 16 - 1
        .quad idt
got:    .byte 0
        .section .bss
        .balign 16
idt:    .skip 256 * 16
