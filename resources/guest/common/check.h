/* Check macros for the guest tests: one console line per check, a final
 * "PASS" or "FAIL n" line, and the exit code (0 only when every check passed). */
#ifndef GUEST_CHECK_H
#define GUEST_CHECK_H
#include <stdint.h>
#include "semihost.h"

extern unsigned check_count;
extern unsigned check_failures;

/* Records one check result; prints "ok <name>" or "FAIL <name>". */
void check_report(int ok, const char *name);
/* Records an equality check of two 64-bit values; prints both on failure. */
void check_report_eq(uint64_t got, uint64_t want, const char *name);
/* Prints "PASS" (returns 0) or "FAIL n" (returns n, at most 255). */
int check_finish(void);
/* 1 when running on QEMU's virt board (its MROM starts with auipc t0,0), 0 on G233. */
int on_qemu_virt(void);

#define CHECK(cond, name) check_report(!!(cond), (name))
#define CHECK_EQ(got, want, name) check_report_eq((uint64_t)(got), (uint64_t)(want), (name))

#endif
