/* The graph itself: topological order, consumer edges, overwrite/accumulate per edge, views, skip
 * flags, the compile order of plan passes, and the ops' fusion and layout decisions (fuse.c) on
 * small graphs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ae_conv.h"
#include "ae_ops.h"
#include "ae_test.h"

typedef struct fx {
    ae_params *ps;
    ae_graph *g;
    ae_err err;
} fx;

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->ps = ae_params_new();
    ae_conv_set_layout(AE_CONV_LAYOUT_AUTO);
}

static int decl(fx *f, const char *name, ae_shape s)
{
    int i = ae_params_declare(f->ps, name, s, 1, 1, AE_PARAM_WEIGHT, 0, &f->err);
    ck_assert_int_ge(i, 0);
    return i;
}

static void fx_alloc(fx *f, int64_t batch, int training)
{
    ck_assert_int_eq(ae_params_alloc(f->ps, &f->err), AE_OK);
    for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] = 0.01f * (float)(i % 17) - 0.08f;
    f->g = ae_graph_new(f->ps, batch, training);
}

static void fx_free(fx *f)
{
    ae_graph_free(f->g);
    ae_params_free(f->ps);
}

static ae_node *P(fx *f, int i) { return ae_graph_param(f->g, i, &f->err); }
static ae_node *in(fx *f, const char *name, ae_shape s) { return ae_graph_input(f->g, name, s, &f->err); }

static void compile(fx *f, ae_node *loss)
{
    ck_assert_msg(!loss || f->err.code == AE_OK, "build: %s", f->err.msg);
    ck_assert_msg(ae_graph_compile(f->g, loss, &f->err) == AE_OK, "%s", f->err.msg);
}

/* Consumers are listed per edge, in graph order, a node read twice by one consumer twice (slots 0
 * and 1); every node's inputs come before it. */
START_TEST(consumers_and_order)
{
    fx f;
    fx_init(&f);
    int wi = decl(&f, "w", ae_shape2(3, 4)), bi = decl(&f, "b", ae_shape_make(1, (int64_t[]){3}));
    int ti = decl(&f, "t", ae_shape2(2, 3));
    fx_alloc(&f, 2, 1);
    ae_node *x = in(&f, "x", ae_shape2(2, 4));
    ae_node *h = ae_dense(f.g, "h", x, P(&f, wi), P(&f, bi), AE_ACT_TANH, &f.err);
    ae_node *a = ae_activation(f.g, "a", h, AE_ACT_RELU, &f.err);
    ae_node *self = ae_mse(f.g, "self", a, a, AE_MEAN, &f.err);
    ae_node *l2 = ae_mse(f.g, "l2", h, P(&f, ti), AE_MEAN, &f.err);
    ae_node *terms[2] = {self, l2};
    ae_node *loss = ae_weighted_sum(f.g, "loss", terms, (float[]){1.0f, 1.0f}, 2, &f.err);
    compile(&f, loss);
    for (size_t i = 0; i < ae_graph_size(f.g); i++) {
        const ae_node *n = ae_graph_node(f.g, i);
        ck_assert_int_eq(n->id, (int)i);
        for (int k = 0; k < n->nin; k++) ck_assert_int_lt(n->in[k]->id, n->id);
        for (int c = 0; c < n->ncons; c++) {
            ck_assert_ptr_eq(n->cons[c].node->in[n->cons[c].slot], n);
            if (c) ck_assert_int_le(n->cons[c - 1].node->id, n->cons[c].node->id);
        }
    }
    ck_assert_int_eq(x->ncons, 1);
    ck_assert_ptr_eq(x->cons[0].node, h);
    ck_assert_int_eq(h->ncons, 2);
    ck_assert_ptr_eq(h->cons[0].node, a);
    ck_assert_ptr_eq(h->cons[1].node, l2);
    ck_assert_int_eq(a->ncons, 2); /* self reads a twice */
    ck_assert_ptr_eq(a->cons[0].node, self);
    ck_assert_int_eq(a->cons[0].slot, 0);
    ck_assert_ptr_eq(a->cons[1].node, self);
    ck_assert_int_eq(a->cons[1].slot, 1);
    ck_assert_int_eq(loss->ncons, 0);
    ck_assert_int_eq(P(&f, ti)->ncons, 1);
    ck_assert_ptr_eq(P(&f, wi), h->in[1]); /* one node per parameter */
    ck_assert_uint_eq(ae_graph_size(f.g), 9);
    fx_free(&f);
}
END_TEST

