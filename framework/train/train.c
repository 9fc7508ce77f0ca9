/* Training loop and whole-dataset evaluation over cached per-batch-size graphs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_report.h"
#include "ae_train.h"

int ae_trainer_init(ae_trainer *t, ae_model *m, const ae_dataset *data, const ae_train_cfg *cfg,
                    ae_optim *opt, ae_rng *rng, ae_err *err)
{
    memset(t, 0, sizeof *t);
    if (data->n == 0) return ae_errf(err, AE_EINPUT, "no training samples");
    t->model = m;
    t->data = data;
    t->cfg = *cfg;
    t->opt = opt;
    t->base_lr = opt ? opt->cfg.lr : 0.0;
    t->rng = rng;
    t->order = malloc((data->n ? data->n : 1) * sizeof *t->order);
    if (!t->order) return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (size_t i = 0; i < data->n; i++) t->order[i] = i;
    return AE_OK;
}

void ae_trainer_free(ae_trainer *t)
{
    free(t->order);
    t->order = NULL;
}

static int is_identity(const size_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (order[i] != i) return 0;
    return 1;
}

/* The buffer still holds the dataset: first, middle and last rows compared (guards against a
 * training graph rebuilt at the same address, say after eviction from the model's graph cache:
 * fresh memory does not hold these rows). Never with a dynamic binarization (a new draw each epoch). */
static int still_staged(const ae_dataset *ds, const float *x)
{
    const size_t d = ds->d, rows[3] = {0, ds->n / 2, ds->n - 1};
    for (int r = 0; r < 3; r++)
        if (memcmp(x + rows[r] * d, ds->x + rows[r] * d, d * sizeof *x)) return 0;
    return 1;
}

/* A non-finite value as text: "nan", "inf" or "-inf" (glibc would print a negative NaN "-nan"). */
static const char *value_text(double v, char *buf, size_t len)
{
    snprintf(buf, len, isnan(v) ? "nan" : "%g", v);
    return buf;
}

/* The remedies for a divergence, naming the current learning rate. */
static const char *diverged_hint(const ae_trainer *t, char *buf, size_t len)
{
    const ae_optim_cfg *c = t->opt ? &t->opt->cfg : NULL;
    if (!c) snprintf(buf, len, "; try a lower learning rate (train.optimizer.lr) or gradient clipping "
                     "(train.optimizer.clip_grad_norm)");
    else if (c->clip_norm > 0)
        snprintf(buf, len, "; try a lower learning rate (train.optimizer.lr is %g, e.g. %g) or a tighter "
                 "gradient clipping (train.optimizer.clip_grad_norm is %g)", c->lr, c->lr / 10, c->clip_norm);
    else
        snprintf(buf, len, "; try a lower learning rate (train.optimizer.lr is %g, e.g. %g) or gradient "
                 "clipping (e.g. train.optimizer.clip_grad_norm: 1.0)", c->lr, c->lr / 10);
    return buf;
}

static int check_finite(const ae_trainer *t, const ae_mgraph *mg, long epoch, long batch, ae_err *err)
{
    if (isfinite(mg->loss->val[0])) return AE_OK;
    char v[32], hint[256];
    diverged_hint(t, hint, sizeof hint);
    for (int k = 0; k < mg->nterms; k++)
        if (!isfinite(mg->term[k]->val[0]))
            return ae_errf(err, AE_EDIVERGED, "training diverged at epoch %ld, batch %ld: loss term "
                           "'%s' is %s%s", epoch, batch, mg->term_name[k],
                           value_text(mg->term[k]->val[0], v, sizeof v), hint);
    return ae_errf(err, AE_EDIVERGED, "training diverged at epoch %ld, batch %ld: loss is %s%s", epoch, batch,
                   value_text(mg->loss->val[0], v, sizeof v), hint);
}

/* The optimizer met a non-finite gradient (the parameters are damaged; the checkpoint is not). */
static int gradient_diverged(const ae_trainer *t, const ae_mgraph *mg, long epoch, long batch, ae_err *err)
{
    char v[32], hint[256];
    return ae_errf(err, AE_EDIVERGED, "training diverged at epoch %ld, batch %ld: a gradient is not finite "
                   "(loss %s); the last checkpoint is intact%s", epoch, batch,
                   value_text(mg->loss->val[0], v, sizeof v), diverged_hint(t, hint, sizeof hint));
}

/* The step's forward, backward and optimizer update: the update of each parameter whose gradient's
 * writer reports it final runs right there (same formula, same bits), the rest after the walk.
 * Returns 0 when the loss is not finite (nothing updated), else 1 with *gn as ae_optim_step's. */
