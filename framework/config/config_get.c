/* Typed reads from a configuration map: value conversion with precise errors, defaults inserted
 * into the tree, known-key tracking, ae_cfg_finish and the "did you mean" helpers. */
#include "config_internal.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- text forms ------------------------------------------------------------------------------ */

static int digits(const char **p)
{
    const char *s = *p;
    while (**p >= '0' && **p <= '9') (*p)++;
    return *p > s;
}

/* [+-]? digits | [+-]? (digits ('.' digits?)? | '.' digits) ([eE] [+-]? digits)? */
static int float_syntax(const char *s, int *is_int)
{
    if (*s == '+' || *s == '-') s++;
    int whole = digits(&s), frac = 0, dot = *s == '.';
    if (dot) {
        s++;
        frac = digits(&s);
    }
    if (!whole && !frac) return 0;
    int expo = *s == 'e' || *s == 'E';
    if (expo) {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!digits(&s)) return 0;
    }
    if (is_int) *is_int = !dot && !expo;
    return *s == '\0';
}

int ae_cfgi_parse_double(const char *s, double *out)
{
    if (!s || !float_syntax(s, NULL)) return 0;
    double v = strtod(s, NULL);
    if (!isfinite(v)) return 0;
    *out = v;
    return 1;
}

int ae_cfgi_parse_long(const char *s, long *out)
{
    int is_int = 0;
    if (!s || !float_syntax(s, &is_int)) return 0;
    if (is_int) {
        errno = 0;
        long v = strtol(s, NULL, 10);
        if (errno == ERANGE) return 0;
        *out = v;
        return 1;
    }
    double d; /* 1e6 or 100.0 are integers too; 1.5 is not */
    if (!ae_cfgi_parse_double(s, &d) || d != floor(d) || fabs(d) > 9007199254740992.0) return 0;
    *out = (long)d;
    return 1;
}

int ae_cfgi_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; s && i < 4; i++) {
        if (!strcasecmp(s, yes[i])) { *out = 1; return 1; }
        if (!strcasecmp(s, no[i])) { *out = 0; return 1; }
    }
    return 0;
}

int ae_cfgi_looks_typed(const char *s)
{
    int b;
    const char *t = s && (*s == '+' || *s == '-') ? s + 1 : s;
    return ae_cfgi_is_null_text(s) || ae_cfgi_parse_bool(s, &b) || float_syntax(s, NULL) ||
           !strcasecmp(t, ".inf") || !strcasecmp(s, ".nan");
}

/* --- suggestions -------------------------------------------------------------------------------- */

