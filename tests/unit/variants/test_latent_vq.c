/* The `vq` latent (variants/latents/vq.c) through its unit ops: nearest-code assignment on a
 * hand-made codebook, the straight-through gradient, finite-difference checks of the commitment and
 * codebook terms (each with no gradient on its stop-gradient side), perplexity of a known assignment,
 * and a short training run on generated clusters whose reconstruction improves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_ops.h"
#include "ae_run.h"
#include "ae_test.h"

enum { N = 4, D = 3, K = 3 };

typedef struct fx {
    ae_params *ps;
    ae_graph *g;
    ae_rng *rng;
    ae_err err;
    const ae_latent_ops *ops;
    void *st;
    ae_cfg *cfg;
    int zi, ti;
    ae_node *z, *q, *term[2];
} fx;

static void take_term(void *ctx, ae_node *t, const char *name, const float *w)
{
    fx *f = ctx;
    int k = !strcmp(name, "vq_commitment");
    ck_assert(k || !strcmp(name, "vq_codebook"));
    ck_assert_float_eq(*w, k ? 0.5f : 1.0f);
    f->term[k] = t;
}

/* Codebook rows e_0 = (0,0,0), e_1 = (2,0,0), e_2 = (0,-2,1); rows of z near 1, 0, 2, 1. */
static const float codebook[K * D] = {0, 0, 0, 2, 0, 0, 0, -2, 1};
static const float zval[N * D] = {1.6f, 0.3f, -0.2f, 0.2f, -0.1f, 0.3f, 0.1f, -1.5f, 0.7f, 2.4f, 0.2f, 0.1f};
static const int want[N] = {1, 0, 2, 1};

static void build(fx *f, ae_graph *g)
{
    ae_taps t;
    memset(&t, 0, sizeof t);
    ae_build b = {g, f->ps, f->rng, &t, &f->err, NULL, NULL};
    ae_latent_io io = {1, NULL, take_term, f, 1};
    f->z = ae_graph_param(g, f->zi, &f->err);
    f->q = f->ops->build(f->st, &b, &io, f->z);
    ck_assert_msg(f->q != NULL, "%s", f->err.msg);
}

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->ps = ae_params_new();
    f->rng = ae_rng_new(5);
    f->ops = ae_find_latent(ae_test_registry(), "vq");
    ck_assert_ptr_nonnull(f->ops);
    f->cfg = ae_cfg_load_string("codes: 3\nbeta: 0.5\n", "lat.yaml", &f->err);
    ck_assert_int_eq(f->ops->configure(f->cfg, &f->st, &f->err), AE_OK);
    f->zi = ae_params_declare(f->ps, "z", ae_shape2(N, D), 1, 1, AE_PARAM_WEIGHT, 0, &f->err);
    f->ti = ae_params_declare(f->ps, "t", ae_shape2(N, D), 1, 1, AE_PARAM_WEIGHT, 0, &f->err);
    ae_graph *g0 = ae_graph_new(f->ps, N, 1); /* declares the codebook */
    build(f, g0);
    ae_graph_free(g0);
    ck_assert_int_eq(ae_params_alloc(f->ps, &f->err), AE_OK);
    float *e = f->ps->val + f->ps->p[ae_params_declare(f->ps, "latent.codebook", ae_shape2(K, D), 1, 1,
                                                       AE_PARAM_WEIGHT, 0, &f->err)].off;
    memcpy(e, codebook, sizeof codebook);
    memcpy(f->ps->val + f->ps->p[f->zi].off, zval, sizeof zval);
    for (int i = 0; i < N * D; i++) f->ps->val[f->ps->p[f->ti].off + (size_t)i] = 0.1f * (float)(i % 5) - 0.2f;
    f->g = ae_graph_new(f->ps, N, 1);
    build(f, f->g);
}

static void fx_free(fx *f)
{
    ae_graph_free(f->g);
    f->ops->destroy(f->st);
    ae_cfg_free(f->cfg);
    ae_params_free(f->ps);
    ae_rng_free(f->rng);
}

static float *grad_of(fx *f, const char *name)
{
    for (size_t i = 0; i < f->ps->n; i++)
        if (!strcmp(f->ps->p[i].name, name)) return f->ps->grad + f->ps->p[i].off;
    return NULL;
}