static int train_step(ae_optim *o, ae_graph *g, double *gn)
{
    const unsigned char *done = ae_graph_fused_params(g);
    ae_update u = {.fn = ae_optim_update, .ctx = o};
    int fused = o && done && ae_optim_fusable(o) && !getenv("AELAB_NO_FUSED_UPDATE");
    if (fused) ae_optim_begin(o); /* the step's scalars (a diverged loss stops the run anyway) */
    if (!ae_graph_train_step(g, fused ? &u : NULL)) return 0;
    *gn = fused ? ae_optim_finish(o, done) + (u.bad ? NAN : 0.0) : o ? ae_optim_step(o) : 0.0;
    return 1;
}

/* A batch of k samples into the epoch's running sums (each term weighted by k). */
static void add_batch(ae_epoch_stats *st, const ae_mgraph *mg, size_t k)
{
    st->loss += (double)mg->loss->val[0] * (double)k;
    st->nterms = mg->nterms;
    for (int q = 0; q < mg->nterms; q++) {
        st->term[q] += (double)mg->term[q]->val[0] * (double)k;
        memcpy(st->term_name[q], mg->term_name[q], sizeof st->term_name[q]);
    }
}

/* The epoch's record: sums over n samples as means, its seconds, and the throughput over the
 * samples timed (`timed` samples in `timed_s` seconds: epoch 1 leaves its warm-up batches out). */
static ae_epoch_stats epoch_means(const ae_epoch_stats *st, size_t n, double seconds, double timed, double timed_s)
{
    ae_epoch_stats done = *st;
    done.seconds = seconds;
    done.samples_per_s = timed_s > 0 ? timed / timed_s : 0;
    done.loss /= (double)n;
    for (int q = 0; q < done.nterms; q++) done.term[q] /= (double)n;
    return done;
}

int ae_train(ae_trainer *t, ae_epoch_fn on_epoch, void *ctx, ae_err *err)
{
    const ae_dataset *ds = t->data;
    const size_t n = ds->n;
    const size_t bs = t->cfg.batch_size > 0 && (size_t)t->cfg.batch_size < n ? (size_t)t->cfg.batch_size : n;
    const long nb = (long)((n + bs - 1) / bs);
    ae_progress prog;
    ae_progress_init(&prog, t->cfg.epochs, nb, t->cfg.progress);
    /* Full batches in dataset order (no shuffle with one batch): after the first copy the training
     * graph's input holds the whole dataset, and only this loop writes a training graph's input, so
     * later steps on the same graph reuse it. Same bits as copying every step. */
    const int whole = nb == 1 && is_identity(t->order, n) && ds->binarize != AE_BINARIZE_DYNAMIC;
    const float *staged = NULL;
    const char *pe = getenv("AELAB_PROFILE");
    double pbuf[3] = {0, 0, 0}, *prof = pe && *pe == '1' ? pbuf : NULL; /* gather, step, steps */
    while (t->epoch < t->cfg.epochs) {
        long epoch = t->epoch + 1;
        ae_epoch_stats *st = &t->part;
        ae_model_set_epoch(t->model, epoch);
        if (t->opt) t->opt->cfg.lr = ae_schedule_lr(&t->cfg.schedule, t->base_lr, epoch);
        if (t->next_batch == 0) {
            if (t->cfg.shuffle && nb > 1) ae_rng_shuffle(t->rng, t->order, n);
            memset(st, 0, sizeof *st);
        }
        st->epoch = epoch;
        double t0 = ae_now() - st->seconds;
        /* throughput as the peer measures it: epoch 1 without its first warm-up batches (graph
         * building, primitive creation, caches) */
        long warm = epoch == 1 && t->next_batch == 0 && nb > 4 ? (nb / 4 < 50 ? nb / 4 : 50) : 0;
        double tw = t0;
        size_t warm_samples = 0;
        for (long b = t->next_batch; b < nb; b++) {
            size_t off = (size_t)b * bs, k = off + bs <= n ? bs : n - off;
            ae_mgraph *mg = ae_model_graph(t->model, (int64_t)k, AE_MODE_TRAIN, err);
            if (!mg) return err->code;
            double tp = prof ? ae_now() : 0;
            if (!whole || staged != mg->taps.x->val || !still_staged(ds, staged)) {
                ae_dataset_gather(ds, t->order + off, 0, k, (uint64_t)epoch, mg->taps.x->val);
                staged = whole ? mg->taps.x->val : NULL;
            }
            if (prof) prof[0] += ae_now() - tp;
            if (prof) tp = ae_now();
            double gn = 0;
            if (!train_step(t->opt, mg->g, &gn) && check_finite(t, mg, epoch, b + 1, err)) return err->code;
            if (prof) prof[1] += ae_now() - tp, prof[2] += 1;
            if (!isfinite(gn)) return gradient_diverged(t, mg, epoch, b + 1, err);
            add_batch(st, mg, k);
            t->next_batch = b + 1;
            if (b + 1 == warm) {
                tw = ae_now();
                warm_samples = off + k;
            }
            ae_progress_batch(&prog, epoch, b + 1, mg->loss->val[0], k);
            if (t->stop && *t->stop && b + 1 < nb) {
                st->seconds = ae_now() - t0;
                return ae_errf(err, AE_EINTERRUPTED, "interrupted in epoch %ld after batch %ld", epoch, b + 1);
            }
        }
        ae_epoch_stats done = epoch_means(st, n, ae_now() - t0, (double)(n - warm_samples), ae_now() - tw);
        t->epoch = epoch;
        t->next_batch = 0;
        memset(st, 0, sizeof *st);
        ae_progress_epoch(&prog, epoch, done.loss, done.samples_per_s, "");
        if (on_epoch && on_epoch(ctx, &done, err)) return err->code;
        if (t->stop && *t->stop && t->epoch < t->cfg.epochs)
            return ae_errf(err, AE_EINTERRUPTED, "interrupted after epoch %ld", epoch);
    }
    if (prof && prof[2] > 0)
        fprintf(stderr, "profile: per step, batch gather %.3f ms, step (forward, backward, optimizer) %.3f ms\n", 1e3 * prof[0] / prof[2],
                1e3 * prof[1] / prof[2]);
    return AE_OK;
}

