/* Importance-sampled NLL (the k samples of each input decoded in batches of about NLL_ROWS rows),
 * prior samples and latent interpolations, for models whose latent unit has a posterior density
 * (NLL) or a prior (samples). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_dnnl.h"
#include "ae_par.h"
#include "ae_train.h"
#include "ae_vae.h"

static const double LOG2PI = 1.8378770664093453;
enum { LIK_LOGITS, LIK_PROBS, LIK_GAUSS };
#define LANES 8
#define NLL_ROWS 4096 /* decoder rows per pass: input rows x samples */

/* One pass of the NLL: rows r = s·nb + b of the samples·nb decoded codes, their log-weights. */
typedef struct nll_pass {
    const ae_model *m;
    const ae_mgraph *mg;
    const float *x, *out, *sp; /* inputs (nb x d), logits or reconstructions, softplus(logits) */
    size_t d, nb;
    int lik;
    double *lw;
} nll_pass;

/* log p(x|z) of decoded row r: Bernoulli on logits (Σ x·l - softplus(l), softplus vectorised by
 * oneDNN) or on probabilities (clamped like the bce loss), or a unit gaussian (mse). */
static double log_px(const nll_pass *p, size_t r)
{
    const float *restrict x = p->x + (r % p->nb) * p->d, *restrict y = p->out + r * p->d;
    double s = 0, acc[LANES] = {0};
    size_t j = 0;
    if (p->lik == LIK_LOGITS) {
        const float *restrict sp = p->sp + r * p->d;
        for (; j + LANES <= p->d; j += LANES)
            for (int q = 0; q < LANES; q++) acc[q] += (double)(x[j + q] * y[j + q] - sp[j + q]);
        for (int q = 0; j < p->d; j++, q++) acc[q] += (double)(x[j] * y[j] - sp[j]);
        for (int q = 0; q < LANES; q++) s += acc[q];
    } else if (p->lik == LIK_PROBS) {
        for (; j < p->d; j++)
            s += x[j] * fmax(log((double)y[j]), -100.0) + (1.0 - x[j]) * fmax(log1p(-(double)y[j]), -100.0);
    } else {
        for (; j < p->d; j++) s -= 0.5 * (((double)y[j] - x[j]) * ((double)y[j] - x[j]) + LOG2PI);
    }
    return s;
}

static void weights_chunk(size_t lo, size_t hi, void *ctx)
{
    const nll_pass *p = ctx;
    for (size_t r = lo; r < hi; r++) {
        double lpz, lqz;
        ae_model_log_density(p->m, p->mg, r, &lpz, &lqz);
        p->lw[r] = log_px(p, r) + lpz - lqz;
    }
}

/* The NLL's working state: the log-weights of a pass, softplus of its logits (a oneDNN primitive bound
 * to the graph it was made for) and the running log-sum-exp of each input row. */
typedef struct nll_work {
    double *lw, *mx, *acc, *sum; /* sum: Σ of each input row's log-weights (its -ELBO estimate) */
    float *sp, *x; /* x: the inputs of a pass, as ae_dataset_gather draws them */
    ae_eltwise softplus;
    const ae_mgraph *bound;
} nll_work;

static void work_free(nll_work *w)
{
    free(w->lw), free(w->mx), free(w->acc), free(w->sum), free(w->sp), free(w->x);
    ae_eltwise_destroy(&w->softplus);
}

/* One pass: samples codes for each of the nb rows, decoded, weighted, folded into the running sums. */
static int nll_pass_run(ae_model *m, ae_mgraph *mg, const float *x, size_t nb, size_t d, int lik, nll_work *w,
                        ae_err *err)
{
    size_t rows = (size_t)mg->samples * nb;
    memcpy(mg->taps.x->val, x, nb * d * sizeof(float));
    const ae_node *out = lik == LIK_LOGITS ? mg->taps.logits : mg->taps.recon;
    ae_graph_forward_to(mg->g, out);
    if (lik == LIK_LOGITS && w->bound != mg) {
        ae_eltwise_destroy(&w->softplus);
        w->bound = NULL;
        if (ae_eltwise_init(&w->softplus, dnnl_eltwise_soft_relu, 0.0f, 0.0f, out->val, w->sp, rows * d, err))
            return err->code;
        w->bound = mg;
    }
    if (lik == LIK_LOGITS) ae_eltwise_run(&w->softplus);
    nll_pass p = {m, mg, x, out->val, w->sp, d, nb, lik, w->lw};
    ae_par_for(rows, weights_chunk, &p);
    for (size_t r = 0; r < rows; r++) { /* running log-sum-exp per input row, in sample order */
        size_t b = r % nb;
        double v = w->lw[r];
        w->sum[b] += v;
        if (v > w->mx[b]) {
            w->acc[b] = w->acc[b] * exp(w->mx[b] - v) + 1.0;
            w->mx[b] = v;
        } else {
            w->acc[b] += exp(v - w->mx[b]);
        }
    }
    return AE_OK;
}

