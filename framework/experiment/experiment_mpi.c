/* The MPI runner, `mpirun -n N aelab run EXP.yaml` (built with -DAELAB_WITH_MPI=ON; else
 * experiment_mpi_stub.c): rank 0 hands the experiment's jobs out one at a time to whichever rank
 * asks, gathers their errors, and trains jobs itself too. */
#ifdef AELAB_WITH_MPI
#define _GNU_SOURCE /* sched_getaffinity / CPU_COUNT */

#include <mpi.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ae_experiment.h"
#include "experiment_internal.h"

/* Design. Rank 0's main thread is the dispatcher: it polls for requests (MPI_Iprobe + a 1 ms
 * sleep, so it never spins a core the way a blocking receive does in Open MPI) and answers each
 * with the next job index (respecting --shard) or "stop". Rank 0 also trains: a helper thread of
 * its own takes jobs from the same queue, so `-n 2` means two runs at a time. Only the main
 * thread calls MPI (MPI_THREAD_FUNNELED); if the library cannot provide that, rank 0 only
 * dispatches. A worker's request carries the result of its previous job; after the first failure
 * no job is started any more, the running ones finish, and rank 0 fails by the rule of
 * ae_experiment_exec (ae_experiment.h): the failed job first in job order, 130 if interrupted.
 * Without mpirun (no launcher variables in the environment) MPI is never started: size 1. */

enum { TAG_REQ = 11, TAG_JOB = 12 };
enum { PHASE_IDLE, PHASE_RUNNING, PHASE_DONE };

typedef struct report { /* worker -> rank 0: the previous job's result (code 0 at first) */
    long job;
    int code;
    char msg[1024];
} report;

static int g_started, g_size = 1, g_rank = 0, g_funneled, g_phase = PHASE_IDLE;

/* Exiting with an error before this rank took part in the job exchange: the other ranks may be
 * waiting for it, and MPI_Finalize would wait for them. Leaving without it makes mpirun end the
 * whole job with a message instead of hanging. */
static void finish(int status, void *arg)
{
    (void)arg;
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin || (status != 0 && g_phase != PHASE_DONE)) return;
    MPI_Finalize();
}

/* Started by a launcher with more than one process? (Open MPI, MPICH/Hydra, MVAPICH, PMIx.) */
static int launched_by_mpi(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v) return atoi(v) > 1;
    }
    return getenv("PMIX_RANK") != NULL;
}

static void start(void)
{
    if (g_started) return;
    g_started = 1;
    int inited = 0, provided = MPI_THREAD_SINGLE;
    MPI_Initialized(&inited);
    if (inited) { /* a host program started MPI: use it, leave finalising to it */
        MPI_Query_thread(&provided);
    } else {
        if (!launched_by_mpi()) return;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return;
        on_exit(finish, NULL);
    }
    g_funneled = provided >= MPI_THREAD_FUNNELED;
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
}


/* --threads, else this node's cores split between its ranks, and never more than this rank may
 * use (mpirun binds a rank to one core when -n <= 2 unless told --bind-to none). Collective. */
static int rank_threads(const ae_experiment_opts *o)
{
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    if (o->run.threads > 0) return o->run.threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int t = cores > local ? (int)(cores / local) : 1;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 && CPU_COUNT(&set) < t)
        t = CPU_COUNT(&set);
    return t;
}


