/* Layer types `batch_norm`, `max_pool2d` and `upsample` for the registry (PyTorch BatchNorm1d/2d,
 * MaxPool2d, Upsample nearest): keys, parameters (batch norm's weight, bias and running statistics)
 * and mirrors (batch_norm to itself, max_pool2d and upsample to each other). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_norm.h"
#include "ae_params.h"
#include "ae_registry.h"

/* v as the shortest text that reads back as v (0.1, not 0.10000000000000001). */
static void set_num(ae_cfg *out, const char *key, double v)
{
    char t[48];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    ae_cfg_set_scalar(out, key, t);
}

/* --- batch_norm ------------------------------------------------------------------------------- */
typedef struct bn_spec {
    double momentum, eps;
    int affine;
} bn_spec;

static const ae_key bn_keys[] = {
    AE_KEY_NUM_(bn_spec, momentum, "momentum", "0.1", 0.0, 1.0,
                "weight of each batch in the running statistics (PyTorch's momentum)"),
    AE_KEY_NUM_(bn_spec, eps, "eps", "1e-5", 1e-12, 1.0, "added to the variance before the square root"),
    AE_KEY_BOOL_(bn_spec, affine, "affine", "true", "learn a scale (weight) and shift (bias) per channel"),
};
static const ae_schema bn_schema = AE_SCHEMA("layer batch_norm", bn_keys);

static int bn_configure(ae_cfg *spec, void **state, ae_err *err)
{
    bn_spec *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    return ae_schema_read(&bn_schema, spec, s, 0, err);
}

/* Parameters as PyTorch names them: NAME.weight, NAME.bias (affine), NAME.running_mean,
 * NAME.running_var (not trained; saved in checkpoints with the rest of the store). */
static ae_node *bn_build(void *state, ae_build *b, const char *name, ae_node *x)
{
    bn_spec *s = state;
    if (!x) return NULL;
    char nn[96], pn[128], a[64];
    snprintf(nn, sizeof nn, "%s (batch_norm)", name);
    if (x->shape.nd != 2 && x->shape.nd != 4) {
        ae_errf(b->err, AE_EINPUT, "%s: expects [N, C] or [N, C, H, W], got %s", nn,
                ae_shape_str(x->shape, a, sizeof a));
        return NULL;
    }
    int64_t c = x->shape.d[1];
    ae_shape cs = ae_shape_make(1, (int64_t[]){c});
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    static const ae_param_kind kind[4] = {AE_PARAM_SCALE, AE_PARAM_SHIFT, AE_PARAM_STATE, AE_PARAM_STATE_ONE};
    ae_node *p[4] = {NULL, NULL, NULL, NULL};
    for (int i = s->affine ? 0 : 2; i < 4; i++) {
        snprintf(pn, sizeof pn, "%s.%s", name, suffix[i]);
        int k = ae_params_declare(b->ps, pn, cs, (int)c, (int)c, kind[i], 0, b->err);
        if (k < 0 || !(p[i] = ae_graph_param(b->g, k, b->err))) return NULL;
    }
    return ae_batch_norm(b->g, nn, x, p[0], p[1], p[2], p[3], (float)s->momentum, (float)s->eps, b->err);
}

static int bn_mirror(void *state, ae_shape in, ae_cfg *out, ae_err *err)
{
    bn_spec *s = state;
    (void)in;
    (void)err;
    ae_cfg_set_scalar(out, "type", "batch_norm");
    set_num(out, "momentum", s->momentum);
    set_num(out, "eps", s->eps);
    ae_cfg_set_scalar(out, "affine", s->affine ? "true" : "false");
    return AE_OK;
}

const ae_layer_ops ae_layer_batch_norm = {
    "batch_norm", "batch normalisation per channel of [N, C] or [N, C, H, W] (PyTorch BatchNorm1d/2d): "
    "batch statistics in training, running statistics in evaluation",
    bn_configure, bn_build, bn_mirror, NULL, NULL, free, &bn_schema};

/* --- max_pool2d ------------------------------------------------------------------------------- */
typedef struct pool_spec {
    long kernel, stride, padding;
} pool_spec;

