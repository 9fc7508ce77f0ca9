/* Conv2d / conv_transpose2d ops: forward values against direct loops, gradient checks (plain,
 * blocked and automatic layouts, fan-out accumulation, outputs kept blocked), shape errors. The
 * layer types (config keys, mirror) are in test_conv_layers.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_config.h"
#include "ae_conv.h"
#include "ae_params.h"
#include "ae_registry.h"
#include "ae_test.h"

typedef struct fx {
    ae_params *ps;
    ae_graph *g;
    ae_rng *rng;
    ae_err err;
    ae_node *tg[4]; /* loss targets: graph inputs (no gradient to check), filled at compile */
    int ntg;
} fx;

/* Each test starts from the AUTO layout and the default gather limit (a failed test in a
 * non-forking run skips fx_free). */
static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->ps = ae_params_new();
    f->rng = ae_rng_new(11);
    ae_conv_set_layout(AE_CONV_LAYOUT_AUTO);
    ae_conv_set_gather_limit(AE_CONV_GATHER_DEFAULT);
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
    for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] = (float)(2.0 * ae_rng_uniform(f->rng) - 1.0);
    f->g = ae_graph_new(f->ps, batch, training);
}

static void fx_free(fx *f)
{
    ae_graph_free(f->g);
    ae_params_free(f->ps);
    ae_rng_free(f->rng);
    ae_conv_set_layout(AE_CONV_LAYOUT_AUTO);
    ae_conv_set_gather_limit(AE_CONV_GATHER_DEFAULT);
}

static ae_node *P(fx *f, int i) { return i < 0 ? NULL : ae_graph_param(f->g, i, &f->err); }

static ae_node *target(fx *f, ae_shape s)
{
    ae_node *t = ae_graph_input(f->g, "target", s, &f->err);
    if (t && f->ntg < 4) f->tg[f->ntg++] = t;
    return t;
}

static void compile(fx *f, ae_node *loss)
{
    ck_assert_msg(loss && ae_graph_compile(f->g, loss, &f->err) == AE_OK, "%s", f->err.msg);
    for (int k = 0; k < f->ntg; k++)
        for (size_t i = 0; i < f->tg[k]->numel; i++) f->tg[k]->val[i] = (float)ae_rng_uniform(f->rng);
}

/* Central differences on every parameter (24 entries each, spread evenly: every tap and channel). */
static void grad_ok(fx *f, ae_node *loss, const char *what, int layout)
{
    double e = ae_test_gradcheck(f->g, loss, f->ps, NULL, 1e-2f, 24, 1e-2);
    ck_assert_msg(e < 2e-2, "%s (layout %d): gradient error %g", what, layout, e);
}

static int bias(fx *f, const char *name, int64_t n) { return decl(f, name, ae_shape_make(1, &n)); }

/* --- direct-loop references ------------------------------------------------------------------ */
typedef struct cfg {
    int tr, n, cin, cout, h, w, k, s, p, op, bias;
    ae_act act;
} cfg;

static int out_size(const cfg *c, int in)
{
    return c->tr ? (in - 1) * c->s - 2 * c->p + c->k + c->op : (in + 2 * c->p - c->k) / c->s + 1;
}

static double act_ref(ae_act a, double z)
{
    return a == AE_ACT_RELU ? fmax(z, 0) : a == AE_ACT_SIGMOID ? 1 / (1 + exp(-z)) : a == AE_ACT_TANH ? tanh(z) : z;
}

/* y (n x cout x ho x wo), doubles; w is [cout,cin,k,k] for conv, [cin,cout,k,k] for transpose.
 * Loops run over the unstrided side (conv: output, transpose: input) and index the strided one. */
