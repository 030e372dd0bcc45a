/* Sv39 and Sv48 translation built by the test: 4K, 2M, 1G (and Sv48 512G) pages,
 * page faults with the right cause (12/13/15) and tval = virtual address, invalid
 * and reserved PTEs, misaligned superpages, non-canonical addresses, A/D clear
 * (Svade), SUM, MXR, U pages, sfence.vma after a PTE change (all, or one address: a 4K
 * data page, a 4K code page, a page inside a 2M page), and MPRV. */
#include "check.h"
#include "trap.h"

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define LEAF_RW (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define LEAF_RWX (LEAF_RW | PTE_X)

#define SATP_SV39 (8UL << 60)
#define SATP_SV48 (9UL << 60)

#define VA_4K(i) (0x40000000UL + (uint64_t)(i) * 0x1000)
#define VA_2M 0x40200000UL
#define VA_2M_BAD 0x40400000UL
#define VA_1G 0x100000000UL
#define VA_HIGH 0xffffffc000000000UL
#define U_ALIAS_OFF 0x40000000UL   /* VA 0xC000_0000 + x = PA 0x8000_0000 + x, U=1 */
#define PA_2M 0x80800000UL

enum { P_RW, P_RO, P_NOA, P_NOD, P_USER, P_XONLY, P_CODE, P_INVALID, P_WNOR, P_SWAP, P_NONLEAF,
       P_JMP, P_JMP_TARGET };

static uint64_t root39[512] __attribute__((aligned(4096)));
static uint64_t l1[512] __attribute__((aligned(4096)));
static uint64_t l0[512] __attribute__((aligned(4096)));
static uint64_t root48[512] __attribute__((aligned(4096)));
static uint8_t pages[4][4096] __attribute__((aligned(4096)));
static volatile uint64_t marker = 0x600dcafe12345678UL;

extern char xpage[], xpage2[], xjump[], s_exec_after[], __image_end[];
uint64_t s_exec(uint64_t va);
uint64_t u_load_exit(uint64_t va);

static uint64_t pte(uint64_t pa, uint64_t flags) { return ((pa >> 12) << 10) | flags; }
static uint64_t page_pa(int i) { return (uint64_t)pages[i]; }
static uint64_t *page64(int i) { return (uint64_t *)pages[i]; }

static void build_tables(void)
{
    for (int i = 0; i < 512; i++)
        root39[i] = l1[i] = l0[i] = root48[i] = 0;
    root39[1] = pte((uint64_t)l1, PTE_V);                      /* 0x4000_0000.. */
    root39[2] = pte(0x80000000UL, LEAF_RWX);                   /* identity 1G */
    root39[3] = pte(0x80000000UL, LEAF_RWX | PTE_U);           /* U alias */
    root39[4] = pte(0x80000000UL, LEAF_RW);                    /* VA_1G -> 0x8000_0000 */
    root39[256] = pte(0x80000000UL, LEAF_RW);                  /* VA_HIGH */
    l1[0] = pte((uint64_t)l0, PTE_V);
    l1[1] = pte(PA_2M, LEAF_RW);                               /* 2M page */
    l1[2] = pte(PA_2M + 0x1000, LEAF_RW);                      /* misaligned superpage */
    l0[P_RW] = pte(page_pa(0), LEAF_RW);
    l0[P_RO] = pte(page_pa(1), PTE_V | PTE_R | PTE_A);
    l0[P_NOA] = pte(page_pa(2), PTE_V | PTE_R | PTE_W | PTE_D);
    l0[P_NOD] = pte(page_pa(2), PTE_V | PTE_R | PTE_W | PTE_A);
    l0[P_USER] = pte(page_pa(3), LEAF_RW | PTE_U);
    l0[P_XONLY] = pte(page_pa(1), PTE_V | PTE_X | PTE_A);
    l0[P_CODE] = pte((uint64_t)xpage, PTE_V | PTE_R | PTE_X | PTE_A);
    l0[P_INVALID] = pte(page_pa(0), PTE_R | PTE_W | PTE_A | PTE_D);  /* V=0 */
    l0[P_WNOR] = pte(page_pa(0), PTE_V | PTE_W | PTE_A | PTE_D);     /* reserved */
    l0[P_SWAP] = pte(page_pa(0), LEAF_RW);
    l0[P_NONLEAF] = pte(page_pa(0), PTE_V);                          /* pointer at last level */
    l0[P_JMP] = pte((uint64_t)xjump, PTE_V | PTE_R | PTE_X | PTE_A);
    l0[P_JMP_TARGET] = pte((uint64_t)xpage, PTE_V | PTE_R | PTE_X | PTE_A);
    root48[0] = pte((uint64_t)root39, PTE_V);                  /* Sv48: same layout below 512G */
    root48[2] = pte(0, LEAF_RW);                               /* 512G page at VA 0x100_0000_0000 */
    __asm__ volatile("sfence.vma" ::: "memory");
}

static uint64_t s_load(uint64_t va) { return *(volatile uint64_t *)va; }
static uint64_t s_store(uint64_t va) { *(volatile uint64_t *)va = 0x5157; return 0; }
static uint64_t s_store_sfence(uint64_t va)
{
    /* va: PTE address of P_SWAP; point it at page 1, flush, read through it */
    *(volatile uint64_t *)va = pte(page_pa(1), LEAF_RW);
    __asm__ volatile("sfence.vma" ::: "memory");
    return *(volatile uint64_t *)VA_4K(P_SWAP);
}

/* va: PTE address of P_SWAP (mapping page 1). Loads through it in a hot loop, remaps it to
 * page 2 and flushes only that address. */
static uint64_t s_remap_sfence_va(uint64_t va)
{
    uint64_t sum = 0;
    for (int i = 0; i < 3000; i++)
        sum += *(volatile uint64_t *)VA_4K(P_SWAP);
    *(volatile uint64_t *)va = pte(page_pa(2), LEAF_RW);
    __asm__ volatile("sfence.vma %0, zero" ::"r"(VA_4K(P_SWAP)) : "memory");
    return *(volatile uint64_t *)VA_4K(P_SWAP) + (sum != 3000 * 0x2222UL);
}

/* Calls the code page many times, remaps it to xpage2 and flushes only its address. */
static uint64_t s_remap_code_sfence_va(uint64_t va)
{
    uint64_t sum = 0;
    for (int i = 0; i < 3000; i++)
        sum += s_exec(va);
    l0[P_CODE] = pte((uint64_t)xpage2, PTE_V | PTE_R | PTE_X | PTE_A);
    __asm__ volatile("sfence.vma %0, zero" ::"r"(va) : "memory");
    return s_exec(va) + (sum != 3000 * 0x77UL);
}

/* Calls code that jumps directly into the next page many times, remaps that page to xpage2
 * and flushes only its address. */
static uint64_t s_remap_jump_target_sfence_va(uint64_t va)
{
    uint64_t sum = 0;
    for (int i = 0; i < 3000; i++)
        sum += s_exec(va);
    l0[P_JMP_TARGET] = pte((uint64_t)xpage2, PTE_V | PTE_R | PTE_X | PTE_A);
    __asm__ volatile("sfence.vma %0, zero" ::"r"(VA_4K(P_JMP_TARGET)) : "memory");
    return s_exec(va) + (sum != 3000 * 0x77UL);
}

/* Loads from the 2M page, remaps it, and flushes another 4K page inside it: the whole large
 * translation must go. */
static uint64_t s_remap_2m_sfence_va(uint64_t va)
{
    uint64_t sum = 0;
    for (int i = 0; i < 3000; i++)
        sum += *(volatile uint64_t *)va;
    l1[1] = pte(PA_2M + 0x200000, LEAF_RW);
    __asm__ volatile("sfence.vma %0, zero" ::"r"(VA_2M + 0x10000) : "memory");
    return *(volatile uint64_t *)va + (sum != 3000 * 0x5555UL);
}

/* Runs body in S (or U) and checks it faulted with `cause` and tval = va. */
static void expect_fault(unsigned mode, uint64_t (*fn)(uint64_t), uint64_t va, uint64_t cause, const char *name)
{
    expect_mtrap();
    run_in_mode(mode, fn, va);
    int ok = !mtrap_armed && mtrap.cause == cause && mtrap.tval == va;
    if (!ok)
        gprintf("     %s: cause=%ld tval=0x%lx\n", mtrap_armed ? "no trap" : "trap",
                (long)mtrap.cause, (unsigned long)mtrap.tval);
    mtrap_armed = 0;
    CHECK(ok, name);
}

static void expect_ok(unsigned mode, uint64_t (*fn)(uint64_t), uint64_t va, uint64_t want, const char *name)
{
    expect_mtrap();
    uint64_t r = run_in_mode(mode, fn, va);
    int trapped = !mtrap_armed;
    mtrap_armed = 0;
    if (trapped)
        gprintf("     trapped: cause=%ld tval=0x%lx\n", (long)mtrap.cause, (unsigned long)mtrap.tval);
    CHECK(!trapped && r == want, name);
}

static void fetch_fault(uint64_t va, const char *name)
{
    expect_mtrap();
    mtrap_resume = (uint64_t)s_exec_after;
    run_in_mode(PRV_S, s_exec, va);
    int ok = !mtrap_armed && mtrap.cause == CAUSE_FETCH_PAGE && mtrap.tval == va && mtrap.epc == va;
    if (!ok)
        gprintf("     cause=%ld tval=0x%lx epc=0x%lx\n", (long)mtrap.cause, (unsigned long)mtrap.tval,
                (unsigned long)mtrap.epc);
    mtrap_armed = 0;
    mtrap_resume = 0;
    CHECK(ok, name);
}

/* S-mode jumps to code on a U page: always an instruction page fault. */
static void s_fetch_user(const char *name)
{
    uint64_t va = (uint64_t)u_load_exit + U_ALIAS_OFF;
    expect_mtrap();
    mtrap_resume = (uint64_t)mode_exit;
    run_in_mode(PRV_S, (uint64_t(*)(uint64_t))va, va);
    int ok = !mtrap_armed && mtrap.cause == CAUSE_FETCH_PAGE && mtrap.tval == va;
    if (!ok)
        gprintf("     armed=%d cause=%ld tval=0x%lx\n", mtrap_armed, (long)mtrap.cause, (unsigned long)mtrap.tval);
    mtrap_armed = 0;
    mtrap_resume = 0;
    CHECK(ok, name);
}

static void common_checks(const char *mode, int sv39)
{
    gprintf("-- %s\n", mode);
    page64(0)[0] = 0x1111;
    page64(1)[0] = 0x2222;
    page64(2)[0] = 0x3333;
    page64(3)[0] = 0x4444;
    *(volatile uint64_t *)(PA_2M + 0x1238) = 0x5555;
    expect_ok(PRV_S, s_load, VA_4K(P_RW), 0x1111, "4K page load");
    expect_ok(PRV_S, s_store, VA_4K(P_RW) + 8, 0, "4K page store");
    CHECK_EQ(page64(0)[1], 0x5157, "4K page store reached the physical page");
    expect_ok(PRV_S, s_load, VA_2M + 0x1238, 0x5555, "2M page load");
    uint64_t off = (uint64_t)&marker - 0x80000000UL;
    expect_ok(PRV_S, s_load, VA_1G + off, marker, "1G page load");
    if (sv39)
        expect_ok(PRV_S, s_load, VA_HIGH + off, marker, "high-half (sign-extended) VA load");
    expect_ok(PRV_S, s_exec, VA_4K(P_CODE), 0x77, "fetch from X page at a VA");
    expect_fault(PRV_S, s_load, VA_4K(P_INVALID), CAUSE_LOAD_PAGE, "invalid PTE load: 13, tval=VA");
    expect_fault(PRV_S, s_store, VA_4K(P_INVALID) + 16, CAUSE_STORE_PAGE, "invalid PTE store: 15, tval=VA");
    fetch_fault(VA_4K(P_INVALID), "invalid PTE fetch: 12, tval=VA");
    fetch_fault(VA_4K(P_RW), "fetch from non-X page: 12");
    expect_ok(PRV_S, s_load, VA_4K(P_RO), 0x2222, "read-only page load");
    expect_fault(PRV_S, s_store, VA_4K(P_RO) + 8, CAUSE_STORE_PAGE, "read-only page store: 15");
    CHECK_EQ(page64(1)[1], 0, "faulting store wrote nothing");
    expect_fault(PRV_S, s_load, VA_4K(P_WNOR), CAUSE_LOAD_PAGE, "W without R (reserved): 13");
    expect_fault(PRV_S, s_load, VA_4K(P_NONLEAF), CAUSE_LOAD_PAGE, "pointer PTE at level 0: 13");
    expect_fault(PRV_S, s_load, VA_2M_BAD + 8, CAUSE_LOAD_PAGE, "misaligned 2M superpage: 13");
    if (sv39)
        expect_fault(PRV_S, s_load, 0x0000004000000000UL, CAUSE_LOAD_PAGE, "non-canonical Sv39 VA: 13");

    /* Svade: A=0 or (store and D=0) raise a page fault. QEMU 7.2 updates A/D in
     * hardware instead (Svadu-like); accepted there only, with the bit set. */
    uint64_t before = l0[P_NOA];
    expect_mtrap();
    run_in_mode(PRV_S, s_load, VA_4K(P_NOA));
    if (mtrap_armed && on_qemu_virt()) {
        mtrap_armed = 0;
        CHECK(l0[P_NOA] & PTE_A, "A=0 load (QEMU: hardware set A)");
    } else {
        mtrap_armed = 0;
        CHECK(mtrap.cause == CAUSE_LOAD_PAGE && mtrap.tval == VA_4K(P_NOA), "A=0 load: 13 (Svade)");
        CHECK_EQ(l0[P_NOA], before, "A=0 fault leaves PTE unchanged");
    }
    l0[P_NOA] = before;
    before = l0[P_NOD];
    expect_mtrap();
    run_in_mode(PRV_S, s_store, VA_4K(P_NOD));
    if (mtrap_armed && on_qemu_virt()) {
        mtrap_armed = 0;
        CHECK(l0[P_NOD] & PTE_D, "D=0 store (QEMU: hardware set D)");
    } else {
        mtrap_armed = 0;
        CHECK(mtrap.cause == CAUSE_STORE_PAGE && mtrap.tval == VA_4K(P_NOD), "D=0 store: 15 (Svade)");
    }
    l0[P_NOD] = before;
    __asm__ volatile("sfence.vma" ::: "memory");
    expect_ok(PRV_S, s_load, VA_4K(P_NOD), page64(2)[0], "D=0 page still loads");

    /* SUM */
    csr_clear(mstatus, MSTATUS_SUM | MSTATUS_MXR);
    expect_fault(PRV_S, s_load, VA_4K(P_USER), CAUSE_LOAD_PAGE, "S load from U page without SUM: 13");
    csr_set(mstatus, MSTATUS_SUM);
    expect_ok(PRV_S, s_load, VA_4K(P_USER), 0x4444, "S load from U page with SUM");
    s_fetch_user("S fetch from U page (SUM=1) faults");
    csr_clear(mstatus, MSTATUS_SUM);
    s_fetch_user("S fetch from U page (SUM=0) faults");
    csr_clear(mstatus, MSTATUS_SUM);
    /* MXR */
    expect_fault(PRV_S, s_load, VA_4K(P_XONLY), CAUSE_LOAD_PAGE, "load from X-only page without MXR: 13");
    csr_set(mstatus, MSTATUS_MXR);
    expect_ok(PRV_S, s_load, VA_4K(P_XONLY), 0x2222, "load from X-only page with MXR");
    csr_clear(mstatus, MSTATUS_MXR);
    /* U mode */
    uint64_t ufn = (uint64_t)u_load_exit + U_ALIAS_OFF;
    expect_mtrap();
    uint64_t r = run_in_mode(PRV_U, (uint64_t(*)(uint64_t))ufn, VA_4K(P_USER));
    CHECK(mtrap_armed && r == 0x4444, "U load from U page");
    expect_mtrap();
    run_in_mode(PRV_U, (uint64_t(*)(uint64_t))ufn, VA_4K(P_RW));
    CHECK(!mtrap_armed && mtrap.cause == CAUSE_LOAD_PAGE && mtrap.tval == VA_4K(P_RW),
          "U load from S page: 13");
    mtrap_armed = 0;
    /* sfence.vma after a PTE change (done in S) */
    l0[P_SWAP] = pte(page_pa(0), LEAF_RW);
    __asm__ volatile("sfence.vma" ::: "memory");
    expect_ok(PRV_S, s_load, VA_4K(P_SWAP), 0x1111, "PTE before change");
    expect_ok(PRV_S, s_store_sfence, (uint64_t)&l0[P_SWAP], 0x2222, "sfence.vma makes the new PTE visible");
    /* (page 2's first word: 0x3333, or what QEMU's hardware-D store above left there) */
    expect_ok(PRV_S, s_remap_sfence_va, (uint64_t)&l0[P_SWAP], page64(2)[0],
              "sfence.vma va makes a hot page's new PTE visible");
    expect_ok(PRV_S, s_remap_code_sfence_va, VA_4K(P_CODE), 0x88,
              "sfence.vma va makes a hot code page's new PTE visible");
    l0[P_CODE] = pte((uint64_t)xpage, PTE_V | PTE_R | PTE_X | PTE_A);
    expect_ok(PRV_S, s_remap_jump_target_sfence_va, VA_4K(P_JMP), 0x88,
              "sfence.vma va makes a direct jump's new target page visible");
    l0[P_JMP_TARGET] = pte((uint64_t)xpage, PTE_V | PTE_R | PTE_X | PTE_A);
    *(volatile uint64_t *)(PA_2M + 0x200000 + 0x1238) = 0x6666;
    expect_ok(PRV_S, s_remap_2m_sfence_va, VA_2M + 0x1238, 0x6666,
              "sfence.vma of another address in a 2M page flushes the 2M translation");
    l1[1] = pte(PA_2M, LEAF_RW);
    __asm__ volatile("sfence.vma" ::: "memory");
    /* MPRV: M-mode loads translated as S */
    uint64_t v;
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, (uint64_t)PRV_S << 11);
    csr_set(mstatus, MSTATUS_MPRV);
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(VA_4K(P_RW)) : "memory");
    csr_clear(mstatus, MSTATUS_MPRV);
    CHECK_EQ(v, 0x1111, "MPRV=1 MPP=S: M load translated");
    expect_mtrap();
    csr_set(mstatus, MSTATUS_MPRV);
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(VA_4K(P_INVALID)) : "memory");
    csr_clear(mstatus, MSTATUS_MPRV);
    CHECK(mtrap.cause == CAUSE_LOAD_PAGE && mtrap.tval == VA_4K(P_INVALID) && MTRAP_PREV_PRIV() == PRV_M,
          "MPRV load fault: 13 taken from M");
    csr_set(mstatus, MSTATUS_MPP);
    csr_set(mstatus, MSTATUS_MPRV);
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(&marker) : "memory");
    csr_clear(mstatus, MSTATUS_MPRV);
    CHECK_EQ(v, marker, "MPRV=1 MPP=M: untranslated");
}

