/* The conv ops' constructors, the process-wide layout policy they record in each node, and the
 * output shape of a (transposed) convolution with its checks. */
#include <stdio.h>

#include "conv_internal.h"

static ae_conv_layout g_layout = AE_CONV_LAYOUT_AUTO;
void ae_conv_set_layout(ae_conv_layout l) { g_layout = l; }
ae_conv_layout ae_conv_get_layout(void) { return g_layout; }

int64_t ae_conv_out_size(int64_t in, int64_t k, int stride, int pad)
{
    int64_t num = in + 2 * (int64_t)pad - k;
    return num < 0 || stride < 1 ? 0 : num / stride + 1;
}

int64_t ae_conv_transpose_out_size(int64_t in, int64_t k, int stride, int pad, int output_padding)
{ return (in - 1) * stride - 2 * (int64_t)pad + k + output_padding; }

static ae_node *add(ae_graph *g, const ae_op *op, const char *name, ae_node *x, ae_node *w, ae_node *b,
                    int stride, int pad, int opad, ae_act act, ae_err *err)
{
    ae_node *in[3] = {x, w, b};
    int ia[CONV_NATTR] = {[CONV_ACT] = (int)act, [CONV_KIND] = op == &ae_op_conv_transpose2d,
                          [CONV_STRIDE] = stride, [CONV_PAD] = pad, [CONV_OPAD] = opad,
                          [CONV_LAYOUT] = (int)g_layout};
    float fa[AE_FATTR_SLOPE + 1] = {[AE_FATTR_SLOPE] = AE_LEAKY_SLOPE};
    return ae_graph_add(g, op, name, in, b ? 3 : 2, ia, CONV_NATTR, fa, AE_FATTR_SLOPE + 1, err);
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

static const char *kernel_str(int64_t kh, int64_t kw, char *buf, size_t len)
{
    if (kh == kw) snprintf(buf, len, "%lld", (long long)kh);
    else snprintf(buf, len, "%lldx%lld", (long long)kh, (long long)kw);
    return buf;
}

int conv_infer(ae_node *n, ae_err *err)
{
    ae_node *x = n->in[0], *w = n->in[1];
    int tr = n->iattr[CONV_KIND], s = n->iattr[CONV_STRIDE], p = n->iattr[CONV_PAD], op = n->iattr[CONV_OPAD];
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
