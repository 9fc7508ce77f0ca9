/* Conv2d and transposed conv2d ops on oneDNN: forward (bias, activation), backward-data and
 * backward-weights primitives, each plain or blocked (format_tag any) behind cached reorders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_conv.h"

enum { A_ACT, A_KIND, A_STRIDE, A_PAD, A_OPAD, A_LAYOUT };

typedef struct xfer {
    dnnl_primitive_t r;
    dnnl_memory_t from, to;
} xfer;

/* One primitive with the reorders that feed it and write its results back. */
typedef struct stage {
    dnnl_primitive_t p;
    dnnl_primitive_t act;  /* unfused activation, in place on act_mem (the primitive's dst) */
    dnnl_memory_t act_mem;
    dnnl_exec_arg_t args[5];
    int nargs, blocked;
    xfer pre[3], post[2];
    int npre, npost;
} stage;

#define MAX_MEM 24
typedef struct conv_state {
    stage fwd, bwd_d, bwd_w;
    dnnl_memory_t mem[MAX_MEM]; /* every memory object, destroyed with the node */
    int nmem;
    /* a user tensor's copy in a primitive's layout, reused by a later stage that wants the same */
    struct { dnnl_memory_t user, copy; } alias[8];
    int nalias;
    float *dz; /* dY·act'(Y) when the activation is not the identity, else the node's grad */
} conv_state;

static ae_conv_layout g_layout = AE_CONV_LAYOUT_AUTO;
void ae_conv_set_layout(ae_conv_layout l) { g_layout = l; }
ae_conv_layout ae_conv_get_layout(void) { return g_layout; }

int64_t ae_conv_out_size(int64_t in, int64_t k, int stride, int pad)
{
    int64_t num = in + 2 * (int64_t)pad - k;
    return num < 0 || stride < 1 ? 0 : num / stride + 1;
}

int64_t ae_conv_transpose_out_size(int64_t in, int64_t k, int stride, int pad, int output_padding)
{
    return (in - 1) * stride - 2 * (int64_t)pad + k + output_padding;
}

static const char *kernel_str(int64_t kh, int64_t kw, char *buf, size_t len)
{
    if (kh == kw) snprintf(buf, len, "%lld", (long long)kh);
    else snprintf(buf, len, "%lldx%lld", (long long)kh, (long long)kw);
    return buf;
}

static int conv_infer(ae_node *n, ae_err *err)
{
    ae_node *x = n->in[0], *w = n->in[1];
    int tr = n->iattr[A_KIND], s = n->iattr[A_STRIDE], p = n->iattr[A_PAD], op = n->iattr[A_OPAD];
    char a[64], k[32];
    if (x->shape.nd != 4)
        return ae_errf(err, AE_EINPUT, "%s: expects a 4-D input [N, C, H, W], got %s", n->name,
                       ae_shape_str(x->shape, a, sizeof a));
    if (w->shape.nd != 4)
        return ae_errf(err, AE_EINTERNAL, "%s: the weight must be 4-D, got %s", n->name,
                       ae_shape_str(w->shape, a, sizeof a));
    int64_t cin = tr ? w->shape.d[0] : w->shape.d[1], cout = tr ? w->shape.d[1] : w->shape.d[0];
    int64_t kh = w->shape.d[2], kw = w->shape.d[3];
    const int64_t *d = x->shape.d;
    kernel_str(kh, kw, k, sizeof k);
    if (kh < 1 || kw < 1 || s < 1 || p < 0 || op < 0 || (tr ? op >= s : op != 0))
        return ae_errf(err, AE_EINPUT, "%s: needs kernel >= 1, stride >= 1, padding >= 0%s "
                       "(got kernel %s, stride %d, padding %d%s)", n->name,
                       tr ? " and 0 <= output_padding < stride" : "", k, s, p,
                       tr ? (snprintf(a, sizeof a, ", output_padding %d", op), a) : "");
    if (d[1] != cin)
        return ae_errf(err, AE_EINPUT, "%s: expects %lld input channels, got %lld (input %s)",
                       n->name, (long long)cin, (long long)d[1], ae_shape_str(x->shape, a, sizeof a));
    int64_t ho = tr ? ae_conv_transpose_out_size(d[2], kh, s, p, op) : ae_conv_out_size(d[2], kh, s, p);
    int64_t wo = tr ? ae_conv_transpose_out_size(d[3], kw, s, p, op) : ae_conv_out_size(d[3], kw, s, p);
    if (ho < 1 || wo < 1) {
        char o[32] = "";
        if (tr) snprintf(o, sizeof o, ", output_padding %d", op);
        return ae_errf(err, AE_EINPUT, "%s: input %lldx%lldx%lld gives output %lldx%lld with kernel "
                       "%s, stride %d, padding %d%s", n->name, (long long)d[1], (long long)d[2],
                       (long long)d[3], (long long)(ho > 0 ? ho : 0), (long long)(wo > 0 ? wo : 0),
                       k, s, p, o);
    }
    if (n->nin > 2 && n->in[2]->numel != (size_t)cout)
        return ae_errf(err, AE_EINTERNAL, "%s: bias has %zu entries, expected %lld", n->name,
                       n->in[2]->numel, (long long)cout);
    n->shape = ae_shape4(d[0], cout, ho, wo);
    return AE_OK;
}

