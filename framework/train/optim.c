/* SGD / Adam / AdamW / Adagrad updates with PyTorch's formulas (torch.optim, single-tensor path). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_optim.h"
#include "ae_par.h"

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

static ae_chunk_sum_fn chunk_of(ae_opt_kind kind)
{
    return kind == AE_OPT_SGD ? sgd_chunk : kind == AE_OPT_ADAGRAD ? adagrad_chunk : adam_chunk;
}

/* The update of the store's elements [off, off + len) with gradient scale gs. */
static double run_range(const ae_optim *o, float gs, size_t off, size_t len)
{
    const ae_optim_cfg *c = &o->cfg;
    step_job j = {c, o->ps->val + off, o->ps->grad + off, o->m + off, o->v + off, gs, (float)c->lr,
                  (float)c->weight_decay, (float)c->momentum, (float)c->beta1, (float)c->beta2, (float)c->eps,
                  o->step_size, o->bc2_sqrt, o->step == 1, c->kind == AE_OPT_ADAMW};
    return ae_par_sum_w(len, 4.0, chunk_of(c->kind), &j); /* p, g and up to two moments per element */
}

void ae_optim_begin(ae_optim *o)
{
    const ae_optim_cfg *c = &o->cfg;
    o->step++;
    o->step_size = o->bc2_sqrt = 0;
    if (c->kind == AE_OPT_ADAGRAD)
        o->step_size = (float)(c->lr / (1.0 + (double)(o->step - 1) * c->lr_decay));
    else if (c->kind != AE_OPT_SGD) {
        o->step_size = (float)(c->lr / (1.0 - pow(c->beta1, (double)o->step)));
        o->bc2_sqrt = (float)sqrt(1.0 - pow(c->beta2, (double)o->step));
    }
}

int ae_optim_fusable(const ae_optim *o) { return !(o->cfg.clip_norm > 0); }

int ae_optim_update(void *ctx, int param, size_t lo, size_t hi)
{
    ae_optim *o = ctx;
    const ae_param_info *pi = &o->ps->p[param];
    if (hi == pi->n) hi = (pi->n + 15) / 16 * 16; /* the padding too, as the whole-store step */
    return isnan(run_range(o, 1.0f, pi->off + lo, hi - lo));
}

/* Every trainable parameter not `done`, as stretches of adjacent ones (each with its padding to the
 * next 64-byte boundary: zero gradients there keep zero values): running statistics (STATE
 * parameters) get no update and no weight decay; with none done and none of those, one pass over
 * the whole store. */
static double update_rest(ae_optim *o, float gs, const unsigned char *done)
{
    const ae_params *ps = o->ps;
    double bad = 0.0;
    size_t lo = 0, hi = 0;
    for (size_t i = 0; i <= ps->n; i++) {
        const ae_param_info *pi = i < ps->n ? &ps->p[i] : NULL;
        if (pi && ae_params_trainable(ps, i) && !(done && done[i])) {
            size_t end = pi->off + (pi->n + 15) / 16 * 16;
            if (hi != pi->off) {
                if (hi > lo) bad += run_range(o, gs, lo, hi - lo);
                lo = pi->off;
            }
            hi = end;
        } else if (hi > lo) {
            bad += run_range(o, gs, lo, hi - lo);
            lo = hi = 0;
        }
    }
    return bad;
}

double ae_optim_finish(ae_optim *o, const unsigned char *done) { return update_rest(o, 1.0f, done); }

double ae_optim_step(ae_optim *o)
{
    const ae_optim_cfg *c = &o->cfg;
    const size_t n = o->ps->total;
    double norm = c->clip_norm > 0 ? sqrt(ae_par_sum(n, sq_chunk, o->ps->grad)) : 0.0;
    if (!isfinite(norm)) return norm;
    ae_optim_begin(o);
    float gs = 1.0f;
    if (c->clip_norm > 0 && norm > c->clip_norm) gs = (float)(c->clip_norm / (norm + 1e-6));
    return norm + update_rest(o, gs, NULL);
}
