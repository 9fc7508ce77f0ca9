/* The `iwae` objective (Burda, Grosse & Salakhutdinov 2016): the k-sample importance-weighted bound
 * -log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), for a gaussian latent and a Bernoulli
 * decoder (a sigmoid output, trained on its logits); it replaces the latent's KL term. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_latent.h"
#include "ae_ops.h"
#include "ae_registry.h"

typedef struct iwae_state {
    long k;       /* importance samples per input */
    float weight; /* the term's weight: 1 */
    char where[256]; /* where `loss` is (for errors found when the graph is built) */
} iwae_state;

static const ae_key iwae_keys[] = {
    AE_KEY_INT_(iwae_state, k, "k", "5", 1, 100000,
                "importance samples per input (k = 1: the VAE's -ELBO with a sampled KL)"),
};
static const ae_schema iwae_schema = AE_SCHEMA("loss iwae", iwae_keys);

/* A gaussian latent (the bound needs q's density) and training values in [0, 1] (Bernoulli). */
static int check_model(ae_cfg *spec, ae_cfg *root, const ae_dataset *data, ae_err *err)
{
    char w[256], lw[256];
    const ae_cfg *kind = ae_cfg_lookup(root, "model.latent.kind");
    const char *kn = kind ? ae_cfg_scalar(kind) : NULL;
    if (!kn || strcmp(kn, "gaussian"))
        return ae_errf(err, AE_EINPUT, "%s: loss: iwae needs `model.latent.kind: gaussian` (its posterior "
                       "density), but the latent is %s%s%s", ae_cfg_where(ae_cfg_get(spec, "type"), w, sizeof w),
                       kn ? kn : "deterministic", kind ? " at " : "", kind ? ae_cfg_where(kind, lw, sizeof lw) : "");
    float lo = 0, hi = 1;
    if (data->n) ae_dataset_range(data, &lo, &hi);
    if (lo >= 0.0f && hi <= 1.0f) return AE_OK;
    return ae_errf(err, AE_EINPUT, "%s: loss: iwae has a Bernoulli decoder: it needs training values in "
                   "[0, 1], but the training data lie in [%g, %g]: use `data.scaling: minmax`",
                   ae_cfg_where(ae_cfg_get(spec, "type"), w, sizeof w), (double)lo, (double)hi);
}

static int iwae_configure(ae_cfg *spec, ae_cfg *root, const ae_dataset *data, void **state, ae_err *err)
{
    iwae_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    s->weight = 1.0f;
    ae_cfg_where(ae_cfg_get(spec, "type"), s->where, sizeof s->where);
    if (ae_schema_read(&iwae_schema, spec, s, 0, err) || ae_cfg_finish(spec, "loss", err)) return err->code;
    return check_model(spec, root, data, err);
}

/* Evaluation graphs: the VAE's terms, the Bernoulli reconstruction of the code summed per sample
 * (the latent's KL follows), so -ELBO, reconstructions and NLL read as for `bce` with reduction sum. */
static int eval_terms(iwae_state *s, ae_build *b, const ae_objective_io *io)
{
    const ae_taps *t = b->taps;
    ae_node *n = t->logits ? ae_bce_logits(b->g, "recon (bce)", t->logits, t->x, AE_SUM_PER_SAMPLE, b->err)
                           : ae_bce(b->g, "recon (bce)", t->recon, t->x, AE_SUM_PER_SAMPLE, b->err);
    if (!n) return b->err->code ? b->err->code : AE_EINTERNAL;
    io->add_term(io->ctx, n, "recon", &s->weight);
    return AE_OK;
}

/* Training graphs: k codes per input (mu, logvar and x repeated k times, sample-major), decoded by a
 * copy of the decoder on the k·B rows, log-weights log p(x|z) + log p(z) - log q(z|x) per row, and
 * the bound over each input's k weights (the gradient weights each sample by its normalised weight). */
static int iwae_build(void *state, ae_build *b, const ae_objective_io *io)
{
    iwae_state *s = state;
    const ae_taps *t = b->taps;
    if (!t->mu || !t->logvar)
        return ae_errf(b->err, AE_EINPUT, "%s: loss: iwae needs a gaussian latent (mu and logvar)", s->where);
    if (!ae_graph_training(b->g)) return eval_terms(s, b, io);
    int k = (int)s->k;
    ae_graph *g = b->g;
    ae_node *mu = ae_repeat_rows(g, "iwae.mu", t->mu, k, b->err);
    ae_node *lv = ae_repeat_rows(g, "iwae.logvar", t->logvar, k, b->err);
    ae_node *x = ae_repeat_rows(g, "iwae.x", t->x, k, b->err);
    ae_node *z = mu && lv ? ae_reparam(g, "iwae.z", mu, lv, b->rng, 0, b->err) : NULL;
    ae_node *logits = NULL, *y = z && x ? io->decode(b, z, "iwae", &logits) : NULL;
    if (y && !logits)
        return ae_errf(b->err, AE_EINPUT, "%s: loss: iwae needs a Bernoulli decoder: the last decoder layer's "
                       "activation must be sigmoid (`model.output_activation: sigmoid`)", s->where);
    ae_node *lw[2] = {y ? ae_bernoulli_loglik(g, "iwae.log_px", logits, x, b->err) : NULL, NULL};
    lw[1] = lw[0] ? ae_normal_log_ratio(g, "iwae.log_pz_qz", z, mu, lv, b->err) : NULL;
    ae_node *bound = lw[1] ? ae_neg_log_mean_exp(g, "iwae (bound)", lw, 2, k, b->err) : NULL;
    if (!bound) return b->err->code ? b->err->code : AE_EINTERNAL;
    io->add_term(io->ctx, bound, "iwae", &s->weight);
    io->omit_latent_terms(io->ctx);
    return AE_OK;
}

static int iwae_sum(void *state) { (void)state; return 1; }

const ae_objective_ops ae_objective_iwae = {
    .name = "iwae",
    .help = "importance-weighted bound with k samples (gaussian latent, Bernoulli decoder); replaces the "
            "latent's KL in training, evaluates as bce with reduction sum",
    .configure = iwae_configure,
    .build = iwae_build,
    .sum_per_sample = iwae_sum,
    .destroy = free,
    .schema = &iwae_schema,
    .logits = 1,
    .output_activation = "sigmoid",
};
