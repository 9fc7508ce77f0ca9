/* Check suite for rng.c (GSL mt19937, PyTorch-exact uniform_), baseline_pca.c, baseline_probe.c and
 * baseline_stats.c. Torch/scipy/sklearn reference values were produced with PyTorch 1.13 (AVX2
 * dispatch), scipy 1.10 and scikit-learn 1.2 on this machine. */
#include <check.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"
#include "ae_rng.h"
#include "ae_test.h"

/* ---------------------------------------------------------------- rng */

/* One nn.Linear / nn.Conv*d default init: kaiming_uniform_(a=sqrt(5)) weight, then bias. */
static void torch_layer(ae_rng *r, size_t nweight, size_t nbias, size_t fan_in, float *w, float *b)
{
    double a = sqrt(5.0);
    double wb = sqrt(3.0) * (sqrt(2.0 / (1.0 + a * a)) / sqrt((double)fan_in));
    double bb = 1.0 / sqrt((double)fan_in);
    ae_rng_torch_uniform(r, w, nweight, (float)-wb, (float)wb);
    ae_rng_torch_uniform(r, b, nbias, (float)-bb, (float)bb);
}

START_TEST(test_raw_mt_matches_torch)
{
    /* torch.manual_seed(42); torch.empty(6, dtype=torch.int64).random_(0, 2**32 - 1) */
    const uint32_t want[6] = {1608637542u, 3421126067u, 4083286876u,
                              787846414u,  3143890026u, 3348747335u};
    ae_rng *r = ae_rng_new(42);
    ck_assert_ptr_nonnull(r);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(ae_rng_u32(r), want[i]);
    ae_rng_free(r);
}
END_TEST

START_TEST(test_torch_linear_tutorial)
{
    /* torch.manual_seed(42); Linear(17,16), Linear(16,3), Linear(3,16), Linear(16,17) */
    const float w0[5] = {0x1.7bc196p-3f, 0x1.9c4692p-3f, -0x1.d176f6p-5f, 0x1.c8494p-3f,
                         -0x1.b3538ap-5f};
    const float b0[3] = {0x1.345bfep-3f, 0x1.73a732p-3f, 0x1.d5be9ep-3f};
    const float w3[5] = {0x1.719cp-7f, -0x1.f8039p-5f, -0x1.cfa974p-3f, -0x1.e1696cp-3f,
                         -0x1.e97cc8p-4f};
    const float b3[3] = {0x1.89c71p-3f, -0x1.c8b35p-5f, -0x1.b5471p-5f};
    const size_t io[4][2] = {{17, 16}, {16, 3}, {3, 16}, {16, 17}};
    float w[4][17 * 16], b[4][17];
    ae_rng *r = ae_rng_new(42);
    ck_assert_ptr_nonnull(r);
    for (int l = 0; l < 4; l++)
        torch_layer(r, io[l][0] * io[l][1], io[l][1], io[l][0], w[l], b[l]);
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(w[0][i] == w0[i], "L0 w[%d] = %a, torch %a", i, w[0][i], w0[i]);
        ck_assert_msg(w[3][i] == w3[i], "L3 w[%d] = %a, torch %a", i, w[3][i], w3[i]);
    }
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(b[0][i] == b0[i], "L0 b[%d] = %a, torch %a", i, b[0][i], b0[i]);
        ck_assert_msg(b[3][i] == b3[i], "L3 b[%d] = %a, torch %a", i, b[3][i], b3[i]);
    }
    ae_rng_free(r);
}
END_TEST

