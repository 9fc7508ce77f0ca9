/* Threads per node (issue 17): which dense layers the compile pass puts on one thread (plan_threads.c),
 * and a dense layer's forward and backward at batch 20 (one thread) and 128 (the graph's threads):
 * within float reassociation of a double reference, the same bytes on every run, and for the
 * one-thread layer the same bytes whether the graph has 1 or 2 threads; a chain split in row blocks
 * against a reference, and its bytes the same whichever number of threads runs its fixed blocks. */
#include "ops_fixture.h"

/* A graph of dense layers x -> units[0] -> units[1] -> ... (ReLU between, identity last) on `batch`
 * rows of `k` features: the nodes' thread decisions, into out[]. */
static void decide(int threads, int64_t batch, int64_t k, const int64_t *units, int nl, int *out)
{
    int saved = ae_get_threads();
    ae_set_threads(threads);
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
    ae_set_threads(saved);
}

/* 1 = one thread, 0 = the graph's. A product of 2·20·784·200 = 6.3 MFLOP stays on one thread,
 * 2·128·784·512 = 103 MFLOP does not; in a chain run as one block (60 rows: too few to split) every
 * layer decides alone (the 3- and 1-wide layers: one thread); in a chain split in row blocks (200
 * rows, on 2 threads: one thread keeps the batch whole) or run in row blocks (1000 rows) all follow
 * the biggest. */
