/* The table of in-tree variant presets and regularizers (one line each). */
#include "ae_registry.h"

extern const ae_variant ae_variant_undercomplete;

void ae_register_builtin_variants(ae_registry *r)
{
    ae_register_variant(r, &ae_variant_undercomplete);
}
