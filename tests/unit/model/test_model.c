/* Whole-model tests: gradient checks of complete models built from YAML (dense AE with mirror,
 * BCE on logits, VAE, denoising), optimizer updates against PyTorch's formulas, bit-identical
 * reruns, and the seed tutorial's printed losses when weatherAUS is available. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae_data.h"
#include "ae_model.h"
#include "ae_optim.h"
#include "ae_run.h"
#include "ae_test.h"

static ae_dataset tiny(size_t n, size_t d, unsigned long seed)
{
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = n;
    ds.d = d;
    ds.c = 1;
    ds.h = 1;
    ds.w = (int)d;
    ds.x = malloc(n * d * sizeof *ds.x);
    ae_rng *r = ae_rng_new(seed);
    for (size_t i = 0; i < n * d; i++) ds.x[i] = (float)ae_rng_uniform(r);
    ae_rng_free(r);
    return ds;
}

static double model_gradcheck(const char *yaml, size_t d, int64_t batch)
{
    ae_err err = {0};
    ae_cfg *cfg = ae_cfg_load_string(yaml, "test.yaml", &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    ae_dataset ds = tiny((size_t)batch, d, 5);
    ae_rng *rng = ae_rng_new(11);
    ae_model *m = NULL;
    ck_assert_msg(ae_model_configure(cfg, ae_test_registry(), &ds, 1, rng, &m, &err) == AE_OK, "%s", err.msg);
    ae_mgraph *mg = ae_model_graph(m, batch, AE_MODE_TRAIN, &err);
    ck_assert_msg(mg != NULL, "%s", err.msg);
    memcpy(mg->taps.x->val, ds.x, (size_t)batch * d * sizeof(float));
    double e = ae_test_gradcheck(mg->g, mg->loss, ae_model_params(m), rng, 1e-2f, 25, 1e-2);
    ae_model_free(m);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
    ae_cfg_free(cfg);
    return e;
}

START_TEST(grad_dense_mirror_mse)
{
    double e = model_gradcheck("model:\n  encoder: [{type: dense, units: 5, activation: tanh},"
                               " {type: dense, units: 3, activation: sigmoid}]\n  decoder: mirror\n"
                               "  output_activation: identity\nloss: mse\n", 8, 6);
    ck_assert_msg(e < 2e-2, "gradient error %g", e);
}
END_TEST

START_TEST(grad_bce_logits_path)
{
    double e = model_gradcheck("model:\n  encoder: [{type: dense, units: 4, activation: tanh}]\n"
                               "  decoder: mirror\nloss: {type: bce, reduction: sum}\n", 7, 5);
    ck_assert_msg(e < 2e-2, "gradient error %g", e);
}
END_TEST

START_TEST(grad_vae)
{
    double e = model_gradcheck("model:\n  encoder: [{type: dense, units: 6, activation: tanh}]\n"
                               "  latent: {kind: gaussian, size: 2, beta: 0.5}\n"
                               "  decoder: [{type: dense, units: 6, activation: tanh}, {type: dense, units: 7, activation: sigmoid}]\n"
                               "loss: {type: bce, reduction: sum}\n", 7, 4);
    ck_assert_msg(e < 2e-2, "gradient error %g", e);
}
END_TEST

START_TEST(grad_denoising)
{
    double e = model_gradcheck("model:\n  encoder: [{type: dense, units: 3, activation: sigmoid}]\n"
                               "corruption: {type: gaussian, sigma: 0.2}\nloss: bce\n", 6, 5);
    ck_assert_msg(e < 2e-2, "gradient error %g", e);
}
END_TEST

START_TEST(mirror_resolves_into_config)
{
    ae_err err = {0};
    ae_cfg *cfg = ae_cfg_load_string("model:\n  encoder: [{type: dense, units: 5, activation: relu},"
                                     " {type: dense, units: 2}]\nloss: bce\n", "m.yaml", &err);
    ae_dataset ds = tiny(4, 9, 1);
    ae_rng *rng = ae_rng_new(1);
    ae_model *m = NULL;
    ck_assert_msg(ae_model_configure(cfg, ae_test_registry(), &ds, 1, rng, &m, &err) == AE_OK, "%s", err.msg);
    ae_cfg *dec = ae_cfg_lookup(cfg, "model.decoder");
    ck_assert_int_eq(ae_cfg_kind_of(dec), AE_CFG_SEQ);
    ck_assert_int_eq(ae_cfg_len(dec), 2);
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(cfg, "model.decoder[0].units")), "5");
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(cfg, "model.decoder[0].activation")), "relu");
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(cfg, "model.decoder[1].units")), "9");
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(cfg, "model.decoder[1].activation")), "sigmoid");
    ck_assert_uint_eq(ae_model_code_size(m), 2);
    /* 9*5+5 + 5*2+2 + 2*5+5 + 5*9+9 */
    ck_assert_uint_eq(ae_params_count(ae_model_params(m)), 131);
    ae_model_free(m);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
    ae_cfg_free(cfg);
}
END_TEST