START_TEST(nearest_code)
{
    fx f;
    fx_init(&f);
    ck_assert_int_eq(ae_graph_compile(f.g, NULL, &f.err), AE_OK);
    ae_graph_forward(f.g);
    const float *idx = f.q->state;
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq((int)idx[i], want[i]);
        for (int j = 0; j < D; j++) ck_assert_float_eq(f.q->val[i * D + j], codebook[want[i] * D + j]);
    }
    fx_free(&f);
}
END_TEST

/* loss = mse(quantised, t): z's gradient is the quantised output's (copied), the codebook's is 0. */
START_TEST(straight_through)
{
    fx f;
    fx_init(&f);
    ae_node *loss = ae_mse(f.g, "l", f.q, ae_graph_param(f.g, f.ti, &f.err), AE_MEAN, &f.err);
    ck_assert_int_eq(ae_graph_compile(f.g, loss, &f.err), AE_OK);
    ae_graph_forward(f.g);
    ae_graph_backward(f.g);
    const float *gz = grad_of(&f, "z"), *ge = grad_of(&f, "latent.codebook");
    double nz = 0;
    for (int i = 0; i < N * D; i++) {
        ck_assert_float_eq(gz[i], f.q->grad[i]);
        nz += fabs(gz[i]);
    }
    ck_assert(nz > 0);
    for (int i = 0; i < K * D; i++) ck_assert_float_eq(ge[i], 0.0f);
    fx_free(&f);
}
END_TEST

/* Central differences of term k w.r.t. parameter `wrt` against its backward; `other` gets 0. */
static void term_fd(int k, const char *wrt, const char *other)
{
    fx f;
    fx_init(&f);
    ae_node *t = f.term[k];
    ck_assert_int_eq(ae_graph_compile(f.g, t, &f.err), AE_OK);
    ae_graph_forward(f.g);
    ae_graph_backward(f.g);
    float *g = grad_of(&f, wrt), *go = grad_of(&f, other);
    float *v = f.ps->val + (size_t)(g - f.ps->grad);
    size_t n = !strcmp(wrt, "z") ? N * D : K * D;
    float an[N * D > K * D ? N * D : K * D];
    memcpy(an, g, n * sizeof *an);
    for (size_t i = 0; i < (size_t)(N * D > K * D ? N * D : K * D); i++)
        if (i < (!strcmp(other, "z") ? (size_t)N * D : (size_t)K * D)) ck_assert_float_eq(go[i], 0.0f);
    double worst = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        const float h = 1e-2f, v0 = v[i];
        v[i] = v0 + h;
        ae_graph_forward(f.g);
        double up = t->val[0];
        v[i] = v0 - h;
        ae_graph_forward(f.g);
        double dn = t->val[0];
        v[i] = v0;
        double num = (up - dn) / (2.0 * h);
        worst = fmax(worst, fabs(num - an[i]));
        total += fabs(an[i]);
    }
    ck_assert_msg(worst < 1e-3, "%s term d/d%s: worst difference %g", k ? "commitment" : "codebook", wrt, worst);
    ck_assert(total > 0.01);
    fx_free(&f);
}

START_TEST(commitment_grad) { term_fd(1, "z", "latent.codebook"); }
END_TEST

START_TEST(codebook_grad) { term_fd(0, "latent.codebook", "z"); }
END_TEST

/* Assignments 0, 0, 1, 2 of 3 codes: p = (1/2, 1/4, 1/4), perplexity 2^1.5, 3 codes used; metrics
 * then start over. */
START_TEST(perplexity_known)
{
    fx f;
    fx_init(&f);
    float idx[N] = {0, 0, 1, 2};
    ae_node code;
    memset(&code, 0, sizeof code);
    code.state = idx;
    ae_taps t;
    memset(&t, 0, sizeof t);
    t.code = &code;
    f.ops->observe(f.st, &t, 2);
    f.ops->observe(f.st, &t, 0);
    t.code->state = idx + 2;
    f.ops->observe(f.st, &t, 2);
    const char *names[4];
    double vals[4];
    ck_assert_int_eq(f.ops->metrics(f.st, names, vals, 4), 2);
    ck_assert_str_eq(names[0], "vq_perplexity");
    ck_assert_double_eq_tol(vals[0], pow(2.0, 1.5), 1e-12);
    ck_assert_str_eq(names[1], "vq_codes_used");
    ck_assert_double_eq(vals[1], 3.0);
    ck_assert_int_eq(f.ops->metrics(f.st, names, vals, 4), 0); /* reset */
    float one[N] = {1, 1, 1, 1};
    t.code->state = one;
    f.ops->observe(f.st, &t, N);
    ck_assert_int_eq(f.ops->metrics(f.st, names, vals, 4), 2);
    ck_assert_double_eq_tol(vals[0], 1.0, 1e-12);
    ck_assert_double_eq(vals[1], 1.0);
    fx_free(&f);
}
END_TEST

