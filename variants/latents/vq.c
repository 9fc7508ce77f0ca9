/* The `vq` latent (VQ-VAE, van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation
 * Learning"): a codebook of K vectors of the encoder output's size D, nearest-code quantisation
 * (squared Euclidean) with a straight-through gradient, the codebook and commitment loss terms, a
 * uniform prior over the codes (the paper's prior is a PixelCNN fitted afterwards: not built here) and
 * code-usage metrics (perplexity, codes used) in final.json. Dense encoders only: a conv encoder's
 * [N, C, H, W] output (a code per position) is refused with a message. Its ops live here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_params.h"
#include "ae_registry.h"

typedef struct vq_state {
    long codes;         /* K */
    double beta;        /* commitment weight */
    float w_codebook;   /* the terms' weights (owned here: the loss reads them through pointers) */
    float w_commit;
    ae_params *ps;      /* the codebook: entry cb of ps, K x D (set at build) */
    int cb;
    long dim;
    double *count;      /* code assignments seen by observe (K) */
} vq_state;

static const ae_key vq_keys[] = {
    AE_KEY_INT_(vq_state, codes, "codes", "64", 2, 1L << 16, "codebook size K (codes of the encoder output's size)"),
    AE_KEY_NUM_(vq_state, beta, "beta", "0.25", 0.0, 1e6, "commitment term's weight: beta*||z_e - sg[e]||^2"),
};
static const ae_schema vq_schema = AE_SCHEMA("latent vq", vq_keys);

/* --- quantise: y_i = e_{k_i}, k_i = argmin_k ||z_i - e_k||^2 (ties: the lowest k); backward copies dy
 * to z (straight-through), none to the codebook. state: k_i per row (as floats). */
static int quant_infer(ae_node *n, ae_err *err)
{
    const ae_node *z = n->in[0], *e = n->in[1];
    if (z->shape.nd != 2 || e->shape.nd != 2 || z->shape.d[1] != e->shape.d[1])
        return ae_errf(err, AE_EINPUT, "%s: expected codes [N, D] and a codebook [K, D]", n->name);
    n->shape = z->shape;
    return AE_OK;
}

static int quant_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    n->state = ae_graph_scratch(g, (size_t)n->shape.d[0], err);
    return n->state ? AE_OK : err->code;
}

static size_t nearest(const float *z, const float *e, size_t k, size_t d)
{
    size_t best = 0;
    double bd = INFINITY;
    for (size_t c = 0; c < k; c++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) s += ((double)z[j] - e[c * d + j]) * ((double)z[j] - e[c * d + j]);
        if (s < bd) { bd = s; best = c; }
    }
    return best;
}

static void quant_forward(ae_node *n)
{
    const ae_node *z = n->in[0], *e = n->in[1];
    size_t rows = (size_t)z->shape.d[0], d = (size_t)z->shape.d[1], k = (size_t)e->shape.d[0];
    float *idx = n->state;
    for (size_t i = 0; i < rows; i++) {
        size_t c = nearest(z->val + i * d, e->val, k, d);
        idx[i] = (float)c;
        memcpy(n->val + i * d, e->val + c * d, d * sizeof(float));
    }
}

static void quant_backward(ae_node *n)
{
    ae_node *z = n->in[0], *e = n->in[1];
    if (z->needs_grad)
        for (size_t i = 0; i < n->numel; i++) z->grad[i] = (n->accum[0] ? z->grad[i] : 0.0f) + n->grad[i];
    if (e->needs_grad && !n->accum[1]) memset(e->grad, 0, e->numel * sizeof(float));
}

static const ae_op vq_op_quantise = {.name = "vq_quantise", .infer = quant_infer, .prepare = quant_prepare,
                                     .forward = quant_forward, .backward = quant_backward};

/* --- the two terms, both mean over N x D of (z_e - e_k)^2 with k from the quantise node (pattr):
 * codebook ||sg[z_e] - e||^2 (gradient to the codebook only), commitment ||z_e - sg[e]||^2 (gradient to
 * z_e only). Inputs: z_e, the codebook. */
enum { VQ_TERM_KIND, VQ_TERM_NATTR };
enum { VQ_CODEBOOK, VQ_COMMIT };

static int term_infer(ae_node *n, ae_err *err)
{
    if (quant_infer(n, err)) return err->code;
    n->shape.nd = 0;
    return AE_OK;
}

static void term_forward(ae_node *n)
{
    const ae_node *z = n->in[0], *e = n->in[1], *q = n->pattr;
    size_t rows = (size_t)z->shape.d[0], d = (size_t)z->shape.d[1];
    const float *idx = q->state;
    double s = 0;
    for (size_t i = 0; i < rows; i++) {
        const float *ek = e->val + (size_t)idx[i] * d;
        for (size_t j = 0; j < d; j++) s += ((double)z->val[i * d + j] - ek[j]) * ((double)z->val[i * d + j] - ek[j]);
    }
    n->val[0] = (float)(s / (double)z->numel);
}

static void term_backward(ae_node *n)
{
    ae_node *z = n->in[0], *e = n->in[1];
    const ae_node *q = n->pattr;
    size_t rows = (size_t)z->shape.d[0], d = (size_t)z->shape.d[1];
    const float *idx = q->state;
    const float c = 2.0f * n->grad[0] / (float)z->numel;
    int commit = n->iattr[VQ_TERM_KIND] == VQ_COMMIT;
    ae_node *to = commit ? z : e, *none = commit ? e : z; /* stop-gradient side: nothing flows */
    int slot = commit ? 0 : 1;
    if (none->needs_grad && !n->accum[1 - slot]) memset(none->grad, 0, none->numel * sizeof(float));
    if (!to->needs_grad) return;
    if (!n->accum[slot]) memset(to->grad, 0, to->numel * sizeof(float));
    for (size_t i = 0; i < rows; i++) {
        size_t k = (size_t)idx[i];
        for (size_t j = 0; j < d; j++) {
            float diff = z->val[i * d + j] - e->val[k * d + j];
            if (commit) to->grad[i * d + j] += c * diff;
            else to->grad[k * d + j] -= c * diff;
        }
    }
}

