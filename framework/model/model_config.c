/* Reads an ae_model from the config tree: layers through the registry, `decoder: mirror` resolved
 * into an explicit list (written back into the tree); latent, objective (`loss`) and corruption units;
 * regularizers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "model_internal.h"

/* A unit's configure failed: when the map also has an unknown key (a typo such as `unit:` for
 * `units:` is the usual cause of a missing one), report that key and its suggestion instead. */
static int prefer_unknown_key(ae_cfg *item, const char *sect, ae_err *err)
{
    ae_err e2 = {0};
    if (err->kind == AE_KIND_MISSING_KEY && ae_cfg_finish(item, sect, &e2) != AE_OK) {
        *err = e2;
        return err->code;
    }
    return err->code;
}

static int read_layers(ae_cfg *seq, const char *section, const ae_registry *reg, ae_layer *out,
                       int *n, ae_err *err)
{
    char w[256];
    size_t len = ae_cfg_len(seq);
    if (len == 0) return ae_errf(err, AE_EINPUT, "%s: %s is empty (expected a list of layers)",
                                 ae_cfg_where(seq, w, sizeof w), section);
    if (len > AE_MAX_LAYERS)
        return ae_errf(err, AE_EINPUT, "%s: %s has %zu layers (at most %d)",
                       ae_cfg_where(seq, w, sizeof w), section, len, AE_MAX_LAYERS);
    for (size_t i = 0; i < len; i++) {
        ae_cfg *item = ae_cfg_at(seq, i);
        char sect[64];
        snprintf(sect, sizeof sect, "%s[%zu]", section, i);
        if (ae_cfg_kind_of(item) != AE_CFG_MAP)
            return ae_errf(err, AE_EINPUT, "%s: %s: expected a layer map such as "
                           "{type: dense, units: 16, activation: relu}", ae_cfg_where(item, w, sizeof w), sect);
        const char *type, *name;
        if (ae_cfg_str(item, "type", NULL, ae_layer_names(reg), &type, err)) return err->code;
        ae_layer *L = &out[(*n)++];
        L->ops = ae_find_layer(reg, type);
        ae_cfg *nm = ae_cfg_get(item, "name"); /* optional, no default written */
        name = nm ? ae_cfg_scalar(nm) : NULL;
        if (nm && (!name || !*name))
            return ae_errf(err, AE_EINPUT, "%s: %s.name: expected a layer name", ae_cfg_where(nm, w, sizeof w), sect);
        snprintf(L->name, sizeof L->name, "%s", name ? name : sect + strlen("model."));
        if (L->ops->configure(item, &L->state, err)) return prefer_unknown_key(item, sect, err);
        if (ae_cfg_finish(item, sect, err)) return err->code;
    }
    return AE_OK;
}

/* One layer map in flow style: {type: dense, units: 16, ...}. */
static void emit_map(FILE *f, ae_cfg *spec, int first)
{
    fprintf(f, "%s{", first ? "" : ", ");
    for (size_t k = 0; k < ae_cfg_len(spec); k++) {
        ae_cfg *v = ae_cfg_value_at(spec, k);
        if (ae_cfg_kind_of(v) == AE_CFG_SEQ) {
            fprintf(f, "%s%s: [", k ? ", " : "", ae_cfg_key_at(spec, k));
            for (size_t q = 0; q < ae_cfg_len(v); q++)
                fprintf(f, "%s%s", q ? ", " : "", ae_cfg_scalar(ae_cfg_at(v, q)));
            fputc(']', f);
        } else {
            fprintf(f, "%s%s: %s", k ? ", " : "", ae_cfg_key_at(spec, k), ae_cfg_scalar(v));
        }
    }
    fputc('}', f);
}

/* Encoder layer j's activation (identity when j < 0 or it has none) into spec, with its
 * negative_slope for leaky_relu. */
static void act_of(const ae_model *m, ae_cfg *enc, int j, ae_cfg *spec)
{
    const ae_layer *L = j >= 0 ? &m->enc[j] : NULL;
    int act = L && L->ops->activation ? L->ops->activation(L->state) : -1;
    ae_cfg_set_scalar(spec, "activation", ae_act_name(act < 0 ? AE_ACT_IDENTITY : (ae_act)act));
    ae_cfg *slope = act == AE_ACT_LEAKY_RELU ? ae_cfg_get(ae_cfg_at(enc, (size_t)j), "negative_slope") : NULL;
    if (slope && ae_cfg_scalar(slope)) ae_cfg_set_scalar(spec, "negative_slope", ae_cfg_scalar(slope));
}

