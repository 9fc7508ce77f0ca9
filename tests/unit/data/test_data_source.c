/* Tests for data sources as registered units: what every source shares in ae_data_from_config
 * (limit / test_limit, test_fraction, validation, binarize, the one-shape check, scaling, defaults in
 * the resolved config, unknown keys), shown with a fake source; and the built-in sources in the
 * registry. */
#include "ae_data.h"
#include "ae_registry.h"
#include "ae_test.h"

#include <stdlib.h>
#include <string.h>

/* A source that makes `rows` training rows of 2 values (row i: 10i, 10i + 1; label i % 3) and, with
 * `test_rows`, a test set of test_rows rows of `test_w` values (default 2). */
static int fake_load(ae_cfg *d, const ae_source_req *req, ae_dataset *train, ae_dataset *test, ae_err *err)
{
    long rows, test_rows, test_w;
    (void)req;
    if (ae_cfg_int(d, "rows", 10, 0, 1000, &rows, err) || ae_cfg_int(d, "test_rows", 0, 0, 1000, &test_rows, err) ||
        ae_cfg_int(d, "test_w", 2, 1, 8, &test_w, err))
        return err->code;
    ae_dataset *sets[2] = {train, test};
    long n[2] = {rows, test_rows}, w[2] = {2, test_w};
    for (int s = 0; s < 2 && n[s]; s++) {
        ae_dataset *ds = sets[s];
        ds->n = (size_t)n[s];
        ds->d = (size_t)w[s];
        ds->c = ds->h = 1;
        ds->w = (int)w[s];
        ds->x = malloc(ds->n * ds->d * sizeof *ds->x);
        ds->label = malloc(ds->n * sizeof *ds->label);
        ck_assert(ds->x && ds->label);
        for (size_t i = 0; i < ds->n; i++) {
            for (size_t j = 0; j < ds->d; j++) ds->x[i * ds->d + j] = (float)(10 * i + j);
            ds->label[i] = (int)(i % 3);
        }
        ds->n_classes = 3;
    }
    return AE_OK;
}

static const ae_source_ops fake_all = {"fake", "test source", "none", AE_SOURCE_DEFAULTS_ALL, fake_load, NULL};
static const ae_source_ops fake_none = {"fake", "test source", "minmax", 0, fake_load, NULL};

/* Loads `yaml` (a whole config), runs its data section through src; returns the code, leaves the
 * tree in *root (caller frees) and the message in e. */
static int load(const char *yaml, const ae_source_ops *src, ae_cfg **root, ae_dataset *tr, ae_dataset *te,
                ae_err *e)
{
    *root = ae_cfg_load_string(yaml, "t.yaml", e);
    ck_assert_msg(*root != NULL, "%s", e->msg);
    ae_cfg *d;
    const char *source;
    ck_assert_int_eq(ae_cfg_map(*root, "data", 0, &d, e), AE_OK);
    ck_assert_int_eq(ae_cfg_str(d, "source", NULL, NULL, &source, e), AE_OK);
    return ae_data_from_config(d, src, NULL, 7, tr, te, NULL, e);
}

static void expect_fail(const char *yaml, const ae_source_ops *src, const char *want1, const char *want2)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load(yaml, src, &root, &tr, &te, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, want1) && (!want2 || strstr(e.msg, want2)), "message: %s", e.msg);
    ck_assert(tr.n == 0 && te.n == 0 && !tr.x && !te.x); /* nothing kept */
    ae_cfg_free(root);
}

START_TEST(limits_cut_both_splits)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load("data: {source: fake, rows: 10, test_rows: 6, limit: 4, test_limit: 2}", &fake_all,
                          &root, &tr, &te, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 4);
    ck_assert_uint_eq(te.n, 2);
    ck_assert(tr.x[7] == 31.0f && tr.label[3] == 0 && te.x[3] == 11.0f); /* the first rows, unscaled */
    ae_dataset_free(&tr);
    ae_dataset_free(&te);
    ae_cfg_free(root);
    /* a limit above the rows read keeps them all */
    ck_assert_int_eq(load("data: {source: fake, rows: 3, limit: 50}", &fake_all, &root, &tr, &te, &e), AE_OK);
    ck_assert(tr.n == 3 && te.n == 0);
    ae_dataset_free(&tr);
    ae_cfg_free(root);
}
END_TEST

