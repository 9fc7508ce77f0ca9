/* Reads `pretrain:` (the stage's keys, then the method unit's) and checks the model it pretrains:
 * dense encoder layers with biases, a deterministic latent, and with `unroll` a mirrored decoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pretrain_internal.h"

static const ae_key pretrain_keys[] = {
    AE_KEY_STR_(ae_pretrain_cfg, method, "method", "rbm", NULL,
                "how each layer is trained: a pretrainer (rbm, autoencoder, denoising; `aelab list`), whose "
                "keys follow"),
    AE_KEY_INT_(ae_pretrain_cfg, epochs, "epochs", "50", 1, 100000000, "epochs per layer"),
    AE_KEY_INT_(ae_pretrain_cfg, batch_size, "batch_size", "100", 1, 1L << 30, "samples per update"),
    AE_KEY_NUM_(ae_pretrain_cfg, lr, "lr", "0.1", 0.0, 1e3, "learning rate (weights and biases)"),
    AE_KEY_NUM_(ae_pretrain_cfg, lr_linear, "lr_linear", "0.001", 0.0, 1e3,
                "learning rate of a layer with identity activation (Gaussian hidden units of an RBM)"),
    AE_KEY_NUM_(ae_pretrain_cfg, momentum, "momentum", "0.5", 0.0, 1.0, "momentum of the first epochs"),
    AE_KEY_NUM_(ae_pretrain_cfg, final_momentum, "final_momentum", "0.9", 0.0, 1.0,
                "momentum after momentum_switch epochs"),
    AE_KEY_INT_(ae_pretrain_cfg, momentum_switch, "momentum_switch", "5", 0, 100000000,
                "epochs (of each layer) at `momentum` before `final_momentum`"),
    AE_KEY_NUM_(ae_pretrain_cfg, weight_decay, "weight_decay", "0.0002", 0.0, 1e3,
                "L2 weight cost added to the weights' gradient (not the biases')"),
    AE_KEY_NUM_(ae_pretrain_cfg, init_std, "init_std", "0.1", 0.0, 1e3,
                "initial weights ~ N(0, init_std²) from the run's stream; biases 0"),
    AE_KEY_BOOL_(ae_pretrain_cfg, unroll, "unroll", "true",
                 "also initialise the decoder: the transposed weights and the visible biases (needs a decoder "
                 "that mirrors the encoder, as `decoder: mirror` makes)"),
};
const ae_schema ae_pretrain_schema = AE_SCHEMA("pretrain", pretrain_keys);

static int param_index(const ae_params *ps, const char *layer, const char *what)
{
    char name[160];
    snprintf(name, sizeof name, "%s.%s", layer, what);
    for (size_t k = 0; k < ps->n; k++)
        if (!strcmp(ps->p[k].name, name)) return (int)k;
    return -1;
}

/* The layer's parameter name prefix: its `name:` or "encoder[i]". */
static const char *layer_name(ae_cfg *item, const char *sect, char *buf, size_t len)
{
    ae_cfg *nm = ae_cfg_get(item, "name");
    snprintf(buf, len, "%s", nm && ae_cfg_scalar(nm) ? ae_cfg_scalar(nm) : sect + strlen("model."));
    return buf;
}

static int data_in_unit_range(const ae_dataset *d)
{
    for (size_t i = 0; i < d->n * d->d; i++)
        if (!(d->x[i] >= 0.0f && d->x[i] <= 1.0f)) return 0;
    return 1;
}

static int read_encoder(ae_pretrain *p, ae_cfg *root, const ae_params *ps, const ae_dataset *train, ae_err *err)
{
    ae_cfg *enc = ae_cfg_lookup(root, "model.encoder");
    char w[256], nm[96];
    int64_t nvis = (int64_t)train->d;
    int binary = data_in_unit_range(train);
    for (size_t i = 0; i < ae_cfg_len(enc); i++) {
        ae_cfg *item = ae_cfg_at(enc, i);
        pt_info *L = &p->L[p->n++];
        snprintf(L->who, sizeof L->who, "model.encoder[%zu]", i);
        const char *type = ae_cfg_scalar(ae_cfg_get(item, "type"));
        if (!type || strcmp(type, "dense"))
            return ae_errf(err, AE_EINPUT, "%s: pretrain: %s is a %s layer; pretraining takes dense layers only",
                           ae_cfg_where(item, w, sizeof w), L->who, type ? type : "?");
        const char *bias = ae_cfg_scalar(ae_cfg_get(item, "bias")), *act = ae_cfg_scalar(ae_cfg_get(item, "activation"));
        if (bias && strcmp(bias, "true"))
            return ae_errf(err, AE_EINPUT, "%s: pretrain: %s has no bias; pretraining trains one (bias: true)",
                           ae_cfg_where(item, w, sizeof w), L->who);
        ae_act a = AE_ACT_IDENTITY;
        if (act) ae_act_parse(act, &a);
        layer_name(item, L->who, nm, sizeof nm);
        L->act = a;
        L->nvis = nvis;
        L->vis_binary = binary;
        L->enc_w = param_index(ps, nm, "weight");
        L->enc_b = param_index(ps, nm, "bias");
        L->dec_w = L->dec_b = -1;
        if (L->enc_w < 0 || L->enc_b < 0 || ps->p[L->enc_w].shape.d[1] != nvis)
            return ae_errf(err, AE_EINTERNAL, "pretrain: the parameters of %s not found", L->who);
        L->nhid = ps->p[L->enc_w].shape.d[0];
        if (p->ops->check(p->state, a, binary, L->who, err))
            return ae_err_prefix(err, "%s", ae_cfg_where(item, w, sizeof w));
        nvis = L->nhid;
        binary = a == AE_ACT_SIGMOID;
    }
    return AE_OK;
}

