/* The model's side of its latent unit: prior samples, posterior densities and the unit's own
 * metrics over a data set, each dispatched through ae_latent_ops. */
#include <string.h>

#include "ae_data.h"
#include "model_internal.h"

const char *ae_model_latent_kind(const ae_model *m) { return m->lat->name; }
int ae_model_has_prior(const ae_model *m) { return m->lat->sample != NULL; }
int ae_model_has_posterior(const ae_model *m) { return m->lat->log_density != NULL; }

int ae_model_sample_prior(ae_model *m, ae_rng *rng, size_t n, float *z, ae_err *err)
{
    if (!m->lat->sample)
        return ae_errf(err, AE_EINPUT, "the %s latent has no prior to sample codes from", m->lat->name);
    return m->lat->sample(m->lat_state, rng, n, m->code_size, z, err);
}

void ae_model_log_density(const ae_model *m, const ae_mgraph *mg, size_t i, double *log_prior,
                          double *log_post)
{
    m->lat->log_density(m->lat_state, &mg->taps, i, m->code_size, log_prior, log_post);
}

int ae_model_latent_metrics(ae_model *m, const ae_dataset *ds, long batch, const char **names,
                            double *values, int max, int *n, ae_err *err)
{
    *n = 0;
    if (!m->lat->observe || !m->lat->metrics) return AE_OK;
    for (size_t off = 0; off < ds->n; off += (size_t)batch) {
        size_t nb = off + (size_t)batch <= ds->n ? (size_t)batch : ds->n - off;
        ae_mgraph *mg = ae_model_graph(m, (int64_t)nb, AE_MODE_EVAL, err);
        if (!mg) return err->code;
        ae_dataset_gather(ds, NULL, off, nb, ds->pass, mg->taps.x->val);
        ae_graph_forward_to(mg->g, mg->taps.code);
        m->lat->observe(m->lat_state, &mg->taps, nb);
    }
    *n = m->lat->metrics(m->lat_state, names, values, max);
    return AE_OK;
}