static const ae_key pool_keys[] = {
    AE_KEY_INT_(pool_spec, kernel, "kernel", "2", 1, 1024, "window height and width"),
    AE_KEY_INT_(pool_spec, stride, "stride", "0", 0, 1024, "step in both directions (0: the kernel)"),
    AE_KEY_INT_(pool_spec, padding, "padding", "0", 0, 512,
                "-inf added on each side (at most half the kernel)"),
};
static const ae_schema pool_schema = AE_SCHEMA("layer max_pool2d", pool_keys);

static int pool_configure(ae_cfg *spec, void **state, ae_err *err)
{
    pool_spec *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    if (ae_schema_read(&pool_schema, spec, s, 0, err)) return err->code;
    if (s->stride == 0) s->stride = s->kernel;
    char w[256];
    if (2 * s->padding > s->kernel)
        return ae_errf(err, AE_EINPUT, "%s: padding must be at most half the kernel (got padding %ld, "
                       "kernel %ld)", ae_cfg_where(ae_cfg_get(spec, "padding"), w, sizeof w), s->padding,
                       s->kernel);
    return AE_OK;
}

static ae_node *pool_build(void *state, ae_build *b, const char *name, ae_node *x)
{
    pool_spec *s = state;
    char nn[96];
    snprintf(nn, sizeof nn, "%s (max_pool2d)", name);
    return ae_max_pool2d(b->g, nn, x, (int)s->kernel, (int)s->stride, (int)s->padding, b->err);
}

/* Undone by upsample(stride) when the windows tile the input exactly (kernel = stride, no padding,
 * H and W multiples of the stride). */
static int pool_mirror(void *state, ae_shape in, ae_cfg *out, ae_err *err)
{
    pool_spec *s = state;
    char a[64];
    if (in.nd != 4 || s->kernel != s->stride || s->padding || in.d[2] % s->stride || in.d[3] % s->stride)
        return ae_errf(err, AE_EINPUT, "max_pool2d (kernel %ld, stride %ld, padding %ld) on input %s cannot "
                       "be mirrored: upsample restores the shape only when kernel = stride, padding is 0 and "
                       "the stride divides the height and width; write the decoder out", s->kernel, s->stride,
                       s->padding, ae_shape_str(in, a, sizeof a));
    ae_cfg_set_scalar(out, "type", "upsample");
    set_num(out, "scale", (double)s->stride);
    ae_cfg_set_scalar(out, "mode", "nearest");
    return AE_OK;
}

const ae_layer_ops ae_layer_max_pool2d = {
    "max_pool2d", "maximum over each window of [N, C, H, W] (PyTorch MaxPool2d; gradient to the arg-max)",
    pool_configure, pool_build, pool_mirror, NULL, NULL, free, &pool_schema};

/* --- upsample --------------------------------------------------------------------------------- */
typedef struct up_spec {
    long scale;
    int mode;
} up_spec;

static const char *const up_modes[] = {"nearest", NULL};
static const ae_key up_keys[] = {
    AE_KEY_INT_(up_spec, scale, "scale", "2", 1, 64, "integer factor for the height and width"),
    AE_KEY_CHOICE_(up_spec, mode, "mode", "nearest", up_modes, "nearest: repeat each value scale x scale times"),
};
static const ae_schema up_schema = AE_SCHEMA("layer upsample", up_keys);

static int up_configure(ae_cfg *spec, void **state, ae_err *err)
{
    up_spec *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    return ae_schema_read(&up_schema, spec, s, 0, err);
}

static ae_node *up_build(void *state, ae_build *b, const char *name, ae_node *x)
{
    char nn[96];
    snprintf(nn, sizeof nn, "%s (upsample)", name);
    return ae_upsample_nearest(b->g, nn, x, (int)((up_spec *)state)->scale, b->err);
}

static int up_mirror(void *state, ae_shape in, ae_cfg *out, ae_err *err)
{
    up_spec *s = state;
    char a[64];
    if (in.nd != 4)
        return ae_errf(err, AE_EINPUT, "upsample on input %s cannot be mirrored", ae_shape_str(in, a, sizeof a));
    ae_cfg_set_scalar(out, "type", "max_pool2d");
    set_num(out, "kernel", (double)s->scale);
    set_num(out, "stride", (double)s->scale);
    return AE_OK;
}

const ae_layer_ops ae_layer_upsample = {
    "upsample", "nearest-neighbour upsampling of [N, C, H, W] by an integer factor (PyTorch Upsample)",
    up_configure, up_build, up_mirror, NULL, NULL, free, &up_schema};