static double *reference(const cfg *c, const float *x, const float *w, const float *b)
{
    int ho = out_size(c, c->h), wo = out_size(c, c->w), k = c->k;
    int li = c->tr ? c->h : ho, lj = c->tr ? c->w : wo, si = c->tr ? ho : c->h, sj = c->tr ? wo : c->w;
    double *y = calloc((size_t)c->n * c->cout * ho * wo, sizeof *y);
    for (int n = 0; n < c->n; n++)
        for (int o = 0; o < c->cout; o++)
            for (int ci = 0; ci < c->cin; ci++)
                for (int u = 0; u < k * k; u++) {
                    double wt = w[(c->tr ? ci * c->cout + o : o * c->cin + ci) * k * k + u];
                    for (int i = 0; i < li; i++)
                        for (int j = 0; j < lj; j++) {
                            int a = i * c->s + u / k - c->p, bb = j * c->s + u % k - c->p;
                            if (a < 0 || a >= si || bb < 0 || bb >= sj) continue;
                            size_t xo = ((size_t)(n * c->cin + ci) * c->h + (c->tr ? i : a)) * c->w + (c->tr ? j : bb);
                            size_t yo = ((size_t)(n * c->cout + o) * ho + (c->tr ? a : i)) * wo + (c->tr ? bb : j);
                            y[yo] += wt * x[xo];
                        }
                }
    size_t plane = (size_t)ho * wo;
    for (size_t i = 0; i < (size_t)c->n * c->cout * plane; i++)
        y[i] = act_ref(c->act, y[i] + (b ? b[(i / plane) % (size_t)c->cout] : 0.0));
    return y;
}

static ae_node *conv_node(fx *f, const cfg *c, const char *name, ae_node *x, int wi, int bi)
{
    return c->tr ? ae_conv_transpose2d(f->g, name, x, P(f, wi), P(f, bi), c->s, c->p, c->op, c->act, &f->err)
                 : ae_conv2d(f->g, name, x, P(f, wi), P(f, bi), c->s, c->p, c->act, &f->err);
}

static ae_shape wshape(const cfg *c)
{
    return c->tr ? ae_shape4(c->cin, c->cout, c->k, c->k) : ae_shape4(c->cout, c->cin, c->k, c->k);
}

/* ReLU's kink breaks central differences when a pre-activation lies within h of 0: redraw the
 * parameters until every pre-activation is clear of it (|dz| <= h per perturbed entry in [-1, 1]). */
static void clear_relu_kinks(fx *f, const cfg *c, int xi, int wi, int bi, double h)
{
    cfg lin = *c;
    lin.act = AE_ACT_IDENTITY;
    size_t ny = (size_t)c->n * c->cout * out_size(c, c->h) * out_size(c, c->w);
    for (int tries = 0; tries < 1000; tries++) {
        double *z = reference(&lin, f->ps->val + f->ps->p[xi].off, f->ps->val + f->ps->p[wi].off,
                              bi >= 0 ? f->ps->val + f->ps->p[bi].off : NULL);
        double m = INFINITY;
        for (size_t i = 0; i < ny; i++) m = fmin(m, fabs(z[i]));
        free(z);
        if (m > 2 * h) return;
        for (size_t i = 0; i < f->ps->total; i++) f->ps->val[i] = (float)(2.0 * ae_rng_uniform(f->rng) - 1.0);
    }
    ck_abort_msg("no parameter draw keeps the ReLU pre-activations away from 0");
}

/* Forward against the reference (a training graph with x as a parameter), then the gradient check. */
static void run_case(const cfg *c, ae_conv_layout layout, size_t gather_limit)
{
    fx f;
    fx_init(&f);
    ae_conv_set_layout(layout);
    ae_conv_set_gather_limit(gather_limit);
    int ho = out_size(c, c->h), wo = out_size(c, c->w);
    int xi = decl(&f, "x", ae_shape4(c->n, c->cin, c->h, c->w)), wi = decl(&f, "w", wshape(c));
    int bi = c->bias ? bias(&f, "b", c->cout) : -1;
    fx_alloc(&f, c->n, 1);
    if (c->act == AE_ACT_RELU) clear_relu_kinks(&f, c, xi, wi, bi, 1e-2);
    ae_node *x = P(&f, xi);
    ae_node *y = conv_node(&f, c, c->tr ? "convT" : "conv", x, wi, bi);
    ck_assert_msg(y && ae_shape_eq(y->shape, ae_shape4(c->n, c->cout, ho, wo)), "%s", f.err.msg);
    ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
    compile(&f, loss);
    int lf, ld, lw;
    ae_conv_node_layouts(y, &lf, &ld, &lw);
    ck_assert_int_ge(ld, 0); /* x is a parameter: backward-data exists */
    if (layout != AE_CONV_LAYOUT_AUTO) ck_assert_int_eq(lf, layout == AE_CONV_LAYOUT_BLOCKED);
    ae_graph_forward(f.g);
    double *ref = reference(c, x->val, f.ps->val + f.ps->p[wi].off, c->bias ? f.ps->val + f.ps->p[bi].off : NULL);
    /* float32 sums of cin·k·k products against a double reference */
    const double tol = ae_test_tol_reduce((size_t)c->cin * c->k * c->k + 1, fmax(1.0, ae_test_absmax_d(ref, y->numel)));
    for (size_t i = 0; i < y->numel; i++)
        ck_assert_msg(fabs(y->val[i] - ref[i]) <= tol, "%s layout %d: y[%zu] = %.7g, "
                      "reference %.7g", c->tr ? "convT" : "conv", (int)layout, i, y->val[i], ref[i]);
    free(ref);
    char what[96];
    snprintf(what, sizeof what, "%s cin=%d s=%d p=%d op=%d bias=%d %s", c->tr ? "convT" : "conv", c->cin, c->s,
             c->p, c->op, c->bias, ae_act_name(c->act));
    grad_ok(&f, loss, what, (int)layout);
    fx_free(&f);
}

