/* What a prepared conv node decided, read from its state: whether it keeps a private blocked input,
 * the layout of each stage and its batch blocks (for the plan pass's neighbours and for the tests). */
#include "conv_internal.h"

static int is_conv(const ae_node *n) { return n->op == &ae_op_conv2d || n->op == &ae_op_conv_transpose2d; }

int ae_conv_node_blocked(const ae_node *n)
{
    return n && is_conv(n) && n->state ? ((const conv_state *)n->state)->priv : 0;
}

void ae_conv_node_layouts(const ae_node *n, int *fwd, int *bwd_data, int *bwd_weights)
{
    const conv_state *s = n && is_conv(n) ? n->state : NULL;
    if (fwd) *fwd = s && s->fwd.p ? s->fwd.layout : -1;
    if (bwd_data) *bwd_data = s && s->bwd_d.p ? s->bwd_d.layout : -1;
    if (bwd_weights) *bwd_weights = s && s->bwd_w.p ? s->bwd_w.layout : -1;
}

int ae_conv_node_batch_blocks(const ae_node *n, int *fwd_chained, int *bwd_chained)
{
    const conv_state *s = n && is_conv(n) ? n->state : NULL;
    if (fwd_chained) *fwd_chained = s ? s->fchained : 0;
    if (bwd_chained) *bwd_chained = s ? s->bchained : 0;
    return s && (s->fwd.blocks || s->bwd_d.blocks || s->bwd_w.blocks) ? s->nbk : 0;
}
