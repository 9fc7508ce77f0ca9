/* Batch norm op: gradient checks on [N, C] and [N, C, H, W], affine or not; training forward values
 * and the running-statistics update against double references (biased variance normalises, the
 * unbiased one goes into the running estimate); evaluation graphs normalise with the running
 * statistics; a training batch of one value per channel is refused. And the parameter store's
 * STATE kinds: initial values without random draws, skipped by every optimizer and weight decay. */
#include "ae_norm.h"
#include "ae_optim.h"
#include "conv_fixture.h"

typedef struct bn_fx {
    fx f;
    int xi, gi, bi, mi, vi;
    ae_node *x, *y, *loss;
} bn_fx;

static int decl_kind(fx *f, const char *name, int64_t c, ae_param_kind kind)
{
    int i = ae_params_declare(f->ps, name, ae_shape_make(1, &c), 1, 1, kind, 0, &f->err);
    ck_assert_int_ge(i, 0);
    return i;
}

/* x [n, c(, h, w)] (h = 0: dense), random; gamma around 1; running stats set to (0.3, 2.0). */
static void bn_build(bn_fx *b, int n, int c, int h, int w, int affine, int training)
{
    memset(b, 0, sizeof *b);
    fx *f = &b->f;
    fx_init(f);
    b->xi = decl(f, "x", h ? ae_shape4(n, c, h, w) : ae_shape2(n, c));
    b->gi = affine ? decl_kind(f, "bn.weight", c, AE_PARAM_SCALE) : -1;
    b->bi = affine ? decl_kind(f, "bn.bias", c, AE_PARAM_SHIFT) : -1;
    b->mi = decl_kind(f, "bn.running_mean", c, AE_PARAM_STATE);
    b->vi = decl_kind(f, "bn.running_var", c, AE_PARAM_STATE_ONE);
    fx_alloc(f, n, training);
    for (int k = 0; k < c; k++) {
        if (affine) f->ps->val[f->ps->p[b->gi].off + k] += 1.5f;
        f->ps->val[f->ps->p[b->mi].off + k] = 0.3f;
        f->ps->val[f->ps->p[b->vi].off + k] = 2.0f;
    }
    b->x = P(f, b->xi);
    b->y = ae_batch_norm(f->g, "bn", b->x, P(f, b->gi), P(f, b->bi), P(f, b->mi), P(f, b->vi), 0.1f, 1e-5f, &f->err);
    ck_assert_msg(b->y != NULL, "%s", f->err.msg);
    b->loss = ae_mse(f->g, "loss", b->y, target(f, b->y->shape), AE_MEAN, &f->err);
    compile(f, b->loss);
}

static const float *pv(bn_fx *b, int i) { return b->f.ps->val + b->f.ps->p[i].off; }

/* mean and biased variance of channel k over n·hw values (double). */
static void stats(const float *x, int n, int c, int hw, int k, double *mean, double *var)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < hw; j++) s += x[(i * c + k) * hw + j];
    *mean = s / (n * hw);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < hw; j++) q += pow(x[(i * c + k) * hw + j] - *mean, 2);
    *var = q / (n * hw);
}

static void check_values(bn_fx *b, int n, int c, int hw, int affine, int training)
{
    ae_graph_forward(b->f.g);
    for (int k = 0; k < c; k++) {
        double mean, var;
        stats(b->x->val, n, c, hw, k, &mean, &var);
        double m = training ? mean : 0.3, v = training ? var : 2.0;
        double g = affine ? pv(b, b->gi)[k] : 1.0, be = affine ? pv(b, b->bi)[k] : 0.0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                size_t o = (size_t)(i * c + k) * hw + j;
                double want = g * (b->x->val[o] - m) / sqrt(v + 1e-5) + be;
                /* float sums over n·hw values for the statistics, then a few roundings */
                double tol = ae_test_tol_reduce((size_t)(n * hw) + 8, fabs(want) + fabs(g) + 1.0);
                ck_assert_msg(fabs(b->y->val[o] - want) <= tol, "bn train=%d y[%zu] = %.8g, want %.8g", training,
                              o, b->y->val[o], want);
            }
        /* after one training forward: 0.9·old + 0.1·batch, the variance unbiased */
        double rm = training ? 0.9 * 0.3 + 0.1 * mean : 0.3;
        double rv = training ? 0.9 * 2.0 + 0.1 * var * (n * hw) / (n * hw - 1.0) : 2.0;
        ck_assert_msg(fabs(pv(b, b->mi)[k] - rm) <= ae_test_tol_reduce((size_t)(n * hw) + 4, 1.0), "running mean %g, "
                      "want %g", pv(b, b->mi)[k], rm);
        ck_assert_msg(fabs(pv(b, b->vi)[k] - rv) <= ae_test_tol_reduce((size_t)(n * hw) + 4, 3.0), "running var %g, "
                      "want %g", pv(b, b->vi)[k], rv);
    }
}

