/* Batch normalisation op (PyTorch BatchNorm1d/2d) on oneDNN's batch normalization primitive: batch
 * statistics and the running-statistics update in training graphs, the running statistics elsewhere;
 * backward to x, gamma and beta. */
#include <stdlib.h>
#include <string.h>

#include "ae_norm.h"
#include "ae_par.h"

enum { BN_TRAIN, BN_NATTR };                 /* ae_node.iattr */
enum { BN_MOMENTUM, BN_EPS, BN_NFATTR };     /* ae_node.fattr */
enum { BN_X, BN_RMEAN, BN_RVAR, BN_GAMMA, BN_BETA }; /* inputs; gamma and beta when affine */

typedef struct bn_state {
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t mem[12];
    int nmem;
    dnnl_exec_arg_t fargs[6], bargs[10];
    int nf, nb;
    float *mean, *var;          /* the batch's statistics (training graphs) */
    float *tmp[3];              /* dx, dgamma, dbeta when that gradient accumulates or is not wanted */
    float *dst[3];              /* where tmp[i] is added (NULL: dropped) */
    size_t len[3];
    int64_t c, m;               /* channels; values per channel */
    int update;                 /* training: this node updates the running statistics */
} bn_state;

static int bn_infer(ae_node *n, ae_err *err)
{
    const ae_node *x = n->in[BN_X];
    char a[64];
    if (x->shape.nd != 2 && x->shape.nd != 4)
        return ae_errf(err, AE_EINPUT, "%s: expects [N, C] or [N, C, H, W], got %s", n->name,
                       ae_shape_str(x->shape, a, sizeof a));
    for (int i = 1; i < n->nin; i++)
        if (n->in[i]->numel != (size_t)x->shape.d[1])
            return ae_errf(err, AE_EINTERNAL, "%s: statistics/affine size mismatch", n->name);
    n->shape = x->shape;
    return AE_OK;
}

static dnnl_memory_t mem(bn_state *s, const dnnl_memory_desc_t *md, void *p, ae_err *err)
{
    dnnl_memory_t m = NULL;
    if (ae_dnnl_check(dnnl_memory_create(&m, md, ae_dnnl_engine(), p), "batch norm memory", err)) return NULL;
    s->mem[s->nmem++] = m;
    return m;
}

/* The backward: diff_src into x's gradient, diff_scale/diff_shift into gamma's and beta's; a
 * gradient that accumulates (or that nothing wants) goes through a scratch buffer. */
static int bn_prepare_backward(ae_graph *g, ae_node *n, bn_state *s, const dnnl_memory_desc_t *md,
                               const dnnl_memory_desc_t *smd, dnnl_primitive_desc_t fpd, ae_err *err)
{
    const int affine = n->nin > BN_GAMMA;
    dnnl_batch_normalization_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    float eps = n->fattr[BN_EPS];
    dnnl_status_t st = dnnl_batch_normalization_backward_desc_init(
        &d, affine ? dnnl_backward : dnnl_backward_data, md, md, eps, affine ? dnnl_use_scale | dnnl_use_shift : 0);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &d, NULL, ae_dnnl_engine(), fpd);
    if (st == dnnl_success) st = dnnl_primitive_create(&s->bwd, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ae_dnnl_check(st, "batch norm backward primitive", err)) return err->code;
    ae_node *in[3] = {n->in[BN_X], affine ? n->in[BN_GAMMA] : NULL, affine ? n->in[BN_BETA] : NULL};
    const int slot[3] = {BN_X, BN_GAMMA, BN_BETA}, arg[3] = {DNNL_ARG_DIFF_SRC, DNNL_ARG_DIFF_SCALE,
                                                            DNNL_ARG_DIFF_SHIFT};
    dnnl_exec_arg_t *a = s->bargs;
    dnnl_memory_t mx = s->fargs[0].memory, mm = s->fargs[2].memory, mv = s->fargs[3].memory;
    a[s->nb++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mx};
    a[s->nb++] = (dnnl_exec_arg_t){DNNL_ARG_MEAN, mm};
    a[s->nb++] = (dnnl_exec_arg_t){DNNL_ARG_VARIANCE, mv};
    dnnl_memory_t mdy = mem(s, md, n->grad, err);
    if (!mdy) return err->code;
    a[s->nb++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, mdy};
    if (affine) { /* oneDNN 2.6 wants the shift too, although the backward does not read it */
        a[s->nb++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, s->fargs[4].memory};
        a[s->nb++] = (dnnl_exec_arg_t){DNNL_ARG_SHIFT, s->fargs[5].memory};
    }
    for (int i = 0; i < 3; i++) {
        if (!in[i]) continue;
        s->len[i] = in[i]->numel;
        float *p = in[i]->grad;
        if (!in[i]->needs_grad || n->accum[slot[i]]) {
            s->dst[i] = in[i]->needs_grad ? in[i]->grad : NULL;
            if (!(p = s->tmp[i] = ae_graph_scratch(g, s->len[i], err))) return err->code;
        }
        dnnl_memory_t m = mem(s, i ? smd : md, p, err);
        if (!m) return err->code;
        a[s->nb++] = (dnnl_exec_arg_t){arg[i], m};
    }
    return AE_OK;
}

