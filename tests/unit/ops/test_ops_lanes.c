/* Every oneDNN-backed layer inside the graph's task lanes (ae_graph_train_step's one region on 2
 * threads: thread 0 walks the forward and the backward, the other serves deferred dW/db tasks), the
 * audit of framework/graph/README.md as a table of small nets: a primitive that synchronises an
 * OpenMP team from inside the region waits for the serving thread forever (batch norm, 2026-12-03).
 * Per case: the net qualifies for the lanes (a probe at the root records that the forward and the
 * backward ran inside a region of 2), three Adam steps on 2 threads finish before an alarm (a hang
 * fails the test instead of stalling the suite) and leave the same bytes as on 1 thread. */
#include <signal.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ae_latent.h"
#include "ae_norm.h"
#include "ae_ops.h"
#include "ae_optim.h"
#include "conv_fixture.h"

enum { STEPS = 3, ALARM_S = 120 };

/* --- the probe: an identity at the root that notes where its forward and backward ran -------- */
static int g_fwd_team, g_bwd_team; /* threads of the enclosing region (1: none) */

static int team(void)
{
#ifdef _OPENMP
    return omp_in_parallel() ? omp_get_num_threads() : 1;
#else
    return 1;
#endif
}

static int probe_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape = n->in[0]->shape;
    return AE_OK;
}

static void probe_forward(ae_node *n)
{
    n->val[0] = n->in[0]->val[0];
    g_fwd_team = team();
}

static void probe_backward(ae_node *n)
{
    n->in[0]->grad[0] = (n->accum[0] ? n->in[0]->grad[0] : 0.0f) + n->grad[0];
    g_bwd_team = team();
}

static const ae_op op_probe = {.name = "probe", .infer = probe_infer, .forward = probe_forward,
                               .backward = probe_backward};

/* --- the nets: each declares its parameters, allocates and returns its scalar loss ----------- */
typedef struct tail {
    int w1, b1, w2, b2;
} tail;

static tail tail_decl(fx *f, int64_t k)
{
    return (tail){decl(f, "tw1", ae_shape2(8, k)), bias(f, "tb1", 8), decl(f, "tw2", ae_shape2(4, 8)), bias(f, "tb2", 4)};
}

/* Parameters U(-0.3, 0.3): tanh and sigmoid off saturation. */
static void alloc(fx *f, int64_t batch)
{
    fx_alloc(f, batch, 1);
    for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] *= 0.3f;
}

/* dense 8 (tanh) -> dense 4 (sigmoid) -> MSE: the last layer alone writes its W and b (deferred). */
static ae_node *tail_loss(fx *f, ae_node *h, tail t)
{
    ae_node *a = ae_dense(f->g, "t1", h, P(f, t.w1), P(f, t.b1), AE_ACT_TANH, &f->err);
    ae_node *y = ae_dense(f->g, "t2", a, P(f, t.w2), P(f, t.b2), AE_ACT_SIGMOID, &f->err);
    return y ? ae_mse(f->g, "mse", y, target(f, y->shape), AE_MEAN, &f->err) : NULL;
}

static int state_param(fx *f, const char *name, int64_t c, ae_param_kind kind)
{
    int i = ae_params_declare(f->ps, name, ae_shape_make(1, &c), 1, 1, kind, 0, &f->err);
    ck_assert_int_ge(i, 0);
    return i;
}

typedef struct bn_params {
    int g, b, m, v;
} bn_params;

static bn_params bn_decl(fx *f, int64_t c)
{
    return (bn_params){state_param(f, "bn_g", c, AE_PARAM_SCALE), state_param(f, "bn_b", c, AE_PARAM_SHIFT),
                       state_param(f, "bn_m", c, AE_PARAM_STATE), state_param(f, "bn_v", c, AE_PARAM_STATE_ONE)};
}

static ae_node *bn(fx *f, ae_node *x, bn_params p)
{
    return ae_batch_norm(f->g, "bn", x, P(f, p.g), P(f, p.b), P(f, p.m), P(f, p.v), 0.1f, 1e-4f, &f->err);
}

/* conv 2->4 3x3 with bias and ReLU (fwd, bwd-data, bwd-weights, bias add, eltwise, reorders). */
static ae_node *net_conv(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 2, 12, 12)), w = decl(f, "w", ae_shape4(4, 2, 3, 3)), b = bias(f, "b", 4);
    tail t = tail_decl(f, 4 * 144);
    alloc(f, 8);
    ae_node *h = ae_conv2d(f->g, "conv", P(f, x), P(f, w), P(f, b), 1, 1, AE_ACT_RELU, &f->err);
    return tail_loss(f, h, t);
}

