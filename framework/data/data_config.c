/* The `data:` section shared by every source: the source's loader reads the arrays, then the rows
 * are cut (limit, test_limit), split (test_fraction, validation), checked, scaled and binarized here,
 * in one place. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "ae_schema.h"

static const char *const scalings[] = {"standard", "minmax", "none", "gcn_l1", NULL};
static const char *const binarizings[] = {"none", "static", "dynamic", NULL};

typedef struct shared_keys {
    long exclude_label;
    const char *source, *scaling;
    double frac;
    long limit, test_limit;
    int binarize;    /* ae_binarize_kind: the index in binarizings */
    double val_frac; /* data.validation as a fraction (0: a count or none) */
    long val_n;      /* data.validation as a count */
    int with_val;    /* the caller takes a validation split */
    ae_cfg *col_scaling; /* data.column_scaling: {column: kind} (NULL: none) */
} shared_keys;

static int read_validation(const ae_key *key, ae_cfg *d, void *out, ae_err *err);

/* The keys, in the order they are read: exclude_label and source by ae_data_head; the rest by
 * ae_data_from_config, with the source's defaults (read_shared, read_limits). */
enum { EXCLUDE, SOURCE, SCALING, TEST_FRACTION, LIMIT, TEST_LIMIT, BINARIZE, VALIDATION, NORMAL_LABELS, COLUMN_SCALING,
       NKEYS };
static const ae_key data_keys[NKEYS] = {
    AE_KEY_INT_(shared_keys, exclude_label, "exclude_label", "-1", -1, 1048576, "a class left out of training "
                "and scored as the anomaly on the test set (-1 = none; the rows are dropped after the scaling is fit)"),
    AE_KEY_STR_(shared_keys, source, "source", NULL, NULL, "where the rows come from: one of the sources "
                "(below), each with keys of its own"),
    AE_KEY_STR_(shared_keys, scaling, "scaling", "the source's", scalings, "per-column scaling, fit on the "
                "training rows; gcn_l1: per-row global contrast normalization (subtract the row's mean, divide by "
                "its mean absolute deviation), then min-max by the one min and max over all values of the training "
                "rows (Ruff et al. 2018; with normal_labels: the normal class's)"),
    AE_KEY_NUM_(shared_keys, frac, "test_fraction", "0", 0, 0.9, "a seeded test split of the rows read, when "
                "the source read no test set"),
    AE_KEY_INT_(shared_keys, limit, "limit", "0", 0, 1099511627776.0, "keep the first rows read for training "
                "(0 = all)"),
    AE_KEY_INT_(shared_keys, test_limit, "test_limit", "0", 0, 1099511627776.0, "keep the first test rows "
                "(0 = all)"),
    AE_KEY_CHOICE_(shared_keys, binarize, "binarize", AE_KEY_OPTIONAL, binarizings, "values in [0, 1] as "
                   "Bernoulli probabilities: `static` draws the bits once (seeded), `dynamic` draws them anew "
                   "at every use (each training epoch, each evaluation pass); none by default"),
    AE_KEY_CUSTOM_(shared_keys, val_n, "validation", AE_KEY_OPTIONAL, read_validation, "rows held out of the "
                   "training rows (a count, or a fraction < 1 of them), never trained on, evaluated every "
                   "epoch (val_loss, val_mse, val_bce); a seeded choice (seed + 1), taken before scaling is fit"),
    /* read by ae_oneclass_read (a class or a list of them) */
    {"normal_labels", AE_KEY_SEQ, AE_KEY_ELSEWHERE, AE_KEY_OPTIONAL, 0, 0, NULL, "one-class anomaly detection: a "
     "class or list of classes, the only ones trained on (the other classes' training rows are dropped before the "
     "validation hold-out and the scaling fit; the test split keeps every row); every other class is the anomaly, "
     "scored per test sample (scores.csv: reconstruction error summed over the features) into anomaly_auroc and "
     "anomaly_auprc; not with exclude_label", NULL, NULL},
    {"column_scaling", AE_KEY_MAP, offsetof(shared_keys, col_scaling), AE_KEY_OPTIONAL, 0, 0, NULL, "tables: "
     "`scaling` overridden for some columns, {column: standard | minmax | none} (a one-hot column's name "
     "covers all its 0/1 columns), each fit on the training rows like `scaling`; not with gcn_l1", NULL, NULL},
};
const ae_schema ae_data_schema = AE_SCHEMA("data", data_keys);

