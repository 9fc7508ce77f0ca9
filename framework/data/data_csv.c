/* CSV loader: reads a whole .csv or .csv.gz (zlib reads both) into memory, parses it in place and
 * applies ae_csv_opts (drop columns, NA rows, categorical maps, label column). */
#include "ae_data.h"
#include "data_internal.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct csv_reader {
    const char *path;
    char *buf, *end; /* whole file, NUL-terminated at *end */
    char *p;         /* parse position */
    long line;       /* line number of p (1-based) */
    char delim;
    char **fields;   /* fields of the current record (point into buf) */
    size_t cap;
} csv_reader;

enum { ROLE_DROP, ROLE_FEATURE, ROLE_LABEL };

typedef struct col_info {
    int role;
    size_t out;            /* feature index when ROLE_FEATURE */
    const ae_csv_map *map; /* categorical mapping or NULL */
    size_t n_values;       /* non-NA cells seen */
} col_info;

static const char *const default_na[] = {"NA", ""};
enum { MAX_LABEL = (1 << 20) - 1 }; /* largest class index (n_classes must fit, arrays per class) */

/* Reads the whole file (gzip or plain, zlib decides) into a NUL-terminated buffer. */
static int read_all(const char *path, char **out, size_t *out_len, ae_err *err)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return ae_errf(err, AE_EINPUT, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1u << 18);
    size_t cap = 1u << 16, len = 0; /* doubled as needed: small files stay small */
    char *buf = malloc(cap);
    int n = 0;
    while (buf) {
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - len - 1 < (1u << 20) ? cap - len - 1 : (1u << 20);
        if ((n = gzread(f, buf + len, (unsigned)want)) <= 0) break;
        len += (size_t)n;
    }
    int errnum = Z_OK;
    const char *zmsg = gzerror(f, &errnum);
    size_t plen = strlen(path); /* zlib's message starts with the path: keep it once */
    if (!strncmp(zmsg, path, plen) && !strncmp(zmsg + plen, ": ", 2)) zmsg += plen + 2;
    char msg[256];
    snprintf(msg, sizeof msg, "%s", errnum == Z_ERRNO ? strerror(errno) : zmsg);
    gzclose(f);
    if (!buf) return ae_errf(err, AE_EINTERNAL, "%s: out of memory reading the file", path);
    if (n < 0 || errnum != Z_OK) {
        free(buf);
        return ae_errf(err, AE_EINPUT, "%s: read error: %s", path, msg);
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return AE_OK;
}

static int at_eol(const csv_reader *r, const char *p)
{
    return p >= r->end || *p == '\n' || (*p == '\r' && (p + 1 >= r->end || p[1] == '\n'));
}

/* Parses the next record in place (fields NUL-terminated, quotes removed). Blank lines are
 * skipped. Returns the field count, 0 at the end of the data, -1 on a syntax error. *line gets
 * the record's first line. */
static long next_record(csv_reader *r, long *line, ae_err *err)
{
    char *p = r->p;
    while (p < r->end && at_eol(r, p)) {
        p += (*p == '\r' && p + 1 < r->end) ? 2 : 1;
        r->line++;
    }
    r->p = p;
    if (p >= r->end) return 0;
    *line = r->line;
    size_t nf = 0;
    for (;;) {
        char *start = p, *w;
        if (*p == '"') {
            w = start;
            for (p++;; p++) {
                if (p >= r->end) {
                    ae_errf(err, AE_EINPUT, "%s:%ld: unterminated quoted field", r->path, *line);
                    return -1;
                }
                if (*p == '"') {
                    if (p + 1 < r->end && p[1] == '"') p++;
                    else break;
                } else if (*p == '\n') {
                    r->line++;
                }
                *w++ = *p;
            }
            p++; /* closing quote */
            if (p < r->end && *p != r->delim && !at_eol(r, p)) {
                ae_errf(err, AE_EINPUT, "%s:%ld: field %zu: unexpected text after closing quote",
                        r->path, r->line, nf + 1);
                return -1;
            }
            if (p < r->end && *p == '\r') p++;
        } else {
            while (p < r->end && *p != r->delim && *p != '\n') p++;
            w = p;
            if (w > start && w[-1] == '\r' && (p >= r->end || *p == '\n')) w--;
        }
        if (nf == r->cap) {
            size_t nc = r->cap ? r->cap * 2 : 32;
            char **nfp = realloc(r->fields, nc * sizeof *nfp);
            if (!nfp) {
                ae_errf(err, AE_EINTERNAL, "%s: out of memory", r->path);
                return -1;
            }
            r->fields = nfp;
            r->cap = nc;
        }
        r->fields[nf++] = start;
        int more = p < r->end && *p == r->delim;
        *w = '\0'; /* w <= p: overwrites at most the separator already examined */
        if (more) {
            p++;
            continue;
        }
        if (p < r->end) p++; /* '\n' */
        r->line++;
        break;
    }
    r->p = p;
    return (long)nf;
}

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

