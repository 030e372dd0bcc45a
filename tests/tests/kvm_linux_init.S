/* /init of the initramfs built by tests/tests/kvm_linux.rs (x86_64, static, no libc).
 * Prints its marker on the console (stdout and /dev/kmsg), waits half a second for the UART
 * to drain, then asks the kernel to restart: with reboot=k that is the i8042 reset, which ends
 * `vmm --no-reboot` with status 0. (The test kernel has no ioperm, so the poweroff port is out
 * of reach from user space.) */
        .globl _start
        .text
_start:
        movl $1, %eax                   /* write(1, marker) */
        movl $1, %edi
        leaq marker(%rip), %rsi
        movl $marker_len, %edx
        syscall
        movl $2, %eax                   /* open("/dev/kmsg", O_WRONLY) */
        leaq kmsg(%rip), %rdi
        movl $1, %esi
        xorl %edx, %edx
        syscall
        testl %eax, %eax
        js 1f
        movl %eax, %edi                 /* write(fd, marker) */
        movl $1, %eax
        leaq marker(%rip), %rsi
        movl $marker_len, %edx
        syscall
1:      movl $35, %eax                  /* nanosleep(&half_second, NULL) */
        leaq half_second(%rip), %rdi
        xorl %esi, %esi
        syscall
        movl $169, %eax                 /* reboot(MAGIC1, MAGIC2, LINUX_REBOOT_CMD_RESTART) */
        movl $0xfee1dead, %edi
        movl $0x28121969, %esi
        movl $0x01234567, %edx
        xorl %r10d, %r10d
        syscall
2:      pause
        jmp 2b

        .section .rodata
marker: .ascii "VMM-KVM-INIT-MARKER: /init ran\n"
        .set marker_len, . - marker
kmsg:   .asciz "/dev/kmsg"
        .balign 8
half_second:
        .quad 0, 500000000
