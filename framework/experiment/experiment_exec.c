/* The experiment runner's common part: which strategy runs the jobs (in order, --jobs N worker
 * processes, MPI ranks), one job run in this process, and the signal handling the strategies share:
 * SIGINT/SIGTERM stop every running job at a checkpoint, so the same command resumes. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ae_experiment.h"
#include "ae_run.h"
#include "experiment_internal.h"

/* Signals. The experiment installs its own SIGINT/SIGTERM handler even when it inherited SIGINT
 * ignored (a background job of a shell without job control): an interrupt always means "stop
 * every run at a checkpoint", as it does for a single run while it trains. The handler forwards
 * the signal to every worker process; workers start with the default dispositions (a signal
 * before or after training ends them at once, like a single run; during training the run's own
 * handler finishes the batch and writes the checkpoint). In order, a signal between jobs stops
 * before the next one; one that arrives while a job is outside its training loop ends the process
 * with the default action, exactly as for a single run. */
static volatile sig_atomic_t g_signal;  /* the first SIGINT/SIGTERM received, 0 = none */
static volatile sig_atomic_t g_in_job;  /* in order: a job runs in this process */
static pid_t *volatile g_pids;          /* --jobs: the running workers (0 = free slot) */
static volatile sig_atomic_t g_nslots;

static void on_signal(int sig)
{
    if (!g_signal) g_signal = sig;
    pid_t *p = g_pids;
    for (int i = 0; p && i < g_nslots; i++)
        if (p[i] > 0) kill(p[i], sig);
    if (g_in_job) { /* a job between its training loops: the default action, as for a single run */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
        raise(sig);
    }
}

void ae_exp_catch_signals(ae_exp_handlers *h)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: wait() returns EINTR */
    sigemptyset(&sa.sa_mask);
    g_signal = 0;
    sigaction(SIGINT, &sa, &h->old_int);
    sigaction(SIGTERM, &sa, &h->old_term);
}

void ae_exp_restore_signals(const ae_exp_handlers *h)
{
    sigaction(SIGINT, &h->old_int, NULL);
    sigaction(SIGTERM, &h->old_term, NULL);
}

int ae_exp_signalled(void) { return g_signal; }
void ae_exp_set_in_job(int on) { g_in_job = on; }

void ae_exp_track_workers(pid_t *pids, int n)
{
    g_nslots = 0;
    g_pids = pids;
    g_nslots = n;
}

int ae_exp_interrupted(ae_err *err, const char *what)
{
    return ae_errf(err, AE_EINTERRUPTED, "interrupted%s; run the same command again to resume", what);
}

int ae_experiment_in_shard(const ae_experiment_opts *o, size_t i)
{
    return o->nshards <= 1 || (int)(i % (size_t)o->nshards) == o->shard - 1;
}

int ae_experiment_run_job(const ae_experiment *e, size_t i, const ae_experiment_opts *o, int threads, ae_err *err)
{
    const ae_job *j = &e->jobs[i];
    ae_run_opts jo = o->run;
    jo.out_dir = j->out;
    jo.threads = threads;
    char cache[4200];
    snprintf(cache, sizeof cache, "%s/baseline_cache", e->dir); /* the PCA baseline's, shared by the runs */
    jo.baseline_cache = cache;
    ae_cfg *cfg = ae_cfg_clone(j->cfg);
    if (!cfg) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int rc = ae_run_cfg(cfg, e->path, &jo, err);
    if (rc) ae_err_prefix(err, "run %s seed %ld", j->run, j->seed);
    return rc;
}

int ae_exp_writes_report(void) { return 1; }

int ae_exp_choose_runner(const ae_experiment_opts *o, const ae_exp_runner **r, ae_err *err)
{
    if (ae_exp_mpi_runner(r, err)) return err->code;
    if (!*r) *r = o->jobs > 1 ? &ae_exp_runner_fork : &ae_exp_runner_seq;
    return AE_OK;
}

int ae_experiment_exec(const ae_experiment *e, const ae_experiment_opts *o, ae_err *err)
{
    const ae_exp_runner *r;
    return ae_exp_choose_runner(o, &r, err) ? err->code : r->exec(e, o, err);
}
