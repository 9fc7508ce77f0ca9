/* A trained model out of aelab: its parameters as safetensors or NumPy .npy files under the names
 * and shapes PyTorch uses, and the codes of any data set its config can read as a .npy. */
#ifndef AE_EXPORT_H
#define AE_EXPORT_H

#include <stdint.h>

#include "ae_params.h"
#include "ae_run.h"

/* The PyTorch-style name of a parameter: every "[N]" becomes ".N" ("encoder[0].weight" ->
 * "encoder.0.weight"; "latent.mu.weight" stays). 0 when it fits in len, -1 when not. */
int ae_export_name(const char *name, char *out, size_t len);
/* A float32 array as a .npy file (format 1.0, '<f4', C order), written atomically. */
int ae_npy_write(const char *path, const float *x, int nd, const int64_t *shape, ae_err *err);
/* Every parameter of ps (in declaration order; weights, biases and any other kind the store holds)
 * with its exported name and shape: a safetensors file (8-byte little-endian header length, a JSON
 * header padded with spaces to a multiple of 8 bytes, dtype "F32", then the raw little-endian
 * float32 data); `__metadata__` holds {"format": "pt", "producer": "aelab VERSION", "config": the
 * resolved YAML}. The stored layouts are PyTorch's already (dense [out, in] as nn.Linear, conv
 * [out, in, kh, kw] as nn.Conv2d, transposed conv [in, out, kh, kw] as nn.ConvTranspose2d): nothing is
 * transposed. */
int ae_export_safetensors(const ae_params *ps, const char *config_yaml, const char *path, ae_err *err);
/* The same as one NAME.npy per parameter in folder dir (created), and config.yaml in it. */
int ae_export_npy(const ae_params *ps, const char *config_yaml, const char *dir, ae_err *err);

/* `aelab export`: opens the run folder (config.yaml + checkpoint.aelab, ae_run_open) and writes
 * format "safetensors" (default out RUN_DIR/model.safetensors, with config.yaml beside it: an
 * existing different config.yaml there is not overwritten, AE_EINPUT) or "npy" (default out
 * RUN_DIR/weights_npy/). Prints the path written. */
int ae_run_export(const char *run_dir, const char *format, const char *out, const ae_run_opts *o, ae_err *err);
/* `aelab encode`: the codes (mu for a gaussian latent: the evaluation graph's) of the run's test
 * set (its training set when it has none) as a float32 .npy of shape (N, code_size). o->sets
 * (data.* keys only) choose another data set the config can read: the run's model reads it, after
 * the config's scaling (fitted on that data's training split). Prints the path and the shape. */
int ae_run_encode(const char *run_dir, const char *out, const ae_run_opts *o, ae_err *err);

#endif
