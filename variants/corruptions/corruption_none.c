/* The `none` corruption: the encoder sees the clean input (no corruption node, no denoised
 * metrics). */
#include "ae_registry.h"

static int none_configure(ae_cfg *spec, const ae_dataset *data, void **state, ae_err *err)
{
    (void)spec, (void)data, (void)err;
    *state = NULL;
    return AE_OK;
}

const ae_corruption_ops ae_corruption_none = {
    .name = "none",
    .help = "no corruption: the encoder sees the clean input",
    .configure = none_configure,
};
