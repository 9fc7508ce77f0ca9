/* A split dense chain run by output units (issue 17, dense_units.c): chosen on 2 threads for a plain
 * chain (tanh too) and not on 1 or for a member it cannot run; its gradients against finite differences and,
 * within the rounding of dX's sum in parts, against the 1-thread graph; the same bytes whether 2
 * threads or 1 run the 2-thread graph's parts, and from step to step; one oneDNN stream for every
 * thread that first asks for it at once. */
#include <omp.h>

#include "ae_dnnl.h"
#include "ae_par.h"
#include "ops_fixture.h"
#include "../framework/ops/dense_internal.h"

enum { N = 128, K = 784, L = 4 };

/* x -> 256 ReLU -> 64 sigmoid (or tanh, leaky ReLU) -> 30 identity -> K logits, BCE on logits to a target; or the
 * same with a sigmoid output and MSE. */
static const int64_t WIDTH[L] = {256, 64, 30, K}; /* 30: parts of 16 and 14 columns */

typedef struct net {
    fx f;
    ae_node *d[L], *loss, *x, *t;
} net;

static void build(net *u, int threads, ae_act mid, int mse)
{
    ae_set_threads(threads);
    fx *f = &u->f;
    fx_init(f);
    int wi[L], bi[L];
    for (int l = 0; l < L; l++) {
        char wn[8], bn[8];
        snprintf(wn, sizeof wn, "w%d", l), snprintf(bn, sizeof bn, "b%d", l);
        wi[l] = decl(f, wn, ae_shape2(WIDTH[l], l ? WIDTH[l - 1] : K));
        bi[l] = decl(f, bn, ae_shape_make(1, (int64_t[]){WIDTH[l]}));
    }
    fx_alloc(f, N, -0.08f, 0.08f);
    u->x = ae_graph_input(f->g, "x", ae_shape2(N, K), &f->err);
    u->t = ae_graph_input(f->g, "t", ae_shape2(N, K), &f->err);
    ae_node *h = u->x;
    const ae_act act[L] = {AE_ACT_RELU, mid, AE_ACT_IDENTITY, mse ? AE_ACT_SIGMOID : AE_ACT_IDENTITY};
    for (int l = 0; l < L; l++)
        h = u->d[l] = ae_dense(f->g, "d", h, ae_graph_param(f->g, wi[l], &f->err), ae_graph_param(f->g, bi[l], &f->err),
                               act[l], &f->err);
    u->loss = mse ? ae_mse(f->g, "loss", h, u->t, AE_MEAN, &f->err) : ae_bce_logits(f->g, "loss", h, u->t, AE_MEAN, &f->err);
    ck_assert_msg(u->loss && ae_graph_compile(f->g, u->loss, &f->err) == AE_OK, "%s", f->err.msg);
    ae_rng *r = ae_rng_new(3);
    for (int64_t i = 0; i < N * K; i++) u->x->val[i] = (float)ae_rng_uniform(r);
    for (int64_t i = 0; i < N * K; i++) u->t->val[i] = (float)ae_rng_uniform(r) < 0.3f ? 1.0f : 0.0f;
    ae_rng_free(r);
}

static int units(const ae_node *d) { return ((const dense_state *)d->state)->units; }

static float *step(net *u, float *loss) { return fx_grads(&u->f, u->loss, loss); }

/* The parts' first products may be the process's first use of oneDNN, on every thread of the region
 * at once: they all get the one engine and stream (two threads once both made a stream and one leaked,
 * which LeakSanitizer caught in CI). First in the suite, before any primitive exists. */
START_TEST(units_stream_first_use)
{
    enum { T = 4 };
    dnnl_stream_t seen[T] = {0};
    ae_dnnl_shutdown();
#pragma omp parallel num_threads(T)
    {
#pragma omp barrier
        seen[omp_get_thread_num()] = ae_dnnl_stream();
    }
    for (int t = 0; t < T; t++)
        ck_assert_msg(seen[t] && seen[t] == seen[0], "thread %d: stream %p, thread 0's %p", t, (void *)seen[t],
                      (void *)seen[0]);
    ck_assert_ptr_eq(ae_dnnl_stream(), seen[0]);
}
END_TEST

