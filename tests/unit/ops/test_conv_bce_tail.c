/* A BCE-on-logits loss on an identity conv run in batch blocks (fuse.c's plan_bcel, conv_run.c): its
 * softplus, chunk sums, sigmoid and gradient run in the conv's blocks, with the same bytes (loss and
 * every parameter gradient) as the loss run on its own (the same stack reading the logits through a
 * reshape), on 1 and 2 threads, with even and uneven blocks. */
#include "conv_fixture.h"

typedef struct net {
    fx f;
    ae_node *z, *loss;
} net;

/* W3's conv stack (conv 1->32->64, transposed conv 64->32->1 with biases, ReLU, logits out) on
 * `batch` 28x28 images; the loss reads the logits directly, or through a reshape (no fusion). */
static void build(net *t, int64_t batch, int threads, int via_reshape)
{
    ae_set_threads(threads);
    fx *f = &t->f;
    fx_init(f);
    ae_node *x, *h = t->z = w3_conv_stack(f, batch, 28, AE_ACT_RELU, AE_ACT_IDENTITY, &x, NULL);
    ae_node *in = via_reshape ? ae_reshape(f->g, "view", h, h->shape, &f->err) : h;
    compile(f, t->loss = ae_bce_logits(f->g, "loss", in, target(f, h->shape), AE_MEAN, &f->err));
    for (size_t i = 0; i < x->numel; i++) x->val[i] = (float)ae_rng_uniform(f->rng);
    ae_graph_forward(f->g);
    ae_graph_backward(f->g);
}

static void drop(net *t)
{
    fx_free(&t->f);
    ae_set_threads(1);
}

/* 28x28 images, so the loss has several of ae_par_sum_chunks' chunks and some straddle two blocks: 70
 * images: blocks of 24, 24, 22; 100: four of 25; 5: 3 and 2. */
START_TEST(fused_loss_same_bytes)
{
    const int64_t batch[3] = {70, 100, 5};
    for (int c = 0; c < 3; c++) {
        float loss1 = 0.0f, *g1 = NULL;
        for (int threads = 1; threads <= 2; threads++) {
            net a, b;
            build(&a, batch[c], threads, 0);
            build(&b, batch[c], threads, 1);
            ck_assert_msg(a.z->fuse.loss_tail == a.loss && a.loss->fuse.in_chain, "batch %d: not fused", (int)batch[c]);
            ck_assert_ptr_null(b.z->fuse.loss_tail);
            const size_t np = a.f.ps->total;
            ck_assert_msg(isfinite(a.loss->val[0]) && a.loss->val[0] > 0.0f, "loss %g", a.loss->val[0]);
            ck_assert_msg(memcmp(&a.loss->val[0], &b.loss->val[0], sizeof(float)) == 0,
                          "batch %d, %d threads: loss %.9g fused, %.9g alone", (int)batch[c], threads,
                          a.loss->val[0], b.loss->val[0]);
            for (size_t i = 0; i < np; i++)
                ck_assert_msg(memcmp(&a.f.ps->grad[i], &b.f.ps->grad[i], sizeof(float)) == 0,
                              "batch %d, %d threads: grad[%zu] %.9g fused, %.9g alone", (int)batch[c], threads, i,
                              a.f.ps->grad[i], b.f.ps->grad[i]);
            if (threads == 1) {
                loss1 = a.loss->val[0];
                g1 = malloc(np * sizeof *g1);
                memcpy(g1, a.f.ps->grad, np * sizeof *g1);
            } else {
                ck_assert(memcmp(&loss1, &a.loss->val[0], sizeof loss1) == 0);
                ck_assert(memcmp(g1, a.f.ps->grad, np * sizeof *g1) == 0);
                free(g1);
            }
            drop(&a);
            drop(&b);
        }
    }
}
END_TEST

/* With the conv's batch blocks off the loss stays on its own. */
START_TEST(no_blocks_no_fusion)
{
    ae_conv_set_batch_blocks(0);
    net a;
    build(&a, 8, 1, 0);
    ck_assert_ptr_null(a.z->fuse.loss_tail);
    ck_assert_int_eq(a.loss->fuse.in_chain, 0);
    ck_assert_msg(isfinite(a.loss->val[0]) && a.loss->val[0] > 0.0f, "loss %g", a.loss->val[0]);
    drop(&a);
    ae_conv_set_batch_blocks(1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_bce_tail");
    TCase *t = tcase_create("conv_bce_tail");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, fused_loss_same_bytes);
    tcase_add_test(t, no_blocks_no_fusion);
    suite_add_tcase(s, t);
    int rc = ae_test_run(s);
    ae_dnnl_shutdown();
    return rc;
}