START_TEST(test_fraction_splits_rows)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load("data: {source: fake, rows: 10, test_fraction: 0.3}", &fake_all, &root, &tr, &te, &e),
                     AE_OK);
    ck_assert(tr.n == 7 && te.n == 3 && te.label && te.n_classes == 3);
    float sum = 0; /* every row once: 10i summed over i = 0..9 in column 0 */
    for (size_t i = 0; i < tr.n; i++) sum += tr.x[2 * i];
    for (size_t i = 0; i < te.n; i++) sum += te.x[2 * i];
    ck_assert(sum == 450.0f);
    ae_dataset_free(&tr);
    ae_dataset_free(&te);
    ae_cfg_free(root);
    /* limit first, then the split of what is left */
    ck_assert_int_eq(load("data: {source: fake, rows: 10, limit: 4, test_fraction: 0.5}", &fake_all, &root, &tr,
                          &te, &e), AE_OK);
    ck_assert(tr.n == 2 && te.n == 2);
    ae_dataset_free(&tr);
    ae_dataset_free(&te);
    ae_cfg_free(root);
}
END_TEST

START_TEST(shared_errors)
{
    expect_fail("data: {source: fake, rows: 4, test_rows: 2, test_fraction: 0.5}", &fake_all, "t.yaml:1:",
                "data.test_fraction: this fake source read a test set of its own (2 rows)");
    expect_fail("data: {source: fake, rows: 2, test_fraction: 0.9}", &fake_all,
                "data.test_fraction: 0.9 of 2 rows leaves no rows to train on", NULL);
    expect_fail("data: {source: fake, rows: 4, test_rows: 2, test_w: 3}", &fake_all,
                "training rows of 1x1x2 but test rows of 1x1x3", "same shape");
    expect_fail("data: {source: fake, limt: 3}", &fake_all, "unknown key 'limt' in data (did you mean 'limit'?)",
                NULL);
    expect_fail("data: {source: fake, limit: -1}", &fake_none, "data.limit", NULL);
    expect_fail("data: {source: fake, rows: -1}", &fake_all, "data.rows", NULL); /* the loader's own error */
    ae_err e = {0};
    ae_dataset tr, te;
    ck_assert_int_eq(ae_data_from_config(NULL, &fake_all, NULL, 1, &tr, &te, NULL, &e), AE_EINPUT);
    ck_assert(strstr(e.msg, "missing required section 'data'"));
}
END_TEST

/* The shared keys land in the resolved config only as the source asks; its scaling is the default. */
START_TEST(defaults_and_scaling)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load("data: {source: fake, rows: 5}", &fake_all, &root, &tr, &te, &e), AE_OK);
    char *text = ae_cfg_emit_string(root);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strstr(text, "scaling: none") && strstr(text, "test_fraction: 0") && strstr(text, "limit: 0") &&
                      strstr(text, "test_limit: 0"), "%s", text);
    ck_assert(tr.x[9] == 41.0f); /* scaling none */
    free(text);
    ae_dataset_free(&tr);
    ae_cfg_free(root);
    ck_assert_int_eq(load("data: {source: fake, rows: 5, limit: 3}", &fake_none, &root, &tr, &te, &e), AE_OK);
    text = ae_cfg_emit_string(root);
    ck_assert_msg(strstr(text, "scaling: minmax") && !strstr(text, "test_fraction") && !strstr(text, "test_limit"),
                  "%s", text);
    ck_assert(tr.n == 3 && tr.x[0] == 0.0f && tr.x[4] == 1.0f && tr.x[5] == 1.0f); /* minmax per column */
    free(text);
    ae_dataset_free(&tr);
    ae_cfg_free(root);
}
END_TEST

/* The same with a validation split taken (val may be NULL: no validation split asked). */
static int load_val(const char *yaml, ae_cfg **root, ae_dataset *tr, ae_dataset *te, ae_dataset *va, ae_err *e)
{
    *root = ae_cfg_load_string(yaml, "t.yaml", e);
    ck_assert_msg(*root != NULL, "%s", e->msg);
    ae_cfg *d;
    ck_assert_int_eq(ae_cfg_map(*root, "data", 0, &d, e), AE_OK);
    ae_cfg_allow(d, "source");
    return ae_data_from_config(d, &fake_all, NULL, 7, tr, te, va, e);
}

static void free3(ae_cfg *root, ae_dataset *a, ae_dataset *b, ae_dataset *c)
{
    ae_dataset_free(a);
    ae_dataset_free(b);
    ae_dataset_free(c);
    ae_cfg_free(root);
}

