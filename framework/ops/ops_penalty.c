/* Penalty ops in plain C loops (sums in double in a fixed order: deterministic for any thread
 * count): activity L1, KL sparsity, the finite-difference Jacobian-vector estimate with its input
 * perturbation, and weight decay. The exact contractive norm is ops_contractive.c. */
#include <math.h>
#include <string.h>

#include "ae_penalty.h"

/* Attributes (ae_node.iattr, fattr): a penalty's weight (L1, Σ x²); KL sparsity's target rate and
 * weight; the perturbation's copies and step; the finite-difference estimate's step and weight. */
enum { PEN_WEIGHT, PEN_NFATTR };
enum { KL_RHO, KL_WEIGHT, KL_NFATTR };
enum { PERTURB_COPIES, PERTURB_NATTR };
enum { FD_EPS, FD_WEIGHT, FD_NFATTR };
enum { PERTURB_NFATTR = FD_EPS + 1 }; /* the perturbation has the step alone */

static size_t rows(const ae_node *x) { return x->shape.nd > 0 ? (size_t)x->shape.d[0] : 1; }
static size_t per_sample(const ae_node *x) { return x->numel / rows(x); }

static int scalar_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape.nd = 0;
    return AE_OK;
}

/* d = (accum ? d : 0) + v */
static inline void put(float *d, size_t i, int accum, float v) { d[i] = accum ? d[i] + v : v; }

/* --- activity L1 ------------------------------------------------------------------------------ */
#define L1_LANES 16 /* independent double sums (element i in lane i % L1_LANES): the loop vectorises */

static void l1_forward(ae_node *n)
{
    const ae_node *h = n->in[0];
    const float *restrict v = h->val;
    const size_t N = h->numel;
    double acc[L1_LANES] = {0}, s = 0;
    size_t i = 0;
    for (; i + L1_LANES <= N; i += L1_LANES)
        for (int l = 0; l < L1_LANES; l++) acc[l] += fabs((double)v[i + l]);
    for (; i < N; i++) acc[i % L1_LANES] += fabs((double)v[i]);
    for (int l = 0; l < L1_LANES; l++) s += acc[l];
    n->val[0] = (float)(n->fattr[PEN_WEIGHT] * s / (double)rows(h));
}

static void l1_backward(ae_node *n)
{
    ae_node *h = n->in[0];
    if (!h->needs_grad) return;
    const float c = n->grad[0] * n->fattr[PEN_WEIGHT] / (float)rows(h);
    const float *restrict v = h->val;
    float *restrict g = h->grad;
    if (n->accum[0])
        for (size_t i = 0; i < h->numel; i++) g[i] += v[i] > 0.0f ? c : v[i] < 0.0f ? -c : 0.0f;
    else
        for (size_t i = 0; i < h->numel; i++) g[i] = v[i] > 0.0f ? c : v[i] < 0.0f ? -c : 0.0f;
}

const ae_op ae_op_l1_penalty = {.name = "l1_penalty", .infer = scalar_infer, .forward = l1_forward,
                                .backward = l1_backward, .penalty = 1};

ae_node *ae_l1_penalty(ae_graph *g, const char *name, ae_node *h, float weight, ae_err *err)
{
    float fa[PEN_NFATTR] = {[PEN_WEIGHT] = weight};
    return ae_graph_add(g, &ae_op_l1_penalty, name, &h, 1, NULL, 0, fa, PEN_NFATTR, err);
}

/* --- KL sparsity: state = ρ̂ per unit (unclamped batch means) ------------------------------------- */
#define RHO_MIN 1e-6
#define RHO_MAX (1.0 - 1e-6)

/* state: ρ̂ per unit (M floats, padded to even), then the per-unit column sums in double (M) */
static int per_unit_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    const size_t m = per_sample(n->in[0]);
    n->state = ae_graph_scratch(g, m + (m & 1) + 2 * m, err);
    return n->state ? AE_OK : err->code;
}

