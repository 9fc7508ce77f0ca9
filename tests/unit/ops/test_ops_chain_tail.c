/* Work a dense chain split in row blocks does for its neighbours (issue 17; fuse.c's plan_bcel and
 * plan_corrupt): a BCE-on-logits loss on the chain's output and a gaussian corruption of its input
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

int main(void)
{
    Suite *s = suite_create("ops_chain_tail");
    TCase *t = tcase_create("ops_chain_tail");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, chain_tail_bits);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
