/* Elementwise glue ops in plain C loops: activations (forward from x, backward from the output y)
 * and reshape (a view of its input, see graph.c). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ae_ops.h"
#include "ae_par.h"

/* Integer attributes (ae_node.iattr): the activation's function; a reshape's target shape. */
enum { ACT_FN, ACT_NATTR };
enum { RESHAPE_ND, RESHAPE_D1, RESHAPE_D2, RESHAPE_D3, RESHAPE_NATTR };

typedef struct act_job {
    ae_act a;
    const float *x, *y, *dy;
    float *out;
    float beta; /* backward: out = beta·out + dy·f'(y) */
    float slope; /* leaky ReLU's negative slope */
} act_job;

static inline float as_float(int32_t i) { float f; memcpy(&f, &i, sizeof f); return f; }
static inline int32_t as_int(float f) { int32_t i; memcpy(&i, &f, sizeof i); return i; }

/* 1/(1+e^-x), branch-free so that loops over it vectorise (expf does not): q = e/(1+e) with
 * e = e^-|x|, and 1 - q for x > 0, as oneDNN's logistic does it (so outputs near 1 round the same
 * way: BCE on probabilities is sensitive there). e^-|x| = 2^k·e^r with |r| <= ln2/2 and a degree-6
 * polynomial for e^r (Cephes' expf coefficients), |x| capped at 87 where e^-|x| is still a normal
 * float; selects are bit masks. NaN stays NaN. */
static inline float sigmoid1(float x)
{
    const int32_t cap = 0x42AE0000, inf = 0x7F800000; /* 87.0f, inf */
    const int32_t xi = as_int(x), ax = xi & 0x7FFFFFFF;
    const float t = -as_float(ax - ((ax - cap) & ((cap - ax) >> 31))); /* -min(|x|, 87) */
    const float k = (t * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(t/ln2) */
    float r = fmaf(k, -0.693359375f, t);
    r = fmaf(k, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p * r, r, r) + 1.0f;
    const float e = p * as_float(((int32_t)k + 127) << 23);           /* e^-|x| */
    const float q = e / (1.0f + e);                                    /* sigmoid(-|x|) */
    const int32_t neg = xi >> 31, nan = (inf - ax) >> 31;
    const float v = as_float((as_int(q) & neg) | (as_int(1.0f - q) & ~neg)); /* x > 0: 1 - q */
    return as_float((as_int(v) & ~nan) | (xi & nan));
}

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
        if (x == y) { /* one pointer: in place vectorises without an overlap check */
            for (size_t i = lo; i < hi; i++) y[i] = sigmoid1(y[i]);
            break;
        }
        for (size_t i = lo; i < hi; i++) y[i] = sigmoid1(x[i]);
        break;
    case AE_ACT_TANH:
        for (size_t i = lo; i < hi; i++) y[i] = tanhf(x[i]);
        break;
    case AE_ACT_LEAKY_RELU: {
        const float a = j->slope;
        for (size_t i = lo; i < hi; i++) y[i] = x[i] > 0.0f ? x[i] : a * x[i];
        break;
    }
    default:
        if (y != x) memcpy(y + lo, x + lo, (hi - lo) * sizeof *y);
    }
}

/* dx = dy·f'(y): the overwrite case reads no old dx (fewer memory streams; old NaNs stay out).
 * dx may be dy itself (dense layers turn their dY into dZ in place). Leaky ReLU's y > 0 exactly
 * when x > 0 (slope >= 0). */
