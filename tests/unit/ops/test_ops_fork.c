/* A dense layer read by two dense layers (issue 17, fuse.c's plan_fork: a VAE's encoder and its mu and
 * log-variance heads) runs, split in row blocks on 2 threads, the heads' forward, dX and dW in its own
 * regions. Checked: the fork forms on 2 threads only; the forked graph gives the same bytes whether
 * 2 threads or 1 run its blocks; its values, loss and every gradient match the same net compiled on one
 * thread (each layer alone) within a reduction's rounding; its gradients pass a finite-difference check;
 * a fork's head does not fork again, and heads sharing a weight do not fork. */
#include "ops_fixture.h"
#include "ae_penalty.h"
#include "../framework/ops/dense_internal.h"

enum { FK = 784, FH = 400, FL = 20, NOISE_SEED = 5 };

typedef struct net {
    fx f;
    ae_rng *noise;
    ae_node *e, *mu, *lv, *loss;
} net;

/* x -> e (FK -> FH, ReLU) -> mu, lv (FH -> FL each) -> z = reparam(mu, lv) (z = mu with use_mean);
 * loss = mse(z, t) + KL(mu, lv) (+ an L1 penalty on e, a third reader, with l1). x is a parameter
 * (with a gradient) when xgrad, else an input with the same values. Compiled on `threads`. */
static void build_l1(net *t, int64_t n, int xgrad, int use_mean, int threads, int l1)
{
    ae_set_threads(threads);
    fx *f = &t->f;
    fx_init(f);
    int xi = decl(f, "x", ae_shape2(n, FK)), w0 = decl(f, "w0", ae_shape2(FH, FK));
    int b0 = decl(f, "b0", ae_shape_make(1, (int64_t[]){FH})), wm = decl(f, "wm", ae_shape2(FL, FH));
    int bm = decl(f, "bm", ae_shape_make(1, (int64_t[]){FL})), wl = decl(f, "wl", ae_shape2(FL, FH));
    int bl = decl(f, "bl", ae_shape_make(1, (int64_t[]){FL})), ti = decl(f, "t", ae_shape2(n, FL));
    fx_alloc(f, n, -0.05f, 0.05f);
    for (size_t i = 0; i < f->ps->p[xi].n; i++) f->ps->val[f->ps->p[xi].off + i] += 0.5f; /* x in (0.45, 0.55) */
    ae_node *x = xgrad ? ae_graph_param(f->g, xi, &f->err) : ae_graph_input(f->g, "xin", ae_shape2(n, FK), &f->err);
    t->e = ae_dense(f->g, "e", x, ae_graph_param(f->g, w0, &f->err), ae_graph_param(f->g, b0, &f->err), AE_ACT_RELU,
                    &f->err);
    t->mu = ae_dense(f->g, "mu", t->e, ae_graph_param(f->g, wm, &f->err), ae_graph_param(f->g, bm, &f->err),
                     AE_ACT_IDENTITY, &f->err);
    t->lv = ae_dense(f->g, "lv", t->e, ae_graph_param(f->g, wl, &f->err), ae_graph_param(f->g, bl, &f->err),
                     AE_ACT_IDENTITY, &f->err);
    t->noise = ae_rng_new(NOISE_SEED);
    ae_node *z = ae_reparam(f->g, "z", t->mu, t->lv, t->noise, use_mean, &f->err);
    ae_node *terms[3] = {sq_loss(f, z, ti), ae_kl_normal(f->g, "kl", t->mu, t->lv, &f->err),
                         l1 ? ae_l1_penalty(f->g, "l1", t->e, 0.01f, &f->err) : NULL};
    t->loss = ae_weighted_sum(f->g, "sum", terms, (float[]){1.0f, 1.0f, 1.0f}, 2 + l1, &f->err);
    ck_assert_msg(t->loss && ae_graph_compile(f->g, t->loss, &f->err) == AE_OK, "%s", f->err.msg);
    if (!xgrad) /* the input: the parameter x's values */
        memcpy(x->val, f->ps->val + f->ps->p[xi].off, (size_t)(n * FK) * sizeof(float));
}

static void build(net *t, int64_t n, int xgrad, int use_mean, int threads) { build_l1(t, n, xgrad, use_mean, threads, 0); }

static void net_free(net *t)
{
    fx_free(&t->f);
    ae_rng_free(t->noise);
}

/* One forward and backward: the loss, every gradient and the heads' values, into one new buffer. */
static float *step(net *t, float *loss)
{
    ae_graph_forward_loss(t->f.g);
    ae_graph_backward(t->f.g);
    *loss = t->loss->val[0];
    const size_t tot = t->f.ps->total, h = t->mu->numel;
    float *g = malloc((tot + 2 * h) * sizeof *g);
    memcpy(g, t->f.ps->grad, tot * sizeof *g);
    memcpy(g + tot, t->mu->val, h * sizeof *g);
    memcpy(g + tot + h, t->lv->val, h * sizeof *g);
    return g;
}

