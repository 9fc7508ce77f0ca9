/* A conv node's stages in fixed blocks of the mini-batch (issue 17, P3): each block runs one-thread
 * primitives in the layouts of the whole stage, the blocks of a stage in one parallel region; the
 * backward-weights of each block goes to its own partial, summed in block order. The blocks depend
 * on the batch alone, so the results are the same bytes for any number of threads. */
#include <stdlib.h>
#include <string.h>

#include "ae_par.h"
#include "conv_internal.h"

/* Images per block: blocks of at most this many, as even as possible; a smaller batch in 2. */
#define BLOCK_IMAGES 32

static int g_blocks = 1;
void ae_conv_set_batch_blocks(int on) { g_blocks = on; }
int conv_blocks_on(void) { return g_blocks; }

int64_t conv_block_rows(int64_t n)
{
    if (n < 2) return 1;
    int64_t nb = n >= 2 * BLOCK_IMAGES ? (n + BLOCK_IMAGES - 1) / BLOCK_IMAGES : 2;
    return (n + nb - 1) / nb;
}

#define MAX_SLOTS 12
/* A whole tensor seen block by block: per (thread, full/last block) a memory object whose handle
 * is set to base + b·step before use. */
typedef struct bslot {
    dnnl_memory_t whole;
    char *base;
    size_t step;
    dnnl_memory_desc_t md[2];
    dnnl_memory_t *m;
} bslot;

/* A primitive run on every block: its arguments, a slot each (or -1: the whole memory). Its
 * scratchpad is the running thread's (user mode: a primitive's own, in oneDNN's library mode, is
 * the creating thread's buffer, which two threads running blocks at once would share). */
typedef struct bprim {
    dnnl_primitive_t p[2];
    int nargs, arg[6], slot[6];
    dnnl_memory_t whole[6];
    dnnl_memory_desc_t smd[2];
    size_t ssize[2];
    dnnl_memory_t *scr; /* per (thread, block size) when ssize > 0 */
} bprim;

struct conv_blocks {
    int nb, nthr;
    int64_t rows, last;
    bslot slot[MAX_SLOTS];
    int nslot;
    bprim main, pre[3], post[2], ba;
    int npre, npost, has_ba, ba_late;
    struct { const conv_xfer *x; size_t per; } gpre[3], gpost[2]; /* table gathers, per block: the
                                                    destination's floats per image */
    int ngpre, ngpost;
    const conv_xfer *wpre[3], *wpost[2]; /* the weights' copies: once, before and after the blocks */
    int nwpre, nwpost;
    const conv_stage *st;
    float *part, *wgrad; /* backward-weights: nb partials of wn floats, summed into wgrad */
    size_t wn;
    char *scratch;       /* per thread, sstep bytes: the primitives' scratchpads */
    size_t sstep;
};

/* The layout of `rows` images of an activation whose images are outermost and dense, else 0. */
static int view_md(const dnnl_memory_desc_t *w, int64_t rows, dnnl_memory_desc_t *out, size_t *step)
{
    const dnnl_blocking_desc_t *bk = &w->format_desc.blocking;
    if (w->format_kind != dnnl_blocked || w->ndims != 4 || w->offset0 || w->data_type != dnnl_f32 ||
        w->padded_dims[0] != w->dims[0] || dnnl_memory_desc_get_size(w) != (size_t)(w->dims[0] * bk->strides[0]) * 4)
        return 0;
    for (int i = 0; i < bk->inner_nblks; i++)
        if (bk->inner_idxs[i] == 0) return 0;
    for (int i = 1; i < 4; i++)
        if (bk->strides[i] > bk->strides[0]) return 0;
    *out = *w;
    out->dims[0] = out->padded_dims[0] = rows;
    *step = (size_t)bk->strides[0] * sizeof(float);
    return 1;
}

/* The slot of an activation memory (made on first use), -1 when its images are not outermost. */
static int slot_of(conv_blocks *k, dnnl_memory_t whole)
{
    for (int i = 0; i < k->nslot; i++)
        if (k->slot[i].whole == whole) return i;
    bslot *s = &k->slot[k->nslot];
    size_t step;
    if (k->nslot == MAX_SLOTS || !view_md(conv_md_of(whole), k->rows, &s->md[0], &step) ||
        !view_md(conv_md_of(whole), k->last, &s->md[1], &step))
        return -1;
    s->whole = whole;
    dnnl_memory_get_data_handle(whole, (void **)&s->base);
    s->step = step * (size_t)k->rows;
    return k->nslot++;
}

