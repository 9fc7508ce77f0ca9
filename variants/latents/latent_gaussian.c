/* The `gaussian` latent of VAEs: dense heads mu and logvar on the encoder's output, a reparameterised
 * sample z = mu + eps·exp(logvar/2) (z = mu when evaluating; k per input for importance sampling), the
 * KL term to N(0, I) weighted by beta with a linear warm-up, the N(0, I) prior for samples, the
 * densities for the NLL estimate and the active units of its posterior means. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_latent.h"
#include "ae_ops.h"
#include "ae_params.h"
#include "ae_registry.h"

typedef struct gauss_state {
    long size;
    double beta;
    long warmup;
    double active;   /* a unit is active when the variance of its posterior mean exceeds this */
    float kl_weight; /* beta × the warm-up factor of the current epoch (the KL term's weight) */
    double seen, *mean, *m2; /* observe: rows seen, running mean and squared deviations of mu (Welford) */
} gauss_state;

static const ae_key gauss_keys[] = {
    AE_KEY_INT_(gauss_state, size, "size", "0", 0, 1L << 20, "the code's size (required)"),
    AE_KEY_NUM_(gauss_state, beta, "beta", "1", 0.0, 1e6, "the KL term's weight (beta-VAE)"),
    AE_KEY_INT_(gauss_state, warmup, "kl_warmup_epochs", "0", 0, 1000000,
                "the KL weight rises linearly from beta/N to beta over the first N epochs (0 = off)"),
    AE_KEY_NUM_(gauss_state, active, "active_threshold", "0.01", 0.0, 1e30,
                "final.json's active_units counts the units whose posterior mean E_q[z_u] varies over the "
                "evaluated set by more than this (variance; Burda et al. 2016)"),
};
static const ae_schema gauss_schema = AE_SCHEMA("latent gaussian", gauss_keys);

static int gauss_configure(ae_cfg *lat, void **state, ae_err *err)
{
    gauss_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    char w[256];
    if (ae_schema_read(&gauss_schema, lat, s, 0, err)) return err->code;
    if (s->size == 0)
        return ae_errf(err, AE_EINPUT, "%s: model.latent.size is required for a gaussian latent",
                       ae_cfg_where(lat, w, sizeof w));
    s->kl_weight = (float)s->beta;
    s->mean = calloc((size_t)s->size, sizeof *s->mean);
    s->m2 = calloc((size_t)s->size, sizeof *s->m2);
    return s->mean && s->m2 ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory");
}

static void gauss_destroy(void *state)
{
    gauss_state *s = state;
    if (s) free(s->mean), free(s->m2);
    free(s);
}

/* A dense head `name` (parameters name.weight, name.bias) from h to the code size. */
static ae_node *head(const gauss_state *s, ae_build *b, const char *name, ae_node *h)
{
    char pn[96];
    int fan_in = (int)(h->numel / (size_t)h->shape.d[0]);
    snprintf(pn, sizeof pn, "%s.weight", name);
    int wi = ae_params_declare(b->ps, pn, ae_shape2(s->size, fan_in), fan_in, (int)s->size,
                               AE_PARAM_WEIGHT, 0, b->err);
    snprintf(pn, sizeof pn, "%s.bias", name);
    int bi = wi < 0 ? -1 : ae_params_declare(b->ps, pn, ae_shape_make(1, (int64_t[]){s->size}), fan_in,
                                             (int)s->size, AE_PARAM_BIAS, 0, b->err);
    if (bi < 0) return NULL;
    snprintf(pn, sizeof pn, "%s (dense)", name);
    return ae_dense(b->g, pn, h, ae_graph_param(b->g, wi, b->err), ae_graph_param(b->g, bi, b->err),
                    AE_ACT_IDENTITY, b->err);
}

