/* A split dense chain, or a split fork (a layer and its two dense readers), run by output units (issue
 * 17): each part of every layer's units (a fixed column range, one per graph thread) owns its rows of
 * W, their gradient and optimizer state, so a step moves only activations between cores, never
 * weights (bench/analysis_issue17_units.md). */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ae_par.h"
#include "dense_internal.h"
#include "logits_internal.h"

/* Part boundaries fall on multiples of this many columns: 64 bytes, so two parts never write one
 * cache line of a row (rows of a width that is a multiple of 16 start on a line). */
#define UNIT_ALIGN 16

int64_t dense_units_cut(int64_t m, int parts, int u)
{
    if (u >= parts) return m;
    int64_t c = (m * u / parts + UNIT_ALIGN / 2) / UNIT_ALIGN * UNIT_ALIGN;
    return c < m ? c : m;
}

static ae_node *next_of(const ae_node *n) { return ((dense_state *)n->state)->next; }
static ae_node *prev_of(const ae_node *n) { return ((dense_state *)n->state)->prev; }

/* A layer that can run by parts: its activation one of the parts', plain layout, no empty part (a
 * narrow side is no concern: operands are dense). */
static int member_ok(const ae_node *c, int threads)
{
    const ae_node *x = c->in[0];
    const int act = c->iattr[DENSE_ACT];
    const int64_t m = c->shape.d[1];
    if (act != AE_ACT_IDENTITY && act != AE_ACT_RELU && act != AE_ACT_SIGMOID && act != AE_ACT_TANH) return 0;
    if (c->blk || (x->blk && x->shape.nd == 4)) return 0;
    for (int u = 0; u < threads; u++)
        if (dense_units_cut(m, threads, u) >= dense_units_cut(m, threads, u + 1)) return 0;
    return 1;
}

int dense_units_chain(const ae_node *n, int threads)
{
    const ae_node *h = n->fuse.fork_of ? n->fuse.fork_of : n, *c;
    if (threads < 2 || getenv("AELAB_NO_UNITS")) return 0;
    if (h->fuse.fork[0]) { /* a fork's parent and its two heads (fuse.c's plan_fork) */
        int split = 0;
        dense_chain_rows(h, threads, &split);
        return split && member_ok(h, threads) && member_ok(h->fuse.fork[0], threads) &&
               member_ok(h->fuse.fork[1], threads);
    }
    if (!n->fuse.chain_prev && !n->fuse.chain_next) return 0;
    while (h->fuse.chain_prev) h = h->fuse.chain_prev;
    int split = 0;
    dense_chain_rows(h, threads, &split);
    if (!split) return 0;
    for (c = h; c; c = c->fuse.chain_next)
        if (c->fuse.fork[0] || c->fuse.fork_of || !member_ok(c, threads)) return 0;
    return 1;
}

