/* Tests for the `npy` data source (variants/sources/source_npy.c), through the registry and the
 * `data:` section: .npy files written here (format 1.0/2.0/3.0), values, shapes, labels, limits and
 * test files, and every malformed file as a clear AE_EINPUT naming it. */
#include "ae_data.h"
#include "ae_registry.h"
#include "ae_test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void setup(void) { ck_assert_ptr_nonnull(dir = ae_test_tmpdir()); }
static void teardown(void)
{
    ae_test_rm_rf(dir);
    free(dir);
}

/* Writes dir/name: the magic, version major.0, the header dict padded with spaces and '\n' to a
 * multiple of 64 bytes (as NumPy does), then len bytes of data. hlen_fix >= 0 overrides the header
 * length field. */
static void npy_raw(const char *name, int major, const char *dict, const void *data, size_t len, long hlen_fix)
{
    char path[4200], hdr[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t pre = major == 1 ? 10 : 12, n = strlen(dict);
    memcpy(hdr, dict, n);
    while ((pre + n + 1) % 64) hdr[n++] = ' ';
    hdr[n++] = '\n';
    size_t hl = hlen_fix >= 0 ? (size_t)hlen_fix : n;
    unsigned char p[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0, (unsigned char)hl,
                           (unsigned char)(hl >> 8), (unsigned char)(hl >> 16), (unsigned char)(hl >> 24)};
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, pre, f), pre);
    ck_assert_uint_eq(fwrite(hdr, 1, n, f), n);
    if (len) ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* A version 1.0 file of the given descr and shape text, e.g. npy("x.npy", "<f4", "(3, 2)", v, 24). */
static void npy(const char *name, const char *descr, const char *shape, const void *data, size_t len)
{
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    npy_raw(name, 1, dict, data, len, -1);
}

/* Little-endian bytes of values (host independent). */
static void le(unsigned char *out, const void *vals, size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = (const char *)vals + i * size;
        uint64_t u;
        uint32_t u32;
        uint16_t u16;
        if (size == 8) memcpy(&u, v, 8);
        else if (size == 4) memcpy(&u32, v, 4), u = u32;
        else memcpy(&u16, v, 2), u = u16;
        for (size_t k = 0; k < size; k++) out[i * size + k] = (unsigned char)(u >> (8 * k));
    }
}

/* Runs `data: {source: npy, KEYS}` (file names relative to dir, found through the data dir). */
static int load(const char *keys, ae_dataset *tr, ae_dataset *te, ae_err *e)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "data: {source: npy, %s}", keys);
    ae_cfg *root = ae_cfg_load_string(yaml, "t.yaml", e);
    ck_assert_msg(root != NULL, "%s", e->msg);
    ae_cfg *d = NULL;
    ck_assert_int_eq(ae_cfg_map(root, "data", 0, &d, e), AE_OK);
    ck_assert_ptr_nonnull(ae_cfg_get(d, "source"));
    const ae_source_ops *src = ae_find_source(ae_test_registry(), "npy");
    ck_assert_ptr_nonnull(src);
    int rc = ae_data_from_config(d, src, dir, 3, tr, te, NULL, e);
    ae_cfg_free(root);
    return rc;
}

/* The keys fail with AE_EINPUT and a message holding want (and the file name when file is set). */
static void bad(const char *keys, const char *file, const char *want)
{
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load(keys, &tr, &te, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, want), "message '%s' lacks '%s'", e.msg, want);
    if (file) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        ck_assert_msg(strstr(e.msg, path), "message '%s' does not name %s", e.msg, path);
    }
    ck_assert(tr.n == 0 && te.n == 0 && !tr.x && !te.x && !tr.label);
}

START_TEST(table_float32_with_labels)
{
    const float x[6] = {0.5f, -1.25f, 3.0f, 1e-3f, -7.0f, 2.5f};
    const int64_t y[3] = {2, 0, 5};
    unsigned char bx[24], by[24];
    le(bx, x, 6, 4);
    le(by, y, 3, 8);
    npy("x.npy", "<f4", "(3, 2)", bx, sizeof bx);
    npy("y.npy", "<i8", "(3,)", by, sizeof by);
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load("path: x.npy, labels: y.npy", &tr, &te, &e), AE_OK);
    ck_assert(tr.n == 3 && tr.d == 2 && tr.c == 1 && tr.h == 1 && tr.w == 2 && te.n == 0);
    for (int i = 0; i < 6; i++) ck_assert(tr.x[i] == x[i]); /* as they are: scaling none */
    ck_assert(tr.label[0] == 2 && tr.label[1] == 0 && tr.label[2] == 5 && tr.n_classes == 6);
    ae_dataset_free(&tr);
}
END_TEST

