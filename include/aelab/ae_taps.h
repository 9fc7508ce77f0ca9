/* What a regularizer's `layer:` key names: the public helpers built-in and plug-in regularizers
 * share to read the key, find the node it names among the model's taps, and word their errors. */
#ifndef AE_TAPS_H
#define AE_TAPS_H

#include <stddef.h>

#include "ae_registry.h"

/* Help fragment for the regularizers that read `layer:` (for an ae_regularizer_ops.help without a
 * schema). */
#define AE_LAYER_KEY_HELP "layer (code | encoder[i] | an encoder layer's name; code)"

/* "file:line:col: name" for penalty-time errors about the regularizer item at `where` (the
 * ae_cfg_where of its map, kept at configure time; "<default>" positions are left out). Returns buf. */
const char *ae_reg_who(char *buf, size_t len, const char *where, const char *name);

/* Resolves `layer` ("code", "encoder[i]", "model.encoder[i]" or an encoder layer's `name:`) to its
 * node; *k is its index among the encoder layers (taps->hidden) or -1 when it is not one (the code
 * of a gaussian latent). Unknown names are AE_EINPUT naming `who` and listing the valid names. */
int ae_reg_tap(const ae_taps *t, const char *layer, const char *who, ae_node **h, int *k, ae_err *err);

/* The `layer:` a regularizer acts on: read at configure time (with the item's position, for
 * errors found later), resolved to a node when the penalty is built. */
typedef struct ae_reg_target {
    char layer[64];
    char where[192];
} ae_reg_target;

/* Reads `layer:` (default "code") from the regularizer's map and remembers where the map is. */
int ae_reg_target_read(ae_cfg *spec, ae_reg_target *t, ae_err *err);
/* The `layer:` row of a regularizer's schema, read by ae_reg_target_read into the ae_reg_target
 * `field` of struct `s`: AE_REG_LAYER_KEY(my_state, target). */
int ae_reg_target_key(const ae_key *k, ae_cfg *spec, void *out, ae_err *err);
#define AE_REG_LAYER_KEY(s, field)                                                                  \
    AE_KEY_CUSTOM_(s, field, "layer", "code", ae_reg_target_key,                                    \
                   "the layer it acts on: code, encoder[i] or an encoder layer's name")
/* who = "file:line:col: name" (for messages); *h, *k as ae_reg_tap (errors in b->err). */
int ae_reg_target_tap(const ae_reg_target *t, const ae_build *b, const char *name, char *who, size_t wlen,
                      ae_node **h, int *k);

#endif
