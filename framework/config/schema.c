/* Schema tables read through the typed getters (same messages, defaults inserted into the tree) and
 * printed for people; see ae_schema.h. */
#include "ae_schema.h"

#include <stdlib.h>
#include <string.h>

/* Appends "sep" and word to the text in buf (truncated at len). */
static void append(char *buf, size_t len, const char *sep, const char *word)
{
    size_t n = strlen(buf);
    if (n + 1 < len) snprintf(buf + n, len - n, "%s%s", sep, word);
}

static int optional(const ae_key *k) { return k->def && !k->def[0]; }

/* What a key expects, for "missing required key 'units' (an integer in [1, 16777216])". */
static const char *expects(const ae_key *k, char *buf, size_t len)
{
    switch (k->kind) {
    case AE_KEY_INT: snprintf(buf, len, "an integer in [%ld, %ld]", (long)k->min, (long)k->max); break;
    case AE_KEY_NUM: snprintf(buf, len, "a number in [%g, %g]", k->min, k->max); break;
    case AE_KEY_BOOL: snprintf(buf, len, "true or false"); break;
    case AE_KEY_STR:
    case AE_KEY_CHOICE:
        if (!k->choices) {
            snprintf(buf, len, "a string");
            break;
        }
        snprintf(buf, len, "one of: ");
        for (size_t i = 0; k->choices[i]; i++) append(buf, len, i ? ", " : "", k->choices[i]);
        break;
    case AE_KEY_MAP:
    case AE_KEY_SECTION: snprintf(buf, len, "a mapping"); break;
    default: snprintf(buf, len, "%s", k->help); break;
    }
    return buf;
}

static int missing(const ae_key *k, ae_cfg *map, ae_err *err)
{
    const char *unused;
    int fresh = err->code == AE_OK;
    int rc = ae_cfg_str(map, k->name, NULL, NULL, &unused, err); /* the message with its place */
    if (fresh && err->kind == AE_KIND_MISSING_KEY) {
        char what[400];
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (%s)", expects(k, what, sizeof what));
    }
    return rc;
}

static int read_choice(const ae_key *k, ae_cfg *map, int *out, ae_err *err)
{
    const char *v;
    if (ae_cfg_str(map, k->name, k->def, k->choices, &v, err)) return err->code;
    for (int i = 0; k->choices[i]; i++)
        if (!strcmp(v, k->choices[i])) *out = i;
    return AE_OK;
}

static int read_key(const ae_key *k, ae_cfg *map, char *base, ae_err *err)
{
    if (k->offset == AE_KEY_ELSEWHERE) return AE_OK;
    void *p = base + k->offset;
    int absent = !map || !ae_cfg_has(map, k->name);
    if (!k->def && absent) return missing(k, map, err);
    if (optional(k) && absent && k->kind != AE_KEY_CUSTOM) {
        if (map) ae_cfg_allow(map, k->name);
        return AE_OK;
    }
    const char *def = k->def ? k->def : "0"; /* a required key is present here */
    switch (k->kind) {
    case AE_KEY_INT: return ae_cfg_int(map, k->name, strtol(def, NULL, 10), (long)k->min, (long)k->max, (long *)p, err);
    case AE_KEY_NUM: return ae_cfg_num(map, k->name, strtod(def, NULL), k->min, k->max, (double *)p, err);
    case AE_KEY_BOOL: return ae_cfg_bool(map, k->name, !strcmp(def, "true"), (int *)p, err);
    case AE_KEY_STR: return ae_cfg_str(map, k->name, strcmp(def, AE_KEY_EMPTY) ? k->def : "", k->choices,
                                       (const char **)p, err);
    case AE_KEY_CHOICE: return read_choice(k, map, (int *)p, err);
    case AE_KEY_MAP: return ae_cfg_map(map, k->name, 1, (ae_cfg **)p, err);
    case AE_KEY_SEQ: return ae_cfg_seq(map, k->name, 1, (ae_cfg **)p, err); /* absent: [] inserted */
    case AE_KEY_SECTION: {
        ae_cfg *sub;
        if (ae_cfg_map(map, k->name, 1, &sub, err)) return err->code;
        return ae_schema_read(k->sub, sub, p, 1, err);
    }
    case AE_KEY_CUSTOM: return k->read(k, map, base, err);
    }
    return ae_errf(err, AE_EINTERNAL, "schema: key '%s' of unknown kind", k->name);
}

