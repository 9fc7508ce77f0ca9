/* The batch_norm, max_pool2d and upsample layer types and leaky ReLU in models: keys and defaults,
 * parameters and their kinds, `decoder: mirror` of Ruff et al.'s LeNet-type encoder (what mirrors to
 * what, bias: false and negative_slope carried over), bad keys named with their place; training
 * moves the running statistics, every evaluation reads them (a sample's code does not depend on its
 * batch), and a checkpoint saves and restores them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_checkpoint.h"
#include "ae_data.h"
#include "ae_model.h"
#include "ae_optim.h"
#include "ae_params.h"
#include "ae_registry.h"
#include "ae_test.h"
#include "ae_train.h"

#define ENC                                                                                            \
    "model:\n  encoder:\n"                                                                          \
    "    - {type: conv2d, filters: 4, kernel: 5, padding: 2, bias: false}\n"                         \
    "    - {type: batch_norm}\n"                                                                     \
    "    - {type: activation, activation: leaky_relu}\n"                                             \
    "    - {type: max_pool2d, kernel: 2, stride: 2}\n"                                               \
    "    - {type: conv2d, filters: 2, kernel: 5, padding: 2, bias: false}\n"                         \
    "    - {type: batch_norm, eps: 1e-4, affine: false, momentum: 0.3}\n"                            \
    "    - {type: activation, activation: leaky_relu, negative_slope: 0.2}\n"                        \
    "    - {type: max_pool2d}\n"                                                                     \
    "    - {type: dense, units: 3, bias: false}\n"

/* n images 1x8x8: a bright quadrant (the class) plus noise. */
static ae_dataset images(size_t n, unsigned long seed)
{
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = n;
    ds.d = 64;
    ds.c = 1;
    ds.h = ds.w = 8;
    ds.x = malloc(n * 64 * sizeof *ds.x);
    ae_rng *r = ae_rng_new(seed);
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < 64; p++) {
            int q = (p / 8 < 4) * 2 + (p % 8 < 4);
            ds.x[i * 64 + (size_t)p] = (q == (int)(i % 4) ? 0.7f : 0.1f) + 0.2f * (float)ae_rng_uniform(r);
        }
    ae_rng_free(r);
    return ds;
}

typedef struct mfx {
    ae_cfg *cfg;
    ae_dataset ds;
    ae_rng *rng;
    ae_model *m;
    ae_err err;
} mfx;

static int mfx_init(mfx *f, const char *yaml, size_t n)
{
    memset(f, 0, sizeof *f);
    f->cfg = ae_cfg_load_string(yaml, "m.yaml", &f->err);
    ck_assert_msg(f->cfg != NULL, "%s", f->err.msg);
    f->ds = images(n, 4);
    f->rng = ae_rng_new(3);
    return ae_model_configure(f->cfg, ae_test_registry(), &f->ds, 1, f->rng, &f->m, &f->err);
}

static void mfx_free(mfx *f)
{
    ae_model_free(f->m);
    ae_rng_free(f->rng);
    ae_dataset_free(&f->ds);
    ae_cfg_free(f->cfg);
}

static const char *at(mfx *f, const char *path)
{
    const char *v = ae_cfg_scalar(ae_cfg_lookup(f->cfg, path));
    return v ? v : "(absent)";
}

static int find_param(const ae_params *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (!strcmp(ps->p[i].name, name)) return (int)i;
    return -1;
}