int ae_data_head(ae_cfg *data, const char *const *sources, long *exclude_label, const char **source,
                 ae_err *err)
{
    shared_keys k = {.exclude_label = -1};
    ae_key head[SCALING];
    memcpy(head, data_keys, sizeof head);
    head[SOURCE].choices = sources; /* "did you mean" among the registered sources */
    const ae_schema s = {"data", head, SCALING, NULL, NULL, 0};
    int rc = data ? ae_schema_read(&s, data, &k, 0, err) : AE_OK;
    *exclude_label = k.exclude_label;
    *source = k.source;
    return rc;
}

/* data.validation (read only when given: no default lands in the resolved config): an integer is
 * a count of rows, a number in (0, 1) a fraction of the training rows. */
static int read_validation(const ae_key *key, ae_cfg *d, void *out, ae_err *err)
{
    shared_keys *k = out;
    char w[256];
    if (!ae_cfg_has(d, key->name)) {
        ae_cfg_allow(d, key->name);
        return AE_OK;
    }
    ae_cfg *n = ae_cfg_get(d, key->name);
    if (!k->with_val)
        return ae_errf(err, AE_EINPUT, "%s: data.validation: this caller takes no validation split",
                       ae_cfg_where(n, w, sizeof w));
    const char *t = ae_cfg_scalar(n);
    char *end = NULL;
    double v = t && *t ? strtod(t, &end) : NAN;
    int integral = end && !*end && !strpbrk(t, ".eE") && v >= 0 && v <= 1099511627776.0 && v == floor(v);
    if (integral) k->val_n = (long)v;
    else if (end && !*end && v > 0 && v < 1) k->val_frac = v;
    else
        return ae_errf(err, AE_EINPUT, "%s: data.validation: expected a count of training rows (an integer "
                       ">= 0) or a fraction of them in (0, 1), got '%s'", ae_cfg_where(n, w, sizeof w),
                       t ? t : "a collection");
    return AE_OK;
}

/* The shared keys after the head, with this source's defaults: its scaling; test_fraction written
 * into the resolved config only for AE_SOURCE_DEFAULT_SPLIT; limit / test_limit only when given
 * (their defaults land after the source's keys, for AE_SOURCE_DEFAULT_LIMITS: read_limits). */
static int read_shared(ae_cfg *d, const ae_source_ops *src, shared_keys *k, ae_err *err)
{
    ae_key keys[NKEYS];
    memcpy(keys, data_keys, sizeof keys);
    keys[SCALING].def = src->scaling;
    if (!(src->defaults & AE_SOURCE_DEFAULT_SPLIT)) keys[TEST_FRACTION].def = AE_KEY_OPTIONAL;
    keys[LIMIT].def = keys[TEST_LIMIT].def = AE_KEY_OPTIONAL;
    const ae_schema s = {"data", keys + SCALING, NKEYS - SCALING, NULL, NULL, 0};
    return ae_schema_read(&s, d, k, 0, err);
}

/* limit / test_limit with their defaults written into the tree (after the loader's keys). */
static int read_limits(ae_cfg *d, shared_keys *k, ae_err *err)
{
    const ae_schema s = {"data", data_keys + LIMIT, 2, NULL, NULL, 0}; /* limit, test_limit */
    return ae_schema_read(&s, d, k, 0, err);
}

/* Keeps the first `limit` rows (0 = all). */
static void cut(ae_dataset *ds, long limit)
{
    if (limit <= 0 || ds->n <= (size_t)limit) return;
    ds->n = (size_t)limit;
    float *x = realloc(ds->x, (ds->n * ds->d > 0 ? ds->n * ds->d : 1) * sizeof *x);
    if (x) ds->x = x; /* shrinking: on failure the larger block is still valid */
    if (ds->label) {
        int *l = realloc(ds->label, (ds->n ? ds->n : 1) * sizeof *l);
        if (l) ds->label = l;
    }
}

/* data.test_fraction: a seeded split of the rows read, when the source read no test set. */
static int split(ae_cfg *d, double frac, unsigned long seed, ae_dataset *train, ae_dataset *test,
                 const char *source, ae_err *err)
{
    char w[256];
    if (frac <= 0) return AE_OK;
    if (test->n)
        return ae_errf(err, AE_EINPUT, "%s: data.test_fraction: this %s source read a test set of its own "
                       "(%zu rows): drop test_fraction or the test files",
                       ae_cfg_where(ae_cfg_get(d, "test_fraction"), w, sizeof w), source, test->n);
    ae_dataset all = *train;
    size_t rows = all.n;
    memset(train, 0, sizeof *train);
    ae_dataset_free(test);
    if (ae_dataset_split(&all, frac, seed, train, test, err)) {
        ae_dataset_free(&all);
        return err->code;
    }
    if (train->n == 0)
        return ae_errf(err, AE_EINPUT, "%s: data.test_fraction: %g of %zu rows leaves no rows "
                       "to train on", ae_cfg_where(ae_cfg_get(d, "test_fraction"), w, sizeof w),
                       frac, rows);
    return AE_OK;
}

