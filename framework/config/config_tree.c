/* Configuration node tree: create/free/clone, inspection, positions and paths, editing
 * (set, merge) and dotted-path lookup. */
#include "config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

ae_cfg *ae_cfgi_new(ae_cfg_kind kind, const char *src, int line, int col)
{
    ae_cfg *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->src = dupstr(src ? src : AE_CFG_ORIGIN_PROGRAM);
    if (!n->src) { free(n); return NULL; }
    n->line = line;
    n->col = col;
    return n;
}

ae_cfg *ae_cfgi_scalar(const char *text, int quoted, const char *src, int line, int col)
{
    ae_cfg *n = ae_cfgi_new(AE_CFG_SCALAR, src, line, col);
    if (!n) return NULL;
    n->text = dupstr(text);
    if (!n->text) { ae_cfg_free(n); return NULL; }
    n->quoted = quoted || ae_cfgi_needs_quote(n->text);
    return n;
}

static void free_rec(ae_cfg *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        free(n->ents[i].key);
        free_rec(n->ents[i].val);
    }
    for (size_t i = 0; i < n->nknown; i++) free(n->known[i]);
    free(n->known);
    free(n->ents);
    free(n->text);
    free(n->src);
    free(n);
}

static long index_in_parent(const ae_cfg *n)
{
    const ae_cfg *p = n->parent;
    for (size_t i = 0; p && i < p->n; i++)
        if (p->ents[i].val == n) return (long)i;
    return -1;
}

void ae_cfg_free(ae_cfg *root)
{
    if (!root) return;
    long i = index_in_parent(root); /* freeing a sub-node detaches it first */
    if (i >= 0) {
        ae_cfg *p = root->parent;
        free(p->ents[i].key);
        memmove(p->ents + i, p->ents + i + 1, (p->n - (size_t)i - 1) * sizeof *p->ents);
        p->n--;
    }
    free_rec(root);
}

static ae_cfg *clone_rec(const ae_cfg *s)
{
    ae_cfg *n = ae_cfgi_new(s->kind, s->src, s->line, s->col);
    if (!n) return NULL;
    n->quoted = s->quoted;
    if (s->text && !(n->text = strdup(s->text))) goto fail;
    for (size_t i = 0; i < s->n; i++) {
        ae_cfg *c = clone_rec(s->ents[i].val);
        if (!c || ae_cfgi_put(n, s->ents[i].key, c, s->ents[i].kline, s->ents[i].kcol)) goto fail;
    }
    for (size_t i = 0; i < s->nknown; i++) {
        ae_cfgi_mark(n, s->known[i]);
        if (n->nknown != i + 1) goto fail;
    }
    return n;
fail:
    free_rec(n);
    return NULL;
}

ae_cfg *ae_cfg_clone(const ae_cfg *node)
{
    return node ? clone_rec(node) : NULL;
}

/* --- inspecting ------------------------------------------------------------------------- */

ae_cfg_kind ae_cfg_kind_of(const ae_cfg *n) { return n ? n->kind : AE_CFG_NULL; }

const char *ae_cfg_scalar(const ae_cfg *n)
{
    return n && n->kind == AE_CFG_SCALAR ? n->text : NULL;
}

size_t ae_cfg_len(const ae_cfg *n)
{
    return n && (n->kind == AE_CFG_MAP || n->kind == AE_CFG_SEQ) ? n->n : 0;
}

ae_cfg *ae_cfg_at(const ae_cfg *seq, size_t i)
{
    return seq && seq->kind == AE_CFG_SEQ && i < seq->n ? seq->ents[i].val : NULL;
}

const char *ae_cfg_key_at(const ae_cfg *map, size_t i)
{
    return map && map->kind == AE_CFG_MAP && i < map->n ? map->ents[i].key : NULL;
}

ae_cfg *ae_cfg_value_at(const ae_cfg *map, size_t i)
{
    return map && map->kind == AE_CFG_MAP && i < map->n ? map->ents[i].val : NULL;
}

