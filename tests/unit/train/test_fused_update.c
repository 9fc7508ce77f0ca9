/* The optimizer update fused into the backward (ae_graph_backward_update, ae_optim_begin/update/
 * finish): for every optimizer kind the parameters and moments after three steps are the same bytes
 * as with the separate whole-store step, on 1 and 2 threads (a chain split in row blocks with dW
 * slices, small deferred layers, a weight two layers share, inputs no dense layer owns); a non-finite
 * gradient still stops the run; a whole step in one region (ae_graph_train_step) as well. */
#include "ae_optim.h"
#include "ops_fixture.h"

enum { N = 128, K = 784, H = 256, SN = 6, SK = 5, SM = 4 };

typedef struct net {
    fx f;
    ae_node *loss;
    int idx[12];
} net;

/* x -> tanh 256 -> sigmoid 784, MSE to t (split in row blocks on 2 threads); beside it two small
 * layers on their own inputs, one with its own weight and bias, one sharing that weight. */
static void build(net *n, int threads)
{
    ae_set_threads(threads);
    fx *f = &n->f;
    fx_init(f);
    int *i = n->idx;
    i[0] = decl(f, "x", ae_shape2(N, K)), i[1] = decl(f, "w1", ae_shape2(H, K));
    i[2] = decl(f, "b1", ae_shape_make(1, (int64_t[]){H})), i[3] = decl(f, "w2", ae_shape2(K, H));
    i[4] = decl(f, "b2", ae_shape_make(1, (int64_t[]){K})), i[5] = decl(f, "t", ae_shape2(N, K));
    i[6] = decl(f, "xs", ae_shape2(SN, SK)), i[7] = decl(f, "ws", ae_shape2(SM, SK));
    i[8] = decl(f, "bs", ae_shape_make(1, (int64_t[]){SM})), i[9] = decl(f, "xt", ae_shape2(SN, SK));
    i[10] = decl(f, "wt", ae_shape2(SM, SK)), i[11] = decl(f, "ts", ae_shape2(SN, SM));
    fx_alloc(f, N, -1, 1);
    for (int p = 1; p <= 3; p += 2) /* the sigmoid not saturated */
        for (size_t e = 0; e < f->ps->p[i[p]].n; e++) f->ps->val[f->ps->p[i[p]].off + e] *= 0.05f;
#define P(k) ae_graph_param(f->g, i[k], &f->err)
    ae_node *h = ae_dense(f->g, "d1", P(0), P(1), P(2), AE_ACT_TANH, &f->err);
    ae_node *y = ae_dense(f->g, "d2", h, P(3), P(4), AE_ACT_SIGMOID, &f->err);
    ae_node *a = ae_dense(f->g, "a", P(6), P(7), P(8), AE_ACT_TANH, &f->err);
    ae_node *b = ae_dense(f->g, "b", P(9), P(10), NULL, AE_ACT_SIGMOID, &f->err);
    ae_node *c = ae_dense(f->g, "c", P(6), P(10), NULL, AE_ACT_IDENTITY, &f->err);
#undef P
    ae_node *terms[4] = {sq_loss(f, y, i[5]), sq_loss(f, a, i[11]), sq_loss(f, b, i[11]), sq_loss(f, c, i[11])};
    n->loss = ae_weighted_sum(f->g, "sum", terms, (float[]){1.0f, 0.7f, 1.3f, 0.4f}, 4, &f->err);
    ck_assert_msg(n->loss && ae_graph_compile(f->g, n->loss, &f->err) == AE_OK, "%s", f->err.msg);
}

typedef struct state {
    float *val, *m, *v;
} state;

