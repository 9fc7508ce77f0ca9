/* The convolutional autoencoder preset: the decoder mirrors the user's conv encoder (the encoder
 * itself is the user's: conv layers need image data c×h×w). */
#include "ae_registry.h"

const ae_variant ae_variant_convolutional = {
    "convolutional", "model.decoder: mirror of your conv encoder (write model.encoder with conv "
    "layers yourself; image data)",
    "model:\n  decoder: mirror\n"};
