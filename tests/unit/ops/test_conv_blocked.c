/* Conv outputs kept channel-blocked: fan-out and pinning, the dense layer reading and writing the
 * blocked layout at the conv/dense boundary, the automatic layouts of the W3 stack (training,
 * inference and N threads agree), and shape errors that name the node. */
#include <dnnl.h>

#include "conv_fixture.h"

/* A conv output read by two convs stays blocked (AUTO and BLOCKED; not PLAIN): the second
 * consumer's backward-data accumulates into its blocked gradient; a conv output also read by a
 * loss, or pinned (read by the caller), stays nchw. */
START_TEST(blocked_output_fanout_and_pinning)
{
    for (int l = 0; l < 3; l++)
        for (int pin = 0; pin < 2; pin++) {
            fx f;
            fx_init(&f);
            ae_conv_set_layout((ae_conv_layout)l);
            int xi = decl(&f, "x", ae_shape4(2, 8, 6, 6)), w1 = decl(&f, "w1", ae_shape4(16, 8, 3, 3));
            int w2 = decl(&f, "w2", ae_shape4(8, 16, 3, 3)), w3 = decl(&f, "w3", ae_shape4(16, 8, 3, 3));
            int b1 = bias(&f, "b1", 16), b2 = bias(&f, "b2", 8), b3 = bias(&f, "b3", 8);
            fx_alloc(&f, 2, 1);
            ae_node *h = ae_conv2d(f.g, "h", P(&f, xi), P(&f, w1), P(&f, b1), 1, 1, AE_ACT_SIGMOID, &f.err);
            ae_node *y1 = ae_conv2d(f.g, "y1", h, P(&f, w2), P(&f, b2), 2, 1, AE_ACT_TANH, &f.err);
            ae_node *y2 = ae_conv_transpose2d(f.g, "y2", h, P(&f, w3), P(&f, b3), 2, 1, 1, AE_ACT_IDENTITY, &f.err);
            ck_assert_msg(y1 && y2, "%s", f.err.msg);
            h->pinned = pin;
            ae_node *terms[2] = {ae_mse(f.g, "l1", y1, target(&f, y1->shape), AE_MEAN, &f.err),
                                 ae_mse(f.g, "l2", y2, target(&f, y2->shape), AE_MEAN, &f.err)};
            float w[2] = {0.6f, 1.4f};
            ae_node *loss = ae_weighted_sum(f.g, "sum", terms, w, 2, &f.err);
            compile(&f, loss);
            ck_assert_int_eq(ae_conv_node_blocked(h), l != AE_CONV_LAYOUT_PLAIN && !pin);
            ck_assert_int_eq(ae_conv_node_blocked(y1), 0); /* read by a loss */
            ck_assert(y1->accum[0] != y2->accum[0]); /* one overwrites h's gradient, the other adds */
            grad_ok(&f, loss, pin ? "fan-out of a pinned conv output" : "fan-out of a blocked conv output", l);
            fx_free(&f);
        }
}
END_TEST

/* The conv/dense boundary (W3's): conv -> dense -> dense -> reshape -> transposed conv, the first
 * conv's output also read by another conv and by a second dense layer sharing the first one's
 * weight. In AUTO and BLOCKED the conv output stays blocked and the dense layers read it so
 * (permuted weight columns); the second writes the blocked layout the transposed conv reads
 * (permuted rows), through the reshape. Values agree with PLAIN (no blocking); gradients pass the
 * check (the conv output's and the shared weight's gradients accumulate); pinned nodes stay
 * row-major. */
