/* The registry of layers, latents, objectives, corruptions, regularizers, variant presets and data
 * sources; loads out-of-tree plug-ins (dlopen). */
#include "ae_registry.h"
#include "ae_pretrainer.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_UNITS 64

struct ae_registry {
    const ae_layer_ops *layers[MAX_UNITS];
    const ae_regularizer_ops *regs[MAX_UNITS];
    const ae_latent_ops *latents[MAX_UNITS];
    const ae_variant *variants[MAX_UNITS];
    const ae_source_ops *sources[MAX_UNITS];
    const ae_corruption_ops *corruptions[MAX_UNITS];
    const ae_objective_ops *objectives[MAX_UNITS];
    const ae_pretrainer_ops *pretrainers[MAX_UNITS];
    const char *layer_names[MAX_UNITS + 1], *reg_names[MAX_UNITS + 1], *variant_names[MAX_UNITS + 1],
        *source_names[MAX_UNITS + 1], *latent_names[MAX_UNITS + 1], *corruption_names[MAX_UNITS + 1],
        *objective_names[MAX_UNITS + 1], *pretrainer_names[MAX_UNITS + 1];
    int nl, nr, nv, ns, nlat, nc, no, np;
    void *libs[MAX_UNITS];
    char *lib_paths[MAX_UNITS]; /* realpath of each loaded library: a second load is a no-op */
    int nlibs;
};

ae_registry *ae_registry_new(void) { return calloc(1, sizeof(ae_registry)); }

void ae_registry_free(ae_registry *r)
{
    if (!r) return;
    for (int i = 0; i < r->nlibs; i++) {
        dlclose(r->libs[i]);
        free(r->lib_paths[i]);
    }
    free(r);
}

#define REGISTER(arr, names, count, item)                                        \
    do {                                                                         \
        for (int i_ = 0; i_ < r->count; i_++)                                    \
            if (!strcmp(r->arr[i_]->name, (item)->name)) {                       \
                r->arr[i_] = (item); /* a later registration replaces */         \
                return AE_OK;                                                    \
            }                                                                    \
        if (r->count == MAX_UNITS) return AE_EINTERNAL;                          \
        r->names[r->count] = (item)->name;                                       \
        r->arr[r->count++] = (item);                                             \
        return AE_OK;                                                            \
    } while (0)

int ae_register_layer(ae_registry *r, const ae_layer_ops *ops) { REGISTER(layers, layer_names, nl, ops); }
int ae_register_regularizer(ae_registry *r, const ae_regularizer_ops *ops) { REGISTER(regs, reg_names, nr, ops); }
int ae_register_latent(ae_registry *r, const ae_latent_ops *ops) { REGISTER(latents, latent_names, nlat, ops); }
int ae_register_variant(ae_registry *r, const ae_variant *v) { REGISTER(variants, variant_names, nv, v); }
int ae_register_source(ae_registry *r, const ae_source_ops *ops) { REGISTER(sources, source_names, ns, ops); }
int ae_register_corruption(ae_registry *r, const ae_corruption_ops *ops)
{
    REGISTER(corruptions, corruption_names, nc, ops);
}
int ae_register_objective(ae_registry *r, const ae_objective_ops *ops) { REGISTER(objectives, objective_names, no, ops); }
int ae_register_pretrainer(ae_registry *r, const ae_pretrainer_ops *ops)
{
    REGISTER(pretrainers, pretrainer_names, np, ops);
}

#define FIND(arr, count)                                                         \
    do {                                                                         \
        for (int i_ = 0; i_ < r->count; i_++)                                    \
            if (!strcmp(r->arr[i_]->name, name)) return r->arr[i_];              \
        return NULL;                                                             \
    } while (0)

const ae_layer_ops *ae_find_layer(const ae_registry *r, const char *name) { FIND(layers, nl); }
const ae_regularizer_ops *ae_find_regularizer(const ae_registry *r, const char *name) { FIND(regs, nr); }
const ae_latent_ops *ae_find_latent(const ae_registry *r, const char *name) { FIND(latents, nlat); }
const ae_variant *ae_find_variant(const ae_registry *r, const char *name) { FIND(variants, nv); }
const ae_source_ops *ae_find_source(const ae_registry *r, const char *name) { FIND(sources, ns); }
const ae_corruption_ops *ae_find_corruption(const ae_registry *r, const char *name) { FIND(corruptions, nc); }
const ae_objective_ops *ae_find_objective(const ae_registry *r, const char *name) { FIND(objectives, no); }
const ae_pretrainer_ops *ae_find_pretrainer(const ae_registry *r, const char *name) { FIND(pretrainers, np); }

const char *const *ae_layer_names(const ae_registry *r) { return r->layer_names; }
const char *const *ae_regularizer_names(const ae_registry *r) { return r->reg_names; }
const char *const *ae_latent_names(const ae_registry *r) { return r->latent_names; }
const char *const *ae_variant_names(const ae_registry *r) { return r->variant_names; }
const char *const *ae_source_names(const ae_registry *r) { return r->source_names; }
const char *const *ae_corruption_names(const ae_registry *r) { return r->corruption_names; }
const char *const *ae_objective_names(const ae_registry *r) { return r->objective_names; }
const char *const *ae_pretrainer_names(const ae_registry *r) { return r->pretrainer_names; }