/* data.validation: the held-out rows (ae_dataset_hold_out, seeded with seed + 1). */
static int hold_out(ae_cfg *d, const shared_keys *k, unsigned long seed, ae_dataset *train, ae_dataset *val,
                    ae_err *err)
{
    char w[256];
    size_t n = train->n, m = k->val_frac > 0 ? (size_t)floor(k->val_frac * (double)n + 0.5) : (size_t)k->val_n;
    if (!val || (k->val_frac <= 0 && k->val_n <= 0)) return AE_OK;
    if (m == 0 || m >= n)
        return ae_errf(err, AE_EINPUT, "%s: data.validation: %zu of the %zu training rows leaves %s",
                       ae_cfg_where(ae_cfg_get(d, "validation"), w, sizeof w), m, n,
                       m ? "no rows to train on" : "no validation rows");
    return ae_dataset_hold_out(train, m, seed + 1, val, err);
}

/* data.binarize, after scaling: the values must be probabilities; static draws them now (pass 0). */
static int binarize(ae_cfg *d, int kind, const char *scaling, unsigned long seed, ae_dataset *const *sets,
                    ae_err *err)
{
    static const char *const names[] = {"training", "test", "validation"};
    char w[256];
    for (int s = 0; kind != AE_BINARIZE_NONE && s < 3; s++) {
        float lo, hi;
        if (!sets[s] || !sets[s]->n) continue;
        ae_dataset_range(sets[s], &lo, &hi);
        if (lo < 0 || hi > 1)
            return ae_errf(err, AE_EINPUT, "%s: data.binarize: needs values in [0, 1] (they are the "
                           "probabilities of a 1), but the %s rows lie in [%g, %g] (with `data.scaling: %s`): "
                           "use `scaling: minmax` or `none`", ae_cfg_where(ae_cfg_get(d, "binarize"), w, sizeof w),
                           names[s], lo, hi, scaling);
    }
    for (int s = 0; kind != AE_BINARIZE_NONE && s < 3; s++) {
        if (!sets[s]) continue;
        sets[s]->binarize = AE_BINARIZE_DYNAMIC;
        sets[s]->draw_key = ae_data_draw_key(seed, s + 1);
        sets[s]->pass = 0;
        if (kind == AE_BINARIZE_STATIC) ae_dataset_fix_draw(sets[s]);
    }
    return AE_OK;
}

static ae_scaling scaling_kind(const char *t)
{
    return !strcmp(t, "standard") ? AE_SCALE_STANDARD : !strcmp(t, "minmax") ? AE_SCALE_MINMAX : AE_SCALE_NONE;
}

/* Column j is named `name`, or is one of the one-hot columns `name=text`. */
static int names_column(const char *col, const char *name)
{
    size_t l = strlen(name);
    return !strcmp(col, name) || (!strncmp(col, name, l) && col[l] == '=');
}

/* data.column_scaling over data.scaling: every column's kind into kinds[0..d). */
static int column_kinds(const shared_keys *k, const ae_dataset *train, ae_scaling *kinds, ae_err *err)
{
    static const char *const kinds_ok[] = {"standard", "minmax", "none", NULL};
    char w[256];
    ae_cfg *m = k->col_scaling;
    if (!strcmp(k->scaling, "gcn_l1"))
        return ae_errf(err, AE_EINPUT, "%s: data.column_scaling: not with `scaling: gcn_l1` (a per-row "
                       "normalization)", ae_cfg_where(m, w, sizeof w));
    if (!train->columns)
        return ae_errf(err, AE_EINPUT, "%s: data.column_scaling: this source's rows have no column names "
                       "(a csv table has)", ae_cfg_where(m, w, sizeof w));
    for (size_t j = 0; j < train->d; j++) kinds[j] = scaling_kind(k->scaling);
    for (size_t i = 0; i < ae_cfg_len(m); i++) {
        const char *name = ae_cfg_key_at(m, i), *kind;
        if (ae_cfg_str(m, name, NULL, kinds_ok, &kind, err)) return err->code;
        size_t hits = 0;
        for (size_t j = 0; j < train->d; j++)
            if (names_column(train->columns[j], name)) kinds[j] = scaling_kind(kind), hits++;
        if (hits) continue;
        char list[512];
        size_t used = 0;
        for (size_t j = 0; j < train->d && used < sizeof list; j++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "", train->columns[j]);
        return ae_errf(err, AE_EINPUT, "%s: data.column_scaling: no column '%s' among the features (%s)",
                       ae_cfg_where(ae_cfg_value_at(m, i), w, sizeof w), name, list);
    }
    return AE_OK;
}

