/* Tests for the csv source's tabular options through the registry and ae_data_from_config: one-hot
 * columns (names, sorted list from the kept rows, saved into the resolved config, unknown category),
 * delimiter (given, auto, bad), nan/inf cells as missing values, data.limit, the path rules
 * (next to the config first, the key rewritten to an absolute path, every place tried listed), and
 * data.column_scaling. */
#include "ae_data.h"
#include "ae_registry.h"
#include "ae_test.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir; /* a fresh folder per test: the config and the data live here */

static void setup(void) { dir = ae_test_tmpdir(); }
static void teardown(void)
{
    ae_test_rm_rf(dir);
    free(dir);
}

/* Writes cfg.yaml (data section `data`) and runs it through the csv source; the tree in *root. */
static int run(const char *data, ae_cfg **root, ae_dataset *tr, ae_dataset *te, ae_err *e)
{
    char yaml[2048];
    memset(e, 0, sizeof *e);
    snprintf(yaml, sizeof yaml, "data: %s\n", data);
    char *p = ae_test_write(dir, "cfg.yaml", yaml);
    *root = ae_cfg_load_file(p, e);
    free(p);
    ck_assert_msg(*root != NULL, "%s", e->msg);
    ae_cfg *d = ae_cfg_lookup(*root, "data");
    ae_cfg_get(d, "source");
    return ae_data_from_config(d, ae_find_source(ae_test_registry(), "csv"), NULL, 7, tr, te, NULL, e);
}

/* Runs a data map given as text (not from a file) through the csv source. */
static int run_map(const char *text, ae_cfg **root, ae_dataset *tr, ae_dataset *te, ae_err *e)
{
    memset(e, 0, sizeof *e);
    *root = ae_cfg_load_string(text, "<mem>", e);
    ck_assert_msg(*root != NULL, "%s", e->msg);
    ae_cfg_get(*root, "source");
    return ae_data_from_config(*root, ae_find_source(ae_test_registry(), "csv"), NULL, 7, tr, te, NULL, e);
}

static void put(const char *name, const char *text) { free(ae_test_write(dir, name, text)); }

static void done(ae_cfg *root, ae_dataset *tr, ae_dataset *te)
{
    ae_dataset_free(tr);
    ae_dataset_free(te);
    ae_cfg_free(root);
}

static const char *const town_csv = "Town,t,y\nSyd,1,No\nAlb,2,Yes\nMel,NA,No\nSyd,4,Yes\nAlb,5,No\n";

START_TEST(onehot_columns_and_saved_list)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    put("t.csv", town_csv);
    ck_assert_int_eq(run("{source: csv, path: t.csv, scaling: none, dropna: any, label: y, "
                         "categorical: {Town: onehot, y: {\"No\": 0, \"Yes\": 1}}}", &root, &tr, &te, &e), AE_OK);
    /* Mel's only row has a missing value: the list is Alb, Syd (sorted, kept rows) */
    ck_assert_uint_eq(tr.n, 4);
    ck_assert_uint_eq(tr.d, 3);
    ck_assert_str_eq(tr.columns[0], "Town=Alb");
    ck_assert_str_eq(tr.columns[1], "Town=Syd");
    ck_assert_str_eq(tr.columns[2], "t");
    static const float want[] = {0, 1, 1, 1, 0, 2, 0, 1, 4, 1, 0, 5};
    for (size_t i = 0; i < 12; i++) ck_assert_float_eq(tr.x[i], want[i]);
    ck_assert_int_eq(tr.label[1], 1);
    char *text = ae_cfg_emit_string(root);
    ck_assert_ptr_nonnull(strstr(text, "onehot: [\"Alb\", \"Syd\"]"));
    done(root, &tr, &te);
    /* the resolved config runs again the same way; a category outside its list is an error */
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "%s", strstr(text, "data:\n") + 6);
    free(text);
    put("t.csv", "Town,t,y\nSyd,1,No\nAlb,2,Yes\nSyd,4,Yes\nAlb,5,No\n");
    ae_cfg *r2;
    ck_assert_int_eq(run_map(cfg, &r2, &tr, &te, &e), AE_OK);
    ck_assert_uint_eq(tr.d, 3);
    ck_assert_str_eq(tr.columns[1], "Town=Syd");
    ae_dataset_free(&tr);
    put("t.csv", "Town,t,y\nSyd,1,No\nPer,2,Yes\n");
    ae_cfg_free(r2);
    ck_assert_int_eq(run_map(cfg, &r2, &tr, &te, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, "t.csv:3: column 'Town': unknown category 'Per'") &&
                  strstr(e.msg, "onehot lists 2: Alb, Syd"), "%s", e.msg);
    ae_cfg_free(r2);
}
END_TEST