START_TEST(batch_norm_values)
{
    static const int cases[][4] = {/* n c h w */ {6, 3, 0, 0}, {3, 4, 5, 3}, {2, 16, 4, 4}};
    for (size_t q = 0; q < 3; q++)
        for (int affine = 0; affine < 2; affine++)
            for (int training = 0; training < 2; training++) {
                const int *cs = cases[q], hw = cs[2] ? cs[2] * cs[3] : 1;
                bn_fx b;
                bn_build(&b, cs[0], cs[1], cs[2], cs[3], affine, training);
                check_values(&b, cs[0], cs[1], hw, affine, training);
                fx_free(&b.f);
            }
}
END_TEST

START_TEST(batch_norm_grads)
{
    static const int cases[][4] = {{6, 3, 0, 0}, {3, 4, 5, 3}, {2, 8, 3, 3}};
    for (size_t q = 0; q < 3; q++)
        for (int affine = 0; affine < 2; affine++) {
            bn_fx b;
            bn_build(&b, cases[q][0], cases[q][1], cases[q][2], cases[q][3], affine, 1);
            char what[64];
            snprintf(what, sizeof what, "batch_norm %dx%d hw %d affine %d", cases[q][0], cases[q][1], cases[q][2],
                     affine);
            grad_ok(&b.f, b.loss, what, 0);
            fx_free(&b.f);
        }
}
END_TEST

/* Two BNs in a row sharing every parameter (a layer's copy), the input also read by an MSE: dx,
 * dgamma and dbeta accumulate; the running statistics get one update per forward. */
START_TEST(batch_norm_fanout)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape4(2, 3, 4, 4));
    int gi = decl_kind(&f, "g", 3, AE_PARAM_SCALE), bi = decl_kind(&f, "b", 3, AE_PARAM_SHIFT);
    int mi = decl_kind(&f, "m", 3, AE_PARAM_STATE), vi = decl_kind(&f, "v", 3, AE_PARAM_STATE_ONE);
    fx_alloc(&f, 2, 1);
    ae_node *x = P(&f, xi);
    ae_node *y1 = ae_batch_norm(f.g, "bn1", x, P(&f, gi), P(&f, bi), P(&f, mi), P(&f, vi), 0.1f, 1e-5f, &f.err);
    ae_node *y2 = ae_batch_norm(f.g, "bn2", y1, P(&f, gi), P(&f, bi), P(&f, mi), P(&f, vi), 0.1f, 1e-5f, &f.err);
    ae_node *t[3] = {ae_mse(f.g, "l1", y2, target(&f, y2->shape), AE_MEAN, &f.err),
                     ae_mse(f.g, "l2", x, target(&f, x->shape), AE_MEAN, &f.err),
                     ae_mse(f.g, "l3", y1, target(&f, y1->shape), AE_MEAN, &f.err)};
    ae_node *loss = ae_weighted_sum(f.g, "loss", t, (const float[]){1.0f, 0.5f, 0.7f}, 3, &f.err);
    compile(&f, loss);
    /* the first of the two nodes on the same running statistics updates them, once per forward */
    float m0[3];
    memcpy(m0, f.ps->val + f.ps->p[mi].off, sizeof m0);
    ae_graph_forward(f.g);
    for (int k = 0; k < 3; k++) {
        double mean, var;
        stats(x->val, 2, 3, 16, k, &mean, &var);
        double want = 0.9 * m0[k] + 0.1 * mean;
        ck_assert_msg(fabs(f.ps->val[f.ps->p[mi].off + k] - want) <= ae_test_tol_reduce(36, 1.0),
                      "shared running mean %g, want %g", f.ps->val[f.ps->p[mi].off + k], want);
    }
    grad_ok(&f, loss, "batch_norm fan-out", 0);
    fx_free(&f);
}
END_TEST