/* The first batch norm node of the graph that reads these running statistics: copies of a layer
 * built for penalties or multi-sample objectives (same parameters) leave them to it. */
static int first_reader(ae_graph *g, const ae_node *n)
{
    for (size_t i = 0; i < ae_graph_size(g); i++) {
        const ae_node *o = ae_graph_node(g, i);
        if (o == n) return 1;
        if (o->op == &ae_op_batch_norm && o->in[BN_RMEAN] == n->in[BN_RMEAN]) return 0;
    }
    return 1;
}

static int bn_prepare_one(ae_graph *g, ae_node *n, ae_err *err)
{
    bn_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    n->state = s;
    const ae_node *x = n->in[BN_X];
    const int affine = n->nin > BN_GAMMA, train = n->iattr[BN_TRAIN];
    int64_t hw = x->shape.nd == 4 ? x->shape.d[2] * x->shape.d[3] : 1;
    s->c = x->shape.d[1];
    s->m = x->shape.d[0] * hw;
    s->update = train && first_reader(g, n);
    if (train && s->m < 2)
        return ae_errf(err, AE_EINPUT, "%s: batch norm needs more than one value per channel in training "
                       "(got a batch of %lld %s): use a larger batch size, or one that leaves no last "
                       "batch of 1 sample", n->name, (long long)x->shape.d[0],
                       x->shape.d[0] == 1 ? "sample" : "samples");
    if (!ae_dnnl_engine()) return ae_errf(err, AE_EINTERNAL, "oneDNN: no CPU engine");
    dnnl_memory_desc_t md, smd;
    dnnl_dims_t dims = {x->shape.d[0], s->c, x->shape.nd == 4 ? x->shape.d[2] : 1,
                        x->shape.nd == 4 ? x->shape.d[3] : 1}, sd = {s->c};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw);
    if (st == dnnl_success) st = dnnl_memory_desc_init_by_tag(&smd, 1, sd, dnnl_f32, dnnl_a);
    dnnl_batch_normalization_desc_t d;
    unsigned flags = (affine ? dnnl_use_scale | dnnl_use_shift : 0) | (train ? 0 : dnnl_use_global_stats);
    if (st == dnnl_success)
        st = dnnl_batch_normalization_forward_desc_init(&d, train ? dnnl_forward_training : dnnl_forward_inference,
                                                        &md, n->fattr[BN_EPS], flags);
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &d, NULL, ae_dnnl_engine(), NULL);
    if (st == dnnl_success) st = dnnl_primitive_create(&s->fwd, pd);
    if (ae_dnnl_check(st, "batch norm forward primitive", err)) {
        if (pd) dnnl_primitive_desc_destroy(pd);
        return ae_err_prefix(err, "%s", n->name);
    }
    if (train && (!(s->mean = ae_graph_scratch(g, (size_t)s->c, err)) ||
                  !(s->var = ae_graph_scratch(g, (size_t)s->c, err)))) {
        dnnl_primitive_desc_destroy(pd);
        return err->code;
    }
    void *p[6] = {x->val, n->val, train ? s->mean : n->in[BN_RMEAN]->val, train ? s->var : n->in[BN_RVAR]->val,
                  affine ? n->in[BN_GAMMA]->val : NULL, affine ? n->in[BN_BETA]->val : NULL};
    const int arg[6] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_SCALE,
                        DNNL_ARG_SHIFT};
    for (int i = 0; i < (affine ? 6 : 4); i++) {
        dnnl_memory_t m = mem(s, i < 2 ? &md : &smd, p[i], err);
        if (!m) { dnnl_primitive_desc_destroy(pd); return err->code; }
        s->fargs[s->nf++] = (dnnl_exec_arg_t){arg[i], m};
    }
    int rc = n->needs_grad ? bn_prepare_backward(g, n, s, &md, &smd, pd, err) : AE_OK;
    dnnl_primitive_desc_destroy(pd);
    n->flops = 8.0 * (double)n->numel * (n->needs_grad ? 2 : 1);
    return rc ? ae_err_prefix(err, "%s", n->name) : AE_OK;
}

