/* Conv2d and transposed conv2d ops on oneDNN: forward, backward-data and backward-weights
 * primitives, each in its own layout (blocked, nhwc or nchw) behind cached reorders, outputs that
 * only convs read kept blocked; the bias is added after the primitive (conv_bias.c on blocked
 * outputs, a binary primitive on plain ones) and its gradient summed in conv_bias.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_par.h"
#include "conv_internal.h"

static const dnnl_memory_desc_t *qmd(const_dnnl_primitive_desc_t pd, dnnl_query_t q)
{
    return dnnl_primitive_desc_query_md(pd, q, 0);
}

/* --- prepare ------------------------------------------------------------------------------------ */
typedef struct geom {
    int tr;
    dnnl_dims_t strides, pad_l, pad_r;
    dnnl_memory_desc_t x, y, w, b;       /* the graph's layouts: x as its producer keeps it, the rest plain */
    dnnl_memory_desc_t xp;               /* x in nchw */
    int xpriv;                           /* x is a conv's output kept channel-blocked */
    dnnl_dims_t dx, dy, dw;
    int layout[3];                       /* per stage (forward, backward-data, -weights) */
    float slope;                         /* leaky ReLU's negative slope (post-ops) */
} geom;

/* The descriptors a stage offers its primitive: the graph's nchw, oneDNN's choice (format any:
 * blocked), or nhwc activations with weights in oneDNN's choice. */
static dnnl_status_t offer(const geom *G, int layout, dnnl_memory_desc_t *ax, dnnl_memory_desc_t *ay,
                           dnnl_memory_desc_t *aw)
{
    if (layout == AE_CONV_STAGE_NCHW) {
        *ax = G->xp, *ay = G->y, *aw = G->w;
        return dnnl_success;
    }
    dnnl_format_tag_t t = layout == AE_CONV_STAGE_NHWC ? dnnl_nhwc : dnnl_format_tag_any;
    dnnl_status_t st = dnnl_success;
    if (layout == AE_CONV_STAGE_BLOCKED && G->xpriv) *ax = G->x; /* read it as it is kept */
    else st = dnnl_memory_desc_init_by_tag(ax, 4, G->dx, dnnl_f32, t);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(ay, 4, G->dy, dnnl_f32, t);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(aw, 4, G->dw, dnnl_f32, dnnl_format_tag_any);
    return st;
}

/* The bias never goes into the primitive (measured, oneDNN 2.6 AVX2, W3 shapes: a bias makes the
 * deconvolution 2.3x and the blocked convolution 1.45x slower); see the forward/backward below. */
static dnnl_status_t desc_md(const geom *G, int which, dnnl_prop_kind_t prop, const dnnl_memory_desc_t *ax,
                             const dnnl_memory_desc_t *aw, const dnnl_memory_desc_t *ay, dnnl_convolution_desc_t *d)
{
    if (G->tr) {
        if (which == 0)
            return dnnl_deconvolution_forward_desc_init(d, prop, dnnl_deconvolution_direct, ax, aw, NULL,
                                                        ay, G->strides, G->pad_l, G->pad_r);
        if (which == 1)
            return dnnl_deconvolution_backward_data_desc_init(d, dnnl_deconvolution_direct, ax, aw, ay,
                                                              G->strides, G->pad_l, G->pad_r);
        return dnnl_deconvolution_backward_weights_desc_init(d, dnnl_deconvolution_direct, ax, aw, NULL,
                                                             ay, G->strides, G->pad_l, G->pad_r);
    }
    if (which == 0)
        return dnnl_convolution_forward_desc_init(d, prop, dnnl_convolution_direct, ax, aw, NULL, ay,
                                                  G->strides, G->pad_l, G->pad_r);
    if (which == 1)
        return dnnl_convolution_backward_data_desc_init(d, dnnl_convolution_direct, ax, aw, ay,
                                                        G->strides, G->pad_l, G->pad_r);
    return dnnl_convolution_backward_weights_desc_init(d, dnnl_convolution_direct, ax, aw, NULL, ay,
                                                       G->strides, G->pad_l, G->pad_r);
}

