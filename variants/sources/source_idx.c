/* The `idx` data source: IDX image files (MNIST layout, plain or .gz), a named dataset with both
 * splits (name: fashion-mnist) or explicit files (images + labels); a thin wrapper over ae_idx_load. */
#include <stddef.h>

#include "ae_registry.h"

typedef struct idx_keys {
    const char *name, *images, *labels;
} idx_keys;

static const ae_key idx_key_table[] = {
    AE_KEY_STR_(idx_keys, name, "name", AE_KEY_EMPTY, NULL, "a named dataset with both splits, found on the data "
                "search path: fashion-mnist | mnist (empty: images)"),
    AE_KEY_STR_(idx_keys, images, "images", AE_KEY_EMPTY, NULL, "an IDX image file (without name)"),
    AE_KEY_STR_(idx_keys, labels, "labels", AE_KEY_EMPTY, NULL, "its IDX label file (empty: no labels)"),
};
static const ae_schema idx_schema = AE_SCHEMA("data", idx_key_table);

static int idx_load(ae_cfg *d, const ae_source_req *req, ae_dataset *train, ae_dataset *test, ae_err *err)
{
    idx_keys k = {0};
    char w[256];
    if (ae_schema_read(&idx_schema, d, &k, 0, err)) return err->code;
    const char *name = k.name, *images = k.images, *labels = k.labels;
    if (*name) {
        if (ae_idx_load_named_splits(name, req->data_dir, req->limit, req->test_limit, train, test, err))
            return ae_err_prefix(err, "%s: data.name", ae_cfg_where(ae_cfg_get(d, "name"), w, sizeof w));
        return AE_OK;
    }
    if (!*images)
        return ae_errf(err, AE_EINPUT, "%s: data: an idx source needs 'name' (fashion-mnist, "
                       "mnist) or 'images' (+ 'labels')", ae_cfg_where(d, w, sizeof w));
    char ip[4096], lp[4096];
    int has_labels = *labels != '\0'; /* resolving may rewrite the keys (then the texts are gone) */
    if (ae_data_resolve_key(d, "images", req->data_dir, ip, sizeof ip, err) ||
        (has_labels && ae_data_resolve_key(d, "labels", req->data_dir, lp, sizeof lp, err)))
        return err->code;
    return ae_idx_load(ip, has_labels ? lp : NULL, req->limit, train, err);
}

const ae_source_ops ae_source_idx = {
    "idx", "IDX images (MNIST layout, plain or .gz), pixels scaled to [0, 1]", "none",
    AE_SOURCE_DEFAULT_LIMITS, idx_load, &idx_schema};
