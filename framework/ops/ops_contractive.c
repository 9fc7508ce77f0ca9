/* The exact contractive penalty of a dense layer h = act(x·Wᵀ + b), λ/N · Σ_n ‖∂h_n/∂x_n‖²_F (sums in
 * double in a fixed order). Its W rows and h columns go to the threads by the cut of a layer run by
 * output units (dense_units.c), so each part's rows and columns stay with the thread that owns them. */
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ae_par.h"
#include "ae_penalty.h"
#include "dense_internal.h"

enum { CAE_WEIGHT, CAE_NFATTR };
enum { CAE_ACT, CAE_NATTR };

static size_t rows(const ae_node *x) { return x->shape.nd > 0 ? (size_t)x->shape.d[0] : 1; }

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

/* The node's team (the graph's threads when its layer runs by units, plan_threads.c): thread t of T
 * takes the units [j0, j1) of the layer's part t and the rows [r0, r1) of the t-th block. */
typedef struct cae_share {
    size_t j0, j1, r0, r1;
} cae_share;

static cae_share share_of(size_t N, size_t M)
{
#ifdef _OPENMP
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
#else
    const int t = 0, T = 1;
#endif
    return (cae_share){(size_t)dense_units_cut((int64_t)M, T, t), (size_t)dense_units_cut((int64_t)M, T, t + 1),
                       N * (size_t)t / (size_t)T, N * (size_t)(t + 1) / (size_t)T};
}

/* wsq_j = Σ_i W_ji² for the thread's units, then part[r] for its rows (every unit's wsq: a barrier
 * between); each row's and unit's sum has its own fixed order, so any team gives the same bytes. */
static void cae_forward(ae_node *n)
{
    const ae_node *h = n->in[0], *w = n->in[1];
    const size_t N = rows(h), M = (size_t)w->shape.d[0], K = (size_t)w->shape.d[1];
    const int act = n->iattr[CAE_ACT], nt = ae_par_threads();
    float *wsq = n->state;
    double *part = (double *)(wsq + M + (M & 1)); /* per-row sums (scratch sized in cae_prepare) */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const cae_share q = share_of(N, M);
        for (size_t j = q.j0; j < q.j1; j += GROUP)
            sumsq_rows(w->val + j * K, K, q.j1 - j < GROUP ? q.j1 - j : GROUP, wsq + j);
#pragma omp barrier
        for (size_t r = q.r0; r < q.r1; r += GROUP)
            row_sums(act, h->val + r * M, q.r1 - r < GROUP ? q.r1 - r : GROUP, M, wsq, part + r);
    }
    double s = 0;
    for (size_t r = 0; r < N; r++) s += part[r];
    n->val[0] = (float)(n->fattr[CAE_WEIGHT] * s / (double)N);
}

/* dh = c·wsq_j·d(act'²)/dh, written or added (accum), units [0, mw) of N rows of stride M. */
#define H_GRAD(ACT)                                                                                      \
    for (size_t r = 0; r < N; r++, g += M, hv += M)                                                      \
        if (accum)                                                                                       \
            for (size_t j = 0; j < mw; j++) g[j] += c * wsq[j] * ddact2(ACT, hv[j]);                     \
        else                                                                                             \
            for (size_t j = 0; j < mw; j++) g[j] = c * wsq[j] * ddact2(ACT, hv[j]);

static void h_grad(int act, const float *restrict hv, size_t N, size_t M, size_t mw, const float *restrict wsq,
                   float c, int accum, float *restrict g)
{
    FOR_ACT(act, H_GRAD)
}

/* s_j = Σ_r act'(h_rj)² in double, rows in order for every unit [0, mw), walked along the rows. */
#define UNIT_SUMS(ACT)                                                                                   \
    for (size_t r = 0; r < N; r++)                                                                       \
        for (size_t j = 0; j < mw; j++) {                                                                \
            double d = dact(ACT, hv[r * M + j]);                                                         \
            s[j] += d * d;                                                                               \
        }

static void unit_sums(int act, const float *restrict hv, size_t N, size_t M, size_t mw, double *restrict s)
{
    for (size_t j = 0; j < mw; j++) s[j] = 0;
    FOR_ACT(act, UNIT_SUMS)
}

/* Each thread its units' columns of dh, their s_j and their rows of dW: all elementwise or summed
 * over the rows in order, so any team gives the same bytes. */
static void cae_backward(ae_node *n)
{
    ae_node *h = n->in[0], *w = n->in[1];
    const size_t N = rows(h), M = (size_t)w->shape.d[0], K = (size_t)w->shape.d[1];
    const int act = n->iattr[CAE_ACT], nt = ae_par_threads();
    const float c = n->grad[0] * n->fattr[CAE_WEIGHT] / (float)N;
    float *wsq = n->state;
    double *s = (double *)(wsq + M + (M & 1)); /* Σ_n act'(h_nj)² (the forward's part is done) */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const cae_share q = share_of(N, M);
        const size_t mw = q.j1 - q.j0;
        if (h->needs_grad)
            h_grad(act, h->val + q.j0, N, M, mw, wsq + q.j0, c, n->accum[0], h->grad + q.j0);
        if (w->needs_grad) {
            const int acc = n->accum[1];
            unit_sums(act, h->val + q.j0, N, M, mw, s + q.j0);
            for (size_t j = q.j0; j < q.j1; j++) {
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
}

const ae_op ae_op_contractive_exact = {.name = "contractive_exact", .infer = cae_infer,
                                       .prepare = cae_prepare, .forward = cae_forward,
                                       .backward = cae_backward, .penalty = 1};

ae_node *ae_contractive_exact(ae_graph *g, const char *name, ae_node *h, ae_node *w, ae_act act,
                              float weight, ae_err *err)
{
    ae_node *in[2] = {h, w};
    int ia[CAE_NATTR] = {[CAE_ACT] = (int)act};
    float fa[CAE_NFATTR] = {[CAE_WEIGHT] = weight};
    return ae_graph_add(g, &ae_op_contractive_exact, name, in, 2, ia, CAE_NATTR, fa, CAE_NFATTR, err);
}

