/* The layer a kl_sparsity regularizer acts on, as a finished run reports it: its name (the `layer:`
 * of the first kl_sparsity item of the resolved config) and its mean activation over a dataset, the
 * rho-hat to compare with the regularizer's rho. */
#include <stdio.h>
#include <string.h>

#include "ae_run.h"
#include "ae_taps.h"

/* The first kl_sparsity item's layer (the resolved config holds its default, code), or NULL. */
static const char *sparsity_layer(ae_cfg *root)
{
    ae_cfg *regs = ae_cfg_lookup(root, "regularizers");
    for (size_t i = 0; regs && i < ae_cfg_len(regs); i++) {
        ae_cfg *item = ae_cfg_at(regs, i);
        const char *type = ae_cfg_scalar(ae_cfg_lookup(item, "type"));
        if (type && !strcmp(type, "kl_sparsity")) {
            const char *layer = ae_cfg_scalar(ae_cfg_lookup(item, "layer"));
            return layer ? layer : "code";
        }
    }
    return NULL;
}

int ae_run_sparsity(ae_run *r, const ae_dataset *ev, char *layer, size_t len, double *mean, ae_err *err)
{
    const char *l = sparsity_layer(r->root);
    *layer = '\0';
    if (!l || !ev->n) return AE_OK;
    snprintf(layer, len, "%s", l);
    double sum = 0;
    size_t units = 0;
    for (size_t off = 0; off < ev->n; off += (size_t)r->eval_batch) {
        size_t k = off + (size_t)r->eval_batch <= ev->n ? (size_t)r->eval_batch : ev->n - off;
        ae_mgraph *mg = ae_model_graph(r->model, (int64_t)k, AE_MODE_EVAL, err);
        ae_node *h;
        int idx;
        if (!mg || ae_reg_tap(&mg->taps, l, "kl_sparsity", &h, &idx, err)) return err->code;
        ae_dataset_gather(ev, NULL, off, k, ev->pass, mg->taps.x->val);
        ae_graph_forward_to(mg->g, h);
        units = h->numel / k;
        for (size_t i = 0; i < h->numel; i++) sum += h->val[i];
    }
    *mean = units ? sum / ((double)ev->n * (double)units) : 0;
    return AE_OK;
}
