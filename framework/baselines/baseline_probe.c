/* Linear probe: L2-penalised logistic (2 classes) or softmax (K > 2) regression on standardized
 * features, fitted with GSL's BFGS (vector_bfgs2) in double, and its stratified k-fold accuracy.
 *
 * Objective (scikit-learn LogisticRegression(C) with lbfgs, whose minimiser it shares):
 *   sum_i logloss_i + 1/(2C)·||W||²   (bias unpenalised), divided by n for conditioning.
 *   2 classes: one weight vector, logloss = log(1 + exp(-s·z)), s = ±1 (sklearn's binary case);
 *   K > 2: K weight vectors, logloss = logsumexp(z) - z_y (sklearn's multinomial).
 * Features are standardized with the training part's mean and population sd (sd 0 -> 1), as
 * StandardScaler. Stops when ||grad|| < 1e-6 (of the per-sample objective), when the line search
 * makes no more progress, or after max_iter iterations. Prediction: class 1 iff z > 0; argmax z
 * (lowest index on ties).
 * Classes are the distinct label values (of the training and test labels together) in ascending
 * order, mapped to 0..K-1: the probe's size follows K, not the largest label.
 * CV folds: classes in that order; each class's sample indices (ascending) are shuffled with
 * ae_rng_shuffle (one ae_rng seeded with `seed`, shared across classes) and dealt round-robin,
 * the fold counter continuing from one class to the next; accuracy = mean over folds. */
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"
#include "ae_rng.h"

typedef struct probe {
    const float *x;
    const int *y;
    const size_t *idx; /* training rows (NULL = 0..n-1) */
    size_t n, d;
    int kc;          /* output columns: 1 for binary, K otherwise */
    double lambda;   /* 1/C */
    double *mu, *isd; /* standardization */
    double *xs;      /* n x d: the training rows standardized once (the same doubles as on the fly) */
    double *xt;      /* d x n: the same, transposed (the logits of all rows at once, below) */
    double *zall;    /* n x kc: the logits of every training row */
    double *z, *e;   /* kc scratch */
} probe;

static size_t row_of(const probe *pb, size_t i)
{
    return pb->idx ? pb->idx[i] : i;
}

/* z = W·xs + b for a standardized row xs, params laid out as W [kc x d] then b [kc]. */
static void logits(const probe *pb, const double *w, const double *xs, double *z)
{
    const double *b = w + (size_t)pb->kc * pb->d;
    for (int k = 0; k < pb->kc; k++) {
        const double *wk = w + (size_t)k * pb->d;
        double s = b[k];
        for (size_t c = 0; c < pb->d; c++)
            s += wk[c] * xs[c];
        z[k] = s;
    }
}

/* logits() of every training row into zall: the same sums in the same order (b, then + w_c·x_c for
 * c ascending) for each row, the rows side by side in the inner loop (vectorised: the same bits). */
static void logits_all(const probe *pb, const double *w)
{
    const size_t n = pb->n, kc = (size_t)pb->kc;
    const double *b = w + kc * pb->d;
    double *zk = pb->zall; /* kc x n while summing: row k holds the logit k of every row */
    for (size_t k = 0; k < kc; k++) {
        double *zr = zk + k * n;
        const double *wk = w + k * pb->d;
        for (size_t i = 0; i < n; i++)
            zr[i] = b[k];
        for (size_t c = 0; c < pb->d; c++) {
            const double wc = wk[c], *xc = pb->xt + c * n;
            for (size_t i = 0; i < n; i++)
                zr[i] += wc * xc[i];
        }
    }
}

