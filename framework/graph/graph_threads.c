/* Threads of the graph's nodes: the compile step that puts every node whose operands are all small
 * on one thread (the ops' plan passes then refine the heavy ops by their FLOPs, framework/ops/fuse.c),
 * the region that runs the parameter-gradient tasks the nodes' backwards deferred (ae_op.tasks),
 * after the backward walk or beside it, the optimizer update fused into those tasks, and a training
 * step on the graph's threads (in one region or several) or on one thread (AE_LANES_*, lanes_ctl.c). */
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ae_clock.h"
#include "ae_graph.h"
#include "ae_par.h"
#include "graph_internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

void ae_graph_plan_threads(ae_graph *g)
{
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        ae_node *n = ae_graph_node(g, i);
        size_t elems = n->numel;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k]->numel > elems) elems = n->in[k]->numel;
        n->threads = elems < AE_PAR_TEAM_MIN ? 1 : 0;
    }
}

/* The node whose deferred tasks include task *b of the backward order (nodes last to first);
 * *b becomes the index within that node's. */
static ae_node *task_node(ae_graph *g, size_t *b)
{
    for (size_t i = ae_graph_size(g); i-- > 0;) {
        ae_node *n = ae_graph_node(g, i);
        size_t k = graph_node_tasks(n);
        if (*b < k) return n;
        *b -= k;
    }
    return NULL;
}

static void run_task(size_t b, int thread, void *ctx)
{
    ae_node *n = task_node(ctx, &b);
    if (n) n->op->task(n, (int)b, thread);
}

void ae_graph_run_tasks(ae_graph *g)
{
    size_t total = 0;
    for (size_t i = 0; i < ae_graph_size(g); i++) total += graph_node_tasks(ae_graph_node(g, i));
    if (total) ae_par_blocks(total, ae_graph_threads(g), run_task, g);
}

/* Tasks of the whole walk, or 0 when a node on it may use more than one thread. */
static size_t lane_tasks(ae_graph *g)
{
    size_t total = 0;
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        const ae_node *n = ae_graph_node(g, i);
        if (n->needs_grad && n->op->backward && n->threads != 1) return 0;
        if (n->op->no_lanes) return 0; /* would wait for the threads serving tasks: a deadlock */
        total += graph_node_tasks(n);
    }
    return total;
}

typedef struct lanes {
    ae_graph *g;
    size_t total;
    atomic_size_t ready, next; /* tasks whose node's backward is done; the next task to claim */
    atomic_int stop;           /* no backward after all (ae_graph_train_step: the loss is not finite) */
    void (*job_fn)(void *ctx, int half); /* ae_graph_pair's second half, */
    void *job_ctx;
    atomic_int job;            /* 0 none, 1 posted, 2 taken, 3 done */
    int solo;                  /* the schedule on one thread (step_region's nt = 1): nobody to hand to */
} lanes;

/* The region of the step the calling thread walks in (ae_graph_pair), or NULL. */
static _Thread_local lanes *walking;

/* Runs the posted second half when no other thread took it first. */
static void take_job(lanes *l)
{
    int posted = 1;
    if (atomic_load_explicit(&l->job, memory_order_acquire) == 1 &&
        atomic_compare_exchange_strong_explicit(&l->job, &posted, 2, memory_order_acq_rel, memory_order_acquire)) {
        l->job_fn(l->job_ctx, 1);
        atomic_store_explicit(&l->job, 3, memory_order_release);
    }
}

int ae_graph_paired(void) { return walking && !walking->solo; }

void ae_graph_pair(void (*f)(void *ctx, int half), void *ctx)
{
    lanes *l = walking;
    if (!l || l->solo) {
        f(ctx, 0);
        f(ctx, 1);
        return;
    }
    l->job_fn = f;
    l->job_ctx = ctx;
    atomic_store_explicit(&l->job, 1, memory_order_release);
    f(ctx, 0);
    take_job(l); /* not taken yet (the other thread is late): run it here */
    while (atomic_load_explicit(&l->job, memory_order_acquire) != 3) sched_yield();
    atomic_store_explicit(&l->job, 0, memory_order_relaxed);
}

static void walk(lanes *l)
{
    ae_graph *g = l->g;
    walking = l;
    for (size_t i = ae_graph_size(g); i-- > 0;) {
        ae_node *n = ae_graph_node(g, i);
        if (!n->needs_grad || !n->op->backward) continue;
        graph_node_backward(n);
        size_t k = graph_node_tasks(n);
        if (k) atomic_fetch_add_explicit(&l->ready, k, memory_order_release);
    }
    walking = NULL;
}

