/* YAML text -> configuration tree, through libyaml's event parser. Rejects what a config file
 * should not contain (tabs as indentation, duplicate keys, anchors/aliases/tags, several
 * documents) with "file:line:col: message" errors. */
#include "config_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define MAX_DEPTH 200

typedef struct {
    yaml_parser_t p;
    const char *text;
    size_t len;
    const char *name;
    int positions; /* 0: nodes carry `name` as origin; errors have no line:col */
    ae_err *err;
} pctx;

static int failv(pctx *c, int code, int line, int col, const char *fmt, va_list ap)
{
    char msg[768], pos[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (c->positions)
        return ae_errf(c->err, code, "%s: %s", ae_cfgi_pos(c->name, line, col, pos, sizeof pos), msg);
    return ae_errf(c->err, code, "%s", msg);
}

static int fail_at(pctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(pctx *c, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(c, AE_EINPUT, line, col, fmt, ap);
    va_end(ap);
    return rc;
}

static int fail_ev(pctx *c, const yaml_event_t *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_ev(pctx *c, const yaml_event_t *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(c, AE_EINPUT, (int)e->start_mark.line + 1, (int)e->start_mark.column + 1, fmt, ap);
    va_end(ap);
    return rc;
}

static int syntax_error(pctx *c)
{
    yaml_parser_t *p = &c->p;
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_MEMORY_ERROR)
        return ae_errf(c->err, AE_EINTERNAL, "%s: out of memory parsing YAML", c->name);
    if (p->error == YAML_READER_ERROR) {
        int line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < c->len; i++, col++)
            if (c->text[i] == '\n') { line++; col = 0; }
        return fail_at(c, line, col, "invalid text (%s); the file must be UTF-8", problem);
    }
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->context && c->positions)
        return fail_at(c, line, col, "syntax error: %s (%s at line %d)", problem, p->context,
                       (int)p->context_mark.line + 1);
    if (p->context) return fail_at(c, line, col, "syntax error: %s (%s)", problem, p->context);
    return fail_at(c, line, col, "syntax error: %s", problem);
}

static int next(pctx *c, yaml_event_t *e)
{
    return yaml_parser_parse(&c->p, e) ? AE_OK : syntax_error(c);
}

static int check_plain(pctx *c, const yaml_event_t *e, const yaml_char_t *anchor, const yaml_char_t *tag)
{
    if (anchor)
        return fail_ev(c, e, "anchors (&%s) are not supported; write the value out in full", anchor);
    if (tag) return fail_ev(c, e, "tags (%s) are not supported; remove the tag", tag);
    return AE_OK;
}

static const char *kind_name(yaml_event_type_t t)
{
    return t == YAML_MAPPING_START_EVENT ? "a mapping" : t == YAML_SEQUENCE_START_EVENT ? "a sequence" : "an alias";
}

static ae_cfg *new_node(pctx *c, ae_cfg_kind kind, const yaml_event_t *e)
{
    ae_cfg *n = c->positions ? ae_cfgi_new(kind, c->name, (int)e->start_mark.line + 1,
                                           (int)e->start_mark.column + 1)
                             : ae_cfgi_new(kind, c->name, 0, 0);
    if (!n) ae_errf(c->err, AE_EINTERNAL, "%s: out of memory", c->name);
    return n;
}

static ae_cfg *parse_node(pctx *c, yaml_event_t *e, int depth);

