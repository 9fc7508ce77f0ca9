/* Private to variants/: the in-tree regularizer and variant tables, and how a regularizer's
 * `layer:` key picks a node among the model's taps. */
#ifndef AE_VARIANTS_H
#define AE_VARIANTS_H

#include <stdio.h>
#include <string.h>

#include "ae_registry.h"

extern const ae_regularizer_ops ae_reg_l1, ae_reg_kl_sparsity, ae_reg_contractive, ae_reg_weight_decay;
extern const ae_variant ae_variant_undercomplete, ae_variant_sparse, ae_variant_contractive,
    ae_variant_denoising, ae_variant_convolutional, ae_variant_variational;

/* Help fragment shared by the regularizers that read `layer:`. */
#define AE_LAYER_KEY_HELP "layer (code | encoder[i] | an encoder layer's name; code)"

/* "file:line:col: name" for penalty-time errors about the regularizer item at `where` (the
 * ae_cfg_where of its map, kept at configure time; "<default>" positions are left out). */
static inline const char *ae_reg_who(char *buf, size_t len, const char *where, const char *name)
{
    if (where[0] && where[0] != '<') snprintf(buf, len, "%.160s: %s", where, name);
    else snprintf(buf, len, "%s", name);
    return buf;
}

/* Resolves `layer` ("code", "encoder[i]", "model.encoder[i]" or an encoder layer's `name:`) to its
 * node; *k is its index among the encoder layers (taps->hidden) or -1 when it is not one (the code
 * of a gaussian latent). Unknown names are AE_EINPUT naming `who` and listing the valid names. */
static inline int ae_reg_tap(const ae_taps *t, const char *layer, const char *who, ae_node **h,
                             int *k, ae_err *err)
{
    *h = NULL;
    *k = -1;
    if (!strcmp(layer, "code")) {
        *h = t->code;
        for (int i = 0; i < t->nhidden; i++)
            if (t->hidden[i] == t->code) *k = i;
        return *h ? AE_OK : ae_errf(err, AE_EINTERNAL, "%s: the model has no code node", who);
    }
    const char *in_model = !strncmp(layer, "model.", 6) ? layer + 6 : layer;
    for (int i = 0; i < t->nhidden; i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "encoder[%d]", i);
        if (!strcmp(layer, t->hidden_name[i]) || !strcmp(in_model, idx)) {
            *h = t->hidden[i];
            *k = i;
            return AE_OK;
        }
    }
    const char *cands[2 * AE_MAX_HIDDEN + 1];
    char idx[AE_MAX_HIDDEN][32], list[2048];
    size_t nc = 0, o = (size_t)snprintf(list, sizeof list, "code");
    cands[nc++] = "code";
    for (int i = 0; i < t->nhidden && o < sizeof list; i++) {
        snprintf(idx[i], sizeof idx[i], "encoder[%d]", i);
        cands[nc++] = t->hidden_name[i];
        if (strcmp(idx[i], t->hidden_name[i])) {
            cands[nc++] = idx[i];
            o += (size_t)snprintf(list + o, sizeof list - o, ", %s (%s)", t->hidden_name[i], idx[i]);
        } else {
            o += (size_t)snprintf(list + o, sizeof list - o, ", %s", idx[i]);
        }
    }
    const char *near = ae_nearest(layer, cands, nc);
    char hint[96] = "";
    if (near) snprintf(hint, sizeof hint, "did you mean '%.63s'? ", near);
    return ae_errf(err, AE_EINPUT, "%s: unknown layer '%s' (%svalid layers: %s)", who, layer, hint,
                   list);
}

/* The `layer:` a regularizer acts on: read at configure time (with the item's position, for
 * errors found later), resolved to a node when the penalty is built. */
typedef struct ae_reg_target {
    char layer[64];
    char where[192];
} ae_reg_target;

static inline int ae_reg_target_read(ae_cfg *spec, ae_reg_target *t, ae_err *err)
{
    const char *layer;
    if (ae_cfg_str(spec, "layer", "code", NULL, &layer, err)) return err->code;
    snprintf(t->layer, sizeof t->layer, "%s", layer);
    ae_cfg_where(spec, t->where, sizeof t->where);
    return AE_OK;
}

/* who = "file:line:col: name" (for messages); *h, *k as ae_reg_tap. */
static inline int ae_reg_target_tap(const ae_reg_target *t, const ae_build *b, const char *name,
                                    char *who, size_t wlen, ae_node **h, int *k)
{
    ae_reg_who(who, wlen, t->where, name);
    return ae_reg_tap(b->taps, t->layer, who, h, k, b->err);
}

#endif
