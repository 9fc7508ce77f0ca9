/* End-to-end runs of every variant preset and regularizer from YAML on tiny generated data
 * (training runs, final.json has each loss term), preset merging, config errors, and gradient
 * checks of whole models with every regularizer (the real encoder copy for estimates). */
#define _XOPEN_SOURCE 700 /* nftw, to remove the temp dir */
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "ae_model.h"
#include "ae_run.h"
#include "ae_dnnl.h"
#include "ae_test.h"

static char *g_dir; /* one temp dir with the data for the whole suite */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc((size_t)n + 1, 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    fclose(f);
    return s;
}

/* 200 rows x 8 columns in [0, 1] (d.csv) and 40 8x8 images (img.idx). */
static int make_data(void)
{
    g_dir = ae_test_tmpdir();
    if (!g_dir) return -1;
    ae_rng *r = ae_rng_new(3);
    size_t cap = 200 * 8 * 8 + 64, o = 0;
    char *csv = malloc(cap);
    o += (size_t)snprintf(csv, cap, "a,b,c,d,e,f,g,h\n");
    for (int i = 0; i < 200; i++)
        for (int j = 0; j < 8; j++)
            o += (size_t)snprintf(csv + o, cap - o, "%.3f%c", ae_rng_uniform(r), j == 7 ? '\n' : ',');
    free(ae_test_write(g_dir, "d.csv", csv));
    free(csv);
    unsigned char img[16 + 40 * 64] = {0, 0, 8, 3, 0, 0, 0, 40, 0, 0, 0, 8, 0, 0, 0, 8};
    for (size_t i = 16; i < sizeof img; i++) img[i] = (unsigned char)(ae_rng_u32(r) & 0xff);
    char p[4200];
    snprintf(p, sizeof p, "%s/img.idx", g_dir);
    FILE *f = fopen(p, "wb");
    int ok = f && fwrite(img, 1, sizeof img, f) == sizeof img;
    if (f) fclose(f);
    ae_rng_free(r);
    return ok ? 0 : -1;
}

static const char *csv_data(void)
{
    static char s[4400];
    snprintf(s, sizeof s, "data: {source: csv, path: %s/d.csv, scaling: none, test_fraction: 0.2}\n", g_dir);
    return s;
}

/* Writes data + body as NAME.yaml, runs it into DIR/NAME; returns the code (err filled). With
 * AE_OK the final.json text is returned in *final (caller frees). */
static int run(const char *name, const char *data, const char *body, ae_err *err, char **final)
{
    char yaml[8192], fn[128], out[4300];
    snprintf(yaml, sizeof yaml, "%s%s\nthreads: 1\ntrain: {epochs: 2, batch_size: 50, progress: false}\n"
             "outputs: {plots: false, probe: false, codes: false}\n", data, body);
    snprintf(fn, sizeof fn, "%s.yaml", name);
    char *cfg = ae_test_write(g_dir, fn, yaml);
    snprintf(out, sizeof out, "%s/%s", g_dir, name);
    ae_run_opts o;
    memset(&o, 0, sizeof o);
    o.registry = ae_test_registry();
    o.out_dir = out;
    o.progress = 0;
    ae_err_clear(err);
    int rc = ae_run_file(cfg, &o, err);
    free(cfg);
    if (final) {
        char p[4400];
        snprintf(p, sizeof p, "%s/final.json", out);
        *final = rc ? NULL : read_all(p);
        if (!rc) ck_assert_msg(*final != NULL, "%s: no final.json", name);
    }
    return rc;
}

/* Runs and checks that final.json has every key in the NULL-terminated list, with a finite value. */
static char *run_ok(const char *name, const char *data, const char *body, const char *const *keys)
{
    ae_err err;
    char *final = NULL;
    ck_assert_msg(run(name, data, body, &err, &final) == AE_OK, "%s: %s", name, err.msg);
    for (; *keys; keys++) {
        char k[64];
        snprintf(k, sizeof k, "\"%s\":", *keys);
        const char *p = strstr(final, k);
        ck_assert_msg(p != NULL, "%s: final.json lacks %s: %s", name, k, final);
        double v = strtod(p + strlen(k), NULL);
        ck_assert_msg(isfinite(v), "%s: %s is %g", name, k, v);
    }
    return final;
}

static char *resolved_config(const char *name)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s/config.yaml", g_dir, name);
    char *s = read_all(p);
    ck_assert_msg(s != NULL, "%s: no config.yaml", name);
    return s;
}

static const char *const enc2 =
    "model:\n  encoder:\n    - {type: dense, units: 6, activation: relu}\n"
    "    - {type: dense, units: 3, activation: sigmoid}\n";

