/* Max-pooling on oneDNN's pooling primitive (the backward reads its arg-max workspace) and
 * nearest-neighbour upsampling by an integer factor as plain copies (no arithmetic forward; the
 * backward sums each block in a fixed order). */
#include <stdlib.h>
#include <string.h>

#include "ae_norm.h"
#include "ae_par.h"

enum { POOL_KERNEL, POOL_STRIDE, POOL_PAD, POOL_NATTR };
enum { UP_SCALE, UP_NATTR };

int64_t ae_pool_out_size(int64_t in, int kernel, int stride, int pad)
{
    int64_t span = in + 2 * (int64_t)pad - kernel;
    return span < 0 ? 0 : span / stride + 1;
}

static int need_4d(const ae_node *n, ae_err *err)
{
    char a[64];
    if (n->in[0]->shape.nd == 4) return AE_OK;
    return ae_errf(err, AE_EINPUT, "%s: expects a 4-D input [N, C, H, W], got %s: add "
                   "`{type: reshape, shape: [C, H, W]}` before it", n->name,
                   ae_shape_str(n->in[0]->shape, a, sizeof a));
}

static int pool_infer(ae_node *n, ae_err *err)
{
    if (need_4d(n, err)) return err->code;
    const int k = n->iattr[POOL_KERNEL], s = n->iattr[POOL_STRIDE], p = n->iattr[POOL_PAD];
    const ae_shape *x = &n->in[0]->shape;
    char a[64];
    if (k < 1 || s < 1 || p < 0 || 2 * p > k)
        return ae_errf(err, AE_EINPUT, "%s: padding %d must be at most half the kernel %d", n->name, p, k);
    int64_t ho = ae_pool_out_size(x->d[2], k, s, p), wo = ae_pool_out_size(x->d[3], k, s, p);
    if (ho < 1 || wo < 1)
        return ae_errf(err, AE_EINPUT, "%s: input %s is smaller than the kernel %d", n->name,
                       ae_shape_str(*x, a, sizeof a), k);
    n->shape = ae_shape4(x->d[0], x->d[1], ho, wo);
    return AE_OK;
}

typedef struct pool_state {
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t mem[5];
    int nmem;
    dnnl_exec_arg_t fargs[3], bargs[3];
    int nf, nb;
    float *tmp; /* dx when it accumulates */
} pool_state;

static dnnl_memory_t pmem(pool_state *s, const dnnl_memory_desc_t *md, void *p, ae_err *err)
{
    dnnl_memory_t m = NULL;
    if (ae_dnnl_check(dnnl_memory_create(&m, md, ae_dnnl_engine(), p), "max-pool memory", err)) return NULL;
    s->mem[s->nmem++] = m;
    return m;
}

static dnnl_status_t plain_md(dnnl_memory_desc_t *md, ae_shape sh)
{
    dnnl_dims_t d = {sh.d[0], sh.d[1], sh.d[2], sh.d[3]};
    return dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, dnnl_nchw);
}

static int pool_prepare_backward(ae_graph *g, ae_node *n, pool_state *s, const dnnl_memory_desc_t *xmd,
                                 const dnnl_memory_desc_t *ymd, dnnl_primitive_desc_t fpd,
                                 dnnl_memory_t ws, ae_err *err)
{
    const int k = n->iattr[POOL_KERNEL], st = n->iattr[POOL_STRIDE], p = n->iattr[POOL_PAD];
    dnnl_dims_t strides = {st, st}, kernel = {k, k}, pl = {p, p}, pr = {p, p};
    dnnl_pooling_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    ae_node *x = n->in[0];
    dnnl_status_t r = dnnl_pooling_backward_desc_init(&d, dnnl_pooling_max, xmd, ymd, strides, kernel, pl, pr);
    if (r == dnnl_success) r = dnnl_primitive_desc_create(&pd, &d, NULL, ae_dnnl_engine(), fpd);
    if (r == dnnl_success) r = dnnl_primitive_create(&s->bwd, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ae_dnnl_check(r, "max-pool backward primitive", err)) return err->code;
    float *dx = x->grad;
    if (n->accum[0] && !(dx = s->tmp = ae_graph_scratch(g, x->numel, err))) return err->code;
    dnnl_memory_t mdy = pmem(s, ymd, n->grad, err), mdx = mdy ? pmem(s, xmd, dx, err) : NULL;
    if (!mdx) return err->code;
    s->bargs[s->nb++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, mdy};
    s->bargs[s->nb++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, mdx};
    if (ws) s->bargs[s->nb++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, ws};
    return AE_OK;
}

