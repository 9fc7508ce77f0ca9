/* Gradient checks (central differences) for every core op, plus forward values against
 * hand-computed references and the graph's overwrite/accumulate logic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_fixture.h"

static void dense_case(ae_act act, int bias)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(5, 7)), wi = decl(&f, "w", ae_shape2(4, 7));
    int bi = bias ? decl(&f, "b", ae_shape_make(1, (int64_t[]){4})) : -1;
    int ti = decl(&f, "t", ae_shape2(5, 4));
    fx_alloc(&f, 5, -1, 1);
    ae_node *x = ae_graph_param(f.g, xi, &f.err), *w = ae_graph_param(f.g, wi, &f.err);
    ae_node *y = ae_dense(f.g, "dense", x, w, bias ? ae_graph_param(f.g, bi, &f.err) : NULL, act, &f.err);
    double e = check(&f, sq_loss(&f, y, ti), NULL);
    /* forward values by hand (both signs of z occur among the 20 entries) */
    for (int i = 0; i < 5; i++)
        for (int o = 0; o < 4; o++) {
            double z = bias ? f.ps->val[f.ps->p[bi].off + o] : 0;
            for (int k = 0; k < 7; k++) z += (double)x->val[i * 7 + k] * w->val[o * 7 + k];
            double ref = act == AE_ACT_RELU ? fmax(z, 0) : act == AE_ACT_SIGMOID ? 1 / (1 + exp(-z))
                         : act == AE_ACT_TANH ? tanh(z) : act == AE_ACT_LEAKY_RELU ? (z > 0 ? z : AE_LEAKY_SLOPE * z) : z;
            ck_assert_double_eq_tol(y->val[i * 4 + o], ref, 1e-5);
        }
    ck_assert_msg(e < 2e-2, "dense %s bias=%d gradient error %g", ae_act_name(act), bias, e);
    fx_free(&f);
}

START_TEST(dense_grads)
{
    for (int a = 0; a < AE_ACT_COUNT; a++) {
        dense_case((ae_act)a, 1);
        dense_case((ae_act)a, 0);
    }
}
END_TEST

START_TEST(activation_grads)
{
    for (int a = 0; a < AE_ACT_COUNT; a++) {
        fx f;
        fx_init(&f);
        int xi = decl(&f, "x", ae_shape2(3, 6)), ti = decl(&f, "t", ae_shape2(3, 6));
        fx_alloc(&f, 3, -2, 2);
        for (size_t i = 0; i < 18; i++) { /* keep finite differences off the ReLU kink */
            float *v = f.ps->val + f.ps->p[xi].off + i;
            if (fabsf(*v) < 0.05f) *v = 0.1f;
        }
        ae_node *y = ae_activation(f.g, "act", ae_graph_param(f.g, xi, &f.err), (ae_act)a, &f.err);
        double e = check(&f, sq_loss(&f, y, ti), NULL);
        ck_assert_msg(e < 2e-2, "activation %s gradient error %g", ae_act_name((ae_act)a), e);
        fx_free(&f);
    }
}
END_TEST

/* x feeds two consumers: the second backward contribution must accumulate, not overwrite. */
START_TEST(fanout_accumulates)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(4, 5)), w1 = decl(&f, "w1", ae_shape2(3, 5)),
        w2 = decl(&f, "w2", ae_shape2(3, 5)), ti = decl(&f, "t", ae_shape2(4, 3));
    fx_alloc(&f, 4, -1, 1);
    ae_node *x = ae_graph_param(f.g, xi, &f.err);
    ae_node *a = ae_dense(f.g, "a", x, ae_graph_param(f.g, w1, &f.err), NULL, AE_ACT_TANH, &f.err);
    ae_node *b = ae_dense(f.g, "b", x, ae_graph_param(f.g, w2, &f.err), NULL, AE_ACT_SIGMOID, &f.err);
    ae_node *la = sq_loss(&f, a, ti), *lb = sq_loss(&f, b, ti);
    ae_node *terms[2] = {la, lb};
    float w[2] = {0.7f, 1.3f};
    double e = check(&f, ae_weighted_sum(f.g, "sum", terms, w, 2, &f.err), NULL);
    ck_assert_msg(e < 2e-2, "fan-out gradient error %g", e);
    fx_free(&f);
}
END_TEST