/* Objective and gradient (either may be NULL). */
static void eval(const gsl_vector *v, void *params, double *f, gsl_vector *g)
{
    probe *pb = params;
    const double *w = gsl_vector_const_ptr(v, 0);
    size_t nw = (size_t)pb->kc * pb->d, np = nw + (size_t)pb->kc;
    double *gr = g ? gsl_vector_ptr(g, 0) : NULL;
    if (gr)
        memset(gr, 0, np * sizeof *gr);
    double loss = 0.0;
    logits_all(pb, w);
    for (size_t i = 0; i < pb->n; i++) {
        const double *xr = pb->xs + i * pb->d;
        int y = pb->y[row_of(pb, i)];
        double *z = pb->z;
        for (int k = 0; k < pb->kc; k++)
            z[k] = pb->zall[(size_t)k * pb->n + i];
        if (pb->kc == 1) {
            double m = y == 1 ? -z[0] : z[0]; /* loss = softplus(m) */
            loss += m > 0.0 ? m + log1p(exp(-m)) : log1p(exp(m));
            z[0] = 1.0 / (1.0 + exp(-z[0])) - (double)(y == 1); /* dloss/dz */
        } else {
            double mx = z[0];
            for (int k = 1; k < pb->kc; k++)
                mx = z[k] > mx ? z[k] : mx;
            double se = 0.0;
            for (int k = 0; k < pb->kc; k++)
                se += pb->e[k] = exp(z[k] - mx);
            loss += mx + log(se) - z[y];
            for (int k = 0; k < pb->kc; k++)
                z[k] = pb->e[k] / se - (double)(k == y);
        }
        if (!gr)
            continue;
        for (int k = 0; k < pb->kc; k++) {
            double *gk = gr + (size_t)k * pb->d;
            for (size_t c = 0; c < pb->d; c++)
                gk[c] += z[k] * xr[c];
            gr[nw + (size_t)k] += z[k];
        }
    }
    double reg = 0.0;
    for (size_t j = 0; j < nw; j++)
        reg += w[j] * w[j];
    double inv_n = 1.0 / (double)pb->n;
    if (f)
        *f = (loss + 0.5 * pb->lambda * reg) * inv_n;
    if (gr)
        for (size_t j = 0; j < np; j++)
            gr[j] = (gr[j] + (j < nw ? pb->lambda * w[j] : 0.0)) * inv_n;
}

static double eval_f(const gsl_vector *v, void *params)
{
    double f;
    eval(v, params, &f, NULL);
    return f;
}

static void eval_df(const gsl_vector *v, void *params, gsl_vector *g)
{
    eval(v, params, NULL, g);
}

static void eval_fdf(const gsl_vector *v, void *params, double *f, gsl_vector *g)
{
    eval(v, params, f, g);
}

static void standardize(const probe *pb, const float *xr, double *xs)
{
    for (size_t c = 0; c < pb->d; c++)
        xs[c] = ((double)xr[c] - pb->mu[c]) * pb->isd[c];
}

static void standardize_fit(probe *pb)
{
    for (size_t c = 0; c < pb->d; c++) {
        double m = 0.0, s = 0.0;
        for (size_t i = 0; i < pb->n; i++)
            m += pb->x[row_of(pb, i) * pb->d + c];
        m /= (double)pb->n;
        for (size_t i = 0; i < pb->n; i++) {
            double e = pb->x[row_of(pb, i) * pb->d + c] - m;
            s += e * e;
        }
        s = sqrt(s / (double)pb->n);
        pb->mu[c] = m;
        pb->isd[c] = s > 0.0 ? 1.0 / s : 1.0;
    }
    for (size_t i = 0; i < pb->n; i++)
        standardize(pb, pb->x + row_of(pb, i) * pb->d, pb->xs + i * pb->d);
    for (size_t i = 0; i < pb->n; i++)
        for (size_t c = 0; c < pb->d; c++)
            pb->xt[c * pb->n + i] = pb->xs[i * pb->d + c];
}

static int predict(const probe *pb, const double *w, const float *xr, double *xs)
{
    standardize(pb, xr, xs);
    logits(pb, w, xs, pb->z);
    if (pb->kc == 1)
        return pb->z[0] > 0.0;
    int best = 0;
    for (int k = 1; k < pb->kc; k++)
        if (pb->z[k] > pb->z[best])
            best = k;
    return best;
}

/* Fits on rows idx[0..ntr) of (x, y) and returns accuracy on rows tidx[0..nte) of (xt, yt)
 * (idx / tidx NULL = consecutive rows). */