static int is_split(const ae_node *d) { return ((const dense_state *)d->state)->split; }
static int units(const ae_node *d) { return ((const dense_state *)d->state)->units; }

/* Forked against each layer alone: the same products, in row blocks on one side (oneDNN's kernels may
 * round a block's sums otherwise): each gradient within the float error of the encoder's dW reduction
 * over the batch after the heads' dX over FH and FL terms, each head within that of its FK + FH sums. */
static void assert_close(const net *t, const float *ga, const float *gb, int64_t n, const char *what)
{
    const ae_params *ps = t->f.ps;
    for (size_t i = 0; i <= ps->n; i++) {
        const size_t off = i < ps->n ? ps->p[i].off : ps->total, len = i < ps->n ? ps->p[i].n : 2 * t->mu->numel;
        const float *a = ga + off, *b = gb + off;
        double tol = ae_test_tol_reduce((size_t)(FK + FH + 2 * FL + n), ae_test_absmax(a, len)), worst = 0.0;
        for (size_t j = 0; j < len; j++) worst = fmax(worst, fabs((double)a[j] - (double)b[j]));
        ck_assert_msg(worst <= tol, "%s: %s differs by %g (tolerance %g)", what, i < ps->n ? ps->p[i].name : "mu, lv",
                      worst, tol);
    }
}

/* 128 rows: 2 blocks of 64 (W4's shape); 145 rows: blocks of 49, 49 and a shorter 47, with x's
 * gradient (the encoder's dX in its blocks too). */