/* Claims tasks in walk order, waiting (yielding the core) for the walk to reach each. */
static void serve(lanes *l, int thread)
{
    for (size_t b; (b = atomic_fetch_add(&l->next, 1)) < l->total;) {
        while (atomic_load_explicit(&l->ready, memory_order_acquire) <= b) {
            if (atomic_load_explicit(&l->stop, memory_order_acquire)) return;
            take_job(l);
            sched_yield();
        }
        size_t i = b;
        ae_node *n = task_node(l->g, &i);
        n->op->task(n, (int)i, thread);
    }
}

#ifdef _OPENMP
/* A lane set over g's `total` deferred tasks, nothing taken yet. */
static void lanes_init(lanes *l, ae_graph *g, size_t total)
{
    memset(l, 0, sizeof *l);
    l->g = g;
    l->total = total;
    atomic_init(&l->ready, 0);
    atomic_init(&l->next, 0);
    atomic_init(&l->stop, 0);
    atomic_init(&l->job, 0);
}
#endif

int ae_graph_backward_lanes(ae_graph *g)
{
#ifdef _OPENMP
    int nt = ae_graph_threads(g) < ae_par_threads() ? ae_graph_threads(g) : ae_par_threads();
    size_t total = nt > 1 ? lane_tasks(g) : 0;
    if (!total) return 0;
    lanes l;
    lanes_init(&l, g, total);
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num();
        if (t == 0) walk(&l);
        serve(&l, t);
    }
    return 1;
#else
    (void)g;
    return 0;
#endif
}

void ae_graph_param_final(ae_node *p, size_t lo, size_t hi)
{
    ae_update *u = p->update;
    if (u && lo < hi && u->fn(u->ctx, p->param, lo, hi))
        atomic_store_explicit(&u->bad, 1, memory_order_relaxed);
}

/* Every parameter node the fused update covers, pointed at u (or back at NULL). */
static void set_update(ae_graph *g, ae_update *u)
{
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        ae_node *n = ae_graph_node(g, i);
        if (n->param >= 0 && n->final_ranges) n->update = u;
    }
}

int ae_graph_backward_update(ae_graph *g, ae_update *u)
{
    u->bad = 0;
    set_update(g, u);
    ae_graph_backward(g);
    set_update(g, NULL);
    return u->bad;
}

/* Threads for a step in one region: every node of the forward and of the backward walk on one
 * thread, and deferred tasks for the others; 0 when not. */
static int region_threads(ae_graph *g, size_t *total)
{
    int nt = ae_graph_threads(g) < ae_par_threads() ? ae_graph_threads(g) : ae_par_threads();
    if (nt < 2 || g->prof || !(*total = lane_tasks(g))) return 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->nodes[i]->op->forward && !g->nodes[i]->skip && g->nodes[i]->threads != 1) return 0;
    return nt;
}

/* Thread t's part of a one-region step: the first walks the forward and, with a finite loss, the
 * backward; every thread serves the deferred tasks (the first after its walk). */
static void step_part(ae_graph *g, lanes *l, int t, int *finite)
{
    if (t == 0) {
        walking = l;
        ae_graph_forward_loss(g);
        *finite = isfinite(g->loss->val[0]);
        walking = NULL;
        if (*finite && graph_backward_seed(g)) walk(l);
        else atomic_store_explicit(&l->stop, 1, memory_order_release);
    }
    serve(l, t);
}

/* The forward on the first thread, then (a finite loss) the backward walk there while the others
 * run the deferred tasks (ae_graph_backward_lanes), all in one region: the other threads wake
 * during the forward instead of at the backward's start. nt = 1: the same on the calling thread
 * alone, outside any region (paired products in order, then every task in order, after the walk),
 * everything under it limited to one thread as inside the region. */
static int step_region(ae_graph *g, int nt, size_t total, int owners)
{
    int finite = 1;
#ifdef _OPENMP
    if (owners) {
        const int f = graph_owner_step(g);
        if (f >= 0) return f; /* else the region had one thread: the other region's code below */
    }
    lanes l;
    lanes_init(&l, g, total);
    if (nt == 1) {
        l.solo = 1;
        int saved = ae_par_limit(1);
        step_part(g, &l, 0, &finite);
        ae_par_restore(saved);
        return finite;
    }
#pragma omp parallel num_threads(nt)
    step_part(g, &l, omp_get_thread_num(), &finite);
#else
    (void)g, (void)nt, (void)total, (void)owners;
#endif
    return finite;
}

/* The next step's mode: 1 the graph's threads, 2 owners (a graph with a cut), 0 one thread
 * (AE_LANES_AUTO: the controller's). */