static dnnl_status_t desc_init(const geom *G, int which, dnnl_prop_kind_t prop, dnnl_convolution_desc_t *d)
{
    dnnl_memory_desc_t ax, ay, aw;
    dnnl_status_t st = offer(G, G->layout[which], &ax, &ay, &aw);
    return st != dnnl_success ? st : desc_md(G, which, prop, &ax, &aw, &ay, d);
}

/* oneDNN runs its AVX-512 kernels here (channel blocks of 16), not its AVX2 ones (blocks of 8): what
 * it dispatches to at run time (DNNL_MAX_CPU_ISA, valgrind's CPU), the same for any thread count. */
static int isa_avx512(void)
{
    return (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
}

/* Per-stage layouts. AUTO, from measurements in the batch-block setting (bench/conv_stages N=32 on
 * one thread, W3's shapes, oneDNN 2.6 on a Zen 5 EPYC: jit:avx512_core, and with DNNL_MAX_CPU_ISA=AVX2
 * its AVX2 kernels; ms per block, bench/analysis_issue17_w3.md). Blocked when both channel counts
 * are >= 8 (32->64 and 64->32: blocked and nhwc within 10% on either ISA, and blocked needs no
 * reorder between the two). A conv from few channels: forward blocked (nchw in, blocked out:
 * avx512 0.018 vs nhwc 0.046 + y reorder; avx2 0.054 vs 0.048, but the next conv reads it as it is);
 * backward-data nchw, the gemm kernel (avx512 0.064 vs nhwc 0.27, avx2 0.11 vs 0.37; + a 0.02
 * reorder of dY either way); backward-weights on AVX-512 blocked (nchw x, dY as the forward keeps it:
 * 0.023 vs nhwc 0.023 + a 0.015 dY reorder), on AVX2 nhwc (0.053-0.068 vs blocked 0.36, gemm 0.16).
 * A transposed conv to few channels: forward the gemm-based nchw kernel (avx512 0.087 vs blocked
 * 0.37, nhwc 0.32; avx2 0.11 vs 0.38); when its input is kept blocked, backward-data writes that
 * layout (avx512 0.022, avx2 0.057) and, on AVX-512, backward-weights reads it too (0.025 vs nhwc
 * 0.026 + a 0.015 x reorder); on AVX2 that stage stays nhwc (0.060 + reorder vs blocked 0.35, gemm
 * 0.16). Other few-channel cases: nhwc (the same bytes as nchw on the 1-channel side). */
static void choose_layouts(const ae_node *n, int64_t cin, int64_t cout, int xpriv, int out[3])
{
    const int tr = n->iattr[CONV_KIND], wide = isa_avx512();
    for (int i = 0; i < 3; i++) {
        switch ((ae_conv_layout)n->iattr[CONV_LAYOUT]) {
        case AE_CONV_LAYOUT_PLAIN: out[i] = AE_CONV_STAGE_NCHW; break;
        case AE_CONV_LAYOUT_BLOCKED: out[i] = AE_CONV_STAGE_BLOCKED; break;
        default:
            if (cin >= 8 && cout >= 8) out[i] = AE_CONV_STAGE_BLOCKED;
            else if (!tr && cout >= 8) /* from few channels */
                out[i] = i == 1 ? AE_CONV_STAGE_NCHW : i == 0 || wide ? AE_CONV_STAGE_BLOCKED : AE_CONV_STAGE_NHWC;
            else if (tr && cout < 8) /* to few channels */
                out[i] = i == 0 ? AE_CONV_STAGE_NCHW
                         : xpriv && (i == 1 || wide) ? AE_CONV_STAGE_BLOCKED : AE_CONV_STAGE_NHWC;
            else out[i] = AE_CONV_STAGE_NHWC;
        }
    }
}

int conv_fwd_layout(const ae_node *n)
{
    int out[3];
    choose_layouts(n, n->in[0]->shape.d[1], n->shape.d[1], 0, out); /* the forward's: x's layout aside */
    return out[0];
}

static int geom_init(const ae_node *n, geom *G, ae_err *err)
{
    const ae_node *x = n->in[0], *w = n->in[1];
    G->tr = n->iattr[CONV_KIND];
    G->slope = ae_act_slope(n);
    int s = n->iattr[CONV_STRIDE], p = n->iattr[CONV_PAD], op = n->iattr[CONV_OPAD];
    const int64_t *xd = x->shape.d, *yd = n->shape.d;
    int64_t kh = w->shape.d[2], kw = w->shape.d[3];
    /* oneDNN wants padding_r such that (in - k + pl + pr)/s + 1 = out exactly (conv), and for
     * deconv (out - k + pl + pr)/s + 1 = in: PyTorch's output_padding extends the bottom/right. */
    G->strides[0] = G->strides[1] = s;
    G->pad_l[0] = G->pad_l[1] = p;
    if (G->tr) {
        G->pad_r[0] = G->pad_r[1] = p - op;
    } else {
        G->pad_r[0] = (yd[2] - 1) * s + kh - xd[2] - p;
        G->pad_r[1] = (yd[3] - 1) * s + kw - xd[3] - p;
    }
    for (int i = 0; i < 4; i++) G->dx[i] = xd[i], G->dy[i] = yd[i];
    G->dw[0] = yd[1], G->dw[1] = xd[1], G->dw[2] = kh, G->dw[3] = kw; /* oneDNN: (out, in, kh, kw) */
    dnnl_dims_t db = {1, yd[1], 1, 1}; /* broadcast over N, H, W by the binary primitive */
    G->xpriv = x->blk == 8 || x->blk == 16;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&G->xp, 4, G->dx, dnnl_f32, dnnl_nchw);
    G->x = G->xp;
    if (st == dnnl_success && G->xpriv)
        st = dnnl_memory_desc_init_by_tag(&G->x, 4, G->dx, dnnl_f32, x->blk == 8 ? dnnl_nChw8c : dnnl_nChw16c);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&G->y, 4, G->dy, dnnl_f32, dnnl_nchw);
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_tag(&G->w, 4, G->dw, dnnl_f32, G->tr ? dnnl_iohw : dnnl_oihw);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&G->b, 4, db, dnnl_f32, dnnl_nchw);
    choose_layouts(n, xd[1], yd[1], G->xpriv, G->layout);
    return ae_dnnl_check(st, "conv memory descriptors", err);
}


