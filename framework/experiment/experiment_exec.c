/* Running an experiment's jobs in this process (in order) or in --jobs N worker processes: one
 * exit-code rule for both (see ae_experiment.h), and SIGINT/SIGTERM stop every running job at a
 * checkpoint, so the same command resumes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ae_dnnl.h"
#include "ae_experiment.h"
#include "ae_run.h"

/* Signals. The experiment installs its own SIGINT/SIGTERM handler even when it inherited SIGINT
 * ignored (a background job of a shell without job control): an interrupt always means "stop
 * every run at a checkpoint", as it does for a single run while it trains. The handler forwards
 * the signal to every worker process; workers start with the default dispositions (a signal
 * before or after training ends them at once, like a single run; during training the run's own
 * handler finishes the batch and writes the checkpoint). Sequentially, a signal between jobs stops
 * before the next one; one that arrives while a job is outside its training loop ends the process
 * with the default action, exactly as for a single run. */
static volatile sig_atomic_t g_signal;  /* the first SIGINT/SIGTERM received, 0 = none */
static volatile sig_atomic_t g_in_job;  /* sequential: a job runs in this process */
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

typedef struct handlers { struct sigaction old_int, old_term; } handlers;

static void catch_signals(handlers *h)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: wait() returns EINTR */
    sigemptyset(&sa.sa_mask);
    g_signal = 0;
    sigaction(SIGINT, &sa, &h->old_int);
    sigaction(SIGTERM, &sa, &h->old_term);
}

static void restore_signals(const handlers *h)
{
    sigaction(SIGINT, &h->old_int, NULL);
    sigaction(SIGTERM, &h->old_term, NULL);
}

int ae_experiment_in_shard(const ae_run_opts *o, size_t i)
{
    return o->nshards <= 1 || (int)(i % (size_t)o->nshards) == o->shard - 1;
}

int ae_experiment_run_job(const ae_experiment *e, size_t i, const ae_run_opts *o, int threads, ae_err *err)
{
    const ae_job *j = &e->jobs[i];
    ae_run_opts jo = *o;
    jo.out_dir = j->out;
    jo.threads = threads;
    if (o->quiet_runs) jo.progress = 0;
    ae_cfg *cfg = ae_cfg_clone(j->cfg);
    if (!cfg) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int rc = ae_run_cfg(cfg, e->path, &jo, err);
    if (rc) ae_err_prefix(err, "run %s seed %ld", j->run, j->seed);
    return rc;
}

static int interrupted(ae_err *err, const char *what)
{
    return ae_errf(err, AE_EINTERRUPTED, "interrupted%s; run the same command again to resume", what);
}

static int run_sequential(const ae_experiment *e, const ae_run_opts *o, ae_err *err)
{
    for (size_t i = 0; i < e->njobs; i++) {
        if (!ae_experiment_in_shard(o, i)) continue;
        if (g_signal) return interrupted(err, " before the next run started");
        g_in_job = 1;
        int rc = ae_experiment_run_job(e, i, o, o->threads, err);
        g_in_job = 0;
        if (rc) return rc; /* the first failure in job order: nothing after it starts */
    }
    return AE_OK;
}

/* A worker process: default signal handling, the job, its message, its code as exit status. */
static void worker(const ae_experiment *e, const ae_run_opts *o, size_t i, int threads, const sigset_t *mask)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    g_pids = NULL;
    sigprocmask(SIG_SETMASK, mask, NULL);
    ae_err ce = {0, ""};
    int rc = ae_experiment_run_job(e, i, o, threads, &ce);
    if (rc) fprintf(stderr, "aelab: error: %s\n", ce.msg);
    ae_dnnl_shutdown();
    _exit(rc);
}

static int status_code(int status)
{
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM)) return AE_EINTERRUPTED;
    return AE_EINTERNAL;
}

typedef struct outcome {
    long first;      /* the failed job first in job order, -1 = none */
    int code, nfailed, nstopped;
} outcome;

static void record(outcome *out, size_t i, int code)
{
    if (!code) return;
    if (code == AE_EINTERRUPTED) out->nstopped++;
    else out->nfailed++;
    if (code != AE_EINTERRUPTED && (out->first < 0 || (long)i < out->first)) {
        out->first = (long)i;
        out->code = code;
    }
}

/* The parent's loop: start workers while there are free slots, nothing failed and no signal came;
 * reap them; after a failure or a signal, wait for the running ones. */
static void supervise(const ae_experiment *e, const ae_run_opts *o, int jobs, int per, pid_t *pids,
                      size_t *slot_job, outcome *out, int *fork_failed)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    size_t next = 0;
    int running = 0;
    for (;;) {
        sigprocmask(SIG_BLOCK, &block, &old);
        while (!g_signal && !out->nfailed && !*fork_failed && running < jobs && next < e->njobs) {
            size_t i = next++;
            if (!ae_experiment_in_shard(o, i)) continue;
            int s = 0;
            while (pids[s] > 0) s++;
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) { *fork_failed = errno; break; }
            if (pid == 0) worker(e, o, i, per, &old);
            pids[s] = pid;
            slot_job[s] = i;
            running++;
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (running == 0) return;
        int status;
        pid_t pid = wait(&status);
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0) return; /* ECHILD: nothing left to wait for */
        sigprocmask(SIG_BLOCK, &block, &old);
        for (int s = 0; s < jobs; s++)
            if (pids[s] == pid) {
                pids[s] = 0;
                running--;
                record(out, slot_job[s], status_code(status));
            }
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
}

/* --jobs N: N worker processes, each running one job; threads are split between them. The parent
 * never starts oneDNN or OpenMP, so forking is safe. */
static int run_parallel(const ae_experiment *e, const ae_run_opts *o, int jobs, ae_err *err)
{
    int total = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int per = total / jobs > 0 ? total / jobs : 1, fork_failed = 0;
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    size_t *slot_job = calloc((size_t)jobs, sizeof *slot_job);
    if (!pids || !slot_job) {
        free(pids);
        free(slot_job);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    g_nslots = jobs;
    g_pids = pids;
    outcome out = {-1, 0, 0, 0};
    supervise(e, o, jobs, per, pids, slot_job, &out, &fork_failed);
    g_pids = NULL;
    g_nslots = 0;
    free(pids);
    free(slot_job);
    if (g_signal || out.nstopped) {
        char what[96];
        snprintf(what, sizeof what, ": %d running run%s stopped at a checkpoint", out.nstopped,
                 out.nstopped == 1 ? "" : "s");
        return interrupted(err, out.nstopped ? what : "");
    }
    if (out.first >= 0) {
        const ae_job *j = &e->jobs[out.first];
        return ae_errf(err, out.code, "run %s seed %ld failed (exit %d, its message is above)%s", j->run, j->seed,
                       out.code, out.nfailed > 1 ? "; other runs failed too" : "");
    }
    if (fork_failed) return ae_errf(err, AE_EINTERNAL, "cannot start a worker process: %s", strerror(fork_failed));
    return AE_OK;
}

int ae_experiment_exec(const ae_experiment *e, const ae_run_opts *o, ae_err *err)
{
    handlers h;
    catch_signals(&h);
    int rc = o->jobs > 1 ? run_parallel(e, o, o->jobs, err) : run_sequential(e, o, err);
    restore_signals(&h);
    return rc;
}
