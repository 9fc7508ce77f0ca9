/* Configuration tree -> block-style YAML (2-space indent, flow style for lists of scalars) that
 * reloads to an equal tree; also the rules for which strings must be quoted. */
#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ae_cfgi_is_null_text(const char *s)
{
    return !s || !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* Length of a UTF-8 sequence YAML treats as a line break or forbids raw (C1 controls, NEL,
 * LS, PS, BOM, U+FFFE/U+FFFF) starting at p, 0 otherwise; *cp gets its code point. */
static int special_utf8(const unsigned char *p, unsigned *cp)
{
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
        *cp = p[1];
        return 2;
    }
    if ((p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) ||
        (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) || (p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)) {
        *cp = (unsigned)(p[0] & 0x0f) << 12 | (unsigned)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
        return 3;
    }
    return 0;
}

int ae_cfgi_needs_quote(const char *s)
{
    if (ae_cfgi_is_null_text(s)) return 1;
    size_t n = strlen(s);
    if (s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':') return 1;
    if (strchr("?:,[]{}#&*!|>'\"%@`", s[0])) return 1;
    if (s[0] == '-' && (s[1] == '\0' || s[1] == ' ')) return 1;
    if (!strncmp(s, "---", 3) || !strncmp(s, "...", 3)) return 1;
    if (strstr(s, ": ") || strstr(s, ":?") || strstr(s, " #") || strpbrk(s, ",[]{}")) return 1; /* flow-safe */
    unsigned cp;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || special_utf8(p, &cp)) return 1;
    return 0;
}

/* 1 when YAML 1.1 readers (PyYAML and friends) would read s, written plain, as something other
 * than a string: y/n/yes/no/on/off/true/false, null/~, or a number in any of its forms (0x1F,
 * 0o17, 1_000, 1:30, 2024-01-01, .5, .inf). Errs on the side of quoting. */
static int yaml11_typed(const char *s)
{
    static const char *const words[] = {"y", "Y", "n", "N", "yes", "Yes", "YES", "no", "No", "NO", "on", "On",
                                        "ON", "off", "Off", "OFF", "true", "True", "TRUE", "false", "False",
                                        "FALSE", "~", "null", "Null", "NULL", NULL};
    for (const char *const *w = words; *w; w++)
        if (!strcmp(s, *w)) return 1;
    const char *p = s + (*s == '+' || *s == '-');
    if (!strcasecmp(p, ".inf") || !strcasecmp(p, ".nan")) return 1;
    if (!isdigit((unsigned char)p[0]) && !(p[0] == '.' && isdigit((unsigned char)p[1]))) return 0;
    return p[strspn(p, "0123456789abcdefABCDEF_:.xXoO+-")] == '\0';
}

void ae_cfg_mark_string(ae_cfg *n)
{
    if (n && n->kind == AE_CFG_SCALAR && !n->quoted && (ae_cfgi_looks_typed(n->text) || yaml11_typed(n->text)))
        n->quoted = 2;
}

typedef struct {
    char *b;
    size_t n, cap;
    int oom;
    int canonical; /* keys and YAML 1.1 words as before quoting them (the text ae_config_hash hashes) */
} sbuf;

static void put_n(sbuf *o, const char *s, size_t len)
{
    if (o->oom) return;
    if (o->n + len + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (o->n + len + 1 > cap) cap *= 2;
        char *b = realloc(o->b, cap);
        if (!b) { o->oom = 1; return; }
        o->b = b;
        o->cap = cap;
    }
    memcpy(o->b + o->n, s, len);
    o->n += len;
    o->b[o->n] = '\0';
}

static void put(sbuf *o, const char *s) { put_n(o, s, strlen(s)); }

static void put_indent(sbuf *o, int indent)
{
    for (int i = 0; i < indent; i++) put_n(o, " ", 1);
}

static void put_quoted(sbuf *o, const char *s)
{
    put_n(o, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        unsigned cp;
        int n = special_utf8(p, &cp);
        if (n) {
            snprintf(esc, sizeof esc, n == 2 ? "\\x%02x" : "\\u%04x", cp);
            put(o, esc);
            p += n - 1;
        } else if (*p == '"') put(o, "\\\"");
        else if (*p == '\\') put(o, "\\\\");
        else if (*p == '\n') put(o, "\\n");
        else if (*p == '\t') put(o, "\\t");
        else if (*p == '\r') put(o, "\\r");
        else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            put(o, esc);
        } else put_n(o, (const char *)p, 1);
    }
    put_n(o, "\"", 1);
}

static void put_text(sbuf *o, const char *s, int quoted)
{
    if (quoted || ae_cfgi_needs_quote(s)) put_quoted(o, s);
    else put(o, s);
}

