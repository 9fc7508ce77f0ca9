/* A pretrainer: how one dense layer is trained on its own in greedy layer-wise pretraining (an RBM
 * by contrastive divergence, a one-hidden-layer (denoising) autoencoder), as a registered unit. */
#ifndef AE_PRETRAINER_H
#define AE_PRETRAINER_H

#include <stdint.h>

#include "ae_dnnl.h"
#include "ae_registry.h"

/* One dense layer as a pretrainer sees it: nvis inputs (its visible units), nhid outputs (hidden
 * units), row-major float buffers owned by the stage driver, at fixed addresses for the layer's
 * lifetime (a workspace may bind them into oneDNN primitives). */
typedef struct ae_pt_layer {
    int64_t nvis, nhid;
    ae_act act;          /* the layer's activation: its hidden units' kind */
    int vis_binary;      /* its inputs lie in [0, 1]: sigmoid (Bernoulli) visible units; else linear
                            (unit-variance Gaussian) visible units */
    float *w, *b, *c;    /* weight [nhid, nvis] (the encoder's, PyTorch layout), hidden bias [nhid],
                            visible bias [nvis] (the unrolled decoder's) */
    float *wd;           /* untied decoder weight [nhid, nvis], reconstruction = h·wd + c (NULL: tied) */
    float *gw, *gb, *gc, *gwd; /* what `step` writes: the direction the driver descends, same shapes */
} ae_pt_layer;

/* A pretraining method (`pretrain: {method: NAME, ...}`). configure reads its own keys (besides the
 * driver's: method, epochs, lr, ...) from `spec` into a private state (without finishing the map);
 * check refuses a layer it cannot train (AE_EINPUT naming `who`, e.g. "model.encoder[1]");
 * untied says whether the layer needs `wd`. begin makes a workspace for batches of `batch` rows of
 * layer L; step reads `batch` rows x (row-major, nvis each), writes L->gw, gb, gc (and gwd when
 * untied) and returns the batch's loss per row (rbm: squared reconstruction error; autoencoder: its
 * objective). Randomness comes from `seed` alone through ae_rng_blocks (same values for any thread
 * count); step s of a chain uses seed + s. */
typedef struct ae_pretrainer_ops {
    const char *name;
    const char *help;
    int (*configure)(ae_cfg *spec, void **state, ae_err *err);
    int (*check)(void *state, ae_act act, int vis_binary, const char *who, ae_err *err);
    int (*untied)(void *state);
    int (*begin)(void *state, ae_pt_layer *L, int64_t batch, void **ws, ae_err *err);
    double (*step)(void *ws, const float *x, uint64_t seed);
    void (*end)(void *ws);
    void (*destroy)(void *state);
    const ae_schema *schema; /* its keys, for `aelab list` and docs; may be NULL */
} ae_pretrainer_ops;

int ae_register_pretrainer(ae_registry *r, const ae_pretrainer_ops *ops);
const ae_pretrainer_ops *ae_find_pretrainer(const ae_registry *r, const char *name);
const char *const *ae_pretrainer_names(const ae_registry *r);

#endif
