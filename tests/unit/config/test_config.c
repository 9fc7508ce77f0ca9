/* Tests for the configuration unit: loading, typed getters and defaults, every error message
 * form, ae_cfg_finish suggestions. Emit/reload round trips, --set, merge, lookup and edit distance
 * are in test_config_edit.c. */
#include "config_fixture.h"

START_TEST(test_load_and_getters)
{
    ae_cfg *c = load(RAIN);
    ae_err err = {0};
    ae_cfg *train, *opt, *model, *enc;
    long epochs = 0, units = 0;
    double lr = 0, d = 0;
    int shuffle = 0;
    const char *name = NULL;
    ck_assert_int_eq(ae_cfg_map(c, "train", 0, &train, &err), AE_OK);
    ck_assert_int_eq(ae_cfg_int(train, "epochs", 1, 1, 1000000, &epochs, &err), AE_OK);
    ck_assert_int_eq(epochs, 20);
    ck_assert_int_eq(ae_cfg_num(train, "lr", 0.1, 0, 1, &lr, &err), AE_OK);
    ck_assert_double_eq(lr, 1e-3);
    ck_assert_int_eq(ae_cfg_bool(train, "shuffle", 0, &shuffle, &err), AE_OK);
    ck_assert_int_eq(shuffle, 1);
    ck_assert_int_eq(ae_cfg_map(train, "optimizer", 0, &opt, &err), AE_OK);
    ck_assert_int_eq(ae_cfg_str(opt, "name", NULL, NULL, &name, &err), AE_OK);
    ck_assert_str_eq(name, "adam");
    ck_assert_int_eq(ae_cfg_map(c, "model", 0, &model, &err), AE_OK);
    ck_assert_int_eq(ae_cfg_seq(model, "encoder", 0, &enc, &err), AE_OK);
    ck_assert_uint_eq(ae_cfg_len(enc), 2);
    ck_assert_int_eq(ae_cfg_int(ae_cfg_at(enc, 1), "units", 0, 1, 4096, &units, &err), AE_OK);
    ck_assert_int_eq(units, 32);
    ae_cfg *dims = ae_cfg_get(model, "dims");
    ck_assert_int_eq(ae_cfg_kind_of(dims), AE_CFG_SEQ);
    ck_assert_int_eq(ae_cfg_to_num(ae_cfg_at(dims, 1), -10, 10, &d, &err), AE_OK);
    ck_assert_double_eq(d, -2);
    ck_assert_int_eq(ae_cfg_to_num(ae_cfg_at(dims, 2), -10, 10, &d, &err), AE_OK);
    ck_assert_double_eq(d, 0.5);
    ck_assert_int_eq(err.code, AE_OK);

    char buf[256];
    ck_assert_str_eq(ae_cfg_where(ae_cfg_get(train, "epochs"), buf, sizeof buf), "rain.yaml:4:11");
    ck_assert_str_eq(ae_cfg_path(ae_cfg_get(train, "epochs"), buf, sizeof buf), "train.epochs");
    ck_assert_str_eq(ae_cfg_path(ae_cfg_get(ae_cfg_at(enc, 1), "units"), buf, sizeof buf),
                     "model.encoder[1].units");
    ck_assert_str_eq(ae_cfg_key_at(c, 1), "train");
    ck_assert_ptr_eq(ae_cfg_value_at(c, 1), train);
    ck_assert_ptr_null(ae_cfg_at(c, 0)); /* not a seq */
    ck_assert_ptr_null(ae_cfg_scalar(train));
    ck_assert_int_eq(ae_cfg_kind_of(NULL), AE_CFG_NULL);
    ae_cfg_free(c);
}
END_TEST