START_TEST(mirror_of_lenet_encoder)
{
    mfx f;
    ck_assert_msg(mfx_init(&f, ENC "loss: bce\n", 8) == AE_OK, "%s", f.err.msg);
    static const char *const want[] = {"dense", "reshape", "upsample", "batch_norm", "conv_transpose2d",
                                       "upsample", "batch_norm", "conv_transpose2d"};
    ae_cfg *dec = ae_cfg_lookup(f.cfg, "model.decoder");
    ck_assert_int_eq(ae_cfg_len(dec), 8);
    for (size_t i = 0; i < 8; i++)
        ck_assert_str_eq(ae_cfg_scalar(ae_cfg_get(ae_cfg_at(dec, i), "type")), want[i]);
    /* dense back to 2x2x2 without bias, the activation of the layer before it (leaky, slope 0.2) */
    ck_assert_str_eq(at(&f, "model.decoder[0].units"), "8");
    ck_assert_str_eq(at(&f, "model.decoder[0].bias"), "false");
    ck_assert_str_eq(at(&f, "model.decoder[0].activation"), "leaky_relu");
    ck_assert_str_eq(at(&f, "model.decoder[0].negative_slope"), "0.2");
    ck_assert_str_eq(at(&f, "model.decoder[2].scale"), "2");
    /* batch norms keep their keys, on the shape they had in the encoder */
    ck_assert_str_eq(at(&f, "model.decoder[3].eps"), "0.0001");
    ck_assert_str_eq(at(&f, "model.decoder[3].momentum"), "0.3");
    ck_assert_str_eq(at(&f, "model.decoder[3].affine"), "false");
    ck_assert_str_eq(at(&f, "model.decoder[6].eps"), "1e-05");
    ck_assert_str_eq(at(&f, "model.decoder[6].affine"), "true");
    ck_assert_str_eq(at(&f, "model.decoder[4].filters"), "4");
    ck_assert_str_eq(at(&f, "model.decoder[4].bias"), "false");
    ck_assert_str_eq(at(&f, "model.decoder[4].activation"), "leaky_relu");
    ck_assert_str_eq(at(&f, "model.decoder[4].negative_slope"), "0.01");
    ck_assert_str_eq(at(&f, "model.decoder[7].activation"), "sigmoid"); /* bce's output */
    ck_assert_str_eq(at(&f, "model.decoder[7].bias"), "false");
    /* defaults written into the encoder; negative_slope only with leaky_relu */
    ck_assert_str_eq(at(&f, "model.encoder[1].momentum"), "0.1");
    ck_assert_str_eq(at(&f, "model.encoder[1].eps"), "1e-05");
    ck_assert_str_eq(at(&f, "model.encoder[7].stride"), "0");
    ck_assert_str_eq(at(&f, "model.encoder[0].activation"), "identity");
    ck_assert_str_eq(at(&f, "model.encoder[0].negative_slope"), "(absent)");
    ck_assert_str_eq(at(&f, "model.encoder[2].negative_slope"), "0.01");
    /* parameters: PyTorch's names, batch norm's kinds, no bias where bias: false */
    const ae_params *ps = ae_model_params(f.m);
    static const char *const names[] = {"encoder[1].weight", "encoder[1].bias", "encoder[1].running_mean",
                                        "encoder[1].running_var", "encoder[5].running_mean", "decoder[3].running_var"};
    static const ae_param_kind kinds[] = {AE_PARAM_SCALE, AE_PARAM_SHIFT, AE_PARAM_STATE, AE_PARAM_STATE_ONE,
                                          AE_PARAM_STATE, AE_PARAM_STATE_ONE};
    for (int i = 0; i < 6; i++) {
        int k = find_param(ps, names[i]);
        ck_assert_msg(k >= 0 && ps->p[k].kind == kinds[i], "%s", names[i]);
        ck_assert(ps->val[ps->p[k].off] == (kinds[i] == AE_PARAM_STATE || kinds[i] == AE_PARAM_SHIFT ? 0.0f : 1.0f));
    }
    ck_assert_int_lt(find_param(ps, "encoder[5].weight"), 0);
    ck_assert_int_lt(find_param(ps, "encoder[0].bias"), 0);
    ck_assert_int_lt(find_param(ps, "decoder[4].bias"), 0);
    ck_assert_int_lt(find_param(ps, "decoder[0].bias"), 0);
    mfx_free(&f);
}
END_TEST

/* An encoder that starts with a batch norm mirrors to a decoder that ends with one: the output
 * activation follows it as an activation layer. A max-pool that does not tile its input is no mirror. */
START_TEST(mirror_edges)
{
    mfx f;
    ck_assert_msg(mfx_init(&f, "model:\n  encoder: [{type: batch_norm}, {type: max_pool2d}, {type: dense, units: 4}]\n"
                               "loss: bce\n", 8) == AE_OK, "%s", f.err.msg);
    ae_cfg *dec = ae_cfg_lookup(f.cfg, "model.decoder");
    ck_assert_int_eq(ae_cfg_len(dec), 5);
    ck_assert_str_eq(at(&f, "model.decoder[3].type"), "batch_norm");
    ck_assert_str_eq(at(&f, "model.decoder[4].type"), "activation");
    ck_assert_str_eq(at(&f, "model.decoder[4].activation"), "sigmoid");
    mfx_free(&f);
    ck_assert_int_eq(mfx_init(&f, "model:\n  encoder: [{type: max_pool2d, kernel: 3}, {type: dense, units: 4}]\n", 8),
                     AE_EINPUT);
    ck_assert_msg(strstr(f.err.msg, "max_pool2d (kernel 3, stride 3, padding 0) on input 1x1x8x8 cannot be mirrored"),
                  "%s", f.err.msg);
    mfx_free(&f);
}
END_TEST