const char *ae_cfgi_pos(const char *src, int line, int col, char *buf, size_t len)
{
    size_t sl = strlen(src);
    if (sl > 2 && src[0] == '<' && src[sl - 1] == '>') /* not a file: "<variant preset 'x'>" */
        snprintf(buf, len, "%.*s, line %d, column %d", (int)(sl - 2), src + 1, line, col);
    else
        snprintf(buf, len, "%s:%d:%d", src, line, col);
    return buf;
}

const char *ae_cfg_where(const ae_cfg *n, char *buf, size_t len)
{
    if (!buf || !len) return buf;
    if (!n) snprintf(buf, len, "?");
    else if (n->line > 0) ae_cfgi_pos(n->src, n->line, n->col, buf, len);
    else snprintf(buf, len, "%s", n->src);
    return buf;
}

const char *ae_cfg_file(const ae_cfg *n)
{
    return n && n->line > 0 && n->src && n->src[0] != '<' ? n->src : NULL;
}

const char *ae_cfgi_key_where(const ae_cfg *map, size_t i, char *buf, size_t len)
{
    const cfg_entry *e = &map->ents[i];
    if (e->kline > 0 && buf && len) return ae_cfgi_pos(e->val->src, e->kline, e->kcol, buf, len);
    return ae_cfg_where(e->val, buf, len);
}

static void path_rec(const ae_cfg *n, char *buf, size_t len)
{
    const ae_cfg *p = n->parent;
    if (!p) { buf[0] = '\0'; return; }
    path_rec(p, buf, len);
    size_t used = strlen(buf);
    long i = index_in_parent(n);
    if (i < 0) snprintf(buf + used, len - used, "%s?", used ? "." : "");
    else if (p->kind == AE_CFG_MAP)
        snprintf(buf + used, len - used, "%s%s", used ? "." : "", p->ents[i].key);
    else snprintf(buf + used, len - used, "[%ld]", i);
}

const char *ae_cfg_path(const ae_cfg *n, char *buf, size_t len)
{
    if (!buf || !len) return buf;
    buf[0] = '\0';
    if (n) path_rec(n, buf, len);
    return buf;
}

/* --- children and known keys -------------------------------------------------------------- */

static long find_n(const ae_cfg *map, const char *key, size_t klen)
{
    if (!map || map->kind != AE_CFG_MAP) return -1;
    for (size_t i = 0; i < map->n; i++)
        if (strlen(map->ents[i].key) == klen && memcmp(map->ents[i].key, key, klen) == 0)
            return (long)i;
    return -1;
}

long ae_cfgi_find(const ae_cfg *map, const char *key)
{
    return key ? find_n(map, key, strlen(key)) : -1;
}

void ae_cfgi_replace(ae_cfg *parent, size_t i, ae_cfg *val, int kline, int kcol)
{
    free_rec(parent->ents[i].val);
    parent->ents[i].val = val;
    parent->ents[i].kline = kline;
    parent->ents[i].kcol = kcol;
    val->parent = parent;
}

int ae_cfgi_put(ae_cfg *parent, const char *key, ae_cfg *val, int kline, int kcol)
{
    if (!val) return AE_EINTERNAL;
    int is_map = parent && parent->kind == AE_CFG_MAP && key;
    if (!is_map && !(parent && parent->kind == AE_CFG_SEQ && !key)) {
        free_rec(val);
        return AE_EINTERNAL;
    }
    long j = is_map ? ae_cfgi_find(parent, key) : -1;
    if (j >= 0) {
        ae_cfgi_replace(parent, (size_t)j, val, kline, kcol);
        return AE_OK;
    }
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? 2 * parent->cap : 4;
        cfg_entry *e = realloc(parent->ents, cap * sizeof *e);
        if (!e) { free_rec(val); return AE_EINTERNAL; }
        parent->ents = e;
        parent->cap = cap;
    }
    char *k = NULL;
    if (is_map && !(k = strdup(key))) { free_rec(val); return AE_EINTERNAL; }
    parent->ents[parent->n++] = (cfg_entry){k, val, kline, kcol};
    val->parent = parent;
    return AE_OK;
}