START_TEST(test_torch_conv)
{
    /* torch.manual_seed(42); Conv2d(1,32,3) (fan_in 1*9); ConvTranspose2d(64,32,3) (weight
     * [64,32,3,3], fan_in = size(1)*9 = 288) */
    const float cw[3] = {0x1.04f666p-2f, 0x1.1b4f34p-2f, -0x1.3fdc2cp-4f};
    const float tw[3] = {-0x1.4f819p-5f, -0x1.8de8ap-7f, 0x1.657e48p-5f};
    const float tb[3] = {-0x1.e11ff4p-5f, -0x1.69597ap-7f, 0x1.33a81ap-5f};
    float *w1 = malloc(32 * 9 * sizeof *w1), *w2 = malloc(64 * 32 * 9 * sizeof *w2);
    float b1[32], b2[32];
    ck_assert(w1 && w2);
    ae_rng *r = ae_rng_new(42);
    torch_layer(r, 32 * 9, 32, 9, w1, b1);
    torch_layer(r, 64 * 32 * 9, 32, 32 * 9, w2, b2);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(w1[i] == cw[i], "conv w[%d] = %a, torch %a", i, w1[i], cw[i]);
        ck_assert_msg(w2[i] == tw[i], "convT w[%d] = %a, torch %a", i, w2[i], tw[i]);
        ck_assert_msg(b2[i] == tb[i], "convT b[%d] = %a, torch %a", i, b2[i], tb[i]);
    }
    ae_rng_free(r);
    free(w1);
    free(w2);
}
END_TEST

START_TEST(test_torch_uniform_is_fused)
{
    /* torch.manual_seed(123); torch.empty(4).uniform_(-1/3, 2.5): 3 of these 4 differ in the last
     * bit when x*(hi-lo) is rounded before adding lo, so this pins the FMA form. */
    const float want[4] = {0x1.02e49ep-1f, 0x1.2158b4p+0f, 0x1.84d8e8p-2f, 0x1.9e199p+0f};
    float got[4];
    ae_rng *r = ae_rng_new(123);
    ae_rng_torch_uniform(r, got, 4, (float)(-1.0 / 3.0), 2.5f);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(got[i] == want[i], "[%d] = %a, torch %a", i, got[i], want[i]);
    ae_rng_free(r);
}
END_TEST

START_TEST(test_seed_zero_is_gsl_4357)
{
    ae_rng *a = ae_rng_new(0), *b = ae_rng_new(4357);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(ae_rng_u32(a), ae_rng_u32(b));
    ae_rng_free(a);
    ae_rng_free(b);
}
END_TEST

START_TEST(test_shuffle)
{
    enum { N = 50 };
    size_t p[N], q[N], seen[N] = {0};
    ae_rng *a = ae_rng_new(7), *b = ae_rng_new(7), *c = ae_rng_new(8);
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 7);
    for (size_t i = 0; i < N; i++)
        p[i] = q[i] = i;
    ae_rng_shuffle(a, p, N);
    gsl_ran_shuffle(g, q, N, sizeof q[0]); /* the documented loop is gsl_ran_shuffle's */
    ck_assert_mem_eq(p, q, sizeof p);
    for (size_t i = 0; i < N; i++)
        seen[p[i]]++;
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(seen[i], 1);
    for (size_t i = 0; i < N; i++)
        q[i] = i;
    ae_rng_shuffle(b, q, N);
    ck_assert_mem_eq(p, q, sizeof p);
    for (size_t i = 0; i < N; i++)
        q[i] = i;
    ae_rng_shuffle(c, q, N);
    ck_assert(memcmp(p, q, sizeof p) != 0);
    ae_rng_shuffle(c, q, 0); /* no-ops */
    ae_rng_shuffle(c, q, 1);
    gsl_rng_free(g);
    ae_rng_free(a);
    ae_rng_free(b);
    ae_rng_free(c);
}
END_TEST

