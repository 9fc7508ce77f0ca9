/* Dictionary learning: the online (mini-batch) method of Mairal et al. 2009 as scikit-learn's
 * MiniBatchDictionaryLearning (0.19, fit_algorithm lars) runs it: SVD start, lasso codes, atom updates. */
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"
#include "ae_rng.h"

/* The start (sklearn: randomized_svd, then S·Vᵀ): the top k right singular vectors of X scaled by
 * their singular values, from the eigenvectors of XᵀX (d x d, double), each signed so that the
 * largest-|.| entry of its left singular vector X·v is positive (svd_flip). D: k x d, row = atom. */
static int svd_start(const float *x, size_t n, size_t d, size_t k, double *D)
{
    gsl_matrix *g = gsl_matrix_calloc(d, d), *v = gsl_matrix_alloc(d, d);
    gsl_vector *ev = gsl_vector_alloc(d);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(d);
    int ok = g && v && ev && ws;
    for (size_t i = 0; ok && i < n; i++)
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b <= a; b++) *gsl_matrix_ptr(g, a, b) += (double)x[i * d + a] * x[i * d + b];
    for (size_t a = 0; ok && a < d; a++)
        for (size_t b = 0; b < a; b++) gsl_matrix_set(g, b, a, gsl_matrix_get(g, a, b));
    if (ok) ok = gsl_eigen_symmv(g, ev, v, ws) == 0 && gsl_eigen_symmv_sort(ev, v, GSL_EIGEN_SORT_VAL_DESC) == 0;
    for (size_t a = 0; ok && a < k; a++) {
        double best = -1.0, sign = 1.0, s = sqrt(fmax(gsl_vector_get(ev, a), 0.0));
        for (size_t i = 0; i < n; i++) {
            double u = 0.0;
            for (size_t j = 0; j < d; j++) u += (double)x[i * d + j] * gsl_matrix_get(v, j, a);
            if (fabs(u) > best) best = fabs(u), sign = u < 0.0 ? -1.0 : 1.0;
        }
        for (size_t j = 0; j < d; j++) D[a * d + j] = sign * s * gsl_matrix_get(v, j, a);
    }
    gsl_eigen_symmv_free(ws);
    gsl_vector_free(ev);
    gsl_matrix_free(v);
    gsl_matrix_free(g);
    return ok ? 0 : -1;
}

/* The lasso code c (k) of one row x: argmin ½‖x − Σ_a c_a D_a‖² + α‖c‖₁ (the minimiser of
 * sparse_encode's lasso_lars with alpha/d), by cyclic coordinate descent on G = DDᵀ and q = Dx
 * until no coordinate moves by more than 1e-12·(1 + max|c|). */
static void lasso(const double *G, const double *q, size_t k, double alpha, double *c)
{
    memset(c, 0, k * sizeof *c);
    for (int sweep = 0; sweep < 10000; sweep++) {
        double moved = 0.0, big = 0.0;
        for (size_t a = 0; a < k; a++) {
            double rho = q[a];
            for (size_t b = 0; b < k; b++)
                if (b != a) rho -= G[a * k + b] * c[b];
            double t = fabs(rho) > alpha ? (rho > 0 ? rho - alpha : rho + alpha) : 0.0;
            double nc = G[a * k + a] > 0.0 ? t / G[a * k + a] : 0.0;
            moved = fmax(moved, fabs(nc - c[a]));
            c[a] = nc;
            big = fmax(big, fabs(nc));
        }
        if (moved <= 1e-12 * (1.0 + big)) break;
    }
}

/* sklearn 0.19's _update_dict(D, B, A): R = B − DA; per atom a: R += D_a A_aᵀ, D_a = R A_a, then
 * unit length (an atom of squared norm < 1e-20 is redrawn from N(0, I) and its row of A zeroed),
 * R −= D_a A_aᵀ. Bt: k x d (Bᵀ), A: k x k, R: k x d scratch (Rᵀ). */
