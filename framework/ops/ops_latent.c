/* Stochastic glue ops driven by the run's RNG: input corruption (gaussian clipped, masking,
 * salt-and-pepper; fresh noise each forward) and the VAE's reparameterisation z = mu + eps·exp(lv/2)
 * with its KL term to N(0, I). Noise: one seed per forward from the run's stream, then block-parallel
 * draws (ae_rng_blocks), identical for any thread count. */
#include <math.h>
#include <string.h>

#include "ae_latent.h"
#include "ae_philox.h"
#include "dense_internal.h"

/* --- corruption ----------------------------------------------------------------------------- */
static int same_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape = n->in[0]->shape;
    return AE_OK;
}

/* Noise comes from ae_rng_blocks: a fresh 64-bit seed from the run's stream per forward, then per-block
 * generators in parallel (gaussian: the Philox stream, or GSL's ziggurat with AE_NOISE_GAUSSIAN_GSL);
 * the per-block loops below are plain (vectorisable) maps. */
typedef struct {
    const float *x;
    float *y;
    float p, lo, hi;
} corrupt_ctx;

static void gauss_block(size_t lo, size_t hi, const float *e, void *ctx)
{
    const corrupt_ctx *c = ctx;
    const float *restrict x = c->x + lo;
    float *restrict y = c->y + lo;
    const float p = c->p, a = c->lo, b = c->hi;
    for (size_t i = 0; i < hi - lo; i++) {
        float v = x[i] + p * e[i];
        v = v < a ? a : v;
        y[i] = v > b ? b : v;
    }
}

static void masking_block(size_t lo, size_t hi, const float *u, void *ctx)
{
    const corrupt_ctx *c = ctx;
    const float *restrict x = c->x + lo;
    float *restrict y = c->y + lo;
    const float p = c->p;
    for (size_t i = 0; i < hi - lo; i++) y[i] = u[i] < p ? 0.0f : x[i];
}

/* One uniform per entry: u < p/2 -> lo, p/2 <= u < p -> hi (probability p, half each), else x. */
static void salt_pepper_block(size_t lo, size_t hi, const float *u, void *ctx)
{
    const corrupt_ctx *c = ctx;
    const float *restrict x = c->x + lo;
    float *restrict y = c->y + lo;
    const float p = c->p, half = 0.5f * c->p, a = c->lo, b = c->hi;
    for (size_t i = 0; i < hi - lo; i++) y[i] = u[i] < p ? (u[i] < half ? a : b) : x[i];
}

/* Attributes: the noise kind (iattr); its probability or scale and the salt/pepper values (fattr). */
enum { CORRUPT_KIND, CORRUPT_NATTR };
enum { CORRUPT_P, CORRUPT_LO, CORRUPT_HI, CORRUPT_NFATTR };

static void corrupt_forward(ae_node *n)
{
    const float *fa = n->fattr;
    const int kind = n->iattr[CORRUPT_KIND];
    corrupt_ctx c = {n->in[0]->val, n->val, fa[CORRUPT_P], fa[CORRUPT_LO], fa[CORRUPT_HI]};
    const int gsl = kind == AE_NOISE_GAUSSIAN_GSL;
    ae_rng_block_fn fn = kind == AE_NOISE_GAUSSIAN || gsl ? gauss_block
                         : kind == AE_NOISE_MASKING     ? masking_block
                         : kind == AE_NOISE_SALT_PEPPER ? salt_pepper_block
                                                        : NULL;
    if (!fn) {
        memcpy(c.y, c.x, n->numel * sizeof *c.y);
        return;
    }
    uint64_t seed = ae_rng_seed64((ae_rng *)n->pattr);
    if (n->fuse.in_chain) { /* the values: corrupt_chain_rows, in the reading chain's blocks */
        memcpy(n->state, &seed, sizeof seed);
        return;
    }
    ae_rng_blocks(n->numel, fn != gauss_block ? AE_RNG_UNIFORM : gsl ? AE_RNG_GAUSS : AE_RNG_NORMAL, seed, fn, &c);
}

/* Elements [lo, hi) of a gaussian corruption made in a split chain's block (fuse.c's plan_noise):
 * the Philox values of those indices under this forward's seed, through the same map. */
static void corrupt_chain_rows(const ae_node *n, size_t lo, size_t hi)
{
    const float *fa = n->fattr;
    corrupt_ctx c = {n->in[0]->val, n->val, fa[CORRUPT_P], fa[CORRUPT_LO], fa[CORRUPT_HI]};
    uint64_t seed;
    memcpy(&seed, n->state, sizeof seed);
    float e[AE_RNG_BLOCK];
    for (size_t a = lo; a < hi; a += AE_RNG_BLOCK) {
        size_t b = a + AE_RNG_BLOCK < hi ? a + AE_RNG_BLOCK : hi;
        ae_philox_normal(seed, 0, a, e, b - a);
        gauss_block(a, b, e, &c);
    }
}

static int corrupt_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    if (!n->fuse.in_chain) return AE_OK;
    n->state = ae_graph_scratch(g, 2, err); /* this forward's seed */
    return n->state ? AE_OK : err->code;
}

const ae_op ae_op_corrupt = {.name = "corrupt", .infer = same_infer, .prepare = corrupt_prepare,
                             .forward = corrupt_forward};

