/* Conv2d / conv_transpose2d ops: forward values against direct loops and gradient checks in
 * plain, blocked and automatic layouts, fan-out accumulation, conv chains. Outputs kept blocked,
 * the conv/dense boundary and shape errors are in test_conv_blocked.c; the layer types (config
 * keys, mirror) in test_conv_layers.c. */
#include "conv_fixture.h"

/* Forward against the reference (a training graph with x as a parameter), then the gradient check. */
static void run_case(const cfg *c, ae_conv_layout layout, size_t gather_limit)
{
    fx f;
    fx_init(&f);
    ae_conv_set_layout(layout);
    ae_conv_set_gather_limit(gather_limit);
    int ho = out_size(c, c->h), wo = out_size(c, c->w);
    int xi = decl(&f, "x", ae_shape4(c->n, c->cin, c->h, c->w)), wi = decl(&f, "w", wshape(c));
    int bi = c->bias ? bias(&f, "b", c->cout) : -1;
    fx_alloc(&f, c->n, 1);
    if (c->act == AE_ACT_RELU) clear_relu_kinks(&f, c, xi, wi, bi, 1e-2);
    ae_node *x = P(&f, xi);
    ae_node *y = conv_node(&f, c, c->tr ? "convT" : "conv", x, wi, bi);
    ck_assert_msg(y && ae_shape_eq(y->shape, ae_shape4(c->n, c->cout, ho, wo)), "%s", f.err.msg);
    ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
    compile(&f, loss);
    int lf, ld, lw;
    ae_conv_node_layouts(y, &lf, &ld, &lw);
    ck_assert_int_ge(ld, 0); /* x is a parameter: backward-data exists */
    if (layout != AE_CONV_LAYOUT_AUTO) ck_assert_int_eq(lf, layout == AE_CONV_LAYOUT_BLOCKED);
    ae_graph_forward(f.g);
    double *ref = reference(c, x->val, f.ps->val + f.ps->p[wi].off, c->bias ? f.ps->val + f.ps->p[bi].off : NULL);
    /* float32 sums of cin·k·k products against a double reference */
    const double tol = ae_test_tol_reduce((size_t)c->cin * c->k * c->k + 1, fmax(1.0, ae_test_absmax_d(ref, y->numel)));
    for (size_t i = 0; i < y->numel; i++)
        ck_assert_msg(fabs(y->val[i] - ref[i]) <= tol, "%s layout %d: y[%zu] = %.7g, "
                      "reference %.7g", c->tr ? "convT" : "conv", (int)layout, i, y->val[i], ref[i]);
    free(ref);
    char what[96];
    snprintf(what, sizeof what, "%s cin=%d s=%d p=%d op=%d bias=%d %s", c->tr ? "convT" : "conv", c->cin, c->s,
             c->p, c->op, c->bias, ae_act_name(c->act));
    grad_ok(&f, loss, what, (int)layout);
    fx_free(&f);
}

static const cfg conv_cases[] = {
    /* tr n cin cout h w k s p op bias act */
    {0, 2, 1, 4, 6, 6, 3, 1, 0, 0, 1, AE_ACT_IDENTITY},
    {0, 2, 3, 4, 7, 7, 3, 2, 1, 0, 0, AE_ACT_RELU},
    {0, 2, 3, 5, 6, 5, 3, 2, 1, 0, 1, AE_ACT_SIGMOID},
    {0, 3, 1, 8, 5, 5, 3, 1, 1, 0, 1, AE_ACT_TANH},
    {0, 2, 8, 16, 6, 6, 2, 2, 0, 0, 1, AE_ACT_TANH},
    {0, 2, 16, 8, 5, 5, 3, 2, 1, 0, 0, AE_ACT_SIGMOID},
};

static const cfg convt_cases[] = {
    {1, 2, 1, 3, 4, 4, 3, 1, 0, 0, 1, AE_ACT_IDENTITY},
    {1, 2, 3, 2, 4, 4, 3, 2, 1, 1, 1, AE_ACT_RELU},
    {1, 2, 3, 1, 3, 4, 3, 2, 0, 1, 0, AE_ACT_SIGMOID},
    {1, 3, 4, 3, 4, 4, 4, 2, 1, 0, 1, AE_ACT_TANH},
    {1, 2, 16, 8, 3, 3, 3, 2, 1, 1, 1, AE_ACT_TANH},
    {1, 2, 8, 16, 4, 4, 3, 2, 1, 1, 0, AE_ACT_IDENTITY},
};

/* each case in the automatic (per-primitive nhwc/nchw/blocked), plain and blocked layouts, with the
 * weights' layout copies as table gathers (the default) and as oneDNN reorders */
#define RUN_CASES(a)                                                                                \
    for (size_t i = 0; i < sizeof a / sizeof a[0] * 6; i++)                                          \
    run_case(&a[i / 6], (ae_conv_layout)(i / 2 % 3), i % 2 ? 0 : AE_CONV_GATHER_DEFAULT)

START_TEST(conv2d_forward_and_grads) { RUN_CASES(conv_cases); }
END_TEST

START_TEST(conv_transpose2d_forward_and_grads) { RUN_CASES(convt_cases); }
END_TEST

/* x feeds a conv and a transposed conv, and one weight/bias pair serves two convs: the second
 * contribution to each gradient must accumulate (backward-data and backward-weights, both layouts). */
