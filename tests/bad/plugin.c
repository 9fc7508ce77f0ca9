/* A broken plug-in for tests/bad_inputs.sh: built with -DNO_INIT it exports no aelab_plugin_init;
 * otherwise its aelab_plugin_init fails (returns 7). */
#ifdef NO_INIT
int aelab_plugin_something_else(void);
int aelab_plugin_something_else(void) { return 0; }
#else
int aelab_plugin_init(void *registry);
int aelab_plugin_init(void *registry)
{
    (void)registry;
    return 7;
}
#endif
