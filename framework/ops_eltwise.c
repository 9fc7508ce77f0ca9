/* Elementwise glue ops in plain C loops: activations (forward from x, backward from the output y)
 * and reshape (a copy: cheap next to the matmuls and convolutions around it). */
#include <math.h>
#include <string.h>

#include "ae_ops.h"
#include "ae_par.h"

typedef struct act_job {
    ae_act a;
    const float *x, *y, *dy;
    float *out;
    float beta; /* backward: out = beta·out + dy·f'(y) */
} act_job;

static void act_fwd_chunk(size_t lo, size_t hi, void *ctx)
{
    const act_job *j = ctx;
    const float *x = j->x;
    float *y = j->out;
    switch (j->a) {
    case AE_ACT_RELU:
        for (size_t i = lo; i < hi; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case AE_ACT_SIGMOID:
        for (size_t i = lo; i < hi; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case AE_ACT_TANH:
        for (size_t i = lo; i < hi; i++) y[i] = tanhf(x[i]);
        break;
    default:
        if (y != x) memcpy(y + lo, x + lo, (hi - lo) * sizeof *y);
    }
}

static void act_bwd_chunk(size_t lo, size_t hi, void *ctx)
{
    const act_job *j = ctx;
    const float *y = j->y, *dy = j->dy, beta = j->beta;
    float *dx = j->out;
    switch (j->a) {
    case AE_ACT_RELU:
        for (size_t i = lo; i < hi; i++) dx[i] = beta * dx[i] + (y[i] > 0.0f ? dy[i] : 0.0f);
        break;
    case AE_ACT_SIGMOID:
        for (size_t i = lo; i < hi; i++) dx[i] = beta * dx[i] + dy[i] * y[i] * (1.0f - y[i]);
        break;
    case AE_ACT_TANH:
        for (size_t i = lo; i < hi; i++) dx[i] = beta * dx[i] + dy[i] * (1.0f - y[i] * y[i]);
        break;
    default:
        for (size_t i = lo; i < hi; i++) dx[i] = beta * dx[i] + dy[i];
    }
}

void ae_act_forward(ae_act a, const float *x, float *y, size_t n)
{
    act_job j = {a, x, NULL, NULL, y, 0.0f};
    ae_par_for(n, act_fwd_chunk, &j);
}

void ae_act_backward(ae_act a, const float *y, const float *dy, float *dx, size_t n, int accumulate)
{
    act_job j = {a, NULL, y, dy, dx, accumulate ? 1.0f : 0.0f};
    ae_par_for(n, act_bwd_chunk, &j);
}

static int act_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape = n->in[0]->shape;
    return AE_OK;
}

static void act_forward(ae_node *n) { ae_act_forward((ae_act)n->iattr[0], n->in[0]->val, n->val, n->numel); }

static void act_backward(ae_node *n)
{
    ae_node *x = n->in[0];
    if (x->needs_grad)
        ae_act_backward((ae_act)n->iattr[0], n->val, n->grad, x->grad, n->numel, n->accum[0]);
}

const ae_op ae_op_activation = {"activation", act_infer, NULL, act_forward, act_backward, NULL};

ae_node *ae_activation(ae_graph *g, const char *name, ae_node *x, ae_act act, ae_err *err)
{
    int ia[1] = {(int)act};
    return ae_graph_add(g, &ae_op_activation, name, &x, 1, ia, 1, NULL, 0, err);
}

static int reshape_infer(ae_node *n, ae_err *err)
{
    ae_shape s = ae_shape_make(n->iattr[0], (int64_t[]){n->in[0]->shape.d[0], n->iattr[1],
                                                        n->iattr[2], n->iattr[3]});
    char a[64], b[64];
    if (ae_shape_numel(s) != n->in[0]->numel)
        return ae_errf(err, AE_EINPUT, "%s: cannot reshape %s into %s", n->name,
                       ae_shape_str(n->in[0]->shape, a, sizeof a), ae_shape_str(s, b, sizeof b));
    n->shape = s;
    return AE_OK;
}

static void reshape_forward(ae_node *n) { memcpy(n->val, n->in[0]->val, n->numel * sizeof(float)); }

static void reshape_backward(ae_node *n)
{
    ae_node *x = n->in[0];
    if (!x->needs_grad) return;
    if (!n->accum[0]) {
        memcpy(x->grad, n->grad, n->numel * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n->numel; i++) x->grad[i] += n->grad[i];
}

const ae_op ae_op_reshape = {"reshape", reshape_infer, NULL, reshape_forward, reshape_backward, NULL};

ae_node *ae_reshape(ae_graph *g, const char *name, ae_node *x, ae_shape s, ae_err *err)
{
    int ia[4] = {s.nd, (int)s.d[1], (int)s.d[2], (int)s.d[3]};
    return ae_graph_add(g, &ae_op_reshape, name, &x, 1, ia, 4, NULL, 0, err);
}