START_TEST(onehot_errors)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    put("t.csv", town_csv);
    ck_assert_int_eq(run("{source: csv, path: t.csv, dropna: any, label: y, categorical: {y: onehot}}", &root,
                         &tr, &te, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, "label column 'y' cannot be one-hot encoded"), "%s", e.msg);
    done(root, &tr, &te);
    ck_assert_int_eq(run("{source: csv, path: t.csv, categorical: {Town: {onehot: []}}}", &root, &tr, &te, &e),
                     AE_EINPUT);
    ck_assert_msg(strstr(e.msg, "cfg.yaml:1:") && strstr(e.msg, "expected a non-empty list"), "%s", e.msg);
    done(root, &tr, &te);
    ck_assert_int_eq(run("{source: csv, path: t.csv, categorical: {Town: twohot}}", &root, &tr, &te, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, "data.categorical.Town: expected a map") && strstr(e.msg, "or onehot"), "%s", e.msg);
    done(root, &tr, &te);
}
END_TEST

START_TEST(delimiters)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    put("s.csv", "a;b;\"c;d\"\n1,5;2;3\n");
    ck_assert_int_eq(run("{source: csv, path: s.csv, scaling: none, delimiter: auto}", &root, &tr, &te, &e),
                     AE_EINPUT); /* ';' found; "1,5" is not a number */
    ck_assert_msg(strstr(e.msg, "column 'a': not a number: '1,5'"), "%s", e.msg);
    done(root, &tr, &te);
    put("s.csv", "a;b;\"c,d\"\n1;2;3\n");
    ck_assert_int_eq(run("{source: csv, path: s.csv, scaling: none, delimiter: auto}", &root, &tr, &te, &e), AE_OK);
    ck_assert_uint_eq(tr.d, 3);
    ck_assert_str_eq(tr.columns[2], "c,d");
    done(root, &tr, &te);
    put("tab.csv", "a\tb\n1\t2\n");
    ck_assert_int_eq(run("{source: csv, path: tab.csv, scaling: none, delimiter: \"\\t\"}", &root, &tr, &te, &e),
                     AE_OK);
    ck_assert_uint_eq(tr.d, 2);
    ck_assert_float_eq(tr.x[1], 2);
    done(root, &tr, &te);
    ck_assert_int_eq(run("{source: csv, path: tab.csv, scaling: none, delimiter: auto}", &root, &tr, &te, &e), AE_OK);
    ck_assert_uint_eq(tr.d, 2);
    done(root, &tr, &te);
    /* without the key: ',' as always (the tab file is one column) */
    ck_assert_int_eq(run("{source: csv, path: tab.csv, scaling: none}", &root, &tr, &te, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, "column 'a\tb': not a number"), "%s", e.msg);
    done(root, &tr, &te);
    ck_assert_int_eq(run("{source: csv, path: tab.csv, delimiter: ';;'}", &root, &tr, &te, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, "cfg.yaml:1:") && strstr(e.msg, "data.delimiter: expected one character"), "%s",
                  e.msg);
    done(root, &tr, &te);
}
END_TEST

START_TEST(nan_inf_as_missing)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    put("n.csv", "a,b\n1,nan\n2,NaN\n3,-inf\n4,Infinity\n5,6\n");
    ck_assert_int_eq(run("{source: csv, path: n.csv, scaling: none, dropna: any}", &root, &tr, &te, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, "n.csv:2: column 'b': not a number: 'nan'"), "%s", e.msg);
    done(root, &tr, &te);
    ck_assert_int_eq(run("{source: csv, path: n.csv, scaling: none, dropna: any, na_values: [nan, inf]}", &root, &tr,
                         &te, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 1);
    ck_assert_float_eq(tr.x[0], 5);
    done(root, &tr, &te);
    ck_assert_int_eq(run("{source: csv, path: n.csv, scaling: none, dropna: any, na_values: [nan, \"+inf\"]}", &root,
                         &tr, &te, &e), AE_EINPUT); /* -inf is not listed */
    ck_assert_msg(strstr(e.msg, "n.csv:4: column 'b': not a number: '-inf'"), "%s", e.msg);
    done(root, &tr, &te);
    ck_assert_int_eq(run("{source: csv, path: n.csv, scaling: none, na_values: [nan]}", &root, &tr, &te, &e),
                     AE_EINPUT);
    ck_assert_msg(strstr(e.msg, "n.csv:2: column 'b': missing value 'nan'"), "%s", e.msg);
    done(root, &tr, &te);
}
END_TEST

START_TEST(limit_keeps_first_rows)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    put("l.csv", "a\n1\n2\n3\n4\n5\n");
    ck_assert_int_eq(run("{source: csv, path: l.csv, scaling: none, limit: 3}", &root, &tr, &te, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 3);
    ck_assert_float_eq(tr.x[2], 3);
    done(root, &tr, &te);
}
END_TEST

