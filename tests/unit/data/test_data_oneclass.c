/* The one-class split (data.normal_labels, and exclude_label as its special case) through
 * ae_data_from_config with a fake source: which rows the training split keeps (before the scaling
 * fit and the validation hold-out), the test split kept whole, the errors; and scaling: gcn_l1
 * (global contrast normalization with the L1 norm, then min-max over the training rows) on
 * hand-computed rows. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "ae_test.h"

/* `rows` training rows (row i: 10i, 10i + 1; label i % 3) and `test_rows` test rows alike; no labels
 * with `labels: false`. */
static int fake_load(ae_cfg *d, const ae_source_req *req, ae_dataset *train, ae_dataset *test, ae_err *err)
{
    long n[2];
    int labels;
    (void)req;
    if (ae_cfg_int(d, "rows", 12, 0, 1000, &n[0], err) || ae_cfg_int(d, "test_rows", 6, 0, 1000, &n[1], err) ||
        ae_cfg_bool(d, "labels", 1, &labels, err))
        return err->code;
    ae_dataset *sets[2] = {train, test};
    for (int s = 0; s < 2 && n[s]; s++) {
        ae_dataset *ds = sets[s];
        ds->n = (size_t)n[s], ds->d = 2, ds->c = ds->h = 1, ds->w = 2;
        ds->x = malloc(ds->n * 2 * sizeof *ds->x);
        ds->label = labels ? malloc(ds->n * sizeof *ds->label) : NULL;
        ck_assert(ds->x);
        for (size_t i = 0; i < ds->n; i++) {
            ds->x[2 * i] = (float)(10 * i), ds->x[2 * i + 1] = (float)(10 * i + 1);
            if (labels) ds->label[i] = (int)(i % 3);
        }
        ds->n_classes = labels ? 3 : 0;
    }
    return AE_OK;
}

static const ae_source_ops fake = {.name = "fake", .help = "test source", .scaling = "none",
                                   .defaults = AE_SOURCE_DEFAULTS_ALL, .load = fake_load};

static int load(const char *yaml, ae_cfg **root, ae_dataset *tr, ae_dataset *te, ae_dataset *va, ae_err *e)
{
    *root = ae_cfg_load_string(yaml, "t.yaml", e);
    ck_assert_msg(*root != NULL, "%s", e->msg);
    ae_cfg *d;
    ck_assert_int_eq(ae_cfg_map(*root, "data", 0, &d, e), AE_OK);
    ae_cfg_allow(d, "source");
    ae_cfg_allow(d, "exclude_label"); /* the run's key */
    return ae_data_from_config(d, &fake, NULL, 7, tr, te, va, e);
}

static void free_all(ae_cfg *root, ae_dataset *tr, ae_dataset *te, ae_dataset *va)
{
    ae_dataset_free(tr);
    ae_dataset_free(te);
    if (va) ae_dataset_free(va);
    ae_cfg_free(root);
}

START_TEST(normal_labels_keep_those_rows)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    /* labels 0 1 2 0 1 2 ...: class 1 is rows 1, 4, 7, 10 */
    ck_assert_int_eq(load("data: {source: fake, normal_labels: [1]}", &root, &tr, &te, NULL, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 4);
    ck_assert_uint_eq(te.n, 6); /* the test split keeps every class */
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(tr.label[i], 1);
        ck_assert_float_eq(tr.x[2 * i], (float)(10 * (3 * i + 1)));
    }
    free_all(root, &tr, &te, NULL);
    /* two normal classes, and a single class given as a scalar */
    ck_assert_int_eq(load("data: {source: fake, normal_labels: [2, 0]}", &root, &tr, &te, NULL, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 8);
    for (size_t i = 0; i < tr.n; i++) ck_assert_int_ne(tr.label[i], 1);
    ck_assert_float_eq(tr.x[2], 20.0f); /* rows 0, 2, 3, 5, ... in order */
    free_all(root, &tr, &te, NULL);
    ck_assert_int_eq(load("data: {source: fake, normal_labels: 0}", &root, &tr, &te, NULL, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 4);
    free_all(root, &tr, &te, NULL);
}
END_TEST

/* The scaling is fit on the normal rows only, and the validation rows come from them. */
START_TEST(normal_labels_before_scaling_and_validation)
{
    ae_cfg *root;
    ae_dataset tr, te, va;
    ae_err e = {0};
    ck_assert_int_eq(load("data: {source: fake, normal_labels: [1], scaling: minmax}", &root, &tr, &te, NULL, &e),
                     AE_OK);
    /* column 0 of the class-1 rows: 10, 40, 70, 100 -> 0, 1/3, 2/3, 1; test row 0 (x = 0): -10/90 */
    ck_assert_float_eq(tr.x[0], 0.0f);
    ck_assert_float_eq(tr.x[6], 1.0f);
    ck_assert_float_eq(te.x[0], (float)(-10.0 / 90.0));
    free_all(root, &tr, &te, NULL);
    ck_assert_int_eq(load("data: {source: fake, normal_labels: [1], validation: 2}", &root, &tr, &te, &va, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 2);
    ck_assert_uint_eq(va.n, 2);
    for (size_t i = 0; i < 2; i++) ck_assert(tr.label[i] == 1 && va.label[i] == 1);
    free_all(root, &tr, &te, &va);
}
END_TEST

static void expect_fail(const char *yaml, const char *want1, const char *want2)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load(yaml, &root, &tr, &te, NULL, &e), AE_EINPUT);
    ck_assert_msg(strstr(e.msg, want1) && (!want2 || strstr(e.msg, want2)), "message: %s", e.msg);
    ck_assert(tr.n == 0 && te.n == 0);
    ae_cfg_free(root);
}

