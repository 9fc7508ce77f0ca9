/* YAML configuration as a node tree that remembers file:line:col, read through typed getters.
 * Getters mark keys as known, insert defaults (so the tree becomes the resolved config), and
 * ae_cfg_finish() turns any key nobody asked for into an error naming the nearest valid key. */
#ifndef AE_CONFIG_H
#define AE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "ae_error.h"

typedef enum { AE_CFG_NULL, AE_CFG_SCALAR, AE_CFG_MAP, AE_CFG_SEQ } ae_cfg_kind;

typedef struct ae_cfg ae_cfg; /* one node; the root owns the whole tree */

/* --- loading and saving ------------------------------------------------------------------ */
/* Parses one YAML document. Errors (syntax, tabs, duplicate keys, anchors/aliases, empty file,
 * several documents) are AE_EINPUT with "file:line:col: message". */
ae_cfg *ae_cfg_load_file(const char *path, ae_err *err);
/* `name` stands for the file in positions ("name:line:col"); text that is not from a file is
 * named in angle brackets, "<variant preset 'sparse'>", and its positions then read
 * "variant preset 'sparse', line 2, column 5". NULL: "<YAML text>". */
ae_cfg *ae_cfg_load_string(const char *text, const char *name, ae_err *err);
/* ae_cfg_load_string for in-memory YAML described as WHAT 'NAME' (not a file), e.g.
 * ae_cfg_load_text(yaml, "variant preset", "sparse", err). */
ae_cfg *ae_cfg_load_text(const char *text, const char *what, const char *name, ae_err *err);
void ae_cfg_free(ae_cfg *root);
ae_cfg *ae_cfg_clone(const ae_cfg *node); /* deep copy (positions kept), a new root */
/* Writes the tree as block-style YAML that ae_cfg_load_* reads back to an equal tree
 * (strings that would read as something else are quoted). */
int ae_cfg_emit(const ae_cfg *root, FILE *f, ae_err *err);
char *ae_cfg_emit_string(const ae_cfg *root); /* malloc'd; NULL on allocation failure */
/* The same text with keys quoted only where aelab's reader needs it, as before keys like No/Yes
 * were quoted: what ae_config_hash hashes, so existing checkpoints (e.g. categorical maps) still
 * match, and a saved config.yaml hashes like the config it came from. */
char *ae_cfg_emit_canonical(const ae_cfg *root);
/* Marks a scalar read as a string (e.g. `name: no`, `label: 1`): written quoted from now on so that
 * YAML 1.1 readers see a string too. No-op for other nodes and for strings that read plainly. */
void ae_cfg_mark_string(ae_cfg *n);

/* --- inspecting ---------------------------------------------------------------------------- */
ae_cfg_kind ae_cfg_kind_of(const ae_cfg *n);
const char *ae_cfg_scalar(const ae_cfg *n); /* the text of a scalar, NULL otherwise */
size_t ae_cfg_len(const ae_cfg *n);          /* entries of a map or seq, 0 otherwise */
ae_cfg *ae_cfg_at(const ae_cfg *seq, size_t i);
const char *ae_cfg_key_at(const ae_cfg *map, size_t i); /* i-th key of a map, in file order */
ae_cfg *ae_cfg_value_at(const ae_cfg *map, size_t i);
/* "file:line:col" of the node (1-based; "what 'name', line L, column C" for text loaded by
 * ae_cfg_load_text); nodes made by defaults or --set say "<default>" or "--set key=value".
 * Returns buf. */
const char *ae_cfg_where(const ae_cfg *n, char *buf, size_t len);
/* The file the node was read from, or NULL (defaults, --set, text not from a file). */
const char *ae_cfg_file(const ae_cfg *n);
/* Dotted path of the node from the root, e.g. "model.encoder[1].units". Returns buf. */
const char *ae_cfg_path(const ae_cfg *n, char *buf, size_t len);

