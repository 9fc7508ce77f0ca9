/* Loss ops (scalar outputs) in plain C: MSE, BCE on probabilities (PyTorch's clamped form), BCE on
 * logits (stable form), and the weighted sum that joins reconstruction and penalty terms.
 * Elements in float, sums in double over a fixed partition (ae_par.h): bit-identical for a given
 * thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_ops.h"
#include "logits_internal.h"
#include "ae_par.h"

/* The pair losses' integer attributes (ae_node.iattr); the weighted sum's float attributes are its
 * inputs' weights (fattr[i] for in[i]). */
enum { LOSS_REDUCTION, LOSS_KIND, LOSS_NATTR };

static int pair_infer(ae_node *n, ae_err *err)
{
    char a[64], b[64];
    if (n->in[0]->numel != n->in[1]->numel)
        return ae_errf(err, AE_EINPUT, "%s: output %s does not match target %s", n->name,
                       ae_shape_str(n->in[0]->shape, a, sizeof a),
                       ae_shape_str(n->in[1]->shape, b, sizeof b));
    n->shape.nd = 0;
    return AE_OK;
}

/* 1/count for the reduction: every element, or per sample then mean over the batch. */
static double norm(const ae_node *n)
{
    const ae_node *p = n->in[0];
    return n->iattr[LOSS_REDUCTION] == AE_SUM_PER_SAMPLE ? 1.0 / (double)p->shape.d[0] : 1.0 / (double)p->numel;
}

enum { L_MSE, L_BCE, L_BCEL };

typedef struct loss_job {
    int kind, k;           /* loss kind; backward: which input */
    const float *x, *t;    /* prediction, target */
    const float *aux;      /* bce_logits: softplus(z) (forward) or sigmoid(z) (backward) */
    float *d;              /* backward output */
    float c, beta;         /* scale, accumulate factor */
    int sig;               /* MSE after a sigmoid dense layer: d is that layer's dZ (ae_fusion.sig_dz) */
} loss_job;

#define LANES 8

/* Σ (x-t)² over [lo, hi): element i goes to lane (i - lo) % LANES, lanes added in a fixed order at
 * the end (a fixed order, so repeatable, and independent lanes, so it vectorises). */
static double sq_diff_sum(const float *restrict x, const float *restrict t, size_t lo, size_t hi)
{
    double acc[LANES] = {0};
    size_t i = lo;
    for (; i + LANES <= hi; i += LANES) {
        float d[LANES];
        for (int l = 0; l < LANES; l++) d[l] = x[i + l] - t[i + l];
        for (int l = 0; l < LANES; l++) acc[l] += (double)(d[l] * d[l]);
    }
    for (int l = 0; i < hi; i++, l++) {
        float d = x[i] - t[i];
        acc[l] += (double)(d * d);
    }
    double s = 0;
    for (int l = 0; l < LANES; l++) s += acc[l];
    return s;
}

/* The same sum, also writing the gradient g = c·2(x-t) (bit for bit what grad_chunk writes),
 * times x(1-x) when sig (bit for bit what the sigmoid layer's backward would make of it). */
static double sq_diff_sum_grad(const float *restrict x, const float *restrict t, float *restrict g,
                               float c, int sig, size_t lo, size_t hi)
{
    double acc[LANES] = {0};
    size_t i = lo;
    for (; i + LANES <= hi; i += LANES) { /* in this form GCC vectorises it */
        float d[LANES];
        for (int l = 0; l < LANES; l++) d[l] = x[i + l] - t[i + l];
        if (sig)
            for (int l = 0; l < LANES; l++) g[i + l] = c * (2.0f * d[l]) * x[i + l] * (1.0f - x[i + l]);
        else
            for (int l = 0; l < LANES; l++) g[i + l] = c * (2.0f * d[l]);
        for (int l = 0; l < LANES; l++) acc[l] += (double)(d[l] * d[l]);
    }
    for (int l = 0; i < hi; i++, l++) {
        float d = x[i] - t[i];
        acc[l] += (double)(d * d);
        g[i] = sig ? c * (2.0f * d) * x[i] * (1.0f - x[i]) : c * (2.0f * d);
    }
    double s = 0;
    for (int l = 0; l < LANES; l++) s += acc[l];
    return s;
}

/* Σ softplus(z) - z·t over [lo, hi) (softplus precomputed by oneDNN into sp), in LANES double
 * lanes like sq_diff_sum. */
