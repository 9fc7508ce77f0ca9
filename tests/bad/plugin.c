/* Broken plug-ins for tests/e2e/bad_inputs.sh: built with -DNO_INIT it exports no aelab_plugin_init;
 * with -DNO_ABI no aelab_plugin_abi; with -DOTHER_ABI=N it claims plug-in ABI N (a plug-in built
 * against another aelab); otherwise its aelab_plugin_init fails (returns 7). */
#include "ae_registry.h"

#ifdef OTHER_ABI
extern const int aelab_plugin_abi;
const int aelab_plugin_abi = OTHER_ABI;
#elif !defined(NO_ABI)
AE_PLUGIN_EXPORT_ABI;
#endif

#ifdef NO_INIT
int aelab_plugin_something_else(void);
int aelab_plugin_something_else(void) { return 0; }
#else
int aelab_plugin_init(ae_registry *registry);
int aelab_plugin_init(ae_registry *registry)
{
    (void)registry;
    return 7;
}
#endif
