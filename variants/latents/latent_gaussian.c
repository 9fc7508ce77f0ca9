/* The `gaussian` latent of VAEs: dense heads mu and logvar on the encoder's output, a reparameterised
 * sample z = mu + eps·exp(logvar/2) (z = mu when evaluating), the KL term to N(0, I) weighted by beta
 * with a linear warm-up, the N(0, I) prior for samples and the densities for the NLL estimate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ae_latent.h"
#include "ae_ops.h"
#include "ae_params.h"
#include "ae_registry.h"

typedef struct gauss_state {
    long size;
    double beta;
    long warmup;
    float kl_weight; /* beta × the warm-up factor of the current epoch (the KL term's weight) */
} gauss_state;

static const ae_key gauss_keys[] = {
    AE_KEY_INT_(gauss_state, size, "size", "0", 0, 1L << 20, "the code's size (required)"),
    AE_KEY_NUM_(gauss_state, beta, "beta", "1", 0.0, 1e6, "the KL term's weight (beta-VAE)"),
    AE_KEY_INT_(gauss_state, warmup, "kl_warmup_epochs", "0", 0, 1000000,
                "the KL weight rises linearly from beta/N to beta over the first N epochs (0 = off)"),
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
    return AE_OK;
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
    ae_node *z = ae_reparam(b->g, "latent (sample)", t->mu, t->logvar, b->rng, !io->sample, b->err);
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

/* log N(z; 0, I) and log N(z; mu, exp(logvar)) of row i's sampled code. */
static void gauss_log_density(void *state, const ae_taps *t, size_t i, size_t cs, double *log_prior,
                              double *log_post)
{
    (void)state;
    const float *z = t->code->val, *mu = t->mu->val, *lv = t->logvar->val;
    double lpz = 0, lqz = 0;
    for (size_t j = 0; j < cs; j++) {
        size_t q = i * cs + j;
        double dz = (double)z[q] - mu[q];
        lpz -= 0.5 * ((double)z[q] * z[q] + LOG2PI);
        lqz -= 0.5 * (dz * dz * exp(-(double)lv[q]) + lv[q] + LOG2PI);
    }
    *log_prior = lpz;
    *log_post = lqz;
}

const ae_latent_ops ae_latent_gaussian = {
    .name = "gaussian",
    .help = "VAE: z = mu + eps*exp(logvar/2) from dense heads, KL to N(0, I) weighted by beta (term `kl`)",
    .configure = gauss_configure,
    .build = gauss_build,
    .set_epoch = gauss_set_epoch,
    .sample = gauss_sample,
    .log_density = gauss_log_density,
    .destroy = free,
    .schema = &gauss_schema,
    .own_size = 1,
};
