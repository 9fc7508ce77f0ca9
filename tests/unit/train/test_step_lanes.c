/* A step's modes (ae_graph_set_lanes, issue 17): a W9-like net at 2 threads whose steps switch
 * between the region on two threads, the step by owners and its schedule on one thread (every step,
 * or at random) leaves the same parameter and Adam bytes as the region every step and as one thread,
 * and a W2-like net of several regions switching between them and a one-thread limit the bytes of
 * its compiled step;
 * AELAB_LANES sets the mode (a bad value fails the compile); ops see whether a partner thread takes
 * half of a paired product (ae_graph_paired) only in the region on two threads; the AUTO controller's choice follows
 * the step times it is given (injected, never measured here): the faster mode in a probe, periods
 * doubling while the choice holds, a probe again when the steps slow down. */
#include <stdlib.h>

#include "ae_optim.h"
#include "ops_fixture.h"

/* AUTO_STEPS: the controller's warm-up, its first probe (every mode's part) and two steps after it */
enum { B = 20, K = 784, H = 200, STEPS = 8, AUTO_STEPS = AE_LANES_WARM + AE_LANES_MODES * AE_LANES_PROBE + 2 };

/* The W9-like net of one region (batch 20, 784-200-200-784, every node on one thread) or a W2-like
 * one of several (batch 128, 784-512-512-784: row-blocked chains, dW slices on both threads). */
typedef struct net {
    int64_t batch, hidden;
    int region;
} net;
static const net ONE_REGION = {B, H, 1}, REGIONS = {128, 512, 0};

typedef struct state {
    float *val, *m, *v;
    size_t bytes;
    int one, owners; /* steps that ran on one thread; by owners */
} state;

/* 784 -> H tanh -> H tanh -> 784 sigmoid, MSE to a target (ONE_REGION: every node on one thread,
 * deferred dW slices, paired products where their halves round like the whole). */
static ae_node *build_net(fx *f, int threads, const net *nt)
{
    ae_set_threads(threads);
    fx_init(f);
    const int64_t bt = nt->batch, h = nt->hidden;
    int x = decl(f, "x", ae_shape2(bt, K)), t = decl(f, "t", ae_shape2(bt, K)), w[3], b[3];
    const int64_t in[3] = {K, h, h}, out[3] = {h, h, K};
    for (int l = 0; l < 3; l++) {
        w[l] = decl(f, (const char *[]){"w1", "w2", "w3"}[l], ae_shape2(out[l], in[l]));
        b[l] = decl(f, (const char *[]){"b1", "b2", "b3"}[l], ae_shape_make(1, (int64_t[]){out[l]}));
    }
    fx_alloc(f, bt, -1, 1);
    for (int l = 0; l < 3; l++) /* tanh and sigmoid not saturated */
        for (size_t e = 0; e < f->ps->p[w[l]].n; e++) f->ps->val[f->ps->p[w[l]].off + e] *= 0.05f;
    ae_node *y = ae_graph_param(f->g, x, &f->err);
    const ae_act act[3] = {AE_ACT_TANH, AE_ACT_TANH, AE_ACT_SIGMOID};
    for (int l = 0; l < 3; l++)
        y = ae_dense(f->g, "d", y, ae_graph_param(f->g, w[l], &f->err), ae_graph_param(f->g, b[l], &f->err), act[l],
                     &f->err);
    return sq_loss(f, y, t);
}

static ae_node *build(fx *f, int threads) { return build_net(f, threads, &ONE_REGION); }

/* STEPS Adam steps through ae_graph_train_step, step s in modes[s] (NULL: the compile's mode, AUTO
 * unless AELAB_LANES says otherwise); the
 * parameters and moments after them. Checks how each step ran (ae_graph_step_lanes). */
