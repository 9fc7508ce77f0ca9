/* Conv nodes in batch blocks (issue 17, P3): a W3-like conv stack (conv 1->32->64, transposed conv
 * 64->32->1, biases, ReLU and sigmoid) gives the same bytes (loss, output, every parameter gradient)
 * on 1, 2 and 3 threads, agrees with the unblocked stages within float reassociation, chains
 * neighbouring convs into one region, and passes the gradient check with uneven blocks; a LeNet-like
 * stack with batch norm, max-pooling and upsampling gives the same bytes on 1 and 2 threads. */
#include "ae_norm.h"
#include "conv_fixture.h"

typedef struct net {
    fx f;
    ae_node *x, *y, *loss, *n[4];
} net;

/* The stack on `batch` images of side `side`, `hidden` the activation of its first three layers;
 * parameters and data from the fixture's seed. */
static void build(net *t, int64_t batch, int64_t side, int threads, ae_act hidden)
{
    ae_set_threads(threads);
    fx *f = &t->f;
    fx_init(f);
    t->y = w3_conv_stack(f, batch, side, hidden, AE_ACT_SIGMOID, &t->x, t->n);
    compile(f, t->loss = ae_mse(f->g, "loss", t->y, target(f, t->y->shape), AE_MEAN, &f->err));
    for (size_t i = 0; i < t->x->numel; i++) t->x->val[i] = (float)ae_rng_uniform(f->rng);
}

static void step(net *t)
{
    ae_graph_forward(t->f.g);
    ae_graph_backward(t->f.g);
}

static void drop(net *t)
{
    fx_free(&t->f);
    ae_set_threads(1);
}

/* 70 images: 3 blocks (24, 24, 22); 5 images: 2 (3, 2). Each conv reads only the one before: the
 * whole forward runs in e[0]'s region (the others chained), the whole backward in d[1]'s. */
START_TEST(same_bytes_on_1_2_3_threads)
{
    const int64_t batch[2] = {70, 5}, blocks[2] = {3, 2};
    for (int c = 0; c < 2; c++) {
        net r;
        build(&r, batch[c], 28, 1, AE_ACT_RELU);
        step(&r);
        const size_t ny = r.y->numel, np = r.f.ps->total;
        float loss = r.loss->val[0], *y = malloc(ny * sizeof *y), *g = malloc(np * sizeof *g);
        memcpy(y, r.y->val, ny * sizeof *y);
        memcpy(g, r.f.ps->grad, np * sizeof *g);
        drop(&r);
        for (int threads = 2; threads <= 3; threads++) {
            net t;
            build(&t, batch[c], 28, threads, AE_ACT_RELU);
            for (int i = 0; i < 4; i++) {
                int fc, bc;
                ck_assert_int_eq(ae_conv_node_batch_blocks(t.n[i], &fc, &bc), blocks[c]);
                ck_assert_msg(fc == (i > 0) && bc == (i < 3), "batch %lld node %d: %d %d", (long long)batch[c], i, fc, bc);
            }
            step(&t);
            ck_assert_msg(memcmp(&loss, t.loss->val, sizeof loss) == 0, "batch %lld, %d threads: loss differs",
                          (long long)batch[c], threads);
            ck_assert_msg(memcmp(y, t.y->val, ny * sizeof *y) == 0, "batch %lld, %d threads: Y differs",
                          (long long)batch[c], threads);
            for (size_t i = 0; i < np; i++)
                ck_assert_msg(memcmp(&g[i], &t.f.ps->grad[i], sizeof *g) == 0,
                              "batch %lld, %d threads: gradient %zu: %.9g vs %.9g", (long long)batch[c], threads,
                              i, g[i], t.f.ps->grad[i]);
            drop(&t);
        }
        free(y);
        free(g);
    }
}
END_TEST

/* Blocked and whole stages compute the same sums in other orders: output within the reductions
 * along the path (1·3·3, 32·3·3, 64·3·3, 32·3·3 multiply-adds), weight gradients within that path
 * twice plus the sums over the 70·28·28 output pixels. */
START_TEST(blocked_matches_whole)
{
    net b, w;
    build(&b, 70, 28, 2, AE_ACT_RELU);
    step(&b);
    ae_conv_set_batch_blocks(0);
    build(&w, 70, 28, 2, AE_ACT_RELU);
    ae_conv_set_batch_blocks(1);
    ck_assert_int_eq(ae_conv_node_batch_blocks(w.n[1], NULL, NULL), 0);
    step(&w);
    const double tol = ae_test_tol_reduce(9 + 288 + 576 + 288, ae_test_absmax(w.y->val, w.y->numel));
    for (size_t i = 0; i < w.y->numel; i++) ck_assert_float_eq_tol(b.y->val[i], w.y->val[i], tol);
    const size_t np = w.f.ps->total;
    const double gtol = ae_test_tol_reduce(2 * 1161 + 70 * 784, ae_test_absmax(w.f.ps->grad, np));
    for (size_t i = 0; i < np; i++) ck_assert_float_eq_tol(b.f.ps->grad[i], w.f.ps->grad[i], gtol);
    drop(&w);
    drop(&b);
}
END_TEST

