/* The pretraining stage's loop: layer by layer, epochs of shuffled mini-batches through the method
 * unit, momentum updates with weight cost (Hinton & Salakhutdinov's schedule), then the weights into
 * the encoder (and transposed into the decoder) and the layer's outputs as the next layer's data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_clock.h"
#include "ae_report.h"
#include "pretrain_internal.h"

static void buf_free(pt_buf *b)
{
    free(b->all);
    free(b->grads);
    memset(b, 0, sizeof *b);
}

/* Values (w, b, c[, wd]) then their increments in one block; gradients beside. */
static int buf_alloc(pt_buf *b, const pt_info *I, int untied, ae_err *err)
{
    memset(b, 0, sizeof *b);
    const size_t V = (size_t)I->nvis, H = (size_t)I->nhid, nw = V * H;
    b->n = nw + H + V + (untied ? nw : 0);
    b->all = calloc(2 * b->n, sizeof(float));
    b->grads = calloc(b->n, sizeof(float));
    if (!b->all || !b->grads) return ae_errf(err, AE_EINTERNAL, "out of memory");
    b->inc = b->all + b->n;
    ae_pt_layer *L = &b->L;
    L->nvis = I->nvis;
    L->nhid = I->nhid;
    L->act = I->act;
    L->vis_binary = I->vis_binary;
    L->w = b->all, L->b = L->w + nw, L->c = L->b + H, L->wd = untied ? L->c + V : NULL;
    L->gw = b->grads, L->gb = L->gw + nw, L->gc = L->gb + H, L->gwd = untied ? L->gc + V : NULL;
    return AE_OK;
}

/* Weights ~ N(0, init_std²) (w, then wd), biases 0, no momentum yet. */
static void buf_init(pt_buf *b, double std, ae_rng *rng)
{
    const size_t nw = (size_t)(b->L.nvis * b->L.nhid);
    memset(b->all, 0, 2 * b->n * sizeof(float));
    for (size_t i = 0; i < nw; i++) b->L.w[i] = (float)(std * ae_rng_gauss(rng));
    for (size_t i = 0; b->L.wd && i < nw; i++) b->L.wd[i] = (float)(std * ae_rng_gauss(rng));
}

/* inc = mom·inc - lr·(g + wd·value) (weight cost on the weights only); value += inc. */
static void update(pt_buf *b, float lr, float mom, float wcost)
{
    const size_t nw = (size_t)(b->L.nvis * b->L.nhid);
    float *v = b->all, *inc = b->inc;
    const float *g = b->grads;
    for (size_t i = 0; i < b->n; i++) {
        int weight = i < nw || (b->L.wd && i >= b->n - nw);
        inc[i] = mom * inc[i] - lr * (g[i] + (weight ? wcost * v[i] : 0.0f));
        v[i] += inc[i];
    }
}

/* The layer into the model: encoder weight and bias; unrolled, the decoder's weight (wᵀ, or wdᵀ when
 * untied: [nvis, nhid]) and bias (the visible bias). */
static void write_params(const pt_info *I, const pt_buf *b, ae_params *ps)
{
    const int64_t V = I->nvis, H = I->nhid;
    memcpy(ps->val + ps->p[I->enc_w].off, b->L.w, (size_t)(V * H) * sizeof(float));
    memcpy(ps->val + ps->p[I->enc_b].off, b->L.b, (size_t)H * sizeof(float));
    if (I->dec_w < 0) return;
    const float *src = b->L.wd ? b->L.wd : b->L.w;
    float *dw = ps->val + ps->p[I->dec_w].off;
    for (int64_t v = 0; v < V; v++)
        for (int64_t h = 0; h < H; h++) dw[v * H + h] = src[h * V + v];
    memcpy(ps->val + ps->p[I->dec_b].off, b->L.c, (size_t)V * sizeof(float));
}

/* out[n, nhid] = act(x[n, nvis]·Wᵀ + b) with the encoder's parameters of layer I (one matmul). */
static int propagate(const pt_info *I, const ae_params *ps, const float *x, size_t n, float **out, ae_err *err)
{
    const int64_t V = I->nvis, H = I->nhid, N = (int64_t)n;
    float *y = malloc((n ? n : 1) * (size_t)H * sizeof(float));
    if (!y) return ae_errf(err, AE_EINTERNAL, "out of memory");
    ae_matmul mm;
    if (ae_matmul_init(&mm, (ae_mat){(float *)x, N, V, V, 1}, (ae_mat){ps->val + ps->p[I->enc_w].off, V, H, 1, V},
                       ps->val + ps->p[I->enc_b].off, (ae_mat){y, N, H, H, 1}, I->act, 0, err)) {
        ae_matmul_destroy(&mm);
        free(y);
        return err->code;
    }
    ae_matmul_run(&mm);
    ae_matmul_destroy(&mm);
    *out = y;
    return AE_OK;
}

