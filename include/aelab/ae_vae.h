/* Evaluation for generative latents (VAEs): the importance-sampled negative log-likelihood estimate
 * (a latent with a posterior density), latent interpolation grids and prior sample grids (a latent
 * with a prior). */
#ifndef AE_VAE_H
#define AE_VAE_H

#include "ae_data.h"
#include "ae_model.h"

/* -log p(x) ≈ -log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), averaged over the rows of
 * ds (nats per sample; Bernoulli decoder on the data in [0, 1] for a Bernoulli objective (bce,
 * iwae: ae_model_loss_bernoulli), a gaussian with unit variance for an MSE loss). k >= 1; k = 1 gives
 * the -ELBO's single-sample estimate, k the IWAE bound's. The k codes of `batch` inputs are drawn and
 * decoded together (ae_model_iw_graph) in passes of about 4,096 decoder rows. */
int ae_vae_nll(ae_model *m, const ae_dataset *ds, int k, long batch, double *nll, ae_err *err);
/* Per row of ds into out[0..ds->n): the -ELBO, -log p(x|z) - log p(z) + log q(z|x) averaged over k
 * codes z ~ q(z|x) (the draws and the decoding of ae_vae_nll; the one-class score of a VAE). */
int ae_vae_neg_elbo_rows(ae_model *m, const ae_dataset *ds, int k, long batch, double *out, ae_err *err);
/* Decodes n codes drawn from rng from the latent's prior (N(0, I) for a gaussian) into out (n x d). */
int ae_vae_sample(ae_model *m, ae_rng *rng, size_t n, float *out, ae_err *err);
/* rows x steps images: row r interpolates linearly between the codes (mu) of samples 2r and
 * 2r+1 of ds; out holds rows*steps images. */
int ae_vae_interpolate(ae_model *m, const ae_dataset *ds, int rows, int steps, float *out, ae_err *err);

#endif