static const cfg conv_cases[] = {
    /* tr n cin cout h w k s p op bias act */
    {0, 2, 1, 4, 6, 6, 3, 1, 0, 0, 1, AE_ACT_IDENTITY},
    {0, 2, 3, 4, 7, 7, 3, 2, 1, 0, 0, AE_ACT_RELU},
    {0, 2, 3, 5, 6, 5, 3, 2, 1, 0, 1, AE_ACT_SIGMOID},
    {0, 3, 1, 8, 5, 5, 3, 1, 1, 0, 1, AE_ACT_TANH},
    {0, 2, 8, 16, 6, 6, 2, 2, 0, 0, 1, AE_ACT_TANH},
    {0, 2, 16, 8, 5, 5, 3, 2, 1, 0, 0, AE_ACT_SIGMOID},
};

static const cfg convt_cases[] = {
    {1, 2, 1, 3, 4, 4, 3, 1, 0, 0, 1, AE_ACT_IDENTITY},
    {1, 2, 3, 2, 4, 4, 3, 2, 1, 1, 1, AE_ACT_RELU},
    {1, 2, 3, 1, 3, 4, 3, 2, 0, 1, 0, AE_ACT_SIGMOID},
    {1, 3, 4, 3, 4, 4, 4, 2, 1, 0, 1, AE_ACT_TANH},
    {1, 2, 16, 8, 3, 3, 3, 2, 1, 1, 1, AE_ACT_TANH},
    {1, 2, 8, 16, 4, 4, 3, 2, 1, 1, 0, AE_ACT_IDENTITY},
};

/* each case in the automatic (per-primitive nhwc/nchw/blocked), plain and blocked layouts, with the
 * weights' layout copies as table gathers (the default) and as oneDNN reorders */
#define RUN_CASES(a)                                                                                \
    for (size_t i = 0; i < sizeof a / sizeof a[0] * 6; i++)                                          \
    run_case(&a[i / 6], (ae_conv_layout)(i / 2 % 3), i % 2 ? 0 : AE_CONV_GATHER_DEFAULT)

START_TEST(conv2d_forward_and_grads) { RUN_CASES(conv_cases); }
END_TEST

START_TEST(conv_transpose2d_forward_and_grads) { RUN_CASES(convt_cases); }
END_TEST

/* x feeds a conv and a transposed conv, and one weight/bias pair serves two convs: the second
 * contribution to each gradient must accumulate (backward-data and backward-weights, both layouts). */
