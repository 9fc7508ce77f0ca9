/* CSV loader: the rows read (data_csv_read.c) through ae_csv_opts: dropped columns, NA rows
 * (na_values, nan/inf spellings), categorical maps and one-hot columns, the label column. */
#include "ae_data.h"
#include "data_internal.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_DROP, ROLE_FEATURE, ROLE_LABEL };

typedef struct col_info {
    int role;
    size_t out;            /* feature index when ROLE_FEATURE */
    const ae_csv_map *map; /* categorical mapping (or one-hot list) or NULL */
    size_t n_values;       /* non-NA cells seen */
    const char **cats;     /* one-hot: the categories, one column each (owned when collected) */
    size_t ncat;
    int own;
} col_info;

static const char *const default_na[] = {"NA", ""};
enum { MAX_LABEL = (1 << 20) - 1 }; /* largest class index (n_classes must fit, arrays per class) */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];
    if (la > 64 || lb > 64) return (size_t)-1;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

static long find_col(char *const *names, size_t ncol, const char *name)
{
    for (size_t j = 0; j < ncol; j++)
        if (strcmp(names[j], name) == 0) return (long)j;
    return -1;
}

/* Looks a column up for option `what`; unknown = AE_EINPUT with a suggestion or the column list. */
static int need_col(const csv_reader *r, char *const *names, size_t ncol, const char *what,
                    const char *name, long *j, ae_err *err)
{
    if (name && (*j = find_col(names, ncol, name)) >= 0) return AE_OK;
    if (!name) return ae_errf(err, AE_EINPUT, "%s: %s: column name is missing", r->path, what);
    size_t best = (size_t)-1, bj = 0;
    for (size_t k = 0; k < ncol; k++) {
        size_t dist = edit_distance(name, names[k]);
        if (dist < best) best = dist, bj = k;
    }
    size_t tol = strlen(name) / 3 > 2 ? strlen(name) / 3 : 2;
    if (best <= tol)
        return ae_errf(err, AE_EINPUT, "%s:1: %s: unknown column '%s' (did you mean '%s'?)", r->path,
                       what, name, names[bj]);
    char list[512] = "";
    for (size_t k = 0; k < ncol; k++) data_append(list, sizeof list, ", ", names[k]);
    return ae_errf(err, AE_EINPUT, "%s:1: %s: unknown column '%s' (columns: %s)", r->path, what,
                   name, list);
}

/* Assigns a role / map to every header column. */
static int plan_columns(const csv_reader *r, char *const *names, size_t ncol, const ae_csv_opts *o,
                        col_info *cols, ae_err *err)
{
    for (size_t j = 0; j < ncol; j++) {
        cols[j].role = ROLE_FEATURE;
        long k = find_col(names, j, names[j]);
        if (k >= 0)
            return ae_errf(err, AE_EINPUT, "%s:1: duplicate column name '%s' (columns %ld and %zu)",
                           r->path, names[j], k + 1, j + 1);
    }
    long j = -1;
    for (size_t i = 0; i < o->n_drop; i++) {
        if (need_col(r, names, ncol, "drop_columns", o->drop_columns[i], &j, err)) return err->code;
        cols[j].role = ROLE_DROP;
    }
    if (o->label) {
        if (need_col(r, names, ncol, "label", o->label, &j, err)) return err->code;
        if (cols[j].role == ROLE_DROP)
            return ae_errf(err, AE_EINPUT, "%s: label column '%s' is also in drop_columns", r->path,
                           o->label);
        cols[j].role = ROLE_LABEL;
    }
    for (size_t i = 0; i < o->n_maps; i++) {
        const ae_csv_map *m = &o->maps[i];
        if (need_col(r, names, ncol, "maps", m->column, &j, err)) return err->code;
        if (cols[j].map)
            return ae_errf(err, AE_EINPUT, "%s: column '%s' is mapped twice", r->path, m->column);
        if (m->onehot && cols[j].role == ROLE_LABEL)
            return ae_errf(err, AE_EINPUT, "%s: label column '%s' cannot be one-hot encoded", r->path,
                           m->column);
        if (m->n && (!m->keys || (!m->values && !m->onehot)))
            return ae_errf(err, AE_EINPUT, "%s: map for column '%s' has no keys/values", r->path,
                           m->column);
        cols[j].map = m; /* a map on a dropped column is harmless and ignored */
    }
    return AE_OK;
}

static int parse_number(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    if (end == s) return 0;
    while (*end == ' ' || *end == '\t') end++;
    return *end == '\0' && isfinite(*v) && !strpbrk(s, "xX");
}

