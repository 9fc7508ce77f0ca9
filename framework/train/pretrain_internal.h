/* Private state of the pretraining stage shared by pretrain_config.c (reading and checking),
 * pretrain.c (the layer loop) and pretrain_ckpt.c (its checkpoint; the log is a JSONL file, ae_jsonl_keep on resume). */
#ifndef AE_PRETRAIN_INTERNAL_H
#define AE_PRETRAIN_INTERNAL_H

#include "ae_pretrain.h"

#define PT_MAX_LAYERS 32

/* One encoder layer to pretrain and where its parameters live in the model's store. */
typedef struct pt_info {
    int64_t nvis, nhid;
    ae_act act;
    int vis_binary;
    int enc_w, enc_b, dec_w, dec_b; /* parameter indices (dec_*: -1 when not unrolled) */
    char who[48];                   /* "model.encoder[1]" */
} pt_info;

struct ae_pretrain {
    ae_pretrain_cfg cfg;
    const ae_pretrainer_ops *ops;
    void *state;
    int n;
    pt_info L[PT_MAX_LAYERS];
};

/* A layer's trained values and momentum, contiguous: w, b, c, wd (untied) then their increments. */
typedef struct pt_buf {
    float *all;
    size_t n;                 /* floats of the values (the increments follow) */
    ae_pt_layer L;            /* points into all (values) and grads */
    float *inc;               /* all + n */
    float *grads;
} pt_buf;

/* Where the stage is: `layer` (0-based) has finished `epoch` epochs (layer == n: all done). */
typedef struct pt_pos {
    long layer, epoch;
} pt_pos;

/* pretrain_ckpt.c: the checkpoint holds the position, the model's parameters, the current layer's
 * values and increments and the rng state. load: AE_OK with *found = 0 when there is none. */
int pt_ckpt_save(const char *path, uint64_t hash, pt_pos pos, const ae_params *ps, const pt_buf *b,
                 const ae_rng *rng, ae_err *err);
/* load restores the parameters and the rng, and hands back the layer's values and increments in a
 * malloc'd *vals of *nvals floats (the caller copies them into the layer's buffer). */
int pt_ckpt_load(const char *path, uint64_t hash, const ae_pretrain *p, pt_pos *pos, ae_params *ps,
                 float **vals, size_t *nvals, ae_rng *rng, int *found, ae_err *err);

#endif