/* Assigns a role / map to every header column; counts features into *d. */
static int plan_columns(const csv_reader *r, char *const *names, size_t ncol, const ae_csv_opts *o,
                        col_info *cols, size_t *d, ae_err *err)
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
        if (m->n && (!m->keys || !m->values))
            return ae_errf(err, AE_EINPUT, "%s: map for column '%s' has no keys/values", r->path,
                           m->column);
        cols[j].map = m; /* a map on a dropped column is harmless and ignored */
    }
    *d = 0;
    for (size_t k = 0; k < ncol; k++)
        if (cols[k].role == ROLE_FEATURE) cols[k].out = (*d)++;
    if (*d == 0) return ae_errf(err, AE_EINPUT, "%s: no feature columns left", r->path);
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

static int is_na(const char *s, const char *const *na, size_t n_na)
{
    for (size_t k = 0; k < n_na; k++)
        if (strcmp(s, na[k]) == 0) return 1;
    return 0;
}

/* Parses all data rows into out->x / out->label, dropping NA rows when asked. */
static int load_rows(csv_reader *r, char *const *names, size_t ncol, const ae_csv_opts *o,
                     col_info *cols, ae_dataset *out, ae_err *err)
{
    const char *const *na = o->na_values ? o->na_values : default_na;
    size_t n_na = o->na_values ? o->n_na : 2, d = out->d, max_rows = 1, total = 0, kept = 0;
    for (const char *q = r->p; (q = memchr(q, '\n', (size_t)(r->end - q))); q++) max_rows++;
    if (max_rows > SIZE_MAX / sizeof(float) / d)
        return ae_errf(err, AE_EINTERNAL, "%s: too many rows", r->path);
    out->x = malloc(max_rows * d * sizeof *out->x);
    if (o->label) out->label = malloc(max_rows * sizeof *out->label);
    if (!out->x || (o->label && !out->label))
        return ae_errf(err, AE_EINTERNAL, "%s: out of memory for %zu rows", r->path, max_rows);
    long nf, line = r->line;
    int max_label = -1;
    while ((nf = next_record(r, &line, err)) > 0) {
        if ((size_t)nf != ncol)
            return ae_errf(err, AE_EINPUT, "%s:%ld: row has %ld field%s, header has %zu", r->path,
                           line, nf, nf == 1 ? "" : "s", ncol);
        float *row = out->x + kept * d;
        int has_na = 0, label = 0;
        for (size_t j = 0; j < ncol; j++) {
            const char *s = r->fields[j];
            if (cols[j].role == ROLE_DROP) continue;
            if (is_na(s, na, n_na)) {
                if (!o->dropna_any)
                    return ae_errf(err, AE_EINPUT,
                                   "%s:%ld: column '%s': missing value %s%s%s (enable dropna or "
                                   "fill it in)", r->path, line, names[j], *s ? "'" : "",
                                   *s ? s : "(empty cell)", *s ? "'" : "");
                has_na = 1;
                continue;
            }
            cols[j].n_values++;
            double v = 0;
            if (cell_value(r, line, names[j], &cols[j], s, &v, err)) return err->code;
            if (cols[j].role == ROLE_FEATURE) {
                row[cols[j].out] = (float)v;
            } else if (v >= 0 && v <= MAX_LABEL && v == floor(v)) {
                label = (int)v;
            } else {
                return ae_errf(err, AE_EINPUT,
                               "%s:%ld: label column '%s': '%s' is not a class index (labels must "
                               "be integers in [0, %d])", r->path, line, names[j], s, MAX_LABEL);
            }
        }
        total++;
        if (has_na) continue;
        if (out->label) {
            out->label[kept] = label;
            if (label > max_label) max_label = label;
        }
        kept++;
    }
    if (nf < 0) return err->code;
    if (total == 0) return ae_errf(err, AE_EINPUT, "%s:2: no data rows (header only)", r->path);
    for (size_t j = 0; j < ncol; j++)
        if (cols[j].role != ROLE_DROP && cols[j].n_values == 0)
            return ae_errf(err, AE_EINPUT, "%s: column '%s' has no values (all NA)", r->path,
                           names[j]);
    if (kept == 0)
        return ae_errf(err, AE_EINPUT,
                       "%s: no rows left after dropna (all %zu rows have a missing value)",
                       r->path, total);
    out->n = kept;
    out->n_classes = out->label ? max_label + 1 : 0;
    float *x = realloc(out->x, kept * d * sizeof *x); /* shrink; failure keeps the old block */
    if (x) out->x = x;
    if (out->label) {
        int *lb = realloc(out->label, kept * sizeof *lb);
        if (lb) out->label = lb;
    }
    return AE_OK;
}