/* On one thread (issue 17): oneDNN splits the statistics' and the scale/shift gradients' sums over
 * the batch by its thread count; on one thread they are the same bytes for any count (a streaming
 * op: a second thread gains little). The graph runs the node on n->threads. */
static int bn_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    n->threads = 1;
    int saved = ae_par_limit(1), rc = bn_prepare_one(g, n, err);
    ae_par_restore(saved);
    return rc;
}

static void bn_forward(ae_node *n)
{
    bn_state *s = n->state;
    dnnl_primitive_execute(s->fwd, ae_dnnl_stream(), s->nf, s->fargs);
    dnnl_stream_wait(ae_dnnl_stream());
    if (!s->update) return;
    /* PyTorch's update (in double, like its CPU kernel's accumulation type) */
    const double mom = n->fattr[BN_MOMENTUM], unbias = (double)s->m / (double)(s->m - 1);
    float *rm = n->in[BN_RMEAN]->val, *rv = n->in[BN_RVAR]->val;
    for (int64_t c = 0; c < s->c; c++) {
        rm[c] = (float)(mom * s->mean[c] + (1.0 - mom) * rm[c]);
        rv[c] = (float)(mom * s->var[c] * unbias + (1.0 - mom) * rv[c]);
    }
}

static void bn_backward(ae_node *n)
{
    bn_state *s = n->state;
    dnnl_primitive_execute(s->bwd, ae_dnnl_stream(), s->nb, s->bargs);
    dnnl_stream_wait(ae_dnnl_stream());
    for (int i = 0; i < 3; i++)
        if (s->tmp[i] && s->dst[i])
            for (size_t k = 0; k < s->len[i]; k++) s->dst[i][k] += s->tmp[i][k];
}

static void bn_destroy(ae_node *n)
{
    bn_state *s = n->state;
    if (!s) return;
    if (s->fwd) dnnl_primitive_destroy(s->fwd);
    if (s->bwd) dnnl_primitive_destroy(s->bwd);
    for (int i = 0; i < s->nmem; i++) dnnl_memory_destroy(s->mem[i]);
    free(s);
    n->state = NULL;
}

/* no_lanes: oneDNN's batch norm on NCHW (ncsp_bnorm, every ISA) meets `#pragma omp barrier` between its
 * statistics phases even on one thread; in the lanes' region that barrier waits for the threads serving
 * tasks (the audit in framework/graph/README.md; tests/unit/ops/test_ops_lanes.c hangs without it). */
const ae_op ae_op_batch_norm = {.name = "batch_norm", .infer = bn_infer, .prepare = bn_prepare,
                                .forward = bn_forward, .backward = bn_backward, .destroy = bn_destroy,
                                .no_lanes = 1};

ae_node *ae_batch_norm(ae_graph *g, const char *name, ae_node *x, ae_node *gamma, ae_node *beta,
                       ae_node *rmean, ae_node *rvar, float momentum, float eps, ae_err *err)
{
    ae_node *in[5] = {x, rmean, rvar, gamma, beta};
    int ia[BN_NATTR] = {[BN_TRAIN] = ae_graph_training(g)};
    float fa[BN_NFATTR] = {[BN_MOMENTUM] = momentum, [BN_EPS] = eps};
    if ((gamma == NULL) != (beta == NULL)) {
        ae_errf(err, AE_EINTERNAL, "%s: gamma and beta come together", name);
        return NULL;
    }
    return ae_graph_add(g, &ae_op_batch_norm, name, in, gamma ? 5 : 3, ia, BN_NATTR, fa, BN_NFATTR, err);
}
