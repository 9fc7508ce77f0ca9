/* Work a dense chain split in row blocks does for its neighbours (issue 17; fuse.c's plan_bcel and
 * plan_noise): a BCE-on-logits loss on the chain's output and a gaussian corruption of its input
 * run in the chain's blocks. The loss value and the logits' gradient must be the bytes the loss op
 * makes on its own from the same logits (also when a chunk of its sum straddles two blocks), the
 * corrupted input the bytes of the Philox stream under the forward's seed, and all of it the same
 * whether 2 threads or 1 run the 2-thread graph's blocks. */
#include "ae_philox.h"
#include "ops_fixture.h"

enum { K = 784, H = 256, NOISE_SEED = 11 };

typedef struct tail_out {
    float loss;
    float *dz, *y; /* the logits' gradient; the corrupted input (or NULL) */
} tail_out;

/* The loss op alone (its logits a parameter: no chain) on z and t: its value, and z's gradient into dz. */
static float loss_alone(const float *z, const float *t, int64_t batch, ae_reduction red, float *dz)
{
    fx f;
    fx_init(&f);
    int zi = decl(&f, "z", ae_shape2(batch, K));
    fx_alloc(&f, batch, 0, 1);
    memcpy(f.ps->val + f.ps->p[zi].off, z, (size_t)(batch * K) * sizeof *z);
    ae_node *tn = ae_graph_input(f.g, "t", ae_shape2(batch, K), &f.err);
    ae_node *loss = ae_bce_logits(f.g, "loss", ae_graph_param(f.g, zi, &f.err), tn, red, &f.err);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    memcpy(tn->val, t, (size_t)(batch * K) * sizeof *t);
    ae_graph_forward_loss(f.g);
    ae_graph_backward(f.g);
    float v = loss->val[0];
    memcpy(dz, f.ps->grad + f.ps->p[zi].off, (size_t)(batch * K) * sizeof *dz);
    fx_free(&f);
    return v;
}

/* x -> [gaussian corruption, sigma 0.3, clipped to [0, 1]] -> dense K->H ReLU -> dense H->K (logits)
 * -> bce_logits against t, the graph compiled on 2 threads and run on run_threads; checked against
 * the loss alone and the Philox stream. */
