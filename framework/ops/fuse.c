/* The ops' compile pass (ae_op.plan of the ops that fuse or keep layouts): one sweep over the graph,
 * in graph order, reading each node's consumer edges (ae_node.cons), decides every fusion and
 * layout question and stores the answers on the nodes (ae_node.fuse, ae_node.blk); prepare and the
 * run functions only read them. */
#include "conv_internal.h"
#include "dense_internal.h"
#include "ae_latent.h"

static int is_dense(const ae_node *n) { return n->op == &ae_op_dense; }
static int is_conv(const ae_node *n) { return n->op == &ae_op_conv2d || n->op == &ae_op_conv_transpose2d; }
static ae_act dense_act(const ae_node *n) { return (ae_act)n->iattr[DENSE_ACT]; }

/* Consumer edges of x whose backward writes x's gradient. */
static int grad_writers(const ae_node *x)
{
    int writers = 0;
    for (int i = 0; i < x->ncons; i++) {
        const ae_node *c = x->cons[i].node;
        writers += c->needs_grad && c->op->backward;
    }
    return writers;
}

static ae_node *chain_next(const ae_node *p);

/* Whether every writer of x's gradient other than dense layer self is a penalty (ae_op.penalty)
 * placed after the chain's last layer (last) in graph order: backward runs the nodes in reverse, so
 * each penalty writes x's gradient before the chain's backward (run at its last layer's turn) adds
 * to it, as self alone would (its accumulate flag; fl(pen + d) = fl(d + pen)). */
static int penalties_first(const ae_node *x, const ae_node *self, const ae_node *last)
{
    int pen = 0;
    for (int i = 0; i < x->ncons; i++) {
        const ae_node *u = x->cons[i].node;
        if (u == self || !u->needs_grad || !u->op->backward) continue;
        if (!u->op->penalty || u->id < last->id) return 0;
        pen++;
    }
    return pen > 0;
}

/* Link p -> c although penalties write p's gradient (pen_y) or p's weight gradient (pen_w) too:
 * each comes first (penalties_first). Only in a batch of at most DENSE_MIN_BLOCK_ROWS rows: one
 * block or split, where c's dX goes to p's gradient itself, not to a per-thread block buffer
 * without the penalties' rows; a split dW adds to the penalty's (dense_split.c). */
static int penalty_link(const ae_node *p, const ae_node *c, int pen_y, int pen_w)
{
    if (p->shape.d[0] > DENSE_MIN_BLOCK_ROWS) return 0;
    const ae_node *last = c, *q;
    while ((q = chain_next(last))) last = q;
    return (!pen_y || penalties_first(p, c, last)) && (!pen_w || penalties_first(p->in[1], p, last));
}

/* A chain is dense layers each feeding the next one alone (W1's 17-16-3-16-17): its first layer runs
 * the forward of all of them block by block and its last layer the backward (ops_dense.c). The
 * block products are the same; what moves is when each layer's gradients are written (all at the
 * last layer's turn), which changes nothing when every layer's input gradient comes from the next
 * layer alone and no member has a parameter or input gradient that a node running its backward
 * earlier writes too (no accumulate flag set). A member other than the last needs a ReLU or no
 * activation when the chain may run in blocks of a big batch (a block's dZ then lives in a per-thread
 * buffer that only the next layer's masked dX fills); a batch that fits one block runs either unsplit
 * (each layer alone, as without a chain) or split, where every dZ stays in its layer's gradient
 * buffer, so any activation links there. Penalties on a member's output may write its gradient too
 * (penalty_link). The link p -> c, or NULL: */
static ae_node *chain_next(const ae_node *p)
{
    if (!is_dense(p)) return NULL;
    if (dense_act(p) != AE_ACT_RELU && dense_act(p) != AE_ACT_IDENTITY && p->shape.d[0] > DENSE_MIN_BLOCK_ROWS)
        return NULL;
    ae_node *c = NULL;
    for (int i = 0; i < p->ncons; i++) {
        ae_node *q = p->cons[i].node;
        if (!is_dense(q) || p->cons[i].slot != 0) continue;
        if (c) return NULL; /* two dense consumers */
        c = q;
    }
    if (!c || c->needs_grad != p->needs_grad) return NULL;
    if (c->needs_grad) {
        const int pen_y = grad_writers(p) != 1, pen_w = p->accum[1]; /* then only penalties */
        if ((pen_y || pen_w) && !penalty_link(p, c, pen_y, pen_w)) return NULL;
        for (int k = 0; k < AE_MAX_IN; k++)
            if ((c->accum[k] && !(k == 0 && pen_y)) || (p->accum[k] && !(k == 1 && pen_w))) return NULL;
    }
    return c;
}

/* When x is a ReLU dense layer whose gradient only dense node n writes, n's backward can finish x's
 * backward too: dX·[x > 0] is x's dZ, computed while the dX block is in cache (the same products as
 * x's own mask, so the same bits) instead of another pass over x's Y and dY. */