/* Reads the entries of a map or seq until its end event; returns AE_OK or an error code. */
static int parse_children(pctx *c, ae_cfg *n, int depth)
{
    yaml_event_t e, ke;
    for (;;) {
        if (next(c, &ke)) return AE_EINPUT;
        if (ke.type == YAML_MAPPING_END_EVENT || ke.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ke);
            return AE_OK;
        }
        if (n->kind == AE_CFG_SEQ) {
            ae_cfg *item = parse_node(c, &ke, depth + 1);
            if (!item || ae_cfgi_put(n, NULL, item, 0, 0)) return ae_errf(c->err, AE_EINTERNAL, "out of memory");
            continue;
        }
        int rc = AE_OK;
        if (ke.type != YAML_SCALAR_EVENT)
            rc = fail_ev(c, &ke, "keys must be plain words, not %s", kind_name(ke.type));
        else
            rc = check_plain(c, &ke, ke.data.scalar.anchor, ke.data.scalar.tag);
        const char *key = rc ? NULL : (const char *)ke.data.scalar.value;
        long dup = key ? ae_cfgi_find(n, key) : -1;
        if (dup >= 0) {
            const cfg_entry *d = &n->ents[dup];
            if (d->kline > 0) rc = fail_ev(c, &ke, "duplicate key '%s' (first at line %d)", key, d->kline);
            else rc = fail_ev(c, &ke, "duplicate key '%s'", key);
        }
        int kline = c->positions ? (int)ke.start_mark.line + 1 : 0;
        int kcol = c->positions ? (int)ke.start_mark.column + 1 : 0;
        if (rc || next(c, &e)) {
            yaml_event_delete(&ke);
            return AE_EINPUT;
        }
        ae_cfg *val = parse_node(c, &e, depth + 1);
        rc = val ? ae_cfgi_put(n, key, val, kline, kcol) : AE_EINPUT;
        yaml_event_delete(&ke);
        if (rc) return ae_errf(c->err, rc, "out of memory");
    }
}

/* Builds the node that starts with event e (consumed). NULL on error (err set). */
static ae_cfg *parse_node(pctx *c, yaml_event_t *e, int depth)
{
    ae_cfg *n = NULL;
    if (depth > MAX_DEPTH) {
        fail_ev(c, e, "nesting deeper than %d levels", MAX_DEPTH);
    } else if (e->type == YAML_ALIAS_EVENT) {
        fail_ev(c, e, "aliases (*%s) are not supported; write the value out in full", e->data.alias.anchor);
    } else if (e->type == YAML_SCALAR_EVENT) {
        const char *text = (const char *)e->data.scalar.value;
        int plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (!check_plain(c, e, e->data.scalar.anchor, e->data.scalar.tag)) {
            if (plain && ae_cfgi_is_null_text(text)) {
                n = new_node(c, AE_CFG_NULL, e);
            } else if ((n = new_node(c, AE_CFG_SCALAR, e))) {
                n->text = strdup(text);
                n->quoted = !plain || ae_cfgi_needs_quote(text);
                if (!n->text) {
                    ae_cfg_free(n);
                    n = NULL;
                    ae_errf(c->err, AE_EINTERNAL, "out of memory");
                }
            }
        }
    } else if (e->type == YAML_SEQUENCE_START_EVENT || e->type == YAML_MAPPING_START_EVENT) {
        int seq = e->type == YAML_SEQUENCE_START_EVENT;
        if (!check_plain(c, e, seq ? e->data.sequence_start.anchor : e->data.mapping_start.anchor,
                         seq ? e->data.sequence_start.tag : e->data.mapping_start.tag) &&
            (n = new_node(c, seq ? AE_CFG_SEQ : AE_CFG_MAP, e)) && parse_children(c, n, depth)) {
            ae_cfg_free(n);
            n = NULL;
        }
    } else {
        fail_ev(c, e, "unexpected YAML event");
    }
    yaml_event_delete(e);
    return n;
}

/* A tab in the leading whitespace of a line is meant as indentation, which YAML forbids;
 * libyaml's messages for it are confusing and it rejects some blank lines with tabs, not all. */
static int check_tabs(pctx *c)
{
    int line = 1;
    for (size_t s = 0; s < c->len; line++) {
        size_t j = s, tab = (size_t)-1;
        for (; j < c->len; j++) { /* indentation, including that after "- " */
            char ch = c->text[j];
            if (ch == '-' && j + 1 < c->len && (c->text[j + 1] == ' ' || c->text[j + 1] == '\t')) continue;
            if (ch != ' ' && ch != '\t') break;
            if (ch == '\t' && tab == (size_t)-1) tab = j;
        }
        if (tab != (size_t)-1)
            return fail_at(c, line, (int)(tab - s) + 1, "tabs are not allowed for indentation; use spaces");
        const char *nl = memchr(c->text + j, '\n', c->len - j);
        s = nl ? (size_t)(nl - c->text) + 1 : c->len;
    }
    return AE_OK;
}