/* Column sums of the batch: rows in order for every unit (the sum a unit-by-unit walk of the
 * columns gives), but along the rows, so the loop is contiguous and vectorises. */
static void col_sums(const float *restrict h, size_t N, size_t M, double *restrict sum)
{
    for (size_t j = 0; j < M; j++) sum[j] = 0;
    for (size_t r = 0; r < N; r++) {
        const float *restrict hr = h + r * M;
        for (size_t j = 0; j < M; j++) sum[j] += hr[j];
    }
}

static void kl_forward(ae_node *n)
{
    const ae_node *h = n->in[0];
    const size_t N = rows(h), M = per_sample(h);
    const double rho = n->fattr[KL_RHO];
    float *mean = n->state;
    double *sum = (double *)(mean + M + (M & 1)), s = 0;
    col_sums(h->val, N, M, sum);
    for (size_t j = 0; j < M; j++) {
        double m = sum[j] / (double)N;
        mean[j] = (float)m;
        double q = fmin(fmax(m, RHO_MIN), RHO_MAX);
        s += rho * log(rho / q) + (1.0 - rho) * log((1.0 - rho) / (1.0 - q));
    }
    n->val[0] = (float)(n->fattr[KL_WEIGHT] * s);
}

static void kl_backward(ae_node *n)
{
    ae_node *h = n->in[0];
    if (!h->needs_grad) return;
    const size_t N = rows(h), M = per_sample(h);
    const double rho = n->fattr[KL_RHO], c = (double)n->grad[0] * n->fattr[KL_WEIGHT] / (double)N;
    const float *mean = n->state;
    float *restrict d = (float *)(mean + M + (M & 1)); /* the column sums' place: dKL/dh per unit */
    for (size_t j = 0; j < M; j++) {
        double m = mean[j];
        d[j] = m > RHO_MIN && m < RHO_MAX ? (float)(c * (-rho / m + (1.0 - rho) / (1.0 - m))) : 0.0f;
    }
    float *restrict g = h->grad;
    for (size_t r = 0; r < N; r++, g += M)
        if (n->accum[0])
            for (size_t j = 0; j < M; j++) g[j] += d[j];
        else
            for (size_t j = 0; j < M; j++) g[j] = d[j];
}

const ae_op ae_op_kl_sparsity = {.name = "kl_sparsity", .infer = scalar_infer, .prepare = per_unit_prepare,
                                 .forward = kl_forward, .backward = kl_backward,
                                 .penalty = 1};

ae_node *ae_kl_sparsity_penalty(ae_graph *g, const char *name, ae_node *h, float rho, float weight,
                                ae_err *err)
{
    float fa[KL_NFATTR] = {[KL_RHO] = rho, [KL_WEIGHT] = weight};
    return ae_graph_add(g, &ae_op_kl_sparsity, name, &h, 1, NULL, 0, fa, KL_NFATTR, err);
}

/* --- perturbation x + eps·v (copies stacked along the batch) ---------------------------------- */
static int perturb_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape = n->in[0]->shape;
    n->shape.d[0] *= n->iattr[PERTURB_COPIES];
    return AE_OK;
}

static void perturb_forward(ae_node *n)
{
    ae_rng *r = (ae_rng *)n->pattr;
    const ae_node *x = n->in[0];
    const float eps = n->fattr[FD_EPS];
    for (size_t i = 0; i < n->numel; i++) n->val[i] = x->val[i % x->numel] + eps * (float)ae_rng_gauss(r);
}

const ae_op ae_op_perturb = {.name = "perturb", .infer = perturb_infer, .forward = perturb_forward};

ae_node *ae_perturb(ae_graph *g, const char *name, ae_node *x, int copies, float eps, ae_rng *rng,
                    ae_err *err)
{
    if (copies < 1 || !rng) {
        ae_errf(err, AE_EINTERNAL, "%s: perturbation needs copies >= 1 and an RNG", name);
        return NULL;
    }
    int ia[PERTURB_NATTR] = {[PERTURB_COPIES] = copies};
    float fa[PERTURB_NFATTR] = {[FD_EPS] = eps};
    ae_node *n = ae_graph_add(g, &ae_op_perturb, name, &x, 1, ia, PERTURB_NATTR, fa, PERTURB_NFATTR, err);
    if (n) n->pattr = rng;
    return n;
}

