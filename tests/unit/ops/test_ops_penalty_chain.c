/* A dense chain through a penalized code layer (issue 17, fuse.c penalty_link): an L1, KL sparsity
 * or contractive penalty on the encoder's output (the contractive's on its weight too), placed after
 * the decoder in graph order, lets encoder and decoder link (split in row blocks on 2 threads) and
 * gives the same gradients (within a reduction's rounding: the same bytes on AVX-512) as the same net
 * with the penalty placed first (no link); the links it must
 * refuse (a batch over one block, a penalty before a later chain layer); a finite-difference check
 * of the linked, split graph; a contractive penalty on the threads of a layer run by output units. */
#include "ae_par.h"
#include "ae_penalty.h"
#include "ops_fixture.h"
#include "../framework/ops/dense_internal.h"

enum { PN = 128, PK = 784, PH = 256, PL = 3 };

typedef enum { PEN_L1, PEN_KL, PEN_CAE } pen_kind;

typedef struct net {
    fx f;
    ae_node *d[PL], *w[PL], *loss;
    ae_act act[PL];
} net;

/* A penalty on layer l's output (the contractive's reads its weight too). */
static ae_node *penalty(net *t, pen_kind kind, int l)
{
    ae_node *h = t->d[l];
    if (kind == PEN_CAE) return ae_contractive_exact(t->f.g, "cae", h, t->w[l], t->act[l], 0.1f, &t->f.err);
    return kind == PEN_L1 ? ae_l1_penalty(t->f.g, "l1", h, 0.05f, &t->f.err)
                          : ae_kl_sparsity_penalty(t->f.g, "kl", h, 0.3f, 0.05f, &t->f.err);
}

/* x -> d0 (act, PH units) -> d1 (PK, sigmoid) [-> d2 (PK, sigmoid) when layers = 3], MSE to a target,
 * plus a penalty on layer pl's output created just before layer pos (pos = layers: after the last);
 * the loss adds the two terms in the same order whatever the position. Compiled on `threads`. */
static void build(net *t, int64_t n, int layers, ae_act act, pen_kind kind, int pl, int pos, int threads)
{
    ae_set_threads(threads);
    fx *f = &t->f;
    fx_init(f);
    int xi = decl(f, "x", ae_shape2(n, PK)), wi[PL], bi[PL];
    for (int l = 0; l < layers; l++) {
        char wn[8], bn[8];
        int64_t out = l ? PK : PH, in = l == 1 ? PH : PK;
        snprintf(wn, sizeof wn, "w%d", l);
        snprintf(bn, sizeof bn, "b%d", l);
        wi[l] = decl(f, wn, ae_shape2(out, in));
        bi[l] = decl(f, bn, ae_shape_make(1, (int64_t[]){out}));
    }
    int ti = decl(f, "t", ae_shape2(n, PK));
    fx_alloc(f, n, 0, 1);
    for (int l = 0; l < layers; l++) { /* W in U(-0.05, 0.05): |z| ~ 1, the sigmoids not saturated */
        float *w = f->ps->val + f->ps->p[wi[l]].off;
        for (size_t i = 0; i < f->ps->p[wi[l]].n; i++) w[i] = 0.1f * (w[i] - 0.5f);
    }
    ae_node *h = ae_graph_param(f->g, xi, &f->err), *pen = NULL;
    for (int l = 0; l < layers; l++) {
        if (l == pos) pen = penalty(t, kind, pl);
        t->w[l] = ae_graph_param(f->g, wi[l], &f->err);
        t->act[l] = l ? AE_ACT_SIGMOID : act;
        h = t->d[l] = ae_dense(f->g, "d", h, t->w[l], ae_graph_param(f->g, bi[l], &f->err), t->act[l], &f->err);
    }
    if (!pen) pen = penalty(t, kind, pl);
    ae_node *terms[2] = {sq_loss(f, h, ti), pen};
    t->loss = ae_weighted_sum(f->g, "sum", terms, (float[]){1.0f, 1.0f}, 2, &f->err);
    ck_assert_msg(t->loss && ae_graph_compile(f->g, t->loss, &f->err) == AE_OK, "%s", f->err.msg);
}

static float *step(net *t, float *loss) { return fx_grads(&t->f, t->loss, loss); }

static int is_split(const ae_node *d) { return ((const dense_state *)d->state)->split; }

/* Linked and unlinked gradients: the same sums, but the linked chain adds the penalty's rows inside the
 * next layer's dX product (oneDNN's accumulate) instead of after it, and whether that rounds like
 * fl(product) + penalty is up to the ISA's kernels (same bytes on AVX-512, not on AVX2). So each
 * parameter's gradient within the float error of a dX reduction over PK terms carried through a dW
 * reduction over the batch: (PK + PN) eps times the gradient's largest entry. */
static void assert_close(const net *t, const float *ga, const float *gb, const char *what)
{
    fx_assert_near(t->f.ps, ga, gb, ga, PK + PN, what);
}