static int make_pd(const geom *G, int which, dnnl_prop_kind_t prop, ae_act act,
                   const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, ae_err *err)
{
    dnnl_convolution_desc_t d;
    dnnl_status_t st = desc_init(G, which, prop, &d);
    if (ae_dnnl_check(st, which == 0 ? "conv forward descriptor" : which == 1 ? "conv backward-data "
                      "descriptor" : "conv backward-weights descriptor", err))
        return err->code;
    dnnl_primitive_attr_t attr = NULL;
    st = conv_make_attr(0, act, G->slope, &attr);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &d, attr, ae_dnnl_engine(), hint);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return ae_dnnl_check(st, "conv primitive descriptor", err);
}

/* The node's forward primitive descriptor, as its prepare makes it (the plan's post-op). */
static int fwd_pd(const ae_node *n, const geom *G, dnnl_primitive_desc_t *pd, ae_err *err)
{
    ae_act act = (ae_act)n->iattr[CONV_ACT];
    return make_pd(G, 0, n->needs_grad ? dnnl_forward_training : dnnl_forward_inference,
                   n->fuse.post_act ? act : AE_ACT_IDENTITY, NULL, pd, err);
}

/* Stage `which`'s primitive descriptor for a block of x->dims[0] images in the layouts given
 * (conv_blocks.c): x src (diff_src), w weights (diff_weights), y dst (diff_dst). */
