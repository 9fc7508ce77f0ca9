/* A one-region step by owners: the graph's nodes cut once, at the point that halves the parameters
 * the deferred tasks update, the first part on thread 0 and the rest on thread 1; each thread runs
 * its nodes' forward and backward when the walk's order reaches them and its own nodes' tasks, so
 * a weight is read, its gradient made and it is updated on one core (bench/analysis_issue17_units.md §8). */
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ae_graph.h"
#include "graph_internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Elements of the parameters node n reads (its tasks update them). */
static size_t param_load(const ae_node *n)
{
    size_t s = 0;
    if (!graph_node_tasks(n)) return 0;
    for (int k = 0; k < n->nin; k++)
        if (n->in[k]->param >= 0) s += n->in[k]->numel;
    return s;
}

int graph_owner_plan(ae_graph *g, ae_err *err)
{
    size_t total = 0, acc = 0, best = (size_t)-1, cut = 0;
    for (size_t i = 0; i < g->n; i++) total += param_load(g->nodes[i]);
    for (size_t i = 0; i < g->n; i++) { /* cut before node i: |2·acc - total| smallest, the first such */
        const size_t d = 2 * acc > total ? 2 * acc - total : total - 2 * acc;
        if (d < best) best = d, cut = i;
        acc += param_load(g->nodes[i]);
    }
    g->owner_cut = 0;
    if (!cut) return AE_OK; /* everything on one side */
    free(g->owner_q);
    if (!(g->owner_q = malloc(2 * g->n * sizeof *g->owner_q))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    g->owner_cut = cut;
    return AE_OK;
}

typedef struct owner_run {
    ae_graph *g;
    atomic_size_t fdone, bdone; /* nodes done in the forward's order; in the backward's */
    atomic_int finite;          /* -1 until the forward is over, then the loss is finite */
} owner_run;

/* A thread's own ready tasks: the nodes whose backward it ran, in that order. */
typedef struct queue {
    ae_node **node;
    size_t head, tail;
    int k; /* the head node's next task */
    int thread;
} queue;

static int run_one(queue *q)
{
    if (q->head == q->tail) return 0;
    ae_node *n = q->node[q->head];
    n->op->task(n, q->k, q->thread);
    if ((size_t)++q->k == graph_node_tasks(n)) q->head++, q->k = 0;
    return 1;
}

/* Waits until the other thread has brought *c to v (its own tasks are never ready then). */
static void wait_for(atomic_size_t *c, size_t v)
{
    while (atomic_load_explicit(c, memory_order_acquire) != v) sched_yield();
}

static void lane(owner_run *r, int t)
{
    ae_graph *g = r->g;
    const size_t lo = t ? g->owner_cut : 0, hi = t ? g->n : g->owner_cut;
    queue q = {g->owner_q + (size_t)t * g->n, 0, 0, 0, t};
    wait_for(&r->fdone, lo);
    for (size_t i = lo; i < hi; i++) {
        ae_node *n = g->nodes[i];
        if (n->op->forward && !n->skip) graph_node_forward(n);
    }
    atomic_store_explicit(&r->fdone, hi, memory_order_release);
    int finite;
    if (t) {
        g->steps++;
        finite = isfinite(g->loss->val[0]) && graph_backward_seed(g);
        atomic_store_explicit(&r->finite, finite, memory_order_release);
    } else
        while ((finite = atomic_load_explicit(&r->finite, memory_order_acquire)) < 0) sched_yield();
    if (!finite) return;
    wait_for(&r->bdone, g->n - hi);
    for (size_t i = hi; i-- > lo;) {
        ae_node *n = g->nodes[i];
        if (!n->needs_grad || !n->op->backward) continue;
        graph_node_backward(n);
        if (graph_node_tasks(n)) q.node[q.tail++] = n;
    }
    atomic_store_explicit(&r->bdone, g->n - lo, memory_order_release);
    while (run_one(&q)) {}
}

int graph_owner_step(ae_graph *g)
{
    owner_run r;
    int ran = 0;
    r.g = g;
    atomic_init(&r.fdone, 0);
    atomic_init(&r.bdone, 0);
    atomic_init(&r.finite, -1);
#ifdef _OPENMP
#pragma omp parallel num_threads(2)
    {
        const int t = omp_get_thread_num();
        if (omp_get_num_threads() == 2) {
            lane(&r, t);
            if (t == 0) ran = 1;
        }
    }
#endif
    return ran ? atomic_load_explicit(&r.finite, memory_order_acquire) == 1 : -1;
}
