/* Importance-sampled NLL, prior samples and latent interpolations, for models whose latent unit has a
 * posterior density (NLL) or a prior (samples). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_train.h"
#include "ae_vae.h"

static const double LOG2PI = 1.8378770664093453;

/* log p(x|z) for one sample: Bernoulli on logits (or on probabilities) / unit gaussian for MSE. */
static double log_px(const ae_mgraph *mg, int bce, size_t i, size_t d)
{
    const float *x = mg->taps.x->val + i * d;
    double s = 0;
    if (bce && mg->taps.logits) {
        const float *z = mg->taps.logits->val + i * d;
        for (size_t j = 0; j < d; j++) {
            double zj = z[j];
            s += x[j] * zj - (fmax(zj, 0.0) + log1p(exp(-fabs(zj))));
        }
    } else if (bce) {
        const float *p = mg->taps.recon->val + i * d;
        for (size_t j = 0; j < d; j++)
            s += x[j] * fmax(log((double)p[j]), -100.0) + (1.0 - x[j]) * fmax(log1p(-(double)p[j]), -100.0);
    } else {
        const float *p = mg->taps.recon->val + i * d;
        for (size_t j = 0; j < d; j++) s -= 0.5 * (((double)p[j] - x[j]) * ((double)p[j] - x[j]) + LOG2PI);
    }
    return s;
}

int ae_vae_nll(ae_model *m, const ae_dataset *ds, int k, long batch, double *nll, ae_err *err)
{
    if (!ae_model_has_posterior(m))
        return ae_errf(err, AE_EINPUT, "the NLL estimate needs a latent with a posterior density (the %s "
                       "latent has none)", ae_model_latent_kind(m));
    int bce = !strcmp(ae_model_loss_kind(m), "bce");
    size_t d = ds->d;
    double total = 0;
    double *lw = malloc((size_t)batch * (size_t)k * sizeof *lw);
    if (!lw) return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (size_t off = 0; off < ds->n; off += (size_t)batch) {
        size_t nb = off + (size_t)batch <= ds->n ? (size_t)batch : ds->n - off;
        ae_mgraph *mg = ae_model_graph(m, (int64_t)nb, AE_MODE_EVAL_SAMPLE, err);
        if (!mg) { free(lw); return err->code; }
        ae_dataset_gather(ds, NULL, off, nb, ds->pass, mg->taps.x->val); /* one draw for all k samples */
        for (int s = 0; s < k; s++) {
            ae_graph_forward_to(mg->g, mg->taps.recon);
            for (size_t i = 0; i < nb; i++) {
                double lpz, lqz;
                ae_model_log_density(m, mg, i, &lpz, &lqz);
                lw[i * (size_t)k + (size_t)s] = log_px(mg, bce, i, d) + lpz - lqz;
            }
        }
        for (size_t i = 0; i < nb; i++) { /* log-mean-exp over the k weights */
            double mx = -INFINITY, acc = 0;
            for (int s = 0; s < k; s++) mx = fmax(mx, lw[i * (size_t)k + (size_t)s]);
            for (int s = 0; s < k; s++) acc += exp(lw[i * (size_t)k + (size_t)s] - mx);
            total -= mx + log(acc / k);
        }
    }
    free(lw);
    *nll = total / (double)ds->n;
    return AE_OK;
}

int ae_vae_sample(ae_model *m, ae_rng *rng, size_t n, float *out, ae_err *err)
{
    size_t cs = ae_model_code_size(m);
    float *z = malloc(n * cs * sizeof *z);
    if (!z) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int rc = ae_model_sample_prior(m, rng, n, z, err);
    if (!rc) rc = ae_model_decode(m, z, n, out, err);
    free(z);
    return rc;
}

int ae_vae_interpolate(ae_model *m, const ae_dataset *ds, int rows, int steps, float *out, ae_err *err)
{
    size_t cs = ae_model_code_size(m), n = (size_t)rows * 2;
    if (ds->n < n || steps < 2) return ae_errf(err, AE_EINPUT, "interpolation needs %zu samples and >= 2 steps", n);
    float *mu = malloc(n * cs * sizeof *mu), *z = malloc((size_t)rows * (size_t)steps * cs * sizeof *z);
    int rc = mu && z ? ae_encode(m, ds, n, AE_MODE_EVAL, (long)n, mu, NULL, err)
                     : ae_errf(err, AE_EINTERNAL, "out of memory");
    for (int r = 0; !rc && r < rows; r++)
        for (int s = 0; s < steps; s++) {
            float t = (float)s / (float)(steps - 1);
            for (size_t j = 0; j < cs; j++)
                z[((size_t)r * (size_t)steps + (size_t)s) * cs + j] =
                    (1 - t) * mu[(size_t)(2 * r) * cs + j] + t * mu[(size_t)(2 * r + 1) * cs + j];
        }
    if (!rc) rc = ae_model_decode(m, z, (size_t)rows * (size_t)steps, out, err);
    free(mu);
    free(z);
    return rc;
}
