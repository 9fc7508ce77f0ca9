/* Builds and caches the model's graphs: input → corruption (its unit) → encoder → latent → decoder
 * → loss terms (the objective unit's, the latent's, regularizers) joined by one weighted sum whose weights are
 * read through pointers to their owners; plus a decoder-only graph. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_ops.h"
#include "model_internal.h"

static ae_shape input_shape(const ae_model *m, int64_t batch)
{
    return m->h == 1 && m->c == 1 ? ae_shape2(batch, (int64_t)m->d) : ae_shape4(batch, m->c, m->h, m->w);
}

/* ae_objective_io.add_term: a term of the loss in mg (the objective's come first). */
static void add_term(void *ctx, ae_node *t, const char *name, const float *w)
{
    ae_mgraph *mg = ctx;
    if (mg->nterms >= AE_MAX_TERMS) return;
    mg->term[mg->nterms] = t;
    snprintf(mg->term_name[mg->nterms], sizeof mg->term_name[0], "%s", name);
    mg->term_weight[mg->nterms++] = w;
}

/* The objective's context: the graph and whether it omits the latent's terms. */
typedef struct obj_ctx {
    ae_mgraph *mg;
    int omit_latent;
} obj_ctx;

static void obj_add_term(void *ctx, ae_node *t, const char *name, const float *w)
{
    add_term(((obj_ctx *)ctx)->mg, t, name, w);
}

static void omit_latent_terms(void *ctx) { ((obj_ctx *)ctx)->omit_latent = 1; }

/* The latent's terms, held until the reconstruction term is in (the loss sums recon first). */
typedef struct pending_terms {
    int n;
    ae_node *t[AE_MAX_TERMS];
    const char *name[AE_MAX_TERMS];
    const float *w[AE_MAX_TERMS];
} pending_terms;

static void hold_term(void *ctx, ae_node *t, const char *name, const float *w)
{
    pending_terms *p = ctx;
    if (p->n >= AE_MAX_TERMS) return;
    p->t[p->n] = t;
    p->name[p->n] = name;
    p->w[p->n++] = w;
}

/* Decoder layers from `z`; the last sigmoid becomes logits when the objective trains on them. A
 * non-NULL tag builds another copy (same parameters, node names tagged, taps left alone). */
static ae_node *build_decoder(const ae_model *m, ae_build *b, ae_node *z, const char *tag, ae_node **logits)
{
    const ae_layer *last = &m->dec[m->ndec - 1];
    int last_act = last->ops->activation ? last->ops->activation(last->state) : -1;
    int use_logits = m->obj->logits && last_act == AE_ACT_SIGMOID;
    ae_taps scratch;
    memset(&scratch, 0, sizeof scratch);
    ae_build b2 = *b;
    if (tag) b2.taps = &scratch;
    ae_node *y = z;
    for (int i = 0; i < m->ndec && y; i++) {
        const ae_layer *L = &m->dec[i];
        if (i == m->ndec - 1 && use_logits) L->ops->set_activation(L->state, AE_ACT_IDENTITY);
        y = L->ops->build(L->state, &b2, L->name, y); /* parameter names come from the layer name */
        if (i == m->ndec - 1 && use_logits) L->ops->set_activation(L->state, AE_ACT_SIGMOID);
        if (y && tag) snprintf(y->name, sizeof y->name, "%s.%s", L->name, tag);
    }
    *logits = NULL;
    if (y && use_logits) {
        char name[96] = "output (sigmoid)";
        if (tag) snprintf(name, sizeof name, "output (sigmoid).%s", tag);
        *logits = y;
        y = ae_activation(b->g, name, y, AE_ACT_SIGMOID, b->err);
    }
    return y;
}

/* ae_objective_io.decode: the decoder again on another code. */
static ae_node *decode_again(ae_build *b, ae_node *z, const char *tag, ae_node **logits)
{
    return build_decoder(b->model, b, z, tag ? tag : "copy", logits);
}

