/* Tests for the data module's CSV side: CSV (plain/gz, quoting, cleaning, every error), scaling,
 * split, take, and the real weatherAUS file when it is present (IDX and the search path:
 * test_data_idx.c). */
#include "ae_data.h"
#include "ae_test.h"
#include "data_fixture.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AELAB_SOURCE_DIR
#define AELAB_SOURCE_DIR "."
#endif

/* Loads text as dir/t.csv with options o. */
static int load_text(const char *text, const ae_csv_opts *o, ae_dataset *ds, ae_err *e)
{
    return ae_csv_load(write_file("t.csv", text, strlen(text), 0), o, ds, e);
}

static const char *const yn_keys[] = {"No", "Yes"};
static const double yn_vals[] = {0, 1};

START_TEST(csv_plain_and_gzip)
{
    const char *text = "a,b,c\n1,2,3\n4.5,-5e-1,6\n";
    for (int gz = 0; gz < 2; gz++) {
        ae_dataset ds;
        ae_err e = {0};
        const char *p = write_file(gz ? "g.csv.gz" : "p.csv", text, strlen(text), gz);
        ck_assert_int_eq(ae_csv_load(p, NULL, &ds, &e), AE_OK);
        ck_assert(ds.n == 2 && ds.d == 3 && ds.c == 1 && ds.h == 1 && ds.w == 3);
        ck_assert(ds.label == NULL && ds.n_classes == 0 && ds.label_name == NULL);
        ck_assert_str_eq(ds.columns[2], "c");
        const float want[] = {1, 2, 3, 4.5f, -0.5f, 6};
        for (int i = 0; i < 6; i++) ck_assert_float_eq(ds.x[i], want[i]);
        ae_dataset_free(&ds);
        ck_assert_ptr_null(ds.x);
    }
}
END_TEST

START_TEST(csv_quoting_crlf_blank_bom)
{
    ae_dataset ds;
    ae_err e = {0};
    const char *text = "\xEF\xBB\xBF\"a,b\",\"q\"\"x\",c\r\n\"1.5\",\"2\",3\r\n\r\n4,5,\"6\"\r\n7,8,9";
    ck_assert_int_eq(load_text(text, NULL, &ds, &e), AE_OK);
    ck_assert_uint_eq(ds.n, 3);
    ck_assert_str_eq(ds.columns[0], "a,b");
    ck_assert_str_eq(ds.columns[1], "q\"x");
    ck_assert(ds.x[0] == 1.5f && ds.x[5] == 6 && ds.x[8] == 9);
    ae_dataset_free(&ds);
    /* a quoted newline in a dropped column: later line numbers still count it */
    const char *drop[] = {"name"};
    ae_csv_opts o = {.drop_columns = drop, .n_drop = 1};
    expect_err(load_text("name,v\n\"two\nlines\",1\nx,abc\n", &o, &ds, &e), &e, AE_EINPUT,
               "t.csv:4: column 'v': not a number: 'abc'", NULL);
    ck_assert_int_eq(load_text("a;b\n1;2\n", &(ae_csv_opts){.delimiter = ';'}, &ds, &e), AE_OK);
    ck_assert(ds.d == 2 && ds.x[1] == 2);
    ae_dataset_free(&ds);
}
END_TEST

