/* The stochastic ops: corruption values and rates (gaussian, masking, salt-and-pepper) and
 * block-parallel noise that is the same on 1 and 2 threads. */
#include "ops_fixture.h"

START_TEST(corruption_values)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(100, 100));
    fx_alloc(&f, 100, 0.25f, 0.75f);
    ae_rng *r = ae_rng_new(3);
    ae_node *x = ae_graph_param(f.g, xi, &f.err);
    ae_node *g = ae_corrupt(f.g, "g", x, AE_NOISE_GAUSSIAN, 0.3f, 0.0f, 1.0f, r, &f.err);
    ae_node *m = ae_corrupt(f.g, "m", x, AE_NOISE_MASKING, 0.3f, 0.0f, 1.0f, r, &f.err);
    ae_node *s = ae_corrupt(f.g, "s", x, AE_NOISE_SALT_PEPPER, 0.2f, 0.0f, 1.0f, r, &f.err);
    ck_assert_int_eq(ae_graph_compile(f.g, NULL, &f.err), AE_OK);
    ae_graph_forward(f.g);
    size_t n = 10000, zeros = 0, sp = 0, clipped = 0;
    double diff = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(g->val[i] >= 0.0f && g->val[i] <= 1.0f);
        clipped += g->val[i] == 0.0f || g->val[i] == 1.0f;
        diff += (g->val[i] - x->val[i]) * (double)(g->val[i] - x->val[i]);
        zeros += m->val[i] == 0.0f;
        if (m->val[i] != 0.0f) ck_assert_float_eq(m->val[i], x->val[i]);
        sp += s->val[i] == 0.0f || s->val[i] == 1.0f;
    }
    ck_assert_msg(fabs(zeros / 1e4 - 0.3) < 0.02, "masking rate %g", zeros / 1e4);
    ck_assert_msg(fabs(sp / 1e4 - 0.2) < 0.02, "salt-pepper rate %g", sp / 1e4);
    ck_assert_msg(clipped > 0 && diff / 1e4 > 0.05 && diff / 1e4 < 0.09, "gaussian noise var %g", diff / 1e4);
    /* fresh noise each forward */
    float first = g->val[0] + g->val[1] + g->val[2];
    ae_graph_forward(f.g);
    ck_assert(first != g->val[0] + g->val[1] + g->val[2]);
    ae_rng_free(r);
    fx_free(&f);
}
END_TEST

/* Block-parallel noise: every stochastic op gives the same values on 1 and 2 threads (same run-RNG
 * state), the gaussian's sample mean/std over a large unclipped tensor match sigma, and the run RNG
 * advances by one seed per forward so the next forward differs. */
START_TEST(noise_thread_independent)
{
    fx f;
    fx_init(&f);
    const int64_t rows = 200, cols = 1030; /* 206000 values: many blocks, a partial last one */
    int xi = decl(&f, "x", ae_shape2(rows, cols)), li = decl(&f, "lv", ae_shape2(rows, cols));
    fx_alloc(&f, rows, 0.5f, 0.5f); /* x = 0.5: 5 sigma from the clip bounds below */
    ae_rng *r = ae_rng_new(11);
    ae_node *x = ae_graph_param(f.g, xi, &f.err), *lv = ae_graph_param(f.g, li, &f.err);
    memset(f.ps->val + f.ps->p[li].off, 0, (size_t)(rows * cols) * sizeof(float)); /* lv = 0 */
    const float sigma = 0.1f;
    ae_node *out[4] = {ae_corrupt(f.g, "g", x, AE_NOISE_GAUSSIAN, sigma, 0.0f, 1.0f, r, &f.err),
                       ae_corrupt(f.g, "m", x, AE_NOISE_MASKING, 0.3f, 0.0f, 1.0f, r, &f.err),
                       ae_corrupt(f.g, "s", x, AE_NOISE_SALT_PEPPER, 0.2f, 0.0f, 1.0f, r, &f.err),
                       ae_reparam(f.g, "z", x, lv, r, 0, &f.err)};
    ck_assert_msg(ae_graph_compile(f.g, NULL, &f.err) == AE_OK, "%s", f.err.msg);
    const size_t n = (size_t)(rows * cols);
    float *one[4];
    unsigned char st[8192];
    ck_assert_uint_le(ae_rng_state_size(r), sizeof st);
    ae_rng_get_state(r, st);
    ae_set_threads(1);
    ae_graph_forward(f.g);
    for (int k = 0; k < 4; k++) {
        one[k] = malloc(n * sizeof(float));
        memcpy(one[k], out[k]->val, n * sizeof(float));
        memset(out[k]->val, 0, n * sizeof(float));
    }
    ck_assert_int_eq(ae_rng_set_state(r, st, ae_rng_state_size(r)), AE_OK);
    ae_set_threads(2);
    ae_graph_forward(f.g);
    ae_set_threads(1);
    for (int k = 0; k < 4; k++)
        ck_assert_msg(memcmp(one[k], out[k]->val, n * sizeof(float)) == 0, "%s differs on 2 threads",
                      out[k]->name);
    /* gaussian: mean 0, std sigma (no value within 5 sigma of a bound, so nothing is clipped) */
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)out[0]->val[i] - 0.5;
        s1 += d;
        s2 += d * d;
    }
    double mean = s1 / (double)n, sd = sqrt(s2 / (double)n - mean * mean);
    ck_assert_msg(fabs(mean) < 1e-3, "gaussian noise mean %g", mean); /* SE 2.2e-4 */
    ck_assert_msg(fabs(sd / sigma - 1.0) < 0.01, "gaussian noise std %g, sigma %g", sd, sigma); /* SE 0.16% */
    /* z = x + eps (lv = 0): eps is the same N(0,1) sampler */
    s2 = 0;
    for (size_t i = 0; i < n; i++) s2 += ((double)out[3]->val[i] - 0.5) * ((double)out[3]->val[i] - 0.5);
    ck_assert_msg(fabs(sqrt(s2 / (double)n) - 1.0) < 0.01, "eps std %g", sqrt(s2 / (double)n));
    /* masking rate, salt-and-pepper rate and its half/half split */
    size_t zeros = 0, salt = 0, pepper = 0;
    for (size_t i = 0; i < n; i++) {
        zeros += out[1]->val[i] == 0.0f;
        pepper += out[2]->val[i] == 0.0f;
        salt += out[2]->val[i] == 1.0f;
    }
    ck_assert_msg(fabs((double)zeros / (double)n - 0.3) < 0.005, "masking rate %g", (double)zeros / (double)n);
    ck_assert_msg(fabs((double)pepper / (double)n - 0.1) < 0.004 && fabs((double)salt / (double)n - 0.1) < 0.004,
                  "salt %g pepper %g", (double)salt / (double)n, (double)pepper / (double)n);
    /* the next forward draws a new seed: different values */
    ae_graph_forward(f.g);
    ck_assert(memcmp(one[0], out[0]->val, n * sizeof(float)) != 0);
    for (int k = 0; k < 4; k++) free(one[k]);
    ae_rng_free(r);
    fx_free(&f);
}

int main(void)
{
    Suite *s = suite_create("ops_noise");
    TCase *t = tcase_create("ops_noise");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, corruption_values);
    tcase_add_test(t, noise_thread_independent);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
