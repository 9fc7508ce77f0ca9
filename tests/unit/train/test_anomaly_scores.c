/* ae_anomaly_scores: per-sample reconstruction error summed over the features, against a model
 * whose reconstruction is known (every weight 0: the output layer's bias for any input) and against
 * ae_encode's reconstructions of a trained-from-init model; the same for any batch size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "ae_model.h"
#include "ae_test.h"
#include "ae_train.h"

enum { N = 7, D = 5 };

static ae_model *make(ae_dataset *ds, ae_rng *rng, ae_cfg **cfg)
{
    ae_err err = {0};
    *cfg = ae_cfg_load_string("model: {encoder: [{type: dense, units: 3, activation: tanh}, {type: dense, units: 2}]}\n",
                              "t.yaml", &err);
    ck_assert_msg(*cfg != NULL, "%s", err.msg);
    ae_model *m = NULL;
    ae_model_configure(*cfg, ae_test_registry(), ds, 1, rng, &m, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

START_TEST(scores_are_summed_reconstruction_errors)
{
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = N, ds.d = D, ds.c = ds.h = 1, ds.w = D;
    ds.x = malloc(N * D * sizeof *ds.x);
    for (size_t i = 0; i < N * D; i++) ds.x[i] = (float)((i * 37) % 101) / 25.0f - 2.0f;
    ae_rng *rng = ae_rng_new(3);
    ae_cfg *cfg;
    ae_model *m = make(&ds, rng, &cfg);
    ae_err err = {0};
    double s[N], s1[N], want[N];
    float rec[N * D];
    /* random init: the scores are the errors of ae_encode's reconstructions, for any batch */
    ck_assert_int_eq(ae_encode(m, &ds, N, AE_MODE_EVAL, N, NULL, rec, &err), AE_OK);
    for (size_t i = 0; i < N; i++) {
        want[i] = 0;
        for (size_t j = 0; j < D; j++) {
            double e = (double)rec[i * D + j] - ds.x[i * D + j];
            want[i] += e * e;
        }
    }
    ck_assert_int_eq(ae_anomaly_scores(m, &ds, N, s, &err), AE_OK);
    for (size_t i = 0; i < N; i++) ck_assert_double_eq(s[i], want[i]);
    ck_assert_int_eq(ae_anomaly_scores(m, &ds, 3, s1, &err), AE_OK);
    /* another batch size: the same rows through a graph of another shape; float32 matmuls of D and
     * 3 terms, squared and summed over D features */
    for (size_t i = 0; i < N; i++)
        ck_assert_double_eq_tol(s1[i], want[i], 4 * ae_test_tol_reduce(D, want[i] + 1.0));
    /* every parameter 0 but the output bias: the reconstruction is that bias */
    ae_params *ps = ae_model_params(m);
    memset(ps->val, 0, ps->total * sizeof(float));
    const float bias[D] = {0.5f, -1.0f, 2.0f, 0.0f, 1.25f};
    int found = 0;
    for (size_t p = 0; p < ps->n; p++)
        if (!strcmp(ps->p[p].name, "decoder[1].bias")) {
            memcpy(ps->val + ps->p[p].off, bias, sizeof bias);
            found = 1;
        }
    ck_assert(found);
    ck_assert_int_eq(ae_anomaly_scores(m, &ds, 4, s, &err), AE_OK);
    for (size_t i = 0; i < N; i++) {
        double w = 0;
        for (size_t j = 0; j < D; j++) w += ((double)bias[j] - ds.x[i * D + j]) * ((double)bias[j] - ds.x[i * D + j]);
        ck_assert_double_eq(s[i], w);
    }
    ck_assert_int_ne(ae_anomaly_scores(m, &ds, 0, s, &err), AE_OK);
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("anomaly_scores");
    TCase *t = tcase_create("anomaly_scores");
    tcase_add_test(t, scores_are_summed_reconstruction_errors);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