static double bcel_sum(const float *restrict sp, const float *restrict z, const float *restrict t, size_t lo,
                       size_t hi)
{
    double acc[LANES] = {0};
    size_t i = lo;
    for (; i + LANES <= hi; i += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += (double)(sp[i + l] - z[i + l] * t[i + l]);
    for (int l = 0; i < hi; i++, l++) acc[l] += (double)(sp[i] - z[i] * t[i]);
    double s = 0;
    for (int l = 0; l < LANES; l++) s += acc[l];
    return s;
}

static double loss_chunk(size_t lo, size_t hi, void *ctx)
{
    const loss_job *j = ctx;
    const float *x = j->x, *t = j->t;
    double s = 0;
    switch (j->kind) {
    case L_MSE:
        s = j->d ? sq_diff_sum_grad(x, t, j->d, j->c, j->sig, lo, hi) : sq_diff_sum(x, t, lo, hi);
        break;
    case L_BCE:
        for (size_t i = lo; i < hi; i++)
            s -= (double)(t[i] * fmaxf(logf(x[i]), -100.0f) + (1.0f - t[i]) * fmaxf(log1pf(-x[i]), -100.0f));
        break;
    default:
        s = bcel_sum(j->aux, x, t, lo, hi);
    }
    return s;
}

/* d = beta·d + c·∂ℓ/∂(input k); one loop per case so that each vectorises */
static void grad_chunk(size_t lo, size_t hi, void *ctx)
{
    const loss_job *j = ctx;
    const float *restrict x = j->x, *restrict t = j->t, *restrict aux = j->aux;
    const float c = j->c, beta = j->beta;
    float *restrict d = j->d;
    switch (j->kind * 2 + j->k) {
    case L_MSE * 2:
        if (j->sig) /* beta is 0 here */
            for (size_t i = lo; i < hi; i++) d[i] = c * (2.0f * (x[i] - t[i])) * x[i] * (1.0f - x[i]);
        else
            for (size_t i = lo; i < hi; i++) d[i] = beta * d[i] + c * (2.0f * (x[i] - t[i]));
        break;
    case L_MSE * 2 + 1:
        for (size_t i = lo; i < hi; i++) d[i] = beta * d[i] + c * (2.0f * (t[i] - x[i]));
        break;
    case L_BCE * 2:
        for (size_t i = lo; i < hi; i++)
            d[i] = beta * d[i] + c * ((x[i] - t[i]) / fmaxf((1.0f - x[i]) * x[i], 1e-12f));
        break;
    case L_BCE * 2 + 1:
        for (size_t i = lo; i < hi; i++)
            d[i] = beta * d[i] + c * (fmaxf(log1pf(-x[i]), -100.0f) - fmaxf(logf(x[i]), -100.0f));
        break;
    case L_BCEL * 2:
        for (size_t i = lo; i < hi; i++) d[i] = beta * d[i] + c * (aux[i] - t[i]);
        break;
    default:
        for (size_t i = lo; i < hi; i++) d[i] = beta * d[i] + c * -x[i];
    }
}

/* bce_logits keeps two oneDNN eltwise primitives (softplus and sigmoid of the logits) and their
 * outputs: the transcendental work runs vectorised. An MSE that writes its prediction's gradient
 * first (no accumulate flag) computes that gradient in the forward pass, for an upstream gradient
 * of 1 (a loss on its own or with weight 1; backward redoes it for any other): one pass over
 * prediction and target, not two. */
typedef struct loss_state {
    logit_aux lx; /* softplus and sigmoid of the logits */
    int grad_in_fwd, sig;
    chain_tail *ct; /* bce_logits in a split chain's row blocks (fuse.c's plan_bcel), or NULL */
} loss_state;

static int loss_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    const int fuse = n->iattr[LOSS_KIND] == L_MSE && n->fuse.grad_in_fwd; /* fuse.c decides */
    if (n->iattr[LOSS_KIND] != L_BCEL && !fuse) return AE_OK;
    loss_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    n->state = s;
    s->grad_in_fwd = fuse;
    s->sig = fuse && n->fuse.sig_dz;
    if (fuse) return AE_OK;
    if (n->fuse.in_chain) return chain_tail_init(&s->ct, &s->lx, g, n, err);
    return logit_aux_init(&s->lx, g, n->in[0], err);
}

static void loss_destroy(ae_node *n)
{
    loss_state *s = n->state;
    if (!s) return;
    logit_aux_destroy(&s->lx);
    chain_tail_destroy(s->ct);
    free(s);
    n->state = NULL;
}

