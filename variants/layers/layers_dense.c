/* Layer types of the dense family: `dense` (units, activation, bias), `activation` and `reshape`,
 * each with configure / build / mirror for the registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_ops.h"
#include "ae_params.h"
#include "ae_registry.h"

typedef struct dense_spec {
    long units;
    int act;
    int bias;
    double slope; /* leaky_relu's negative slope */
} dense_spec;

/* `negative_slope` exists with `activation: leaky_relu` only (other configs keep their keys). */
#define SLOPE_KEY(s) AE_KEY_NUM_(s, slope, "negative_slope", "0.01", 0.0, 1.0, \
                                 "slope for inputs below 0 (PyTorch LeakyReLU's negative_slope)")
static const ae_key dense_slope_keys[] = {SLOPE_KEY(dense_spec)};
static const ae_schema dense_slope_schema = AE_SCHEMA("layer dense", dense_slope_keys);
static const ae_schema_case dense_cases[] = {{"leaky_relu", &dense_slope_schema}};

static const ae_key dense_keys[] = {
    AE_KEY_INT_(dense_spec, units, "units", NULL, 1, 1L << 24, "output features"),
    AE_KEY_CHOICE_(dense_spec, act, "activation", "identity", ae_act_names, "applied to the output"),
    AE_KEY_BOOL_(dense_spec, bias, "bias", "true", "add a bias"),
};
static const ae_schema dense_schema = AE_SCHEMA_CASES("layer dense", dense_keys, "activation", dense_cases);

/* negative_slope without activation: leaky_relu: say so (rather than "unknown key"). */
static int slope_without_leaky(ae_cfg *spec, int act, ae_err *err)
{
    ae_cfg *ns = ae_cfg_get(spec, "negative_slope");
    char w[256];
    if (!ns || act == AE_ACT_LEAKY_RELU) return AE_OK;
    return ae_errf(err, AE_EINPUT, "%s: negative_slope goes with activation: leaky_relu (this layer's "
                   "activation is %s)", ae_cfg_where(ns, w, sizeof w), ae_act_name((ae_act)act));
}

static int dense_configure(ae_cfg *spec, void **state, ae_err *err)
{
    dense_spec *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    s->slope = AE_LEAKY_SLOPE;
    if (ae_schema_read(&dense_schema, spec, s, 0, err)) return err->code;
    return slope_without_leaky(spec, s->act, err);
}

static ae_node *dense_build(void *state, ae_build *b, const char *name, ae_node *x)
{
    dense_spec *s = state;
    if (!x) return NULL;
    int fan_in = (int)(x->numel / (size_t)x->shape.d[0]);
    char pn[128];
    snprintf(pn, sizeof pn, "%s.weight", name);
    int wi = ae_params_declare(b->ps, pn, ae_shape2(s->units, fan_in), fan_in, (int)s->units,
                               AE_PARAM_WEIGHT, s->act == AE_ACT_RELU || s->act == AE_ACT_LEAKY_RELU,
                               b->err);
    int bi = -1;
    if (wi >= 0 && s->bias) {
        snprintf(pn, sizeof pn, "%s.bias", name);
        bi = ae_params_declare(b->ps, pn, ae_shape_make(1, (int64_t[]){s->units}), fan_in,
                               (int)s->units, AE_PARAM_BIAS, 0, b->err);
        if (bi < 0) return NULL;
    }
    if (wi < 0) return NULL;
    char nn[96];
    snprintf(nn, sizeof nn, "%s (dense)", name);
    ae_node *w = ae_graph_param(b->g, wi, b->err);
    ae_node *bias = bi >= 0 ? ae_graph_param(b->g, bi, b->err) : NULL;
    ae_node *y = ae_dense(b->g, nn, x, w, bias, (ae_act)s->act, b->err);
    ae_set_act_slope(y, (float)s->slope);
    return y;
}

/* dense back to the input's size; a layer without bias mirrors to one without. */
static int dense_mirror(void *state, ae_shape in, ae_cfg *out, ae_err *err)
{
    (void)err;
    char v[32];
    snprintf(v, sizeof v, "%zu", ae_shape_numel(in) / (size_t)in.d[0]);
    ae_cfg_set_scalar(out, "type", "dense");
    ae_cfg_set_scalar(out, "units", v);
    if (!((dense_spec *)state)->bias) ae_cfg_set_scalar(out, "bias", "false");
    return AE_OK;
}