/* --- memory binding ---------------------------------------------------------------------------- */
static dnnl_memory_t track(conv_state *s, const dnnl_memory_desc_t *md, void *p, ae_err *err)
{
    dnnl_memory_t m = NULL;
    if (s->nmem == MAX_MEM) { ae_errf(err, AE_EINTERNAL, "conv: too many memory objects"); return NULL; }
    if (ae_dnnl_check(dnnl_memory_create(&m, md, ae_dnnl_engine(), p), "conv memory", err)) return NULL;
    s->mem[s->nmem++] = m;
    return m;
}

/* A buffer of layout md owned by the graph (zeroed: blocked layouts' padding must stay zero). */
static dnnl_memory_t own(ae_graph *g, conv_state *s, const dnnl_memory_desc_t *md, ae_err *err)
{
    float *p = ae_graph_scratch(g, (dnnl_memory_desc_get_size(md) + sizeof(float) - 1) / sizeof(float), err);
    return p ? track(s, md, p, err) : NULL;
}

static const dnnl_memory_desc_t *md_of(dnnl_memory_t m)
{
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(m, &md);
    return md;
}

static int make_reorder(dnnl_memory_t from, dnnl_memory_t to, int accumulate, xfer *x, ae_err *err)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success && accumulate) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) st = dnnl_post_ops_append_sum(po, 1.0f);
        if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    dnnl_primitive_desc_t pd = NULL;
    dnnl_engine_t eng = ae_dnnl_engine();
    if (st == dnnl_success) st = dnnl_reorder_primitive_desc_create(&pd, md_of(from), eng, md_of(to), eng, attr);
    if (st == dnnl_success) st = dnnl_primitive_create(&x->r, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    x->from = from;
    x->to = to;
    return ae_dnnl_check(st, "conv reorder", err);
}

/* Binds a primitive input: the user's buffer when the layouts agree, else a copy in the wanted
 * layout (shared with an earlier stage that already made it, else refreshed by a reorder here). */
static int bind_in(ae_graph *g, conv_state *s, stage *st, int arg, const dnnl_memory_desc_t *want,
                   dnnl_memory_t user, ae_err *err)
{
    dnnl_memory_t m = user;
    if (!dnnl_memory_desc_equal(md_of(user), want)) {
        m = NULL;
        for (int i = 0; i < s->nalias && !m; i++)
            if (s->alias[i].user == user && dnnl_memory_desc_equal(md_of(s->alias[i].copy), want))
                m = s->alias[i].copy;
        if (!m) {
            if (!(m = own(g, s, want, err))) return err->code;
            if (make_reorder(user, m, 0, &st->pre[st->npre++], err)) return err->code;
            if (s->nalias < 8) {
                s->alias[s->nalias].user = user;
                s->alias[s->nalias++].copy = m;
            }
        }
    }
    st->args[st->nargs++] = (dnnl_exec_arg_t){arg, m};
    return AE_OK;
}