/* --- typed getters on a map ------------------------------------------------------------------
 * Each marks `key` as a known key of `map` (for ae_cfg_finish and its suggestions). When the key
 * is absent the default is inserted into the tree and returned. Wrong type or out-of-range values
 * are AE_EINPUT naming where, the key path and the expected form, e.g.
 *   "rain.yaml:14:12: train.epochs: expected an integer in [1, 1000000], got 'ten'".
 * `map` may be NULL only if it was meant to be an absent optional section: then defaults are
 * returned and nothing is inserted. Return AE_OK or the error code. */
int ae_cfg_int(ae_cfg *map, const char *key, long def, long min, long max, long *out, ae_err *err);
int ae_cfg_num(ae_cfg *map, const char *key, double def, double min, double max, double *out,
               ae_err *err);
int ae_cfg_bool(ae_cfg *map, const char *key, int def, int *out, ae_err *err); /* true/false/yes/no/on/off/1/0 */
/* choices: NULL-terminated list of allowed values or NULL for any string; a value outside them
 * names the nearest choice. def may be NULL: then the key is required ("missing required key"). */
int ae_cfg_str(ae_cfg *map, const char *key, const char *def, const char *const *choices,
               const char **out, ae_err *err);
/* Sub-map / sub-sequence: absent -> *out = NULL if !create, else an empty one is inserted.
 * Present with another kind -> AE_EINPUT. A scalar where a map is expected is an error too. */
int ae_cfg_map(ae_cfg *map, const char *key, int create, ae_cfg **out, ae_err *err);
int ae_cfg_seq(ae_cfg *map, const char *key, int create, ae_cfg **out, ae_err *err);
/* Any node (marks the key known). NULL if absent. */
ae_cfg *ae_cfg_get(ae_cfg *map, const char *key);
int ae_cfg_has(const ae_cfg *map, const char *key); /* does not mark */
/* Marks keys as valid without reading them (for keys read elsewhere). */
void ae_cfg_allow(ae_cfg *map, const char *key);
/* Scalar-to-value conversions with the same messages as the getters (for seq items). */
int ae_cfg_to_int(const ae_cfg *n, long min, long max, long *out, ae_err *err);
int ae_cfg_to_num(const ae_cfg *n, double min, double max, double *out, ae_err *err);
/* Checks a map after reading: the first key that no getter asked for is AE_EINPUT:
 *   "rain.yaml:12:5: unknown key 'optimiser' in train (did you mean 'optimizer'?)"
 * (suggestion = smallest edit distance among the known keys, only when it is close enough);
 * `section` names the map in the message ("train", "model.encoder[2]"; NULL = use its path). */
int ae_cfg_finish(const ae_cfg *map, const char *section, ae_err *err);

/* --- building and editing ---------------------------------------------------------------- */
ae_cfg *ae_cfg_new_map(void);
/* Sets map[key] to a scalar / takes ownership of a node (replacing any old value). */
int ae_cfg_set_scalar(ae_cfg *map, const char *key, const char *value);
int ae_cfg_set_node(ae_cfg *map, const char *key, ae_cfg *node);
/* Parses "a.b[2].c=VALUE" (VALUE is YAML: a scalar, [flow, seq] or {flow: map}) and applies it:
 * intermediate maps are created, list indices must exist. Errors name the expression. */
int ae_cfg_apply_set(ae_cfg *root, const char *expr, ae_err *err);
/* Sets the node at a dotted path ("model.encoder[1].units") to a deep copy of `value` (positions
 * kept), with ae_cfg_apply_set's rules and messages (the error names the path). */
int ae_cfg_set_path(ae_cfg *root, const char *dotted, const ae_cfg *value, ae_err *err);
/* Recursive merge: maps merged key by key, everything else replaced by `over` (deep copies). */
int ae_cfg_merge(ae_cfg *base, const ae_cfg *over, ae_err *err);
/* Looks up a dotted path ("train.optimizer.lr", "model.encoder[0]"); NULL if absent. No marking. */
ae_cfg *ae_cfg_lookup(const ae_cfg *root, const char *dotted);

/* Edit distance used for suggestions (exposed for tests and other "did you mean" messages). */
size_t ae_edit_distance(const char *a, const char *b);
/* Nearest of the candidates to `word` when close enough to suggest (distance <= max(2, len/3)),
 * else NULL. */
const char *ae_nearest(const char *word, const char *const *cands, size_t n);

#endif