START_TEST(normal_labels_errors)
{
    expect_fail("data: {source: fake, labels: false, normal_labels: [0]}", "t.yaml:1:", "no labels");
    expect_fail("data: {source: fake, normal_labels: [5]}", "class 5 does not occur", "0..2");
    expect_fail("data: {source: fake, normal_labels: [0], exclude_label: 1}", "data.normal_labels",
                "not both");
    expect_fail("data: {source: fake, test_rows: 0, normal_labels: [0]}", "needs labels and a test split", NULL);
    expect_fail("data: {source: fake, normal_labels: [0, 1, 2]}", "no class is left as the anomaly", NULL);
    expect_fail("data: {source: fake, normal_labels: []}", "the list is empty", NULL);
    expect_fail("data: {source: fake, normal_labels: [1, 1]}", "listed twice", NULL);
    expect_fail("data: {source: fake, normal_labels: [-1]}", "data.normal_labels", NULL);
    expect_fail("data: {source: fake, normal_labels: {a: 1}}", "expected a class or a list", NULL);
    expect_fail("data: {source: fake, test_rows: 1, normal_labels: [0]}", "holds no anomaly", NULL);
    expect_fail("data: {source: fake, test_rows: 1, normal_labels: [1]}", "holds no row of a normal class", NULL);
}
END_TEST

/* exclude_label: k is normal_labels: every other class; the run applies it after the scaling. */
START_TEST(exclude_label_is_the_inverse)
{
    ae_cfg *root;
    ae_dataset tr, te;
    ae_err e = {0};
    ck_assert_int_eq(load("data: {source: fake, exclude_label: 1}", &root, &tr, &te, NULL, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 12); /* not applied by ae_data_from_config */
    ae_oneclass oc;
    ck_assert_int_eq(ae_oneclass_read(ae_cfg_get(root, "data"), &oc, &e), AE_OK);
    ck_assert(oc.excluded && oc.n == 1 && oc.classes[0] == 1);
    ck_assert(!ae_oneclass_is_anomaly(&oc, 0) && ae_oneclass_is_anomaly(&oc, 1) && !ae_oneclass_is_anomaly(&oc, 2));
    ck_assert_int_eq(ae_oneclass_split(&oc, &tr, &te, &e), AE_OK);
    ck_assert_uint_eq(tr.n, 8);
    for (size_t i = 0; i < tr.n; i++) ck_assert_int_ne(tr.label[i], 1);
    ae_oneclass_free(&oc);
    free_all(root, &tr, &te, NULL);
}
END_TEST

START_TEST(gcn_l1_rows)
{
    float x[12] = {1, 2, 3, 6, 0, 0, 0, 4, 5, 5, 5, 5};
    ae_dataset ds = {.n = 3, .d = 4, .c = 1, .h = 1, .w = 4, .x = x};
    ae_gcn_l1(&ds);
    /* row 0: mean 3, |deviations| 2 1 0 3, mean 1.5; row 1: mean 1, 1 1 1 3, 1.5; row 2: constant */
    const double want[12] = {-2 / 1.5, -1 / 1.5, 0, 3 / 1.5, -1 / 1.5, -1 / 1.5, -1 / 1.5, 3 / 1.5, 0, 0, 0, 0};
    for (int i = 0; i < 12; i++) ck_assert_float_eq(x[i], (float)want[i]);
    float a[8] = {1, 2, 3, 6, 0, 0, 0, 4}, b[4] = {5, 5, 5, 5}, c[4] = {0, 0, 0, 8};
    ae_dataset tr = {.n = 2, .d = 4, .c = 1, .h = 1, .w = 4, .x = a}, te = tr, va = tr;
    te.n = 1, te.x = b, va.n = 1, va.x = c;
    ae_err e = {0};
    ck_assert_int_eq(ae_scale_gcn_l1(&tr, &te, &va, &e), AE_OK);
    /* min -4/3 and max 2 over the training rows: (v + 4/3) / (10/3) */
    float lo = (float)(-2 / 1.5), hi = 2.0f;
    double range = (double)hi - lo;
    ck_assert_float_eq(a[0], 0.0f);
    ck_assert_float_eq(a[3], 1.0f);
    ck_assert_float_eq(a[4], (float)(((double)(float)(-1 / 1.5) - lo) / range));
    ck_assert_float_eq(b[0], (float)((0.0 - lo) / range)); /* a constant test row: 0.4 */
    /* validation row 0 0 0 8: mean 2, mad 3: -2/3 ... 2 */
    ck_assert_float_eq(c[3], (float)(((double)(float)(6.0 / 3.0) - lo) / range));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data_oneclass");
    TCase *t = tcase_create("data_oneclass");
    tcase_add_test(t, normal_labels_keep_those_rows);
    tcase_add_test(t, normal_labels_before_scaling_and_validation);
    tcase_add_test(t, normal_labels_errors);
    tcase_add_test(t, exclude_label_is_the_inverse);
    tcase_add_test(t, gcn_l1_rows);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
