/* Tests for the data module's IDX side: the loader (plain/gz, every header and size error), the
 * data search path and named datasets (both splits must share one image shape), and the real
 * Fashion-MNIST files when they are present. */
#include "ae_data.h"
#include "ae_test.h"
#include "data_fixture.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* IDX bytes: n images h x w (pixel k = k*37 % 256) with the given magic; returns the length. */
static size_t idx_images(unsigned char *b, uint32_t magic, int n, int h, int w)
{
    uint32_t hdr[4] = {magic, (uint32_t)n, (uint32_t)h, (uint32_t)w};
    for (int k = 0; k < 16; k++) b[k] = (unsigned char)(hdr[k / 4] >> (8 * (3 - k % 4)));
    for (int k = 0; k < n * h * w; k++) b[16 + k] = (unsigned char)(k * 37 % 256);
    return 16 + (size_t)(n * h * w);
}

static size_t idx_labels(unsigned char *b, int n, const unsigned char *labels)
{
    const unsigned char hdr[8] = {0, 0, 8, 1, 0, 0, 0, (unsigned char)n};
    memcpy(b, hdr, 8);
    memcpy(b + 8, labels, (size_t)n);
    return 8 + (size_t)n;
}

START_TEST(idx_load)
{
    unsigned char im[256], lb[64];
    const unsigned char labels[] = {3, 0, 7};
    size_t ni = idx_images(im, 0x803, 3, 2, 3), nl = idx_labels(lb, 3, labels);
    const char *pi = write_file("i", im, ni, 0), *pl = write_file("l", lb, nl, 0);
    const char *gi = write_file("i.gz", im, ni, 1), *gl = write_file("l.gz", lb, nl, 1);
    ae_dataset ds;
    ae_err e = {0};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(ae_idx_load(k ? gi : pi, k ? gl : pl, 0, &ds, &e), AE_OK);
        ck_assert(ds.n == 3 && ds.d == 6 && ds.c == 1 && ds.h == 2 && ds.w == 3);
        for (int i = 0; i < 18; i++) ck_assert_float_eq(ds.x[i], (float)(i * 37 % 256) / 255.0f);
        ck_assert(ds.label[0] == 3 && ds.label[2] == 7 && ds.n_classes == 8);
        ae_dataset_free(&ds);
    }
    ck_assert_int_eq(ae_idx_load(gi, NULL, 2, &ds, &e), AE_OK);
    ck_assert(ds.n == 2 && ds.label == NULL);
    ae_dataset_free(&ds);
    ck_assert_int_eq(ae_idx_load(gi, gl, 1, &ds, &e), AE_OK); /* n_classes from all labels */
    ck_assert(ds.n == 1 && ds.label[0] == 3 && ds.n_classes == 8);
    ae_dataset_free(&ds);
    expect_err(ae_idx_load(pl, pl, 0, &ds, &e), &e, AE_EINPUT,
               "not an IDX image file (magic 0x00000801", NULL);
    expect_err(ae_idx_load(pi, pi, 0, &ds, &e), &e, AE_EINPUT, "not an IDX label file", NULL);
    expect_err(ae_idx_load(write_file("cut.gz", im, ni - 1, 1), pl, 0, &ds, &e), &e, AE_EINPUT,
               "cut.gz: truncated", "expected 18 bytes of pixels, got 17", NULL);
    im[ni] = 1;
    expect_err(ae_idx_load(write_file("tail", im, ni + 1, 0), pl, 0, &ds, &e), &e, AE_EINPUT,
               "tail: trailing bytes", NULL);
    nl = idx_labels(lb, 2, labels);
    expect_err(ae_idx_load(pi, write_file("two", lb, nl, 0), 0, &ds, &e), &e, AE_EINPUT,
               "3 images", "2 labels", NULL);
    idx_images(im, 0x0B03, 3, 2, 3);
    expect_err(ae_idx_load(write_file("typ", im, ni, 0), pl, 0, &ds, &e), &e, AE_EINPUT,
               "unsupported IDX data type 0x0b", NULL);
    ck_assert_ptr_null(ds.x);
    ck_assert_int_eq(ae_idx_load(pl, pl, 0, &ds, NULL), AE_EINPUT);
}
END_TEST

