/* A BCE-on-logits loss run in the row blocks of the split dense chain that makes its logits, or in
 * the batch blocks of the identity conv that does (see logits_internal.h): each block's softplus,
 * chunk sums, sigmoid and gradient on the thread that has the block's rows in cache, in the chain's
 * own regions; the same elementwise work and the same chunks as the loss alone, summed in the same
 * order. */
#include <stdlib.h>

#include "conv_internal.h"
#include "dense_internal.h"
#include "logits_internal.h"

static size_t chunk_lo(size_t n, size_t nc, size_t c) { return n * c / nc; }

int chain_tail_init(chain_tail **out, logit_aux *lx, ae_graph *g, const ae_node *loss, ae_err *err)
{
    const ae_node *z = loss->in[0];
    const size_t k = z->numel;
    chain_tail *ct = calloc(1, sizeof *ct);
    if (!ct) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *out = ct;
    ct->z = z->val;
    const int64_t n = z->shape.d[0];
    ct->m = (int64_t)(k / (size_t)n);
    if (z->op == &ae_op_dense) {
        const dense_state *ds = z->state;
        ct->rows = ds->rows;
        ct->nthr = ds->nthr;
    } else { /* a conv's batch blocks (conv_run.c) */
        ct->rows = conv_block_rows(n);
        ct->nthr = conv_run_threads(z);
    }
    ct->total = k;
    ct->nc = ae_par_sum_chunks(k);
    const int64_t last = n - (n - 1) / ct->rows * ct->rows;
    if (!(lx->sp = ct->sp = ae_graph_scratch(g, k, err)) || !(lx->sg = ct->sg = ae_graph_scratch(g, k, err)))
        return err->code;
    ct->esp = calloc((size_t)ct->nthr * 2, sizeof *ct->esp);
    ct->esg = calloc((size_t)ct->nthr * 2, sizeof *ct->esg);
    ct->part = calloc(ct->nc, sizeof *ct->part);
    ct->inblk = calloc(ct->nc, 1);
    if (!ct->esp || !ct->esg || !ct->part || !ct->inblk) return ae_errf(err, AE_EINTERNAL, "out of memory");
    const size_t blk = (size_t)(ct->rows * ct->m);
    for (size_t c = 0; c < ct->nc && ct->nc > 1; c++) {
        size_t lo = chunk_lo(k, ct->nc, c), hi = chunk_lo(k, ct->nc, c + 1), end = (lo / blk + 1) * blk;
        ct->inblk[c] = hi <= (end < k ? end : k);
    }
    int saved = ae_par_limit(1), rc = AE_OK; /* run inside the chain's region, one thread each */
    for (int t = 0; t < ct->nthr && !rc; t++)
        for (int v = 0; v < 1 + (last != ct->rows) && !rc; v++) {
            size_t e = (size_t)((v ? last : ct->rows) * ct->m);
            rc = ae_eltwise_init(&ct->esp[2 * t + v], dnnl_eltwise_soft_relu, 0.0f, 0.0f, ct->z, ct->sp, e, err) ||
                 ae_eltwise_init(&ct->esg[2 * t + v], dnnl_eltwise_logistic, 0.0f, 0.0f, ct->z, ct->sg, e, err);
        }
    ae_par_restore(saved);
    return rc ? err->code : AE_OK;
}

void chain_tail_destroy(chain_tail *ct)
{
    if (!ct) return;
    for (int t = 0; t < 2 * ct->nthr; t++) {
        if (ct->esp) ae_eltwise_destroy(&ct->esp[t]);
        if (ct->esg) ae_eltwise_destroy(&ct->esg[t]);
    }
    free(ct->esp);
    free(ct->esg);
    free(ct->part);
    free(ct->inblk);
    free(ct);
}

static void run_on(ae_eltwise *e, const float *src, float *dst)
{
    dnnl_memory_set_data_handle(e->src, (void *)src);
    dnnl_memory_set_data_handle(e->dst, dst);
    ae_eltwise_run(e);
}

void chain_tail_fwd(chain_tail *ct, int64_t r0, int64_t r, int t, ae_chunk_sum_fn f, void *ctx)
{
    const size_t e0 = (size_t)(r0 * ct->m), e1 = (size_t)((r0 + r) * ct->m);
    run_on(&ct->esp[2 * t + (r != ct->rows)], ct->z + e0, ct->sp + e0);
    for (size_t c = 0; c < ct->nc; c++) {
        size_t lo = chunk_lo(ct->total, ct->nc, c), hi = chunk_lo(ct->total, ct->nc, c + 1);
        if (ct->inblk[c] && lo >= e0 && hi <= e1) ct->part[c] = f(lo, hi, ctx);
    }
}

double chain_tail_sum(chain_tail *ct, size_t n, ae_chunk_sum_fn f, void *ctx)
{
    if (ct->nc < 2) return f(0, n, ctx);
    double s = 0;
    for (size_t c = 0; c < ct->nc; c++) {
        if (!ct->inblk[c]) ct->part[c] = f(chunk_lo(n, ct->nc, c), chunk_lo(n, ct->nc, c + 1), ctx);
        s += ct->part[c];
    }
    return s;
}

void chain_tail_bwd(chain_tail *ct, int64_t r0, int64_t r, int t, ae_chunk_fn g, void *ctx)
{
    const size_t e0 = (size_t)(r0 * ct->m), e1 = (size_t)((r0 + r) * ct->m);
    run_on(&ct->esg[2 * t + (r != ct->rows)], ct->z + e0, ct->sg + e0);
    g(e0, e1, ctx);
}
