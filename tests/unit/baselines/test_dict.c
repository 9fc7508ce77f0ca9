/* Check suite for baseline_dict.c (online dictionary learning): the SVD start, unit atoms, recovery of
 * a planted sparse dictionary, determinism by seed, and bad options. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"
#include "ae_rng.h"

enum { D = 16, K = 6, N = 3000 };

/* K random unit atoms in D dimensions and N rows that each mix one or two of them with weights of
 * magnitude 1..3 and either sign, plus N(0, 0.01²) noise. */
static void planted(float *x, double *atoms, unsigned long seed)
{
    ae_rng *r = ae_rng_new(seed);
    for (int a = 0; a < K; a++) {
        double nn = 0.0;
        for (int j = 0; j < D; j++) atoms[a * D + j] = ae_rng_gauss(r), nn += atoms[a * D + j] * atoms[a * D + j];
        for (int j = 0; j < D; j++) atoms[a * D + j] /= sqrt(nn);
    }
    for (int i = 0; i < N; i++) {
        double row[D] = {0};
        int used = 1 + (ae_rng_uniform(r) < 0.5);
        for (int u = 0; u < used; u++) {
            int a = (int)(ae_rng_uniform(r) * K);
            double c = (1.0 + 2.0 * ae_rng_uniform(r)) * (ae_rng_uniform(r) < 0.5 ? -1.0 : 1.0);
            for (int j = 0; j < D; j++) row[j] += c * atoms[a * D + j];
        }
        for (int j = 0; j < D; j++) x[i * D + j] = (float)(row[j] + 0.01 * ae_rng_gauss(r));
    }
    ae_rng_free(r);
}

static double cosine(const float *a, const double *b)
{
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (int j = 0; j < D; j++) ab += a[j] * b[j], aa += (double)a[j] * a[j], bb += b[j] * b[j];
    return ab / sqrt(aa * bb);
}

START_TEST(recovers_planted_atoms)
{
    float *x = malloc(sizeof(float) * N * D), got[K * D];
    double want[K * D];
    planted(x, want, 7);
    ae_err err = {0};
    ae_dict_opts o = {K, 10, 3000, 0.1, 3};
    ck_assert_int_eq(ae_dict_learn(x, N, D, &o, got, &err), AE_OK);
    for (int a = 0; a < K; a++) { /* unit length: the update normalises every atom */
        double nn = 0.0;
        for (int j = 0; j < D; j++) nn += (double)got[a * D + j] * got[a * D + j];
        ck_assert_msg(fabs(sqrt(nn) - 1.0) < 1e-6, "atom %d has length %g", a, sqrt(nn));
    }
    for (int a = 0; a < K; a++) { /* every planted atom is found, up to sign */
        double best = 0.0;
        for (int b = 0; b < K; b++) best = fmax(best, fabs(cosine(got + b * D, want + a * D)));
        ck_assert_msg(best > 0.95, "planted atom %d: best |cos| %g", a, best);
    }
    float again[K * D], other[K * D];
    ck_assert_int_eq(ae_dict_learn(x, N, D, &o, again, &err), AE_OK);
    ck_assert(!memcmp(got, again, sizeof got)); /* the same seed: the same bytes */
    o.seed = 4;
    ck_assert_int_eq(ae_dict_learn(x, N, D, &o, other, &err), AE_OK);
    ck_assert(memcmp(got, other, sizeof got) != 0); /* another shuffle: another path */
    free(x);
}
END_TEST

/* No iterations: the start, the top right singular vectors scaled by the singular values: rows
 * orthogonal, lengths = the largest singular values in decreasing order (here planted exactly). */
START_TEST(svd_start)
{
    enum { n = 400, d = 5 };
    static const double sv[3] = {40.0, 20.0, 10.0};
    float x[n * d];
    for (int i = 0; i < n; i++) { /* columns of signs +, (-1)^i, (-1)^(i/2): orthogonal; axes 3, 4 empty */
        const double sign[3] = {1.0, i % 2 ? 1.0 : -1.0, i / 2 % 2 ? 1.0 : -1.0};
        for (int j = 0; j < d; j++) x[i * d + j] = j < 3 ? (float)(sign[j] * sv[j] / sqrt((double)n)) : 0.0f;
    }
    float got[3 * d];
    ae_err err = {0};
    ae_dict_opts o = {3, 10, 0, 1.0, 1};
    ck_assert_int_eq(ae_dict_learn(x, n, d, &o, got, &err), AE_OK);
    double g[3][3];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            g[a][b] = 0.0;
            for (int j = 0; j < d; j++) g[a][b] += (double)got[a * d + j] * got[b * d + j];
        }
    for (int a = 0; a < 3; a++) {
        ck_assert_msg(fabs(sqrt(g[a][a]) - sv[a]) < 1e-3 * sv[a], "start atom %d: length %g, want %g", a,
                      sqrt(g[a][a]), sv[a]);
        for (int b = 0; b < a; b++)
            ck_assert_msg(fabs(g[a][b]) < 1e-3 * sv[0] * sv[0], "atoms %d, %d: %g", a, b, g[a][b]);
    }
    for (int a = 0; a < 3; a++) /* XᵀX = diag(sv²): start atom a lies on axis a */
        ck_assert_msg(fabs(got[a * d + a]) > 0.999 * sv[a], "start atom %d is not on axis %d", a, a);
}
END_TEST

START_TEST(bad_options)
{
    float x[4 * 3] = {0}, out[4 * 3];
    ae_err err = {0};
    ae_dict_opts o = {4, 10, 5, 1.0, 1}; /* 4 atoms of 3 features */
    ck_assert_int_eq(ae_dict_learn(x, 4, 3, &o, out, &err), AE_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "1 <= atoms <= features"));
    o.atoms = 2, o.batch = 0;
    ck_assert_int_eq(ae_dict_learn(x, 4, 3, &o, out, &err), AE_EINPUT);
    o.batch = 2;
    ck_assert_int_eq(ae_dict_learn(x, 0, 3, &o, out, &err), AE_EINPUT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dict");
    TCase *t = tcase_create("dict");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, recovers_planted_atoms);
    tcase_add_test(t, svd_start);
    tcase_add_test(t, bad_options);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
