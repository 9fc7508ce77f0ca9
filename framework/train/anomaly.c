/* Per-sample anomaly scores of a trained model over a dataset (the one-class protocol's scoring):
 * the reconstruction error of each row, summed over its features (Ruff et al. 2018's DCAE). */
#include <stdlib.h>

#include "ae_train.h"

/* Sum of squared errors of each of the k rows x (as the model read them) against its
 * reconstruction y, in double, features in order. */
static void recon_sse(const float *x, const float *y, size_t k, size_t d, double *out)
{
    for (size_t i = 0; i < k; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            double e = (double)y[i * d + j] - x[i * d + j];
            s += e * e;
        }
        out[i] = s;
    }
}

int ae_anomaly_scores(ae_model *m, const ae_dataset *ds, long batch, double *out, ae_err *err)
{
    if (batch <= 0) return ae_errf(err, AE_EINTERNAL, "ae_anomaly_scores: batch %ld", batch);
    for (size_t off = 0; off < ds->n; off += (size_t)batch) {
        size_t k = off + (size_t)batch <= ds->n ? (size_t)batch : ds->n - off;
        ae_mgraph *mg = ae_model_graph(m, (int64_t)k, AE_MODE_EVAL, err);
        if (!mg) return err->code;
        ae_dataset_gather(ds, NULL, off, k, ds->pass, mg->taps.x->val);
        /* Hook for an objective's own score (Deep SVDD: the squared distance of the code to its
         * centre): when ae_objective_ops gains an optional `score(state, taps, k, out)` callback
         * (appended at the end of the struct, with AE_PLUGIN_ABI raised in ae_registry.h), the
         * model calls it here, on this batch's graph, instead of the reconstruction error. */
        ae_graph_forward_to(mg->g, mg->taps.recon);
        recon_sse(mg->taps.x->val, mg->taps.recon->val, k, ds->d, out + off);
    }
    return AE_OK;
}
