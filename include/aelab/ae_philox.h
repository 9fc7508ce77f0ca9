/* Philox4x32-10 (Salmon et al., SC'11), a counter-based generator (output = f(counter, key), no
 * state), and a vectorisable N(0, 1) sampler on it (Box–Muller), deterministic per (seed, stream, index). */
#ifndef AE_PHILOX_H
#define AE_PHILOX_H

#include <stddef.h>
#include <stdint.h>

/* One Philox4x32-10 block: out = philox(ctr, key), as Random123's philox4x32(ctr, key) (10 rounds). */
void ae_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Normal values number first .. first + n - 1 of the stream (seed, stream): value i comes from the
 * Philox block with key = seed (low word first) and counter {i/4 low, i/4 high, stream low, stream
 * high}; the block's four words give two Box–Muller pairs, values 4j..4j+3 = r0·cos t0, r0·sin t0,
 * r1·cos t1, r1·sin t1 with r = sqrt(-2 ln u), u in (0, 1] from words 0 and 2, t = 2π·w/2^32 from
 * words 1 and 3 (|value| <= 6.67). Any slice of the stream can be filled on its own, so blocks of one
 * tensor can be filled by different threads with the same result. The loops are plain (vectorised by
 * the compiler): float log and sin/cos polynomials (Cephes), accurate to a few float ulps. */
void ae_philox_normal(uint64_t seed, uint64_t stream, uint64_t first, float *out, size_t n);

#endif
