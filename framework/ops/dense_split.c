/* Weight and bias gradients run apart from a dense layer's backward walk. A split chain's or fork's
 * (ops_dense.c, dense_state.split): after the chain's row
 * blocks have run the backward (dZ of every layer kept whole in its gradient buffer), one region
 * runs fixed tasks, handed out dynamically: each a slice of a layer's dW rows over the whole batch,
 * dW[j0:j1] = dZ[:, j0:j1]ᵀ·X (a one-thread product with the same reduction over the batch as the
 * unsplit layer's), or a layer's db (its column sums, in the order of the unsplit layer). What each
 * task computes does not depend on the thread that runs it. A small one-block layer's (dense_defers):
 * its dW slices (smaller: DEFER_SLICE_FLOATS) and db column sums as the graph's deferred tasks
 * (ae_op.tasks), all layers' in one region after the walk or beside it, off the path of the dX
 * chain. A task whose gradient is final reports it (ae_graph_param_final): a fused optimizer
 * update of that slice runs there. */
#include <stdlib.h>
#include <string.h>

#include "ae_par.h"
#include "dense_internal.h"

/* dW rows per slice: at most this many, as even as possible (a function of m alone). */
#define SLICE_ROWS 128
/* A deferred layer's dW slices: at most this many floats of dW each (a function of m and k alone),
 * so that the biggest layer's dW and update do not keep one thread busy while the others wait. */
#define DEFER_SLICE_FLOATS 32768

static ae_mat slice_a(const ae_node *n, int64_t j0, int64_t r)
{
    const dense_state *s = n->state;
    return (ae_mat){n->grad + j0, r, s->n, 1, s->m};
}

int dense_split_prepare(ae_node *n, int threads, ae_err *err)
{
    dense_state *s = n->state;
    if (!n->in[1]->needs_grad) return AE_OK;
    int ns = (int)((s->m + SLICE_ROWS - 1) / SLICE_ROWS);
    if (s->defer) ns = (int)((s->m * s->k + DEFER_SLICE_FLOATS - 1) / DEFER_SLICE_FLOATS);
    s->srows = (s->m + ns - 1) / ns;
    s->ns = (int)((s->m + s->srows - 1) / s->srows);
    s->sthr = threads;
    const int64_t last = s->m - (int64_t)(s->ns - 1) * s->srows;
    if (!(s->dws = calloc((size_t)threads * 2, sizeof *s->dws))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    ae_mat x = {n->in[0]->val, s->n, s->k, s->k, 1};
    for (int t = 0; t < threads; t++)
        for (int v = 0; v < 1 + (last != s->srows); v++) {
            int64_t r = v ? last : s->srows;
            if (ae_matmul_init(&s->dws[2 * t + v], slice_a(n, 0, r), x, NULL, (ae_mat){s->wg, r, s->k, s->k, 1},
                               AE_ACT_IDENTITY, n->accum[1], err)) /* after a penalty's dW (fuse.c) */
                return err->code;
        }
    return AE_OK;
}

/* Tasks of one layer: its dW slices, then its db. */
static int tasks_of(const ae_node *n)
{
    const dense_state *s = n->state;
    const ae_node *b = n->nin > 2 ? n->in[2] : NULL;
    return s->ns + (s->defer ? b && b->needs_grad : s->dbp != NULL);
}

/* A deferred or fused db goes straight into the bias gradient (the one-partial reduce would copy it). */
static void run_task(const ae_node *n, int task, int t)
{
    const dense_state *s = n->state;
    if (task == s->ns) {
        dense_colsum(n->grad, s->n, s->m, s->bfin || s->defer ? s->bg : s->dbp);
        if (s->bfin) ae_graph_param_final(n->in[2], 0, (size_t)s->m);
        return;
    }
    const int64_t j0 = (int64_t)task * s->srows, j1 = j0 + s->srows < s->m ? j0 + s->srows : s->m;
    ae_matmul *mm = &s->dws[2 * t + (task == s->ns - 1 && s->m - j0 != s->srows)];
    dnnl_memory_set_data_handle(mm->a, n->grad + j0);
    dnnl_memory_set_data_handle(mm->c, s->wg + j0 * s->k);
    ae_matmul_run(mm);
    if (s->wfin) ae_graph_param_final(n->in[1], (size_t)(j0 * s->k), (size_t)(j1 * s->k));
}

ae_node *dense_member_after(const ae_node *top, const ae_node *n)
{
    if (top->fuse.fork[0]) return n == top ? top->fuse.fork[1] : n == top->fuse.fork[1] ? top->fuse.fork[0] : NULL;
    const dense_state *s = n->state;
    return s->fused ? s->prev : NULL;
}

/* Task b of the chain ending at ctx (its last layer first, as its gradients are ready first), or of
 * the fork ctx heads (its biggest product first). */
static void task_block(size_t b, int t, void *ctx)
{
    int task = (int)b;
    for (const ae_node *n = ctx; n; n = dense_member_after(ctx, n)) {
        if (task < tasks_of(n)) {
            run_task(n, task, t);
            return;
        }
        task -= tasks_of(n);
    }
}

void dense_split_dw(ae_node *last)
{
    size_t ntasks = 0;
    for (const ae_node *n = last; n; n = dense_member_after(last, n)) ntasks += (size_t)tasks_of(n);
    ae_par_blocks(ntasks, ((dense_state *)last->state)->nthr, task_block, last);
}

/* A product of at least this many FLOPs pays for a hand-over to a waiting thread (~1-2 us). */
#define PAIR_FLOPS 4e6

/* Whether the two halves give the bits of the whole product: oneDNN may sum a column's K terms in
 * another order for another N (784 x 200 does, 200 x 784 does not, on AVX-512), so it is tried at
 * compile on pseudo-random X and W (a different order shows in the last bits of nearly every
 * element); the buffers are put back. */
static int halves_match(ae_matmul *whole, ae_matmul *half, float *a, size_t na, float *b, size_t nb, float *c,
                        size_t nc)
{
    float *save = malloc((na + nb + 2 * nc) * sizeof *save), *res = save + na + nb + nc;
    if (!save) return 0;
    memcpy(save, a, na * sizeof *a), memcpy(save + na, b, nb * sizeof *b), memcpy(save + na + nb, c, nc * sizeof *c);
    uint64_t z = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < na + nb; i++) {
        z = z * 6364136223846793005ULL + 1442695040888963407ULL;
        (i < na ? a : b - na)[i] = (float)((double)(z >> 40) / 16777216.0 - 0.5);
    }
    ae_matmul_run(whole);
    memcpy(res, c, nc * sizeof *c);
    memcpy(c, save + na + nb, nc * sizeof *c); /* an accumulating product starts from the same C */
    ae_matmul_run(&half[0]);
    ae_matmul_run(&half[1]);
    int same = !memcmp(res, c, nc * sizeof *c);
    memcpy(a, save, na * sizeof *a), memcpy(b, save + na, nb * sizeof *b), memcpy(c, save + na + nb, nc * sizeof *c);
    free(save);
    return same;
}

