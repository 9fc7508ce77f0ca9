/* Philox4x32-10 and a Box–Muller N(0, 1) sampler on it (ae_philox.h): plain loops over arrays that
 * the compiler vectorises (no intrinsics), for the gaussian corruption's noise (noise.c). */
#include <math.h>
#include <string.h>

#include "ae_philox.h"

#define M0 0xD2511F53u /* Random123's PHILOX_M4x32_0, _1 and the Weyl key increments W32_0, _1 */
#define M1 0xCD9E8D57u
#define W0 0x9E3779B9u
#define W1 0xBB67AE85u
#define GROUP 256 /* Philox blocks per pass of the vectorised loops (1024 values) */

/* The ten rounds on counter (c0..c3) with key (k0, k1); the key is bumped between rounds. */
#define PHILOX10(c0, c1, c2, c3, k0, k1)                                                         \
    do {                                                                                         \
        uint32_t ka_ = (k0), kb_ = (k1);                                                         \
        for (int r_ = 0; r_ < 10; r_++) {                                                        \
            uint64_t p0_ = (uint64_t)M0 * c0, p1_ = (uint64_t)M1 * c2;                           \
            uint32_t n0_ = (uint32_t)(p1_ >> 32) ^ c1 ^ ka_, n2_ = (uint32_t)(p0_ >> 32) ^ c3 ^ kb_; \
            c1 = (uint32_t)p1_;                                                                  \
            c3 = (uint32_t)p0_;                                                                  \
            c0 = n0_;                                                                            \
            c2 = n2_;                                                                            \
            ka_ += W0;                                                                           \
            kb_ += W1;                                                                           \
        }                                                                                        \
    } while (0)

void ae_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    PHILOX10(c0, c1, c2, c3, key[0], key[1]);
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

static inline float bits_f(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static inline uint32_t f_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* -2 ln u for u in (0, 1] from a word: u = (w >> 1)·2^-31 + 2^-32 (never 0). ln u = e·ln 2 + ln m
 * with m in [sqrt(1/2), sqrt(2)): Cephes logf's polynomial, ln 2 split in two for accuracy. */
static inline float radius2(uint32_t w)
{
    float u = (float)(int32_t)(w >> 1) * 0x1p-31f + 0x1p-32f;
    uint32_t b = f_bits(u);
    int e = (int)(b >> 23) - 126;                  /* u = m·2^e, m in [0.5, 1) */
    float m = bits_f((b & 0x007FFFFFu) | 0x3F000000u);
    int lo = m < 0.707106781186547524f;
    e -= lo;
    float x = lo ? m + m - 1.0f : m - 1.0f;       /* m - 1 with m in [sqrt(1/2), sqrt(2)) */
    float z = x * x;
    float y = 7.0376836292e-2f;
    y = y * x - 1.1514610310e-1f;
    y = y * x + 1.1676998740e-1f;
    y = y * x - 1.2420140846e-1f;
    y = y * x + 1.4249322787e-1f;
    y = y * x - 1.6668057665e-1f;
    y = y * x + 2.0000714765e-1f;
    y = y * x - 2.4999993993e-1f;
    y = y * x + 3.3333331174e-1f;
    y = y * x * z;
    float fe = (float)e;
    y += -2.12194440e-4f * fe;
    y += -0.5f * z;
    float ln = x + y + 0.693359375f * fe;
    return -2.0f * ln;
}

/* cos and sin of t = 2π·w/2^32: the nearest quarter turn q = round(w/2^30) from the top bits, the
 * rest phi = 2π·(signed)(w << 2)/2^34 in [-π/4, π/4) by Cephes' sinf/cosf polynomials, then the
 * quarter turn as a swap and sign flips of the float bits. */
static inline void sincos_turn(uint32_t w, float *c, float *s)
{
    uint32_t q = (w + 0x20000000u) >> 30;
    float phi = (float)(int32_t)(w << 2) * 0x1.921fb54442d18p-32f; /* (π/2)·2^-32 */
    float z = phi * phi;
    float sn = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * phi + phi;
    float cs = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z
               - 0.5f * z + 1.0f;
    uint32_t swap = q & 1u;
    float cc = swap ? sn : cs, ss = swap ? cs : sn;
    *c = bits_f(f_bits(cc) ^ (((q + 1u) & 2u) << 30));
    *s = bits_f(f_bits(ss) ^ ((q & 2u) << 30));
}

/* Blocks j0 .. j0 + m - 1 (m <= GROUP) into out[0 .. 4m). */
static void normal_group(uint64_t j0, size_t m, uint32_t k0, uint32_t k1, uint32_t s0, uint32_t s1,
                         float *restrict out)
{
    uint32_t w0[GROUP], w1[GROUP], w2[GROUP], w3[GROUP];
    for (size_t t = 0; t < m; t++) {
        uint64_t j = j0 + t;
        uint32_t c0 = (uint32_t)j, c1 = (uint32_t)(j >> 32), c2 = s0, c3 = s1;
        PHILOX10(c0, c1, c2, c3, k0, k1);
        w0[t] = c0, w1[t] = c1, w2[t] = c2, w3[t] = c3;
    }
    for (size_t t = 0; t < m; t++) {
        float r0 = sqrtf(radius2(w0[t])), r1 = sqrtf(radius2(w2[t]));
        float c0, s0_, c1, s1_;
        sincos_turn(w1[t], &c0, &s0_);
        sincos_turn(w3[t], &c1, &s1_);
        out[4 * t] = r0 * c0;
        out[4 * t + 1] = r0 * s0_;
        out[4 * t + 2] = r1 * c1;
        out[4 * t + 3] = r1 * s1_;
    }
}

void ae_philox_normal(uint64_t seed, uint64_t stream, uint64_t first, float *out, size_t n)
{
    const uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    const uint32_t s0 = (uint32_t)stream, s1 = (uint32_t)(stream >> 32);
    float tmp[4];
    if (first % 4 && n) { /* a head inside one block */
        normal_group(first / 4, 1, k0, k1, s0, s1, tmp);
        size_t h = 4 - first % 4 < n ? 4 - first % 4 : n;
        memcpy(out, tmp + first % 4, h * sizeof *out);
        out += h, first += h, n -= h;
    }
    while (n >= 4) {
        size_t m = n / 4 < GROUP ? n / 4 : GROUP;
        normal_group(first / 4, m, k0, k1, s0, s1, out);
        out += 4 * m, first += 4 * m, n -= 4 * m;
    }
    if (n) { /* a tail inside one block */
        normal_group(first / 4, 1, k0, k1, s0, s1, tmp);
        memcpy(out, tmp, n * sizeof *out);
    }
}
