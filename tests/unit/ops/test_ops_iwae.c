/* The importance-weighting ops (ops_iwae.c): a table of gradient checks (central differences), each
 * case also checking its forward value against a sum by hand, plus the bound's stability far from 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_latent.h"
#include "ae_ops.h"
#include "ae_test.h"

typedef struct fx {
    ae_params *ps;
    ae_graph *g;
    ae_rng *rng;
    ae_err err;
    int p[6];        /* parameter indices, in the order the case declares them */
    ae_node *out;    /* the op under test (its value checked by hand) */
    double ref;      /* ... against this at index ref_at */
    size_t ref_at;
} fx;

static int decl(fx *f, const char *name, ae_shape s)
{
    int i = ae_params_declare(f->ps, name, s, 1, 1, AE_PARAM_WEIGHT, 0, &f->err);
    ck_assert_int_ge(i, 0);
    return i;
}

static float *pv(fx *f, int k) { return f->ps->val + f->ps->p[f->p[k]].off; }
static ae_node *pn(fx *f, int k) { return ae_graph_param(f->g, f->p[k], &f->err); }
static ae_shape vec(int64_t n) { return ae_shape_make(1, (int64_t[]){n}); }

/* loss = mse(y, t) for a target parameter t of y's shape. */
static ae_node *sq(fx *f, ae_node *y, int ti)
{
    return y ? ae_mse(f->g, "loss", y, pn(f, ti), AE_MEAN, &f->err) : NULL;
}

/* repeat_rows: 3x4 repeated k = 3 times; y[2·3 + 1][2] = x[1][2]. */
static void decl_repeat(fx *f) { f->p[0] = decl(f, "x", ae_shape2(3, 4)), f->p[1] = decl(f, "t", ae_shape2(9, 4)); }
static ae_node *build_repeat(fx *f)
{
    f->out = ae_repeat_rows(f->g, "rep", pn(f, 0), 3, &f->err);
    f->ref_at = (2 * 3 + 1) * 4 + 2;
    return sq(f, f->out, 1);
}
static void ref_repeat(fx *f) { f->ref = pv(f, 0)[1 * 4 + 2]; }

/* bernoulli_loglik: logits in [-3, 3], targets in [0, 1] (both get gradients); row 4 by hand. */
static void decl_bern(fx *f)
{
    f->p[0] = decl(f, "l", ae_shape2(6, 5)), f->p[1] = decl(f, "x", ae_shape2(6, 5)), f->p[2] = decl(f, "t", vec(6));
}
static ae_node *build_bern(fx *f)
{
    for (int i = 0; i < 30; i++) pv(f, 0)[i] = 6.0f * pv(f, 0)[i], pv(f, 1)[i] = 0.5f + 0.5f * pv(f, 1)[i];
    f->out = ae_bernoulli_loglik(f->g, "bern", pn(f, 0), pn(f, 1), &f->err);
    f->ref_at = 4;
    return sq(f, f->out, 2);
}
static void ref_bern(fx *f)
{
    double s = 0;
    for (int j = 20; j < 25; j++) {
        double l = pv(f, 0)[j], x = pv(f, 1)[j];
        s += x * l - log1p(exp(l));
    }
    f->ref = s;
}

/* normal_log_ratio: z, mu, logvar 4x3; row 2 by hand (the 2π terms cancel). */
static void decl_ratio(fx *f)
{
    f->p[0] = decl(f, "z", ae_shape2(4, 3)), f->p[1] = decl(f, "mu", ae_shape2(4, 3));
    f->p[2] = decl(f, "lv", ae_shape2(4, 3)), f->p[3] = decl(f, "t", vec(4));
}
static ae_node *build_ratio(fx *f)
{
    f->out = ae_normal_log_ratio(f->g, "ratio", pn(f, 0), pn(f, 1), pn(f, 2), &f->err);
    f->ref_at = 2;
    return sq(f, f->out, 3);
}
static void ref_ratio(fx *f)
{
    double lp = 0, lq = 0;
    for (int j = 6; j < 9; j++) {
        double z = pv(f, 0)[j], m = pv(f, 1)[j], v = pv(f, 2)[j];
        lp += -0.5 * (z * z + log(2 * M_PI));
        lq += -0.5 * ((z - m) * (z - m) / exp(v) + v + log(2 * M_PI));
    }
    f->ref = lp - lq;
}