static int is_act_arg(int arg)
{
    return arg == DNNL_ARG_SRC || arg == DNNL_ARG_DST || arg == DNNL_ARG_DIFF_SRC || arg == DNNL_ARG_DIFF_DST;
}

static int nprims(const conv_blocks *k) { return 1 + k->npre + k->npost + k->has_ba; }
static bprim *prim_at(conv_blocks *k, int i)
{
    return i == 0 ? &k->main : i <= k->npre ? &k->pre[i - 1] : i <= k->npre + k->npost ? &k->post[i - 1 - k->npre] : &k->ba;
}

/* A scratchpad per thread, as big as the largest the primitives want, seen by each of them. */
static int make_scratch(conv_blocks *k, ae_graph *g, ae_err *err)
{
    for (int i = 0; i < nprims(k); i++)
        for (int v = 0; v < 2; v++)
            if (prim_at(k, i)->ssize[v] > k->sstep) k->sstep = prim_at(k, i)->ssize[v];
    if (!k->sstep) return AE_OK;
    k->sstep = (k->sstep + 63) / 64 * 64;
    if (!(k->scratch = (char *)ae_graph_scratch(g, k->sstep / sizeof(float) * (size_t)k->nthr, err))) return err->code;
    for (int i = 0; i < nprims(k); i++) {
        bprim *bp = prim_at(k, i);
        if (!bp->ssize[0] && !bp->ssize[1]) continue;
        if (!(bp->scr = calloc((size_t)k->nthr * 2, sizeof *bp->scr))) return ae_errf(err, AE_EINTERNAL, "out of memory");
        for (int t = 0; t < 2 * k->nthr; t++)
            if (bp->ssize[t & 1] && ae_dnnl_check(dnnl_memory_create(&bp->scr[t], &bp->smd[t & 1], ae_dnnl_engine(),
                                                                     k->scratch + (size_t)(t / 2) * k->sstep),
                                                  "conv block scratchpad", err))
                return err->code;
    }
    return AE_OK;
}

/* Memory objects of every slot, per thread and block size (once all slots exist). */
static int make_mems(conv_blocks *k, ae_err *err)
{
    for (int i = 0; i < k->nslot; i++) {
        bslot *s = &k->slot[i];
        if (!(s->m = calloc((size_t)k->nthr * 2, sizeof *s->m))) return ae_errf(err, AE_EINTERNAL, "out of memory");
        for (int t = 0; t < 2 * k->nthr; t++)
            if (ae_dnnl_check(dnnl_memory_create(&s->m[t], &s->md[t & 1], ae_dnnl_engine(), s->base),
                              "conv block memory", err))
                return err->code;
    }
    return AE_OK;
}

/* Attributes of a block primitive: the post-ops (conv_make_attr) and a user scratchpad. */
dnnl_status_t conv_block_attr(int sum, ae_act act, float slope, dnnl_primitive_attr_t *attr)
{
    dnnl_status_t st = conv_make_attr(sum, act, slope, attr);
    return st == dnnl_success ? dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user) : st;
}

static int create(dnnl_primitive_desc_t pd, bprim *bp, int v, ae_err *err)
{
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (smd) bp->smd[v] = *smd, bp->ssize[v] = dnnl_memory_desc_get_size(smd);
    dnnl_status_t st = dnnl_primitive_create(&bp->p[v], pd);
    dnnl_primitive_desc_destroy(pd);
    return ae_dnnl_check(st, "conv block primitive", err);
}

/* A per-block reorder from slot a to slot b (summed into b when accumulating). */
static int block_reorder(conv_blocks *k, bprim *bp, int a, int b, int accumulate, ae_err *err)
{
    bp->nargs = 2;
    bp->arg[0] = DNNL_ARG_FROM, bp->slot[0] = a;
    bp->arg[1] = DNNL_ARG_TO, bp->slot[1] = b;
    for (int v = 0; v < 2; v++) {
        dnnl_primitive_attr_t attr = NULL;
        dnnl_primitive_desc_t pd = NULL;
        dnnl_status_t st = conv_block_attr(accumulate, AE_ACT_IDENTITY, 0.0f, &attr);
        if (st == dnnl_success)
            st = dnnl_reorder_primitive_desc_create(&pd, &k->slot[a].md[v], ae_dnnl_engine(), &k->slot[b].md[v],
                                                    ae_dnnl_engine(), attr);
        if (attr) dnnl_primitive_attr_destroy(attr);
        if (ae_dnnl_check(st, "conv block reorder", err) || create(pd, bp, v, err)) return err->code;
    }
    return AE_OK;
}

