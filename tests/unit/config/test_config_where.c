/* Tests for the configuration unit's error positions and value ranges: numbers too large for a
 * double or a long are "out of range" (not "not a number"), and YAML that is not a file (a variant
 * preset) is named as such ("variant preset 'sparse', line 2, column 5"), never as "sparse:2:5". */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "ae_config.h"
#include "ae_test.h"

#define HAS(msg, want) ck_assert_msg(strstr((msg), (want)) != NULL, "message '%s' lacks '%s'", (msg), (want))
#define LACKS(msg, bad) ck_assert_msg(strstr((msg), (bad)) == NULL, "message '%s' has '%s'", (msg), (bad))

START_TEST(test_numbers_out_of_range)
{
    ae_err err = {0};
    ae_cfg *c = ae_cfg_load_string("lr: 1e400\nneg: -1e400\nbig: 99999999999999999999\nf: 1e30\n"
                                   "ok: 1e300\ntiny: 1e-400\nword: ten\n", "r.yaml", &err);
    ck_assert_ptr_nonnull(c);
    double d;
    long l;
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_num(c, "lr", 0, 0, 1e3, &d, &err), AE_EINPUT);
    HAS(err.msg, "r.yaml:1:5: lr: expected a number in [0, 1000], got '1e400'");
    HAS(err.msg, "out of range (|x| > 1.8e308)");
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_num(c, "neg", 0, -DBL_MAX, DBL_MAX, &d, &err), AE_EINPUT);
    HAS(err.msg, "r.yaml:2:6: neg: expected a number, got '-1e400'");
    HAS(err.msg, "out of range (|x| > 1.8e308)");
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_int(c, "big", 1, 1, 100, &l, &err), AE_EINPUT);
    HAS(err.msg, "r.yaml:3:6: big: expected an integer in [1, 100], got '99999999999999999999'");
    HAS(err.msg, "out of range (|x| > 9.2e18)");
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_int(c, "f", 1, 1, 100, &l, &err), AE_EINPUT); /* a float form too */
    HAS(err.msg, "out of range (|x| > 9.2e18)");
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_int(c, "lr", 1, 1, 100, &l, &err), AE_EINPUT);
    HAS(err.msg, "out of range (|x| > 1.8e308)");
    /* merely outside the key's bounds, or not a number at all: no "out of range" remark */
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_num(c, "ok", 0, 0, 1e3, &d, &err), AE_EINPUT);
    LACKS(err.msg, "out of range");
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_int(c, "tiny", 1, 1, 100, &l, &err), AE_EINPUT);
    LACKS(err.msg, "out of range");
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_num(c, "word", 0, 0, 1e3, &d, &err), AE_EINPUT);
    LACKS(err.msg, "out of range");
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_num(c, "tiny", 0, 0, 1e3, &d, &err), AE_OK); /* underflow reads as 0 */
    ck_assert(d == 0.0);
    ae_cfg_free(c);
}
END_TEST

START_TEST(test_text_not_a_file)
{
    ae_err err = {0};
    char w[256];
    /* a value error inside the text: the position names the preset, not a file */
    ae_cfg *c = ae_cfg_load_text("train:\n  epochs: ten\n", "variant preset", "sparse", &err);
    ck_assert_ptr_nonnull(c);
    ae_cfg *t;
    long l;
    ck_assert_int_eq(ae_cfg_map(c, "train", 0, &t, &err), AE_OK);
    ck_assert_str_eq(ae_cfg_where(ae_cfg_get(t, "epochs"), w, sizeof w),
                     "variant preset 'sparse', line 2, column 11");
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_int(t, "epochs", 1, 1, 10, &l, &err), AE_EINPUT);
    HAS(err.msg, "variant preset 'sparse', line 2, column 11: train.epochs: expected an integer");
    LACKS(err.msg, "sparse:");
    ae_cfg_free(c);
    /* an unknown key: ae_cfg_finish names the key's position */
    c = ae_cfg_load_text("a: 1\nb: 2\n", "variant preset", "sparse", &err);
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_finish(c, NULL, &err), AE_EINPUT);
    ck_assert_str_eq(err.msg, "variant preset 'sparse', line 1, column 1: unknown key 'a' at the top "
                              "level (no keys are expected here)");
    ae_cfg_free(c);
    /* a syntax error inside the text */
    ae_err_clear(&err);
    ck_assert_ptr_null(ae_cfg_load_text("a: [1,\n", "variant preset", "sparse", &err));
    HAS(err.msg, "variant preset 'sparse', line ");
    LACKS(err.msg, "sparse:");
    /* the same through ae_cfg_load_string with a name in angle brackets; file names unchanged */
    c = ae_cfg_load_string("k: v\n", "<plug-in default 'x'>", &err);
    ck_assert_str_eq(ae_cfg_where(ae_cfg_get(c, "k"), w, sizeof w), "plug-in default 'x', line 1, column 4");
    ae_cfg_free(c);
    c = ae_cfg_load_string("k: v\n", "rain.yaml", &err);
    ck_assert_str_eq(ae_cfg_where(ae_cfg_get(c, "k"), w, sizeof w), "rain.yaml:1:4");
    ae_cfg *copy = ae_cfg_clone(c);
    ck_assert_str_eq(ae_cfg_where(ae_cfg_get(copy, "k"), w, sizeof w), "rain.yaml:1:4");
    ae_cfg_free(copy);
    ae_cfg_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_where");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_numbers_out_of_range);
    tcase_add_test(tc, test_text_not_a_file);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