/* neg_log_mean_exp: two vectors of k·B = 3·2 log-weights, scaled to [-4, 4]. */
static void decl_lme(fx *f) { f->p[0] = decl(f, "w1", vec(6)), f->p[1] = decl(f, "w2", vec(6)); }
static ae_node *build_lme(fx *f)
{
    for (int i = 0; i < 6; i++) pv(f, 0)[i] *= 4.0f, pv(f, 1)[i] *= 4.0f;
    ae_node *w[2] = {pn(f, 0), pn(f, 1)};
    f->ref_at = 0;
    return f->out = ae_neg_log_mean_exp(f->g, "lme", w, 2, 3, &f->err);
}
static void ref_lme(fx *f)
{
    double s = 0;
    for (int b = 0; b < 2; b++) {
        double m = 0;
        for (int k = 0; k < 3; k++) m += exp((double)pv(f, 0)[k * 2 + b] + pv(f, 1)[k * 2 + b]) / 3.0;
        s -= log(m) / 2.0;
    }
    f->ref = s;
}

/* The chain an IWAE objective builds: mu, logvar (2x3) repeated k = 4 times, sampled, decoded by a
 * dense layer to logits of x (2x5, repeated), log-weights, bound. The noise is replayed. */
static void decl_chain(fx *f)
{
    f->p[0] = decl(f, "mu", ae_shape2(2, 3)), f->p[1] = decl(f, "lv", ae_shape2(2, 3));
    f->p[2] = decl(f, "w", ae_shape2(5, 3)), f->p[3] = decl(f, "x", ae_shape2(2, 5));
}
static ae_node *build_chain(fx *f)
{
    for (int i = 0; i < 10; i++) pv(f, 3)[i] = pv(f, 3)[i] > 0 ? 1.0f : 0.0f; /* binary data */
    const int k = 4;
    ae_node *mu = ae_repeat_rows(f->g, "mu", pn(f, 0), k, &f->err), *lv = ae_repeat_rows(f->g, "lv", pn(f, 1), k, &f->err);
    ae_node *z = ae_reparam(f->g, "z", mu, lv, f->rng, 0, &f->err);
    ae_node *l = ae_dense(f->g, "dec", z, pn(f, 2), NULL, AE_ACT_IDENTITY, &f->err);
    ae_node *x = ae_repeat_rows(f->g, "x", pn(f, 3), k, &f->err);
    ae_node *w[2] = {ae_bernoulli_loglik(f->g, "px", l, x, &f->err), ae_normal_log_ratio(f->g, "r", z, mu, lv, &f->err)};
    f->out = NULL;
    return ae_neg_log_mean_exp(f->g, "bound", w, 2, k, &f->err);
}

typedef struct op_case {
    const char *name;
    void (*decl)(fx *f);
    ae_node *(*build)(fx *f);
    void (*ref)(fx *f);
} op_case;

static const op_case cases[] = {
    {"repeat_rows", decl_repeat, build_repeat, ref_repeat},
    {"bernoulli_loglik", decl_bern, build_bern, ref_bern},
    {"normal_log_ratio", decl_ratio, build_ratio, ref_ratio},
    {"neg_log_mean_exp", decl_lme, build_lme, ref_lme},
    {"iwae chain", decl_chain, build_chain, NULL},
};