START_TEST(reshape_grads)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(2, 12)), ti = decl(&f, "t", ae_shape4(2, 3, 2, 2));
    fx_alloc(&f, 2, -1, 1);
    ae_node *y = ae_reshape(f.g, "r", ae_graph_param(f.g, xi, &f.err), ae_shape4(2, 3, 2, 2), &f.err);
    ck_assert_int_eq(y->shape.nd, 4);
    double e = check(&f, sq_loss(&f, ae_activation(f.g, "s", y, AE_ACT_SIGMOID, &f.err), ti), NULL);
    ck_assert_msg(e < 2e-2, "reshape gradient error %g", e);
    ae_node *bad = ae_reshape(f.g, "bad", y, ae_shape4(2, 5, 1, 1), &f.err);
    (void)bad;
    fx_free(&f);
}
END_TEST

START_TEST(reshape_mismatch_is_error)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(2, 12));
    fx_alloc(&f, 2, -1, 1);
    ae_node *y = ae_reshape(f.g, "model.decoder[1] (reshape)", ae_graph_param(f.g, xi, &f.err),
                            ae_shape4(2, 5, 1, 1), &f.err);
    ck_assert_ptr_null(y);
    ck_assert_int_eq(f.err.code, AE_EINPUT);
    ck_assert_msg(strstr(f.err.msg, "model.decoder[1] (reshape)") && strstr(f.err.msg, "2x12"), "%s", f.err.msg);
    fx_free(&f);
}
END_TEST

typedef ae_node *(*loss_fn)(ae_graph *, const char *, ae_node *, ae_node *, ae_reduction, ae_err *);

static void loss_case(loss_fn fn, const char *what, float lo, float hi, ae_reduction r)
{
    fx f;
    fx_init(&f);
    int pi = decl(&f, "p", ae_shape2(3, 4)), ti = decl(&f, "t", ae_shape2(3, 4));
    fx_alloc(&f, 3, lo, hi);
    for (size_t i = 0; i < 12; i++) /* targets in [0,1] */
        f.ps->val[f.ps->p[ti].off + i] = (float)ae_rng_uniform(f.rng);
    ae_node *l = fn(f.g, what, ae_graph_param(f.g, pi, &f.err), ae_graph_param(f.g, ti, &f.err), r, &f.err);
    double e = check(&f, l, NULL);
    ck_assert_msg(e < 2e-2, "%s gradient error %g", what, e);
    /* value by hand */
    const float *p = f.ps->val + f.ps->p[pi].off, *t = f.ps->val + f.ps->p[ti].off;
    double s = 0;
    for (int i = 0; i < 12; i++) {
        if (fn == ae_mse) s += (p[i] - t[i]) * (double)(p[i] - t[i]);
        else if (fn == ae_bce) s -= t[i] * log(p[i]) + (1 - t[i]) * log(1 - p[i]);
        else s += log(1 + exp(-p[i])) + (1 - t[i]) * p[i];
    }
    s /= r == AE_MEAN ? 12.0 : 3.0;
    ck_assert_double_eq_tol(l->val[0], s, 1e-5 * fmax(1, fabs(s)));
    fx_free(&f);
}

START_TEST(loss_grads)
{
    for (int r = 0; r < 2; r++) {
        loss_case(ae_mse, "mse", -1, 1, (ae_reduction)r);
        loss_case(ae_bce, "bce", 0.1f, 0.9f, (ae_reduction)r);
        loss_case(ae_bce_logits, "bce_logits", -3, 3, (ae_reduction)r);
    }
}
END_TEST

START_TEST(bce_logits_stable)
{
    fx f;
    fx_init(&f);
    int pi = decl(&f, "p", ae_shape2(1, 2)), ti = decl(&f, "t", ae_shape2(1, 2));
    fx_alloc(&f, 1, 0, 0);
    float *p = f.ps->val + f.ps->p[pi].off, *t = f.ps->val + f.ps->p[ti].off;
    p[0] = 200.0f; p[1] = -200.0f; t[0] = 0.0f; t[1] = 1.0f;
    ae_node *l = ae_bce_logits(f.g, "l", ae_graph_param(f.g, pi, &f.err), ae_graph_param(f.g, ti, &f.err),
                               AE_SUM_PER_SAMPLE, &f.err);
    ck_assert_int_eq(ae_graph_compile(f.g, l, &f.err), AE_OK);
    ae_graph_forward(f.g);
    ck_assert(isfinite(l->val[0]));
    ck_assert_double_eq_tol(l->val[0], 400.0, 1e-3);
    ae_graph_backward(f.g);
    ck_assert_double_eq_tol(f.ps->grad[f.ps->p[pi].off], 1.0, 1e-6);
    fx_free(&f);
}
END_TEST