int conv_block_pd(const ae_node *n, int which, const dnnl_memory_desc_t *x, const dnnl_memory_desc_t *w,
                  const dnnl_memory_desc_t *y, dnnl_primitive_desc_t *pd, ae_err *err)
{
    geom G;
    dnnl_primitive_desc_t hint = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_convolution_desc_t d;
    if (geom_init(n, &G, err)) return err->code;
    G.dx[0] = G.dy[0] = x->dims[0];
    G.xpriv = 0;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&G.xp, 4, G.dx, dnnl_f32, dnnl_nchw);
    G.x = G.xp;
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&G.y, 4, G.dy, dnnl_f32, dnnl_nchw);
    if (ae_dnnl_check(st, "conv block descriptors", err) || (which && fwd_pd(n, &G, &hint, err))) return err->code;
    ae_act act = which == 0 && n->fuse.post_act ? (ae_act)n->iattr[CONV_ACT] : AE_ACT_IDENTITY;
    st = desc_md(&G, which, n->needs_grad ? dnnl_forward_training : dnnl_forward_inference, x, w, y, &d);
    if (st == dnnl_success) st = conv_block_attr(0, act, G.slope, &attr);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &d, attr, ae_dnnl_engine(), hint);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (hint) dnnl_primitive_desc_destroy(hint);
    return ae_dnnl_check(st, "conv block primitive descriptor", err);
}

int conv_out_block(const ae_node *n, int *blk, ae_err *err)
{
    geom G;
    dnnl_primitive_desc_t pd = NULL;
    *blk = 0;
    if (!ae_dnnl_engine()) return ae_errf(err, AE_EINTERNAL, "oneDNN: no CPU engine");
    if (geom_init(n, &G, err) || fwd_pd(n, &G, &pd, err)) return err->code;
    *blk = conv_channel_block(qmd(pd, dnnl_query_dst_md));
    dnnl_primitive_desc_destroy(pd);
    return AE_OK;
}

/* Measured in oneDNN 2.6 (AVX2, W3 shapes): a fused eltwise post-op keeps the speed of a blocked
 * convolution, but makes the gemm (plain) convolution 2-10x and every deconvolution 5-6x slower
 * than the same primitive followed by its own in-place eltwise primitive. */
int conv_fuse_act(int tr, int layout, ae_act act)
{
    return act == AE_ACT_IDENTITY || (!tr && layout == AE_CONV_STAGE_BLOCKED);
}