START_TEST(csv_clean_maps_label)
{
    const char *text = "Date,Temp,RainToday,Rain\n"
                       "d1,1.5,No,Yes\n"
                       "d2,NA,Yes,No\n"
                       "d3,2.5,,No\n"
                       "d4,3.5,Yes,No\n";
    const char *drop[] = {"Date"};
    ae_csv_map maps[] = {{"RainToday", 2, yn_keys, yn_vals, 0}, {"Rain", 2, yn_keys, yn_vals, 0}};
    ae_csv_opts o = {.drop_columns = drop, .n_drop = 1, .dropna_any = 1, .maps = maps,
                     .n_maps = 2, .label = "Rain"};
    ae_dataset ds;
    ae_err e = {0};
    ck_assert_int_eq(load_text(text, &o, &ds, &e), AE_OK);
    ck_assert(ds.n == 2 && ds.d == 2);
    ck_assert_str_eq(ds.columns[0], "Temp");
    ck_assert_str_eq(ds.columns[1], "RainToday");
    ck_assert_str_eq(ds.label_name, "Rain");
    const float want[] = {1.5f, 0, 3.5f, 1};
    for (int i = 0; i < 4; i++) ck_assert_float_eq(ds.x[i], want[i]);
    ck_assert(ds.label[0] == 1 && ds.label[1] == 0 && ds.n_classes == 2);
    ae_dataset_free(&ds);
    /* custom NA values; numeric labels give n_classes = max + 1 */
    const char *na[] = {"?"};
    ae_csv_opts o2 = {.dropna_any = 1, .na_values = na, .n_na = 1, .label = "y"};
    ck_assert_int_eq(load_text("x,y\n1,0\n?,5\n2,2\n", &o2, &ds, &e), AE_OK);
    ck_assert(ds.n == 2 && ds.d == 1 && ds.label[1] == 2 && ds.n_classes == 3);
    ae_dataset_free(&ds);
    expect_err(load_text("x,y\n1,0\nNA,5\n", &o2, &ds, &e), &e, AE_EINPUT,
               "t.csv:3: column 'x': not a number: 'NA'", NULL);
    expect_err(load_text("x,y\n1,1.5\n", &o2, &ds, &e), &e, AE_EINPUT,
               "t.csv:2: label column 'y'", "'1.5'", NULL);
    expect_err(load_text("x,y\n1,-1\n", &o2, &ds, &e), &e, AE_EINPUT, "t.csv:2:",
               "not a class index", NULL);
}
END_TEST

/* One CSV error case: text, options, substrings the message must contain. */
static void csv_error(const char *text, const ae_csv_opts *o, const char *a, const char *b)
{
    ae_dataset ds;
    ae_err e = {0};
    expect_err(load_text(text, o, &ds, &e), &e, AE_EINPUT, a, b, NULL);
    ck_assert_ptr_null(ds.x);
}

