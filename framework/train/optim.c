/* SGD / Adam / AdamW / Adagrad updates with PyTorch's formulas (torch.optim, single-tensor path). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_optim.h"
#include "ae_par.h"

#define AE_OPTIM_RANGES 128 /* trainable stretches on the stack (about one per batch norm) */

const char *const ae_opt_names[] = {"sgd", "adam", "adamw", "adagrad", NULL};

void ae_optim_defaults(ae_optim_cfg *c, ae_opt_kind kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = kind == AE_OPT_SGD || kind == AE_OPT_ADAGRAD ? 0.01 : 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = kind == AE_OPT_ADAGRAD ? 1e-10 : 1e-8;
    c->weight_decay = kind == AE_OPT_ADAMW ? 0.01 : 0.0;
}

int ae_optim_init(ae_optim *o, const ae_optim_cfg *cfg, ae_params *ps, ae_err *err)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->ps = ps;
    size_t bytes = (ps->total ? ps->total : 16) * sizeof(float);
    o->m = aligned_alloc(64, bytes);
    o->v = aligned_alloc(64, bytes);
    if (!o->m || !o->v) return ae_errf(err, AE_EINTERNAL, "out of memory (optimizer state)");
    memset(o->m, 0, bytes);
    memset(o->v, 0, bytes);
    if (cfg->kind == AE_OPT_ADAGRAD) /* torch.full_like(p, initial_accumulator_value) */
        for (size_t i = 0; i < bytes / sizeof(float); i++) o->v[i] = (float)cfg->initial_accumulator_value;
    return AE_OK;
}

void ae_optim_free(ae_optim *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

static double sq_chunk(size_t lo, size_t hi, void *ctx)
{
    const float *g = ctx;
    double s = 0;
    for (size_t i = lo; i < hi; i++) s += (double)(g[i] * g[i]);
    return s;
}

typedef struct step_job {
    const ae_optim_cfg *c;
    float *p, *g, *m, *v;
    float gs, lr, wd, mu, b1, b2, eps, step_size, bc2_sqrt;
    int first, decoupled;
} step_job;

/* The update loops return NaN when any (scaled) gradient is NaN or infinite: g - g != 0 exactly
 * then, a free check that keeps the loops vectorised (an integer OR, no float reduction). The
 * job's fields are copied to locals and the arrays marked restrict so that GCC vectorises. */
static double sgd_chunk(size_t lo, size_t hi, void *ctx)
{
    const step_job *j = ctx;
    float *restrict p = j->p, *restrict m = j->m;
    const float *restrict g = j->g;
    const float gs = j->gs, wd = j->wd, lr = j->lr, mu = j->mu;
    const int first = j->first, nesterov = j->c->nesterov;
    int bad = 0;
    if (mu == 0.0f) {
        for (size_t i = lo; i < hi; i++) {
            float d = g[i] * gs + wd * p[i];
            p[i] -= lr * d;
            bad |= (d - d) != 0.0f;
        }
    } else {
        for (size_t i = lo; i < hi; i++) {
            float d = g[i] * gs + wd * p[i];
            m[i] = first ? d : mu * m[i] + d;
            d = nesterov ? d + mu * m[i] : m[i];
            p[i] -= lr * d;
            bad |= (d - d) != 0.0f;
        }
    }
    return bad ? NAN : 0.0;
}

static double adam_chunk(size_t lo, size_t hi, void *ctx)
{
    const step_job *j = ctx;
    float *restrict p = j->p, *restrict m = j->m, *restrict v = j->v;
    const float *restrict g = j->g;
    const float b1 = j->b1, b2 = j->b2, eps = j->eps, ss = j->step_size, bs = j->bc2_sqrt;
    const float gs = j->gs, wd = j->wd, decay = 1.0f - j->lr * j->wd;
    int bad = 0;
    if (j->decoupled) {
        for (size_t i = lo; i < hi; i++) {
            float gi = g[i] * gs;
            p[i] *= decay;
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            p[i] -= ss * m[i] / (sqrtf(v[i]) / bs + eps);
            bad |= (gi - gi) != 0.0f;
        }
    } else {
        for (size_t i = lo; i < hi; i++) {
            float gi = g[i] * gs + wd * p[i];
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            p[i] -= ss * m[i] / (sqrtf(v[i]) / bs + eps);
            bad |= (gi - gi) != 0.0f;
        }
    }
    return bad ? NAN : 0.0;
}

/* Adagrad: sum += g², p -= clr·g / (√sum + eps), evaluated as PyTorch's addcdiv does it
 * ((clr·g) / (√sum + eps)), with clr = lr / (1 + (t - 1)·lr_decay) from the caller. */
static double adagrad_chunk(size_t lo, size_t hi, void *ctx)
{
    const step_job *j = ctx;
    float *restrict p = j->p, *restrict v = j->v;
    const float *restrict g = j->g;
    const float gs = j->gs, wd = j->wd, clr = j->step_size, eps = j->eps;
    int bad = 0;
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i] * gs + wd * p[i];
        v[i] += gi * gi;
        p[i] -= clr * gi / (sqrtf(v[i]) + eps);
        bad |= (gi - gi) != 0.0f;
    }
    return bad ? NAN : 0.0;
}

