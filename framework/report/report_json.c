/* A tiny JSON object builder (one metrics line at a time) and atomic JSONL appends. */
#include "ae_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* On allocation failure the builder drops its buffer and sets n = -1; later calls do nothing and
 * buf stays NULL, which ae_jsonl_append reports as an error. */
static int reserve(ae_json *j, size_t extra)
{
    if (j->n < 0) return 0;
    if (j->len + extra + 1 <= j->cap) return 1;
    size_t cap = j->cap ? j->cap : 128;
    while (cap < j->len + extra + 1) cap *= 2;
    char *b = realloc(j->buf, cap);
    if (!b) {
        free(j->buf);
        j->buf = NULL;
        j->len = j->cap = 0;
        j->n = -1;
        return 0;
    }
    j->buf = b;
    j->cap = cap;
    return 1;
}

static void put(ae_json *j, const char *s, size_t k)
{
    if (!reserve(j, k)) return;
    memcpy(j->buf + j->len, s, k);
    j->len += k;
    j->buf[j->len] = '\0';
}

static void puts_(ae_json *j, const char *s) { put(j, s, strlen(s)); }

/* Writes s as a JSON string: quotes, backslash and control characters escaped, other bytes
 * (UTF-8) passed through. */
static void put_string(ae_json *j, const char *s)
{
    if (!s) {
        puts_(j, "null");
        return;
    }
    put(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': puts_(j, "\\\""); break;
        case '\\': puts_(j, "\\\\"); break;
        case '\n': puts_(j, "\\n"); break;
        case '\r': puts_(j, "\\r"); break;
        case '\t': puts_(j, "\\t"); break;
        case '\b': puts_(j, "\\b"); break;
        case '\f': puts_(j, "\\f"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                puts_(j, esc);
            } else {
                put(j, (const char *)p, 1);
            }
        }
    }
    put(j, "\"", 1);
}

static void put_key(ae_json *j, const char *key)
{
    if (j->n < 0) return;
    if (j->n++ > 0) put(j, ",", 1);
    put_string(j, key ? key : "");
    put(j, ":", 1);
}

void ae_json_begin(ae_json *j)
{
    j->buf = NULL;
    j->len = j->cap = 0;
    j->n = 0;
    put(j, "{", 1);
}

void ae_json_num(ae_json *j, const char *key, double v)
{
    put_key(j, key);
    if (!isfinite(v)) {
        puts_(j, "null");
        return;
    }
    char b[40];
    snprintf(b, sizeof b, "%.9g", v);
    puts_(j, b);
}

void ae_json_int(ae_json *j, const char *key, long long v)
{
    put_key(j, key);
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    puts_(j, b);
}

void ae_json_str(ae_json *j, const char *key, const char *v)
{
    put_key(j, key);
    put_string(j, v);
}

void ae_json_end(ae_json *j) { puts_(j, "}\n"); }

void ae_json_free(ae_json *j)
{
    free(j->buf);
    j->buf = NULL;
    j->len = j->cap = 0;
    j->n = 0;
}

/* Reads the whole file into a malloc'd buffer; a missing file is empty. */
static int read_all(const char *path, char **out, size_t *len, ae_err *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return AE_OK;
        return ae_errf(err, AE_EIO, "cannot read '%s': %s", path, strerror(errno));
    }
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 4096;
            char *b = realloc(buf, nc);
            if (!b) {
                free(buf);
                fclose(f);
                return ae_errf(err, AE_EINTERNAL, "cannot read '%s': out of memory", path);
            }
            buf = b;
            cap = nc;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return ae_errf(err, AE_EIO, "cannot read '%s': read error", path);
    }
    *out = buf;
    *len = n;
    return AE_OK;
}

int ae_jsonl_append(const char *path, const char *line, ae_err *err)
{
    if (!line) return ae_errf(err, AE_EINTERNAL, "cannot write '%s': no line (out of memory?)", path);
    char *old;
    size_t olen;
    int rc = read_all(path, &old, &olen, err);
    if (rc) return rc;
    ae_afile af;
    rc = ae_afile_open(&af, path, err);
    if (rc) {
        free(old);
        return rc;
    }
    size_t llen = strlen(line);
    int ok = olen == 0 || fwrite(old, 1, olen, af.f) == olen;
    if (ok && olen && old[olen - 1] != '\n') ok = fputc('\n', af.f) != EOF;
    if (ok && llen) ok = fwrite(line, 1, llen, af.f) == llen;
    if (ok && (llen == 0 || line[llen - 1] != '\n')) ok = fputc('\n', af.f) != EOF;
    free(old);
    if (!ok) {
        int e = errno ? errno : EIO;
        ae_afile_abort(&af);
        return ae_errf(err, AE_EIO, "cannot write '%s': %s", path, strerror(e));
    }
    return ae_afile_commit(&af, err);
}

int ae_jsonl_keep(const char *path, long lines, ae_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return AE_OK;
    char *line = NULL, *out = NULL;
    size_t cap = 0, olen = 0;
    FILE *o = open_memstream(&out, &olen);
    long k = 0;
    while (o && k < lines && getline(&line, &cap, f) > 0) {
        fputs(line, o);
        k++;
    }
    free(line);
    fclose(f);
    if (!o) return ae_errf(err, AE_EINTERNAL, "out of memory");
    fclose(o);
    int rc = ae_write_file_atomic(path, out, olen, err);
    free(out);
    return rc;
}