/* --- ‖(hp - h)/eps‖², mean over hp's samples ------------------------------------------------------ */
static int jvp_infer(ae_node *n, ae_err *err)
{
    const ae_node *hp = n->in[0], *h = n->in[1];
    if (h->shape.nd < 1 || hp->shape.nd < 1 || per_sample(hp) != per_sample(h) ||
        rows(hp) % rows(h) != 0)
        return ae_errf(err, AE_EINTERNAL, "%s: the perturbed copy's output does not match the layer",
                       n->name);
    n->shape.nd = 0;
    return AE_OK;
}

static void jvp_forward(ae_node *n)
{
    const ae_node *hp = n->in[0], *h = n->in[1];
    double s = 0;
    for (size_t i = 0; i < hp->numel; i++) {
        double d = (double)hp->val[i] - h->val[i % h->numel];
        s += d * d;
    }
    const double eps = n->fattr[FD_EPS];
    n->val[0] = (float)(n->fattr[FD_WEIGHT] * s / (eps * eps * (double)rows(hp)));
}

static void jvp_backward(ae_node *n)
{
    ae_node *hp = n->in[0], *h = n->in[1];
    const float eps = n->fattr[FD_EPS];
    const float c = 2.0f * n->grad[0] * n->fattr[FD_WEIGHT] / (eps * eps * (float)rows(hp));
    if (hp->needs_grad)
        for (size_t i = 0; i < hp->numel; i++)
            put(hp->grad, i, n->accum[0], c * (hp->val[i] - h->val[i % h->numel]));
    if (h->needs_grad) {
        const size_t q = hp->numel / h->numel;
        for (size_t k = 0; k < h->numel; k++) {
            float s = 0;
            for (size_t p = 0; p < q; p++) s += hp->val[p * h->numel + k] - h->val[k];
            put(h->grad, k, n->accum[1], -c * s);
        }
    }
}

const ae_op ae_op_jvp_sq = {.name = "jvp_sq", .infer = jvp_infer, .forward = jvp_forward,
                            .backward = jvp_backward};

ae_node *ae_jvp_sq(ae_graph *g, const char *name, ae_node *hp, ae_node *h, float eps, float weight,
                   ae_err *err)
{
    ae_node *in[2] = {hp, h};
    float fa[FD_NFATTR] = {[FD_EPS] = eps, [FD_WEIGHT] = weight};
    return ae_graph_add(g, &ae_op_jvp_sq, name, in, 2, NULL, 0, fa, FD_NFATTR, err);
}

/* --- Σ x² (weight decay) ---------------------------------------------------------------------- */
static void sumsq_forward(ae_node *n)
{
    const ae_node *x = n->in[0];
    double s = 0;
    for (size_t i = 0; i < x->numel; i++) s += (double)x->val[i] * x->val[i];
    n->val[0] = (float)(n->fattr[PEN_WEIGHT] * s);
}

static void sumsq_backward(ae_node *n)
{
    ae_node *x = n->in[0];
    if (!x->needs_grad) return;
    const float c = 2.0f * n->grad[0] * n->fattr[PEN_WEIGHT];
    for (size_t i = 0; i < x->numel; i++) put(x->grad, i, n->accum[0], c * x->val[i]);
}

const ae_op ae_op_sum_squares = {.name = "sum_squares", .infer = scalar_infer, .forward = sumsq_forward,
                                 .backward = sumsq_backward};

ae_node *ae_sum_squares(ae_graph *g, const char *name, ae_node *x, float weight, ae_err *err)
{
    float fa[PEN_NFATTR] = {[PEN_WEIGHT] = weight};
    return ae_graph_add(g, &ae_op_sum_squares, name, &x, 1, NULL, 0, fa, PEN_NFATTR, err);
}
