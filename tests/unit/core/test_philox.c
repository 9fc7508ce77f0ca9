/* The counter-based normal generator (ae_philox.h): Philox4x32-10 against Random123's known-answer
 * vectors, Box–Muller against libm, slices and thread counts, and its distribution against GSL's
 * gsl_ran_gaussian (moments with gsl_stats_*, a two-sample Kolmogorov–Smirnov statistic). */
#include <check.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ae_philox.h"
#include "ae_rng.h"
#include "ae_test.h"

/* Random123 tests/kat_vectors, the three "philox4x32 10" lines: counter[4] key[2] -> result[4]. */
START_TEST(known_answers)
{
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int v = 0; v < 3; v++) {
        uint32_t out[4];
        ae_philox4x32_10(kat[v], kat[v] + 4, out);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(out[i] == kat[v][6 + i], "vector %d word %d: %08x, expected %08x", v, i, out[i],
                          kat[v][6 + i]);
    }
}
END_TEST

/* Every value equals Box–Muller in double (libm) on the block's words, with u and the angle as the
 * header defines them: float polynomials for ln, sin and cos, a few float ulps of a radius <= 6.7. */
START_TEST(box_muller_matches_libm)
{
    const uint64_t seed = 0x0123456789abcdefULL, stream = 5;
    const size_t n = 1 << 16;
    float *z = malloc(n * sizeof *z);
    ae_philox_normal(seed, stream, 0, z, n);
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    double worst = 0;
    for (size_t j = 0; j < n / 4; j++) {
        uint32_t ctr[4] = {(uint32_t)j, 0, (uint32_t)stream, 0}, w[4];
        ae_philox4x32_10(ctr, key, w);
        for (int p = 0; p < 2; p++) {
            float u = (float)(int32_t)(w[2 * p] >> 1) * 0x1p-31f + 0x1p-32f;
            double r = sqrt(-2.0 * log((double)u)), t = 2.0 * M_PI * ((double)w[2 * p + 1] * 0x1p-32);
            worst = fmax(worst, fabs(z[4 * j + 2 * p] - r * cos(t)) / (1.0 + r));
            worst = fmax(worst, fabs(z[4 * j + 2 * p + 1] - r * sin(t)) / (1.0 + r));
        }
    }
    /* ~8 float ulps of (1 + r): the polynomials' ~2 ulps, the float angle, ln and the products */
    ck_assert_msg(worst < 8 * 0x1p-23, "worst error %g relative to 1 + r", worst);
    free(z);
}
END_TEST

static void keep(size_t lo, size_t hi, const float *noise, void *ctx)
{
    memcpy((float *)ctx + lo, noise, (hi - lo) * sizeof(float));
}

/* A slice of the stream filled on its own (any start, any length) equals the same values of a longer
 * fill; ae_rng_blocks(AE_RNG_NORMAL) is that stream on 1 and 2 threads; other seeds and streams differ. */
START_TEST(slices_and_threads)
{
    const size_t n = 20 * AE_RNG_BLOCK + 333;
    float *all = malloc(n * sizeof *all), *part = malloc(n * sizeof *part), *blk = calloc(n, sizeof *blk);
    ae_philox_normal(42, 0, 0, all, n);
    const size_t starts[] = {0, 1, 2, 3, 4, 5, 1023, 1024, 4097};
    for (size_t s = 0; s < sizeof starts / sizeof *starts; s++)
        for (size_t len = 0; len < 11; len++) {
            ae_philox_normal(42, 0, starts[s], part, len);
            ck_assert_msg(!memcmp(part, all + starts[s], len * sizeof *part), "slice at %zu, %zu values", starts[s], len);
        }
    ae_philox_normal(42, 0, 777, part, n - 777);
    ck_assert(!memcmp(part, all + 777, (n - 777) * sizeof *part));
    for (int threads = 1; threads <= 2; threads++) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        memset(blk, 0, n * sizeof *blk);
        ae_rng_blocks(n, AE_RNG_NORMAL, 42, keep, blk);
        ck_assert_msg(!memcmp(blk, all, n * sizeof *blk), "ae_rng_blocks on %d threads", threads);
    }
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    ae_philox_normal(43, 0, 0, part, 64);
    ck_assert(memcmp(part, all, 64 * sizeof *part));
    ae_philox_normal(42, 1, 0, part, 64);
    ck_assert(memcmp(part, all, 64 * sizeof *part));
    free(all), free(part), free(blk);
}
END_TEST

/* Two-sample Kolmogorov–Smirnov statistic sup |F_a - F_b| of two sorted samples. */
static double ks_stat(const double *a, size_t na, const double *b, size_t nb)
{
    size_t i = 0, j = 0;
    double d = 0;
    while (i < na && j < nb) {
        double v = a[i] <= b[j] ? a[i] : b[j];
        while (i < na && a[i] == v) i++;
        while (j < nb && b[j] == v) j++;
        d = fmax(d, fabs((double)i / (double)na - (double)j / (double)nb));
    }
    return d;
}

/* n values of the Philox sampler against n of gsl_ran_gaussian (deterministic seeds): mean, variance,
 * skewness and excess kurtosis within 6 standard errors of N(0, 1)'s (sd sqrt(1/n), sqrt(2/n),
 * sqrt(6/n), sqrt(24/n): p ~ 2e-9 each), and the KS statistic below its critical value at p = 1e-6,
 * sqrt(-ln(p/2)/2)·sqrt(2/n). The GSL sample passes the same checks (the test's own sanity). */
START_TEST(distribution_against_gsl)
{
    const size_t n = 200000;
    float *z = malloc(n * sizeof *z);
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    ae_philox_normal(20261203, 0, 0, z, n);
    for (size_t i = 0; i < n; i++) a[i] = z[i];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 12345);
    for (size_t i = 0; i < n; i++) b[i] = gsl_ran_gaussian(r, 1.0);
    gsl_rng_free(r);
    const double se = 6.0 / sqrt((double)n);
    double *xs[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        const double *x = xs[k];
        double mean = gsl_stats_mean(x, 1, n), var = gsl_stats_variance_m(x, 1, n, mean);
        double skew = gsl_stats_skew(x, 1, n), kurt = gsl_stats_kurtosis(x, 1, n);
        const char *who = k ? "gsl" : "philox";
        ck_assert_msg(fabs(mean) < se, "%s mean %g", who, mean);
        ck_assert_msg(fabs(var - 1.0) < se * sqrt(2.0), "%s variance %g", who, var);
        ck_assert_msg(fabs(skew) < se * sqrt(6.0), "%s skewness %g", who, skew);
        ck_assert_msg(fabs(kurt) < se * sqrt(24.0), "%s excess kurtosis %g", who, kurt);
    }
    gsl_sort(a, 1, n);
    gsl_sort(b, 1, n);
    double d = ks_stat(a, n, b, n), crit = sqrt(-log(1e-6 / 2) / 2) * sqrt(2.0 / (double)n);
    ck_assert_msg(d < crit, "KS statistic %g >= %g (p = 1e-6)", d, crit);
    /* the tails reach ~6.7: 200k draws have ~46 beyond 3.5 on each side (none: p ~ 1e-20) */
    ck_assert_msg(a[0] < -3.5 && a[n - 1] > 3.5 && a[0] > -6.7 && a[n - 1] < 6.7, "range %g .. %g", a[0], a[n - 1]);
    free(z), free(a), free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("philox");
    TCase *t = tcase_create("philox");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, known_answers);
    tcase_add_test(t, box_muller_matches_libm);
    tcase_add_test(t, slices_and_threads);
    tcase_add_test(t, distribution_against_gsl);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
