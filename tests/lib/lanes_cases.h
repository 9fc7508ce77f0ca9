/* The nets of tests/unit/ops/test_ops_lanes.c, one per oneDNN-backed layer (and the batch-norm nets
 * the lanes must leave out): each declares its parameters, allocates and returns its scalar loss. */
#ifndef LANES_CASES_H
#define LANES_CASES_H

#include "ae_latent.h"
#include "ae_norm.h"
#include "ae_ops.h"
#include "conv_fixture.h"

typedef struct tail {
    int w1, b1, w2, b2;
} tail;

static tail tail_decl(fx *f, int64_t k)
{
    return (tail){decl(f, "tw1", ae_shape2(8, k)), bias(f, "tb1", 8), decl(f, "tw2", ae_shape2(4, 8)), bias(f, "tb2", 4)};
}

/* Parameters U(-0.3, 0.3): tanh and sigmoid off saturation. */
static void alloc(fx *f, int64_t batch)
{
    fx_alloc(f, batch, 1);
    for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] *= 0.3f;
}

/* dense 8 (tanh) -> dense 4 (sigmoid) -> MSE: the last layer alone writes its W and b (deferred). */
static ae_node *tail_loss(fx *f, ae_node *h, tail t)
{
    ae_node *a = ae_dense(f->g, "t1", h, P(f, t.w1), P(f, t.b1), AE_ACT_TANH, &f->err);
    ae_node *y = ae_dense(f->g, "t2", a, P(f, t.w2), P(f, t.b2), AE_ACT_SIGMOID, &f->err);
    return y ? ae_mse(f->g, "mse", y, target(f, y->shape), AE_MEAN, &f->err) : NULL;
}

static int state_param(fx *f, const char *name, int64_t c, ae_param_kind kind)
{
    int i = ae_params_declare(f->ps, name, ae_shape_make(1, &c), 1, 1, kind, 0, &f->err);
    ck_assert_int_ge(i, 0);
    return i;
}

typedef struct bn_params {
    int g, b, m, v;
} bn_params;

static bn_params bn_decl(fx *f, int64_t c)
{
    return (bn_params){state_param(f, "bn_g", c, AE_PARAM_SCALE), state_param(f, "bn_b", c, AE_PARAM_SHIFT),
                       state_param(f, "bn_m", c, AE_PARAM_STATE), state_param(f, "bn_v", c, AE_PARAM_STATE_ONE)};
}

static ae_node *bn(fx *f, ae_node *x, bn_params p)
{
    return ae_batch_norm(f->g, "bn", x, P(f, p.g), P(f, p.b), P(f, p.m), P(f, p.v), 0.1f, 1e-4f, &f->err);
}

/* conv 2->4 3x3 with bias and ReLU (fwd, bwd-data, bwd-weights, bias add, eltwise, reorders). */
static ae_node *net_conv(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 2, 12, 12)), w = decl(f, "w", ae_shape4(4, 2, 3, 3)), b = bias(f, "b", 4);
    tail t = tail_decl(f, 4 * 144);
    alloc(f, 8);
    ae_node *h = ae_conv2d(f->g, "conv", P(f, x), P(f, w), P(f, b), 1, 1, AE_ACT_RELU, &f->err);
    return tail_loss(f, h, t);
}

/* transposed conv 4->2 3x3, stride 2, with bias and sigmoid (deconvolution fwd/bwd-data/bwd-weights). */
static ae_node *net_deconv(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 4, 6, 6)), w = decl(f, "w", ae_shape4(4, 2, 3, 3)), b = bias(f, "b", 2);
    tail t = tail_decl(f, 2 * 144);
    alloc(f, 8);
    ae_node *h = ae_conv_transpose2d(f->g, "deconv", P(f, x), P(f, w), P(f, b), 2, 1, 1, AE_ACT_SIGMOID, &f->err);
    return tail_loss(f, h, t);
}

/* The DCAE's first conv (1->8 5x5, no bias: a channel-blocked output and a reorder on AVX-512) ->
 * leaky ReLU -> max-pool -> nearest upsampling (pooling fwd/bwd). */
static ae_node *net_pool(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 1, 12, 12)), w = decl(f, "w", ae_shape4(8, 1, 5, 5));
    tail t = tail_decl(f, 8 * 144);
    alloc(f, 8);
    ae_node *h = ae_conv2d(f->g, "conv", P(f, x), P(f, w), NULL, 1, 2, AE_ACT_IDENTITY, &f->err);
    h = ae_max_pool2d(f->g, "pool", ae_activation(f->g, "act", h, AE_ACT_LEAKY_RELU, &f->err), 2, 2, 0, &f->err);
    return tail_loss(f, ae_upsample_nearest(f->g, "up", h, 2, &f->err), t);
}

