/* sort: quicksort (median of three, insertion sort for short ranges) of 100 000
 * pseudo-random signed 32-bit integers, repeated with fresh data; each result
 * is checked to be ordered and hashed into the checksum. */
#include "bench.h"

#define N 100000
#define ROUNDS 40

static int32_t a[N];

static void insertion(int32_t *v, long lo, long hi)
{
    for (long i = lo + 1; i <= hi; i++) {
        int32_t x = v[i];
        long j = i - 1;
        while (j >= lo && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

static void swap(int32_t *v, long i, long j)
{
    int32_t t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void quicksort(int32_t *v, long lo, long hi)
{
    while (hi - lo > 16) {
        long mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo])
            swap(v, mid, lo);
        if (v[hi] < v[lo])
            swap(v, hi, lo);
        if (v[hi] < v[mid])
            swap(v, hi, mid);
        int32_t pivot = v[mid];
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                swap(v, i, j);
                i++;
                j--;
            }
        }
        /* Recurse into the smaller part, loop on the larger: bounded stack. */
        if (j - lo < hi - i) {
            quicksort(v, lo, j);
            lo = i;
        } else {
            quicksort(v, i, hi);
            hi = j;
        }
    }
    insertion(v, lo, hi);
}

int main(void)
{
    uint64_t start = rd_minstret();
    uint64_t seed = 42, h = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (long i = 0; i < N; i++)
            a[i] = (int32_t)splitmix64(&seed);
        quicksort(a, 0, N - 1);
        for (long i = 1; i < N; i++) {
            if (a[i - 1] > a[i]) {
                sh_puts("ERROR sort: result not ordered\n");
                return 1;
            }
        }
        for (long i = 0; i < N; i += 97)
            h = mix(h, (uint32_t)a[i]);
    }
    uint64_t insns = rd_minstret() - start;
    bench_report("sort", insns, h);
    return 0;
}