/* Optimal string alignment distance: insert, delete, substitute, swap two neighbours. */
size_t ae_edit_distance(const char *a, const char *b)
{
    a = a ? a : "";
    b = b ? b : "";
    size_t m = strlen(a), n = strlen(b);
    size_t *rows = malloc(3 * (n + 1) * sizeof *rows);
    if (!rows) return m > n ? m : n;
    size_t *pp = rows, *p = rows + n + 1, *c = rows + 2 * (n + 1);
    for (size_t j = 0; j <= n; j++) p[j] = j;
    for (size_t i = 1; i <= m; i++) {
        c[0] = i;
        for (size_t j = 1; j <= n; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = p[j - 1] + cost;
            if (p[j] + 1 < v) v = p[j] + 1;
            if (c[j - 1] + 1 < v) v = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
        }
        size_t *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    size_t d = p[n];
    free(rows);
    return d;
}

const char *ae_nearest(const char *word, const char *const *cands, size_t n)
{
    if (!word || !cands) return NULL;
    size_t wl = strlen(word), limit = wl / 3 > 2 ? wl / 3 : 2, best_d = (size_t)-1;
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i]) continue;
        size_t d = ae_edit_distance(word, cands[i]), cl = strlen(cands[i]);
        /* a candidate that shares nothing with the word is no suggestion, however short */
        if (d < best_d && d < (wl > cl ? wl : cl)) {
            best_d = d;
            best = cands[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

/* --- error messages ------------------------------------------------------------------------------ */

/* "where: path: message" (name replaces the node's path when given). */
static int node_err(const ae_cfg *n, const char *name, ae_err_kind kind, ae_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int node_err(const ae_cfg *n, const char *name, ae_err_kind kind, ae_err *err, const char *fmt, ...)
{
    char where[512], path[512], msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ae_cfg_where(n, where, sizeof where);
    if (!name) name = ae_cfg_path(n, path, sizeof path);
    if (*name) return ae_errk(err, kind, AE_EINPUT, "%s: %s: %s", where, name, msg);
    return ae_errk(err, kind, AE_EINPUT, "%s: %s", where, msg);
}

/* How a wrong value is described after "got". */
static const char *describe(const ae_cfg *n, char *buf, size_t len)
{
    if (!n || n->kind == AE_CFG_NULL) snprintf(buf, len, "null");
    else if (n->kind == AE_CFG_MAP) snprintf(buf, len, "a mapping");
    else if (n->kind == AE_CFG_SEQ) snprintf(buf, len, "a list");
    else snprintf(buf, len, "%s'%.60s%s'", n->quoted ? "the string " : "", n->text, strlen(n->text) > 60 ? "…" : "");
    return buf;
}

static int expected(const ae_cfg *n, const char *name, const char *what, ae_err *err)
{
    char got[300];
    return node_err(n, name, AE_KIND_BAD_VALUE, err, "expected %s, got %s", what, describe(n, got, sizeof got));
}

/* A plain scalar written as a number whose magnitude no double (or, for `integer`, no long)
 * holds, such as 1e400 or 99999999999999999999: the bound it exceeds, else NULL. */
static const char *out_of_range(const ae_cfg *n, int integer)
{
    int is_int = 0;
    if (!n || n->kind != AE_CFG_SCALAR || n->quoted || !float_syntax(n->text, &is_int)) return NULL;
    if (integer && is_int) {
        errno = 0;
        (void)strtol(n->text, NULL, 10);
        return errno == ERANGE ? "9.2e18" : NULL;
    }
    double v = fabs(strtod(n->text, NULL));
    if (isinf(v)) return "1.8e308";
    return integer && v > (double)LONG_MAX ? "9.2e18" : NULL;
}

/* "expected WHAT, got 'TEXT'", saying so when TEXT is a number too large to represent. */
static int bad_value(const ae_cfg *n, const char *name, const char *what, int integer, ae_err *err)
{
    char got[300];
    const char *limit = out_of_range(n, integer);
    if (!limit) return expected(n, name, what, err);
    return node_err(n, name, AE_KIND_BAD_VALUE, err, "expected %s, got %s, a number out of range (|x| > %s)",
                    what, describe(n, got, sizeof got), limit);
}

/* --- conversions ---------------------------------------------------------------------------------- */

static int to_int(const ae_cfg *n, const char *name, long min, long max, long *out, ae_err *err)
{
    char what[96];
    long v = 0;
    if (min > LONG_MIN && max < LONG_MAX) snprintf(what, sizeof what, "an integer in [%ld, %ld]", min, max);
    else if (min > LONG_MIN) snprintf(what, sizeof what, "an integer >= %ld", min);
    else if (max < LONG_MAX) snprintf(what, sizeof what, "an integer <= %ld", max);
    else snprintf(what, sizeof what, "an integer");
    if (!n || n->kind != AE_CFG_SCALAR || n->quoted || !ae_cfgi_parse_long(n->text, &v) || v < min || v > max)
        return bad_value(n, name, what, 1, err);
    *out = v;
    return AE_OK;
}

static int to_num(const ae_cfg *n, const char *name, double min, double max, double *out, ae_err *err)
{
    char what[96];
    double v = 0;
    int lo = min > -DBL_MAX, hi = max < DBL_MAX;
    if (lo && hi) snprintf(what, sizeof what, "a number in [%g, %g]", min, max);
    else if (lo) snprintf(what, sizeof what, "a number >= %g", min);
    else if (hi) snprintf(what, sizeof what, "a number <= %g", max);
    else snprintf(what, sizeof what, "a number");
    if (!n || n->kind != AE_CFG_SCALAR || n->quoted || !ae_cfgi_parse_double(n->text, &v) || !(v >= min) ||
        !(v <= max))
        return bad_value(n, name, what, 0, err);
    *out = v;
    return AE_OK;
}

int ae_cfg_to_int(const ae_cfg *n, long min, long max, long *out, ae_err *err)
{
    return to_int(n, NULL, min, max, out, err);
}

int ae_cfg_to_num(const ae_cfg *n, double min, double max, double *out, ae_err *err)
{
    return to_num(n, NULL, min, max, out, err);
}

/* --- getters ------------------------------------------------------------------------------------ */

static int not_a_map(const ae_cfg *map, const char *key, ae_err *err)
{
    char what[200];
    snprintf(what, sizeof what, "a mapping (with key '%s')", key);
    return expected(map, NULL, what, err);
}

/* map[key], marked known; when absent the default scalar is inserted, or with map == NULL made
 * as a temporary (*tmp, freed by the caller). */
static int fetch(ae_cfg *map, const char *key, const char *def, int def_quoted, ae_cfg **node,
                 ae_cfg **tmp, ae_err *err)
{
    *tmp = *node = NULL;
    if (map && map->kind != AE_CFG_MAP) return not_a_map(map, key, err);
    ae_cfgi_mark(map, key);
    long i = ae_cfgi_find(map, key);
    if (i >= 0) {
        *node = map->ents[i].val;
        return AE_OK;
    }
    ae_cfg *d = ae_cfgi_scalar(def, def_quoted, AE_CFG_ORIGIN_DEFAULT, 0, 0);
    if (!d || (map && ae_cfgi_put(map, key, d, 0, 0)))
        return ae_errf(err, AE_EINTERNAL, "out of memory reading configuration key '%s'", key);
    *node = d;
    if (!map) *tmp = d;
    return AE_OK;
}

int ae_cfg_int(ae_cfg *map, const char *key, long def, long min, long max, long *out, ae_err *err)
{
    char d[32];
    ae_cfg *n, *tmp;
    snprintf(d, sizeof d, "%ld", def);
    int rc = fetch(map, key, d, 0, &n, &tmp, err);
    if (!rc) rc = to_int(n, tmp ? key : NULL, min, max, out, err);
    ae_cfg_free(tmp);
    return rc;
}

int ae_cfg_num(ae_cfg *map, const char *key, double def, double min, double max, double *out, ae_err *err)
{
    char d[40];
    ae_cfg *n, *tmp;
    for (int prec = 15; prec <= 17; prec++) { /* shortest text that reads back exactly */
        snprintf(d, sizeof d, "%.*g", prec, def);
        if (strtod(d, NULL) == def) break;
    }
    int rc = fetch(map, key, d, 0, &n, &tmp, err);
    if (!rc) rc = to_num(n, tmp ? key : NULL, min, max, out, err);
    ae_cfg_free(tmp);
    return rc;
}

int ae_cfg_bool(ae_cfg *map, const char *key, int def, int *out, ae_err *err)
{
    ae_cfg *n, *tmp;
    int v = 0, rc = fetch(map, key, def ? "true" : "false", 0, &n, &tmp, err);
    if (!rc) {
        if (n->kind != AE_CFG_SCALAR || n->quoted || !ae_cfgi_parse_bool(n->text, &v))
            rc = expected(n, tmp ? key : NULL, "a boolean (true or false)", err);
        else *out = v;
    }
    ae_cfg_free(tmp);
    return rc;
}

static int check_choice(const ae_cfg *n, const char *name, const char *v, const char *const *choices, ae_err *err)
{
    size_t nc = 0;
    for (; choices && choices[nc]; nc++)
        if (!strcmp(choices[nc], v)) return AE_OK;
    if (!choices) return AE_OK;
    char list[600] = "", hint[200] = "";
    for (size_t i = 0; i < nc; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", choices[i]);
    }
    const char *near = ae_nearest(v, choices, nc);
    if (near) snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
    return node_err(n, name, AE_KIND_BAD_VALUE, err, "unknown value '%s' (expected one of: %s%s)", v, list, hint);
}

int ae_cfg_str(ae_cfg *map, const char *key, const char *def, const char *const *choices, const char **out,
               ae_err *err)
{
    if (map && map->kind != AE_CFG_MAP) return not_a_map(map, key, err);
    if (!def && !ae_cfg_has(map, key)) {
        ae_cfgi_mark(map, key);
        if (!map) return ae_errk(err, AE_KIND_MISSING_KEY, AE_EINPUT, "missing required key '%s'", key);
        return node_err(map, NULL, AE_KIND_MISSING_KEY, err, "missing required key '%s'", key);
    }
    ae_cfg *n, *tmp;
    int rc = fetch(map, key, def, def && ae_cfgi_looks_typed(def), &n, &tmp, err);
    if (!rc && n->kind != AE_CFG_SCALAR) rc = expected(n, NULL, "a string", err);
    if (!rc) rc = check_choice(n, tmp ? key : NULL, n->text, choices, err);
    if (!rc && !tmp) ae_cfg_mark_string(n); /* `name: no` is the string "no": saved quoted */
    if (!rc) *out = tmp ? def : n->text;
    ae_cfg_free(tmp);
    return rc;
}

static int get_coll(ae_cfg *map, const char *key, int create, ae_cfg_kind kind, ae_cfg **out, ae_err *err)
{
    *out = NULL;
    if (!map) return AE_OK;
    if (map->kind != AE_CFG_MAP) return not_a_map(map, key, err);
    ae_cfgi_mark(map, key);
    long i = ae_cfgi_find(map, key);
    if (i >= 0) {
        ae_cfg *n = map->ents[i].val;
        if (n->kind != kind) return expected(n, NULL, kind == AE_CFG_MAP ? "a mapping" : "a list", err);
        *out = n;
        return AE_OK;
    }
    if (!create) return AE_OK;
    ae_cfg *n = ae_cfgi_new(kind, AE_CFG_ORIGIN_DEFAULT, 0, 0);
    if (!n || ae_cfgi_put(map, key, n, 0, 0))
        return ae_errf(err, AE_EINTERNAL, "out of memory reading configuration key '%s'", key);
    *out = n;
    return AE_OK;
}

int ae_cfg_map(ae_cfg *map, const char *key, int create, ae_cfg **out, ae_err *err)
{
    return get_coll(map, key, create, AE_CFG_MAP, out, err);
}

int ae_cfg_seq(ae_cfg *map, const char *key, int create, ae_cfg **out, ae_err *err)
{
    return get_coll(map, key, create, AE_CFG_SEQ, out, err);
}

ae_cfg *ae_cfg_get(ae_cfg *map, const char *key)
{
    ae_cfgi_mark(map, key);
    long i = ae_cfgi_find(map, key);
    return i >= 0 ? map->ents[i].val : NULL;
}

int ae_cfg_has(const ae_cfg *map, const char *key) { return ae_cfgi_find(map, key) >= 0; }

void ae_cfg_allow(ae_cfg *map, const char *key) { ae_cfgi_mark(map, key); }

int ae_cfg_finish(const ae_cfg *map, const char *section, ae_err *err)
{
    if (!map || map->kind != AE_CFG_MAP) return AE_OK;
    for (size_t i = 0; i < map->n; i++) {
        const char *key = map->ents[i].key;
        if (ae_cfgi_is_known(map, key)) continue;
        char where[512], path[512], in[560], hint[700] = "";
        ae_err_kind kind = AE_KIND_UNKNOWN_KEY;
        if (!section) section = ae_cfg_path(map, path, sizeof path);
        if (*section) snprintf(in, sizeof in, "in %s", section);
        else snprintf(in, sizeof in, "at the top level");
        const char *near = ae_nearest(key, (const char *const *)map->known, map->nknown);
        if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
        else if (!map->nknown) snprintf(hint, sizeof hint, " (no keys are expected here)");
        else {
            kind = AE_KIND_UNKNOWN_KEY_LISTED;
            snprintf(hint, sizeof hint, " (valid keys: ");
            for (size_t k = 0; k < map->nknown; k++) {
                size_t used = strlen(hint);
                snprintf(hint + used, sizeof hint - used, "%s%s", k ? ", " : "", map->known[k]);
            }
            size_t used = strlen(hint);
            snprintf(hint + used, sizeof hint - used, ")");
        }
        return ae_errk(err, kind, AE_EINPUT, "%s: unknown key '%.60s%s' %s%s", ae_cfgi_key_where(map, i, where, sizeof where),
                       key, strlen(key) > 60 ? "…" : "", in, hint); /* a long key leaves room for the reason */
    }
    return AE_OK;
}
