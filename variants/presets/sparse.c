/* The sparse autoencoder preset: a KL sparsity penalty on the code (the code layer must be
 * sigmoid; the architecture stays the user's). */
#include "ae_registry.h"

const ae_variant ae_variant_sparse = {
    "sparse", "adds regularizers: [{type: kl_sparsity, weight: 1.0, rho: 0.05}] on the code "
    "(give the code layer `activation: sigmoid`; or set your own regularizers, e.g. l1)",
    "regularizers:\n  - {type: kl_sparsity, weight: 1.0, rho: 0.05}\n"};