/* data.validation: a count or a fraction of the training rows (after test_fraction), disjoint from
 * them, the same rows on every load, scaled with the training rows' fit; nothing in the resolved
 * config when absent. */
START_TEST(validation_split)
{
    ae_cfg *root;
    ae_dataset tr, te, va, tr2, te2, va2;
    ae_err e = {0};
    ck_assert_int_eq(load_val("data: {source: fake, rows: 20, validation: 5}", &root, &tr, &te, &va, &e), AE_OK);
    ck_assert(tr.n == 15 && va.n == 5 && te.n == 0 && va.label);
    float sum = 0; /* every row once (scaling none): 10i over i = 0..19 in column 0 */
    for (size_t i = 0; i < tr.n; i++) sum += tr.x[2 * i];
    for (size_t i = 0; i < va.n; i++) sum += va.x[2 * i];
    ck_assert(sum == 1900.0f);
    ae_cfg *root2;
    ck_assert_int_eq(load_val("data: {source: fake, rows: 20, validation: 0.25}", &root2, &tr2, &te2, &va2, &e),
                     AE_OK);
    ck_assert(tr2.n == 15 && va2.n == 5 && !memcmp(va.x, va2.x, 10 * sizeof *va.x)); /* same rows */
    free3(root, &tr, &te, &va);
    free3(root2, &tr2, &te2, &va2);
    /* after the test split; minmax fit on the training rows only */
    ck_assert_int_eq(load_val("data: {source: fake, rows: 20, test_fraction: 0.2, validation: 0.25, scaling: minmax}",
                              &root, &tr, &te, &va, &e), AE_OK);
    ck_assert(tr.n == 12 && te.n == 4 && va.n == 4);
    float lo, hi;
    ae_dataset_range(&tr, &lo, &hi);
    ck_assert(lo == 0.0f && hi == 1.0f);
    free3(root, &tr, &te, &va);
    /* absent: no rows held out, nothing written into the config */
    ck_assert_int_eq(load_val("data: {source: fake, rows: 20}", &root, &tr, &te, &va, &e), AE_OK);
    char *text = ae_cfg_emit_string(root);
    ck_assert_msg(va.n == 0 && tr.n == 20 && !strstr(text, "validation") && !strstr(text, "binarize"), "%s", text);
    free(text);
    free3(root, &tr, &te, &va);
}
END_TEST

static void expect_val_fail(const char *yaml, int with_val, const char *want1, const char *want2)
{
    ae_cfg *root;
    ae_dataset tr, te, va;
    ae_err e = {0};
    ck_assert_int_eq(load_val(yaml, &root, &tr, &te, with_val ? &va : NULL, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, want1) && (!want2 || strstr(e.msg, want2)), "message: %s", e.msg);
    ck_assert(tr.n == 0 && te.n == 0 && !tr.x && (!with_val || (va.n == 0 && !va.x)));
    ae_cfg_free(root);
}

START_TEST(validation_errors)
{
    const char *form = "expected a count of training rows (an integer >= 0) or a fraction of them in (0, 1)";
    expect_val_fail("data: {source: fake, rows: 20, validation: 1.5}", 1, "t.yaml:1:44: data.validation", form);
    expect_val_fail("data: {source: fake, rows: 20, validation: -3}", 1, "got '-3'", form);
    expect_val_fail("data: {source: fake, rows: 20, validation: 1.0}", 1, "got '1.0'", form);
    expect_val_fail("data: {source: fake, rows: 20, validation: many}", 1, "got 'many'", NULL);
    expect_val_fail("data: {source: fake, rows: 20, validation: [1]}", 1, "got 'a collection'", NULL);
    expect_val_fail("data: {source: fake, rows: 20, validation: 20}", 1,
                    "data.validation: 20 of the 20 training rows leaves no rows to train on", NULL);
    expect_val_fail("data: {source: fake, rows: 20, validation: 0.01}", 1,
                    "data.validation: 0 of the 20 training rows leaves no validation rows", NULL);
    expect_val_fail("data: {source: fake, rows: 20, validation: 5}", 0, "this caller takes no validation split",
                    NULL);
}
END_TEST

/* data.binarize: static draws the bits once (the same on every load, values 0/1, no transform left);
 * dynamic leaves probabilities and a key per split; values outside [0, 1] are an error at the key. */