START_TEST(fanout_accumulates)
{
    for (int l = 1; l < 3; l++) {
        fx f;
        fx_init(&f);
        ae_conv_set_layout((ae_conv_layout)l);
        int xi = decl(&f, "x", ae_shape4(2, 8, 4, 4)), x2 = decl(&f, "x2", ae_shape4(2, 8, 4, 4));
        int wi = decl(&f, "w", ae_shape4(8, 8, 3, 3)), bi = bias(&f, "b", 8);
        int vi = decl(&f, "v", ae_shape4(8, 8, 3, 3)), ci = bias(&f, "c", 8);
        fx_alloc(&f, 2, 1);
        ae_node *x = P(&f, xi);
        ae_node *a = ae_conv2d(f.g, "a", x, P(&f, wi), P(&f, bi), 1, 1, AE_ACT_TANH, &f.err);
        ae_node *b = ae_conv2d(f.g, "b", P(&f, x2), P(&f, wi), P(&f, bi), 1, 1, AE_ACT_SIGMOID, &f.err);
        ae_node *c = ae_conv_transpose2d(f.g, "c", x, P(&f, vi), P(&f, ci), 2, 1, 0, AE_ACT_IDENTITY, &f.err);
        ae_node *t1 = target(&f, ae_shape4(2, 8, 4, 4));
        ae_node *terms[3] = {ae_mse(f.g, "la", a, t1, AE_MEAN, &f.err), ae_mse(f.g, "lb", b, t1, AE_MEAN, &f.err),
                             ae_mse(f.g, "lc", c, target(&f, ae_shape4(2, 8, 7, 7)), AE_MEAN, &f.err)};
        float w[3] = {0.7f, 1.3f, 0.9f};
        ae_node *loss = ae_weighted_sum(f.g, "sum", terms, w, 3, &f.err);
        compile(&f, loss);
        ck_assert(a->accum[0] && a->accum[1] && a->accum[2] && !c->accum[0]); /* a runs last backward */
        grad_ok(&f, loss, "fan-out", l);
        fx_free(&f);
    }
}
END_TEST

/* conv -> transposed conv and back: in the blocked layout the second reads the first's private
 * output copy (activated by a fused post-op or by the separate eltwise primitive). */
START_TEST(chain_values_and_grads)
{
    static const cfg pairs[2][2] = {
        {{0, 2, 8, 16, 6, 6, 3, 2, 1, 0, 1, AE_ACT_TANH}, {1, 2, 16, 8, 3, 3, 3, 2, 1, 1, 1, AE_ACT_SIGMOID}},
        {{1, 2, 8, 16, 3, 3, 3, 2, 1, 1, 1, AE_ACT_TANH}, {0, 2, 16, 8, 6, 6, 3, 2, 1, 0, 1, AE_ACT_SIGMOID}}};
    for (int q = 0; q < 2; q++)
        for (int l = 0; l < 3; l++) {
            const cfg *c1 = &pairs[q][0], *c2 = &pairs[q][1];
            fx f;
            fx_init(&f);
            ae_conv_set_layout((ae_conv_layout)l);
            int xi = decl(&f, "x", ae_shape4(2, 8, c1->h, c1->w)), w1 = decl(&f, "w1", wshape(c1));
            int w2 = decl(&f, "w2", wshape(c2)), b1 = bias(&f, "b1", 16), b2 = bias(&f, "b2", 8);
            fx_alloc(&f, 2, 1);
            ae_node *h = conv_node(&f, c1, "c1", P(&f, xi), w1, b1);
            ae_node *y = conv_node(&f, c2, "c2", h, w2, b2);
            ck_assert_msg(y && h->numel == (size_t)2 * 16 * c2->h * c2->w, "%s", f.err.msg);
            ae_node *loss = ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err);
            compile(&f, loss);
            ae_graph_forward(f.g);
            const float *v = f.ps->val;
            double *r1 = reference(c1, v + f.ps->p[xi].off, v + f.ps->p[w1].off, v + f.ps->p[b1].off);
            float *h1 = malloc(h->numel * sizeof *h1);
            for (size_t i = 0; i < h->numel; i++) h1[i] = (float)r1[i];
            double *r2 = reference(c2, h1, v + f.ps->p[w2].off, v + f.ps->p[b2].off);
            /* two float32 layers of cin·k·k products each against a double reference */
            const double tol = ae_test_tol_reduce((size_t)c1->cin * c1->k * c1->k + (size_t)c2->cin * c2->k * c2->k + 2,
                                                  fmax(1.0, ae_test_absmax_d(r2, y->numel)));
            for (size_t i = 0; i < y->numel; i++)
                ck_assert_msg(fabs(y->val[i] - r2[i]) <= tol, "chain %d layout %d: y[%zu] = %.7g, reference %.7g",
                              q, l, i, y->val[i], r2[i]);
            free(r1);
            free(h1);
            free(r2);
            grad_ok(&f, loss, q ? "chain convT-conv" : "chain conv-convT", l);
            fx_free(&f);
        }
}
END_TEST