/* transposed conv 4->8 5x5, stride 1, with bias (the DCAE decoder's: another kernel family). */
static ae_node *net_deconv_wide(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 4, 6, 6)), w = decl(f, "w", ae_shape4(4, 8, 5, 5)), b = bias(f, "b", 8);
    tail t = tail_decl(f, 8 * 36);
    alloc(f, 8);
    ae_node *h = ae_conv_transpose2d(f->g, "deconv", P(f, x), P(f, w), P(f, b), 1, 2, 0, AE_ACT_RELU, &f->err);
    return tail_loss(f, h, t);
}

/* conv -> batch norm -> leaky ReLU -> max-pool: the deadlock of 2026-12-03 (guarded: no lanes). */
static ae_node *net_bn(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 1, 12, 12)), w = decl(f, "w", ae_shape4(4, 1, 5, 5));
    bn_params p = bn_decl(f, 4);
    tail t = tail_decl(f, 4 * 36);
    alloc(f, 8);
    ae_node *h = bn(f, ae_conv2d(f->g, "conv", P(f, x), P(f, w), NULL, 1, 2, AE_ACT_IDENTITY, &f->err), p);
    h = ae_max_pool2d(f->g, "pool", ae_activation(f->g, "act", h, AE_ACT_LEAKY_RELU, &f->err), 2, 2, 0, &f->err);
    return tail_loss(f, h, t);
}

/* Ruff's DCAE in miniature: conv, BN, leaky ReLU, pool, dense code, dense, upsample, BN, transposed
 * conv with sigmoid, MSE to the input (guarded: no lanes). */
static ae_node *net_dcae(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 1, 12, 12)), w1 = decl(f, "w1", ae_shape4(4, 1, 5, 5));
    int e = decl(f, "e", ae_shape2(8, 4 * 36)), d = decl(f, "d", ae_shape2(4 * 36, 8));
    int w2 = decl(f, "w2", ae_shape4(4, 1, 5, 5));
    bn_params p1 = bn_decl(f, 4), p2 = bn_decl(f, 4);
    alloc(f, 8);
    ae_node *h = bn(f, ae_conv2d(f->g, "c1", P(f, x), P(f, w1), NULL, 1, 2, AE_ACT_IDENTITY, &f->err), p1);
    h = ae_max_pool2d(f->g, "pool", ae_activation(f->g, "a1", h, AE_ACT_LEAKY_RELU, &f->err), 2, 2, 0, &f->err);
    h = ae_dense(f->g, "code", h, P(f, e), NULL, AE_ACT_IDENTITY, &f->err);
    h = ae_dense(f->g, "dec", h, P(f, d), NULL, AE_ACT_IDENTITY, &f->err);
    h = ae_upsample_nearest(f->g, "up", ae_reshape(f->g, "rs", h, ae_shape4(8, 4, 6, 6), &f->err), 2, &f->err);
    h = ae_activation(f->g, "a2", bn(f, h, p2), AE_ACT_LEAKY_RELU, &f->err);
    h = ae_conv_transpose2d(f->g, "out", h, P(f, w2), NULL, 1, 2, 0, AE_ACT_SIGMOID, &f->err);
    return ae_mse(f->g, "mse", h, target(f, ae_shape4(8, 1, 12, 12)), AE_MEAN, &f->err);
}

/* W9-like 784-200-784 at batch 20: deferred dW slices, the forward products in halves on the
 * serving thread (ae_graph_pair) where they give the whole product's bits, a separate tanh eltwise. */
static ae_node *net_dense(fx *f)
{
    int x = decl(f, "x", ae_shape2(20, 784)), w1 = decl(f, "w1", ae_shape2(200, 784)), b1 = bias(f, "b1", 200);
    int w2 = decl(f, "w2", ae_shape2(784, 200)), b2 = bias(f, "b2", 784);
    alloc(f, 20);
    for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] *= 0.2f;
    ae_node *h = ae_dense(f->g, "d1", P(f, x), P(f, w1), P(f, b1), AE_ACT_TANH, &f->err);
    ae_node *y = ae_dense(f->g, "d2", h, P(f, w2), P(f, b2), AE_ACT_SIGMOID, &f->err);
    return ae_mse(f->g, "mse", y, target(f, ae_shape2(20, 784)), AE_MEAN, &f->err);
}

/* Logits into BCE (oneDNN's soft_relu and logistic eltwise primitives) beside a sigmoid layer into
 * BCE on probabilities, in a weighted sum. */