/* dst += bias[c] in place (the bias as [1, C, 1, 1], broadcast), then the activation as a post-op. */
static int bias_primitive(conv_stage *st, conv_state *s, const geom *G, dnnl_memory_t dst, float *bias,
                          ae_act act, ae_err *err)
{
    dnnl_binary_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    st->act_mem = dst;
    if (!st->bias_mem && !(st->bias_mem = conv_track(s, &G->b, bias, err))) return err->code;
    dnnl_status_t r = dnnl_binary_desc_init(&d, dnnl_binary_add, conv_md_of(dst), &G->b, conv_md_of(dst));
    if (r == dnnl_success) r = conv_make_attr(0, act, G->slope, &attr);
    if (r == dnnl_success) r = dnnl_primitive_desc_create(&pd, &d, attr, ae_dnnl_engine(), NULL);
    if (r == dnnl_success) r = dnnl_primitive_create(&st->bias, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return ae_dnnl_check(r, "conv bias primitive", err);
}

/* The activation as an in-place eltwise primitive on the forward primitive's destination. */
static int act_primitive(conv_stage *st, dnnl_memory_t dst, ae_act act, float slope, ae_err *err)
{
    dnnl_eltwise_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    st->act_mem = dst;
    dnnl_status_t s = dnnl_eltwise_forward_desc_init(&d, dnnl_forward_inference, conv_act_alg(act),
                                                     conv_md_of(dst), conv_act_alpha(act, slope), 0.0f);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd, &d, NULL, ae_dnnl_engine(), NULL);
    if (s == dnnl_success) s = dnnl_primitive_create(&st->act, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return ae_dnnl_check(s, "conv activation primitive", err);
}

static int is_conv(const ae_node *n) { return n->op == &ae_op_conv2d || n->op == &ae_op_conv_transpose2d; }

/* The backward stages: dZ in the node's layout, then backward-data, then backward-weights (in the
 * order they run, so a later stage reuses the layout copies an earlier one made). */
static int conv_prepare_backward(ae_graph *g, ae_node *n, conv_state *s, dnnl_primitive_desc_t *pds,
                                 const geom *G, dnnl_memory_t mx, dnnl_memory_t mw, ae_err *err)
{
    ae_node *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    s->dz = n->grad; /* dY·act'(Y) in place: nothing reads dY after this node's backward */
    dnnl_memory_t mdz = s->dz ? conv_track(s, s->priv ? &s->val_md : &G->y, s->dz, err) : NULL;
    if (!mdz) return err->code;
    if (x->needs_grad) {
        conv_stage *d = &s->bwd_d;
        dnnl_memory_t mdx = conv_track(s, &G->x, x->grad, err);
        d->layout = G->layout[1];
        if (!mdx || make_pd(G, 1, dnnl_backward_data, AE_ACT_IDENTITY, pds[0], &pds[1], err) ||
            conv_bind_in(g, s, d, DNNL_ARG_DIFF_DST, qmd(pds[1], dnnl_query_diff_dst_md), mdz, err) ||
            conv_bind_in(g, s, d, DNNL_ARG_WEIGHTS, qmd(pds[1], dnnl_query_weights_md), mw, err) ||
            conv_bind_out(g, s, d, DNNL_ARG_DIFF_SRC, qmd(pds[1], dnnl_query_diff_src_md), mdx, n->accum[0], err) ||
            ae_dnnl_check(dnnl_primitive_create(&d->p, pds[1]), "conv backward-data primitive", err))
            return err->code;
    }
    if (b && b->needs_grad) {
        s->db = b->grad;
        s->db_accum = n->accum[2];
    }
    if (!w->needs_grad) return AE_OK;
    conv_stage *k = &s->bwd_w;
    k->layout = G->layout[2];
    dnnl_memory_t mdw = conv_track(s, &G->w, w->grad, err);
    if (!mdw || make_pd(G, 2, dnnl_backward_weights, AE_ACT_IDENTITY, pds[0], &pds[2], err) ||
        conv_bind_in(g, s, k, DNNL_ARG_SRC, qmd(pds[2], dnnl_query_src_md), mx, err) ||
        conv_bind_in(g, s, k, DNNL_ARG_DIFF_DST, qmd(pds[2], dnnl_query_diff_dst_md), mdz, err) ||
        conv_bind_out(g, s, k, DNNL_ARG_DIFF_WEIGHTS, qmd(pds[2], dnnl_query_diff_weights_md), mdw, n->accum[1], err) ||
        ae_dnnl_check(dnnl_primitive_create(&k->p, pds[2]), "conv backward-weights primitive", err))
        return err->code;
    return AE_OK;
}

static int conv_prepare_stages(ae_graph *g, ae_node *n, conv_state *s, dnnl_primitive_desc_t *pds,
                               ae_err *err)
{
    ae_node *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    ae_act act = (ae_act)n->iattr[CONV_ACT];
    const conv_state *px = is_conv(x) ? x->state : NULL;
    geom G;
    if (geom_init(n, &G, err)) return err->code;
    dnnl_memory_t mx, mw, my;
    if (!(mx = conv_track(s, &G.x, x->val, err)) || !(mw = conv_track(s, &G.w, w->val, err)))
        return err->code;
    /* x straight from a conv that keeps a copy of its output in a private layout: read that copy
     * when it is the layout wanted here (it is fresh: the producer's forward runs first) */
    if (px && px->fwd.npost && !px->fwd.late) {
        s->alias[s->nalias].user = mx;
        s->alias[s->nalias++].copy = px->fwd.post[0].from;
    }
    /* forward */
    conv_stage *f = &s->fwd;
    f->layout = G.layout[0];
    const int fuse = n->fuse.post_act; /* decided with the layouts by the compile pass (fuse.c) */
    if (fwd_pd(n, &G, &pds[0], err)) return err->code;
    const dnnl_memory_desc_t *ymd = qmd(pds[0], dnnl_query_dst_md);
    s->blk = n->blk;
    if (s->blk && conv_channel_block(ymd) != s->blk)
        return ae_errf(err, AE_EINTERNAL, "the forward primitive's output layout is not the planned one");
    if ((s->priv = s->blk > 0)) s->val_md = *ymd;
    if (!(my = conv_track(s, s->priv ? &s->val_md : &G.y, n->val, err)) ||
        conv_bind_in(g, s, f, DNNL_ARG_SRC, qmd(pds[0], dnnl_query_src_md), mx, err) ||
        conv_bind_in(g, s, f, DNNL_ARG_WEIGHTS, qmd(pds[0], dnnl_query_weights_md), mw, err) ||
        conv_bind_out(g, s, f, DNNL_ARG_DST, qmd(pds[0], dnnl_query_dst_md), my, 0, err) ||
        ae_dnnl_check(dnnl_primitive_create(&f->p, pds[0]), "conv forward primitive", err))
        return err->code;
    dnnl_memory_t dst = f->args[f->nargs - 1].memory;
    /* The bias: on a channel-blocked output our own loop adds it and applies the activation (oneDNN
     * 2.6, W3 shapes: as a binary post-op it made the blocked conv2d 0.28-0.36 ms slower, and
     * 0.23 ms for the 1-channel one; the binary primitive runs its reference code on blocked +
     * broadcast). On a plain output a binary primitive does, with the activation as post-op; on
     * other blocked outputs (padded channels) it runs later, on the graph's nchw copy. */
    if (b && (f->bias_blk = conv_channel_block(conv_md_of(dst)))) {
        f->bias_c = b->val;
        f->bias_act = act;
        f->bias_slope = G.slope;
        f->bias_sh = n->shape;
        dnnl_memory_get_data_handle(dst, (void **)&f->bias_dst);
    } else {
        f->late = b && conv_md_of(dst)->format_desc.blocking.inner_nblks > 0;
        if (f->late) dst = my;
        if (b ? bias_primitive(f, s, &G, dst, b->val, act, err) : !fuse && act_primitive(f, dst, act, G.slope, err))
            return err->code;
    }
    return n->needs_grad ? conv_prepare_backward(g, n, s, pds, &G, mx, mw, err) : AE_OK;
}

static int conv_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    conv_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    n->state = s;
    if (!ae_dnnl_engine()) return ae_errf(err, AE_EINTERNAL, "oneDNN: no CPU engine");
    dnnl_primitive_desc_t pds[3] = {NULL, NULL, NULL};
    /* in batch blocks every primitive is made on one thread: the layouts oneDNN picks (which the
     * blocks keep) then do not depend on the thread count either */
    const int blocks = conv_blocks_on(), threads = ae_graph_threads(g), saved = blocks ? ae_par_limit(1) : 0;
    int rc = conv_prepare_stages(g, n, s, pds, err);
    for (int i = 0; i < 3; i++)
        if (pds[i]) dnnl_primitive_desc_destroy(pds[i]);
    if (!rc && blocks &&
        (conv_blocks_make(g, n, &s->fwd, 0, threads, err) || conv_blocks_make(g, n, &s->bwd_d, 1, threads, err) ||
         conv_blocks_make(g, n, &s->bwd_w, 2, threads, err) || conv_run_prepare(g, n, err)))
        rc = err->code;
    ae_par_restore(saved);
    conv_run_check_tail(n);
    if (rc) return ae_err_prefix(err, "%s", n->name);
    /* one pass's multiply-adds: every output pixel (conv) or input pixel (transposed) meets a
     * whole kernel; backward-data and backward-weights cost the same again each */
    const ae_node *x = n->in[0], *w = n->in[1];
    double k = (double)w->shape.d[2] * (double)w->shape.d[3];
    double pass = n->op == &ae_op_conv2d ? 2.0 * (double)n->numel * (double)w->shape.d[1] * k
                                         : 2.0 * (double)x->numel * (double)w->shape.d[1] * k;
    n->flops = pass * (1 + (n->needs_grad && x->needs_grad) + (n->needs_grad && w->needs_grad));
    return AE_OK;
}