static void loss_forward(ae_node *n)
{
    loss_state *s = n->state;
    if (s && s->lx.softplus.prim) ae_eltwise_run(&s->lx.softplus);
    int fused = s && s->grad_in_fwd;
    loss_job j = {n->iattr[LOSS_KIND], 0, n->in[0]->val, n->in[1]->val, s ? s->lx.sp : NULL,
                  fused ? n->in[0]->grad : NULL, fused ? (float)(1.0 * norm(n)) : 0.0f, 0, fused && s->sig};
    if (s && s->ct) { /* the softplus and the chunks inside one block ran in the chain's blocks */
        n->val[0] = (float)(chain_tail_sum(s->ct, n->in[0]->numel, loss_chunk, &j) * norm(n));
        return;
    }
    n->val[0] = (float)(ae_par_sum(n->in[0]->numel, loss_chunk, &j) * norm(n));
}

/* A split chain's block of rows [r0, r0 + r) on thread t, after the last layer's forward: the
 * softplus of its logits and the sums of the chunks that lie in it (what loss_forward would do there). */
void bcel_chain_fwd(ae_node *n, int64_t r0, int64_t r, int t)
{
    loss_state *s = n->state;
    loss_job j = {L_BCEL, 0, n->in[0]->val, n->in[1]->val, s->lx.sp, NULL, 0.0f, 0, 0};
    chain_tail_fwd(s->ct, r0, r, t, loss_chunk, &j);
}

/* The same block before the last layer's backward: the sigmoid of its logits and their gradient
 * rows (grad_chunk over its elements, with the scale loss_backward left). */
void bcel_chain_bwd(ae_node *n, int64_t r0, int64_t r, int t)
{
    loss_state *s = n->state;
    loss_job j = {L_BCEL, 0, n->in[0]->val, n->in[1]->val, s->lx.sg, n->in[0]->grad, s->ct->c,
                  n->accum[0] ? 1.0f : 0.0f, 0};
    chain_tail_bwd(s->ct, r0, r, t, grad_chunk, &j);
}

static void loss_backward(ae_node *n)
{
    loss_state *s = n->state;
    if (s && s->ct) s->ct->c = (float)(n->grad[0] * norm(n)); /* the gradient: bcel_chain_bwd */
    if (s && s->lx.sg && n->in[0]->needs_grad && !s->ct) ae_eltwise_run(&s->lx.sigmoid);
    for (int k = 0; k < 2; k++) {
        ae_node *p = n->in[k];
        if (!p->needs_grad || (k == 0 && s && s->grad_in_fwd && n->grad[0] == 1.0f)) continue;
        if (k == 0 && s && s->ct) continue;
        loss_job j = {n->iattr[LOSS_KIND], k, n->in[0]->val, n->in[1]->val, s ? s->lx.sg : NULL, p->grad,
                      (float)(n->grad[0] * norm(n)), n->accum[k] ? 1.0f : 0.0f, k == 0 && s && s->sig};
        ae_par_for(p->numel, grad_chunk, &j);
    }
}

const ae_op ae_op_mse = {.name = "mse", .infer = pair_infer, .plan = ae_ops_plan, .prepare = loss_prepare,
                         .forward = loss_forward, .backward = loss_backward, .destroy = loss_destroy};
const ae_op ae_op_bce = {.name = "bce", .infer = pair_infer, .forward = loss_forward,
                         .backward = loss_backward};
const ae_op ae_op_bce_logits = {.name = "bce_logits", .infer = pair_infer, .prepare = loss_prepare,
                                .forward = loss_forward, .backward = loss_backward, .destroy = loss_destroy};

static ae_node *pair(ae_graph *g, const ae_op *op, int kind, const char *name, ae_node *a, ae_node *b,
                     ae_reduction r, ae_err *err)
{
    ae_node *in[2] = {a, b};
    int ia[LOSS_NATTR] = {[LOSS_REDUCTION] = (int)r, [LOSS_KIND] = kind};
    return ae_graph_add(g, op, name, in, 2, ia, LOSS_NATTR, NULL, 0, err);
}

ae_node *ae_mse(ae_graph *g, const char *name, ae_node *p, ae_node *t, ae_reduction r, ae_err *err)
{
    return pair(g, &ae_op_mse, L_MSE, name, p, t, r, err);
}

ae_node *ae_bce(ae_graph *g, const char *name, ae_node *p, ae_node *t, ae_reduction r, ae_err *err)
{
    return pair(g, &ae_op_bce, L_BCE, name, p, t, r, err);
}