int main(void)
{
    CHECK((uint64_t)__image_end <= PA_2M, "image below the 2M test region");
    build_tables();
    csr_write(satp, SATP_SV39 | ((uint64_t)root39 >> 12));
    CHECK_EQ(csr_read(satp), SATP_SV39 | ((uint64_t)root39 >> 12), "satp Sv39 sticks");
    __asm__ volatile("sfence.vma" ::: "memory");
    common_checks("Sv39", 1);

    csr_write(satp, SATP_SV48 | ((uint64_t)root48 >> 12));
    CHECK_EQ(csr_read(satp), SATP_SV48 | ((uint64_t)root48 >> 12), "satp Sv48 sticks");
    __asm__ volatile("sfence.vma" ::: "memory");
    common_checks("Sv48", 0);
    uint64_t off = (uint64_t)&marker;
    expect_ok(PRV_S, s_load, 0x10000000000UL + off, marker, "Sv48 512G page load");
    expect_fault(PRV_S, s_load, 0x0000800000000000UL, CAUSE_LOAD_PAGE, "non-canonical Sv48 VA: 13");
    csr_write(satp, 0);
    __asm__ volatile("sfence.vma" ::: "memory");
    expect_ok(PRV_S, s_load, (uint64_t)&marker, marker, "satp=0: bare again");
    return check_finish();
}