/* transposed conv 4->2 3x3, stride 2, with bias and sigmoid (deconvolution fwd/bwd-data/bwd-weights). */
static ae_node *net_deconv(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 4, 6, 6)), w = decl(f, "w", ae_shape4(4, 2, 3, 3)), b = bias(f, "b", 2);
    tail t = tail_decl(f, 2 * 144);
    alloc(f, 8);
    ae_node *h = ae_conv_transpose2d(f->g, "deconv", P(f, x), P(f, w), P(f, b), 2, 1, 1, AE_ACT_SIGMOID, &f->err);
    return tail_loss(f, h, t);
}

/* conv without bias -> leaky ReLU -> max-pool -> nearest upsampling (pooling fwd/bwd). */
static ae_node *net_pool(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 1, 12, 12)), w = decl(f, "w", ae_shape4(4, 1, 5, 5));
    tail t = tail_decl(f, 4 * 144);
    alloc(f, 8);
    ae_node *h = ae_conv2d(f->g, "conv", P(f, x), P(f, w), NULL, 1, 2, AE_ACT_IDENTITY, &f->err);
    h = ae_max_pool2d(f->g, "pool", ae_activation(f->g, "act", h, AE_ACT_LEAKY_RELU, &f->err), 2, 2, 0, &f->err);
    return tail_loss(f, ae_upsample_nearest(f->g, "up", h, 2, &f->err), t);
}

/* conv -> batch norm -> leaky ReLU -> max-pool: the deadlock of 2026-12-03 (guarded: no lanes). */
static ae_node *net_bn(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 1, 12, 12)), w = decl(f, "w", ae_shape4(4, 1, 5, 5));
    bn_params p = bn_decl(f, 4);
    tail t = tail_decl(f, 4 * 36);
    alloc(f, 8);
    ae_node *h = bn(f, ae_conv2d(f->g, "conv", P(f, x), P(f, w), NULL, 1, 2, AE_ACT_IDENTITY, &f->err), p);
    h = ae_max_pool2d(f->g, "pool", ae_activation(f->g, "act", h, AE_ACT_LEAKY_RELU, &f->err), 2, 2, 0, &f->err);
    return tail_loss(f, h, t);
}

/* Ruff's DCAE in miniature: conv, BN, leaky ReLU, pool, dense code, dense, upsample, BN, transposed
 * conv with sigmoid, MSE to the input (guarded: no lanes). */
static ae_node *net_dcae(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 1, 12, 12)), w1 = decl(f, "w1", ae_shape4(4, 1, 5, 5));
    int e = decl(f, "e", ae_shape2(8, 4 * 36)), d = decl(f, "d", ae_shape2(4 * 36, 8));
    int w2 = decl(f, "w2", ae_shape4(4, 1, 5, 5));
    bn_params p1 = bn_decl(f, 4), p2 = bn_decl(f, 4);
    alloc(f, 8);
    ae_node *h = bn(f, ae_conv2d(f->g, "c1", P(f, x), P(f, w1), NULL, 1, 2, AE_ACT_IDENTITY, &f->err), p1);
    h = ae_max_pool2d(f->g, "pool", ae_activation(f->g, "a1", h, AE_ACT_LEAKY_RELU, &f->err), 2, 2, 0, &f->err);
    h = ae_dense(f->g, "code", h, P(f, e), NULL, AE_ACT_IDENTITY, &f->err);
    h = ae_dense(f->g, "dec", h, P(f, d), NULL, AE_ACT_IDENTITY, &f->err);
    h = ae_upsample_nearest(f->g, "up", ae_reshape(f->g, "rs", h, ae_shape4(8, 4, 6, 6), &f->err), 2, &f->err);
    h = ae_activation(f->g, "a2", bn(f, h, p2), AE_ACT_LEAKY_RELU, &f->err);
    h = ae_conv_transpose2d(f->g, "out", h, P(f, w2), NULL, 1, 2, 0, AE_ACT_SIGMOID, &f->err);
    return ae_mse(f->g, "mse", h, target(f, ae_shape4(8, 1, 12, 12)), AE_MEAN, &f->err);
}

/* W9-like 784-200-784 at batch 20: deferred dW slices, the forward products in halves on the
 * serving thread (ae_graph_pair) where they give the whole product's bits, a separate tanh eltwise. */