/* Linked (penalty after the decoder) against unlinked (penalty first): same bytes, 1 and 2 threads. */
START_TEST(penalty_links_chain_same_bytes)
{
    int saved = ae_get_threads();
    const struct { ae_act act; pen_kind kind; } cases[] = {
        {AE_ACT_SIGMOID, PEN_KL}, {AE_ACT_SIGMOID, PEN_L1}, {AE_ACT_RELU, PEN_L1}, {AE_ACT_RELU, PEN_KL},
        {AE_ACT_SIGMOID, PEN_CAE}, {AE_ACT_RELU, PEN_CAE}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (int threads = 1; threads <= 2; threads++) {
            net a, b;
            build(&a, PN, 2, cases[c].act, cases[c].kind, 0, 2, threads);
            build(&b, PN, 2, cases[c].act, cases[c].kind, 0, 1, threads);
            ck_assert_msg(a.d[0]->fuse.chain_next == a.d[1], "case %zu: the penalty after the chain links it", c);
            ck_assert_msg(!b.d[0]->fuse.chain_next, "case %zu: the penalty first (runs last) unlinks it", c);
            ck_assert_msg(a.d[1]->accum[0] && !b.d[1]->accum[0], "case %zu: which writes d0's gradient first", c);
            ck_assert_int_eq(a.d[0]->accum[1], cases[c].kind == PEN_CAE); /* the contractive's dW first */
            ck_assert_int_eq(is_split(a.d[0]), threads == 2);
            ck_assert_int_eq(is_split(b.d[0]), 0);
            float la, lb;
            float *ga = step(&a, &la), *gb = step(&b, &lb);
            if (threads == 1) /* the same forward products; split in row blocks on 2 threads (up to the ISA) */
                ck_assert_msg(memcmp(&la, &lb, sizeof la) == 0, "case %zu: loss %.9g vs %.9g", c, la, lb);
            else
                ck_assert_msg(fabs((double)la - lb) <= ae_test_tol_reduce(PK + PN, fabs((double)la)),
                              "case %zu, 2 threads: loss %.9g vs %.9g", c, la, lb);
            char what[64];
            snprintf(what, sizeof what, "case %zu, %d threads", c, threads);
            assert_close(&a, ga, gb, what);
            free(ga), free(gb);
            fx_free(&a.f), fx_free(&b.f);
        }
    ae_set_threads(saved);
}
END_TEST

/* No link when the batch is over one block (its dX would go to a per-thread buffer without the
 * penalty's rows), nor to a layer after which the penalty comes (its backward would run after the
 * chain's); placed after the last layer, the penalty on d1 lets the whole three-layer chain link. */
START_TEST(penalty_refused_links)
{
    int saved = ae_get_threads();
    net t;
    build(&t, DENSE_MIN_BLOCK_ROWS + 44, 2, AE_ACT_RELU, PEN_L1, 0, 2, 2);
    ck_assert_ptr_null(t.d[0]->fuse.chain_next);
    fx_free(&t.f);
    build(&t, PN, 3, AE_ACT_SIGMOID, PEN_KL, 1, 2, 2); /* d0, d1, penalty(d1), d2 */
    ck_assert_ptr_eq(t.d[0]->fuse.chain_next, t.d[1]);
    ck_assert_ptr_null(t.d[1]->fuse.chain_next);
    float l1, l2;
    float *g1 = step(&t, &l1);
    net u;
    build(&u, PN, 3, AE_ACT_SIGMOID, PEN_KL, 1, 3, 2); /* after d2 */
    ck_assert_ptr_eq(u.d[0]->fuse.chain_next, u.d[1]);
    ck_assert_ptr_eq(u.d[1]->fuse.chain_next, u.d[2]);
    ck_assert(is_split(u.d[0]));
    float *g2 = step(&u, &l2);
    ck_assert(fabs((double)l1 - l2) <= ae_test_tol_reduce(PK + PN, fabs((double)l1)));
    assert_close(&t, g1, g2, "three layers");
    free(g1), free(g2);
    fx_free(&t.f), fx_free(&u.f);
    ae_set_threads(saved);
}
END_TEST

/* The linked, split graph's gradients against finite differences. */
START_TEST(penalty_chain_gradcheck)
{
    int saved = ae_get_threads();
    for (int kind = PEN_L1; kind <= PEN_CAE; kind++) {
        net t;
        build(&t, PN, 2, AE_ACT_SIGMOID, (pen_kind)kind, 0, 2, 2);
        ck_assert(is_split(t.d[0]));
        double e = ae_test_gradcheck(t.f.g, t.loss, t.f.ps, NULL, 1e-2f, 40, 1e-2);
        ck_assert_msg(e < 2e-2, "penalty %d: gradient error %g", kind, e);
        fx_free(&t.f);
    }
    ae_set_threads(saved);
}
END_TEST

/* A contractive penalty on a layer run by output units runs on the units' threads (plan_threads.c),
 * each its part's W rows and h columns (ops_contractive.c): not on a 1-thread graph, and its every
 * sum in its own fixed order, so a one-thread limit on the 2-thread graph gives the same bytes. */
START_TEST(cae_on_units_threads)
{
    int saved = ae_get_threads();
    net t;
    build(&t, PN, 2, AE_ACT_SIGMOID, PEN_CAE, 0, 1, 1);
    ck_assert_int_eq(t.loss->in[1]->threads, 1);
    fx_free(&t.f);
    build(&t, PN, 2, AE_ACT_SIGMOID, PEN_CAE, 0, 2, 2);
    const ae_node *pen = t.loss->in[1];
    ck_assert_ptr_eq(pen->op, &ae_op_contractive_exact);
    ck_assert(((const dense_state *)t.d[0]->state)->units);
    ck_assert_int_eq(pen->threads, 0);
    float l2, l1;
    float *g2 = step(&t, &l2);
    int lim = ae_par_limit(1);
    float *g1 = step(&t, &l1);
    ae_par_restore(lim);
    ck_assert(memcmp(&l1, &l2, sizeof l1) == 0);
    ck_assert_msg(memcmp(g1, g2, t.f.ps->total * sizeof *g1) == 0, "one thread's gradients differ from two threads'");
    free(g1), free(g2);
    fx_free(&t.f);
    ae_set_threads(saved);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_penalty_chain");
    TCase *t = tcase_create("ops_penalty_chain");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, penalty_links_chain_same_bytes);
    tcase_add_test(t, penalty_refused_links);
    tcase_add_test(t, penalty_chain_gradcheck);
    tcase_add_test(t, cae_on_units_threads);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
