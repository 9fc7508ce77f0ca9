/* Penalty ops in plain C loops (sums in double in a fixed order: deterministic for any thread
 * count): activity L1, KL sparsity, exact contractive norm of a dense layer (parallel over units
 * and rows, each sum still in one fixed order), the finite-difference Jacobian-vector estimate with
 * its input perturbation, and weight decay. */
#include <math.h>
#include <string.h>

#include "ae_penalty.h"

/* Attributes (ae_node.iattr, fattr): a penalty's weight (L1, exact contractive, Σ x²); KL
 * sparsity's target rate and weight; the exact contractive norm's activation; the perturbation's
 * copies and step; the finite-difference estimate's step and weight. */
enum { PEN_WEIGHT, PEN_NFATTR };
enum { KL_RHO, KL_WEIGHT, KL_NFATTR };
enum { CAE_ACT, CAE_NATTR };
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
static void l1_forward(ae_node *n)
{
    const ae_node *h = n->in[0];
    double s = 0;
    for (size_t i = 0; i < h->numel; i++) s += fabs((double)h->val[i]);
    n->val[0] = (float)(n->fattr[PEN_WEIGHT] * s / (double)rows(h));
}

static void l1_backward(ae_node *n)
{
    ae_node *h = n->in[0];
    if (!h->needs_grad) return;
    const float c = n->grad[0] * n->fattr[PEN_WEIGHT] / (float)rows(h);
    for (size_t i = 0; i < h->numel; i++) {
        float v = h->val[i];
        put(h->grad, i, n->accum[0], v > 0.0f ? c : v < 0.0f ? -c : 0.0f);
    }
}

const ae_op ae_op_l1_penalty = {.name = "l1_penalty", .infer = scalar_infer, .forward = l1_forward,
                                .backward = l1_backward};

ae_node *ae_l1_penalty(ae_graph *g, const char *name, ae_node *h, float weight, ae_err *err)
{
    float fa[PEN_NFATTR] = {[PEN_WEIGHT] = weight};
    return ae_graph_add(g, &ae_op_l1_penalty, name, &h, 1, NULL, 0, fa, PEN_NFATTR, err);
}

/* --- KL sparsity: state = ρ̂ per unit (unclamped batch means) ------------------------------------- */
#define RHO_MIN 1e-6
#define RHO_MAX (1.0 - 1e-6)

static int per_unit_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    n->state = ae_graph_scratch(g, per_sample(n->in[0]), err);
    return n->state ? AE_OK : err->code;
}

static void kl_forward(ae_node *n)
{
    const ae_node *h = n->in[0];
    const size_t N = rows(h), M = per_sample(h);
    const double rho = n->fattr[KL_RHO];
    float *mean = n->state;
    double s = 0;
    for (size_t j = 0; j < M; j++) {
        double m = 0;
        for (size_t r = 0; r < N; r++) m += h->val[r * M + j];
        m /= (double)N;
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
    for (size_t j = 0; j < M; j++) {
        double m = mean[j], d = 0;
        if (m > RHO_MIN && m < RHO_MAX) d = c * (-rho / m + (1.0 - rho) / (1.0 - m));
        for (size_t r = 0; r < N; r++) put(h->grad, r * M + j, n->accum[0], (float)d);
    }
}

const ae_op ae_op_kl_sparsity = {.name = "kl_sparsity", .infer = scalar_infer, .prepare = per_unit_prepare,
                                 .forward = kl_forward, .backward = kl_backward};

ae_node *ae_kl_sparsity_penalty(ae_graph *g, const char *name, ae_node *h, float rho, float weight,
                                ae_err *err)
{
    float fa[KL_NFATTR] = {[KL_RHO] = rho, [KL_WEIGHT] = weight};
    return ae_graph_add(g, &ae_op_kl_sparsity, name, &h, 1, NULL, 0, fa, KL_NFATTR, err);
}

/* --- exact contractive norm of a dense layer: state = Σ_i W_ji² per unit ------------------------- */
/* act'(a) from the output h, and d(act'²)/dh. */
static float dact(int act, float h)
{
    switch (act) {
    case AE_ACT_RELU: return h > 0.0f ? 1.0f : 0.0f;
    case AE_ACT_SIGMOID: return h * (1.0f - h);
    case AE_ACT_TANH: return 1.0f - h * h;
    default: return 1.0f;
    }
}

static float ddact2(int act, float h)
{
    switch (act) {
    case AE_ACT_SIGMOID: return 2.0f * dact(act, h) * (1.0f - 2.0f * h);
    case AE_ACT_TANH: return 2.0f * dact(act, h) * (-2.0f * h);
    default: return 0.0f; /* identity and ReLU: act' is piecewise constant */
    }
}

static int cae_infer(ae_node *n, ae_err *err)
{
    const ae_node *h = n->in[0], *w = n->in[1];
    if (w->shape.nd != 2 || h->shape.nd != 2 || h->shape.d[1] != w->shape.d[0])
        return ae_errf(err, AE_EINTERNAL, "%s: the layer output and weight shapes do not match",
                       n->name);
    n->shape.nd = 0;
    return AE_OK;
}

/* state: Σ_i W_ji² per unit (M floats, padded to even), then per-row / per-unit double sums. */
static int cae_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    size_t m = (size_t)n->in[1]->shape.d[0], r = rows(n->in[0]);
    n->state = ae_graph_scratch(g, m + (m & 1) + 2 * (r > m ? r : m), err);
    return n->state ? AE_OK : err->code;
}