/* The k-sample passes over ds: the mean NLL bound into *nll, and per row (when not NULL) the bound
 * into nll_rows and the mean of the k single-sample -ELBO estimates into elbo_rows. */
static int nll_rows(ae_model *m, const ae_dataset *ds, int k, long batch, double *nll, double *nll_row,
                    double *elbo_row, ae_err *err)
{
    if (!ae_model_has_posterior(m))
        return ae_errf(err, AE_EINPUT, "the NLL estimate needs a latent with a posterior density (the %s "
                       "latent has none)", ae_model_latent_kind(m));
    /* inputs per pass: at most `batch`, few enough that a pass decodes >= 64 samples of each (the
     * encoder then runs on at most 1/64 of the rows the decoder does) */
    size_t d = ds->d, nb0 = NLL_ROWS / (size_t)(k < 64 ? k : 64);
    nb0 = nb0 < (size_t)batch ? nb0 : (size_t)batch;
    nb0 = nb0 < ds->n ? nb0 : ds->n;
    size_t spp = NLL_ROWS / (nb0 ? nb0 : 1); /* samples per pass */
    spp = spp < 1 ? 1 : spp > (size_t)k ? (size_t)k : spp;
    nll_work w = {0};
    w.lw = malloc(spp * nb0 * sizeof *w.lw), w.mx = malloc(nb0 * sizeof *w.mx), w.acc = malloc(nb0 * sizeof *w.acc);
    w.sp = malloc(spp * nb0 * d * sizeof *w.sp), w.x = malloc(nb0 * d * sizeof *w.x), w.sum = malloc(nb0 * sizeof *w.sum);
    if (!w.lw || !w.mx || !w.acc || !w.sp || !w.x || !w.sum) {
        work_free(&w);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    double total = 0;
    int rc = AE_OK;
    for (size_t off = 0; off < ds->n && !rc; off += nb0) {
        size_t nb = off + nb0 <= ds->n ? nb0 : ds->n - off;
        for (size_t b = 0; b < nb; b++) w.mx[b] = -INFINITY, w.acc[b] = 0, w.sum[b] = 0;
        ae_dataset_gather(ds, NULL, off, nb, ds->pass, w.x); /* one draw of the inputs for all k samples */
        for (size_t done = 0; done < (size_t)k && !rc; done += spp) {
            int s = (int)((size_t)k - done < spp ? (size_t)k - done : spp);
            ae_mgraph *mg = ae_model_iw_graph(m, (int64_t)nb, s, err);
            int lik = !ae_model_loss_bernoulli(m) ? LIK_GAUSS : mg && mg->taps.logits ? LIK_LOGITS : LIK_PROBS;
            rc = mg ? nll_pass_run(m, mg, w.x, nb, d, lik, &w, err) : err->code;
        }
        for (size_t b = 0; b < nb && !rc; b++) {
            double v = -(w.mx[b] + log(w.acc[b] / (double)k));
            total += v;
            if (nll_row) nll_row[off + b] = v;
            if (elbo_row) elbo_row[off + b] = -w.sum[b] / (double)k;
        }
    }
    work_free(&w);
    if (!rc) *nll = total / (double)ds->n;
    return rc;
}

int ae_vae_nll(ae_model *m, const ae_dataset *ds, int k, long batch, double *nll, ae_err *err)
{
    return nll_rows(m, ds, k, batch, nll, NULL, NULL, err);
}

int ae_vae_neg_elbo_rows(ae_model *m, const ae_dataset *ds, int k, long batch, double *out, ae_err *err)
{
    double mean;
    return nll_rows(m, ds, k, batch, &mean, NULL, out, err);
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