/* float64 converted to float32 (format 2.0); uint8 images scaled by 1/255 (format 3.0, (N, H, W)). */
START_TEST(float64_and_uint8_images)
{
    const double x[4] = {0.1, -2.0, 1e10, 3.5};
    unsigned char bx[32];
    le(bx, x, 4, 8);
    npy_raw("d.npy", 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", bx, sizeof bx, -1);
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load("path: d.npy", &tr, &te, &e), AE_OK);
    ck_assert(tr.n == 2 && tr.d == 2 && !tr.label && tr.n_classes == 0);
    for (int i = 0; i < 4; i++) ck_assert(tr.x[i] == (float)x[i]);
    ae_dataset_free(&tr);
    unsigned char px[12], lb[2] = {1, 3};
    for (int i = 0; i < 12; i++) px[i] = (unsigned char)(i * 23);
    npy_raw("im.npy", 3, "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2, 2, 3)}", px, 12, -1);
    npy("lb.npy", "|u1", "(2,)", lb, 2);
    ck_assert_int_eq(load("path: im.npy, labels: lb.npy", &tr, &te, &e), AE_OK);
    ck_assert(tr.n == 2 && tr.d == 6 && tr.c == 1 && tr.h == 2 && tr.w == 3);
    for (int i = 0; i < 12; i++) ck_assert(tr.x[i] == (float)px[i] / 255.0f); /* as the idx source */
    ck_assert(tr.label[1] == 3 && tr.n_classes == 4);
    ae_dataset_free(&tr);
}
END_TEST

/* (N, C, H, W), labels of shape (N, 1) in other integer types, test files, limits. */
START_TEST(images_nchw_test_files_limits)
{
    float x[3 * 2 * 2 * 2];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    unsigned char bx[96], by[12], bt[8];
    le(bx, x, 24, 4);
    const int32_t y[3] = {0, 1, 1};
    le(by, y, 3, 4);
    const uint16_t t[2] = {1, 0};
    le(bt, t, 2, 2);
    npy("x.npy", "<f4", "(3, 2, 2, 2)", bx, sizeof bx);
    npy("y.npy", "<i4", "(3, 1)", by, sizeof by);
    npy("tx.npy", "<f4", "(2, 2, 2, 2)", bx, 64);
    npy("ty.npy", "<u2", "(2,)", bt, 4);
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load("path: x.npy, labels: y.npy, test_path: tx.npy, test_labels: ty.npy", &tr, &te, &e),
                     AE_OK);
    ck_assert(tr.n == 3 && tr.c == 2 && tr.h == 2 && tr.w == 2 && tr.d == 8 && tr.x[23] == 23.0f);
    ck_assert(te.n == 2 && te.c == 2 && te.label[0] == 1 && te.label[1] == 0 && te.n_classes == 2);
    ck_assert(tr.label[2] == 1 && tr.n_classes == 2);
    ae_dataset_free(&tr);
    ae_dataset_free(&te);
    ck_assert_int_eq(load("path: x.npy, labels: y.npy, test_path: tx.npy, limit: 2, test_limit: 1", &tr, &te, &e),
                     AE_OK);
    ck_assert(tr.n == 2 && te.n == 1 && !te.label && tr.x[15] == 15.0f && tr.label[1] == 1);
    ck_assert_int_eq(tr.n_classes, 2); /* from every label, as IDX */
    ae_dataset_free(&tr);
    ae_dataset_free(&te);
    ck_assert_int_eq(load("path: x.npy, test_fraction: 0.34", &tr, &te, &e), AE_OK);
    ck_assert(tr.n == 2 && te.n == 1 && te.c == 2);
    ae_dataset_free(&tr);
    ae_dataset_free(&te);
}
END_TEST

/* Every malformed header is an error naming the file. */
START_TEST(malformed_headers)
{
    unsigned char z[64] = {0};
    npy_raw("v4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", z, 16, -1);
    char p[4200];
    snprintf(p, sizeof p, "%s/v4.npy", dir);
    FILE *f = fopen(p, "r+b");
    fseek(f, 6, SEEK_SET);
    fputc(4, f);
    fclose(f);
    bad("path: v4.npy", "v4.npy", "unsupported .npy format version 4.0");
    FILE *g = fopen(p, "wb");
    fputs("PK\x03\x04 an npz is a zip", g);
    fclose(g);
    bad("path: v4.npy", "v4.npy", "not a NumPy .npy file (no \\x93NUMPY magic)");
    g = fopen(p, "wb");
    fputs("\x93NUM", g);
    fclose(g);
    bad("path: v4.npy", "v4.npy", "not a NumPy .npy file");
    npy_raw("cut.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", NULL, 0, 300);
    bad("path: cut.npy", "cut.npy", "truncated: the header has 118 of 300 bytes");
    npy_raw("list.npy", 1, "[1, 2, 3]", z, 16, -1);
    bad("path: list.npy", "list.npy", "the header is not a dict such as {'descr': '<f4'");
    npy_raw("nokey.npy", 1, "{'descr': '<f4', 'shape': (2, 2)}", z, 16, -1);
    bad("path: nokey.npy", "nokey.npy", "descr, fortran_order or shape is missing");
    npy_raw("twice.npy", 2, "{'descr': '<f4', 'shape': (2,), 'fortran_order': False, 'shape': (2,)}", z, 8, -1);
    bad("path: twice.npy", "twice.npy", "the header names 'shape' twice");
    npy_raw("extra.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", z, 16, -1);
    bad("path: extra.npy", "extra.npy", "unknown key 'x'");
    npy_raw("fort.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", z, 16, -1);
    bad("path: fort.npy", "fort.npy", "fortran_order is True: only C order is supported");
    npy_raw("rec.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", z, 8, -1);
    bad("path: rec.npy", "rec.npy", "only plain dtypes");
    npy("c8.npy", "<c8", "(2, 2)", z, 32);
    bad("path: c8.npy", "c8.npy", "unsupported dtype '<c8'");
    npy("u4.npy", "<U4", "(2, 2)", z, 64);
    bad("path: u4.npy", "u4.npy", "unsupported dtype '<U4'");
    npy("big.npy", ">f4", "(2, 2)", z, 16);
    bad("path: big.npy", "big.npy", "dtype '>f4' is not little-endian");
    npy("ovf.npy", "<f4", "(4294967296, 4294967296, 4294967296)", z, 16);
    bad("path: ovf.npy", "ovf.npy", "the shape (4294967296, 4294967296, 4294967296) holds too many items");
    npy("huge.npy", "<f4", "(18446744073709551616, 2)", z, 16);
    bad("path: huge.npy", "huge.npy", "shape is not a tuple");
}
END_TEST

