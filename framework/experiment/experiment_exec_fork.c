/* The --jobs N runner: N worker processes, each running one job at a time, supervised by this
 * process (which never starts oneDNN or OpenMP, so forking is safe). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ae_dnnl.h"
#include "ae_experiment.h"
#include "ae_report.h"
#include "experiment_internal.h"

/* A worker process: default signal handling, the job, its message, its code as exit status. */
static void worker(const ae_experiment *e, const ae_experiment_opts *o, size_t i, int threads, const sigset_t *mask)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    ae_exp_track_workers(NULL, 0);
    sigprocmask(SIG_SETMASK, mask, NULL);
    char label[160]; /* progress lines of parallel jobs interleave: each names its run */
    snprintf(label, sizeof label, "%s seed %ld", e->jobs[i].run, e->jobs[i].seed);
    ae_progress_set_label(label);
    ae_err ce = {0};
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
static void supervise(const ae_experiment *e, const ae_experiment_opts *o, int jobs, int per, pid_t *pids,
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
        while (!ae_exp_signalled() && !out->nfailed && !*fork_failed && running < jobs && next < e->njobs) {
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

/* --jobs N: the threads (--threads, else the cores) are split between the N workers. */
static int exec_fork(const ae_experiment *e, const ae_experiment_opts *o, ae_err *err)
{
    int jobs = o->jobs > 1 ? o->jobs : 1;
    int total = o->run.threads > 0 ? o->run.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int per = total / jobs > 0 ? total / jobs : 1, fork_failed = 0;
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    size_t *slot_job = calloc((size_t)jobs, sizeof *slot_job);
    if (!pids || !slot_job) {
        free(pids);
        free(slot_job);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    ae_exp_handlers h;
    ae_exp_catch_signals(&h);
    ae_exp_track_workers(pids, jobs);
    outcome out = {-1, 0, 0, 0};
    supervise(e, o, jobs, per, pids, slot_job, &out, &fork_failed);
    ae_exp_track_workers(NULL, 0);
    ae_exp_restore_signals(&h);
    free(pids);
    free(slot_job);
    if (ae_exp_signalled() || out.nstopped) {
        char what[96];
        snprintf(what, sizeof what, ": %d running run%s stopped at a checkpoint", out.nstopped,
                 out.nstopped == 1 ? "" : "s");
        return ae_exp_interrupted(err, out.nstopped ? what : "");
    }
    if (out.first >= 0) {
        const ae_job *j = &e->jobs[out.first];
        return ae_errf(err, out.code, "run %s seed %ld failed (exit %d, its message is above)%s", j->run, j->seed,
                       out.code, out.nfailed > 1 ? "; other runs failed too" : "");
    }
    if (fork_failed) return ae_errf(err, AE_EINTERNAL, "cannot start a worker process: %s", strerror(fork_failed));
    return AE_OK;
}

const ae_exp_runner ae_exp_runner_fork = {"fork", exec_fork, ae_exp_writes_report};