int dense_units_prepare(ae_graph *g, ae_node *n, int parts, ae_err *err)
{
    dense_state *s = n->state;
    ae_node *x = n->in[0], *w = n->in[1];
    const int64_t rows = s->n, k = s->k, m = s->m;
    const int grad_w = n->needs_grad && w->needs_grad, grad_x = n->needs_grad && x->needs_grad;
    s->np = parts;
    if (!(s->ucut = calloc((size_t)parts + 1, sizeof *s->ucut)) || !(s->uf = calloc((size_t)parts, sizeof *s->uf)) ||
        !(s->uw = calloc((size_t)parts, sizeof *s->uw)) || !(s->ud = calloc((size_t)parts, sizeof *s->ud)) ||
        !(s->ut = calloc((size_t)parts, sizeof *s->ut)))
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (int u = 0; u <= parts; u++) s->ucut[u] = dense_units_cut(m, parts, u);
    if (grad_x && !(s->up = ae_graph_scratch(g, (size_t)(parts * rows * k), err))) return err->code;
    /* each part's Y[:, U] and dZ[:, U] dense, [rows, c]: oneDNN's brgemm kernels take dense operands
     * only (a strided one falls back to gemm:jit, measured 1.2-4x slower at these shapes) */
    if (!(s->uy = ae_graph_scratch(g, (size_t)(rows * m), err)) ||
        (n->needs_grad && !(s->uz = ae_graph_scratch(g, (size_t)(rows * m), err))))
        return err->code;
    if (grad_x && !s->prev) { /* the chain's input: its gradient's columns in parts of their own */
        if (!(s->kcut = calloc((size_t)parts + 1, sizeof *s->kcut))) return ae_errf(err, AE_EINTERNAL, "out of memory");
        for (int u = 0; u <= parts; u++) s->kcut[u] = dense_units_cut(k, parts, u);
    }
    const ae_act act = n->fuse.post_act ? (ae_act)n->iattr[DENSE_ACT] : AE_ACT_IDENTITY;
    int saved = ae_par_limit(1), rc = AE_OK; /* each part runs on one thread of the chain's region */
    for (int u = 0; u < parts && !rc; u++) {
        const int64_t c0 = s->ucut[u], c = s->ucut[u + 1] - c0;
        /* Y[:, U] = X·W[U]ᵀ + b[U]            [rows, c] = [rows, k]·[k, c] */
        float *yb = s->uy + rows * c0, *zb = s->uz ? s->uz + rows * c0 : NULL;
        rc = ae_matmul_init(&s->uf[u], (ae_mat){x->val, rows, k, k, 1}, (ae_mat){s->wv + c0 * k, k, c, 1, k},
                            s->bv ? s->bv + c0 : NULL, (ae_mat){yb, rows, c, c, 1}, act, 0, err);
        if (!rc && n->iattr[DENSE_ACT] == AE_ACT_TANH) /* oneDNN's vectorised tanh, in place */
            rc = ae_eltwise_init(&s->ut[u], dnnl_eltwise_tanh, 0.0f, 0.0f, yb, yb, (size_t)(rows * c), err);
        /* dW[U] = dZ[:, U]ᵀ·X                   [c, k] = [c, rows]·[rows, k] */
        if (!rc && grad_w)
            rc = ae_matmul_init(&s->uw[u], (ae_mat){zb, c, rows, 1, c}, (ae_mat){x->val, rows, k, k, 1}, NULL,
                                (ae_mat){s->wg + c0 * k, c, k, k, 1}, AE_ACT_IDENTITY, n->accum[1], err);
        /* P_u = dZ[:, U]·W[U]: part u's terms of dX [rows, k] = [rows, c]·[c, k] */
        if (!rc && grad_x)
            rc = ae_matmul_init(&s->ud[u], (ae_mat){zb, rows, c, c, 1}, (ae_mat){s->wv + c0 * k, c, k, k, 1},
                                NULL, (ae_mat){s->up + (int64_t)u * rows * k, rows, k, k, 1}, AE_ACT_IDENTITY, 0, err);
    }
    ae_par_restore(saved);
    return rc ? err->code : AE_OK;
}

void dense_units_destroy(dense_state *s)
{
    for (int u = 0; u < s->np; u++) {
        if (s->uf) ae_matmul_destroy(&s->uf[u]);
        if (s->uw) ae_matmul_destroy(&s->uw[u]);
        if (s->ud) ae_matmul_destroy(&s->ud[u]);
        if (s->ut) ae_eltwise_destroy(&s->ut[u]);
    }
    free(s->uf), free(s->uw), free(s->ud), free(s->ut), free(s->ucut), free(s->kcut);
}

/* body(n, t, nth) on each thread t of a team of nth: one thread per part at most, one when the step
 * runs on one (AELAB_LANES off: the parts one after the other). */
static void in_region(ae_node *n, int parts, void (*body)(ae_node *n, int t, int nth))
{
    int nt = ae_par_threads();
    if (nt > parts) nt = parts;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
    body(n, omp_get_thread_num(), omp_get_num_threads());
#else
    body(n, 0, 1);
#endif
}

