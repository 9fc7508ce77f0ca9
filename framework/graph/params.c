/* The parameter store: declaration by name, one contiguous allocation, initialisation schemes
 * (PyTorch-exact "torch", aelab's "auto" He/Glorot, Lasagne's "glorot" with gains, "normal" N(0, std²)). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_params.h"
#include "ae_sysmem.h"

ae_params *ae_params_new(void) { return calloc(1, sizeof(ae_params)); }

void ae_params_free(ae_params *ps)
{
    if (!ps) return;
    free(ps->p);
    free(ps->val);
    free(ps->grad);
    free(ps);
}

int ae_params_declare(ae_params *ps, const char *name, ae_shape shape, int fan_in, int fan_out,
                      ae_param_kind kind, int gain_relu, ae_err *err)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->p[i].name, name)) continue;
        char a[64], b[64];
        if (!ae_shape_eq(ps->p[i].shape, shape))
            return ae_errf(err, AE_EINPUT, "parameter %s: shape %s does not match %s", name,
                           ae_shape_str(shape, a, sizeof a), ae_shape_str(ps->p[i].shape, b, sizeof b)),
                   -1;
        return (int)i;
    }
    if (ps->val) return ae_errf(err, AE_EINTERNAL, "parameter %s declared after allocation", name), -1;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 16;
        ae_param_info *np = realloc(ps->p, cap * sizeof *np);
        if (!np) return ae_errf(err, AE_EINTERNAL, "out of memory"), -1;
        ps->p = np;
        ps->cap = cap;
    }
    ae_param_info *pi = &ps->p[ps->n];
    memset(pi, 0, sizeof *pi);
    snprintf(pi->name, sizeof pi->name, "%s", name);
    pi->shape = shape;
    pi->n = ae_shape_numel(shape);
    pi->off = ps->total;
    pi->fan_in = fan_in;
    pi->fan_out = fan_out;
    pi->kind = kind;
    pi->gain_relu = gain_relu;
    ps->total += (pi->n + 15) / 16 * 16; /* each parameter starts 64-byte aligned */
    return (int)ps->n++;
}

int ae_params_alloc(ae_params *ps, ae_err *err)
{
    if (ps->val) return AE_OK;
    size_t bytes = (ps->total ? ps->total : 16) * sizeof(float);
    /* values and gradients now, an optimizer's two moments later: refuse before allocating what
     * cannot fit (a run would grow until the kernel kills it, with no message) */
    const char *source;
    double avail = ae_mem_available(&source);
    if (avail >= 0 && 4.0 * (double)bytes > avail) {
        char a[32], b[32];
        return ae_errf(err, AE_EINPUT, "not enough memory: %zu parameters need about %s (values, gradients "
                       "and the optimizer's state) but only %s is available (%s); make the layers smaller",
                       ae_params_count(ps), ae_human_bytes(4.0 * (double)bytes, a, sizeof a),
                       ae_human_bytes(avail, b, sizeof b), source);
    }
    ps->val = aligned_alloc(64, bytes);
    ps->grad = aligned_alloc(64, bytes);
    if (!ps->val || !ps->grad) return ae_errf(err, AE_EINTERNAL, "out of memory (parameters)");
    memset(ps->val, 0, bytes);
    memset(ps->grad, 0, bytes);
    return AE_OK;
}

int ae_params_trainable(const ae_params *ps, size_t i)
{
    return ps->p[i].kind != AE_PARAM_STATE && ps->p[i].kind != AE_PARAM_STATE_ONE;
}

/* Ranges are counted past max (written up to it). */
static void put_range(size_t *off, size_t *len, size_t max, size_t *k, size_t o, size_t l)
{
    if (*k < max) {
        off[*k] = o;
        len[*k] = l;
    }
    (*k)++;
}

size_t ae_params_trainable_ranges(const ae_params *ps, size_t *off, size_t *len, size_t max)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i < ps->n; i++) {
        if (ae_params_trainable(ps, i)) continue;
        const ae_param_info *pi = &ps->p[i];
        if (pi->off > start) put_range(off, len, max, &k, start, pi->off - start);
        start = pi->off + (pi->n + 15) / 16 * 16;
    }
    if (ps->total > start || k == 0) put_range(off, len, max, &k, start, ps->total - start);
    return k;
}

size_t ae_params_count(const ae_params *ps)
{
    size_t k = 0;
    for (size_t i = 0; i < ps->n; i++) k += ae_params_trainable(ps, i) ? ps->p[i].n : 0;
    return k;
}

int ae_params_find(const ae_params *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (!strcmp(ps->p[i].name, name)) return (int)i;
    return -1;
}

int ae_params_init(ae_params *ps, const ae_init_scheme *s, unsigned long seed, ae_rng *rng, ae_err *err)
{
    if (!ps->val) return ae_errf(err, AE_EINTERNAL, "parameters not allocated");
    const char *scheme = s->name;
    int torch = !strcmp(scheme, "torch"), normal = !strcmp(scheme, "normal"), glorot = !strcmp(scheme, "glorot");
    if (!torch && !normal && !glorot && strcmp(scheme, "auto"))
        return ae_errf(err, AE_EINPUT, "unknown init scheme '%s' (expected auto, torch, glorot or normal)", scheme);
    ae_rng *tr = torch ? ae_rng_new(seed) : rng;
    if (!tr) return ae_errf(err, AE_EINTERNAL, "out of memory (rng)");
    for (size_t i = 0; i < ps->n; i++) {
        ae_param_info *pi = &ps->p[i];
        float *v = ps->val + pi->off;
        double fi = pi->fan_in > 0 ? pi->fan_in : 1, fo = pi->fan_out > 0 ? pi->fan_out : 1;
        if (pi->kind >= AE_PARAM_SCALE) { /* no draws, as PyTorch's BatchNorm */
            float c = pi->kind == AE_PARAM_STATE || pi->kind == AE_PARAM_SHIFT ? 0.0f : 1.0f;
            for (size_t k = 0; k < pi->n; k++) v[k] = c;
        } else if (torch) {
            /* kaiming_uniform_(a=sqrt(5)): gain sqrt(2/(1+5)), bound sqrt(3)·gain/sqrt(fan_in) */
            double bound = pi->kind == AE_PARAM_WEIGHT ? sqrt(3.0) * sqrt(2.0 / 6.0) / sqrt(fi)
                                                       : 1.0 / sqrt(fi);
            ae_rng_torch_uniform(tr, v, pi->n, (float)-bound, (float)bound);
        } else if (pi->kind == AE_PARAM_BIAS) {
            memset(v, 0, pi->n * sizeof *v);
        } else if (normal) {
            for (size_t k = 0; k < pi->n; k++) v[k] = (float)(s->std * ae_rng_gauss(tr));
        } else {
            double bound = glorot ? (pi->shape.nd == 4 ? s->conv_gain : s->gain) * sqrt(6.0 / (fi + fo))
                         : pi->gain_relu ? sqrt(6.0 / fi) : sqrt(6.0 / (fi + fo));
            for (size_t k = 0; k < pi->n; k++) v[k] = (float)((2.0 * ae_rng_uniform(tr) - 1.0) * bound);
        }
    }
    if (torch) ae_rng_free(tr);
    return AE_OK;
}
