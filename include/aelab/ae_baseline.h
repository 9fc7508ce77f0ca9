/* Reference methods that experiments compare autoencoders against, on GSL: PCA at a given code
 * size, a logistic/softmax-regression linear probe with k-fold cross-validation, a learned dictionary,
 * and summary statistics (mean, 95% confidence interval with Student t, Welch t-test). */
#ifndef AE_BASELINE_H
#define AE_BASELINE_H

#include <stddef.h>

#include "ae_error.h"

/* --- PCA ----------------------------------------------------------------------------------- */
typedef struct ae_pca {
    size_t d, k;
    double *mean;       /* d */
    double *comp;       /* k x d, rows = principal directions (unit length) */
    float *comp32;      /* comp in float, for the products (oneDNN sgemm) */
    double *explained;  /* k explained-variance ratios */
} ae_pca;
/* Fits on n x d rows (covariance d x d summed in double over blocks of rows whose products run in
 * float on oneDNN, gsl_eigen_symmv, components sorted by decreasing eigenvalue, sign fixed so the
 * largest-|.| entry of each is positive). Projections and reconstructions run on oneDNN's sgemm too,
 * block by block, error sums in double. */
int ae_pca_fit(ae_pca *p, const float *x, size_t n, size_t d, size_t k, ae_err *err);
void ae_pca_transform(const ae_pca *p, const float *x, size_t n, float *codes /* n x k */);
/* Mean squared reconstruction error over all n*d entries after projecting on k components. */
double ae_pca_mse(const ae_pca *p, const float *x, size_t n);
void ae_pca_free(ae_pca *p);

/* --- linear probe ----------------------------------------------------------------------------
 * Multinomial logistic regression (softmax; 2 classes = binary logistic) with L2 penalty
 * 1/(2C)·||W||² (C = 1 like scikit-learn's default; the bias is not penalised), features
 * standardized on the training part, fitted by full-batch L-BFGS or Newton/gradient descent to
 * convergence (double precision). */
typedef struct ae_probe_opts {
    double C;        /* inverse regularisation strength, default 1 */
    int max_iter;    /* default 500 */
} ae_probe_opts;
/* Labels must lie in [0, n_classes); the classes are the distinct label values present (of ytr
 * and yte together, in ascending order), so the cost follows their number, not n_classes.
 * Train on (xtr, ytr), return accuracy on (xte, yte). */
int ae_probe_accuracy(const float *xtr, const int *ytr, size_t ntr, const float *xte, const int *yte,
                      size_t nte, size_t d, int n_classes, const ae_probe_opts *o, double *acc,
                      ae_err *err);
/* Stratified k-fold (seeded shuffle within each class, mt19937) mean accuracy. */
int ae_probe_cv(const float *x, const int *y, size_t n, size_t d, int n_classes, int folds,
                unsigned long seed, const ae_probe_opts *o, double *mean_acc, ae_err *err);

/* --- dictionary learning -------------------------------------------------------------------
 * Online dictionary learning (Mairal et al. 2009) as scikit-learn 0.19's MiniBatchDictionaryLearning
 * (fit_algorithm lars, shuffle) runs it, in double: start from the top `atoms` right singular vectors
 * of X scaled by their singular values; shuffle the rows (seeded mt19937) and cycle through them in
 * batches; each batch's lasso codes argmin ½‖x − Σ c_a D_a‖² + alpha·‖c‖₁ (coordinate descent to
 * convergence: lasso_lars's minimiser), the statistics A, B with sklearn's forgetting factor, and one
 * pass of unit-length atom updates. `iterations` batches; atoms: atoms x d floats, row = one atom. */
typedef struct ae_dict_opts {
    size_t atoms, batch;
    long iterations;
    double alpha;
    unsigned long seed;
} ae_dict_opts;
int ae_dict_learn(const float *x, size_t n, size_t d, const ae_dict_opts *o, float *atoms, ae_err *err);

/* --- statistics ------------------------------------------------------------------------------ */
typedef struct ae_summary {
    size_t n;
    double mean, sd;       /* sample sd (n-1); 0 when n < 2 */
    double ci_lo, ci_hi;   /* mean ± t_{0.975, n-1}·sd/√n (gsl_cdf_tdist_Pinv); = mean when n < 2 */
    double min, max;
} ae_summary;
void ae_summarize(const double *v, size_t n, ae_summary *s);
/* Welch's unequal-variance t-test, two-sided p-value; NaN when either side has n < 2 or both
 * variances are 0 with equal means (p=1 when means equal). */
double ae_welch_p(const double *a, size_t na, const double *b, size_t nb);

/* --- anomaly AUROC ------------------------------------------------------------------------ */
/* Area under the ROC curve of `score` for positives (is_pos != 0); ties count half. */
double ae_auroc(const double *score, const int *is_pos, size_t n);
/* Area under the precision-recall curve as average precision (positives = anomalies): the sum over
 * the distinct scores t, highest first, of (recall(t) - recall(previous t)) · precision(t), where
 * recall and precision count every sample scoring >= t (tied samples enter together, as
 * scikit-learn's average_precision_score). NaN when there are no positives, a score is NaN, or
 * memory runs out; no negatives gives 1. */
double ae_auprc(const double *score, const int *is_pos, size_t n);

#endif
