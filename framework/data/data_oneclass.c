/* The one-class protocol's split: data.normal_labels (train on those classes only, every other class
 * is an anomaly) and its special case data.exclude_label (one class held out of training). */
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"

void ae_oneclass_free(ae_oneclass *oc)
{
    free(oc->classes);
    memset(oc, 0, sizeof *oc);
}

/* normal_labels: a class (an integer) or a non-empty list of distinct classes. */
static int read_normal(ae_cfg *d, ae_oneclass *oc, ae_err *err)
{
    char w[256];
    ae_cfg *n = ae_cfg_get(d, "normal_labels");
    int seq = ae_cfg_kind_of(n) == AE_CFG_SEQ;
    size_t k = seq ? ae_cfg_len(n) : 1;
    if (!seq && !ae_cfg_scalar(n))
        return ae_errf(err, AE_EINPUT, "%s: data.normal_labels: expected a class or a list of classes "
                       "(integers >= 0), e.g. [0] or [3, 5]", ae_cfg_where(n, w, sizeof w));
    if (k == 0)
        return ae_errf(err, AE_EINPUT, "%s: data.normal_labels: the list is empty (name the normal "
                       "class(es), e.g. [0])", ae_cfg_where(n, w, sizeof w));
    if (!(oc->classes = calloc(k, sizeof *oc->classes))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    oc->n = k;
    oc->where = n;
    for (size_t i = 0; i < k; i++) {
        const ae_cfg *v = seq ? ae_cfg_at(n, i) : n;
        if (ae_cfg_to_int(v, 0, 1L << 20, &oc->classes[i], err))
            return ae_err_prefix(err, "data.normal_labels");
        for (size_t j = 0; j < i; j++)
            if (oc->classes[j] == oc->classes[i])
                return ae_errf(err, AE_EINPUT, "%s: data.normal_labels: class %ld is listed twice",
                               ae_cfg_where(v, w, sizeof w), oc->classes[i]);
    }
    return AE_OK;
}

int ae_oneclass_read(ae_cfg *d, ae_oneclass *oc, ae_err *err)
{
    char w[256];
    memset(oc, 0, sizeof *oc);
    long ex = -1;
    if (!d) return AE_OK;
    if (ae_cfg_has(d, "exclude_label") && ae_cfg_int(d, "exclude_label", -1, -1, 1L << 20, &ex, err))
        return err->code;
    if (ae_cfg_has(d, "normal_labels")) {
        if (ex >= 0)
            return ae_errf(err, AE_EINPUT, "%s: data.normal_labels: give it or data.exclude_label, not both "
                           "(exclude_label: %ld is normal_labels: every other class)",
                           ae_cfg_where(ae_cfg_get(d, "normal_labels"), w, sizeof w), ex);
        if (read_normal(d, oc, err)) {
            ae_oneclass_free(oc);
            return err->code;
        }
        return AE_OK;
    }
    if (ex < 0) return AE_OK;
    if (!(oc->classes = malloc(sizeof *oc->classes))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    oc->classes[0] = ex;
    oc->n = 1;
    oc->excluded = 1;
    oc->where = ae_cfg_get(d, "exclude_label");
    return AE_OK;
}

int ae_oneclass_is_anomaly(const ae_oneclass *oc, int label)
{
    int listed = 0;
    for (size_t i = 0; i < oc->n && !listed; i++) listed = oc->classes[i] == label;
    return oc->excluded ? listed : !listed;
}

/* Labels, a test split, and every class named present in the training rows. */
static int check(const ae_oneclass *oc, const ae_dataset *train, const ae_dataset *test, ae_err *err)
{
    char w[256];
    const char *key = oc->excluded ? "data.exclude_label" : "data.normal_labels";
    ae_cfg_where(oc->where, w, sizeof w);
    if (!train->label || !test->n || !test->label)
        return ae_errf(err, AE_EINPUT, "%s: %s needs labels and a test split (the anomalies are scored on the "
                       "test set): %s", w, key, !train->label ? "this data has no labels (csv: data.label)"
                                                              : "set data.test_fraction or give a test set");
    for (size_t c = 0; c < oc->n; c++) {
        size_t hits = 0;
        for (size_t i = 0; i < train->n; i++) hits += train->label[i] == oc->classes[c];
        if (!hits)
            return ae_errf(err, AE_EINPUT, "%s: %s: class %ld does not occur in the training data (its labels "
                           "are 0..%d)", w, key, oc->classes[c], train->n_classes - 1);
    }
    return AE_OK;
}

int ae_oneclass_split(const ae_oneclass *oc, ae_dataset *train, const ae_dataset *test, ae_err *err)
{
    char w[256];
    if (!oc->n) return AE_OK;
    if (check(oc, train, test, err)) return err->code;
    size_t *idx = malloc((train->n ? train->n : 1) * sizeof *idx), k = 0;
    if (!idx) return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (size_t i = 0; i < train->n; i++)
        if (!ae_oneclass_is_anomaly(oc, train->label[i])) idx[k++] = i;
    size_t anomalies = 1; /* normal_labels: the test split must hold some of both kinds (exclude_label
                             never asked: a test split without the class gave no AUROC) */
    if (!oc->excluded) {
        anomalies = 0;
        for (size_t i = 0; i < test->n; i++) anomalies += (size_t)ae_oneclass_is_anomaly(oc, test->label[i]);
    }
    ae_dataset kept;
    int rc = k == 0 || k == train->n || anomalies == 0 || (!oc->excluded && anomalies == test->n)
                 ? ae_errf(err, AE_EINPUT, "%s: %s: %s", ae_cfg_where(oc->where, w, sizeof w),
                           oc->excluded ? "data.exclude_label" : "data.normal_labels",
                           k == 0 ? "no training row is of a normal class"
                           : k == train->n ? "every training row is of a normal class (no class is left as the anomaly)"
                           : anomalies == 0 ? "the test split holds no anomaly (every test row is of a normal class)"
                                            : "the test split holds no row of a normal class")
                 : ae_dataset_take(train, idx, k, &kept, err);
    free(idx);
    if (rc) return rc;
    ae_dataset_free(train);
    *train = kept;
    return AE_OK;
}