static const ae_op vq_op_term = {.name = "vq_term", .infer = term_infer, .forward = term_forward,
                                 .backward = term_backward};

/* --- the unit ------------------------------------------------------------------------------- */
static void vq_destroy(void *state)
{
    vq_state *s = state;
    if (s) free(s->count);
    free(s);
}

static int vq_configure(ae_cfg *lat, void **state, ae_err *err)
{
    vq_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    if (ae_schema_read(&vq_schema, lat, s, 0, err)) return err->code;
    s->w_codebook = 1.0f;
    s->w_commit = (float)s->beta;
    s->count = calloc((size_t)s->codes, sizeof *s->count);
    return s->count ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory");
}

static ae_node *vq_build(void *state, ae_build *b, const ae_latent_io *io, ae_node *h)
{
    vq_state *s = state;
    char w[64];
    if (h->shape.nd != 2)
        return ae_errf(b->err, AE_EINPUT, "model.latent (vq): the encoder's output is %s (batch first); the vq "
                       "latent quantises flat codes: end the encoder with a dense layer (a code per conv "
                       "position is not supported)", ae_shape_str(h->shape, w, sizeof w)), NULL;
    s->dim = (long)h->shape.d[1];
    s->ps = b->ps;
    /* a small init (fan-in K·D: auto U(±sqrt(6/(K·D+1)))): the codes start near the origin, inside
     * the encoder outputs' spread, so more than the one nearest code get assigned (a Glorot-size
     * codebook collapsed to one or two codes on MNIST) */
    s->cb = ae_params_declare(b->ps, "latent.codebook", ae_shape2(s->codes, s->dim), (int)(s->codes * s->dim), 1, AE_PARAM_WEIGHT,
                              0, b->err);
    if (s->cb < 0) return NULL;
    ae_node *e = ae_graph_param(b->g, s->cb, b->err), *in[2] = {h, e};
    char name[96];
    snprintf(name, sizeof name, io->tag ? "latent.vq.%.80s" : "latent (vq)", io->tag);
    ae_node *q = ae_graph_add(b->g, &vq_op_quantise, name, in, 2, NULL, 0, NULL, 0, b->err);
    if (!q || io->tag) return q;
    ae_node *t[2];
    for (int k = 0; k < 2; k++) {
        int kind = k ? VQ_COMMIT : VQ_CODEBOOK;
        t[k] = ae_graph_add(b->g, &vq_op_term, k ? "vq_commitment" : "vq_codebook", in, 2, &kind,
                            VQ_TERM_NATTR, NULL, 0, b->err);
        if (!t[k]) return NULL;
        t[k]->pattr = q;
    }
    io->add_term(io->ctx, t[0], "vq_codebook", &s->w_codebook);
    io->add_term(io->ctx, t[1], "vq_commitment", &s->w_commit);
    return q;
}

/* The prior: a code drawn uniformly for each sample (VQ-VAE fits a PixelCNN prior afterwards). */
static int vq_sample(void *state, ae_rng *rng, size_t n, size_t code_size, float *z, ae_err *err)
{
    vq_state *s = state;
    if ((long)code_size != s->dim || !s->ps->val)
        return ae_errf(err, AE_EINTERNAL, "vq: the codebook is not built");
    const float *e = s->ps->val + s->ps->p[s->cb].off;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(ae_rng_uniform(rng) * (double)s->codes);
        if (k >= (size_t)s->codes) k = (size_t)s->codes - 1;
        memcpy(z + i * code_size, e + k * code_size, code_size * sizeof(float));
    }
    return AE_OK;
}

static void vq_observe(void *state, const ae_taps *t, size_t n)
{
    vq_state *s = state;
    const float *idx = t->code->state;
    for (size_t i = 0; i < n; i++) s->count[(size_t)idx[i]] += 1;
}

/* Perplexity exp(-sum_k p_k log p_k) of the observed assignments and the number of codes used. */
static int vq_metrics(void *state, const char **names, double *values, int max)
{
    vq_state *s = state;
    double total = 0, h = 0;
    long used = 0;
    for (long k = 0; k < s->codes; k++) total += s->count[k];
    for (long k = 0; k < s->codes; k++) {
        if (s->count[k] <= 0) continue;
        double p = s->count[k] / total;
        h -= p * log(p);
        used++;
    }
    memset(s->count, 0, (size_t)s->codes * sizeof *s->count);
    if (max < 2 || total <= 0) return 0;
    names[0] = "vq_perplexity";
    values[0] = exp(h);
    names[1] = "vq_codes_used";
    values[1] = (double)used;
    return 2;
}

const ae_latent_ops ae_latent_vq = {
    .name = "vq",
    .help = "VQ-VAE: nearest of `codes` codebook vectors (straight-through gradient), terms vq_codebook "
            "and beta*vq_commitment; uniform prior; dense encoders",
    .configure = vq_configure,
    .build = vq_build,
    .sample = vq_sample,
    .observe = vq_observe,
    .metrics = vq_metrics,
    .destroy = vq_destroy,
    .schema = &vq_schema,
};