/* Finite differences through the chained, blocked stack: 3 images in blocks of 2 and 1 (tanh: no
 * ReLU kink within a step of the 8x8 images' few pixels). */
START_TEST(gradients_with_uneven_blocks)
{
    net t;
    build(&t, 3, 8, 2, AE_ACT_TANH);
    ck_assert_int_eq(ae_conv_node_batch_blocks(t.n[0], NULL, NULL), 2);
    grad_ok(&t.f, t.loss, "blocked W3-like stack", AE_CONV_LAYOUT_AUTO);
    drop(&t);
}
END_TEST

static int decl_kind(fx *f, const char *name, int64_t c, ae_param_kind kind)
{
    int i = ae_params_declare(f->ps, name, ae_shape_make(1, &c), 1, 1, kind, 0, &f->err);
    ck_assert_int_ge(i, 0);
    return i;
}

/* conv(1->8, 5x5) -> BN -> leaky ReLU -> max-pool -> upsample -> conv(8->1), batch 100 (BN on
 * 627,200 values: above the size that used to run on the graph's threads), after one step on
 * `threads`: the output, the loss and every parameter (gradients and BN's running statistics) into
 * out[] (caller frees). */
static float *lenet_step(int threads, size_t *n)
{
    ae_set_threads(threads);
    fx f;
    fx_init(&f);
    int w0 = decl(&f, "w0", ae_shape4(8, 1, 5, 5)), w1 = decl(&f, "w1", ae_shape4(1, 8, 5, 5));
    int bn[4] = {decl_kind(&f, "g", 8, AE_PARAM_SCALE), decl_kind(&f, "b", 8, AE_PARAM_SHIFT),
                 decl_kind(&f, "m", 8, AE_PARAM_STATE), decl_kind(&f, "v", 8, AE_PARAM_STATE_ONE)};
    fx_alloc(&f, 100, 1);
    ae_node *x = ae_graph_input(f.g, "x", ae_shape4(100, 1, 28, 28), &f.err);
    ae_node *h = ae_conv2d(f.g, "c0", x, P(&f, w0), NULL, 1, 2, AE_ACT_IDENTITY, &f.err);
    h = ae_batch_norm(f.g, "bn", h, P(&f, bn[0]), P(&f, bn[1]), P(&f, bn[2]), P(&f, bn[3]), 0.1f, 1e-4f, &f.err);
    h = ae_max_pool2d(f.g, "pool", ae_activation(f.g, "act", h, AE_ACT_LEAKY_RELU, &f.err), 2, 2, 0, &f.err);
    h = ae_upsample_nearest(f.g, "up", h, 2, &f.err);
    ae_node *y = ae_conv2d(f.g, "c1", h, P(&f, w1), NULL, 1, 2, AE_ACT_SIGMOID, &f.err);
    ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
    compile(&f, loss);
    for (size_t i = 0; i < x->numel; i++) x->val[i] = (float)ae_rng_uniform(f.rng);
    ae_graph_forward(f.g);
    ae_graph_backward(f.g);
    *n = y->numel + 1 + 2 * f.ps->total;
    float *o = malloc(*n * sizeof *o);
    memcpy(o, y->val, y->numel * sizeof *o);
    o[y->numel] = loss->val[0];
    memcpy(o + y->numel + 1, f.ps->grad, f.ps->total * sizeof *o);
    memcpy(o + y->numel + 1 + f.ps->total, f.ps->val, f.ps->total * sizeof *o);
    fx_free(&f);
    ae_set_threads(1);
    return o;
}

START_TEST(batch_norm_pool_upsample_same_bytes)
{
    size_t n1, n2;
    float *a = lenet_step(1, &n1), *b = lenet_step(2, &n2);
    ck_assert_uint_eq(n1, n2);
    for (size_t i = 0; i < n1; i++)
        ck_assert_msg(memcmp(&a[i], &b[i], sizeof *a) == 0, "value %zu of %zu: %.9g vs %.9g", i, n1, a[i], b[i]);
    free(a);
    free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_threads");
    TCase *t = tcase_create("conv_threads");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, same_bytes_on_1_2_3_threads);
    tcase_add_test(t, blocked_matches_whole);
    tcase_add_test(t, gradients_with_uneven_blocks);
    tcase_add_test(t, batch_norm_pool_upsample_same_bytes);
    suite_add_tcase(s, t);
    int rc = ae_test_run(s);
    ae_dnnl_shutdown();
    return rc;
}