int ae_cfgi_is_known(const ae_cfg *map, const char *key)
{
    for (size_t i = 0; map && i < map->nknown; i++)
        if (strcmp(map->known[i], key) == 0) return 1;
    return 0;
}

void ae_cfgi_mark(ae_cfg *map, const char *key)
{
    if (!map || map->kind != AE_CFG_MAP || !key || ae_cfgi_is_known(map, key)) return;
    if (map->nknown == map->knowncap) {
        size_t cap = map->knowncap ? 2 * map->knowncap : 8;
        char **k = realloc(map->known, cap * sizeof *k);
        if (!k) return; /* only the suggestion quality suffers */
        map->known = k;
        map->knowncap = cap;
    }
    if ((map->known[map->nknown] = strdup(key))) map->nknown++;
}

/* --- building and editing ------------------------------------------------------------------ */

ae_cfg *ae_cfg_new_map(void)
{
    return ae_cfgi_new(AE_CFG_MAP, AE_CFG_ORIGIN_PROGRAM, 0, 0);
}

int ae_cfg_set_scalar(ae_cfg *map, const char *key, const char *value)
{
    if (!map || map->kind != AE_CFG_MAP || !key) return AE_EINPUT;
    ae_cfg *v = value ? ae_cfgi_scalar(value, 0, AE_CFG_ORIGIN_PROGRAM, 0, 0)
                      : ae_cfgi_new(AE_CFG_NULL, AE_CFG_ORIGIN_PROGRAM, 0, 0);
    return ae_cfgi_put(map, key, v, 0, 0);
}

int ae_cfg_set_node(ae_cfg *map, const char *key, ae_cfg *node)
{
    if (!node) node = ae_cfgi_new(AE_CFG_NULL, AE_CFG_ORIGIN_PROGRAM, 0, 0);
    if (!map || map->kind != AE_CFG_MAP || !key || !node || node->parent) {
        if (node && !node->parent) free_rec(node);
        return node ? AE_EINPUT : AE_EINTERNAL;
    }
    return ae_cfgi_put(map, key, node, 0, 0);
}

static int merge_rec(ae_cfg *base, const ae_cfg *over)
{
    for (size_t i = 0; i < over->n; i++) {
        const cfg_entry *e = &over->ents[i];
        long j = ae_cfgi_find(base, e->key);
        if (j >= 0 && base->ents[j].val->kind == AE_CFG_MAP && e->val->kind == AE_CFG_MAP) {
            if (merge_rec(base->ents[j].val, e->val)) return AE_EINTERNAL;
            continue;
        }
        if (ae_cfgi_put(base, e->key, clone_rec(e->val), e->kline, e->kcol)) return AE_EINTERNAL;
    }
    return AE_OK;
}

int ae_cfg_merge(ae_cfg *base, const ae_cfg *over, ae_err *err)
{
    if (!over) return AE_OK;
    if (!base || base->kind != AE_CFG_MAP || over->kind != AE_CFG_MAP)
        return ae_errf(err, AE_EINPUT, "cannot merge configurations: both must be mappings");
    if (merge_rec(base, over)) return ae_errf(err, AE_EINTERNAL, "out of memory merging configurations");
    return AE_OK;
}

ae_cfg *ae_cfg_lookup(const ae_cfg *root, const char *dotted)
{
    const ae_cfg *cur = root;
    const char *p = dotted;
    if (!root || !p) return NULL;
    while (*p) {
        size_t l = strcspn(p, ".[");
        if (l) {
            long j = find_n(cur, p, l);
            if (j < 0) return NULL;
            cur = cur->ents[j].val;
            p += l;
        } else if (*p != '[') {
            return NULL; /* empty name: "a..b" or ".a" */
        }
        while (*p == '[') {
            char *end;
            if (p[1] < '0' || p[1] > '9') return NULL;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (*end != ']' || cur->kind != AE_CFG_SEQ || idx >= cur->n) return NULL;
            cur = cur->ents[idx].val;
            p = end + 1;
        }
        if (*p == '.') {
            if (!*++p) return NULL;
        } else if (*p) {
            return NULL;
        }
    }
    return (ae_cfg *)cur;
}
