/* crc32: table-driven CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) over a
 * 64 KiB pseudo-random buffer, many passes; each pass's CRC feeds the next. */
#include "bench.h"

#define BUF_SIZE (64 * 1024)
#define PASSES 2000

static uint32_t table[256];
static uint8_t buf[BUF_SIZE];

static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

static uint32_t crc32(uint32_t crc, const uint8_t *p, uint64_t n)
{
    crc = ~crc;
    for (uint64_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int main(void)
{
    uint64_t start = rd_minstret();
    make_table();
    /* Self-check against the standard check value of "123456789". */
    static const uint8_t check[] = "123456789";
    if (crc32(0, check, 9) != 0xCBF43926u) {
        sh_puts("ERROR crc32 check value mismatch\n");
        return 1;
    }
    uint64_t seed = 1;
    for (int i = 0; i < BUF_SIZE; i += 8) {
        uint64_t r = splitmix64(&seed);
        for (int k = 0; k < 8; k++)
            buf[i + k] = (uint8_t)(r >> (8 * k));
    }
    uint32_t crc = 0;
    uint64_t h = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        crc = crc32(crc, buf, BUF_SIZE);
        h = mix(h, crc);
    }
    uint64_t insns = rd_minstret() - start;
    bench_report("crc32", insns, h);
    return 0;
}