/* Converts one non-NA cell of column j to a value (map lookup or number). */
static int cell_value(const csv_reader *r, long line, const char *name, const col_info *c,
                      const char *s, double *v, ae_err *err)
{
    if (c->map) {
        for (size_t k = 0; k < c->map->n; k++)
            if (strcmp(c->map->keys[k], s) == 0) {
                *v = c->map->values[k];
                return AE_OK;
            }
        char keys[512] = "";
        for (size_t k = 0; k < c->map->n; k++) data_append(keys, sizeof keys, ", ", c->map->keys[k]);
        return ae_errf(err, AE_EINPUT,
                       "%s:%ld: column '%s': unknown category '%s' (expected one of: %s)", r->path,
                       line, name, s, keys);
    }
    if (!parse_number(s, v))
        return ae_errf(err, AE_EINPUT, "%s:%ld: column '%s': not a number: '%s'", r->path, line,
                       name, s);
    if (fabs(*v) > FLT_MAX)
        return ae_errf(err, AE_EINPUT, "%s:%ld: column '%s': value out of float32 range: '%s'",
                       r->path, line, name, s);
    return AE_OK;
}


/* A non-finite spelling strtod reads ("nan", "NaN", "-inf", "Infinity"): 1 NaN, 2 +inf, 3 -inf. */
static int nonfinite(const char *s)
{
    const char *t = s + (*s == '+' || *s == '-');
    if (!strchr("nNiI", *t)) return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) return 0;
    return isnan(v) ? 1 : isinf(v) ? (v > 0 ? 2 : 3) : 0;
}

/* A missing value: listed in na, or a nan/inf spelling of a listed one ("nan" covers NaN and
 * -nan, "inf" both infinities, "-inf" / "+inf" one). */
static int is_na(const char *s, const char *const *na, size_t n_na)
{
    int nf = -1;
    for (size_t k = 0; k < n_na; k++) {
        if (strcmp(s, na[k]) == 0) return 1;
        int kind = nonfinite(na[k]);
        if (!kind) continue;
        if (nf < 0) nf = nonfinite(s);
        int inf_both = kind == 2 && na[k][0] != '+';
        if (nf && (nf == kind || (kind == 1 && nf == 1) || (inf_both && nf >= 2))) return 1;
    }
    return 0;
}

