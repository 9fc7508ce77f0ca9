/* Shared by the conv op suites (test_conv*.c): a graph fixture, W3's conv stack, a conv case
 * (shape, stride, padding, activation), a direct-loop reference and ReLU kinks kept off the
 * finite-difference steps. */
#ifndef CONV_FIXTURE_H
#define CONV_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_config.h"
#include "ae_conv.h"
#include "ae_params.h"
#include "ae_registry.h"
#include "ae_test.h"

typedef struct fx {
    ae_params *ps;
    ae_graph *g;
    ae_rng *rng;
    ae_err err;
    ae_node *tg[4]; /* loss targets: graph inputs (no gradient to check), filled at compile */
    int ntg;
} fx;

/* Each test starts from the AUTO layout and the default gather limit (a failed test in a
 * non-forking run skips fx_free). */
static inline void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->ps = ae_params_new();
    f->rng = ae_rng_new(11);
    ae_conv_set_layout(AE_CONV_LAYOUT_AUTO);
    ae_conv_set_gather_limit(AE_CONV_GATHER_DEFAULT);
}

static inline int decl(fx *f, const char *name, ae_shape s)
{
    int i = ae_params_declare(f->ps, name, s, 1, 1, AE_PARAM_WEIGHT, 0, &f->err);
    ck_assert_int_ge(i, 0);
    return i;
}

static inline void fx_alloc(fx *f, int64_t batch, int training)
{
    ck_assert_int_eq(ae_params_alloc(f->ps, &f->err), AE_OK);
    for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] = (float)(2.0 * ae_rng_uniform(f->rng) - 1.0);
    f->g = ae_graph_new(f->ps, batch, training);
}

static inline void fx_free(fx *f)
{
    ae_graph_free(f->g);
    ae_params_free(f->ps);
    ae_rng_free(f->rng);
    ae_conv_set_layout(AE_CONV_LAYOUT_AUTO);
    ae_conv_set_gather_limit(AE_CONV_GATHER_DEFAULT);
}

static inline ae_node *P(fx *f, int i) { return i < 0 ? NULL : ae_graph_param(f->g, i, &f->err); }

static inline ae_node *target(fx *f, ae_shape s)
{
    ae_node *t = ae_graph_input(f->g, "target", s, &f->err);
    if (t && f->ntg < 4) f->tg[f->ntg++] = t;
    return t;
}

static inline void compile(fx *f, ae_node *loss)
{
    ck_assert_msg(loss && ae_graph_compile(f->g, loss, &f->err) == AE_OK, "%s", f->err.msg);
    for (int k = 0; k < f->ntg; k++)
        for (size_t i = 0; i < f->tg[k]->numel; i++) f->tg[k]->val[i] = (float)ae_rng_uniform(f->rng);
}

/* Central differences on every parameter (24 entries each, spread evenly: every tap and channel). */
static inline void grad_ok(fx *f, ae_node *loss, const char *what, int layout)
{
    double e = ae_test_gradcheck(f->g, loss, f->ps, NULL, 1e-2f, 24, 1e-2);
    ck_assert_msg(e < 2e-2, "%s (layout %d): gradient error %g", what, layout, e);
}

static inline int bias(fx *f, const char *name, int64_t n) { return decl(f, name, ae_shape_make(1, &n)); }

/* W3's conv stack (conv 1->32->64, transposed conv 64->32->1, 3x3 stride 2, with biases) on `batch`
 * side x side images: `hidden` the first three layers' activation, `last` the fourth's; parameters
 * from the fixture's seed scaled by 0.3 (keeps a sigmoid off saturation). The layers go to n[4] when
 * n is given; returns the output, with the input in *x (its values exist once the graph is compiled). */
static inline ae_node *w3_conv_stack(fx *f, int64_t batch, int64_t side, ae_act hidden, ae_act last, ae_node **x,
                                ae_node *n[4])
{
    int wi[4] = {decl(f, "w1", ae_shape4(32, 1, 3, 3)), decl(f, "w2", ae_shape4(64, 32, 3, 3)),
                 decl(f, "w3", ae_shape4(64, 32, 3, 3)), decl(f, "w4", ae_shape4(32, 1, 3, 3))};
    int bi[4] = {bias(f, "b1", 32), bias(f, "b2", 64), bias(f, "b3", 32), bias(f, "b4", 1)};
    fx_alloc(f, batch, 1);
    for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] *= 0.3f;
    ae_node *h = *x = ae_graph_input(f->g, "x", ae_shape4(batch, 1, side, side), &f->err);
    for (int i = 0; i < 4; i++) {
        ae_act a = i == 3 ? last : hidden;
        h = i < 2 ? ae_conv2d(f->g, "e", h, P(f, wi[i]), P(f, bi[i]), 2, 1, a, &f->err)
                  : ae_conv_transpose2d(f->g, "d", h, P(f, wi[i]), P(f, bi[i]), 2, 1, 1, a, &f->err);
        if (n) n[i] = h;
    }
    ck_assert_msg(h && ae_shape_eq(h->shape, (*x)->shape), "%s", f->err.msg);
    return h;
}

