/* The table of in-tree variant presets and regularizers (one line each). */
#include "ae_variants.h"

void ae_register_builtin_variants(ae_registry *r)
{
    ae_register_variant(r, &ae_variant_undercomplete);
    ae_register_variant(r, &ae_variant_sparse);
    ae_register_variant(r, &ae_variant_denoising);
    ae_register_variant(r, &ae_variant_contractive);
    ae_register_variant(r, &ae_variant_variational);
    ae_register_variant(r, &ae_variant_convolutional);
    ae_register_regularizer(r, &ae_reg_l1);
    ae_register_regularizer(r, &ae_reg_kl_sparsity);
    ae_register_regularizer(r, &ae_reg_contractive);
    ae_register_regularizer(r, &ae_reg_weight_decay);
}
