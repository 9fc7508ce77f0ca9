/* Every oneDNN-backed layer inside the graph's task lanes (ae_graph_train_step's one region on 2
 * threads: thread 0 walks the forward and the backward, the other serves deferred dW/db tasks), the
 * audit of framework/graph/README.md as a table of small nets: a primitive that synchronises an
 * OpenMP team from inside the region waits for the serving thread forever (batch norm, 2026-12-03).
 * Per case: the net qualifies for the lanes (a probe at the root records that the forward and the
 * backward ran inside a region of 2), three Adam steps on 2 threads finish before an alarm (a hang
 * fails the test instead of stalling the suite) and leave the same bytes as on 1 thread; again with
 * oneDNN capped at AVX2 and at SSE4.1 (other machines' implementations). The rule over every op:
 * each op table in a source file that runs oneDNN primitives is in some case's net. */
#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ae_optim.h"
#include "lanes_cases.h"

enum { STEPS = 3, ALARM_S = 60 }; /* a case takes well under a second */

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
    ae_graph_set_lanes(f.g, AE_LANES_ON); /* the region every step, not the controller's choice */
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

/* oneDNN picks other implementations on other machines: the cases again in a child process each with
 * oneDNN capped at AVX2 and at SSE4.1 (DNNL_MAX_CPU_ISA is read once per process). */
START_TEST(other_isas)
{
    extern char **environ;
    if (getenv("DNNL_MAX_CPU_ISA")) return; /* a child (or a capped run) */
    static const char *const isas[] = {"DNNL_MAX_CPU_ISA=AVX2", "DNNL_MAX_CPU_ISA=SSE41"};
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 3, sizeof *env);
    memcpy(env, environ, n * sizeof *env);
    env[n + 1] = "CK_RUN_CASE=ops_lanes";
    for (size_t k = 0; k < sizeof isas / sizeof *isas; k++) {
        env[n] = (char *)isas[k];
        char *argv[] = {"test_ops_lanes", NULL};
        pid_t pid;
        int st = 0;
        ck_assert_int_eq(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, env), 0);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "with %s the cases failed (status %d)", isas[k], st);
    }
    free(env);
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
    TCase *isa = tcase_create("other_isas");
    tcase_set_timeout(isa, 600);
    tcase_add_test(isa, other_isas);
    suite_add_tcase(s, isa);
    int rc = ae_test_run(s);
    ae_dnnl_shutdown();
    return rc;
}