/* Three steps of `kind`, fused or not; the parameters and moments after them. */
static state train3(ae_opt_kind kind, int threads, int fused)
{
    net n;
    build(&n, threads);
    ae_optim_cfg c;
    ae_optim_defaults(&c, kind);
    c.weight_decay = 0.01, c.momentum = kind == AE_OPT_SGD ? 0.9 : 0, c.nesterov = 1, c.lr_decay = 0.1;
    c.initial_accumulator_value = 0.1;
    ae_optim o;
    ck_assert_int_eq(ae_optim_init(&o, &c, n.f.ps, &n.f.err), AE_OK);
    const unsigned char *done = ae_graph_fused_params(n.f.g);
    ck_assert_ptr_nonnull(done);
    /* the dense layers' own weights and biases; not the shared weight, the inputs or targets */
    const int want[12] = {0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0};
    for (int p = 0; p < 12; p++) ck_assert_msg(done[n.idx[p]] == want[p], "parameter %d: %d", p, done[n.idx[p]]);
    for (int s = 0; s < 3; s++) {
        ae_graph_forward_loss(n.f.g);
        if (fused) {
            ae_update u = {.fn = ae_optim_update, .ctx = &o};
            ae_optim_begin(&o);
            ck_assert_int_eq(ae_graph_backward_update(n.f.g, &u), 0);
            ck_assert(isfinite(ae_optim_finish(&o, done)));
        } else {
            ae_graph_backward(n.f.g);
            ck_assert(isfinite(ae_optim_step(&o)));
        }
    }
    const size_t bytes = n.f.ps->total * sizeof(float);
    state st = {malloc(bytes), malloc(bytes), malloc(bytes)};
    memcpy(st.val, n.f.ps->val, bytes);
    memcpy(st.m, o.m, bytes);
    memcpy(st.v, o.v, bytes);
    ae_optim_free(&o);
    fx_free(&n.f);
    return st;
}

static void state_free(state s) { free(s.val), free(s.m), free(s.v); }

START_TEST(fused_equals_separate)
{
    int threads = ae_get_threads();
    const ae_opt_kind kinds[4] = {AE_OPT_SGD, AE_OPT_ADAM, AE_OPT_ADAMW, AE_OPT_ADAGRAD};
    net probe;
    build(&probe, 1);
    const size_t bytes = probe.f.ps->total * sizeof(float);
    fx_free(&probe.f);
    for (int k = 0; k < 4; k++)
        for (int t = 1; t <= 2; t++) {
            state a = train3(kinds[k], t, 0), b = train3(kinds[k], t, 1);
            ck_assert_msg(memcmp(a.val, b.val, bytes) == 0, "%s, %d threads: parameters differ", ae_opt_names[k], t);
            ck_assert_msg(memcmp(a.m, b.m, bytes) == 0 && memcmp(a.v, b.v, bytes) == 0,
                          "%s, %d threads: optimizer state differs", ae_opt_names[k], t);
            state_free(a), state_free(b);
        }
    ae_set_threads(threads);
}
END_TEST

/* A NaN target: the fused updates report it (and the rest of the step does not hide it). */
START_TEST(fused_nan_stops)
{
    int threads = ae_get_threads();
    for (int t = 1; t <= 2; t++) {
        net n;
        build(&n, t);
        n.f.ps->val[n.f.ps->p[n.idx[5]].off + 7] = NAN;
        ae_optim_cfg c;
        ae_optim_defaults(&c, AE_OPT_ADAM);
        ae_optim o;
        ck_assert_int_eq(ae_optim_init(&o, &c, n.f.ps, &n.f.err), AE_OK);
        ae_update u = {.fn = ae_optim_update, .ctx = &o};
        ae_graph_forward_loss(n.f.g);
        ae_optim_begin(&o);
        ck_assert_int_ne(ae_graph_backward_update(n.f.g, &u), 0);
        ae_optim_free(&o);
        fx_free(&n.f);
    }
    ae_set_threads(threads);
}
END_TEST

/* A W9-like step (batch 20: every node on one thread, deferred dW slices; the 200 -> 784 forward
 * in two column halves when they give the whole product's bits) through ae_graph_train_step, one
 * region per step on 2 threads: three steps leave the same bytes as on 1 thread and as the plain
 * forward, backward and whole-store step; a NaN loss runs no backward. */