static int next_mode(ae_graph *g)
{
    int probing = 0;
    switch (g->lanes) {
    case AE_LANES_ON: return 1;
    case AE_LANES_OFF: return 0;
    case AE_LANES_OWNERS: return g->owner_cut ? 2 : 1;
    default: return ae_lanes_ctl_next(&g->lanes_ctl, &probing);
    }
}

/* A one-region step in the mode set (AE_LANES_AUTO: every step timed for the controller). */
static int step_lanes(ae_graph *g, int nt, size_t total)
{
    const int mode = next_mode(g);
    const double t0 = g->lanes == AE_LANES_AUTO ? ae_now() : 0;
    int finite = step_region(g, mode ? nt : 1, total, mode == 2);
    if (g->lanes == AE_LANES_AUTO) ae_lanes_ctl_done(&g->lanes_ctl, ae_now() - t0);
    g->lanes_last = mode;
    g->step_thr = mode == 2 ? 2 : mode ? nt : 1;
    return finite;
}

/* A step whose nodes run in several regions, in the mode set: on, as compiled; off, all of it under
 * a one-thread limit (ae_par_limit: every op's row blocks, slices, chunks and per-thread primitives
 * were fixed at compile, and a thread runs any of them alike, so the same bits; a oneDNN primitive
 * created for a fixed team outside a region still forms it). Next to a busy process each region
 * waits for a descheduled thread at its join, and one thread is faster (W2: 1.2x,
 * bench/analysis_issue17_placement.md). */
static int step_regions(ae_graph *g, int nt)
{
    const int on = next_mode(g) != 0;
    const double t0 = g->lanes == AE_LANES_AUTO ? ae_now() : 0;
    const int saved = on ? 0 : ae_par_limit(1);
    ae_graph_forward_loss(g);
    int finite = isfinite(g->loss->val[0]);
    if (finite) ae_graph_backward(g);
    ae_par_restore(saved);
    if (g->lanes == AE_LANES_AUTO) ae_lanes_ctl_done(&g->lanes_ctl, ae_now() - t0);
    g->step_thr = on ? nt : 1;
    return finite;
}

int ae_graph_step_threads(const ae_graph *g) { return g->step_thr; }

int ae_graph_train_step(ae_graph *g, ae_update *u)
{
    if (u) {
        u->bad = 0;
        set_update(g, u);
    }
    size_t total = 0;
    int nt = region_threads(g, &total), finite;
    const int team = ae_graph_threads(g) < ae_par_threads() ? ae_graph_threads(g) : ae_par_threads();
    g->lanes_last = -1;
    g->step_thr = 1;
    if (nt) finite = step_lanes(g, nt, total);
    else if (team > 1 && !g->prof) finite = step_regions(g, team);
    else { /* one thread, or profiled (AELAB_PROFILE: always as compiled) */
        ae_graph_forward_loss(g);
        if ((finite = isfinite(g->loss->val[0]))) ae_graph_backward(g);
        g->step_thr = team > 1 ? team : 1;
    }
    if (u) set_update(g, NULL);
    return finite;
}

void ae_graph_set_lanes(ae_graph *g, ae_lanes_mode mode)
{
    g->lanes = mode;
    ae_lanes_ctl_init(&g->lanes_ctl, AE_LANES_PERIOD, AE_LANES_PROBE, AE_LANES_WARM, g->owner_cut ? 3 : 2);
}

int ae_graph_step_lanes(const ae_graph *g) { return g->lanes_last; }

int graph_plan_lanes(ae_graph *g, ae_err *err)
{
    const char *e = getenv("AELAB_LANES");
    ae_lanes_mode m = AE_LANES_AUTO;
    if (e && *e && strcmp(e, "auto")) {
        if (!strcmp(e, "on")) m = AE_LANES_ON;
        else if (!strcmp(e, "off")) m = AE_LANES_OFF;
        else if (!strcmp(e, "owners")) m = AE_LANES_OWNERS;
        else return ae_errf(err, AE_EINPUT, "AELAB_LANES=%s: expected auto, on, owners or off", e);
    }
    size_t total = 0; /* owners: a graph of one region on two threads or more */
    g->owner_cut = 0;
    if (region_threads(g, &total) && graph_owner_plan(g, err)) return err->code;
    ae_graph_set_lanes(g, m);
    return AE_OK;
}

int graph_plan_updates(ae_graph *g, ae_err *err)
{
    for (size_t i = 0; i < g->nparam_node; i++) {
        if (!g->param_node[i] || !g->param_node[i]->final_ranges) continue;
        if (!g->fused && !(g->fused = calloc(g->params->n, 1))) return ae_errf(err, AE_EINTERNAL, "out of memory");
        g->fused[i] = 1;
    }
    return AE_OK;
}
