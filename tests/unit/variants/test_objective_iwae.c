/* The iwae objective: with k = 1 its bound is the VAE's -ELBO on the same sample (the bce-sum term
 * plus log q(z|x) - log p(z), whose mean over draws is the gaussian latent's KL term); its training
 * graph holds the bound alone, its evaluation graphs the VAE's terms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_builtins.h"
#include "ae_data.h"
#include "ae_model.h"
#include "ae_test.h"

enum { N = 8, D = 6, CS = 3 };

static ae_dataset binary_data(void)
{
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = N, ds.d = D, ds.c = ds.h = 1, ds.w = D;
    ds.x = malloc(ds.n * ds.d * sizeof *ds.x);
    for (size_t i = 0; i < ds.n * ds.d; i++) ds.x[i] = (float)((i * 5 + i / 7) % 3 == 0);
    return ds;
}

static ae_model *model(ae_dataset *ds, ae_rng *rng, const char *loss, ae_cfg **cfg)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml, "model: {encoder: [{type: dense, units: 4, activation: tanh}], "
             "latent: {kind: gaussian, size: %d}}\nloss: %s\n", CS, loss);
    ae_err err = {0};
    *cfg = ae_cfg_load_string(yaml, "test.yaml", &err);
    ck_assert_msg(*cfg != NULL, "%s", err.msg);
    ae_model *m = NULL;
    ae_model_configure(*cfg, ae_test_registry(), ds, 1, rng, &m, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

static ae_node *node(const ae_mgraph *mg, const char *name)
{
    for (size_t i = 0; i < ae_graph_size(mg->g); i++)
        if (!strcmp(ae_graph_node(mg->g, i)->name, name)) return ae_graph_node(mg->g, i);
    ck_abort_msg("no node %s", name);
    return NULL;
}

/* Both models' training graphs on the same data, parameters and noise: one forward each. */
static void forward_both(ae_mgraph *va, ae_rng *ra, ae_mgraph *iw, ae_rng *ri, const float *x)
{
    unsigned char st[8192];
    ck_assert_uint_le(ae_rng_state_size(ra), sizeof st);
    ae_rng_get_state(ra, st);
    ck_assert_int_eq(ae_rng_set_state(ri, st, ae_rng_state_size(ra)), AE_OK);
    memcpy(va->taps.x->val, x, N * D * sizeof(float));
    memcpy(iw->taps.x->val, x, N * D * sizeof(float));
    ae_graph_forward_loss(va->g);
    ae_graph_forward_loss(iw->g);
}

START_TEST(k1_is_the_vae_elbo)
{
    ae_dataset ds = binary_data();
    ae_rng *ra = ae_rng_new(9), *ri = ae_rng_new(9);
    ae_cfg *ca, *ci;
    ae_model *va = model(&ds, ra, "{type: bce, reduction: sum}", &ca);
    ae_model *iw = model(&ds, ri, "{type: iwae, k: 1}", &ci);
    ae_params *pa = ae_model_params(va), *pi = ae_model_params(iw);
    ck_assert_uint_eq(pa->total, pi->total); /* the same parameters, initialised alike */
    ck_assert(memcmp(pa->val, pi->val, pa->total * sizeof(float)) == 0);
    ae_err err = {0};
    ae_mgraph *ga = ae_model_graph(va, N, AE_MODE_TRAIN, &err), *gi = ae_model_graph(iw, N, AE_MODE_TRAIN, &err);
    ck_assert_msg(ga && gi, "%s", err.msg);
    ck_assert_int_eq(gi->nterms, 1); /* the bound alone: the latent's KL is inside it */
    ck_assert_str_eq(gi->term_name[0], "iwae");
    forward_both(ga, ra, gi, ri, ds.x);
    ae_node *z = node(gi, "iwae.z"), *lpx = node(gi, "iwae.log_px");
    ck_assert(memcmp(z->val, ga->taps.code->val, N * CS * sizeof(float)) == 0); /* the same sample */
    /* -mean log p(x|z) is the VAE's bce-sum term; the bound adds mean log q(z|x) - log p(z) */
    double rec = 0, ratio = 0;
    for (int b = 0; b < N; b++) rec -= lpx->val[b] / (double)N;
    const float *mu = ga->taps.mu->val, *lv = ga->taps.logvar->val, *zz = z->val;
    for (int q = 0; q < N * CS; q++)
        ratio += 0.5 * (zz[q] * (double)zz[q] - (zz[q] - mu[q]) * (double)(zz[q] - mu[q]) / exp(lv[q]) - lv[q]) / N;
    double vae_rec = ga->term[0]->val[0], tol = ae_test_tol_reduce(N * D, fabs(vae_rec) + 1.0);
    ck_assert_msg(fabs(rec - vae_rec) <= tol, "recon %.9g vs bce-sum %.9g", rec, vae_rec);
    ck_assert_msg(fabs(gi->loss->val[0] - (vae_rec + ratio)) <= tol + ae_test_tol_reduce(N * CS, fabs(ratio) + 1.0),
                  "bound %.9g vs -ELBO %.9g", (double)gi->loss->val[0], vae_rec + ratio);
    /* over many draws, log q - log p averages to the analytic KL (5 standard errors) */
    const int T = 2000;
    double s = 0, s2 = 0, kl = ga->term[1]->val[0];
    for (int t = 0; t < T; t++) {
        forward_both(ga, ra, gi, ri, ds.x);
        double v = gi->loss->val[0] - ga->term[0]->val[0];
        s += v, s2 += v * v;
    }
    double mean = s / T, se = sqrt((s2 / T - mean * mean) / T);
    ck_assert_msg(fabs(mean - kl) < 5 * se + 1e-4, "sampled KL %.6g +- %.3g, analytic %.6g", mean, se, kl);
    ck_assert_msg(se > 0 && se < 0.5 * kl, "the check must be able to fail: se %g, kl %g", se, kl);
    ae_model_free(va), ae_model_free(iw);
    ae_cfg_free(ca), ae_cfg_free(ci);
    ae_rng_free(ra), ae_rng_free(ri);
    ae_dataset_free(&ds);
}
END_TEST