START_TEST(test_state_roundtrip)
{
    ae_rng *r = ae_rng_new(99), *s = ae_rng_new(5);
    for (int i = 0; i < 700; i++) /* cross a 624-word regeneration */
        ae_rng_u32(r);
    size_t len = ae_rng_state_size(r);
    ck_assert_uint_gt(len, 624 * 4);
    unsigned char *buf = malloc(len);
    ae_rng_get_state(r, buf);
    double first[8], again[8];
    for (int i = 0; i < 8; i++)
        first[i] = i % 2 ? ae_rng_uniform(r) : ae_rng_gauss(r);
    ck_assert_int_eq(ae_rng_set_state(s, buf, len), 0);
    for (int i = 0; i < 8; i++)
        again[i] = i % 2 ? ae_rng_uniform(s) : ae_rng_gauss(s);
    ck_assert_mem_eq(first, again, sizeof first);
    ck_assert_int_ne(ae_rng_set_state(s, buf, len - 1), 0);
    memset(buf, 0xff, len); /* words above 32 bits, negative position */
    ck_assert_int_ne(ae_rng_set_state(s, buf, len), 0);
    free(buf);
    ae_rng_free(r);
    ae_rng_free(s);
}
END_TEST

START_TEST(test_uniform_gauss_moments)
{
    ae_rng *r = ae_rng_new(3);
    double su = 0, sg = 0, sg2 = 0;
    int n = 20000;
    for (int i = 0; i < n; i++) {
        double u = ae_rng_uniform(r), g = ae_rng_gauss(r);
        ck_assert(u >= 0.0 && u < 1.0);
        su += u;
        sg += g;
        sg2 += g * g;
    }
    ck_assert_double_eq_tol(su / n, 0.5, 0.01);
    ck_assert_double_eq_tol(sg / n, 0.0, 0.03);
    ck_assert_double_eq_tol(sg2 / n, 1.0, 0.04);
    ae_rng_free(r);
}
END_TEST

/* ---------------------------------------------------------------- pca */

/* n x 5 rows = offset + a*u + b*v (+ noise*gauss). */
static float *make_lowrank(size_t n, double noise, unsigned long seed)
{
    const double u[5] = {1, 2, 0, -1, 0.5}, v[5] = {0, 1, -1, 1, 2}, off[5] = {3, -2, 1, 0, 5};
    float *x = malloc(n * 5 * sizeof *x);
    ae_rng *r = ae_rng_new(seed);
    for (size_t i = 0; i < n; i++) {
        double a = 3.0 * ae_rng_gauss(r), b = ae_rng_gauss(r);
        for (int c = 0; c < 5; c++)
            x[i * 5 + c] = (float)(off[c] + a * u[c] + b * v[c] + noise * ae_rng_gauss(r));
    }
    ae_rng_free(r);
    return x;
}

START_TEST(test_pca_rank2)
{
    size_t n = 300;
    float *x = make_lowrank(n, 0.0, 11);
    ae_pca p;
    ae_err err = {0};
    ck_assert_int_eq(ae_pca_fit(&p, x, n, 5, 2, &err), 0);
    ck_assert_double_lt(ae_pca_mse(&p, x, n), 1e-9);
    ck_assert_double_eq_tol(p.explained[0] + p.explained[1], 1.0, 1e-6);
    ck_assert_double_gt(p.explained[0], p.explained[1]);
    ae_pca_free(&p);

    ck_assert_int_eq(ae_pca_fit(&p, x, n, 5, 5, &err), 0);
    double sum = 0;
    for (int j = 0; j < 5; j++) {
        sum += p.explained[j];
        if (j)
            ck_assert_double_le(p.explained[j], p.explained[j - 1]);
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-9);
    for (int i = 0; i < 5; i++) {
        size_t arg = 0;
        for (int c = 0; c < 5; c++) {
            double dot = 0;
            for (int e = 0; e < 5; e++)
                dot += p.comp[i * 5 + e] * p.comp[c * 5 + e];
            ck_assert_double_eq_tol(dot, i == c ? 1.0 : 0.0, 1e-9);
            if (fabs(p.comp[i * 5 + c]) > fabs(p.comp[i * 5 + arg]))
                arg = (size_t)c;
        }
        ck_assert_double_gt(p.comp[i * 5 + arg], 0.0); /* sign convention */
    }
    ck_assert_double_lt(ae_pca_mse(&p, x, n), 1e-9);
    ae_pca_free(&p);
    ae_pca_free(&p); /* idempotent */
    free(x);
}
END_TEST

