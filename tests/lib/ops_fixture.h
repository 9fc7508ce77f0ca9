/* Shared by the core op suites (test_ops.c, test_ops_noise.c, ...): a graph over a parameter store,
 * parameters filled with U(lo, hi), a finite-difference check of a loss, an MSE loss to a target, a
 * step's gradients and their comparison within a reduction's rounding. */
#ifndef OPS_FIXTURE_H
#define OPS_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_dnnl.h"
#include "ae_latent.h"
#include "ae_ops.h"
#include "ae_test.h"

typedef struct fx {
    ae_params *ps;
    ae_graph *g;
    ae_rng *rng;
    ae_err err;
} fx;

static inline void fx_init(fx *f) { memset(f, 0, sizeof *f); f->ps = ae_params_new(); f->rng = ae_rng_new(7); }

static inline int decl(fx *f, const char *name, ae_shape s)
{
    int i = ae_params_declare(f->ps, name, s, 1, 1, AE_PARAM_WEIGHT, 0, &f->err);
    ck_assert_int_ge(i, 0);
    return i;
}

/* Allocates, fills every parameter with U(lo, hi), makes the graph. */
static inline void fx_alloc(fx *f, int64_t batch, float lo, float hi)
{
    ck_assert_int_eq(ae_params_alloc(f->ps, &f->err), AE_OK);
    for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] = lo + (hi - lo) * (float)ae_rng_uniform(f->rng);
    f->g = ae_graph_new(f->ps, batch, 1);
}

static inline void fx_free(fx *f)
{
    ae_graph_free(f->g);
    ae_params_free(f->ps);
    ae_rng_free(f->rng);
}

static inline double check(fx *f, ae_node *loss, ae_rng *rng)
{
    ck_assert_msg(loss != NULL, "build failed: %s", f->err.msg);
    ck_assert_msg(ae_graph_compile(f->g, loss, &f->err) == AE_OK, "%s", f->err.msg);
    return ae_test_gradcheck(f->g, loss, f->ps, rng, 1e-2f, 40, 1e-2);
}

/* loss = mean(y²)·0.5-ish through mse against a fixed target param that gets a gradient too. */
static inline ae_node *sq_loss(fx *f, ae_node *y, int ti)
{
    return ae_mse(f->g, "loss", y, ae_graph_param(f->g, ti, &f->err), AE_MEAN, &f->err);
}

/* One forward and backward of the compiled graph: the loss into *lv, every parameter gradient into a
 * new buffer (the caller frees it). */
static inline float *fx_grads(fx *f, ae_node *loss, float *lv)
{
    ae_graph_forward_loss(f->g);
    ae_graph_backward(f->g);
    *lv = loss->val[0];
    float *g = malloc(f->ps->total * sizeof *g);
    memcpy(g, f->ps->grad, f->ps->total * sizeof *g);
    return g;
}

/* Each parameter's gradient in ga within the float error of a reduction over `terms` terms of gb's
 * (times the largest entry of `ref`'s: ga or gb). */
static inline void fx_assert_near(const ae_params *ps, const float *ga, const float *gb, const float *ref, size_t terms,
                                  const char *what)
{
    for (size_t i = 0; i < ps->n; i++) {
        const float *a = ga + ps->p[i].off, *b = gb + ps->p[i].off;
        double tol = ae_test_tol_reduce(terms, ae_test_absmax(ref + ps->p[i].off, ps->p[i].n)), worst = 0.0;
        for (size_t j = 0; j < ps->p[i].n; j++) worst = fmax(worst, fabs((double)a[j] - (double)b[j]));
        ck_assert_msg(worst <= tol, "%s: parameter %zu differs by %g (tolerance %g)", what, i, worst, tol);
    }
}

#endif
