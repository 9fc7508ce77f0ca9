/* The one-class protocol's outputs (data.normal_labels / data.exclude_label): every test sample's
 * anomaly score (ae_anomaly_scores, or a VAE's -ELBO: outputs.anomaly_elbo_samples) into scores.csv, and the AUROC and AUPRC of the scores with the
 * anomalous classes positive. */
#include <stdio.h>
#include <stdlib.h>

#include "ae_baseline.h"
#include "ae_report.h"
#include "ae_run.h"
#include "ae_vae.h"

/* scores.csv: index (test row), label, score, is_anomaly; written at once (atomic). */
static int write_scores(const ae_run *r, const double *score, const int *pos, ae_err *err)
{
    char *buf = NULL, p[4200];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return ae_errf(err, AE_EINTERNAL, "out of memory");
    fprintf(f, "index,label,score,is_anomaly\n");
    for (size_t i = 0; i < r->test.n; i++)
        fprintf(f, "%zu,%d,%.17g,%d\n", i, r->test.label[i], score[i], pos[i]);
    int rc = fclose(f) ? ae_errf(err, AE_EINTERNAL, "out of memory") : AE_OK;
    if (!rc) rc = ae_write_file_atomic(ae_path_join(p, sizeof p, r->out_dir, "scores.csv"), buf, len, err);
    free(buf);
    return rc;
}

int ae_run_anomaly(ae_run *r, double *auroc, double *auprc, ae_err *err)
{
    const ae_dataset *t = &r->test;
    double *score = malloc((t->n ? t->n : 1) * sizeof *score), *rank = malloc((t->n ? t->n : 1) * sizeof *rank);
    int *pos = malloc((t->n ? t->n : 1) * sizeof *pos);
    int rc = score && rank && pos ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory");
    if (!rc && r->anomaly_elbo > 0) /* a VAE's -ELBO (outputs.anomaly_elbo_samples) */
        rc = ae_vae_neg_elbo_rows(r->model, t, (int)r->anomaly_elbo, r->eval_batch, score, err);
    else if (!rc) rc = ae_anomaly_scores(r->model, t, r->eval_batch, score, err);
    for (size_t i = 0; !rc && i < t->n; i++) {
        pos[i] = ae_oneclass_is_anomaly(&r->oneclass, t->label[i]);
        /* exclude_label ranks by the mean over the features, as it always did (the same AUROC to the
         * last bit); normal_labels by the sum itself */
        rank[i] = r->oneclass.excluded ? score[i] / (double)t->d : score[i];
    }
    if (!rc) {
        *auroc = ae_auroc(rank, pos, t->n);
        *auprc = ae_auprc(rank, pos, t->n);
        rc = write_scores(r, score, pos, err);
    }
    free(score);
    free(rank);
    free(pos);
    return rc;
}
