/* PCA baseline: covariance from blocks of centred rows (oneDNN's sgemm per block, the blocks added
 * in double), full eigendecomposition on GSL (gsl_eigen_symmv), top-k components, projection and
 * reconstruction error. */
#include <dnnl.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"

enum { PCA_BLOCK = 1024 }; /* rows centred per product: bounds the extra memory to 1024*d + d*d floats */

void ae_pca_free(ae_pca *p)
{
    if (!p)
        return;
    free(p->mean);
    free(p->comp);
    free(p->comp32);
    free(p->explained);
    memset(p, 0, sizeof *p);
}

/* cov = sum over rows of (x - mean)(x - mean)^T: each block of rows centred in float, its product
 * by oneDNN's sgemm (GSL's reference dsyrk took 30 s for Fashion-MNIST's 60000 x 784, this about
 * half a second), the products added in double. */
static int accumulate_cov(const float *x, size_t n, size_t d, const double *mean, float *blk, float *prod,
                          gsl_matrix *cov)
{
    double *c = gsl_matrix_ptr(cov, 0, 0); /* d x d, contiguous (tda == d) */
    for (size_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        size_t rows = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < d; j++)
                blk[i * d + j] = (float)((double)x[(r0 + i) * d + j] - mean[j]);
        const dnnl_dim_t dd = (dnnl_dim_t)d;
        if (dnnl_sgemm('T', 'N', dd, dd, (dnnl_dim_t)rows, 1.0f, blk, dd, blk, dd, 0.0f, prod, dd) !=
            dnnl_success)
            return 1;
        for (size_t e = 0; e < d * d; e++)
            c[e] += prod[e];
    }
    return 0;
}

/* cov /= n - 1, symmetric to the last bit (the lower triangle mirrored); returns the first column
 * whose variance is not finite, or d. */
static size_t scale_cov(gsl_matrix *cov, size_t n)
{
    const size_t d = cov->size1;
    double denom = n > 1 ? (double)(n - 1) : 1.0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j <= i; j++) {
            double v = gsl_matrix_get(cov, i, j) / denom;
            gsl_matrix_set(cov, i, j, v);
            gsl_matrix_set(cov, j, i, v);
        }
    for (size_t i = 0; i < d; i++)
        if (!isfinite(gsl_matrix_get(cov, i, i))) return i;
    return d;
}

/* The top p->k eigenvectors (sorted, descending) as components with a fixed sign (the entry of
 * largest magnitude, the first one on ties, is positive) and their share of the variance. */
static void keep_components(ae_pca *p, const gsl_vector *eval, const gsl_matrix *evec)
{
    const size_t d = p->d;
    double total = 0.0;
    for (size_t i = 0; i < d; i++) {
        double v = gsl_vector_get(eval, i);
        total += v > 0.0 ? v : 0.0; /* round-off can make null eigenvalues slightly negative */
    }
    for (size_t j = 0; j < p->k; j++) {
        double v = gsl_vector_get(eval, j);
        p->explained[j] = total > 0.0 && v > 0.0 ? v / total : 0.0;
        size_t arg = 0;
        for (size_t c = 1; c < d; c++)
            if (fabs(gsl_matrix_get(evec, c, j)) > fabs(gsl_matrix_get(evec, arg, j)))
                arg = c;
        double s = gsl_matrix_get(evec, arg, j) < 0.0 ? -1.0 : 1.0;
        for (size_t c = 0; c < d; c++) {
            p->comp[j * d + c] = s * gsl_matrix_get(evec, c, j);
            p->comp32[j * d + c] = (float)p->comp[j * d + c];
        }
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
    gsl_matrix *cov = NULL, *evec = NULL;
    float *blk = NULL, *prod = NULL;
    gsl_vector *eval = NULL;
    gsl_eigen_symmv_workspace *ws = NULL;
    p->d = d;
    p->k = k;
    p->mean = calloc(d, sizeof *p->mean);
    p->comp = malloc(k * d * sizeof *p->comp);
    p->comp32 = malloc(k * d * sizeof *p->comp32);
    p->explained = malloc(k * sizeof *p->explained);
    cov = gsl_matrix_calloc(d, d);
    blk = malloc((n < PCA_BLOCK ? n : PCA_BLOCK) * d * sizeof *blk);
    prod = malloc(d * d * sizeof *prod);
    evec = gsl_matrix_alloc(d, d);
    eval = gsl_vector_alloc(d);
    ws = gsl_eigen_symmv_alloc(d);
    if (!p->mean || !p->comp || !p->comp32 || !p->explained || !cov || !blk || !prod || !evec || !eval ||
        !ws) {
        rc = ae_errf(err, AE_EINTERNAL, "pca: out of memory (d=%zu)", d);
        goto done;
    }

    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < d; c++)
            p->mean[c] += x[i * d + c];
    for (size_t c = 0; c < d; c++)
        p->mean[c] /= (double)n;

    if (accumulate_cov(x, n, d, p->mean, blk, prod, cov)) {
        rc = ae_errf(err, AE_EINTERNAL, "pca: oneDNN sgemm failed (d=%zu)", d);
        goto done;
    }
    size_t bad = scale_cov(cov, n);
    if (bad < d) {
        rc = ae_errf(err, AE_EINPUT, "pca: column %zu has non-finite values", bad);
        goto done;
    }

    if (gsl_eigen_symmv(cov, eval, evec, ws) != GSL_SUCCESS ||
        gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_DESC) != GSL_SUCCESS) {
        rc = ae_errf(err, AE_EINTERNAL, "pca: eigendecomposition failed");
        goto done;
    }

    keep_components(p, eval, evec);