static ae_cfg *parse_stream(pctx *c, int any_root)
{
    yaml_event_t e;
    if (next(c, &e)) return NULL; /* STREAM-START */
    yaml_event_delete(&e);
    if (next(c, &e)) return NULL;
    if (e.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&e);
        if (any_root) return ae_cfgi_new(AE_CFG_NULL, c->name, 0, 0);
        fail_at(c, 1, 1, "empty configuration");
        return NULL;
    }
    yaml_event_delete(&e); /* DOCUMENT-START */
    if (next(c, &e)) return NULL;
    int line = (int)e.start_mark.line + 1, col = (int)e.start_mark.column + 1;
    ae_cfg *root = parse_node(c, &e, 0);
    if (!root) return NULL;
    if (!any_root && root->kind != AE_CFG_MAP) {
        if (root->kind == AE_CFG_NULL) fail_at(c, line, col, "empty configuration");
        else fail_at(c, line, col, "the configuration must be a mapping of keys to values, not %s",
                     root->kind == AE_CFG_SEQ ? "a sequence" : "a single value");
        ae_cfg_free(root);
        return NULL;
    }
    int rc = next(c, &e); /* DOCUMENT-END */
    if (!rc) {
        yaml_event_delete(&e);
        rc = next(c, &e);
    }
    if (!rc) {
        if (e.type == YAML_DOCUMENT_START_EVENT)
            rc = fail_ev(c, &e, "more than one YAML document ('---'); put everything in one document");
        yaml_event_delete(&e);
    }
    if (rc) {
        ae_cfg_free(root);
        return NULL;
    }
    return root;
}

ae_cfg *ae_cfgi_parse(const char *text, size_t len, const char *name, int positions, int any_root,
                      ae_err *err)
{
    pctx c = {.text = text, .len = len, .name = name ? name : "<string>", .positions = positions, .err = err};
    if (positions && check_tabs(&c)) return NULL;
    if (!yaml_parser_initialize(&c.p)) {
        ae_errf(err, AE_EINTERNAL, "%s: cannot initialise the YAML parser", c.name);
        return NULL;
    }
    yaml_parser_set_input_string(&c.p, (const unsigned char *)text, len);
    ae_cfg *root = parse_stream(&c, any_root);
    yaml_parser_delete(&c.p);
    return root;
}

ae_cfg *ae_cfg_load_string(const char *text, const char *name, ae_err *err)
{
    if (!text) {
        ae_errf(err, AE_EINPUT, "%s: no configuration text", name ? name : "<YAML text>");
        return NULL;
    }
    return ae_cfgi_parse(text, strlen(text), name ? name : "<YAML text>", 1, 0, err);
}

ae_cfg *ae_cfg_load_text(const char *text, const char *what, const char *name, ae_err *err)
{
    char src[256];
    snprintf(src, sizeof src, "<%s '%s'>", what ? what : "text", name ? name : "?");
    return ae_cfg_load_string(text, src, err);
}

ae_cfg *ae_cfg_load_file(const char *path, ae_err *err)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        ae_errf(err, AE_EINPUT, "cannot open configuration '%s': %s", path ? path : "(null)",
                path ? strerror(errno) : "no path");
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        ae_errf(err, AE_EINPUT, "cannot read configuration '%s': it is a folder, not a YAML file", path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? 2 * cap : 8192;
            char *b = realloc(buf, cap);
            if (!b) break;
            buf = b;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f) || !buf || len + 4096 > cap;
    fclose(f);
    if (bad) {
        free(buf);
        ae_errf(err, !buf || len + 4096 > cap ? AE_EINTERNAL : AE_EIO, "cannot read configuration '%s'", path);
        return NULL;
    }
    ae_cfg *root = ae_cfgi_parse(buf, len, path, 1, 0, err);
    free(buf);
    return root;
}