START_TEST(units_chosen)
{
    int saved = ae_get_threads();
    net u;
    build(&u, 2, AE_ACT_SIGMOID, 0);
    for (int l = 0; l < L; l++) ck_assert_msg(units(u.d[l]), "layer %d not run by units", l);
    ck_assert_ptr_eq(u.d[L - 1]->fuse.loss_tail, u.loss);
    fx_free(&u.f);
    build(&u, 1, AE_ACT_SIGMOID, 0);
    for (int l = 0; l < L; l++) ck_assert(!units(u.d[l]));
    fx_free(&u.f);
    build(&u, 2, AE_ACT_TANH, 0); /* tanh: oneDNN's eltwise on each part's Y */
    for (int l = 0; l < L; l++) ck_assert(units(u.d[l]));
    fx_free(&u.f);
    build(&u, 2, AE_ACT_LEAKY_RELU, 0); /* not one of the part's activations: the chain keeps row blocks */
    ck_assert(((const dense_state *)u.d[0]->state)->split);
    for (int l = 0; l < L; l++) ck_assert(!units(u.d[l]));
    fx_free(&u.f);
    ae_set_threads(saved);
}
END_TEST

START_TEST(units_gradcheck)
{
    int saved = ae_get_threads();
    for (int v = 0; v < 3; v++) { /* BCE tail, sigmoid + MSE, a tanh layer */
        const int mse = v == 1;
        net u;
        build(&u, 2, v == 2 ? AE_ACT_TANH : AE_ACT_SIGMOID, mse);
        ck_assert(units(u.d[0]));
        double e = ae_test_gradcheck(u.f.g, u.loss, u.f.ps, NULL, 1e-2f, 40, 1e-2);
        ck_assert_msg(e < 2e-2, "case %d: gradient error %g", v, e);
        fx_free(&u.f);
    }
    ae_set_threads(saved);
}
END_TEST

/* Against the 1-thread graph (whole products): dX is the sum of the parts' terms, so each gradient
 * is within the float error of a dX reduction over K terms carried through a dW reduction over the
 * batch, (K + N) eps times its largest entry; the loss is the same sum of the same logits' terms
 * within N·K eps. */
START_TEST(units_near_one_thread)
{
    int saved = ae_get_threads();
    for (int mse = 0; mse < 2; mse++) {
        net a, b;
        float la, lb;
        build(&a, 2, AE_ACT_SIGMOID, mse);
        build(&b, 1, AE_ACT_SIGMOID, mse);
        float *ga = step(&a, &la), *gb = step(&b, &lb);
        ck_assert_msg(fabs((double)la - lb) <= ae_test_tol_reduce(N * K, fabs((double)lb)), "loss %.9g vs %.9g", la, lb);
        fx_assert_near(a.f.ps, ga, gb, gb, K + N, mse ? "mse" : "bce");
        free(ga), free(gb);
        fx_free(&a.f), fx_free(&b.f);
    }
    ae_set_threads(saved);
}
END_TEST

/* The parts are fixed at compile: one thread running both (AELAB_LANES=off's limit) gives the bytes
 * of two, and a second step the bytes of the first. */
START_TEST(units_same_bytes_any_team)
{
    int saved = ae_get_threads();
    net u;
    build(&u, 2, AE_ACT_SIGMOID, 0);
    const size_t bytes = u.f.ps->total * sizeof(float);
    float l2, l1, l2b;
    float *g2 = step(&u, &l2);
    int lim = ae_par_limit(1);
    float *g1 = step(&u, &l1);
    ae_par_restore(lim);
    float *g2b = step(&u, &l2b);
    ck_assert(memcmp(&l1, &l2, sizeof l1) == 0 && memcmp(&l2b, &l2, sizeof l2) == 0);
    ck_assert_msg(memcmp(g1, g2, bytes) == 0, "one thread's gradients differ from two threads'");
    ck_assert_msg(memcmp(g2b, g2, bytes) == 0, "a second step's gradients differ");
    free(g1), free(g2), free(g2b);
    fx_free(&u.f);
    ae_set_threads(saved);
}
END_TEST