START_TEST(batch_norm_one_value_per_channel_refused)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(1, 4));
    int mi = decl_kind(&f, "m", 4, AE_PARAM_STATE), vi = decl_kind(&f, "v", 4, AE_PARAM_STATE_ONE);
    fx_alloc(&f, 1, 1);
    ae_node *y = ae_batch_norm(f.g, "model.encoder[1] (batch_norm)", P(&f, xi), NULL, NULL, P(&f, mi), P(&f, vi),
                               0.1f, 1e-5f, &f.err);
    ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
    ck_assert(ae_graph_compile(f.g, loss, &f.err) == AE_EINPUT);
    ck_assert_msg(strstr(f.err.msg, "model.encoder[1] (batch_norm): batch norm needs more than one value per "
                         "channel in training (got a batch of 1 sample)"), "%s", f.err.msg);
    fx_free(&f);
}
END_TEST

/* conv(8->16) -> BN -> leaky -> max-pool -> conv(16->16) -> conv(16->16) -> upsample -> BN -> conv:
 * the plan keeps the convs next to the new ops plain (they read and write NCHW), while the
 * conv -> conv edge may stay blocked. Output and gradients agree with an all-plain graph. */
static ae_node *mixed_stack(ae_graph *g, const int *wi, const int *bn, ae_node *x, ae_node **c, ae_err *err)
{
    ae_node *h = c[0] = ae_conv2d(g, "c0", x, ae_graph_param(g, wi[0], err), NULL, 1, 1, AE_ACT_IDENTITY, err);
    h = ae_batch_norm(g, "bn0", h, ae_graph_param(g, bn[0], err), ae_graph_param(g, bn[1], err),
                      ae_graph_param(g, bn[2], err), ae_graph_param(g, bn[3], err), 0.1f, 1e-5f, err);
    h = ae_max_pool2d(g, "pool", ae_activation(g, "act", h, AE_ACT_LEAKY_RELU, err), 2, 2, 0, err);
    h = c[1] = ae_conv2d(g, "c1", h, ae_graph_param(g, wi[1], err), NULL, 1, 1, AE_ACT_RELU, err);
    h = c[2] = ae_conv2d(g, "c2", h, ae_graph_param(g, wi[2], err), NULL, 1, 1, AE_ACT_LEAKY_RELU, err);
    h = ae_upsample_nearest(g, "up", h, 2, err);
    h = ae_batch_norm(g, "bn1", h, NULL, NULL, ae_graph_param(g, bn[4], err), ae_graph_param(g, bn[5], err), 0.1f,
                      1e-5f, err);
    return c[3] = ae_conv2d(g, "c3", h, ae_graph_param(g, wi[3], err), NULL, 1, 1, AE_ACT_IDENTITY, err);
}

START_TEST(neighbours_in_blocked_layouts)
{
    fx f;
    fx_init(&f);
    int wi[4] = {decl(&f, "w0", ae_shape4(16, 8, 3, 3)), decl(&f, "w1", ae_shape4(16, 16, 3, 3)),
                 decl(&f, "w2", ae_shape4(16, 16, 3, 3)), decl(&f, "w3", ae_shape4(8, 16, 3, 3))};
    int bn[6] = {decl_kind(&f, "g", 16, AE_PARAM_SCALE), decl_kind(&f, "b", 16, AE_PARAM_SHIFT),
                 decl_kind(&f, "m0", 16, AE_PARAM_STATE), decl_kind(&f, "v0", 16, AE_PARAM_STATE_ONE),
                 decl_kind(&f, "m1", 16, AE_PARAM_STATE), decl_kind(&f, "v1", 16, AE_PARAM_STATE_ONE)};
    fx_alloc(&f, 2, 1);
    ae_node *x = ae_graph_input(f.g, "x", ae_shape4(2, 8, 8, 8), &f.err), *c[4], *d[4];
    ae_conv_set_layout(AE_CONV_LAYOUT_BLOCKED);
    ae_node *y = mixed_stack(f.g, wi, bn, x, c, &f.err);
    compile(&f, ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err));
    for (int i = 0; i < 4; i++) /* only c1 feeds a conv alone */
        ck_assert_msg(ae_conv_node_blocked(c[i]) == (i == 1), "conv %d blocked %d", i, ae_conv_node_blocked(c[i]));
    for (size_t i = 0; i < x->numel; i++) x->val[i] = (float)(2.0 * ae_rng_uniform(f.rng) - 1.0);
    float *keep = malloc(f.ps->total * sizeof *keep), *grad = malloc(f.ps->total * sizeof *grad);
    memcpy(keep, f.ps->val, f.ps->total * sizeof *keep); /* the forward moves the running statistics */
    ae_graph_forward(f.g);
    ae_graph_backward(f.g);
    memcpy(grad, f.ps->grad, f.ps->total * sizeof *grad);
    memcpy(f.ps->val, keep, f.ps->total * sizeof *keep);
    ae_conv_set_layout(AE_CONV_LAYOUT_PLAIN);
    ae_graph *g2 = ae_graph_new(f.ps, 2, 1);
    ae_node *x2 = ae_graph_input(g2, "x", x->shape, &f.err), *y2 = mixed_stack(g2, wi, bn, x2, d, &f.err);
    ae_node *t2 = ae_graph_input(g2, "t", y2->shape, &f.err);
    ck_assert_msg(ae_graph_compile(g2, ae_mse(g2, "loss", y2, t2, AE_MEAN, &f.err), &f.err) == AE_OK, "%s", f.err.msg);
    memcpy(x2->val, x->val, x->numel * sizeof(float));
    memcpy(t2->val, f.tg[0]->val, t2->numel * sizeof(float));
    ae_graph_forward(g2);
    ae_graph_backward(g2);
    /* reductions along the path (8·9, 2·64 statistics, 16·9 three times, 2·64 statistics) and back,
     * the weight gradients summed over 2·64 outputs on top; blocked and plain kernels sum in other
     * orders; batch norm divides by standard deviations of order 1 */
    const size_t path = 72 + 128 + 3 * 144 + 128;
    const double tol = ae_test_tol_reduce(path, ae_test_absmax(y->val, y->numel));
    for (size_t i = 0; i < y->numel; i++) ck_assert_float_eq_tol(y2->val[i], y->val[i], tol);
    const double gtol = ae_test_tol_reduce(2 * path + 128, ae_test_absmax(grad, f.ps->total));
    for (size_t i = 0; i < f.ps->total; i++) ck_assert_float_eq_tol(f.ps->grad[i], grad[i], gtol);
    free(keep);
    free(grad);
    ae_graph_free(g2);
    fx_free(&f);
}
END_TEST

