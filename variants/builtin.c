/* The in-tree units: the one table of built-in layer types, latents, objectives, corruptions, variant
 * presets, regularizers and data sources. The CLI and the tests register them into the registry they own. */
#include "ae_builtins.h"
#include "ae_pretrainer.h"

extern const ae_layer_ops ae_layer_dense, ae_layer_activation, ae_layer_reshape, ae_layer_conv2d,
    ae_layer_conv_transpose2d, ae_layer_batch_norm, ae_layer_max_pool2d, ae_layer_upsample;
extern const ae_regularizer_ops ae_reg_l1, ae_reg_kl_sparsity, ae_reg_contractive, ae_reg_weight_decay;
extern const ae_variant ae_variant_undercomplete, ae_variant_sparse, ae_variant_contractive,
    ae_variant_denoising, ae_variant_convolutional, ae_variant_variational;

/* The data sources (variants/sources/), one line each: X(the unit's ae_source_ops). */
#define BUILTIN_SOURCES(X) \
    X(ae_source_csv)       \
    X(ae_source_idx)       \
    X(ae_source_npy)       \
    /* end of the sources */

/* The latents (variants/latents/), one line each: X(the unit's ae_latent_ops). */
#define BUILTIN_LATENTS(X)        \
    X(ae_latent_deterministic)    \
    X(ae_latent_gaussian)         \
    X(ae_latent_vq)               \
    /* end of the latents */

/* The objectives, the reconstruction terms of `loss:` (variants/objectives/). */
#define BUILTIN_OBJECTIVES(X)     \
    X(ae_objective_mse)           \
    X(ae_objective_bce)           \
    X(ae_objective_iwae)          \
    X(ae_objective_svdd)          \
    /* end of the objectives */

/* The corruptions of `corruption:` (variants/corruptions/); `none` first (the default). */
#define BUILTIN_CORRUPTIONS(X)    \
    X(ae_corruption_none)         \
    X(ae_corruption_gaussian)     \
    X(ae_corruption_masking)      \
    X(ae_corruption_salt_pepper)  \
    /* end of the corruptions */

/* The pretrainers of `pretrain: {method: NAME}` (variants/pretrainers/). */
#define BUILTIN_PRETRAINERS(X)    \
    X(ae_pretrainer_rbm)          \
    X(ae_pretrainer_autoencoder)  \
    X(ae_pretrainer_denoising)    \
    /* end of the pretrainers */

#define DECLARE(ops) extern const ae_source_ops ops;
BUILTIN_SOURCES(DECLARE)
#define DECLARE_LATENT(ops) extern const ae_latent_ops ops;
BUILTIN_LATENTS(DECLARE_LATENT)
#define DECLARE_OBJECTIVE(ops) extern const ae_objective_ops ops;
BUILTIN_OBJECTIVES(DECLARE_OBJECTIVE)
#define DECLARE_CORRUPTION(ops) extern const ae_corruption_ops ops;
BUILTIN_CORRUPTIONS(DECLARE_CORRUPTION)
#define DECLARE_PRETRAINER(ops) extern const ae_pretrainer_ops ops;
BUILTIN_PRETRAINERS(DECLARE_PRETRAINER)
#define ADDRESS(ops) &ops,

int ae_register_builtins(ae_registry *r)
{
    static const ae_layer_ops *const layers[] = {&ae_layer_dense, &ae_layer_activation, &ae_layer_reshape,
                                                 &ae_layer_conv2d, &ae_layer_conv_transpose2d,
                                                 &ae_layer_batch_norm, &ae_layer_max_pool2d, &ae_layer_upsample};
    static const ae_variant *const variants[] = {&ae_variant_undercomplete, &ae_variant_sparse,
                                                 &ae_variant_denoising, &ae_variant_contractive,
                                                 &ae_variant_variational, &ae_variant_convolutional};
    static const ae_regularizer_ops *const regs[] = {&ae_reg_l1, &ae_reg_kl_sparsity, &ae_reg_contractive,
                                                     &ae_reg_weight_decay};
    static const ae_source_ops *const sources[] = {BUILTIN_SOURCES(ADDRESS)};
    static const ae_latent_ops *const latents[] = {BUILTIN_LATENTS(ADDRESS)};
    static const ae_objective_ops *const objectives[] = {BUILTIN_OBJECTIVES(ADDRESS)};
    static const ae_corruption_ops *const corruptions[] = {BUILTIN_CORRUPTIONS(ADDRESS)};
    static const ae_pretrainer_ops *const pretrainers[] = {BUILTIN_PRETRAINERS(ADDRESS)};
    int rc = AE_OK;
    for (size_t i = 0; i < sizeof layers / sizeof *layers && !rc; i++) rc = ae_register_layer(r, layers[i]);
    for (size_t i = 0; i < sizeof variants / sizeof *variants && !rc; i++) rc = ae_register_variant(r, variants[i]);
    for (size_t i = 0; i < sizeof regs / sizeof *regs && !rc; i++) rc = ae_register_regularizer(r, regs[i]);
    for (size_t i = 0; i < sizeof sources / sizeof *sources && !rc; i++) rc = ae_register_source(r, sources[i]);
    for (size_t i = 0; i < sizeof latents / sizeof *latents && !rc; i++) rc = ae_register_latent(r, latents[i]);
    for (size_t i = 0; i < sizeof objectives / sizeof *objectives && !rc; i++)
        rc = ae_register_objective(r, objectives[i]);
    for (size_t i = 0; i < sizeof corruptions / sizeof *corruptions && !rc; i++)
        rc = ae_register_corruption(r, corruptions[i]);
    for (size_t i = 0; i < sizeof pretrainers / sizeof *pretrainers && !rc; i++)
        rc = ae_register_pretrainer(r, pretrainers[i]);
    return rc;
}
