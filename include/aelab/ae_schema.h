/* Config schemas written as data: a table of keys (kind, default, range, choices, help) read into a
 * struct by one function with the typed getters' file:line:col messages, and printed from the same
 * table for `aelab list` and docs/config.md, so each default and help text is written once. */
#ifndef AE_SCHEMA_H
#define AE_SCHEMA_H

#include <stddef.h>
#include <stdio.h>

#include "ae_config.h"

typedef enum {
    AE_KEY_INT,     /* long, in [min, max] */
    AE_KEY_NUM,     /* double, in [min, max] */
    AE_KEY_BOOL,    /* int 0/1 */
    AE_KEY_STR,     /* const char * (borrowed from the tree), one of `choices` when not NULL */
    AE_KEY_CHOICE,  /* int: the index of the value in `choices` */
    AE_KEY_MAP,     /* ae_cfg * sub-map (inserted empty when absent), read by its owner */
    AE_KEY_SEQ,     /* ae_cfg * list (an empty one inserted when absent: `def` "[]") */
    AE_KEY_SECTION, /* a nested map (inserted empty when absent) read by `sub` into the struct at
                       `offset`, and finished there (unknown keys named in sub->section) */
    AE_KEY_CUSTOM   /* read by `read`, which gets the whole struct; `def` is the default as people
                       should read it ("runs/<name>") */
} ae_key_kind;

struct ae_schema;

typedef struct ae_key {
    const char *name;
    ae_key_kind kind;
    size_t offset;               /* offsetof the field in the struct ae_schema_read fills */
    const char *def;             /* the default, as YAML text; NULL: the key is required;
                                    AE_KEY_OPTIONAL: nothing is inserted when it is absent */
    double min, max;             /* AE_KEY_INT / AE_KEY_NUM */
    const char *const *choices;  /* AE_KEY_STR / AE_KEY_CHOICE: NULL-terminated (STR: or NULL) */
    const char *help;
    const struct ae_schema *sub; /* AE_KEY_SECTION */
    /* AE_KEY_CUSTOM: reads map[k->name] into `out` (the struct; k->offset is the key's field) */
    int (*read)(const struct ae_key *k, ae_cfg *map, void *out, ae_err *err);
} ae_key;

/* `def` of a key that may be absent and then stays absent (no default is written). */
#define AE_KEY_OPTIONAL ""
/* `def` of an AE_KEY_STR whose default is the empty string (written into the tree as ""). */
#define AE_KEY_EMPTY "\"\""
/* `offset` of a key listed for the docs and for unknown-key messages but read by its owner
 * elsewhere (the top level's `data`, `model`, ...): ae_schema_read leaves it alone. */
#define AE_KEY_ELSEWHERE ((size_t)-1)

/* Keys read after the common ones when a choice key has a given value (an optimizer's defaults
 * depend on its name). */
typedef struct ae_schema_case {
    const char *when;
    const struct ae_schema *schema;
} ae_schema_case;

/* A schema: a section's keys in the order they are read (and written into the resolved config),
 * then the keys of the case that `switch_key`'s value selects. */
typedef struct ae_schema {
    const char *section; /* "train", "train.optimizer", "outputs", "layer dense" ... */
    const ae_key *keys;
    size_t nkeys;
    const char *switch_key; /* NULL: no cases */
    const ae_schema_case *cases;
    size_t ncases;
} ae_schema;

#define AE_SCHEMA_COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* A schema over a static array of keys (with or without cases). */
#define AE_SCHEMA(section, keys) {section, keys, AE_SCHEMA_COUNT(keys), NULL, NULL, 0}
#define AE_SCHEMA_CASES(section, keys, sw, cases) \
    {section, keys, AE_SCHEMA_COUNT(keys), sw, cases, AE_SCHEMA_COUNT(cases)}

#define AE_KEY_INT_(s, f, name, def, lo, hi, help) \
    {name, AE_KEY_INT, offsetof(s, f), def, lo, hi, NULL, help, NULL, NULL}
#define AE_KEY_NUM_(s, f, name, def, lo, hi, help) \
    {name, AE_KEY_NUM, offsetof(s, f), def, lo, hi, NULL, help, NULL, NULL}
#define AE_KEY_BOOL_(s, f, name, def, help) {name, AE_KEY_BOOL, offsetof(s, f), def, 0, 1, NULL, help, NULL, NULL}
#define AE_KEY_STR_(s, f, name, def, choices, help) \
    {name, AE_KEY_STR, offsetof(s, f), def, 0, 0, choices, help, NULL, NULL}
#define AE_KEY_CHOICE_(s, f, name, def, choices, help) \
    {name, AE_KEY_CHOICE, offsetof(s, f), def, 0, 0, choices, help, NULL, NULL}
#define AE_KEY_MAP_(s, f, name, help) {name, AE_KEY_MAP, offsetof(s, f), "{}", 0, 0, NULL, help, NULL, NULL}
#define AE_KEY_SEQ_(s, f, name, def, help) {name, AE_KEY_SEQ, offsetof(s, f), def, 0, 0, NULL, help, NULL, NULL}
#define AE_KEY_SECTION_(s, f, name, sub, help) \
    {name, AE_KEY_SECTION, offsetof(s, f), "{}", 0, 0, NULL, help, sub, NULL}
#define AE_KEY_CUSTOM_(s, f, name, def, fn, help) \
    {name, AE_KEY_CUSTOM, offsetof(s, f), def, 0, 0, NULL, help, NULL, fn}

/* Reads every key of the schema from `map` into `out` (defaults inserted into the tree, as the
 * getters do), then the keys of the selected case; `finish` also runs ae_cfg_finish (an unknown key
 * names the nearest valid one, in s->section). A missing required key is AE_KIND_MISSING_KEY and
 * says what was expected. map may be NULL (an absent optional section): defaults only. */
int ae_schema_read(const ae_schema *s, ae_cfg *map, void *out, int finish, ae_err *err);
/* The key named `name` (also among the cases' keys), or NULL. */
const ae_key *ae_schema_key(const ae_schema *s, const char *name);
/* "name, variant, seed" into buf: the schema's key names (for messages). Returns buf. */
const char *ae_schema_key_list(const ae_schema *s, char *buf, size_t len);
/* One line per key: "  name (kind, default D, [min, max] | a|b|c): help"; nested sections and
 * cases follow, indented further. */
void ae_schema_print(const ae_schema *s, FILE *f, const char *indent);
/* A Markdown table of the schema (for docs/config.md); a case or nested section gets a table of its
 * own after it, under a line naming it. */
void ae_schema_markdown(const ae_schema *s, FILE *f);
/* The schema's keys as dotted paths under `prefix` ("" at the top), one a line, nested sections
 * and every case's keys included (each name once); a key with a fixed set of values (a choice, a
 * boolean) also gets a line "path=value" per value. For shell completion (`aelab list --keys`). */
void ae_schema_keys(const ae_schema *s, const char *prefix, FILE *f);

#endif