static void update_dict(double *D, const double *Bt, double *A, double *R, size_t k, size_t d, ae_rng *rng)
{
    for (size_t c = 0; c < k; c++)
        for (size_t j = 0; j < d; j++) {
            double s = Bt[c * d + j];
            for (size_t b = 0; b < k; b++) s -= D[b * d + j] * A[b * k + c];
            R[c * d + j] = s;
        }
    for (size_t a = 0; a < k; a++) {
        double *da = D + a * d, nn = 0.0;
        for (size_t c = 0; c < k; c++)
            for (size_t j = 0; j < d; j++) R[c * d + j] += da[j] * A[a * k + c];
        for (size_t j = 0; j < d; j++) {
            double s = 0.0;
            for (size_t c = 0; c < k; c++) s += R[c * d + j] * A[a * k + c];
            da[j] = s, nn += s * s;
        }
        if (nn < 1e-20) {
            nn = 0.0;
            for (size_t j = 0; j < d; j++) da[j] = ae_rng_gauss(rng), nn += da[j] * da[j];
            for (size_t j = 0; j < d; j++) da[j] /= sqrt(nn);
            for (size_t c = 0; c < k; c++) A[a * k + c] = 0.0;
            continue;
        }
        for (size_t j = 0; j < d; j++) da[j] /= sqrt(nn);
        for (size_t c = 0; c < k; c++)
            for (size_t j = 0; j < d; j++) R[c * d + j] -= da[j] * A[a * k + c];
    }
}

/* One mini-batch: lasso codes of rows[0..m), then A = βA + Σ ccᵀ, Bᵀ = βBᵀ + Σ c xᵀ. */
static void accumulate(const float *x, const size_t *rows, size_t m, size_t d, size_t k, double alpha,
                       double beta, const double *D, double *G, double *q, double *c, double *A, double *Bt)
{
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = 0.0;
            for (size_t j = 0; j < d; j++) s += D[a * d + j] * D[b * d + j];
            G[a * k + b] = s;
        }
    for (size_t i = 0; i < k * k; i++) A[i] *= beta;
    for (size_t i = 0; i < k * d; i++) Bt[i] *= beta;
    for (size_t r = 0; r < m; r++) {
        const float *xr = x + rows[r] * d;
        for (size_t a = 0; a < k; a++) {
            double s = 0.0;
            for (size_t j = 0; j < d; j++) s += D[a * d + j] * xr[j];
            q[a] = s;
        }
        lasso(G, q, k, alpha, c);
        for (size_t a = 0; a < k; a++) {
            for (size_t b = 0; b < k; b++) A[a * k + b] += c[a] * c[b];
            for (size_t j = 0; j < d; j++) Bt[a * d + j] += c[a] * xr[j];
        }
    }
}

int ae_dict_learn(const float *x, size_t n, size_t d, const ae_dict_opts *o, float *atoms, ae_err *err)
{
    const size_t k = o->atoms, bs = o->batch;
    if (n == 0 || d == 0 || k == 0 || k > d || bs == 0 || o->iterations < 0 || !(o->alpha >= 0.0))
        return ae_errf(err, AE_EINPUT, "dictionary: %zu atoms of %zu features from %zu rows in batches of %zu: "
                       "needs rows, 1 <= atoms <= features and a batch of at least 1", k, d, n, bs);
    double *D = malloc(k * d * sizeof *D), *Bt = calloc(k * d, sizeof *Bt), *R = malloc(k * d * sizeof *R);
    double *A = calloc(k * k, sizeof *A), *G = malloc(k * k * sizeof *G), *q = malloc(k * sizeof *q);
    double *c = malloc(k * sizeof *c);
    size_t *order = malloc(n * sizeof *order);
    ae_rng *rng = ae_rng_new(o->seed);
    int rc = AE_OK;
    if (!D || !Bt || !R || !A || !G || !q || !c || !order || !rng) {
        rc = ae_errf(err, AE_EINTERNAL, "dictionary: out of memory");
    } else if (svd_start(x, n, d, k, D)) {
        rc = ae_errf(err, AE_EINTERNAL, "dictionary: the eigendecomposition of the start failed");
    } else {
        for (size_t i = 0; i < n; i++) order[i] = i;
        ae_rng_shuffle(rng, order, n); /* sklearn: shuffle=True, then batches cycle through the rows */
        const size_t nb = (n + bs - 1) / bs;
        for (long it = 0; it < o->iterations; it++) {
            const size_t b0 = (size_t)it % nb * bs, m = b0 + bs <= n ? bs : n - b0;
            const double t = (double)it, b = (double)bs;
            double theta = t + 1.0 < b ? (t + 1.0) * b : b * b + t + 1.0 - b; /* sklearn's forgetting */
            double beta = (theta + 1.0 - (double)bs) / (theta + 1.0);
            accumulate(x, order + b0, m, d, k, o->alpha, beta, D, G, q, c, A, Bt);
            update_dict(D, Bt, A, R, k, d, rng);
        }
        for (size_t i = 0; i < k * d; i++) atoms[i] = (float)D[i];
    }
    ae_rng_free(rng);
    free(order), free(c), free(q), free(G), free(A), free(R), free(Bt), free(D);
    return rc;
}