/* Sets (v) or unsets (NULL) AELAB_DATA; *saved (if given) gets a copy of the old value. */
static void setenv_data(const char *v, char **saved)
{
    const char *old = getenv("AELAB_DATA");
    if (saved) *saved = old ? strdup(old) : NULL;
    if (v) setenv("AELAB_DATA", v, 1);
    else unsetenv("AELAB_DATA");
}

START_TEST(resolve_search_path)
{
    char *saved, sub[4096], other[4096], out[4200], abs[4200], cwd[4096], env[9000], fm[4200];
    ae_err e = {0};
    snprintf(sub, sizeof sub, "%s/d1", dir);
    snprintf(other, sizeof other, "%s/d2", dir);
    ck_assert_int_eq(mkdir(sub, 0700) | mkdir(other, 0700), 0);
    write_in(sub, "x.csv", "a\n1\n", 4, 0);
    write_in(other, "x.csv", "a\n2\n", 4, 0);
    write_in(other, "y.csv", "a\n3\n", 4, 0);
    snprintf(env, sizeof env, "/nonexistent-aelab::%s", other);
    setenv_data(env, &saved);
    ck_assert_int_eq(ae_data_resolve("x.csv", sub, out, sizeof out, &e), AE_OK); /* data_dir 1st */
    ck_assert(strncmp(out, sub, strlen(sub)) == 0 && strstr(out, "/x.csv"));
    ck_assert_int_eq(ae_data_resolve("y.csv", sub, out, sizeof out, &e), AE_OK); /* then env */
    ck_assert(strncmp(out, other, strlen(other)) == 0);
    ck_assert_int_eq(ae_data_resolve("y.csv", NULL, out, sizeof out, &e), AE_OK);
    snprintf(abs, sizeof abs, "%s/x.csv", sub);
    ck_assert_int_eq(ae_data_resolve(abs, NULL, out, sizeof out, &e), AE_OK);
    ck_assert_str_eq(out, abs);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(sub), 0);
    ck_assert_int_eq(ae_data_resolve("x.csv", other, out, sizeof out, &e), AE_OK); /* cwd */
    ck_assert_str_eq(out, "x.csv");
    ck_assert_int_eq(chdir(cwd), 0);
    expect_err(ae_data_resolve("z.csv", sub, out, sizeof out, &e), &e, AE_EINPUT, "'z.csv'",
               "/d1/z.csv", "/nonexistent-aelab/z.csv", "/d2/z.csv", "--data-dir", "AELAB_DATA",
               NULL);
    /* named IDX datasets on the same search path (AELAB_DATA entry d2 holds mnist/) */
    unsigned char im[256], lb[64];
    const unsigned char labels[] = {1, 2};
    size_t ni = idx_images(im, 0x803, 2, 2, 2), nl = idx_labels(lb, 2, labels);
    snprintf(fm, sizeof fm, "%s/mnist", other);
    ck_assert_int_eq(mkdir(fm, 0700), 0);
    write_in(fm, "t10k-images-idx3-ubyte.gz", im, ni, 1);
    write_in(fm, "t10k-labels-idx1-ubyte", lb, nl, 0);
    ae_dataset ds;
    ck_assert_int_eq(ae_idx_load_named("mnist", "test", NULL, 0, &ds, &e), AE_OK);
    ck_assert(ds.n == 2 && ds.d == 4 && ds.label[1] == 2);
    ae_dataset_free(&ds);
    expect_err(ae_idx_load_named("mnist", "train", sub, 0, &ds, &e), &e, AE_EINPUT,
               "train-images-idx3-ubyte", "/d1/mnist/train-images-idx3-ubyte.gz", "AELAB_DATA",
               NULL);
    expect_err(ae_idx_load_named("cifar", "train", NULL, 0, &ds, &e), &e, AE_EINPUT,
               "known: fashion-mnist, mnist", NULL);
    expect_err(ae_idx_load_named("mnist", "val", NULL, 0, &ds, &e), &e, AE_EINPUT, "'val'", NULL);
    setenv_data(saved, NULL);
    free(saved);
}
END_TEST

/* Training and test images of different shapes (a 5x5 train file with 4x4 test files) are an
 * error naming both files and both shapes (test_limit large or small: it crashed or gave a wrong
 * test MSE); the same shapes load. */
