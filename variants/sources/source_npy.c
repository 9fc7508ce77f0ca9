/* The `npy` data source: NumPy .npy arrays (np.save, format 1.0/2.0/3.0, C order, little-endian):
 * features <f4/<f8 as they are or |u1 scaled by 1/255, labels a 1-D integer array; tables or images. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ae_registry.h"

enum { MAX_DIMS = 4, MAX_HEADER = 1 << 20, MAX_LABEL = (1 << 20) - 1, CHUNK = 1 << 16 };

typedef struct npy {
    const char *path;
    FILE *f;
    char order, kind; /* descr '<f4': order '<', kind 'f', size 4 */
    int size, ndim;
    uint64_t shape[MAX_DIMS];
    size_t count; /* items: the product of the shape */
} npy;

/* AE_EINPUT "FILE: message". */
static int fail(const npy *a, ae_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(const npy *a, ae_err *err, const char *fmt, ...)
{
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return ae_errf(err, AE_EINPUT, "%s: %s", a->path, m);
}

/* "(3, 4)" */
static const char *shape_text(const npy *a, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < a->ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%llu", i ? ", " : "", (unsigned long long)a->shape[i]);
    if (used < len) snprintf(buf + used, len - used, a->ndim == 1 ? ",)" : ")");
    return buf;
}

/* --- the header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } */
static const char *skip(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static const char *quoted(const char *p, char *out, size_t len) /* NULL when not a plain string */
{
    char q = *p;
    if (q != '\'' && q != '"') return NULL;
    const char *end = strchr(p + 1, q);
    if (!end || (size_t)(end - p - 1) >= len) return NULL;
    memcpy(out, p + 1, (size_t)(end - p - 1));
    out[end - p - 1] = '\0';
    return end + 1;
}

static const char *shape_tuple(const char *p, npy *a)
{
    if (*p != '(') return NULL;
    for (p = skip(p + 1); *p != ')'; p = skip(p)) {
        uint64_t v = 0;
        if (*p < '0' || *p > '9' || a->ndim == MAX_DIMS) return NULL;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > (UINT64_MAX - 9) / 10) return NULL;
            v = 10 * v + (uint64_t)(*p - '0');
        }
        if (*p == 'L') p++; /* Python 2 longs */
        a->shape[a->ndim++] = v;
        p = skip(p);
        if (*p == ',') p++;
        else if (*p != ')') return NULL;
    }
    return p + 1;
}

static int parse_header(npy *a, const char *h, ae_err *err)
{
    static const char form[] = "the header is not a dict such as {'descr': '<f4', 'fortran_order': False, "
                               "'shape': (3, 4)}";
    char key[32], descr[32];
    int seen = 0, fortran = 0;
    const char *p = skip(h);
    if (*p++ != '{') return fail(a, err, "%s (%s)", form, "no '{'");
    for (p = skip(p); *p != '}'; p = skip(p)) {
        if (!(p = quoted(p, key, sizeof key))) return fail(a, err, "%s (%s)", form, "a key is not a string");
        if (*(p = skip(p)) != ':') return fail(a, err, "%s (%s)", form, "no ':' after a key");
        p = skip(p + 1);
        int bit = !strcmp(key, "descr") ? 1 : !strcmp(key, "fortran_order") ? 2 : !strcmp(key, "shape") ? 4 : 0;
        if (seen & bit) return fail(a, err, "the header names '%s' twice", key);
        if (bit == 1) {
            if (!(p = quoted(p, descr, sizeof descr)))
                return fail(a, err, "descr: only plain dtypes such as '<f4' are supported, not a structured one");
        } else if (bit == 2) {
            fortran = !strncmp(p, "True", 4);
            if (!fortran && strncmp(p, "False", 5))
                return fail(a, err, "%s (%s)", form, "fortran_order is not True or False");
            p += fortran ? 4 : 5;
        } else if (bit == 4) {
            if (!(p = shape_tuple(p, a)))
                return fail(a, err, "%s (%s)", form, "shape is not a tuple of at most 4 sizes");
        } else {
            return fail(a, err, "the header has an unknown key '%s' (expected descr, fortran_order, shape)", key);
        }
        seen |= bit;
        if (*(p = skip(p)) == ',') p++;
        else if (*p != '}') return fail(a, err, "%s (%s)", form, "no ',' or '}' after a value");
    }
    if (*skip(p + 1)) return fail(a, err, "%s (%s)", form, "text after the '}'");
    if (seen != 7) return fail(a, err, "%s (%s)", form, "descr, fortran_order or shape is missing");
    if (fortran)
        return fail(a, err, "fortran_order is True: only C order is supported (save np.ascontiguousarray(a))");
    char *end = descr;
    long size = strlen(descr) >= 3 ? strtol(descr + 2, &end, 10) : 0;
    a->order = descr[0];
    a->kind = descr[0] ? descr[1] : 0;
    a->size = (int)size;
    int known = a->kind == 'f' ? size == 4 || size == 8 : size == 1 || size == 2 || size == 4 || size == 8;
    if (!a->order || !strchr("<>|=", a->order) || !a->kind || !strchr("fiu", a->kind) || *end || !known)
        return fail(a, err, "unsupported dtype '%s' (expected <f4, <f8 or |u1; labels an integer type "
                    "such as <i8)", descr);
    if (size > 1 && a->order != '<')
        return fail(a, err, "dtype '%s' is not little-endian: save it as such, e.g. "
                    "a.astype(a.dtype.newbyteorder('<'))", descr);
    return AE_OK;
}

