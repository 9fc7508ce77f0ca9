/* Running conv nodes whose stages run in batch blocks (conv_blocks.c): a node's forward and that of
 * the conv reading it (a chain) in one region, block by block; the backward likewise (activation
 * derivative with a per-block bias-gradient partial, backward-data, backward-weights, then the same
 * for the conv it reads), the partials summed in block order afterwards. */
#include "ae_par.h"
#include "conv_internal.h"
#include "logits_internal.h"

static int is_conv(const ae_node *n) { return n->op == &ae_op_conv2d || n->op == &ae_op_conv_transpose2d; }

/* Every backward stage the node has runs in blocks (and it has one). */
static int bwd_blocked(const conv_state *s)
{
    return (s->bwd_d.blocks || s->bwd_w.blocks) && (!s->bwd_d.p || s->bwd_d.blocks) && (!s->bwd_w.p || s->bwd_w.blocks);
}

/* p is consumed by n alone (or is absent, or needs no gradient when grad is set). */
static int only_for(const ae_node *p, const ae_node *n, int grad)
{
    return !p || (grad && !p->needs_grad) || (p->ncons == 1 && p->cons[0].node == n);
}

static const conv_blocks *any_blocks(const conv_state *s)
{
    return s->fwd.blocks ? s->fwd.blocks : s->bwd_d.blocks ? s->bwd_d.blocks : s->bwd_w.blocks;
}

int conv_run_threads(const ae_node *n)
{
    const conv_blocks *k = any_blocks(n->state);
    return k ? conv_blocks_threads(k) : 1;
}

void conv_run_check_tail(ae_node *n)
{
    const conv_state *s = n->state;
    ae_node *loss = n->fuse.loss_tail;
    if (loss && !(s && s->fwd.blocks && bwd_blocked(s))) {
        loss->fuse.in_chain = 0; /* the loss runs on its own (it prepares after n) */
        n->fuse.loss_tail = NULL;
    }
}

/* At the end of n's prepare (its input's conv, if any, is prepared): the bias-gradient partials,
 * and the chain links with a conv input that only n reads, in the same blocks and threads. */
int conv_run_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    conv_state *s = n->state;
    const conv_blocks *k = any_blocks(s);
    if (!k) return AE_OK;
    s->nbk = conv_blocks_count(k);
    if (s->db && bwd_blocked(s) && !(s->dbp = ae_graph_scratch(g, (size_t)(s->nbk * n->shape.d[1]), err)))
        return err->code;
    ae_node *x = n->in[0];
    conv_state *ps = is_conv(x) ? x->state : NULL;
    const conv_blocks *pk = ps ? any_blocks(ps) : NULL;
    if (!pk || !only_for(x, n, 0) || conv_blocks_count(pk) != s->nbk)
        return AE_OK;
    /* one region runs both: on the graph's threads if either would (the blocks' per-thread
     * buffers are sized for those; the thread count picks who runs a block, never what it computes) */
    if (!x->threads || !n->threads) x->threads = n->threads = 0;
    if (s->fwd.blocks && ps->fwd.blocks) {
        ps->fnext = n;
        s->fchained = 1;
    }
    /* x's backward moves into n's: nothing else may write what it writes (its input's and its
     * parameters' gradients), and n's backward-data overwrites x's gradient */
    if (n->needs_grad && x->needs_grad && bwd_blocked(s) && bwd_blocked(ps) && !n->accum[0] &&
        only_for(x->in[0], x, 1) && only_for(x->in[1], x, 1) && only_for(x->nin > 2 ? x->in[2] : NULL, x, 1)) {
        s->bprev = x;
        ps->bchained = 1;
    }
    return AE_OK;
}

/* Images [r0, r0 + r) of block b of a batch of N. */
static int64_t block_r0(const ae_node *n, size_t b) { return (int64_t)b * conv_block_rows(n->shape.d[0]); }
static int64_t block_len(const ae_node *n, size_t b)
{
    const int64_t N = n->shape.d[0], rows = conv_block_rows(N), r0 = (int64_t)b * rows;
    return N - r0 < rows ? N - r0 : rows;
}