static void act_bwd_set(ae_act a, float slope, const float *restrict y, const float *dy, float *dx,
                        size_t lo, size_t hi)
{
    switch (a) {
    case AE_ACT_LEAKY_RELU:
        for (size_t i = lo; i < hi; i++) dx[i] = y[i] > 0.0f ? dy[i] : slope * dy[i];
        break;
    case AE_ACT_RELU:
        for (size_t i = lo; i < hi; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case AE_ACT_SIGMOID:
        for (size_t i = lo; i < hi; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case AE_ACT_TANH:
        for (size_t i = lo; i < hi; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    default:
        if (dx != dy) memcpy(dx + lo, dy + lo, (hi - lo) * sizeof *dx);
    }
}

static void act_bwd_chunk(size_t lo, size_t hi, void *ctx)
{
    const act_job *j = ctx;
    const float *y = j->y, *dy = j->dy, beta = j->beta;
    float *dx = j->out;
    if (beta == 0.0f) {
        act_bwd_set(j->a, j->slope, y, dy, dx, lo, hi);
        return;
    }
    switch (j->a) {
    case AE_ACT_LEAKY_RELU:
        for (size_t i = lo; i < hi; i++) dx[i] = beta * dx[i] + (y[i] > 0.0f ? dy[i] : j->slope * dy[i]);
        break;
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

void ae_act_forward_slope(ae_act a, float slope, const float *x, float *y, size_t n)
{
    act_job j = {a, x, NULL, NULL, y, 0.0f, slope};
    ae_par_for(n, act_fwd_chunk, &j);
}

void ae_act_backward_slope(ae_act a, float slope, const float *y, const float *dy, float *dx, size_t n,
                           int accumulate)
{
    act_job j = {a, NULL, y, dy, dx, accumulate ? 1.0f : 0.0f, slope};
    ae_par_for(n, act_bwd_chunk, &j);
}

void ae_act_forward(ae_act a, const float *x, float *y, size_t n)
{
    ae_act_forward_slope(a, AE_LEAKY_SLOPE, x, y, n);
}

void ae_act_backward(ae_act a, const float *y, const float *dy, float *dx, size_t n, int accumulate)
{
    ae_act_backward_slope(a, AE_LEAKY_SLOPE, y, dy, dx, n, accumulate);
}

float ae_act_slope(const ae_node *n) { return n->fattr[AE_FATTR_SLOPE]; }
void ae_set_act_slope(ae_node *n, float slope)
{
    if (n) n->fattr[AE_FATTR_SLOPE] = slope;
}

static int act_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape = n->in[0]->shape;
    return AE_OK;
}

static void act_forward(ae_node *n)
{
    ae_act_forward_slope((ae_act)n->iattr[ACT_FN], ae_act_slope(n), n->in[0]->val, n->val, n->numel);
}

static void act_backward(ae_node *n)
{
    ae_node *x = n->in[0];
    if (x->needs_grad)
        ae_act_backward_slope((ae_act)n->iattr[ACT_FN], ae_act_slope(n), n->val, n->grad, x->grad, n->numel,
                              n->accum[0]);
}

const ae_op ae_op_activation = {.name = "activation", .infer = act_infer, .forward = act_forward,
                                .backward = act_backward};

ae_node *ae_activation(ae_graph *g, const char *name, ae_node *x, ae_act act, ae_err *err)
{
    int ia[ACT_NATTR] = {[ACT_FN] = (int)act};
    float fa[AE_FATTR_SLOPE + 1] = {[AE_FATTR_SLOPE] = AE_LEAKY_SLOPE};
    return ae_graph_add(g, &ae_op_activation, name, &x, 1, ia, ACT_NATTR, fa, AE_FATTR_SLOPE + 1, err);
}

static int reshape_infer(ae_node *n, ae_err *err)
{
    const int *at = n->iattr;
    ae_shape s = ae_shape_make(at[RESHAPE_ND], (int64_t[]){n->in[0]->shape.d[0], at[RESHAPE_D1],
                                                          at[RESHAPE_D2], at[RESHAPE_D3]});
    char a[64], b[64];
    if (ae_shape_numel(s) != n->in[0]->numel)
        return ae_errf(err, AE_EINPUT, "%s: cannot reshape %s into %s", n->name,
                       ae_shape_str(n->in[0]->shape, a, sizeof a), ae_shape_str(s, b, sizeof b));
    n->shape = s;
    return AE_OK;
}

/* The graph makes a reshape a view (graph.c): its value is its input's, and so is its gradient
 * when the input has no other consumer; otherwise the gradient is passed on here. */
static void reshape_forward(ae_node *n)
{
    if (n->val != n->in[0]->val) memcpy(n->val, n->in[0]->val, n->numel * sizeof(float));
}

static void reshape_backward(ae_node *n)
{
    ae_node *x = n->in[0];
    if (!x->needs_grad || x->grad == n->grad) return;
    if (!n->accum[0]) {
        memcpy(x->grad, n->grad, n->numel * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n->numel; i++) x->grad[i] += n->grad[i];
}

/* A view keeps its input's layout, a channel-blocked one included (ae_node.blk, set by the plan). */
const ae_op ae_op_reshape = {.name = "reshape", .infer = reshape_infer, .plan = ae_ops_plan,
                             .forward = reshape_forward, .backward = reshape_backward, .view = 1};

ae_node *ae_reshape(ae_graph *g, const char *name, ae_node *x, ae_shape s, ae_err *err)
{
    int ia[RESHAPE_NATTR] = {[RESHAPE_ND] = s.nd, [RESHAPE_D1] = (int)s.d[1], [RESHAPE_D2] = (int)s.d[2],
                             [RESHAPE_D3] = (int)s.d[3]};
    return ae_graph_add(g, &ae_op_reshape, name, &x, 1, ia, RESHAPE_NATTR, NULL, 0, err);
}
