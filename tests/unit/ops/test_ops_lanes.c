/* Every oneDNN-backed layer inside the graph's task lanes (ae_graph_train_step's one region on 2
 * threads: thread 0 walks the forward and the backward, the other serves deferred dW/db tasks), the
 * audit of framework/graph/README.md as a table of small nets: a primitive that synchronises an
 * OpenMP team from inside the region waits for the serving thread forever (batch norm, 2026-12-03).
 * Per case: the net qualifies for the lanes (a probe at the root records that the forward and the
 * backward ran inside a region of 2), three Adam steps on 2 threads finish before an alarm (a hang
 * fails the test instead of stalling the suite) and leave the same bytes as on 1 thread. The rule
 * over every op: each op table in a source file that runs oneDNN primitives is in some case's net. */
#include <dirent.h>
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

/* The DCAE's first conv (1->8 5x5, no bias: a channel-blocked output and a reorder on AVX-512) ->
 * leaky ReLU -> max-pool -> nearest upsampling (pooling fwd/bwd). */
static ae_node *net_pool(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 1, 12, 12)), w = decl(f, "w", ae_shape4(8, 1, 5, 5));
    tail t = tail_decl(f, 8 * 144);
    alloc(f, 8);
    ae_node *h = ae_conv2d(f->g, "conv", P(f, x), P(f, w), NULL, 1, 2, AE_ACT_IDENTITY, &f->err);
    h = ae_max_pool2d(f->g, "pool", ae_activation(f->g, "act", h, AE_ACT_LEAKY_RELU, &f->err), 2, 2, 0, &f->err);
    return tail_loss(f, ae_upsample_nearest(f->g, "up", h, 2, &f->err), t);
}

/* transposed conv 4->8 5x5, stride 1, with bias (the DCAE decoder's: another kernel family). */
static ae_node *net_deconv_wide(fx *f)
{
    int x = decl(f, "x", ae_shape4(8, 4, 6, 6)), w = decl(f, "w", ae_shape4(4, 8, 5, 5)), b = bias(f, "b", 8);
    tail t = tail_decl(f, 8 * 36);
    alloc(f, 8);
    ae_node *h = ae_conv_transpose2d(f->g, "deconv", P(f, x), P(f, w), P(f, b), 1, 2, 0, AE_ACT_RELU, &f->err);
    return tail_loss(f, h, t);
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

/* Logits into BCE (oneDNN's soft_relu and logistic eltwise primitives) beside a sigmoid layer into
 * BCE on probabilities, in a weighted sum. */
static ae_node *net_bce(fx *f)
{
    int x = decl(f, "x", ae_shape2(8, 16)), w1 = decl(f, "w1", ae_shape2(12, 16)), b1 = bias(f, "b1", 12);
    int w2 = decl(f, "w2", ae_shape2(16, 12)), b2 = bias(f, "b2", 16), w3 = decl(f, "w3", ae_shape2(16, 12));
    alloc(f, 8);
    ae_node *h = ae_dense(f->g, "d1", P(f, x), P(f, w1), P(f, b1), AE_ACT_TANH, &f->err);
    ae_node *l = ae_dense(f->g, "d2", h, P(f, w2), P(f, b2), AE_ACT_IDENTITY, &f->err);
    ae_node *p = ae_dense(f->g, "d3", h, P(f, w3), NULL, AE_ACT_SIGMOID, &f->err);
    ae_node *t = target(f, ae_shape2(8, 16));
    ae_node *terms[2] = {ae_bce_logits(f->g, "bcel", l, t, AE_MEAN, &f->err), ae_bce(f->g, "bce", p, t, AE_MEAN, &f->err)};
    return ae_weighted_sum(f->g, "sum", terms, (float[]){0.7f, 1.3f}, 2, &f->err);
}

/* The importance-weighted bound's ops, k = 2 samples of 4 rows: rows repeated, the Bernoulli
 * log-likelihood of logits (the same eltwise primitives), the gaussian log-ratio, the bound. */
static ae_node *net_iwae(fx *f)
{
    int x = decl(f, "x", ae_shape2(4, 16)), w1 = decl(f, "w1", ae_shape2(12, 16)), b1 = bias(f, "b1", 12);
    int w2 = decl(f, "w2", ae_shape2(16, 12)), b2 = bias(f, "b2", 16), wm = decl(f, "wm", ae_shape2(4, 12));
    int wv = decl(f, "wv", ae_shape2(4, 12)), z = decl(f, "z", ae_shape2(8, 4));
    alloc(f, 8);
    ae_node *r = ae_repeat_rows(f->g, "rep", P(f, x), 2, &f->err);
    ae_node *h = ae_dense(f->g, "d1", r, P(f, w1), P(f, b1), AE_ACT_TANH, &f->err);
    ae_node *l = ae_dense(f->g, "d2", h, P(f, w2), P(f, b2), AE_ACT_IDENTITY, &f->err);
    ae_node *mu = ae_dense(f->g, "mu", h, P(f, wm), NULL, AE_ACT_IDENTITY, &f->err);
    ae_node *lv = ae_dense(f->g, "lv", h, P(f, wv), NULL, AE_ACT_IDENTITY, &f->err);
    ae_node *w[2] = {ae_bernoulli_loglik(f->g, "ll", l, target(f, ae_shape2(8, 16)), &f->err),
                     ae_normal_log_ratio(f->g, "lr", P(f, z), mu, lv, &f->err)};
    return ae_neg_log_mean_exp(f->g, "nlme", w, 2, 2, &f->err);
}

enum { UNBLOCKED = 1, REORDERS = 2 };

typedef struct lane_case {
    const char *name;
    ae_node *(*build)(fx *f);
    int lanes; /* 1: the step must run in the lanes; 0: an op of the net keeps it out (no_lanes) */
    int conv;  /* UNBLOCKED: convs in oneDNN's own threading (ae_conv_set_batch_blocks(0));
                  REORDERS: layout changes by oneDNN's reorders, not table gathers (gather limit 0) */
} lane_case;

static const lane_case CASES[] = {
    {"conv2d", net_conv, 1, 0},
    {"conv2d unblocked", net_conv, 1, UNBLOCKED},
    {"conv2d reorders", net_conv, 1, REORDERS},
    {"conv_transpose2d", net_deconv, 1, 0},
    {"conv_transpose2d unblocked", net_deconv, 1, UNBLOCKED},
    {"conv_transpose2d 5x5", net_deconv_wide, 1, 0},
    {"conv_transpose2d 5x5 reorders", net_deconv_wide, 1, REORDERS},
    {"max_pool2d, leaky_relu, upsample", net_pool, 1, 0},
    {"max_pool2d, leaky_relu, upsample, reorders", net_pool, 1, REORDERS},
    {"batch_norm", net_bn, 0, 0},
    {"ruff dcae", net_dcae, 0, 0},
    {"dense (pair, deferred slices)", net_dense, 1, 0},
    {"bce_logits, bce", net_bce, 1, 0},
    {"iwae bound", net_iwae, 1, 0},
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
    if (c->conv & UNBLOCKED) ae_conv_set_batch_blocks(0);
    if (c->conv & REORDERS) ae_conv_set_gather_limit(0);
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

/* --- the rule: every op that runs oneDNN primitives has a case ---------------------------------- */
enum { MAX_OPS = 64 };

typedef struct names {
    const char *v[MAX_OPS];
    int n;
} names;

static void add_name(names *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], name)) return;
    ck_assert_int_lt(s->n, MAX_OPS);
    s->v[s->n++] = name;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot read %s", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    rewind(fp);
    char *t = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(t, 1, (size_t)len, fp), (size_t)len);
    t[len] = 0;
    fclose(fp);
    return t;
}

