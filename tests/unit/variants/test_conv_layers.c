/* The conv layer types as the model reader uses them: config keys and defaults, bad configs named
 * with their place, and `decoder: mirror` (W3's transposed decoder restores the input shape). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_config.h"
#include "ae_conv.h"
#include "ae_params.h"
#include "ae_registry.h"
#include "ae_test.h"

/* --- layer types --------------------------------------------------------------------------------- */
typedef struct lfx {
    ae_params *ps;
    ae_graph *g;
    ae_rng *rng;
    ae_err err;
    ae_cfg *spec;
    const ae_layer_ops *ops;
    void *state;
    ae_taps taps;
    ae_build b;
} lfx;

/* Configures a layer from YAML like the model reader does ("type" read, then configure, finish). */
static int lfx_init(lfx *L, const char *yaml)
{
    memset(L, 0, sizeof *L);
    L->ps = ae_params_new();
    L->rng = ae_rng_new(11);
    L->spec = ae_cfg_load_string(yaml, "spec.yaml", &L->err);
    ck_assert_msg(L->spec != NULL, "%s", L->err.msg);
    const char *type;
    ck_assert_int_eq(ae_cfg_str(L->spec, "type", NULL, NULL, &type, &L->err), AE_OK);
    L->ops = ae_find_layer(ae_test_registry(), type);
    ck_assert_msg(L->ops != NULL, "layer type %s is not registered", type);
    if (L->ops->configure(L->spec, &L->state, &L->err)) return L->err.code;
    return ae_cfg_finish(L->spec, "model.encoder[0]", &L->err);
}

static ae_node *lfx_build(lfx *L, ae_shape in)
{
    if (!L->g) L->g = ae_graph_new(L->ps, in.d[0], 1);
    ae_build b = {L->g, L->ps, L->rng, &L->taps, &L->err, NULL, NULL};
    L->b = b;
    ae_node *x = ae_graph_input(L->g, "x", in, &L->err);
    return L->ops->build(L->state, &L->b, "encoder[0]", x);
}

static void lfx_free(lfx *L)
{
    if (L->ops && L->state) L->ops->destroy(L->state);
    ae_cfg_free(L->spec);
    ae_graph_free(L->g);
    ae_params_free(L->ps);
    ae_rng_free(L->rng);
}

static const ae_param_info *param(lfx *L, const char *name)
{
    for (size_t i = 0; i < L->ps->n; i++)
        if (!strcmp(L->ps->p[i].name, name)) return &L->ps->p[i];
    return NULL;
}

START_TEST(layer_reads_keys)
{
    lfx L;
    ck_assert_int_eq(lfx_init(&L, "{type: conv2d, filters: 16, kernel: 5, stride: 2, padding: 2, "
                                  "activation: relu, bias: false}"), AE_OK);
    ck_assert_int_eq(L.ops->activation(L.state), AE_ACT_RELU);
    ae_node *y = lfx_build(&L, ae_shape4(4, 3, 28, 28));
    ck_assert_msg(y != NULL, "%s", L.err.msg);
    ck_assert(ae_shape_eq(y->shape, ae_shape4(4, 16, 14, 14)));
    ck_assert_str_eq(y->name, "encoder[0] (conv2d)");
    const ae_param_info *w = param(&L, "encoder[0].weight");
    ck_assert(w && ae_shape_eq(w->shape, ae_shape4(16, 3, 5, 5)) && !param(&L, "encoder[0].bias"));
    ck_assert(w->fan_in == 3 * 25 && w->fan_out == 16 * 25 && w->gain_relu == 1);
    L.ops->set_activation(L.state, AE_ACT_TANH);
    ck_assert_int_eq(L.ops->activation(L.state), AE_ACT_TANH);
    lfx_free(&L);

    /* defaults are inserted into the tree; padding: same keeps the size */
    ck_assert_int_eq(lfx_init(&L, "{type: conv2d, filters: 8, kernel: 5, padding: same}"), AE_OK);
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(L.spec, "stride")), "1");
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(L.spec, "activation")), "identity");
    y = lfx_build(&L, ae_shape4(1, 2, 9, 7));
    ck_assert_msg(y && ae_shape_eq(y->shape, ae_shape4(1, 8, 9, 7)), "%s", L.err.msg);
    ck_assert(param(&L, "encoder[0].bias") && param(&L, "encoder[0].bias")->fan_in == 2 * 25);
    lfx_free(&L);

    /* transposed: weight [in, out, k, k], fan_in from dim 1 as PyTorch */
    ck_assert_int_eq(lfx_init(&L, "{type: conv_transpose2d, filters: 1, kernel: 3, stride: 2, "
                                  "padding: 1, output_padding: 1, activation: sigmoid}"), AE_OK);
    y = lfx_build(&L, ae_shape4(2, 32, 14, 14));
    ck_assert_msg(y && ae_shape_eq(y->shape, ae_shape4(2, 1, 28, 28)), "%s", L.err.msg);
    ck_assert_str_eq(y->name, "encoder[0] (conv_transpose2d)");
    w = param(&L, "encoder[0].weight");
    ck_assert(ae_shape_eq(w->shape, ae_shape4(32, 1, 3, 3)));
    ck_assert(w->fan_in == 1 * 9 && w->fan_out == 32 * 9 && w->gain_relu == 0);
    ck_assert_int_eq(param(&L, "encoder[0].bias")->fan_in, 9);
    lfx_free(&L);
}
END_TEST

