/* A tiny virtio-blk driver on the virtio-mmio device at 0xd0000000 (queue notifications go
 * through the ioeventfd, completions are polled): writes sector 2 with 512 'W' bytes, flushes,
 * reads sector 0 (which the host filled with "HOSTDATA") and checks it. Prints BLK OK and powers
 * off with 0, or prints BLK FAIL <n> and powers off with n. */
#include "lib.inc"
        .set DESC, 0x300000
        .set AVAIL, 0x301000
        .set USED, 0x302000
        .set HDR, 0x310000
        .set DATA, 0x311000
        .set STATUS, 0x312000

        /* DESCR index, addr, len, flags, next */
        .macro DESCR i, addr, len, flags, next
        movq $\addr, DESC + 16 * \i
        movl $\len, DESC + 16 * \i + 8
        movw $\flags, DESC + 16 * \i + 12
        movw $\next, DESC + 16 * \i + 14
        .endm

        .section .text.start
        .globl _start
        .code64
_start:
        movl $0xd0000000, %edi
        movb $1, %bl
        cmpl $0x74726976, (%rdi)
        jne fail
        cmpl $2, 4(%rdi)
        jne fail
        cmpl $2, 8(%rdi)
        jne fail
        movl $0, 0x70(%rdi)
        movl $1, 0x70(%rdi)
        movl $3, 0x70(%rdi)
        movb $2, %bl
        movl $1, 0x14(%rdi)
        testl $1, 0x10(%rdi)            /* VIRTIO_F_VERSION_1 */
        jz fail
        movl $0, 0x14(%rdi)
        testl $0x200, 0x10(%rdi)        /* VIRTIO_BLK_F_FLUSH */
        jz fail
        movl $0, 0x24(%rdi)
        movl $0x200, 0x20(%rdi)
        movl $1, 0x24(%rdi)
        movl $1, 0x20(%rdi)
        movl $0xb, 0x70(%rdi)
        movb $3, %bl
        testl $8, 0x70(%rdi)            /* FEATURES_OK kept */
        jz fail
        movl $0, 0x30(%rdi)
        movb $4, %bl
        cmpl $8, 0x34(%rdi)
        jb fail
        movl $8, 0x38(%rdi)
        movl $DESC, 0x80(%rdi)
        movl $0, 0x84(%rdi)
        movl $AVAIL, 0x90(%rdi)
        movl $0, 0x94(%rdi)
        movl $USED, 0xa0(%rdi)
        movl $0, 0xa4(%rdi)
        movl $1, 0x44(%rdi)
        movb $5, %bl
        cmpl $1, 0x44(%rdi)
        jne fail
        movl $0xf, 0x70(%rdi)

        /* 1: write 512 'W' to sector 2. */
        movl $1, HDR
        movl $0, HDR + 4
        movq $2, HDR + 8
        movl $DATA, %eax
1:      movb $'W', (%rax)
        incl %eax
        cmpl $DATA + 512, %eax
        jne 1b
        movb $0xff, STATUS
        DESCR 0, HDR, 16, 1, 1
        DESCR 1, DATA, 512, 1, 2
        DESCR 2, STATUS, 1, 2, 0
        movl $1, %ecx
        call submit
        movb $6, %bl
        cmpb $0, STATUS
        jne fail
        movb $11, %bl
        testl $1, 0x60(%rdi)            /* used-buffer interrupt raised */
        jz fail
        movl $1, 0x64(%rdi)             /* acknowledge it */

        /* 2: flush. */
        movl $4, HDR
        movq $0, HDR + 8
        movb $0xff, STATUS
        DESCR 0, HDR, 16, 1, 2
        movl $2, %ecx
        call submit
        movb $7, %bl
        cmpb $0, STATUS
        jne fail

        /* 3: read sector 0. */
        movl $0, HDR
        movq $0, HDR + 8
        movl $0, DATA
        movb $0xff, STATUS
        DESCR 0, HDR, 16, 1, 1
        DESCR 1, DATA, 512, 3, 2
        movl $3, %ecx
        call submit
        movb $8, %bl
        cmpb $0, STATUS
        jne fail
        movb $9, %bl
        cmpl $0x54534f48, DATA          /* "HOST" */
        jne fail
        movb $10, %bl
        cmpl $513, USED + 4 + 8 * 2 + 4 /* used length: data + status */
        jne fail
        PUTS ok
        POWEROFF_WITH $0

/* submit: publishes descriptor 0 as avail entry %ecx-1, notifies queue 0 and polls until the
 * used index reaches %ecx (fails with 12 on timeout). */
submit:
        movl %ecx, %eax
        decl %eax
        andl $7, %eax
        movw $0, AVAIL + 4(,%rax,2)
        mfence
        movw %cx, AVAIL + 2
        mfence
        movl $0, 0x50(%rdi)
        movl $20000000, %r8d
2:      cmpw %cx, USED + 2
        je 3f
        pause
        decl %r8d
        jnz 2b
        movb $12, %bl
        jmp fail
3:      ret

fail:
        PUTS bad
        call put_hex8
        movb $'\n', %al
        call putc
        POWEROFF_WITH %bl

        LIB_FUNCS
        .section .rodata
ok:     .asciz "BLK OK\n"
bad:    .asciz "BLK FAIL "
