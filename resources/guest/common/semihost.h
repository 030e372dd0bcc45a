/* RISC-V semihosting (the ARM semihosting ABI behind the slli/ebreak/srai sequence):
 * console output and program exit, plus a tiny printf for test reports. */
#ifndef GUEST_SEMIHOST_H
#define GUEST_SEMIHOST_H
#include <stdint.h>

#define SYS_WRITEC 0x03
#define SYS_WRITE0 0x04
#define SYS_WRITE  0x05
#define SYS_READC  0x07
#define SYS_CLOCK  0x10
#define SYS_TIME   0x11
#define SYS_ERRNO  0x13
#define SYS_EXIT   0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

/* Performs semihosting call `op` with parameter `arg`; returns the host's a0. */
long sh_call(long op, long arg);
/* Writes one character to the console. */
void sh_putc(char c);
/* Writes a NUL-terminated string to the console. */
void sh_puts(const char *s);
/* Minimal printf: %s %c %d %u %x %p with l/ll and width/zero-padding. */
void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the program: SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit and `code`. */
void sh_exit(long code) __attribute__((noreturn));

#endif