typedef struct pt_run {
    ae_pretrain *p;
    ae_params *ps;
    ae_rng *rng;
    const ae_pretrain_io *io;
    char ckpt[4200], log[4200];
    size_t n;
    size_t *order;
    float *xb;
} pt_run;

/* One epoch of layer I over x (n rows): loss per sample into *loss. AE_EINTERRUPTED when stopped. */
static int epoch(pt_run *R, const pt_info *I, pt_buf *b, void *ws[2], const float *x, long e, double *loss,
                 ae_err *err)
{
    const ae_pretrain_cfg *c = &R->p->cfg;
    const size_t n = R->n, V = (size_t)I->nvis, bs = (size_t)c->batch_size < n ? (size_t)c->batch_size : n;
    for (size_t i = 0; i < n; i++) R->order[i] = i;
    ae_rng_shuffle(R->rng, R->order, n);
    const float mom = (float)(e <= c->momentum_switch ? c->momentum : c->final_momentum);
    const float lr = (float)(I->act == AE_ACT_IDENTITY ? c->lr_linear : c->lr);
    double sum = 0;
    for (size_t off = 0; off < n; off += bs) {
        size_t k = off + bs <= n ? bs : n - off;
        for (size_t i = 0; i < k; i++) memcpy(R->xb + i * V, x + R->order[off + i] * V, V * sizeof(float));
        sum += R->p->ops->step(ws[k == bs ? 0 : 1], R->xb, ae_rng_seed64(R->rng)) * (double)k;
        update(b, lr, mom, (float)c->weight_decay);
        if (R->io->stop && *R->io->stop && off + k < n)
            return ae_errf(err, AE_EINTERRUPTED, "pretraining interrupted in %s, epoch %ld; it resumes from the "
                           "start of that epoch", I->who, e);
    }
    *loss = sum / (double)n;
    return AE_OK;
}

static int log_epoch(pt_run *R, int li, long e, double loss, double secs, ae_err *err)
{
    const pt_info *I = &R->p->L[li];
    if (R->io->progress)
        fprintf(stderr, "aelab: %s: pretrain %s %s (%lld-%lld) epoch %ld/%ld: loss %.6g, %.2f s\n",
                R->io->name ? R->io->name : "", I->who, R->p->ops->name, (long long)I->nvis, (long long)I->nhid, e,
                R->p->cfg.epochs, loss, secs);
    if (!R->io->dir) return AE_OK;
    ae_json j;
    ae_json_begin(&j);
    ae_json_int(&j, "layer", li);
    ae_json_int(&j, "epoch", e);
    ae_json_num(&j, "loss", loss);
    ae_json_num(&j, "seconds", secs);
    ae_json_end(&j);
    int rc = ae_jsonl_append(R->log, j.buf, err);
    ae_json_free(&j);
    return rc;
}

/* Trains layer li from epoch `from` (b holds its state), writes it into the model when done. */
static int train_layer(pt_run *R, int li, long from, pt_buf *b, const float *x, ae_err *err)
{
    const pt_info *I = &R->p->L[li];
    const size_t bs = (size_t)R->p->cfg.batch_size < R->n ? (size_t)R->p->cfg.batch_size : R->n;
    void *ws[2] = {NULL, NULL};
    int rc = R->p->ops->begin(R->p->state, &b->L, (int64_t)bs, &ws[0], err);
    if (rc == AE_OK && R->n % bs) rc = R->p->ops->begin(R->p->state, &b->L, (int64_t)(R->n % bs), &ws[1], err);
    for (long e = from + 1; rc == AE_OK && e <= R->p->cfg.epochs; e++) {
        double t0 = ae_now(), loss = 0;
        rc = epoch(R, I, b, ws, x, e, &loss, err);
        if (rc == AE_OK) rc = log_epoch(R, li, e, loss, ae_now() - t0, err);
        pt_pos pos = {li, e};
        if (rc == AE_OK && e == R->p->cfg.epochs) {
            write_params(I, b, R->ps);
            pos = (pt_pos){li + 1, 0};
        }
        long every = R->io->every;
        if (rc == AE_OK && R->io->dir && every > 0 && (e % every == 0 || !pos.epoch))
            rc = pt_ckpt_save(R->ckpt, R->io->hash, pos, R->ps, pos.epoch ? b : NULL, R->rng, err);
    }
    for (int i = 0; i < 2; i++)
        if (ws[i]) R->p->ops->end(ws[i]);
    return rc;
}