/* z (a narrow parameter, N x 20) -> 64 sigmoid -> K logits, BCE on logits; compiled on `threads`. */
typedef struct znet {
    fx f;
    ae_node *h, *y, *loss;
} znet;

static void build_z(znet *u, int threads)
{
    enum { Z = 20, H = 64 };
    ae_set_threads(threads);
    fx *f = &u->f;
    fx_init(f);
    int zi = decl(f, "z", ae_shape2(N, Z)), w0 = decl(f, "w0", ae_shape2(H, Z)), b0 = decl(f, "b0", ae_shape_make(1, (int64_t[]){H}));
    int w1 = decl(f, "w1", ae_shape2(K, H)), b1 = decl(f, "b1", ae_shape_make(1, (int64_t[]){K}));
    fx_alloc(f, N, -0.3f, 0.3f);
    ae_node *t = ae_graph_input(f->g, "t", ae_shape2(N, K), &f->err);
    u->h = ae_dense(f->g, "d0", ae_graph_param(f->g, zi, &f->err), ae_graph_param(f->g, w0, &f->err),
                    ae_graph_param(f->g, b0, &f->err), AE_ACT_SIGMOID, &f->err);
    u->y = ae_dense(f->g, "d1", u->h, ae_graph_param(f->g, w1, &f->err), ae_graph_param(f->g, b1, &f->err), AE_ACT_IDENTITY,
                    &f->err);
    u->loss = ae_bce_logits(f->g, "loss", u->y, t, AE_MEAN, &f->err);
    ck_assert_msg(u->loss && ae_graph_compile(f->g, u->loss, &f->err) == AE_OK, "%s", f->err.msg);
    for (int64_t i = 0; i < N * K; i++) t->val[i] = (float)(i % 3 == 0);
}

static float *zstep(znet *u, float *loss) { return fx_grads(&u->f, u->loss, loss); }

/* A chain whose input is a narrow parameter (its gradient summed in parts of its own columns, 16 + 4):
 * finite differences; every gradient (z's every column among them) within the rounding of the parts'
 * sums of the 1-thread graph's; the same bytes under a one-thread limit. (A noise head before a chain
 * run by units: tests/unit/ops/test_ops_chain_tail.c.) */
START_TEST(units_input_gradient)
{
    int saved = ae_get_threads();
    znet a, b;
    build_z(&a, 2);
    ck_assert(units(a.h) && units(a.y));
    double e = ae_test_gradcheck(a.f.g, a.loss, a.f.ps, NULL, 1e-2f, 40, 1e-2);
    ck_assert_msg(e < 2e-2, "gradient error %g", e);
    build_z(&b, 1);
    float la, lb, l1;
    float *ga = zstep(&a, &la), *gb = zstep(&b, &lb);
    const ae_params *ps = a.f.ps;
    fx_assert_near(ps, ga, gb, gb, K + N, "narrow input");
    int lim = ae_par_limit(1);
    float *g1 = zstep(&a, &l1);
    ae_par_restore(lim);
    ck_assert(memcmp(&l1, &la, sizeof l1) == 0);
    ck_assert_msg(memcmp(g1, ga, ps->total * sizeof *g1) == 0, "one thread's gradients differ from two threads'");
    free(ga), free(gb), free(g1);
    fx_free(&a.f), fx_free(&b.f);
    ae_set_threads(saved);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_units");
    TCase *t = tcase_create("ops_units");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, units_stream_first_use);
    tcase_add_test(t, units_chosen);
    tcase_add_test(t, units_gradcheck);
    tcase_add_test(t, units_near_one_thread);
    tcase_add_test(t, units_same_bytes_any_team);
    tcase_add_test(t, units_input_gradient);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
