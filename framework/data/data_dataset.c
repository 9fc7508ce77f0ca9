/* In-memory datasets: freeing, row selection, the seeded train/test split, and the data-file
 * search path (ae_data_resolve) shared by the loaders. */
#include "ae_data.h"
#include "data_internal.h"

#include <errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ae_dataset_range(const ae_dataset *ds, float *lo, float *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < ds->n * ds->d; i++) {
        if (ds->x[i] < *lo) *lo = ds->x[i];
        if (ds->x[i] > *hi) *hi = ds->x[i];
    }
}

void ae_dataset_free(ae_dataset *ds)
{
    if (!ds) return;
    if (ds->columns)
        for (size_t j = 0; j < ds->d; j++) free(ds->columns[j]);
    free(ds->columns);
    free(ds->x);
    free(ds->label);
    free(ds->label_name);
    for (int j = 0; ds->own_class_names && j < ds->n_class_names; j++) free(ds->own_class_names[j]);
    free(ds->own_class_names);
    memset(ds, 0, sizeof *ds);
}

/* Copies names and shape (not rows) of src into a zeroed dst. */
static int copy_meta(const ae_dataset *src, ae_dataset *dst, ae_err *err)
{
    dst->d = src->d;
    dst->c = src->c;
    dst->h = src->h;
    dst->w = src->w;
    dst->n_classes = src->n_classes;
    dst->class_names = src->class_names;
    dst->n_class_names = src->n_class_names;
    if (src->own_class_names) {
        if (!(dst->own_class_names = calloc((size_t)src->n_class_names, sizeof *dst->own_class_names))) goto oom;
        dst->class_names = (const char *const *)dst->own_class_names;
        for (int j = 0; j < src->n_class_names; j++)
            if (src->own_class_names[j] && !(dst->own_class_names[j] = strdup(src->own_class_names[j]))) goto oom;
    }
    dst->binarize = src->binarize;
    dst->draw_key = src->draw_key;
    dst->pass = src->pass;
    if (src->label_name && !(dst->label_name = strdup(src->label_name))) goto oom;
    if (src->columns) {
        if (!(dst->columns = calloc(src->d ? src->d : 1, sizeof *dst->columns))) goto oom;
        for (size_t j = 0; j < src->d; j++)
            if (!(dst->columns[j] = strdup(src->columns[j] ? src->columns[j] : ""))) goto oom;
    }
    return AE_OK;
oom:
    return ae_errf(err, AE_EINTERNAL, "out of memory copying dataset column names");
}

int ae_dataset_take(const ae_dataset *src, const size_t *idx, size_t k, ae_dataset *dst, ae_err *err)
{
    if (!dst) return ae_errf(err, AE_EINTERNAL, "ae_dataset_take: NULL argument");
    if (src == dst) return ae_errf(err, AE_EINTERNAL, "ae_dataset_take: src and dst are the same");
    memset(dst, 0, sizeof *dst);
    if (!src || (k && !idx)) return ae_errf(err, AE_EINTERNAL, "ae_dataset_take: NULL argument");
    for (size_t i = 0; i < k; i++)
        if (idx[i] >= src->n)
            return ae_errf(err, AE_EINPUT, "row index %zu out of range (dataset has %zu rows)",
                           idx[i], src->n);
    if (src->d && k > SIZE_MAX / sizeof(float) / src->d)
        return ae_errf(err, AE_EINTERNAL, "dataset too large (%zu x %zu)", k, src->d);
    if (copy_meta(src, dst, err)) goto fail;
    dst->x = malloc((k * src->d > 0 ? k * src->d : 1) * sizeof *dst->x);
    if (!dst->x) goto oom;
    if (src->label && !(dst->label = malloc((k ? k : 1) * sizeof *dst->label))) goto oom;
    for (size_t i = 0; i < k; i++) {
        memcpy(dst->x + i * src->d, src->x + idx[i] * src->d, src->d * sizeof *dst->x);
        if (src->label) dst->label[i] = src->label[idx[i]];
    }
    dst->n = k;
    return AE_OK;
oom:
    ae_errf(err, AE_EINTERNAL, "out of memory taking %zu rows", k);
fail:
    ae_dataset_free(dst);
    return err ? err->code : AE_EINTERNAL;
}

