/* Ops of importance-weighted bounds (IWAE, the NLL estimate): rows repeated k times, per-row
 * Bernoulli log-likelihoods on logits, per-row gaussian log-ratios log p(z) - log q(z|x), and the
 * negative log-mean-exp of k log-weights per input. Sums in double, in a fixed order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_dnnl.h"
#include "ae_latent.h"
#include "ae_par.h"
#include "logits_internal.h"

static int64_t rows(const ae_node *x) { return x->shape.nd ? x->shape.d[0] : 1; }

/* --- repeat rows: y[s·B + b] = x[b], s < k ------------------------------------------------- */
enum { REP_K, REP_NATTR };

static int repeat_infer(ae_node *n, ae_err *err)
{
    if (n->iattr[REP_K] < 1 || n->in[0]->shape.nd < 1)
        return ae_errf(err, AE_EINTERNAL, "%s: repeat needs k >= 1 and a batch dimension", n->name);
    n->shape = n->in[0]->shape;
    n->shape.d[0] *= n->iattr[REP_K];
    return AE_OK;
}

static void repeat_forward(ae_node *n)
{
    size_t m = n->in[0]->numel;
    for (int s = 0; s < n->iattr[REP_K]; s++) memcpy(n->val + (size_t)s * m, n->in[0]->val, m * sizeof(float));
}

static void repeat_backward(ae_node *n)
{
    ae_node *x = n->in[0];
    if (!x->needs_grad) return;
    size_t m = x->numel;
    for (size_t i = 0; i < m; i++) {
        float s = n->accum[0] ? x->grad[i] : 0.0f;
        for (int r = 0; r < n->iattr[REP_K]; r++) s += n->grad[(size_t)r * m + i];
        x->grad[i] = s;
    }
}

const ae_op ae_op_repeat_rows = {.name = "repeat_rows", .infer = repeat_infer, .forward = repeat_forward,
                                 .backward = repeat_backward};

ae_node *ae_repeat_rows(ae_graph *g, const char *name, ae_node *x, int k, ae_err *err)
{
    int ia[REP_NATTR] = {[REP_K] = k};
    return ae_graph_add(g, &ae_op_repeat_rows, name, &x, 1, ia, REP_NATTR, NULL, 0, err);
}

/* --- per-row Bernoulli log-likelihood on logits: Σ_j x·l - softplus(l) ------------------------
 * softplus and sigmoid run vectorised in oneDNN into scratch buffers. */
typedef struct bern_state {
    logit_aux lx; /* softplus and sigmoid of the logits */
} bern_state;

typedef struct bern_job {
    const float *l, *x, *aux, *gy;
    float *d;
    size_t cols;
    int accum, which; /* backward: 0 logits, 1 x */
    float *y;
} bern_job;

static int per_row_infer(ae_node *n, ae_err *err)
{
    for (int i = 1; i < n->nin; i++)
        if (n->in[i]->numel != n->in[0]->numel || rows(n->in[i]) != rows(n->in[0]))
            return ae_errf(err, AE_EINPUT, "%s: input %d does not match input 0 in shape", n->name, i);
    n->shape = ae_shape_make(1, (int64_t[]){rows(n->in[0])});
    return AE_OK;
}

static int bern_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    bern_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    n->state = s;
    return logit_aux_init(&s->lx, g, n->in[0], err);
}

static void bern_destroy(ae_node *n)
{
    bern_state *s = n->state;
    if (!s) return;
    logit_aux_destroy(&s->lx);
    free(s);
    n->state = NULL;
}

#define LANES 8

static void bern_rows(size_t lo, size_t hi, void *ctx)
{
    const bern_job *j = ctx;
    for (size_t r = lo; r < hi; r++) {
        const float *restrict l = j->l + r * j->cols, *restrict x = j->x + r * j->cols,
                              *restrict sp = j->aux + r * j->cols;
        double acc[LANES] = {0};
        size_t c = 0;
        for (; c + LANES <= j->cols; c += LANES)
            for (int q = 0; q < LANES; q++) acc[q] += (double)(x[c + q] * l[c + q] - sp[c + q]);
        for (int q = 0; c < j->cols; c++, q++) acc[q] += (double)(x[c] * l[c] - sp[c]);
        double s = 0;
        for (int q = 0; q < LANES; q++) s += acc[q];
        j->y[r] = (float)s;
    }
}

static void bern_forward(ae_node *n)
{
    bern_state *s = n->state;
    ae_eltwise_run(&s->lx.softplus);
    bern_job j = {n->in[0]->val, n->in[1]->val, s->lx.sp, NULL, NULL, n->in[0]->numel / n->numel, 0, 0, n->val};
    ae_par_for(n->numel, bern_rows, &j);
}

static void bern_grad_rows(size_t lo, size_t hi, void *ctx)
{
    const bern_job *j = ctx;
    for (size_t r = lo; r < hi; r++) {
        const float g = j->gy[r];
        const float *restrict l = j->l + r * j->cols, *restrict x = j->x + r * j->cols,
                              *restrict sg = j->aux ? j->aux + r * j->cols : NULL;
        float *restrict d = j->d + r * j->cols;
        for (size_t c = 0; c < j->cols; c++) {
            float v = j->which == 0 ? g * (x[c] - sg[c]) : g * l[c];
            d[c] = j->accum ? d[c] + v : v;
        }
    }
}

static void bern_backward(ae_node *n)
{
    bern_state *s = n->state;
    if (n->in[0]->needs_grad) ae_eltwise_run(&s->lx.sigmoid);
    for (int k = 0; k < 2; k++) {
        if (!n->in[k]->needs_grad) continue;
        bern_job j = {n->in[0]->val, n->in[1]->val, s->lx.sg, n->grad, n->in[k]->grad,
                      n->in[0]->numel / n->numel, n->accum[k], k, NULL};
        ae_par_for(n->numel, bern_grad_rows, &j);
    }
}