/* ae_build.encode: the encoder again on another input (shared parameters). */
static ae_node *encode_again(const void *model, ae_build *b, ae_node *x, const char *tag)
{
    const ae_model *m = model;
    ae_taps scratch;
    memset(&scratch, 0, sizeof scratch);
    ae_build b2 = *b;
    b2.taps = &scratch;
    ae_node *h = x;
    for (int i = 0; i < m->nenc && h; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s.%s", m->enc[i].name, tag);
        /* parameter names come from the layer name: build under the original name, then rename */
        h = m->enc[i].ops->build(m->enc[i].state, &b2, m->enc[i].name, h);
        if (h) snprintf(h->name, sizeof h->name, "%s", name);
    }
    ae_latent_io io = {0, tag, NULL, NULL, 1};
    return h ? m->lat->build(m->lat_state, &b2, &io, h) : NULL;
}

/* The encoder layers from the input, each output recorded in the taps (a penalty reads them). */
static ae_node *build_encoder(const ae_model *m, ae_build *b, ae_node *h)
{
    ae_taps *t = b->taps;
    for (int i = 0; i < m->nenc && h; i++) {
        const ae_layer *L = &m->enc[i];
        h = L->ops->build(L->state, b, L->name, h);
        if (!h || t->nhidden >= AE_MAX_HIDDEN) continue;
        int k = t->nhidden++;
        t->hidden[k] = h;
        snprintf(t->hidden_name[k], sizeof t->hidden_name[0], "%s", L->name);
        t->act[k] = L->ops->activation ? L->ops->activation(L->state) : -1;
        if (h->op == &ae_op_dense) {
            t->weight[k] = h->in[1];
            t->bias[k] = h->nin > 2 ? h->in[2] : NULL;
        }
    }
    return h;
}

/* The loss: the objective's terms, the latent's (unless the objective omits them), the
 * regularizers'; 1 when it is built. */
static int build_loss(ae_model *m, ae_mgraph *mg, ae_build *b, int sample, const pending_terms *lt)
{
    obj_ctx oc = {mg, 0};
    ae_objective_io oio = {sample, obj_add_term, &oc, decode_again, omit_latent_terms};
    int rec = m->obj->build(m->obj_state, b, &oio) == AE_OK && mg->nterms > 0; /* its terms first */
    for (int i = 0; i < lt->n && rec && !oc.omit_latent; i++) add_term(mg, lt->t[i], lt->name[i], lt->w[i]);
    for (int i = 0; i < m->nregs && rec; i++) {
        const ae_reg *R = &m->regs[i];
        char nn[96];
        snprintf(nn, sizeof nn, "regularizers[%d] (%s)", i, R->name);
        add_term(mg, R->ops->penalty(R->state, b, nn), R->name, &R->weight);
    }
    if (rec) mg->loss = ae_weighted_sum_ref(b->g, "loss", mg->term, mg->term_weight, mg->nterms, b->err);
    return mg->loss != NULL;
}

/* The decoder's output must match the input (samples copies of it in an importance-sampling graph). */
static int check_output(const ae_model *m, const ae_mgraph *mg, ae_err *err)
{
    const ae_taps *t = &mg->taps;
    char a[64];
    if (t->code->shape.d[0] != (int64_t)mg->samples * mg->batch)
        return ae_errf(err, AE_EINPUT, "the %s latent draws one code per input: no %d-sample importance "
                       "sampling", m->lat->name, mg->samples);
    if (t->recon->numel == (size_t)mg->samples * t->x->numel) return AE_OK;
    return ae_errf(err, AE_EINPUT, "model.decoder[%d] (%s): output %s per sample, expected %zu values (the "
                   "input is %dx%dx%d)", m->ndec - 1, m->dec[m->ndec - 1].ops->name,
                   ae_shape_str(ae_shape_make(t->recon->shape.nd - 1, t->recon->shape.d + 1), a, sizeof a),
                   m->d, m->c, m->h, m->w);
}

