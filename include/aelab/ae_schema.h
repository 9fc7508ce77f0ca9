/* Config schemas written as data: a table of keys (kind, default, range, choices, help) read into a
 * struct by one function with the typed getters' file:line:col messages, and printed from the same
 * table for `aelab list` and docs/config.md, so each default and help text is written once. */
#ifndef AE_SCHEMA_H
#define AE_SCHEMA_H

#include <stddef.h>
#include <stdio.h>

#include "ae_config.h"

typedef enum {
    AE_KEY_INT,  /* long, in [min, max] */
    AE_KEY_NUM,  /* double, in [min, max] */
    AE_KEY_BOOL, /* int 0/1 */
    AE_KEY_STR,  /* const char * (borrowed from the tree), one of `choices` when not NULL */
    AE_KEY_MAP,  /* ae_cfg * sub-map (inserted empty when absent), read by its own schema */
    AE_KEY_SEQ   /* ae_cfg * list (NULL when absent) */
} ae_key_kind;

typedef struct ae_key {
    const char *name;
    ae_key_kind kind;
    size_t offset;               /* offsetof the field in the struct ae_schema_read fills */
    const char *def;             /* the default, as YAML text; NULL: the key is required */
    double min, max;             /* AE_KEY_INT / AE_KEY_NUM */
    const char *const *choices;  /* AE_KEY_STR: NULL-terminated, or NULL for any string */
    const char *help;
} ae_key;

/* A schema: a section's keys in the order they are read (and written into the resolved config). */
typedef struct ae_schema {
    const char *section; /* "train", "outputs", "train.optimizer" ... */
    const ae_key *keys;
    size_t nkeys;
} ae_schema;

#define AE_KEY_INT_(s, f, name, def, lo, hi, help) {name, AE_KEY_INT, offsetof(s, f), def, lo, hi, NULL, help}
#define AE_KEY_NUM_(s, f, name, def, lo, hi, help) {name, AE_KEY_NUM, offsetof(s, f), def, lo, hi, NULL, help}
#define AE_KEY_BOOL_(s, f, name, def, help) {name, AE_KEY_BOOL, offsetof(s, f), def, 0, 1, NULL, help}
#define AE_KEY_STR_(s, f, name, def, choices, help) {name, AE_KEY_STR, offsetof(s, f), def, 0, 0, choices, help}
#define AE_KEY_MAP_(s, f, name, help) {name, AE_KEY_MAP, offsetof(s, f), "{}", 0, 0, NULL, help}
#define AE_KEY_SEQ_(s, f, name, help) {name, AE_KEY_SEQ, offsetof(s, f), NULL, 0, 0, NULL, help}

/* Reads every key of the schema from `map` into `out` (defaults inserted into the tree, as the
 * getters do); `finish` also runs ae_cfg_finish (an unknown key names the nearest valid one).
 * map may be NULL (an absent optional section): defaults only. */
int ae_schema_read(const ae_schema *s, ae_cfg *map, void *out, int finish, ae_err *err);
/* One line per key: "  name (kind, default D, [min, max] | a|b|c): help". */
void ae_schema_print(const ae_schema *s, FILE *f, const char *indent);
/* A Markdown table of the schema (for docs/config.md). */
void ae_schema_markdown(const ae_schema *s, FILE *f);

#endif