START_TEST(sparse_variant)
{
    char body[1024];
    snprintf(body, sizeof body, "variant: sparse\n%s", enc2);
    free(run_ok("sparse", csv_data(), body, (const char *const[]){"recon", "kl_sparsity", "loss", NULL}));
    char *c = resolved_config("sparse");
    ck_assert_msg(strstr(c, "kl_sparsity") && strstr(c, "rho: 0.05"), "%s", c);
    free(c);
}
END_TEST

START_TEST(contractive_variant)
{
    /* one dense layer: exact; two: the estimate through a second copy of the encoder */
    free(run_ok("cae1", csv_data(), "variant: contractive\nmodel: {encoder: [{type: dense, units: 3, "
                "activation: sigmoid}]}\n", (const char *const[]){"recon", "contractive", NULL}));
    char body[1024];
    snprintf(body, sizeof body, "variant: contractive\n%sregularizers:\n  - {type: contractive, weight: 0.01, "
             "projections: 4}\n  - {type: contractive, name: cae_hidden, layer: \"encoder[0]\", method: estimate}\n",
             enc2);
    free(run_ok("cae2", csv_data(), body, (const char *const[]){"contractive", "cae_hidden", NULL}));
}
END_TEST

START_TEST(denoising_variant)
{
    char body[1024];
    snprintf(body, sizeof body, "variant: denoising\n%s", enc2);
    free(run_ok("dae", csv_data(), body, (const char *const[]){"recon", "mse", NULL}));
    char *c = resolved_config("dae");
    ck_assert_msg(strstr(c, "gaussian") && strstr(c, "sigma: 0.3"), "%s", c);
    free(c);
    /* the user's keys win over the preset's, the others are kept */
    snprintf(body, sizeof body, "variant: denoising\ncorruption: {sigma: 0.05}\n%s", enc2);
    free(run_ok("dae_sigma", csv_data(), body, (const char *const[]){"recon", NULL}));
    c = resolved_config("dae_sigma");
    ck_assert_msg(strstr(c, "gaussian") && strstr(c, "sigma: 0.05") && !strstr(c, "sigma: 0.3"), "%s", c);
    free(c);
}
END_TEST

START_TEST(variational_variant)
{
    free(run_ok("vae", csv_data(), "variant: variational\nmodel:\n  encoder: [{type: dense, units: 6, "
                "activation: relu}]\n  latent: {size: 2}\n", (const char *const[]){"recon", "kl", NULL}));
    char *c = resolved_config("vae");
    ck_assert_msg(strstr(c, "gaussian") && strstr(c, "reduction: sum") && strstr(c, "bce"), "%s", c);
    free(c);
    /* a contractive penalty on a gaussian code measures d mu / dx */
    free(run_ok("vae_cae", csv_data(), "variant: variational\nmodel:\n  encoder: [{type: dense, units: 6, "
                "activation: tanh}]\n  latent: {size: 2}\nregularizers: [{type: contractive, weight: 0.01}]\n",
                (const char *const[]){"kl", "contractive", NULL}));
}
END_TEST

START_TEST(convolutional_variant)
{
    if (!ae_find_layer(ae_test_registry(), "conv2d")) {
        printf("convolutional_variant: SKIPPED (no conv2d layer registered)\n");
        return;
    }
    char data[4400];
    snprintf(data, sizeof data, "data: {source: idx, images: %s/img.idx}\n", g_dir);
    free(run_ok("conv", data, "variant: convolutional\nmodel:\n  encoder:\n    - {type: conv2d, filters: 4, "
                "kernel: 3, stride: 2, padding: 1, activation: relu}\n    - {type: dense, units: 3, activation: "
                "sigmoid}\nregularizers: [{type: contractive, weight: 0.01, projections: 2}]\n",
                (const char *const[]){"recon", "contractive", NULL}));
    char *c = resolved_config("conv");
    ck_assert_msg(strstr(c, "conv_transpose2d"), "%s", c);
    free(c);
}
END_TEST

START_TEST(denoising_plus_sparse)
{
    char body[1024];
    snprintf(body, sizeof body, "variant: denoising\n%sregularizers:\n  - {type: kl_sparsity, weight: 0.5, rho: 0.1}\n"
             "  - {type: l1, name: l1_hidden, layer: \"encoder[0]\", weight: 0.001}\n"
             "  - {type: weight_decay}\n", enc2);
    free(run_ok("dae_sparse", csv_data(), body,
                (const char *const[]){"recon", "kl_sparsity", "l1_hidden", "weight_decay", NULL}));
    char *c = resolved_config("dae_sparse");
    ck_assert_msg(strstr(c, "sigma: 0.3") && strstr(c, "rho: 0.1"), "%s", c);
    free(c);
    /* sparse preset + user regularizers: the list is the user's, not merged */
    snprintf(body, sizeof body, "variant: sparse\n%sregularizers: [{type: l1}]\n", enc2);
    char *f = run_ok("sparse_l1", csv_data(), body, (const char *const[]){"l1", NULL});
    ck_assert_msg(!strstr(f, "kl_sparsity"), "%s", f);
    free(f);
}
END_TEST