/* SCALE starts at 1, STATE at 0, STATE_ONE at 1, SHIFT at 0 and none draws: the weights around them get the
 * same values as without them, under both schemes. */
START_TEST(state_params_init)
{
    for (int torch = 0; torch < 2; torch++) {
        float w[2][12];
        for (int with = 0; with < 2; with++) {
            ae_params *ps = ae_params_new();
            ae_rng *rng = ae_rng_new(5);
            ae_err err = {0};
            int a = ae_params_declare(ps, "a.weight", ae_shape2(3, 2), 2, 3, AE_PARAM_WEIGHT, 0, &err);
            int k[4] = {-1, -1, -1, -1};
            for (int i = 0; with && i < 4; i++) {
                static const ae_param_kind kinds[4] = {AE_PARAM_SCALE, AE_PARAM_STATE, AE_PARAM_STATE_ONE,
                                                       AE_PARAM_SHIFT};
                char nm[16];
                snprintf(nm, sizeof nm, "bn.%d", i);
                k[i] = ae_params_declare(ps, nm, ae_shape_make(1, (int64_t[]){5}), 5, 5, kinds[i], 0, &err);
            }
            int c = ae_params_declare(ps, "c.weight", ae_shape2(2, 3), 3, 2, AE_PARAM_WEIGHT, 0, &err);
            ck_assert_int_eq(ae_params_alloc(ps, &err), AE_OK);
            ck_assert_int_eq(ae_params_init(ps, &(ae_init_scheme){torch ? "torch" : "auto", 0.0, 1.0, 1.0}, 9, rng, &err), AE_OK);
            memcpy(w[with], ps->val + ps->p[a].off, 6 * sizeof(float));
            memcpy(w[with] + 6, ps->val + ps->p[c].off, 6 * sizeof(float));
            for (int i = 0; with && i < 4; i++)
                for (int q = 0; q < 5; q++) ck_assert(ps->val[ps->p[k[i]].off + q] == (i % 2 ? 0.0f : 1.0f));
            ck_assert_int_eq(ae_params_trainable(ps, (size_t)a), 1);
            if (with) ck_assert(ae_params_trainable(ps, (size_t)k[0]) && !ae_params_trainable(ps, (size_t)k[1]) &&
                                !ae_params_trainable(ps, (size_t)k[2]));
            ae_rng_free(rng);
            ae_params_free(ps);
        }
        ck_assert(memcmp(w[0], w[1], sizeof w[0]) == 0);
    }
}
END_TEST

/* Every optimizer with weight decay and clipping: the STATE entries keep their values (even with a
 * stray gradient), the others move. */