ae_node *ae_bce_logits(ae_graph *g, const char *name, ae_node *z, ae_node *t, ae_reduction r,
                       ae_err *err)
{
    return pair(g, &ae_op_bce_logits, L_BCEL, name, z, t, r, err);
}

/* --- weighted sum: one node over every term; each weight is read through a pointer at every step
 * (owned by the term's owner, or by the node for constant weights), so a per-epoch change is one
 * store. Summed in term order in double, as the folded sums of four terms were. */
typedef struct wsum_state {
    const float *w[AE_MAX_IN];
    float own[AE_MAX_IN];
} wsum_state;

static int wsum_infer(ae_node *n, ae_err *err)
{
    for (int i = 0; i < n->nin; i++)
        if (n->in[i]->numel != 1)
            return ae_errf(err, AE_EINTERNAL, "%s: term %s is not a scalar", n->name, n->in[i]->name);
    n->shape.nd = 0;
    return AE_OK;
}

static void wsum_forward(ae_node *n)
{
    const wsum_state *st = n->state;
    double s = 0;
    for (int i = 0; i < n->nin; i++) s += (double)*st->w[i] * n->in[i]->val[0];
    n->val[0] = (float)s;
}

static void wsum_backward(ae_node *n)
{
    const wsum_state *st = n->state;
    for (int i = 0; i < n->nin; i++) {
        ae_node *x = n->in[i];
        if (!x->needs_grad) continue;
        float d = *st->w[i] * n->grad[0];
        x->grad[0] = n->accum[i] ? x->grad[0] + d : d;
    }
}

static void wsum_destroy(ae_node *n) { free(n->state); }

const ae_op ae_op_weighted_sum = {.name = "weighted_sum", .infer = wsum_infer, .forward = wsum_forward,
                                  .backward = wsum_backward, .destroy = wsum_destroy};

/* w: pointers to the weights (wp) or, when wp is NULL, values copied into the node. */
static ae_node *wsum(ae_graph *g, const char *name, ae_node *const *terms, const float *const *wp,
                     const float *w, int n, ae_err *err)
{
    if (n < 1 || n > AE_MAX_IN) {
        ae_errf(err, AE_EINPUT, "%s: %d loss terms (1 to %d)", name, n, AE_MAX_IN);
        return NULL;
    }
    wsum_state *st = calloc(1, sizeof *st);
    if (!st) { ae_errf(err, AE_EINTERNAL, "out of memory"); return NULL; }
    for (int i = 0; i < n; i++) {
        st->own[i] = wp ? 0.0f : w[i];
        st->w[i] = wp ? wp[i] : &st->own[i];
    }
    ae_node *s = ae_graph_add(g, &ae_op_weighted_sum, name, terms, n, NULL, 0, NULL, 0, err);
    if (!s) { free(st); return NULL; }
    s->state = st;
    return s;
}

ae_node *ae_weighted_sum(ae_graph *g, const char *name, ae_node *const *terms, const float *w, int n,
                         ae_err *err)
{
    return wsum(g, name, terms, NULL, w, n, err);
}

ae_node *ae_weighted_sum_ref(ae_graph *g, const char *name, ae_node *const *terms, const float *const *w,
                             int n, ae_err *err)
{
    return wsum(g, name, terms, w, NULL, n, err);
}

float ae_weighted_sum_weight(const ae_node *n, int i)
{
    const wsum_state *st = n->state;
    return i >= 0 && i < n->nin && st ? *st->w[i] : NAN;
}

int logit_aux_init(logit_aux *a, ae_graph *g, const ae_node *logits, ae_err *err)
{
    size_t k = logits->numel;
    if (!(a->sp = ae_graph_scratch(g, k, err)) ||
        ae_eltwise_init(&a->softplus, dnnl_eltwise_soft_relu, 0.0f, 0.0f, logits->val, a->sp, k, err))
        return err->code;
    if (logits->needs_grad && (!(a->sg = ae_graph_scratch(g, k, err)) ||
                               ae_eltwise_init(&a->sigmoid, dnnl_eltwise_logistic, 0.0f, 0.0f, logits->val,
                                               a->sg, k, err)))
        return err->code;
    return AE_OK;
}

void logit_aux_destroy(logit_aux *a)
{
    ae_eltwise_destroy(&a->softplus);
    ae_eltwise_destroy(&a->sigmoid);
}