START_TEST(config_errors)
{
    ae_err err;
    char body[1024];
    snprintf(body, sizeof body, "%sregularizers: [{type: kl_sparsty}]\n", enc2);
    ck_assert_int_eq(run("bad_type", csv_data(), body, &err, NULL), AE_EINPUT);
    ck_assert_msg(strstr(err.msg, "did you mean 'kl_sparsity'"), "%s", err.msg);
    snprintf(body, sizeof body, "%sregularizers: [{type: l1, layer: \"encoder[2]\"}]\n", enc2);
    ck_assert_int_eq(run("bad_layer", csv_data(), body, &err, NULL), AE_EINPUT);
    ck_assert_msg(strstr(err.msg, "bad_layer.yaml:") && strstr(err.msg, "unknown layer 'encoder[2]'") &&
                  strstr(err.msg, "code, encoder[0], encoder[1]"), "%s", err.msg);
    snprintf(body, sizeof body, "variant: sparse\n%s", "model: {encoder: [{type: dense, units: 3, activation: relu}]}\n");
    ck_assert_int_eq(run("sparse_relu", csv_data(), body, &err, NULL), AE_EINPUT);
    ck_assert_msg(strstr(err.msg, "kl_sparsity needs a sigmoid layer"), "%s", err.msg);
    snprintf(body, sizeof body, "%sregularizers: [{type: contractive, wieght: 1}]\n", enc2);
    ck_assert_int_eq(run("bad_key", csv_data(), body, &err, NULL), AE_EINPUT);
    ck_assert_msg(strstr(err.msg, "regularizers[0]") && strstr(err.msg, "did you mean 'weight'"), "%s", err.msg);
}
END_TEST

/* A regularizer's configure + ae_cfg_finish on a YAML map must fail with `want` in the message. */
static void config_error(const char *type, const char *yaml, const char *want)
{
    ae_err err = {0};
    const ae_regularizer_ops *ops = ae_find_regularizer(ae_test_registry(), type);
    ck_assert_ptr_nonnull(ops);
    ae_cfg *spec = ae_cfg_load_string(yaml, "reg.yaml", &err);
    ck_assert_msg(spec != NULL, "%s", err.msg);
    void *state = NULL;
    int rc = ops->configure(spec, &state, &err);
    if (!rc) rc = ae_cfg_finish(spec, "regularizers[0]", &err);
    ck_assert_int_eq(rc, AE_EINPUT);
    ck_assert_msg(strstr(err.msg, want), "%s %s: '%s' lacks '%s'", type, yaml, err.msg, want);
    if (state) ops->destroy(state);
    ae_cfg_free(spec);
}

START_TEST(regularizer_key_errors)
{
    config_error("kl_sparsity", "{rho: 1.5}", "rho");
    config_error("l1", "{weight: -1}", "weight");
    config_error("contractive", "{method: exakt}", "did you mean 'exact'");
    config_error("contractive", "{projections: 0}", "projections");
    config_error("contractive", "{epsilon: 0}", "epsilon");
    config_error("weight_decay", "{layer: code}", "unknown key 'layer'");
}
END_TEST

/* `aelab list` prints each help and, from the unit's schema, every key with its default. */
START_TEST(registered_with_help)
{
    const ae_registry *r = ae_test_registry();
    static const char *const want[][5] = {
        {"l1", "|h", "  weight ([0, 1e+06], default 1e-4)", "  layer (value, default code)", "encoder[i]"},
        {"kl_sparsity", "sigmoid", "  weight ([0, 1e+06], default 1)", "  rho ([1e-06, 0.999999], default 0.05)",
         "  layer (value, default code)"},
        {"contractive", "dh/dx", "  method (auto | exact | estimate, default auto)",
         "  projections ([1, 4096], default 1)", "  epsilon ([1e-06, 1], default 1e-3)"},
        {"weight_decay", "w^2", "  weight ([0, 1e+06], default 1e-4)", "convolution weight", "biases"},
    };
    for (int i = 0; i < 4; i++) {
        const ae_regularizer_ops *o = ae_find_regularizer(r, want[i][0]);
        ck_assert_ptr_nonnull(o);
        ck_assert_ptr_nonnull(o->schema);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        fprintf(f, "%s\n", o->help);
        ae_schema_print(o->schema, f, "  ");
        fclose(f);
        for (int k = 1; k < 5; k++) ck_assert_msg(strstr(buf, want[i][k]), "%s: %s", o->name, buf);
        free(buf);
    }
    static const char *const v[] = {"undercomplete", "sparse", "denoising", "contractive", "variational",
                                    "convolutional"};
    for (int i = 0; i < 6; i++) ck_assert_msg(ae_find_variant(r, v[i]) != NULL, "variant %s", v[i]);
}
END_TEST