START_TEST(dense_reads_and_writes_blocked)
{
    float *ref = NULL;
    static const ae_conv_layout order[3] = {AE_CONV_LAYOUT_PLAIN, AE_CONV_LAYOUT_AUTO, AE_CONV_LAYOUT_BLOCKED};
    for (int q = 0; q < 3; q++)
        for (int pin = 0; pin < (q ? 2 : 1); pin++) {
            const ae_conv_layout l = order[q];
            fx f;
            fx_init(&f);
            ae_conv_set_layout(l);
            int xi = decl(&f, "x", ae_shape4(2, 8, 6, 6)), w1 = decl(&f, "w1", ae_shape4(16, 8, 3, 3));
            int d1 = decl(&f, "d1", ae_shape2(5, 144)), d2 = decl(&f, "d2", ae_shape2(144, 5));
            int w2 = decl(&f, "w2", ae_shape4(16, 8, 3, 3)), w3 = decl(&f, "w3", ae_shape4(8, 16, 3, 3));
            int b1 = bias(&f, "b1", 16), e1 = bias(&f, "e1", 5), e2 = bias(&f, "e2", 144), b2 = bias(&f, "b2", 8);
            fx_alloc(&f, 2, 1);
            ae_node *h = ae_conv2d(f.g, "h", P(&f, xi), P(&f, w1), P(&f, b1), 2, 1, AE_ACT_TANH, &f.err);
            ae_node *z = ae_dense(f.g, "z", h, P(&f, d1), P(&f, e1), AE_ACT_TANH, &f.err);
            ae_node *u = ae_dense(f.g, "u", z, P(&f, d2), P(&f, e2), AE_ACT_SIGMOID, &f.err);
            ae_node *r = ae_reshape(f.g, "r", u, ae_shape4(2, 16, 3, 3), &f.err);
            ae_node *y = ae_conv_transpose2d(f.g, "y", r, P(&f, w2), P(&f, b2), 2, 1, 1, AE_ACT_IDENTITY, &f.err);
            ae_node *v = ae_conv2d(f.g, "v", h, P(&f, w3), NULL, 1, 1, AE_ACT_IDENTITY, &f.err);
            ae_node *z2 = ae_dense(f.g, "z2", h, P(&f, d1), NULL, AE_ACT_IDENTITY, &f.err);
            ck_assert_msg(y && v && z2 && ae_shape_eq(y->shape, ae_shape4(2, 8, 6, 6)), "%s", f.err.msg);
            h->pinned = u->pinned = pin;
            ae_node *terms[3] = {ae_mse(f.g, "l1", y, target(&f, y->shape), AE_MEAN, &f.err),
                                 ae_mse(f.g, "l2", v, target(&f, v->shape), AE_MEAN, &f.err),
                                 ae_mse(f.g, "l3", z2, target(&f, z2->shape), AE_MEAN, &f.err)};
            float tw[3] = {1.0f, 0.5f, 0.8f};
            ae_node *loss = ae_weighted_sum(f.g, "sum", terms, tw, 3, &f.err);
            compile(&f, loss);
            int blocked = l != AE_CONV_LAYOUT_PLAIN && !pin;
            ck_assert_int_eq(ae_conv_node_blocked(h), blocked);
            ck_assert_int_eq(u->blk > 0, blocked);
            ck_assert_int_eq(r->blk, u->blk);
            ck_assert(z->accum[1] != z2->accum[1]); /* one writes d1's gradient, the other adds */
            ae_graph_forward(f.g);
            if (!ref) { /* PLAIN comes first: the reference */
                ref = malloc(y->numel * sizeof *ref);
                memcpy(ref, y->val, y->numel * sizeof *ref);
            }
            /* reductions along the longest path: conv 8·3·3, dense 144, dense 5, transposed conv 16·3·3 */
            const double tol = ae_test_tol_reduce(72 + 144 + 5 + 144, ae_test_absmax(ref, y->numel));
            for (size_t i = 0; i < y->numel; i++)
                ck_assert_msg(fabsf(y->val[i] - ref[i]) <= tol, "layout %d pin %d: y[%zu] = %.7g, plain %.7g",
                              (int)l, pin, i, y->val[i], ref[i]);
            grad_ok(&f, loss, pin ? "conv/dense boundary, pinned" : "conv/dense boundary", (int)l);
            fx_free(&f);
        }
    free(ref);
}
END_TEST

static int g_env_threads = 1; /* the thread count the environment asked for (OMP_NUM_THREADS) */

/* The W3 stack conv 1->32->64, deconv 64->32->1 (28x28, batch 2) on graph g; nodes in out[4]. */
static ae_node *w3_stack(ae_graph *g, const int *wi, ae_node *x, ae_node **out, ae_err *err)
{
    ae_node *h = x;
    for (int i = 0; i < 4; i++) {
        ae_node *w = ae_graph_param(g, wi[i], err);
        ae_act a = i == 3 ? AE_ACT_SIGMOID : AE_ACT_RELU;
        h = out[i] = i < 2 ? ae_conv2d(g, "e", h, w, NULL, 2, 1, a, err) : ae_conv_transpose2d(g, "d", h, w, NULL, 2, 1, 1, a, err);
    }
    return h;
}

