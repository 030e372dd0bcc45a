/* RV64M: multiply high parts, division by zero and MIN/-1 overflow (no traps),
 * signed remainder signs, and the W forms' sign extension. */
#include "check.h"
#include "insn.h"

#define MIN64 0x8000000000000000UL
#define MAX64 0x7fffffffffffffffUL

int main(void)
{
    /* division by zero: quotient all ones, remainder = dividend */
    CHECK_EQ(RR("div", 42, 0), ~0UL, "div by 0 = -1");
    CHECK_EQ(RR("divu", 42, 0), ~0UL, "divu by 0 = 2^64-1");
    CHECK_EQ(RR("rem", -42L, 0), -42L, "rem by 0 = dividend");
    CHECK_EQ(RR("remu", 42, 0), 42, "remu by 0 = dividend");
    CHECK_EQ(RR("divw", 0x1234500000007UL, 0xffffffff00000000UL), ~0UL, "divw by 0 (low word) = -1");
    CHECK_EQ(RR("divuw", 7, 0), ~0UL, "divuw by 0 = sext(0xffffffff)");
    CHECK_EQ(RR("remw", 0x00000000fffffff9UL, 0), (uint64_t)-7L, "remw by 0 = sext(dividend)");
    CHECK_EQ(RR("remuw", 0x1234567880000000UL, 0), 0xffffffff80000000UL, "remuw by 0 = sext(low word)");
    /* overflow */
    CHECK_EQ(RR("div", MIN64, -1L), MIN64, "div MIN/-1 = MIN");
    CHECK_EQ(RR("rem", MIN64, -1L), 0, "rem MIN/-1 = 0");
    CHECK_EQ(RR("divw", 0x80000000UL, -1L), 0xffffffff80000000UL, "divw MIN/-1 = MIN");
    CHECK_EQ(RR("remw", 0x80000000UL, -1L), 0, "remw MIN/-1 = 0");
    CHECK_EQ(RR("divu", MIN64, -1L), 0, "divu MIN/max = 0");
    /* signs: truncation toward zero, remainder has the dividend's sign */
    CHECK_EQ(RR("div", -7L, 2), (uint64_t)-3L, "div -7/2 = -3");
    CHECK_EQ(RR("rem", -7L, 2), (uint64_t)-1L, "rem -7%2 = -1");
    CHECK_EQ(RR("div", 7, -2L), (uint64_t)-3L, "div 7/-2 = -3");
    CHECK_EQ(RR("rem", 7, -2L), 1, "rem 7%-2 = 1");
    CHECK_EQ(RR("divu", -7L, 2), 0x7ffffffffffffffcUL, "divu treats dividend unsigned");
    CHECK_EQ(RR("remu", -7L, 2), 1, "remu");
    CHECK_EQ(RR("divw", 0xfffffffffffffff9UL, 0x100000002UL), (uint64_t)-3L, "divw uses low words");
    CHECK_EQ(RR("divuw", 0xffffffffUL, 2), 0x7fffffffUL, "divuw");
    CHECK_EQ(RR("divuw", 0xffffffff80000000UL, 1), 0xffffffff80000000UL, "divuw result sign-extended");
    CHECK_EQ(RR("remuw", 0xffffffffUL, 0x10UL), 0xf, "remuw");
    CHECK_EQ(RR("remw", 0xfffffff9UL, 2), (uint64_t)-1L, "remw -7%2 = -1");
    /* multiplies */
    CHECK_EQ(RR("mul", 0x123456789UL, 0x987654321UL), 0x123456789UL * 0x987654321UL, "mul low");
    CHECK_EQ(RR("mul", MIN64, -1L), MIN64, "mul MIN*-1 wraps");
    CHECK_EQ(RR("mulh", -1L, -1L), 0, "mulh -1*-1 = 0");
    CHECK_EQ(RR("mulh", MIN64, MIN64), 0x4000000000000000UL, "mulh MIN*MIN");
    CHECK_EQ(RR("mulh", MIN64, 1), ~0UL, "mulh MIN*1 = -1");
    CHECK_EQ(RR("mulhu", ~0UL, ~0UL), 0xfffffffffffffffeUL, "mulhu max*max");
    CHECK_EQ(RR("mulhu", MIN64, 2), 1, "mulhu");
    CHECK_EQ(RR("mulhsu", -1L, ~0UL), ~0UL, "mulhsu -1*max = -1 high");
    CHECK_EQ(RR("mulhsu", MAX64, ~0UL), 0x7ffffffffffffffeUL, "mulhsu MAX*max");
    CHECK_EQ(RR("mulhsu", -2L, 3), ~0UL, "mulhsu -2*3");
    CHECK_EQ(RR("mulhsu", 2, -1L), 1, "mulhsu rs2 unsigned");
    CHECK_EQ(RR("mulw", 0x7fffffffUL, 2), (uint64_t)-2L, "mulw sign-extends");
    CHECK_EQ(RR("mulw", 0x1234500010000UL, 0xabc00010000UL), 0, "mulw ignores upper bits");
    CHECK_EQ(RR("mulw", 0x10000UL, 0x8000UL), 0xffffffff80000000UL, "mulw 2^31");
    return check_finish();
}