static ae_node *gauss_build(void *state, ae_build *b, const ae_latent_io *io, ae_node *h)
{
    gauss_state *s = state;
    if (io->tag) { /* an encoder copy for a penalty: its code is the mean */
        ae_node *mu = head(s, b, "latent.mu", h);
        if (mu) snprintf(mu->name, sizeof mu->name, "latent.mu.%.80s", io->tag);
        return mu;
    }
    ae_taps *t = b->taps;
    t->mu = head(s, b, "latent.mu", h);
    t->logvar = t->mu ? head(s, b, "latent.logvar", h) : NULL;
    ae_node *mu = t->mu, *lv = t->logvar;
    if (io->sample && io->samples > 1 && mu && lv) { /* io->samples codes per input, sample-major */
        mu = ae_repeat_rows(b->g, "latent.mu (repeated)", mu, io->samples, b->err);
        lv = mu ? ae_repeat_rows(b->g, "latent.logvar (repeated)", lv, io->samples, b->err) : NULL;
    }
    ae_node *z = ae_reparam(b->g, "latent (sample)", mu, lv, b->rng, !io->sample, b->err);
    if (z) io->add_term(io->ctx, ae_kl_normal(b->g, "kl", t->mu, t->logvar, b->err), "kl", &s->kl_weight);
    return z;
}

static void gauss_set_epoch(void *state, long epoch)
{
    gauss_state *s = state;
    s->kl_weight = (float)(s->beta * (s->warmup > 0 && epoch <= s->warmup ? (double)epoch / (double)s->warmup
                                                                          : 1.0));
}

static int gauss_sample(void *state, ae_rng *rng, size_t n, size_t code_size, float *z, ae_err *err)
{
    (void)state, (void)err;
    for (size_t i = 0; i < n * code_size; i++) z[i] = (float)ae_rng_gauss(rng);
    return AE_OK;
}

static const double LOG2PI = 1.8378770664093453;

/* log N(z; 0, I) and log N(z; mu, exp(logvar)) of row i's sampled code (several samples per input:
 * row i is of input i mod B). */
static void gauss_log_density(void *state, const ae_taps *t, size_t i, size_t cs, double *log_prior,
                              double *log_post)
{
    (void)state;
    const float *z = t->code->val + i * cs, *mu = t->mu->val, *lv = t->logvar->val;
    size_t r = (i % (size_t)t->mu->shape.d[0]) * cs;
    double lpz = 0, lqz = 0;
    for (size_t j = 0; j < cs; j++) {
        double dz = (double)z[j] - mu[r + j];
        lpz -= 0.5 * ((double)z[j] * z[j] + LOG2PI);
        lqz -= 0.5 * (dz * dz * exp(-(double)lv[r + j]) + lv[r + j] + LOG2PI);
    }
    *log_prior = lpz;
    *log_post = lqz;
}

/* The posterior means of n more rows into the per-unit running variance (Welford, in double). */
static void gauss_observe(void *state, const ae_taps *t, size_t n)
{
    gauss_state *s = state;
    const size_t cs = (size_t)s->size;
    for (size_t i = 0; i < n; i++) {
        s->seen += 1;
        for (size_t u = 0; u < cs; u++) {
            double v = t->mu->val[i * cs + u], d = v - s->mean[u];
            s->mean[u] += d / s->seen;
            s->m2[u] += d * (v - s->mean[u]);
        }
    }
}

/* active_units: the units whose posterior mean's variance (over the rows observed, 1/n) exceeds the
 * threshold. */
static int gauss_metrics(void *state, const char **names, double *values, int max)
{
    gauss_state *s = state;
    long active = 0;
    for (long u = 0; u < s->size && s->seen > 0; u++) active += s->m2[u] / s->seen > s->active;
    int n = s->seen > 0 && max >= 1;
    if (n) names[0] = "active_units", values[0] = (double)active;
    s->seen = 0;
    memset(s->mean, 0, (size_t)s->size * sizeof *s->mean);
    memset(s->m2, 0, (size_t)s->size * sizeof *s->m2);
    return n;
}

const ae_latent_ops ae_latent_gaussian = {
    .name = "gaussian",
    .help = "VAE: z = mu + eps*exp(logvar/2) from dense heads, KL to N(0, I) weighted by beta (term `kl`)",
    .configure = gauss_configure,
    .build = gauss_build,
    .set_epoch = gauss_set_epoch,
    .sample = gauss_sample,
    .log_density = gauss_log_density,
    .observe = gauss_observe,
    .metrics = gauss_metrics,
    .destroy = gauss_destroy,
    .schema = &gauss_schema,
    .own_size = 1,
};
