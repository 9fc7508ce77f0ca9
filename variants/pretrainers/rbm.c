/* The `rbm` pretrainer: a restricted Boltzmann machine trained by CD-k (Hinton & Salakhutdinov 2006):
 * Bernoulli hidden units for a sigmoid layer, unit-variance Gaussian (linear) ones for an identity
 * layer; Bernoulli visible units on [0, 1] inputs, Gaussian ones otherwise. */
#include <stdlib.h>
#include <string.h>

#include "ae_pretrainer.h"

typedef struct rbm_cfg {
    long cd_k;
} rbm_cfg;

static const ae_key rbm_keys[] = {
    AE_KEY_INT_(rbm_cfg, cd_k, "cd_k", "1", 1, 1000, "Gibbs steps of contrastive divergence (CD-k)"),
};
static const ae_schema rbm_schema = AE_SCHEMA("pretrain (rbm)", rbm_keys);

static int rbm_configure(ae_cfg *spec, void **state, ae_err *err)
{
    rbm_cfg *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    return ae_schema_read(&rbm_schema, spec, s, 0, err);
}

static int rbm_check(void *state, ae_act act, int vis_binary, const char *who, ae_err *err)
{
    (void)state;
    (void)vis_binary;
    if (act == AE_ACT_SIGMOID || act == AE_ACT_IDENTITY) return AE_OK;
    return ae_errf(err, AE_EINPUT, "pretrain: %s has activation %s; an RBM has Bernoulli (sigmoid) or "
                   "Gaussian (identity) hidden units: use one of those, or method: autoencoder", who,
                   ae_act_name(act));
}

static int rbm_untied(void *state) { (void)state; return 0; }

typedef struct rbm_ws {
    ae_pt_layer *L;
    long k;
    int64_t B;
    float *q;      /* [2B, nvis]: the data rows, then the negative-phase visible rows */
    float *ph, *nh; /* [B, nhid]: positive and negative hidden probabilities (means) */
    float *hs;     /* [B, nhid]: sampled hidden states */
    float *p;      /* [2B, nhid]: -ph/B then nh/B (the weight gradient is pᵀ·q) */
    double *sum;   /* [nhid + nvis]: the bias gradients' sums */
    ae_matmul up, down, reup, grad;
} rbm_ws;

static void rbm_end(void *vws)
{
    rbm_ws *w = vws;
    if (!w) return;
    ae_matmul_destroy(&w->up);
    ae_matmul_destroy(&w->down);
    ae_matmul_destroy(&w->reup);
    ae_matmul_destroy(&w->grad);
    free(w->q);
    free(w->ph);
    free(w->nh);
    free(w->hs);
    free(w->p);
    free(w->sum);
    free(w);
}

static int rbm_begin(void *state, ae_pt_layer *L, int64_t B, void **out, ae_err *err)
{
    rbm_ws *w = calloc(1, sizeof *w);
    *out = w;
    if (!w) return ae_errf(err, AE_EINTERNAL, "out of memory");
    const int64_t V = L->nvis, H = L->nhid;
    w->L = L;
    w->k = ((rbm_cfg *)state)->cd_k;
    w->B = B;
    w->q = malloc((size_t)(2 * B * V) * sizeof(float));
    w->ph = malloc((size_t)(B * H) * sizeof(float));
    w->nh = malloc((size_t)(B * H) * sizeof(float));
    w->hs = malloc((size_t)(B * H) * sizeof(float));
    w->p = malloc((size_t)(2 * B * H) * sizeof(float));
    w->sum = malloc((size_t)(H + V) * sizeof(double));
    if (!w->q || !w->ph || !w->nh || !w->hs || !w->p || !w->sum) return ae_errf(err, AE_EINTERNAL, "out of memory");
    const ae_act hact = L->act, vact = L->vis_binary ? AE_ACT_SIGMOID : AE_ACT_IDENTITY;
    const ae_mat wt = {L->w, V, H, 1, V}, wm = {L->w, H, V, V, 1};
    float *negv = w->q + B * V;
    /* ph = act(x·Wᵀ + b); negv = act_v(hs·W + c); nh = act(negv·Wᵀ + b); gw = pᵀ·q */
    if (ae_matmul_init(&w->up, (ae_mat){w->q, B, V, V, 1}, wt, L->b, (ae_mat){w->ph, B, H, H, 1}, hact, 0, err) ||
        ae_matmul_init(&w->down, (ae_mat){w->hs, B, H, H, 1}, wm, L->c, (ae_mat){negv, B, V, V, 1}, vact, 0, err) ||
        ae_matmul_init(&w->reup, (ae_mat){negv, B, V, V, 1}, wt, L->b, (ae_mat){w->nh, B, H, H, 1}, hact, 0, err) ||
        ae_matmul_init(&w->grad, (ae_mat){w->p, H, 2 * B, 1, H}, (ae_mat){w->q, 2 * B, V, V, 1}, NULL,
                       (ae_mat){L->gw, H, V, V, 1}, AE_ACT_IDENTITY, 0, err))
        return err->code;
    return AE_OK;
}