START_TEST(test_defaults_inserted_once)
{
    ae_cfg *c = load(RAIN);
    ae_err err = {0};
    ae_cfg *train, *sched, *absent;
    long batch = 0;
    double wd = 0;
    int amp = 1;
    const char *act = NULL;
    ae_cfg_map(c, "train", 0, &train, &err);
    size_t before = ae_cfg_len(train);
    ck_assert_int_eq(ae_cfg_int(train, "batch", 32, 1, 4096, &batch, &err), AE_OK);
    ck_assert_int_eq(ae_cfg_int(train, "batch", 32, 1, 4096, &batch, &err), AE_OK);
    ck_assert_int_eq(batch, 32);
    ck_assert_int_eq(ae_cfg_num(train, "weight_decay", 0.1, 0, 1, &wd, &err), AE_OK);
    ck_assert_int_eq(ae_cfg_num(train, "weight_decay", 0.1, 0, 1, &wd, &err), AE_OK);
    ck_assert_double_eq(wd, 0.1); /* the inserted text reads back exactly */
    ck_assert_int_eq(ae_cfg_bool(train, "amp", 0, &amp, &err), AE_OK);
    ck_assert_int_eq(amp, 0);
    ck_assert_int_eq(ae_cfg_str(train, "act", "No", NULL, &act, &err), AE_OK);
    ck_assert_str_eq(act, "No");
    ck_assert_int_eq(ae_cfg_map(train, "schedule", 1, &sched, &err), AE_OK);
    ck_assert_ptr_nonnull(sched);
    ck_assert_int_eq(ae_cfg_map(train, "nothing", 0, &absent, &err), AE_OK);
    ck_assert_ptr_null(absent);
    ck_assert_uint_eq(ae_cfg_len(train), before + 5);
    ck_assert_int_eq(err.code, AE_OK);
    char buf[64];
    ck_assert_str_eq(ae_cfg_where(ae_cfg_get(train, "batch"), buf, sizeof buf), "<default>");
    /* the resolved config shows defaults and reloads to the same tree */
    char *text = round_trip(c);
    ck_assert_ptr_nonnull(strstr(text, "  batch: 32\n"));
    ck_assert_ptr_nonnull(strstr(text, "  weight_decay: 0.1\n"));
    ck_assert_ptr_nonnull(strstr(text, "  act: \"No\"\n"));
    free(text);
    /* a NULL (absent optional) section gives defaults and inserts nothing */
    ck_assert_int_eq(ae_cfg_int(NULL, "batch", 7, 1, 10, &batch, &err), AE_OK);
    ck_assert_int_eq(batch, 7);
    ck_assert_int_eq(ae_cfg_str(NULL, "act", "relu", NULL, &act, &err), AE_OK);
    ck_assert_str_eq(act, "relu");
    ck_assert_int_eq(ae_cfg_map(NULL, "x", 1, &absent, &err), AE_OK);
    ck_assert_ptr_null(absent);
    ae_cfg_free(c);
}
END_TEST

