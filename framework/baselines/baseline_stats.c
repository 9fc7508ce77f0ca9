/* Summary statistics for comparing runs on GSL: mean ± Student-t 95% interval, Welch's t-test
 * p-value, and the AUROC (rank statistic, ties counted half) and AUPRC (average precision, ties
 * entering together) of anomaly scores. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>

#include "ae_baseline.h"

/* n == 0 gives NaN mean, interval, min and max (sd 0). */
void ae_summarize(const double *v, size_t n, ae_summary *s)
{
    s->n = n;
    s->sd = 0.0;
    if (n == 0) {
        s->mean = s->ci_lo = s->ci_hi = s->min = s->max = NAN;
        return;
    }
    s->mean = gsl_stats_mean(v, 1, n);
    gsl_stats_minmax(&s->min, &s->max, v, 1, n);
    s->ci_lo = s->ci_hi = s->mean;
    if (n < 2)
        return;
    s->sd = gsl_stats_sd_m(v, 1, n, s->mean);
    double h = gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * s->sd / sqrt((double)n);
    s->ci_lo = s->mean - h;
    s->ci_hi = s->mean + h;
}

/* Both variances 0: p = 1 when the means are equal, 0 when they differ (t is infinite). */
double ae_welch_p(const double *a, size_t na, const double *b, size_t nb)
{
    if (na < 2 || nb < 2)
        return NAN;
    double ma = gsl_stats_mean(a, 1, na), mb = gsl_stats_mean(b, 1, nb);
    double qa = gsl_stats_variance_m(a, 1, na, ma) / (double)na;
    double qb = gsl_stats_variance_m(b, 1, nb, mb) / (double)nb;
    double se2 = qa + qb;
    if (!isfinite(se2) || !isfinite(ma) || !isfinite(mb))
        return NAN;
    if (se2 == 0.0)
        return ma == mb ? 1.0 : 0.0;
    double t = (ma - mb) / sqrt(se2);
    double df = se2 * se2 / (qa * qa / (double)(na - 1) + qb * qb / (double)(nb - 1));
    double p = 2.0 * gsl_cdf_tdist_Q(fabs(t), df);
    return p > 1.0 ? 1.0 : p;
}

typedef struct scored {
    double s;
    int pos;
} scored;

static int by_score(const void *pa, const void *pb)
{
    double a = ((const scored *)pa)->s, b = ((const scored *)pb)->s;
    return (a > b) - (a < b);
}

/* The scores sorted ascending with their labels, and the positives (NULL: NaN score or no memory). */
static scored *sort_scores(const double *score, const int *is_pos, size_t n, size_t *npos)
{
    scored *v = malloc((n ? n : 1) * sizeof *v);
    *npos = 0;
    for (size_t i = 0; v && i < n; i++) {
        if (isnan(score[i])) {
            free(v);
            return NULL;
        }
        v[i].s = score[i];
        v[i].pos = is_pos[i] != 0;
        *npos += (size_t)v[i].pos;
    }
    if (v) qsort(v, n, sizeof *v, by_score);
    return v;
}

double ae_auprc(const double *score, const int *is_pos, size_t n)
{
    size_t npos;
    scored *v = sort_scores(score, is_pos, n, &npos);
    if (!v || npos == 0) {
        free(v);
        return NAN;
    }
    double ap = 0.0, tp = 0.0, seen = 0.0;
    for (size_t j = n; j > 0;) { /* from the highest score down, one group of equal scores at a time */
        size_t i = j;
        double pg = 0.0;
        while (i > 0 && v[i - 1].s == v[j - 1].s) pg += (double)v[--i].pos;
        tp += pg;
        seen += (double)(j - i);
        ap += pg / (double)npos * (tp / seen);
        j = i;
    }
    free(v);
    return ap;
}

/* Mann-Whitney form: sum over score groups of P_g·(negatives below) + P_g·N_g/2, over P·N.
 * NaN when there are no positives or no negatives, a score is NaN, or memory runs out. */
double ae_auroc(const double *score, const int *is_pos, size_t n)
{
    scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NAN;
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(score[i])) {
            free(v);
            return NAN;
        }
        v[i].s = score[i];
        v[i].pos = is_pos[i] != 0;
        npos += (size_t)v[i].pos;
    }
    size_t nneg = n - npos;
    if (npos == 0 || nneg == 0) {
        free(v);
        return NAN;
    }
    qsort(v, n, sizeof *v, by_score);
    double area = 0.0, neg_below = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double pg = 0.0, ng = 0.0;
        while (j < n && v[j].s == v[i].s) {
            if (v[j].pos)
                pg += 1.0;
            else
                ng += 1.0;
            j++;
        }
        area += pg * neg_below + 0.5 * pg * ng;
        neg_below += ng;
        i = j;
    }
    free(v);
    return area / ((double)npos * (double)nneg);
}