/* --- direct-loop references ------------------------------------------------------------------ */
typedef struct cfg {
    int tr, n, cin, cout, h, w, k, s, p, op, bias;
    ae_act act;
} cfg;

static inline int out_size(const cfg *c, int in)
{
    return c->tr ? (in - 1) * c->s - 2 * c->p + c->k + c->op : (in + 2 * c->p - c->k) / c->s + 1;
}

static inline double act_ref(ae_act a, double z)
{
    return a == AE_ACT_RELU ? fmax(z, 0) : a == AE_ACT_SIGMOID ? 1 / (1 + exp(-z)) : a == AE_ACT_TANH ? tanh(z) : z;
}

/* y (n x cout x ho x wo), doubles; w is [cout,cin,k,k] for conv, [cin,cout,k,k] for transpose.
 * Loops run over the unstrided side (conv: output, transpose: input) and index the strided one. */
static inline double *reference(const cfg *c, const float *x, const float *w, const float *b)
{
    int ho = out_size(c, c->h), wo = out_size(c, c->w), k = c->k;
    int li = c->tr ? c->h : ho, lj = c->tr ? c->w : wo, si = c->tr ? ho : c->h, sj = c->tr ? wo : c->w;
    double *y = calloc((size_t)c->n * c->cout * ho * wo, sizeof *y);
    for (int n = 0; n < c->n; n++)
        for (int o = 0; o < c->cout; o++)
            for (int ci = 0; ci < c->cin; ci++)
                for (int u = 0; u < k * k; u++) {
                    double wt = w[(c->tr ? ci * c->cout + o : o * c->cin + ci) * k * k + u];
                    for (int i = 0; i < li; i++)
                        for (int j = 0; j < lj; j++) {
                            int a = i * c->s + u / k - c->p, bb = j * c->s + u % k - c->p;
                            if (a < 0 || a >= si || bb < 0 || bb >= sj) continue;
                            size_t xo = ((size_t)(n * c->cin + ci) * c->h + (c->tr ? i : a)) * c->w + (c->tr ? j : bb);
                            size_t yo = ((size_t)(n * c->cout + o) * ho + (c->tr ? a : i)) * wo + (c->tr ? bb : j);
                            y[yo] += wt * x[xo];
                        }
                }
    size_t plane = (size_t)ho * wo;
    for (size_t i = 0; i < (size_t)c->n * c->cout * plane; i++)
        y[i] = act_ref(c->act, y[i] + (b ? b[(i / plane) % (size_t)c->cout] : 0.0));
    return y;
}

static inline ae_node *conv_node(fx *f, const cfg *c, const char *name, ae_node *x, int wi, int bi)
{
    return c->tr ? ae_conv_transpose2d(f->g, name, x, P(f, wi), P(f, bi), c->s, c->p, c->op, c->act, &f->err)
                 : ae_conv2d(f->g, name, x, P(f, wi), P(f, bi), c->s, c->p, c->act, &f->err);
}

static inline ae_shape wshape(const cfg *c)
{
    return c->tr ? ae_shape4(c->cin, c->cout, c->k, c->k) : ae_shape4(c->cout, c->cin, c->k, c->k);
}

/* ReLU's kink breaks central differences when a pre-activation lies within h of 0: redraw the
 * parameters until every pre-activation is clear of it (|dz| <= h per perturbed entry in [-1, 1]). */
static inline void clear_relu_kinks(fx *f, const cfg *c, int xi, int wi, int bi, double h)
{
    cfg lin = *c;
    lin.act = AE_ACT_IDENTITY;
    size_t ny = (size_t)c->n * c->cout * out_size(c, c->h) * out_size(c, c->w);
    for (int tries = 0; tries < 1000; tries++) {
        double *z = reference(&lin, f->ps->val + f->ps->p[xi].off, f->ps->val + f->ps->p[wi].off,
                              bi >= 0 ? f->ps->val + f->ps->p[bi].off : NULL);
        double m = INFINITY;
        for (size_t i = 0; i < ny; i++) m = fmin(m, fabs(z[i]));
        free(z);
        if (m > 2 * h) return;
        for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] = (float)(2.0 * ae_rng_uniform(f->rng) - 1.0);
    }
    ck_abort_msg("no parameter draw keeps the ReLU pre-activations away from 0");
}

#endif
