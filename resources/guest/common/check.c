/* Check bookkeeping shared by all guest tests. */
#include "check.h"

unsigned check_count;
unsigned check_failures;

void check_report(int ok, const char *name)
{
    check_count++;
    if (ok) {
        gprintf("ok   %s\n", name);
    } else {
        check_failures++;
        gprintf("FAIL %s\n", name);
    }
}

void check_report_eq(uint64_t got, uint64_t want, const char *name)
{
    check_count++;
    if (got == want) {
        gprintf("ok   %s\n", name);
    } else {
        check_failures++;
        gprintf("FAIL %s: got 0x%lx, want 0x%lx\n", name, (unsigned long)got, (unsigned long)want);
    }
}

int check_finish(void)
{
    if (check_failures == 0) {
        gprintf("%u checks\nPASS\n", check_count);
        return 0;
    }
    gprintf("%u checks\nFAIL %u\n", check_count, check_failures);
    return check_failures > 255 ? 255 : (int)check_failures;
}

int on_qemu_virt(void)
{
    return *(volatile uint32_t *)0x1000 == 0x00000297;
}