START_TEST(layer_rejects_bad_config)
{
    static const struct { const char *yaml, *a, *b; } c[] = {
        {"{type: conv2d, filters: 8, kernal: 5}", "kernal", "did you mean 'kernel'"},
        {"{type: conv2d, filters: 8, output_padding: 1}", "output_padding", "model.encoder[0]"},
        {"{type: conv2d, kernel: 3}", "missing required key 'filters'", NULL},
        {"{type: conv2d, filters: 8, padding: valid}", "padding", "'same'"},
        {"{type: conv2d, filters: 8, stride: 2, padding: same}", "same", "stride 1"},
        {"{type: conv2d, filters: 8, kernel: 4, padding: same}", "odd kernel", NULL},
        {"{type: conv_transpose2d, filters: 8, stride: 2, output_padding: 2}", "output_padding must be smaller than stride", NULL},
        {"{type: conv_transpose2d, filters: 8, padding: same}", "padding", NULL},
        {"{type: conv2d, filters: 8, activation: selu}", "activation", NULL},
        {"{type: conv2d, filters: 0}", "filters", NULL},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        lfx L;
        ck_assert_msg(lfx_init(&L, c[i].yaml) == AE_EINPUT, "%s accepted", c[i].yaml);
        ck_assert_msg(strstr(L.err.msg, c[i].a) && (!c[i].b || strstr(L.err.msg, c[i].b)),
                      "%s: %s", c[i].yaml, L.err.msg);
        lfx_free(&L);
    }
    /* a flat input: the error says how to fix it */
    lfx L;
    ck_assert_int_eq(lfx_init(&L, "{type: conv2d, filters: 8}"), AE_OK);
    ck_assert_ptr_null(lfx_build(&L, ae_shape2(3, 784)));
    ck_assert_msg(strstr(L.err.msg, "encoder[0] (conv2d)") && strstr(L.err.msg, "{type: reshape, shape: [C, H, W]}"),
                  "%s", L.err.msg);
    lfx_free(&L);
}
END_TEST

/* Mirrors `yaml` (a layer on input `in`), checks the mirror's keys, builds it on the layer's output
 * and checks it restores the input shape. */