/* Which rows stay (no missing value in a kept column); a missing value without dropna is an error. */
static int mark_rows(const csv_reader *r, char *const *names, size_t ncol, const ae_csv_opts *o,
                     col_info *cols, const csv_table *t, unsigned char *keep, size_t *kept, ae_err *err)
{
    const char *const *na = o->na_values ? o->na_values : default_na;
    size_t n_na = o->na_values ? o->n_na : 2;
    *kept = 0;
    for (size_t i = 0; i < t->n; i++) {
        keep[i] = 1;
        for (size_t j = 0; j < ncol; j++) {
            const char *s = t->cell[i * ncol + j];
            if (cols[j].role == ROLE_DROP) continue;
            if (!is_na(s, na, n_na)) {
                cols[j].n_values++;
                continue;
            }
            if (!o->dropna_any)
                return ae_errf(err, AE_EINPUT, "%s:%ld: column '%s': missing value %s%s%s (enable dropna "
                               "or fill it in)", r->path, t->line[i], names[j], *s ? "'" : "",
                               *s ? s : "(empty cell)", *s ? "'" : "");
            keep[i] = 0;
        }
        for (size_t j = 0; !keep[i] && j < ncol; j++) { /* a dropped row's cells are checked too */
            const char *s = t->cell[i * ncol + j];
            double v;
            if (cols[j].role == ROLE_DROP || (cols[j].map && cols[j].map->onehot) || is_na(s, na, n_na)) continue;
            if (cell_value(r, t->line[i], names[j], &cols[j], s, &v, err)) return err->code;
            if (cols[j].role == ROLE_LABEL && !(v >= 0 && v <= MAX_LABEL && v == floor(v)))
                return ae_errf(err, AE_EINPUT, "%s:%ld: label column '%s': '%s' is not a class index (labels "
                               "must be integers in [0, %d])", r->path, t->line[i], names[j], s, MAX_LABEL);
        }
        *kept += keep[i];
    }
    if (t->n == 0) return ae_errf(err, AE_EINPUT, "%s:2: no data rows (header only)", r->path);
    for (size_t j = 0; j < ncol; j++)
        if (cols[j].role != ROLE_DROP && cols[j].n_values == 0)
            return ae_errf(err, AE_EINPUT, "%s: column '%s' has no values (all NA)", r->path, names[j]);
    if (*kept == 0)
        return ae_errf(err, AE_EINPUT, "%s: no rows left after dropna (all %zu rows have a missing value)",
                       r->path, t->n);
    return AE_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One-hot columns: the map's list, or the sorted distinct texts of the kept rows; then the feature
 * layout (each one-hot column as wide as its list) into *d. */
static int layout(const csv_reader *r, size_t ncol, col_info *cols, const csv_table *t,
                  const unsigned char *keep, size_t kept, size_t *d, ae_err *err)
{
    *d = 0;
    for (size_t j = 0; j < ncol; j++) {
        col_info *c = &cols[j];
        if (c->role != ROLE_FEATURE) continue;
        c->out = *d;
        if (!c->map || !c->map->onehot) {
            (*d)++;
            continue;
        }
        if (c->map->n) {
            c->cats = (const char **)c->map->keys;
            c->ncat = c->map->n;
        } else {
            if (!(c->cats = malloc(kept * sizeof *c->cats)))
                return ae_errf(err, AE_EINTERNAL, "%s: out of memory", r->path);
            c->own = 1;
            for (size_t i = 0; i < t->n; i++)
                if (keep[i]) c->cats[c->ncat++] = t->cell[i * ncol + j];
            qsort(c->cats, c->ncat, sizeof *c->cats, cmp_str);
            size_t u = 0;
            for (size_t i = 0; i < c->ncat; i++)
                if (!u || strcmp(c->cats[u - 1], c->cats[i])) c->cats[u++] = c->cats[i];
            c->ncat = u;
        }
        *d += c->ncat;
    }
    if (*d == 0) return ae_errf(err, AE_EINPUT, "%s: no feature columns left", r->path);
    return AE_OK;
}

/* A one-hot cell: 1 in its category's column; a text not in the list is an error. */
static int onehot_cell(const csv_reader *r, long line, const char *name, const col_info *c, const char *s,
                       float *row, ae_err *err)
{
    for (size_t k = 0; k < c->ncat; k++) row[c->out + k] = 0;
    for (size_t k = 0; k < c->ncat; k++)
        if (strcmp(c->cats[k], s) == 0) {
            row[c->out + k] = 1;
            return AE_OK;
        }
    char keys[512] = "";
    for (size_t k = 0; k < c->ncat; k++) data_append(keys, sizeof keys, ", ", c->cats[k]);
    return ae_errf(err, AE_EINPUT, "%s:%ld: column '%s': unknown category '%s' for its one-hot columns "
                   "(data.categorical.%s.onehot lists %zu: %s)", r->path, line, name, s, name, c->ncat, keys);
}

/* The kept rows into out->x / out->label. */
static int fill_rows(const csv_reader *r, char *const *names, size_t ncol, const ae_csv_opts *o,
                     const col_info *cols, const csv_table *t, const unsigned char *keep, ae_dataset *out,
                     ae_err *err)
{
    size_t d = out->d, kept = 0;
    int max_label = -1;
    for (size_t i = 0; i < t->n; i++) {
        if (!keep[i]) continue;
        float *row = out->x + kept * d;
        int label = 0;
        for (size_t j = 0; j < ncol; j++) {
            const char *s = t->cell[i * ncol + j];
            double v = 0;
            if (cols[j].role == ROLE_DROP) continue;
            if (cols[j].cats) {
                if (onehot_cell(r, t->line[i], names[j], &cols[j], s, row, err)) return err->code;
                continue;
            }
            if (cell_value(r, t->line[i], names[j], &cols[j], s, &v, err)) return err->code;
            if (cols[j].role == ROLE_FEATURE) {
                row[cols[j].out] = (float)v;
            } else if (v >= 0 && v <= MAX_LABEL && v == floor(v)) {
                label = (int)v;
            } else {
                return ae_errf(err, AE_EINPUT, "%s:%ld: label column '%s': '%s' is not a class index (labels "
                               "must be integers in [0, %d])", r->path, t->line[i], names[j], s, MAX_LABEL);
            }
        }
        if (o->label) {
            out->label[kept] = label;
            if (label > max_label) max_label = label;
        }
        kept++;
    }
    out->n = kept;
    out->n_classes = o->label ? max_label + 1 : 0;
    return AE_OK;
}

static int set_names(char *const *names, size_t ncol, const col_info *cols, ae_dataset *out,
                     ae_err *err)
{
    if (!(out->columns = calloc(out->d, sizeof *out->columns))) goto oom;
    for (size_t j = 0; j < ncol; j++) {
        const col_info *c = &cols[j];
        for (size_t k = 0; c->role == ROLE_FEATURE && k < c->ncat; k++) { /* "Location=Albury" */
            size_t len = strlen(names[j]) + strlen(c->cats[k]) + 2;
            if (!(out->columns[c->out + k] = malloc(len))) goto oom;
            snprintf(out->columns[c->out + k], len, "%s=%s", names[j], c->cats[k]);
        }
        if (c->role == ROLE_FEATURE && !c->cats && !(out->columns[c->out] = strdup(names[j]))) goto oom;
        if (c->role == ROLE_LABEL && !(out->label_name = strdup(names[j]))) goto oom;
    }
    return AE_OK;
oom:
    return ae_errf(err, AE_EINTERNAL, "out of memory for column names");
}

/* The header (delimiter guessed first for `auto`), then the rows. */
static int load_table(csv_reader *r, const ae_csv_opts *o, char ***names, size_t *ncol, col_info **cols,
                      csv_table *t, ae_err *err)
{
    if (o->delimiter_auto) {
        size_t count;
        r->delim = csv_detect_delimiter(r, &count);
        char shown[8];
        snprintf(shown, sizeof shown, r->delim == '\t' ? "tab" : "'%c'", r->delim);
        fprintf(stderr, "aelab: %s: data.delimiter auto: %s (%zu in the header line)\n", r->path, shown,
                count);
    }
    long line, nf = csv_next_record(r, &line, err);
    if (nf < 0) return err->code;
    if (nf == 0) return ae_errf(err, AE_EINPUT, "%s:1: empty file (expected a header row)", r->path);
    *ncol = (size_t)nf;
    *names = malloc(*ncol * sizeof **names);
    *cols = calloc(*ncol, sizeof **cols);
    if (!*names || !*cols) return ae_errf(err, AE_EINTERNAL, "%s: out of memory", r->path);
    memcpy(*names, r->fields, *ncol * sizeof **names); /* point into buf, stay valid */
    if (plan_columns(r, *names, *ncol, o, *cols, err)) return err->code;
    return csv_read_table(r, *ncol, t, err);
}

static int alloc_rows(const csv_reader *r, size_t kept, int labels, ae_dataset *out, ae_err *err)
{
    if (kept > SIZE_MAX / sizeof(float) / out->d)
        return ae_errf(err, AE_EINTERNAL, "%s: too many rows", r->path);
    out->x = malloc(kept * out->d * sizeof *out->x);
    if (labels) out->label = malloc(kept * sizeof *out->label);
    if (!out->x || (labels && !out->label))
        return ae_errf(err, AE_EINTERNAL, "%s: out of memory for %zu rows", r->path, kept);
    return AE_OK;
}

int ae_csv_load(const char *path, const ae_csv_opts *opts, ae_dataset *out, ae_err *err)
{
    static const ae_csv_opts defaults = {0};
    const ae_csv_opts *o = opts ? opts : &defaults;
    ae_err local = {0};
    if (!err) err = &local; /* helpers below read err->code */
    memset(out, 0, sizeof *out);
    csv_reader r = {.path = path, .line = 1, .delim = o->delimiter ? o->delimiter : ','};
    char **names = NULL;
    col_info *cols = NULL;
    csv_table t = {0};
    unsigned char *keep = NULL;
    size_t len = 0, ncol = 0, kept = 0;
    int rc = csv_read_all(path, &r.buf, &len, err);
    if (rc) return rc;
    r.end = r.buf + len;
    r.p = r.buf;
    if (len >= 3 && memcmp(r.buf, "\xEF\xBB\xBF", 3) == 0) r.p += 3; /* UTF-8 byte order mark */
    if (load_table(&r, o, &names, &ncol, &cols, &t, err)) goto fail;
    if (!(keep = malloc(t.n ? t.n : 1))) {
        rc = ae_errf(err, AE_EINTERNAL, "%s: out of memory", path);
        goto done;
    }
    if (mark_rows(&r, names, ncol, o, cols, &t, keep, &kept, err) ||
        layout(&r, ncol, cols, &t, keep, kept, &out->d, err))
        goto fail;
    out->c = out->h = 1;
    out->w = (int)out->d;
    if (alloc_rows(&r, kept, o->label != NULL, out, err) || fill_rows(&r, names, ncol, o, cols, &t, keep, out, err) ||
        set_names(names, ncol, cols, out, err))
        goto fail;
    goto done;
fail:
    rc = err->code ? err->code : AE_EINTERNAL;
done:
    if (rc) ae_dataset_free(out);
    for (size_t j = 0; cols && j < ncol; j++)
        if (cols[j].own) free(cols[j].cats);
    free(keep);
    csv_table_free(&t);
    free(names);
    free(cols);
    free(r.fields);
    free(r.buf);
    return rc;
}