/* A conv output read by two convs stays blocked (AUTO and BLOCKED; not PLAIN): the second
 * consumer's backward-data accumulates into its blocked gradient; a conv output also read by a
 * loss, or pinned (read by the caller), stays nchw. */
START_TEST(blocked_output_fanout_and_pinning)
{
    for (int l = 0; l < 3; l++)
        for (int pin = 0; pin < 2; pin++) {
            fx f;
            fx_init(&f);
            ae_conv_set_layout((ae_conv_layout)l);
            int xi = decl(&f, "x", ae_shape4(2, 8, 6, 6)), w1 = decl(&f, "w1", ae_shape4(16, 8, 3, 3));
            int w2 = decl(&f, "w2", ae_shape4(8, 16, 3, 3)), w3 = decl(&f, "w3", ae_shape4(16, 8, 3, 3));
            int b1 = bias(&f, "b1", 16), b2 = bias(&f, "b2", 8), b3 = bias(&f, "b3", 8);
            fx_alloc(&f, 2, 1);
            ae_node *h = ae_conv2d(f.g, "h", P(&f, xi), P(&f, w1), P(&f, b1), 1, 1, AE_ACT_SIGMOID, &f.err);
            ae_node *y1 = ae_conv2d(f.g, "y1", h, P(&f, w2), P(&f, b2), 2, 1, AE_ACT_TANH, &f.err);
            ae_node *y2 = ae_conv_transpose2d(f.g, "y2", h, P(&f, w3), P(&f, b3), 2, 1, 1, AE_ACT_IDENTITY, &f.err);
            ck_assert_msg(y1 && y2, "%s", f.err.msg);
            h->pinned = pin;
            ae_node *terms[2] = {ae_mse(f.g, "l1", y1, target(&f, y1->shape), AE_MEAN, &f.err),
                                 ae_mse(f.g, "l2", y2, target(&f, y2->shape), AE_MEAN, &f.err)};
            float w[2] = {0.6f, 1.4f};
            ae_node *loss = ae_weighted_sum(f.g, "sum", terms, w, 2, &f.err);
            compile(&f, loss);
            ck_assert_int_eq(ae_conv_node_blocked(h), l != AE_CONV_LAYOUT_PLAIN && !pin);
            ck_assert_int_eq(ae_conv_node_blocked(y1), 0); /* read by a loss */
            ck_assert(y1->accum[0] != y2->accum[0]); /* one overwrites h's gradient, the other adds */
            grad_ok(&f, loss, pin ? "fan-out of a pinned conv output" : "fan-out of a blocked conv output", l);
            fx_free(&f);
        }
}
END_TEST

/* The conv/dense boundary (W3's): conv -> dense -> dense -> reshape -> transposed conv, the first
 * conv's output also read by another conv and by a second dense layer sharing the first one's
 * weight. In AUTO and BLOCKED the conv output stays blocked and the dense layers read it so
 * (permuted weight columns); the second writes the blocked layout the transposed conv reads
 * (permuted rows), through the reshape. Values agree with PLAIN (no blocking); gradients pass the
 * check (the conv output's and the shared weight's gradients accumulate); pinned nodes stay
 * row-major. */
