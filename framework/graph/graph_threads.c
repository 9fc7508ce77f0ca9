/* Threads of the graph's nodes: the compile step that puts every node whose operands are all small
 * on one thread (the ops' plan passes then refine the heavy ops by their FLOPs, framework/ops/fuse.c),
 * and the region that runs the parameter-gradient tasks the nodes' backwards deferred (ae_op.tasks). */
#include "ae_graph.h"
#include "ae_par.h"

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
        size_t k = n->needs_grad && n->op->tasks ? (size_t)n->op->tasks(n) : 0;
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
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        const ae_node *n = ae_graph_node(g, i);
        if (n->needs_grad && n->op->tasks) total += (size_t)n->op->tasks(n);
    }
    if (total) ae_par_blocks(total, ae_graph_threads(g), run_task, g);
}
