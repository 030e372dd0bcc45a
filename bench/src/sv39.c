/* sv39: a trap- and TLB-heavy S/U-mode program under Sv39.
 *
 * M-mode builds the page tables and drops to S-mode; S-mode turns on Sv39 and
 * drops to a U-mode loop that touches 1024 pages of a 4 MiB user window
 * (scattered, 4 KiB pages) and makes a system call (ecall into S-mode) every
 * 16 page touches. Each call unmaps one user page (PTE.V = 0 and
 * sfence.vma on that address), every 16th call also flushes the whole TLB
 * (sfence.vma with no operands). The U loop touching an unmapped page takes a
 * page fault, which S-mode repairs (maps it back, sfence.vma) and retries: demand
 * paging. The final U "exit" call goes up to M-mode, which reports. */
#include "bench.h"

#define ITERATIONS 50000
#define USER_BASE 0x40000000UL
#define USER_PAGES 1024
#define SYSCALL_TICK 1
#define SYSCALL_EXIT 2
#define SYSCALL_FATAL 0xdead

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define PTE_LEAF_KERNEL (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)

#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_LOAD_PAGE 13
#define CAUSE_STORE_PAGE 15

extern char __user_text_start[], __user_text_end[], __trap_stack_top[];
void sv39_mtrap_entry(void);
void sv39_strap_entry(void);
void enter_smode(void (*entry)(uint64_t), uint64_t arg, void *stack) __attribute__((noreturn));
void enter_umode(void (*entry)(uint64_t), uint64_t arg) __attribute__((noreturn));
void user_main(uint64_t iterations);

typedef uint64_t pte_t;
static pte_t root[512] __attribute__((aligned(4096)));
static pte_t l1_kernel[512] __attribute__((aligned(4096)));
static pte_t l0_kernel[512] __attribute__((aligned(4096)));
static pte_t l1_user[512] __attribute__((aligned(4096)));
static pte_t l0_user[USER_PAGES] __attribute__((aligned(4096)));
static uint8_t s_stack[16384] __attribute__((aligned(16)));
static uint8_t s_trap_stack[16384] __attribute__((aligned(16)));

static uint64_t start_insns;
static uint64_t ticks, faults, full_flushes;

static pte_t table_pte(const void *table)
{
    return (((uint64_t)table >> 12) << 10) | PTE_V;
}

static pte_t leaf_pte(uint64_t pa, uint64_t flags)
{
    return ((pa >> 12) << 10) | flags;
}

/* Identity map of the 1 GiB at 0x8000_0000 for S-mode (the first 2 MiB in
 * 4 KiB pages so the U-mode text can be U=1), plus the user window at
 * USER_BASE backed by the pages at __heap_start. */