START_TEST(dense_reads_and_writes_blocked)
{
    float *ref = NULL;
    static const ae_conv_layout order[3] = {AE_CONV_LAYOUT_PLAIN, AE_CONV_LAYOUT_AUTO, AE_CONV_LAYOUT_BLOCKED};
    for (int q = 0; q < 3; q++)
        for (int pin = 0; pin < (q ? 2 : 1); pin++) {
            const ae_conv_layout l = order[q];
            fx f;
            fx_init(&f);
            ae_conv_set_layout(l);
            int xi = decl(&f, "x", ae_shape4(2, 8, 6, 6)), w1 = decl(&f, "w1", ae_shape4(16, 8, 3, 3));
            int d1 = decl(&f, "d1", ae_shape2(5, 144)), d2 = decl(&f, "d2", ae_shape2(144, 5));
            int w2 = decl(&f, "w2", ae_shape4(16, 8, 3, 3)), w3 = decl(&f, "w3", ae_shape4(8, 16, 3, 3));
            int b1 = bias(&f, "b1", 16), e1 = bias(&f, "e1", 5), e2 = bias(&f, "e2", 144), b2 = bias(&f, "b2", 8);
            fx_alloc(&f, 2, 1);
            ae_node *h = ae_conv2d(f.g, "h", P(&f, xi), P(&f, w1), P(&f, b1), 2, 1, AE_ACT_TANH, &f.err);
            ae_node *z = ae_dense(f.g, "z", h, P(&f, d1), P(&f, e1), AE_ACT_TANH, &f.err);
            ae_node *u = ae_dense(f.g, "u", z, P(&f, d2), P(&f, e2), AE_ACT_SIGMOID, &f.err);
            ae_node *r = ae_reshape(f.g, "r", u, ae_shape4(2, 16, 3, 3), &f.err);
            ae_node *y = ae_conv_transpose2d(f.g, "y", r, P(&f, w2), P(&f, b2), 2, 1, 1, AE_ACT_IDENTITY, &f.err);
            ae_node *v = ae_conv2d(f.g, "v", h, P(&f, w3), NULL, 1, 1, AE_ACT_IDENTITY, &f.err);
            ae_node *z2 = ae_dense(f.g, "z2", h, P(&f, d1), NULL, AE_ACT_IDENTITY, &f.err);
            ck_assert_msg(y && v && z2 && ae_shape_eq(y->shape, ae_shape4(2, 8, 6, 6)), "%s", f.err.msg);
            h->pinned = u->pinned = pin;
            ae_node *terms[3] = {ae_mse(f.g, "l1", y, target(&f, y->shape), AE_MEAN, &f.err),
                                 ae_mse(f.g, "l2", v, target(&f, v->shape), AE_MEAN, &f.err),
                                 ae_mse(f.g, "l3", z2, target(&f, z2->shape), AE_MEAN, &f.err)};
            float tw[3] = {1.0f, 0.5f, 0.8f};
            ae_node *loss = ae_weighted_sum(f.g, "sum", terms, tw, 3, &f.err);
            compile(&f, loss);
            int blocked = l != AE_CONV_LAYOUT_PLAIN && !pin;
            ck_assert_int_eq(ae_conv_node_blocked(h), blocked);
            ck_assert_int_eq(u->blk > 0, blocked);
            ck_assert_int_eq(r->blk, u->blk);
            ck_assert(z->accum[1] != z2->accum[1]); /* one writes d1's gradient, the other adds */
            ae_graph_forward(f.g);
            if (!ref) { /* PLAIN comes first: the reference */
                ref = malloc(y->numel * sizeof *ref);
                memcpy(ref, y->val, y->numel * sizeof *ref);
            }
            /* reductions along the longest path: conv 8·3·3, dense 144, dense 5, transposed conv 16·3·3 */
            const double tol = ae_test_tol_reduce(72 + 144 + 5 + 144, ae_test_absmax(ref, y->numel));
            for (size_t i = 0; i < y->numel; i++)
                ck_assert_msg(fabsf(y->val[i] - ref[i]) <= tol, "layout %d pin %d: y[%zu] = %.7g, plain %.7g",
                              (int)l, pin, i, y->val[i], ref[i]);
            grad_ok(&f, loss, pin ? "conv/dense boundary, pinned" : "conv/dense boundary", (int)l);
            fx_free(&f);
        }
    free(ref);
}
END_TEST

static int g_env_threads = 1; /* the thread count the environment asked for (OMP_NUM_THREADS) */

/* The W3 stack conv 1->32->64, deconv 64->32->1 (28x28, batch 2) on graph g; nodes in out[4]. */
static ae_node *w3_stack(ae_graph *g, const int *wi, ae_node *x, ae_node **out, ae_err *err)
{
    ae_node *h = x;
    for (int i = 0; i < 4; i++) {
        ae_node *w = ae_graph_param(g, wi[i], err);
        ae_act a = i == 3 ? AE_ACT_SIGMOID : AE_ACT_RELU;
        h = out[i] = i < 2 ? ae_conv2d(g, "e", h, w, NULL, 2, 1, a, err) : ae_conv_transpose2d(g, "d", h, w, NULL, 2, 1, 1, a, err);
    }
    return h;
}