int ae_encode(ae_model *m, const ae_dataset *ds, size_t n, ae_mode mode, long batch, float *codes,
              float *recon, ae_err *err)
{
    size_t cs = ae_model_code_size(m);
    for (size_t off = 0; off < n; off += (size_t)batch) {
        size_t k = off + (size_t)batch <= n ? (size_t)batch : n - off;
        ae_mgraph *mg = ae_model_graph(m, (int64_t)k, mode, err);
        if (!mg) return err->code;
        ae_dataset_gather(ds, NULL, off, k, ds->pass, mg->taps.x->val);
        const ae_node *code = mg->taps.mu ? mg->taps.mu : mg->taps.code;
        if (recon) ae_graph_forward_to(mg->g, mg->taps.recon);
        else ae_graph_forward_to(mg->g, code);
        if (codes) memcpy(codes + off * cs, code->val, k * cs * sizeof(float));
        if (recon) memcpy(recon + off * ds->d, mg->taps.recon->val, k * ds->d * sizeof(float));
    }
    return AE_OK;
}

int ae_evaluate(ae_model *m, const ae_dataset *ds, ae_mode mode, long batch, ae_eval *out, ae_err *err)
{
    memset(out, 0, sizeof *out);
    double se = 0, ce = 0, act = 0, loss = 0, nse = 0;
    size_t cs = 0;
    int unit_range = 1; /* BCE is defined for targets in [0, 1] only */
    for (size_t off = 0; off < ds->n; off += (size_t)batch) {
        size_t k = off + (size_t)batch <= ds->n ? (size_t)batch : ds->n - off;
        ae_mgraph *mg = ae_model_graph(m, (int64_t)k, mode, err);
        if (!mg) return err->code;
        ae_dataset_gather(ds, NULL, off, k, ds->pass, mg->taps.x->val);
        const float *x = mg->taps.x->val; /* the rows as the model read them */
        ae_graph_forward(mg->g);
        const float *y = mg->taps.recon->val, *xin = mg->taps.x_in->val;
        for (size_t i = 0; mg->taps.x_in != mg->taps.x && i < k * ds->d; i++)
            nse += ((double)xin[i] - x[i]) * ((double)xin[i] - x[i]);
        /* trained on logits: the reconstruction term is the BCE already (stable form, computed
         * vectorised by the loss op); else BCE from the probabilities, clamped like PyTorch */
        int from_logits = mg->taps.logits && mg->nterms > 0;
        if (from_logits)
            ce += (double)mg->term[0]->val[0] * (double)k * (ae_model_loss_sum(m) ? 1.0 : (double)ds->d);
        for (size_t i = 0; i < k * ds->d; i++) {
            double p = y[i], t = x[i], dd = p - t;
            se += dd * dd;
            if (t < 0.0 || t > 1.0) unit_range = 0;
            if (!from_logits) ce -= t * fmax(log(p), -100.0) + (1.0 - t) * fmax(log1p(-p), -100.0);
        }
        const ae_node *code = mg->taps.mu ? mg->taps.mu : mg->taps.code;
        cs = code->numel / k;
        for (size_t i = 0; i < code->numel; i++) act += fabs(code->val[i]);
        loss += (double)mg->loss->val[0] * (double)k;
        out->nterms = mg->nterms;
        for (int q = 0; q < mg->nterms; q++) {
            out->term[q] += (double)mg->term[q]->val[0] * (double)k;
            memcpy(out->term_name[q], mg->term_name[q], sizeof out->term_name[q]);
        }
    }
    double ne = (double)ds->n * (double)ds->d;
    out->mse = se / ne;
    out->noisy_mse = nse / ne;
    out->bce = unit_range ? ce / ne : NAN;
    out->loss = loss / (double)ds->n;
    for (int q = 0; q < out->nterms; q++) out->term[q] /= (double)ds->n;
    out->mean_code_act = cs ? act / ((double)ds->n * (double)cs) : 0;
    return AE_OK;
}
