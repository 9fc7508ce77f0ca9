/* The importance-sampled NLL (ae_vae_nll) on models whose answer is known: a posterior equal to the
 * prior and a decoder that ignores the code make every weight p(x|z) = p(x), exact for any k, batch
 * and number of passes (Bernoulli on logits, on probabilities, unit gaussian); a posterior off the
 * prior converges to the same -log p(x) as k grows. And the gaussian latent's active units on codes
 * whose posterior-mean variances are set by hand. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_builtins.h"
#include "ae_data.h"
#include "ae_model.h"
#include "ae_test.h"
#include "ae_vae.h"

enum { N = 10, D = 6 };

static ae_dataset dataset(int binary)
{
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = N, ds.d = D, ds.c = ds.h = 1, ds.w = D;
    ds.x = malloc(ds.n * ds.d * sizeof *ds.x);
    for (size_t i = 0; i < ds.n * ds.d; i++)
        ds.x[i] = binary ? (float)((i * 5 + i / 7) % 3 == 0) : (float)((i * 37) % 101) / 100.0f;
    return ds;
}

static ae_model *model(ae_dataset *ds, ae_rng *rng, const char *yaml, ae_cfg **cfg)
{
    ae_err err = {0};
    *cfg = ae_cfg_load_string(yaml, "test.yaml", &err);
    ck_assert_msg(*cfg != NULL, "%s", err.msg);
    ae_model *m = NULL;
    ae_model_configure(*cfg, ae_test_registry(), ds, 1, rng, &m, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

static float *param(ae_model *m, const char *name, size_t n)
{
    ae_params *ps = ae_model_params(m);
    for (size_t p = 0; p < ps->n; p++)
        if (!strcmp(ps->p[p].name, name)) {
            ck_assert_uint_eq(ps->p[p].n, n);
            return ps->val + ps->p[p].off;
        }
    ck_abort_msg("no parameter %s", name);
    return NULL;
}

static const float bias[D] = {-2.0f, -0.5f, 0.0f, 0.3f, 1.1f, 2.5f};

/* Every parameter 0 but the output layer's bias: logits (or outputs) = bias for any code. */
static void code_blind(ae_model *m, const char *out_bias)
{
    ae_params *ps = ae_model_params(m);
    memset(ps->val, 0, ps->total * sizeof(float));
    memcpy(param(m, out_bias, D), bias, sizeof bias);
}

/* -log p(x) per row, averaged: Bernoulli(sigmoid(bias)) (kinds 0 and 1, the latter from the
 * probabilities) or N(bias, 1) (kind 2: outputs = bias). */
static double exact_nll(const ae_dataset *ds, int kind)
{
    double s = 0;
    for (size_t i = 0; i < ds->n * ds->d; i++) {
        double b = bias[i % D], x = ds->x[i];
        if (kind == 0) s += log1p(exp(b)) - x * b; /* softplus(b) - x·b */
        else if (kind == 1) s -= x * log(1 / (1 + exp(-b))) + (1 - x) * log1p(-1 / (1 + exp(-b)));
        else s += 0.5 * ((b - x) * (b - x) + log(2 * M_PI));
    }
    return s / (double)ds->n;
}

static const char *const yamls[] = {
    /* Bernoulli on logits (iwae trains on them) */
    "model: {encoder: [{type: dense, units: 4, activation: tanh}], latent: {kind: gaussian, size: 3}}\n"
    "loss: {type: iwae, k: 3}\n",
    /* the VAE: bce summed per sample on the mirrored sigmoid's logits */
    "model: {encoder: [{type: dense, units: 4, activation: tanh}], latent: {kind: gaussian, size: 3}}\n"
    "loss: {type: bce, reduction: sum}\n",
    /* unit gaussian (mse) */
    "model: {encoder: [{type: dense, units: 4, activation: tanh}], latent: {kind: gaussian, size: 3}}\n"
    "loss: {type: mse, reduction: sum}\n",
};