static const ae_key *find_key(const ae_schema *s, const char *name)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (!strcmp(s->keys[i].name, name)) return &s->keys[i];
    return NULL;
}

/* The case the switch key's value selects (the value was checked against its choices already). */
static const ae_schema *selected(const ae_schema *s, const ae_cfg *map)
{
    const ae_key *sk = find_key(s, s->switch_key);
    const char *v = map ? ae_cfg_scalar(ae_cfg_lookup(map, s->switch_key)) : NULL;
    if (!v) v = sk ? sk->def : NULL;
    for (size_t i = 0; v && i < s->ncases; i++)
        if (!strcmp(s->cases[i].when, v)) return s->cases[i].schema;
    return NULL;
}

/* Marks every key of the schema known (a missing key stops the read: the keys after it are valid
 * still, so a later ae_cfg_finish reports only real unknown keys, such as a typo of the missing one). */
static void allow_all(const ae_schema *s, ae_cfg *map)
{
    for (size_t i = 0; i < s->nkeys; i++) ae_cfg_allow(map, s->keys[i].name);
    for (size_t i = 0; i < s->ncases; i++) allow_all(s->cases[i].schema, map);
}

int ae_schema_read(const ae_schema *s, ae_cfg *map, void *out, int finish, ae_err *err)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (read_key(&s->keys[i], map, out, err)) {
            if (map && ae_cfg_kind_of(map) == AE_CFG_MAP && err->kind == AE_KIND_MISSING_KEY) allow_all(s, map);
            return err->code;
        }
    const ae_schema *c = s->switch_key ? selected(s, map) : NULL;
    if (c && ae_schema_read(c, map, out, 0, err)) return err->code;
    return finish && map ? ae_cfg_finish(map, s->section, err) : AE_OK;
}

const ae_key *ae_schema_key(const ae_schema *s, const char *name)
{
    const ae_key *k = find_key(s, name);
    for (size_t i = 0; !k && i < s->ncases; i++) k = find_key(s->cases[i].schema, name);
    return k;
}

const char *ae_schema_key_list(const ae_schema *s, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < s->nkeys; i++) append(buf, len, i ? ", " : "", s->keys[i].name);
    return buf;
}

/* --- printing -------------------------------------------------------------------------------- */

static const char *kind_name(ae_key_kind k)
{
    static const char *const names[] = {"integer", "number", "true|false", "string", "string", "mapping",
                                        "list", "mapping", "value"};
    return names[k];
}

/* %g of x, with more digits when that does not read back exactly. */
static const char *num_text(double x, char *buf, size_t len)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    return buf;
}

/* "[1, 100]", "a | b | c", or "" into buf. */
static const char *domain(const ae_key *k, char *buf, size_t len)
{
    char a[40], b[40];
    buf[0] = '\0';
    if (k->kind == AE_KEY_INT) {
        snprintf(buf, len, "[%ld, %ld]", (long)k->min, (long)k->max);
    } else if (k->kind == AE_KEY_NUM) {
        snprintf(buf, len, "[%s, %s]", num_text(k->min, a, sizeof a), num_text(k->max, b, sizeof b));
    } else if ((k->kind == AE_KEY_STR || k->kind == AE_KEY_CHOICE) && k->choices) {
        for (int i = 0; k->choices[i]; i++) append(buf, len, i ? " | " : "", k->choices[i]);
    }
    return buf;
}

static const char *def_text(const ae_key *k)
{
    return !k->def ? "required" : optional(k) ? "optional" : NULL;
}