static int scale(const shared_keys *k, ae_dataset *train, ae_dataset *test, ae_dataset *val,
                 ae_err *err)
{
    const char *scaling = k->scaling;
    ae_scaler sc;
    if (k->col_scaling) { /* per column */
        ae_scaling *kinds = malloc((train->d ? train->d : 1) * sizeof *kinds);
        int rc = kinds ? column_kinds(k, train, kinds, err) : ae_errf(err, AE_EINTERNAL, "out of memory");
        if (!rc) rc = ae_scaler_fit_columns(&sc, kinds, train, err);
        free(kinds);
        if (rc) return rc;
        goto apply;
    }
    if (!strcmp(scaling, "gcn_l1")) return ae_scale_gcn_l1(train, test->n ? test : NULL, val, err);
    ae_scaling kind = scaling_kind(scaling);
    if (kind == AE_SCALE_NONE) return AE_OK;
    if (ae_scaler_fit(&sc, kind, train, err)) return err->code;
apply:
    ae_scaler_apply(&sc, train);
    if (test->n) ae_scaler_apply(&sc, test);
    if (val && val->n) ae_scaler_apply(&sc, val);
    ae_scaler_free(&sc);
    return AE_OK;
}

/* data.normal_labels: the training rows of the normal classes only (data_oneclass.c). */
static int one_class(ae_cfg *d, ae_dataset *train, const ae_dataset *test, ae_err *err)
{
    ae_oneclass oc;
    if (!ae_cfg_has(d, "normal_labels")) return AE_OK;
    int rc = ae_oneclass_read(d, &oc, err) || ae_oneclass_split(&oc, train, test, err) ? err->code : AE_OK;
    ae_oneclass_free(&oc);
    return rc;
}

/* After the loader: limits, split, the one-class split, validation, one shape for both splits, scaling, binarization. */
static int shared(ae_cfg *d, const ae_source_ops *src, const shared_keys *k, const char *scaling,
                  unsigned long seed, ae_dataset *train, ae_dataset *test, ae_dataset *val, ae_err *err)
{
    char w[256];
    cut(train, k->limit);
    cut(test, k->test_limit);
    if (split(d, k->frac, seed, train, test, src->name, err) || one_class(d, train, test, err) ||
        hold_out(d, k, seed, train, val, err))
        return err->code;
    if (test->n && (test->d != train->d || test->c != train->c || test->h != train->h || test->w != train->w))
        return ae_errf(err, AE_EINPUT, "%s: data: the %s source read training rows of %dx%dx%d but test rows "
                       "of %dx%dx%d (channels x height x width): both splits must have the same shape",
                       ae_cfg_where(d, w, sizeof w), src->name, train->c, train->h, train->w, test->c,
                       test->h, test->w);
    ae_dataset *sets[3] = {train, test, val};
    if (scale(k, train, test, val, err)) return err->code;
    return binarize(d, k->binarize, scaling, seed, sets, err);
}

int ae_data_from_config(ae_cfg *d, const ae_source_ops *src, const char *data_dir, unsigned long seed,
                        ae_dataset *train, ae_dataset *test, ae_dataset *val, ae_err *err)
{
    shared_keys k = {.with_val = val != NULL};
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (val) memset(val, 0, sizeof *val);
    if (!d) return ae_errf(err, AE_EINPUT, "missing required section 'data' (for example "
                           "{source: idx, name: fashion-mnist} or {source: csv, path: FILE.csv})");
    if (!src) return ae_errf(err, AE_EINTERNAL, "data: no source given");
    if (read_shared(d, src, &k, err)) return err->code;
    ae_source_req req = {data_dir, (size_t)k.limit, (size_t)k.test_limit};
    int rc = src->load(d, &req, train, test, err);
    if (!rc && (src->defaults & AE_SOURCE_DEFAULT_LIMITS)) rc = read_limits(d, &k, err);
    if (!rc) rc = shared(d, src, &k, k.scaling, seed, train, test, val, err);
    if (!rc) rc = ae_cfg_finish(d, "data", err);
    if (rc) {
        ae_dataset_free(train);
        ae_dataset_free(test);
        if (val) ae_dataset_free(val);
    }
    return rc;
}