START_TEST(fork_same_as_alone)
{
    int saved = ae_get_threads();
    const struct { int64_t n; int xgrad; } cases[] = {{128, 0}, {145, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const int64_t n = cases[c].n;
        net a, b, u;
        build(&a, n, cases[c].xgrad, 0, 2);
        build(&b, n, cases[c].xgrad, 0, 2);
        build(&u, n, cases[c].xgrad, 0, 1);
        ck_assert_msg(a.e->fuse.fork[0] == a.mu && a.e->fuse.fork[1] == a.lv && a.mu->fuse.fork_of == a.e,
                      "case %zu: no fork on 2 threads", c);
        ck_assert(is_split(a.e) && is_split(a.mu) && is_split(a.lv));
        ck_assert(a.e->threads == 0 && a.mu->threads == 0 && a.lv->threads == 0);
        ck_assert_msg(units(a.e) && units(a.mu) && units(a.lv), "case %zu: the fork not run by units", c);
        ck_assert(!units(u.e) && !units(u.mu));
        ck_assert_msg(!u.e->fuse.fork[0] && !u.mu->fuse.fork_of && !is_split(u.e), "case %zu: a fork on 1 thread", c);
        const size_t len = a.f.ps->total + 2 * a.mu->numel;
        float la, lb, lu;
        float *ga = step(&a, &la);
        ae_set_threads(1); /* the 2-thread graph's blocks on one thread */
        float *gb = step(&b, &lb), *gu = step(&u, &lu);
        ck_assert_msg(!memcmp(&la, &lb, sizeof la), "case %zu: loss on 2 and 1 threads", c);
        ck_assert_msg(!memcmp(ga, gb, len * sizeof *ga), "case %zu: gradients or heads on 2 and 1 threads", c);
        ck_assert_msg(fabs((double)la - lu) <= ae_test_tol_reduce((size_t)(FK + FH + n * FL), fabs((double)lu)),
                      "case %zu: loss %.9g, alone %.9g", c, la, lu);
        char what[32];
        snprintf(what, sizeof what, "case %zu", c);
        assert_close(&a, ga, gu, n, what);
        free(ga), free(gb), free(gu);
        net_free(&a), net_free(&b), net_free(&u);
    }
    ae_set_threads(saved);
}
END_TEST

/* No fork with a third reader of the encoder, nor with one thread's batch (no split). */
START_TEST(fork_refused)
{
    int saved = ae_get_threads();
    net t;
    build(&t, 40, 1, 1, 2); /* 40 rows: too few to split (blocks of at least 48) */
    ck_assert_ptr_null(t.e->fuse.fork[0]);
    ck_assert_ptr_null(t.mu->fuse.fork_of);
    net_free(&t);
    build_l1(&t, 128, 1, 1, 2, 1);
    ck_assert_ptr_null(t.e->fuse.fork[0]);
    ck_assert_ptr_null(t.lv->fuse.fork_of);
    net_free(&t);
    ae_set_threads(saved);
}
END_TEST

/* The forked graph's gradients against finite differences (z = mu: no noise between evaluations). */
START_TEST(fork_gradcheck)
{
    int saved = ae_get_threads();
    net t;
    build(&t, 128, 1, 1, 2);
    ck_assert(t.e->fuse.fork[0] == t.mu);
    double e = ae_test_gradcheck(t.f.g, t.loss, t.f.ps, NULL, 1e-2f, 40, 1e-2);
    ck_assert_msg(e < 2e-2, "gradient error %g", e);
    net_free(&t);
    ae_set_threads(saved);
}
END_TEST

/* x -> e -> {a, b}; a -> {c, d} (a fork's head read by two dense layers), or, with tied, b sharing a's
 * weight: e forks {a, b}, a must not fork again (its heads would never run: they wait for a's blocks,
 * which e's fork runs without them), and tied heads must not fork (their dW slices would race).
 * Returns the 2-thread graph's largest difference in c from the same net on one thread. */
static double nested(int tied, int *e_forks, int *a_forks)
{
    enum { NA = 200 };
    const int64_t n = 128;
    double worst = 0.0;
    fx f2[2];
    ae_node *c[2], *e = NULL, *a = NULL;
    for (int k = 0; k < 2; k++) {
        ae_set_threads(k ? 1 : 2);
        fx *f = &f2[k];
        fx_init(f);
        int w0 = decl(f, "w0", ae_shape2(FH, FK)), wa = decl(f, "wa", ae_shape2(NA, FH)),
            wb = decl(f, "wb", ae_shape2(NA, FH)), wc = decl(f, "wc", ae_shape2(FL, NA)),
            wd = decl(f, "wd", ae_shape2(FL, NA)), tb = decl(f, "tb", ae_shape2(n, NA)),
            tc = decl(f, "tc", ae_shape2(n, FL)), td = decl(f, "td", ae_shape2(n, FL)), xi = decl(f, "x", ae_shape2(n, FK));
        fx_alloc(f, n, -0.05f, 0.05f);
        ae_node *x = ae_graph_param(f->g, xi, &f->err);
        ae_node *ek = ae_dense(f->g, "e", x, ae_graph_param(f->g, w0, &f->err), NULL, AE_ACT_RELU, &f->err);
        ae_node *ak = ae_dense(f->g, "a", ek, ae_graph_param(f->g, wa, &f->err), NULL, AE_ACT_RELU, &f->err);
        ae_node *bk = ae_dense(f->g, "b", ek, ae_graph_param(f->g, tied ? wa : wb, &f->err), NULL, AE_ACT_IDENTITY,
                               &f->err);
        c[k] = ae_dense(f->g, "c", ak, ae_graph_param(f->g, wc, &f->err), NULL, AE_ACT_IDENTITY, &f->err);
        ae_node *d = ae_dense(f->g, "d", ak, ae_graph_param(f->g, wd, &f->err), NULL, AE_ACT_IDENTITY, &f->err);
        ae_node *terms[3] = {sq_loss(f, bk, tb), sq_loss(f, c[k], tc), sq_loss(f, d, td)};
        ae_node *loss = ae_weighted_sum(f->g, "sum", terms, (float[]){1.0f, 1.0f, 1.0f}, 3, &f->err);
        ck_assert_msg(loss && ae_graph_compile(f->g, loss, &f->err) == AE_OK, "%s", f->err.msg);
        if (!k) e = ek, a = ak;
        ae_graph_forward_loss(f->g);
        ae_graph_backward(f->g);
    }
    *e_forks = e->fuse.fork[0] != NULL;
    *a_forks = a->fuse.fork[0] != NULL;
    for (size_t i = 0; i < c[0]->numel; i++) worst = fmax(worst, fabs((double)c[0]->val[i] - c[1]->val[i]));
    const double tol = ae_test_tol_reduce((size_t)(FK + FH + NA), ae_test_absmax(c[1]->val, c[1]->numel));
    fx_free(&f2[0]), fx_free(&f2[1]);
    return worst / tol;
}

START_TEST(fork_not_nested_nor_tied)
{
    int saved = ae_get_threads(), ef, af;
    double r = nested(0, &ef, &af);
    ck_assert_msg(ef && !af, "nested: e forks %d (want 1), a forks %d (want 0)", ef, af);
    ck_assert_msg(r <= 1.0, "nested: c differs from one thread's by %g tolerances", r);
    nested(1, &ef, &af);
    ck_assert_msg(!ef, "tied heads forked");
    ae_set_threads(saved);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_fork");
    TCase *t = tcase_create("ops_fork");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, fork_same_as_alone);
    tcase_add_test(t, fork_refused);
    tcase_add_test(t, fork_gradcheck);
    tcase_add_test(t, fork_not_nested_nor_tied);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