START_TEST(weighted_sum_many_terms)
{
    fx f;
    fx_init(&f);
    int idx[9];
    for (int i = 0; i < 9; i++) {
        char n[8];
        snprintf(n, sizeof n, "s%d", i);
        idx[i] = decl(&f, n, ae_shape_make(0, NULL));
    }
    fx_alloc(&f, 1, -1, 1);
    ae_node *terms[9];
    float w[9];
    double ref = 0;
    for (int i = 0; i < 9; i++) {
        ae_node *s = ae_graph_param(f.g, idx[i], &f.err);
        terms[i] = ae_activation(f.g, "sq", s, AE_ACT_TANH, &f.err);
        w[i] = 0.5f + (float)i;
        ref += w[i] * tanh(f.ps->val[f.ps->p[idx[i]].off]);
    }
    ae_node *l = ae_weighted_sum(f.g, "sum", terms, w, 9, &f.err);
    double e = check(&f, l, NULL);
    ck_assert_double_eq_tol(l->val[0], ref, 1e-5);
    ck_assert_msg(e < 2e-2, "weighted sum gradient error %g", e);
    fx_free(&f);
}
END_TEST

START_TEST(reparam_and_kl_grads)
{
    fx f;
    fx_init(&f);
    int mi = decl(&f, "mu", ae_shape2(3, 4)), li = decl(&f, "lv", ae_shape2(3, 4)),
        ti = decl(&f, "t", ae_shape2(3, 4));
    fx_alloc(&f, 3, -1, 1);
    ae_rng *noise = ae_rng_new(99);
    ae_node *mu = ae_graph_param(f.g, mi, &f.err), *lv = ae_graph_param(f.g, li, &f.err);
    ae_node *z = ae_reparam(f.g, "z", mu, lv, noise, 0, &f.err);
    ae_node *terms[2] = {sq_loss(&f, z, ti), ae_kl_normal(f.g, "kl", mu, lv, &f.err)};
    float w[2] = {1.0f, 0.5f};
    double e = check(&f, ae_weighted_sum(f.g, "sum", terms, w, 2, &f.err), noise);
    ck_assert_msg(e < 2e-2, "reparam/kl gradient error %g", e);
    /* KL value by hand */
    const float *m = mu->val, *v = lv->val;
    double kl = 0;
    for (int i = 0; i < 12; i++) kl += -0.5 * (1 + v[i] - m[i] * (double)m[i] - exp(v[i]));
    ck_assert_double_eq_tol(terms[1]->val[0], kl / 3.0, 1e-5);
    ae_rng_free(noise);
    fx_free(&f);
}
END_TEST

END_TEST

START_TEST(dense_shape_error_names_node)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(2, 6)), wi = decl(&f, "w", ae_shape2(3, 5));
    fx_alloc(&f, 2, -1, 1);
    ae_node *y = ae_dense(f.g, "model.encoder[0] (dense)", ae_graph_param(f.g, xi, &f.err),
                          ae_graph_param(f.g, wi, &f.err), NULL, AE_ACT_RELU, &f.err);
    ck_assert_ptr_null(y);
    ck_assert_msg(strstr(f.err.msg, "model.encoder[0] (dense)") && strstr(f.err.msg, "6 features"), "%s", f.err.msg);
    /* once failed, later adds fail too and compile reports the error */
    ck_assert_ptr_null(ae_activation(f.g, "a", y, AE_ACT_RELU, &f.err));
    fx_free(&f);
}
END_TEST

/* ==== dense row blocks, layer chains, narrow outputs, MSE-made sigmoid dZ (ops_dense.c, ops_loss.c)
 * and the vectorised sigmoid (ops_eltwise.c) ==================================================== */