int ae_model_build_n(ae_model *m, ae_mgraph *mg, int64_t batch, ae_mode mode, int samples, int compile,
                     ae_err *err)
{
    memset(mg, 0, sizeof *mg);
    mg->batch = batch;
    mg->mode = mode;
    mg->samples = mode == AE_MODE_EVAL_IW ? samples : 1;
    int training = mode == AE_MODE_TRAIN;
    ae_graph *g = mg->g = ae_graph_new(m->ps, batch, training);
    if (!g) return ae_errf(err, AE_EINTERNAL, "out of memory");
    ae_taps *t = &mg->taps;
    ae_build b = {g, m->ps, m->rng, t, err, encode_again, m};
    t->x = ae_graph_input(g, "x", input_shape(m, batch), err);
    t->x_in = t->x;
    if (t->x && m->cor->build && (mode == AE_MODE_TRAIN || mode == AE_MODE_EVAL_NOISY))
        t->x_in = m->cor->build(m->cor_state, &b, t->x);
    ae_node *h = build_encoder(m, &b, t->x_in);
    pending_terms lt = {0};
    ae_latent_io io = {mode == AE_MODE_TRAIN || mode == AE_MODE_EVAL_SAMPLE || mode == AE_MODE_EVAL_IW, NULL,
                       hold_term, &lt, mg->samples};
    if (h) h = m->lat->build(m->lat_state, &b, &io, h);
    m->lat_terms = lt.n;
    t->code = h;
    if (h) m->code_size = h->numel / ((size_t)batch * (size_t)mg->samples);
    ae_node *y = h ? build_decoder(m, &b, h, NULL, &t->logits) : NULL;
    t->recon = y;
    int ok = y && check_output(m, mg, err) == AE_OK;
    if (ok && mode != AE_MODE_EVAL_IW) ok = build_loss(m, mg, &b, io.sample, &lt);
    ae_node *read[] = {t->x, t->x_in, t->code, t->mu, t->logvar, t->recon, t->logits}; /* by the caller */
    for (size_t i = 0; i < sizeof read / sizeof read[0]; i++)
        if (read[i]) read[i]->pinned = 1;
    if (!ok || (compile && ae_graph_compile(g, training ? mg->loss : NULL, err))) {
        ae_graph_free(g);
        mg->g = NULL;
        return err->code ? err->code : ae_errf(err, AE_EINTERNAL, "graph build failed");
    }
    return AE_OK;
}

int ae_model_build(ae_model *m, ae_mgraph *mg, int64_t batch, ae_mode mode, int compile, ae_err *err)
{
    return ae_model_build_n(m, mg, batch, mode, 1, compile, err);
}

/* The cached graph for (batch, mode, samples), built and compiled on first use. */
static ae_mgraph *cached_graph(ae_model *m, int64_t batch, ae_mode mode, int samples, ae_err *err)
{
    for (int i = 0; i < m->ngraphs; i++)
        if (m->graphs[i]->batch == batch && m->graphs[i]->mode == mode && m->graphs[i]->samples == samples)
            return m->graphs[i];
    if (m->ngraphs == AE_MAX_GRAPHS) { /* evict the oldest */
        ae_graph_free(m->graphs[0]->g);
        free(m->graphs[0]);
        memmove(m->graphs, m->graphs + 1, (AE_MAX_GRAPHS - 1) * sizeof m->graphs[0]);
        m->ngraphs--;
    }
    ae_mgraph *mg = malloc(sizeof *mg);
    if (!mg) { ae_errf(err, AE_EINTERNAL, "out of memory"); return NULL; }
    if (ae_model_build_n(m, mg, batch, mode, samples, 1, err)) { free(mg); return NULL; }
    m->graphs[m->ngraphs++] = mg; /* its loss reads the current weights through pointers */
    return mg;
}

ae_mgraph *ae_model_iw_graph(ae_model *m, int64_t batch, int samples, ae_err *err)
{
    return cached_graph(m, batch, AE_MODE_EVAL_IW, samples < 1 ? 1 : samples, err);
}

ae_mgraph *ae_model_graph(ae_model *m, int64_t batch, ae_mode mode, ae_err *err)
{
    return cached_graph(m, batch, mode, 1, err);
}

int ae_model_graph_floats(ae_model *m, int64_t batch, ae_mode mode, double *floats, ae_err *err)
{
    ae_mgraph mg;
    if (ae_model_build(m, &mg, batch, mode, 0, err)) return err->code;
    double k = 0;
    for (size_t i = 0; i < ae_graph_size(mg.g); i++) {
        const ae_node *n = ae_graph_node(mg.g, i);
        if (n->param < 0 && !n->op->view) k += (double)n->numel * (n->needs_grad ? 2 : 1);
    }
    ae_graph_free(mg.g);
    *floats = k;
    return AE_OK;
}

