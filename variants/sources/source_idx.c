/* The `idx` data source: IDX image files (MNIST layout, plain or .gz), a named dataset with both
 * splits (name: fashion-mnist) or explicit files (images + labels); a thin wrapper over ae_idx_load. */
#include "ae_registry.h"

static int idx_load(ae_cfg *d, const ae_source_req *req, ae_dataset *train, ae_dataset *test, ae_err *err)
{
    const char *name, *images, *labels;
    char w[256];
    if (ae_cfg_str(d, "name", "", NULL, &name, err) || ae_cfg_str(d, "images", "", NULL, &images, err) ||
        ae_cfg_str(d, "labels", "", NULL, &labels, err))
        return err->code;
    if (*name) {
        if (ae_idx_load_named_splits(name, req->data_dir, req->limit, req->test_limit, train, test, err))
            return ae_err_prefix(err, "%s: data.name", ae_cfg_where(ae_cfg_get(d, "name"), w, sizeof w));
        return AE_OK;
    }
    if (!*images)
        return ae_errf(err, AE_EINPUT, "%s: data: an idx source needs 'name' (fashion-mnist, "
                       "mnist) or 'images' (+ 'labels')", ae_cfg_where(d, w, sizeof w));
    char ip[4096], lp[4096];
    if (ae_data_resolve(images, req->data_dir, ip, sizeof ip, err))
        return ae_err_prefix(err, "%s: data.images", ae_cfg_where(ae_cfg_get(d, "images"), w, sizeof w));
    if (*labels && ae_data_resolve(labels, req->data_dir, lp, sizeof lp, err))
        return ae_err_prefix(err, "%s: data.labels", ae_cfg_where(ae_cfg_get(d, "labels"), w, sizeof w));
    return ae_idx_load(ip, *labels ? lp : NULL, req->limit, train, err);
}

const ae_source_ops ae_source_idx = {
    "idx", "IDX images (MNIST layout, plain or .gz), pixels scaled to [0, 1]: name (fashion-mnist | mnist: "
    "both splits, found on the data search path) or images (a file) + labels (a file; optional); "
    "scaling none",
    "none", AE_SOURCE_DEFAULT_LIMITS, idx_load};