static double json_num(const char *text, const char *key, const char *from)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(from ? from : text, k);
    ck_assert_msg(p != NULL, "no %s in %s", key, text);
    return strtod(p + strlen(k), NULL);
}

/* 4 clusters in 6 dimensions, 8 codes: the test reconstruction improves over training and more
 * than one code is used (perplexity > 1). */
START_TEST(train_clusters)
{
    char *dir = ae_test_tmpdir();
    ae_rng *r = ae_rng_new(17);
    size_t cap = 64 * 1024, len = 0;
    char *csv = malloc(cap);
    len += (size_t)snprintf(csv + len, cap - len, "a,b,c,d,e,f\n");
    float centre[4][6];
    for (int c = 0; c < 4; c++)
        for (int j = 0; j < 6; j++) centre[c][j] = (float)(0.15 + 0.7 * ae_rng_uniform(r));
    for (int i = 0; i < 400; i++)
        for (int j = 0; j < 6; j++)
            len += (size_t)snprintf(csv + len, cap - len, "%.4f%c",
                                    centre[i % 4][j] + 0.03 * ae_rng_gauss(r), j == 5 ? '\n' : ',');
    free(ae_test_write(dir, "d.csv", csv));
    free(csv);
    ae_rng_free(r);
    char yaml[1024], out[4200];
    snprintf(yaml, sizeof yaml, "name: vq\nseed: 3\nthreads: 1\n"
             "data: {source: csv, path: %s/d.csv, scaling: none, test_fraction: 0.25}\n"
             "model:\n  encoder: [{type: dense, units: 16, activation: relu}, {type: dense, units: 4}]\n"
             "  latent: {kind: vq, codes: 8, beta: 0.25}\nloss: mse\n"
             "train: {epochs: 25, batch_size: 20, progress: false, optimizer: {name: adam, lr: 0.01}}\n"
             "outputs: {plots: false, probe: false, codes: false, pca_baseline: false}\n", dir);
    char *cfg = ae_test_write(dir, "vq.yaml", yaml);
    snprintf(out, sizeof out, "%s/run", dir);
    ae_run_opts o;
    memset(&o, 0, sizeof o);
    o.registry = ae_test_registry();
    o.out_dir = out;
    ae_err err = {0};
    ck_assert_msg(ae_run_file(cfg, &o, &err) == AE_OK, "%s", err.msg);
    char p[4400];
    snprintf(p, sizeof p, "%s/metrics.jsonl", out);
    char *m = ae_test_slurp(p, NULL);
    snprintf(p, sizeof p, "%s/final.json", out);
    char *fin = ae_test_slurp(p, NULL);
    ck_assert(m && fin);
    double first = json_num(m, "test_mse", NULL), last = json_num(m, "test_mse", strstr(m, "\"epoch\":25"));
    double perp = json_num(fin, "vq_perplexity", NULL), used = json_num(fin, "vq_codes_used", NULL);
    ck_assert_msg(last < 0.5 * first, "test mse %g after epoch 1, %g after 25", first, last);
    ck_assert_msg(perp > 1.0 && used >= 2, "perplexity %g, %g codes used", perp, used);
    ck_assert(json_num(fin, "vq_commitment", NULL) >= 0);
    free(m);
    free(fin);
    free(cfg);
    ae_test_rm_rf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("latent_vq");
    TCase *t = tcase_create("vq");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, nearest_code);
    tcase_add_test(t, straight_through);
    tcase_add_test(t, commitment_grad);
    tcase_add_test(t, codebook_grad);
    tcase_add_test(t, perplexity_known);
    tcase_add_test(t, train_clusters);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