/* An input placeholder needs no gradient: no backward-data; AUTO (ops_conv.c's choose_layouts) runs
 * the 1-channel sides' forwards blocked (conv) and nchw (transposed conv), their backward-weights
 * blocked where oneDNN dispatches to AVX-512 and nhwc elsewhere, and the outputs read only by convs
 * stay blocked (the last transposed conv then writes its input's gradient blocked). An inference graph, and a graph made and run with the
 * environment's threads (if > 1), agree. */
START_TEST(auto_layouts_and_inference)
{
    fx f;
    fx_init(&f);
    int wi[4] = {decl(&f, "w1", ae_shape4(32, 1, 3, 3)), decl(&f, "w2", ae_shape4(64, 32, 3, 3)),
                 decl(&f, "w3", ae_shape4(64, 32, 3, 3)), decl(&f, "w4", ae_shape4(32, 1, 3, 3))};
    fx_alloc(&f, 2, 1);
    ae_node *x = ae_graph_input(f.g, "x", ae_shape4(2, 1, 28, 28), &f.err), *n[4], *m[4];
    ae_node *y = w3_stack(f.g, wi, x, n, &f.err);
    ck_assert_msg(y && ae_shape_eq(y->shape, ae_shape4(2, 1, 28, 28)), "%s", f.err.msg);
    compile(&f, ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err));
    int a, b, c;
    enum { P = AE_CONV_STAGE_NCHW, B = AE_CONV_STAGE_BLOCKED, H = AE_CONV_STAGE_NHWC };
    const int W = (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? B : H;
    const int expect[4][3] = {{B, -1, W}, {B, B, B}, {B, B, B}, {P, B, W}};
    for (int i = 0; i < 4; i++) {
        ae_conv_node_layouts(n[i], &a, &b, &c);
        ck_assert_msg(a == expect[i][0] && b == expect[i][1] && c == expect[i][2], "node %d: %d %d %d", i, a, b, c);
        ck_assert_int_eq(ae_conv_node_blocked(n[i]), i < 3);
    }
    for (size_t i = 0; i < x->numel; i++) x->val[i] = (float)ae_rng_uniform(f.rng);
    ae_graph_forward(f.g);
    ae_graph_backward(f.g);
    float *grad = malloc(f.ps->total * sizeof *grad);
    memcpy(grad, f.ps->grad, f.ps->total * sizeof *grad);
    for (int k = 0; k < (g_env_threads > 1 ? 2 : 1); k++) {
        ae_set_threads(k ? g_env_threads : 1); /* oneDNN runs with the count its primitives were made with */
        ae_graph *gi = ae_graph_new(f.ps, 2, k);
        ae_node *xi = ae_graph_input(gi, "x", ae_shape4(2, 1, 28, 28), &f.err);
        ae_node *z = w3_stack(gi, wi, xi, m, &f.err), *t = k ? ae_graph_input(gi, "t", y->shape, &f.err) : NULL;
        ae_node *l = k ? ae_mse(gi, "loss", z, t, AE_MEAN, &f.err) : NULL;
        ck_assert_msg(z && ae_graph_compile(gi, l, &f.err) == AE_OK, "%s", f.err.msg);
        ae_conv_node_layouts(z, &a, &b, &c);
        ck_assert(k ? b == AE_CONV_STAGE_BLOCKED && c == AE_CONV_STAGE_NHWC : b == -1 && c == -1);
        memcpy(xi->val, x->val, x->numel * sizeof(float));
        if (t) memcpy(t->val, f.tg[0]->val, t->numel * sizeof(float));
        ae_graph_forward(gi);
        ae_graph_backward(gi);
        /* reductions along the path: 1·3·3, 32·3·3, 64·3·3, 32·3·3 (blocked and plain kernels sum
         * in different orders, and differently on AVX2 and AVX-512) */
        const double tol = ae_test_tol_reduce(9 + 288 + 576 + 288, ae_test_absmax(y->val, y->numel));
        for (size_t i = 0; i < z->numel; i++) ck_assert_float_eq_tol(z->val[i], y->val[i], tol);
        /* weight gradients: the forward path twice (value and back), then sums over 2·28·28 outputs */
        const double gtol = ae_test_tol_reduce(2 * 1161 + 1568, ae_test_absmax(grad, f.ps->total));
        for (size_t i = 0; k && i < f.ps->total; i++) /* summation order may differ */
            ck_assert_float_eq_tol(f.ps->grad[i], grad[i], gtol);
        ae_graph_free(gi);
    }
    ae_set_threads(1);
    free(grad);
    fx_free(&f);
}
END_TEST