static ae_node *net_dense(fx *f)
{
    int x = decl(f, "x", ae_shape2(20, 784)), w1 = decl(f, "w1", ae_shape2(200, 784)), b1 = bias(f, "b1", 200);
    int w2 = decl(f, "w2", ae_shape2(784, 200)), b2 = bias(f, "b2", 784);
    alloc(f, 20);
    for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] *= 0.2f;
    ae_node *h = ae_dense(f->g, "d1", P(f, x), P(f, w1), P(f, b1), AE_ACT_TANH, &f->err);
    ae_node *y = ae_dense(f->g, "d2", h, P(f, w2), P(f, b2), AE_ACT_SIGMOID, &f->err);
    return ae_mse(f->g, "mse", y, target(f, ae_shape2(20, 784)), AE_MEAN, &f->err);
}

/* Logits into BCE (oneDNN's soft_relu and logistic eltwise primitives). */
static ae_node *net_bce_logits(fx *f)
{
    int x = decl(f, "x", ae_shape2(8, 16)), w1 = decl(f, "w1", ae_shape2(12, 16)), b1 = bias(f, "b1", 12);
    int w2 = decl(f, "w2", ae_shape2(16, 12)), b2 = bias(f, "b2", 16);
    alloc(f, 8);
    ae_node *h = ae_dense(f->g, "d1", P(f, x), P(f, w1), P(f, b1), AE_ACT_TANH, &f->err);
    ae_node *l = ae_dense(f->g, "d2", h, P(f, w2), P(f, b2), AE_ACT_IDENTITY, &f->err);
    return ae_bce_logits(f->g, "bce", l, target(f, ae_shape2(8, 16)), AE_MEAN, &f->err);
}

/* The importance-weighted bound's Bernoulli log-likelihood (the same eltwise primitives), k = 2. */
static ae_node *net_iwae(fx *f)
{
    int x = decl(f, "x", ae_shape2(8, 16)), w1 = decl(f, "w1", ae_shape2(12, 16)), b1 = bias(f, "b1", 12);
    int w2 = decl(f, "w2", ae_shape2(16, 12)), b2 = bias(f, "b2", 16);
    alloc(f, 8);
    ae_node *h = ae_dense(f->g, "d1", P(f, x), P(f, w1), P(f, b1), AE_ACT_TANH, &f->err);
    ae_node *l = ae_dense(f->g, "d2", h, P(f, w2), P(f, b2), AE_ACT_IDENTITY, &f->err);
    ae_node *ll = ae_bernoulli_loglik(f->g, "ll", l, target(f, ae_shape2(8, 16)), &f->err);
    return ae_neg_log_mean_exp(f->g, "nlme", &ll, 1, 2, &f->err);
}

typedef struct lane_case {
    const char *name;
    ae_node *(*build)(fx *f);
    int lanes;     /* 1: the step must run in the lanes; 0: an op of the net keeps it out (no_lanes) */
    int unblocked; /* convs in oneDNN's own threading (ae_conv_set_batch_blocks(0)) */
} lane_case;

static const lane_case CASES[] = {
    {"conv2d", net_conv, 1, 0},
    {"conv2d unblocked", net_conv, 1, 1},
    {"conv_transpose2d", net_deconv, 1, 0},
    {"conv_transpose2d unblocked", net_deconv, 1, 1},
    {"max_pool2d, leaky_relu, upsample", net_pool, 1, 0},
    {"batch_norm", net_bn, 0, 0},
    {"ruff dcae", net_dcae, 0, 0},
    {"dense (pair, deferred slices)", net_dense, 1, 0},
    {"bce_logits", net_bce_logits, 1, 0},
    {"bernoulli_loglik", net_iwae, 1, 0},
};

/* --- the runner -------------------------------------------------------------------------------- */
static const char *volatile g_case = "";

static void on_alarm(int sig)
{
    (void)sig;
    static const char a[] = "test_ops_lanes: the 2-thread steps of case \"", b[] = "\" did not finish (a deadlock)\n";
    const char *c = g_case;
    size_t n = 0;
    while (c[n]) n++;
    if (write(2, a, sizeof a - 1) < 0 || write(2, c, n) < 0 || write(2, b, sizeof b - 1) < 0) _exit(3);
    _exit(2);
}

typedef struct outcome {
    float *val, loss[STEPS];
    size_t n;
    int fwd_team[STEPS], bwd_team[STEPS];
    size_t tasks;
} outcome;

static size_t deferred_tasks(const ae_graph *g)
{
    size_t total = 0;
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        const ae_node *n = ae_graph_node(g, i);
        if (n->needs_grad && n->op->tasks) total += (size_t)n->op->tasks(n);
    }
    return total;
}