static state train_net(int threads, const ae_lanes_mode *modes, const net *nt, int steps)
{
    fx f;
    ae_node *loss = build_net(&f, threads, nt);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    ae_optim_cfg c;
    ae_optim_defaults(&c, AE_OPT_ADAM);
    ae_optim o;
    ck_assert_int_eq(ae_optim_init(&o, &c, f.ps, &f.err), AE_OK);
    int one = 0, owners = 0;
    for (int s = 0; s < steps; s++) {
        if (modes) ae_graph_set_lanes(f.g, modes[s]);
        ae_update u = {.fn = ae_optim_update, .ctx = &o};
        ae_optim_begin(&o);
        ck_assert(ae_graph_train_step(f.g, &u));
        ck_assert(isfinite(ae_optim_finish(&o, ae_graph_fused_params(f.g))));
        const int lanes = ae_graph_step_lanes(f.g), used = ae_graph_step_threads(f.g);
        if (threads == 1 || !nt->region) ck_assert_int_eq(lanes, -1);
        else ck_assert_int_eq(used, lanes ? 2 : 1);
        owners += lanes == 2;
        if (threads == 1) ck_assert_int_eq(used, 1);
        else if (modes && modes[s] != AE_LANES_AUTO)
            ck_assert_msg(used == (modes[s] == AE_LANES_OFF ? 1 : 2), "step %d ran on %d threads", s, used);
        else ck_assert(used == 1 || used == 2);
        if (threads == 2 && nt->region && modes && modes[s] != AE_LANES_AUTO) /* the net has a cut */
            ck_assert_int_eq(lanes, modes[s] == AE_LANES_OWNERS ? 2 : modes[s] == AE_LANES_ON);
        one += used == 1;
    }
    state st = {.bytes = f.ps->total * sizeof(float), .one = one, .owners = owners};
    st.val = malloc(st.bytes), st.m = malloc(st.bytes), st.v = malloc(st.bytes);
    memcpy(st.val, f.ps->val, st.bytes), memcpy(st.m, o.m, st.bytes), memcpy(st.v, o.v, st.bytes);
    ae_optim_free(&o);
    fx_free(&f);
    return st;
}

static state train(int threads, const ae_lanes_mode *modes) { return train_net(threads, modes, &ONE_REGION, STEPS); }

static void same(state a, state b, const char *what)
{
    ck_assert_msg(a.bytes == b.bytes && !memcmp(a.val, b.val, a.bytes), "%s: parameters differ", what);
    ck_assert_msg(!memcmp(a.m, b.m, a.bytes) && !memcmp(a.v, b.v, a.bytes), "%s: Adam moments differ", what);
    free(b.val), free(b.m), free(b.v);
}

/* AUTO_STEPS steps in AUTO at 2 threads (its probe ran steps both ways) against ON every step. */
static void auto_same(const net *nt, const char *what)
{
    ae_lanes_mode on[AUTO_STEPS];
    for (int s = 0; s < AUTO_STEPS; s++) on[s] = AE_LANES_ON;
    state ref = train_net(2, on, nt, AUTO_STEPS), a = train_net(2, NULL, nt, AUTO_STEPS);
    ck_assert_msg(a.one > 0 && a.one < AUTO_STEPS, "%s: %d of %d steps on one thread", what, a.one, AUTO_STEPS);
    ck_assert_msg(nt->region ? a.owners >= AE_LANES_PROBE : !a.owners, "%s: %d steps by owners", what, a.owners);
    same(ref, a, what);
    free(ref.val), free(ref.m), free(ref.v);
}

START_TEST(switching_modes_same_bits)
{
    int threads = ae_get_threads();
    ae_lanes_mode on[STEPS], alt[STEPS], rnd[STEPS], off[STEPS], own[STEPS];
    const ae_lanes_mode three[3] = {AE_LANES_ON, AE_LANES_OFF, AE_LANES_OWNERS};
    uint64_t z = 12345;
    for (int s = 0; s < STEPS; s++) {
        z = z * 6364136223846793005ULL + 1442695040888963407ULL;
        on[s] = AE_LANES_ON, off[s] = AE_LANES_OFF, own[s] = AE_LANES_OWNERS;
        alt[s] = s & 1 ? AE_LANES_ON : AE_LANES_OFF;
        rnd[s] = three[(z >> 33) % 3];
    }
    state ref = train(2, on);
    same(ref, train(1, NULL), "1 thread");
    same(ref, train(2, alt), "alternating modes");
    same(ref, train(2, rnd), "random modes");
    same(ref, train(2, off), "one thread's schedule every step");
    same(ref, train(2, own), "owners every step");
    free(ref.val), free(ref.m), free(ref.v);
    auto_same(&ONE_REGION, "auto (its first probe runs every mode)");
    ae_set_threads(threads);
}
END_TEST

