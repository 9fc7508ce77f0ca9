/* Checkpoints: everything needed to resume a run bit-identically (parameters, optimizer state,
 * RNG state, sample order, position in the epoch, loss history), in a versioned file with a magic,
 * the config's hash and a zlib CRC-32 per section, written atomically (temp file + fsync + rename). */
#ifndef AE_CHECKPOINT_H
#define AE_CHECKPOINT_H

#include <stdint.h>

#include "ae_train.h"

#define AE_CKPT_VERSION 1

/* Writes the trainer's state (t->opt: parameters, step count and both state buffers, which hold
 * every optimizer's state (Adagrad's sums in v); t->rng, t->order, t->epoch, t->next_batch, t->part) and
 * the per-epoch losses so far. */
int ae_checkpoint_save(const char *path, uint64_t config_hash, const ae_trainer *t,
                       const double *losses, long nlosses, ae_err *err);
/* Restores into an initialised trainer (same model shape, same data size). AE_EINPUT naming the
 * file and the reason for: wrong magic ("not an aelab checkpoint"), other version, other config
 * ("written by a different configuration"), truncation, CRC mismatch (names the section), sizes
 * that do not fit this model or data. *nlosses receives the number restored (losses must hold
 * cfg.epochs entries). */
int ae_checkpoint_load(const char *path, uint64_t config_hash, ae_trainer *t, double *losses,
                       long *nlosses, ae_err *err);
/* FNV-1a 64 of a string (for config hashes). */
uint64_t ae_hash64(const char *s);
/* The hash a checkpoint must match: the resolved config without outputs, train.epochs,
 * train.progress and train.checkpoint_every (so a finished run can be extended). */
struct ae_cfg;
uint64_t ae_config_hash(const struct ae_cfg *root);

#endif