done:
    gsl_eigen_symmv_free(ws);
    gsl_vector_free(eval);
    gsl_matrix_free(evec);
    free(blk);
    free(prod);
    gsl_matrix_free(cov);
    if (rc != AE_OK)
        ae_pca_free(p);
    return rc;
}

/* Rows x[0, rows) centred into blk (float), their codes (rows x k) by oneDNN's sgemm; 0 on success. */
static int block_codes(const ae_pca *p, const float *x, size_t rows, float *blk, float *code)
{
    const size_t d = p->d;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < d; j++)
            blk[i * d + j] = (float)((double)x[i * d + j] - p->mean[j]);
    return dnnl_sgemm('N', 'T', (dnnl_dim_t)rows, (dnnl_dim_t)p->k, (dnnl_dim_t)d, 1.0f, blk, (dnnl_dim_t)d,
                      p->comp32, (dnnl_dim_t)d, 0.0f, code, (dnnl_dim_t)p->k) != dnnl_success;
}

/* <x - mean, comp_j> in double: the fallback when the block buffers cannot be had. */
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
    const size_t d = p->d, k = p->k;
    float *blk = malloc((n < PCA_BLOCK ? n : PCA_BLOCK) * d * sizeof *blk);
    for (size_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        size_t rows = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        if (!blk || block_codes(p, x + r0 * d, rows, blk, codes + r0 * k))
            for (size_t i = r0; i < r0 + rows; i++)
                for (size_t j = 0; j < k; j++)
                    codes[i * k + j] = (float)project(p, x + i * d, j);
    }
    free(blk);
}

/* Returns NaN when n == 0 or the block buffers cannot be had. Per block: codes, the centred
 * reconstruction codes·comp (sgemm), and the squared error summed in double. */
double ae_pca_mse(const ae_pca *p, const float *x, size_t n)
{
    if (n == 0 || !p->comp32)
        return NAN;
    const size_t d = p->d, k = p->k, b = n < PCA_BLOCK ? n : PCA_BLOCK;
    float *blk = malloc(b * d * sizeof *blk), *rec = malloc(b * d * sizeof *rec);
    float *code = malloc(b * k * sizeof *code);
    double sum = blk && rec && code ? 0.0 : NAN;
    for (size_t r0 = 0; r0 < n && sum == sum; r0 += PCA_BLOCK) {
        size_t rows = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        if (block_codes(p, x + r0 * d, rows, blk, code) ||
            dnnl_sgemm('N', 'N', (dnnl_dim_t)rows, (dnnl_dim_t)d, (dnnl_dim_t)k, 1.0f, code, (dnnl_dim_t)k,
                       p->comp32, (dnnl_dim_t)d, 0.0f, rec, (dnnl_dim_t)d) != dnnl_success) {
            sum = NAN;
            break;
        }
        for (size_t e = 0; e < rows * d; e++) {
            double v = (double)blk[e] - (double)rec[e];
            sum += v * v;
        }
    }
    free(blk);
    free(rec);
    free(code);
    return sum / ((double)n * (double)d);
}
