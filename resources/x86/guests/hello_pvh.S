/* A PVH guest (32-bit protected-mode entry, the Xen PVH ELF note): prints HELLO on COM1 and
 * writes 0 to port 0x501. Runs on this project's microvm (poweroff port: status 0) and on
 * `qemu-system-x86_64 -M microvm -device isa-debug-exit,iobase=0x501,iosize=1` (exit status
 * (0 << 1) | 1 = 1); used for the side-by-side start-up measurement. */
        .section .note.Xen, "a"
        .balign 4
        .long 4                         /* namesz */
        .long 4                         /* descsz */
        .long 18                        /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .long pvh_start

        .section .text.start, "ax"
        .code32
        .globl _start
_start:
pvh_start:
        movl $msg, %esi
1:      movb (%esi), %al
        testb %al, %al
        jz 3f
        movb %al, %ah
2:      movw $0x3fd, %dx
        inb %dx, %al
        testb $0x20, %al
        jz 2b
        movb %ah, %al
        movw $0x3f8, %dx
        outb %al, %dx
        incl %esi
        jmp 1b
3:      movw $0x501, %dx
        xorl %eax, %eax
        outb %al, %dx
4:      cli
        hlt
        jmp 4b
        .section .rodata
msg:    .asciz "HELLO\n"