/* A step of several regions switched to a one-thread limit and back: the bytes of the step as
 * compiled every step. (Not those of a graph compiled for one thread, whose row blocks are twice as
 * tall: under ONEDNN_MAX_CPU_ISA=AVX2 this net's parameters then differ, with or without the
 * modes, while on AVX-512 they match.) */
START_TEST(regions_switch_same_bits)
{
    int threads = ae_get_threads();
    ae_lanes_mode on[STEPS], rnd[STEPS], off[STEPS];
    uint64_t z = 777;
    for (int s = 0; s < STEPS; s++) {
        z = z * 6364136223846793005ULL + 1442695040888963407ULL;
        on[s] = AE_LANES_ON, off[s] = AE_LANES_OFF;
        rnd[s] = z >> 63 ? AE_LANES_ON : AE_LANES_OFF;
    }
    state ref = train_net(2, on, &REGIONS, STEPS);
    same(ref, train_net(2, rnd, &REGIONS, STEPS), "random modes");
    same(ref, train_net(2, off, &REGIONS, STEPS), "a one-thread limit every step");
    free(ref.val), free(ref.m), free(ref.v);
    auto_same(&REGIONS, "auto over its first probe");
    ae_set_threads(threads);
}
END_TEST

/* AELAB_LANES: off runs the schedule on one thread, on the region, owners the step by owners;
 * another value fails the compile. */
START_TEST(env_sets_the_mode)
{
    int threads = ae_get_threads();
    const char *vals[4] = {"off", "on", "owners", "sometimes"};
    for (int k = 0; k < 4; k++) {
        setenv("AELAB_LANES", vals[k], 1);
        fx f;
        ae_node *loss = build(&f, 2);
        int rc = ae_graph_compile(f.g, loss, &f.err);
        if (k < 3) {
            ck_assert_msg(rc == AE_OK, "%s", f.err.msg);
            ck_assert(ae_graph_train_step(f.g, NULL));
            ck_assert_int_eq(ae_graph_step_lanes(f.g), k);
        } else {
            ck_assert_int_eq(rc, AE_EINPUT);
            ck_assert_msg(strstr(f.err.msg, "AELAB_LANES=sometimes") && strstr(f.err.msg, "auto, on, owners or off"), "%s",
                          f.err.msg);
        }
        fx_free(&f);
    }
    unsetenv("AELAB_LANES");
    ae_set_threads(threads);
}
END_TEST

/* An identity op that records ae_graph_paired() in its forward. */
static int g_paired = -1;

static int probe_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape = n->in[0]->shape;
    return AE_OK;
}

static void probe_forward(ae_node *n)
{
    memcpy(n->val, n->in[0]->val, n->numel * sizeof *n->val);
    g_paired = ae_graph_paired();
}

static void probe_backward(ae_node *n)
{
    float *gx = n->in[0]->grad;
    for (size_t i = 0; i < n->numel; i++) gx[i] = (n->accum[0] ? gx[i] : 0.0f) + n->grad[i];
}

static const ae_op op_probe = {.name = "probe", .infer = probe_infer, .forward = probe_forward,
                               .backward = probe_backward};

/* ae_graph_paired(): 1 on the walking thread of the region on two threads, 0 in its schedule on one
 * thread, on one thread, and outside any step (an op may then run its whole product). */
START_TEST(paired_only_in_the_region)
{
    int threads = ae_get_threads();
    ck_assert_int_eq(ae_graph_paired(), 0);
    const struct { int threads; ae_lanes_mode mode; int want; } c[3] = {
        {2, AE_LANES_ON, 1}, {2, AE_LANES_OFF, 0}, {1, AE_LANES_ON, 0}};
    for (int k = 0; k < 3; k++) {
        ae_set_threads(c[k].threads);
        fx f;
        fx_init(&f);
        int x = decl(&f, "x", ae_shape2(B, K)), w = decl(&f, "w", ae_shape2(H, K));
        int t = decl(&f, "t", ae_shape2(B, H));
        fx_alloc(&f, B, -1, 1);
        ae_node *h = ae_dense(f.g, "d", ae_graph_param(f.g, x, &f.err), ae_graph_param(f.g, w, &f.err), NULL,
                              AE_ACT_TANH, &f.err);
        ae_node *loss = sq_loss(&f, ae_graph_add(f.g, &op_probe, "probe", &h, 1, NULL, 0, NULL, 0, &f.err), t);
        ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
        ae_graph_set_lanes(f.g, c[k].mode);
        g_paired = -1;
        ck_assert(ae_graph_train_step(f.g, NULL));
        ck_assert_int_eq(ae_graph_step_lanes(f.g), c[k].threads == 2 ? c[k].want : -1);
        ck_assert_msg(g_paired == c[k].want, "case %d: paired %d", k, g_paired);
        ck_assert_int_eq(ae_graph_paired(), 0);
        fx_free(&f);
    }
    ae_set_threads(threads);
}
END_TEST