/* Whole model, every regularizer at once (estimates through the model's own encoder copy). */
START_TEST(model_gradcheck_all_regularizers)
{
    static const char *const yaml[] = {
        "model:\n  encoder:\n    - {type: dense, units: 5, activation: sigmoid, name: h1}\n"
        "    - {type: dense, units: 3, activation: tanh}\n  decoder: mirror\n  output_activation: sigmoid\n"
        "loss: bce\nregularizers:\n  - {type: l1, weight: 0.1}\n  - {type: kl_sparsity, layer: h1, weight: 0.2}\n"
        "  - {type: contractive, name: c1, layer: h1, method: estimate, projections: 2, epsilon: 0.05, weight: 0.1}\n"
        "  - {type: contractive, name: c2, projections: 2, epsilon: 0.05, weight: 0.1}\n"
        "  - {type: contractive, name: c3, layer: \"encoder[0]\", weight: 0.1}\n  - {type: weight_decay, weight: 0.01}\n",
        "model:\n  encoder: [{type: dense, units: 5, activation: tanh}]\n  latent: {kind: gaussian, size: 2}\n"
        "loss: mse\nregularizers: [{type: contractive, projections: 2, epsilon: 0.05, weight: 0.1}]\n"};
    for (int i = 0; i < 2; i++) {
        ae_err err = {0};
        ae_cfg *cfg = ae_cfg_load_string(yaml[i], "test.yaml", &err);
        ck_assert_msg(cfg != NULL, "%s", err.msg);
        ae_dataset ds;
        memset(&ds, 0, sizeof ds);
        ds.n = 6, ds.d = 7, ds.c = 1, ds.h = 1, ds.w = 7;
        ds.x = malloc(ds.n * ds.d * sizeof *ds.x);
        ae_rng *rng = ae_rng_new(11);
        for (size_t k = 0; k < ds.n * ds.d; k++) ds.x[k] = (float)ae_rng_uniform(rng);
        ae_model *m = NULL;
        ck_assert_msg(ae_model_configure(cfg, ae_test_registry(), &ds, 1, rng, &m, &err) == AE_OK, "%s", err.msg);
        ae_mgraph *mg = ae_model_graph(m, 6, AE_MODE_TRAIN, &err);
        ck_assert_msg(mg != NULL, "%s", err.msg);
        ck_assert_int_eq(mg->nterms, i ? 3 : 7);
        memcpy(mg->taps.x->val, ds.x, ds.n * ds.d * sizeof(float));
        double e = ae_test_gradcheck(mg->g, mg->loss, ae_model_params(m), rng, 1e-2f, 25, 1e-2);
        printf("  model gradcheck %s: worst relative error %.3g\n", i ? "VAE + contractive" : "all regularizers", e);
        ck_assert_msg(e < 2e-2, "model %d gradient error %g", i, e);
        ae_model_free(m);
        ae_rng_free(rng);
        ae_dataset_free(&ds);
        ae_cfg_free(cfg);
    }
}
END_TEST

int main(void)
{
    ae_set_threads(1); /* tiny graphs: threads only add barrier waits (slow on a loaded machine) */
    Suite *s = suite_create("variants");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 300);
    if (make_data()) {
        fprintf(stderr, "test_variants: cannot write the test data\n");
        return EXIT_FAILURE;
    }
    tcase_add_test(tc, sparse_variant);
    tcase_add_test(tc, contractive_variant);
    tcase_add_test(tc, denoising_variant);
    tcase_add_test(tc, variational_variant);
    tcase_add_test(tc, convolutional_variant);
    tcase_add_test(tc, denoising_plus_sparse);
    tcase_add_test(tc, config_errors);
    tcase_add_test(tc, regularizer_key_errors);
    tcase_add_test(tc, registered_with_help);
    tcase_add_test(tc, model_gradcheck_all_regularizers);
    suite_add_tcase(s, tc);
    int rc = ae_test_run(s);
    nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(g_dir);
    return rc;
}