static void barrier(void)
{
#ifdef _OPENMP
#pragma omp barrier
#endif
}

static void fwd_part(ae_node *n, int u)
{
    dense_state *s = n->state;
    ae_matmul_run(&s->uf[u]);
    const ae_act act = (ae_act)n->iattr[DENSE_ACT];
    const int64_t c0 = s->ucut[u], c = s->ucut[u + 1] - c0;
    float *yb = s->uy + s->n * c0;
    if (act == AE_ACT_SIGMOID) ae_act_forward(act, yb, yb, (size_t)(s->n * c)); /* identity, ReLU: post-ops */
    if (act == AE_ACT_TANH) ae_eltwise_run(&s->ut[u]);
    for (int64_t r = 0; r < s->n; r++) memcpy(n->val + r * s->m + c0, yb + r * c, (size_t)c * sizeof *yb);
}

static int64_t block_rows_of(const dense_state *s, int64_t r0) { return r0 + s->rows <= s->n ? s->rows : s->n - r0; }

static void forward_body(ae_node *head, int t, int nth)
{
    const dense_state *hs = head->state;
    ae_node *last = head;
    if (head->fuse.noise_head) { /* the corrupted or sampled input by row blocks (fuse.c's plan_noise) */
        for (int b = t; b < hs->nb; b += nth) {
            const int64_t r0 = b * hs->rows;
            noise_chain_rows(head->fuse.noise_head, (size_t)(r0 * hs->k), (size_t)((r0 + block_rows_of(hs, r0)) * hs->k));
        }
        barrier(); /* the first layer's parts read every row */
    }
    for (ae_node *c = head; c; c = next_of(c)) {
        for (int u = t; u < hs->np; u += nth) fwd_part(c, u);
        barrier(); /* the next layer (or a fork's heads) reads every column */
        last = c;
    }
    for (int h = 0; h < 2 && head->fuse.fork[h]; h++)
        for (int u = t; u < hs->np; u += nth) fwd_part(head->fuse.fork[h], u);
    if (last->fuse.loss_tail) /* the BCE on the logits, by row blocks (fuse.c's plan_bcel) */
        for (int b = t; b < hs->nb; b += nth)
            bcel_chain_fwd(last->fuse.loss_tail, b * hs->rows, block_rows_of(hs, b * hs->rows), t);
}

void dense_units_forward(ae_node *head) { in_region(head, ((dense_state *)head->state)->np, forward_body); }

/* Part u of layer n: its units' dZ (activation derivative), dW and db rows, its terms of dX, then
 * its parameters' final ranges (a fused update writes W[U] after the dX terms read it). */
static void bwd_part(ae_node *n, int u)
{
    dense_state *s = n->state;
    const ae_act act = (ae_act)n->iattr[DENSE_ACT];
    const int64_t c0 = s->ucut[u], c1 = s->ucut[u + 1], m = s->m, k = s->k;
    const int64_t c = c1 - c0;
    float *zb = s->uz + s->n * c0; /* dZ[:, U], dense */
    const int dact = act != AE_ACT_IDENTITY && !s->dz_ready;
    for (int64_t r = 0; r < s->n; r++) {
        if (dact) ae_act_backward_slope(act, ae_act_slope(n), s->uy + s->n * c0 + r * c, n->grad + r * m + c0, zb + r * c,
                                        (size_t)c, 0);
        else memcpy(zb + r * c, n->grad + r * m + c0, (size_t)c * sizeof *zb);
    }
    ae_node *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    if (s->uw[u].prim) ae_matmul_run(&s->uw[u]);
    if (b && b->needs_grad && !n->accum[2]) dense_colsum(zb, s->n, c, s->bg + c0); /* zb is dense [rows, c] */
    if (b && b->needs_grad && n->accum[2]) { /* after another writer's db: the sums in the layer's db scratch */
        dense_colsum(zb, s->n, c, s->dbp + c0);
        for (int64_t j = c0; j < c1; j++) s->bg[j] += s->dbp[j];
    }
    if (s->ud[u].prim) ae_matmul_run(&s->ud[u]);
    if (s->wfin) ae_graph_param_final(w, (size_t)(c0 * k), (size_t)(c1 * k));
    if (s->bfin) ae_graph_param_final(b, (size_t)c0, (size_t)c1);
}

