/* The contractive autoencoder preset: a Jacobian-norm penalty on the code (exact for a single
 * dense encoder layer, estimated otherwise). */
#include "ae_registry.h"

const ae_variant ae_variant_contractive = {
    "contractive", "adds regularizers: [{type: contractive, weight: 1e-4}] on the code "
    "(exact for one dense encoder layer, a finite-difference estimate for deeper/conv encoders)",
    "regularizers:\n  - {type: contractive, weight: 1.0e-4}\n"};
