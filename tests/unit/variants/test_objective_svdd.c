/* The svdd objective (One-Class Deep SVDD): its gradient against central differences, the centre as
 * the mean of the initial codes with the eps fix, the anomaly score as the squared distance of each
 * code to the centre, and the configuration errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_builtins.h"
#include "ae_data.h"
#include "ae_model.h"
#include "ae_test.h"
#include "ae_train.h"

enum { N = 8, D = 6, CS = 3 };

static ae_dataset data(void)
{
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = N, ds.d = D, ds.c = ds.h = 1, ds.w = D;
    ds.x = malloc(ds.n * ds.d * sizeof *ds.x);
    for (size_t i = 0; i < ds.n * ds.d; i++) ds.x[i] = (float)((i * 7 + i / 5) % 11) / 10.0f - 0.3f;
    return ds;
}

/* A dense encoder without biases to a code of CS, the svdd loss with `loss` as its spec. */
static ae_model *model(ae_dataset *ds, ae_rng *rng, const char *loss, ae_cfg **cfg, ae_err *err)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml, "model: {encoder: [{type: dense, units: 5, activation: tanh, bias: false}, "
             "{type: dense, units: %d, bias: false}]}\nloss: %s\n", CS, loss);
    *cfg = ae_cfg_load_string(yaml, "test.yaml", err);
    ck_assert_msg(*cfg != NULL, "%s", err->msg);
    ae_model *m = NULL;
    ae_model_configure(*cfg, ae_test_registry(), ds, 1, rng, &m, err);
    return m;
}

static float *center(ae_model *m)
{
    ae_params *ps = ae_model_params(m);
    int k = ae_params_find(ps, "svdd.center");
    ck_assert_int_ge(k, 0);
    ck_assert_uint_eq(ps->p[k].n, CS);
    ck_assert(!ae_params_trainable(ps, (size_t)k)); /* a STATE parameter: saved, never updated */
    return ps->val + ps->p[k].off;
}

/* The loss is mean_b sum_j (z_bj - c_j)^2 and its gradient matches central differences, for every
 * parameter the optimizer trains (the centre is fixed: not compared). */
