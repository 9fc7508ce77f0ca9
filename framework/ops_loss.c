/* Loss ops (scalar outputs) in plain C: MSE, BCE on probabilities (PyTorch's clamped form), BCE on
 * logits (stable form), and the weighted sum that joins reconstruction and penalty terms.
 * Sums run serially in double: deterministic for any thread count. */
#include <math.h>
#include <string.h>

#include "ae_ops.h"

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
    return n->iattr[0] == AE_SUM_PER_SAMPLE ? 1.0 / (double)p->shape.d[0] : 1.0 / (double)p->numel;
}

/* Writes g·c·expr into the grad of input k (or adds when the edge accumulates); x is the
 * prediction, t the target. The target is usually data and gets no gradient. */
#define GRAD_LOOP(k, expr)                                                                 \
    do {                                                                                   \
        ae_node *p_ = n->in[k];                                                            \
        if (!p_->needs_grad) break;                                                        \
        const float c_ = (float)(n->grad[0] * norm(n));                                    \
        float *d_ = p_->grad;                                                              \
        const float *x = n->in[0]->val, *t = n->in[1]->val;                                \
        (void)t;                                                                           \
        if (n->accum[k])                                                                   \
            for (size_t i = 0; i < p_->numel; i++) d_[i] += c_ * (expr);                   \
        else                                                                               \
            for (size_t i = 0; i < p_->numel; i++) d_[i] = c_ * (expr);                    \
    } while (0)

static void mse_forward(ae_node *n)
{
    const float *x = n->in[0]->val, *t = n->in[1]->val;
    double s = 0;
    for (size_t i = 0; i < n->in[0]->numel; i++) {
        double d = (double)x[i] - t[i];
        s += d * d;
    }
    n->val[0] = (float)(s * norm(n));
}

static void mse_backward(ae_node *n)
{
    GRAD_LOOP(0, 2.0f * (x[i] - t[i]));
    GRAD_LOOP(1, 2.0f * (t[i] - x[i]));
}

static void bce_forward(ae_node *n)
{
    const float *x = n->in[0]->val, *t = n->in[1]->val;
    double s = 0;
    for (size_t i = 0; i < n->in[0]->numel; i++) {
        double lp = fmax(log((double)x[i]), -100.0), lq = fmax(log1p(-(double)x[i]), -100.0);
        s -= t[i] * lp + (1.0 - t[i]) * lq;
    }
    n->val[0] = (float)(s * norm(n));
}

static void bce_backward(ae_node *n)
{
    GRAD_LOOP(0, (x[i] - t[i]) / fmaxf((1.0f - x[i]) * x[i], 1e-12f));
    GRAD_LOOP(1, fmaxf(logf(1.0f - x[i]), -100.0f) - fmaxf(logf(x[i]), -100.0f));
}

static void bcel_forward(ae_node *n)
{
    const float *z = n->in[0]->val, *t = n->in[1]->val;
    double s = 0;
    for (size_t i = 0; i < n->in[0]->numel; i++) {
        double zi = z[i];
        s += fmax(zi, 0.0) - zi * t[i] + log1p(exp(-fabs(zi)));
    }
    n->val[0] = (float)(s * norm(n));
}

static void bcel_backward(ae_node *n)
{
    GRAD_LOOP(0, 1.0f / (1.0f + expf(-x[i])) - t[i]);
    GRAD_LOOP(1, -x[i]);
}

const ae_op ae_op_mse = {"mse", pair_infer, NULL, mse_forward, mse_backward, NULL};
const ae_op ae_op_bce = {"bce", pair_infer, NULL, bce_forward, bce_backward, NULL};
const ae_op ae_op_bce_logits = {"bce_logits", pair_infer, NULL, bcel_forward, bcel_backward, NULL};

static ae_node *pair(ae_graph *g, const ae_op *op, const char *name, ae_node *a, ae_node *b,
                     ae_reduction r, ae_err *err)
{
    ae_node *in[2] = {a, b};
    int ia[1] = {(int)r};
    return ae_graph_add(g, op, name, in, 2, ia, 1, NULL, 0, err);
}

ae_node *ae_mse(ae_graph *g, const char *name, ae_node *p, ae_node *t, ae_reduction r, ae_err *err)
{
    return pair(g, &ae_op_mse, name, p, t, r, err);
}

ae_node *ae_bce(ae_graph *g, const char *name, ae_node *p, ae_node *t, ae_reduction r, ae_err *err)
{
    return pair(g, &ae_op_bce, name, p, t, r, err);
}

ae_node *ae_bce_logits(ae_graph *g, const char *name, ae_node *z, ae_node *t, ae_reduction r,
                       ae_err *err)
{
    return pair(g, &ae_op_bce_logits, name, z, t, r, err);
}

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
    double s = 0;
    for (int i = 0; i < n->nin; i++) s += (double)n->fattr[i] * n->in[i]->val[0];
    n->val[0] = (float)s;
}

static void wsum_backward(ae_node *n)
{
    for (int i = 0; i < n->nin; i++) {
        ae_node *x = n->in[i];
        if (!x->needs_grad) continue;
        float d = n->fattr[i] * n->grad[0];
        x->grad[0] = n->accum[i] ? x->grad[0] + d : d;
    }
}

const ae_op ae_op_weighted_sum = {"weighted_sum", wsum_infer, NULL, wsum_forward, wsum_backward, NULL};

ae_node *ae_weighted_sum(ae_graph *g, const char *name, ae_node *const *terms, const float *w, int n,
                         ae_err *err)
{
    if (n > AE_MAX_IN) { /* fold: the first AE_MAX_IN terms become one term of the rest */
        if (n > 64) { ae_errf(err, AE_EINPUT, "%s: more than 64 loss terms", name); return NULL; }
        ae_node *rest[64];
        float rw[64];
        rest[0] = ae_weighted_sum(g, name, terms, w, AE_MAX_IN, err);
        rw[0] = 1.0f;
        for (int i = AE_MAX_IN; i < n; i++) { rest[i - AE_MAX_IN + 1] = terms[i]; rw[i - AE_MAX_IN + 1] = w[i]; }
        return ae_weighted_sum(g, name, rest, rw, n - AE_MAX_IN + 1, err);
    }
    return ae_graph_add(g, &ae_op_weighted_sum, name, terms, n, NULL, 0, w, n, err);
}