/* W1's chain 17-16-3-16-17 (ReLU, sigmoid output, MSE against a parameter target) on CH_N rows: 3 row
 * blocks with a short last one, so the fused chain, the transposed narrow products (3 columns, the
 * 17th of 17), the MSE-made sigmoid dZ and the per-block partial sums all run. */
#define CH_N 8000
static const int ch_w[5] = {17, 16, 3, 16, 17};

/* Loss and every gradient of that chain in double, into gr (laid out like ps->grad). */
static double chain_ref(const ae_params *ps, const int *wi, const int *bi, int xi, int ti, double *gr)
{
    const float *v = ps->val;
    const double c = 2.0 / ((double)CH_N * 17);
    double loss = 0;
    memset(gr, 0, ps->total * sizeof *gr);
    for (int r = 0; r < CH_N; r++) {
        double h[5][17], dz[5][17]; /* h[l+1] = act(W_l h[l] + b_l); dz[l+1] = dloss/d(W_l h[l] + b_l) */
        for (int j = 0; j < 17; j++) h[0][j] = v[ps->p[xi].off + (size_t)r * 17 + j];
        for (int l = 0; l < 4; l++) {
            const float *W = v + ps->p[wi[l]].off, *B = v + ps->p[bi[l]].off;
            for (int o = 0; o < ch_w[l + 1]; o++) {
                double z = B[o];
                for (int i = 0; i < ch_w[l]; i++) z += (double)W[o * ch_w[l] + i] * h[l][i];
                h[l + 1][o] = l < 3 ? fmax(z, 0.0) : 1.0 / (1.0 + exp(-z));
            }
        }
        const float *t = v + ps->p[ti].off + (size_t)r * 17;
        for (int j = 0; j < 17; j++) {
            double d = h[4][j] - t[j];
            loss += d * d;
            gr[ps->p[ti].off + (size_t)r * 17 + j] = -c * d;
            dz[4][j] = c * d * h[4][j] * (1.0 - h[4][j]);
        }
        for (int l = 3; l >= 0; l--) {
            const float *W = v + ps->p[wi[l]].off;
            double *gw = gr + ps->p[wi[l]].off, *gb = gr + ps->p[bi[l]].off;
            for (int o = 0; o < ch_w[l + 1]; o++) {
                gb[o] += dz[l + 1][o];
                for (int i = 0; i < ch_w[l]; i++) gw[o * ch_w[l] + i] += dz[l + 1][o] * h[l][i];
            }
            for (int i = 0; i < ch_w[l]; i++) {
                double s = 0;
                for (int o = 0; o < ch_w[l + 1]; o++) s += (double)W[o * ch_w[l] + i] * dz[l + 1][o];
                dz[l][i] = l == 0 || h[l][i] > 0 ? s : 0.0; /* dz[0] is dx */
            }
        }
        for (int j = 0; j < 17; j++) gr[ps->p[xi].off + (size_t)r * 17 + j] = dz[0][j];
    }
    return loss / ((double)CH_N * 17);
}

/* The blocked, fused step against the double reference (every parameter's gradient within 1e-4 of
 * its largest entry), then the same step on 1 thread: the same bits as on 2. */
