/* Leaky ReLU (the activation op and the fused dense / conv / transposed conv paths in every layout),
 * max-pooling and nearest upsampling: forward values against direct loops, gradient checks, the
 * arg-max gradient exactly, fan-out accumulation. */
#include "ae_norm.h"
#include "ae_ops.h"
#include "conv_fixture.h"

static double leaky(double z, double s) { return z > 0 ? z : s * z; }

START_TEST(leaky_activation_values_and_grads)
{
    const float slopes[] = {0.01f, 0.2f, 0.0f};
    for (int q = 0; q < 3; q++) {
        fx f;
        fx_init(&f);
        int xi = decl(&f, "x", ae_shape2(3, 7));
        fx_alloc(&f, 3, 1);
        for (size_t i = 0; i < 21; i++) { /* keep central differences off the kink */
            float *v = f.ps->val + f.ps->p[xi].off + i;
            if (fabsf(*v) < 0.05f) *v = 0.1f;
        }
        ae_node *x = P(&f, xi), *y = ae_activation(f.g, "act", x, AE_ACT_LEAKY_RELU, &f.err);
        ck_assert(y && ae_act_slope(y) == AE_LEAKY_SLOPE);
        ae_set_act_slope(y, slopes[q]);
        ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
        compile(&f, loss);
        ae_graph_forward(f.g);
        for (size_t i = 0; i < 21; i++) /* one multiply: exact in float */
            ck_assert_float_eq(y->val[i], x->val[i] > 0 ? x->val[i] : slopes[q] * x->val[i]);
        grad_ok(&f, loss, "leaky activation", 0);
        fx_free(&f);
    }
    float in[4] = {-2.0f, -0.5f, 0.0f, 3.0f}, out[4];
    ae_act_forward(AE_ACT_LEAKY_RELU, in, out, 4); /* PyTorch's default slope */
    ck_assert(out[0] == -0.02f && out[1] == 0.01f * -0.5f && out[2] == 0.0f && out[3] == 3.0f);
    ck_assert_str_eq(ae_act_name(AE_ACT_LEAKY_RELU), "leaky_relu");
}
END_TEST

START_TEST(leaky_dense_values_and_grads)
{
    for (int bias = 0; bias < 2; bias++) {
        fx f;
        fx_init(&f);
        int xi = decl(&f, "x", ae_shape2(5, 7)), wi = decl(&f, "w", ae_shape2(6, 7));
        int bi = bias ? decl(&f, "b", ae_shape_make(1, (int64_t[]){6})) : -1;
        fx_alloc(&f, 5, 1);
        ae_node *x = P(&f, xi), *y = ae_dense(f.g, "dense", x, P(&f, wi), P(&f, bi), AE_ACT_LEAKY_RELU, &f.err);
        ae_set_act_slope(y, 0.3f);
        ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
        compile(&f, loss);
        ae_graph_forward(f.g);
        const float *w = f.ps->val + f.ps->p[wi].off;
        int neg = 0;
        for (int r = 0; r < 5; r++)
            for (int j = 0; j < 6; j++) {
                double z = bias ? f.ps->val[f.ps->p[bi].off + j] : 0;
                for (int k = 0; k < 7; k++) z += (double)x->val[r * 7 + k] * w[j * 7 + k];
                neg += z < 0;
                ck_assert_msg(fabs(y->val[r * 6 + j] - leaky(z, 0.3)) <= ae_test_tol_reduce(8, 8.0),
                              "dense leaky y[%d,%d] = %g, reference %g", r, j, y->val[r * 6 + j], leaky(z, 0.3));
            }
        ck_assert_int_gt(neg, 0); /* the negative side was exercised */
        grad_ok(&f, loss, "leaky dense", 0);
        fx_free(&f);
    }
}
END_TEST

/* conv and transposed conv with a leaky output (slope 0.2) in the plain and blocked layouts, with
 * and without a bias (fused post-op, separate eltwise, bias loop on a blocked output). */
static void leaky_conv_case(const cfg *c0, ae_conv_layout layout)
{
    fx f;
    fx_init(&f);
    ae_conv_set_layout(layout);
    cfg c = *c0;
    int xi = decl(&f, "x", ae_shape4(c.n, c.cin, c.h, c.w)), wi = decl(&f, "w", wshape(&c));
    int bi = c.bias ? bias(&f, "b", c.cout) : -1;
    fx_alloc(&f, c.n, 1);
    clear_relu_kinks(&f, &c, xi, wi, bi, 1e-2);
    ae_node *x = P(&f, xi), *y = conv_node(&f, &c, "conv", x, wi, bi);
    ae_set_act_slope(y, 0.2f);
    ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
    compile(&f, loss);
    ae_graph_forward(f.g);
    cfg lin = c;
    lin.act = AE_ACT_IDENTITY;
    double *z = reference(&lin, x->val, f.ps->val + f.ps->p[wi].off, c.bias ? f.ps->val + f.ps->p[bi].off : NULL);
    const double tol = ae_test_tol_reduce((size_t)c.cin * c.k * c.k + 1, fmax(1.0, ae_test_absmax_d(z, y->numel)));
    for (size_t i = 0; i < y->numel; i++)
        ck_assert_msg(fabs(y->val[i] - leaky(z[i], 0.2)) <= tol, "%s layout %d bias %d: y[%zu] = %.7g, "
                      "reference %.7g", c.tr ? "convT" : "conv", (int)layout, c.bias, i, y->val[i], leaky(z[i], 0.2));
    free(z);
    grad_ok(&f, loss, c.tr ? "leaky convT" : "leaky conv", (int)layout);
    fx_free(&f);
}

