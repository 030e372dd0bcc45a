/* Semihosting console/exit and result reporting for the benchmarks. */
#include <stddef.h>
#include "bench.h"

/* The semihosting trap: uncompressed, and the three instructions must not
 * straddle a page, hence the alignment. a0 = op, a1 = arg, result in a0. */
__asm__(".section .text\n"
        ".globl sh_call\n"
        ".balign 16\n"
        "sh_call:\n"
        ".option push\n"
        ".option norvc\n"
        "    slli x0, x0, 0x1f\n"
        "    ebreak\n"
        "    srai x0, x0, 7\n"
        ".option pop\n"
        "    ret\n");

void sh_puts(const char *s)
{
    sh_call(SYS_WRITE0, (long)s);
}

void sh_exit(long code)
{
    static volatile uint64_t block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint64_t)code;
    sh_call(SYS_EXIT_EXTENDED, (long)block);
    /* Hosts without SYS_EXIT_EXTENDED. */
    sh_call(SYS_EXIT, code == 0 ? ADP_STOPPED_APPLICATION_EXIT : 0x20024);
    for (;;)
        __asm__ volatile("wfi");
}

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_dec(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_hex(char *p, uint64_t v)
{
    *p++ = '0';
    *p++ = 'x';
    for (int i = 60; i >= 0; i -= 4)
        *p++ = "0123456789abcdef"[(v >> i) & 0xf];
    return p;
}

void print_dec(const char *label, uint64_t v)
{
    char buf[160];
    char *p = put_str(buf, label);
    p = put_dec(p, v);
    *p++ = '\n';
    *p = 0;
    sh_puts(buf);
}

void print_hex(const char *label, uint64_t v)
{
    char buf[160];
    char *p = put_str(buf, label);
    p = put_hex(p, v);
    *p++ = '\n';
    *p = 0;
    sh_puts(buf);
}

void bench_report(const char *name, uint64_t insns, uint64_t checksum)
{
    char buf[200];
    char *p = put_str(buf, "RESULT name=");
    p = put_str(p, name);
    p = put_str(p, " insns=");
    p = put_dec(p, insns);
    p = put_str(p, " checksum=");
    p = put_hex(p, checksum);
    *p++ = '\n';
    *p = 0;
    sh_puts(buf);
}

void bench_unexpected_trap(uint64_t cause, uint64_t epc, uint64_t tval)
{
    print_hex("ERROR unexpected M-mode trap, mcause=", cause);
    print_hex("  mepc=", epc);
    print_hex("  mtval=", tval);
    sh_exit(3);
}

/* GCC may emit calls to these even in freestanding code (struct copies). */
void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}