/* Binds a primitive output: the user's buffer directly when the layouts agree and it is
 * overwritten, else a private buffer reordered into the user's (summed when accumulating). */
static int bind_out(ae_graph *g, conv_state *s, stage *st, int arg, const dnnl_memory_desc_t *want,
                    dnnl_memory_t user, int accumulate, ae_err *err)
{
    dnnl_memory_t m = user;
    if (accumulate || !dnnl_memory_desc_equal(md_of(user), want)) {
        if (!(m = own(g, s, want, err))) return err->code;
        if (make_reorder(m, user, accumulate, &st->post[st->npost++], err)) return err->code;
    }
    st->args[st->nargs++] = (dnnl_exec_arg_t){arg, m};
    return AE_OK;
}

static const dnnl_memory_desc_t *qmd(const_dnnl_primitive_desc_t pd, dnnl_query_t q)
{
    return dnnl_primitive_desc_query_md(pd, q, 0);
}

/* --- prepare ------------------------------------------------------------------------------------ */
typedef struct geom {
    int tr;
    dnnl_dims_t strides, pad_l, pad_r;
    dnnl_memory_desc_t x, y, w, b;       /* the graph's plain layouts */
    dnnl_memory_desc_t ax, ay, aw;       /* what the primitives are offered (any, or plain) */
} geom;

static dnnl_status_t desc_init(const geom *G, int which, dnnl_prop_kind_t prop, int bias,
                               dnnl_convolution_desc_t *d)
{
    const dnnl_memory_desc_t *bmd = bias ? &G->b : NULL;
    if (G->tr) {
        if (which == 0)
            return dnnl_deconvolution_forward_desc_init(d, prop, dnnl_deconvolution_direct, &G->ax,
                                                        &G->aw, bmd, &G->ay, G->strides, G->pad_l, G->pad_r);
        if (which == 1)
            return dnnl_deconvolution_backward_data_desc_init(d, dnnl_deconvolution_direct, &G->ax, &G->aw,
                                                              &G->ay, G->strides, G->pad_l, G->pad_r);
        return dnnl_deconvolution_backward_weights_desc_init(d, dnnl_deconvolution_direct, &G->ax, &G->aw,
                                                             bmd, &G->ay, G->strides, G->pad_l, G->pad_r);
    }
    if (which == 0)
        return dnnl_convolution_forward_desc_init(d, prop, dnnl_convolution_direct, &G->ax, &G->aw, bmd,
                                                  &G->ay, G->strides, G->pad_l, G->pad_r);
    if (which == 1)
        return dnnl_convolution_backward_data_desc_init(d, dnnl_convolution_direct, &G->ax, &G->aw, &G->ay,
                                                        G->strides, G->pad_l, G->pad_r);
    return dnnl_convolution_backward_weights_desc_init(d, dnnl_convolution_direct, &G->ax, &G->aw, bmd,
                                                       &G->ay, G->strides, G->pad_l, G->pad_r);
}

static int use_blocked(const ae_node *n, int64_t cin, int64_t cout)
{
    switch ((ae_conv_layout)n->iattr[A_LAYOUT]) {
    case AE_CONV_LAYOUT_PLAIN: return 0;
    case AE_CONV_LAYOUT_BLOCKED: return 1;
    default: return cin >= 8 && cout >= 8;
    }
}