START_TEST(dense_thread_decision)
{
    int t[3];
    decide(2, 20, 784, (int64_t[]){200}, 1, t);
    ck_assert_int_eq(t[0], 1);
    decide(2, 128, 784, (int64_t[]){512}, 1, t);
    ck_assert_int_eq(t[0], 0);
    const int64_t chain[3] = {512, 3, 1};
    decide(2, 60, 784, chain, 3, t);
    ck_assert_msg(t[0] == 0 && t[1] == 1 && t[2] == 1, "60 rows: %d %d %d", t[0], t[1], t[2]);
    decide(2, 200, 784, chain, 3, t);
    ck_assert_msg(t[0] == 0 && t[1] == 0 && t[2] == 0, "200 rows: %d %d %d", t[0], t[1], t[2]);
    decide(1, 200, 784, chain, 3, t);
    ck_assert_msg(t[0] == 0 && t[1] == 1 && t[2] == 1, "200 rows, 1 thread: %d %d %d", t[0], t[1], t[2]);
    decide(2, 1000, 784, chain, 3, t);
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

/* A chain split in row blocks (dense_split.c): 128 rows of 784 -> 256 (tanh: a member that is not
 * ReLU links only in a batch that fits one block) -> 784 (sigmoid),
 * MSE: 2·128·784·256 = 51 MFLOP per product, so on 2 threads 2 blocks of 64 rows and dW in slices
 * (on 1 thread the whole batch). Loss and every gradient against a double reference (within 1e-4 of
 * each parameter's largest entry, as dense_chain_blocks_match_reference) on 2 and on 1 thread, and
 * the same bytes when the 2-thread graph runs on 1 thread (the partition is the graph's). */
enum { SN = 128, SK = 784, SH = 256 };

static double split_ref(const ae_params *ps, const int *idx, double *gr)
{
    const float *X = ps->val + ps->p[idx[0]].off, *W1 = ps->val + ps->p[idx[1]].off, *B1 = ps->val + ps->p[idx[2]].off;
    const float *W2 = ps->val + ps->p[idx[3]].off, *B2 = ps->val + ps->p[idx[4]].off, *T = ps->val + ps->p[idx[5]].off;
    double loss = 0, h[SH], dz[SK], dh[SH];
    memset(gr, 0, ps->total * sizeof *gr);
    for (int r = 0; r < SN; r++) {
        const float *x = X + r * SK;
        for (int j = 0; j < SH; j++) {
            h[j] = B1[j];
            for (int i = 0; i < SK; i++) h[j] += (double)W1[j * SK + i] * x[i];
            h[j] = tanh(h[j]);
        }
        for (int o = 0; o < SK; o++) {
            double z = B2[o];
            for (int j = 0; j < SH; j++) z += (double)W2[o * SH + j] * h[j];
            double y = 1.0 / (1.0 + exp(-z)), d = y - T[r * SK + o];
            loss += d * d;
            dz[o] = 2.0 * d / ((double)SN * SK) * y * (1.0 - y);
            gr[ps->p[idx[5]].off + r * SK + o] = -2.0 * d / ((double)SN * SK);
            gr[ps->p[idx[4]].off + o] += dz[o];
            for (int j = 0; j < SH; j++) gr[ps->p[idx[3]].off + o * SH + j] += dz[o] * h[j];
        }
        for (int j = 0; j < SH; j++) {
            dh[j] = 0;
            for (int o = 0; o < SK; o++) dh[j] += dz[o] * W2[o * SH + j];
            dh[j] *= 1.0 - h[j] * h[j];
            gr[ps->p[idx[2]].off + j] += dh[j];
            for (int i = 0; i < SK; i++) gr[ps->p[idx[1]].off + j * SK + i] += dh[j] * x[i];
        }
        for (int i = 0; i < SK; i++) {
            double s = 0;
            for (int j = 0; j < SH; j++) s += dh[j] * W1[j * SK + i];
            gr[ps->p[idx[0]].off + r * SK + i] = s;
        }
    }
    return loss / ((double)SN * SK);
}

static float *split_step(int threads, int run_threads, float *loss_out, int check)
{
    ae_set_threads(threads);
    fx f;
    fx_init(&f);
    int idx[6] = {decl(&f, "x", ae_shape2(SN, SK)), decl(&f, "w1", ae_shape2(SH, SK)),
                  decl(&f, "b1", ae_shape_make(1, (int64_t[]){SH})), decl(&f, "w2", ae_shape2(SK, SH)),
                  decl(&f, "b2", ae_shape_make(1, (int64_t[]){SK})), decl(&f, "t", ae_shape2(SN, SK))};
    fx_alloc(&f, SN, -1, 1);
    for (int p = 1; p <= 3; p += 2) /* W1, W2 scaled so that the sigmoid is not saturated */
        for (size_t i = 0; i < f.ps->p[idx[p]].n; i++) f.ps->val[f.ps->p[idx[p]].off + i] *= 0.05f;
    ae_node *h = ae_dense(f.g, "d1", ae_graph_param(f.g, idx[0], &f.err), ae_graph_param(f.g, idx[1], &f.err),
                          ae_graph_param(f.g, idx[2], &f.err), AE_ACT_TANH, &f.err);
    ae_node *y = ae_dense(f.g, "d2", h, ae_graph_param(f.g, idx[3], &f.err), ae_graph_param(f.g, idx[4], &f.err),
                          AE_ACT_SIGMOID, &f.err);
    ae_node *loss = sq_loss(&f, y, idx[5]);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    ck_assert_ptr_eq(h->fuse.chain_next, y);
    ck_assert_int_eq(h->threads, 0);
    ae_set_threads(run_threads);
    ae_graph_forward_loss(f.g);
    ae_graph_backward(f.g);
    *loss_out = loss->val[0];
    float *g = malloc(f.ps->total * sizeof *g);
    memcpy(g, f.ps->grad, f.ps->total * sizeof *g);
    if (check) {
        double *gr = malloc(f.ps->total * sizeof *gr), lr = split_ref(f.ps, idx, gr);
        ck_assert_msg(fabs(loss->val[0] - lr) < 1e-5 * lr, "loss %.8g, reference %.8g", loss->val[0], lr);
        for (int p = 0; p < 6; p++) {
            const ae_param_info *pi = &f.ps->p[idx[p]];
            double big = 0, worst = 0;
            for (size_t i = 0; i < pi->n; i++) big = fmax(big, fabs(gr[pi->off + i]));
            for (size_t i = 0; i < pi->n; i++) worst = fmax(worst, fabs(g[pi->off + i] - gr[pi->off + i]));
            ck_assert_msg(big > 0 && worst <= 1e-4 * big, "%s: gradient off by %g, largest %g", pi->name, worst, big);
        }
        free(gr);
    }
    fx_free(&f);
    return g;
}

START_TEST(split_chain_matches_reference)
{
    int threads = ae_get_threads();
    float l2, l1, lu;
    float *g2 = split_step(2, 2, &l2, 1), *g1 = split_step(2, 1, &l1, 0);
    free(split_step(1, 1, &lu, 1)); /* unsplit, on 1 thread: against the reference too */
    const size_t total = (size_t)(SN * SK * 2 + SH * SK * 2 + SH + SK);
    ck_assert(memcmp(&l1, &l2, sizeof l1) == 0);
    ck_assert_msg(memcmp(g1, g2, total * sizeof *g1) == 0, "a split graph's gradients differ on 1 and 2 threads");
    free(g1);
    free(g2);
    ae_set_threads(threads);
}
END_TEST

/* Small one-block layers leave dW and db as tasks after the backward walk (ae_op.tasks): 2 each
 * here; a weight two layers share is written by both, so neither defers it (the second's
 * accumulation must not race or precede the first's overwrite); the gradients pass a finite-
 * difference check either way, on 2 threads: the walk and the tasks side by side
 * (ae_graph_backward_lanes), and give the same bytes on 1 thread (tasks after the walk). */
START_TEST(deferred_param_grads)
{
    int threads = ae_get_threads();
    for (int shared = 0; shared < 2; shared++) {
        ae_set_threads(2);
        fx f;
        fx_init(&f);
        int x1 = decl(&f, "x1", ae_shape2(6, 5)), x2 = decl(&f, "x2", ae_shape2(6, 5));
        int w1 = decl(&f, "w1", ae_shape2(4, 5)), w2 = decl(&f, "w2", ae_shape2(4, 5));
        int b1 = decl(&f, "b1", ae_shape_make(1, (int64_t[]){4})), ti = decl(&f, "t", ae_shape2(6, 4));
        fx_alloc(&f, 6, -1, 1);
        ae_node *a = ae_dense(f.g, "a", ae_graph_param(f.g, x1, &f.err), ae_graph_param(f.g, w1, &f.err),
                              ae_graph_param(f.g, b1, &f.err), AE_ACT_TANH, &f.err);
        ae_node *b = ae_dense(f.g, "b", ae_graph_param(f.g, x2, &f.err), ae_graph_param(f.g, shared ? w1 : w2, &f.err),
                              NULL, AE_ACT_SIGMOID, &f.err);
        ae_node *terms[2] = {sq_loss(&f, a, ti), sq_loss(&f, b, ti)};
        double e = check(&f, ae_weighted_sum(f.g, "sum", terms, (float[]){0.7f, 1.3f}, 2, &f.err), NULL);
        ck_assert_msg(e < 2e-2, "shared=%d: gradient error %g", shared, e);
        ck_assert_int_eq(a->op->tasks(a), shared ? 0 : 2);
        ck_assert_int_eq(b->op->tasks(b), shared ? 0 : 1);
        ae_graph_forward_loss(f.g);
        ae_graph_backward(f.g);
        float *g2 = malloc(f.ps->total * sizeof *g2);
        memcpy(g2, f.ps->grad, f.ps->total * sizeof *g2);
        ae_set_threads(1);
        ae_graph_forward_loss(f.g);
        ae_graph_backward(f.g);
        ck_assert_msg(memcmp(g2, f.ps->grad, f.ps->total * sizeof *g2) == 0, "shared=%d: 1 vs 2 threads", shared);
        free(g2);
        fx_free(&f);
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
    tcase_add_test(t, split_chain_matches_reference);
    tcase_add_test(t, deferred_param_grads);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