/* An input placeholder needs no gradient: no backward-data; AUTO picks nhwc for 1 channel (blocked
 * for the conv's forward, nchw for the transposed conv's), and the outputs read only by convs stay
 * blocked (the last transposed conv then writes its input's gradient blocked). An inference graph, and a graph made and run with the
 * environment's threads (if > 1), agree. */
START_TEST(auto_layouts_and_inference)
{
    fx f;
    fx_init(&f);
    int wi[4] = {decl(&f, "w1", ae_shape4(32, 1, 3, 3)), decl(&f, "w2", ae_shape4(64, 32, 3, 3)),
                 decl(&f, "w3", ae_shape4(64, 32, 3, 3)), decl(&f, "w4", ae_shape4(32, 1, 3, 3))};
    fx_alloc(&f, 2, 1);
    ae_node *x = ae_graph_input(f.g, "x", ae_shape4(2, 1, 28, 28), &f.err), *n[4], *m[4];
    ae_node *y = w3_stack(f.g, wi, x, n, &f.err);
    ck_assert_msg(y && ae_shape_eq(y->shape, ae_shape4(2, 1, 28, 28)), "%s", f.err.msg);
    compile(&f, ae_mse(f.g, "loss", y, target(&f, y->shape), AE_MEAN, &f.err));
    int a, b, c;
    enum { P = AE_CONV_STAGE_NCHW, B = AE_CONV_STAGE_BLOCKED, H = AE_CONV_STAGE_NHWC };
    static const int expect[4][3] = {{B, -1, H}, {B, B, B}, {B, B, B}, {P, B, H}};
    for (int i = 0; i < 4; i++) {
        ae_conv_node_layouts(n[i], &a, &b, &c);
        ck_assert_msg(a == expect[i][0] && b == expect[i][1] && c == expect[i][2], "node %d: %d %d %d", i, a, b, c);
        ck_assert_int_eq(ae_conv_node_blocked(n[i]), i < 3);
    }
    for (size_t i = 0; i < x->numel; i++) x->val[i] = (float)ae_rng_uniform(f.rng);
    ae_graph_forward(f.g);
    ae_graph_backward(f.g);
    float *grad = malloc(f.ps->total * sizeof *grad);
    memcpy(grad, f.ps->grad, f.ps->total * sizeof *grad);
    for (int k = 0; k < (g_env_threads > 1 ? 2 : 1); k++) {
        ae_set_threads(k ? g_env_threads : 1); /* oneDNN runs with the count its primitives were made with */
        ae_graph *gi = ae_graph_new(f.ps, 2, k);
        ae_node *xi = ae_graph_input(gi, "x", ae_shape4(2, 1, 28, 28), &f.err);
        ae_node *z = w3_stack(gi, wi, xi, m, &f.err), *t = k ? ae_graph_input(gi, "t", y->shape, &f.err) : NULL;
        ae_node *l = k ? ae_mse(gi, "loss", z, t, AE_MEAN, &f.err) : NULL;
        ck_assert_msg(z && ae_graph_compile(gi, l, &f.err) == AE_OK, "%s", f.err.msg);
        ae_conv_node_layouts(z, &a, &b, &c);
        ck_assert(k ? b == AE_CONV_STAGE_BLOCKED && c == AE_CONV_STAGE_NHWC : b == -1 && c == -1);
        memcpy(xi->val, x->val, x->numel * sizeof(float));
        if (t) memcpy(t->val, f.tg[0]->val, t->numel * sizeof(float));
        ae_graph_forward(gi);
        ae_graph_backward(gi);
        /* reductions along the path: 1·3·3, 32·3·3, 64·3·3, 32·3·3 (blocked and plain kernels sum
         * in different orders, and differently on AVX2 and AVX-512) */
        const double tol = ae_test_tol_reduce(9 + 288 + 576 + 288, ae_test_absmax(y->val, y->numel));
        for (size_t i = 0; i < z->numel; i++) ck_assert_float_eq_tol(z->val[i], y->val[i], tol);
        /* weight gradients: the forward path twice (value and back), then sums over 2·28·28 outputs */
        const double gtol = ae_test_tol_reduce(2 * 1161 + 1568, ae_test_absmax(grad, f.ps->total));
        for (size_t i = 0; k && i < f.ps->total; i++) /* summation order may differ */
            ck_assert_float_eq_tol(f.ps->grad[i], grad[i], gtol);
        ae_graph_free(gi);
    }
    ae_set_threads(1);
    free(grad);
    fx_free(&f);
}
END_TEST

