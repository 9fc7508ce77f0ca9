/* Layer types `conv2d` and `conv_transpose2d` for the registry: config keys, PyTorch-style parameter
 * declaration (fan-in rules of nn.Conv2d / nn.ConvTranspose2d) and mirrors onto each other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_conv.h"
#include "ae_params.h"
#include "ae_registry.h"

typedef struct conv_spec {
    int transpose;
    long filters, kernel, stride, padding, output_padding;
    int same; /* padding: same (stride 1, odd kernel) */
    int act;
    int bias;
} conv_spec;

static const char *type_name(const conv_spec *s) { return s->transpose ? "conv_transpose2d" : "conv2d"; }

static int read_padding(ae_cfg *spec, conv_spec *s, ae_err *err)
{
    ae_cfg *pv = s->transpose ? NULL : ae_cfg_get(spec, "padding");
    const char *txt = pv ? ae_cfg_scalar(pv) : NULL;
    if (txt && !strcmp(txt, "same")) {
        s->same = 1;
        return AE_OK;
    }
    if (ae_cfg_int(spec, "padding", 0, 0, 4096, &s->padding, err)) {
        if (!s->transpose) {
            size_t len = strlen(err->msg);
            snprintf(err->msg + len, sizeof err->msg - len, " (or 'same')");
        }
        return err->code;
    }
    return AE_OK;
}

static int configure(ae_cfg *spec, void **state, int transpose, ae_err *err)
{
    conv_spec *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    s->transpose = transpose;
    const char *act;
    char w[256];
    if (!ae_cfg_has(spec, "filters"))
        return ae_errf(err, AE_EINPUT, "%s: missing required key 'filters' (an integer >= 1)",
                       ae_cfg_where(spec, w, sizeof w));
    if (ae_cfg_int(spec, "filters", 1, 1, 1L << 20, &s->filters, err) ||
        ae_cfg_int(spec, "kernel", 3, 1, 1024, &s->kernel, err) ||
        ae_cfg_int(spec, "stride", 1, 1, 1024, &s->stride, err) || read_padding(spec, s, err) ||
        (transpose && ae_cfg_int(spec, "output_padding", 0, 0, 1023, &s->output_padding, err)) ||
        ae_cfg_str(spec, "activation", "identity", ae_act_names, &act, err) ||
        ae_cfg_bool(spec, "bias", 1, &s->bias, err))
        return err->code;
    if (s->same) {
        if (s->stride != 1 || s->kernel % 2 == 0)
            return ae_errf(err, AE_EINPUT, "%s: padding 'same' needs stride 1 and an odd kernel "
                           "(got stride %ld, kernel %ld)", ae_cfg_where(ae_cfg_get(spec, "padding"), w,
                                                                        sizeof w), s->stride, s->kernel);
        s->padding = (s->kernel - 1) / 2;
    }
    if (transpose && s->output_padding >= s->stride)
        return ae_errf(err, AE_EINPUT, "%s: output_padding must be smaller than stride (got "
                       "output_padding %ld, stride %ld)",
                       ae_cfg_where(ae_cfg_get(spec, "output_padding"), w, sizeof w),
                       s->output_padding, s->stride);
    ae_act a = AE_ACT_IDENTITY;
    ae_act_parse(act, &a);
    s->act = (int)a;
    return AE_OK;
}

static int conv_configure(ae_cfg *spec, void **state, ae_err *err) { return configure(spec, state, 0, err); }
static int convt_configure(ae_cfg *spec, void **state, ae_err *err) { return configure(spec, state, 1, err); }

