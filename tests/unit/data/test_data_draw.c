/* Tests for reading rows through ae_dataset_gather: copies as they are, dynamic binarization (the
 * fraction of ones against the pixel mean, new bits every pass, the same bits for the same key, pass
 * and row whatever the batch), fixing a draw into the rows, the seeded validation hold-out, and a big
 * batch gathered in row blocks on the threads. */
#include "ae_data.h"
#include "ae_dnnl.h"
#include "ae_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* n rows of d values; value (i, j) = ((7i + 13j) % 101) / 100: every level of [0, 1] in steps of
 * 0.01, 0 and 1 included. */
static ae_dataset levels(size_t n, size_t d)
{
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = n;
    ds.d = d;
    ds.c = ds.h = 1;
    ds.w = (int)d;
    ds.x = malloc(n * d * sizeof *ds.x);
    ds.label = malloc(n * sizeof *ds.label);
    ck_assert(ds.x && ds.label);
    for (size_t i = 0; i < n; i++) {
        ds.label[i] = (int)i;
        for (size_t j = 0; j < d; j++) ds.x[i * d + j] = (float)((7 * i + 13 * j) % 101) / 100.0f;
    }
    ds.n_classes = (int)n;
    return ds;
}

static void dynamic(ae_dataset *ds, unsigned long seed)
{
    ds->binarize = AE_BINARIZE_DYNAMIC;
    ds->draw_key = ae_data_draw_key(seed, 1);
}

static float *gather_all(const ae_dataset *ds, uint64_t pass)
{
    float *y = malloc(ds->n * ds->d * sizeof *y);
    ck_assert_ptr_nonnull(y);
    ae_dataset_gather(ds, NULL, 0, ds->n, pass, y);
    return y;
}

START_TEST(no_transform_copies_rows)
{
    ae_dataset ds = levels(9, 5);
    size_t idx[4] = {3, 4, 5, 0}; /* a run of three, then a jump */
    float y[4 * 5];
    ae_dataset_gather(&ds, idx, 0, 4, 1, y);
    for (size_t i = 0; i < 4; i++) ck_assert(!memcmp(y + i * 5, ds.x + idx[i] * 5, 5 * sizeof *y));
    ae_dataset_gather(&ds, NULL, 6, 3, 1, y);
    ck_assert(!memcmp(y, ds.x + 6 * 5, 3 * 5 * sizeof *y));
    ae_dataset_free(&ds);
}
END_TEST

/* The fraction of ones per level matches the level: each count within 5 binomial sd (the draws are a
 * fixed hash of fixed numbers: the same counts on every machine), 0 and 1 exact. */
START_TEST(ones_match_pixel_mean)
{
    const size_t n = 404, d = 101; /* each level appears n times in every column pattern */
    ae_dataset ds = levels(n, d);
    dynamic(&ds, 42);
    float *y = gather_all(&ds, 1);
    double ones[101] = {0}, count[101] = {0}, total = 0, mean = 0, var = 0;
    for (size_t i = 0; i < n * d; i++) {
        ck_assert(y[i] == 0.0f || y[i] == 1.0f);
        int level = (int)lround(ds.x[i] * 100.0f);
        ones[level] += y[i];
        count[level] += 1;
        total += y[i];
        mean += ds.x[i];
        var += ds.x[i] * (1.0 - ds.x[i]);
    }
    ck_assert(ones[0] == 0 && ones[100] == count[100]);
    for (int l = 1; l < 100; l++) {
        double p = l / 100.0, sd = sqrt(count[l] * p * (1 - p));
        ck_assert_msg(fabs(ones[l] - count[l] * p) <= 5 * sd, "level %.2f: %g ones of %g", p, ones[l], count[l]);
    }
    ck_assert_msg(fabs(total - mean) <= 5 * sqrt(var), "%g ones, pixel sum %g", total, mean);
    free(y);
    ae_dataset_free(&ds);
}
END_TEST

