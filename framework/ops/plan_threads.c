/* The ops' thread step of the compile pass (run by fuse.c's ae_ops_plan, after the graph's default
 * from element counts, ae_graph_plan_threads): a dense layer or a conv runs on one thread when one
 * of its products carries too little work to pay for a parallel region; a dense chain (or fork) runs as one. */
#include "conv_internal.h"
#include "dense_internal.h"
#include "ae_par.h"
#include "ae_penalty.h"

/* Multiply-adds x 2 of one product of the node: a dense layer's forward, dX and dW products are all
 * batch x k x m; a conv pass meets a whole kernel at every output (conv) or input (transposed) pixel. */
static double product_flops(const ae_node *n)
{
    const ae_node *x = n->in[0], *w = n->in[1];
    if (n->op == &ae_op_dense) return dense_product_flops(n);
    double k = (double)w->shape.d[1] * (double)w->shape.d[2] * (double)w->shape.d[3];
    return 2.0 * (double)(n->op == &ae_op_conv2d ? n->numel : x->numel) * k;
}

static int is_heavy(const ae_node *n)
{
    return n->op == &ae_op_dense || n->op == &ae_op_conv2d || n->op == &ae_op_conv_transpose2d;
}

void ops_plan_threads(ae_graph *g)
{
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        ae_node *n = ae_graph_node(g, i);
        if (is_heavy(n)) n->threads = product_flops(n) < AE_PAR_TEAM_FLOPS ? 1 : 0;
    }
    /* a chain that runs in row blocks (more rows than one block, or split): its first layer runs
     * every member's forward and its last every backward (ops_dense.c), inside one region whose
     * primitives run single-threaded: all members follow the decision for the biggest */
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        ae_node *h = ae_graph_node(g, i), *c;
        int split;
        if (h->op != &ae_op_dense || h->fuse.chain_prev || !h->fuse.chain_next ||
            h->shape.d[0] <= dense_chain_rows(h, ae_graph_threads(g), &split))
            continue;
        int t = 1;
        for (c = h; c; c = c->fuse.chain_next)
            if (c->threads == 0) t = 0;
        for (c = h; c; c = c->fuse.chain_next) c->threads = t;
    }
    /* an exact contractive penalty on a layer run by output units: on the units' threads, each its
     * part's W rows and h columns (ops_contractive.c), which a one-thread node would move across cores */
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        ae_node *p = ae_graph_node(g, i);
        if (p->op != &ae_op_contractive_exact) continue;
        const ae_node *h = p->in[0];
        if (h->op == &ae_op_dense && h->in[1] == p->in[1] && dense_units_chain(h, ae_graph_threads(g))) p->threads = 0;
    }
    /* a fork (fuse.c's plan_fork) runs in its parent's regions likewise */
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        ae_node *e = ae_graph_node(g, i), **h = e->fuse.fork;
        if (e->op != &ae_op_dense || !h[0]) continue;
        e->threads = h[0]->threads = h[1]->threads = e->threads && h[0]->threads && h[1]->threads ? 1 : 0;
    }
}