static int is_leaf(const ae_cfg *n) { return n->kind == AE_CFG_NULL || n->kind == AE_CFG_SCALAR; }

/* Written on one line: scalars, empty collections, lists of scalars. */
static int flowable(const ae_cfg *n)
{
    if (is_leaf(n) || n->n == 0) return 1;
    if (n->kind == AE_CFG_MAP) return 0;
    for (size_t i = 0; i < n->n; i++)
        if (!is_leaf(n->ents[i].val)) return 0;
    return 1;
}

/* A scalar: quoted when it was (1), when it is a string that looks typed (2, see
 * ae_cfg_mark_string), or when only YAML 1.1 would take it for a bool or number (aelab reads it as
 * nothing but a string; not in the canonical text, which a saved config.yaml must hash like its
 * source: there such a string is marked 2 when read, then quoted like the saved one). */
static void put_scalar(sbuf *o, const ae_cfg *n)
{
    if (o->canonical) put_text(o, n->text, n->quoted);
    else put_text(o, n->text, n->quoted || (yaml11_typed(n->text) && !ae_cfgi_looks_typed(n->text)));
}

static void put_flow(sbuf *o, const ae_cfg *n)
{
    if (n->kind == AE_CFG_NULL) put(o, "null");
    else if (n->kind == AE_CFG_SCALAR) put_scalar(o, n);
    else if (n->kind == AE_CFG_MAP) put(o, "{}");
    else {
        put(o, "[");
        for (size_t i = 0; i < n->n; i++) {
            if (i) put(o, ", ");
            put_flow(o, n->ents[i].val);
        }
        put(o, "]");
    }
}

static void put_block(sbuf *o, const ae_cfg *n, int indent, int inline_first);

/* The value after "key:" or "-": on the same line if flowable, else a block below or inline. */
static void put_value(sbuf *o, const ae_cfg *v, int indent, int after_dash)
{
    if (flowable(v)) {
        put(o, " ");
        put_flow(o, v);
        put(o, "\n");
    } else if (after_dash) {
        put(o, " ");
        put_block(o, v, indent + 2, 1);
    } else {
        put(o, "\n");
        put_block(o, v, indent + 2, 0);
    }
}

/* "key:"; keys are strings, quoted when they would read as anything else (No, 1, null...). A key
 * longer than YAML allows for an implicit key (1024 characters) is written in the explicit form
 * "? key" NEWLINE ":" so that it reads back. */
static void put_key(sbuf *o, const char *key, int indent)
{
    size_t start = o->n;
    put_text(o, key, !o->canonical && (yaml11_typed(key) || ae_cfgi_looks_typed(key)));
    if (!o->oom && o->n - start > 1000) {
        size_t len = o->n - start;
        put_n(o, "  ", 2);
        if (o->oom) return;
        memmove(o->b + start + 2, o->b + start, len);
        memcpy(o->b + start, "? ", 2);
        put(o, "\n");
        put_indent(o, indent);
    }
    put(o, ":");
}

static void put_block(sbuf *o, const ae_cfg *n, int indent, int inline_first)
{
    for (size_t i = 0; i < n->n; i++) {
        if (i > 0 || !inline_first) put_indent(o, indent);
        if (n->kind == AE_CFG_MAP) {
            put_key(o, n->ents[i].key, indent);
        } else {
            put(o, "-");
        }
        put_value(o, n->ents[i].val, indent, n->kind == AE_CFG_SEQ);
    }
}

static char *emit(const ae_cfg *root, int canonical)
{
    sbuf o = {0};
    o.canonical = canonical;
    put(&o, ""); /* always return a string, even for an empty tree */
    if (!root) put(&o, "null\n");
    else if (flowable(root)) {
        put_flow(&o, root);
        put(&o, "\n");
    } else put_block(&o, root, 0, 0);
    if (o.oom) {
        free(o.b);
        return NULL;
    }
    return o.b;
}

char *ae_cfg_emit_string(const ae_cfg *root) { return emit(root, 0); }

char *ae_cfg_emit_canonical(const ae_cfg *root) { return emit(root, 1); }

int ae_cfg_emit(const ae_cfg *root, FILE *f, ae_err *err)
{
    char *s = ae_cfg_emit_string(root);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory writing the configuration");
    size_t len = strlen(s);
    int bad = !f || fwrite(s, 1, len, f) != len || fflush(f) != 0;
    int e = errno;
    free(s);
    if (bad) return ae_errf(err, AE_EIO, "cannot write the configuration: %s", f ? strerror(e) : "no file");
    return AE_OK;
}