static void train(fx *f, ae_node *root, outcome *o)
{
    ae_optim_cfg c;
    ae_optim_defaults(&c, AE_OPT_ADAM);
    ae_optim opt;
    ck_assert_int_eq(ae_optim_init(&opt, &c, f->ps, &f->err), AE_OK);
    const unsigned char *done = ae_graph_fused_params(f->g);
    for (int s = 0; s < STEPS; s++) {
        ae_update u = {.fn = ae_optim_update, .ctx = &opt};
        g_fwd_team = g_bwd_team = 0;
        ae_optim_begin(&opt);
        ck_assert_msg(ae_graph_train_step(f->g, &u), "%s: loss not finite", g_case);
        ck_assert_int_eq(u.bad, 0);
        ck_assert(isfinite(ae_optim_finish(&opt, done)));
        o->loss[s] = root->val[0], o->fwd_team[s] = g_fwd_team, o->bwd_team[s] = g_bwd_team;
    }
    ae_optim_free(&opt);
}

/* The case's net on `threads`, STEPS Adam steps through ae_graph_train_step: the store after them
 * (every parameter, gradient and BN running statistic), the losses and where the probe ran. */
static outcome run(const lane_case *c, int threads)
{
    ae_set_threads(threads);
    fx f;
    fx_init(&f);
    if (c->unblocked) ae_conv_set_batch_blocks(0);
    ae_node *loss = c->build(&f);
    ae_node *root = loss ? ae_graph_add(f.g, &op_probe, "probe", &loss, 1, NULL, 0, NULL, 0, &f.err) : NULL;
    compile(&f, root);
    ae_conv_set_batch_blocks(1);
    outcome o = {.tasks = deferred_tasks(f.g)};
    if (threads > 1) alarm(ALARM_S);
    train(&f, root, &o);
    alarm(0);
    for (size_t i = 0; i < f.ps->n; i++) o.n += f.ps->p[i].n;
    float *v = o.val = malloc(2 * o.n * sizeof *v);
    for (size_t i = 0; i < f.ps->n; i++) { /* values and gradients, padding aside */
        memcpy(v, f.ps->val + f.ps->p[i].off, f.ps->p[i].n * sizeof *v);
        memcpy(v + o.n, f.ps->grad + f.ps->p[i].off, f.ps->p[i].n * sizeof *v);
        v += f.ps->p[i].n;
    }
    fx_free(&f);
    ae_set_threads(1);
    return o;
}

START_TEST(every_layer_in_the_lanes)
{
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    int threads = ae_get_threads();
    for (size_t k = 0; k < sizeof CASES / sizeof *CASES; k++) {
        const lane_case *c = &CASES[k];
        g_case = c->name;
        outcome one = run(c, 1), two = run(c, 2);
        ck_assert_msg(two.tasks > 0, "%s: no deferred tasks (the lanes need some)", c->name);
        for (int s = 0; s < STEPS; s++) {
            ck_assert_msg(one.fwd_team[s] == 1 && one.bwd_team[s] == 1, "%s: a region on 1 thread", c->name);
            /* in the lanes the step is one region of 2: forward and backward walk inside it */
            int want = c->lanes ? 2 : 1;
            ck_assert_msg(two.fwd_team[s] == want && two.bwd_team[s] == want,
                          "%s, step %d: forward in a team of %d, backward of %d (expected %d: %s)", c->name, s,
                          two.fwd_team[s], two.bwd_team[s], want, c->lanes ? "the lanes" : "no lanes");
            ck_assert_msg(memcmp(&one.loss[s], &two.loss[s], sizeof one.loss[s]) == 0,
                          "%s, step %d: loss %.9g on 1 thread, %.9g on 2", c->name, s, one.loss[s], two.loss[s]);
        }
        ck_assert_uint_eq(one.n, two.n);
        for (size_t i = 0; i < 2 * one.n; i++)
            ck_assert_msg(memcmp(&one.val[i], &two.val[i], sizeof *one.val) == 0,
                          "%s: %s %zu of %zu: %.9g on 1 thread, %.9g on 2", c->name, i < one.n ? "value" : "gradient",
                          i % one.n, one.n, one.val[i], two.val[i]);
        free(one.val);
        free(two.val);
    }
    ae_set_threads(threads);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_lanes");
    TCase *t = tcase_create("ops_lanes");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, every_layer_in_the_lanes);
    suite_add_tcase(s, t);
    int rc = ae_test_run(s);
    ae_dnnl_shutdown();
    return rc;
}
