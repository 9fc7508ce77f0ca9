/* Stochastic glue ops driven by the run's RNG: input corruption (gaussian clipped, masking,
 * salt-and-pepper; fresh noise each forward) and the VAE's reparameterisation z = mu + eps·exp(lv/2)
 * with its KL term to N(0, I). */
#include <math.h>
#include <string.h>

#include "ae_latent.h"

/* --- corruption ----------------------------------------------------------------------------- */
static int same_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape = n->in[0]->shape;
    return AE_OK;
}

static void corrupt_forward(ae_node *n)
{
    ae_rng *r = (ae_rng *)n->pattr;
    const float *x = n->in[0]->val;
    float *y = n->val;
    const float p = n->fattr[0], lo = n->fattr[1], hi = n->fattr[2];
    switch (n->iattr[0]) {
    case AE_NOISE_GAUSSIAN:
        for (size_t i = 0; i < n->numel; i++) {
            float v = x[i] + p * (float)ae_rng_gauss(r);
            y[i] = v < lo ? lo : v > hi ? hi : v;
        }
        break;
    case AE_NOISE_MASKING:
        for (size_t i = 0; i < n->numel; i++) y[i] = ae_rng_uniform(r) < p ? 0.0f : x[i];
        break;
    case AE_NOISE_SALT_PEPPER:
        for (size_t i = 0; i < n->numel; i++) {
            if (ae_rng_uniform(r) < p) y[i] = ae_rng_uniform(r) < 0.5 ? lo : hi;
            else y[i] = x[i];
        }
        break;
    default:
        memcpy(y, x, n->numel * sizeof *y);
    }
}

const ae_op ae_op_corrupt = {"corrupt", same_infer, NULL, corrupt_forward, NULL, NULL};

ae_node *ae_corrupt(ae_graph *g, const char *name, ae_node *x, ae_noise kind, float p, float lo,
                    float hi, ae_rng *rng, ae_err *err)
{
    int ia[1] = {(int)kind};
    float fa[3] = {p, lo, hi};
    ae_node *n = ae_graph_add(g, &ae_op_corrupt, name, &x, 1, ia, 1, fa, 3, err);
    if (n) n->pattr = rng;
    return n;
}

/* --- reparameterisation ----------------------------------------------------------------------
 * state: eps (numel floats) drawn in forward, kept for backward. With iattr[0] = 1 (evaluation
 * with the mean) z = mu. */
static int reparam_infer(ae_node *n, ae_err *err)
{
    if (!ae_shape_eq(n->in[0]->shape, n->in[1]->shape))
        return ae_errf(err, AE_EINTERNAL, "%s: mu and logvar shapes differ", n->name);
    n->shape = n->in[0]->shape;
    return AE_OK;
}

static int reparam_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    n->state = ae_graph_scratch(g, n->numel, err);
    return n->state ? AE_OK : err->code;
}

static void reparam_forward(ae_node *n)
{
    const float *mu = n->in[0]->val, *lv = n->in[1]->val;
    float *eps = n->state, *z = n->val;
    if (n->iattr[0]) {
        memcpy(z, mu, n->numel * sizeof *z);
        return;
    }
    ae_rng *r = (ae_rng *)n->pattr;
    for (size_t i = 0; i < n->numel; i++) {
        eps[i] = (float)ae_rng_gauss(r);
        z[i] = mu[i] + eps[i] * expf(0.5f * lv[i]);
    }
}

static void reparam_backward(ae_node *n)
{
    ae_node *mu = n->in[0], *lv = n->in[1];
    const float *eps = n->state, *dz = n->grad;
    if (mu->needs_grad)
        for (size_t i = 0; i < n->numel; i++) mu->grad[i] = (n->accum[0] ? mu->grad[i] : 0.0f) + dz[i];
    if (lv->needs_grad)
        for (size_t i = 0; i < n->numel; i++) {
            float d = n->iattr[0] ? 0.0f : dz[i] * eps[i] * 0.5f * expf(0.5f * lv->val[i]);
            lv->grad[i] = (n->accum[1] ? lv->grad[i] : 0.0f) + d;
        }
}

const ae_op ae_op_reparam = {"reparam", reparam_infer, reparam_prepare, reparam_forward,
                             reparam_backward, NULL};

ae_node *ae_reparam(ae_graph *g, const char *name, ae_node *mu, ae_node *logvar, ae_rng *rng,
                    int use_mean, ae_err *err)
{
    ae_node *in[2] = {mu, logvar};
    int ia[1] = {use_mean};
    ae_node *n = ae_graph_add(g, &ae_op_reparam, name, in, 2, ia, 1, NULL, 0, err);
    if (n) n->pattr = rng;
    return n;
}

/* --- KL(N(mu, exp lv) || N(0, I)), summed per sample, mean over the batch ------------------ */
static int kl_infer(ae_node *n, ae_err *err)
{
    if (reparam_infer(n, err)) return err->code;
    n->shape.nd = 0;
    return AE_OK;
}

static void kl_forward(ae_node *n)
{
    const float *mu = n->in[0]->val, *lv = n->in[1]->val;
    double s = 0;
    for (size_t i = 0; i < n->in[0]->numel; i++)
        s += -0.5 * (1.0 + lv[i] - (double)mu[i] * mu[i] - exp((double)lv[i]));
    n->val[0] = (float)(s / (double)n->in[0]->shape.d[0]);
}

static void kl_backward(ae_node *n)
{
    ae_node *mu = n->in[0], *lv = n->in[1];
    const float c = n->grad[0] / (float)mu->shape.d[0];
    if (mu->needs_grad)
        for (size_t i = 0; i < mu->numel; i++)
            mu->grad[i] = (n->accum[0] ? mu->grad[i] : 0.0f) + c * mu->val[i];
    if (lv->needs_grad)
        for (size_t i = 0; i < lv->numel; i++)
            lv->grad[i] = (n->accum[1] ? lv->grad[i] : 0.0f) + c * 0.5f * (expf(lv->val[i]) - 1.0f);
}

const ae_op ae_op_kl_normal = {"kl_normal", kl_infer, NULL, kl_forward, kl_backward, NULL};

ae_node *ae_kl_normal(ae_graph *g, const char *name, ae_node *mu, ae_node *logvar, ae_err *err)
{
    ae_node *in[2] = {mu, logvar};
    return ae_graph_add(g, &ae_op_kl_normal, name, in, 2, NULL, 0, NULL, 0, err);
}