START_TEST(nll_exact_when_the_code_is_ignored)
{
    const int kind = _i;
    ae_dataset ds = dataset(kind != 2);
    ae_rng *rng = ae_rng_new(2);
    ae_cfg *cfg;
    ae_model *m = model(&ds, rng, yamls[kind], &cfg);
    code_blind(m, "decoder[1].bias");
    double ref = exact_nll(&ds, kind);
    const int ks[] = {1, 3, 5000};
    const long batches[] = {3, 8, 10};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            ae_err err = {0};
            double nll = NAN;
            ck_assert_msg(ae_vae_nll(m, &ds, ks[a], batches[b], &nll, &err) == AE_OK, "%s", err.msg);
            ck_assert_msg(fabs(nll - ref) <= ae_test_tol_reduce(D + 3, fabs(ref)) + 1e-5,
                          "kind %d k %d batch %ld: nll %.9g, exact %.9g", kind, ks[a], batches[b], nll, ref);
        }
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

/* q(z|x) = N(0.5, 0.8²) per unit, off the prior: the estimate is -log p(x) - log mean_k p(z)/q(z|x),
 * within 0.02 of -log p(x) at k = 20000 (the ratio has mean 1 and a variance of order 1 here, so the
 * log of its mean over 20000 draws is off by about 0.01 at most), and k = 1 is the -ELBO: -log p(x) +
 * KL(q || p) on average (over 10 rows, well within 0.5). */
