/* Dense (fully connected) op on oneDNN matmul: forward with fused bias (+ ReLU) post-ops, sigmoid
 * in C (vectorised), tanh as a oneDNN eltwise; backward = activation derivative (C loop),
 * dX = dZ·W and dW = dZᵀ·X (matmul), db = column sums.
 * Large batches run in row blocks of a size fixed by the layer's width (one thread per block, taken
 * dynamically): a block's dZ stays in cache for its dX, dW and db, and the dW/db partial sums of the
 * blocks are added in block order, so results do not depend on the thread count. Outputs only a
 * few columns wide are computed transposed (see narrow_cols); chains of layers run block by block
 * through every layer (ae_fusion.chain_next, decided in fuse.c). Next to convs it reads and writes their channel-blocked
 * layout (dense_blocked.c). Which layers chain, fuse and hand over dZ is decided by the
 * compile pass (fuse.c). */
#include <stdlib.h>
#include <string.h>

#include "ae_par.h"
#include "dense_internal.h"
#include "logits_internal.h"

/* Rows per block: about this many floats of the wider side (input or output). */
#define BLOCK_FLOATS 65536
/* A chain whose batch fits one block but whose products are worth a second thread (AE_PAR_TEAM_FLOPS)
 * is split into up to SPLIT_BLOCKS row blocks of SPLIT_MIN_ROWS rows or more (dense_split.c). */
#define SPLIT_MIN_ROWS 48
#define SPLIT_BLOCKS 4

static int dense_infer(ae_node *n, ae_err *err)
{
    ae_node *x = n->in[0], *w = n->in[1];
    char a[64], b[64];
    int64_t k = (int64_t)(x->numel / (size_t)x->shape.d[0]);
    if (w->shape.nd != 2 || w->shape.d[1] != k)
        return ae_errf(err, AE_EINPUT, "%s: input has %lld features per sample (%s), the weight "
                       "expects %s", n->name, (long long)k, ae_shape_str(x->shape, a, sizeof a),
                       ae_shape_str(w->shape, b, sizeof b));
    if (n->nin > 2 && n->in[2]->numel != (size_t)w->shape.d[0])
        return ae_errf(err, AE_EINTERNAL, "%s: bias size mismatch", n->name);
    n->shape = ae_shape2(x->shape.d[0], w->shape.d[0]);
    return AE_OK;
}

/* Share of the 8 AVX lanes a gemm kernel keeps busy when d is its contiguous output dimension. */
static double lane_use(int64_t d) { return (double)d / (double)((d + 7) / 8 * 8); }

/* dW[m,k] = dZᵀ·X writes rows of k; its transpose Xᵀ·dZ writes rows of m. oneDNN's gemm runs
 * noticeably faster when that row length fills whole vectors (16 vs 17, 16 vs 3), so each layer
 * takes the orientation whose output rows use more lanes (a fixed choice: results are repeatable). */
static int dw_transposed(int64_t k, int64_t m) { return lane_use(m) > lane_use(k); }

/* For the same reason an output only a few columns wide (3, or the 17th of 17) wastes most of the
 * gemm's vectors (3-4x slower than 16 columns in a micro-benchmark). Those columns of C = A·B are
 * computed as Cᵀ = Bᵀ·Aᵀ, whose rows are the block's samples, into a per-thread scratch, finished
 * there (bias, ReLU, ReLU mask) and copied into place; the first multiple of 8 is a plain product. */
static int narrow_cols(int64_t cols) { return cols <= 64 && lane_use(cols) < 0.9; }

static int64_t block_rows(const ae_node *n)
{
    int64_t k = (int64_t)(n->in[0]->numel / (size_t)n->shape.d[0]), m = n->shape.d[1];
    int64_t rows = BLOCK_FLOATS / (k > m ? k : m);
    return rows < DENSE_MIN_BLOCK_ROWS ? DENSE_MIN_BLOCK_ROWS : rows;
}

double dense_product_flops(const ae_node *n)
{
    return 2.0 * (double)n->numel * (double)n->in[1]->shape.d[1];
}

