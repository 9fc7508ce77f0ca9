/* Internal to the graph module: the graph's fields (graph.c) and the steps graph_threads.c runs
 * for it (the fused update's plan, the backward's seed). */
#ifndef AE_GRAPH_INTERNAL_H
#define AE_GRAPH_INTERNAL_H

#include "ae_graph.h"
#include "ae_params.h"

struct ae_graph {
    double *prof;              /* AELAB_PROFILE=1: seconds per node, forward and backward */
    size_t steps;
    ae_params *params;
    int64_t batch;
    int training;
    ae_node **nodes;
    size_t n, cap;
    ae_node *loss;
    float *vals, *grads;       /* arenas */
    size_t vals_n, grads_n;
    void **scratch;            /* op scratch blocks */
    size_t nscratch, scratch_bytes;
    ae_node **param_node;      /* [parameter index]: its node, or NULL */
    size_t nparam_node;
    ae_use *uses;              /* every consumer edge, grouped by producer (ae_node.cons) */
    ae_node **zero_on_backward; /* grads no op overwrites (e.g. unused parameters) */
    size_t nzero;
    int failed;
    int compiled;
    int threads;               /* OpenMP threads at compile */
    unsigned char *fused;      /* [parameter index]: updated in the backward (ae_graph_fused_params) */
    ae_lanes_mode lanes;       /* how a step on several threads runs (ae_graph_set_lanes, AELAB_LANES) */
    ae_lanes_ctl lanes_ctl;    /* AE_LANES_AUTO's choice */
    int lanes_last;            /* ae_graph_step_lanes */
    int step_thr;              /* ae_graph_step_threads */
    size_t owner_cut;          /* lanes_owner.c: thread 0's nodes [0, cut), thread 1's the rest; 0 none */
    ae_node **owner_q;         /* lanes_owner.c: each thread's ready tasks, n a thread */
};

/* graph_threads.c, at compile: g->fused from the parameter nodes' final_ranges (set by prepare). */
int graph_plan_updates(ae_graph *g, ae_err *err);
/* graph_threads.c, at compile: the step's mode from AELAB_LANES (an error when it is not
 * auto, on or off), its controller reset. */
int graph_plan_lanes(ae_graph *g, ae_err *err);
/* graph.c: zeroes the gradients no op writes and seeds the loss's; 0 when there is no backward. */
int graph_backward_seed(ae_graph *g);
/* graph.c: a node's forward, or backward, under its thread count (ae_node.threads). */
void graph_node_forward(ae_node *n);
void graph_node_backward(ae_node *n);
/* The deferred tasks n's backward leaves (ae_op.tasks), 0 none. */
static inline size_t graph_node_tasks(const ae_node *n)
{
    return n->needs_grad && n->op->tasks ? (size_t)n->op->tasks(n) : 0;
}

/* lanes_owner.c, at compile: the owners' cut (g->owner_cut; 0 when the graph has none). Then a
 * step by owners on two threads: 1 the loss finite, 0 not, -1 the region had one thread (nothing ran). */
int graph_owner_plan(ae_graph *g, ae_err *err);
int graph_owner_step(ae_graph *g);

#endif