/* Backward runs in reverse: of two consumers of h the later one overwrites h's gradient, the
 * earlier one adds to it; a node read by one consumer is overwritten. */
START_TEST(accumulate_flags)
{
    fx f;
    fx_init(&f);
    int wi = decl(&f, "w", ae_shape2(3, 4)), t1 = decl(&f, "t1", ae_shape2(2, 3)), t2 = decl(&f, "t2", ae_shape2(2, 3));
    fx_alloc(&f, 2, 1);
    ae_node *x = in(&f, "x", ae_shape2(2, 4));
    ae_node *h = ae_dense(f.g, "h", x, P(&f, wi), NULL, AE_ACT_IDENTITY, &f.err);
    ae_node *a = ae_activation(f.g, "a", h, AE_ACT_TANH, &f.err);
    ae_node *m1 = ae_mse(f.g, "m1", a, P(&f, t1), AE_MEAN, &f.err);
    ae_node *m2 = ae_mse(f.g, "m2", h, P(&f, t2), AE_MEAN, &f.err);
    ae_node *terms[2] = {m1, m2};
    ae_node *loss = ae_weighted_sum(f.g, "loss", terms, (float[]){1.0f, 2.0f}, 2, &f.err);
    compile(&f, loss);
    ck_assert_int_eq(m2->accum[0], 0); /* later in graph order: its backward runs first */
    ck_assert_int_eq(a->accum[0], 1);
    ck_assert_int_eq(m1->accum[0], 0);
    ck_assert_int_eq(loss->accum[0], 0);
    ck_assert_int_eq(loss->accum[1], 0);
    ck_assert_int_eq(h->accum[1], 0);
    ck_assert_int_eq(x->needs_grad, 0); /* an input: no gradient, no flag */
    ck_assert_int_eq(h->accum[0], 0);
    fx_free(&f);
}
END_TEST

/* A reshape shares its input's value; its gradient too only when it is the input's one consumer
 * (and a gradient is needed). */
START_TEST(views)
{
    for (int fan = 0; fan < 3; fan++) {
        fx f;
        fx_init(&f);
        int wi = decl(&f, "w", ae_shape2(6, 4)), ti = decl(&f, "t", ae_shape4(2, 1, 2, 3));
        int ui = decl(&f, "u", ae_shape2(2, 6));
        fx_alloc(&f, 2, fan < 2);
        ae_node *x = in(&f, "x", ae_shape2(2, 4));
        ae_node *h = ae_dense(f.g, "h", x, P(&f, wi), NULL, AE_ACT_IDENTITY, &f.err);
        ae_node *r = ae_reshape(f.g, "r", h, ae_shape4(2, 1, 2, 3), &f.err);
        ae_node *loss = ae_mse(f.g, "m", r, P(&f, ti), AE_MEAN, &f.err);
        if (fan == 1) { /* h read by a second loss term */
            ae_node *terms[2] = {loss, ae_mse(f.g, "m2", h, P(&f, ui), AE_MEAN, &f.err)};
            loss = ae_weighted_sum(f.g, "loss", terms, (float[]){1.0f, 1.0f}, 2, &f.err);
        }
        compile(&f, loss);
        ck_assert_ptr_eq(r->val, h->val);
        ck_assert_int_eq(r->share, fan == 0 ? AE_SHARE_GRAD : AE_SHARE_VAL);
        if (fan == 0) ck_assert_ptr_eq(r->grad, h->grad);
        if (fan == 1) {
            ck_assert_ptr_nonnull(r->grad);
            ck_assert_ptr_ne(r->grad, h->grad);
        }
        if (fan == 2) ck_assert_ptr_null(r->grad); /* inference graph */
        ck_assert_int_eq(h->share, AE_SHARE_NONE);
        fx_free(&f);
    }
}
END_TEST