int64_t dense_chain_rows(const ae_node *n, int threads, int *split)
{
    /* the block size depends on the layer (its chain or fork) alone, never on the thread count */
    const ae_node *h = n->fuse.fork_of ? n->fuse.fork_of : n, *c;
    while ((c = h->fuse.chain_prev)) h = c;
    int64_t rows = block_rows(h);
    double flops = dense_product_flops(h);
    for (int i = 0; i < 3; i++) /* the chain after h, or h's fork */
        for (c = i ? h->fuse.fork[i - 1] : h->fuse.chain_next; c; c = i ? NULL : c->fuse.chain_next) {
            if (block_rows(c) < rows) rows = block_rows(c);
            if (dense_product_flops(c) > flops) flops = dense_product_flops(c);
        }
    const int64_t batch = h->shape.d[0], nb = batch / SPLIT_MIN_ROWS;
    *split = threads > 1 && batch <= rows && (h->fuse.chain_next || h->fuse.fork[0]) && flops >= AE_PAR_TEAM_FLOPS &&
             nb >= 2;
    if (*split) rows = (batch + (nb < SPLIT_BLOCKS ? nb : SPLIT_BLOCKS) - 1) / (nb < SPLIT_BLOCKS ? nb : SPLIT_BLOCKS);
    return rows;
}

/* Operands of one product for blocks of r rows (block 0, thread 0; rebound at each run). */
typedef struct mm_ops {
    ae_mat a, b, c;
} mm_ops;
typedef mm_ops (*ops_fn)(const ae_node *n, int64_t r);

static mm_ops ops_fwd(const ae_node *n, int64_t r)
{
    const dense_state *s = n->state;
    const int64_t k = s->k, m = s->m;
    return (mm_ops){{n->in[0]->val, r, k, k, 1}, {s->wv, k, s->mw, 1, k}, {n->val, r, s->mw, m, 1}};
}

static mm_ops ops_fnar(const ae_node *n, int64_t r)
{
    const dense_state *s = n->state;
    const int64_t k = s->k, c = s->m - s->mw;
    return (mm_ops){{s->wv + s->mw * k, c, k, k, 1}, {n->in[0]->val, k, r, 1, k},
                    {s->tbuf, c, r, r, 1}};
}

static mm_ops ops_dx(const ae_node *n, int64_t r)
{
    const dense_state *s = n->state;
    const int64_t k = s->k, m = s->m;
    return (mm_ops){{n->grad, r, m, m, 1}, {s->wv, m, k, k, 1}, {n->in[0]->grad, r, k, k, 1}};
}

static mm_ops ops_dxnar(const ae_node *n, int64_t r)
{
    const dense_state *s = n->state;
    const int64_t k = s->k, m = s->m;
    return (mm_ops){{s->wv, k, m, 1, k}, {n->grad, m, r, 1, m}, {s->tbuf, k, r, r, 1}};
}

static mm_ops ops_dw(const ae_node *n, int64_t r)
{
    const dense_state *s = n->state;
    const int64_t k = s->k, m = s->m;
    float *p = s->dwp ? s->dwp : s->wg;
    if (s->dw_t)
        return (mm_ops){{n->in[0]->val, k, r, 1, k}, {n->grad, r, m, m, 1}, {p, k, m, m, 1}};
    return (mm_ops){{n->grad, m, r, 1, m}, {n->in[0]->val, r, k, k, 1}, {p, m, k, k, 1}};
}

static int bmm_init(bmm *p, const ae_node *n, ops_fn ops, const float *bias, ae_act act, int acc,
                    ae_err *err)
{
    const dense_state *s = n->state;
    const int64_t last = s->n - (int64_t)(s->nb - 1) * s->rows;
    if (!(p->mm = calloc((size_t)s->nthr * 2, sizeof *p->mm)))
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (int t = 0; t < s->nthr; t++)
        for (int v = 0; v < 1 + (last != s->rows); v++) {
            mm_ops o = ops(n, v ? last : s->rows);
            if (ae_matmul_init(&p->mm[2 * t + v], o.a, o.b, bias, o.c, act, acc, err)) return err->code;
        }
    return AE_OK;
}

/* Runs p on thread t for a block (last: the short last block); NULL operands stay bound. */
static void bmm_run(const bmm *p, int t, int last, const float *a, const float *b, float *c)
{
    ae_matmul *mm = &p->mm[2 * t + last];
    if (a) dnnl_memory_set_data_handle(mm->a, (void *)a);
    if (b) dnnl_memory_set_data_handle(mm->b, (void *)b);
    if (c) dnnl_memory_set_data_handle(mm->c, c);
    ae_matmul_run(mm);
}

static void bmm_destroy(bmm *p, int nthr)
{
    for (int t = 0; p->mm && t < 2 * nthr; t++) ae_matmul_destroy(&p->mm[t]);
    free(p->mm);
}

