/* The configuration tree edited and written: emit/reload round trips (files and built trees),
 * --set expressions, merge, dotted lookup, edit distance for suggestions. */
#include "config_fixture.h"

START_TEST(test_emit_round_trip)
{
    const char *text =
        "name: \"No\"\n"
        "plain_no: No\n"
        "num: 3\n"
        "numstr: '3'\n"
        "empty: ''\n"
        "nothing:\n"
        "tilde: ~\n"
        "colon: 'a: b'\n"
        "hash: 'x #y'\n"
        "lead: ' x'\n"
        "dash: '-'\n"
        "neg: -5\n"
        "brackets: '[x]'\n"
        "comma: a,b\n"
        "nullstr: 'null'\n"
        "multi: |\n  line1\n  \"line2\"\\\n"
        "\"odd key: x\": 1\n"
        "list: [1, two, 'three']\n"
        "empties: {m: {}, s: []}\n"
        "layers:\n  - {type: dense, units: 16}\n  - type: conv\n    kernel: [3, 3]\n    nested: [[1, 2], [3]]\n"
        "deep:\n  - - a: 1\n      b: [x]\n    - 2\n  - []\n";
    ae_cfg *c = load(text);
    char *out = round_trip(c);
    ck_assert_ptr_nonnull(strstr(out, "name: \"No\"\n"));
    ck_assert_ptr_nonnull(strstr(out, "plain_no: No\n"));
    ck_assert_ptr_nonnull(strstr(out, "list: [1, two, \"three\"]\n"));
    ck_assert_ptr_nonnull(strstr(out, "layers:\n  - type: dense\n    units: 16\n"));
    ck_assert_ptr_nonnull(strstr(out, "nothing: null\n"));
    ae_cfg *again = ae_cfg_load_string(out, "x", NULL);
    int b;
    ae_err err = {0};
    get_fails(ae_cfg_bool(again, "name", 0, &b, &err), &err, "got the string 'No'");
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_get(again, "multi")), "line1\n\"line2\"\\\n");
    ae_cfg_free(again);
    free(out);
    /* emitting to a FILE writes the same text */
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ae_cfg_emit(c, f, &err), AE_OK);
    char *s = ae_cfg_emit_string(c);
    char buf[4096];
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    ck_assert_str_eq(buf, s);
    free(s);
    fclose(f);
    /* a clone is equal and independent */
    ae_cfg *k = ae_cfg_clone(c);
    ck_assert(tree_equal(c, k));
    ae_cfg_free(c);
    out = round_trip(k);
    free(out);
    ae_cfg_free(k);
}
END_TEST

START_TEST(test_built_tree_round_trip)
{
    ae_cfg *c = ae_cfg_new_map();
    static const char *vals[] = {"", "null", "- x", "a: b", " lead", "trail ", "#c", "tab\there", "nl\nx",
                                 "[1]", "{a}", "*star", "&amp", "!bang", "%pct", "@at", "`bt", "---", "'q'",
                                 "\"dq\"", "ok", "3", "x:"};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%zu", i);
        ck_assert_int_eq(ae_cfg_set_scalar(c, key, vals[i]), AE_OK);
    }
    ae_cfg_set_scalar(c, "a key: with #", "v");
    ae_cfg_set_scalar(c, "nul", NULL);
    ae_cfg_set_node(c, "sub", ae_cfg_new_map());
    ae_cfg_set_scalar(ae_cfg_get(c, "sub"), "x", "1");
    ae_cfg_set_scalar(c, "k20", "replaced");
    char *out = round_trip(c);
    ae_cfg *back = ae_cfg_load_string(out, "x", NULL);
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%zu", i);
        ck_assert_str_eq(ae_cfg_scalar(ae_cfg_get(back, key)), i == 20 ? "replaced" : vals[i]);
    }
    ck_assert_int_eq(ae_cfg_kind_of(ae_cfg_get(back, "nul")), AE_CFG_NULL);
    ae_cfg_free(back);
    free(out);
    ae_cfg_free(NULL);
    /* freeing a sub-node detaches it */
    size_t n = ae_cfg_len(c);
    ae_cfg_free(ae_cfg_get(c, "sub"));
    ck_assert_uint_eq(ae_cfg_len(c), n - 1);
    ck_assert(!ae_cfg_has(c, "sub"));
    out = ae_cfg_emit_string(ae_cfg_get(c, "none"));
    ck_assert_str_eq(out, "null\n");
    free(out);
    ae_cfg_free(c);
}
END_TEST