/* Two passes (epochs) draw different bits: about 2·Σp(1-p) values differ, none where p is 0 or 1. */
START_TEST(passes_differ)
{
    ae_dataset ds = levels(200, 101);
    dynamic(&ds, 42);
    float *a = gather_all(&ds, 1), *b = gather_all(&ds, 2);
    double differ = 0, expect = 0, var = 0;
    for (size_t i = 0; i < ds.n * ds.d; i++) {
        double p = ds.x[i], q = 2 * p * (1 - p);
        differ += a[i] != b[i];
        expect += q;
        var += q * (1 - q);
        if (p == 0 || p == 1) ck_assert(a[i] == b[i]);
    }
    ck_assert_msg(fabs(differ - expect) <= 5 * sqrt(var), "%g differ, %g expected", differ, expect);
    free(a);
    free(b);
    ae_dataset_free(&ds);
}
END_TEST

/* The same key, pass and row give the same bits, whatever the batch, position or order (what makes a
 * resumed run draw what an uninterrupted one drew); another seed or split key gives other bits. */
START_TEST(same_key_same_bits)
{
    const size_t n = 50, d = 33; /* odd: the last value of a row takes half a hash */
    ae_dataset ds = levels(n, d);
    dynamic(&ds, 7);
    float *a = gather_all(&ds, 3), *b = gather_all(&ds, 3);
    ck_assert(!memcmp(a, b, n * d * sizeof *a));
    size_t idx[5] = {49, 2, 17, 3, 4};
    float y[5 * 33];
    ae_dataset_gather(&ds, idx, 0, 5, 3, y);
    for (size_t i = 0; i < 5; i++) ck_assert(!memcmp(y + i * d, a + idx[i] * d, d * sizeof *y));
    ae_dataset_gather(&ds, NULL, 20, 5, 3, y);
    ck_assert(!memcmp(y, a + 20 * d, 5 * d * sizeof *y));
    ds.draw_key = ae_data_draw_key(8, 1);
    float *c = gather_all(&ds, 3);
    ds.draw_key = ae_data_draw_key(7, 2);
    float *e = gather_all(&ds, 3);
    ck_assert(memcmp(a, c, n * d * sizeof *a) && memcmp(a, e, n * d * sizeof *a) && memcmp(c, e, n * d * sizeof *a));
    free(a);
    free(b);
    free(c);
    free(e);
    ae_dataset_free(&ds);
}
END_TEST

/* Fixing a draw writes the pass's bits into the rows and drops the transform: every later read (any
 * pass) returns them, as a static binarization does in every epoch. */
START_TEST(fixed_draw_is_static)
{
    ae_dataset ds = levels(30, 20);
    dynamic(&ds, 5);
    ds.pass = 4;
    float *want = gather_all(&ds, 4);
    ae_dataset_fix_draw(&ds);
    ck_assert_int_eq(ds.binarize, AE_BINARIZE_NONE);
    ck_assert(!memcmp(ds.x, want, 30 * 20 * sizeof *want));
    float *e1 = gather_all(&ds, 1), *e2 = gather_all(&ds, 2);
    ck_assert(!memcmp(e1, want, 30 * 20 * sizeof *want) && !memcmp(e2, want, 30 * 20 * sizeof *want));
    ae_dataset_fix_draw(&ds); /* nothing left to draw */
    ck_assert(!memcmp(ds.x, want, 30 * 20 * sizeof *want));
    free(want);
    free(e1);
    free(e2);
    ae_dataset_free(&ds);
}
END_TEST

/* Taking rows keeps the transform; a row's bits then follow its new index. */
START_TEST(take_keeps_transform)
{
    ae_dataset ds = levels(10, 8), t;
    dynamic(&ds, 5);
    ds.pass = 9;
    size_t idx[3] = {4, 5, 6};
    ae_err e = {0};
    ck_assert_int_eq(ae_dataset_take(&ds, idx, 3, &t, &e), AE_OK);
    ck_assert(t.binarize == AE_BINARIZE_DYNAMIC && t.draw_key == ds.draw_key && t.pass == 9);
    ae_dataset_free(&t);
    ae_dataset_free(&ds);
}
END_TEST