static tail_out tail_run(int64_t batch, ae_reduction red, int noise, int run_threads)
{
    const size_t n = (size_t)(batch * K);
    ae_set_threads(2);
    fx f;
    fx_init(&f);
    int w1 = decl(&f, "w1", ae_shape2(H, K)), b1 = decl(&f, "b1", ae_shape_make(1, (int64_t[]){H}));
    int w2 = decl(&f, "w2", ae_shape2(K, H)), b2 = decl(&f, "b2", ae_shape_make(1, (int64_t[]){K}));
    fx_alloc(&f, batch, -0.06f, 0.06f);
    ae_rng *nr = ae_rng_new(NOISE_SEED), *twin = ae_rng_new(NOISE_SEED);
    ae_node *x = ae_graph_input(f.g, "x", ae_shape2(batch, K), &f.err);
    ae_node *t = ae_graph_input(f.g, "t", ae_shape2(batch, K), &f.err);
    ae_node *c = noise ? ae_corrupt(f.g, "c", x, AE_NOISE_GAUSSIAN, 0.3f, 0.0f, 1.0f, nr, &f.err) : x;
    ae_node *h = ae_dense(f.g, "d1", c, ae_graph_param(f.g, w1, &f.err), ae_graph_param(f.g, b1, &f.err),
                          AE_ACT_RELU, &f.err);
    ae_node *z = ae_dense(f.g, "d2", h, ae_graph_param(f.g, w2, &f.err), ae_graph_param(f.g, b2, &f.err),
                          AE_ACT_IDENTITY, &f.err);
    ae_node *loss = ae_bce_logits(f.g, "loss", z, t, red, &f.err);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    ck_assert_msg(z->fuse.loss_tail == loss, "the loss does not run in the chain's blocks");
    ck_assert_msg(!noise || h->fuse.noise_head == c, "the corruption does not run in the chain's blocks");
    for (size_t i = 0; i < n; i++) x->val[i] = (float)ae_rng_uniform(f.rng);
    for (size_t i = 0; i < n; i++) t->val[i] = (float)ae_rng_uniform(f.rng);
    ae_set_threads(run_threads);
    ae_graph_forward_loss(f.g);
    ae_graph_backward(f.g);
    tail_out o = {loss->val[0], malloc(n * sizeof(float)), noise ? malloc(n * sizeof(float)) : NULL};
    float *ref = malloc(n * sizeof *ref);
    if (noise) { /* y = clip(x + 0.3·e), e the Philox normals of this forward's seed */
        ae_philox_normal(ae_rng_seed64(twin), 0, 0, ref, n);
        for (size_t i = 0; i < n; i++) {
            float v = x->val[i] + 0.3f * ref[i];
            ref[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
        ck_assert_msg(!memcmp(ref, c->val, n * sizeof *ref), "batch %lld: the corrupted input differs", (long long)batch);
        memcpy(o.y, c->val, n * sizeof *o.y);
    }
    float alone = loss_alone(z->val, t->val, batch, red, ref);
    ck_assert_msg(!memcmp(&alone, &o.loss, sizeof alone), "batch %lld: loss %.9g, alone %.9g", (long long)batch,
                  o.loss, alone);
    ck_assert_msg(!memcmp(ref, z->grad, n * sizeof *ref), "batch %lld: the logits' gradient differs", (long long)batch);
    memcpy(o.dz, z->grad, n * sizeof *o.dz);
    free(ref);
    ae_rng_free(nr);
    ae_rng_free(twin);
    fx_free(&f);
    return o;
}

/* 128 rows: 2 blocks of 64, the sum's 12 chunks each in one block; 100 rows: 2 blocks of 50, one of
 * the 9 chunks straddles them (summed by the loss after the blocks). */
START_TEST(chain_tail_bits)
{
    int threads = ae_get_threads();
    const struct { int64_t batch; ae_reduction red; int noise; } cases[] = {
        {128, AE_MEAN, 0}, {100, AE_SUM_PER_SAMPLE, 0}, {128, AE_MEAN, 1}, {100, AE_MEAN, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tail_out a = tail_run(cases[i].batch, cases[i].red, cases[i].noise, 2);
        tail_out b = tail_run(cases[i].batch, cases[i].red, cases[i].noise, 1);
        const size_t n = (size_t)(cases[i].batch * K);
        ck_assert_msg(!memcmp(&a.loss, &b.loss, sizeof a.loss), "case %zu: loss on 2 and 1 threads", i);
        ck_assert_msg(!memcmp(a.dz, b.dz, n * sizeof *a.dz), "case %zu: gradient on 2 and 1 threads", i);
        ck_assert(!a.y || !memcmp(a.y, b.y, n * sizeof *a.y));
        free(a.dz), free(a.y), free(b.dz), free(b.y);
    }
    ae_set_threads(threads);
}
END_TEST

/* A VAE's sampling z = mu + eps·exp(lv/2) read by a split chain (fuse.c's plan_noise): each block
 * draws its rows' noise (the GSL blocks of 1,024 values it overlaps, from their start). z, the
 * loss and the gradients of mu and lv against the reparameterisation alone (no chain: a graph on one
 * thread, the same seed), and the same bytes when 2 threads or 1 run the 2-thread graph's blocks.
 * 128 x 20 values: blocks of 64 rows (1,280 values), the second noise block across them; 100 x 20:
 * blocks of 50 rows (1,000 values), the first noise block across them. */
enum { L = 20, SAMPLE_SEED = 13 };

typedef struct sample_out {
    float loss, *z, *g; /* z; mu's and lv's gradients */
} sample_out;

static sample_out sample_run(int64_t batch, int threads, int run_threads)
{
    ae_set_threads(threads);
    fx f;
    fx_init(&f);
    int mi = decl(&f, "mu", ae_shape2(batch, L)), li = decl(&f, "lv", ae_shape2(batch, L));
    int w1 = decl(&f, "w1", ae_shape2(H, L)), b1 = decl(&f, "b1", ae_shape_make(1, (int64_t[]){H}));
    int w2 = decl(&f, "w2", ae_shape2(K, H)), b2 = decl(&f, "b2", ae_shape_make(1, (int64_t[]){K}));
    fx_alloc(&f, batch, -0.5f, 0.5f);
    ae_rng *nr = ae_rng_new(SAMPLE_SEED);
    ae_node *mu = ae_graph_param(f.g, mi, &f.err), *lv = ae_graph_param(f.g, li, &f.err);
    ae_node *z = ae_reparam(f.g, "z", mu, lv, nr, 0, &f.err);
    ae_node *t = ae_graph_input(f.g, "t", ae_shape2(batch, K), &f.err);
    ae_node *h = ae_dense(f.g, "d1", z, ae_graph_param(f.g, w1, &f.err), ae_graph_param(f.g, b1, &f.err),
                          AE_ACT_RELU, &f.err);
    ae_node *y = ae_dense(f.g, "d2", h, ae_graph_param(f.g, w2, &f.err), ae_graph_param(f.g, b2, &f.err),
                          AE_ACT_IDENTITY, &f.err);
    ae_node *loss = ae_bce_logits(f.g, "loss", y, t, AE_SUM_PER_SAMPLE, &f.err);
    ck_assert_msg(loss && ae_graph_compile(f.g, loss, &f.err) == AE_OK, "%s", f.err.msg);
    ck_assert_msg((h->fuse.noise_head == z) == (threads == 2), "the sampling runs in the chain's blocks on 2 threads only");
    for (size_t i = 0; i < (size_t)(batch * K); i++) t->val[i] = (float)ae_rng_uniform(f.rng);
    ae_set_threads(run_threads);
    ae_graph_forward_loss(f.g);
    ae_graph_backward(f.g);
    const size_t n = (size_t)(batch * L);
    sample_out o = {loss->val[0], malloc(n * sizeof(float)), malloc(2 * n * sizeof(float))};
    memcpy(o.z, z->val, n * sizeof *o.z);
    memcpy(o.g, f.ps->grad + f.ps->p[mi].off, n * sizeof *o.g);
    memcpy(o.g + n, f.ps->grad + f.ps->p[li].off, n * sizeof *o.g);
    ae_rng_free(nr);
    fx_free(&f);
    return o;
}

START_TEST(chain_sample_bits)
{
    int threads = ae_get_threads();
    const int64_t batches[] = {128, 100};
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++) {
        const size_t n = (size_t)(batches[i] * L);
        sample_out a = sample_run(batches[i], 2, 2), b = sample_run(batches[i], 2, 1), u = sample_run(batches[i], 1, 1);
        ck_assert_msg(!memcmp(a.z, u.z, n * sizeof *a.z), "batch %lld: z differs from the sampling alone", (long long)batches[i]);
        ck_assert_msg(!memcmp(a.z, b.z, n * sizeof *a.z), "batch %lld: z on 2 and 1 threads", (long long)batches[i]);
        ck_assert_msg(!memcmp(&a.loss, &b.loss, sizeof a.loss) && !memcmp(a.g, b.g, 2 * n * sizeof *a.g),
                      "batch %lld: loss or gradients on 2 and 1 threads", (long long)batches[i]);
        /* against the unsplit graph: the same sums but in row blocks (up to the ISA's kernels) */
        ck_assert(fabs((double)a.loss - u.loss) <= ae_test_tol_reduce((size_t)(L + H + K), fabs((double)u.loss)));
        double tol = ae_test_tol_reduce((size_t)(K + H), ae_test_absmax(u.g, 2 * n)), worst = 0;
        for (size_t j = 0; j < 2 * n; j++) worst = fmax(worst, fabs((double)a.g[j] - u.g[j]));
        ck_assert_msg(worst <= tol, "batch %lld: mu/lv gradients differ by %g (tolerance %g)", (long long)batches[i], worst, tol);
        free(a.z), free(a.g), free(b.z), free(b.g), free(u.z), free(u.g);
    }
    ae_set_threads(threads);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_chain_tail");
    TCase *t = tcase_create("ops_chain_tail");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, chain_tail_bits);
    tcase_add_test(t, chain_sample_bits);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