START_TEST(test_pca_transform_mse_consistent)
{
    size_t n = 200, k = 3;
    float *x = make_lowrank(n, 0.7, 12), *codes = malloc(n * k * sizeof *codes);
    ae_pca p;
    ae_err err = {0};
    ck_assert_int_eq(ae_pca_fit(&p, x, n, 5, k, &err), 0);
    ae_pca_transform(&p, x, n, codes);
    double sum = 0, var0 = 0;
    for (size_t i = 0; i < n; i++) {
        var0 += (double)codes[i * k] * codes[i * k];
        for (int c = 0; c < 5; c++) {
            double rec = p.mean[c];
            for (size_t j = 0; j < k; j++)
                rec += codes[i * k + j] * p.comp[j * 5 + c];
            sum += (x[i * 5 + c] - rec) * (x[i * 5 + c] - rec);
        }
    }
    double mse = ae_pca_mse(&p, x, n);
    ck_assert_double_gt(mse, 0.05); /* noise is left over */
    ck_assert_double_eq_tol(sum / (n * 5.0), mse, 1e-5 * mse);
    /* the first code's variance over the total variance is the first explained ratio */
    double total = 0;
    for (int c = 0; c < 5; c++)
        for (size_t i = 0; i < n; i++)
            total += (x[i * 5 + c] - p.mean[c]) * (x[i * 5 + c] - p.mean[c]);
    ck_assert_double_eq_tol(var0 / total, p.explained[0], 1e-5);
    ae_pca_free(&p);

    ck_assert_int_eq(ae_pca_fit(&p, x, n, 5, 6, &err), AE_EINPUT);
    ck_assert_ptr_null(p.comp);
    ae_pca_free(&p);
    free(codes);
    free(x);
}
END_TEST

/* ---------------------------------------------------------------- probe */

/* n x d gaussian blobs around class centres spread by `sep`; labels cycle 0..K-1. */
static void make_blobs(size_t n, size_t d, int K, double sep, unsigned long seed, float *x, int *y)
{
    ae_rng *r = ae_rng_new(seed);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int)(i % (size_t)K);
        for (size_t c = 0; c < d; c++) {
            double centre = (c % (size_t)K == (size_t)y[i]) ? sep : 0.0;
            x[i * d + c] = (float)(centre + ae_rng_gauss(r) + (c == 1 ? 100.0 : 0.0));
        }
    }
    ae_rng_free(r);
}

START_TEST(test_probe_binary_separable)
{
    size_t n = 300, d = 4;
    float *x = malloc(n * d * sizeof *x);
    int *y = malloc(n * sizeof *y);
    make_blobs(n, d, 2, 6.0, 21, x, y);
    double acc = 0;
    ae_err err = {0};
    ck_assert_int_eq(ae_probe_accuracy(x, y, 200, x + 200 * d, y + 200, 100, d, 2, NULL, &acc, &err), 0);
    ck_assert_double_gt(acc, 0.95);
    ck_assert_int_eq(ae_probe_cv(x, y, n, d, 2, 5, 1, NULL, &acc, &err), 0);
    ck_assert_double_gt(acc, 0.95);
    free(x);
    free(y);
}
END_TEST

START_TEST(test_probe_three_class)
{
    size_t n = 300, d = 5;
    float *x = malloc(n * d * sizeof *x);
    int *y = malloc(n * sizeof *y);
    make_blobs(n, d, 3, 7.0, 22, x, y);
    double acc = 0, acc2 = 0;
    ae_err err = {0};
    ae_probe_opts o = {.C = 1.0, .max_iter = 500};
    ck_assert_int_eq(ae_probe_cv(x, y, n, d, 3, 5, 42, &o, &acc, &err), 0);
    ck_assert_double_gt(acc, 0.95);
    ck_assert_int_eq(ae_probe_cv(x, y, n, d, 3, 5, 42, &o, &acc2, &err), 0);
    ck_assert_double_eq(acc, acc2); /* deterministic folds */
    free(x);
    free(y);
}
END_TEST

