/* The `autoencoder` and `denoising` pretrainers: each layer trained as a one-hidden-layer autoencoder
 * on the previous layer's codes (Bengio et al. 2007), from a corrupted copy for `denoising` (Vincent et
 * al. 2010); tied (decoder = Wᵀ) or untied weights; cross-entropy on sigmoid reconstructions of [0, 1]
 * inputs, half the squared error on linear ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae_ops.h"
#include "ae_pretrainer.h"

typedef struct ae_pt_cfg {
    int tied;
    int noise;     /* denoising: 0 masking, 1 gaussian */
    double level;  /* masking: fraction zeroed; gaussian: sigma */
    int denoising;
} ae_pt_cfg;

static const char *const noise_names[] = {"masking", "gaussian", NULL};
static const ae_key ae_keys[] = {
    AE_KEY_BOOL_(ae_pt_cfg, tied, "tied", "true", "decoder weight = the encoder's transpose (else its own)"),
};
static const ae_key dae_keys[] = {
    AE_KEY_BOOL_(ae_pt_cfg, tied, "tied", "true", "decoder weight = the encoder's transpose (else its own)"),
    AE_KEY_CHOICE_(ae_pt_cfg, noise, "noise", "masking", noise_names,
                   "corruption of each layer's input: masking (zeroes) or gaussian (added)"),
    AE_KEY_NUM_(ae_pt_cfg, level, "level", "0.25", 0.0, 100.0,
                "masking: fraction of inputs zeroed (< 1); gaussian: the noise's sigma"),
};
static const ae_schema ae_schema_ = AE_SCHEMA("pretrain (autoencoder)", ae_keys);
static const ae_schema dae_schema = AE_SCHEMA("pretrain (denoising)", dae_keys);

static int configure(ae_cfg *spec, void **state, int denoising, ae_err *err)
{
    ae_pt_cfg *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    s->denoising = denoising;
    if (ae_schema_read(denoising ? &dae_schema : &ae_schema_, spec, s, 0, err)) return err->code;
    if (denoising && s->noise == 0 && s->level >= 1.0) {
        char w[256];
        return ae_errf(err, AE_EINPUT, "%s: pretrain.level: masking zeroes a fraction of the inputs: "
                       "expected a value below 1, got %g", ae_cfg_where(ae_cfg_get(spec, "level"), w, sizeof w),
                       s->level);
    }
    return AE_OK;
}
static int ae_configure(ae_cfg *spec, void **state, ae_err *err) { return configure(spec, state, 0, err); }
static int dae_configure(ae_cfg *spec, void **state, ae_err *err) { return configure(spec, state, 1, err); }

static int ae_check(void *state, ae_act act, int vis_binary, const char *who, ae_err *err)
{
    (void)state, (void)act, (void)vis_binary, (void)who, (void)err;
    return AE_OK;
}

static int ae_untied(void *state) { return !((ae_pt_cfg *)state)->tied; }

typedef struct ae_ws {
    ae_pt_layer *L;
    const ae_pt_cfg *cfg;
    int64_t B;
    float *x, *xt;    /* [B, nvis]: the clean batch and the encoder's input (xt == x without noise) */
    float *h, *dh, *dpre; /* [B, nhid] */
    float *r, *dr;    /* [B, nvis] */
    double *sum;      /* [max(nvis, nhid)]: column sums */
    ae_matmul enc, dec, gdec, back, genc;
} ae_ws;

static void ae_end(void *vws)
{
    ae_ws *w = vws;
    if (!w) return;
    ae_matmul_destroy(&w->enc);
    ae_matmul_destroy(&w->dec);
    ae_matmul_destroy(&w->gdec);
    ae_matmul_destroy(&w->back);
    ae_matmul_destroy(&w->genc);
    if (w->xt != w->x) free(w->xt);
    free(w->x);
    free(w->h);
    free(w->dh);
    free(w->dpre);
    free(w->r);
    free(w->dr);
    free(w->sum);
    free(w);
}