static int geom_init(const ae_node *n, geom *G, ae_err *err)
{
    const ae_node *x = n->in[0], *w = n->in[1];
    G->tr = n->iattr[A_KIND];
    int s = n->iattr[A_STRIDE], p = n->iattr[A_PAD], op = n->iattr[A_OPAD];
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
    dnnl_dims_t dx = {xd[0], xd[1], xd[2], xd[3]}, dy = {yd[0], yd[1], yd[2], yd[3]};
    dnnl_dims_t dw = {yd[1], xd[1], kh, kw}, db = {yd[1]}; /* oneDNN weights are (out, in, kh, kw) */
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&G->x, 4, dx, dnnl_f32, dnnl_nchw);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&G->y, 4, dy, dnnl_f32, dnnl_nchw);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&G->w, 4, dw, dnnl_f32, G->tr ? dnnl_iohw : dnnl_oihw);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&G->b, 1, db, dnnl_f32, dnnl_x);
    if (use_blocked(n, xd[1], yd[1])) {
        if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&G->ax, 4, dx, dnnl_f32, dnnl_format_tag_any);
        if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&G->ay, 4, dy, dnnl_f32, dnnl_format_tag_any);
        if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&G->aw, 4, dw, dnnl_f32, dnnl_format_tag_any);
    } else {
        G->ax = G->x;
        G->ay = G->y;
        G->aw = G->w;
    }
    return ae_dnnl_check(st, "conv memory descriptors", err);
}

static const dnnl_alg_kind_t act_alg[] = {dnnl_alg_kind_undef, dnnl_eltwise_relu,
                                          dnnl_eltwise_logistic, dnnl_eltwise_tanh};

static int make_pd(const geom *G, int which, dnnl_prop_kind_t prop, int bias, ae_act act,
                   const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, ae_err *err)
{
    dnnl_convolution_desc_t d;
    dnnl_status_t st = desc_init(G, which, prop, bias, &d);
    if (ae_dnnl_check(st, which == 0 ? "conv forward descriptor" : which == 1 ? "conv backward-data "
                      "descriptor" : "conv backward-weights descriptor", err))
        return err->code;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success && act != AE_ACT_IDENTITY) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) st = dnnl_post_ops_append_eltwise(po, 1.0f, act_alg[act], 0.0f, 0.0f);
        if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &d, attr, ae_dnnl_engine(), hint);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return ae_dnnl_check(st, "conv primitive descriptor", err);
}

/* Measured in oneDNN 2.6 (AVX2, W3 shapes): a fused eltwise post-op keeps the speed of a blocked
 * convolution, but makes the gemm (plain) convolution 2-10x and every deconvolution 5-6x slower
 * than the same primitive followed by its own in-place eltwise primitive. */
static int fuse_act(int tr, int blocked, ae_act act) { return act == AE_ACT_IDENTITY || (!tr && blocked); }

/* The activation as an in-place eltwise primitive on the forward primitive's destination. */
static int act_primitive(stage *st, dnnl_memory_t dst, ae_act act, ae_err *err)
{
    dnnl_eltwise_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    st->act_mem = dst;
    dnnl_status_t s = dnnl_eltwise_forward_desc_init(&d, dnnl_forward_inference, act_alg[act],
                                                     md_of(dst), 0.0f, 0.0f);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd, &d, NULL, ae_dnnl_engine(), NULL);
    if (s == dnnl_success) s = dnnl_primitive_create(&st->act, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return ae_dnnl_check(s, "conv activation primitive", err);
}