/* Nodes not on the way to the loss are skipped by a training step and get no gradient; an inference
 * graph (no loss) skips nothing. */
START_TEST(skip_flags)
{
    for (int training = 0; training < 2; training++) {
        fx f;
        fx_init(&f);
        int wi = decl(&f, "w", ae_shape2(3, 4)), ti = decl(&f, "t", ae_shape2(2, 3));
        fx_alloc(&f, 2, training);
        ae_node *x = in(&f, "x", ae_shape2(2, 4));
        ae_node *z = ae_dense(f.g, "logits", x, P(&f, wi), NULL, AE_ACT_IDENTITY, &f.err);
        ae_node *y = ae_activation(f.g, "sigmoid", z, AE_ACT_SIGMOID, &f.err);
        ae_node *loss = ae_bce_logits(f.g, "bce", z, P(&f, ti), AE_MEAN, &f.err);
        compile(&f, loss);
        ck_assert_int_eq(y->skip, training);
        ck_assert_int_eq(y->needs_grad, 0);
        ck_assert_int_eq(z->skip, 0);
        ck_assert_int_eq(loss->skip, 0);
        ck_assert_int_eq(z->needs_grad, training);
        ck_assert_int_eq(z->ncons, 2); /* the skipped node is still a consumer */
        fx_free(&f);
    }
}
END_TEST

/* A dense layer followed by a separate activation node: identity and ReLU run as post-ops of the
 * product, sigmoid and tanh do not; the activation node is not fused into the layer. A ReLU layer
 * feeding a dense layer alone forms a chain, and that layer masks its dX into the ReLU's dZ; a
 * second reader of the ReLU layer breaks both. A sigmoid or tanh layer links into a chain only in a
 * batch that fits one block (2 rows, not 300: fuse.c's chain_next). */
START_TEST(dense_fusions)
{
    static const ae_act acts[4] = {AE_ACT_IDENTITY, AE_ACT_RELU, AE_ACT_SIGMOID, AE_ACT_TANH};
    for (int i = 0; i < 8; i++)
        for (int fan = 0; fan < 3; fan++) { /* the second reader of h after o (1) or before it (2) */
            const int64_t B = i < 4 ? 2 : 300;
            fx f;
            fx_init(&f);
            int w1 = decl(&f, "w1", ae_shape2(5, 4)), w2 = decl(&f, "w2", ae_shape2(3, 5));
            int ti = decl(&f, "t", ae_shape2(B, 3)), ui = decl(&f, "u", ae_shape2(B, 5));
            fx_alloc(&f, B, 1);
            ae_node *x = in(&f, "x", ae_shape2(B, 4));
            ae_node *h = ae_dense(f.g, "h", x, P(&f, w1), NULL, acts[i % 4], &f.err);
            ae_node *m = fan == 2 ? ae_mse(f.g, "m", h, P(&f, ui), AE_MEAN, &f.err) : NULL;
            ae_node *o = ae_dense(f.g, "o", h, P(&f, w2), NULL, AE_ACT_IDENTITY, &f.err);
            ae_node *a = ae_activation(f.g, "a", o, AE_ACT_SIGMOID, &f.err);
            ae_node *loss = ae_bce(f.g, "bce", a, P(&f, ti), AE_MEAN, &f.err);
            if (fan) {
                ae_node *terms[2] = {loss, m ? m : ae_mse(f.g, "m", h, P(&f, ui), AE_MEAN, &f.err)};
                loss = ae_weighted_sum(f.g, "loss", terms, (float[]){1.0f, 1.0f}, 2, &f.err);
            }
            compile(&f, loss);
            ck_assert_int_eq(o->accum[0], fan == 1); /* with fan 2, o overwrites and m adds */
            ck_assert_int_eq(h->fuse.post_act, i % 4 < 2);
            ck_assert_int_eq(o->fuse.post_act, 1);
            ck_assert_int_eq(o->fuse.dz_ready, 0); /* the activation node does its own backward */
            const int chain = !fan && (i % 4 < 2 || B <= 256);
            ck_assert_ptr_eq(h->fuse.chain_next, chain ? o : NULL);
            ck_assert_ptr_eq(o->fuse.chain_prev, chain ? h : NULL);
            ck_assert_ptr_null(o->fuse.chain_next);
            ck_assert_int_eq(o->fuse.mask_dx, i % 4 == 1 && !fan);
            ck_assert_int_eq(h->fuse.dz_ready, i % 4 == 1 && !fan);
            ck_assert_int_eq(h->blk, 0);
            fx_free(&f);
        }
}
END_TEST