/* `unroll`: decoder[j] must be the dense layer nhid -> nvis of encoder layer n-1-j. */
static int read_decoder(ae_pretrain *p, ae_cfg *root, const ae_params *ps, ae_err *err)
{
    ae_cfg *dec = ae_cfg_lookup(root, "model.decoder");
    char w[256], nm[96], sect[48];
    size_t nd = ae_cfg_len(dec);
    for (size_t j = 0; j < nd || j < (size_t)p->n; j++) {
        pt_info *L = j < (size_t)p->n ? &p->L[p->n - 1 - (int)j] : NULL;
        ae_cfg *item = j < nd ? ae_cfg_at(dec, j) : NULL;
        const char *type = item ? ae_cfg_scalar(ae_cfg_get(item, "type")) : NULL;
        snprintf(sect, sizeof sect, "model.decoder[%zu]", j);
        int wi = item ? param_index(ps, layer_name(item, sect, nm, sizeof nm), "weight") : -1;
        int bi = item ? param_index(ps, nm, "bias") : -1;
        if (!L)
            return ae_errf(err, AE_EINPUT, "%s: pretrain.unroll: the decoder does not mirror the encoder (it has "
                           "%zu layers, the encoder %d); use `decoder: mirror`, or `pretrain.unroll: false` to "
                           "pretrain the encoder only", ae_cfg_where(item, w, sizeof w), nd, p->n);
        if (!type || strcmp(type, "dense") || wi < 0 || bi < 0 || ps->p[wi].shape.d[0] != L->nvis ||
            ps->p[wi].shape.d[1] != L->nhid)
            return ae_errf(err, AE_EINPUT, "%s: pretrain.unroll: the decoder does not mirror the encoder (%s "
                           "should be a dense layer with a bias, %lld -> %lld); use `decoder: mirror`, or "
                           "`pretrain.unroll: false` to pretrain the encoder only",
                           ae_cfg_where(item ? item : dec, w, sizeof w), sect, (long long)L->nhid,
                           (long long)L->nvis);
        L->dec_w = wi;
        L->dec_b = bi;
    }
    return AE_OK;
}

int ae_pretrain_configure(ae_cfg *root, const ae_registry *reg, ae_model *m, const ae_dataset *train,
                          ae_pretrain **out, ae_err *err)
{
    ae_cfg *pt;
    const char *method;
    char w[256];
    *out = NULL;
    if (ae_cfg_map(root, "pretrain", 0, &pt, err) || !pt) return err->code;
    if (ae_cfg_str(pt, "method", "rbm", ae_pretrainer_names(reg), &method, err)) return err->code;
    ae_pretrain *p = calloc(1, sizeof *p);
    if (!p) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *out = p;
    p->ops = ae_find_pretrainer(reg, method);
    if (ae_schema_read(&ae_pretrain_schema, pt, &p->cfg, 0, err) || p->ops->configure(pt, &p->state, err) ||
        ae_cfg_finish(pt, "pretrain", err))
        return err->code;
    if (strcmp(ae_model_latent_kind(m), "deterministic"))
        return ae_errf(err, AE_EINPUT, "%s: pretrain: needs a deterministic latent (model.latent.kind is %s)",
                       ae_cfg_where(pt, w, sizeof w), ae_model_latent_kind(m));
    ae_cfg *enc = ae_cfg_lookup(root, "model.encoder");
    if (ae_cfg_len(enc) > PT_MAX_LAYERS)
        return ae_errf(err, AE_EINPUT, "%s: pretrain: at most %d encoder layers", ae_cfg_where(pt, w, sizeof w),
                       PT_MAX_LAYERS);
    const ae_params *ps = ae_model_params(m);
    if (read_encoder(p, root, ps, train, err)) return err->code;
    return p->cfg.unroll ? read_decoder(p, root, ps, err) : AE_OK;
}

void ae_pretrain_free(ae_pretrain *p)
{
    if (!p) return;
    if (p->ops && p->ops->destroy) p->ops->destroy(p->state);
    free(p);
}

int ae_pretrain_layers(const ae_pretrain *p) { return p ? p->n : 0; }
