/* An autoencoder model read from the config's model / loss / corruption / regularizers sections:
 * layer lists (decoder `mirror` resolved into an explicit list in the config tree), latent kind,
 * and per-batch-size compiled graphs (cached) that expose every loss term by name. */
#ifndef AE_MODEL_H
#define AE_MODEL_H

#include "ae_config.h"
#include "ae_params.h"
#include "ae_registry.h"
#include "ae_schema.h"

#define AE_MAX_TERMS 16

typedef enum {
    AE_MODE_TRAIN,      /* corruption on, sampled latent, gradients */
    AE_MODE_EVAL,       /* clean input, z = mu, no gradients */
    AE_MODE_EVAL_NOISY, /* corrupted input (denoising metrics), z = mu, no gradients */
    AE_MODE_EVAL_SAMPLE, /* clean input, sampled z (ELBO / importance sampling), no gradients */
    AE_MODE_EVAL_IW      /* clean input, `samples` sampled codes per input decoded on samples·batch
                            rows (sample-major), no loss (ae_model_iw_graph) */
} ae_mode;

/* One compiled graph of the model and its named nodes. */
typedef struct ae_mgraph {
    ae_graph *g;
    int64_t batch;
    ae_mode mode;
    int samples;                         /* codes per input row (AE_MODE_EVAL_IW), else 1 */
    ae_taps taps;
    ae_node *loss;                       /* Σ weight·term */
    int nterms;
    ae_node *term[AE_MAX_TERMS];         /* "recon", the latent's ("kl"), then each regularizer's */
    char term_name[AE_MAX_TERMS][32];
    const float *term_weight[AE_MAX_TERMS]; /* owned by the term's owner, read at every step */
} ae_mgraph;

typedef struct ae_model ae_model;

/* Reads the model from the config root for samples shaped like `data` (its c×h×w; its value range
 * is the default clip range of gaussian corruption); declares, allocates and initialises the
 * parameters (seed for `init: {scheme: torch}`, rng otherwise); `rng` (the run's) is also used by
 * noise and sampling ops. Shape errors name the layer. */
struct ae_dataset;
int ae_model_configure(ae_cfg *root, const ae_registry *reg, const struct ae_dataset *data,
                       unsigned long seed, ae_rng *rng, ae_model **out, ae_err *err);
void ae_model_free(ae_model *m);
/* The `model.init` keys (scheme: auto | torch | glorot | normal, its std or gains, output_bias,
 * from, dictionary), for docs/config.md. */
extern const ae_schema ae_model_init_schema;
/* model.init.dictionary (optional): the first convolution's kernels start as the atoms of a dictionary
 * learned on patches of the training images (Ruff et al. 2018's Theano code). The model layer checks
 * the keys; the run layer learns the dictionary (framework/run/run_dict.c). */
typedef struct ae_init_dict {
    long images, iterations, batch;
    double alpha;
} ae_init_dict;
extern const ae_schema ae_init_dict_schema;
/* The compiled graph for (batch, mode), built on first use and cached. */
ae_mgraph *ae_model_graph(ae_model *m, int64_t batch, ae_mode mode, ae_err *err);
/* The importance-sampling graph (AE_MODE_EVAL_IW, cached like ae_model_graph): x (batch rows) ->
 * encoder -> `samples` codes per row from the latent's posterior -> decoder; taps.x and mu/logvar
 * have batch rows, taps.code, recon and logits samples·batch rows (row s·batch + b: sample s of row
 * b); no loss. AE_EINPUT when the latent draws one code per row whatever it is asked. */
ae_mgraph *ae_model_iw_graph(ae_model *m, int64_t batch, int samples, ae_err *err);
/* Floats the (batch, mode) graph would allocate for node values and gradients (parameters not
 * counted), from a build that is not compiled: nothing that size is allocated (memory estimates). */
int ae_model_graph_floats(ae_model *m, int64_t batch, ae_mode mode, double *floats, ae_err *err);
/* Epoch-dependent loss weights (the latent's, e.g. KL warm-up); call before each epoch (1-based). */
void ae_model_set_epoch(ae_model *m, long epoch);
/* The weight the compiled loss of mg gives the term `name` ("recon", "kl", a regularizer's name)
 * now. NAN if there is no such term. */
double ae_model_term_weight(const ae_mgraph *mg, const char *name);
ae_params *ae_model_params(ae_model *m);
size_t ae_model_input_size(const ae_model *m);
size_t ae_model_code_size(const ae_model *m);
/* The latent unit (model.latent.kind): its name; whether it has a prior (samples, interpolations)
 * and a posterior density (ELBO, NLL). */
const char *ae_model_latent_kind(const ae_model *m);
int ae_model_has_prior(const ae_model *m);
int ae_model_has_posterior(const ae_model *m);
/* n codes (n x code_size) drawn from the latent's prior (AE_EINPUT when it has none). */
int ae_model_sample_prior(ae_model *m, ae_rng *rng, size_t n, float *z, ae_err *err);
/* log p(z) and log q(z|x) of row i's sampled code in mg (built in AE_MODE_EVAL_SAMPLE, or
 * AE_MODE_EVAL_IW: row i of the samples·batch codes). */
void ae_model_log_density(const ae_model *m, const ae_mgraph *mg, size_t i, double *log_prior,
                          double *log_post);
/* The latent's own metrics over the rows of ds (evaluation graphs of `batch` rows): up to max
 * name/value pairs into names/values, their count in *n (0 when the latent reports none). */
int ae_model_latent_metrics(ae_model *m, const struct ae_dataset *ds, long batch, const char **names,
                            double *values, int max, int *n, ae_err *err);
int ae_model_has_corruption(const ae_model *m);
const char *ae_model_loss_kind(const ae_model *m); /* the objective unit's name (loss.type): "mse", "bce" */
int ae_model_loss_sum(const ae_model *m);          /* its terms sum per sample (else mean) */
/* The objective's likelihood is Bernoulli (it trains on logits: bce, iwae), else a unit gaussian (mse):
 * what the ELBO and NLL evaluate. */
int ae_model_loss_bernoulli(const ae_model *m);
/* The objective's optional hooks (ae_objective_ops.prepare / score): whether it has them; prepare with
 * the codes of n training rows (n x code size) before a new run's first epoch; score the k rows of
 * mg (an evaluation graph forwarded to its code) into out: 1 when the objective scored them, 0 when
 * it has no score of its own (the reconstruction error is the score then). */
int ae_model_has_objective_prepare(const ae_model *m);
int ae_model_has_objective_score(const ae_model *m);
int ae_model_objective_prepare(ae_model *m, const float *codes, size_t n, ae_err *err);
int ae_model_objective_score(ae_model *m, const ae_mgraph *mg, size_t k, double *out);
/* Latent prior sampling for generative models: decodes n codes (n x code_size) into images. */
int ae_model_decode(ae_model *m, const float *codes, size_t n, float *out, ae_err *err);

#endif
