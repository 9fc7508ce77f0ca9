/* The compile step that decides which nodes run on one thread: every node whose operands are all
 * small (the ops' plan passes then refine the heavy ops by their FLOPs, framework/ops/fuse.c). */
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