static int conv_prepare_stages(ae_graph *g, ae_node *n, conv_state *s, dnnl_primitive_desc_t *pds,
                               ae_err *err)
{
    ae_node *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    ae_act act = (ae_act)n->iattr[A_ACT];
    geom G;
    if (geom_init(n, &G, err)) return err->code;
    int blocked = G.ax.format_kind == dnnl_format_kind_any;
    dnnl_memory_t mx, mw, my, mb = NULL;
    if (!(mx = track(s, &G.x, x->val, err)) || !(mw = track(s, &G.w, w->val, err)) ||
        !(my = track(s, &G.y, n->val, err)) || (b && !(mb = track(s, &G.b, b->val, err))))
        return err->code;
    /* x straight from a conv that keeps its output in a private layout: read that copy when it is
     * the layout wanted here (it is fresh: the producer's forward runs first) */
    const conv_state *px = x->op == &ae_op_conv2d || x->op == &ae_op_conv_transpose2d ? x->state : NULL;
    if (px && px->fwd.npost) {
        s->alias[s->nalias].user = mx;
        s->alias[s->nalias++].copy = px->fwd.post[0].from;
    }
    /* forward */
    stage *f = &s->fwd;
    int fuse = fuse_act(G.tr, blocked, act);
    if (make_pd(&G, 0, n->needs_grad ? dnnl_forward_training : dnnl_forward_inference, b != NULL,
                fuse ? act : AE_ACT_IDENTITY, NULL, &pds[0], err) ||
        bind_in(g, s, f, DNNL_ARG_SRC, qmd(pds[0], dnnl_query_src_md), mx, err) ||
        bind_in(g, s, f, DNNL_ARG_WEIGHTS, qmd(pds[0], dnnl_query_weights_md), mw, err) ||
        bind_out(g, s, f, DNNL_ARG_DST, qmd(pds[0], dnnl_query_dst_md), my, 0, err) ||
        ae_dnnl_check(dnnl_primitive_create(&f->p, pds[0]), "conv forward primitive", err) ||
        (!fuse && act_primitive(f, f->args[f->nargs - 1].memory, act, err)))
        return err->code;
    if (b) f->args[f->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mb};
    f->blocked = blocked;
    if (!n->needs_grad) return AE_OK;
    /* backward: dZ in the graph's layout, then backward-data, then backward-weights (in the order
     * they run, so a later stage reuses the layout copies an earlier one made) */
    s->dz = act == AE_ACT_IDENTITY ? n->grad : ae_graph_scratch(g, n->numel, err);
    dnnl_memory_t mdz = s->dz ? track(s, &G.y, s->dz, err) : NULL;
    if (!mdz) return err->code;
    if (x->needs_grad) {
        stage *d = &s->bwd_d;
        dnnl_memory_t mdx = track(s, &G.x, x->grad, err);
        if (!mdx || make_pd(&G, 1, dnnl_backward_data, 0, AE_ACT_IDENTITY, pds[0], &pds[1], err) ||
            bind_in(g, s, d, DNNL_ARG_DIFF_DST, qmd(pds[1], dnnl_query_diff_dst_md), mdz, err) ||
            bind_in(g, s, d, DNNL_ARG_WEIGHTS, qmd(pds[1], dnnl_query_weights_md), mw, err) ||
            bind_out(g, s, d, DNNL_ARG_DIFF_SRC, qmd(pds[1], dnnl_query_diff_src_md), mdx, n->accum[0], err) ||
            ae_dnnl_check(dnnl_primitive_create(&d->p, pds[1]), "conv backward-data primitive", err))
            return err->code;
        d->blocked = blocked;
    }
    int wg = w->needs_grad, bg = b && b->needs_grad;
    if (!wg && !bg) return AE_OK;
    stage *k = &s->bwd_w;
    dnnl_memory_t mdw = wg ? track(s, &G.w, w->grad, err) : own(g, s, &G.w, err);
    dnnl_memory_t mdb = !b ? NULL : bg ? track(s, &G.b, b->grad, err) : own(g, s, &G.b, err);
    if (!mdw || (b && !mdb) ||
        make_pd(&G, 2, dnnl_backward_weights, b != NULL, AE_ACT_IDENTITY, pds[0], &pds[2], err) ||
        bind_in(g, s, k, DNNL_ARG_SRC, qmd(pds[2], dnnl_query_src_md), mx, err) ||
        bind_in(g, s, k, DNNL_ARG_DIFF_DST, qmd(pds[2], dnnl_query_diff_dst_md), mdz, err) ||
        bind_out(g, s, k, DNNL_ARG_DIFF_WEIGHTS, qmd(pds[2], dnnl_query_diff_weights_md), mdw,
                 wg && n->accum[1], err) ||
        (b && bind_out(g, s, k, DNNL_ARG_DIFF_BIAS,
                       dnnl_primitive_desc_query_md(pds[2], dnnl_query_diff_weights_md, 1), mdb,
                       bg && n->accum[2], err)) ||
        ae_dnnl_check(dnnl_primitive_create(&k->p, pds[2]), "conv backward-weights primitive", err))
        return err->code;
    k->blocked = blocked;
    return AE_OK;
}