START_TEST(dense_chain_blocks_match_reference)
{
    int threads = ae_get_threads();
    ae_set_threads(2);
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(CH_N, 17)), ti = decl(&f, "t", ae_shape2(CH_N, 17)), wi[4], bi[4];
    for (int l = 0; l < 4; l++) {
        char wn[8], bn[8];
        snprintf(wn, sizeof wn, "w%d", l);
        snprintf(bn, sizeof bn, "b%d", l);
        wi[l] = decl(&f, wn, ae_shape2(ch_w[l + 1], ch_w[l]));
        bi[l] = decl(&f, bn, ae_shape_make(1, (int64_t[]){ch_w[l + 1]}));
    }
    fx_alloc(&f, CH_N, -1, 1);
    ae_node *h = ae_graph_param(f.g, xi, &f.err);
    for (int l = 0; l < 4; l++)
        h = ae_dense(f.g, "d", h, ae_graph_param(f.g, wi[l], &f.err), ae_graph_param(f.g, bi[l], &f.err),
                     l < 3 ? AE_ACT_RELU : AE_ACT_SIGMOID, &f.err);
    ae_node *loss = sq_loss(&f, h, ti);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    ae_graph_forward_loss(f.g);
    ae_graph_backward(f.g);
    double *gr = malloc(f.ps->total * sizeof *gr);
    double lr = chain_ref(f.ps, wi, bi, xi, ti, gr);
    ck_assert_msg(fabs(loss->val[0] - lr) < 1e-5 * lr, "loss %.8g, reference %.8g", loss->val[0], lr);
    for (size_t p = 0; p < f.ps->n; p++) {
        const ae_param_info *pi = &f.ps->p[p];
        double big = 0, worst = 0;
        for (size_t i = 0; i < pi->n; i++) big = fmax(big, fabs(gr[pi->off + i]));
        for (size_t i = 0; i < pi->n; i++)
            worst = fmax(worst, fabs(f.ps->grad[pi->off + i] - gr[pi->off + i]));
        ck_assert_msg(big > 0 && worst <= 1e-4 * big, "param %zu (%s): gradient off by %g, largest %g", p,
                      pi->name, worst, big);
    }
    float l2 = loss->val[0], *g2 = malloc(f.ps->total * sizeof *g2);
    memcpy(g2, f.ps->grad, f.ps->total * sizeof *g2);
    ae_set_threads(1);
    ae_graph_forward_loss(f.g);
    ae_graph_backward(f.g);
    ck_assert(memcmp(&l2, &loss->val[0], sizeof l2) == 0);
    ck_assert_msg(memcmp(g2, f.ps->grad, f.ps->total * sizeof *g2) == 0, "gradients differ on 1 thread");
    ae_set_threads(threads);
    free(g2);
    free(gr);
    fx_free(&f);
}
END_TEST

/* The vectorised sigmoid: within 3e-7 (relative) of the exact value over [-100, 100], exact at 0,
 * outputs just below 1 rounded like oneDNN's logistic (1 - e^-x/(1+e^-x), not 1/(1+e^-x) = 1),
 * NaN kept, infinities to 1 and ~0, in place equal to out of place. */
START_TEST(sigmoid_values)
{
    const size_t n = 200001;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) x[i] = -100.0f + 200.0f * (float)i / (float)(n - 1);
    ae_act_forward(AE_ACT_SIGMOID, x, y, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double r = 1.0 / (1.0 + exp(-(double)x[i]));
        if (r > 1e-30) worst = fmax(worst, fabs(y[i] - r) / r);
    }
    ck_assert_msg(worst < 3e-7, "sigmoid relative error %g", worst);
    ae_act_forward(AE_ACT_SIGMOID, x, x, n);
    ck_assert(memcmp(x, y, n * sizeof *x) == 0);
    float s[6] = {0.0f, 17.0f, NAN, INFINITY, -INFINITY, -17.0f}, o[6];
    ae_act_forward(AE_ACT_SIGMOID, s, o, 6);
    ck_assert(o[0] == 0.5f);
    ck_assert(o[1] == nextafterf(1.0f, 0.0f)); /* 1 - 4.1e-8 */
    ck_assert(isnan(o[2]) && o[3] == 1.0f && o[4] >= 0.0f && o[4] < 1e-37f);
    ck_assert_msg(fabs(o[5] - 4.1399375e-8) < 1e-14, "sigmoid(-17) = %g", o[5]);
    free(x);
    free(y);
}
END_TEST
/* ==== end of the dense blocks / sigmoid tests ==== */

int main(void)
{
    Suite *s = suite_create("ops");
    TCase *t = tcase_create("ops");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, dense_grads);
    tcase_add_test(t, activation_grads);
    tcase_add_test(t, fanout_accumulates);
    tcase_add_test(t, reshape_grads);
    tcase_add_test(t, reshape_mismatch_is_error);
    tcase_add_test(t, loss_grads);
    tcase_add_test(t, bce_logits_stable);
    tcase_add_test(t, weighted_sum_many_terms);
    tcase_add_test(t, reparam_and_kl_grads);
    tcase_add_test(t, dense_shape_error_names_node);
    tcase_add_test(t, dense_chain_blocks_match_reference);
    tcase_add_test(t, sigmoid_values);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