/* Opens the file, reads and checks magic, version, header and that the data are exactly there. */
static int npy_open(npy *a, const char *path, ae_err *err)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    if (!(a->f = fopen(path, "rb"))) return fail(a, err, "cannot open: %s", strerror(errno));
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, a->f);
    if (got < 8 || memcmp(pre, "\x93NUMPY", 6))
        return fail(a, err, "not a NumPy .npy file (%s)",
                    got < 8 ? "shorter than its magic and version" : "no \\x93NUMPY magic");
    if (pre[6] < 1 || pre[6] > 3)
        return fail(a, err, "unsupported .npy format version %u.%u (expected 1.0, 2.0 or 3.0)", pre[6], pre[7]);
    size_t at = pre[6] == 1 ? 10 : 12;
    if (got == 10 && at == 12) got += fread(pre + 10, 1, 2, a->f);
    if (got < at) return fail(a, err, "truncated: the header length is cut off");
    size_t hlen = pre[8] | (size_t)pre[9] << 8 | (at == 12 ? (size_t)pre[10] << 16 | (size_t)pre[11] << 24 : 0);
    if (hlen > MAX_HEADER) return fail(a, err, "the header claims %zu bytes (at most 1 MiB)", hlen);
    char *h = malloc(hlen + 1);
    if (!h) return ae_errf(err, AE_EINTERNAL, "out of memory");
    got = fread(h, 1, hlen, a->f);
    h[got] = '\0';
    int rc = got < hlen ? fail(a, err, "truncated: the header has %zu of %zu bytes", got, hlen)
             : strlen(h) < hlen ? fail(a, err, "the header holds a NUL byte")
                                : parse_header(a, h, err);
    free(h);
    if (rc) return rc;
    uint64_t n = 1;
    for (int i = 0; i < a->ndim; i++) /* saturating: a shape whose product overflows is refused below */
        n = a->shape[i] && n > UINT64_MAX / a->shape[i] ? UINT64_MAX : n * a->shape[i];
    struct stat st;
    uint64_t have = 0; /* bytes after the header */
    if (!fstat(fileno(a->f), &st) && st.st_size >= (off_t)(at + hlen)) have = (uint64_t)st.st_size - at - hlen;
    uint64_t need = n > (uint64_t)SIZE_MAX / 8 ? UINT64_MAX : n * (uint64_t)a->size;
    char sh[200];
    if (need == UINT64_MAX)
        return fail(a, err, "the shape %s holds too many items", shape_text(a, sh, sizeof sh));
    if (need != have)
        return fail(a, err, "%s: the shape %s of '%c%c%d' needs %llu bytes of data, the file has %llu",
                    need > have ? "truncated" : "wrong size", shape_text(a, sh, sizeof sh), a->order, a->kind,
                    a->size, (unsigned long long)need, (unsigned long long)have);
    a->count = (size_t)n;
    return AE_OK;
}