START_TEST(binarize_keys)
{
    ae_cfg *root, *root2;
    ae_dataset tr, te, va, tr2, te2, va2;
    ae_err e = {0};
    const char *st = "data: {source: fake, rows: 40, test_rows: 10, scaling: minmax, binarize: static, validation: 8}";
    ck_assert_int_eq(load_val(st, &root, &tr, &te, &va, &e), AE_OK);
    ck_assert_int_eq(load_val(st, &root2, &tr2, &te2, &va2, &e), AE_OK);
    ck_assert(tr.binarize == AE_BINARIZE_NONE && te.binarize == AE_BINARIZE_NONE && va.binarize == AE_BINARIZE_NONE);
    size_t ones = 0;
    for (size_t i = 0; i < tr.n * tr.d; i++) {
        ck_assert(tr.x[i] == 0.0f || tr.x[i] == 1.0f);
        ones += tr.x[i] == 1.0f;
    }
    ck_assert(ones > 0 && ones < tr.n * tr.d);
    ck_assert(!memcmp(tr.x, tr2.x, tr.n * tr.d * sizeof *tr.x) && !memcmp(te.x, te2.x, te.n * te.d * sizeof *te.x) &&
              !memcmp(va.x, va2.x, va.n * va.d * sizeof *va.x));
    free3(root, &tr, &te, &va);
    free3(root2, &tr2, &te2, &va2);
    ck_assert_int_eq(load_val("data: {source: fake, rows: 40, test_rows: 10, scaling: minmax, binarize: dynamic, "
                              "validation: 8}", &root, &tr, &te, &va, &e), AE_OK);
    ck_assert(tr.binarize == AE_BINARIZE_DYNAMIC && te.binarize == AE_BINARIZE_DYNAMIC &&
              va.binarize == AE_BINARIZE_DYNAMIC);
    ck_assert(tr.draw_key != te.draw_key && te.draw_key != va.draw_key && tr.draw_key != va.draw_key);
    ck_assert(tr.x[3] > 0.0f && tr.x[3] < 1.0f); /* still the probabilities */
    free3(root, &tr, &te, &va);
    ck_assert_int_eq(load_val("data: {source: fake, rows: 4, scaling: minmax, binarize: none}", &root, &tr, &te, &va,
                              &e), AE_OK);
    ck_assert(tr.binarize == AE_BINARIZE_NONE && tr.x[3] > 0.0f && tr.x[3] < 1.0f);
    free3(root, &tr, &te, &va);
    expect_val_fail("data: {source: fake, rows: 4, binarize: dynamic}", 1, "t.yaml:1:41: data.binarize: needs "
                    "values in [0, 1]", "training rows lie in [0, 31] (with `data.scaling: none`)");
    expect_val_fail("data: {source: fake, rows: 2, scaling: minmax, test_rows: 4, binarize: static}", 1,
                    "test rows lie in [0, 3]", NULL);
    expect_val_fail("data: {source: fake, rows: 4, binarize: dynamc}", 1, "data.binarize", "dynamic");
}
END_TEST

/* The built-ins are registered sources with help; a registry takes a source of its own. */
START_TEST(registry_sources)
{
    const ae_registry *r = ae_test_registry();
    const char *const *names = ae_source_names(r);
    ck_assert(names[0] && !strcmp(names[0], "csv") && names[1] && !strcmp(names[1], "idx"));
    for (int i = 0; names[i]; i++) {
        const ae_source_ops *o = ae_find_source(r, names[i]);
        ck_assert(o && o->load && o->help && o->schema && o->schema->nkeys > 0);
    }
    const ae_key *path = ae_schema_key(ae_find_source(r, "csv")->schema, "path");
    ck_assert(path && path->kind == AE_KEY_STR && !path->def); /* required */
    ck_assert_ptr_nonnull(ae_schema_key(ae_find_source(r, "idx")->schema, "name"));
    ck_assert_ptr_nonnull(ae_schema_key(ae_find_source(r, "npy")->schema, "test_labels"));
    ck_assert_ptr_null(ae_find_source(r, "parquet"));
    ck_assert_str_eq(ae_find_source(r, "csv")->scaling, "standard");
    ck_assert_str_eq(ae_find_source(r, "idx")->scaling, "none");
    ae_registry *mine = ae_registry_new();
    ck_assert_int_eq(ae_register_source(mine, &fake_all), AE_OK);
    ck_assert_ptr_eq(ae_find_source(mine, "fake"), &fake_all);
    ck_assert_ptr_null(ae_find_source(r, "fake")); /* registries are independent */
    ck_assert_int_eq(ae_register_source(mine, &fake_none), AE_OK); /* a later registration replaces */
    ck_assert_ptr_eq(ae_find_source(mine, "fake"), &fake_none);
    ck_assert(ae_source_names(mine)[0] && !ae_source_names(mine)[1]);
    ae_registry_free(mine);
}
END_TEST