static void expect_error(fx *f, ae_node *y, const char *a, const char *b, const char *c)
{
    ck_assert_ptr_null(y);
    ck_assert_int_eq(f->err.code, AE_EINPUT);
    ck_assert_msg(strstr(f->err.msg, a) && (!b || strstr(f->err.msg, b)) && (!c || strstr(f->err.msg, c)),
                  "%s", f->err.msg);
    ae_err_clear(&f->err);
}

START_TEST(shape_errors_name_the_node)
{
    struct { int tr; int64_t cin, h; int64_t wd[4]; int s, p, op; const char *a, *b; } c[] = {
        {0, 1, 28, {32, 1, 3, 3}, 2, 0, 0, "input 1x28x28 gives output", NULL},
        {0, 1, 2, {4, 1, 5, 5}, 1, 1, 0, "input 1x2x2 gives output 0x0 with kernel 5, stride 1, padding 1", NULL},
        {0, 16, 8, {64, 32, 3, 3}, 1, 0, 0, "expects 32 input channels, got 16", NULL},
        {1, 16, 8, {32, 8, 3, 3}, 1, 0, 0, "expects 32 input channels, got 16", NULL},
        {1, 4, 4, {4, 2, 3, 3}, 2, 1, 2, "0 <= output_padding < stride", "output_padding 2"},
        {0, 4, 4, {4, 4, 3, 3}, 0, 1, 0, "stride >= 1", "stride 0"},
        {1, 4, 1, {4, 2, 1, 1}, 1, 1, 0, "input 4x1x1 gives output 0x0 with kernel 1, stride 1, padding 1", NULL},
        {0, 0, 784, {4, 1, 3, 3}, 1, 0, 0, "expects a 4-D input [N, C, H, W], got 1x784", NULL}, /* flat */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        fx f;
        fx_init(&f);
        int wi = decl(&f, "w", ae_shape_make(4, c[i].wd));
        fx_alloc(&f, 1, 1);
        ae_shape xs = c[i].cin ? ae_shape4(1, c[i].cin, c[i].h, c[i].h) : ae_shape2(1, c[i].h);
        ae_node *x = ae_graph_input(f.g, "x", xs, &f.err);
        const char *name = c[i].tr ? "model.decoder[0] (conv_transpose2d)" : "model.encoder[1] (conv2d)";
        ae_node *y = c[i].tr ? ae_conv_transpose2d(f.g, name, x, P(&f, wi), NULL, c[i].s, c[i].p, c[i].op, AE_ACT_RELU, &f.err)
                             : ae_conv2d(f.g, name, x, P(&f, wi), NULL, c[i].s, c[i].p, AE_ACT_RELU, &f.err);
        if (i == 0) /* this one is valid: (28 - 3)/2 + 1 = 13 */
            ck_assert_msg(y && y->shape.d[2] == 13, "%s", f.err.msg);
        else
            expect_error(&f, y, name, c[i].a, c[i].b);
        fx_free(&f);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_blocked");
    TCase *t = tcase_create("conv_blocked");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, blocked_output_fanout_and_pinning);
    tcase_add_test(t, dense_reads_and_writes_blocked);
    tcase_add_test(t, auto_layouts_and_inference);
    tcase_add_test(t, shape_errors_name_the_node);
    suite_add_tcase(s, t);
    g_env_threads = ae_get_threads();
    ae_set_threads(1); /* tiny tensors: 1 thread is fastest, and steady on a busy machine */
    int rc = ae_test_run(s);
    ae_dnnl_shutdown();
    return rc;
}
