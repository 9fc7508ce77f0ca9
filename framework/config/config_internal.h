/* Private to the configuration unit (config_*.c): the node layout and helpers shared between
 * the tree, parser, getters, emitter and --set code. Not part of the public API. */
#ifndef AE_CONFIG_INTERNAL_H
#define AE_CONFIG_INTERNAL_H

#include "ae_config.h"

/* One map entry (key != NULL) or sequence item (key == NULL). kline/kcol locate the key in
 * the value's source; 0 when the key was not read from a file. */
typedef struct cfg_entry {
    char *key;
    ae_cfg *val;
    int kline, kcol;
} cfg_entry;

struct ae_cfg {
    ae_cfg_kind kind;
    char *text;           /* scalar text (SCALAR only) */
    int quoted;           /* scalar is a string: 1 quoted in its source (or must be), 2 plain there but
                             read as a string (ae_cfg_mark_string); both are written quoted */
    cfg_entry *ents;      /* map entries in file order, or seq items */
    size_t n, cap;
    char **known;         /* map: keys some getter asked for (for ae_cfg_finish) */
    size_t nknown, knowncap;
    char *src;            /* file name, or an origin such as "<default>" when line == 0 */
    int line, col;        /* 1-based position in src; 0 when src is an origin */
    ae_cfg *parent;       /* NULL for a root */
};

/* Origins of nodes that were not read from a file. */
#define AE_CFG_ORIGIN_DEFAULT "<default>"
#define AE_CFG_ORIGIN_PROGRAM "<program>"

/* A new node without children; NULL on allocation failure. */
ae_cfg *ae_cfgi_new(ae_cfg_kind kind, const char *src, int line, int col);
/* A new scalar; `quoted` is forced on when the text could not be written plain. */
ae_cfg *ae_cfgi_scalar(const char *text, int quoted, const char *src, int line, int col);
/* Index of key in map, or -1. */
long ae_cfgi_find(const ae_cfg *map, const char *key);
/* Appends (key == NULL for a seq) or, for a map key already present, replaces the value.
 * Takes ownership of val in every case (frees it on failure). AE_OK or AE_EINTERNAL. */
int ae_cfgi_put(ae_cfg *parent, const char *key, ae_cfg *val, int kline, int kcol);
/* Replaces item i of a map or seq (frees the old value; key kept). Takes ownership of val. */
void ae_cfgi_replace(ae_cfg *parent, size_t i, ae_cfg *val, int kline, int kcol);
/* Records key as known in map (no-op for NULL or non-maps). */
void ae_cfgi_mark(ae_cfg *map, const char *key);
int ae_cfgi_is_known(const ae_cfg *map, const char *key);
/* A position as messages print it: "file:line:col", or for a source named in angle brackets (text
 * that is not a file, "<variant preset 'sparse'>") "variant preset 'sparse', line 2, column 5".
 * Returns buf. */
const char *ae_cfgi_pos(const char *src, int line, int col, char *buf, size_t len);
/* "file:line:col" of the i-th key of map (falls back to the value's position). Returns buf. */
const char *ae_cfgi_key_where(const ae_cfg *map, size_t i, char *buf, size_t len);

/* Text rules shared by the parser, emitter and getters. */
int ae_cfgi_is_null_text(const char *s);   /* "", "~", "null", "Null", "NULL" */
int ae_cfgi_needs_quote(const char *s);    /* could not be written as a plain scalar */
int ae_cfgi_looks_typed(const char *s);    /* plain, it would read as null, bool or number */
int ae_cfgi_parse_long(const char *s, long *out);   /* 1: integer form (fits a long) */
int ae_cfgi_parse_double(const char *s, double *out); /* 1: YAML float form, finite */
int ae_cfgi_parse_bool(const char *s, int *out);

/* Parses YAML text into a tree. Nodes get `name` as source; with positions == 0 they carry
 * `name` as an origin (line 0) and errors omit line:col. With any_root the document may be a
 * scalar, sequence or empty (a NULL node); otherwise it must be a non-empty mapping. */
ae_cfg *ae_cfgi_parse(const char *text, size_t len, const char *name, int positions, int any_root,
                      ae_err *err);

#endif