static int pair_matches(ae_node *n)
{
    dense_state *s = n->state;
    return halves_match(&s->fwd.mm[0], s->fh, n->in[0]->val, (size_t)(s->n * s->k), s->wv, (size_t)(s->m * s->k),
                        n->val, (size_t)(s->n * s->m));
}

static void drop_halves(dense_state *s)
{
    for (int h = 0; s->fh && h < 2; h++) ae_matmul_destroy(&s->fh[h]);
    free(s->fh);
    s->fh = NULL;
}

/* The two halves of the forward product: by output columns (at a multiple of 64), or by rows. */
static int make_halves(ae_node *n, int by_rows, ae_err *err)
{
    dense_state *s = n->state;
    if (!(s->fh = calloc(2, sizeof *s->fh))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    const int64_t k = s->k, m = s->m, n_ = s->n, half = by_rows ? n_ / 2 : (m / 2 + 32) / 64 * 64;
    const ae_act act = n->fuse.post_act ? (ae_act)n->iattr[DENSE_ACT] : AE_ACT_IDENTITY;
    const float *bias = n->nin > 2 ? s->bv : NULL;
    for (int h = 0; h < 2; h++) {
        const int64_t o = h ? half : 0, c = h ? (by_rows ? n_ : m) - half : half;
        ae_mat a = {n->in[0]->val, n_, k, k, 1}, w = {s->wv, k, m, 1, k}, y = {n->val, n_, m, m, 1};
        if (by_rows) a = (ae_mat){n->in[0]->val + o * k, c, k, k, 1}, y = (ae_mat){n->val + o * m, c, m, m, 1};
        else w = (ae_mat){s->wv + o * k, k, c, 1, k}, y = (ae_mat){n->val + o, n_, c, m, 1};
        if (ae_matmul_init(&s->fh[h], a, w, bias && !by_rows ? bias + o : bias, y, act, 0, err)) return err->code;
    }
    return AE_OK;
}

int dense_pair_prepare(ae_node *n, int threads, ae_err *err)
{
    dense_state *s = n->state;
    if (threads < 2 || s->nb != 1 || s->split || s->fused || n->threads != 1 || !s->fwd.mm || s->mw != s->m ||
        s->m < 32 || dense_product_flops(n) < PAIR_FLOPS)
        return AE_OK;
    /* columns keep each half's rows long; rows when columns do not round alike (then the same
     * kernel runs on fewer rows); neither: the whole product, the same bits on any thread count */
    for (int by_rows = 0; by_rows < 1 + (s->n >= 16); by_rows++) {
        if (make_halves(n, by_rows, err)) return err->code;
        if (pair_matches(n)) return AE_OK;
        drop_halves(s);
    }
    return AE_OK;
}

/* dX = dZ·W of a one-block layer in row halves (rows keep each half's K order), for the thread
 * waiting in the step's region while the walk is ahead of every deferred task. */
int dense_dx_pair_prepare(ae_node *n, int threads, ae_err *err)
{
    dense_state *s = n->state;
    if (threads < 2 || s->nb != 1 || s->split || s->fused || s->gbuf || n->threads != 1 || !s->dx.mm ||
        !n->in[0]->needs_grad || dense_permuted(s) || s->n < 16 || dense_product_flops(n) < PAIR_FLOPS)
        return AE_OK;
    if (!(s->dxh = calloc(2, sizeof *s->dxh))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    const int64_t k = s->k, m = s->m, half = s->n / 2;
    for (int h = 0; h < 2; h++) {
        const int64_t o = h ? half : 0, r = h ? s->n - half : half;
        if (ae_matmul_init(&s->dxh[h], (ae_mat){n->grad + o * m, r, m, m, 1}, (ae_mat){s->wv, m, k, k, 1}, NULL,
                           (ae_mat){n->in[0]->grad + o * k, r, k, k, 1}, AE_ACT_IDENTITY, n->accum[0], err))
            return err->code;
    }
    if (!halves_match(&s->dx.mm[0], s->dxh, n->grad, (size_t)(s->n * m), s->wv, (size_t)(m * k), n->in[0]->grad,
                      (size_t)(s->n * k))) {
        for (int h = 0; h < 2; h++) ae_matmul_destroy(&s->dxh[h]);
        free(s->dxh);
        s->dxh = NULL;
    }
    return AE_OK;
}

static void dx_half(void *ctx, int h) { ae_matmul_run(&((dense_state *)((ae_node *)ctx)->state)->dxh[h]); }

void dense_dx_pair(ae_node *n) { ae_graph_pair(dx_half, n); }

static void fwd_half(void *ctx, int h) { ae_matmul_run(&((dense_state *)((ae_node *)ctx)->state)->fh[h]); }

void dense_fwd_pair(ae_node *n) { ae_graph_pair(fwd_half, n); }

void dense_split_destroy(dense_state *s)
{
    drop_halves(s);
    for (int h = 0; s->dxh && h < 2; h++) ae_matmul_destroy(&s->dxh[h]);
    free(s->dxh);
    s->dxh = NULL;
    for (int t = 0; s->dws && t < 2 * s->sthr; t++) ae_matmul_destroy(&s->dws[t]);
    free(s->dws);
    s->dws = NULL;
}

/* p's gradient is written by one node's backward alone (no other layer sharing the parameter adds
 * to it while the walk goes on), or p needs none. */
static int sole_writer(const ae_node *p)
{
    int writers = 0;
    for (int i = 0; p && i < p->ncons; i++) writers += p->cons[i].node->needs_grad && p->cons[i].node->op->backward;
    return !p || !p->needs_grad || writers == 1;
}

int dense_defers(const ae_node *n)
{
    const dense_state *s = n->state;
    const ae_node *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    return n->needs_grad && s->nb == 1 && n->threads == 1 && !dense_permuted(s) &&
           (w->needs_grad || (b && b->needs_grad)) && sole_writer(w) && sole_writer(b) &&
           !(w->needs_grad && n->accum[1]) && !(b && b->needs_grad && n->accum[2]);
}

int dense_tasks(const ae_node *n)
{
    const dense_state *s = n->state;
    return s && s->defer ? tasks_of(n) : 0;
}

/* The dW slices (on the thread's own primitives) and db, as a split chain's. */
void dense_task(ae_node *n, int i, int thread) { run_task(n, i, thread); }

void dense_final_prepare(ae_node *n)
{
    dense_state *s = n->state;
    ae_node *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    if (!n->needs_grad || dense_permuted(s) || s->mperm) return;
    s->wfin = w->needs_grad && (s->split || s->defer || s->dw.mm) && sole_writer(w) && !n->accum[1];
    s->bfin = b && b->needs_grad && sole_writer(b) && !n->accum[2];
    if (s->wfin) w->final_ranges = 1;
    if (s->bfin) b->final_ranges = 1;
}

void dense_final(ae_node *n)
{
    const dense_state *s = n->state;
    if (s->split || s->defer) return;
    if (s->wfin) ae_graph_param_final(n->in[1], 0, (size_t)(s->m * s->k));
    if (s->bfin) ae_graph_param_final(n->in[2], 0, (size_t)s->m);
}