static int relu_consumer(const ae_node *n)
{
    const ae_node *x = n->in[0];
    if (!n->needs_grad || !x->needs_grad || !is_dense(x) || dense_act(x) != AE_ACT_RELU || n->accum[0])
        return 0;
    return grad_writers(x) == 1;
}

/* The channel block every consumer of r reads it in: all are convs taking r as input that would read
 * the same blocked layout; else 0. */
static int conv_readers_block(const ae_node *r)
{
    int blk = 0;
    for (int i = 0; i < r->ncons; i++) {
        int b = r->cons[i].slot == 0 ? ae_conv_input_block(r->cons[i].node) : 0;
        if (!b || (blk && b != blk)) return 0;
        blk = b;
    }
    return blk;
}

/* A dense layer whose one consumer is a reshape that only convs read, when they would read a
 * blocked layout, writes that layout (dense_blocked.c permutes W's rows); the caller reads neither. */
static int dense_out_block(const ae_node *n)
{
    const ae_node *r = !n->pinned && n->ncons == 1 ? n->cons[0].node : NULL;
    return r && r->op == &ae_op_reshape && r->shape.nd == 4 && !r->pinned ? conv_readers_block(r) : 0;
}

static void plan_dense(ae_node *n)
{
    ae_act act = dense_act(n);
    n->fuse.post_act = act == AE_ACT_IDENTITY || act == AE_ACT_RELU; /* exact and cheap as a post-op */
    ae_node *c = chain_next(n);
    if (c) {
        n->fuse.chain_next = c;
        c->fuse.chain_prev = n;
    }
    if (relu_consumer(n)) {
        n->fuse.mask_dx = 1;
        n->in[0]->fuse.dz_ready = 1;
    }
    n->blk = dense_out_block(n);
}

/* An MSE that writes its prediction's gradient first (no accumulate flag) writes it in its forward
 * pass. When the prediction is a sigmoid dense layer whose gradient only this MSE writes, it writes
 * that layer's dZ = dY·y(1-y) instead of dY (same products, same bits), and the layer skips its own
 * pass over Y and dY. */
static void plan_mse(ae_node *n)
{
    ae_node *p = n->in[0];
    n->fuse.grad_in_fwd = n->needs_grad && p->needs_grad && !n->accum[0];
    if (n->fuse.grad_in_fwd && is_dense(p) && dense_act(p) == AE_ACT_SIGMOID && n->in[1] != p &&
        grad_writers(p) == 1) {
        n->fuse.sig_dz = 1;
        p->fuse.dz_ready = 1;
    }
}

/* A BCE-on-logits loss whose logits are the last (identity) layer of a chain split in row blocks, or
 * an identity conv run in batch blocks (conv_blocks.c; its blocks' images are rows of the logits),
 * and whose logits' gradient it alone writes first: its softplus and the sums of its chunks that lie
 * in one block run in the chain's forward blocks, its sigmoid and gradient in the backward blocks, on
 * the thread that has the block's rows in cache (ops_loss.c; elementwise, and the same chunks summed
 * in the same order, so the same bits). A conv that ends up without blocks drops it at its prepare. */
static void plan_bcel(ae_graph *g, ae_node *n)
{
    ae_node *z = n->in[0], *t = n->in[1];
    int split = 0;
    if (!n->needs_grad || !z->needs_grad || n->accum[0] || t->needs_grad || t == z || z->blk ||
        grad_writers(z) != 1)
        return;
    if (is_conv(z)) {
        if ((ae_act)z->iattr[CONV_ACT] != AE_ACT_IDENTITY || !conv_blocks_on()) return;
    } else {
        if (!is_dense(z) || !z->fuse.chain_prev || z->fuse.chain_next || dense_act(z) != AE_ACT_IDENTITY) return;
        dense_chain_rows(z, ae_graph_threads(g), &split);
        if (!split) return;
    }
    z->fuse.loss_tail = n;
    n->fuse.in_chain = 1;
}

/* A dense layer e (in a training graph, no chain member, not itself a fork's head) whose output
 * exactly two dense layers read, as their input, neither of them chained on, both with every other
 * input a leaf (parameter) or made before e, and each the only writer of its parameters' gradients
 * (tied heads are not forked: their dW slices would race): when the three split in row blocks
 * (dense_chain_rows: e's product is worth a second thread), e's forward region runs both readers'
 * forward per block, its backward region per block their dX (the later
 * one first, overwriting e's gradient rows, the other adding, as their own backwards would) and e's
 * dZ, and one region all three layers' dW slices and db (ops_dense.c, dense_split.c). A VAE's
 * encoder and its mu and log-variance heads: one region each way instead of oneDNN's own threads for
 * the encoder and the heads on one thread. */