START_TEST(leaky_conv_values_and_grads)
{
    static const cfg cases[] = {
        /* tr n cin cout h w k s p op bias act */
        {0, 2, 1, 4, 6, 6, 3, 1, 1, 0, 0, AE_ACT_LEAKY_RELU},
        {0, 2, 8, 16, 6, 6, 2, 2, 0, 0, 0, AE_ACT_LEAKY_RELU},
        {0, 2, 8, 16, 6, 6, 2, 2, 0, 0, 1, AE_ACT_LEAKY_RELU},
        {0, 2, 3, 5, 6, 5, 3, 2, 1, 0, 1, AE_ACT_LEAKY_RELU},
        {1, 2, 3, 2, 4, 4, 3, 2, 1, 1, 1, AE_ACT_LEAKY_RELU},
        {1, 2, 16, 8, 3, 3, 3, 2, 1, 1, 0, AE_ACT_LEAKY_RELU},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int l = 0; l < 3; l++) leaky_conv_case(&cases[i], (ae_conv_layout)l);
}
END_TEST

/* Distinct values at least 0.05 apart (the arg-max stays put under steps of 1e-2). */
static void spread(fx *f, int xi)
{
    const ae_param_info *p = &f->ps->p[xi];
    float *v = f->ps->val + p->off;
    for (size_t i = 0; i < p->n; i++) v[i] = 0.05f * (float)((i * 37) % p->n) - 0.025f * (float)p->n;
}

static double pool_ref(const float *x, int h, int w, int k, int s, int p, int i, int j, int *arg)
{
    double m = -INFINITY;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) {
            int r = i * s + a - p, c = j * s + b - p;
            if (r < 0 || r >= h || c < 0 || c >= w || x[r * w + c] <= m) continue;
            m = x[r * w + c];
            *arg = r * w + c;
        }
    return m;
}

START_TEST(max_pool_values_and_grads)
{
    static const int cases[][6] = {/* h w k s p */ {8, 8, 2, 2, 0}, {7, 5, 2, 2, 0}, {7, 7, 3, 2, 1}, {6, 6, 3, 1, 1}};
    for (size_t q = 0; q < sizeof cases / sizeof cases[0]; q++) {
        const int h = cases[q][0], w = cases[q][1], k = cases[q][2], s = cases[q][3], p = cases[q][4];
        fx f;
        fx_init(&f);
        int xi = decl(&f, "x", ae_shape4(2, 3, h, w));
        fx_alloc(&f, 2, 1);
        spread(&f, xi);
        ae_node *x = P(&f, xi), *y = ae_max_pool2d(f.g, "pool", x, k, s, p, &f.err);
        int ho = (int)ae_pool_out_size(h, k, s, p), wo = (int)ae_pool_out_size(w, k, s, p);
        ck_assert_msg(y && ae_shape_eq(y->shape, ae_shape4(2, 3, ho, wo)), "%s", f.err.msg);
        ck_assert_int_eq(ho, (h + 2 * p - k) / s + 1);
        ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
        compile(&f, loss);
        ae_graph_forward(f.g);
        ae_graph_backward(f.g);
        float *dx = calloc(x->numel, sizeof *dx);
        for (int pl = 0; pl < 6; pl++)
            for (int i = 0; i < ho; i++)
                for (int j = 0; j < wo; j++) {
                    int arg = -1;
                    double m = pool_ref(x->val + pl * h * w, h, w, k, s, p, i, j, &arg);
                    size_t o = (size_t)(pl * ho + i) * wo + j;
                    ck_assert_float_eq(y->val[o], (float)m);
                    dx[pl * h * w + arg] += y->grad[o]; /* every dY to its window's arg-max */
                }
        for (size_t i = 0; i < x->numel; i++)
            ck_assert_msg(fabsf(x->grad[i] - dx[i]) <= 4 * FLT_EPSILON * fabsf(dx[i]), "pool dx[%zu] = %g, want %g",
                          i, x->grad[i], dx[i]);
        free(dx);
        grad_ok(&f, loss, "max_pool2d", 0);
        fx_free(&f);
    }
}
END_TEST

/* Ties go to the window's first maximum in row-major order, as PyTorch's `val > max` scan does:
 * on a constant input every gradient lands on its window's top-left entry. */
