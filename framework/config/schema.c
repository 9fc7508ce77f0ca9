/* Schema tables read through the typed getters (same messages, defaults inserted into the tree) and
 * printed for people; see ae_schema.h. */
#include "ae_schema.h"

#include <stdlib.h>
#include <string.h>

static int missing(ae_cfg *map, const char *key, ae_err *err)
{
    const char *unused;
    return ae_cfg_str(map, key, NULL, NULL, &unused, err); /* "missing required key" with its place */
}

static int read_key(const ae_key *k, ae_cfg *map, char *base, ae_err *err)
{
    void *p = base + k->offset;
    if (!k->def && k->kind != AE_KEY_SEQ && k->kind != AE_KEY_STR && !ae_cfg_has(map, k->name))
        return missing(map, k->name, err);
    switch (k->kind) {
    case AE_KEY_INT:
        return ae_cfg_int(map, k->name, k->def ? strtol(k->def, NULL, 10) : 0, (long)k->min, (long)k->max,
                          (long *)p, err);
    case AE_KEY_NUM:
        return ae_cfg_num(map, k->name, k->def ? strtod(k->def, NULL) : 0.0, k->min, k->max, (double *)p, err);
    case AE_KEY_BOOL:
        return ae_cfg_bool(map, k->name, k->def && !strcmp(k->def, "true"), (int *)p, err);
    case AE_KEY_STR:
        return ae_cfg_str(map, k->name, k->def, k->choices, (const char **)p, err);
    case AE_KEY_MAP:
        return ae_cfg_map(map, k->name, 1, (ae_cfg **)p, err);
    case AE_KEY_SEQ:
        return ae_cfg_seq(map, k->name, 0, (ae_cfg **)p, err);
    }
    return ae_errf(err, AE_EINTERNAL, "schema %s: key '%s' of unknown kind", "?", k->name);
}

int ae_schema_read(const ae_schema *s, ae_cfg *map, void *out, int finish, ae_err *err)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (read_key(&s->keys[i], map, out, err)) return err->code;
    return finish && map ? ae_cfg_finish(map, s->section, err) : AE_OK;
}

static const char *kind_name(ae_key_kind k)
{
    static const char *const names[] = {"integer", "number", "true|false", "string", "mapping", "list"};
    return names[k];
}

/* "[1, 100]", "a | b | c", or "" into buf. */
static const char *domain(const ae_key *k, char *buf, size_t len)
{
    buf[0] = '\0';
    if (k->kind == AE_KEY_INT || k->kind == AE_KEY_NUM) {
        snprintf(buf, len, "[%g, %g]", k->min, k->max);
    } else if (k->kind == AE_KEY_STR && k->choices) {
        size_t n = 0;
        for (int i = 0; k->choices[i] && n + 1 < len; i++)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " | " : "", k->choices[i]);
    }
    return buf;
}

void ae_schema_print(const ae_schema *s, FILE *f, const char *indent)
{
    for (size_t i = 0; i < s->nkeys; i++) {
        const ae_key *k = &s->keys[i];
        char dom[512];
        domain(k, dom, sizeof dom);
        fprintf(f, "%s%s (%s%s%s%s%s): %s\n", indent, k->name, dom[0] ? dom : kind_name(k->kind),
                k->def ? ", default " : ", required", k->def ? k->def : "", "", "", k->help);
    }
}

void ae_schema_markdown(const ae_schema *s, FILE *f)
{
    fprintf(f, "| key | kind | default | allowed | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < s->nkeys; i++) {
        const ae_key *k = &s->keys[i];
        char dom[512];
        fprintf(f, "| `%s` | %s | %s%s%s | %s | %s |\n", k->name, kind_name(k->kind), k->def ? "`" : "",
                k->def ? k->def : "required", k->def ? "`" : "", domain(k, dom, sizeof dom), k->help);
    }
}