START_TEST(optimizer_skips_state)
{
    for (int kind = 0; kind < 3; kind++) {
        ae_params *ps = ae_params_new();
        ae_err err = {0};
        int a = ae_params_declare(ps, "a", ae_shape2(4, 5), 5, 4, AE_PARAM_WEIGHT, 0, &err);
        int m = ae_params_declare(ps, "m", ae_shape_make(1, (int64_t[]){20}), 1, 1, AE_PARAM_STATE, 0, &err);
        int g = ae_params_declare(ps, "g", ae_shape_make(1, (int64_t[]){7}), 1, 1, AE_PARAM_SCALE, 0, &err);
        int v = ae_params_declare(ps, "v", ae_shape_make(1, (int64_t[]){3}), 1, 1, AE_PARAM_STATE_ONE, 0, &err);
        ck_assert_int_eq(ae_params_alloc(ps, &err), AE_OK);
        size_t off[4], len[4];
        ck_assert_uint_eq(ae_params_trainable_ranges(ps, off, len, 4), 2);
        ck_assert(off[0] == 0 && len[0] == ps->p[m].off);
        ck_assert(off[1] == ps->p[g].off && len[1] == ps->p[v].off - ps->p[g].off);
        for (size_t i = 0; i < ps->total; i++) {
            ps->val[i] = 0.5f + 0.01f * (float)i;
            ps->grad[i] = 0.1f;
        }
        float *before = malloc(ps->total * sizeof *before);
        memcpy(before, ps->val, ps->total * sizeof *before);
        ae_optim_cfg c;
        ae_optim_defaults(&c, (ae_opt_kind)kind);
        c.weight_decay = 0.1;
        c.momentum = kind == AE_OPT_SGD ? 0.9 : 0.0;
        c.clip_norm = 10.0;
        ae_optim o;
        ck_assert_int_eq(ae_optim_init(&o, &c, ps, &err), AE_OK);
        for (int step = 0; step < 3; step++) ae_optim_step(&o);
        for (int p = 0; p < 4; p++) {
            const ae_param_info *pi = &ps->p[p];
            for (size_t i = pi->off; i < pi->off + pi->n; i++)
                if (ae_params_trainable(ps, (size_t)p))
                    ck_assert_msg(ps->val[i] != before[i], "%s did not move", pi->name);
                else ck_assert_msg(ps->val[i] == before[i], "optimizer %d changed %s", kind, pi->name);
        }
        (void)a;
        free(before);
        ae_optim_free(&o);
        ae_params_free(ps);
    }
}
END_TEST

/* More trainable stretches than the optimizer keeps on its stack (150 state parameters between
 * weights): every weight moves, no statistic does. */
START_TEST(optimizer_many_ranges)
{
    ae_params *ps = ae_params_new();
    ae_err err = {0};
    for (int i = 0; i < 150; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "w%d", i);
        ae_params_declare(ps, nm, ae_shape2(1, 3), 3, 1, AE_PARAM_WEIGHT, 0, &err);
        snprintf(nm, sizeof nm, "s%d", i);
        ae_params_declare(ps, nm, ae_shape2(1, 3), 3, 1, AE_PARAM_STATE, 0, &err);
    }
    ck_assert_int_eq(ae_params_alloc(ps, &err), AE_OK);
    ck_assert_uint_eq(ae_params_trainable_ranges(ps, NULL, NULL, 0), 150);
    for (size_t i = 0; i < ps->total; i++) {
        ps->val[i] = 1.0f;
        ps->grad[i] = 0.5f;
    }
    ae_optim_cfg c;
    ae_optim_defaults(&c, AE_OPT_ADAM);
    c.weight_decay = 0.1;
    ae_optim o;
    ck_assert_int_eq(ae_optim_init(&o, &c, ps, &err), AE_OK);
    ck_assert(isfinite(ae_optim_step(&o)));
    for (size_t p = 0; p < ps->n; p++)
        for (size_t i = 0; i < 3; i++)
            ck_assert_msg((ps->val[ps->p[p].off + i] == 1.0f) == !ae_params_trainable(ps, p), "%s", ps->p[p].name);
    ae_optim_free(&o);
    ae_params_free(ps);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_norm");
    TCase *t = tcase_create("ops_norm");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, batch_norm_values);
    tcase_add_test(t, batch_norm_grads);
    tcase_add_test(t, batch_norm_fanout);
    tcase_add_test(t, batch_norm_one_value_per_channel_refused);
    tcase_add_test(t, neighbours_in_blocked_layouts);
    tcase_add_test(t, state_params_init);
    tcase_add_test(t, optimizer_skips_state);
    tcase_add_test(t, optimizer_many_ranges);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