START_TEST(decoder_size_mismatch_names_layer)
{
    ae_err err = {0};
    ae_cfg *cfg = ae_cfg_load_string("model:\n  encoder: [{type: dense, units: 3}]\n"
                                     "  decoder: [{type: dense, units: 4}, {type: dense, units: 8}]\n",
                                     "m.yaml", &err);
    ae_dataset ds = tiny(4, 9, 1);
    ae_rng *rng = ae_rng_new(1);
    ae_model *m = NULL;
    ck_assert_int_eq(ae_model_configure(cfg, ae_test_registry(), &ds, 1, rng, &m, &err), AE_EINPUT);
    ck_assert_msg(strstr(err.msg, "model.decoder[1] (dense)") && strstr(err.msg, "expected 9"), "%s", err.msg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
    ae_cfg_free(cfg);
}
END_TEST

/* KL warm-up with 0..3 regularizers (3: five loss terms, folded into two weighted sums): at every
 * epoch every term's weight in every compiled graph follows the schedule (recon 1, kl
 * beta·min(epoch/warmup, 1), each regularizer 1), in graphs built before and during training,
 * and the training loss is that weighted sum of the terms' values. */
START_TEST(kl_warmup_every_term_every_epoch)
{
    static const char *const regs[] = {"a", "b", "c"};
    const double beta = 0.5;
    const long warmup = 4, epochs = 7;
    for (int nr = 0; nr <= 3; nr++) {
        char yaml[1024];
        int len = snprintf(yaml, sizeof yaml,
                           "model:\n  encoder: [{type: dense, units: 5, activation: tanh}]\n"
                           "  latent: {kind: gaussian, size: 2, beta: %g, kl_warmup_epochs: %ld}\n"
                           "loss: {type: bce, reduction: sum}\nregularizers:%s\n", beta, warmup,
                           nr ? "" : " []");
        for (int r = 0; r < nr; r++)
            len += snprintf(yaml + len, sizeof yaml - (size_t)len,
                            "  - {type: l1, weight: 0.0%d, name: %s}\n", r + 1, regs[r]);
        ae_err err = {0};
        ae_cfg *cfg = ae_cfg_load_string(yaml, "kl.yaml", &err);
        ck_assert_msg(cfg != NULL, "%s", err.msg);
        ae_dataset ds = tiny(4, 6, 3);
        ae_rng *rng = ae_rng_new(2);
        ae_model *m = NULL;
        ck_assert_msg(ae_model_configure(cfg, ae_test_registry(), &ds, 1, rng, &m, &err) == AE_OK, "%s",
                      err.msg);
        ae_mgraph *g[3] = {ae_model_graph(m, 4, AE_MODE_TRAIN, &err), ae_model_graph(m, 3, AE_MODE_EVAL, &err),
                           NULL};
        ck_assert_msg(g[0] && g[1], "%s", err.msg);
        ck_assert_int_eq(g[0]->nterms, 2 + nr);
        for (long ep = 1; ep <= epochs; ep++) {
            ae_model_set_epoch(m, ep);
            if (ep == 3) g[2] = ae_model_graph(m, 2, AE_MODE_EVAL_SAMPLE, &err); /* built mid-way */
            double kl = beta * (ep < warmup ? (double)ep / (double)warmup : 1.0);
            for (int k = 0; k < 3 && g[k]; k++) {
                ck_assert_double_eq_tol(ae_model_term_weight(g[k], "recon"), 1.0, 1e-7);
                ck_assert_msg(fabs(ae_model_term_weight(g[k], "kl") - kl) < 1e-7,
                              "%d regularizers, epoch %ld, graph %d: kl weight %g, expected %g", nr, ep, k,
                              ae_model_term_weight(g[k], "kl"), kl);
                for (int r = 0; r < nr; r++)
                    ck_assert_double_eq_tol(ae_model_term_weight(g[k], regs[r]), 1.0, 1e-7);
            }
            memcpy(g[0]->taps.x->val, ds.x, 4 * 6 * sizeof(float));
            ae_graph_forward_loss(g[0]->g);
            double want = 0;
            for (int t = 0; t < g[0]->nterms; t++)
                want += (t == 1 ? kl : 1.0) * g[0]->term[t]->val[0];
            ck_assert_double_eq_tol(g[0]->loss->val[0], want, 1e-4 * (1 + fabs(want)));
        }
        ck_assert(isnan(ae_model_term_weight(g[0], "nope")));
        ae_model_free(m);
        ae_rng_free(rng);
        ae_dataset_free(&ds);
        ae_cfg_free(cfg);
    }
}
END_TEST

/* Adam and SGD against the torch.optim formulas, step by step in double. */
START_TEST(optimizers_match_torch_formulas)
{
    ae_err err = {0};
    for (int kind = 0; kind < 3; kind++) {
        ae_params *ps = ae_params_new();
        ae_params_declare(ps, "w", ae_shape2(1, 3), 1, 1, AE_PARAM_WEIGHT, 0, &err);
        ae_params_alloc(ps, &err);
        double p[3] = {0.5, -1.0, 2.0}, m[3] = {0}, v[3] = {0};
        for (int i = 0; i < 3; i++) ps->val[i] = (float)p[i];
        ae_optim_cfg c;
        ae_optim_defaults(&c, (ae_opt_kind)kind);
        c.lr = 0.01;
        c.momentum = 0.9;
        c.weight_decay = 0.1;
        ae_optim o;
        ck_assert_int_eq(ae_optim_init(&o, &c, ps, &err), AE_OK);
        for (int step = 1; step <= 5; step++) {
            for (int i = 0; i < 3; i++) ps->grad[i] = (float)(0.3 * (i + 1) - 0.1 * step);
            ae_optim_step(&o);
            for (int i = 0; i < 3; i++) {
                double g = 0.3 * (i + 1) - 0.1 * step;
                if (kind == AE_OPT_SGD) {
                    double d = g + 0.1 * p[i];
                    m[i] = step == 1 ? d : 0.9 * m[i] + d;
                    p[i] -= 0.01 * m[i];
                } else {
                    if (kind == AE_OPT_ADAMW) p[i] *= 1 - 0.01 * 0.1;
                    else g += 0.1 * p[i];
                    m[i] = 0.9 * m[i] + 0.1 * g;
                    v[i] = 0.999 * v[i] + 0.001 * g * g;
                    double mh = m[i] / (1 - pow(0.9, step)), den = sqrt(v[i]) / sqrt(1 - pow(0.999, step)) + 1e-8;
                    p[i] -= 0.01 * mh / den;
                }
                ck_assert_msg(fabs(ps->val[i] - p[i]) < 1e-5, "optimizer %d step %d: %g vs %g", kind, step,
                              ps->val[i], p[i]);
            }
        }
        ae_optim_free(&o);
        ae_params_free(ps);
    }
}
END_TEST

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc((size_t)n + 1, 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    fclose(f);
    return s;
}

/* Strips the timing fields so two metrics files can be compared. */
static void strip_times(char *s)
{
    const char *keys[] = {"\"seconds\":", "\"samples_per_s\":", "\"train_seconds\":"};
    for (int k = 0; k < 3; k++)
        for (char *p = strstr(s, keys[k]); p; p = strstr(p + 1, keys[k]))
        {
            char *q = p + strlen(keys[k]), *e = q;
            while (*e && *e != ',' && *e != '}') e++;
            memmove(q, e, strlen(e) + 1);
        }
}

START_TEST(rerun_is_bit_identical)
{
    char *dir = ae_test_tmpdir();
    char csv[16384] = "a,b,c,d,e,f\n";
    ae_rng *r = ae_rng_new(2);
    for (int i = 0; i < 300; i++) {
        size_t o = strlen(csv);
        snprintf(csv + o, sizeof csv - o, "%.3f,%.3f,%.3f,%.3f,%.3f,%.3f\n", ae_rng_uniform(r),
                 ae_rng_uniform(r), ae_rng_uniform(r), ae_rng_uniform(r), ae_rng_uniform(r), ae_rng_uniform(r));
    }
    ae_rng_free(r);
    free(ae_test_write(dir, "d.csv", csv));
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "data: {source: csv, path: %s/d.csv, test_fraction: 0.2}\n"
             "model: {encoder: [{type: dense, units: 4, activation: relu}, {type: dense, units: 2}]}\n"
             "corruption: {type: masking, p: 0.2}\ntrain: {epochs: 3, batch_size: 32, progress: false}\n"
             "outputs: {plots: false, probe: false}\n", dir);
    char *cfg = ae_test_write(dir, "c.yaml", yaml);
    char out1[4200], out2[4200];
    snprintf(out1, sizeof out1, "%s/r1", dir);
    snprintf(out2, sizeof out2, "%s/r2", dir);
    ae_run_opts o;
    memset(&o, 0, sizeof o);
    o.registry = ae_test_registry();
    o.progress = 0;
    o.threads = 2; /* the parallel paths too: same thread count, same bits */
    ae_err err = {0};
    o.out_dir = out1;
    ck_assert_msg(ae_run_file(cfg, &o, &err) == AE_OK, "%s", err.msg);
    o.out_dir = out2;
    ck_assert_msg(ae_run_file(cfg, &o, &err) == AE_OK, "%s", err.msg);
    char p1[4300], p2[4300];
    snprintf(p1, sizeof p1, "%s/metrics.jsonl", out1);
    snprintf(p2, sizeof p2, "%s/metrics.jsonl", out2);
    char *a = read_all(p1), *b = read_all(p2);
    ck_assert(a && b);
    ck_assert_int_eq((int)(strstr(a, "\"epoch\":3") != NULL), 1);
    strip_times(a);
    strip_times(b);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    snprintf(p1, sizeof p1, "%s/final.json", out1);
    snprintf(p2, sizeof p2, "%s/final.json", out2);
    a = read_all(p1);
    b = read_all(p2);
    ck_assert(a && b && strstr(a, "\"mse\""));
    strip_times(a);
    strip_times(b);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    /* the saved config runs again to the same result */
    snprintf(p1, sizeof p1, "%s/config.yaml", out1);
    snprintf(out2, sizeof out2, "%s/r3", dir);
    o.out_dir = out2;
    ck_assert_msg(ae_run_file(p1, &o, &err) == AE_OK, "%s", err.msg);
    snprintf(p1, sizeof p1, "%s/final.json", out1);
    snprintf(p2, sizeof p2, "%s/final.json", out2);
    a = read_all(p1);
    b = read_all(p2);
    strip_times(a);
    strip_times(b);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    free(cfg);
    free(dir);
}
END_TEST