static state small_steps(int threads, int region, float target_nan)
{
    ae_set_threads(threads);
    fx f;
    fx_init(&f);
    int x = decl(&f, "x", ae_shape2(20, K)), w1 = decl(&f, "w1", ae_shape2(200, K));
    int b1 = decl(&f, "b1", ae_shape_make(1, (int64_t[]){200})), w2 = decl(&f, "w2", ae_shape2(K, 200));
    int b2 = decl(&f, "b2", ae_shape_make(1, (int64_t[]){K})), t = decl(&f, "t", ae_shape2(20, K));
    fx_alloc(&f, 20, -1, 1);
    for (size_t e = 0; e < f.ps->p[w1].n; e++) f.ps->val[f.ps->p[w1].off + e] *= 0.05f, f.ps->val[f.ps->p[w2].off + e] *= 0.05f;
    f.ps->val[f.ps->p[t].off] += target_nan;
    ae_node *h = ae_dense(f.g, "d1", ae_graph_param(f.g, x, &f.err), ae_graph_param(f.g, w1, &f.err),
                          ae_graph_param(f.g, b1, &f.err), AE_ACT_TANH, &f.err);
    ae_node *y = ae_dense(f.g, "d2", h, ae_graph_param(f.g, w2, &f.err), ae_graph_param(f.g, b2, &f.err),
                          AE_ACT_SIGMOID, &f.err);
    ae_node *loss = sq_loss(&f, y, t);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    ck_assert_int_eq(h->threads, 1);
    ck_assert_int_eq(y->threads, 1);
    ae_optim_cfg c;
    ae_optim_defaults(&c, AE_OPT_ADAM);
    ae_optim o;
    ck_assert_int_eq(ae_optim_init(&o, &c, f.ps, &f.err), AE_OK);
    const unsigned char *done = ae_graph_fused_params(f.g);
    for (int s = 0; s < 3; s++) {
        if (region) {
            ae_update u = {.fn = ae_optim_update, .ctx = &o};
            ae_optim_begin(&o);
            int finite = ae_graph_train_step(f.g, &u);
            ck_assert_int_eq(finite, target_nan == 0.0f);
            if (!finite) break;
            ck_assert_int_eq(u.bad, 0);
            ck_assert(isfinite(ae_optim_finish(&o, done)));
        } else {
            ae_graph_forward_loss(f.g);
            ae_graph_backward(f.g);
            ck_assert(isfinite(ae_optim_step(&o)));
        }
    }
    const size_t bytes = f.ps->total * sizeof(float);
    state st = {malloc(bytes), malloc(bytes), malloc(bytes)};
    memcpy(st.val, f.ps->val, bytes), memcpy(st.m, o.m, bytes), memcpy(st.v, o.v, bytes);
    ae_optim_free(&o);
    fx_free(&f);
    return st;
}

START_TEST(step_region_bits)
{
    int threads = ae_get_threads();
    state a = small_steps(2, 1, 0), b = small_steps(1, 1, 0), c = small_steps(2, 0, 0), d = small_steps(1, 0, 0);
    const size_t n = (20 * K * 2 + 2 * 200 * K + 200 + K) * sizeof(float); /* the store, padding aside */
    ck_assert_msg(!memcmp(a.val, b.val, n) && !memcmp(a.m, b.m, n) && !memcmp(a.v, b.v, n), "2 vs 1 thread");
    ck_assert_msg(!memcmp(a.val, c.val, n) && !memcmp(a.v, c.v, n), "one region vs the separate step");
    ck_assert_msg(!memcmp(c.val, d.val, n), "separate step, 2 vs 1 thread");
    state_free(a), state_free(b), state_free(c), state_free(d);
    state_free(small_steps(2, 1, NAN));
    ae_set_threads(threads);
}
END_TEST

/* Outside a step's region ae_graph_pair runs both halves here, first then second. */
static void note_half(void *ctx, int half)
{
    int *seen = ctx;
    seen[seen[0] + 1] = half;
    seen[0]++;
}

START_TEST(pair_outside_region)
{
    int seen[3] = {0};
    ae_graph_pair(note_half, seen);
    ck_assert(seen[0] == 2 && seen[1] == 0 && seen[2] == 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fused_update");
    TCase *t = tcase_create("fused_update");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, fused_equals_separate);
    tcase_add_test(t, fused_nan_stops);
    tcase_add_test(t, step_region_bits);
    tcase_add_test(t, pair_outside_region);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
