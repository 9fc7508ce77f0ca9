/* The denoising autoencoder preset: gaussian input corruption (sigma 0.3, clipped to the data
 * range) during training; the loss compares with the clean input. */
#include "ae_registry.h"

const ae_variant ae_variant_denoising = {
    "denoising", "corruption: {type: gaussian, sigma: 0.3} clipped to the data range (or masking "
    "p / salt_pepper p); reconstructs the clean input",
    "corruption: {type: gaussian, sigma: 0.3}\n"};