/* --- running ------------------------------------------------------------------------------------ */
static void run_bias_act(const conv_stage *st)
{
    if (st->bias) {
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC_0, st->act_mem}, {DNNL_ARG_SRC_1, st->bias_mem},
                                {DNNL_ARG_DST, st->act_mem}};
        dnnl_primitive_execute(st->bias, ae_dnnl_stream(), 3, a);
    } else if (st->act) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_SRC, st->act_mem}, {DNNL_ARG_DST, st->act_mem}};
        dnnl_primitive_execute(st->act, ae_dnnl_stream(), 2, a);
    }
}

static void run_stage(const conv_stage *st)
{
    if (!st->p) return;
    for (int i = 0; i < st->npre; i++) conv_run_xfer(&st->pre[i]);
    dnnl_primitive_execute(st->p, ae_dnnl_stream(), st->nargs, st->args);
    if (st->bias_c)
        conv_bias_act_blocked(st->bias_dst, st->bias_sh, st->bias_blk, st->bias_c, st->bias_act, st->bias_slope);
    if (!st->late) run_bias_act(st);
    for (int i = 0; i < st->npost; i++) conv_run_xfer(&st->post[i]);
    if (st->late) run_bias_act(st);
}

static void conv_forward(ae_node *n)
{
    conv_state *s = n->state;
    if (!conv_run_forward(n)) run_stage(&s->fwd);
}

