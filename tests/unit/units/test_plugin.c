/* The example plug-in's penalty (plugins/ortho.c, compiled in here) registered like a loaded
 * plug-in: value against a hand computation and a finite-difference gradient check of a whole
 * model that uses it; registries owned by their callers do not share units. */
#include "../plugins/ortho.c"

#include <math.h>
#include <stdio.h>

#include "ae_builtins.h"
#include "ae_data.h"
#include "ae_model.h"
#include "ae_test.h"

START_TEST(ortho_value_and_gradients)
{
    ae_registry *reg = ae_registry_new();
    ck_assert_ptr_nonnull(reg);
    ck_assert_int_eq(ae_register_builtins(reg), AE_OK);
    ck_assert_int_eq(aelab_plugin_init(reg), AE_OK);
    ae_err err = {0};
    ae_cfg *cfg = ae_cfg_load_string("model: {encoder: [{type: dense, units: 5, activation: tanh}, "
                                     "{type: dense, units: 3}]}\nregularizers: [{type: ortho, weight: 0.7}]\n",
                                     "p.yaml", &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = 6;
    ds.d = 7;
    ds.c = ds.h = 1;
    ds.w = 7;
    ds.x = malloc(42 * sizeof *ds.x);
    for (int i = 0; i < 42; i++) ds.x[i] = (float)sin(1.7 * i);
    ae_rng *rng = ae_rng_new(3);
    ae_model *m = NULL;
    ck_assert_msg(ae_model_configure(cfg, reg, &ds, 1, rng, &m, &err) == AE_OK, "%s", err.msg);
    ae_mgraph *mg = ae_model_graph(m, 6, AE_MODE_TRAIN, &err);
    ck_assert_msg(mg != NULL, "%s", err.msg);
    memcpy(mg->taps.x->val, ds.x, 42 * sizeof(float));
    ae_graph_forward(mg->g);
    ae_node *pen = NULL;
    for (int k = 0; k < mg->nterms; k++) if (!strcmp(mg->term_name[k], "ortho")) pen = mg->term[k];
    ck_assert_ptr_nonnull(pen);
    const float *h = mg->taps.code->val;
    double mean[3] = {0}, c[3][3] = {{0}}, p = 0;
    for (int i = 0; i < 6; i++) for (int k = 0; k < 3; k++) mean[k] += h[i * 3 + k] / 6.0;
    for (int j = 0; j < 3; j++)
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 6; i++) c[j][k] += (h[i * 3 + j] - mean[j]) * (h[i * 3 + k] - mean[k]) / 6.0;
            if (j != k) p += c[j][k] * c[j][k];
        }
    ck_assert_double_eq_tol(pen->val[0], 0.7 * p, 1e-6);
    double e = ae_test_gradcheck(mg->g, mg->loss, ae_model_params(m), rng, 1e-2f, 30, 1e-2);
    ck_assert_msg(e < 2e-2, "ortho gradient error %g", e);
    ae_model_free(m);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
    ae_cfg_free(cfg);
    ae_registry_free(reg);
}
END_TEST

/* Registries are objects their callers own: what one registers, another does not see; a new one is
 * empty until the built-ins are registered; the ABI a plug-in exports is the header's. */
START_TEST(registries_are_independent)
{
    ae_registry *a = ae_registry_new(), *b = ae_registry_new();
    ck_assert(a && b);
    ck_assert_ptr_null(ae_find_layer(a, "dense"));
    ck_assert_ptr_null(ae_layer_names(a)[0]);
    ck_assert_int_eq(ae_register_builtins(a), AE_OK);
    ck_assert_int_eq(ae_register_builtins(b), AE_OK);
    ck_assert_int_eq(aelab_plugin_init(a), AE_OK);
    ck_assert_ptr_nonnull(ae_find_regularizer(a, "ortho"));
    ck_assert_ptr_null(ae_find_regularizer(b, "ortho"));
    ck_assert_ptr_nonnull(ae_find_layer(b, "conv2d"));
    ck_assert_ptr_nonnull(ae_find_variant(b, "variational"));
    ck_assert_ptr_nonnull(ae_find_regularizer(b, "weight_decay"));
    ae_registry_free(a);
    ck_assert_ptr_null(ae_find_regularizer(b, "ortho"));
    ck_assert_ptr_nonnull(ae_find_regularizer(b, "l1"));
    ae_registry_free(b);
    ae_registry_free(NULL);
    ck_assert_int_eq(aelab_plugin_abi, AE_PLUGIN_ABI); /* what AE_PLUGIN_EXPORT_ABI exports */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plugin");
    TCase *t = tcase_create("plugin");
    tcase_add_test(t, ortho_value_and_gradients);
    tcase_add_test(t, registries_are_independent);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
