/* SGD / Adam / AdamW updates with PyTorch's formulas (torch.optim, single-tensor path). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_optim.h"

const char *const ae_opt_names[] = {"sgd", "adam", "adamw", NULL};

void ae_optim_defaults(ae_optim_cfg *c, ae_opt_kind kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = kind == AE_OPT_SGD ? 0.01 : 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
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
    return AE_OK;
}

void ae_optim_free(ae_optim *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

static double grad_norm(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

double ae_optim_step(ae_optim *o)
{
    const ae_optim_cfg *c = &o->cfg;
    float *p = o->ps->val, *g = o->ps->grad, *m = o->m, *v = o->v;
    const size_t n = o->ps->total;
    double norm = grad_norm(g, n);
    if (!isfinite(norm)) return norm;
    float gs = 1.0f;
    if (c->clip_norm > 0 && norm > c->clip_norm) gs = (float)(c->clip_norm / (norm + 1e-6));
    o->step++;
    const float lr = (float)c->lr, wd = (float)c->weight_decay;
    if (c->kind == AE_OPT_SGD) {
        const float mu = (float)c->momentum;
        for (size_t i = 0; i < n; i++) {
            float d = g[i] * gs + wd * p[i];
            if (mu != 0.0f) {
                m[i] = o->step == 1 ? d : mu * m[i] + d;
                d = c->nesterov ? d + mu * m[i] : m[i];
            }
            p[i] -= lr * d;
        }
        return norm;
    }
    const float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
    const double bc1 = 1.0 - pow(c->beta1, (double)o->step);
    const double bc2 = 1.0 - pow(c->beta2, (double)o->step);
    const float step_size = (float)(c->lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const int decoupled = c->kind == AE_OPT_ADAMW;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gs;
        if (decoupled) p[i] *= 1.0f - lr * wd;
        else gi += wd * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * m[i] / denom;
    }
    return norm;
}
