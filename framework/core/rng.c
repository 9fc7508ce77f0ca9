/* aelab random numbers: a GSL mt19937 stream (raw, uniform, gaussian, shuffle, state save/restore)
 * and PyTorch-1.13-compatible float32 uniform_ draws from that same stream.
 *
 * Seeding: gsl_rng_set(mt19937, s) is Matsumoto-Nishimura init_genrand(s & 0xffffffff), exactly what
 * torch.manual_seed(s) does (at::mt19937 init_with_uint32), so for s != 0 the raw 32-bit outputs are
 * identical (seed 42: 1608637542, 3421126067, 4083286876, ... verified against torch's
 * random_(0, 2**32-1)). Exception: GSL replaces seed 0 by 4357, torch does not, so seed 0 is NOT
 * torch-compatible (use any other seed when `init: torch` must match PyTorch).
 *
 * ae_rng_torch_uniform reproduces CPU `tensor.uniform_(from, to)` on float32 bit for bit. Torch 1.13
 * casts from/to (Python doubles) to float, then per element takes ONE 32-bit output u and computes
 *     x = (float)(u & 0xFFFFFF) * 2^-24;   value = fmaf(x, to - from, from)   (to - from in float)
 * The FMA is real: the kernel `x * (to - from) + from` is compiled in the AVX2/AVX-512 builds of
 * ATen, where GCC contracts it to one fused multiply-add (the default dispatch on any FMA-capable
 * x86-64 machine). Only with ATEN_CPU_CAPABILITY=default does torch round the product separately
 * (plain float) and then differ in ~40% of the elements; plain double arithmetic also differs.
 * Verified bit-exact on all 692 parameters of torch.manual_seed(42); Linear(17,16), Linear(16,3),
 * Linear(3,16), Linear(16,17), on all 18784 of Conv2d(1,32,3) + ConvTranspose2d(64,32,3), and on
 * 2x10^6 draws of uniform_(-0.3,0.7) / uniform_(-1/3,2.5).
 *
 * PyTorch default init rules (nn.Linear / nn.Conv*d / nn.ConvTranspose*d reset_parameters), each
 * tensor filled in its row-major storage order, weight first, then bias, layers in construction order:
 *   fan_in = W.size(1) * prod(W.shape[2:])          (torch.nn.init._calculate_fan_in_and_fan_out)
 *     Linear W [out,in]                 -> fan_in = in
 *     Conv2d W [out,in/groups,kh,kw]    -> fan_in = (in/groups)*kh*kw
 *     ConvTranspose2d W [in,out/groups,kh,kw] -> fan_in = (out/groups)*kh*kw   (dim 1 = OUT channels)
 *   weight: kaiming_uniform_(a=sqrt(5)): bound = sqrt(3.0) * (sqrt(2.0/(1+a*a)) / sqrt(fan_in)) in
 *           double (== 1/sqrt(fan_in) once cast to float, checked for fan_in 1..200000),
 *           uniform_(-bound, bound)
 *   bias:   bound = 1/sqrt(fan_in) (0 if fan_in == 0), uniform_(-bound, bound)
 *
 * Shuffle (reproducible): for i = n-1 down to 1: j = gsl_rng_uniform_int(r, i+1); swap idx[i], idx[j]
 * (the same loop as gsl_ran_shuffle; gsl_rng_uniform_int rejects to stay unbiased). */
#include "ae_rng.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_error.h"

struct ae_rng {
    gsl_rng *g;
};

ae_rng *ae_rng_new(unsigned long seed)
{
    ae_rng *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    r->g = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r->g) {
        free(r);
        return NULL;
    }
    gsl_rng_set(r->g, seed); /* seed 0 becomes 4357 inside GSL */
    return r;
}

void ae_rng_free(ae_rng *r)
{
    if (!r)
        return;
    gsl_rng_free(r->g);
    free(r);
}

uint32_t ae_rng_u32(ae_rng *r)
{
    return (uint32_t)gsl_rng_get(r->g);
}

double ae_rng_uniform(ae_rng *r)
{
    return gsl_rng_uniform(r->g);
}

double ae_rng_gauss(ae_rng *r)
{
    return gsl_ran_gaussian_ziggurat(r->g, 1.0);
}

void ae_rng_shuffle(ae_rng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(r->g, (unsigned long)i); /* j in [0, i-1] */
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

size_t ae_rng_state_size(const ae_rng *r)
{
    return gsl_rng_size(r->g);
}

void ae_rng_get_state(const ae_rng *r, void *buf)
{
    memcpy(buf, gsl_rng_state(r->g), gsl_rng_size(r->g));
}

int ae_rng_set_state(ae_rng *r, const void *buf, size_t len)
{
    if (!buf || len != gsl_rng_size(r->g))
        return AE_EINPUT;
    /* GSL's mt19937 state is {unsigned long mt[624]; int mti;}: reject words above 32 bits and a
     * negative position, which would make gsl_rng_get read out of bounds. */
    const size_t words = 624;
    if (len >= words * sizeof(unsigned long) + sizeof(int)) {
        const unsigned char *b = buf;
        for (size_t i = 0; i < words; i++) {
            unsigned long w;
            memcpy(&w, b + i * sizeof w, sizeof w);
            if (w > 0xFFFFFFFFUL)
                return AE_EINPUT;
        }
        int mti;
        memcpy(&mti, b + words * sizeof(unsigned long), sizeof mti);
        if (mti < 0)
            return AE_EINPUT;
    }
    memcpy(gsl_rng_state(r->g), buf, len);
    return AE_OK;
}

void ae_rng_torch_uniform(ae_rng *r, float *out, size_t n, float lo, float hi)
{
    const float width = hi - lo;
    for (size_t i = 0; i < n; i++) {
        unsigned long u = gsl_rng_get(r->g);
        float x = (float)(u & 0xFFFFFFUL) * (1.0f / 16777216.0f); /* exact: 24 bits */
        out[i] = fmaf(x, width, lo);
    }
}