static ae_node *net_bce(fx *f)
{
    int x = decl(f, "x", ae_shape2(8, 16)), w1 = decl(f, "w1", ae_shape2(12, 16)), b1 = bias(f, "b1", 12);
    int w2 = decl(f, "w2", ae_shape2(16, 12)), b2 = bias(f, "b2", 16), w3 = decl(f, "w3", ae_shape2(16, 12));
    alloc(f, 8);
    ae_node *h = ae_dense(f->g, "d1", P(f, x), P(f, w1), P(f, b1), AE_ACT_TANH, &f->err);
    ae_node *l = ae_dense(f->g, "d2", h, P(f, w2), P(f, b2), AE_ACT_IDENTITY, &f->err);
    ae_node *p = ae_dense(f->g, "d3", h, P(f, w3), NULL, AE_ACT_SIGMOID, &f->err);
    ae_node *t = target(f, ae_shape2(8, 16));
    ae_node *terms[2] = {ae_bce_logits(f->g, "bcel", l, t, AE_MEAN, &f->err), ae_bce(f->g, "bce", p, t, AE_MEAN, &f->err)};
    return ae_weighted_sum(f->g, "sum", terms, (float[]){0.7f, 1.3f}, 2, &f->err);
}

/* The importance-weighted bound's ops, k = 2 samples of 4 rows: rows repeated, the Bernoulli
 * log-likelihood of logits (the same eltwise primitives), the gaussian log-ratio, the bound. */
static ae_node *net_iwae(fx *f)
{
    int x = decl(f, "x", ae_shape2(4, 16)), w1 = decl(f, "w1", ae_shape2(12, 16)), b1 = bias(f, "b1", 12);
    int w2 = decl(f, "w2", ae_shape2(16, 12)), b2 = bias(f, "b2", 16), wm = decl(f, "wm", ae_shape2(4, 12));
    int wv = decl(f, "wv", ae_shape2(4, 12)), z = decl(f, "z", ae_shape2(8, 4));
    alloc(f, 8);
    ae_node *r = ae_repeat_rows(f->g, "rep", P(f, x), 2, &f->err);
    ae_node *h = ae_dense(f->g, "d1", r, P(f, w1), P(f, b1), AE_ACT_TANH, &f->err);
    ae_node *l = ae_dense(f->g, "d2", h, P(f, w2), P(f, b2), AE_ACT_IDENTITY, &f->err);
    ae_node *mu = ae_dense(f->g, "mu", h, P(f, wm), NULL, AE_ACT_IDENTITY, &f->err);
    ae_node *lv = ae_dense(f->g, "lv", h, P(f, wv), NULL, AE_ACT_IDENTITY, &f->err);
    ae_node *w[2] = {ae_bernoulli_loglik(f->g, "ll", l, target(f, ae_shape2(8, 16)), &f->err),
                     ae_normal_log_ratio(f->g, "lr", P(f, z), mu, lv, &f->err)};
    return ae_neg_log_mean_exp(f->g, "nlme", w, 2, 2, &f->err);
}

enum { UNBLOCKED = 1, REORDERS = 2 };

typedef struct lane_case {
    const char *name;
    ae_node *(*build)(fx *f);
    int lanes; /* 1: the step must run in the lanes; 0: an op of the net keeps it out (no_lanes) */
    int conv;  /* UNBLOCKED: convs in oneDNN's own threading (ae_conv_set_batch_blocks(0));
                  REORDERS: layout changes by oneDNN's reorders, not table gathers (gather limit 0) */
} lane_case;

static const lane_case CASES[] = {
    {"conv2d", net_conv, 1, 0},
    {"conv2d unblocked", net_conv, 1, UNBLOCKED},
    {"conv2d reorders", net_conv, 1, REORDERS},
    {"conv_transpose2d", net_deconv, 1, 0},
    {"conv_transpose2d unblocked", net_deconv, 1, UNBLOCKED},
    {"conv_transpose2d 5x5", net_deconv_wide, 1, 0},
    {"conv_transpose2d 5x5 reorders", net_deconv_wide, 1, REORDERS},
    {"max_pool2d, leaky_relu, upsample", net_pool, 1, 0},
    {"max_pool2d, leaky_relu, upsample, reorders", net_pool, 1, REORDERS},
    {"batch_norm", net_bn, 0, 0},
    {"ruff dcae", net_dcae, 0, 0},
    {"dense (pair, deferred slices)", net_dense, 1, 0},
    {"bce_logits, bce", net_bce, 1, 0},
    {"iwae bound", net_iwae, 1, 0},
};

#endif