/* Runs n steps of c: a probe's steps take lanes_s or one_s seconds by mode (in turn), the others
 * steady_s; the modes run in m, whether each was a probe's in p. */
static void feed(ae_lanes_ctl *c, int n, const double *lanes_s, const double *one_s, double steady_s, int *m, int *p)
{
    int k[2] = {0, 0};
    for (int s = 0; s < n; s++) {
        int mode = m[s] = ae_lanes_ctl_next(c, &p[s]);
        ae_lanes_ctl_done(c, p[s] ? (mode ? lanes_s : one_s)[k[mode]++] : steady_s);
    }
}

static void modes_are(const int *m, const int *p, const char *want)
{
    for (int s = 0; want[s]; s++) /* L/O: a probe's lanes/one-thread step, l/o: a steady one */
        ck_assert_msg(m[s] == (want[s] == 'L' || want[s] == 'l') && p[s] == (want[s] < 'a'), "step %d: mode %d%s, want %c",
                      s, m[s], p[s] ? " (probe)" : "", want[s]);
}

START_TEST(controller_follows_the_times)
{
    ae_lanes_ctl c;
    ae_lanes_ctl_init(&c, 12, 3, 0, 2); /* probes of 3 + 3 steps, windows of 12, no warm-up */
    int m[64], p[64];
    /* lanes 2 ms a step, one thread 1 ms: one thread. Each run's first step (the switch) and its
     * slowest (a 50 ms preemption) are not counted: with them, one thread would average 3 ms and lose.
     * Its steady steps are slower than its probe's (1.9 ms) but faster than lanes': no new probe */
    feed(&c, 12, (double[]){0.1e-3, 2e-3, 2e-3}, (double[]){5e-3, 1e-3, 50e-3}, 1.9e-3, m, p);
    modes_are(m, p, "LLLOOOoooooo");
    /* the next period probes afresh: lanes faster now, a change: the period stays 12 steps */
    feed(&c, 12, (double[]){1e-3, 0.5e-3, 0.6e-3}, (double[]){1e-3, 1e-3, 1e-3}, 0.5e-3, m, p);
    modes_are(m, p, "LLLOOOllllll");
    ck_assert_int_eq(c.span, 12);
    /* lanes again (a tie keeps lanes): the period doubles, 24 steps, then 48 */
    feed(&c, 24 + 6, (double[]){1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3}, (double[]){1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3},
         0.5e-3, m, p);
    modes_are(m, p, "LLLOOOllllllllllllllllllLLLOOO");
    ck_assert_int_eq(c.span, 48);
    /* the load changes after the probe: the steady lanes steps take 2 ms, more than one thread's
     * 1 ms in the probe: after one window of 12 the controller probes again, then one thread (whose
     * steady 2 ms are less than the lanes' 3 ms in that probe: no drift) */
    feed(&c, 12 + 12, (double[]){3e-3, 3e-3, 3e-3}, (double[]){2e-3, 2e-3, 2e-3}, 2e-3, m, p);
    modes_are(m, p, "llllllllllllLLLOOOoooooo");
    ck_assert_int_eq(c.span, 12);
    /* the next probe confirms one thread (the period doubles: 24); a steady window slower than
     * lanes in that probe calls another at once, which confirms one thread again: 48 (a false alarm
     * does not restart the backoff) */
    feed(&c, 6 + 12 + 6, (double[]){3e-3, 3e-3, 3e-3, 3e-3, 3e-3, 3e-3}, (double[]){2e-3, 2e-3, 2e-3, 2e-3, 2e-3, 2e-3},
         4e-3, m, p);
    modes_are(m, p, "LLLOOOooooooooooooLLLOOO");
    ck_assert_int_eq(c.span, 48);
    /* a period too short for a probe and a window grows to fit them; at least 3 probe steps a mode */
    ae_lanes_ctl_init(&c, 1, 1, 0, 2);
    ck_assert(c.probe == 3 && c.period == 12);
}
END_TEST