/* The activation of the nearest encoder layer before `i` that has one into spec. */
static void shifted_act(const ae_model *m, ae_cfg *enc, int i, ae_cfg *spec)
{
    int j = i - 1;
    while (j >= 0 && !(m->enc[j].ops->activation && m->enc[j].ops->activation(m->enc[j].state) >= 0)) j--;
    act_of(m, enc, j, spec);
}

/* Encoder layer i's mirror into f: its spec with the shifted activation (the output's for i = 0)
 * when the mirrored type takes one; a layer without activations (batch_norm, upsample) passes
 * none on, except that an output activation then follows as an activation layer. */
static int emit_mirror(const ae_model *m, const ae_registry *reg, ae_cfg *enc, int i, ae_shape in,
                       const char *output_act, FILE *f, int first, ae_err *err)
{
    const ae_layer *L = &m->enc[i];
    ae_cfg *spec = ae_cfg_new_map();
    if (!spec) return ae_errf(err, AE_EINTERNAL, "out of memory");
    if (L->ops->mirror(L->state, in, spec, err)) { ae_cfg_free(spec); return err->code; }
    const ae_layer_ops *mo = ae_find_layer(reg, ae_cfg_scalar(ae_cfg_get(spec, "type")));
    int takes_act = mo && mo->activation;
    if (takes_act && i == 0) ae_cfg_set_scalar(spec, "activation", output_act);
    else if (takes_act) shifted_act(m, enc, i, spec);
    emit_map(f, spec, first);
    ae_cfg_free(spec);
    if (!takes_act && i == 0 && strcmp(output_act, "identity"))
        fprintf(f, ", {type: activation, activation: %s}", output_act);
    return AE_OK;
}

/* Builds the encoder once (batch 1) to learn each layer's input shape, then asks each layer for its
 * mirror, in reverse order (max_pool2d <-> upsample, batch_norm <-> batch_norm on the same shape,
 * conv2d <-> conv_transpose2d, dense <-> dense); hidden activations are those of the encoder
 * shifted by one, the last is output_act. */
static int resolve_mirror(ae_model *m, ae_cfg *model, const ae_registry *reg, const char *output_act,
                          ae_err *err)
{
    ae_mgraph mg;
    memset(&mg, 0, sizeof mg);
    ae_graph *g = ae_graph_new(m->ps, 1, 1);
    if (!g) return ae_errf(err, AE_EINTERNAL, "out of memory");
    ae_build b = {g, m->ps, m->rng, &mg.taps, err, NULL, m};
    ae_shape in[AE_MAX_LAYERS];
    ae_node *x = ae_graph_input(g, "x", m->h == 1 && m->c == 1 ? ae_shape2(1, (int64_t)m->d)
                                                                : ae_shape4(1, m->c, m->h, m->w), err);
    for (int i = 0; i < m->nenc && x; i++) {
        in[i] = x->shape;
        x = m->enc[i].ops->build(m->enc[i].state, &b, m->enc[i].name, x);
    }
    ae_cfg *enc = ae_cfg_get(model, "encoder");
    char *text = NULL;
    size_t cap = 0;
    FILE *f = x ? open_memstream(&text, &cap) : NULL;
    int rc = x ? AE_OK : err->code;
    if (f) fputs("model.decoder=[", f);
    int first = 1;
    if (f && m->lat->own_size) { /* the decoder starts from the latent's code: first back to the encoder's output */
        ae_cfg *spec = ae_cfg_new_map();
        char u[32];
        snprintf(u, sizeof u, "%zu", x->numel / (size_t)x->shape.d[0]);
        if (spec) {
            ae_cfg_set_scalar(spec, "type", "dense");
            ae_cfg_set_scalar(spec, "units", u);
            act_of(m, enc, m->nenc - 1, spec);
            emit_map(f, spec, 1);
        }
        ae_cfg_free(spec);
        if (x->shape.nd == 4)
            fprintf(f, ", {type: reshape, shape: [%lld, %lld, %lld]}", (long long)x->shape.d[1],
                    (long long)x->shape.d[2], (long long)x->shape.d[3]);
        first = 0;
    }
    for (int i = m->nenc - 1; i >= 0 && f && rc == AE_OK; i--) {
        const ae_layer *L = &m->enc[i];
        if (!L->ops->mirror) {
            if (L->ops->activation) continue; /* activation layers are folded into neighbours */
            rc = ae_errf(err, AE_EINPUT, "model.encoder[%d] (%s) cannot be mirrored: write the "
                         "decoder out", i, L->ops->name);
            break;
        }
        if ((rc = emit_mirror(m, reg, enc, i, in[i], output_act, f, first, err))) break;
        first = 0;
        /* a dense layer that flattened an image is followed by a reshape back to it */
        if (in[i].nd == 4 && i > 0 && !strcmp(L->ops->name, "dense")) /* the output needs no shape */
            fprintf(f, ", {type: reshape, shape: [%lld, %lld, %lld]}", (long long)in[i].d[1],
                    (long long)in[i].d[2], (long long)in[i].d[3]);
    }
    if (f) fputs("]", f);
    if (f) fclose(f);
    ae_graph_free(g);
    if (rc == AE_OK && first)
        rc = ae_errf(err, AE_EINPUT, "model.decoder: mirror found no layer to mirror in the encoder");
    if (rc == AE_OK) rc = ae_cfg_apply_set(model, text + strlen("model."), err);
    free(text);
    return rc;
}