/* Restores the checkpoint (when there is one) into pos, the model, the rng and (mid-layer) b. */
static int resume(pt_run *R, pt_pos *pos, pt_buf *b, int *buffered, ae_err *err)
{
    float *vals = NULL;
    size_t nvals = 0;
    int found = 0;
    *pos = (pt_pos){0, 0};
    *buffered = 0;
    if (!R->io->dir) return AE_OK;
    int rc = pt_ckpt_load(R->ckpt, R->io->hash, R->p, pos, R->ps, &vals, &nvals, R->rng, &found, err);
    if (rc == AE_OK && found && pos->layer < R->p->n && pos->epoch > 0) {
        rc = buf_alloc(b, &R->p->L[pos->layer], R->p->ops->untied(R->p->state), err);
        if (rc == AE_OK && nvals != 2 * b->n)
            rc = ae_errf(err, AE_EINPUT, "checkpoint '%s' does not fit this run (layer state)", R->ckpt);
        if (rc == AE_OK) memcpy(b->all, vals, nvals * sizeof(float)), *buffered = 1;
    }
    free(vals);
    if (rc == AE_OK && R->io->dir) {
        long lines = pos->layer * R->p->cfg.epochs + pos->epoch;
        rc = found ? ae_jsonl_keep(R->log, lines, err) : (remove(R->log), AE_OK);
    }
    return rc;
}

static int run_layers(pt_run *R, pt_pos pos, pt_buf *b, int buffered, const float *data, ae_err *err)
{
    const float *x = data;
    float *owned = NULL;
    int rc = AE_OK;
    for (int li = 0; rc == AE_OK && li < R->p->n; li++) {
        const pt_info *I = &R->p->L[li];
        if (li >= pos.layer) {
            free(R->xb);
            size_t bs = (size_t)R->p->cfg.batch_size < R->n ? (size_t)R->p->cfg.batch_size : R->n;
            R->xb = malloc((bs ? bs : 1) * (size_t)I->nvis * sizeof(float));
            if (!R->xb) rc = ae_errf(err, AE_EINTERNAL, "out of memory");
            if (rc == AE_OK && !(buffered && li == pos.layer)) {
                buf_free(b);
                rc = buf_alloc(b, I, R->p->ops->untied(R->p->state), err);
                if (rc == AE_OK) buf_init(b, R->p->cfg.init_std, R->rng);
            }
            if (rc == AE_OK) rc = train_layer(R, li, li == pos.layer ? pos.epoch : 0, b, x, err);
        }
        if (rc == AE_OK && li + 1 < R->p->n) { /* its outputs: the next layer's data */
            float *y = NULL;
            rc = propagate(I, R->ps, x, R->n, &y, err);
            free(owned);
            x = owned = y;
        }
    }
    free(owned);
    return rc;
}

int ae_pretrain_run(ae_pretrain *p, ae_model *m, const ae_dataset *train, ae_rng *rng, const ae_pretrain_io *io,
                    ae_err *err)
{
    if (!p) return AE_OK;
    pt_run R;
    memset(&R, 0, sizeof R);
    R.p = p, R.ps = ae_model_params(m), R.rng = rng, R.io = io, R.n = train->n;
    if (io->dir) {
        ae_path_join(R.ckpt, sizeof R.ckpt, io->dir, "pretrain.aelab");
        ae_path_join(R.log, sizeof R.log, io->dir, "pretrain.jsonl");
    }
    pt_buf b;
    memset(&b, 0, sizeof b);
    pt_pos pos;
    int buffered;
    if (!(R.order = malloc((R.n ? R.n : 1) * sizeof *R.order))) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int rc = resume(&R, &pos, &b, &buffered, err);
    if (rc == AE_OK && pos.layer >= p->n) {
        if (io->progress) fprintf(stderr, "aelab: %s: pretrained already\n", io->name ? io->name : "");
    } else if (rc == AE_OK) {
        rc = run_layers(&R, pos, &b, buffered, train->x, err);
    }
    buf_free(&b);
    free(R.order);
    free(R.xb);
    return rc;
}
