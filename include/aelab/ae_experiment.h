/* Comparative experiments: one file expands into runs × grid × seeds (each a full single-run
 * config); a runner executes them (in order, in --jobs N processes, or over MPI ranks; any of them
 * on a --shard i/n slice),
 * and the report turns every finished run into a table of mean ± 95% CI per metric with Welch
 * p-values against a baseline run, plus plots. */
#ifndef AE_EXPERIMENT_H
#define AE_EXPERIMENT_H

#include "ae_config.h"
#include "ae_run.h"

/* How to run an experiment: the options of every run, and the experiment's own. */
typedef struct ae_experiment_opts {
    ae_run_opts run;    /* for every job (run.out_dir: the experiment's folder, over outputs.dir) */
    int jobs;           /* runs at once, in worker processes (threads split between them) */
    int shard, nshards; /* run shard i of n (1-based; 0 = all) */
    int report_only;    /* gather the finished runs into the table only */
} ae_experiment_opts;

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
    struct {                    /* `table: {rows: KEY, metric: NAME, stat: sd|ci}` (rows[0] == 0: none):
                                   one metric as a paper's table, a row per value of KEY (e.g.
                                   data.normal_labels), a column per run label without KEY's grid
                                   value, mean ± sd (ci: ± the 95% CI half-width) over seeds, a last
                                   row of means; in results.md and results_table.csv */
        char rows[128], metric[64];
        int ci;
    } table;
} ae_experiment;

/* 1 when a config tree is an experiment file (it has `runs:` or `experiment:`), 0 for a single run. */
int ae_experiment_is(const ae_cfg *root);
/* A comparative experiment from its tree (taken): with run.check_only every expanded run is
 * validated and listed; with report_only the finished runs are gathered into the table; else this
 * process's jobs run (ae_experiment_exec) and the table is written. */
int ae_experiment_run(ae_cfg *root, const char *path, const ae_experiment_opts *o, ae_err *err);

/* Reads and expands an experiment tree (taken on success and failure). */
int ae_experiment_load(ae_experiment *e, ae_cfg *root, const char *path, const char *out_dir, ae_err *err);
void ae_experiment_free(ae_experiment *e);
/* Runs job i in this process (its config cloned), threads > 0 overriding; errors name the job. */
int ae_experiment_run_job(const ae_experiment *e, size_t i, const ae_experiment_opts *o, int threads, ae_err *err);
/* Is job i in this process's --shard slice? */
int ae_experiment_in_shard(const ae_experiment_opts *o, size_t i);
/* Runs this process's jobs with one of three strategies (experiment_exec.c chooses): in job order in
 * this process, in o->jobs worker processes, or over MPI ranks when started by mpirun with more than
 * one process (an aelab built with -DAELAB_WITH_MPI=ON; one built without refuses, AE_EINPUT).
 * Exit code (the same for all three): after a job fails no new job starts and the running ones
 * finish; the experiment returns the code of the failed job that comes first in job order (the
 * order `aelab check` lists: runs x grid x seeds), e.g. 3 when it diverged; but 130 when interrupted
 * (SIGINT/SIGTERM to the experiment, forwarded to every worker: each running job writes its
 * checkpoint and the same command resumes), whatever else failed. SIGINT is handled even when it
 * was inherited as ignored (a background job of a non-interactive shell). */
int ae_experiment_exec(const ae_experiment *e, const ae_experiment_opts *o, ae_err *err);
/* Gathers every finished run (final.json, metrics.jsonl) into results.csv / results.md and the
 * plots in e->dir, prints the table to `out`. Unfinished runs are listed, not fatal. */
int ae_experiment_report(const ae_experiment *e, FILE *out, ae_err *err);

#endif