static int pool_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    pool_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    n->state = s;
    if (!ae_dnnl_engine()) return ae_errf(err, AE_EINTERNAL, "oneDNN: no CPU engine");
    ae_node *x = n->in[0];
    const int k = n->iattr[POOL_KERNEL], st = n->iattr[POOL_STRIDE], p = n->iattr[POOL_PAD];
    const int bwd = n->needs_grad && x->needs_grad;
    dnnl_dims_t strides = {st, st}, kernel = {k, k}, pl = {p, p}, pr = {p, p};
    dnnl_memory_desc_t xmd, ymd;
    dnnl_pooling_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t r = plain_md(&xmd, x->shape);
    if (r == dnnl_success) r = plain_md(&ymd, n->shape);
    if (r == dnnl_success)
        r = dnnl_pooling_forward_desc_init(&d, bwd ? dnnl_forward_training : dnnl_forward_inference,
                                           dnnl_pooling_max, &xmd, &ymd, strides, kernel, pl, pr);
    if (r == dnnl_success) r = dnnl_primitive_desc_create(&pd, &d, NULL, ae_dnnl_engine(), NULL);
    if (r == dnnl_success) r = dnnl_primitive_create(&s->fwd, pd);
    if (ae_dnnl_check(r, "max-pool forward primitive", err)) {
        if (pd) dnnl_primitive_desc_destroy(pd);
        return ae_err_prefix(err, "%s", n->name);
    }
    dnnl_memory_t mx = pmem(s, &xmd, x->val, err), my = mx ? pmem(s, &ymd, n->val, err) : NULL, ws = NULL;
    const dnnl_memory_desc_t *wmd = bwd ? dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0) : NULL;
    size_t wbytes = wmd ? dnnl_memory_desc_get_size(wmd) : 0;
    float *wp = wbytes ? ae_graph_scratch(g, (wbytes + sizeof(float) - 1) / sizeof(float), err) : NULL;
    if (my && (!wbytes || wp)) ws = wbytes ? pmem(s, wmd, wp, err) : NULL;
    int rc = !my || (wbytes && !ws) ? err->code : AE_OK;
    if (!rc) {
        s->fargs[s->nf++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mx};
        s->fargs[s->nf++] = (dnnl_exec_arg_t){DNNL_ARG_DST, my};
        if (ws) s->fargs[s->nf++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, ws};
        if (bwd) rc = pool_prepare_backward(g, n, s, &xmd, &ymd, pd, ws, err);
    }
    dnnl_primitive_desc_destroy(pd);
    n->flops = (double)n->numel * k * k * (bwd ? 2 : 1);
    return rc ? ae_err_prefix(err, "%s", n->name) : AE_OK;
}

static void pool_forward(ae_node *n)
{
    pool_state *s = n->state;
    dnnl_primitive_execute(s->fwd, ae_dnnl_stream(), s->nf, s->fargs);
}

static void pool_backward(ae_node *n)
{
    pool_state *s = n->state;
    if (!s->bwd) return;
    dnnl_primitive_execute(s->bwd, ae_dnnl_stream(), s->nb, s->bargs);
    if (s->tmp) {
        float *dx = n->in[0]->grad;
        for (size_t i = 0; i < n->in[0]->numel; i++) dx[i] += s->tmp[i];
    }
}

static void pool_destroy(ae_node *n)
{
    pool_state *s = n->state;
    if (!s) return;
    if (s->fwd) dnnl_primitive_destroy(s->fwd);
    if (s->bwd) dnnl_primitive_destroy(s->bwd);
    for (int i = 0; i < s->nmem; i++) dnnl_memory_destroy(s->mem[i]);
    free(s);
    n->state = NULL;
}