static ae_node *build(void *state, ae_build *b, const char *name, ae_node *x)
{
    conv_spec *s = state;
    if (!x) return NULL;
    char a[64], nn[96], pn[128];
    snprintf(nn, sizeof nn, "%s (%s)", name, type_name(s));
    if (x->shape.nd != 4) {
        ae_errf(b->err, AE_EINPUT, "%s: expects a 4-D input [N, C, H, W], got %s: add "
                "`{type: reshape, shape: [C, H, W]}` before it", nn, ae_shape_str(x->shape, a, sizeof a));
        return NULL;
    }
    int64_t cin = x->shape.d[1], k = s->kernel, f = s->filters;
    /* PyTorch: fan_in = weight.size(1)·k·k, fan_out = weight.size(0)·k·k */
    ae_shape ws = s->transpose ? ae_shape4(cin, f, k, k) : ae_shape4(f, cin, k, k);
    int fan_in = (int)(ws.d[1] * k * k), fan_out = (int)(ws.d[0] * k * k);
    snprintf(pn, sizeof pn, "%s.weight", name);
    int wi = ae_params_declare(b->ps, pn, ws, fan_in, fan_out, AE_PARAM_WEIGHT, s->act == AE_ACT_RELU,
                               b->err);
    int bi = -1;
    if (wi >= 0 && s->bias) {
        snprintf(pn, sizeof pn, "%s.bias", name);
        bi = ae_params_declare(b->ps, pn, ae_shape_make(1, (int64_t[]){f}), fan_in, fan_out,
                               AE_PARAM_BIAS, 0, b->err);
        if (bi < 0) return NULL;
    }
    if (wi < 0) return NULL;
    ae_node *w = ae_graph_param(b->g, wi, b->err);
    ae_node *bias = bi >= 0 ? ae_graph_param(b->g, bi, b->err) : NULL;
    if (!w || (bi >= 0 && !bias)) return NULL;
    int st = (int)s->stride, p = (int)s->padding;
    return s->transpose ? ae_conv_transpose2d(b->g, nn, x, w, bias, st, p, (int)s->output_padding,
                                              (ae_act)s->act, b->err)
                        : ae_conv2d(b->g, nn, x, w, bias, st, p, (ae_act)s->act, b->err);
}

static void set_long(ae_cfg *out, const char *key, long v)
{
    char t[32];
    snprintf(t, sizeof t, "%ld", v);
    ae_cfg_set_scalar(out, key, t);
}

/* conv2d(k, s, p) on an HxW input is undone by conv_transpose2d(k, s, p, output_padding) with the
 * output padding that restores HxW exactly; conv_transpose2d is undone by conv2d(k, s, p). */
static int mirror(void *state, ae_shape in, ae_cfg *out, ae_err *err)
{
    conv_spec *s = state;
    char a[64];
    if (in.nd != 4)
        return ae_errf(err, AE_EINPUT, "%s cannot be mirrored: its input %s is not [N, C, H, W]",
                       type_name(s), ae_shape_str(in, a, sizeof a));
    int st = (int)s->stride, p = (int)s->padding;
    int64_t op[2];
    for (int i = 0; i < 2; i++) {
        int64_t d = in.d[2 + i], o;
        if (s->transpose) {
            o = ae_conv_transpose_out_size(d, s->kernel, st, p, (int)s->output_padding);
            op[i] = o >= 1 && ae_conv_out_size(o, s->kernel, st, p) == d ? 0 : -1;
        } else {
            o = ae_conv_out_size(d, s->kernel, st, p);
            op[i] = o < 1 ? -1 : d - ae_conv_transpose_out_size(o, s->kernel, st, p, 0);
        }
        if (op[i] < 0 || op[i] >= st)
            return ae_errf(err, AE_EINPUT, "%s (kernel %ld, stride %d, padding %d) on input %s cannot "
                           "be mirrored", type_name(s), s->kernel, st, p, ae_shape_str(in, a, sizeof a));
    }
    if (op[0] != op[1])
        return ae_errf(err, AE_EINPUT, "conv2d (kernel %ld, stride %d, padding %d) on input %s cannot "
                       "be mirrored: a conv_transpose2d would need output_padding %lld for the height "
                       "and %lld for the width", s->kernel, st, p, ae_shape_str(in, a, sizeof a),
                       (long long)op[0], (long long)op[1]);
    ae_cfg_set_scalar(out, "type", s->transpose ? "conv2d" : "conv_transpose2d");
    set_long(out, "filters", (long)in.d[1]);
    set_long(out, "kernel", s->kernel);
    set_long(out, "stride", s->stride);
    set_long(out, "padding", s->padding);
    if (!s->transpose) set_long(out, "output_padding", (long)op[0]);
    return AE_OK;
}

static int get_act(void *state) { return ((conv_spec *)state)->act; }
static void set_act(void *state, int act) { ((conv_spec *)state)->act = act; }

const ae_layer_ops ae_layer_conv2d = {
    "conv2d", "2-D convolution on [N, C, H, W]: filters (required), kernel (3), stride (1), padding "
    "(0, or same for stride 1), activation (identity|relu|sigmoid|tanh; identity), bias (true)",
    conv_configure, build, mirror, get_act, set_act, free};

const ae_layer_ops ae_layer_conv_transpose2d = {
    "conv_transpose2d", "transposed 2-D convolution (PyTorch ConvTranspose2d): filters (required), "
    "kernel (3), stride (1), padding (0), output_padding (0, < stride), activation (identity), "
    "bias (true)",
    convt_configure, build, mirror, get_act, set_act, free};