static int dense_get_act(void *state) { return ((dense_spec *)state)->act; }
static void dense_set_act(void *state, int act) { ((dense_spec *)state)->act = act; }

const ae_layer_ops ae_layer_dense = {
    "dense", "fully connected", dense_configure, dense_build, dense_mirror, dense_get_act, dense_set_act, free,
    &dense_schema};

/* --- activation ------------------------------------------------------------------------------ */
typedef struct act_spec {
    int act;
    double slope;
} act_spec;

static const ae_key act_slope_keys[] = {SLOPE_KEY(act_spec)};
static const ae_schema act_slope_schema = AE_SCHEMA("layer activation", act_slope_keys);
static const ae_schema_case act_cases[] = {{"leaky_relu", &act_slope_schema}};
static const ae_key act_keys[] = {AE_KEY_CHOICE_(act_spec, act, "activation", NULL, ae_act_names, "the function")};
static const ae_schema act_schema = AE_SCHEMA_CASES("layer activation", act_keys, "activation", act_cases);

static int act_configure(ae_cfg *spec, void **state, ae_err *err)
{
    act_spec *a = calloc(1, sizeof *a);
    if (!a) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = a;
    a->slope = AE_LEAKY_SLOPE;
    if (ae_schema_read(&act_schema, spec, a, 0, err)) return err->code;
    return slope_without_leaky(spec, a->act, err);
}

static ae_node *act_build(void *state, ae_build *b, const char *name, ae_node *x)
{
    char nn[96];
    snprintf(nn, sizeof nn, "%s (activation)", name);
    ae_node *y = ae_activation(b->g, nn, x, (ae_act)((act_spec *)state)->act, b->err);
    ae_set_act_slope(y, (float)((act_spec *)state)->slope);
    return y;
}

static int act_get(void *state) { return ((act_spec *)state)->act; }
static void act_set(void *state, int act) { ((act_spec *)state)->act = act; }

const ae_layer_ops ae_layer_activation = {
    "activation", "elementwise activation", act_configure, act_build, NULL, act_get, act_set, free, &act_schema};

/* --- reshape --------------------------------------------------------------------------------- */
typedef struct reshape_spec {
    int nd;
    long d[3];
} reshape_spec;

static int read_shape(const ae_key *k, ae_cfg *spec, void *out, ae_err *err)
{
    reshape_spec *s = out;
    ae_cfg *shape;
    char w[256];
    if (ae_cfg_seq(spec, k->name, 0, &shape, err)) return err->code;
    if (!shape || ae_cfg_len(shape) < 1 || ae_cfg_len(shape) > 3)
        return ae_errf(err, AE_EINPUT, "%s: reshape needs 'shape: [C, H, W]' (1 to 3 sizes)",
                       ae_cfg_where(spec, w, sizeof w));
    s->nd = (int)ae_cfg_len(shape);
    for (int i = 0; i < s->nd; i++)
        if (ae_cfg_to_int(ae_cfg_at(shape, (size_t)i), 1, 1L << 24, &s->d[i], err)) return err->code;
    return AE_OK;
}

static const ae_key reshape_keys[] = {
    AE_KEY_CUSTOM_(reshape_spec, d, "shape", NULL, read_shape, "[C, H, W], [H, W] or [K]: 1 to 3 sizes"),
};
static const ae_schema reshape_schema = AE_SCHEMA("layer reshape", reshape_keys);

static int reshape_configure(ae_cfg *spec, void **state, ae_err *err)
{
    reshape_spec *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    return ae_schema_read(&reshape_schema, spec, s, 0, err);
}

static ae_node *reshape_build(void *state, ae_build *b, const char *name, ae_node *x)
{
    reshape_spec *s = state;
    ae_shape sh = {0};
    sh.nd = s->nd + 1;
    sh.d[0] = x ? x->shape.d[0] : 0;
    for (int i = 0; i < s->nd; i++) sh.d[i + 1] = s->d[i];
    char nn[96];
    snprintf(nn, sizeof nn, "%s (reshape)", name);
    return ae_reshape(b->g, nn, x, sh, b->err);
}

const ae_layer_ops ae_layer_reshape = {
    "reshape", "view the sample as another shape", reshape_configure, reshape_build, NULL, NULL, NULL, free,
    &reshape_schema};
