/* Semihosting calls and console formatting for the guest tests. */
#include <stdarg.h>
#include "semihost.h"

/* The semihosting trap: must be uncompressed and the three instructions must
 * not straddle a page, hence the alignment. a0 = op, a1 = arg, result in a0. */
__asm__(
    ".section .text\n"
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

void sh_putc(char c)
{
    volatile char ch = c;
    sh_call(SYS_WRITEC, (long)&ch);
}

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
    /* Fallback for hosts without SYS_EXIT_EXTENDED. */
    sh_call(SYS_EXIT, code == 0 ? ADP_STOPPED_APPLICATION_EXIT : 0x20024);
    for (;;)
        __asm__ volatile("wfi");
}

static char buf[256];
static unsigned len;

static void flush(void)
{
    if (len) {
        buf[len] = 0;
        sh_puts(buf);
        len = 0;
    }
}

static void put(char c)
{
    if (len >= sizeof(buf) - 1)
        flush();
    buf[len++] = c;
    if (c == '\n')
        flush();
}

static void put_num(unsigned long long v, unsigned base, int neg, int width, char pad)
{
    char tmp[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (neg)
        tmp[n++] = '-';
    while (width > n) {
        put(pad);
        width--;
    }
    while (n)
        put(tmp[--n]);
}

void gprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s)
                put(*s++);
            break;
        }
        case 'c':
            put((char)va_arg(ap, int));
            break;
        case 'd': {
            long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
            put_num(v < 0 ? -(unsigned long long)v : (unsigned long long)v, 10, v < 0, width, pad);
            break;
        }
        case 'u': {
            unsigned long long v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
            put_num(v, 10, 0, width, pad);
            break;
        }
        case 'x': {
            unsigned long long v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
            put_num(v, 16, 0, width, pad);
            break;
        }
        case 'p':
            put('0');
            put('x');
            put_num((unsigned long long)(uintptr_t)va_arg(ap, void *), 16, 0, width, pad);
            break;
        case '%':
            put('%');
            break;
        case 0:
            fmt--;
            break;
        default:
            put('%');
            put(*fmt);
            break;
        }
    }
    va_end(ap);
    flush();
}