/* Gradient buffers of block (r0, thread t): this layer's dZ and its dX output. */
static float *dz_of(const ae_node *n, int64_t r0, int t)
{
    const dense_state *s = n->state;
    return s->gbuf ? s->gbuf + t * s->rows * s->m : n->grad + r0 * s->m;
}

static float *dx_of(const ae_node *n, int64_t r0, int t)
{
    const dense_state *s = n->state;
    return s->fused && s->prev ? dz_of(s->prev, r0, t) : n->in[0]->grad + r0 * s->k;
}

static int prepare_products(ae_graph *g, ae_node *n, ae_err *err)
{
    dense_state *s = n->state;
    ae_node *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    ae_act act = (ae_act)n->iattr[DENSE_ACT];
    const int64_t last = s->n - (int64_t)(s->nb - 1) * s->rows;
    s->mw = narrow_cols(s->m) && act != AE_ACT_TANH ? s->m / 8 * 8 : s->m;
    int nx = n->needs_grad && x->needs_grad && narrow_cols(s->k);
    int64_t tcols = s->m - s->mw > (nx ? s->k : 0) ? s->m - s->mw : (nx ? s->k : 0);
    if (tcols && !(s->tbuf = ae_graph_scratch(g, (size_t)(s->nthr * tcols * s->rows), err))) return err->code;
    const int fuse = n->fuse.post_act; /* identity, ReLU: exact and cheap as a post-op (fuse.c) */
    if (s->mw && bmm_init(&s->fwd, n, ops_fwd, b ? s->bv : NULL, fuse ? act : AE_ACT_IDENTITY, 0, err))
        return err->code;
    if (s->mw < s->m && bmm_init(&s->fnar, n, ops_fnar, NULL, AE_ACT_IDENTITY, 0, err)) return err->code;
    if (act == AE_ACT_TANH) {
        if (!(s->tanh = calloc((size_t)s->nthr * 2, sizeof *s->tanh)))
            return ae_errf(err, AE_EINTERNAL, "out of memory");
        for (int t = 0; t < s->nthr; t++)
            for (int v = 0; v < 1 + (last != s->rows); v++)
                if (ae_eltwise_init(&s->tanh[2 * t + v], dnnl_eltwise_tanh, 0.0f, 0.0f, n->val, n->val,
                                    (size_t)((v ? last : s->rows) * s->m), err))
                    return err->code;
    }
    if (!n->needs_grad) return AE_OK;
    if (nx && bmm_init(&s->dxnar, n, ops_dxnar, NULL, AE_ACT_IDENTITY, 0, err)) return err->code;
    if (x->needs_grad && !nx &&
        bmm_init(&s->dx, n, ops_dx, NULL, AE_ACT_IDENTITY, s->fused && s->prev && !s->split ? 0 : n->accum[0], err))
        return err->code;
    const int dw_acc = s->dwp || dense_permuted(s) ? 0 : n->accum[1]; /* else added up afterwards */
    if (w->needs_grad && !s->split && !s->defer && bmm_init(&s->dw, n, ops_dw, NULL, AE_ACT_IDENTITY, dw_acc, err))
        return err->code;
    return AE_OK;
}

