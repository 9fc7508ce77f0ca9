/* The variational autoencoder preset: a gaussian latent (reparameterised sample, KL to N(0, I))
 * with a per-sample summed BCE reconstruction, the ELBO of Kingma & Welling. */
#include "ae_registry.h"

const ae_variant ae_variant_variational = {
    "variational", "model.latent: {kind: gaussian} (set model.latent.size; beta 1, kl_warmup_epochs "
    "0) and loss: {type: bce, reduction: sum}; data should lie in [0, 1]",
    "model:\n  latent: {kind: gaussian}\nloss: {type: bce, reduction: sum}\n"};
