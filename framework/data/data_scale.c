/* Per-column feature scaling fitted on one dataset and applied to others: standard (mean and
 * population std, as sklearn's StandardScaler) or min-max to [0, 1]. */
#include "ae_data.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per-column mean and population variance in double, the way sklearn computes them: two passes
 * with the correction term of the corrected two-pass algorithm. Row-major for cache locality;
 * acc is 2*d doubles of scratch. */
static void column_stats(const ae_dataset *ds, double *mean, double *var, double *acc)
{
    const size_t n = ds->n, d = ds->d;
    double *corr = acc, *sq = acc + d;
    memset(mean, 0, d * sizeof *mean);
    memset(acc, 0, 2 * d * sizeof *acc);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) mean[j] += ds->x[i * d + j];
    for (size_t j = 0; j < d; j++) mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double t = (double)ds->x[i * d + j] - mean[j];
            corr[j] += t;
            sq[j] += t * t;
        }
    for (size_t j = 0; j < d; j++) {
        var[j] = (sq[j] - corr[j] * corr[j] / (double)n) / (double)n;
        if (var[j] < 0) var[j] = 0;
    }
}

/* sklearn's _is_constant_feature: the variance is within rounding error of zero. */
static int is_constant(double var, double mean, size_t n)
{
    double nn = (double)n;
    return var <= nn * DBL_EPSILON * var + (nn * mean * DBL_EPSILON) * (nn * mean * DBL_EPSILON);
}

int ae_scaler_fit(ae_scaler *s, ae_scaling kind, const ae_dataset *fit, ae_err *err)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    if (kind == AE_SCALE_NONE) return AE_OK;
    if (kind != AE_SCALE_STANDARD && kind != AE_SCALE_MINMAX)
        return ae_errf(err, AE_EINTERNAL, "unknown scaling kind %d", (int)kind);
    if (!fit || fit->n == 0 || fit->d == 0)
        return ae_errf(err, AE_EINPUT, "cannot fit a scaler on an empty dataset");
    s->shift = malloc(fit->d * sizeof *s->shift);
    s->scale = malloc(fit->d * sizeof *s->scale);
    if (!s->shift || !s->scale) {
        ae_scaler_free(s);
        return ae_errf(err, AE_EINTERNAL, "out of memory for a %zu-column scaler", fit->d);
    }
    s->d = fit->d;
    const size_t n = fit->n, d = fit->d;
    if (kind == AE_SCALE_STANDARD) {
        double *acc = malloc(2 * d * sizeof *acc);
        if (!acc) {
            ae_scaler_free(s);
            return ae_errf(err, AE_EINTERNAL, "out of memory for a %zu-column scaler", d);
        }
        column_stats(fit, s->shift, s->scale, acc); /* scale holds the variance for now */
        free(acc);
        for (size_t j = 0; j < d; j++)
            s->scale[j] = is_constant(s->scale[j], s->shift[j], n) ? 1.0 : sqrt(s->scale[j]);
        return AE_OK;
    }
    double *lo = s->shift, *hi = s->scale; /* min and max, then min and range */
    for (size_t j = 0; j < d; j++) lo[j] = hi[j] = fit->x[j];
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double v = fit->x[i * d + j];
            if (v < lo[j]) lo[j] = v;
            if (v > hi[j]) hi[j] = v;
        }
    for (size_t j = 0; j < d; j++) hi[j] = hi[j] > lo[j] ? hi[j] - lo[j] : 1.0;
    return AE_OK;
}

int ae_scaler_fit_columns(ae_scaler *s, const ae_scaling *kinds, const ae_dataset *fit, ae_err *err)
{
    ae_scaler st, mm;
    memset(s, 0, sizeof *s);
    if (ae_scaler_fit(&st, AE_SCALE_STANDARD, fit, err)) return err->code;
    if (ae_scaler_fit(&mm, AE_SCALE_MINMAX, fit, err)) {
        ae_scaler_free(&st);
        return err->code;
    }
    *s = st; /* its arrays, rewritten per column: none is (x - 0) / 1, the value itself */
    for (size_t j = 0; j < fit->d; j++) {
        if (kinds[j] == AE_SCALE_MINMAX) s->shift[j] = mm.shift[j], s->scale[j] = mm.scale[j];
        else if (kinds[j] == AE_SCALE_NONE) s->shift[j] = 0.0, s->scale[j] = 1.0;
    }
    ae_scaler_free(&mm);
    return AE_OK;
}

/* x' = (x - shift) / scale in double, rounded to float once. Does nothing for AE_SCALE_NONE, a
 * NULL dataset, or a dataset whose width differs from the fitted one. */
void ae_scaler_apply(const ae_scaler *s, ae_dataset *ds)
{
    if (!s || !ds || s->kind == AE_SCALE_NONE || !s->shift || ds->d != s->d) return;
    for (size_t i = 0; i < ds->n; i++) {
        float *row = ds->x + i * ds->d;
        for (size_t j = 0; j < ds->d; j++)
            row[j] = (float)(((double)row[j] - s->shift[j]) / s->scale[j]);
    }
}

void ae_scaler_free(ae_scaler *s)
{
    if (!s) return;
    free(s->shift);
    free(s->scale);
    memset(s, 0, sizeof *s);
}
