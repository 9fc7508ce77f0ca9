/* The table of in-tree layer types (one line per type: add yours here, or register it from a
 * plug-in with ae_register_layer). */
#include "ae_registry.h"

extern const ae_layer_ops ae_layer_dense, ae_layer_activation, ae_layer_reshape;

void ae_register_builtin_layers(ae_registry *r)
{
    ae_register_layer(r, &ae_layer_dense);
    ae_register_layer(r, &ae_layer_activation);
    ae_register_layer(r, &ae_layer_reshape);
    { extern const ae_layer_ops ae_layer_conv2d; ae_register_layer(r, &ae_layer_conv2d); }
    { extern const ae_layer_ops ae_layer_conv_transpose2d; ae_register_layer(r, &ae_layer_conv_transpose2d); }
}