static int fit_score(const float *x, const int *y, const size_t *idx, size_t ntr, const float *xt,
                     const int *yt, const size_t *tidx, size_t nte, size_t d, int n_classes,
                     const ae_probe_opts *o, double *acc, ae_err *err)
{
    double C = o && o->C > 0.0 ? o->C : 1.0;
    int max_iter = o && o->max_iter > 0 ? o->max_iter : 500;
    probe pb = {.x = x, .y = y, .idx = idx, .n = ntr, .d = d, .kc = n_classes == 2 ? 1 : n_classes,
                .lambda = 1.0 / C};
    size_t np = ((size_t)pb.kc) * (d + 1);
    int rc = AE_OK;
    gsl_vector *w0 = NULL;
    gsl_multimin_fdfminimizer *s = NULL;
    pb.mu = malloc(d * sizeof *pb.mu);
    pb.isd = malloc(d * sizeof *pb.isd);
    pb.z = malloc((size_t)pb.kc * sizeof *pb.z);
    pb.e = malloc((size_t)pb.kc * sizeof *pb.e);
    pb.xs = malloc((ntr ? ntr : 1) * d * sizeof *pb.xs);
    pb.xt = malloc((ntr ? ntr : 1) * d * sizeof *pb.xt);
    pb.zall = malloc((ntr ? ntr : 1) * (size_t)pb.kc * sizeof *pb.zall);
    w0 = gsl_vector_calloc(np);
    s = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, np);
    if (!pb.mu || !pb.isd || !pb.z || !pb.e || !pb.xs || !pb.xt || !pb.zall || !w0 || !s) {
        rc = ae_errf(err, AE_EINTERNAL, "probe: out of memory (%zu parameters)", np);
        goto done;
    }
    standardize_fit(&pb);
    gsl_multimin_function_fdf fn = {.f = eval_f, .df = eval_df, .fdf = eval_fdf, .n = np,
                                    .params = &pb};
    gsl_multimin_fdfminimizer_set(s, &fn, w0, 0.1, 0.1);
    for (int it = 0; it < max_iter; it++) {
        if (gsl_multimin_test_gradient(s->gradient, 1e-6) == GSL_SUCCESS)
            break;
        if (gsl_multimin_fdfminimizer_iterate(s) != GSL_SUCCESS)
            break; /* GSL_ENOPROG: the line search cannot improve any more */
    }
    if (!isfinite(s->f)) {
        rc = ae_errf(err, AE_EDIVERGED, "probe: non-finite loss (are the features finite?)");
        goto done;
    }
    const double *w = gsl_vector_const_ptr(s->x, 0);
    size_t hit = 0;
    for (size_t i = 0; i < nte; i++) {
        size_t r = tidx ? tidx[i] : i;
        hit += predict(&pb, w, xt + r * d, pb.xs) == yt[r];
    }
    *acc = (double)hit / (double)nte;
done:
    gsl_multimin_fdfminimizer_free(s);
    gsl_vector_free(w0);
    free(pb.z);
    free(pb.e);
    free(pb.xs);
    free(pb.xt);
    free(pb.zall);
    free(pb.isd);
    free(pb.mu);
    return rc;
}