ae_node *ae_corrupt(ae_graph *g, const char *name, ae_node *x, ae_noise kind, float p, float lo,
                    float hi, ae_rng *rng, ae_err *err)
{
    int ia[CORRUPT_NATTR] = {[CORRUPT_KIND] = (int)kind};
    float fa[CORRUPT_NFATTR] = {[CORRUPT_P] = p, [CORRUPT_LO] = lo, [CORRUPT_HI] = hi};
    ae_node *n = ae_graph_add(g, &ae_op_corrupt, name, &x, 1, ia, CORRUPT_NATTR, fa, CORRUPT_NFATTR, err);
    if (n) n->pattr = rng;
    return n;
}

/* --- reparameterisation ----------------------------------------------------------------------
 * state: eps (numel floats) drawn in forward, kept for backward. With REPARAM_USE_MEAN set
 * (evaluation with the mean) z = mu. */
enum { REPARAM_USE_MEAN, REPARAM_NATTR };

static int reparam_infer(ae_node *n, ae_err *err)
{
    if (!ae_shape_eq(n->in[0]->shape, n->in[1]->shape))
        return ae_errf(err, AE_EINTERNAL, "%s: mu and logvar shapes differ", n->name);
    n->shape = n->in[0]->shape;
    return AE_OK;
}

static int reparam_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    n->state = ae_graph_scratch(g, n->numel + 2, err); /* eps, then (in a chain) this forward's seed */
    return n->state ? AE_OK : err->code;
}

typedef struct {
    const float *mu, *lv;
    float *eps, *z;
} reparam_ctx;

static void reparam_block(size_t lo, size_t hi, const float *e, void *ctx)
{
    const reparam_ctx *c = ctx;
    for (size_t i = lo; i < hi; i++) {
        c->eps[i] = e[i - lo];
        c->z[i] = c->mu[i] + e[i - lo] * expf(0.5f * c->lv[i]);
    }
}

static void reparam_forward(ae_node *n)
{
    reparam_ctx c = {n->in[0]->val, n->in[1]->val, n->state, n->val};
    if (n->iattr[REPARAM_USE_MEAN]) {
        memcpy(c.z, c.mu, n->numel * sizeof *c.z);
        return;
    }
    uint64_t seed = ae_rng_seed64((ae_rng *)n->pattr);
    if (n->fuse.in_chain) { /* eps and z: reparam_chain_rows, in the reading chain's blocks */
        memcpy(c.eps + n->numel, &seed, sizeof seed);
        return;
    }
    ae_rng_blocks(n->numel, AE_RNG_GAUSS, seed, reparam_block, &c);
}

/* Elements [lo, hi) of a reparameterisation whose output a split chain reads first (fuse.c's
 * plan_noise): the same noise values (ae_rng_blocks_range) through the same map. */
static void reparam_chain_rows(const ae_node *n, size_t lo, size_t hi)
{
    reparam_ctx c = {n->in[0]->val, n->in[1]->val, n->state, n->val};
    uint64_t seed;
    memcpy(&seed, c.eps + n->numel, sizeof seed);
    ae_rng_blocks_range(n->numel, AE_RNG_GAUSS, seed, lo, hi, reparam_block, &c);
}

void noise_chain_rows(const ae_node *n, size_t lo, size_t hi)
{
    if (n->op == &ae_op_reparam) reparam_chain_rows(n, lo, hi);
    else corrupt_chain_rows(n, lo, hi);
}

static void reparam_backward(ae_node *n)
{
    ae_node *mu = n->in[0], *lv = n->in[1];
    const float *eps = n->state, *dz = n->grad;
    if (mu->needs_grad)
        for (size_t i = 0; i < n->numel; i++) mu->grad[i] = (n->accum[0] ? mu->grad[i] : 0.0f) + dz[i];
    if (lv->needs_grad)
        for (size_t i = 0; i < n->numel; i++) {
            float d = n->iattr[REPARAM_USE_MEAN] ? 0.0f : dz[i] * eps[i] * 0.5f * expf(0.5f * lv->val[i]);
            lv->grad[i] = (n->accum[1] ? lv->grad[i] : 0.0f) + d;
        }
}

const ae_op ae_op_reparam = {.name = "reparam", .infer = reparam_infer, .prepare = reparam_prepare,
                             .forward = reparam_forward, .backward = reparam_backward};

ae_node *ae_reparam(ae_graph *g, const char *name, ae_node *mu, ae_node *logvar, ae_rng *rng,
                    int use_mean, ae_err *err)
{
    ae_node *in[2] = {mu, logvar};
    int ia[REPARAM_NATTR] = {[REPARAM_USE_MEAN] = use_mean};
    ae_node *n = ae_graph_add(g, &ae_op_reparam, name, in, 2, ia, REPARAM_NATTR, NULL, 0, err);
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

const ae_op ae_op_kl_normal = {.name = "kl_normal", .infer = kl_infer, .forward = kl_forward,
                               .backward = kl_backward};

ae_node *ae_kl_normal(ae_graph *g, const char *name, ae_node *mu, ae_node *logvar, ae_err *err)
{
    ae_node *in[2] = {mu, logvar};
    return ae_graph_add(g, &ae_op_kl_normal, name, in, 2, NULL, 0, NULL, 0, err);
}