typedef struct sample_job {
    const float *mean;
    float *out;
    int gauss;
} sample_job;

/* Bernoulli: 1 when u < p; Gaussian: mean + N(0, 1). */
static void sample_block(size_t lo, size_t hi, const float *noise, void *ctx)
{
    const sample_job *j = ctx;
    for (size_t i = lo; i < hi; i++)
        j->out[i] = j->gauss ? j->mean[i] + noise[i - lo] : (noise[i - lo] < j->mean[i] ? 1.0f : 0.0f);
}

static double rbm_step(void *vws, const float *x, uint64_t seed)
{
    rbm_ws *w = vws;
    const ae_pt_layer *L = w->L;
    const int64_t B = w->B, V = L->nvis, H = L->nhid;
    const size_t nh = (size_t)(B * H);
    const int gauss = L->act == AE_ACT_IDENTITY;
    memcpy(w->q, x, (size_t)(B * V) * sizeof(float));
    ae_matmul_run(&w->up);
    const float *mean = w->ph;
    for (long s = 0; s < w->k; s++) {
        sample_job j = {mean, w->hs, gauss};
        ae_rng_blocks(nh, gauss ? AE_RNG_GAUSS : AE_RNG_UNIFORM, seed + (uint64_t)s, sample_block, &j);
        ae_matmul_run(&w->down);
        ae_matmul_run(&w->reup);
        mean = w->nh;
    }
    const float inv = 1.0f / (float)B;
    for (size_t i = 0; i < nh; i++) {
        w->p[i] = -w->ph[i] * inv;
        w->p[nh + i] = w->nh[i] * inv;
    }
    ae_matmul_run(&w->grad);
    /* biases in double: Σ over the batch of (negative - positive) statistics, / B (row by row) */
    const float *negv = w->q + B * V;
    double err = 0, *sh = w->sum, *sv = w->sum + H;
    memset(w->sum, 0, (size_t)(H + V) * sizeof(double));
    for (int64_t i = 0; i < B; i++) {
        for (int64_t j = 0; j < H; j++) sh[j] += (double)w->nh[i * H + j] - (double)w->ph[i * H + j];
        for (int64_t j = 0; j < V; j++) {
            double d = (double)negv[i * V + j] - (double)x[i * V + j];
            sv[j] += d;
            err += d * d;
        }
    }
    for (int64_t j = 0; j < H; j++) L->gb[j] = (float)(sh[j] / (double)B);
    for (int64_t j = 0; j < V; j++) L->gc[j] = (float)(sv[j] / (double)B);
    return err / (double)B;
}

const ae_pretrainer_ops ae_pretrainer_rbm = {
    "rbm",
    "restricted Boltzmann machine, CD-k (Hinton & Salakhutdinov 2006): Bernoulli hidden units for a "
    "sigmoid layer, Gaussian for an identity one; loss = squared reconstruction error per sample",
    rbm_configure, rbm_check, rbm_untied, rbm_begin, rbm_step, rbm_end, free, &rbm_schema};