START_TEST(csv_errors)
{
    ae_csv_opts none = {0}, dropna = {.dropna_any = 1};
    csv_error("", &none, "t.csv:1: empty file", NULL);
    csv_error("a,b\n", &none, "t.csv:2: no data rows", "header only");
    csv_error("a,b,c\n1,2,3\n1,2\n", &none, "t.csv:3: row has 2 fields, header has 3", NULL);
    csv_error("a,b,c\n1,2,3,4\n", &none, "t.csv:2: row has 4 fields, header has 3", NULL);
    csv_error("Temp,b\n1,2\nabc,3\n", &none, "t.csv:3: column 'Temp': not a number: 'abc'", NULL);
    csv_error("a\n1x\n", &none, "t.csv:2: column 'a': not a number: '1x'", NULL);
    csv_error("a\ninf\n", &none, "not a number: 'inf'", NULL);
    csv_error("a\n0x10\n", &none, "not a number: '0x10'", NULL);
    csv_error("a\n1e999\n", &none, "not a number", NULL);
    csv_error("a\n1e300\n", &none, "t.csv:2: column 'a': value out of float32 range", NULL);
    csv_error("Temp,b\n1,2\nNA,3\n", &none, "t.csv:3: column 'Temp': missing value 'NA'", "dropna");
    csv_error("Temp,b\n1,\n", &none, "t.csv:2: column 'b': missing value (empty cell)", NULL);
    csv_error("a,b\n1,NA\n2,\n", &dropna, "t.csv: column 'b' has no values (all NA)", NULL);
    csv_error("a,b\n1,NA\nNA,2\n", &dropna, "no rows left after dropna", "all 2 rows");
    csv_error("a,b\n\"1,2\n", &none, "t.csv:2: unterminated quoted field", NULL);
    csv_error("a,b\n\"1\"x,2\n", &none, "t.csv:2: field 1: unexpected text after closing quote",
              NULL);
    csv_error("a,b,a\n1,2,3\n", &none, "t.csv:1: duplicate column name 'a'", NULL);
    const char *drop[] = {"Tmp"}, *drop2[] = {"zzzzzz"}, *drop3[] = {"b"};
    ae_csv_opts o = {.drop_columns = drop, .n_drop = 1};
    csv_error("Temp,b\n1,2\n", &o, "t.csv:1: drop_columns: unknown column 'Tmp'",
              "did you mean 'Temp'?");
    o.drop_columns = drop2;
    csv_error("Temp,b\n1,2\n", &o, "unknown column 'zzzzzz'", "(columns: Temp, b)");
    ae_csv_opts ol = {.label = "Lab"};
    csv_error("Temp,b\n1,2\n", &ol, "t.csv:1: label: unknown column 'Lab'", NULL);
    ae_csv_opts old = {.drop_columns = drop3, .n_drop = 1, .label = "b"};
    csv_error("Temp,b\n1,2\n", &old, "label column 'b' is also in drop_columns", NULL);
    ae_csv_map m = {"RainToday", 2, yn_keys, yn_vals, 0};
    ae_csv_opts om = {.maps = &m, .n_maps = 1};
    csv_error("RainToday\nYes\nMaybe\n", &om,
              "t.csv:3: column 'RainToday': unknown category 'Maybe' (expected one of: No, Yes)",
              NULL);
    csv_error("Rain\nYes\n", &om, "t.csv:1: maps: unknown column 'RainToday'", NULL);
    ae_dataset ds;
    ck_assert_int_eq(load_text("a\nx\n", NULL, &ds, NULL), AE_EINPUT); /* err may be NULL */
    ck_assert_int_eq(load_text("a\n1\n", &o, &ds, NULL), AE_EINPUT);
    /* missing file: path and strerror */
    ae_err e = {0};
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/nope.csv", dir);
    expect_err(ae_csv_load(missing, NULL, &ds, &e), &e, AE_EINPUT, missing, "cannot open",
               "No such file or directory", NULL);
    /* a truncated gzip stream */
    char text[20000];
    size_t len = (size_t)snprintf(text, sizeof text, "a,b\n");
    for (int i = 0; len < sizeof text - 32; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d,%d\n", i, i * 7919 % 1000);
    FILE *f = fopen(write_file("c.csv.gz", text, len, 1), "rb");
    unsigned char buf[40000];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    expect_err(ae_csv_load(write_file("cut.csv.gz", buf, n / 2, 0), NULL, &ds, &e), &e,
               AE_EINPUT, "cut.csv.gz: read error", NULL);
}
END_TEST

/* n x d table with x = 10*i + j, label = i, columns c0.. */
static void make_table(ae_dataset *ds, size_t n, size_t d)
{
    *ds = (ae_dataset){.n = n, .d = d, .c = 1, .h = 1, .w = (int)d, .n_classes = (int)n};
    ds->x = malloc(n * d * sizeof *ds->x);
    ds->label = malloc(n * sizeof *ds->label);
    ds->columns = malloc(d * sizeof *ds->columns);
    for (size_t j = 0; j < d; j++) {
        char name[24];
        snprintf(name, sizeof name, "c%zu", j);
        ds->columns[j] = strdup(name);
    }
    for (size_t i = 0; i < n; i++) {
        ds->label[i] = (int)i;
        for (size_t j = 0; j < d; j++) ds->x[i * d + j] = (float)(i * 10 + j);
    }
}

START_TEST(scale_standard_minmax)
{
    ae_dataset a, b;
    make_table(&a, 4, 3);
    for (int i = 0; i < 4; i++) {
        a.x[i * 3 + 0] = (float)(i + 1); /* 1 2 3 4: mean 2.5, population std sqrt(1.25) */
        a.x[i * 3 + 1] = 5;              /* constant */
        a.x[i * 3 + 2] = 0.1f;           /* constant, but its double mean is not exactly 0.1f */
    }
    make_table(&b, 1, 3);
    b.x[0] = 10;
    ae_scaler s;
    ae_err e = {0};
    ck_assert_int_eq(ae_scaler_fit(&s, AE_SCALE_STANDARD, &a, &e), AE_OK);
    ck_assert_double_eq_tol(s.shift[0], 2.5, 1e-15);
    ck_assert_double_eq_tol(s.scale[0], sqrt(1.25), 1e-15);
    ck_assert(s.scale[1] == 1.0 && s.scale[2] == 1.0);
    ae_scaler_apply(&s, &a);
    ae_scaler_apply(&s, &b);
    ae_scaler_apply(&s, NULL);
    ck_assert_float_eq(a.x[0], (float)(-1.5 / sqrt(1.25)));
    ck_assert_float_eq(a.x[9], (float)(1.5 / sqrt(1.25)));
    ck_assert_float_eq(a.x[4], 0);
    ck_assert_float_eq_tol(a.x[5], 0, 1e-7);
    ck_assert_float_eq(b.x[0], (float)(7.5 / sqrt(1.25)));
    ae_scaler_free(&s);
    ae_dataset_free(&a);
    make_table(&a, 4, 2);
    for (int i = 0; i < 4; i++) a.x[i * 2] = (float)(i + 1), a.x[i * 2 + 1] = -3;
    ck_assert_int_eq(ae_scaler_fit(&s, AE_SCALE_MINMAX, &a, &e), AE_OK);
    ae_scaler_apply(&s, &a);
    ck_assert(a.x[0] == 0 && a.x[2] == (float)(1.0 / 3.0) && a.x[6] == 1 && a.x[7] == 0);
    ae_scaler_free(&s);
    a.n = 0;
    expect_err(ae_scaler_fit(&s, AE_SCALE_STANDARD, &a, &e), &e, AE_EINPUT, "empty", NULL);
    ae_dataset_free(&a);
    ae_dataset_free(&b);
}
END_TEST

START_TEST(scale_precision)
{
    /* 5000 rows with a large offset: mean and std must match a long-double reference to 1e-12
     * relative (what sklearn's float64 two-pass computation gives). */
    ae_dataset a;
    make_table(&a, 5000, 2);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    for (size_t i = 0; i < a.n * 2; i++) a.x[i] = (float)(1000.0 + gsl_ran_gaussian(r, 0.01));
    gsl_rng_free(r);
    ae_scaler s;
    ck_assert_int_eq(ae_scaler_fit(&s, AE_SCALE_STANDARD, &a, NULL), AE_OK);
    for (size_t j = 0; j < 2; j++) {
        long double m = 0, v = 0;
        for (size_t i = 0; i < a.n; i++) m += a.x[i * 2 + j];
        m /= a.n;
        for (size_t i = 0; i < a.n; i++) v += (a.x[i * 2 + j] - m) * (a.x[i * 2 + j] - m);
        double sd = (double)sqrtl(v / a.n);
        ck_assert_double_eq_tol(s.shift[j], (double)m, 1e-12 * fabs((double)m));
        ck_assert_double_eq_tol(s.scale[j], sd, 1e-12 * sd);
    }
    ae_scaler_free(&s);
    ae_dataset_free(&a);
}
END_TEST

START_TEST(take_rows)
{
    ae_dataset a, t;
    ae_err e = {0};
    make_table(&a, 5, 2);
    size_t idx[] = {4, 0, 4}, bad[] = {5};
    ck_assert_int_eq(ae_dataset_take(&a, idx, 3, &t, &e), AE_OK);
    ck_assert(t.n == 3 && t.d == 2 && t.n_classes == 5);
    ck_assert(t.x[0] == 40 && t.x[3] == 1 && t.x[5] == 41 && t.label[0] == 4 && t.label[1] == 0);
    ck_assert_str_eq(t.columns[1], "c1");
    ck_assert_ptr_ne(t.columns, a.columns);
    ae_dataset_free(&t);
    expect_err(ae_dataset_take(&a, bad, 1, &t, &e), &e, AE_EINPUT, "out of range", NULL);
    ck_assert_int_eq(ae_dataset_take(&a, NULL, 0, &t, NULL), AE_OK);
    ck_assert_uint_eq(t.n, 0);
    ae_dataset_free(&t);
    ae_dataset_free(&a);
}
END_TEST

/* Splits a fresh 100-row table; out gets the test labels. Checks rows move whole, once. */
static void split_labels(unsigned long seed, double frac, int *out, size_t *n_train, size_t *n_test)
{
    ae_dataset a, tr, te;
    ae_err e = {0};
    make_table(&a, 100, 3);
    ck_assert_int_eq(ae_dataset_split(&a, frac, seed, &tr, &te, &e), AE_OK);
    ck_assert_ptr_null(a.x);
    *n_train = tr.n;
    *n_test = te.n;
    int seen[100] = {0};
    for (size_t i = 0; i < te.n; i++) out[i] = te.label[i], seen[te.label[i]]++;
    for (size_t i = 0; i < tr.n; i++) {
        seen[tr.label[i]]++;
        ck_assert_float_eq(tr.x[i * 3 + 2], (float)(tr.label[i] * 10 + 2));
    }
    for (int i = 0; i < 100; i++) ck_assert_int_eq(seen[i], 1);
    ck_assert_str_eq(tr.columns[2], "c2");
    ae_dataset_free(&tr);
    ae_dataset_free(&te);
}

START_TEST(split_seeded)
{
    int a[100], b[100], c[100];
    size_t ntr, nte;
    split_labels(42, 0.25, a, &ntr, &nte);
    ck_assert(ntr == 75 && nte == 25);
    split_labels(42, 0.25, b, &ntr, &nte);
    ck_assert_mem_eq(a, b, 25 * sizeof(int));
    split_labels(43, 0.25, c, &ntr, &nte);
    ck_assert(memcmp(a, c, 25 * sizeof(int)) != 0);
    /* the documented algorithm: gsl_ran_shuffle of 0..n-1 with mt19937(seed), test first */
    size_t idx[100];
    for (size_t i = 0; i < 100; i++) idx[i] = i;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 42);
    gsl_ran_shuffle(r, idx, 100, sizeof *idx);
    gsl_rng_free(r);
    for (int i = 0; i < 25; i++) ck_assert_int_eq(a[i], (int)idx[i]);
    split_labels(1, 0.333, a, &ntr, &nte);
    ck_assert(nte == 33 && ntr == 67);
    ae_dataset all, tr, te;
    ae_err e = {0};
    make_table(&all, 3, 1);
    expect_err(ae_dataset_split(&all, 1.5, 1, &tr, &te, &e), &e, AE_EINPUT, "[0, 1]", NULL);
    ck_assert_uint_eq(all.n, 3); /* untouched on failure */
    ae_dataset_free(&all);
}
END_TEST