START_TEST(paths_next_to_config)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    char sub[4096], cwd[4096], want[4200];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(sub, sizeof sub, "%s/sub", dir);
    put("x.csv", "a\n1\n2\n");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert_int_eq(chdir(sub), 0); /* not the config's folder */
    ck_assert_int_eq(run("{source: csv, path: x.csv, scaling: none}", &root, &tr, &te, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 2);
    snprintf(want, sizeof want, "%s/x.csv", dir);
    char real[4096];
    ck_assert_ptr_nonnull(realpath(want, real));
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(root, "data.path")), real); /* travels */
    done(root, &tr, &te);
    setenv("AELAB_DATA", "/nonexistent-a:/nonexistent-b", 1);
    ck_assert_int_eq(run("{source: csv, path: y.csv}", &root, &tr, &te, &e), AE_EINPUT);
    snprintf(want, sizeof want, "tried, in order: %s/y.csv, ./y.csv, /nonexistent-a/y.csv, /nonexistent-b/y.csv;",
             dir);
    ck_assert_msg(strstr(e.msg, want) && strstr(e.msg, "cfg.yaml:1:") && strstr(e.msg, "data.path"), "%s", e.msg);
    done(root, &tr, &te);
    /* found on the search path: kept as written */
    setenv("AELAB_DATA", dir, 1);
    ck_assert_int_eq(chdir("/"), 0);
    ae_cfg *r2;
    ck_assert_int_eq(run_map("{source: csv, path: x.csv, scaling: none}", &r2, &tr, &te, &e), AE_OK);
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(r2, "path")), "x.csv");
    ae_dataset_free(&tr);
    ae_cfg_free(r2);
    unsetenv("AELAB_DATA");
    ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

/* data.column_scaling: minmax / none / standard per column (a one-hot name covers its columns), each fit
 * on the training rows and applied to the test rows with the training rows' numbers. */
START_TEST(column_scaling_per_column)
{
    ae_cfg *root;
    ae_dataset raw, rawt, tr, te;
    ae_err e = {0};
    put("s.csv", "Town,t,u,v\nSyd,1,10,3\nAlb,2,20,5\nMel,4,30,4\nSyd,8,40,9\nAlb,16,50,1\nSyd,3,60,2\n"
                 "Mel,5,70,7\nAlb,6,80,8\n");
    const char *common = "source: csv, path: s.csv, test_fraction: 0.25, categorical: {Town: onehot}";
    char cfg[512];
    snprintf(cfg, sizeof cfg, "{%s, scaling: none}", common);
    ck_assert_int_eq(run(cfg, &root, &raw, &rawt, &e), AE_OK);
    ae_cfg_free(root);
    snprintf(cfg, sizeof cfg, "{%s, scaling: standard, column_scaling: {t: minmax, u: none, Town: none}}", common);
    ck_assert_msg(run(cfg, &root, &tr, &te, &e) == AE_OK, "%s", e.msg);
    ck_assert_uint_eq(tr.d, 6); /* Town=Alb, Town=Mel, Town=Syd, t, u, v */
    ck_assert_uint_eq(te.n, rawt.n);
    double lo = INFINITY, hi = -INFINITY, mean = 0, var = 0;
    for (size_t i = 0; i < raw.n; i++) {
        lo = fmin(lo, raw.x[i * 6 + 3]);
        hi = fmax(hi, raw.x[i * 6 + 3]);
        mean += raw.x[i * 6 + 5];
    }
    mean /= (double)raw.n;
    for (size_t i = 0; i < raw.n; i++) var += (raw.x[i * 6 + 5] - mean) * (raw.x[i * 6 + 5] - mean);
    double sd = sqrt(var / (double)raw.n);
    const ae_dataset *got[2] = {&tr, &te}, *src[2] = {&raw, &rawt};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < got[s]->n; i++) {
            const float *g = got[s]->x + i * 6, *r = src[s]->x + i * 6;
            for (int j = 0; j < 3; j++) ck_assert_float_eq(g[j], r[j]); /* one-hot: none */
            ck_assert_float_eq(g[4], r[4]);                              /* u: none */
            /* t: minmax and v: standard, with the training rows' numbers (the test rows too); a
             * difference of a few float roundings of values below 10 */
            ck_assert_float_eq_tol(g[3], (float)((r[3] - lo) / (hi - lo)), 4 * FLT_EPSILON * 10);
            ck_assert_float_eq_tol(g[5], (float)((r[5] - mean) / sd), 4 * FLT_EPSILON * 10);
        }
    char *text = ae_cfg_emit_string(root);
    ck_assert_msg(strstr(text, "column_scaling:") && strstr(text, "Town: none"), "%s", text);
    free(text);
    done(root, &tr, &te);
    ae_dataset_free(&raw);
    ae_dataset_free(&rawt);
}
END_TEST

int main(void)
{
    unsetenv("AELAB_DATA");
    Suite *s = suite_create("data_tabular");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    const TTest *tests[] = {onehot_columns_and_saved_list, onehot_errors, delimiters, nan_inf_as_missing,
                            limit_keeps_first_rows, paths_next_to_config, column_scaling_per_column};
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