static int check_labels(const int *y, size_t n, int n_classes, const char *what, ae_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= n_classes)
            return ae_errf(err, AE_EINPUT, "probe: %s label %d at row %zu is outside [0, %d)", what,
                           y[i], i, n_classes);
    return AE_OK;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Classes are the distinct label values of a and b, in ascending order: ma / mb get each label's
 * class index 0..K-1 (malloc'd), *k = K. The probe's size follows K, not the largest label. */
static int map_classes(const int *a, size_t na, const int *b, size_t nb, int **ma, int **mb, int *k,
                       ae_err *err)
{
    int *v = malloc((na + nb) * sizeof *v);
    *ma = malloc(na * sizeof **ma);
    *mb = nb ? malloc(nb * sizeof **mb) : NULL;
    if (!v || !*ma || (nb && !*mb)) {
        free(v);
        free(*ma);
        free(*mb);
        *ma = *mb = NULL;
        return ae_errf(err, AE_EINTERNAL, "probe: out of memory (%zu labels)", na + nb);
    }
    memcpy(v, a, na * sizeof *v);
    if (nb) memcpy(v + na, b, nb * sizeof *v);
    qsort(v, na + nb, sizeof *v, cmp_int);
    size_t K = 0;
    for (size_t i = 0; i < na + nb; i++)
        if (i == 0 || v[i] != v[K - 1]) v[K++] = v[i];
    for (size_t i = 0; i < na + nb; i++) {
        int lab = i < na ? a[i] : b[i - na];
        const int *at = bsearch(&lab, v, K, sizeof *v, cmp_int);
        (i < na ? *ma : *mb)[i < na ? i : i - na] = (int)(at - v);
    }
    free(v);
    *k = K < 2 ? 2 : (int)K; /* one class alone: a binary probe that always predicts it */
    return AE_OK;
}

int ae_probe_accuracy(const float *xtr, const int *ytr, size_t ntr, const float *xte, const int *yte,
                      size_t nte, size_t d, int n_classes, const ae_probe_opts *o, double *acc,
                      ae_err *err)
{
    if (n_classes < 2)
        return ae_errf(err, AE_EINPUT, "probe: need at least 2 classes, got %d", n_classes);
    if (ntr == 0 || nte == 0 || d == 0)
        return ae_errf(err, AE_EINPUT, "probe: empty data (%zu train, %zu test rows, %zu features)",
                       ntr, nte, d);
    int rc = check_labels(ytr, ntr, n_classes, "training", err);
    if (rc == AE_OK)
        rc = check_labels(yte, nte, n_classes, "test", err);
    int *ctr = NULL, *cte = NULL, k = 0;
    if (rc == AE_OK)
        rc = map_classes(ytr, ntr, yte, nte, &ctr, &cte, &k, err);
    if (rc == AE_OK)
        rc = fit_score(xtr, ctr, NULL, ntr, xte, cte, NULL, nte, d, k, o, acc, err);
    free(ctr);
    free(cte);
    return rc;
}

/* Stratified folds: each class's rows (ascending) shuffled by r and dealt round-robin, the fold
 * counter continuing from one class to the next. */
static void deal_folds(const int *y, size_t n, int k, int folds, ae_rng *r, size_t *cls,
                       size_t *fold_of)
{
    size_t deal = 0;
    for (int c = 0; c < k; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (y[i] == c)
                cls[m++] = i;
        ae_rng_shuffle(r, cls, m);
        for (size_t i = 0; i < m; i++)
            fold_of[cls[i]] = deal++ % (size_t)folds;
    }
}

int ae_probe_cv(const float *x, const int *y, size_t n, size_t d, int n_classes, int folds,
                unsigned long seed, const ae_probe_opts *o, double *mean_acc, ae_err *err)
{
    if (n_classes < 2)
        return ae_errf(err, AE_EINPUT, "probe: need at least 2 classes, got %d", n_classes);
    if (d == 0 || folds < 2 || (size_t)folds > n)
        return ae_errf(err, AE_EINPUT, "probe: %d folds over %zu rows (%zu features)", folds, n, d);
    int rc = check_labels(y, n, n_classes, "", err), k = 0, *yc = NULL, *none = NULL;
    if (rc == AE_OK)
        rc = map_classes(y, n, NULL, 0, &yc, &none, &k, err);
    if (rc != AE_OK)
        return rc;

    size_t *fold_of = malloc(n * sizeof *fold_of);
    size_t *cls = malloc(n * sizeof *cls);
    size_t *tr = malloc(n * sizeof *tr), *te = malloc(n * sizeof *te);
    ae_rng *r = ae_rng_new(seed);
    if (!fold_of || !cls || !tr || !te || !r) {
        rc = ae_errf(err, AE_EINTERNAL, "probe: out of memory (%zu rows)", n);
        goto done;
    }
    deal_folds(yc, n, k, folds, r, cls, fold_of);
    double sum = 0.0;
    for (int f = 0; f < folds && rc == AE_OK; f++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold_of[i] == (size_t)f)
                te[nte++] = i;
            else
                tr[ntr++] = i;
        }
        double acc = 0.0;
        rc = fit_score(x, yc, tr, ntr, x, yc, te, nte, d, k, o, &acc, err);
        sum += acc;
    }
    if (rc == AE_OK)
        *mean_acc = sum / folds;
done:
    ae_rng_free(r);
    free(te);
    free(tr);
    free(cls);
    free(fold_of);
    free(yc);
    return rc;
}