START_TEST(test_probe_random_labels)
{
    size_t n = 400, d = 3;
    float *x = malloc(n * d * sizeof *x);
    int *y = malloc(n * sizeof *y);
    ae_rng *r = ae_rng_new(23);
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)ae_rng_gauss(r);
    for (size_t i = 0; i < n; i++)
        y[i] = (int)(ae_rng_u32(r) & 1u);
    double acc = 0;
    ae_err err = {0};
    ck_assert_int_eq(ae_probe_cv(x, y, n, d, 2, 5, 7, NULL, &acc, &err), 0);
    ck_assert_double_gt(acc, 0.38);
    ck_assert_double_lt(acc, 0.62);
    y[5] = 2; /* label outside [0, 2) */
    ck_assert_int_eq(ae_probe_cv(x, y, n, d, 2, 5, 7, NULL, &acc, &err), AE_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "row 5"));
    ae_err_clear(&err);
    ck_assert_int_eq(ae_probe_cv(x, y, 3, d, 3, 5, 7, NULL, &acc, &err), AE_EINPUT); /* 5 folds, 3 rows */
    ae_rng_free(r);
    free(x);
    free(y);
}
END_TEST

/* Classes are the distinct labels, not 0..max: labels {0, 1048575} (or {3, 70, 900}) give the
 * same accuracies as {0, 1} ({0, 1, 2}), and as quickly (sized by the largest label, the probe
 * had a million softmax columns and never finished). */
START_TEST(test_probe_sparse_label_values)
{
    size_t n = 100, d = 3;
    float *x = malloc(n * d * sizeof *x);
    int *y = malloc(n * sizeof *y), *big = malloc(n * sizeof *big);
    static const int far[2][3] = {{0, 1048575, 0}, {3, 70, 900}};
    for (int k = 2; k <= 3; k++) {
        make_blobs(n, d, k, 2.0, 24, x, y); /* overlapping: accuracies well inside (0, 1) */
        for (size_t i = 0; i < n; i++)
            big[i] = far[k - 2][y[i]];
        double a[2], b[2];
        ae_err err = {0};
        ck_assert_int_eq(ae_probe_cv(x, y, n, d, k, 5, 3, NULL, &a[0], &err), AE_OK);
        ck_assert_int_eq(ae_probe_cv(x, big, n, d, 1048576, 5, 3, NULL, &b[0], &err), AE_OK);
        ck_assert_int_eq(ae_probe_accuracy(x, y, 70, x + 70 * d, y + 70, 30, d, k, NULL, &a[1], &err), AE_OK);
        ck_assert_int_eq(ae_probe_accuracy(x, big, 70, x + 70 * d, big + 70, 30, d, 1048576, NULL, &b[1], &err),
                         AE_OK);
        for (int j = 0; j < 2; j++) {
            ck_assert_double_eq(a[j], b[j]);
            ck_assert_double_gt(a[j], 0.5);
            ck_assert_double_lt(a[j], 1.0);
        }
    }
    free(x);
    free(y);
    free(big);
}
END_TEST

/* ---------------------------------------------------------------- stats */

START_TEST(test_summarize)
{
    const double v[5] = {1, 2, 3, 4, 5};
    ae_summary s;
    ae_summarize(v, 5, &s);
    ck_assert_uint_eq(s.n, 5);
    ck_assert_double_eq_tol(s.mean, 3.0, 1e-12);
    ck_assert_double_eq_tol(s.sd, 1.5811388300841898, 1e-12);
    /* scipy.stats.t.ppf(0.975, 4) = 2.7764451051977987; half-width 1.9632431614775607 */
    ck_assert_double_eq_tol(s.ci_lo, 3.0 - 1.9632431614775607, 1e-9);
    ck_assert_double_eq_tol(s.ci_hi, 3.0 + 1.9632431614775607, 1e-9);
    ck_assert_double_eq(s.min, 1.0);
    ck_assert_double_eq(s.max, 5.0);
    ae_summarize(v + 2, 1, &s);
    ck_assert_double_eq(s.sd, 0.0);
    ck_assert_double_eq(s.ci_lo, 3.0);
    ck_assert_double_eq(s.ci_hi, 3.0);
}
END_TEST

