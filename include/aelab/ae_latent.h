/* Stochastic ops: input corruption for denoising AEs and the gaussian latent of VAEs
 * (reparameterisation and KL to the standard normal prior). */
#ifndef AE_LATENT_H
#define AE_LATENT_H

#include "ae_graph.h"
#include "ae_rng.h"

typedef enum {
    AE_NOISE_NONE,
    AE_NOISE_GAUSSIAN,
    AE_NOISE_MASKING,
    AE_NOISE_SALT_PEPPER,
    AE_NOISE_GAUSSIAN_GSL
} ae_noise;

/* y = corrupt(x): gaussian: x + p·N(0,1) clipped to [lo, hi], N(0,1) from the Philox stream
 * (AE_RNG_NORMAL; AE_NOISE_GAUSSIAN_GSL: GSL's ziggurat, AE_RNG_GAUSS); masking: each entry zeroed with
 * probability p; salt_pepper: each entry set to lo or hi (half each) with probability p. New noise
 * every forward: a 64-bit seed from `rng`, then ae_rng_blocks (the same values for any thread
 * count). No gradient flows to x (x is data). */
ae_node *ae_corrupt(ae_graph *g, const char *name, ae_node *x, ae_noise kind, float p, float lo,
                    float hi, ae_rng *rng, ae_err *err);
/* z = mu + eps·exp(logvar/2), eps ~ N(0,1) each forward (a seed from rng, then ae_rng_blocks);
 * use_mean: z = mu. */
ae_node *ae_reparam(ae_graph *g, const char *name, ae_node *mu, ae_node *logvar, ae_rng *rng,
                    int use_mean, ae_err *err);
/* KL(N(mu, exp(logvar)) || N(0, I)) summed over a sample's dimensions, mean over the batch. */
ae_node *ae_kl_normal(ae_graph *g, const char *name, ae_node *mu, ae_node *logvar, ae_err *err);

/* Importance-weighted bounds (IWAE; ops_iwae.c). Rows are sample-major: row s·B + b is sample s of
 * input b. ae_repeat_rows: y (k·B rows) = x (B rows) repeated k times (backward sums the copies). */
ae_node *ae_repeat_rows(ae_graph *g, const char *name, ae_node *x, int k, ae_err *err);
/* Per row r: Σ_j x·l - softplus(l) = log Bernoulli(x | sigmoid(l)) (a vector of the rows; x and the
 * logits l of one shape). */
ae_node *ae_bernoulli_loglik(ae_graph *g, const char *name, ae_node *logits, ae_node *x, ae_err *err);
/* Per row: log N(z; 0, I) - log N(z; mu, exp(logvar)) (z, mu, logvar of one shape). */
ae_node *ae_normal_log_ratio(ae_graph *g, const char *name, ae_node *z, ae_node *mu, ae_node *logvar,
                             ae_err *err);
/* The scalar -(1/B) Σ_b log (1/k) Σ_s exp(w[s·B + b]), w the sum of the n vectors w[0..n-1] (k·B
 * entries each): logsumexp with the maximum subtracted; the gradient of entry r is -w~_r / B (w~ the
 * weights normalised over input b's k samples). */
ae_node *ae_neg_log_mean_exp(ae_graph *g, const char *name, ae_node *const *w, int n, int k, ae_err *err);

extern const ae_op ae_op_corrupt, ae_op_reparam, ae_op_kl_normal, ae_op_repeat_rows, ae_op_bernoulli_loglik,
    ae_op_normal_log_ratio, ae_op_neg_log_mean_exp;

#endif