/* Ranks > 0: ask, train, report, until told to stop. */
static int work(const ae_experiment *e, const ae_experiment_opts *o, int threads)
{
    report rep;
    memset(&rep, 0, sizeof rep);
    for (;;) {
        long j = -1;
        MPI_Send(&rep, (int)sizeof rep, MPI_BYTE, 0, TAG_REQ, MPI_COMM_WORLD);
        MPI_Recv(&j, 1, MPI_LONG, 0, TAG_JOB, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (j < 0 || (size_t)j >= e->njobs) return AE_OK;
        ae_err je = {0};
        memset(&rep, 0, sizeof rep);
        rep.job = j;
        rep.code = ae_experiment_run_job(e, (size_t)j, o, threads, &je);
        if (rep.code) snprintf(rep.msg, sizeof rep.msg, "%s", je.msg);
    }
}

/* Rank 0's own trainer thread: runs the job it is given, posts the result, waits for the next. */
typedef struct local {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const ae_experiment *e;
    const ae_experiment_opts *o;
    int threads;
    long job;       /* assigned and not finished; -1 = idle */
    long done;      /* the finished job whose result waits */
    int stop;       /* no more jobs: the thread returns */
    int has_result; /* a finished job's result waits in code/msg */
    int code;
    char msg[1024];
} local;

static void *local_main(void *arg)
{
    local *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->job < 0 && !l->stop) pthread_cond_wait(&l->cv, &l->mu);
        if (l->job < 0) break;
        long j = l->job;
        pthread_mutex_unlock(&l->mu);
        ae_err je = {0};
        int rc = ae_experiment_run_job(l->e, (size_t)j, l->o, l->threads, &je);
        pthread_mutex_lock(&l->mu);
        l->job = -1;
        l->done = j;
        l->has_result = 1;
        l->code = rc;
        snprintf(l->msg, sizeof l->msg, "%s", rc ? je.msg : "");
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

typedef struct dispatch {
    const ae_experiment *e;
    const ae_experiment_opts *o;
    size_t next;
    int failed;
    long first_job;  /* the failed job first in job order (-1 = none), or the first interrupted one */
    int first_code, first_rank, interrupted;
    char first_msg[1024];
} dispatch;

static long next_job(dispatch *d)
{
    if (d->failed) return -1;
    while (d->next < d->e->njobs && !ae_experiment_in_shard(d->o, d->next)) d->next++;
    return d->next < d->e->njobs ? (long)d->next++ : -1;
}

static void record(dispatch *d, int rank, long job, int code, const char *msg)
{
    if (!code) return;
    fprintf(stderr, "aelab: rank %d: error: %s\n", rank, msg);
    if (d->failed++ == 0) fprintf(stderr, "aelab: no further runs will start; waiting for the running ones\n");
    int stop = code == AE_EINTERRUPTED;
    if (d->interrupted && !stop) return;
    if (stop == d->interrupted && d->first_job >= 0 && job > d->first_job) return;
    d->interrupted = stop;
    d->first_job = job;
    d->first_code = code;
    d->first_rank = rank;
    snprintf(d->first_msg, sizeof d->first_msg, "%s", msg);
}

/* Rank 0: answer requests and feed the local thread until every rank has been told to stop. */
static int serve(const ae_experiment *e, const ae_experiment_opts *o, int threads, ae_err *err)
{
    dispatch d;
    memset(&d, 0, sizeof d);
    d.e = e;
    d.o = o;
    d.first_job = -1;
    local l;
    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.mu, NULL);
    pthread_cond_init(&l.cv, NULL);
    l.e = e;
    l.o = o;
    l.threads = threads;
    l.job = -1;
    pthread_t th;
    pthread_attr_t attr;
    int have_thread = 0;
    if (g_funneled && pthread_attr_init(&attr) == 0) {
        pthread_attr_setstacksize(&attr, (size_t)8 << 20);
        have_thread = pthread_create(&th, &attr, local_main, &l) == 0;
        pthread_attr_destroy(&attr);
    }
    int local_done = !have_thread, remote = g_size - 1;
    while (!local_done || remote > 0) {
        int busy = 0;
        if (!local_done) {
            pthread_mutex_lock(&l.mu);
            if (l.has_result) {
                record(&d, 0, l.done, l.code, l.msg);
                l.has_result = 0;
                busy = 1;
            }
            if (l.job < 0) {
                l.job = next_job(&d);
                if (l.job < 0) local_done = l.stop = 1;
                pthread_cond_signal(&l.cv);
                busy = 1;
            }
            pthread_mutex_unlock(&l.mu);
        }
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQ, MPI_COMM_WORLD, &flag, &st);
        if (flag) {
            report rep;
            MPI_Recv(&rep, (int)sizeof rep, MPI_BYTE, st.MPI_SOURCE, TAG_REQ, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            rep.msg[sizeof rep.msg - 1] = '\0';
            record(&d, st.MPI_SOURCE, rep.job, rep.code, rep.msg);
            long j = next_job(&d);
            MPI_Send(&j, 1, MPI_LONG, st.MPI_SOURCE, TAG_JOB, MPI_COMM_WORLD);
            if (j < 0) remote--;
            busy = 1;
        }
        if (!busy) nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    if (have_thread) pthread_join(th, NULL);
    pthread_cond_destroy(&l.cv);
    pthread_mutex_destroy(&l.mu);
    if (!d.failed) return AE_OK;
    if (d.failed > 1)
        return ae_errf(err, d.first_code, "rank %d: %s (and %d more failed run%s, see above)", d.first_rank,
                       d.first_msg, d.failed - 1, d.failed > 2 ? "s" : "");
    return ae_errf(err, d.first_code, "rank %d: %s", d.first_rank, d.first_msg);
}

static int exec_mpi(const ae_experiment *e, const ae_experiment_opts *o, ae_err *err)
{
    start();
    g_phase = PHASE_RUNNING;
    int threads = rank_threads(o), rc;
    if (g_rank == 0) {
        size_t n = 0;
        for (size_t i = 0; i < e->njobs; i++) n += (size_t)ae_experiment_in_shard(o, i);
        fprintf(stderr, "aelab: mpi: %zu jobs over %d ranks, %d thread%s per run%s\n", n, g_size, threads,
                threads == 1 ? "" : "s", g_funneled ? "" : " (rank 0 only dispatches)");
        rc = serve(e, o, threads, err);
    } else {
        rc = work(e, o, threads);
    }
    g_phase = PHASE_DONE;
    return rc;
}

static int rank0_reports(void) { return g_rank == 0; } /* only rank 0 writes the table */

static const ae_exp_runner runner_mpi = {"mpi", exec_mpi, rank0_reports};

int ae_exp_mpi_runner(const ae_exp_runner **r, ae_err *err)
{
    (void)err;
    start();
    *r = g_size > 1 ? &runner_mpi : NULL; /* without mpirun MPI is never started: size 1 */
    return AE_OK;
}

#else
typedef int ae_experiment_mpi_unused; /* built without -DAELAB_WITH_MPI=ON: experiment_mpi_stub.c */
#endif
