/* Block-parallel noise for the stochastic ops: a tensor is cut into AE_RNG_BLOCK-sized blocks, each
 * drawn from its own GSL taus2 generator seeded from (seed, block index) or, for AE_RNG_NORMAL, from
 * the block's counter range of the Philox stream keyed by seed; blocks filled in parallel. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>

#include "ae_philox.h"
#include "ae_rng.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many values the blocks run on the calling thread (a parallel region costs more). */
#define PAR_MIN (8 * AE_RNG_BLOCK)
#define CHUNK 4 /* blocks per hand-out in the parallel loop */

uint64_t ae_rng_seed64(ae_rng *r)
{
    uint64_t hi = ae_rng_u32(r);
    return hi << 32 | ae_rng_u32(r);
}

/* The gsl_rng_set seed of block b: splitmix64's finaliser on seed + (b+1)·golden ratio, so
 * neighbouring blocks and neighbouring seeds start from unrelated taus2 states. */
static unsigned long block_seed(uint64_t seed, size_t b)
{
    uint64_t z = seed + (uint64_t)(b + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (unsigned long)((z ^ (z >> 31)) >> 32);
}

static void draw(gsl_rng *r, ae_rng_dist dist, float *buf, size_t n)
{
    if (dist == AE_RNG_GAUSS) {
        /* taus2 has a full 32-bit range: one gsl_rng_get per value on the ziggurat's fast path */
        for (size_t i = 0; i < n; i++) buf[i] = (float)gsl_ran_gaussian_ziggurat(r, 1.0);
    } else {
        /* the top 24 bits: exact in float and strictly below 1 */
        for (size_t i = 0; i < n; i++) buf[i] = (float)(gsl_rng_get(r) >> 8) * 0x1p-24f;
    }
}

/* One thread's generator, on its own stack: no allocation per call and no cache line shared with
 * another thread's state. It is a plain gsl_rng (the struct and gsl_rng_type.size are GSL's public
 * header) whose state lives in `st`; gsl_rng_set re-initialises all of it for every block. */
typedef struct {
    gsl_rng r;
    unsigned long st[8];
} local_rng;

/* Values [lo, hi) of n on the calling thread, block by block; buf holds one block. A block's taus2
 * stream is drawn from its start (its first values are those of a whole draw), Philox's from lo. */
static void run_values(size_t lo, size_t hi, size_t n, ae_rng_dist dist, uint64_t seed, ae_rng_block_fn fn,
                       void *ctx, float *buf)
{
    if (gsl_rng_taus2->size > sizeof ((local_rng *)0)->st) abort(); /* 24 bytes in every GSL */
    local_rng g = {{gsl_rng_taus2, NULL}, {0}};
    g.r.state = g.st;
    hi = hi < n ? hi : n;
    for (size_t b = lo / AE_RNG_BLOCK; lo < hi && b * AE_RNG_BLOCK < hi; b++) {
        const size_t b0 = b * AE_RNG_BLOCK, a = lo > b0 ? lo : b0, e = b0 + AE_RNG_BLOCK < hi ? b0 + AE_RNG_BLOCK : hi;
        if (dist == AE_RNG_NORMAL) {
            ae_philox_normal(seed, 0, a, buf, e - a);
            fn(a, e, buf, ctx);
        } else {
            gsl_rng_set(&g.r, block_seed(seed, b));
            draw(&g.r, dist, buf, e - b0);
            fn(a, e, buf + (a - b0), ctx);
        }
    }
}

void ae_rng_blocks(size_t n, ae_rng_dist dist, uint64_t seed, ae_rng_block_fn fn, void *ctx)
{
#ifdef _OPENMP
    if (n >= PAR_MIN && omp_get_max_threads() > 1) {
        const size_t nb = (n + AE_RNG_BLOCK - 1) / AE_RNG_BLOCK;
#pragma omp parallel
        {
            /* Blocks handed out a few at a time, so a thread the OS has descheduled (shared
             * machine) does not hold the others up; which thread draws a block does not matter. */
            float buf[AE_RNG_BLOCK];
#pragma omp for schedule(dynamic, CHUNK) nowait
            for (size_t b = 0; b < nb; b++)
                run_values(b * AE_RNG_BLOCK, (b + 1) * AE_RNG_BLOCK, n, dist, seed, fn, ctx, buf);
        }
        return;
    }
#endif
    float buf[AE_RNG_BLOCK];
    run_values(0, n, n, dist, seed, fn, ctx, buf);
}

void ae_rng_blocks_range(size_t n, ae_rng_dist dist, uint64_t seed, size_t lo, size_t hi, ae_rng_block_fn fn,
                         void *ctx)
{
    float buf[AE_RNG_BLOCK];
    run_values(lo, hi, n, dist, seed, fn, ctx, buf);
}