/* Op tables (`ae_op NAME = {.name = "..."`) of the .c files under dir (one level of subfolders
 * too) that execute oneDNN primitives, into *out with their file. Returns how many files did. */
static int onednn_ops(const char *dir, int depth, names *out, names *files)
{
    static const char *const runs[] = {"dnnl_primitive_execute", "ae_matmul_run", "ae_eltwise_run"};
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot list %s", dir);
    int found = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[512];
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 2, ".c")) {
            DIR *sub = depth ? opendir(path) : NULL;
            if (sub) closedir(sub), found += onednn_ops(path, depth - 1, out, files);
            continue;
        }
        char *t = slurp(path);
        int onednn = 0;
        for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) onednn |= strstr(t, runs[r]) != NULL;
        for (char *p = t; onednn && (p = strstr(p, "= {.name = \"")); p++) {
            char *line = p;
            while (line > t && line[-1] != '\n') line--;
            char *q = p + strlen("= {.name = \""), *end = strchr(q, '"');
            if (!end || !strstr(line, "ae_op ") || strstr(line, "ae_op ") > p) continue;
            ck_assert_int_lt(out->n, MAX_OPS);
            files->v[out->n] = strdup(path);
            out->v[out->n++] = strndup(q, (size_t)(end - q));
        }
        found += onednn;
        free(t);
    }
    closedir(d);
    return found;
}

START_TEST(every_onednn_op_has_a_case)
{
    names covered = {0}, ops = {0};
    for (size_t k = 0; k < sizeof CASES / sizeof *CASES; k++) {
        fx f;
        fx_init(&f);
        ck_assert_msg(CASES[k].build(&f) != NULL, "%s: %s", CASES[k].name, f.err.msg);
        for (size_t i = 0; i < ae_graph_size(f.g); i++) add_name(&covered, ae_graph_node(f.g, i)->op->name);
        fx_free(&f);
    }
    names where = {0};
    int files = onednn_ops(AELAB_SOURCE_DIR "/framework/ops", 0, &ops, &where) +
                onednn_ops(AELAB_SOURCE_DIR "/variants", 1, &ops, &where);
    ck_assert_int_ge(files, 6); /* conv, dense, norm, pool, loss, iwae at least: the scan works */
    ck_assert_int_ge(ops.n, 10);
    for (int i = 0; i < ops.n; i++) {
        int seen = 0;
        for (int j = 0; j < covered.n; j++) seen |= !strcmp(ops.v[i], covered.v[j]);
        ck_assert_msg(seen, "op %s (%s) runs oneDNN primitives but no case of test_ops_lanes.c trains it in "
                      "the lanes (add one; an op whose primitives wait for a whole team sets ae_op.no_lanes)",
                      ops.v[i], where.v[i]);
    }
    for (int i = 0; i < ops.n; i++) free((char *)ops.v[i]), free((char *)where.v[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_lanes");
    TCase *t = tcase_create("ops_lanes");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, every_layer_in_the_lanes);
    tcase_add_test(t, every_onednn_op_has_a_case);
    suite_add_tcase(s, t);
    int rc = ae_test_run(s);
    ae_dnnl_shutdown();
    return rc;
}