/* The item at p (little-endian) as a double. */
static double item(const npy *a, const unsigned char *p)
{
    uint64_t u = 0;
    for (int k = a->size - 1; k >= 0; k--) u = u << 8 | p[k];
    if (a->kind == 'f' && a->size == 4) {
        uint32_t u32 = (uint32_t)u;
        float f;
        memcpy(&f, &u32, 4);
        return f;
    }
    if (a->kind == 'f') {
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    if (a->kind == 'i' && a->size < 8 && (u >> (8 * a->size - 1) & 1)) u |= ~0ULL << (8 * a->size); /* sign */
    return a->kind == 'i' ? (double)(int64_t)u : (double)u;
}

/* Reads the first `count` items, calling put(dst, i, value) for each; 0 or an error. */
static int read_items(npy *a, size_t count, void *dst, int (*put)(void *, const npy *, size_t, double, ae_err *),
                      ae_err *err)
{
    unsigned char *buf = malloc((size_t)CHUNK * 8);
    if (!buf) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int rc = AE_OK;
    for (size_t i = 0; i < count && !rc;) {
        size_t k = count - i < CHUNK ? count - i : CHUNK;
        if (fread(buf, (size_t)a->size, k, a->f) != k) {
            rc = fail(a, err, "read error: %s", ferror(a->f) ? strerror(errno) : "the file got shorter");
            break;
        }
        for (size_t j = 0; j < k && !rc; j++, i++) rc = put(dst, a, i, item(a, buf + j * (size_t)a->size), err);
    }
    free(buf);
    return rc;
}

static int put_feature(void *dst, const npy *a, size_t i, double v, ae_err *err)
{
    float f = a->kind == 'u' ? (float)v / 255.0f : (float)v; /* uint8 images as IDX: [0, 1] */
    if (!isfinite(f)) /* NaN, ±Inf, or a double beyond float32 */
        return fail(a, err, "item %zu (in C order): %g is not a finite float32", i, v);
    ((float *)dst)[i] = f;
    return AE_OK;
}

static int put_label(void *dst, const npy *a, size_t i, double v, ae_err *err)
{
    if (v < 0 || v > MAX_LABEL)
        return fail(a, err, "label %zu: %.0f is not a class index (labels must be integers in [0, %d])", i, v,
                    MAX_LABEL);
    ((int *)dst)[i] = (int)v;
    return AE_OK;
}

/* Features: shape (N, D), (N, H, W) or (N, C, H, W); the first `limit` rows (0 = all). */
static int read_features(npy *a, size_t limit, ae_dataset *ds, ae_err *err)
{
    int nd = a->ndim;
    char sh[200];
    if (nd < 2)
        return fail(a, err, "features: expected shape (N, D), (N, H, W) or (N, C, H, W), got %s",
                    shape_text(a, sh, sizeof sh));
    if (a->kind != 'f' && !(a->kind == 'u' && a->size == 1))
        return fail(a, err, "features: dtype '%c%c%d' is not supported (expected <f4, <f8 or |u1)", a->order,
                    a->kind, a->size);
    for (int i = 1; i < nd; i++)
        if (!a->shape[i] || a->shape[i] > INT_MAX)
            return fail(a, err, "features: shape %s: each dimension after N must be in [1, %d]",
                        shape_text(a, sh, sizeof sh), INT_MAX);
    if (!a->shape[0]) return fail(a, err, "features: no rows (shape %s)", shape_text(a, sh, sizeof sh));
    ds->n = limit && limit < a->shape[0] ? limit : (size_t)a->shape[0];
    ds->d = a->count / (size_t)a->shape[0];
    ds->c = nd == 4 ? (int)a->shape[1] : 1;
    ds->h = nd == 2 ? 1 : (int)a->shape[nd - 2];
    ds->w = (int)a->shape[nd - 1];
    if (ds->d > INT_MAX) return fail(a, err, "features: more than 2^31 values per row");
    if (!(ds->x = malloc(ds->n * ds->d * sizeof *ds->x))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    return read_items(a, ds->n * ds->d, ds->x, put_feature, err);
}

/* Labels: shape (N,) or (N, 1), an integer type; all are read (n_classes from all of them, as IDX). */
static int read_labels(npy *a, const npy *x, ae_dataset *ds, ae_err *err)
{
    char sh[200];
    if (a->kind == 'f' || a->ndim < 1 || a->ndim > 2 || (a->ndim == 2 && a->shape[1] != 1))
        return fail(a, err, "labels: expected a 1-D integer array (N,) such as <i8 or |u1, got '%c%c%d' of shape %s",
                    a->order, a->kind, a->size, shape_text(a, sh, sizeof sh));
    if (a->shape[0] != x->shape[0])
        return fail(a, err, "labels: %llu labels for the %llu rows of %s", (unsigned long long)a->shape[0],
                    (unsigned long long)x->shape[0], x->path);
    int *all = malloc((a->count ? a->count : 1) * sizeof *all);
    if (!all) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int rc = read_items(a, a->count, all, put_label, err);
    for (size_t i = 0; !rc && i < a->count; i++)
        if (all[i] >= ds->n_classes) ds->n_classes = all[i] + 1;
    int *kept = rc ? NULL : realloc(all, (ds->n ? ds->n : 1) * sizeof *all);
    ds->label = kept ? kept : all; /* on a failed shrink the larger block is kept */
    return rc;
}

static int load_pair(const char *xpath, const char *ypath, size_t limit, ae_dataset *ds, ae_err *err)
{
    npy x, y = {0};
    int rc = npy_open(&x, xpath, err);
    if (!rc) rc = read_features(&x, limit, ds, err);
    if (!rc && ypath && !(rc = npy_open(&y, ypath, err))) rc = read_labels(&y, &x, ds, err);
    if (x.f) fclose(x.f);
    if (y.f) fclose(y.f);
    return rc;
}

typedef struct npy_keys {
    const char *path, *labels, *test_path, *test_labels;
} npy_keys;

static const ae_key npy_key_table[] = { /* read in this order: v[i] in npy_load is key i */
    AE_KEY_STR_(npy_keys, path, "path", NULL, NULL, "the features: <f4 or <f8 as they are, |u1 scaled by "
                "1/255; shape (N, D), (N, H, W) or (N, C, H, W)"),
    AE_KEY_STR_(npy_keys, labels, "labels", AE_KEY_EMPTY, NULL, "an integer (N,) array of class labels (empty: none)"),
    AE_KEY_STR_(npy_keys, test_path, "test_path", AE_KEY_EMPTY, NULL, "the test set's features, as path (empty: none)"),
    AE_KEY_STR_(npy_keys, test_labels, "test_labels", AE_KEY_EMPTY, NULL, "the test set's labels, as labels (needs "
                "test_path)"),
};
static const ae_schema npy_schema = AE_SCHEMA("data", npy_key_table);

static int npy_load(ae_cfg *d, const ae_source_req *req, ae_dataset *train, ae_dataset *test, ae_err *err)
{
    npy_keys k = {0};
    char full[4][4096], w[256];
    if (ae_schema_read(&npy_schema, d, &k, 0, err)) return err->code;
    const char *const v[4] = {k.path, k.labels, k.test_path, k.test_labels};
    if (*v[3] && !*v[2])
        return ae_errf(err, AE_EINPUT, "%s: data.test_labels: needs test_path (the test features)",
                       ae_cfg_where(ae_cfg_get(d, "test_labels"), w, sizeof w));
    int has[4]; /* resolving may rewrite a key (then v[i] is gone) */
    for (int i = 0; i < 4; i++)
        if ((has[i] = *v[i] != '\0') &&
            ae_data_resolve_key(d, npy_key_table[i].name, req->data_dir, full[i], sizeof full[i], err))
            return err->code;
    if (load_pair(full[0], has[1] ? full[1] : NULL, req->limit, train, err)) return err->code;
    if (has[2] && load_pair(full[2], has[3] ? full[3] : NULL, req->test_limit, test, err)) return err->code;
    return AE_OK;
}

const ae_source_ops ae_source_npy = {
    "npy", "NumPy .npy arrays (np.save; format 1.0-3.0, C order, little-endian), tables or images", "none",
    AE_SOURCE_DEFAULTS_ALL, npy_load, &npy_schema};