/* exclude_label and source through ae_data_head: the default written first, "did you mean" among
 * the given sources, a missing source says which there are; no data: nothing read. */
START_TEST(head_keys)
{
    static const char *const sources[] = {"csv", "idx", NULL};
    ae_err e = {0};
    long excl = 5;
    const char *source = "x";
    ck_assert_int_eq(ae_data_head(NULL, sources, &excl, &source, &e), AE_OK);
    ck_assert(excl == -1 && source == NULL);
    ae_cfg *root = ae_cfg_load_string("data: {source: idx}", "t.yaml", &e);
    ck_assert_ptr_nonnull(root);
    ae_cfg *d = ae_cfg_lookup(root, "data");
    ck_assert_int_eq(ae_data_head(d, sources, &excl, &source, &e), AE_OK);
    ck_assert(excl == -1 && !strcmp(source, "idx"));
    ck_assert_str_eq(ae_cfg_key_at(d, 1), "exclude_label");
    ae_cfg_free(root);
    root = ae_cfg_load_string("data: {source: csw, exclude_label: 2}", "t.yaml", &e);
    d = ae_cfg_lookup(root, "data");
    ck_assert_int_eq(ae_data_head(d, sources, &excl, &source, &e), AE_EINPUT);
    ck_assert_msg(excl == 2 && strstr(e.msg, "t.yaml:1:") && strstr(e.msg, "did you mean 'csv'?"), "%s", e.msg);
    ae_cfg_free(root);
    ae_err e2 = {0};
    root = ae_cfg_load_string("data: {exclude_label: 3}", "t.yaml", &e2);
    d = ae_cfg_lookup(root, "data");
    ck_assert_int_eq(ae_data_head(d, sources, &excl, &source, &e2), AE_EINPUT);
    ck_assert_int_eq(e2.kind, AE_KIND_MISSING_KEY);
    ck_assert_msg(strstr(e2.msg, "data: missing required key 'source' (one of: csv, idx)"), "%s", e2.msg);
    ae_cfg_free(root);
}
END_TEST

/* The csv source reads its keys through its schema: their defaults land in the resolved config in
 * the table's order after the shared ones (test_fraction: csv's), na_values stays absent. */
START_TEST(csv_keys_resolved)
{
    char yaml[700];
    char *dir = ae_test_tmpdir(), *path = dir ? ae_test_write(dir, "k.csv", "a,b\n1,2\n3,4\n5,6\n") : NULL;
    ck_assert_ptr_nonnull(path);
    snprintf(yaml, sizeof yaml, "data: {source: csv, path: '%s'}", path);
    ae_err e = {0};
    ae_cfg *root = ae_cfg_load_string(yaml, "t.yaml", &e);
    ck_assert_ptr_nonnull(root);
    ae_cfg *d = ae_cfg_lookup(root, "data");
    ae_dataset tr, te;
    const ae_registry *r = ae_test_registry();
    long excl;
    const char *source;
    ck_assert_int_eq(ae_data_head(d, ae_source_names(r), &excl, &source, &e), AE_OK);
    ck_assert_msg(ae_data_from_config(d, ae_find_source(r, source), NULL, 1, &tr, &te, NULL, &e) == AE_OK, "%s", e.msg);
    static const char *const want[] = {"source", "path", "exclude_label", "scaling", "test_fraction",
                                       "drop_columns", "dropna", "categorical", "label"};
    ck_assert_int_eq(ae_cfg_len(d), 9);
    for (size_t i = 0; i < 9; i++) ck_assert_str_eq(ae_cfg_key_at(d, i), want[i]);
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(d, "label")), "");
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(d, "scaling")), "standard");
    ck_assert(tr.n == 3 && tr.d == 2);
    ae_dataset_free(&tr);
    ae_dataset_free(&te);
    ae_cfg_free(root);
    ae_test_rm_rf(dir);
    free(path);
    free(dir);
}
END_TEST

int main(void)
{
    const TTest *tests[] = {limits_cut_both_splits, test_fraction_splits_rows, shared_errors, defaults_and_scaling,
                            validation_split, validation_errors, binarize_keys, registry_sources, head_keys,
                            csv_keys_resolved};
    Suite *s = suite_create("data_source");
    TCase *tc = tcase_create("data_source");
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
