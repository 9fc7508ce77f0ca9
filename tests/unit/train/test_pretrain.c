/* The pretraining stage on a small generated dataset: the unrolled model's decoder holds the
 * encoder's transposed weights (tied) or the untied decoder weights; two runs give the same bytes;
 * the stage changes the parameters it should and leaves the others. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_pretrain.h"
#include "ae_run.h"
#include "ae_test.h"

static char *g_dir;

static const char *data_csv(void)
{
    static char *path;
    if (path) return path;
    g_dir = ae_test_tmpdir();
    char *text = malloc(64 * 1024), *p = text;
    p += sprintf(p, "a,b,c,d,e,f,g,h\n");
    uint32_t s = 7;
    for (int r = 0; r < 120; r++)
        for (int j = 0; j < 8; j++) {
            s = s * 1664525u + 1013904223u;
            double u = (double)(s >> 8) / 16777216.0;
            p += sprintf(p, "%.4f%c", (r % 2 == (j < 4)) ? 0.8 + 0.2 * u : 0.2 * u, j == 7 ? '\n' : ',');
        }
    path = ae_test_write(g_dir, "d.csv", text);
    free(text);
    return path;
}

/* Prepares a run of an 8-6-4-2 (sigmoid, sigmoid, identity) autoencoder with `pretrain`. */
static void prepare(ae_run *r, const char *pretrain)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "name: pt\nseed: 3\ndata: {source: csv, path: %s, scaling: none}\n"
             "model:\n  encoder: [{type: dense, units: 6, activation: sigmoid}, {type: dense, units: 4, "
             "activation: sigmoid}, {type: dense, units: 2}]\nloss: bce\npretrain: %s\n"
             "train: {epochs: 1, progress: false}\noutputs: {plots: false, probe: false}\n",
             data_csv(), pretrain);
    ae_err err = {0};
    ae_cfg *root = ae_cfg_load_text(yaml, "test", "pt", &err);
    ck_assert_msg(root != NULL, "%s", err.msg);
    ae_run_opts o = {.registry = ae_test_registry(), .progress = 0};
    ck_assert_msg(ae_run_prepare_cfg(r, root, "pt.yaml", &o, &err) == AE_OK, "%s", err.msg);
    ck_assert_ptr_nonnull(r->pretrain);
    ck_assert_int_eq(ae_pretrain_layers(r->pretrain), 3);
}

static void pretrain(ae_run *r)
{
    ae_err err = {0};
    ae_pretrain_io io = {0};
    ck_assert_msg(ae_pretrain_run(r->pretrain, r->model, &r->train, r->rng, &io, &err) == AE_OK, "%s", err.msg);
}

static const ae_param_info *param(const ae_params *ps, const char *name)
{
    for (size_t k = 0; k < ps->n; k++)
        if (!strcmp(ps->p[k].name, name)) return &ps->p[k];
    ck_abort_msg("no parameter %s", name);
    return NULL;
}

/* decoder[2 - i].weight is encoder[i].weight transposed, bit for bit (tied) or not (untied). */
static void check_unrolled(const char *cfg, int tied)
{
    ae_run r;
    prepare(&r, cfg);
    ae_params *ps = ae_model_params(r.model);
    float *before = malloc(ps->total * sizeof(float));
    memcpy(before, ps->val, ps->total * sizeof(float));
    pretrain(&r);
    for (int i = 0; i < 3; i++) {
        char en[64], dn[64], db[64];
        snprintf(en, sizeof en, "encoder[%d].weight", i);
        snprintf(dn, sizeof dn, "decoder[%d].weight", 2 - i);
        snprintf(db, sizeof db, "decoder[%d].bias", 2 - i);
        const ae_param_info *e = param(ps, en), *d = param(ps, dn), *b = param(ps, db);
        int64_t H = e->shape.d[0], V = e->shape.d[1];
        ck_assert_int_eq(d->shape.d[0], V);
        ck_assert_int_eq(d->shape.d[1], H);
        int same = 1, moved = 0, bias_moved = 0;
        for (int64_t h = 0; h < H; h++)
            for (int64_t v = 0; v < V; v++) {
                same &= ps->val[d->off + v * H + h] == ps->val[e->off + h * V + v];
                moved |= ps->val[e->off + h * V + v] != before[e->off + h * V + v];
            }
        for (int64_t v = 0; v < V; v++) bias_moved |= ps->val[b->off + v] != before[b->off + v];
        ck_assert_msg(same == tied, "%s: decoder[%d] %s the transpose", cfg, 2 - i, same ? "is" : "is not");
        ck_assert_msg(moved && bias_moved, "%s: layer %d not pretrained", cfg, i);
    }
    free(before);
    ae_run_free(&r);
}