static void print_keys(const ae_schema *s, FILE *f, const char *indent)
{
    char deeper[64];
    snprintf(deeper, sizeof deeper, "%s    ", indent);
    for (size_t i = 0; i < s->nkeys; i++) {
        const ae_key *k = &s->keys[i];
        char dom[512];
        domain(k, dom, sizeof dom);
        const char *d = def_text(k);
        fprintf(f, "%s%s (%s, %s%s): %s\n", indent, k->name, dom[0] ? dom : kind_name(k->kind),
                d ? d : "default ", d ? "" : k->def, k->help);
        if (k->kind == AE_KEY_SECTION) print_keys(k->sub, f, deeper);
    }
    for (size_t i = 0; i < s->ncases; i++) {
        fprintf(f, "%swith %s: %s\n", indent, s->switch_key, s->cases[i].when);
        print_keys(s->cases[i].schema, f, deeper);
    }
}

void ae_schema_print(const ae_schema *s, FILE *f, const char *indent) { print_keys(s, f, indent); }

/* Text in a Markdown table cell: '|' escaped. */
static void cell(FILE *f, const char *t)
{
    for (; *t; t++) {
        if (*t == '|') fputc('\\', f);
        fputc(*t, f);
    }
}

static void table(const ae_schema *s, FILE *f)
{
    fprintf(f, "| key | kind | default | allowed | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < s->nkeys; i++) {
        const ae_key *k = &s->keys[i];
        char dom[512];
        const char *d = def_text(k);
        fprintf(f, "| `%s` | ", k->name);
        cell(f, kind_name(k->kind));
        fprintf(f, " | %s%s%s | ", d ? "" : "`", d ? d : k->def, d ? "" : "`");
        cell(f, domain(k, dom, sizeof dom));
        fprintf(f, " | ");
        cell(f, k->help);
        fprintf(f, " |\n");
    }
}

void ae_schema_markdown(const ae_schema *s, FILE *f)
{
    table(s, f);
    for (size_t i = 0; i < s->ncases; i++) {
        fprintf(f, "\nWith `%s: %s`:\n\n", s->switch_key, s->cases[i].when);
        table(s->cases[i].schema, f);
    }
    for (size_t i = 0; i < s->nkeys; i++)
        if (s->keys[i].kind == AE_KEY_SECTION) {
            fprintf(f, "\n`%s`:\n\n", s->keys[i].sub->section);
            ae_schema_markdown(s->keys[i].sub, f);
        }
}

/* 1 when a key named `name` is among s's own keys or the keys of a case before case `ci`. */
static int seen_before(const ae_schema *s, size_t ci, const char *name)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (!strcmp(s->keys[i].name, name)) return 1;
    for (size_t c = 0; c < ci; c++)
        if (s->cases[c].schema && ae_schema_key(s->cases[c].schema, name)) return 1;
    return 0;
}

/* "prefix.name" and, for a key with a fixed set of values, "prefix.name=value" per value. */
static void key_lines(const ae_key *k, const char *prefix, FILE *f)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", k->name);
    fprintf(f, "%s\n", path);
    if (k->kind == AE_KEY_BOOL) fprintf(f, "%s=true\n%s=false\n", path, path);
    if ((k->kind == AE_KEY_STR || k->kind == AE_KEY_CHOICE) && k->choices)
        for (size_t i = 0; k->choices[i]; i++) fprintf(f, "%s=%s\n", path, k->choices[i]);
    if (k->kind == AE_KEY_SECTION) ae_schema_keys(k->sub, path, f);
}

void ae_schema_keys(const ae_schema *s, const char *prefix, FILE *f)
{
    for (size_t i = 0; i < s->nkeys; i++) key_lines(&s->keys[i], prefix, f);
    for (size_t c = 0; c < s->ncases; c++) {
        const ae_schema *cs = s->cases[c].schema;
        for (size_t i = 0; cs && i < cs->nkeys; i++)
            if (!seen_before(s, c, cs->keys[i].name)) key_lines(&cs->keys[i], prefix, f);
    }
}
