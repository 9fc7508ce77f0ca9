/* Tests for the export writers (run_export.c): PyTorch-style names, .npy files (format 1.0 header
 * bytes, alignment, data), and safetensors files of a hand-made parameter store (header length,
 * padding, escaped metadata, offsets, unpadded data in declaration order). */
#include "ae_export.h"
#include "ae_test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static void setup(void) { dir = ae_test_tmpdir(); }
static void teardown(void)
{
    ae_test_rm_rf(dir);
    free(dir);
}

static const char *in_dir(const char *name)
{
    static char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

START_TEST(names)
{
    char out[64];
    ck_assert_int_eq(ae_export_name("encoder[0].weight", out, sizeof out), 0);
    ck_assert_str_eq(out, "encoder.0.weight");
    ck_assert_int_eq(ae_export_name("decoder[12].bias", out, sizeof out), 0);
    ck_assert_str_eq(out, "decoder.12.bias");
    ck_assert_int_eq(ae_export_name("latent.mu.weight", out, sizeof out), 0);
    ck_assert_str_eq(out, "latent.mu.weight");
    ck_assert_int_eq(ae_export_name("encoder[0].weight", out, 8), -1);
}
END_TEST

/* The .npy file: magic, version 1.0, little-endian header length, the dict padded with spaces and
 * ended by '\n' so the data starts at a multiple of 64, then the floats. */
static void check_npy(const char *path, const char *dict, const float *x, size_t n)
{
    size_t len;
    char *b = ae_test_slurp(path, &len);
    ck_assert_ptr_nonnull(b);
    ck_assert(!memcmp(b, "\x93NUMPY\x01\x00", 8));
    size_t hl = (unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8;
    ck_assert_uint_eq((10 + hl) % 64, 0);
    ck_assert_uint_eq(len, 10 + hl + n * sizeof(float));
    ck_assert(!strncmp(b + 10, dict, strlen(dict)));
    for (size_t i = 10 + strlen(dict); i < 10 + hl - 1; i++) ck_assert_int_eq(b[i], ' ');
    ck_assert_int_eq(b[10 + hl - 1], '\n');
    ck_assert(!memcmp(b + 10 + hl, x, n * sizeof(float)));
    free(b);
}

START_TEST(npy_files)
{
    ae_err err = {0};
    float x[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
    ck_assert_int_eq(ae_npy_write(in_dir("a.npy"), x, 2, (int64_t[]){2, 3}, &err), AE_OK);
    check_npy(in_dir("a.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", x, 6);
    ck_assert_int_eq(ae_npy_write(in_dir("b.npy"), x, 1, (int64_t[]){5}, &err), AE_OK);
    check_npy(in_dir("b.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", x, 5);
    ck_assert_int_eq(ae_npy_write(in_dir("missing/c.npy"), x, 1, (int64_t[]){5}, &err), AE_EIO);
}
END_TEST

/* Two parameters, the first 5 floats (padded to 16 in the store), the second [2, 3]. */
static ae_params *store(void)
{
    ae_err err = {0};
    ae_params *ps = ae_params_new();
    ck_assert_int_ge(ae_params_declare(ps, "encoder[0].bias", ae_shape_make(1, (int64_t[]){5}), 1, 1,
                                       AE_PARAM_BIAS, 0, &err), 0);
    ck_assert_int_ge(ae_params_declare(ps, "decoder[1].weight", ae_shape2(2, 3), 3, 2, AE_PARAM_WEIGHT, 0, &err), 0);
    ck_assert_int_eq(ae_params_alloc(ps, &err), AE_OK);
    for (size_t i = 0; i < ps->total; i++) ps->val[i] = (float)i * 0.5f - 3.0f;
    return ps;
}

START_TEST(safetensors_file)
{
    ae_err err = {0};
    ae_params *ps = store();
    ck_assert_uint_eq(ps->p[1].off, 16);
    const char *path = in_dir("m.safetensors");
    ck_assert_int_eq(ae_export_safetensors(ps, "name: \"q\"\n\tx: 1\n", path, &err), AE_OK);
    size_t len;
    char *b = ae_test_slurp(path, &len);
    ck_assert_ptr_nonnull(b);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)(unsigned char)b[i] << (8 * i);
    ck_assert_uint_eq(hl % 8, 0);
    ck_assert_uint_eq(len, 8 + hl + 11 * sizeof(float));
    char *head = strndup(b + 8, hl);
    ck_assert_ptr_nonnull(strstr(head, "\"config\":\"name: \\\"q\\\"\\n\\tx: 1\\n\""));
    ck_assert_ptr_nonnull(strstr(head, "\"format\":\"pt\""));
    ck_assert_ptr_nonnull(strstr(head, "\"encoder.0.bias\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,20]}"));
    ck_assert_ptr_nonnull(strstr(head, "\"decoder.1.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[20,44]}"));
    size_t end = strlen(head);
    while (end > 0 && head[end - 1] == ' ') end--;
    ck_assert_int_eq(head[end - 1], '}');
    ck_assert_int_eq(head[0], '{');
    /* the data: each tensor's floats, without the store's padding */
    ck_assert(!memcmp(b + 8 + hl, ps->val, 5 * sizeof(float)));
    ck_assert(!memcmp(b + 8 + hl + 20, ps->val + 16, 6 * sizeof(float)));
    free(head);
    free(b);

    ck_assert_int_eq(ae_export_npy(ps, "a: 1\n", in_dir("w"), &err), AE_OK);
    check_npy(in_dir("w/decoder.1.weight.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
              ps->val + 16, 6);
    check_npy(in_dir("w/encoder.0.bias.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", ps->val, 5);
    char *cfg = ae_test_slurp(in_dir("w/config.yaml"), NULL);
    ck_assert_str_eq(cfg, "a: 1\n");
    free(cfg);
    ae_params_free(ps);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("export");
    TCase *tc = tcase_create("export");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, names);
    tcase_add_test(tc, npy_files);
    tcase_add_test(tc, safetensors_file);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