/* model.latent: its kind names a latent unit, which reads the other keys. */
static int read_latent(ae_model *m, ae_cfg *model, const ae_registry *reg, ae_err *err)
{
    ae_cfg *lat;
    const char *kind;
    if (ae_cfg_map(model, "latent", 1, &lat, err) ||
        ae_cfg_str(lat, "kind", "deterministic", ae_latent_names(reg), &kind, err))
        return err->code;
    m->lat = ae_find_latent(reg, kind);
    if (m->lat->configure(lat, &m->lat_state, err)) return prefer_unknown_key(lat, "model.latent", err);
    return ae_cfg_finish(lat, "model.latent", err);
}

/* `loss`: its type names an objective unit, which reads the other keys; `loss: NAME` is short for
 * `loss: {type: NAME}`. */
static int read_objective(ae_model *m, ae_cfg *root, const ae_registry *reg, const ae_dataset *data,
                          ae_err *err)
{
    const char *const *names = ae_objective_names(reg);
    ae_cfg *node = ae_cfg_get(root, "loss");
    const char *type;
    if (node && ae_cfg_kind_of(node) == AE_CFG_SCALAR) { /* `loss: bce` shorthand */
        ae_cfg *map = ae_cfg_new_map();
        if (!map) return ae_errf(err, AE_EINTERNAL, "out of memory");
        ae_cfg_set_node(map, "type", ae_cfg_clone(node)); /* keeps the position for messages */
        if (ae_cfg_str(map, "type", NULL, names, &type, err)) {
            char w[256], list[400] = "";
            ae_cfg_where(node, w, sizeof w);
            for (size_t i = 0; names[i]; i++) {
                size_t n = strlen(list);
                snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", names[i]);
            }
            ae_cfg_free(map);
            err->code = AE_OK;
            return ae_errf(err, AE_EINPUT, "%s: loss: unknown value '%s' (expected one of: %s)", w,
                           ae_cfg_scalar(node), list);
        }
        ae_cfg_set_node(root, "loss", map);
    }
    if (ae_cfg_map(root, "loss", 1, &node, err) || ae_cfg_str(node, "type", "mse", names, &type, err))
        return err->code;
    m->obj = ae_find_objective(reg, type);
    if (m->obj->configure(node, root, data, &m->obj_state, err)) return prefer_unknown_key(node, "loss", err);
    return ae_cfg_finish(node, "loss", err);
}

/* `corruption`: its type names a corruption unit, which reads the other keys. */
static int read_corruption(ae_model *m, ae_cfg *root, const ae_registry *reg, const ae_dataset *data,
                           ae_err *err)
{
    ae_cfg *c;
    const char *type;
    if (ae_cfg_map(root, "corruption", 1, &c, err) ||
        ae_cfg_str(c, "type", "none", ae_corruption_names(reg), &type, err))
        return err->code;
    m->cor = ae_find_corruption(reg, type);
    if (m->cor->configure(c, data, &m->cor_state, err)) return prefer_unknown_key(c, "corruption", err);
    return ae_cfg_finish(c, "corruption", err);
}