static void expect_error(fx *f, ae_node *y, const char *a, const char *b, const char *c)
{
    ck_assert_ptr_null(y);
    ck_assert_int_eq(f->err.code, AE_EINPUT);
    ck_assert_msg(strstr(f->err.msg, a) && (!b || strstr(f->err.msg, b)) && (!c || strstr(f->err.msg, c)),
                  "%s", f->err.msg);
    ae_err_clear(&f->err);
}

START_TEST(shape_errors_name_the_node)
{
    struct { int tr; int64_t cin, h; int64_t wd[4]; int s, p, op; const char *a, *b; } c[] = {
        {0, 1, 28, {32, 1, 3, 3}, 2, 0, 0, "input 1x28x28 gives output", NULL},
        {0, 1, 2, {4, 1, 5, 5}, 1, 1, 0, "input 1x2x2 gives output 0x0 with kernel 5, stride 1, padding 1", NULL},
        {0, 16, 8, {64, 32, 3, 3}, 1, 0, 0, "expects 32 input channels, got 16", NULL},
        {1, 16, 8, {32, 8, 3, 3}, 1, 0, 0, "expects 32 input channels, got 16", NULL},
        {1, 4, 4, {4, 2, 3, 3}, 2, 1, 2, "0 <= output_padding < stride", "output_padding 2"},
        {0, 4, 4, {4, 4, 3, 3}, 0, 1, 0, "stride >= 1", "stride 0"},
        {1, 4, 1, {4, 2, 1, 1}, 1, 1, 0, "input 4x1x1 gives output 0x0 with kernel 1, stride 1, padding 1", NULL},
        {0, 0, 784, {4, 1, 3, 3}, 1, 0, 0, "expects a 4-D input [N, C, H, W], got 1x784", NULL}, /* flat */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        fx f;
        fx_init(&f);
        int wi = decl(&f, "w", ae_shape_make(4, c[i].wd));
        fx_alloc(&f, 1, 1);
        ae_shape xs = c[i].cin ? ae_shape4(1, c[i].cin, c[i].h, c[i].h) : ae_shape2(1, c[i].h);
        ae_node *x = ae_graph_input(f.g, "x", xs, &f.err);
        const char *name = c[i].tr ? "model.decoder[0] (conv_transpose2d)" : "model.encoder[1] (conv2d)";
        ae_node *y = c[i].tr ? ae_conv_transpose2d(f.g, name, x, P(&f, wi), NULL, c[i].s, c[i].p, c[i].op, AE_ACT_RELU, &f.err)
                             : ae_conv2d(f.g, name, x, P(&f, wi), NULL, c[i].s, c[i].p, AE_ACT_RELU, &f.err);
        if (i == 0) /* this one is valid: (28 - 3)/2 + 1 = 13 */
            ck_assert_msg(y && y->shape.d[2] == 13, "%s", f.err.msg);
        else
            expect_error(&f, y, name, c[i].a, c[i].b);
        fx_free(&f);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv");
    TCase *t = tcase_create("conv");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, conv2d_forward_and_grads);
    tcase_add_test(t, conv_transpose2d_forward_and_grads);
    tcase_add_test(t, fanout_accumulates);
    tcase_add_test(t, chain_values_and_grads);
    tcase_add_test(t, blocked_output_fanout_and_pinning);
    tcase_add_test(t, dense_reads_and_writes_blocked);
    tcase_add_test(t, auto_layouts_and_inference);
    tcase_add_test(t, shape_errors_name_the_node);
    suite_add_tcase(s, t);
    g_env_threads = ae_get_threads();
    ae_set_threads(1); /* tiny tensors: 1 thread is fastest, and steady on a busy machine */
    int rc = ae_test_run(s);
    ae_dnnl_shutdown();
    return rc;
}