static int build_tables(void)
{
    uint64_t base = 0x80000000UL;
    if ((uint64_t)__heap_start != base + 0x200000) {
        sh_puts("ERROR sv39: image larger than 2 MiB\n");
        return 1;
    }
    root[2] = table_pte(l1_kernel);
    l1_kernel[0] = table_pte(l0_kernel);
    for (int i = 1; i < 512; i++)
        l1_kernel[i] = leaf_pte(base + ((uint64_t)i << 21), PTE_LEAF_KERNEL);
    for (int i = 0; i < 512; i++) {
        uint64_t pa = base + ((uint64_t)i << 12);
        if (pa >= (uint64_t)__user_text_start && pa < (uint64_t)__user_text_end)
            l0_kernel[i] = leaf_pte(pa, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A);
        else
            l0_kernel[i] = leaf_pte(pa, PTE_LEAF_KERNEL);
    }
    root[1] = table_pte(l1_user);
    l1_user[0] = table_pte(&l0_user[0]);
    l1_user[1] = table_pte(&l0_user[512]);
    uint64_t *data = (uint64_t *)__heap_start;
    for (int i = 0; i < USER_PAGES; i++) {
        l0_user[i] = leaf_pte((uint64_t)__heap_start + ((uint64_t)i << 12),
                              PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
        for (int k = 0; k < 512; k++)
            data[i * 512 + k] = (uint64_t)i * 0x10001 + (uint64_t)k;
    }
    return 0;
}

static void fatal_from_s(uint64_t cause, uint64_t tval)
{
    register uint64_t a0 __asm__("a0") = cause;
    register uint64_t a1 __asm__("a1") = tval;
    register uint64_t a7 __asm__("a7") = SYSCALL_FATAL;
    __asm__ volatile("ecall" : : "r"(a0), "r"(a1), "r"(a7) : "memory");
    for (;;)
        ;
}

static void exit_from_s(uint64_t sum)
{
    register uint64_t a0 __asm__("a0") = sum;
    register uint64_t a7 __asm__("a7") = SYSCALL_EXIT;
    __asm__ volatile("ecall" : : "r"(a0), "r"(a7) : "memory");
    for (;;)
        ;
}

/* S-mode trap handler. `frame[i]` is x_i at the trap. */
void sv39_strap(uint64_t *frame)
{
    uint64_t cause, epc, tval;
    __asm__ volatile("csrr %0, scause" : "=r"(cause));
    __asm__ volatile("csrr %0, sepc" : "=r"(epc));
    __asm__ volatile("csrr %0, stval" : "=r"(tval));
    if (cause == CAUSE_ECALL_U) {
        uint64_t nr = frame[17];
        if (nr == SYSCALL_EXIT)
            exit_from_s(frame[10]);
        if (nr != SYSCALL_TICK)
            fatal_from_s(cause, nr);
        ticks++;
        uint64_t page = (ticks * 7) % USER_PAGES;
        l0_user[page] &= ~PTE_V;
        uint64_t va = USER_BASE + (page << 12);
        __asm__ volatile("sfence.vma %0, zero" : : "r"(va) : "memory");
        if ((ticks & 15) == 0) {
            full_flushes++;
            __asm__ volatile("sfence.vma" : : : "memory");
        }
        frame[10] = ticks ^ (frame[10] >> 3);
        __asm__ volatile("csrw sepc, %0" : : "r"(epc + 4));
        return;
    }
    if (cause == CAUSE_LOAD_PAGE || cause == CAUSE_STORE_PAGE) {
        if (tval < USER_BASE || tval >= USER_BASE + USER_PAGES * 4096UL)
            fatal_from_s(cause, tval);
        uint64_t page = (tval - USER_BASE) >> 12;
        if (l0_user[page] & PTE_V)
            fatal_from_s(cause, tval); /* a fault on a mapped page: emulator bug */
        l0_user[page] |= PTE_V;
        __asm__ volatile("sfence.vma %0, zero" : : "r"(tval) : "memory");
        faults++;
        return;
    }
    fatal_from_s(cause, tval);
}

/* S-mode entry: trap vector, Sv39 on, then U-mode. */
static void s_main(uint64_t iterations)
{
    __asm__ volatile("csrw stvec, %0" : : "r"(sv39_strap_entry));
    __asm__ volatile("csrw sscratch, %0" : : "r"(s_trap_stack + sizeof(s_trap_stack)));
    uint64_t satp = (8UL << 60) | ((uint64_t)root >> 12);
    __asm__ volatile("csrw satp, %0\n sfence.vma" : : "r"(satp) : "memory");
    enter_umode(user_main, iterations);
}

/* M-mode trap handler: S-mode's exit or fatal-error call. Never returns. */
void sv39_mtrap(uint64_t a0, uint64_t a1, uint64_t a7, uint64_t cause, uint64_t epc,
                uint64_t tval)
{
    if (cause == CAUSE_ECALL_S && a7 == SYSCALL_EXIT) {
        uint64_t insns = rd_minstret() - start_insns;
        if (ticks != ITERATIONS || faults == 0) {
            print_dec("ERROR sv39: wrong tick count ", ticks);
            sh_exit(1);
        }
        print_dec("ticks=", ticks);
        print_dec("page faults=", faults);
        print_dec("full flushes=", full_flushes);
        bench_report("sv39", insns, mix(mix(a0, ticks), faults));
        sh_exit(0);
    }
    if (cause == CAUSE_ECALL_S && a7 == SYSCALL_FATAL) {
        print_hex("ERROR sv39: unexpected S-mode trap, scause=", a0);
        print_hex("  stval/arg=", a1);
        sh_exit(4);
    }
    bench_unexpected_trap(cause, epc, tval);
}

int main(void)
{
    start_insns = rd_minstret();
    if (build_tables())
        return 1;
    /* U ecalls and U page faults go to S-mode; S ecalls come to M-mode. */
    __asm__ volatile("csrw medeleg, %0" : : "r"((1UL << CAUSE_ECALL_U) | (1UL << CAUSE_LOAD_PAGE) |
                                                (1UL << CAUSE_STORE_PAGE) | (1UL << 12)));
    __asm__ volatile("csrw mideleg, zero");
    __asm__ volatile("csrw mtvec, %0" : : "r"(sv39_mtrap_entry));
    __asm__ volatile("csrw mscratch, %0" : : "r"(__trap_stack_top));
    enter_smode(s_main, ITERATIONS, s_stack + sizeof(s_stack));
}