#define LANES 4 /* independent double accumulators: the sums vectorise, in a fixed order */

/* Σ_i a_i·b_i over n floats, in double. */
static double dot_d(const float *restrict a, const float *restrict b, size_t n)
{
    double acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += (double)a[i + l] * (double)b[i + l];
    for (int l = 0; i < n; i++, l++) acc[l] += (double)a[i] * (double)b[i];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/* Work in parallel only when there is enough of it (an OpenMP region costs microseconds). */
#define PAR_MIN 16384
#define UNITS 32 /* units per block of the weight gradient */

static void cae_forward(ae_node *n)
{
    const ae_node *h = n->in[0], *w = n->in[1];
    const size_t N = rows(h), M = (size_t)w->shape.d[0], K = (size_t)w->shape.d[1];
    const int act = n->iattr[CAE_ACT];
    float *wsq = n->state;
    double *part = (double *)(wsq + M + (M & 1)); /* per-row sums (scratch sized in cae_prepare) */
    const long lm = (long)M, ln = (long)N;
#pragma omp parallel for schedule(static) if (M * K >= PAR_MIN)
    for (long j = 0; j < lm; j++) wsq[j] = (float)dot_d(w->val + j * K, w->val + j * K, K);
#pragma omp parallel for schedule(static) if (N * M >= PAR_MIN)
    for (long r = 0; r < ln; r++) {
        double acc[LANES] = {0};
        const float *hr = h->val + r * M;
        for (size_t j = 0; j < M; j++) {
            double d = dact(act, hr[j]);
            acc[j % LANES] += d * d * wsq[j];
        }
        part[r] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
    double s = 0;
    for (size_t r = 0; r < N; r++) s += part[r];
    n->val[0] = (float)(n->fattr[PEN_WEIGHT] * s / (double)N);
}

static void cae_backward(ae_node *n)
{
    ae_node *h = n->in[0], *w = n->in[1];
    const size_t N = rows(h), M = (size_t)w->shape.d[0], K = (size_t)w->shape.d[1];
    const int act = n->iattr[CAE_ACT];
    const float c = n->grad[0] * n->fattr[PEN_WEIGHT] / (float)N;
    const float *wsq = n->state;
    const long lm = (long)M, ln = (long)N;
    if (h->needs_grad) {
        const int acc = n->accum[0];
#pragma omp parallel for schedule(static) if (N * M >= PAR_MIN)
        for (long r = 0; r < ln; r++)
            for (size_t j = 0; j < M; j++) {
                size_t i = (size_t)r * M + j;
                put(h->grad, i, acc, c * wsq[j] * ddact2(act, h->val[i]));
            }
    }
    if (w->needs_grad) {
        const int acc = n->accum[1];
        const long nblk = (lm + UNITS - 1) / UNITS;
#pragma omp parallel for schedule(static) if (M * K >= PAR_MIN)
        for (long b = 0; b < nblk; b++) {
            const size_t j0 = (size_t)b * UNITS, nj = j0 + UNITS <= M ? UNITS : M - j0;
            double s[UNITS] = {0}; /* Σ_n act'(h_nj)², rows in order, a block of units at once */
            for (size_t r = 0; r < N; r++) {
                const float *hr = h->val + r * M + j0;
                for (size_t q = 0; q < nj; q++) {
                    double d = dact(act, hr[q]);
                    s[q] += d * d;
                }
            }
            for (size_t q = 0; q < nj; q++) {
                const float f = 2.0f * c * (float)s[q];
                float *g = w->grad + (j0 + q) * K;
                const float *wv = w->val + (j0 + q) * K;
                if (acc)
                    for (size_t i = 0; i < K; i++) g[i] += f * wv[i];
                else
                    for (size_t i = 0; i < K; i++) g[i] = f * wv[i];
            }
        }
    }
}

const ae_op ae_op_contractive_exact = {.name = "contractive_exact", .infer = cae_infer,
                                       .prepare = cae_prepare, .forward = cae_forward,
                                       .backward = cae_backward};

ae_node *ae_contractive_exact(ae_graph *g, const char *name, ae_node *h, ae_node *w, ae_act act,
                              float weight, ae_err *err)
{
    ae_node *in[2] = {h, w};
    int ia[CAE_NATTR] = {[CAE_ACT] = (int)act};
    float fa[PEN_NFATTR] = {[PEN_WEIGHT] = weight};
    return ae_graph_add(g, &ae_op_contractive_exact, name, in, 2, ia, CAE_NATTR, fa, PEN_NFATTR, err);
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