/* The shuffle is gsl_ran_shuffle (Knuth's Fisher-Yates: for i = n-1..1 swap i with
 * gsl_rng_uniform_int(r, i+1)) over 0..n-1 with a gsl_rng_mt19937 seeded with `seed`.
 * test = the first round(fraction*n) indices of the shuffled order, train = the rest; both keep
 * the shuffled order. On failure `all` is left untouched. */
int ae_dataset_split(ae_dataset *all, double fraction, unsigned long seed, ae_dataset *train,
                     ae_dataset *test, ae_err *err)
{
    if (!all || !train || !test || train == all || test == all || train == test)
        return ae_errf(err, AE_EINTERNAL, "ae_dataset_split: NULL or aliased argument");
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!(fraction >= 0.0 && fraction <= 1.0))
        return ae_errf(err, AE_EINPUT, "split fraction must be in [0, 1], got %g", fraction);
    size_t n = all->n;
    size_t n_test = (size_t)floor(fraction * (double)n + 0.5);
    if (n_test > n) n_test = n;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!idx || !r) {
        free(idx);
        if (r) gsl_rng_free(r);
        return ae_errf(err, AE_EINTERNAL, "out of memory splitting %zu rows", n);
    }
    gsl_rng_set(r, seed);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (n > 1) gsl_ran_shuffle(r, idx, n, sizeof *idx);
    gsl_rng_free(r);
    int rc = ae_dataset_take(all, idx, n_test, test, err);
    if (!rc) rc = ae_dataset_take(all, idx + n_test, n - n_test, train, err);
    free(idx);
    if (rc) {
        ae_dataset_free(train);
        ae_dataset_free(test);
        return rc;
    }
    ae_dataset_free(all);
    return AE_OK;
}

int ae_dataset_hold_out(ae_dataset *ds, size_t k, unsigned long seed, ae_dataset *held, ae_err *err)
{
    if (!ds || !held || ds == held) return ae_errf(err, AE_EINTERNAL, "ae_dataset_hold_out: NULL or aliased argument");
    memset(held, 0, sizeof *held);
    size_t n = ds->n;
    if (k >= n) return ae_errf(err, AE_EINPUT, "cannot hold out %zu of %zu rows: none would be left", k, n);
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    unsigned char *out = calloc(n ? n : 1, 1);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = perm && out && r ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory holding out %zu rows", k);
    if (!rc) {
        gsl_rng_set(r, seed);
        for (size_t i = 0; i < n; i++) perm[i] = i;
        if (n > 1) gsl_ran_shuffle(r, perm, n, sizeof *perm);
        for (size_t i = 0; i < k; i++) out[perm[i]] = 1;
        size_t a = 0, b = k; /* held rows first (ascending), then the kept ones (ascending) */
        for (size_t i = 0; i < n; i++) perm[out[i] ? a++ : b++] = i;
        ae_dataset kept;
        rc = ae_dataset_take(ds, perm, k, held, err);
        if (!rc && (rc = ae_dataset_take(ds, perm + k, n - k, &kept, err))) ae_dataset_free(held);
        if (!rc) {
            ae_dataset_free(ds);
            *ds = kept;
        }
    }
    free(perm);
    free(out);
    if (r) gsl_rng_free(r);
    return rc;
}

/* --- search path ---------------------------------------------------------------------------- */

int data_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

void data_append(char *buf, size_t len, const char *sep, const char *text)
{
    if (!buf || !len) return;
    size_t used = strlen(buf);
    const char *parts[2] = {used ? sep : "", text};
    for (int k = 0; k < 2; k++)
        for (const char *c = parts[k]; *c && used + 1 < len; c++) buf[used++] = *c;
    buf[used] = '\0';
}

/* Tries dir/rels[i] for one directory; 1 when found. */
static int try_dir(const char *dir, size_t dlen, const char *const *rels, size_t nrel, char *out,
                   size_t outlen, char *tried, size_t tried_len)
{
    if (dlen == 0) return 0; /* empty AELAB_DATA entry ("a::b") */
    for (size_t i = 0; i < nrel; i++) {
        char path[4096];
        int slash = dir[dlen - 1] != '/';
        int m = snprintf(path, sizeof path, "%.*s%s%s", (int)dlen, dir, slash ? "/" : "", rels[i]);
        if (m < 0 || (size_t)m >= sizeof path) continue;
        data_append(tried, tried_len, ", ", path);
        if (data_is_file(path)) {
            if ((size_t)m >= outlen) return 0;
            memcpy(out, path, (size_t)m + 1);
            return 1;
        }
    }
    return 0;
}