START_TEST(test_welch)
{
    const double a[5] = {1, 2, 3, 4, 5}, b[6] = {2, 4, 6, 8, 10, 12};
    const double a2[5] = {0.91, 0.93, 0.92, 0.95, 0.90};
    const double b2[7] = {0.89, 0.90, 0.88, 0.91, 0.87, 0.90, 0.89};
    /* scipy.stats.ttest_ind(..., equal_var=False).pvalue */
    ck_assert_double_eq_tol(ae_welch_p(a, 5, b, 6), 0.04928433820673049, 1e-9);
    ck_assert_double_eq_tol(ae_welch_p(b, 6, a, 5), 0.04928433820673049, 1e-9);
    ck_assert_double_eq_tol(ae_welch_p(a2, 5, b2, 7), 0.019235626432730236, 1e-9);
    ck_assert(isnan(ae_welch_p(a, 1, b, 6)));
    const double c[3] = {2, 2, 2}, e[2] = {2, 2}, f[2] = {3, 3};
    ck_assert_double_eq(ae_welch_p(c, 3, e, 2), 1.0);
    ck_assert_double_eq(ae_welch_p(c, 3, f, 2), 0.0);
}
END_TEST

START_TEST(test_auroc)
{
    const double s[4] = {0.1, 0.2, 0.3, 0.4};
    const int up[4] = {0, 0, 1, 1}, down[4] = {1, 1, 0, 0};
    ck_assert_double_eq(ae_auroc(s, up, 4), 1.0);
    ck_assert_double_eq(ae_auroc(s, down, 4), 0.0);
    const double tie[4] = {1, 1, 1, 1};
    ck_assert_double_eq(ae_auroc(tie, up, 4), 0.5);
    /* sklearn.metrics.roc_auc_score */
    const double m[4] = {0.1, 0.4, 0.35, 0.8};
    ck_assert_double_eq(ae_auroc(m, up, 4), 0.75);
    const double t2[4] = {1, 1, 2, 3};
    const int p2[4] = {0, 5, 0, 1}; /* any nonzero is positive */
    ck_assert_double_eq(ae_auroc(t2, p2, 4), 0.625);
    const int none[4] = {0, 0, 0, 0};
    ck_assert(isnan(ae_auroc(s, none, 4)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("baseline");
    TCase *r = tcase_create("rng");
    tcase_add_test(r, test_raw_mt_matches_torch);
    tcase_add_test(r, test_torch_linear_tutorial);
    tcase_add_test(r, test_torch_conv);
    tcase_add_test(r, test_torch_uniform_is_fused);
    tcase_add_test(r, test_seed_zero_is_gsl_4357);
    tcase_add_test(r, test_shuffle);
    tcase_add_test(r, test_state_roundtrip);
    tcase_add_test(r, test_uniform_gauss_moments);
    suite_add_tcase(s, r);
    TCase *p = tcase_create("pca");
    tcase_add_test(p, test_pca_rank2);
    tcase_add_test(p, test_pca_transform_mse_consistent);
    suite_add_tcase(s, p);
    TCase *q = tcase_create("probe");
    tcase_set_timeout(q, 30);
    tcase_add_test(q, test_probe_binary_separable);
    tcase_add_test(q, test_probe_three_class);
    tcase_add_test(q, test_probe_random_labels);
    tcase_add_test(q, test_probe_sparse_label_values);
    suite_add_tcase(s, q);
    TCase *t = tcase_create("stats");
    tcase_add_test(t, test_summarize);
    tcase_add_test(t, test_welch);
    tcase_add_test(t, test_auroc);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
