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

/* --- exact contractive norm of a dense layer: state = Σ_i W_ji² per unit ------------------------- */
/* act'(a) from the output h, and d(act'²)/dh; the loops below are written once per activation
 * (FOR_ACT), so act is a constant in each and they vectorise. */
static inline float dact(int act, float h)
{
    switch (act) {
    case AE_ACT_RELU: return h > 0.0f ? 1.0f : 0.0f;
    case AE_ACT_SIGMOID: return h * (1.0f - h);
    case AE_ACT_TANH: return 1.0f - h * h;
    default: return 1.0f;
    }
}

static inline float ddact2(int act, float h)
{
    switch (act) {
    case AE_ACT_SIGMOID: return 2.0f * dact(act, h) * (1.0f - 2.0f * h);
    case AE_ACT_TANH: return 2.0f * dact(act, h) * (-2.0f * h);
    default: return 0.0f; /* identity and ReLU: act' is piecewise constant */
    }
}

#define FOR_ACT(act, call)                                                                               \
    switch (act) {                                                                                       \
    case AE_ACT_RELU: call(AE_ACT_RELU); break;                                                          \
    case AE_ACT_SIGMOID: call(AE_ACT_SIGMOID); break;                                                    \
    case AE_ACT_TANH: call(AE_ACT_TANH); break;                                                          \
    default: call(AE_ACT_IDENTITY); break;                                                               \
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

#define LANES 4 /* independent double accumulators per sum: element i goes to lane i % LANES */
#define GROUP 4 /* sums computed side by side (independent chains; each still in its own fixed order) */

/* out[q] = Σ_i a_q[i]² in double over n floats, a_q = a + q·n, for q < nq <= GROUP: lanes i % LANES
 * in order, then (lane 0 + lane 1) + (lane 2 + lane 3). */
static void sumsq_rows(const float *restrict a, size_t n, size_t nq, float *restrict out)
{
    double acc[GROUP][LANES] = {{0}};
    const float *aq[GROUP]; /* rows past nq repeat row 0; their sums are dropped */
    for (size_t q = 0; q < GROUP; q++) aq[q] = a + (q < nq ? q * n : 0);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t q = 0; q < GROUP; q++)
            for (int l = 0; l < LANES; l++) {
                double v = aq[q][i + l];
                acc[q][l] += v * v;
            }
    for (size_t q = 0; q < nq; q++) {
        for (size_t k = i; k < n; k++) {
            double v = aq[q][k];
            acc[q][k - i] += v * v;
        }
        out[q] = (float)((acc[q][0] + acc[q][1]) + (acc[q][2] + acc[q][3]));
    }
}

/* part[r] = Σ_j act'(h_rj)² · wsq_j in double (lane j % LANES), rows r < nq <= GROUP of h. */
#define ROW_SUMS(ACT)                                                                                    \
    do {                                                                                                 \
        double acc[GROUP][LANES] = {{0}};                                                                \
        const float *hq[GROUP]; /* rows past nq repeat row 0; their sums are dropped */                  \
        for (size_t q = 0; q < GROUP; q++) hq[q] = h + (q < nq ? q * M : 0);                             \
        size_t j = 0;                                                                                    \
        for (; j + LANES <= M; j += LANES)                                                               \
            for (size_t q = 0; q < GROUP; q++)                                                           \
                for (int l = 0; l < LANES; l++) {                                                        \
                    double d = dact(ACT, hq[q][j + l]);                                                  \
                    acc[q][l] += d * d * wsq[j + l];                                                     \
                }                                                                                        \
        for (size_t q = 0; q < nq; q++) {                                                                \
            for (size_t k = j; k < M; k++) {                                                             \
                double d = dact(ACT, hq[q][k]);                                                      \
                acc[q][k - j] += d * d * wsq[k];                                                         \
            }                                                                                            \
            part[q] = (acc[q][0] + acc[q][1]) + (acc[q][2] + acc[q][3]);                                 \
        }                                                                                                \
    } while (0)

static void row_sums(int act, const float *restrict h, size_t nq, size_t M, const float *restrict wsq,
                     double *restrict part)
{
    FOR_ACT(act, ROW_SUMS)
}

/* Work in parallel only when there is enough of it (an OpenMP region costs microseconds). */
#define PAR_MIN 16384