const ae_op ae_op_max_pool2d = {.name = "max_pool2d", .infer = pool_infer, .prepare = pool_prepare,
                                .forward = pool_forward, .backward = pool_backward, .destroy = pool_destroy};

ae_node *ae_max_pool2d(ae_graph *g, const char *name, ae_node *x, int kernel, int stride, int pad,
                       ae_err *err)
{
    int ia[POOL_NATTR] = {[POOL_KERNEL] = kernel, [POOL_STRIDE] = stride, [POOL_PAD] = pad};
    return ae_graph_add(g, &ae_op_max_pool2d, name, &x, 1, ia, POOL_NATTR, NULL, 0, err);
}

/* --- nearest upsampling ------------------------------------------------------------------------ */
static int up_infer(ae_node *n, ae_err *err)
{
    if (need_4d(n, err)) return err->code;
    const ae_shape *x = &n->in[0]->shape;
    const int64_t s = n->iattr[UP_SCALE];
    if (s < 1) return ae_errf(err, AE_EINPUT, "%s: scale must be at least 1", n->name);
    n->shape = ae_shape4(x->d[0], x->d[1], x->d[2] * s, x->d[3] * s);
    return AE_OK;
}

typedef struct up_job {
    const ae_node *n;
    int accumulate;
} up_job;

/* Planes [lo, hi) of N·C: each output row is its input row with every value repeated s times. */
static void up_fwd_chunk(size_t lo, size_t hi, void *ctx)
{
    const ae_node *n = ((const up_job *)ctx)->n;
    const int64_t s = n->iattr[UP_SCALE], h = n->in[0]->shape.d[2], w = n->in[0]->shape.d[3];
    for (size_t pl = lo; pl < hi; pl++) {
        const float *x = n->in[0]->val + pl * (size_t)(h * w);
        float *y = n->val + pl * (size_t)(h * w * s * s);
        for (int64_t i = 0; i < h; i++) {
            float *row = y + i * s * w * s;
            for (int64_t j = 0; j < w; j++)
                for (int64_t b = 0; b < s; b++) row[j * s + b] = x[i * w + j];
            for (int64_t a = 1; a < s; a++) memcpy(row + a * w * s, row, (size_t)(w * s) * sizeof *row);
        }
    }
}

/* dx[i, j] (+)= Σ over the block's rows a, then columns b, of dy[i·s + a, j·s + b]. */
static void up_bwd_chunk(size_t lo, size_t hi, void *ctx)
{
    const up_job *jb = ctx;
    const ae_node *n = jb->n;
    const int64_t s = n->iattr[UP_SCALE], h = n->in[0]->shape.d[2], w = n->in[0]->shape.d[3];
    for (size_t pl = lo; pl < hi; pl++) {
        float *dx = n->in[0]->grad + pl * (size_t)(h * w);
        const float *dy = n->grad + pl * (size_t)(h * w * s * s);
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < w; j++) {
                float t = 0.0f;
                for (int64_t a = 0; a < s; a++)
                    for (int64_t b = 0; b < s; b++) t += dy[(i * s + a) * w * s + j * s + b];
                dx[i * w + j] = jb->accumulate ? dx[i * w + j] + t : t;
            }
    }
}

static size_t planes(const ae_node *n) { return (size_t)(n->shape.d[0] * n->shape.d[1]); }

static void up_forward(ae_node *n)
{
    up_job j = {n, 0};
    ae_par_for(planes(n), up_fwd_chunk, &j);
}

static void up_backward(ae_node *n)
{
    if (!n->in[0]->needs_grad) return;
    up_job j = {n, n->accum[0]};
    ae_par_for(planes(n), up_bwd_chunk, &j);
}

const ae_op ae_op_upsample = {.name = "upsample", .infer = up_infer, .forward = up_forward,
                              .backward = up_backward};

ae_node *ae_upsample_nearest(ae_graph *g, const char *name, ae_node *x, int scale, ae_err *err)
{
    int ia[UP_NATTR] = {[UP_SCALE] = scale};
    return ae_graph_add(g, &ae_op_upsample, name, &x, 1, ia, UP_NATTR, NULL, 0, err);
}