static void fwd_block(size_t b, int t, void *ctx)
{
    const ae_node *n = ctx;
    for (;; n = ((const conv_state *)n->state)->fnext) {
        conv_blocks_run_block(((const conv_state *)n->state)->fwd.blocks, b, t);
        if (!((const conv_state *)n->state)->fnext) break;
    }
    if (n->fuse.loss_tail) /* the BCE loss on the block's logits (fuse.c's plan_bcel) */
        bcel_chain_fwd(n->fuse.loss_tail, block_r0(n, b), block_len(n, b), t);
}

int conv_run_forward(ae_node *n)
{
    const conv_state *s = n->state;
    if (!s->fwd.blocks) return 0;
    if (s->fchained) return 1; /* its producer ran it */
    for (const ae_node *m = n; m; m = ((const conv_state *)m->state)->fnext)
        conv_blocks_before(((const conv_state *)m->state)->fwd.blocks);
    ae_par_blocks((size_t)s->nbk, conv_blocks_threads(s->fwd.blocks), fwd_block, n);
    for (const ae_node *m = n; m; m = ((const conv_state *)m->state)->fnext)
        conv_blocks_after(((const conv_state *)m->state)->fwd.blocks);
    return 1;
}

/* Block b of n's backward: dZ = dY·act'(Y) in place with the block's bias-gradient partial, then
 * backward-data and backward-weights. */
static void bwd_node_block(const ae_node *n, size_t b, int t)
{
    const conv_state *s = n->state;
    ae_act act = (ae_act)n->iattr[CONV_ACT];
    const int64_t N = n->shape.d[0], rows = conv_block_rows(N), r0 = (int64_t)b * rows;
    const size_t per = n->numel / (size_t)N, off = (size_t)r0 * per;
    ae_shape sh = n->shape;
    sh.d[0] = N - r0 < rows ? N - r0 : rows;
    if (s->db)
        conv_act_bias_grad(act, ae_act_slope(n), n->val + off, s->dz + off, sh, s->priv ? s->blk : 1,
                           s->dbp + b * (size_t)n->shape.d[1], 0);
    else if (act != AE_ACT_IDENTITY)
        ae_act_backward_slope(act, ae_act_slope(n), n->val + off, n->grad + off, s->dz + off, (size_t)sh.d[0] * per, 0);
    if (s->bwd_d.blocks) conv_blocks_run_block(s->bwd_d.blocks, b, t);
    if (s->bwd_w.blocks) conv_blocks_run_block(s->bwd_w.blocks, b, t);
}

static void bwd_block(size_t b, int t, void *ctx)
{
    const ae_node *last = ctx;
    if (last->fuse.loss_tail) /* the loss's gradient of the block's logits first */
        bcel_chain_bwd(last->fuse.loss_tail, block_r0(last, b), block_len(last, b), t);
    for (const ae_node *n = last; n; n = ((const conv_state *)n->state)->bprev) bwd_node_block(n, b, t);
}

static void bwd_after(const ae_node *n)
{
    const conv_state *s = n->state;
    if (s->bwd_d.blocks) conv_blocks_after(s->bwd_d.blocks);
    if (s->bwd_w.blocks) conv_blocks_after(s->bwd_w.blocks);
    if (!s->db) return;
    const int64_t c = n->shape.d[1];
    for (int64_t j = 0; j < c; j++) {
        float v = s->dbp[j];
        for (int b = 1; b < s->nbk; b++) v += s->dbp[(int64_t)b * c + j];
        s->db[j] = s->db_accum ? s->db[j] + v : v;
    }
}

int conv_run_backward(ae_node *n)
{
    const conv_state *s = n->state;
    if (!bwd_blocked(s)) return 0;
    if (s->bchained) return 1; /* its consumer ran it */
    for (const ae_node *m = n; m; m = ((const conv_state *)m->state)->bprev) {
        const conv_state *ms = m->state;
        if (ms->bwd_d.blocks) conv_blocks_before(ms->bwd_d.blocks);
        if (ms->bwd_w.blocks) conv_blocks_before(ms->bwd_w.blocks);
    }
    ae_par_blocks((size_t)s->nbk, conv_blocks_threads(any_blocks(s)), bwd_block, n);
    for (const ae_node *m = n; m; m = ((const conv_state *)m->state)->bprev) bwd_after(m);
    return 1;
}