/* The bias (binary, activation post-op) or the activation alone (eltwise), in place on slot a. */
static int block_bias_act(conv_blocks *k, const ae_node *n, int a, ae_err *err)
{
    const conv_stage *st = k->st;
    ae_act act = (ae_act)n->iattr[CONV_ACT];
    float slope = ae_act_slope(n);
    bprim *bp = &k->ba;
    k->has_ba = 1;
    if (st->bias) {
        bp->nargs = 3;
        bp->arg[0] = DNNL_ARG_SRC_0, bp->slot[0] = a;
        bp->arg[1] = DNNL_ARG_SRC_1, bp->slot[1] = -1, bp->whole[1] = st->bias_mem;
        bp->arg[2] = DNNL_ARG_DST, bp->slot[2] = a;
    } else {
        bp->nargs = 2;
        bp->arg[0] = DNNL_ARG_SRC, bp->slot[0] = a;
        bp->arg[1] = DNNL_ARG_DST, bp->slot[1] = a;
    }
    for (int v = 0; v < 2; v++) {
        dnnl_primitive_desc_t pd = NULL;
        dnnl_primitive_attr_t attr = NULL;
        dnnl_status_t r;
        if (st->bias) {
            dnnl_binary_desc_t d;
            r = dnnl_binary_desc_init(&d, dnnl_binary_add, &k->slot[a].md[v], conv_md_of(st->bias_mem),
                                      &k->slot[a].md[v]);
            if (r == dnnl_success) r = conv_block_attr(0, act, slope, &attr);
            if (r == dnnl_success) r = dnnl_primitive_desc_create(&pd, &d, attr, ae_dnnl_engine(), NULL);
        } else {
            dnnl_eltwise_desc_t d;
            r = dnnl_eltwise_forward_desc_init(&d, dnnl_forward_inference, conv_act_alg(act), &k->slot[a].md[v],
                                               conv_act_alpha(act, slope), 0.0f);
            if (r == dnnl_success) r = conv_block_attr(0, AE_ACT_IDENTITY, 0.0f, &attr);
            if (r == dnnl_success) r = dnnl_primitive_desc_create(&pd, &d, attr, ae_dnnl_engine(), NULL);
        }
        if (attr) dnnl_primitive_attr_destroy(attr);
        if (ae_dnnl_check(r, "conv block bias", err) || create(pd, bp, v, err)) return err->code;
    }
    return AE_OK;
}

/* The stage's copies: an activation's per block (a reorder primitive, or a range of the table
 * gather), the weights' whole. */
static int plan_xfers(conv_blocks *k, int post, ae_err *err)
{
    const conv_stage *st = k->st;
    for (int i = 0; i < (post ? st->npost : st->npre); i++) {
        const conv_xfer *x = post ? &st->post[i] : &st->pre[i];
        dnnl_memory_t mine = post ? x->from : x->to;
        int j = 0;
        while (j < st->nargs && st->args[j].memory != mine) j++;
        if (j == st->nargs) return 0;
        if (!is_act_arg(st->args[j].arg)) {
            if (post) k->wpost[k->nwpost++] = x;
            else k->wpre[k->nwpre++] = x;
            continue;
        }
        int a = slot_of(k, x->from), b = slot_of(k, x->to);
        if (a < 0 || b < 0) return 0;
        if (!x->r) {
            int i = post ? k->ngpost++ : k->ngpre++;
            if (post) k->gpost[i].x = x, k->gpost[i].per = k->slot[b].step / (size_t)k->rows / sizeof(float);
            else k->gpre[i].x = x, k->gpre[i].per = k->slot[b].step / (size_t)k->rows / sizeof(float);
            continue;
        }
        if (block_reorder(k, post ? &k->post[k->npost++] : &k->pre[k->npre++], a, b, x->accumulate, err))
            return -1;
    }
    return 1;
}

