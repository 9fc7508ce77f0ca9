/* The undercomplete autoencoder: a deterministic code smaller than the input, no penalty; the
 * plain baseline every other variant adds one axis to. */
#include "ae_registry.h"

const ae_variant ae_variant_undercomplete = {
    "undercomplete", "deterministic code, decoder mirrors the encoder, no penalty",
    "model:\n  decoder: mirror\n  latent: {kind: deterministic}\n"};