static void conv_backward(ae_node *n)
{
    conv_state *s = n->state;
    if (conv_run_backward(n)) return;
    ae_act act = (ae_act)n->iattr[CONV_ACT];
    float slope = ae_act_slope(n);
    if (s->db) conv_act_bias_grad(act, slope, n->val, s->dz, n->shape, s->priv ? s->blk : 1, s->db, s->db_accum);
    else if (act != AE_ACT_IDENTITY) ae_act_backward_slope(act, slope, n->val, n->grad, s->dz, n->numel, 0);
    run_stage(&s->bwd_d);
    run_stage(&s->bwd_w);
}

static void stage_destroy(conv_stage *st)
{
    conv_blocks_destroy(st->blocks);
    if (st->p) dnnl_primitive_destroy(st->p);
    if (st->act) dnnl_primitive_destroy(st->act);
    if (st->bias) dnnl_primitive_destroy(st->bias);
    for (int i = 0; i < st->npre; i++) conv_xfer_destroy(&st->pre[i]);
    for (int i = 0; i < st->npost; i++) conv_xfer_destroy(&st->post[i]);
}

static void conv_destroy(ae_node *n)
{
    conv_state *s = n->state;
    if (!s) return;
    stage_destroy(&s->fwd);
    stage_destroy(&s->bwd_d);
    stage_destroy(&s->bwd_w);
    for (int i = 0; i < s->nmem; i++) dnnl_memory_destroy(s->mem[i]);
    free(s);
    n->state = NULL;
}

int ae_conv_input_block(const ae_node *n)
{
    geom G;
    ae_err err = {0};
    dnnl_primitive_desc_t pd = NULL;
    if (!is_conv(n) || !ae_dnnl_engine() || geom_init(n, &G, &err) || G.layout[0] != AE_CONV_STAGE_BLOCKED ||
        make_pd(&G, 0, dnnl_forward_training, AE_ACT_IDENTITY, NULL, &pd, &err))
        return 0;
    int blk = conv_channel_block(qmd(pd, dnnl_query_src_md));
    dnnl_primitive_desc_destroy(pd);
    return blk;
}

const ae_op ae_op_conv2d = {.name = "conv2d", .infer = conv_infer, .plan = ae_ops_plan,
                            .prepare = conv_prepare, .forward = conv_forward, .backward = conv_backward,
                            .destroy = conv_destroy};
const ae_op ae_op_conv_transpose2d = {.name = "conv_transpose2d", .infer = conv_infer, .plan = ae_ops_plan,
                                      .prepare = conv_prepare, .forward = conv_forward,
                                      .backward = conv_backward, .destroy = conv_destroy};
