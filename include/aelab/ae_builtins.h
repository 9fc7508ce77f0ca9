/* The in-tree units (variants/: layer types, variant presets, regularizers, data sources), registered
 * into a registry its caller owns: ae_registry_new(), then ae_register_builtins(), then plug-ins. */
#ifndef AE_BUILTINS_H
#define AE_BUILTINS_H

#include "ae_registry.h"

/* Registers every built-in layer type, variant preset, regularizer and data source
 * (variants/builtin.c). AE_OK, or AE_EINTERNAL when the registry is full. */
int ae_register_builtins(ae_registry *r);

#endif