static int dense_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    dense_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    n->state = s;
    ae_node *x = n->in[0], *w = n->in[1];
    s->n = n->shape.d[0];
    s->m = n->shape.d[1];
    s->k = w->shape.d[1];
    const double mm = 2.0 * (double)s->n * (double)s->k * (double)s->m;
    n->flops = mm * (1 + (n->needs_grad && x->needs_grad) + (n->needs_grad && w->needs_grad));
    int64_t rows = dense_chain_rows(n, ae_graph_threads(g), &s->split);
    s->nb = (int)((s->n + rows - 1) / rows);
    if (s->nb < 2) { s->nb = 1; rows = s->n; }
    s->rows = rows;
    s->nthr = ae_par_threads();
    s->prev = n->fuse.chain_prev; /* the chain, and the dZ hand-overs below: fuse.c */
    s->next = n->fuse.chain_next;
    s->units = dense_units_chain(n, ae_graph_threads(g));
    s->fused = (s->nb > 1 || s->units) && (s->prev || s->next);
    s->dw_t = s->nb > 1 && !s->split && dw_transposed(s->k, s->m);
    if (x->op == &ae_op_dense && x->state) s->depth = ((dense_state *)x->state)->depth + 1;
    s->dz_ready = n->fuse.dz_ready;
    s->mask_dx = n->fuse.mask_dx;
    if (n->needs_grad) {
        /* split: each layer's dZ stays whole in its gradient buffer for the dW phase */
        if (s->fused && s->next && !s->split && !s->units &&
            !(s->gbuf = ae_graph_scratch(g, (size_t)(s->nthr * rows * s->m), err)))
            return err->code;
        if (w->needs_grad && s->nb > 1 && !s->split &&
            !(s->dwp = ae_graph_scratch(g, (size_t)(s->nb * s->m * s->k), err)))
            return err->code;
    }
    if (dense_blocked_io(g, n, err)) return err->code;
    s->defer = dense_defers(n);
    if (n->needs_grad && n->nin > 2 && n->in[2]->needs_grad && !s->defer &&
        !(s->dbp = ae_graph_scratch(g, (size_t)((s->split ? 1 : s->nb) * s->m), err)))
        return err->code;
    /* split blocks run inside one region of the chain: their primitives are one-thread ones */
    int saved = ae_par_limit(s->split ? 1 : 0);
    int rc = s->units ? dense_units_prepare(g, n, s->nthr, err) : prepare_products(g, n, err) || ((s->split || s->defer) &&
                                             dense_split_prepare(n, s->split ? s->nthr : ae_graph_threads(g), err));
    ae_par_restore(saved);
    if (!rc) dense_final_prepare(n);
    if (!rc && (dense_pair_prepare(n, ae_graph_threads(g), err) || dense_dx_pair_prepare(n, ae_graph_threads(g), err)))
        return err->code;
    return rc ? err->code : AE_OK;
}

/* Rows of the block starting at row r0. */
static int64_t block_len(const dense_state *s, int64_t r0)
{
    return r0 + s->rows <= s->n ? s->rows : s->n - r0;
}

/* Block visited at step i of a sweep. Consecutive layers that are not fused sweep the rows in
 * opposite directions, so each starts on the rows the previous one touched last (still in cache);
 * only the order of the blocks changes, not what any of them computes. */
static size_t sweep_block(const dense_state *s, size_t i, int backward)
{
    int down = s->fused ? backward : (s->depth + backward) % 2;
    return down ? (size_t)s->nb - 1 - i : i;
}

static void member_fwd(ae_node *n, size_t b, int t)
{
    dense_state *s = n->state;
    ae_act act = (ae_act)n->iattr[DENSE_ACT];
    const int64_t m = s->m, r0 = (int64_t)b * s->rows, r = block_len(s, r0);
    const int last = r != s->rows;
    const float *x = n->in[0]->val + r0 * s->k;
    float *y = n->val + r0 * m;
    if (s->fh && ae_graph_paired()) dense_fwd_pair(n); /* one block: x, y bound at prepare */
    else if (s->fwd.mm) bmm_run(&s->fwd, t, last, x, NULL, y);
    if (s->fnar.mm) {
        const int64_t c = m - s->mw;
        float *yt = s->tbuf + t * c * s->rows;
        bmm_run(&s->fnar, t, last, NULL, x, yt);
        const float *bias = n->nin > 2 ? s->bv + s->mw : NULL;
        for (int64_t j = 0; j < c; j++) {
            float *row = yt + j * r, bj = bias ? bias[j] : 0.0f;
            if (bias)
                for (int64_t q = 0; q < r; q++) row[q] += bj;
            if (act == AE_ACT_RELU) ae_act_forward(act, row, row, (size_t)r);
        }
        for (int64_t q = 0; q < r; q++)
            for (int64_t j = 0; j < c; j++) y[q * m + s->mw + j] = yt[j * r + q];
    }
    if (act == AE_ACT_SIGMOID) ae_act_forward(act, y, y, (size_t)(r * m));
    if (act == AE_ACT_LEAKY_RELU) ae_act_forward_slope(act, ae_act_slope(n), y, y, (size_t)(r * m));
    if (s->tanh) {
        ae_eltwise *e = &s->tanh[2 * t + last];
        dnnl_memory_set_data_handle(e->src, y);
        dnnl_memory_set_data_handle(e->dst, y);
        ae_eltwise_run(e);
    }
}