static int ae_begin(void *state, ae_pt_layer *L, int64_t B, void **out, ae_err *err)
{
    ae_ws *w = calloc(1, sizeof *w);
    *out = w;
    if (!w) return ae_errf(err, AE_EINTERNAL, "out of memory");
    const ae_pt_cfg *cfg = state;
    const int64_t V = L->nvis, H = L->nhid;
    w->L = L;
    w->cfg = cfg;
    w->B = B;
    size_t bv = (size_t)(B * V) * sizeof(float), bh = (size_t)(B * H) * sizeof(float);
    w->x = malloc(bv);
    w->xt = cfg->denoising ? malloc(bv) : w->x;
    w->h = malloc(bh);
    w->dh = malloc(bh);
    w->dpre = malloc(bh);
    w->r = malloc(bv);
    w->dr = malloc(bv);
    w->sum = malloc((size_t)(V > H ? V : H) * sizeof(double));
    if (!w->sum || !w->x || !w->xt || !w->h || !w->dh || !w->dpre || !w->r || !w->dr)
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    float *wd = cfg->tied ? L->w : L->wd, *gwd = cfg->tied ? L->gw : L->gwd;
    const ae_act vact = L->vis_binary ? AE_ACT_SIGMOID : AE_ACT_IDENTITY;
    /* h = act(xt·Wᵀ + b); r = act_v(h·Wd + c); gwd = hᵀ·dr; dh = dr·Wdᵀ; gw (+)= dpreᵀ·xt */
    if (ae_matmul_init(&w->enc, (ae_mat){w->xt, B, V, V, 1}, (ae_mat){L->w, V, H, 1, V}, L->b,
                       (ae_mat){w->h, B, H, H, 1}, L->act, 0, err) ||
        ae_matmul_init(&w->dec, (ae_mat){w->h, B, H, H, 1}, (ae_mat){wd, H, V, V, 1}, L->c,
                       (ae_mat){w->r, B, V, V, 1}, vact, 0, err) ||
        ae_matmul_init(&w->gdec, (ae_mat){w->h, H, B, 1, H}, (ae_mat){w->dr, B, V, V, 1}, NULL,
                       (ae_mat){gwd, H, V, V, 1}, AE_ACT_IDENTITY, 0, err) ||
        ae_matmul_init(&w->back, (ae_mat){w->dr, B, V, V, 1}, (ae_mat){wd, V, H, 1, V}, NULL,
                       (ae_mat){w->dh, B, H, H, 1}, AE_ACT_IDENTITY, 0, err) ||
        ae_matmul_init(&w->genc, (ae_mat){w->dpre, H, B, 1, H}, (ae_mat){w->xt, B, V, V, 1}, NULL,
                       (ae_mat){L->gw, H, V, V, 1}, AE_ACT_IDENTITY, cfg->tied, err))
        return err->code;
    return AE_OK;
}

typedef struct noise_job {
    const float *x;
    float *out;
    int gauss;
    float level;
} noise_job;

static void noise_block(size_t lo, size_t hi, const float *noise, void *ctx)
{
    const noise_job *j = ctx;
    for (size_t i = lo; i < hi; i++)
        j->out[i] = j->gauss ? j->x[i] + j->level * noise[i - lo] : (noise[i - lo] < j->level ? 0.0f : j->x[i]);
}

/* Column sums of a [rows, cols] matrix, in double (row by row, into sum). */
static void col_sum(const float *a, int64_t rows, int64_t cols, double *sum, float *out)
{
    memset(sum, 0, (size_t)cols * sizeof *sum);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) sum[j] += a[i * cols + j];
    for (int64_t j = 0; j < cols; j++) out[j] = (float)sum[j];
}

static double ae_step(void *vws, const float *x, uint64_t seed)
{
    ae_ws *w = vws;
    const ae_pt_layer *L = w->L;
    const int64_t B = w->B, V = L->nvis, H = L->nhid;
    const size_t nv = (size_t)(B * V);
    memcpy(w->x, x, nv * sizeof(float));
    if (w->cfg->denoising) {
        noise_job j = {w->x, w->xt, w->cfg->noise == 1, (float)w->cfg->level};
        ae_rng_blocks(nv, j.gauss ? AE_RNG_GAUSS : AE_RNG_UNIFORM, seed, noise_block, &j);
    }
    ae_matmul_run(&w->enc);
    ae_matmul_run(&w->dec);
    double loss = 0;
    const float inv = 1.0f / (float)B;
    for (size_t i = 0; i < nv; i++) {
        double r = w->r[i], t = w->x[i];
        if (L->vis_binary) loss -= t * fmax(log(r), -100.0) + (1.0 - t) * fmax(log1p(-r), -100.0);
        else loss += 0.5 * (r - t) * (r - t);
        w->dr[i] = (w->r[i] - w->x[i]) * inv; /* d loss / d pre-activation, sigmoid + CE or linear + SE */
    }
    col_sum(w->dr, B, V, w->sum, L->gc);
    ae_matmul_run(&w->gdec);
    ae_matmul_run(&w->back);
    ae_act_backward(L->act, w->h, w->dh, w->dpre, (size_t)(B * H), 0);
    col_sum(w->dpre, B, H, w->sum, L->gb);
    ae_matmul_run(&w->genc);
    return loss / (double)B;
}

const ae_pretrainer_ops ae_pretrainer_autoencoder = {
    "autoencoder",
    "stacked autoencoders (Bengio et al. 2007): each layer a one-hidden-layer autoencoder on the previous "
    "layer's codes; loss = cross-entropy ([0, 1] inputs, sigmoid reconstruction) or half the squared error "
    "per sample",
    ae_configure, ae_check, ae_untied, ae_begin, ae_step, ae_end, free, &ae_schema_};

const ae_pretrainer_ops ae_pretrainer_denoising = {
    "denoising",
    "stacked denoising autoencoders (Vincent et al. 2010): the autoencoder method on a corrupted copy of "
    "each layer's input, reconstructing the clean one",
    dae_configure, ae_check, ae_untied, ae_begin, ae_step, ae_end, free, &dae_schema};