START_TEST(nll_converges_off_the_prior)
{
    ae_dataset ds = dataset(1);
    ae_rng *rng = ae_rng_new(2);
    ae_cfg *cfg;
    ae_model *m = model(&ds, rng, yamls[0], &cfg);
    code_blind(m, "decoder[1].bias");
    float *mb = param(m, "latent.mu.bias", 3), *lb = param(m, "latent.logvar.bias", 3);
    for (int j = 0; j < 3; j++) mb[j] = 0.5f, lb[j] = (float)log(0.64);
    double ref = exact_nll(&ds, 0), k1, kbig;
    ae_err err = {0};
    ck_assert_int_eq(ae_vae_nll(m, &ds, 1, 4, &k1, &err), AE_OK);
    ck_assert_int_eq(ae_vae_nll(m, &ds, 20000, 4, &kbig, &err), AE_OK);
    ck_assert_msg(fabs(kbig - ref) < 0.02, "k = 20000: %.6g, exact %.6g", kbig, ref);
    /* k = 1 is the -ELBO: above by the KL of q to the prior, 3·(0.5·(0.64 + 0.25 - 1 - log 0.64)) */
    double kl = 3 * 0.5 * (0.64 + 0.25 - 1 - log(0.64));
    ck_assert_msg(fabs(k1 - (ref + kl)) < 0.5, "k = 1: %.6g, -ELBO %.6g", k1, ref + kl);
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

/* The per-row -ELBO (the one-class score of a VAE): with k = 1 and the same draws its mean is the
 * k = 1 bound of ae_vae_nll; with many codes it converges to -log p(x) + KL(q || p) (the decoder
 * ignores the code, the posterior is off the prior), and it is never below the k-sample bound. */
START_TEST(neg_elbo_rows)
{
    ae_dataset ds = dataset(1);
    ae_rng *rng = ae_rng_new(3);
    ae_cfg *cfg;
    ae_model *m = model(&ds, rng, yamls[0], &cfg);
    code_blind(m, "decoder[1].bias");
    float *mb = param(m, "latent.mu.bias", 3), *lb = param(m, "latent.logvar.bias", 3);
    for (int j = 0; j < 3; j++) mb[j] = 0.5f, lb[j] = (float)log(0.64);
    unsigned char st[8192];
    ck_assert_uint_le(ae_rng_state_size(rng), sizeof st);
    ae_rng_get_state(rng, st);
    ae_err err = {0};
    double k1, rows[N], mean = 0;
    ck_assert_int_eq(ae_vae_nll(m, &ds, 1, 4, &k1, &err), AE_OK);
    ck_assert_int_eq(ae_rng_set_state(rng, st, ae_rng_state_size(rng)), AE_OK);
    ck_assert_int_eq(ae_vae_neg_elbo_rows(m, &ds, 1, 4, rows, &err), AE_OK);
    for (int i = 0; i < N; i++) mean += rows[i] / N;
    ck_assert_msg(fabs(mean - k1) <= 1e-9 * fabs(k1), "k = 1: rows' mean %.12g, bound %.12g", mean, k1);
    /* 2,000 codes per row: the mean -ELBO within 0.05 of -log p(x) + KL (the sampled part's sd per
     * code is about 1 here: 5 standard errors of the mean over N·2000 draws), above the 2,000-sample bound */
    double kl = 3 * 0.5 * (0.64 + 0.25 - 1 - log(0.64)), ref = exact_nll(&ds, 0), bound;
    ae_rng_get_state(rng, st);
    ck_assert_int_eq(ae_vae_neg_elbo_rows(m, &ds, 2000, 4, rows, &err), AE_OK);
    ck_assert_int_eq(ae_rng_set_state(rng, st, ae_rng_state_size(rng)), AE_OK);
    ck_assert_int_eq(ae_vae_nll(m, &ds, 2000, 4, &bound, &err), AE_OK);
    mean = 0;
    for (int i = 0; i < N; i++) mean += rows[i] / N;
    ck_assert_msg(fabs(mean - (ref + kl)) < 0.05, "-ELBO %.6g, -log p(x) + KL %.6g", mean, ref + kl);
    ck_assert_msg(mean > bound + 0.5 * kl, "-ELBO %.6g not above the 2000-sample bound %.6g", mean, bound);
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

/* mu_u = s_u·x_u (an identity encoder layer, a diagonal mu head): Var(mu_u) = s_u²·Var(x_u). */
START_TEST(active_units_count_variances)
{
    ae_dataset ds = dataset(0);
    double mean[3] = {0}, var[3] = {0};
    const float scale[3] = {1.0f, 0.05f, 0.0f};
    for (size_t i = 0; i < N; i++)
        for (int u = 0; u < 3; u++) mean[u] += ds.x[i * D + (size_t)u] * (double)scale[u] / N;
    for (size_t i = 0; i < N; i++)
        for (int u = 0; u < 3; u++) {
            double d = ds.x[i * D + (size_t)u] * (double)scale[u] - mean[u];
            var[u] += d * d / N;
        }
    /* thresholds between and around the three variances, and the count each must give */
    const double thr[4] = {var[0] * 1.5, sqrt(var[0] * var[1]), var[1] * 0.5, 0.01};
    const int want[4] = {0, 1, 2, var[0] > 0.01 ? 1 : 0};
    ck_assert(var[0] > 0.05 && var[1] > 1e-5 && var[2] == 0.0);
    for (int c = 0; c < 4; c++) {
        char yaml[400];
        snprintf(yaml, sizeof yaml, "model: {encoder: [{type: dense, units: %d, activation: identity}], "
                 "latent: {kind: gaussian, size: 3, active_threshold: %.17g}}\nloss: {type: iwae, k: 2}\n", D, thr[c]);
        ae_rng *rng = ae_rng_new(2);
        ae_cfg *cfg;
        ae_model *m = model(&ds, rng, yaml, &cfg);
        memset(ae_model_params(m)->val, 0, ae_model_params(m)->total * sizeof(float));
        float *w = param(m, "encoder[0].weight", D * D), *mw = param(m, "latent.mu.weight", 3 * D);
        for (int j = 0; j < D; j++) w[j * D + j] = 1.0f;
        for (int u = 0; u < 3; u++) mw[u * D + u] = scale[u];
        const char *names[8];
        double values[8];
        int n = 0;
        ae_err err = {0};
        ck_assert_int_eq(ae_model_latent_metrics(m, &ds, 3, names, values, 8, &n, &err), AE_OK);
        ck_assert_int_eq(n, 1);
        ck_assert_str_eq(names[0], "active_units");
        ck_assert_msg(values[0] == want[c], "threshold %g: %g active, expected %d", thr[c], values[0], want[c]);
        /* metrics reset: a second pass over the same rows gives the same count */
        ck_assert_int_eq(ae_model_latent_metrics(m, &ds, 4, names, values, 8, &n, &err), AE_OK);
        ck_assert_int_eq((int)values[0], want[c]);
        ae_model_free(m);
        ae_cfg_free(cfg);
        ae_rng_free(rng);
    }
    ae_dataset_free(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vae_eval");
    TCase *t = tcase_create("vae_eval");
    tcase_set_timeout(t, 300);
    tcase_add_loop_test(t, nll_exact_when_the_code_is_ignored, 0, 3);
    tcase_add_test(t, nll_converges_off_the_prior);
    tcase_add_test(t, neg_elbo_rows);
    tcase_add_test(t, active_units_count_variances);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