/* A sigmoid dense layer read by an MSE alone: the MSE writes the layer's dZ in its forward pass.
 * Not when the layer is also the target, has a second reader, or the MSE accumulates; a BCE on
 * probabilities does not take the layer's derivative over. */
START_TEST(sigmoid_read_by_loss)
{
    for (int c = 0; c < 4; c++) {
        fx f;
        fx_init(&f);
        int wi = decl(&f, "w", ae_shape2(3, 4)), ti = decl(&f, "t", ae_shape2(2, 3));
        fx_alloc(&f, 2, 1);
        ae_node *x = in(&f, "x", ae_shape2(2, 4));
        ae_node *y = ae_dense(f.g, "y", x, P(&f, wi), NULL, AE_ACT_SIGMOID, &f.err);
        ae_node *t = c == 1 ? y : P(&f, ti);
        ae_node *m = c == 3 ? ae_bce(f.g, "bce", y, t, AE_MEAN, &f.err) : ae_mse(f.g, "mse", y, t, AE_MEAN, &f.err);
        ae_node *loss = m;
        if (c == 2) {
            ae_node *terms[2] = {m, ae_mse(f.g, "m2", y, P(&f, ti), AE_MEAN, &f.err)};
            loss = ae_weighted_sum(f.g, "loss", terms, (float[]){1.0f, 1.0f}, 2, &f.err);
        }
        compile(&f, loss);
        ck_assert_int_eq(m->fuse.grad_in_fwd, c != 2 && c != 3);
        ck_assert_int_eq(m->fuse.sig_dz, c == 0);
        ck_assert_int_eq(y->fuse.dz_ready, c == 0);
        ck_assert_int_eq(y->fuse.post_act, 0);
        fx_free(&f);
    }
}
END_TEST

/* conv 16 -> 16 -> 16 read by a loss (16 channels: a whole block on any ISA): the first conv's output stays channel-blocked (every reader is
 * a conv) in AUTO, not when pinned or in PLAIN; the last one, read by the loss, stays nchw. A dense
 * layer whose one reader is a reshape that a conv reads writes the blocked layout the conv reads,
 * and the reshape keeps it; not when the reshape is pinned. */