static int conv_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    conv_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    n->state = s;
    if (!ae_dnnl_engine()) return ae_errf(err, AE_EINTERNAL, "oneDNN: no CPU engine");
    dnnl_primitive_desc_t pds[3] = {NULL, NULL, NULL};
    int rc = conv_prepare_stages(g, n, s, pds, err);
    for (int i = 0; i < 3; i++)
        if (pds[i]) dnnl_primitive_desc_destroy(pds[i]);
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
static void run_xfer(const xfer *x)
{
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, x->from}, {DNNL_ARG_TO, x->to}};
    dnnl_primitive_execute(x->r, ae_dnnl_stream(), 2, a);
}

static void run_stage(const stage *st)
{
    if (!st->p) return;
    for (int i = 0; i < st->npre; i++) run_xfer(&st->pre[i]);
    dnnl_primitive_execute(st->p, ae_dnnl_stream(), st->nargs, st->args);
    if (st->act) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_SRC, st->act_mem}, {DNNL_ARG_DST, st->act_mem}};
        dnnl_primitive_execute(st->act, ae_dnnl_stream(), 2, a);
    }
    for (int i = 0; i < st->npost; i++) run_xfer(&st->post[i]);
}

static void conv_forward(ae_node *n) { run_stage(&((conv_state *)n->state)->fwd); }

static void conv_backward(ae_node *n)
{
    conv_state *s = n->state;
    ae_act act = (ae_act)n->iattr[A_ACT];
    if (act != AE_ACT_IDENTITY) ae_act_backward(act, n->val, n->grad, s->dz, n->numel, 0);
    run_stage(&s->bwd_d);
    run_stage(&s->bwd_w);
}

static void stage_destroy(stage *st)
{
    if (st->p) dnnl_primitive_destroy(st->p);
    if (st->act) dnnl_primitive_destroy(st->act);
    for (int i = 0; i < st->npre; i++)
        if (st->pre[i].r) dnnl_primitive_destroy(st->pre[i].r);
    for (int i = 0; i < st->npost; i++)
        if (st->post[i].r) dnnl_primitive_destroy(st->post[i].r);
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

void ae_conv_node_layouts(const ae_node *n, int *fwd, int *bwd_data, int *bwd_weights)
{
    const conv_state *s = n && (n->op == &ae_op_conv2d || n->op == &ae_op_conv_transpose2d) ? n->state : NULL;
    if (fwd) *fwd = s && s->fwd.p ? s->fwd.blocked : -1;
    if (bwd_data) *bwd_data = s && s->bwd_d.p ? s->bwd_d.blocked : -1;
    if (bwd_weights) *bwd_weights = s && s->bwd_w.p ? s->bwd_w.blocked : -1;
}

const ae_op ae_op_conv2d = {"conv2d", conv_infer, conv_prepare, conv_forward, conv_backward,
                            conv_destroy};
const ae_op ae_op_conv_transpose2d = {"conv_transpose2d", conv_infer, conv_prepare, conv_forward,
                                      conv_backward, conv_destroy};

static ae_node *add(ae_graph *g, const ae_op *op, const char *name, ae_node *x, ae_node *w, ae_node *b,
                    int stride, int pad, int opad, ae_act act, ae_err *err)
{
    ae_node *in[3] = {x, w, b};
    int ia[6] = {(int)act, op == &ae_op_conv_transpose2d, stride, pad, opad, (int)g_layout};
    return ae_graph_add(g, op, name, in, b ? 3 : 2, ia, 6, NULL, 0, err);
}

ae_node *ae_conv2d(ae_graph *g, const char *name, ae_node *x, ae_node *w, ae_node *b, int stride,
                   int pad, ae_act act, ae_err *err)
{
    return add(g, &ae_op_conv2d, name, x, w, b, stride, pad, 0, act, err);
}

ae_node *ae_conv_transpose2d(ae_graph *g, const char *name, ae_node *x, ae_node *w, ae_node *b,
                             int stride, int pad, int output_padding, ae_act act, ae_err *err)
{
    return add(g, &ae_op_conv_transpose2d, name, x, w, b, stride, pad, output_padding, act, err);
}
