/* CSV reading: the whole file into memory (zlib reads .gz and plain alike), records parsed in
 * place, the delimiter guessed from the header line (data.delimiter: auto), all rows as a table. */
#include "ae_data.h"
#include "data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Reads the whole file (gzip or plain, zlib decides) into a NUL-terminated buffer. */
int csv_read_all(const char *path, char **out, size_t *out_len, ae_err *err)
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
long csv_next_record(csv_reader *r, long *line, ae_err *err)
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


char csv_detect_delimiter(const csv_reader *r, size_t *count)
{
    static const char cands[] = {',', ';', '\t', '|'};
    size_t n[4] = {0, 0, 0, 0};
    int quoted = 0;
    for (const char *p = r->p; p < r->end && (quoted || (*p != '\n' && *p != '\r')); p++) {
        if (*p == '"') quoted = !quoted;
        for (int k = 0; k < 4 && !quoted; k++) n[k] += *p == cands[k];
    }
    int best = 0; /* ties and a header of one column: ',' */
    for (int k = 1; k < 4; k++)
        if (n[k] > n[best]) best = k;
    *count = n[best];
    return cands[best];
}

int csv_read_table(csv_reader *r, size_t ncol, csv_table *t, ae_err *err)
{
    size_t cap = 0;
    long nf, line = r->line;
    memset(t, 0, sizeof *t);
    while ((nf = csv_next_record(r, &line, err)) > 0) {
        if ((size_t)nf != ncol)
            return ae_errf(err, AE_EINPUT, "%s:%ld: row has %ld field%s, header has %zu", r->path,
                           line, nf, nf == 1 ? "" : "s", ncol);
        if (t->n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            char **cells = realloc(t->cell, nc * ncol * sizeof *cells);
            long *lines = cells ? realloc(t->line, nc * sizeof *lines) : NULL;
            if (cells) t->cell = cells;
            if (!lines) return ae_errf(err, AE_EINTERNAL, "%s: out of memory for %zu rows", r->path, nc);
            t->line = lines;
            cap = nc;
        }
        memcpy(t->cell + t->n * ncol, r->fields, ncol * sizeof *t->cell);
        t->line[t->n++] = line;
    }
    return nf < 0 ? err->code : AE_OK;
}

void csv_table_free(csv_table *t)
{
    free(t->cell);
    free(t->line);
    memset(t, 0, sizeof *t);
}
