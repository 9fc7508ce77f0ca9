/* Greedy layer-wise pretraining, a training stage before the ordinary one (`pretrain:` in a config):
 * each dense encoder layer trained in turn by a pretrainer unit (ae_pretrainer.h) on the previous
 * layer's outputs, its weights copied into the encoder and, unrolled, transposed into the decoder. */
#ifndef AE_PRETRAIN_H
#define AE_PRETRAIN_H

#include <stdint.h>

#include "ae_data.h"
#include "ae_model.h"
#include "ae_pretrainer.h"

typedef struct ae_pretrain_cfg {
    const char *method;
    long epochs, batch_size, momentum_switch;
    double lr, lr_linear, momentum, final_momentum, weight_decay, init_std;
    int unroll;
} ae_pretrain_cfg;

/* The keys of `pretrain:` the stage reads itself (a method's own keys are in its unit's schema). */
extern const ae_schema ae_pretrain_schema;

typedef struct ae_pretrain ae_pretrain;

/* Reads `pretrain:` from the resolved config root (absent: *out = NULL, AE_OK) and checks the model
 * it will pretrain: dense encoder layers with biases, a deterministic latent, layers the method can
 * train, and with `unroll` a decoder that mirrors the encoder; errors name the config position. */
int ae_pretrain_configure(ae_cfg *root, const ae_registry *reg, ae_model *m, const ae_dataset *train,
                          ae_pretrain **out, ae_err *err);
void ae_pretrain_free(ae_pretrain *p);
/* Layers to pretrain and epochs per layer (0 when p is NULL). */
int ae_pretrain_layers(const ae_pretrain *p);

typedef struct ae_pretrain_io {
    const char *dir;      /* the run folder: pretrain.aelab (checkpoint) and pretrain.jsonl (one line
                             per layer-epoch); NULL: neither */
    long every;           /* write the checkpoint every this many epochs and at each layer's end (0: never) */
    uint64_t hash;        /* the config hash the checkpoint carries and must match */
    int progress;         /* a line per epoch on stderr */
    const char *name;     /* the run's name for those lines */
    volatile int *stop;   /* set asynchronously: stop after the batch, AE_EINTERRUPTED */
} ae_pretrain_io;

/* Runs the stage on the model's parameters, drawing from rng (the run's stream), from where the
 * checkpoint in io->dir left off (a finished stage: its parameters and rng state restored, nothing
 * trained). Interrupted: the checkpoint of the last finished epoch stays (a re-run repeats the epoch
 * with the same draws: the same bytes as an uninterrupted run). */
int ae_pretrain_run(ae_pretrain *p, ae_model *m, const ae_dataset *train, ae_rng *rng,
                    const ae_pretrain_io *io, ae_err *err);

#endif