/* The article's 20 printed losses, with PyTorch-exact initialisation. */
START_TEST(tutorial_reproduces_article)
{
    const char *dd = AELAB_SOURCE_DIR "/../shared/data";
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/weatherAUS.csv.gz", dd);
    if (access(probe, R_OK) != 0) {
        printf("tutorial_reproduces_article: SKIPPED: %s not found (set up ../shared/data)\n", probe);
        return;
    }
    static const double article[20] = {1.2443, 1.2410, 1.2376, 1.2342, 1.2307, 1.2271, 1.2234,
                                       1.2196, 1.2156, 1.2114, 1.2070, 1.2023, 1.1974, 1.1923,
                                       1.1868, 1.1811, 1.1751, 1.1688, 1.1622, 1.1554};
    char *dir = ae_test_tmpdir();
    const char *sets[] = {"outputs.probe=false", "outputs.plots=false", "train.progress=false"};
    ae_run_opts o;
    memset(&o, 0, sizeof o);
    o.registry = ae_test_registry();
    o.out_dir = dir;
    o.data_dir = dd;
    o.sets = sets;
    o.nsets = 3;
    o.progress = 0;
    ae_err err = {0};
    ck_assert_msg(ae_run_file(AELAB_SOURCE_DIR "/configs/rain_tutorial.yaml", &o, &err) == AE_OK, "%s", err.msg);
    char p[4200];
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    char *s = read_all(p);
    ck_assert(s != NULL);
    int k = 0;
    for (char *q = strstr(s, "\"train_loss\":"); q && k < 20; q = strstr(q + 1, "\"train_loss\":"), k++) {
        double v = strtod(q + strlen("\"train_loss\":"), NULL);
        ck_assert_msg(fabs(round(v * 1e4) / 1e4 - article[k]) < 1e-9, "epoch %d: %.6f, article %.4f", k + 1, v,
                      article[k]);
    }
    ck_assert_int_eq(k, 20);
    free(s);
    free(dir);
}
END_TEST