static void fwd_block(size_t i, int t, void *ctx)
{
    ae_node *n = ctx;
    dense_state *s = n->state;
    if (!s->fused) {
        const size_t b = sweep_block(s, i, 0);
        member_fwd(n, b, t);
        for (int h = 0; h < 2 && n->fuse.fork[h]; h++) member_fwd(n->fuse.fork[h], b, t); /* fuse.c's plan_fork */
        return;
    }
    if (n->fuse.noise_head) { /* the chain's corrupted or sampled input, this block's rows (fuse.c's plan_noise) */
        const int64_t r0 = (int64_t)i * s->rows;
        noise_chain_rows(n->fuse.noise_head, (size_t)(r0 * s->k), (size_t)((r0 + block_len(s, r0)) * s->k));
    }
    for (;; n = ((dense_state *)n->state)->next) {
        member_fwd(n, i, t);
        if (!((dense_state *)n->state)->next) break;
    }
    if (n->fuse.loss_tail) { /* the chain's BCE loss on the block's logits (fuse.c's plan_bcel) */
        const int64_t r0 = (int64_t)i * s->rows;
        bcel_chain_fwd(n->fuse.loss_tail, r0, block_len(s, r0), t);
    }
}

static void dense_forward(ae_node *n)
{
    dense_state *s = n->state;
    if ((s->fused && s->prev) || n->fuse.fork_of) return; /* done by the chain's first layer, the fork's parent */
    for (ae_node *c = n; c; c = ((dense_state *)c->state)->fused ? ((dense_state *)c->state)->next : NULL)
        dense_permute_params(c);
    for (int h = 0; h < 2 && n->fuse.fork[h]; h++) dense_permute_params(n->fuse.fork[h]);
    if (s->units) dense_units_forward(n);
    else ae_par_blocks((size_t)s->nb, s->nthr, fwd_block, n);
}

#define COLSUM_ROWS 8

/* out[j] = Σ_i z[i·m + j] over `rows` rows. Narrow rows go through a flat accumulator of
 * COLSUM_ROWS rows (independent vector lanes instead of one dependent add chain per column). */
void dense_colsum(const float *restrict z, int64_t rows, int64_t m, float *restrict out)
{
    for (int64_t j = 0; j < m; j++) out[j] = 0.0f;
    if (m > 64) {
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < m; j++) out[j] += z[i * m + j];
        return;
    }
    float acc[64 * COLSUM_ROWS] = {0};
    const int64_t L = m * COLSUM_ROWS, full = rows / COLSUM_ROWS * L;
    for (int64_t i = 0; i < full; i += L)
        for (int64_t l = 0; l < L; l++) acc[l] += z[i + l];
    for (int64_t l = 0; l < L; l++) out[l % m] += acc[l];
    for (int64_t i = full; i < rows * m; i++) out[i % m] += z[i];
}

/* dX rows of one block from dXᵀ (row stride r): masked by x > 0 for a ReLU producer (y), added
 * to dx when accumulating. */
static void put_dx(const float *restrict dxt, int64_t r, int64_t k, const float *restrict y, int acc,
                   float *restrict dx)
{
    for (int64_t q = 0; q < r; q++)
        for (int64_t j = 0; j < k; j++) {
            float v = dxt[j * r + q];
            if (y) v = y[q * k + j] > 0.0f ? v : 0.0f;
            dx[q * k + j] = acc ? dx[q * k + j] + v : v;
        }
}

static void member_bwd(ae_node *n, size_t b, int t)
{
    dense_state *s = n->state;
    ae_act act = (ae_act)n->iattr[DENSE_ACT];
    const int64_t m = s->m, k = s->k, r0 = (int64_t)b * s->rows, r = block_len(s, r0);
    const int last = r != s->rows;
    float *dz = dz_of(n, r0, t);
    if (act != AE_ACT_IDENTITY && !s->dz_ready)
        ae_act_backward_slope(act, ae_act_slope(n), n->val + r0 * m, n->grad + r0 * m, dz, (size_t)(r * m), 0);
    if (s->dbp && !s->split) dense_colsum(dz, r, m, s->dbp + b * m); /* split: dense_split_dw */
    const float *x = n->in[0]->val + r0 * k;
    if (s->dw.mm && !s->defer) /* else a task after the walk (dense_task) */
        bmm_run(&s->dw, t, last, s->dw_t ? x : dz, s->dw_t ? dz : x, s->dwp ? s->dwp + b * m * k : NULL);
    if (!n->in[0]->needs_grad) return;
    float *dx = dx_of(n, r0, t);
    if (s->dxnar.mm) {
        float *dxt = s->tbuf + t * k * s->rows;
        bmm_run(&s->dxnar, t, last, NULL, dz, dxt);
        put_dx(dxt, r, k, s->mask_dx ? x : NULL, n->accum[0] && !(s->fused && s->prev && !s->split), dx);
    } else {
        if (s->dxh && ae_graph_paired()) dense_dx_pair(n); /* one block: dZ, dX bound at prepare */
        else bmm_run(&s->dx, t, last, dz, NULL, dx);
        if (s->mask_dx) /* x's dZ = dX where x > 0 (after dW, which brought this block of x into cache) */
            for (int64_t e = 0; e < r * k; e++) dx[e] = x[e] > 0.0f ? dx[e] : 0.0f;
    }
}