static void plan_fork(ae_graph *g, ae_node *e)
{
    ae_node *h[2];
    int split = 0;
    if (!e->needs_grad || e->fuse.chain_prev || e->fuse.chain_next || e->fuse.fork_of || e->blk || e->in[0]->blk ||
        e->ncons != 2 || grad_writers(e) != 2)
        return; /* a head of another fork runs in that fork's blocks: no fork of its own */
    for (int i = 0; i < 2; i++) {
        h[i] = e->cons[i].node;
        if (!is_dense(h[i]) || e->cons[i].slot || !h[i]->needs_grad || h[i]->fuse.chain_next || h[i]->blk)
            return;
        for (int k = 1; k < h[i]->nin; k++) {
            const ae_node *w = h[i]->in[k];
            if (w->id > e->id && w->op->forward) return; /* made after e's forward */
            if (h[i]->accum[k] || (w->needs_grad && grad_writers(w) != 1))
                return; /* the heads' dW move to e's turn: each must alone write its parameters' gradients */
        }
    }
    if (h[0] == h[1]) return;
    const int lo = h[0]->id > h[1]->id;
    e->fuse.fork[0] = h[lo], e->fuse.fork[1] = h[!lo];
    h[0]->fuse.fork_of = h[1]->fuse.fork_of = e;
    dense_chain_rows(e, ae_graph_threads(g), &split);
    if (split) return;
    e->fuse.fork[0] = e->fuse.fork[1] = h[0]->fuse.fork_of = h[1]->fuse.fork_of = NULL;
}

/* A gaussian corruption (the Philox sampler: each value a function of the seed and its index alone),
 * or a VAE's sampling z = mu + eps·exp(lv/2) (eps: ae_rng_blocks' GSL blocks, each a function of the
 * seed and its block; a block's rows redraw the blocks they share with a neighbour, up to their end),
 * whose output is the input of a split chain's first layer in a training graph, and which no node
 * before that layer reads: its values are made in the chain's forward blocks, each block's rows
 * right before the first product reads them (ops_latent.c; the same values). */
static void plan_noise(ae_graph *g, ae_node *n)
{
    ae_node *head = NULL;
    int split = 0;
    if (n->op == &ae_op_corrupt ? n->iattr[0] != AE_NOISE_GAUSSIAN : n->iattr[0]) return; /* kind; use_mean */
    for (int i = 0; i < n->ncons; i++) {
        ae_node *c = n->cons[i].node;
        if (is_dense(c) && n->cons[i].slot == 0 && !head) head = c;
    }
    if (!head || !head->needs_grad || head->fuse.chain_prev || !head->fuse.chain_next || head->blk) return;
    for (int i = 0; i < n->ncons; i++)
        if (n->cons[i].node->id < head->id) return;
    dense_chain_rows(head, ae_graph_threads(g), &split);
    if (!split) return;
    head->fuse.noise_head = n;
    n->fuse.in_chain = 1;
}

/* Every consumer is a conv or a dense layer reading n as its input (a dense layer reads the features
 * in blocked order through permuted weights), and the caller does not read n: n's value and
 * gradient may then stay in the forward primitive's blocked layout (no reorders). */
static int takes_blocked(const ae_node *n)
{
    if (n->pinned) return 0;
    for (int i = 0; i < n->ncons; i++) {
        const ae_node *c = n->cons[i].node;
        if (n->cons[i].slot || !(is_conv(c) || is_dense(c))) return 0;
    }
    return n->ncons > 0;
}

static int plan_conv(ae_node *n, ae_err *err)
{
    int layout = conv_fwd_layout(n);
    ae_act act = (ae_act)n->iattr[CONV_ACT];
    /* with a bias the primitive runs without post-ops; the bias and the activation follow it */
    n->fuse.post_act = n->nin > 2 ? act == AE_ACT_IDENTITY : conv_fuse_act(n->iattr[CONV_KIND], layout, act);
    n->fuse.keep_blocked = layout == AE_CONV_STAGE_BLOCKED && takes_blocked(n);
    n->blk = 0;
    if (n->fuse.keep_blocked && conv_out_block(n, &n->blk, err)) return ae_err_prefix(err, "%s", n->name);
    return AE_OK;
}

int ae_ops_plan(ae_graph *g, ae_err *err)
{
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        ae_node *n = ae_graph_node(g, i);
        if (is_dense(n)) plan_dense(n);
        else if (n->op == &ae_op_mse) plan_mse(n);
        else if (is_conv(n) && plan_conv(n, err)) return err->code;
        else if (n->op == &ae_op_reshape) n->blk = n->in[0]->blk; /* a view keeps its input's layout */
    }
    for (size_t i = 0; i < ae_graph_size(g); i++) { /* once every chain is linked */
        ae_node *n = ae_graph_node(g, i);
        if (is_dense(n)) plan_fork(g, n);
        else if (n->op == &ae_op_bce_logits) plan_bcel(g, n);
        else if (n->op == &ae_op_corrupt || n->op == &ae_op_reparam) plan_noise(g, n);
    }
    ops_plan_threads(g);
    return AE_OK;
}