START_TEST(test_load_file_names_path)
{
    char *dir = ae_test_tmpdir();
    char *path = ae_test_write(dir, "rain.yaml", "train:\n  epochs: 3\n  optimiser: sgd\n");
    ae_err err = {0};
    ae_cfg *c = ae_cfg_load_file(path, &err);
    ck_assert_ptr_nonnull(c);
    ae_cfg *train;
    long e;
    ae_cfg_map(c, "train", 0, &train, &err);
    ae_cfg_int(train, "epochs", 1, 1, 10, &e, &err);
    ae_cfg_allow(train, "optimizer");
    ck_assert_int_eq(ae_cfg_finish(train, "train", &err), AE_EINPUT);
    char want[4200];
    snprintf(want, sizeof want, "%s:3:3: unknown key 'optimiser' in train (did you mean 'optimizer'?)", path);
    ck_assert_str_eq(err.msg, want);
    ae_cfg_free(c);
    ae_err_clear(&err);
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none.yaml", dir);
    ck_assert_ptr_null(ae_cfg_load_file(missing, &err));
    ck_assert_int_eq(err.code, AE_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "none.yaml"));
    remove(path);
    rmdir(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_syntax_errors)
{
    load_fails("a: 1\nb: [1,\n", "rain.yaml:3:1: syntax error: did not find expected node content");
    load_fails("a: 1\n b: 2\n", "rain.yaml:2:3: syntax error: mapping values are not allowed");
    load_fails("a:\n  - 1\n  b: 2\n", "rain.yaml:3:3: syntax error: did not find expected '-' indicator");
    load_fails("a: \"abc\n", "rain.yaml:2:1: syntax error: found unexpected end of stream");
    load_fails("a:\n\tb: 1\n", "rain.yaml:2:1: tabs are not allowed for indentation; use spaces");
    load_fails("a:\n  b:\n  \t c: 1\n", "rain.yaml:3:3: tabs are not allowed for indentation");
    load_fails("a: 1\nb: 2\na: 3\n", "rain.yaml:3:1: duplicate key 'a' (first at line 1)");
    load_fails("m:\n  x: 1\n  y: 2\n  x: 3\n", "rain.yaml:4:3: duplicate key 'x' (first at line 2)");
    load_fails("", "rain.yaml:1:1: empty configuration");
    load_fails("# only a comment\n", "empty configuration");
    load_fails("---\n", "empty configuration");
    load_fails("a: 1\n---\nb: 2\n", "rain.yaml:2:1: more than one YAML document");
    load_fails("a: &x 1\n", "rain.yaml:1:4: anchors (&x) are not supported");
    load_fails("a: 1\nb: *x\n", "aliases (*x) are not supported");
    load_fails("a: !foo 1\n", "rain.yaml:1:4: tags (!foo) are not supported");
    load_fails("? [a, b]\n: 1\n", "rain.yaml:1:3: keys must be plain words, not a sequence");
    load_fails("- 1\n- 2\n", "rain.yaml:1:1: the configuration must be a mapping");
    load_fails("just text\n", "must be a mapping of keys to values, not a single value");
    load_fails("a: \xff\n", "rain.yaml:1:4: invalid text");
    /* tabs inside values and comments are fine */
    load_fails("a: 1\n\t# comment\n", "rain.yaml:2:1: tabs are not allowed");
    load_fails("a:\n  - x\n  -\ty\n", "rain.yaml:3:4: tabs are not allowed");
    load_fails("a: 1\n  \t  \nb: 2\n", "rain.yaml:2:3: tabs are not allowed");
    ae_cfg *c = load("a: \"x\ty\"\nb: 1 # \tx\nc: 2\t\n");
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_get(c, "a")), "x\ty");
    ae_cfg_free(c);
}
END_TEST

/* Checks a failed call's code and message, then clears err for the next call. */