START_TEST(weather_aus)
{
    char path[4096];
    ae_err e = {0};
    if (ae_data_resolve("weatherAUS.csv.gz", AELAB_SOURCE_DIR "/../shared/data", path, sizeof path,
                        &e)) {
        printf("skipped: weatherAUS.csv.gz not found\n");
        return;
    }
    const char *drop[] = {"Date", "Location", "WindGustDir", "WindDir9am", "WindDir3pm"};
    ae_csv_map maps[] = {{"RainToday", 2, yn_keys, yn_vals, 0}, {"RainTomorrow", 2, yn_keys, yn_vals, 0}};
    ae_csv_opts o = {.drop_columns = drop, .n_drop = 5, .dropna_any = 1, .maps = maps,
                     .n_maps = 2, .label = "RainTomorrow"};
    ae_dataset ds;
    ck_assert_int_eq(ae_csv_load(path, &o, &ds, &e), AE_OK);
    ck_assert_uint_eq(ds.n, 58090);
    ck_assert_uint_eq(ds.d, 17);
    const char *cols[] = {"MinTemp", "MaxTemp", "Rainfall", "Evaporation", "Sunshine",
                          "WindGustSpeed", "WindSpeed9am", "WindSpeed3pm", "Humidity9am",
                          "Humidity3pm", "Pressure9am", "Pressure3pm", "Cloud9am", "Cloud3pm",
                          "Temp9am", "Temp3pm", "RainToday"};
    for (int j = 0; j < 17; j++) ck_assert_str_eq(ds.columns[j], cols[j]);
    ck_assert_str_eq(ds.label_name, "RainTomorrow");
    ck_assert_int_eq(ds.n_classes, 2);
    ck_assert(ds.x[0] == 17.9f && ds.x[10] == 1006.3f); /* first complete row */
    ae_dataset_free(&ds);
}
END_TEST

int main(void)
{
    const TTest *tests[] = {csv_plain_and_gzip, csv_quoting_crlf_blank_bom, csv_clean_maps_label,
                            csv_errors, scale_standard_minmax, scale_precision, take_rows,
                            split_seeded, weather_aus};
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
