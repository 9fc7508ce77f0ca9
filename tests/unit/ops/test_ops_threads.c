/* Threads per node (issue 17): which dense layers the compile pass puts on one thread (plan_threads.c),
 * and a dense layer's forward and backward at batch 20 (one thread) and 128 (the graph's threads):
 * within float reassociation of a double reference, the same bytes on every run, and for the
 * one-thread layer the same bytes whether the graph has 1 or 2 threads. */
#include "ops_fixture.h"

/* A graph of dense layers x -> units[0] -> units[1] -> ... (ReLU between, identity last) on `batch`
 * rows of `k` features: the nodes' thread decisions, into out[]. */
static void decide(int64_t batch, int64_t k, const int64_t *units, int nl, int *out)
{
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(batch, k)), wi[4], bi[4];
    for (int l = 0; l < nl; l++) {
        char wn[8], bn[8];
        snprintf(wn, sizeof wn, "w%d", l);
        snprintf(bn, sizeof bn, "b%d", l);
        wi[l] = decl(&f, wn, ae_shape2(units[l], l ? units[l - 1] : k));
        bi[l] = decl(&f, bn, ae_shape_make(1, (int64_t[]){units[l]}));
    }
    int ti = decl(&f, "t", ae_shape2(batch, units[nl - 1]));
    fx_alloc(&f, batch, -1, 1);
    ae_node *h = ae_graph_param(f.g, xi, &f.err), *d[4];
    for (int l = 0; l < nl; l++)
        h = d[l] = ae_dense(f.g, "d", h, ae_graph_param(f.g, wi[l], &f.err), ae_graph_param(f.g, bi[l], &f.err),
                            l < nl - 1 ? AE_ACT_RELU : AE_ACT_IDENTITY, &f.err);
    ae_node *loss = sq_loss(&f, h, ti);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    for (int l = 0; l < nl; l++) out[l] = d[l]->threads;
    fx_free(&f);
}

/* 1 = one thread, 0 = the graph's. A product of 2·20·784·200 = 6.3 MFLOP stays on one thread,
 * 2·128·784·512 = 103 MFLOP does not; in a chain run as one block (60 rows: too few to split) every
 * layer decides alone (the 3- and 1-wide layers: one thread); in a chain split in row blocks (200
 * rows) or run in row blocks (1000 rows) all follow the biggest. */
START_TEST(dense_thread_decision)
{
    int t[3];
    decide(20, 784, (int64_t[]){200}, 1, t);
    ck_assert_int_eq(t[0], 1);
    decide(128, 784, (int64_t[]){512}, 1, t);
    ck_assert_int_eq(t[0], 0);
    const int64_t chain[3] = {512, 3, 1};
    decide(60, 784, chain, 3, t);
    ck_assert_msg(t[0] == 0 && t[1] == 1 && t[2] == 1, "60 rows: %d %d %d", t[0], t[1], t[2]);
    decide(200, 784, chain, 3, t);
    ck_assert_msg(t[0] == 0 && t[1] == 0 && t[2] == 0, "200 rows: %d %d %d", t[0], t[1], t[2]);
    decide(1000, 784, chain, 3, t);
    ck_assert_msg(t[0] == 0 && t[1] == 0 && t[2] == 0, "1000 rows: %d %d %d", t[0], t[1], t[2]);
}
END_TEST

enum { DK = 784, DM = 200 };

typedef struct run_out {
    float *y, *grad; /* Y, every parameter gradient (ps layout) */
    float loss;
} run_out;

/* Y = tanh(X·Wᵀ + b), MSE to T, one forward and backward on a graph compiled with `threads`;
 * checked against a double reference when `check` is set. */