START_TEST(iwae_op_grads)
{
    const op_case *c = &cases[_i];
    fx f;
    memset(&f, 0, sizeof f);
    f.ps = ae_params_new();
    f.rng = ae_rng_new(5);
    c->decl(&f);
    ck_assert_int_eq(ae_params_alloc(f.ps, &f.err), AE_OK);
    for (size_t i = 0; i < f.ps->total; i++) f.ps->val[i] = -1.0f + 2.0f * (float)ae_rng_uniform(f.rng);
    f.g = ae_graph_new(f.ps, 2, 1);
    ae_node *loss = c->build(&f);
    ck_assert_msg(loss != NULL, "%s: build failed: %s", c->name, f.err.msg);
    ck_assert_msg(ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    double e = ae_test_gradcheck(f.g, loss, f.ps, f.rng, 1e-2f, 40, 1e-2);
    ck_assert_msg(e < 2e-2, "%s gradient error %g", c->name, e);
    if (c->ref) {
        c->ref(&f);
        double got = f.out->val[f.ref_at];
        ck_assert_msg(fabs(got - f.ref) <= 1e-5 * fmax(1.0, fabs(f.ref)), "%s: %.9g, by hand %.9g", c->name, got, f.ref);
    }
    ae_graph_free(f.g);
    ae_params_free(f.ps);
    ae_rng_free(f.rng);
}
END_TEST

/* Log-weights near -1e4 (a bad model on a large input) and one sample far ahead: the bound is the
 * leading weight's -(w - log k), finite, and its gradient goes to that sample alone. */
START_TEST(neg_log_mean_exp_stable)
{
    ae_err err = {0};
    ae_params *ps = ae_params_new();
    int wi = ae_params_declare(ps, "w", vec(4), 1, 1, AE_PARAM_WEIGHT, 0, &err);
    ck_assert_int_eq(ae_params_alloc(ps, &err), AE_OK);
    float *w = ps->val + ps->p[wi].off;
    w[0] = -10000.0f, w[1] = -10500.0f, w[2] = -10600.0f, w[3] = -10700.0f; /* k = 4, B = 1 */
    ae_graph *g = ae_graph_new(ps, 1, 1);
    ae_node *in = ae_graph_param(g, wi, &err);
    ae_node *l = ae_neg_log_mean_exp(g, "lme", &in, 1, 4, &err);
    ck_assert_int_eq(ae_graph_compile(g, l, &err), AE_OK);
    ae_graph_forward(g);
    ae_graph_backward(g);
    ck_assert(isfinite(l->val[0]));
    ck_assert_double_eq_tol(l->val[0], 10000.0 + log(4.0), 1e-2);
    ck_assert_double_eq_tol(ps->grad[ps->p[wi].off], -1.0, 1e-6);
    ck_assert_float_eq(ps->grad[ps->p[wi].off + 1], 0.0f);
    ae_graph_free(g);
    ae_params_free(ps);
}
END_TEST

/* k must divide the number of log-weights; repeat needs k >= 1. */
START_TEST(iwae_shape_errors)
{
    ae_err err = {0};
    ae_params *ps = ae_params_new();
    int wi = ae_params_declare(ps, "w", vec(6), 1, 1, AE_PARAM_WEIGHT, 0, &err);
    ck_assert_int_eq(ae_params_alloc(ps, &err), AE_OK);
    ae_graph *g = ae_graph_new(ps, 1, 1);
    ae_node *in = ae_graph_param(g, wi, &err);
    ck_assert_ptr_null(ae_neg_log_mean_exp(g, "bound", &in, 1, 4, &err));
    ck_assert_msg(strstr(err.msg, "bound") && strstr(err.msg, "k = 4"), "%s", err.msg);
    ae_graph_free(g);
    g = ae_graph_new(ps, 1, 1);
    memset(&err, 0, sizeof err);
    in = ae_graph_param(g, wi, &err);
    ck_assert_ptr_null(ae_repeat_rows(g, "rep", in, 0, &err));
    ae_graph_free(g);
    ae_params_free(ps);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_iwae");
    TCase *t = tcase_create("ops_iwae");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, iwae_op_grads, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(t, neg_log_mean_exp_stable);
    tcase_add_test(t, iwae_shape_errors);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