static int read_regularizers(ae_model *m, ae_cfg *root, const ae_registry *reg, ae_err *err)
{
    ae_cfg *seq;
    char w[256];
    if (ae_cfg_seq(root, "regularizers", 1, &seq, err)) return err->code;
    if (ae_cfg_len(seq) > AE_MAX_REGS)
        return ae_errf(err, AE_EINPUT, "%s: at most %d regularizers", ae_cfg_where(seq, w, sizeof w), AE_MAX_REGS);
    for (size_t i = 0; i < ae_cfg_len(seq); i++) {
        ae_cfg *item = ae_cfg_at(seq, i);
        char sect[48];
        snprintf(sect, sizeof sect, "regularizers[%zu]", i);
        if (ae_cfg_kind_of(item) != AE_CFG_MAP)
            return ae_errf(err, AE_EINPUT, "%s: %s: expected a map such as {type: l1, weight: 1e-4}",
                           ae_cfg_where(item, w, sizeof w), sect);
        const char *type, *name;
        if (ae_cfg_str(item, "type", NULL, ae_regularizer_names(reg), &type, err)) return err->code;
        ae_reg *R = &m->regs[m->nregs++];
        R->ops = ae_find_regularizer(reg, type);
        if (ae_cfg_str(item, "name", type, NULL, &name, err)) return err->code;
        snprintf(R->name, sizeof R->name, "%s", name);
        R->weight = 1.0f;
        if (R->ops->configure(item, &R->state, err)) return prefer_unknown_key(item, sect, err);
        if (ae_cfg_finish(item, sect, err)) return err->code;
    }
    return AE_OK;
}

static int read_model(ae_model *m, ae_cfg *root, const ae_registry *reg, const ae_dataset *data,
                      unsigned long seed, ae_err *err)
{
    ae_cfg *model, *enc;
    char w[256];
    if (ae_cfg_map(root, "model", 0, &model, err)) return err->code;
    if (!model) return ae_errf(err, AE_EINPUT, "%s: missing required section 'model' (with at least "
                               "'encoder: [...]')", ae_cfg_where(root, w, sizeof w));
    if (ae_cfg_seq(model, "encoder", 0, &enc, err)) return err->code;
    if (!enc) return ae_errf(err, AE_EINPUT, "%s: missing required key 'encoder' in model",
                             ae_cfg_where(model, w, sizeof w));
    if (read_layers(enc, "model.encoder", reg, m->enc, &m->nenc, err) || read_latent(m, model, reg, err))
        return err->code;
    ae_cfg *dec = ae_cfg_get(model, "decoder");
    if (!dec || (ae_cfg_kind_of(dec) == AE_CFG_SCALAR && !strcmp(ae_cfg_scalar(dec), "mirror"))) {
        const char *oact, *def = m->obj->output_activation ? m->obj->output_activation : "identity";
        if (ae_cfg_str(model, "output_activation", def, ae_act_names, &oact, err)) return err->code;
        if (resolve_mirror(m, model, reg, oact, err)) return err->code;
        /* the explicit decoder now carries the output activation: drop the key so the saved
         * config runs again as it is */
        ae_cfg_free(ae_cfg_get(model, "output_activation"));
        dec = ae_cfg_get(model, "decoder");
    }
    if (ae_cfg_kind_of(dec) != AE_CFG_SEQ)
        return ae_errf(err, AE_EINPUT, "%s: model.decoder: expected 'mirror' or a list of layers",
                       ae_cfg_where(dec, w, sizeof w));
    if (read_layers(dec, "model.decoder", reg, m->dec, &m->ndec, err)) return err->code;
    ae_init_cfg ic;
    if (ae_model_read_init(model, &ic, err) || ae_cfg_finish(model, "model", err)) return err->code;
    /* Build once with batch 1: declares every parameter and checks every shape now. */
    ae_mgraph mg;
    if (ae_model_build(m, &mg, 1, AE_MODE_TRAIN, 0, err)) return err->code;
    ae_graph_free(mg.g);
    return ae_model_init_params(m, &ic, data, seed, err);
}

int ae_model_configure(ae_cfg *root, const ae_registry *reg, const ae_dataset *data, unsigned long seed,
                       ae_rng *rng, ae_model **out, ae_err *err)
{
    *out = NULL;
    ae_model *m = calloc(1, sizeof *m);
    if (!m || !(m->ps = ae_params_new())) {
        free(m);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    m->c = data->c;
    m->h = data->h;
    m->w = data->w;
    m->d = data->d;
    m->rng = rng;
    if (read_objective(m, root, reg, data, err) || read_corruption(m, root, reg, data, err) ||
        read_regularizers(m, root, reg, err) ||
        read_model(m, root, reg, data, seed, err)) {
        ae_model_free(m);
        return err->code;
    }
    if (m->code_size >= m->d && m->lat_terms == 0 && !m->cor->build && m->nregs == 0)
        fprintf(stderr, "aelab: warning: the code (%zu values) is not smaller than the input (%zu) and "
                "nothing regularises it: the autoencoder can learn the identity (no PCA baseline either)\n",
                m->code_size, m->d);
    *out = m;
    return AE_OK;
}