/* g (+)= Σ_b partial_b in block order, in double; a transposed partial is [cols, rows]. */
static void reduce(float *restrict g, const float *restrict part, int nb, int64_t rows, int64_t cols,
                   int transposed, int accumulate)
{
    const int64_t sz = rows * cols;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            int64_t e = transposed ? j * rows + i : i * cols + j;
            double acc = accumulate ? (double)g[i * cols + j] : 0.0;
            for (int b = 0; b < nb; b++) acc += (double)part[b * sz + e];
            g[i * cols + j] = (float)acc;
        }
}

static void bwd_block(size_t i, int t, void *ctx)
{
    ae_node *n = ctx;
    dense_state *s = n->state;
    const size_t b = sweep_block(s, i, 1);
    if (!s->fused) { /* a fork's readers first, the later one (it overwrites n's gradient) first */
        for (int h = 2; h-- > 0;)
            if (n->fuse.fork[h]) member_bwd(n->fuse.fork[h], b, t);
        member_bwd(n, b, t);
        return;
    }
    if (n->fuse.loss_tail) bcel_chain_bwd(n->fuse.loss_tail, (int64_t)b * s->rows, block_len(s, (int64_t)b * s->rows), t);
    for (; n; n = ((dense_state *)n->state)->prev) member_bwd(n, b, t);
}

static void dense_backward(ae_node *n)
{
    dense_state *s = n->state;
    if ((s->fused && s->next) || n->fuse.fork_of) return; /* done by the chain's last layer, the fork's parent */
    if (s->units) {
        dense_units_backward(n);
        return;
    }
    ae_par_blocks((size_t)s->nb, s->nthr, bwd_block, n);
    if (s->split) dense_split_dw(n);
    for (const ae_node *top = n; n; n = dense_member_after(top, n)) {
        s = n->state;
        if (s->dwp) reduce(s->wg, s->dwp, s->nb, s->m, s->k, s->dw_t, n->accum[1] && !dense_permuted(s));
        if (s->dbp && !(s->split && s->bfin)) /* a fused split db is in place already */
            reduce(s->bg, s->dbp, s->split ? 1 : s->nb, 1, s->m, 0, n->accum[2] && !s->mperm);
        dense_unpermute_grads(n);
        dense_final(n);
    }
}

static void dense_destroy(ae_node *n)
{
    dense_state *s = n->state;
    if (!s) return;
    bmm_destroy(&s->fwd, s->nthr);
    bmm_destroy(&s->fnar, s->nthr);
    bmm_destroy(&s->dx, s->nthr);
    bmm_destroy(&s->dxnar, s->nthr);
    bmm_destroy(&s->dw, s->nthr);
    for (int t = 0; s->tanh && t < 2 * s->nthr; t++) ae_eltwise_destroy(&s->tanh[t]);
    dense_split_destroy(s);
    dense_units_destroy(s);
    free(s->tanh);
    free(s->kperm);
    free(s->mperm);
    free(s);
    n->state = NULL;
}

const ae_op ae_op_dense = {.name = "dense", .infer = dense_infer, .plan = ae_ops_plan, .prepare = dense_prepare,
                           .forward = dense_forward, .backward = dense_backward, .destroy = dense_destroy,
                           .tasks = dense_tasks, .task = dense_task};

ae_node *ae_dense(ae_graph *g, const char *name, ae_node *x, ae_node *w, ae_node *b, ae_act act,
                  ae_err *err)
{
    ae_node *in[3] = {x, w, b};
    int ia[DENSE_NATTR] = {[DENSE_ACT] = (int)act};
    float fa[AE_FATTR_SLOPE + 1] = {[AE_FATTR_SLOPE] = AE_LEAKY_SLOPE};
    return ae_graph_add(g, &ae_op_dense, name, in, b ? 3 : 2, ia, DENSE_NATTR, fa, AE_FATTR_SLOPE + 1, err);
}