/* aelab's own default init (He/Glorot, zero bias): the same band as the article, falling each epoch. */
START_TEST(tutorial_default_init_band)
{
    const char *dd = AELAB_SOURCE_DIR "/../shared/data";
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/weatherAUS.csv.gz", dd);
    if (access(probe, R_OK) != 0) {
        printf("tutorial_default_init_band: SKIPPED: %s not found\n", probe);
        return;
    }
    char *dir = ae_test_tmpdir();
    const char *sets[] = {"outputs.probe=false", "outputs.plots=false", "model.init.scheme=auto"};
    ae_run_opts o;
    memset(&o, 0, sizeof o);
    o.registry = ae_test_registry();
    o.out_dir = dir;
    o.data_dir = dd;
    o.sets = sets;
    o.nsets = 3;
    ae_err err = {0};
    ck_assert_msg(ae_run_file(AELAB_SOURCE_DIR "/configs/rain_tutorial.yaml", &o, &err) == AE_OK, "%s", err.msg);
    char p[4200];
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    char *s = read_all(p);
    double prev = INFINITY;
    int k = 0;
    for (char *q = strstr(s, "\"train_loss\":"); q; q = strstr(q + 1, "\"train_loss\":"), k++) {
        double v = strtod(q + strlen("\"train_loss\":"), NULL);
        if (k == 0) ck_assert_msg(v >= 1.0 && v <= 1.5, "first epoch %g outside [1.0, 1.5]", v);
        ck_assert_msg(v < prev, "epoch %d: %g does not fall (previous %g)", k + 1, v, prev);
        prev = v;
    }
    ck_assert_int_eq(k, 20);
    free(s);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *t = tcase_create("model");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, grad_dense_mirror_mse);
    tcase_add_test(t, grad_bce_logits_path);
    tcase_add_test(t, grad_vae);
    tcase_add_test(t, grad_denoising);
    tcase_add_test(t, mirror_resolves_into_config);
    tcase_add_test(t, decoder_size_mismatch_names_layer);
    tcase_add_test(t, kl_warmup_every_term_every_epoch);
    tcase_add_test(t, optimizers_match_torch_formulas);
    tcase_add_test(t, rerun_is_bit_identical);
    tcase_add_test(t, tutorial_reproduces_article);
    tcase_add_test(t, tutorial_default_init_band);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
