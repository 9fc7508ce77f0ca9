/* The dense op at the conv/dense boundary, without reorders. A conv output kept channel-blocked
 * (ae_node.blk) is read as it is, features in blocked order, by permuting the columns of W (kperm).
 * A layer whose one consumer is a reshape that only convs read, when they would read a blocked
 * layout, writes that layout by permuting the rows of W and b (mperm). W3 saves four 1.6 MB
 * reorders per step. The products run on permuted copies of W and b, refreshed before each
 * forward; dW and db are added back into the parameters' gradients after each backward. */
#include <stdlib.h>
#include <string.h>

#include "dense_internal.h"

int dense_permuted(const dense_state *s) { return s->kperm || s->mperm; }

/* Feature j of a sample kept as nChw{blk}c is plain feature perm[j] of [c, hw]. */
static int32_t *blocked_order(int64_t c, int64_t hw, int blk)
{
    int32_t *perm = malloc((size_t)(c * hw) * sizeof *perm);
    for (int64_t j = 0; perm && j < c * hw; j++) {
        int64_t cb = j / (hw * blk), p = j % (hw * blk) / blk, ci = j % blk;
        perm[j] = (int32_t)((cb * blk + ci) * hw + p);
    }
    return perm;
}

int dense_blocked_io(ae_graph *g, ae_node *n, ae_err *err)
{
    dense_state *s = n->state;
    ae_node *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    const int blk = n->blk; /* > 0: the plan (fuse.c) has this layer write its one consumer, a
                               reshape only convs read, channel-blocked */
    const int64_t *xd = x->shape.d, *rd = blk ? n->cons[0].node->shape.d : NULL;
    if (x->blk && x->shape.nd == 4) s->kc = xd[1], s->khw = xd[2] * xd[3], s->kblk = x->blk;
    if ((x->blk && x->shape.nd == 4 && !(s->kperm = blocked_order(xd[1], xd[2] * xd[3], x->blk))) ||
        (blk && !(s->mperm = blocked_order(rd[1], rd[2] * rd[3], blk))))
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    s->wv = w->val, s->wg = w->grad;
    s->bv = b ? b->val : NULL, s->bg = b ? b->grad : NULL;
    const size_t mk = (size_t)(s->m * s->k);
    if (dense_permuted(s) && (!(s->wv = ae_graph_scratch(g, mk, err)) ||
                              (w->needs_grad && !(s->wg = ae_graph_scratch(g, mk, err)))))
        return err->code;
    if (s->mperm && b && (!(s->bv = ae_graph_scratch(g, (size_t)s->m, err)) ||
                          (b->needs_grad && !(s->bg = ae_graph_scratch(g, (size_t)s->m, err)))))
        return err->code;
    return AE_OK;
}

/* Row i of the permuted copy of W is this row of the parameter, its entries in kperm order. */
static int64_t plain_row(const dense_state *s, int64_t i) { return (s->mperm ? s->mperm[i] : i) * s->k; }

/* One row of W from the plain feature order [c][hw] to kperm's (nChw{B}c: [c/B][hw][B]), B constant. */
static inline void row_to_blocked(const float *restrict src, float *restrict dst, int64_t c, int64_t hw, const int B)
{
    for (int64_t cb = 0; cb < c / B; cb++)
        for (int64_t p = 0; p < hw; p++)
            for (int l = 0; l < B; l++) dst[(cb * hw + p) * B + l] = src[(cb * B + l) * hw + p];
}

/* The inverse, added into dst when acc. */
static inline void row_from_blocked(const float *restrict src, float *restrict dst, int64_t c, int64_t hw,
                                    const int B, int acc)
{
    for (int64_t cb = 0; cb < c / B; cb++)
        for (int l = 0; l < B; l++) {
            const float *restrict sp = src + cb * hw * B + l;
            float *restrict dp = dst + (cb * B + l) * hw;
            if (acc)
                for (int64_t p = 0; p < hw; p++) dp[p] += sp[p * B];
            else
                for (int64_t p = 0; p < hw; p++) dp[p] = sp[p * B];
        }
}

void dense_permute_params(ae_node *n)
{
    dense_state *s = n->state;
    if (!dense_permuted(s)) return;
    const int64_t k = s->k;
    for (int64_t i = 0; i < s->m; i++) {
        const float *restrict src = n->in[1]->val + plain_row(s, i);
        float *restrict dst = s->wv + i * k;
        if (!s->kperm) memcpy(dst, src, (size_t)k * sizeof *dst);
        else if (s->kblk == 16) row_to_blocked(src, dst, s->kc, s->khw, 16);
        else if (s->kblk == 8) row_to_blocked(src, dst, s->kc, s->khw, 8);
        else
            for (int64_t j = 0; j < k; j++) dst[j] = src[s->kperm[j]];
    }
    if (s->mperm && n->nin > 2)
        for (int64_t i = 0; i < s->m; i++) s->bv[i] = n->in[2]->val[s->mperm[i]];
}

void dense_unpermute_grads(ae_node *n)
{
    dense_state *s = n->state;
    ae_node *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    const int64_t k = s->k;
    const int acc = n->accum[1];
    if (dense_permuted(s) && w->needs_grad)
        for (int64_t i = 0; i < s->m; i++) {
            const float *restrict src = s->wg + i * k;
            float *restrict dst = w->grad + plain_row(s, i);
            if (s->kperm && s->kblk == 16) row_from_blocked(src, dst, s->kc, s->khw, 16, acc);
            else if (s->kperm && s->kblk == 8) row_from_blocked(src, dst, s->kc, s->khw, 8, acc);
            else if (s->kperm)
                for (int64_t j = 0; j < k; j++) dst[s->kperm[j]] = acc ? dst[s->kperm[j]] + src[j] : src[j];
            else if (acc)
                for (int64_t j = 0; j < k; j++) dst[j] += src[j];
            else memcpy(dst, src, (size_t)k * sizeof *dst);
        }
    if (s->mperm && b && b->needs_grad)
        for (int64_t i = 0; i < s->m; i++) {
            float *g = b->grad + s->mperm[i];
            *g = n->accum[2] ? *g + s->bg[i] : s->bg[i];
        }
}
