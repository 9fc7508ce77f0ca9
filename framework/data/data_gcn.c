/* data.scaling: gcn_l1 (Ruff et al. 2018's preprocessing): global contrast normalization with the
 * L1 norm per row, then min-max scaling by one minimum and one maximum over every value of the
 * training rows (the normal class under data.normal_labels), applied to every split. */
#include <math.h>

#include "ae_data.h"

void ae_gcn_l1(ae_dataset *ds)
{
    for (size_t i = 0; i < ds->n; i++) {
        float *row = ds->x + i * ds->d;
        double mean = 0, mad = 0;
        for (size_t j = 0; j < ds->d; j++) mean += row[j];
        mean /= (double)ds->d;
        for (size_t j = 0; j < ds->d; j++) mad += fabs((double)row[j] - mean);
        mad /= (double)ds->d;
        if (!(mad > 0)) mad = 1.0; /* a constant row: centred only (all zeros) */
        for (size_t j = 0; j < ds->d; j++) row[j] = (float)(((double)row[j] - mean) / mad);
    }
}

/* x' = (x - lo) / (hi - lo) in double, rounded to float once. */
static void apply_minmax(ae_dataset *ds, double lo, double range)
{
    for (size_t i = 0; ds && i < ds->n * ds->d; i++) ds->x[i] = (float)(((double)ds->x[i] - lo) / range);
}

int ae_scale_gcn_l1(ae_dataset *train, ae_dataset *test, ae_dataset *val, ae_err *err)
{
    if (!train->n || !train->d) return ae_errf(err, AE_EINPUT, "data.scaling: gcn_l1: no training rows to fit on");
    ae_dataset *sets[3] = {train, test, val};
    for (int s = 0; s < 3; s++)
        if (sets[s]) ae_gcn_l1(sets[s]);
    float lo, hi;
    ae_dataset_range(train, &lo, &hi);
    double range = hi > lo ? (double)hi - lo : 1.0;
    for (int s = 0; s < 3; s++) apply_minmax(sets[s], lo, range);
    return AE_OK;
}
