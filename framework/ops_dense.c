/* Dense (fully connected) op on oneDNN matmul: forward with fused bias + activation post-ops;
 * backward = activation derivative (C loop), dX = dZ·W and dW = dZᵀ·X (matmul), db = column sums. */
#include <stdlib.h>
#include <string.h>

#include "ae_ops.h"

typedef struct dense_state {
    ae_matmul fwd, bwd_x, bwd_w;
    float *dz; /* dY·act'(Y) when the activation is not the identity, else the node's grad */
    int64_t n, k, m;
} dense_state;

static int dense_infer(ae_node *n, ae_err *err)
{
    ae_node *x = n->in[0], *w = n->in[1];
    char a[64], b[64];
    int64_t k = (int64_t)(x->numel / (size_t)x->shape.d[0]);
    if (w->shape.nd != 2 || w->shape.d[1] != k)
        return ae_errf(err, AE_EINPUT, "%s: input has %lld features per sample (%s), the weight "
                       "expects %s", n->name, (long long)k, ae_shape_str(x->shape, a, sizeof a),
                       ae_shape_str(w->shape, b, sizeof b));
    if (n->nin > 2 && n->in[2]->numel != (size_t)w->shape.d[0])
        return ae_errf(err, AE_EINTERNAL, "%s: bias size mismatch", n->name);
    n->shape = ae_shape2(x->shape.d[0], w->shape.d[0]);
    return AE_OK;
}

static int dense_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    dense_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    n->state = s;
    ae_node *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    s->n = n->shape.d[0];
    s->m = n->shape.d[1];
    s->k = w->shape.d[1];
    ae_act act = (ae_act)n->iattr[0];
    ae_mat X = {x->val, s->n, s->k, s->k, 1};
    ae_mat Wt = {w->val, s->k, s->m, 1, s->k}; /* W is [m,k]; Wᵀ viewed by strides */
    ae_mat Y = {n->val, s->n, s->m, s->m, 1};
    if (ae_matmul_init(&s->fwd, X, Wt, b ? b->val : NULL, Y, act, 0, err)) return err->code;
    const double mm = 2.0 * (double)s->n * (double)s->k * (double)s->m;
    n->flops = mm * (1 + (n->needs_grad && x->needs_grad) + (n->needs_grad && w->needs_grad));
    if (!n->needs_grad) return AE_OK;
    s->dz = act == AE_ACT_IDENTITY ? n->grad : ae_graph_scratch(g, (size_t)(s->n * s->m), err);
    if (!s->dz) return err->code;
    ae_mat DZ = {s->dz, s->n, s->m, s->m, 1};
    if (x->needs_grad) {
        ae_mat W = {w->val, s->m, s->k, s->k, 1};
        ae_mat DX = {x->grad, s->n, s->k, s->k, 1};
        if (ae_matmul_init(&s->bwd_x, DZ, W, NULL, DX, AE_ACT_IDENTITY, n->accum[0], err))
            return err->code;
    }
    if (w->needs_grad) {
        ae_mat DZt = {s->dz, s->m, s->n, 1, s->m};
        ae_mat DW = {w->grad, s->m, s->k, s->k, 1};
        if (ae_matmul_init(&s->bwd_w, DZt, X, NULL, DW, AE_ACT_IDENTITY, n->accum[1], err))
            return err->code;
    }
    return AE_OK;
}

static void dense_forward(ae_node *n) { ae_matmul_run(&((dense_state *)n->state)->fwd); }

static void dense_backward(ae_node *n)
{
    dense_state *s = n->state;
    ae_act act = (ae_act)n->iattr[0];
    if (act != AE_ACT_IDENTITY) ae_act_backward(act, n->val, n->grad, s->dz, n->numel, 0);
    if (s->bwd_x.prim) ae_matmul_run(&s->bwd_x);
    if (s->bwd_w.prim) ae_matmul_run(&s->bwd_w);
    if (n->nin > 2 && n->in[2]->needs_grad) {
        float *db = n->in[2]->grad;
        const int64_t m = s->m;
        if (!n->accum[2]) memset(db, 0, (size_t)m * sizeof *db);
        for (int64_t i = 0; i < s->n; i++) {
            const float *row = s->dz + i * m;
            for (int64_t j = 0; j < m; j++) db[j] += row[j];
        }
    }
}

static void dense_destroy(ae_node *n)
{
    dense_state *s = n->state;
    if (!s) return;
    ae_matmul_destroy(&s->fwd);
    ae_matmul_destroy(&s->bwd_x);
    ae_matmul_destroy(&s->bwd_w);
    free(s);
    n->state = NULL;
}

const ae_op ae_op_dense = {"dense", dense_infer, dense_prepare, dense_forward, dense_backward,
                           dense_destroy};

ae_node *ae_dense(ae_graph *g, const char *name, ae_node *x, ae_node *w, ae_node *b, ae_act act,
                  ae_err *err)
{
    ae_node *in[3] = {x, w, b};
    int ia[1] = {(int)act};
    return ae_graph_add(g, &ae_op_dense, name, in, b ? 3 : 2, ia, 1, NULL, 0, err);
}