START_TEST(idx_splits_same_shape)
{
    char mn[4200];
    unsigned char im[256], lb[64];
    const unsigned char labels[] = {1, 0, 1};
    snprintf(mn, sizeof mn, "%s/mnist", dir);
    ck_assert_int_eq(mkdir(mn, 0700), 0);
    size_t nl = idx_labels(lb, 3, labels);
    write_in(mn, "train-labels-idx1-ubyte", lb, nl, 0);
    write_in(mn, "t10k-labels-idx1-ubyte.gz", lb, nl, 1);
    write_in(mn, "t10k-images-idx3-ubyte", im, idx_images(im, 0x803, 3, 4, 4), 0);
    write_in(mn, "train-images-idx3-ubyte", im, idx_images(im, 0x803, 3, 4, 4), 0);
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(ae_idx_load_named_splits("mnist", dir, 0, 2, &tr, &te, &e), AE_OK);
    ck_assert(tr.n == 3 && te.n == 2 && tr.d == 16 && te.d == 16 && te.label[1] == 0);
    ae_dataset_free(&tr);
    ae_dataset_free(&te);
    for (int k = 0; k < 2; k++) { /* train 5x5, then 4x5: height, then width alone differ */
        const char *p = write_in(mn, "train-images-idx3-ubyte", im, idx_images(im, 0x803, 3, 5 - k, 5), 0);
        char tp[4300], want[64];
        snprintf(tp, sizeof tp, "%s/t10k-images-idx3-ubyte", mn);
        snprintf(want, sizeof want, "are 1x%dx5 but", 5 - k);
        for (size_t limit = 1; limit <= 10000; limit *= 10000) {
            expect_err(ae_idx_load_named_splits("mnist", dir, 0, limit, &tr, &te, &e), &e, AE_EINPUT,
                       "dataset 'mnist': the training images ", p, want, tp, "are 1x4x4",
                       "same shape", NULL);
            ck_assert(tr.x == NULL && te.x == NULL && tr.n == 0 && te.n == 0);
        }
    }
    expect_err(ae_idx_load_named_splits("cifar", dir, 0, 0, &tr, &te, &e), &e, AE_EINPUT, "cifar", NULL);
}
END_TEST

START_TEST(fashion_mnist)
{
    ae_dataset tr, te;
    ae_err e = {0};
    char *saved;
    setenv_data(NULL, &saved); /* only /usr/share/datasets */
    int rc = ae_idx_load_named("fashion-mnist", "train", NULL, 0, &tr, &e);
    if (rc) {
        printf("skipped: fashion-mnist not found (%s)\n", e.msg);
        setenv_data(saved, NULL);
        free(saved);
        return;
    }
    ck_assert(tr.n == 60000 && tr.d == 784 && tr.h == 28 && tr.w == 28 && tr.n_classes == 10);
    gzFile f = gzopen("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz", "rb");
    unsigned char hdr[9];
    ck_assert_int_eq(gzread(f, hdr, 9), 9);
    gzclose(f);
    ck_assert_int_eq(tr.label[0], hdr[8]);
    float lo = 1, hi = 0;
    for (size_t i = 0; i < tr.n * tr.d; i++) lo = fminf(lo, tr.x[i]), hi = fmaxf(hi, tr.x[i]);
    ck_assert(lo == 0.0f && hi == 1.0f);
    ae_dataset_free(&tr);
    ck_assert_int_eq(ae_idx_load_named("fashion-mnist", "test", NULL, 100, &te, &e), AE_OK);
    ck_assert(te.n == 100 && te.n_classes == 10);
    ae_dataset_free(&te);
    ck_assert_int_eq(ae_idx_load_named("fashion-mnist", "test", NULL, 0, &te, &e), AE_OK);
    ck_assert_uint_eq(te.n, 10000);
    ae_dataset_free(&te);
    setenv_data(saved, NULL);
    free(saved);
}
END_TEST

int main(void)
{
    const TTest *tests[] = {idx_load, resolve_search_path, idx_splits_same_shape, fashion_mnist};
    Suite *s = suite_create("data_idx");
    TCase *tc = tcase_create("data_idx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
