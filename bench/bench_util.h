/* Shared by the bench microbenchmarks (gemm_peak, cross_core, mm_layout): a monotonic clock and a
 * 64-byte aligned buffer of small repeating values. */
#ifndef AE_BENCH_UTIL_H
#define AE_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* n floats, p[i] = (i mod `mod`) / 100, on a cache line boundary. */
static inline float *bench_filled(long n, int mod)
{
    float *p = aligned_alloc(64, ((size_t)n * sizeof *p + 63) / 64 * 64);
    for (long i = 0; p && i < n; i++) p[i] = (float)(i % mod) * 0.01f;
    return p;
}

#endif