START_TEST(rbm_unrolls_transposes) { check_unrolled("{method: rbm, epochs: 3, batch_size: 16}", 1); }
END_TEST
START_TEST(ae_unrolls_transposes) { check_unrolled("{method: autoencoder, epochs: 3, batch_size: 16}", 1); }
END_TEST
START_TEST(untied_decoder_is_its_own)
{
    check_unrolled("{method: denoising, tied: false, epochs: 3, batch_size: 16}", 0);
}
END_TEST

/* Same config, same seed: the same bytes (thread count fixed by the suite). */
START_TEST(deterministic)
{
    ae_run a, b;
    prepare(&a, "{method: rbm, epochs: 4, batch_size: 10, cd_k: 2}");
    prepare(&b, "{method: rbm, epochs: 4, batch_size: 10, cd_k: 2}");
    pretrain(&a);
    pretrain(&b);
    ae_params *pa = ae_model_params(a.model), *pb = ae_model_params(b.model);
    ck_assert(!memcmp(pa->val, pb->val, pa->total * sizeof(float)));
    ae_run_free(&a);
    ae_run_free(&b);
}
END_TEST

/* unroll: false leaves the decoder as initialised. */
START_TEST(encoder_only)
{
    ae_run r;
    prepare(&r, "{method: autoencoder, epochs: 2, unroll: false}");
    ae_params *ps = ae_model_params(r.model);
    const ae_param_info *d = param(ps, "decoder[0].weight");
    float *before = malloc(d->n * sizeof(float));
    memcpy(before, ps->val + d->off, d->n * sizeof(float));
    pretrain(&r);
    ck_assert(!memcmp(before, ps->val + d->off, d->n * sizeof(float)));
    free(before);
    ae_run_free(&r);
}
END_TEST

/* A checkpoint written by the stage and loaded into a fresh run: nothing trained again, the same
 * parameters and the same rng state afterwards. */
START_TEST(finished_stage_restores)
{
    ae_run a, b;
    prepare(&a, "{method: rbm, epochs: 2, batch_size: 16}");
    prepare(&b, "{method: rbm, epochs: 2, batch_size: 16}");
    ae_err err = {0};
    ae_pretrain_io io = {g_dir, 1, 42, 0, "pt", NULL};
    ck_assert_msg(ae_pretrain_run(a.pretrain, a.model, &a.train, a.rng, &io, &err) == AE_OK, "%s", err.msg);
    ck_assert_msg(ae_pretrain_run(b.pretrain, b.model, &b.train, b.rng, &io, &err) == AE_OK, "%s", err.msg);
    ae_params *pa = ae_model_params(a.model), *pb = ae_model_params(b.model);
    ck_assert(!memcmp(pa->val, pb->val, pa->total * sizeof(float)));
    ck_assert_uint_eq(ae_rng_u32(a.rng), ae_rng_u32(b.rng));
    io.hash = 43; /* another configuration */
    ck_assert_int_eq(ae_pretrain_run(b.pretrain, b.model, &b.train, b.rng, &io, &err), AE_EINPUT);
    ck_assert(strstr(err.msg, "different configuration"));
    ae_run_free(&a);
    ae_run_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pretrain");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rbm_unrolls_transposes);
    tcase_add_test(tc, ae_unrolls_transposes);
    tcase_add_test(tc, untied_decoder_is_its_own);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, encoder_only);
    tcase_add_test(tc, finished_stage_restores);
    suite_add_tcase(s, tc);
    int rc = ae_test_run(s);
    if (g_dir) ae_test_rm_rf(g_dir);
    free(g_dir);
    return rc;
}
