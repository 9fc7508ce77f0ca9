/* Random numbers for aelab: one GSL mt19937 stream per run, PyTorch-compatible draws so that
 * `init: {scheme: torch}` reproduces torch.manual_seed(s) + nn.Linear/nn.Conv2d initialisation, and
 * block-parallel noise for the stochastic ops (noise.c). */
#ifndef AE_RNG_H
#define AE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ae_rng ae_rng; /* wraps a gsl_rng (mt19937) */

ae_rng *ae_rng_new(unsigned long seed);
void ae_rng_free(ae_rng *r);
uint32_t ae_rng_u32(ae_rng *r);          /* next raw 32-bit MT output */
double ae_rng_uniform(ae_rng *r);        /* [0,1) */
double ae_rng_gauss(ae_rng *r);          /* N(0,1) */
void ae_rng_shuffle(ae_rng *r, size_t *idx, size_t n); /* Fisher-Yates, in place */
/* Serialise the full generator state (for checkpoints). size = ae_rng_state_size(). */
size_t ae_rng_state_size(const ae_rng *r);
void ae_rng_get_state(const ae_rng *r, void *buf);
int ae_rng_set_state(ae_rng *r, const void *buf, size_t len);

/* PyTorch CPU `tensor.uniform_(lo, hi)` on float32, drawing from the same MT19937 stream as
 * torch.manual_seed(seed): x = (u32 & 0xFFFFFF) * 2^-24 (float), value = x*(hi-lo)+lo in float. */
void ae_rng_torch_uniform(ae_rng *r, float *out, size_t n, float lo, float hi);

/* Block-parallel noise (noise.c). n values are cut into blocks of AE_RNG_BLOCK; block b is drawn
 * from a GSL taus2 generator seeded from (seed, b) (AE_RNG_NORMAL: values lo..hi of the counter-based
 * Philox stream keyed by seed, ae_philox.h), blocks run in parallel on the OpenMP threads,
 * so the values depend on `seed` alone, never on the thread count. Take `seed` from the run's
 * stream with ae_rng_seed64 (two 32-bit draws), so checkpoints that save that stream resume
 * bit-identically. fn(lo, hi, noise, ctx) gets each block's hi - lo values (noise[0] is value lo)
 * and consumes them, e.g. y[lo..hi) = x + sigma·noise; it may run on any thread, once per block. */
#define AE_RNG_BLOCK 1024
/* N(0,1) by GSL's ziggurat | [0,1) with 24 bits | N(0,1) by Philox4x32-10 + Box–Muller (vectorised) */
typedef enum { AE_RNG_GAUSS, AE_RNG_UNIFORM, AE_RNG_NORMAL } ae_rng_dist;
typedef void (*ae_rng_block_fn)(size_t lo, size_t hi, const float *noise, void *ctx);
uint64_t ae_rng_seed64(ae_rng *r);
void ae_rng_blocks(size_t n, ae_rng_dist dist, uint64_t seed, ae_rng_block_fn fn, void *ctx);
/* Values [lo, hi) of the same n on the calling thread: each block that overlaps them is drawn up to
 * min(hi, its end) (a GSL block from its start; Philox, counter-based, from lo'), and fn gets the
 * overlap (lo' .. hi', noise[0] is value lo'). */
void ae_rng_blocks_range(size_t n, ae_rng_dist dist, uint64_t seed, size_t lo, size_t hi, ae_rng_block_fn fn,
                         void *ctx);
#endif
