/* Comparative experiments: one file expands into runs × grid × seeds (each a full single-run
 * config); the runner executes them (sequentially, --jobs N processes, or a --shard i/n slice),
 * and the report turns every finished run into a table of mean ± 95% CI per metric with Welch
 * p-values against a baseline run, plus plots. */
#ifndef AE_EXPERIMENT_H
#define AE_EXPERIMENT_H

#include "ae_config.h"

typedef struct ae_job {
    char run[128];      /* run label: the run's name (+ grid values) */
    long seed;
    char out[4096];     /* <experiment dir>/<run>/seed-<seed> */
    ae_cfg *cfg;        /* the complete single-run config */
} ae_job;

typedef struct ae_experiment {
    char name[128];
    char path[4096];    /* the experiment file: relative plug-in paths start from its folder */
    char dir[3800];     /* outputs dir: runs/<name> by default */
    char baseline[128]; /* run name or label or "": with a grid, each row is compared with the
                           baseline run of the same grid values */
    ae_job *jobs;
    size_t njobs;
    char (*runs)[128];  /* distinct run labels in order: name + grid suffix ("_lr=0.01") */
    size_t *suffix;     /* where each label's grid suffix starts */
    size_t nruns;
} ae_experiment;

/* Reads and expands an experiment tree (taken on success and failure). */
int ae_experiment_load(ae_experiment *e, ae_cfg *root, const char *path, const char *out_dir, ae_err *err);
void ae_experiment_free(ae_experiment *e);
struct ae_run_opts;
/* Runs job i in this process (its config cloned), threads > 0 overriding; errors name the job. */
int ae_experiment_run_job(const ae_experiment *e, size_t i, const struct ae_run_opts *o, int threads, ae_err *err);
/* Is job i in this process's --shard slice? */
int ae_experiment_in_shard(const struct ae_run_opts *o, size_t i);
/* Runs this process's jobs (experiment_exec.c): in job order, or in o->jobs worker processes.
 * Exit code (the same for in order, --jobs N and MPI): after a job fails no new job starts and the
 * running ones finish; the experiment returns the code of the failed job that comes first in job
 * order (the order `aelab check` lists: runs x grid x seeds), e.g. 3 when it diverged; but 130 when
 * interrupted (SIGINT/SIGTERM to the experiment, forwarded to every worker: each running job writes
 * its checkpoint and the same command resumes), whatever else failed. SIGINT is handled even when
 * it was inherited as ignored (a background job of a non-interactive shell). */
int ae_experiment_exec(const ae_experiment *e, const struct ae_run_opts *o, ae_err *err);
/* Gathers every finished run (final.json, metrics.jsonl) into results.csv / results.md and the
 * plots in e->dir, prints the table to `out`. Unfinished runs are listed, not fatal. */
int ae_experiment_report(const ae_experiment *e, FILE *out, ae_err *err);

#ifdef AELAB_WITH_MPI
/* experiment_mpi.c (built with -DAELAB_WITH_MPI=ON): ranks pull jobs from rank 0 dynamically;
 * every rank runs whole jobs (single runs); rank 0 returns when all are done. */
struct ae_run_opts;
int ae_experiment_run_mpi(const ae_experiment *e, const struct ae_run_opts *o, ae_err *err);
int ae_experiment_mpi_size(void);
int ae_experiment_mpi_rank(void);
#endif

#endif