/* The hold-out: k rows, disjoint from the rest, together all rows once, each side ascending, the same
 * rows for the same seed and others for another. */
START_TEST(hold_out_rows)
{
    ae_err e = {0};
    size_t picked[2][100];
    for (int s = 0; s < 3; s++) {
        ae_dataset ds = levels(100, 3), val;
        ck_assert_int_eq(ae_dataset_hold_out(&ds, 30, s == 2 ? 12 : 11, &val, &e), AE_OK);
        ck_assert(ds.n == 70 && val.n == 30 && val.d == 3 && val.label && val.n_classes == 100);
        int seen[100] = {0};
        for (size_t i = 0; i < val.n; i++) {
            seen[val.label[i]]++;
            ck_assert(i == 0 || val.label[i] > val.label[i - 1]);
            ck_assert(val.x[i * 3 + 1] == (float)((7 * val.label[i] + 13) % 101) / 100.0f); /* its own row */
            if (s < 2) picked[s][i] = (size_t)val.label[i];
        }
        for (size_t i = 0; i < ds.n; i++) {
            seen[ds.label[i]]++;
            ck_assert(i == 0 || ds.label[i] > ds.label[i - 1]);
        }
        for (int i = 0; i < 100; i++) ck_assert_int_eq(seen[i], 1);
        if (s == 2) {
            int same = 1;
            for (size_t i = 0; i < val.n; i++) same &= (size_t)val.label[i] == picked[0][i];
            ck_assert(!same);
        }
        ae_dataset_free(&ds);
        ae_dataset_free(&val);
    }
    ck_assert(!memcmp(picked[0], picked[1], 30 * sizeof picked[0][0]));
    ae_dataset ds = levels(5, 2), val;
    ck_assert_int_eq(ae_dataset_hold_out(&ds, 5, 1, &val, &e), AE_EINPUT);
    ck_assert(strstr(e.msg, "none would be left") && ds.n == 5 && val.n == 0);
    ae_dataset_free(&ds);
}
END_TEST

/* A batch big enough to be gathered by the threads in row blocks (128 shuffled rows of 784 values,
 * W2's and W4's batch): the rows as a row-by-row gather of single rows gives them, copied and drawn,
 * on 2 threads and on 1. */
START_TEST(big_batch_in_blocks)
{
    const size_t n = 300, d = 784, k = 128;
    const int saved = ae_get_threads();
    ae_dataset ds = levels(n, d);
    size_t idx[128];
    for (size_t i = 0; i < k; i++) idx[i] = (i * 97 + 11) % n; /* scattered, a few runs of one */
    float *y = malloc(k * d * sizeof *y), *row = malloc(d * sizeof *row);
    ck_assert(y && row);
    for (int dyn = 0; dyn < 2; dyn++) {
        if (dyn) dynamic(&ds, 5);
        for (int threads = 1; threads <= 2; threads++) {
            ae_set_threads(threads);
            memset(y, 0xff, k * d * sizeof *y);
            ae_dataset_gather(&ds, idx, 0, k, 4, y);
            for (size_t i = 0; i < k; i++) {
                ae_dataset_gather(&ds, idx + i, 0, 1, 4, row);
                ck_assert_msg(!memcmp(y + i * d, row, d * sizeof *row), "dynamic %d, %d threads: row %zu", dyn, threads, i);
            }
        }
    }
    free(y);
    free(row);
    ae_dataset_free(&ds);
    ae_set_threads(saved);
}
END_TEST

int main(void)
{
    const TTest *tests[] = {no_transform_copies_rows, ones_match_pixel_mean, passes_differ, same_key_same_bits,
                            fixed_draw_is_static, take_keeps_transform, hold_out_rows, big_batch_in_blocks};
    Suite *s = suite_create("data_draw");
    TCase *tc = tcase_create("data_draw");
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