START_TEST(bad_keys_named)
{
    static const char *const cases[][2] = {
        {"[{type: conv2d, filters: 2, activation: relu, negative_slope: 0.1}]",
         "negative_slope goes with activation: leaky_relu (this layer's activation is relu)"},
        {"[{type: batch_norm, momentum: 1.5}]", "momentum"},
        {"[{type: max_pool2d, kernel: 2, padding: 2}]", "padding must be at most half the kernel"},
        {"[{type: upsample, mode: bilinear}]", "nearest"},
        {"[{type: activation, activation: leaky_relu, negative_slope: -0.1}]", "negative_slope"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, "model:\n  encoder:\n    %s\n  decoder: [{type: dense, units: 64}]\n", cases[i][0]);
        mfx f;
        ck_assert_int_eq(mfx_init(&f, yaml, 8), AE_EINPUT);
        ck_assert_msg(strstr(f.err.msg, cases[i][1]) && strstr(f.err.msg, "m.yaml:"), "case %zu: %s", i, f.err.msg);
        mfx_free(&f);
    }
}
END_TEST

static void codes(ae_model *m, const ae_dataset *ds, size_t n, long batch, float *out)
{
    ae_err err = {0};
    ck_assert_msg(ae_encode(m, ds, n, AE_MODE_EVAL, batch, out, NULL, &err) == AE_OK, "%s", err.msg);
}

START_TEST(running_stats_train_eval_checkpoint)
{
    mfx f;
    ck_assert_msg(mfx_init(&f, ENC "loss: bce\n", 24) == AE_OK, "%s", f.err.msg);
    ae_params *ps = ae_model_params(f.m);
    ae_optim_cfg oc;
    ae_optim_defaults(&oc, AE_OPT_ADAMW); /* decoupled weight decay: it must leave the statistics alone */
    ae_optim opt;
    ae_trainer t;
    ae_train_cfg tc = {.epochs = 3, .batch_size = 8, .shuffle = 1, .progress = 0};
    ck_assert_int_eq(ae_optim_init(&opt, &oc, ps, &f.err), AE_OK);
    ck_assert_int_eq(ae_trainer_init(&t, f.m, &f.ds, &tc, &opt, f.rng, &f.err), AE_OK);
    ck_assert_msg(ae_train(&t, NULL, NULL, &f.err) == AE_OK, "%s", f.err.msg);
    int rm = find_param(ps, "encoder[1].running_mean"), rv = find_param(ps, "encoder[5].running_var");
    for (int c = 0; c < 2; c++) /* 9 batches of updates moved them */
        ck_assert(ps->val[ps->p[rm].off + c] != 0.0f && ps->val[ps->p[rv].off + c] != 1.0f);
    /* evaluation normalises with the running statistics: a sample's code is the same alone and in a batch */
    float all[8 * 3], one[3];
    codes(f.m, &f.ds, 8, 8, all);
    for (size_t i = 0; i < 8; i += 3) {
        ae_dataset row = f.ds;
        row.x = f.ds.x + i * 64;
        row.n = 1;
        codes(f.m, &row, 1, 1, one);
        for (int k = 0; k < 3; k++)
            ck_assert_msg(fabsf(one[k] - all[i * 3 + k]) <=
                              ae_test_tol_reduce(2 * 25 * 4 + 32, fabsf(all[i * 3 + k]) + 1.0f),
                          "row %zu code %d: %g alone, %g in a batch", i, k, one[k], all[i * 3 + k]);
    }
    /* the checkpoint holds them: a fresh model loads the same statistics and encodes the same */
    char *dir = ae_test_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/ckpt", dir);
    double losses[3] = {1, 2, 3};
    ck_assert_msg(ae_checkpoint_save(path, 7, &t, losses, 3, &f.err) == AE_OK, "%s", f.err.msg);
    mfx g;
    ck_assert_msg(mfx_init(&g, ENC "loss: bce\n", 24) == AE_OK, "%s", g.err.msg);
    ae_params *ps2 = ae_model_params(g.m);
    ck_assert(ps2->val[ps2->p[rm].off] == 0.0f);
    ae_optim opt2;
    ae_trainer t2;
    double l2[3];
    long nl;
    ck_assert_int_eq(ae_optim_init(&opt2, &oc, ps2, &g.err), AE_OK);
    ck_assert_int_eq(ae_trainer_init(&t2, g.m, &g.ds, &tc, &opt2, g.rng, &g.err), AE_OK);
    ck_assert_msg(ae_checkpoint_load(path, 7, &t2, l2, &nl, &g.err) == AE_OK, "%s", g.err.msg);
    ck_assert(memcmp(ps->val, ps2->val, ps->total * sizeof(float)) == 0);
    float again[8 * 3];
    codes(g.m, &g.ds, 8, 8, again);
    ck_assert(memcmp(all, again, sizeof all) == 0);
    ae_trainer_free(&t2);
    ae_optim_free(&opt2);
    mfx_free(&g);
    ae_trainer_free(&t);
    ae_optim_free(&opt);
    mfx_free(&f);
    ae_test_rm_rf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("norm_layers");
    TCase *t = tcase_create("norm_layers");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, mirror_of_lenet_encoder);
    tcase_add_test(t, mirror_edges);
    tcase_add_test(t, bad_keys_named);
    tcase_add_test(t, running_stats_train_eval_checkpoint);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