START_TEST(test_type_and_range_errors)
{
    ae_cfg *c = load("train:\n  epochs: 0\n  q: \"3\"\n  f: 1.5\n  m: {a: 1}\n  n:\n  s: [1]\n"
                     "  x: 1e-3x\n  i: .inf\n  nan: nan\n  b: maybe\n  big: 99999999999999999999\n"
                     "  ok: 1e3\n  no: \"No\"\n");
    ae_cfg *t;
    ae_err err = {0};
    long l = 0;
    double d = 0;
    int b = 0;
    const char *s;
    ae_cfg_map(c, "train", 0, &t, &err);
    get_fails(ae_cfg_int(t, "epochs", 1, 1, 1000000, &l, &err), &err,
              "rain.yaml:2:11: train.epochs: expected an integer in [1, 1000000], got '0'");
    get_fails(ae_cfg_int(t, "q", 1, 1, 10, &l, &err), &err,
              "rain.yaml:3:6: train.q: expected an integer in [1, 10], got the string '3'");
    get_fails(ae_cfg_num(t, "q", 1, 0, 10, &d, &err), &err, "expected a number in [0, 10], got the string '3'");
    get_fails(ae_cfg_int(t, "f", 1, 1, 10, &l, &err), &err, "train.f: expected an integer in [1, 10], got '1.5'");
    get_fails(ae_cfg_int(t, "m", 1, LONG_MIN, LONG_MAX, &l, &err), &err,
              "rain.yaml:5:6: train.m: expected an integer, got a mapping");
    get_fails(ae_cfg_num(t, "n", 1, 0, INFINITY, &d, &err), &err, "train.n: expected a number >= 0, got null");
    get_fails(ae_cfg_str(t, "s", "a", NULL, &s, &err), &err, "train.s: expected a string, got a list");
    get_fails(ae_cfg_num(t, "x", 1, -1e308, 1e308, &d, &err), &err, "got '1e-3x'");
    get_fails(ae_cfg_num(t, "i", 1, -1e308, 1e308, &d, &err), &err, "got '.inf'");
    get_fails(ae_cfg_num(t, "nan", 1, -1e308, 1e308, &d, &err), &err, "got 'nan'");
    get_fails(ae_cfg_bool(t, "b", 1, &b, &err), &err, "train.b: expected a boolean (true or false), got 'maybe'");
    get_fails(ae_cfg_bool(t, "no", 1, &b, &err), &err, "got the string 'No'");
    get_fails(ae_cfg_int(t, "big", 1, LONG_MIN, LONG_MAX, &l, &err), &err, "got '99999999999999999999'");
    get_fails(ae_cfg_map(t, "epochs", 0, &t, &err), &err, "train.epochs: expected a mapping, got '0'");
    ae_cfg_map(c, "train", 0, &t, &err);
    get_fails(ae_cfg_seq(t, "m", 0, &t, &err), &err, "train.m: expected a list, got a mapping");
    ae_cfg_map(c, "train", 0, &t, &err);
    get_fails(ae_cfg_int(ae_cfg_get(t, "epochs"), "units", 1, 1, 2, &l, &err), &err,
              "train.epochs: expected a mapping (with key 'units'), got '0'");
    ck_assert_int_eq(ae_cfg_int(t, "ok", 1, 1, 5000, &l, &err), AE_OK);
    ck_assert_int_eq(l, 1000);
    ck_assert_int_eq(ae_cfg_str(t, "no", NULL, NULL, &s, &err), AE_OK);
    ck_assert_str_eq(s, "No");
    ck_assert_ptr_nonnull(ae_cfg_get(t, "n")); /* ae_cfg_get returns the explicit null */
    ck_assert_int_eq(ae_cfg_kind_of(ae_cfg_get(t, "n")), AE_CFG_NULL);
    get_fails(ae_cfg_to_int(ae_cfg_at(ae_cfg_get(t, "s"), 0), 2, 3, &l, &err), &err,
              "rain.yaml:7:7: train.s[0]: expected an integer in [2, 3], got '1'");
    ae_cfg_free(c);
}
END_TEST