/* The entry point and the ABI of a loaded library checked, then its aelab_plugin_init called. */
static int init_plugin(ae_registry *r, void *h, const char *path, ae_err *err)
{
    ae_plugin_init_fn init;
    *(void **)&init = dlsym(h, "aelab_plugin_init");
    if (!init)
        return ae_errf(err, AE_EINPUT, "plug-in '%s' has no function aelab_plugin_init "
                       "(export: int aelab_plugin_init(ae_registry *))", path);
    const int *abi = dlsym(h, "aelab_plugin_abi");
    if (!abi)
        return ae_errf(err, AE_EINPUT, "plug-in '%s' exports no plug-in ABI (no symbol aelab_plugin_abi); this "
                       "aelab has plug-in ABI %d: rebuild the plug-in against this aelab's ae_registry.h, with "
                       "AE_PLUGIN_EXPORT_ABI; at file scope", path, AE_PLUGIN_ABI);
    if (*abi != AE_PLUGIN_ABI)
        return ae_errf(err, AE_EINPUT, "plug-in '%s' was built for plug-in ABI %d; this aelab has plug-in ABI "
                       "%d: rebuild the plug-in against this aelab's headers", path, *abi, AE_PLUGIN_ABI);
    int rc = init(r);
    if (rc != AE_OK) return ae_errf(err, AE_EINPUT, "plug-in '%s': aelab_plugin_init returned %d", path, rc);
    return AE_OK;
}

int ae_registry_load_plugin(ae_registry *r, const char *path, ae_err *err)
{
    char *key = realpath(path, NULL); /* NULL: no such file (dlopen says why) or a bare library name */
    if (!key && !(key = strdup(path))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (int i = 0; i < r->nlibs; i++)
        if (!strcmp(r->lib_paths[i], key)) { /* loaded already (every job of an experiment asks) */
            free(key);
            return AE_OK;
        }
    if (r->nlibs == MAX_UNITS) {
        free(key);
        return ae_errf(err, AE_EINPUT, "plug-in %s: too many plug-ins (at most %d different libraries)", path,
                       MAX_UNITS);
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        free(key);
        return ae_errf(err, AE_EINPUT, "plug-in '%s' cannot be loaded: %s", path, dlerror());
    }
    int rc = init_plugin(r, h, path, err);
    if (rc) {
        dlclose(h);
        free(key);
        return rc;
    }
    r->lib_paths[r->nlibs] = key;
    r->libs[r->nlibs++] = h;
    return AE_OK;
}

void ae_registry_print(const ae_registry *r, FILE *f)
{
    fprintf(f, "variants (presets; `variant: NAME`):\n");
    for (int i = 0; i < r->nv; i++) fprintf(f, "  %-16s %s\n", r->variants[i]->name, r->variants[i]->help);
    fprintf(f, "layers (`model.encoder` / `model.decoder` items, `type: NAME`):\n");
    for (int i = 0; i < r->nl; i++) {
        fprintf(f, "  %-16s %s\n", r->layers[i]->name, r->layers[i]->help);
        if (r->layers[i]->schema) ae_schema_print(r->layers[i]->schema, f, "      ");
    }
    fprintf(f, "latents (`model.latent: {kind: NAME, ...}`):\n");
    for (int i = 0; i < r->nlat; i++) {
        fprintf(f, "  %-16s %s\n", r->latents[i]->name, r->latents[i]->help);
        if (r->latents[i]->schema) ae_schema_print(r->latents[i]->schema, f, "      ");
    }
    fprintf(f, "objectives (`loss: {type: NAME, ...}` or `loss: NAME`):\n");
    for (int i = 0; i < r->no; i++) {
        fprintf(f, "  %-16s %s\n", r->objectives[i]->name, r->objectives[i]->help);
        if (r->objectives[i]->schema) ae_schema_print(r->objectives[i]->schema, f, "      ");
    }
    fprintf(f, "corruptions (`corruption: {type: NAME, ...}`):\n");
    for (int i = 0; i < r->nc; i++) {
        fprintf(f, "  %-16s %s\n", r->corruptions[i]->name, r->corruptions[i]->help);
        if (r->corruptions[i]->schema) ae_schema_print(r->corruptions[i]->schema, f, "      ");
    }
    fprintf(f, "regularizers (`regularizers:` items, `type: NAME`):\n");
    for (int i = 0; i < r->nr; i++) {
        fprintf(f, "  %-16s %s\n", r->regs[i]->name, r->regs[i]->help);
        if (r->regs[i]->schema) ae_schema_print(r->regs[i]->schema, f, "      ");
    }
    fprintf(f, "pretrainers (`pretrain: {method: NAME, ...}`; the stage's own keys in docs/config.md):\n");
    for (int i = 0; i < r->np; i++) {
        fprintf(f, "  %-16s %s\n", r->pretrainers[i]->name, r->pretrainers[i]->help);
        if (r->pretrainers[i]->schema) ae_schema_print(r->pretrainers[i]->schema, f, "      ");
    }
    fprintf(f, "sources (`data: {source: NAME, ...}`; every source also takes scaling (standard|minmax|none|gcn_l1; "
               "the source's default), limit and test_limit (first rows kept; 0 = all), test_fraction (a "
               "seeded test split; 0), validation (rows held out of training: a count or a fraction), "
               "binarize (none|static|dynamic), normal_labels, exclude_label):\n");
    for (int i = 0; i < r->ns; i++) fprintf(f, "  %-16s %s\n", r->sources[i]->name, r->sources[i]->help);
}
