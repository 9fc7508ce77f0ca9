/* The `data:` section shared by every source: the source's loader reads the arrays, then the rows
 * are cut (limit, test_limit), split (test_fraction), checked and scaled here, in one place. */
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"

static const char *const scalings[] = {"standard", "minmax", "none", NULL};

typedef struct shared_keys {
    double frac;
    long limit, test_limit;
} shared_keys;

/* Reads limit / test_limit: with their defaults written into the tree when `insert`, else only the
 * ones the user gave (so the loader can stop early before the defaults land after its own keys). */
static int read_limits(ae_cfg *d, int insert, shared_keys *k, ae_err *err)
{
    if ((insert || ae_cfg_has(d, "limit")) && ae_cfg_int(d, "limit", 0, 0, 1L << 40, &k->limit, err))
        return err->code;
    if ((insert || ae_cfg_has(d, "test_limit")) &&
        ae_cfg_int(d, "test_limit", 0, 0, 1L << 40, &k->test_limit, err))
        return err->code;
    return AE_OK;
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

static int scale(const char *scaling, ae_dataset *train, ae_dataset *test, ae_err *err)
{
    ae_scaling kind = !strcmp(scaling, "standard") ? AE_SCALE_STANDARD
                      : !strcmp(scaling, "minmax") ? AE_SCALE_MINMAX : AE_SCALE_NONE;
    if (kind == AE_SCALE_NONE) return AE_OK;
    ae_scaler sc;
    if (ae_scaler_fit(&sc, kind, train, err)) return err->code;
    ae_scaler_apply(&sc, train);
    if (test->n) ae_scaler_apply(&sc, test);
    ae_scaler_free(&sc);
    return AE_OK;
}

/* After the loader: limits, split, one shape for both splits, scaling. */
static int shared(ae_cfg *d, const ae_source_ops *src, const shared_keys *k, const char *scaling,
                  unsigned long seed, ae_dataset *train, ae_dataset *test, ae_err *err)
{
    char w[256];
    cut(train, k->limit);
    cut(test, k->test_limit);
    if (split(d, k->frac, seed, train, test, src->name, err)) return err->code;
    if (test->n && (test->d != train->d || test->c != train->c || test->h != train->h || test->w != train->w))
        return ae_errf(err, AE_EINPUT, "%s: data: the %s source read training rows of %dx%dx%d but test rows "
                       "of %dx%dx%d (channels x height x width): both splits must have the same shape",
                       ae_cfg_where(d, w, sizeof w), src->name, train->c, train->h, train->w, test->c,
                       test->h, test->w);
    return scale(scaling, train, test, err);
}

int ae_data_from_config(ae_cfg *d, const ae_source_ops *src, const char *data_dir, unsigned long seed,
                        ae_dataset *train, ae_dataset *test, ae_err *err)
{
    const char *scaling;
    shared_keys k = {0};
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!d) return ae_errf(err, AE_EINPUT, "missing required section 'data' (for example "
                           "{source: idx, name: fashion-mnist} or {source: csv, path: FILE.csv})");
    if (!src) return ae_errf(err, AE_EINTERNAL, "data: no source given");
    if (ae_cfg_str(d, "scaling", src->scaling, scalings, &scaling, err)) return err->code;
    if (((src->defaults & AE_SOURCE_DEFAULT_SPLIT) || ae_cfg_has(d, "test_fraction")) &&
        ae_cfg_num(d, "test_fraction", 0.0, 0.0, 0.9, &k.frac, err))
        return err->code;
    if (read_limits(d, 0, &k, err)) return err->code;
    ae_source_req req = {data_dir, (size_t)k.limit, (size_t)k.test_limit};
    int rc = src->load(d, &req, train, test, err);
    if (!rc && (src->defaults & AE_SOURCE_DEFAULT_LIMITS)) rc = read_limits(d, 1, &k, err);
    if (!rc) rc = shared(d, src, &k, scaling, seed, train, test, err);
    if (!rc) {
        static const char *const any_source[] = {"test_fraction", "limit", "test_limit"};
        for (int i = 0; i < 3; i++) ae_cfg_allow(d, any_source[i]);
        rc = ae_cfg_finish(d, "data", err);
    }
    if (rc) {
        ae_dataset_free(train);
        ae_dataset_free(test);
    }
    return rc;
}