START_TEST(max_pool_ties_first)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape4(2, 3, 6, 6));
    fx_alloc(&f, 2, 1);
    for (size_t i = 0; i < f.ps->p[xi].n; i++) f.ps->val[f.ps->p[xi].off + i] = 0.25f;
    ae_node *x = P(&f, xi), *y = ae_max_pool2d(f.g, "pool", x, 2, 2, 0, &f.err);
    ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
    compile(&f, loss);
    ae_graph_forward(f.g);
    ae_graph_backward(f.g);
    for (size_t i = 0; i < x->numel; i++) {
        size_t r = i / 6 % 6, c = i % 6, o = (i / 36 * 3 + r / 2) * 3 + c / 2;
        float want = r % 2 == 0 && c % 2 == 0 ? y->grad[o] : 0.0f;
        ck_assert_msg(x->grad[i] == want, "tie: dx[%zu] = %g, want %g", i, x->grad[i], want);
    }
    fx_free(&f);
}
END_TEST

START_TEST(upsample_values_and_grads)
{
    for (int sc = 1; sc <= 3; sc++) {
        fx f;
        fx_init(&f);
        int xi = decl(&f, "x", ae_shape4(2, 3, 3, 4));
        fx_alloc(&f, 2, 1);
        ae_node *x = P(&f, xi), *y = ae_upsample_nearest(f.g, "up", x, sc, &f.err);
        ck_assert(y && ae_shape_eq(y->shape, ae_shape4(2, 3, 3 * sc, 4 * sc)));
        ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
        compile(&f, loss);
        ae_graph_forward(f.g);
        ae_graph_backward(f.g);
        const int H = 3 * sc, W = 4 * sc;
        for (int pl = 0; pl < 6; pl++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++) {
                    double g = 0, ga = 0;
                    for (int a = 0; a < sc; a++)
                        for (int b = 0; b < sc; b++) {
                            size_t o = (size_t)(pl * H + i * sc + a) * W + j * sc + b;
                            ck_assert(y->val[o] == x->val[(pl * 3 + i) * 4 + j]);
                            g += y->grad[o];
                            ga += fabs(y->grad[o]);
                        }
                    float got = x->grad[(pl * 3 + i) * 4 + j];
                    ck_assert_msg(fabs(got - g) <= ae_test_tol_reduce((size_t)(sc * sc), ga),
                                  "upsample dx = %g, want %g", got, g);
                }
        grad_ok(&f, loss, "upsample", 0);
        fx_free(&f);
    }
}
END_TEST

/* x feeds a max-pool and an upsample (and a pool feeds an upsample): the gradients add up. */
START_TEST(pool_upsample_fanout)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape4(2, 2, 4, 4));
    fx_alloc(&f, 2, 1);
    spread(&f, xi);
    ae_node *x = P(&f, xi), *p = ae_max_pool2d(f.g, "pool", x, 2, 2, 0, &f.err);
    ae_node *u = ae_upsample_nearest(f.g, "up", x, 2, &f.err), *pu = ae_upsample_nearest(f.g, "up2", p, 2, &f.err);
    ae_node *t[3] = {ae_mse(f.g, "l1", p, target(&f, p->shape), AE_MEAN, &f.err),
                     ae_mse(f.g, "l2", u, target(&f, u->shape), AE_MEAN, &f.err),
                     ae_mse(f.g, "l3", pu, target(&f, pu->shape), AE_MEAN, &f.err)};
    ae_node *loss = ae_weighted_sum(f.g, "loss", t, (const float[]){1.0f, 0.5f, 2.0f}, 3, &f.err);
    compile(&f, loss);
    grad_ok(&f, loss, "pool/upsample fan-out", 0);
    fx_free(&f);
}
END_TEST

START_TEST(pool_upsample_shape_errors)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(2, 8));
    fx_alloc(&f, 2, 1);
    ck_assert(!ae_max_pool2d(f.g, "model.encoder[3] (max_pool2d)", P(&f, xi), 2, 2, 0, &f.err));
    ck_assert_msg(strstr(f.err.msg, "model.encoder[3] (max_pool2d): expects a 4-D input"), "%s", f.err.msg);
    fx_free(&f);
    fx_init(&f);
    xi = decl(&f, "x", ae_shape4(2, 1, 3, 3));
    fx_alloc(&f, 2, 1);
    ck_assert(!ae_max_pool2d(f.g, "pool", P(&f, xi), 4, 4, 0, &f.err));
    ck_assert_msg(strstr(f.err.msg, "smaller than the kernel"), "%s", f.err.msg);
    fx_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_pool");
    TCase *t = tcase_create("ops_pool");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, leaky_activation_values_and_grads);
    tcase_add_test(t, leaky_dense_values_and_grads);
    tcase_add_test(t, leaky_conv_values_and_grads);
    tcase_add_test(t, max_pool_values_and_grads);
    tcase_add_test(t, max_pool_ties_first);
    tcase_add_test(t, upsample_values_and_grads);
    tcase_add_test(t, pool_upsample_fanout);
    tcase_add_test(t, pool_upsample_shape_errors);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