START_TEST(test_number_forms)
{
    static const char *good[] = {"1e-3", ".5", "-2", "+1.5E2", "3.", "0"};
    static const double val[] = {1e-3, 0.5, -2, 150, 3, 0};
    static const char *bad[] = {"1_000", "0x10", "1e", "e3", ".", "-", "inf", "1.0.0", " 1", "1 "};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        double d;
        ck_assert_msg(ae_cfgi_parse_double(good[i], &d), "%s", good[i]);
        ck_assert_double_eq(d, val[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double d;
        ck_assert_msg(!ae_cfgi_parse_double(bad[i], &d), "%s", bad[i]);
    }
    long l;
    ck_assert(ae_cfgi_parse_long("-42", &l) && l == -42);
    ck_assert(ae_cfgi_parse_long("2e3", &l) && l == 2000);
    ck_assert(!ae_cfgi_parse_long("1.5", &l));
    ck_assert(!ae_cfgi_parse_long("12abc", &l));
}
END_TEST

START_TEST(test_choices_and_required)
{
    static const char *const opts[] = {"sgd", "adam", "adamw", NULL};
    ae_cfg *c = load("train:\n  optimizer:\n    name: adma\n    other: zzzzzz\n");
    ae_cfg *opt = ae_cfg_lookup(c, "train.optimizer");
    ae_err err = {0};
    const char *s = NULL;
    ck_assert_int_eq(ae_cfg_str(opt, "name", "sgd", opts, &s, &err), AE_EINPUT);
    ck_assert_str_eq(err.msg, "rain.yaml:3:11: train.optimizer.name: unknown value 'adma' (expected one of: "
                              "sgd, adam, adamw; did you mean 'adam'?)");
    ae_err_clear(&err);
    get_fails(ae_cfg_str(opt, "other", "sgd", opts, &s, &err), &err,
              "unknown value 'zzzzzz' (expected one of: sgd, adam, adamw)");
    get_fails(ae_cfg_str(opt, "lr_policy", NULL, NULL, &s, &err), &err,
              "rain.yaml:3:5: train.optimizer: missing required key 'lr_policy'");
    ck_assert_int_eq(ae_cfg_str(opt, "kind", "adamw", opts, &s, &err), AE_OK);
    ck_assert_str_eq(s, "adamw");
    ae_cfg_free(c);
}
END_TEST

START_TEST(test_finish)
{
    ae_cfg *c = load("train:\n  epochs: 3\n  lr: 0.1\n  optimiser: sgd\nmodle: {}\n");
    ae_err err = {0};
    ae_cfg *t;
    long e;
    double lr;
    ae_cfg_map(c, "train", 0, &t, &err);
    ae_cfg_int(t, "epochs", 1, 1, 10, &e, &err);
    ae_cfg_num(t, "lr", 0.1, 0, 1, &lr, &err);
    ck_assert_int_eq(ae_cfg_finish(t, NULL, &err), AE_EINPUT);
    ck_assert_str_eq(err.msg, "rain.yaml:4:3: unknown key 'optimiser' in train (valid keys: epochs, lr)");
    ae_err_clear(&err);
    ck_assert_ptr_null(ae_cfg_get(t, "optimizer"));
    ck_assert_int_eq(ae_cfg_finish(t, "train", &err), AE_EINPUT);
    ck_assert_str_eq(err.msg, "rain.yaml:4:3: unknown key 'optimiser' in train (did you mean 'optimizer'?)");
    ae_err_clear(&err);
    ae_cfg_allow(t, "optimiser");
    ck_assert_int_eq(ae_cfg_finish(t, "train", &err), AE_OK);
    ae_cfg_allow(c, "train");
    ae_cfg_allow(c, "model");
    ck_assert_int_eq(ae_cfg_finish(c, NULL, &err), AE_EINPUT);
    ck_assert_str_eq(err.msg, "rain.yaml:5:1: unknown key 'modle' at the top level (did you mean 'model'?)");
    ae_err_clear(&err);
    ae_cfg *m = ae_cfg_lookup(c, "modle");
    ae_cfg_set_scalar(m, "x", "1");
    ck_assert_int_eq(ae_cfg_finish(m, "model", &err), AE_EINPUT);
    ck_assert_str_eq(err.msg, "<program>: unknown key 'x' in model (no keys are expected here)");
    ae_err_clear(&err);
    ck_assert_int_eq(ae_cfg_apply_set(c, "train.epoch=4", &err), AE_OK);
    ck_assert_int_eq(ae_cfg_finish(t, "train", &err), AE_EINPUT);
    ck_assert_str_eq(err.msg, "--set train.epoch=4: unknown key 'epoch' in train (did you mean 'epochs'?)");
    ck_assert_int_eq(ae_cfg_finish(NULL, "x", NULL), AE_OK);
    ae_cfg_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_load_and_getters);
    tcase_add_test(tc, test_defaults_inserted_once);
    tcase_add_test(tc, test_load_file_names_path);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_type_and_range_errors);
    tcase_add_test(tc, test_number_forms);
    tcase_add_test(tc, test_choices_and_required);
    tcase_add_test(tc, test_finish);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
