/* Objectives and corruptions are units the model only dispatches to: a plug-in objective (two terms,
 * the decoder rebuilt on the code through io->decode, its own output activation) and a plug-in
 * corruption run in the model's graphs like the built-ins; `none` builds no corruption node. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_builtins.h"
#include "ae_data.h"
#include "ae_model.h"
#include "ae_ops.h"
#include "ae_test.h"

/* --- a plug-in objective: mse "recon", then "again": the mse of a second decoding of the code ---- */
typedef struct two_state {
    float w1, w2;
} two_state;

static int two_configure(ae_cfg *spec, ae_cfg *root, const ae_dataset *data, void **state, ae_err *err)
{
    (void)root, (void)data;
    two_state *s = calloc(1, sizeof *s);
    *state = s;
    double w;
    if (ae_cfg_num(spec, "weight", 0.5, 0.0, 10.0, &w, err)) return err->code;
    s->w1 = 1.0f;
    s->w2 = (float)w;
    return AE_OK;
}

static int two_build(void *state, ae_build *b, const ae_objective_io *io)
{
    two_state *s = state;
    const ae_taps *t = b->taps;
    ae_node *logits, *y2 = io->decode(b, t->code, "again", &logits);
    ck_assert_ptr_nonnull(y2);
    ck_assert_ptr_nonnull(logits); /* it asked for logits and the last layer is a sigmoid */
    ck_assert_ptr_nonnull(t->logits);
    ae_node *a = ae_mse(b->g, "recon (two)", t->recon, t->x, AE_MEAN, b->err);
    ae_node *c = ae_mse(b->g, "again (two)", y2, t->x, AE_MEAN, b->err);
    if (!a || !c) return b->err->code;
    io->add_term(io->ctx, a, "recon", &s->w1);
    io->add_term(io->ctx, c, "again", &s->w2);
    return AE_OK;
}

static const ae_objective_ops two_objective = {
    .name = "two",
    .help = "test: two terms",
    .configure = two_configure,
    .build = two_build,
    .destroy = free,
    .logits = 1,
    .output_activation = "sigmoid",
};

/* --- a plug-in corruption: x -> sigmoid(x) (deterministic, so the test can check the values) ---- */
static int sig_configure(ae_cfg *spec, const ae_dataset *data, void **state, ae_err *err)
{
    (void)spec, (void)data, (void)err;
    *state = NULL;
    return AE_OK;
}

static ae_node *sig_build(void *state, ae_build *b, ae_node *x)
{
    (void)state;
    return ae_activation(b->g, "corruption", x, AE_ACT_SIGMOID, b->err);
}

static const ae_corruption_ops sig_corruption = {
    .name = "squash", .help = "test: sigmoid", .configure = sig_configure, .build = sig_build};

static ae_registry *registry(void)
{
    ae_registry *r = ae_registry_new();
    ck_assert_int_eq(ae_register_builtins(r), AE_OK);
    ck_assert_int_eq(ae_register_objective(r, &two_objective), AE_OK);
    ck_assert_int_eq(ae_register_corruption(r, &sig_corruption), AE_OK);
    return r;
}

static ae_dataset data(void)
{
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = 4;
    ds.d = 5;
    ds.c = ds.h = 1;
    ds.w = 5;
    ds.x = malloc(ds.n * ds.d * sizeof *ds.x);
    for (size_t i = 0; i < ds.n * ds.d; i++) ds.x[i] = (float)((i * 7) % 10) / 10.0f;
    return ds;
}

static ae_model *configure(ae_registry *r, ae_dataset *ds, ae_rng *rng, const char *yaml, ae_cfg **cfg,
                           ae_err *err)
{
    *cfg = ae_cfg_load_string(yaml, "test.yaml", err);
    ck_assert_msg(*cfg != NULL, "%s", err->msg);
    ae_model *m = NULL;
    ae_model_configure(*cfg, r, ds, 1, rng, &m, err);
    return m;
}