START_TEST(test_set)
{
    ae_cfg *c = load(RAIN);
    ae_err err = {0};
    char buf[256];
    ck_assert_int_eq(ae_cfg_apply_set(c, "train.epochs=5", &err), AE_OK);
    AT_EQ(c, "train.epochs", "5");
    ck_assert_str_eq(ae_cfg_where(ae_cfg_lookup(c, "train.epochs"), buf, sizeof buf), "--set train.epochs=5");
    ck_assert_int_eq(ae_cfg_apply_set(c, "data.path=x.csv", &err), AE_OK);
    AT_EQ(c, "data.path", "x.csv");
    ck_assert_int_eq(ae_cfg_apply_set(c, "a.b.c = d=e", &err), AE_OK);
    AT_EQ(c, "a.b.c", "d=e");
    ck_assert_int_eq(ae_cfg_apply_set(c, "model.encoder[1].units=8", &err), AE_OK);
    AT_EQ(c, "model.encoder[1].units", "8");
    ck_assert_int_eq(ae_cfg_apply_set(c, "model.dims[0]=[4, 5]", &err), AE_OK);
    ck_assert_uint_eq(ae_cfg_len(ae_cfg_lookup(c, "model.dims[0]")), 2);
    ck_assert_int_eq(ae_cfg_apply_set(c, "regularizers=[{type: l1, weight: 1e-3}]", &err), AE_OK);
    ae_cfg *r = ae_cfg_lookup(c, "regularizers[0]");
    double w = 0;
    ck_assert_int_eq(ae_cfg_num(r, "weight", 0, 0, 1, &w, &err), AE_OK);
    ck_assert_double_eq(w, 1e-3);
    ck_assert_str_eq(ae_cfg_path(ae_cfg_get(r, "weight"), buf, sizeof buf), "regularizers[0].weight");
    ck_assert_int_eq(ae_cfg_apply_set(c, "train.optimizer={name: sgd, lr: 0.5}", &err), AE_OK);
    AT_EQ(c, "train.optimizer.lr", "0.5");
    ck_assert_int_eq(ae_cfg_apply_set(c, "name='3'", &err), AE_OK);
    long l;
    get_fails(ae_cfg_int(c, "name", 0, 0, 9, &l, &err), &err,
              "--set name='3': name: expected an integer in [0, 9], got the string '3'");
    ck_assert_int_eq(ae_cfg_apply_set(c, "train.shuffle=", &err), AE_OK);
    ck_assert_int_eq(ae_cfg_kind_of(ae_cfg_lookup(c, "train.shuffle")), AE_CFG_NULL);
    ck_assert_int_eq(ae_cfg_apply_set(c, "train.shuffle.now=1", &err), AE_OK); /* null becomes a map */
    AT_EQ(c, "train.shuffle.now", "1");
    ck_assert_int_eq(err.code, AE_OK);

    /* errors leave the tree unchanged */
    char *before = ae_cfg_emit_string(c);
    static const struct { const char *expr, *want; } bad[] = {
        {"train.epochs", "--set 'train.epochs': expected KEY=VALUE"},
        {"=3", "--set '=3': empty key before '='"},
        {"a..b=1", "--set 'a..b=1': empty name in 'a..b'"},
        {"model.encoder[x].units=1", "bad index in 'model.encoder[x].units'"},
        {"model.encoder[1=1", "bad index in 'model.encoder[1'"},
        {"model.encoder[5].units=1", "cannot set model.encoder[5].units: index 5 is out of range: model.encoder has 2 items"},
        {"model.encoder[0][0]=1", "model.encoder[0] is a mapping, not a list"},
        {"train.epochs.x=1", "--set 'train.epochs.x=1': cannot set train.epochs.x: train.epochs is a scalar"},
        {"train.epochs.x.y=1", "cannot set train.epochs.x.y: train.epochs is a scalar"},
        {"new.list[0]=1", "cannot set new.list[0]: new.list does not exist (list items must exist)"},
        {"newmap.x=[1,", "--set 'newmap.x=[1,': cannot parse the value '[1,': syntax error: did not find expected node content"},
        {"x={a: 1, a: 2}", "duplicate key 'a'"},
        {"x=&a 1", "anchors (&a) are not supported"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ae_err_clear(&err);
        ck_assert_int_eq(ae_cfg_apply_set(c, bad[i].expr, &err), AE_EINPUT);
        ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "'%s': message '%s' lacks '%s'", bad[i].expr,
                      err.msg, bad[i].want);
    }
    char *after = ae_cfg_emit_string(c);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ae_cfg_free(c);
}
END_TEST

