/* Binding a conv primitive's arguments to the graph's tensors: the tensor itself when the layouts
 * agree (or are the same bytes), else a copy in the primitive's layout behind a cached reorder. */
#include <stdlib.h>

#include "conv_internal.h"

const dnnl_memory_desc_t *conv_md_of(dnnl_memory_t m)
{
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(m, &md);
    return md;
}

dnnl_memory_t conv_track(conv_state *s, const dnnl_memory_desc_t *md, void *p, ae_err *err)
{
    dnnl_memory_t m = NULL;
    if (s->nmem == CONV_MAX_MEM) { ae_errf(err, AE_EINTERNAL, "conv: too many memory objects"); return NULL; }
    if (ae_dnnl_check(dnnl_memory_create(&m, md, ae_dnnl_engine(), p), "conv memory", err)) return NULL;
    s->mem[s->nmem++] = m;
    return m;
}

/* A buffer of layout md owned by the graph (zeroed: blocked layouts' padding must stay zero). */
static dnnl_memory_t own(ae_graph *g, conv_state *s, const dnnl_memory_desc_t *md, ae_err *err)
{
    float *p = ae_graph_scratch(g, (dnnl_memory_desc_get_size(md) + sizeof(float) - 1) / sizeof(float), err);
    return p ? conv_track(s, md, p, err) : NULL;
}

dnnl_alg_kind_t conv_act_alg(ae_act a)
{
    static const dnnl_alg_kind_t alg[] = {dnnl_alg_kind_undef, dnnl_eltwise_relu, dnnl_eltwise_logistic,
                                          dnnl_eltwise_tanh, dnnl_eltwise_relu};
    return alg[a];
}

/* oneDNN's relu is leaky ReLU with the negative slope as alpha. */
float conv_act_alpha(ae_act a, float slope) { return a == AE_ACT_LEAKY_RELU ? slope : 0.0f; }

/* Primitive attributes with the post-ops the primitives here take, in this order: += the destination
 * (sum), the activation. */
dnnl_status_t conv_make_attr(int sum, ae_act act, float slope, dnnl_primitive_attr_t *attr)
{
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(attr);
    if (st != dnnl_success || (!sum && act == AE_ACT_IDENTITY)) return st;
    st = dnnl_post_ops_create(&po);
    if (st == dnnl_success && sum) st = dnnl_post_ops_append_sum(po, 1.0f);
    if (st == dnnl_success && act != AE_ACT_IDENTITY)
        st = dnnl_post_ops_append_eltwise(po, 1.0f, conv_act_alg(act), conv_act_alpha(act, slope), 0.0f);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(*attr, po);
    if (po) dnnl_post_ops_destroy(po);
    return st;
}

/* The offset of element idx in a blocked layout: the outer dims by their strides, then the inner
 * blocks from the innermost (which takes the lowest part of its dim's index) outwards. */
static int64_t md_offset(const dnnl_memory_desc_t *md, const int64_t *idx)
{
    const dnnl_blocking_desc_t *bk = &md->format_desc.blocking;
    int64_t blk[DNNL_MAX_NDIMS], rem[DNNL_MAX_NDIMS], off = md->offset0, mult = 1;
    for (int d = 0; d < DNNL_MAX_NDIMS; d++) blk[d] = 1;
    for (int i = 0; i < bk->inner_nblks; i++) blk[bk->inner_idxs[i]] *= bk->inner_blks[i];
    for (int d = 0; d < md->ndims; d++) {
        off += idx[d] / blk[d] * bk->strides[d];
        rem[d] = idx[d] % blk[d];
    }
    for (int i = bk->inner_nblks - 1; i >= 0; i--) {
        int d = bk->inner_idxs[i];
        off += rem[d] % bk->inner_blks[i] * mult;
        rem[d] /= bk->inner_blks[i];
        mult *= bk->inner_blks[i];
    }
    return off;
}

/* Up to this size a reorder is a gather through a table: oneDNN 2.6's reorders between plain and
 * blocked weight layouts took 40-95 us each in W3 (10 per step), the gather 3-5. */
static size_t g_gather_bytes = AE_CONV_GATHER_DEFAULT;
void ae_conv_set_gather_limit(size_t bytes) { g_gather_bytes = bytes; }

static int gatherable(const dnnl_memory_desc_t *md)
{
    return md->format_kind == dnnl_blocked && md->data_type == dnnl_f32 &&
           dnnl_memory_desc_get_size(md) <= g_gather_bytes;
}

static int make_gather(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, conv_xfer *x)
{
    x->n = (int64_t)(dnnl_memory_desc_get_size(to) / sizeof(float));
    if (!(x->from_off = malloc((size_t)x->n * sizeof *x->from_off))) return 0;
    for (int64_t i = 0; i < x->n; i++) x->from_off[i] = -1;
    int64_t idx[DNNL_MAX_NDIMS] = {0}, total = 1;
    for (int d = 0; d < to->ndims; d++) total *= to->dims[d];
    for (int64_t e = 0; e < total; e++) {
        if (e) /* the next index, last dim fastest */
            for (int d = to->ndims - 1; d >= 0 && ++idx[d] == to->dims[d]; d--) idx[d] = 0;
        x->from_off[md_offset(to, idx)] = (int32_t)md_offset(from, idx);
    }
    return 1;
}