START_TEST(plugin_objective_and_corruption)
{
    ae_registry *r = registry();
    ae_dataset ds = data();
    ae_rng *rng = ae_rng_new(3);
    ae_err err = {0};
    ae_cfg *cfg;
    ae_model *m = configure(r, &ds, rng, "model: {encoder: [{type: dense, units: 2, activation: tanh}]}\n"
                            "loss: {type: two, weight: 0.25}\ncorruption: {type: squash}\n", &cfg, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_str_eq(ae_model_loss_kind(m), "two");
    ck_assert_int_eq(ae_model_loss_sum(m), 0); /* no sum_per_sample: mean */
    ck_assert_int_eq(ae_model_has_corruption(m), 1);
    /* the mirrored decoder got the objective's output activation */
    ae_cfg *dec = ae_cfg_lookup(cfg, "model.decoder");
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_get(ae_cfg_at(dec, ae_cfg_len(dec) - 1), "activation")), "sigmoid");
    ae_mgraph *mg = ae_model_graph(m, 4, AE_MODE_TRAIN, &err);
    ck_assert_msg(mg != NULL, "%s", err.msg);
    ck_assert_int_eq(mg->nterms, 2);
    ck_assert_str_eq(mg->term_name[0], "recon");
    ck_assert_str_eq(mg->term_name[1], "again");
    ck_assert_double_eq_tol(ae_model_term_weight(mg, "again"), 0.25, 1e-7);
    memcpy(mg->taps.x->val, ds.x, ds.n * ds.d * sizeof(float));
    ae_graph_forward(mg->g);
    for (size_t i = 0; i < ds.n * ds.d; i++) /* the corruption fed the encoder */
        ck_assert_float_eq_tol(mg->taps.x_in->val[i], 1.0f / (1.0f + expf(-ds.x[i])), 1e-6f);
    /* the second decoding shares the parameters: the same reconstruction, the same term */
    ck_assert_float_eq_tol(mg->term[1]->val[0], mg->term[0]->val[0], 1e-6f);
    ck_assert_float_eq_tol(mg->loss->val[0], 1.25f * mg->term[0]->val[0], 1e-6f);
    ae_mgraph *ev = ae_model_graph(m, 4, AE_MODE_EVAL, &err); /* clean input when evaluating */
    ck_assert_msg(ev != NULL, "%s", err.msg);
    ck_assert_ptr_eq(ev->taps.x_in, ev->taps.x);
    ae_mgraph *noisy = ae_model_graph(m, 4, AE_MODE_EVAL_NOISY, &err); /* the denoised metrics' graph */
    ck_assert_msg(noisy != NULL, "%s", err.msg);
    ck_assert_ptr_ne(noisy->taps.x_in, noisy->taps.x);
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
    ae_registry_free(r);
}
END_TEST

START_TEST(none_and_shorthand)
{
    ae_registry *r = registry();
    ae_dataset ds = data();
    ae_rng *rng = ae_rng_new(3);
    ae_err err = {0};
    ae_cfg *cfg;
    ae_model *m = configure(r, &ds, rng, "model: {encoder: [{type: dense, units: 2}]}\nloss: bce\n", &cfg, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_str_eq(ae_model_loss_kind(m), "bce");
    ck_assert_int_eq(ae_model_has_corruption(m), 0);
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(cfg, "corruption.type")), "none");
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(cfg, "loss.reduction")), "mean");
    ae_mgraph *mg = ae_model_graph(m, 4, AE_MODE_TRAIN, &err);
    ck_assert_msg(mg != NULL, "%s", err.msg);
    ck_assert_ptr_eq(mg->taps.x_in, mg->taps.x); /* `none`: no corruption node even when training */
    ck_assert_ptr_nonnull(mg->taps.logits);      /* bce on the logits of the mirrored sigmoid */
    ae_model_free(m);
    ae_cfg_free(cfg);
    /* the shorthand's message lists every registered objective, plug-ins too */
    m = configure(r, &ds, rng, "model: {encoder: [{type: dense, units: 2}]}\nloss: tow\n", &cfg, &err);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(err.code, AE_EINPUT);
    ck_assert_msg(strstr(err.msg, "test.yaml:2:7: loss: unknown value 'tow' (expected one of: mse, bce, iwae, svdd, two)"),
                  "%s", err.msg);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
    ae_registry_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_units");
    TCase *t = tcase_create("units");
    tcase_add_test(t, plugin_objective_and_corruption);
    tcase_add_test(t, none_and_shorthand);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