static void mirror_case(const char *yaml, ae_shape in, const char *expect_type, long filters, long pad, long op)
{
    lfx L;
    ck_assert_int_eq(lfx_init(&L, yaml), AE_OK);
    ae_node *y = lfx_build(&L, in);
    ck_assert_msg(y != NULL, "%s", L.err.msg);
    ae_cfg *out = ae_cfg_new_map();
    ck_assert_msg(L.ops->mirror(L.state, in, out, &L.err) == AE_OK, "%s", L.err.msg);
    ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(out, "type")), expect_type);
    ck_assert_int_eq(atol(ae_cfg_scalar(ae_cfg_lookup(out, "filters"))), filters);
    if (op >= 0) ck_assert_int_eq(atol(ae_cfg_scalar(ae_cfg_lookup(out, "output_padding"))), op);
    else ck_assert_ptr_null(ae_cfg_lookup(out, "output_padding"));
    for (int i = 0; i < 2; i++) { /* same kernel and stride; padding as a number */
        const char *key = i ? "stride" : "kernel";
        ck_assert_str_eq(ae_cfg_scalar(ae_cfg_lookup(out, key)), ae_cfg_scalar(ae_cfg_lookup(L.spec, key)));
    }
    ck_assert_int_eq(atol(ae_cfg_scalar(ae_cfg_lookup(out, "padding"))), pad);
    /* configure the mirror from the emitted spec and build it on y */
    const ae_layer_ops *mo = ae_find_layer(ae_test_registry(), expect_type);
    void *ms = NULL;
    ck_assert_msg(mo->configure(out, &ms, &L.err) == AE_OK, "%s", L.err.msg);
    ae_node *z = mo->build(ms, &L.b, "decoder[0]", y);
    ck_assert_msg(z != NULL, "%s", L.err.msg);
    char a[64], b[64];
    ck_assert_msg(ae_shape_eq(z->shape, in), "mirror gives %s for %s", ae_shape_str(z->shape, a, sizeof a),
                  ae_shape_str(in, b, sizeof b));
    mo->destroy(ms);
    ae_cfg_free(out);
    lfx_free(&L);
}

START_TEST(mirror_w3_decoder)
{
    /* PyTorch W3: Conv2d(1,32,3,2,1) -> ConvTranspose2d(32,1,3,2,1,output_padding=1) */
    mirror_case("{type: conv2d, filters: 32, kernel: 3, stride: 2, padding: 1, activation: relu}",
                ae_shape4(1, 1, 28, 28), "conv_transpose2d", 1, 1, 1);
    mirror_case("{type: conv2d, filters: 64, kernel: 3, stride: 2, padding: 1, activation: relu}",
                ae_shape4(1, 32, 14, 14), "conv_transpose2d", 32, 1, 1);
    mirror_case("{type: conv2d, filters: 8, kernel: 3, stride: 2, padding: 1}", ae_shape4(1, 3, 13, 13),
                "conv_transpose2d", 3, 1, 0);
    mirror_case("{type: conv2d, filters: 8, kernel: 5, padding: same}", ae_shape4(1, 3, 10, 6),
                "conv_transpose2d", 3, 2, 0);
    mirror_case("{type: conv2d, filters: 4, kernel: 4, stride: 3}", ae_shape4(1, 2, 12, 12),
                "conv_transpose2d", 2, 0, 2);
    mirror_case("{type: conv_transpose2d, filters: 1, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
                ae_shape4(1, 32, 14, 14), "conv2d", 32, 1, -1);
    /* impossible: 28x27 needs output_padding 1 for the height, 0 for the width */
    lfx L;
    ck_assert_int_eq(lfx_init(&L, "{type: conv2d, filters: 32, kernel: 3, stride: 2, padding: 1}"), AE_OK);
    ae_cfg *out = ae_cfg_new_map();
    ck_assert_int_eq(L.ops->mirror(L.state, ae_shape4(1, 1, 28, 27), out, &L.err), AE_EINPUT);
    ck_assert_msg(strstr(L.err.msg, "output_padding 1 for the height and 0 for the width"), "%s", L.err.msg);
    ae_cfg_free(out);
    lfx_free(&L);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_layers");
    TCase *t = tcase_create("conv_layers");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, layer_reads_keys);
    tcase_add_test(t, layer_rejects_bad_config);
    tcase_add_test(t, mirror_w3_decoder);
    suite_add_tcase(s, t);
    ae_set_threads(1);
    int rc = ae_test_run(s);
    ae_dnnl_shutdown();
    return rc;
}