static int make_reorder(dnnl_memory_t from, dnnl_memory_t to, int accumulate, conv_xfer *x, ae_err *err)
{
    x->from = from;
    x->to = to;
    x->accumulate = accumulate;
    if (gatherable(conv_md_of(from)) && gatherable(conv_md_of(to)))
        return make_gather(conv_md_of(from), conv_md_of(to), x) ? AE_OK
                                                                : ae_errf(err, AE_EINTERNAL, "out of memory");
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t st = conv_make_attr(accumulate, AE_ACT_IDENTITY, 0.0f, &attr);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_engine_t eng = ae_dnnl_engine();
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&pd, conv_md_of(from), eng, conv_md_of(to), eng, attr);
    if (st == dnnl_success) st = dnnl_primitive_create(&x->r, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return ae_dnnl_check(st, "conv reorder", err);
}

void conv_run_xfer(const conv_xfer *x)
{
    if (x->r) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, x->from}, {DNNL_ARG_TO, x->to}};
        dnnl_primitive_execute(x->r, ae_dnnl_stream(), 2, a);
        return;
    }
    conv_run_gather(x, 0, x->n);
}

void conv_run_gather(const conv_xfer *x, int64_t lo, int64_t hi)
{
    const float *src = NULL;
    float *dst = NULL;
    dnnl_memory_get_data_handle(x->from, (void **)&src);
    dnnl_memory_get_data_handle(x->to, (void **)&dst);
    const int32_t *restrict off = x->from_off;
    if (x->accumulate) {
        for (int64_t i = lo; i < hi; i++)
            if (off[i] >= 0) dst[i] += src[off[i]];
    } else {
        for (int64_t i = lo; i < hi; i++)
            if (off[i] >= 0) dst[i] = src[off[i]];
    }
}

/* Two plain (unblocked) layouts that place every element at the same offset, e.g. nchw and nhwc of
 * a 1-channel tensor: the same bytes, no reorder needed. */
static int same_bytes(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    if (a->format_kind != dnnl_blocked || b->format_kind != dnnl_blocked || a->ndims != b->ndims ||
        a->format_desc.blocking.inner_nblks || b->format_desc.blocking.inner_nblks || a->offset0 != b->offset0)
        return 0;
    for (int i = 0; i < a->ndims; i++)
        if (a->dims[i] != b->dims[i] || a->padded_dims[i] != b->padded_dims[i] ||
            (a->dims[i] > 1 && a->format_desc.blocking.strides[i] != b->format_desc.blocking.strides[i]))
            return 0;
    return 1;
}

int conv_channel_block(const dnnl_memory_desc_t *md)
{
    static const dnnl_format_tag_t tags[2] = {dnnl_nChw8c, dnnl_nChw16c};
    dnnl_memory_desc_t t;
    for (int i = 0; i < 2; i++)
        if (md->ndims == 4 && md->dims[1] % (8 << i) == 0 &&
            dnnl_memory_desc_init_by_tag(&t, 4, md->dims, dnnl_f32, tags[i]) == dnnl_success &&
            dnnl_memory_desc_equal(&t, md))
            return 8 << i;
    return 0;
}

/* *out = the user's buffer as is, or seen through the wanted layout when that is the same bytes;
 * NULL when a copy is needed. */
static int view(conv_state *s, dnnl_memory_t user, const dnnl_memory_desc_t *want, dnnl_memory_t *out,
                ae_err *err)
{
    *out = NULL;
    if (dnnl_memory_desc_equal(conv_md_of(user), want)) *out = user;
    else if (same_bytes(conv_md_of(user), want)) {
        void *p = NULL;
        dnnl_memory_get_data_handle(user, &p);
        if (!(*out = conv_track(s, want, p, err))) return err->code;
    }
    return AE_OK;
}

/* A primitive input: the user's buffer when the layouts agree, else a copy in the wanted layout
 * (shared with an earlier stage that already made it, else refreshed by a reorder here). */
int conv_bind_in(ae_graph *g, conv_state *s, conv_stage *st, int arg, const dnnl_memory_desc_t *want,
                 dnnl_memory_t user, ae_err *err)
{
    dnnl_memory_t m;
    if (view(s, user, want, &m, err)) return err->code;
    for (int i = 0; i < s->nalias && !m; i++)
        if (s->alias[i].user == user && dnnl_memory_desc_equal(conv_md_of(s->alias[i].copy), want))
            m = s->alias[i].copy;
    if (!m) {
        if (!(m = own(g, s, want, err))) return err->code;
        if (make_reorder(user, m, 0, &st->pre[st->npre++], err)) return err->code;
        if (s->nalias < 8) {
            s->alias[s->nalias].user = user;
            s->alias[s->nalias++].copy = m;
        }
    }
    st->args[st->nargs++] = (dnnl_exec_arg_t){arg, m};
    return AE_OK;
}

/* A primitive output: the user's buffer directly when the layouts agree and it is overwritten,
 * else a private buffer reordered into the user's (summed when accumulating). */
int conv_bind_out(ae_graph *g, conv_state *s, conv_stage *st, int arg, const dnnl_memory_desc_t *want,
                  dnnl_memory_t user, int accumulate, ae_err *err)
{
    dnnl_memory_t m = NULL;
    if (!accumulate && view(s, user, want, &m, err)) return err->code;
    if (!m) {
        if (!(m = own(g, s, want, err))) return err->code;
        if (make_reorder(m, user, accumulate, &st->post[st->npost++], err)) return err->code;
    }
    st->args[st->nargs++] = (dnnl_exec_arg_t){arg, m};
    return AE_OK;
}

void conv_xfer_destroy(conv_xfer *x)
{
    if (x->r) dnnl_primitive_destroy(x->r);
    free(x->from_off);
    x->r = NULL;
    x->from_off = NULL;
}