/* Data and labels that do not fit the header, and values that cannot be used. */
START_TEST(malformed_data)
{
    unsigned char z[64] = {0};
    npy("short.npy", "<f4", "(3, 2)", z, 20);
    bad("path: short.npy", "short.npy", "truncated: the shape (3, 2) of '<f4' needs 24 bytes of data, the file has 20");
    npy("long.npy", "<f4", "(3, 2)", z, 28);
    bad("path: long.npy", "long.npy", "wrong size: the shape (3, 2) of '<f4' needs 24 bytes of data, the file has 28");
    npy("x.npy", "<f4", "(3, 2)", z, 24);
    npy("y2.npy", "|u1", "(2,)", z, 2);
    bad("path: x.npy, labels: y2.npy", "y2.npy", "labels: 2 labels for the 3 rows of");
    npy("yf.npy", "<f4", "(3,)", z, 12);
    bad("path: x.npy, labels: yf.npy", "yf.npy", "labels: expected a 1-D integer array (N,)");
    const int64_t neg[3] = {0, -1, 2};
    unsigned char bn[24];
    le(bn, neg, 3, 8);
    npy("yneg.npy", "<i8", "(3,)", bn, 24);
    bad("path: x.npy, labels: yneg.npy", "yneg.npy", "label 1: -1 is not a class index");
    npy("one.npy", "<f4", "(6,)", z, 24);
    bad("path: one.npy", "one.npy", "features: expected shape (N, D), (N, H, W) or (N, C, H, W), got (6,)");
    npy("none.npy", "<f4", "(0, 4)", z, 0);
    bad("path: none.npy", "none.npy", "features: no rows (shape (0, 4))");
    npy("zerod.npy", "<f4", "(3, 0)", z, 0);
    bad("path: zerod.npy", "zerod.npy", "each dimension after N must be in [1, ");
    npy("int.npy", "<i8", "(2, 2)", z, 32);
    bad("path: int.npy", "int.npy", "features: dtype '<i8' is not supported");
    const float nan[2] = {1.0f, NAN};
    unsigned char bnan[8];
    le(bnan, nan, 2, 4);
    npy("nan.npy", "<f4", "(1, 2)", bnan, 8);
    bad("path: nan.npy", "nan.npy", "item 1 (in C order): nan is not a finite float32");
    const double big[2] = {1e300, 0};
    unsigned char bbig[16];
    le(bbig, big, 2, 8);
    npy("big.npy", "<f8", "(1, 2)", bbig, 16);
    bad("path: big.npy", "big.npy", "item 0 (in C order): 1e+300 is not a finite float32");
    /* config: a missing file names the key and its place; test_labels needs test_path; shapes agree */
    bad("path: nosuch.npy", NULL, "t.yaml:1:27: data.path: data file 'nosuch.npy' not found");
    bad("path: x.npy, test_labels: y2.npy", NULL, "data.test_labels: needs test_path");
    npy("x3.npy", "<f4", "(2, 3)", z, 24);
    bad("path: x.npy, test_path: x3.npy", NULL, "training rows of 1x1x2 but test rows of 1x1x3");
    bad("path: x.npy, test_path: x.npy, test_fraction: 0.5", NULL, "read a test set of its own");
    bad("path: x.npy, imges: a.npy", NULL, "unknown key 'imges' in data");
}
END_TEST

int main(void)
{
    const TTest *tests[] = {table_float32_with_labels, float64_and_uint8_images, images_nchw_test_files_limits,
                            malformed_headers, malformed_data};
    Suite *s = suite_create("source_npy");
    TCase *tc = tcase_create("source_npy");
    tcase_add_checked_fixture(tc, setup, teardown);
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
