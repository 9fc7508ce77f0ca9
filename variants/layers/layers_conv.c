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
    double slope; /* leaky_relu's negative slope */
} conv_spec;

static const char *type_name(const conv_spec *s) { return s->transpose ? "conv_transpose2d" : "conv2d"; }

/* conv2d's padding: an integer, or `same` (stride 1 and an odd kernel). */
static int read_padding(const ae_key *k, ae_cfg *spec, void *out, ae_err *err)
{
    conv_spec *s = out;
    ae_cfg *pv = ae_cfg_get(spec, k->name);
    const char *txt = pv ? ae_cfg_scalar(pv) : NULL;
    if (txt && !strcmp(txt, "same")) {
        s->same = 1;
        return AE_OK;
    }
    if (ae_cfg_int(spec, k->name, strtol(k->def, NULL, 10), (long)k->min, (long)k->max, &s->padding, err)) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " (or 'same')");
        return err->code;
    }
    return AE_OK;
}

#define CONV_SIZES                                                                                       \
    AE_KEY_INT_(conv_spec, filters, "filters", NULL, 1, 1L << 20, "output channels"),                    \
    AE_KEY_INT_(conv_spec, kernel, "kernel", "3", 1, 1024, "kernel height and width"),                   \
    AE_KEY_INT_(conv_spec, stride, "stride", "1", 1, 1024, "step in both directions")
#define CONV_TAIL                                                                                        \
    AE_KEY_CHOICE_(conv_spec, act, "activation", "identity", ae_act_names, "applied to the output"),     \
    AE_KEY_BOOL_(conv_spec, bias, "bias", "true", "add a bias per output channel")

static const ae_key conv_keys[] = {
    CONV_SIZES,
    {"padding", AE_KEY_CUSTOM, offsetof(conv_spec, padding), "0", 0, 4096, NULL,
     "zeros added on each side, or same (stride 1, odd kernel: output as large as the input)", NULL,
     read_padding},
    CONV_TAIL,
};
static const ae_key convt_keys[] = {
    CONV_SIZES,
    AE_KEY_INT_(conv_spec, padding, "padding", "0", 0, 4096, "removed from each side of the output"),
    AE_KEY_INT_(conv_spec, output_padding, "output_padding", "0", 0, 1023,
                "added to one side of the output (< stride; picks among the sizes a stride allows)"),
    CONV_TAIL,
};
/* `negative_slope` exists with `activation: leaky_relu` only (other configs keep their keys). */
static const ae_key slope_keys[] = {
    AE_KEY_NUM_(conv_spec, slope, "negative_slope", "0.01", 0.0, 1.0,
                "slope for inputs below 0 (PyTorch LeakyReLU's negative_slope)")};
static const ae_schema conv_slope_schema = AE_SCHEMA("layer conv2d", slope_keys);
static const ae_schema convt_slope_schema = AE_SCHEMA("layer conv_transpose2d", slope_keys);
static const ae_schema_case conv_cases[] = {{"leaky_relu", &conv_slope_schema}};
static const ae_schema_case convt_cases[] = {{"leaky_relu", &convt_slope_schema}};
static const ae_schema conv_schema = AE_SCHEMA_CASES("layer conv2d", conv_keys, "activation", conv_cases);
static const ae_schema convt_schema = AE_SCHEMA_CASES("layer conv_transpose2d", convt_keys, "activation",
                                                      convt_cases);

/* negative_slope without activation: leaky_relu: say so (rather than "unknown key"). */
static int slope_without_leaky(ae_cfg *spec, int act, ae_err *err)
{
    ae_cfg *ns = ae_cfg_get(spec, "negative_slope");
    char w[256];
    if (!ns || act == AE_ACT_LEAKY_RELU) return AE_OK;
    return ae_errf(err, AE_EINPUT, "%s: negative_slope goes with activation: leaky_relu (this layer's "
                   "activation is %s)", ae_cfg_where(ns, w, sizeof w), ae_act_name((ae_act)act));
}

static int configure(ae_cfg *spec, void **state, int transpose, ae_err *err)
{
    conv_spec *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    s->transpose = transpose;
    s->slope = AE_LEAKY_SLOPE;
    char w[256];
    if (ae_schema_read(transpose ? &convt_schema : &conv_schema, spec, s, 0, err) ||
        slope_without_leaky(spec, s->act, err))
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
    int relu = s->act == AE_ACT_RELU || s->act == AE_ACT_LEAKY_RELU;
    int wi = ae_params_declare(b->ps, pn, ws, fan_in, fan_out, AE_PARAM_WEIGHT, relu, b->err);
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
    ae_node *y = s->transpose ? ae_conv_transpose2d(b->g, nn, x, w, bias, st, p, (int)s->output_padding,
                                                    (ae_act)s->act, b->err)
                              : ae_conv2d(b->g, nn, x, w, bias, st, p, (ae_act)s->act, b->err);
    ae_set_act_slope(y, (float)s->slope);
    return y;
}

static void set_long(ae_cfg *out, const char *key, long v)
{
    char t[32];
    snprintf(t, sizeof t, "%ld", v);
    ae_cfg_set_scalar(out, key, t);
}

/* conv2d(k, s, p) on an HxW input is undone by conv_transpose2d(k, s, p, output_padding) with the
 * output padding that restores HxW exactly; conv_transpose2d is undone by conv2d(k, s, p). A layer
 * without bias mirrors to one without. */
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
    if (!s->bias) ae_cfg_set_scalar(out, "bias", "false");
    return AE_OK;
}

static int get_act(void *state) { return ((conv_spec *)state)->act; }
static void set_act(void *state, int act) { ((conv_spec *)state)->act = act; }

const ae_layer_ops ae_layer_conv2d = {
    "conv2d", "2-D convolution on [N, C, H, W] (PyTorch Conv2d)", conv_configure, build, mirror, get_act, set_act,
    free, &conv_schema};

const ae_layer_ops ae_layer_conv_transpose2d = {
    "conv_transpose2d", "transposed 2-D convolution (PyTorch ConvTranspose2d)", convt_configure, build, mirror,
    get_act, set_act, free, &convt_schema};