/* k = 5: a training graph of k·B decoded rows whose bound is at most the k = 1 estimate of the same
 * weights (Jensen: log-mean-exp >= mean), evaluation graphs with the VAE's terms. */
START_TEST(k5_graphs)
{
    ae_dataset ds = binary_data();
    ae_rng *rng = ae_rng_new(4);
    ae_cfg *cfg;
    ae_model *m = model(&ds, rng, "{type: iwae, k: 5}", &cfg);
    ae_err err = {0};
    ck_assert_str_eq(ae_model_loss_kind(m), "iwae");
    ck_assert_int_eq(ae_model_loss_bernoulli(m), 1);
    ck_assert_int_eq(ae_model_loss_sum(m), 1);
    ae_mgraph *g = ae_model_graph(m, N, AE_MODE_TRAIN, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    memcpy(g->taps.x->val, ds.x, N * D * sizeof(float));
    ae_graph_forward_loss(g->g);
    ae_node *lpx = node(g, "iwae.log_px"), *lr = node(g, "iwae.log_pz_qz");
    ck_assert_int_eq((int)lpx->numel, 5 * N);
    double mean = 0;
    for (int r = 0; r < 5 * N; r++) mean -= ((double)lpx->val[r] + lr->val[r]) / (5.0 * N);
    ck_assert_msg(g->loss->val[0] <= mean + 1e-4 && g->loss->val[0] > 0, "bound %g, mean -log w %g",
                  (double)g->loss->val[0], mean);
    ae_graph_backward(g->g); /* gradients reach every parameter */
    ae_params *ps = ae_model_params(m);
    for (size_t p = 0; p < ps->n; p++) {
        double a = ae_test_absmax(ps->grad + ps->p[p].off, ps->p[p].n);
        ck_assert_msg(a > 0 && isfinite(a), "%s: gradient %g", ps->p[p].name, a);
    }
    const ae_mode ev[] = {AE_MODE_EVAL, AE_MODE_EVAL_SAMPLE};
    for (int i = 0; i < 2; i++) {
        ae_mgraph *e = ae_model_graph(m, N, ev[i], &err);
        ck_assert_msg(e != NULL, "%s", err.msg);
        ck_assert_int_eq(e->nterms, 2);
        ck_assert_str_eq(e->term_name[0], "recon");
        ck_assert_str_eq(e->term_name[1], "kl");
    }
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("objective_iwae");
    TCase *t = tcase_create("objective_iwae");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, k1_is_the_vae_elbo);
    tcase_add_test(t, k5_graphs);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
