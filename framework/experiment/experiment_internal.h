/* Shared between the experiment report (experiment_report.c) and its figures
 * (experiment_figures.c); not public API. */
#ifndef AE_EXPERIMENT_INTERNAL_H
#define AE_EXPERIMENT_INTERNAL_H

#include "ae_experiment.h"

/* A whole file as a NUL-terminated string (malloc'd), NULL if it cannot be read. */
char *ae_exp_slurp(const char *path);
/* Per run label (e->runs): 1 when its runs were trained with loss.reduction: sum (their loss is a
 * per-sample sum), 0 for a mean, -1 when none of its seeds has started. malloc'd; NULL = no memory. */
int *ae_exp_runs_summed(const ae_experiment *e);
/* loss_curves.png: per run the mean test MSE per epoch over seeds (the training loss without a
 * test split: then only runs of one loss unit share the plot). */
int ae_exp_loss_curves(const ae_experiment *e, const int *summed, ae_err *err);
/* reconstructions.png: each run's reconstruction grid (its first finished seed), stacked. */
int ae_exp_recon_stack(const ae_experiment *e, ae_err *err);

#endif