static int set_names(char *const *names, size_t ncol, const col_info *cols, ae_dataset *out,
                     ae_err *err)
{
    if (!(out->columns = calloc(out->d, sizeof *out->columns))) goto oom;
    for (size_t j = 0; j < ncol; j++) {
        if (cols[j].role == ROLE_FEATURE && !(out->columns[cols[j].out] = strdup(names[j])))
            goto oom;
        if (cols[j].role == ROLE_LABEL && !(out->label_name = strdup(names[j]))) goto oom;
    }
    return AE_OK;
oom:
    return ae_errf(err, AE_EINTERNAL, "out of memory for column names");
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
    size_t len = 0, ncol = 0;
    int rc = read_all(path, &r.buf, &len, err);
    if (rc) return rc;
    r.end = r.buf + len;
    r.p = r.buf;
    if (len >= 3 && memcmp(r.buf, "\xEF\xBB\xBF", 3) == 0) r.p += 3; /* UTF-8 byte order mark */
    long line, nf = next_record(&r, &line, err);
    if (nf < 0) goto fail;
    if (nf == 0) {
        rc = ae_errf(err, AE_EINPUT, "%s:1: empty file (expected a header row)", path);
        goto done;
    }
    ncol = (size_t)nf;
    names = malloc(ncol * sizeof *names);
    cols = calloc(ncol, sizeof *cols);
    if (!names || !cols) {
        rc = ae_errf(err, AE_EINTERNAL, "%s: out of memory", path);
        goto done;
    }
    memcpy(names, r.fields, ncol * sizeof *names); /* point into buf, stay valid */
    if (plan_columns(&r, names, ncol, o, cols, &out->d, err)) goto fail;
    out->c = out->h = 1;
    out->w = (int)out->d;
    if (load_rows(&r, names, ncol, o, cols, out, err)) goto fail;
    if (set_names(names, ncol, cols, out, err)) goto fail;
    goto done;
fail:
    rc = err->code ? err->code : AE_EINTERNAL;
done:
    if (rc) ae_dataset_free(out);
    free(names);
    free(cols);
    free(r.fields);
    free(r.buf);
    return rc;
}