const ae_op ae_op_bernoulli_loglik = {.name = "bernoulli_loglik", .infer = per_row_infer,
                                      .prepare = bern_prepare, .forward = bern_forward,
                                      .backward = bern_backward, .destroy = bern_destroy};

ae_node *ae_bernoulli_loglik(ae_graph *g, const char *name, ae_node *logits, ae_node *x, ae_err *err)
{
    ae_node *in[2] = {logits, x};
    return ae_graph_add(g, &ae_op_bernoulli_loglik, name, in, 2, NULL, 0, NULL, 0, err);
}

/* --- per-row log N(z; 0, I) - log N(z; mu, exp(lv)) = Σ_j ½((z-mu)²e^-lv + lv - z²) ------------ */
static void ratio_forward(ae_node *n)
{
    const float *z = n->in[0]->val, *mu = n->in[1]->val, *lv = n->in[2]->val;
    size_t cs = n->in[0]->numel / n->numel;
    for (size_t r = 0; r < n->numel; r++) {
        double s = 0;
        for (size_t c = r * cs; c < (r + 1) * cs; c++) {
            double dz = (double)z[c] - mu[c];
            s += 0.5 * (dz * dz * exp(-(double)lv[c]) + lv[c] - (double)z[c] * z[c]);
        }
        n->val[r] = (float)s;
    }
}

static void ratio_backward(ae_node *n)
{
    ae_node *z = n->in[0], *mu = n->in[1], *lv = n->in[2];
    size_t cs = z->numel / n->numel;
    for (size_t i = 0; i < z->numel; i++) {
        const float g = n->grad[i / cs];
        const float dz = z->val[i] - mu->val[i], e = expf(-lv->val[i]), t = dz * e;
        float v[3] = {g * (t - z->val[i]), -g * t, g * 0.5f * (1.0f - dz * t)};
        for (int k = 0; k < 3; k++)
            if (n->in[k]->needs_grad) n->in[k]->grad[i] = (n->accum[k] ? n->in[k]->grad[i] : 0.0f) + v[k];
    }
}

const ae_op ae_op_normal_log_ratio = {.name = "normal_log_ratio", .infer = per_row_infer,
                                      .forward = ratio_forward, .backward = ratio_backward};

ae_node *ae_normal_log_ratio(ae_graph *g, const char *name, ae_node *z, ae_node *mu, ae_node *logvar,
                             ae_err *err)
{
    ae_node *in[3] = {z, mu, logvar};
    return ae_graph_add(g, &ae_op_normal_log_ratio, name, in, 3, NULL, 0, NULL, 0, err);
}

/* --- -(1/B) Σ_b log (1/k) Σ_s exp(w[s·B + b]), w = Σ of the inputs -------------------------------
 * state: the normalised weights w~ (numel of an input), set in forward for backward. */
enum { LME_K, LME_NATTR };

static int lme_infer(ae_node *n, ae_err *err)
{
    int64_t r = n->in[0]->shape.nd == 1 ? n->in[0]->shape.d[0] : -1;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i]->shape.nd != 1 || n->in[i]->shape.d[0] != r)
            return ae_errf(err, AE_EINTERNAL, "%s: the log-weights must be vectors of one length", n->name);
    if (n->iattr[LME_K] < 1 || r % n->iattr[LME_K])
        return ae_errf(err, AE_EINTERNAL, "%s: %lld log-weights are not k = %d per input", n->name,
                       (long long)r, n->iattr[LME_K]);
    n->shape.nd = 0;
    return AE_OK;
}

static int lme_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    n->state = ae_graph_scratch(g, n->in[0]->numel, err);
    return n->state ? AE_OK : err->code;
}

static void lme_forward(ae_node *n)
{
    const size_t k = (size_t)n->iattr[LME_K], b = n->in[0]->numel / k;
    float *wn = n->state;
    double total = 0;
    for (size_t i = 0; i < b; i++) {
        double mx = -INFINITY, acc = 0;
        for (size_t s = 0; s < k; s++) {
            double w = 0;
            for (int t = 0; t < n->nin; t++) w += n->in[t]->val[s * b + i];
            wn[s * b + i] = (float)w;
            mx = fmax(mx, w);
        }
        for (size_t s = 0; s < k; s++) acc += exp((double)wn[s * b + i] - mx);
        for (size_t s = 0; s < k; s++) wn[s * b + i] = (float)(exp((double)wn[s * b + i] - mx) / acc);
        total += mx + log(acc / (double)k);
    }
    n->val[0] = (float)(-total / (double)b);
}

static void lme_backward(ae_node *n)
{
    const size_t m = n->in[0]->numel, b = m / (size_t)n->iattr[LME_K];
    const float c = -n->grad[0] / (float)b, *wn = n->state;
    for (int t = 0; t < n->nin; t++) {
        ae_node *p = n->in[t];
        if (!p->needs_grad) continue;
        for (size_t i = 0; i < m; i++) p->grad[i] = (n->accum[t] ? p->grad[i] : 0.0f) + c * wn[i];
    }
}

const ae_op ae_op_neg_log_mean_exp = {.name = "neg_log_mean_exp", .infer = lme_infer, .prepare = lme_prepare,
                                      .forward = lme_forward, .backward = lme_backward};

ae_node *ae_neg_log_mean_exp(ae_graph *g, const char *name, ae_node *const *w, int n, int k, ae_err *err)
{
    int ia[LME_NATTR] = {[LME_K] = k};
    return ae_graph_add(g, &ae_op_neg_log_mean_exp, name, w, n, ia, LME_NATTR, NULL, 0, err);
}