int data_search(const char *const *rels, size_t nrel, const char *data_dir,
                const char *fallback_dir, char *out, size_t outlen, char *tried, size_t tried_len)
{
    if (data_dir && try_dir(data_dir, strlen(data_dir), rels, nrel, out, outlen, tried, tried_len))
        return 1;
    const char *env = getenv("AELAB_DATA");
    for (const char *p = env; p && *p;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (try_dir(p, len, rels, nrel, out, outlen, tried, tried_len)) return 1;
        p = colon ? colon + 1 : p + len;
    }
    return fallback_dir &&
           try_dir(fallback_dir, strlen(fallback_dir), rels, nrel, out, outlen, tried, tried_len);
}

int ae_data_resolve(const char *name, const char *data_dir, char *out, size_t outlen, ae_err *err)
{
    if (!name || !*name) return ae_errf(err, AE_EINPUT, "no data file name given");
    char tried[768] = "";
    data_append(tried, sizeof tried, ", ", name);
    if (name[0] == '/' || data_is_file(name)) {
        if (name[0] == '/' && !data_is_file(name))
            return ae_errf(err, AE_EINPUT, "data file '%s' not found (absolute path, not searched)",
                           name);
        if (strlen(name) >= outlen)
            return ae_errf(err, AE_EINPUT, "data file path too long: '%s'", name);
        memcpy(out, name, strlen(name) + 1);
        return AE_OK;
    }
    const char *rels[] = {name};
    if (data_search(rels, 1, data_dir, NULL, out, outlen, tried, sizeof tried)) return AE_OK;
    return ae_errf(err, AE_EINPUT,
                   "data file '%s' not found; tried: %s; put the file in one of these places, "
                   "pass --data-dir DIR, or set AELAB_DATA (colon-separated directories)",
                   name, tried);
}

/* Found next to the config or in the working directory: the key becomes the absolute path. */
static int keep_found(ae_cfg *d, const char *key, const char *path, char *out, size_t outlen, ae_err *err)
{
    char abs[4096];
    if (strlen(path) >= outlen) return ae_errf(err, AE_EINPUT, "data file path too long: '%s'", path);
    memmove(out, path, strlen(path) + 1);
    if (!realpath(out, abs)) return ae_errf(err, AE_EIO, "%s: cannot resolve the path: %s", out, strerror(errno));
    if (ae_cfg_set_scalar(d, key, abs)) return ae_errf(err, AE_EINTERNAL, "out of memory");
    ae_cfg_mark_string(ae_cfg_get(d, key));
    return AE_OK;
}

int ae_data_resolve_key(ae_cfg *d, const char *key, const char *data_dir, char *out, size_t outlen, ae_err *err)
{
    ae_cfg *n = ae_cfg_get(d, key);
    const char *name = ae_cfg_scalar(n), *file = ae_cfg_file(n), *slash = file ? strrchr(file, '/') : NULL;
    char w[256], tried[2048] = "", near[4096];
    ae_cfg_where(n, w, sizeof w);
    if (!name || !*name || name[0] == '/') {
        if (!ae_data_resolve(name, data_dir, out, outlen, err)) return AE_OK;
        return ae_err_prefix(err, "%s: data.%s", w, key);
    }
    if (slash) { /* the folder of the file that set the key (the working directory is tried next) */
        int m = snprintf(near, sizeof near, "%.*s/%s", (int)(slash - file), file, name);
        if (m > 0 && (size_t)m < sizeof near) {
            data_append(tried, sizeof tried, ", ", near);
            if (data_is_file(near)) return keep_found(d, key, near, out, outlen, err);
        }
    }
    snprintf(near, sizeof near, "./%s", name); /* the working directory */
    data_append(tried, sizeof tried, ", ", near);
    if (data_is_file(name)) return keep_found(d, key, name, out, outlen, err);
    const char *rels[] = {name};
    if (data_search(rels, 1, data_dir, NULL, out, outlen, tried, sizeof tried)) return AE_OK;
    return ae_errf(err, AE_EINPUT, "%s: data.%s: data file '%s' not found; tried, in order: %s; put the file "
                   "next to the config, pass --data-dir DIR, or set AELAB_DATA (colon-separated directories)",
                   w, key, name, tried);
}