double ae_optim_step(ae_optim *o)
{
    const ae_optim_cfg *c = &o->cfg;
    const size_t n = o->ps->total;
    double norm = c->clip_norm > 0 ? sqrt(ae_par_sum(n, sq_chunk, o->ps->grad)) : 0.0;
    if (!isfinite(norm)) return norm;
    o->step++;
    step_job j = {c, o->ps->val, o->ps->grad, o->m, o->v, 1.0f, (float)c->lr, (float)c->weight_decay,
                  (float)c->momentum, (float)c->beta1, (float)c->beta2, (float)c->eps, 0, 0,
                  o->step == 1, c->kind == AE_OPT_ADAMW};
    if (c->clip_norm > 0 && norm > c->clip_norm) j.gs = (float)(c->clip_norm / (norm + 1e-6));
    ae_chunk_sum_fn chunk = adam_chunk;
    if (c->kind == AE_OPT_SGD) chunk = sgd_chunk;
    else if (c->kind == AE_OPT_ADAGRAD) {
        chunk = adagrad_chunk;
        j.step_size = (float)(c->lr / (1.0 + (double)(o->step - 1) * c->lr_decay));
    } else {
        j.step_size = (float)(c->lr / (1.0 - pow(c->beta1, (double)o->step)));
        j.bc2_sqrt = (float)sqrt(1.0 - pow(c->beta2, (double)o->step));
    }
    /* the trainable stretches only: running statistics (STATE parameters) get no update and no
     * weight decay; without them this is one pass over the whole store */
    size_t soff[AE_OPTIM_RANGES], slen[AE_OPTIM_RANGES], *off = soff, *len = slen;
    size_t nr = ae_params_trainable_ranges(o->ps, off, len, AE_OPTIM_RANGES);
    if (nr > AE_OPTIM_RANGES) { /* more than the stack holds: once per step, small */
        off = malloc(2 * nr * sizeof *off);
        if (!off) return NAN; /* reported as a diverged step: stop, the last checkpoint is good */
        len = off + nr;
        ae_params_trainable_ranges(o->ps, off, len, nr);
    }
    double bad = 0.0;
    for (size_t r = 0; r < nr; r++) {
        step_job jr = j;
        jr.p = j.p + off[r];
        jr.g = j.g + off[r];
        jr.m = j.m + off[r];
        jr.v = j.v + off[r];
        bad += ae_par_sum_w(len[r], 4.0, chunk, &jr); /* p, g and up to two moments per element */
    }
    if (off != soff) free(off);
    return norm + bad;
}
