/* Private to the experiment module: the runner strategies (experiment_exec*.c, experiment_mpi*.c)
 * and what the report (experiment_report.c) shares with its figures (experiment_figures.c). */
#ifndef AE_EXPERIMENT_INTERNAL_H
#define AE_EXPERIMENT_INTERNAL_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "ae_baseline.h"
#include "ae_experiment.h"

/* --- runners: one interface, three strategies ----------------------------------------------
 * Each runs this process's share of the jobs by the one exit-code rule of ae_experiment_exec. */
typedef struct ae_exp_runner {
    const char *name;
    int (*exec)(const ae_experiment *e, const ae_experiment_opts *o, ae_err *err);
    int (*writes_report)(void); /* 1 when this process writes the results table */
} ae_exp_runner;

extern const ae_exp_runner ae_exp_runner_seq;  /* experiment_exec_seq.c: in job order, here */
extern const ae_exp_runner ae_exp_runner_fork; /* experiment_exec_fork.c: --jobs N workers */
/* The MPI runner when this process was started by mpirun with more than one rank (*r = NULL
 * otherwise: run here). experiment_mpi.c with -DAELAB_WITH_MPI=ON; experiment_mpi_stub.c without:
 * *r = NULL, and AE_EINPUT ("not built with MPI") when a launcher started several processes. */
int ae_exp_mpi_runner(const ae_exp_runner **r, ae_err *err);
/* The strategy for o: MPI ranks, else o->jobs > 1 worker processes, else in order. */
int ae_exp_choose_runner(const ae_experiment_opts *o, const ae_exp_runner **r, ae_err *err);
/* The process writes the results table (the runners in one process). */
int ae_exp_writes_report(void);

/* Signals (experiment_exec.c): an interrupt stops every running job at a checkpoint. */
typedef struct ae_exp_handlers {
    struct sigaction old_int, old_term;
} ae_exp_handlers;
void ae_exp_catch_signals(ae_exp_handlers *h);
void ae_exp_restore_signals(const ae_exp_handlers *h);
int ae_exp_signalled(void);                 /* the first SIGINT/SIGTERM received, 0 = none */
void ae_exp_set_in_job(int on);             /* in order: a job runs in this process */
void ae_exp_track_workers(pid_t *pids, int n); /* --jobs: the running workers (0 = free); NULL, 0 ends */
/* AE_EINTERRUPTED with the resume hint ("interrupted<what>; run the same command again ..."). */
int ae_exp_interrupted(ae_err *err, const char *what);

/* --- report ---------------------------------------------------------------------------------- */

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

/* The results table experiment_report.c gathers: per row (run label, then PCA rows) and metric
 * column the values over seeds, and their summaries. */
#define AE_EXP_MAX_METRICS 48
#define AE_EXP_MAX_SEEDS 64
typedef struct ae_exp_cell {
    double v[AE_EXP_MAX_SEEDS];
    size_t n;
} ae_exp_cell;
typedef struct ae_exp_table {
    char metric[AE_EXP_MAX_METRICS][64];
    int nm;
    ae_exp_cell *c;   /* nrows x AE_EXP_MAX_METRICS */
    size_t nrows;
    char (*row)[128];
    int *finished;    /* seeds finished per row */
} ae_exp_table;
/* The summaries, each row's baseline row (the baseline run with the same grid suffix; -1 none)
 * and the best row per column among the autoencoder runs and PCA. */
typedef struct ae_exp_stats {
    ae_summary *sum;  /* nrows x AE_EXP_MAX_METRICS */
    int *brow, base;
    int best[AE_EXP_MAX_METRICS];
} ae_exp_stats;
/* `table:` (experiment_table.c): read after the jobs are expanded (AE_EINPUT at table.rows when no
 * job's config has that key), and its section appended to results.md (fm) with results_table.csv. */
int ae_exp_table_read(ae_experiment *e, ae_cfg *root, ae_err *err);
int ae_exp_table_write(const ae_experiment *e, FILE *fm, ae_err *err);
/* A metric's direction: -1 lower is better, +1 higher, 0 not ranked. */
int ae_exp_metric_dir(const char *key);
/* A value as the tables print it (4 significant digits; exponent when tiny or huge; "–" non-finite). */
void ae_exp_fmt(char *buf, size_t len, double v);
/* results.html (experiment_html.c): the table (sortable, CI as ± text, best in bold), every PNG
 * of e->dir inline, each run's config.yaml in a <details>; one self-contained file. */
int ae_exp_html(const ae_experiment *e, const ae_exp_table *t, const ae_exp_stats *st, int per_sample,
                size_t missing, ae_err *err);

#endif