/* Three modes (a graph with an owners' cut): a probe runs the region, then owners, then one
 * thread; the fastest is chosen (a tie: the region); a steady window slower than the fastest other
 * mode in the probe calls another. */
START_TEST(controller_three_modes)
{
    ae_lanes_ctl c;
    ae_lanes_ctl_init(&c, 24, 3, 0, 3); /* probes of 3 + 3 + 3 steps, windows of 12 */
    int m[64], p[64];
    const double t1[3][3] = {{2e-3, 2e-3, 2e-3}, {3e-3, 3e-3, 3e-3}, {0.5e-3, 1e-3, 1e-3}};
    for (int s = 0; s < 24; s++) { /* one thread 2 ms, the region 3 ms, owners 1 ms; steady 1.5 ms */
        m[s] = ae_lanes_ctl_next(&c, &p[s]);
        ae_lanes_ctl_done(&c, p[s] ? t1[m[s]][s % 3] : 1.5e-3);
        ck_assert_int_eq(m[s], s < 9 ? (s / 3 + 1) % 3 : 2);
        ck_assert_int_eq(p[s], s < 9);
    }
    ck_assert_int_eq(c.choice, 2);
    ck_assert_int_eq(c.span, 24); /* a change from the initial choice (the region) */
    for (int s = 0; s < 9 + 12 + 1; s++) { /* a tie: the region; its steady steps then slow down */
        m[s] = ae_lanes_ctl_next(&c, &p[s]);
        ae_lanes_ctl_done(&c, p[s] ? 1e-3 : 4e-3);
    }
    ck_assert_int_eq(m[9], 1);
    ck_assert(!p[20] && p[21] && m[21] == 1); /* the window of 12 called a probe */
    ae_lanes_ctl_init(&c, 1, 1, 0, 3);
    ck_assert(c.probe == 3 && c.period == 18 && c.modes == 3);
    ae_lanes_ctl_init(&c, 1, 1, 0, 7);
    ck_assert_int_eq(c.modes, AE_LANES_MODES);
}
END_TEST

/* A controller given warm-up steps first runs that many lanes steps, neither probed nor counted in
 * the period (a region's first steps in a process run slow, and a probe among them chose one thread
 * for a whole epoch); then it probes as it would without. A graph in AUTO starts with AE_LANES_WARM. */
START_TEST(warm_steps_before_the_probe)
{
    ae_lanes_ctl c;
    ae_lanes_ctl_init(&c, 12, 3, 4, 2);
    int m[64], p[64];
    /* the warm-up steps take 9 ms, more than either mode in the probe: counted as lanes they would
     * choose one thread. They neither decide nor count in the period: the probe picks lanes (0.5 ms
     * against 1 ms) and confirms the initial choice, so the period doubles as after any confirming probe */
    feed(&c, 4 + 6 + 2, (double[]){1e-3, 0.5e-3, 0.5e-3}, (double[]){1e-3, 1e-3, 1e-3}, 9e-3, m, p);
    modes_are(m, p, "llllLLLOOOll");
    ck_assert_uint_eq(c.warm, 0);
    ck_assert_int_eq(c.choice, 1);
    ck_assert_int_eq(c.span, 24);
    ck_assert_int_eq(c.pos, 8);

    fx f;
    ae_node *loss = build_net(&f, 2, &ONE_REGION);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    ae_graph_set_lanes(f.g, AE_LANES_AUTO);
    for (int s = 0; s < AE_LANES_WARM; s++) { /* the warm-up: the region every step */
        ck_assert(ae_graph_train_step(f.g, NULL));
        ck_assert_int_eq(ae_graph_step_lanes(f.g), 1);
    }
    fx_free(&f);
    ae_set_threads(1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("step_lanes");
    TCase *t = tcase_create("step_lanes");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, switching_modes_same_bits);
    tcase_add_test(t, regions_switch_same_bits);
    tcase_add_test(t, env_sets_the_mode);
    tcase_add_test(t, paired_only_in_the_region);
    tcase_add_test(t, controller_follows_the_times);
    tcase_add_test(t, controller_three_modes);
    tcase_add_test(t, warm_steps_before_the_probe);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