START_TEST(gradient)
{
    ae_dataset ds = data();
    ae_rng *rng = ae_rng_new(5);
    ae_cfg *cfg;
    ae_err err = {0};
    ae_model *m = model(&ds, rng, "svdd", &cfg, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    float *c = center(m);
    c[0] = 0.25f, c[1] = -0.4f, c[2] = 0.1f;
    ae_mgraph *g = ae_model_graph(m, N, AE_MODE_TRAIN, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    ck_assert_int_eq(g->nterms, 1);
    ck_assert_str_eq(g->term_name[0], "svdd");
    memcpy(g->taps.x->val, ds.x, N * D * sizeof(float));
    ae_graph_forward_loss(g->g);
    double ref = 0, mag = 0;
    for (int b = 0; b < N; b++)
        for (int j = 0; j < CS; j++) {
            double e = (double)g->taps.code->val[b * CS + j] - c[j];
            ref += e * e / N;
            mag = fmax(mag, e * e);
        }
    ck_assert_msg(fabs(g->loss->val[0] - ref) <= ae_test_tol_reduce(N * CS, mag + 1.0) && ref > 0,
                  "loss %.9g vs %.9g", (double)g->loss->val[0], ref);
    /* the decoder does not enter the loss: the check covers the encoder's weights */
    ae_params *ps = ae_model_params(m);
    double e = ae_test_gradcheck(g->g, g->loss, ps, NULL, 1e-2f, 30, 1e-3);
    ck_assert_msg(e < 2e-2, "svdd gradient error %g", e);
    for (size_t p = 0; p < ps->n; p++) {
        if (strncmp(ps->p[p].name, "encoder", 7)) continue;
        double a = ae_test_absmax(ps->grad + ps->p[p].off, ps->p[p].n);
        ck_assert_msg(a > 0 && isfinite(a), "%s: gradient %g", ps->p[p].name, a);
    }
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

/* ae_objective_prepare puts c at the mean of the codes ae_encode gives (evaluation mode), with the
 * coordinates closer than eps to 0 at eps·sign; the anomaly scores are ||code - c||^2. eps is chosen
 * between the smallest and the largest |mean| so that both branches are taken. */
START_TEST(center_and_score)
{
    ae_dataset ds = data();
    ae_rng *rng = ae_rng_new(2);
    ae_cfg *cfg;
    ae_err err = {0};
    ae_model *m = model(&ds, rng, "svdd", &cfg, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    float codes[N * CS];
    ck_assert_int_eq(ae_encode(m, &ds, N, AE_MODE_EVAL, 3, codes, NULL, &err), AE_OK);
    double mean[CS], lo = INFINITY, hi = 0;
    for (int j = 0; j < CS; j++) {
        mean[j] = 0;
        for (int i = 0; i < N; i++) mean[j] += codes[i * CS + j] / (double)N;
        lo = fmin(lo, fabs(mean[j])), hi = fmax(hi, fabs(mean[j]));
    }
    ck_assert_msg(hi > 1.5 * lo && lo > 0, "means too alike for the test: %g %g", lo, hi);
    double eps = (lo + hi) / 2;
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    rng = ae_rng_new(2);
    char spec[64];
    snprintf(spec, sizeof spec, "{type: svdd, eps: %.9g}", eps);
    m = model(&ds, rng, spec, &cfg, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    float *c = center(m);
    for (int j = 0; j < CS; j++) ck_assert(c[j] == 0.0f); /* not placed before the preparation */
    ck_assert_int_eq(ae_objective_prepare(m, &ds, 3, &err), AE_OK);
    int fixed = 0;
    for (int j = 0; j < CS; j++) {
        double want = fabs(mean[j]) < eps ? (mean[j] < 0 ? -eps : eps) : mean[j];
        fixed += fabs(mean[j]) < eps;
        ck_assert_msg(fabs(c[j] - want) <= ae_test_tol_reduce(N, fabs(want)) + 1e-7 * fabs(want),
                      "c[%d] = %.9g, want %.9g (mean %.9g, eps %.9g)", j, (double)c[j], want, mean[j], eps);
    }
    ck_assert(fixed > 0 && fixed < CS);
    double s[N];
    ck_assert_int_eq(ae_anomaly_scores(m, &ds, 3, s, &err), AE_OK);
    for (int i = 0; i < N; i++) {
        double d = 0;
        for (int j = 0; j < CS; j++) d += ((double)codes[i * CS + j] - c[j]) * ((double)codes[i * CS + j] - c[j]);
        ck_assert_msg(fabs(s[i] - d) <= 1e-9 * (d + 1.0), "score %d: %.12g vs %.12g", i, s[i], d);
    }
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

/* A gaussian latent has no single code to measure: refused naming the latent. */
START_TEST(needs_deterministic_code)
{
    ae_dataset ds = data();
    ae_rng *rng = ae_rng_new(1);
    ae_err err = {0};
    ae_cfg *cfg = ae_cfg_load_string("model: {encoder: [{type: dense, units: 4}], latent: {kind: gaussian, "
                                     "size: 2}}\nloss: svdd\n", "t.yaml", &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    ae_model *m = NULL;
    ck_assert_int_eq(ae_model_configure(cfg, ae_test_registry(), &ds, 1, rng, &m, &err), AE_EINPUT);
    ck_assert_msg(strstr(err.msg, "deterministic code") && strstr(err.msg, "gaussian"), "%s", err.msg);
    ck_assert_ptr_null(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("objective_svdd");
    TCase *t = tcase_create("objective_svdd");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, gradient);
    tcase_add_test(t, center_and_score);
    tcase_add_test(t, needs_deterministic_code);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