START_TEST(fanout_accumulates)
{
    for (int l = 1; l < 3; l++) {
        fx f;
        fx_init(&f);
        ae_conv_set_layout((ae_conv_layout)l);
        int xi = decl(&f, "x", ae_shape4(2, 8, 4, 4)), x2 = decl(&f, "x2", ae_shape4(2, 8, 4, 4));
        int wi = decl(&f, "w", ae_shape4(8, 8, 3, 3)), bi = bias(&f, "b", 8);
        int vi = decl(&f, "v", ae_shape4(8, 8, 3, 3)), ci = bias(&f, "c", 8);
        fx_alloc(&f, 2, 1);
        ae_node *x = P(&f, xi);
        ae_node *a = ae_conv2d(f.g, "a", x, P(&f, wi), P(&f, bi), 1, 1, AE_ACT_TANH, &f.err);
        ae_node *b = ae_conv2d(f.g, "b", P(&f, x2), P(&f, wi), P(&f, bi), 1, 1, AE_ACT_SIGMOID, &f.err);
        ae_node *c = ae_conv_transpose2d(f.g, "c", x, P(&f, vi), P(&f, ci), 2, 1, 0, AE_ACT_IDENTITY, &f.err);
        ae_node *t1 = target(&f, ae_shape4(2, 8, 4, 4));
        ae_node *terms[3] = {ae_mse(f.g, "la", a, t1, AE_MEAN, &f.err), ae_mse(f.g, "lb", b, t1, AE_MEAN, &f.err),
                             ae_mse(f.g, "lc", c, target(&f, ae_shape4(2, 8, 7, 7)), AE_MEAN, &f.err)};
        float w[3] = {0.7f, 1.3f, 0.9f};
        ae_node *loss = ae_weighted_sum(f.g, "sum", terms, w, 3, &f.err);
        compile(&f, loss);
        ck_assert(a->accum[0] && a->accum[1] && a->accum[2] && !c->accum[0]); /* a runs last backward */
        grad_ok(&f, loss, "fan-out", l);
        fx_free(&f);
    }
}
END_TEST

/* conv -> transposed conv and back: in the blocked layout the second reads the first's private
 * output copy (activated by a fused post-op or by the separate eltwise primitive). */
START_TEST(chain_values_and_grads)
{
    static const cfg pairs[2][2] = {
        {{0, 2, 8, 16, 6, 6, 3, 2, 1, 0, 1, AE_ACT_TANH}, {1, 2, 16, 8, 3, 3, 3, 2, 1, 1, 1, AE_ACT_SIGMOID}},
        {{1, 2, 8, 16, 3, 3, 3, 2, 1, 1, 1, AE_ACT_TANH}, {0, 2, 16, 8, 6, 6, 3, 2, 1, 0, 1, AE_ACT_SIGMOID}}};
    for (int q = 0; q < 2; q++)
        for (int l = 0; l < 3; l++) {
            const cfg *c1 = &pairs[q][0], *c2 = &pairs[q][1];
            fx f;
            fx_init(&f);
            ae_conv_set_layout((ae_conv_layout)l);
            int xi = decl(&f, "x", ae_shape4(2, 8, c1->h, c1->w)), w1 = decl(&f, "w1", wshape(c1));
            int w2 = decl(&f, "w2", wshape(c2)), b1 = bias(&f, "b1", 16), b2 = bias(&f, "b2", 8);
            fx_alloc(&f, 2, 1);
            ae_node *h = conv_node(&f, c1, "c1", P(&f, xi), w1, b1);
            ae_node *y = conv_node(&f, c2, "c2", h, w2, b2);
            ck_assert_msg(y && h->numel == (size_t)2 * 16 * c2->h * c2->w, "%s", f.err.msg);
            ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
            compile(&f, loss);
            ae_graph_forward(f.g);
            const float *v = f.ps->val;
            double *r1 = reference(c1, v + f.ps->p[xi].off, v + f.ps->p[w1].off, v + f.ps->p[b1].off);
            float *h1 = malloc(h->numel * sizeof *h1);
            for (size_t i = 0; i < h->numel; i++) h1[i] = (float)r1[i];
            double *r2 = reference(c2, h1, v + f.ps->p[w2].off, v + f.ps->p[b2].off);
            /* two float32 layers of cin·k·k products each against a double reference */
            const double tol = ae_test_tol_reduce((size_t)c1->cin * c1->k * c1->k + (size_t)c2->cin * c2->k * c2->k + 2,
                                                  fmax(1.0, ae_test_absmax_d(r2, y->numel)));
            for (size_t i = 0; i < y->numel; i++)
                ck_assert_msg(fabs(y->val[i] - r2[i]) <= tol, "chain %d layout %d: y[%zu] = %.7g, reference %.7g",
                              q, l, i, y->val[i], r2[i]);
            free(r1);
            free(h1);
            free(r2);
            grad_ok(&f, loss, q ? "chain convT-conv" : "chain conv-convT", l);
            fx_free(&f);
        }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv");
    TCase *t = tcase_create("conv");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, conv2d_forward_and_grads);
    tcase_add_test(t, conv_transpose2d_forward_and_grads);
    tcase_add_test(t, fanout_accumulates);
    tcase_add_test(t, chain_values_and_grads);
    suite_add_tcase(s, t);
    ae_set_threads(1); /* tiny tensors: 1 thread is fastest, and steady on a busy machine */
    int rc = ae_test_run(s);
    ae_dnnl_shutdown();
    return rc;
}