static run_out dense_step(int64_t n, int threads, int check)
{
    ae_set_threads(threads);
    fx f;
    fx_init(&f);
    int xi = decl(&f, "x", ae_shape2(n, DK)), wi = decl(&f, "w", ae_shape2(DM, DK));
    int bi = decl(&f, "b", ae_shape_make(1, (int64_t[]){DM})), ti = decl(&f, "t", ae_shape2(n, DM));
    fx_alloc(&f, n, -1, 1);
    float *W = f.ps->val + f.ps->p[wi].off;
    for (size_t i = 0; i < (size_t)(DM * DK); i++) W[i] *= 0.05f; /* |z| ~ 1: tanh not saturated */
    ae_node *x = ae_graph_param(f.g, xi, &f.err);
    ae_node *y = ae_dense(f.g, "dense", x, ae_graph_param(f.g, wi, &f.err), ae_graph_param(f.g, bi, &f.err),
                          AE_ACT_TANH, &f.err);
    ae_node *loss = sq_loss(&f, y, ti);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    ae_graph_forward_loss(f.g);
    ae_graph_backward(f.g);
    run_out o = {malloc((size_t)n * DM * sizeof(float)), malloc(f.ps->total * sizeof(float)), loss->val[0]};
    memcpy(o.y, y->val, (size_t)n * DM * sizeof(float));
    memcpy(o.grad, f.ps->grad, f.ps->total * sizeof(float));
    if (check) {
        const float *X = f.ps->val + f.ps->p[xi].off, *B = f.ps->val + f.ps->p[bi].off;
        const float *T = f.ps->val + f.ps->p[ti].off, *gW = o.grad + f.ps->p[wi].off;
        /* forward: every z within k multiply-adds of rounding of Σ|w·x| + |b| */
        double *dz = malloc((size_t)n * DM * sizeof *dz);
        for (int64_t r = 0; r < n; r++)
            for (int j = 0; j < DM; j++) {
                double z = B[j], mag = fabs(B[j]);
                for (int i = 0; i < DK; i++) {
                    z += (double)W[j * DK + i] * X[r * DK + i];
                    mag += fabs((double)W[j * DK + i] * X[r * DK + i]);
                }
                double yv = y->val[r * DM + j];
                ck_assert_msg(fabs(yv - tanh(z)) <= ae_test_tol_reduce(DK + 4, mag), "y[%lld][%d]", (long long)r, j);
                /* dZ from aelab's own Y, so the backward check sees only the backward's rounding */
                dz[r * DM + j] = 2.0 * (yv - T[r * DM + j]) / ((double)n * DM) * (1.0 - yv * yv);
            }
        /* dW = dZᵀ·X: n multiply-adds of Σ|dz·x| (+ a few roundings of dZ itself) */
        for (int j = 0; j < DM; j++)
            for (int i = 0; i < DK; i++) {
                double s = 0, mag = 0;
                for (int64_t r = 0; r < n; r++) {
                    s += dz[r * DM + j] * X[r * DK + i];
                    mag += fabs(dz[r * DM + j] * X[r * DK + i]);
                }
                ck_assert_msg(fabs(gW[j * DK + i] - s) <= ae_test_tol_reduce((size_t)n + 8, mag), "dW[%d][%d]", j, i);
            }
        free(dz);
    }
    fx_free(&f);
    return o;
}

static void same_bytes(run_out a, run_out b, size_t ny, size_t ng, const char *what)
{
    ck_assert_msg(memcmp(&a.loss, &b.loss, sizeof a.loss) == 0, "%s: loss differs", what);
    ck_assert_msg(memcmp(a.y, b.y, ny * sizeof *a.y) == 0, "%s: Y differs", what);
    ck_assert_msg(memcmp(a.grad, b.grad, ng * sizeof *a.grad) == 0, "%s: gradients differ", what);
}

START_TEST(dense_bits_across_threads)
{
    int threads = ae_get_threads();
    const int64_t batch[2] = {20, 128};
    for (int c = 0; c < 2; c++) {
        const int64_t n = batch[c];
        const size_t ny = (size_t)(n * DM), ng = (size_t)(n * DK + DM * DK + DM + n * DM);
        run_out a = dense_step(n, 2, 1), b = dense_step(n, 2, 0), s = dense_step(n, 1, 1);
        same_bytes(a, b, ny, ng, "2 threads, run twice");
        if (n == 20) same_bytes(a, s, ny, ng, "batch 20 (a one-thread node), 1 vs 2 threads");
        free(a.y), free(a.grad), free(b.y), free(b.grad), free(s.y), free(s.grad);
    }
    ae_set_threads(threads);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_threads");
    TCase *t = tcase_create("ops_threads");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, dense_thread_decision);
    tcase_add_test(t, dense_bits_across_threads);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
