/* PCA baseline on GSL: covariance in double (blocked gsl_blas_dsyrk over centred rows), full
 * eigendecomposition (gsl_eigen_symmv), top-k components, projection and reconstruction error. */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"

enum { PCA_BLOCK = 256 }; /* rows centred per dsyrk call: bounds the extra memory to 256*d doubles */

void ae_pca_free(ae_pca *p)
{
    if (!p)
        return;
    free(p->mean);
    free(p->comp);
    free(p->explained);
    memset(p, 0, sizeof *p);
}

/* cov (lower triangle) = sum over rows of (x - mean)(x - mean)^T, accumulated block by block. */
static void accumulate_cov(const float *x, size_t n, size_t d, const double *mean, gsl_matrix *blk,
                           gsl_matrix *cov)
{
    for (size_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        size_t rows = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        for (size_t i = 0; i < rows; i++) {
            const float *xi = x + (r0 + i) * d;
            double *bi = gsl_matrix_ptr(blk, i, 0);
            for (size_t c = 0; c < d; c++)
                bi[c] = (double)xi[c] - mean[c];
        }
        gsl_matrix_view bv = gsl_matrix_submatrix(blk, 0, 0, rows, d);
        gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0, &bv.matrix, 1.0, cov);
    }
}

int ae_pca_fit(ae_pca *p, const float *x, size_t n, size_t d, size_t k, ae_err *err)
{
    memset(p, 0, sizeof *p);
    if (!x || n == 0 || d == 0)
        return ae_errf(err, AE_EINPUT, "pca: empty data (%zu rows x %zu columns)", n, d);
    if (k == 0 || k > d)
        return ae_errf(err, AE_EINPUT, "pca: %zu components requested for %zu-dimensional data", k, d);

    int rc = AE_OK;
    gsl_matrix *cov = NULL, *blk = NULL, *evec = NULL;
    gsl_vector *eval = NULL;
    gsl_eigen_symmv_workspace *ws = NULL;
    p->d = d;
    p->k = k;
    p->mean = calloc(d, sizeof *p->mean);
    p->comp = malloc(k * d * sizeof *p->comp);
    p->explained = malloc(k * sizeof *p->explained);
    cov = gsl_matrix_calloc(d, d);
    blk = gsl_matrix_alloc(n < PCA_BLOCK ? n : PCA_BLOCK, d);
    evec = gsl_matrix_alloc(d, d);
    eval = gsl_vector_alloc(d);
    ws = gsl_eigen_symmv_alloc(d);
    if (!p->mean || !p->comp || !p->explained || !cov || !blk || !evec || !eval || !ws) {
        rc = ae_errf(err, AE_EINTERNAL, "pca: out of memory (d=%zu)", d);
        goto done;
    }

    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < d; c++)
            p->mean[c] += x[i * d + c];
    for (size_t c = 0; c < d; c++)
        p->mean[c] /= (double)n;

    accumulate_cov(x, n, d, p->mean, blk, cov);
    double denom = n > 1 ? (double)(n - 1) : 1.0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j <= i; j++) {
            double v = gsl_matrix_get(cov, i, j) / denom;
            gsl_matrix_set(cov, i, j, v);
            gsl_matrix_set(cov, j, i, v);
        }
    for (size_t i = 0; i < d; i++)
        if (!isfinite(gsl_matrix_get(cov, i, i))) {
            rc = ae_errf(err, AE_EINPUT, "pca: column %zu has non-finite values", i);
            goto done;
        }

    if (gsl_eigen_symmv(cov, eval, evec, ws) != GSL_SUCCESS ||
        gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_DESC) != GSL_SUCCESS) {
        rc = ae_errf(err, AE_EINTERNAL, "pca: eigendecomposition failed");
        goto done;
    }

    double total = 0.0;
    for (size_t i = 0; i < d; i++) {
        double v = gsl_vector_get(eval, i);
        total += v > 0.0 ? v : 0.0; /* round-off can make null eigenvalues slightly negative */
    }
    for (size_t j = 0; j < k; j++) {
        double v = gsl_vector_get(eval, j);
        p->explained[j] = total > 0.0 && v > 0.0 ? v / total : 0.0;
        size_t arg = 0; /* sign: the entry of largest magnitude (first one on ties) is positive */
        for (size_t c = 1; c < d; c++)
            if (fabs(gsl_matrix_get(evec, c, j)) > fabs(gsl_matrix_get(evec, arg, j)))
                arg = c;
        double s = gsl_matrix_get(evec, arg, j) < 0.0 ? -1.0 : 1.0;
        for (size_t c = 0; c < d; c++)
            p->comp[j * d + c] = s * gsl_matrix_get(evec, c, j);
    }

done:
    gsl_eigen_symmv_free(ws);
    gsl_vector_free(eval);
    gsl_matrix_free(evec);
    gsl_matrix_free(blk);
    gsl_matrix_free(cov);
    if (rc != AE_OK)
        ae_pca_free(p);
    return rc;
}

/* <x - mean, comp_j> in double. */
static double project(const ae_pca *p, const float *xi, size_t j)
{
    const double *cj = p->comp + j * p->d;
    double s = 0.0;
    for (size_t c = 0; c < p->d; c++)
        s += ((double)xi[c] - p->mean[c]) * cj[c];
    return s;
}

void ae_pca_transform(const ae_pca *p, const float *x, size_t n, float *codes)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < p->k; j++)
            codes[i * p->k + j] = (float)project(p, x + i * p->d, j);
}

/* Returns NaN when n == 0 or memory for k doubles cannot be had. */
double ae_pca_mse(const ae_pca *p, const float *x, size_t n)
{
    if (n == 0 || !p->comp)
        return NAN;
    double *code = malloc(p->k * sizeof *code);
    if (!code)
        return NAN;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * p->d;
        for (size_t j = 0; j < p->k; j++)
            code[j] = project(p, xi, j);
        for (size_t c = 0; c < p->d; c++) {
            double rec = p->mean[c];
            for (size_t j = 0; j < p->k; j++)
                rec += code[j] * p->comp[j * p->d + c];
            double e = (double)xi[c] - rec;
            sum += e * e;
        }
    }
    free(code);
    return sum / ((double)n * (double)p->d);
}