static void cae_forward(ae_node *n)
{
    const ae_node *h = n->in[0], *w = n->in[1];
    const size_t N = rows(h), M = (size_t)w->shape.d[0], K = (size_t)w->shape.d[1];
    const int act = n->iattr[CAE_ACT];
    float *wsq = n->state;
    double *part = (double *)(wsq + M + (M & 1)); /* per-row sums (scratch sized in cae_prepare) */
    const long gm = (long)((M + GROUP - 1) / GROUP), gn = (long)((N + GROUP - 1) / GROUP);
#pragma omp parallel for schedule(static) if (M * K >= PAR_MIN)
    for (long b = 0; b < gm; b++) {
        size_t j = (size_t)b * GROUP;
        sumsq_rows(w->val + j * K, K, M - j < GROUP ? M - j : GROUP, wsq + j);
    }
#pragma omp parallel for schedule(static) if (N * M >= PAR_MIN)
    for (long b = 0; b < gn; b++) {
        size_t r = (size_t)b * GROUP;
        row_sums(act, h->val + r * M, N - r < GROUP ? N - r : GROUP, M, wsq, part + r);
    }
    double s = 0;
    for (size_t r = 0; r < N; r++) s += part[r];
    n->val[0] = (float)(n->fattr[PEN_WEIGHT] * s / (double)N);
}

/* dh = c·wsq_j·d(act'²)/dh, written or added (accum), rows [0, nr). */
#define H_GRAD(ACT)                                                                                      \
    for (size_t r = 0; r < nr; r++, g += M, hv += M)                                                     \
        if (accum)                                                                                       \
            for (size_t j = 0; j < M; j++) g[j] += c * wsq[j] * ddact2(ACT, hv[j]);                      \
        else                                                                                             \
            for (size_t j = 0; j < M; j++) g[j] = c * wsq[j] * ddact2(ACT, hv[j]);

static void h_grad(int act, const float *restrict hv, size_t nr, size_t M, const float *restrict wsq,
                   float c, int accum, float *restrict g)
{
    FOR_ACT(act, H_GRAD)
}

/* s_j = Σ_r act'(h_rj)² in double, rows in order for every unit, walked along the rows. */
#define UNIT_SUMS(ACT)                                                                                   \
    for (size_t r = 0; r < N; r++)                                                                       \
        for (size_t j = 0; j < M; j++) {                                                                 \
            double d = dact(ACT, hv[r * M + j]);                                                         \
            s[j] += d * d;                                                                               \
        }

static void unit_sums(int act, const float *restrict hv, size_t N, size_t M, double *restrict s)
{
    for (size_t j = 0; j < M; j++) s[j] = 0;
    FOR_ACT(act, UNIT_SUMS)
}

static void cae_backward(ae_node *n)
{
    ae_node *h = n->in[0], *w = n->in[1];
    const size_t N = rows(h), M = (size_t)w->shape.d[0], K = (size_t)w->shape.d[1];
    const int act = n->iattr[CAE_ACT];
    const float c = n->grad[0] * n->fattr[PEN_WEIGHT] / (float)N;
    float *wsq = n->state;
    double *s = (double *)(wsq + M + (M & 1)); /* Σ_n act'(h_nj)² (the forward's part is done) */
    const long gn = (long)((N + GROUP - 1) / GROUP), lm = (long)M;
    if (h->needs_grad) {
        const int acc = n->accum[0];
#pragma omp parallel for schedule(static) if (N * M >= PAR_MIN)
        for (long b = 0; b < gn; b++) {
            size_t r = (size_t)b * GROUP;
            h_grad(act, h->val + r * M, N - r < GROUP ? N - r : GROUP, M, wsq, c, acc, h->grad + r * M);
        }
    }
    if (w->needs_grad) {
        const int acc = n->accum[1];
        unit_sums(act, h->val, N, M, s);
#pragma omp parallel for schedule(static) if (M * K >= PAR_MIN)
        for (long j = 0; j < lm; j++) {
            const float f = 2.0f * c * (float)s[j];
            float *restrict g = w->grad + j * K;
            const float *restrict wv = w->val + j * K;
            if (acc)
                for (size_t i = 0; i < K; i++) g[i] += f * wv[i];
            else
                for (size_t i = 0; i < K; i++) g[i] = f * wv[i];
        }
    }
}

const ae_op ae_op_contractive_exact = {.name = "contractive_exact", .infer = cae_infer,
                                       .prepare = cae_prepare, .forward = cae_forward,
                                       .backward = cae_backward, .penalty = 1};

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