/* The main primitive on blocks: which 0 forward, 1 backward-data, 2 backward-weights. */
static int plan_main(conv_blocks *k, const ae_node *n, int which, ae_graph *g, ae_err *err)
{
    const conv_stage *st = k->st;
    const dnnl_memory_desc_t *md[3] = {NULL, NULL, NULL}; /* x, w, y of conv_block_pd */
    const_dnnl_primitive_desc_t wpd = NULL; /* the whole stage's: its layouts (an argument's memory
                                               may be a same-bytes view in another) */
    bprim *bp = &k->main;
    if (dnnl_primitive_get_primitive_desc(st->p, &wpd) != dnnl_success) return 0;
    bp->nargs = st->nargs;
    for (int j = 0; j < st->nargs; j++) {
        int arg = st->args[j].arg;
        bp->arg[j] = arg;
        bp->whole[j] = st->args[j].memory;
        bp->slot[j] = -1;
        if (is_act_arg(arg) && (bp->slot[j] = slot_of(k, st->args[j].memory)) < 0) return 0;
        int pos = arg == DNNL_ARG_SRC || arg == DNNL_ARG_DIFF_SRC ? 0 : is_act_arg(arg) ? 2 : 1;
        md[pos] = dnnl_primitive_desc_query_md(wpd, dnnl_query_exec_arg_md, arg);
        if (!md[pos] || dnnl_memory_desc_get_size(md[pos]) != dnnl_memory_desc_get_size(conv_md_of(bp->whole[j])))
            return 0;
        if (arg == DNNL_ARG_DIFF_WEIGHTS && k->nb > 1) { /* per-block partials */
            k->wn = dnnl_memory_desc_get_size(md[1]) / sizeof(float);
            dnnl_memory_get_data_handle(st->args[j].memory, (void **)&k->wgrad);
            if (!(k->part = ae_graph_scratch(g, k->wn * (size_t)k->nb, err))) return -1;
            bslot *s = &k->slot[bp->slot[j] = k->nslot++];
            s->whole = NULL, s->base = (char *)k->part, s->step = k->wn * sizeof(float);
            s->md[0] = s->md[1] = *md[1];
        }
    }
    if (!md[0] || !md[1] || !md[2]) return 0;
    for (int v = 0; v < 2; v++) {
        dnnl_memory_desc_t x, y;
        size_t step;
        dnnl_primitive_desc_t pd = NULL;
        int64_t r = v ? k->last : k->rows;
        if (!view_md(md[0], r, &x, &step) || !view_md(md[2], r, &y, &step)) return 0;
        if (conv_block_pd(n, which, &x, md[1], &y, &pd, err) || create(pd, bp, v, err)) return -1;
    }
    return 1;
}

static int plan(conv_blocks *k, ae_graph *g, const ae_node *n, int which, ae_err *err)
{
    const conv_stage *st = k->st;
    int rc = plan_main(k, n, which, g, err);
    if (rc > 0) rc = plan_xfers(k, 0, err);
    if (rc > 0) rc = plan_xfers(k, 1, err);
    if (rc > 0 && (st->bias || st->act)) {
        int a = slot_of(k, st->act_mem);
        if (a < 0) return 0;
        k->ba_late = st->late;
        if (block_bias_act(k, n, a, err)) return -1;
    }
    if (rc > 0 && (make_mems(k, err) || make_scratch(k, g, err))) return -1;
    return rc;
}

int conv_blocks_make(ae_graph *g, const ae_node *n, conv_stage *st, int which, int threads, ae_err *err)
{
    if (!st->p) return AE_OK;
    conv_blocks *k = calloc(1, sizeof *k);
    if (!k) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int64_t batch = n->shape.d[0];
    k->st = st;
    k->rows = conv_block_rows(batch);
    k->nb = (int)((batch + k->rows - 1) / k->rows);
    k->last = batch - (int64_t)(k->nb - 1) * k->rows;
    k->nthr = threads;
    int saved = ae_par_limit(1); /* every block's primitives run on one thread */
    int rc = plan(k, g, n, which, err);
    ae_par_restore(saved);
    if (rc > 0) st->blocks = k;
    else conv_blocks_destroy(k);
    return rc < 0 ? err->code : AE_OK;
}

static void run_prim(const conv_blocks *k, const bprim *bp, size_t b, int t, int v)
{
    dnnl_exec_arg_t a[7];
    int na = bp->nargs;
    if (bp->ssize[v]) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, bp->scr[2 * t + v]};
    for (int j = 0; j < bp->nargs; j++) {
        dnnl_memory_t m = bp->whole[j];
        if (bp->slot[j] >= 0) {
            const bslot *s = &k->slot[bp->slot[j]];
            m = s->m[2 * t + v];
            dnnl_memory_set_data_handle(m, s->base + b * s->step);
        }
        a[j] = (dnnl_exec_arg_t){bp->arg[j], m};
    }
    dnnl_primitive_execute(bp->p[v], ae_dnnl_stream(), na, a);
}