START_TEST(conv_layouts)
{
    for (int c = 0; c < 4; c++) {
        fx f;
        fx_init(&f);
        if (c == 2) ae_conv_set_layout(AE_CONV_LAYOUT_PLAIN);
        int w1 = decl(&f, "w1", ae_shape4(16, 16, 3, 3)), w2 = decl(&f, "w2", ae_shape4(16, 16, 3, 3));
        int di = decl(&f, "d", ae_shape2(16 * 4 * 4, 6)), ti = decl(&f, "t", ae_shape4(2, 16, 4, 4));
        int bi = decl(&f, "b", ae_shape_make(1, (int64_t[]){16}));
        fx_alloc(&f, 2, 1);
        ae_node *x = in(&f, "x", ae_shape2(2, 6));
        ae_node *u = ae_dense(f.g, "u", x, P(&f, di), NULL, AE_ACT_RELU, &f.err);
        ae_node *r = ae_reshape(f.g, "r", u, ae_shape4(2, 16, 4, 4), &f.err);
        ae_node *h = ae_conv2d(f.g, "h", r, P(&f, w1), P(&f, bi), 1, 1, AE_ACT_RELU, &f.err);
        ae_node *y = ae_conv2d(f.g, "y", h, P(&f, w2), NULL, 1, 1, AE_ACT_IDENTITY, &f.err);
        ae_node *loss = ae_mse(f.g, "m", y, P(&f, ti), AE_MEAN, &f.err);
        h->pinned = c == 1;
        r->pinned = c == 3;
        compile(&f, loss);
        const int blocked = c == 0 || c == 3;
        ck_assert_int_eq(h->fuse.keep_blocked, blocked);
        ck_assert_msg(blocked ? h->blk == 8 || h->blk == 16 : h->blk == 0, "case %d: h->blk %d", c, h->blk);
        ck_assert_int_eq(ae_conv_node_blocked(h), blocked);
        ck_assert_int_eq(h->fuse.post_act, 0); /* a bias: the activation follows the bias */
        ck_assert_int_eq(y->fuse.keep_blocked, 0);
        ck_assert_int_eq(y->blk, 0);
        ck_assert_int_eq(y->fuse.post_act, 1);
        const int ublk = c == 0 || c == 1;
        ck_assert_msg(ublk ? u->blk == 8 || u->blk == 16 : u->blk == 0, "case %d: u->blk %d", c, u->blk);
        ck_assert_int_eq(r->blk, u->blk);
        ck_assert_ptr_eq(r->val, u->val);
        fx_free(&f);
    }
}
END_TEST


/* One weighted sum over more terms than the old AE_MAX_IN = 4 (no folded tree): weights read
 * through pointers at every step (a change is one store, seen by forward and backward), the sum in
 * term order in double, gradients by central differences. */
START_TEST(weighted_sum_nary)
{
    enum { N = 6 };
    fx f;
    fx_init(&f);
    int pi[N], ti[N];
    for (int k = 0; k < N; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "p%d", k);
        pi[k] = decl(&f, nm, ae_shape2(2, 3));
        snprintf(nm, sizeof nm, "t%d", k);
        ti[k] = decl(&f, nm, ae_shape2(2, 3));
    }
    fx_alloc(&f, 2, 1);
    for (size_t i = 0; i < f.ps->total; i++) f.ps->val[i] = 0.37f * sinf(1.0f + (float)i);
    ae_node *terms[N];
    float w[N] = {1.0f, 0.5f, 2.0f, 0.25f, 3.0f, 1.5f};
    const float *wp[N];
    for (int k = 0; k < N; k++) {
        terms[k] = ae_mse(f.g, "m", P(&f, pi[k]), P(&f, ti[k]), AE_MEAN, &f.err);
        wp[k] = &w[k];
    }
    ae_node *loss = ae_weighted_sum_ref(f.g, "loss", terms, wp, N, &f.err);
    compile(&f, loss);
    ck_assert_int_eq(loss->nin, N);
    ae_graph_forward(f.g);
    double s = 0;
    for (int k = 0; k < N; k++) s += (double)w[k] * terms[k]->val[0];
    ck_assert_float_eq(loss->val[0], (float)s);
    w[4] = 0.125f; /* one store */
    ck_assert_float_eq(ae_weighted_sum_weight(loss, 4), 0.125f);
    ck_assert(isnan(ae_weighted_sum_weight(loss, N)));
    ae_graph_forward(f.g);
    s = 0;
    for (int k = 0; k < N; k++) s += (double)w[k] * terms[k]->val[0];
    ck_assert_float_eq(loss->val[0], (float)s);
    ae_rng *rng = ae_rng_new(3);
    double e = ae_test_gradcheck(f.g, loss, f.ps, rng, 1e-2f, 60, 1e-2);
    ck_assert_msg(e < 1e-2, "weighted sum gradient error %g", e);
    ae_rng_free(rng);
    /* too many terms is an error, not a fold */
    fx_free(&f);
    fx_init(&f);
    decl(&f, "p", ae_shape2(1, 1));
    fx_alloc(&f, 1, 1);
    ae_node *many[AE_MAX_IN + 1];
    for (int k = 0; k <= AE_MAX_IN; k++) many[k] = P(&f, 0);
    float ones[AE_MAX_IN + 1];
    for (int k = 0; k <= AE_MAX_IN; k++) ones[k] = 1.0f;
    ck_assert_ptr_null(ae_weighted_sum(f.g, "loss", many, ones, AE_MAX_IN + 1, &f.err));
    ck_assert_int_eq(f.err.code, AE_EINPUT);
    fx_free(&f);
}
END_TEST

