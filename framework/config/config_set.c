/* Command-line overrides: "--set a.b[2].c=VALUE" with VALUE read as YAML (scalar or flow
 * collection) and written into the tree; creates missing maps, never invents list items. */
#include "config_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name; /* NULL for an index step */
    unsigned long idx;
    size_t end;       /* offset in the key just after this step */
} step;

/* Longest echo of a user's key or value in a message: a 10,000-character key must not crowd out
 * the reason in ae_err's 1024 bytes. */
#define ECHO_MAX 60

typedef struct {
    const char *expr, *key;
    char expr_s[ECHO_MAX + 8], key_s[ECHO_MAX + 8]; /* expr and key as echoed (shortened) */
    step *steps;
    size_t n;
    ae_err *err;
} setctx;

/* s[0..len) into dst, at most ECHO_MAX bytes cut at a UTF-8 character boundary, then "…" when
 * shortened. dst holds ECHO_MAX + 8 bytes. */
static const char *clip(char *dst, const char *s, size_t len)
{
    size_t n = len;
    if (n > ECHO_MAX) {
        n = ECHO_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    }
    memcpy(dst, s, n);
    strcpy(dst + n, n < len ? "…" : "");
    return dst;
}

static int fail(const setctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const setctx *c, const char *fmt, ...)
{
    char m[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return ae_errf(c->err, AE_EINPUT, "--set '%s': %s", c->expr_s, m);
}

/* 1 when s[0..len) is valid UTF-8 without C0 control characters: a key the emitter can write so
 * that the saved config reads back (YAML text must be UTF-8). */
static int key_text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p, need = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                              : (c & 0xf8) == 0xf0 ? 3 : 9;
        if (c < 0x20 || c == 0x7f || need == 9 || c == 0xc0 || c == 0xc1 || c > 0xf4 ||
            (size_t)(end - p) <= need)
            return 0;
        unsigned cp = need ? c & (0x3f >> need) : c;
        for (unsigned k = 1; k <= need; k++) {
            if ((p[k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (p[k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += need + 1;
    }
    return 1;
}

/* Splits key into name and [index] steps; names are copied NUL-terminated into `names`. */
static int split(setctx *c, char *names)
{
    const char *k = c->key;
    size_t p = 0;
    for (;;) {
        size_t l = strcspn(k + p, ".[]");
        if (l == 0) return fail(c, "empty name in '%s'", c->key_s);
        memcpy(names, k + p, l);
        names[l] = '\0';
        p += l;
        c->steps[c->n++] = (step){names, 0, p};
        names += l + 1;
        while (k[p] == '[') {
            char *end;
            if (k[p + 1] < '0' || k[p + 1] > '9') break;
            unsigned long idx = strtoul(k + p + 1, &end, 10);
            if (*end != ']') break;
            p = (size_t)(end - k) + 1;
            c->steps[c->n++] = (step){NULL, idx, p};
        }
        if (k[p] == '.') p++;
        else if (k[p] == '\0') return AE_OK;
        else return fail(c, "bad index in '%s' (write NAME[N] with N a whole number, e.g. a.b[0].c)", c->key_s);
    }
}

static const char *what(const ae_cfg *n)
{
    return n->kind == AE_CFG_SCALAR ? "a scalar" : n->kind == AE_CFG_SEQ ? "a list"
         : n->kind == AE_CFG_MAP ? "a mapping" : "null";
}

/* Follows the steps. With dry != 0 only checks (cur == NULL stands for a map still to be
 * created); otherwise creates maps and stores v, which it owns. */
static int walk(setctx *c, ae_cfg *root, ae_cfg *v, int dry)
{
    ae_cfg *cur = root;
    char prefix[ECHO_MAX + 8], upto[ECHO_MAX + 8];
    for (size_t i = 0; i < c->n; i++) {
        const step *s = &c->steps[i];
        int last = i + 1 == c->n, next_is_name = !last && c->steps[i + 1].name;
        size_t plen = i ? c->steps[i - 1].end : 0;
        clip(prefix, c->key, plen);
        if (s->name) {
            if (cur && cur->kind != AE_CFG_MAP)
                return fail(c, "cannot set %s: %s is %s", c->key_s, prefix, what(cur));
            long j = cur ? ae_cfgi_find(cur, s->name) : -1;
            ae_cfg *child = j >= 0 ? cur->ents[j].val : NULL;
            if (last) return dry ? AE_OK : ae_cfgi_put(cur, s->name, v, 0, 0);
            if (!next_is_name && !child)
                return fail(c, "cannot set %s: %s does not exist (list items must exist)", c->key_s,
                            clip(upto, c->key, s->end));
            if (child && !(child->kind == AE_CFG_NULL && next_is_name)) {
                cur = child;
                continue;
            }
            if (dry) { cur = NULL; continue; }
            ae_cfg *m = ae_cfgi_new(AE_CFG_MAP, v->src, 0, 0);
            if (!m || ae_cfgi_put(cur, s->name, m, 0, 0)) { ae_cfg_free(v); return AE_EINTERNAL; }
            cur = m;
        } else {
            if (!cur || cur->kind != AE_CFG_SEQ)
                return fail(c, "cannot set %s: %s is %s, not a list", c->key_s, prefix,
                            cur ? what(cur) : "a new mapping");
            if (s->idx >= cur->n)
                return fail(c, "cannot set %s: index %lu is out of range: %s has %zu item%s", c->key_s, s->idx,
                            prefix, cur->n, cur->n == 1 ? "" : "s");
            if (last) {
                if (!dry) ae_cfgi_replace(cur, s->idx, v, 0, 0);
                return AE_OK;
            }
            cur = cur->ents[s->idx].val;
        }
    }
    return AE_OK;
}

static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) { (*s)++; (*len)--; }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)--;
}

int ae_cfg_apply_set(ae_cfg *root, const char *expr, ae_err *err)
{
    setctx c = {.expr = expr ? expr : "", .err = err};
    clip(c.expr_s, c.expr, strlen(c.expr));
    const char *eq = expr ? strchr(expr, '=') : NULL;
    if (!eq) return fail(&c, "expected KEY=VALUE, e.g. train.epochs=10");
    if (!root || root->kind != AE_CFG_MAP) return fail(&c, "the configuration is not a mapping");
    const char *k = expr, *val = eq + 1;
    size_t klen = (size_t)(eq - expr), vlen = strlen(val);
    trim(&k, &klen);
    trim(&val, &vlen);
    if (!klen) return fail(&c, "empty key before '='");
    if (!key_text_ok(k, klen)) return fail(&c, "the key holds control characters or invalid UTF-8");

    char *key = malloc(klen + 1), *names = malloc(klen + 1), *vtext = malloc(vlen + 1);
    char origin[ECHO_MAX + 16], vtext_s[ECHO_MAX + 8];
    c.steps = malloc((klen + 1) * sizeof *c.steps);
    int rc = AE_EINTERNAL;
    ae_cfg *v = NULL;
    if (!key || !names || !vtext || !c.steps) {
        ae_errf(err, AE_EINTERNAL, "out of memory applying --set");
        goto done;
    }
    memcpy(key, k, klen);
    key[klen] = '\0';
    memcpy(vtext, val, vlen);
    vtext[vlen] = '\0';
    snprintf(origin, sizeof origin, "--set %s", c.expr_s); /* the value's nodes name this as their place */
    c.key = key;
    clip(c.key_s, key, klen);
    if ((rc = split(&c, names)) || (rc = walk(&c, root, NULL, 1))) goto done;

    ae_err perr = {0};
    v = ae_cfgi_parse(vtext, vlen, origin, 0, 1, &perr);
    if (!v) {
        rc = ae_errf(err, perr.code, "--set '%s': cannot parse the value '%s': %s", c.expr_s,
                     clip(vtext_s, vtext, vlen), perr.msg);
        goto done;
    }
    rc = walk(&c, root, v, 0); /* owns v from here */
    if (rc) ae_errf(err, rc, "out of memory applying --set '%s'", c.expr_s);
done:
    free(key);
    free(names);
    free(vtext);
    free(c.steps);
    return rc;
}

int ae_cfg_set_path(ae_cfg *root, const char *dotted, const ae_cfg *value, ae_err *err)
{
    setctx c = {.expr = dotted ? dotted : "", .key = dotted ? dotted : "", .err = err};
    size_t klen = strlen(c.key);
    clip(c.expr_s, c.expr, klen);
    clip(c.key_s, c.key, klen);
    if (!klen) return fail(&c, "empty key");
    if (!root || root->kind != AE_CFG_MAP) return fail(&c, "the configuration is not a mapping");
    char *names = malloc(klen + 1);
    c.steps = malloc((klen + 1) * sizeof *c.steps);
    int rc = AE_EINTERNAL;
    if (!names || !c.steps) {
        ae_errf(err, AE_EINTERNAL, "out of memory");
        goto done;
    }
    if ((rc = split(&c, names)) || (rc = walk(&c, root, NULL, 1))) goto done;
    ae_cfg *v = ae_cfg_clone(value);
    if (!v) {
        rc = ae_errf(err, AE_EINTERNAL, "out of memory");
        goto done;
    }
    rc = walk(&c, root, v, 0);
    if (rc) ae_errf(err, rc, "out of memory setting '%s'", c.key_s);
done:
    free(names);
    free(c.steps);
    return rc;
}
