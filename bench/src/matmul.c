/* matmul: dense 200x200 double matrix multiply (i-k-j order, fused multiply-add
 * friendly), repeated; each product, scaled by 1/16 (exact), is the next left
 * operand, so every round depends on the previous one. */
#include "bench.h"

#define N 200
#define ROUNDS 6

static double a[N][N], b[N][N], c[N][N];

static double uniform(uint64_t *seed)
{
    /* 53 random bits into [-1, 1). */
    return (double)(int64_t)(splitmix64(seed) >> 10) * 0x1p-53 * 2.0 - 1.0 + 0.0;
}

int main(void)
{
    uint64_t start = rd_minstret();
    uint64_t seed = 3, h = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = uniform(&seed);
            b[i][j] = uniform(&seed);
        }
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                c[i][j] = 0.0;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double aik = a[i][k];
                for (int j = 0; j < N; j++)
                    c[i][j] += aik * b[k][j];
            }
        double sum = 0.0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                sum += c[i][j];
                a[i][j] = c[i][j] * 0.0625;
            }
        h = mix(h, dbits(sum));
        h = mix(h, dbits(c[r % N][(r * 7) % N]));
    }
    uint64_t insns = rd_minstret() - start;
    bench_report("matmul", insns, h);
    return 0;
}