/* The readers' input's gradient, columns [lo, hi): the sum of their dX terms (the readers in the order
 * given, each one's parts in part order), masked by x > 0 for a ReLU producer, and added to what a
 * penalty wrote first (fuse.c's penalty_link). One reader for a chain's layer, a fork's two heads. */
static void sum_terms(ae_node *const *rd, int nrd, int64_t lo, int64_t hi)
{
    const dense_state *s0 = rd[0]->state;
    ae_node *x = rd[0]->in[0];
    const int64_t k = s0->k, n = s0->n, plane = n * k, w = hi - lo;
    const float *xv = s0->mask_dx ? x->val : NULL;
    const int acc = rd[0]->accum[0];
    for (int64_t r = 0; r < n; r++) {
        const int64_t e = r * k + lo;
        float *restrict g = x->grad + e;
        if (acc) { /* another writer's gradient there already: the terms' sum, then added */
            for (int64_t j = 0; j < w; j++) {
                float v = 0.0f;
                for (int i = 0, first = 1; i < nrd; i++) {
                    const dense_state *s = rd[i]->state;
                    for (int u = 0; u < s->np; u++, first = 0) {
                        const float q = s->up[u * plane + e + j];
                        v = first ? q : v + q;
                    }
                }
                g[j] += xv && !(xv[e + j] > 0.0f) ? 0.0f : v;
            }
            continue;
        }
        for (int i = 0, first = 1; i < nrd; i++) {
            const dense_state *s = rd[i]->state;
            for (int u = 0; u < s->np; u++, first = 0) {
                const float *restrict q = s->up + u * plane + e;
                if (first) memcpy(g, q, (size_t)w * sizeof *g);
                else
                    for (int64_t j = 0; j < w; j++) g[j] += q[j];
            }
        }
        if (xv)
            for (int64_t j = 0; j < w; j++) g[j] = xv[e + j] > 0.0f ? g[j] : 0.0f;
    }
}

static void backward_body(ae_node *last, int t, int nth)
{
    const dense_state *ls = last->state;
    if (last->fuse.fork[0]) { /* the heads' parts, then each part sums its columns of the parent's dY */
        for (int h = 2; h-- > 0;)
            for (int u = t; u < ls->np; u += nth) bwd_part(last->fuse.fork[h], u);
        barrier(); /* every head's terms are in */
        ae_node *const heads[2] = {last->fuse.fork[1], last->fuse.fork[0]}; /* the later head first */
        for (int u = t; u < ls->np; u += nth) sum_terms(heads, 2, ls->ucut[u], ls->ucut[u + 1]);
    }
    if (last->fuse.loss_tail) {
        for (int b = t; b < ls->nb; b += nth)
            bcel_chain_bwd(last->fuse.loss_tail, b * ls->rows, block_rows_of(ls, b * ls->rows), t);
        barrier(); /* each part reads its columns of every row */
    }
    for (ae_node *c = last; c; c = prev_of(c)) {
        const dense_state *s = c->state;
        for (int u = t; u < s->np; u += nth) bwd_part(c, u);
        if (!s->up) continue;
        barrier(); /* every part's terms of dX are in */
        const int64_t *cut = s->prev ? ((dense_state *)s->prev->state)->ucut : s->kcut;
        for (int u = t; u < s->np; u += nth) sum_terms(&c, 1, cut[u], cut[u + 1]);
    }
}

void dense_units_backward(ae_node *last) { in_region(last, ((dense_state *)last->state)->np, backward_body); }