/* Block b of the stage, on thread t: as run_stage (ops_conv.c) does for the whole batch. */
void conv_blocks_run_block(const conv_blocks *k, size_t b, int t)
{
    const conv_stage *st = k->st;
    int v = (int)b == k->nb - 1 && k->last != k->rows;
    const int64_t rows = v ? k->last : k->rows;
    for (int i = 0; i < k->ngpre; i++)
        conv_run_gather(k->gpre[i].x, (int64_t)(b * (size_t)k->rows * k->gpre[i].per),
                        (int64_t)((b * (size_t)k->rows + (size_t)rows) * k->gpre[i].per));
    for (int i = 0; i < k->npre; i++) run_prim(k, &k->pre[i], b, t, v);
    run_prim(k, &k->main, b, t, v);
    if (st->bias_c) {
        ae_shape sh = st->bias_sh;
        size_t per = (size_t)(sh.d[1] * sh.d[2] * sh.d[3]);
        sh.d[0] = v ? k->last : k->rows;
        conv_bias_act_blocked(st->bias_dst + b * (size_t)k->rows * per, sh, st->bias_blk, st->bias_c,
                              st->bias_act, st->bias_slope);
    }
    if (k->has_ba && !k->ba_late) run_prim(k, &k->ba, b, t, v);
    for (int i = 0; i < k->npost; i++) run_prim(k, &k->post[i], b, t, v);
    for (int i = 0; i < k->ngpost; i++)
        conv_run_gather(k->gpost[i].x, (int64_t)(b * (size_t)k->rows * k->gpost[i].per),
                        (int64_t)((b * (size_t)k->rows + (size_t)rows) * k->gpost[i].per));
    if (k->has_ba && k->ba_late) run_prim(k, &k->ba, b, t, v);
}

int conv_blocks_count(const conv_blocks *k) { return k->nb; }
int conv_blocks_threads(const conv_blocks *k) { return k->nthr; }

void conv_blocks_before(const conv_blocks *k)
{
    for (int i = 0; i < k->nwpre; i++) conv_run_xfer(k->wpre[i]);
}

/* The partial weight gradients summed in block order, then the weights' copies out. */
void conv_blocks_after(const conv_blocks *k)
{
    if (k->part) {
        const float *p = k->part;
        float *restrict w = k->wgrad;
        memcpy(w, p, k->wn * sizeof *w);
        for (int b = 1; b < k->nb; b++)
            for (size_t i = 0; i < k->wn; i++) w[i] += p[(size_t)b * k->wn + i];
    }
    for (int i = 0; i < k->nwpost; i++) conv_run_xfer(k->wpost[i]);
}

static void one_stage(size_t b, int t, void *ctx) { conv_blocks_run_block(ctx, b, t); }

void conv_blocks_run(const conv_blocks *k)
{
    conv_blocks_before(k);
    ae_par_blocks((size_t)k->nb, k->nthr, one_stage, (void *)k);
    conv_blocks_after(k);
}

static void prim_destroy(bprim *bp, int nthr)
{
    for (int v = 0; v < 2; v++)
        if (bp->p[v]) dnnl_primitive_destroy(bp->p[v]);
    for (int t = 0; bp->scr && t < 2 * nthr; t++)
        if (bp->scr[t]) dnnl_memory_destroy(bp->scr[t]);
    free(bp->scr);
}

void conv_blocks_destroy(conv_blocks *k)
{
    if (!k) return;
    prim_destroy(&k->main, k->nthr);
    prim_destroy(&k->ba, k->nthr);
    for (int i = 0; i < k->npre; i++) prim_destroy(&k->pre[i], k->nthr);
    for (int i = 0; i < k->npost; i++) prim_destroy(&k->post[i], k->nthr);
    for (int i = 0; i < k->nslot; i++) {
        for (int t = 0; k->slot[i].m && t < 2 * k->nthr; t++)
            if (k->slot[i].m[t]) dnnl_memory_destroy(k->slot[i].m[t]);
        free(k->slot[i].m);
    }
    free(k);
}