/* --- plan passes: once per distinct pass, after consumers and flags, before buffers --------- */
static int g_calls, g_saw_cons, g_saw_buffers;

static int count_plan(ae_graph *g, ae_err *err)
{
    (void)err;
    g_calls++;
    const ae_node *first = ae_graph_node(g, 0);
    g_saw_cons = first->ncons;
    for (size_t i = 0; i < ae_graph_size(g); i++) g_saw_buffers |= ae_graph_node(g, i)->val != NULL;
    return AE_OK;
}

static int failing_plan(ae_graph *g, ae_err *err)
{
    (void)g;
    return ae_errf(err, AE_EINPUT, "plan says no");
}

static int same_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape = n->in[0]->shape;
    return AE_OK;
}

static const ae_op op_counted = {.name = "counted", .infer = same_infer, .plan = count_plan};
static const ae_op op_failing = {.name = "failing", .infer = same_infer, .plan = failing_plan};

START_TEST(plan_passes)
{
    for (int fail = 0; fail < 2; fail++) {
        fx f;
        fx_init(&f);
        decl(&f, "unused", ae_shape2(1, 1));
        fx_alloc(&f, 2, 0);
        ae_node *x = in(&f, "x", ae_shape2(2, 4));
        ae_node *a = ae_graph_add(f.g, &op_counted, "a", &x, 1, NULL, 0, NULL, 0, &f.err);
        ae_node *b = ae_graph_add(f.g, &op_counted, "b", &a, 1, NULL, 0, NULL, 0, &f.err);
        if (fail) b = ae_graph_add(f.g, &op_failing, "c", &b, 1, NULL, 0, NULL, 0, &f.err);
        ck_assert_ptr_nonnull(b);
        g_calls = g_saw_cons = g_saw_buffers = 0;
        int rc = ae_graph_compile(f.g, NULL, &f.err);
        ck_assert_int_eq(rc, fail ? AE_EINPUT : AE_OK);
        ck_assert_int_eq(g_calls, 1);
        ck_assert_int_eq(g_saw_cons, 1);
        ck_assert_int_eq(g_saw_buffers, 0);
        if (fail) ck_assert_str_eq(f.err.msg, "plan says no");
        else ck_assert_ptr_nonnull(b->val);
        fx_free(&f);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("graph");
    TCase *t = tcase_create("graph");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, consumers_and_order);
    tcase_add_test(t, accumulate_flags);
    tcase_add_test(t, views);
    tcase_add_test(t, skip_flags);
    tcase_add_test(t, dense_fusions);
    tcase_add_test(t, sigmoid_read_by_loss);
    tcase_add_test(t, conv_layouts);
    tcase_add_test(t, plan_passes);
    tcase_add_test(t, weighted_sum_nary);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