void ae_model_set_epoch(ae_model *m, long epoch)
{
    if (epoch > 0 && m->lat->set_epoch) m->lat->set_epoch(m->lat_state, epoch);
}

double ae_model_term_weight(const ae_mgraph *mg, const char *name)
{
    for (int j = 0; mg && mg->loss && j < mg->nterms; j++)
        if (!strcmp(mg->term_name[j], name))
            for (int k = 0; k < mg->loss->nin; k++)
                if (mg->loss->in[k] == mg->term[j]) return ae_weighted_sum_weight(mg->loss, k);
    return NAN;
}

int ae_model_decode(ae_model *m, const float *codes, size_t n, float *out, ae_err *err)
{
    if (!m->decode_g || m->decode_batch != (int64_t)n) {
        ae_graph_free(m->decode_g);
        ae_taps t;
        memset(&t, 0, sizeof t);
        ae_graph *g = m->decode_g = ae_graph_new(m->ps, (int64_t)n, 0);
        if (!g) return ae_errf(err, AE_EINTERNAL, "out of memory");
        ae_build b = {g, m->ps, m->rng, &t, err, encode_again, m};
        m->decode_in = ae_graph_input(g, "code", ae_shape2((int64_t)n, (int64_t)m->code_size), err);
        ae_node *logits;
        m->decode_out = build_decoder(m, &b, m->decode_in, NULL, &logits);
        m->decode_batch = (int64_t)n;
        if (!m->decode_out || ae_graph_compile(g, NULL, err)) {
            ae_graph_free(g);
            m->decode_g = NULL;
            return err->code ? err->code : ae_errf(err, AE_EINTERNAL, "decoder build failed");
        }
    }
    memcpy(m->decode_in->val, codes, n * m->code_size * sizeof(float));
    ae_graph_forward(m->decode_g);
    memcpy(out, m->decode_out->val, n * m->d * sizeof(float));
    return AE_OK;
}

void ae_model_free(ae_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->ngraphs; i++) {
        ae_graph_free(m->graphs[i]->g);
        free(m->graphs[i]);
    }
    ae_graph_free(m->decode_g);
    for (int i = 0; i < m->nenc; i++) if (m->enc[i].ops && m->enc[i].ops->destroy) m->enc[i].ops->destroy(m->enc[i].state);
    for (int i = 0; i < m->ndec; i++) if (m->dec[i].ops && m->dec[i].ops->destroy) m->dec[i].ops->destroy(m->dec[i].state);
    for (int i = 0; i < m->nregs; i++) if (m->regs[i].ops && m->regs[i].ops->destroy) m->regs[i].ops->destroy(m->regs[i].state);
    if (m->lat && m->lat->destroy) m->lat->destroy(m->lat_state);
    if (m->obj && m->obj->destroy) m->obj->destroy(m->obj_state);
    if (m->cor && m->cor->destroy) m->cor->destroy(m->cor_state);
    ae_params_free(m->ps);
    free(m);
}

ae_params *ae_model_params(ae_model *m) { return m->ps; }
size_t ae_model_input_size(const ae_model *m) { return m->d; }
size_t ae_model_code_size(const ae_model *m) { return m->code_size; }
int ae_model_has_corruption(const ae_model *m) { return m->cor->build != NULL; }
const char *ae_model_loss_kind(const ae_model *m) { return m->obj->name; }
int ae_model_loss_bernoulli(const ae_model *m) { return m->obj->logits; }
int ae_model_loss_sum(const ae_model *m)
{
    return m->obj->sum_per_sample ? m->obj->sum_per_sample(m->obj_state) : 0;
}

int ae_model_has_objective_prepare(const ae_model *m) { return m->obj->prepare != NULL; }
int ae_model_has_objective_score(const ae_model *m) { return m->obj->score != NULL; }

int ae_model_objective_prepare(ae_model *m, const float *codes, size_t n, ae_err *err)
{
    if (!m->obj->prepare) return AE_OK;
    return m->obj->prepare(m->obj_state, m->ps, codes, n, m->code_size, err);
}

int ae_model_objective_score(ae_model *m, const ae_mgraph *mg, size_t k, double *out)
{
    return m->obj->score ? m->obj->score(m->obj_state, m->ps, &mg->taps, k, out) : 0;
}
