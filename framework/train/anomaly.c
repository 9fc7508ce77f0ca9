/* Per-sample anomaly scores of a trained model over a dataset (the one-class protocol's scoring):
 * the objective's own score (Deep SVDD's distance to its centre), else the reconstruction error of
 * each row summed over its features (Ruff et al. 2018's DCAE); and the objective's preparation pass
 * before training (the codes it sees at the start). */
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
    const int own = ae_model_has_objective_score(m);
    for (size_t off = 0; off < ds->n; off += (size_t)batch) {
        size_t k = off + (size_t)batch <= ds->n ? (size_t)batch : ds->n - off;
        ae_mgraph *mg = ae_model_graph(m, (int64_t)k, AE_MODE_EVAL, err);
        if (!mg) return err->code;
        ae_dataset_gather(ds, NULL, off, k, ds->pass, mg->taps.x->val);
        /* the objective's own score (Deep SVDD: the code's squared distance to its centre) */
        if (own) {
            ae_graph_forward_to(mg->g, mg->taps.code);
            if (ae_model_objective_score(m, mg, k, out + off)) continue;
        }
        ae_graph_forward_to(mg->g, mg->taps.recon);
        recon_sse(mg->taps.x->val, mg->taps.recon->val, k, ds->d, out + off);
    }
    return AE_OK;
}

int ae_objective_prepare(ae_model *m, const ae_dataset *ds, long batch, ae_err *err)
{
    if (!ae_model_has_objective_prepare(m)) return AE_OK;
    size_t cs = ae_model_code_size(m);
    float *codes = malloc((ds->n ? ds->n : 1) * cs * sizeof *codes);
    if (!codes) return ae_errf(err, AE_EINTERNAL, "out of memory (%zu codes of %zu)", ds->n, cs);
    int rc = ae_encode(m, ds, ds->n, AE_MODE_EVAL, batch, codes, NULL, err);
    if (rc == AE_OK) rc = ae_model_objective_prepare(m, codes, ds->n, err);
    free(codes);
    return rc;
}