START_TEST(test_merge_and_lookup)
{
    ae_cfg *base = load(RAIN);
    ae_err err = {0};
    ae_cfg *over = ae_cfg_load_string("train:\n  epochs: 99\n  extra: {a: 1}\nmodel:\n  dims: [7]\nnew: x\n",
                                      "over.yaml", &err);
    ck_assert_ptr_nonnull(over);
    ck_assert_int_eq(ae_cfg_merge(base, over, &err), AE_OK);
    ae_cfg_free(over);
    AT_EQ(base, "train.epochs", "99");
    AT_EQ(base, "train.lr", "1e-3");          /* kept */
    AT_EQ(base, "train.optimizer.name", "adam");
    AT_EQ(base, "train.extra.a", "1");
    ck_assert_uint_eq(ae_cfg_len(ae_cfg_lookup(base, "model.dims")), 1);               /* replaced */
    ck_assert_str_eq(ae_cfg_key_at(base, ae_cfg_len(base) - 1), "new");
    char buf[128];
    ck_assert_str_eq(ae_cfg_where(ae_cfg_lookup(base, "train.epochs"), buf, sizeof buf), "over.yaml:2:11");
    ae_cfg *t = ae_cfg_lookup(base, "train");
    ae_cfg_allow(t, "epochs");
    ck_assert_int_eq(ae_cfg_finish(t, "train", &err), AE_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "rain.yaml:5:3: unknown key 'lr'"));
    ae_err_clear(&err);
    ae_cfg *seq = ae_cfg_lookup(base, "model.dims");
    ck_assert_int_eq(ae_cfg_merge(base, seq, &err), AE_EINPUT);
    ae_err_clear(&err);

    ck_assert_ptr_eq(ae_cfg_lookup(base, ""), base);
    AT_EQ(base, "model.encoder[1].units", "32");
    ck_assert_int_eq(ae_cfg_kind_of(ae_cfg_lookup(base, "model.encoder[0]")), AE_CFG_MAP);
    ck_assert_ptr_null(ae_cfg_lookup(base, "model.encoder[2]"));
    ck_assert_ptr_null(ae_cfg_lookup(base, "model.encoder[x]"));
    ck_assert_ptr_null(ae_cfg_lookup(base, "model..encoder"));
    ck_assert_ptr_null(ae_cfg_lookup(base, "model.encoder."));
    ck_assert_ptr_null(ae_cfg_lookup(base, "name.x"));
    ck_assert_ptr_null(ae_cfg_lookup(base, "train[0]"));
    ae_cfg_free(base);
}
END_TEST

START_TEST(test_edit_distance)
{
    ck_assert_uint_eq(ae_edit_distance("", ""), 0);
    ck_assert_uint_eq(ae_edit_distance("abc", ""), 3);
    ck_assert_uint_eq(ae_edit_distance("kitten", "sitting"), 3);
    ck_assert_uint_eq(ae_edit_distance("optimiser", "optimizer"), 1);
    ck_assert_uint_eq(ae_edit_distance("adma", "adam"), 1); /* swapped neighbours count once */
    ck_assert_uint_eq(ae_edit_distance("epochs", "epoch"), 1);
    static const char *const c[] = {"epochs", "lr", "optimizer", "batch_size"};
    ck_assert_str_eq(ae_nearest("optimiser", c, 4), "optimizer");
    ck_assert_str_eq(ae_nearest("bach_size", c, 4), "batch_size");
    ck_assert_str_eq(ae_nearest("lt", c, 4), "lr");
    ck_assert_ptr_null(ae_nearest("xy", c, 4));
    ck_assert_ptr_null(ae_nearest("momentum", c, 4));
    ck_assert_ptr_null(ae_nearest("x", c, 0));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_edit");
    TCase *tc = tcase_create("config_edit");
    tcase_add_test(tc, test_emit_round_trip);
    tcase_add_test(tc, test_built_tree_round_trip);
    tcase_add_test(tc, test_set);
    tcase_add_test(tc, test_merge_and_lookup);
    tcase_add_test(tc, test_edit_distance);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
