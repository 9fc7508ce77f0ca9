/* The `kl_sparsity` regularizer: weight · Σ_j KL(ρ ‖ ρ̂_j) with ρ̂_j the batch-mean activation of
 * unit j of a sigmoid layer (the code or a named encoder layer). */
#include <stdlib.h>

#include "ae_penalty.h"
#include "ae_taps.h"

typedef struct kls_state {
    double weight, rho;
    ae_reg_target target;
} kls_state;

static int kls_configure(ae_cfg *spec, void **state, ae_err *err)
{
    kls_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    if (ae_cfg_num(spec, "weight", 1.0, 0.0, 1e6, &s->weight, err) ||
        ae_cfg_num(spec, "rho", 0.05, 1e-6, 1.0 - 1e-6, &s->rho, err) ||
        ae_reg_target_read(spec, &s->target, err))
        return err->code;
    return AE_OK;
}

static ae_node *kls_penalty(void *state, ae_build *b, const char *name)
{
    kls_state *s = state;
    ae_node *h;
    int k;
    char who[384];
    if (ae_reg_target_tap(&s->target, b, name, who, sizeof who, &h, &k)) return NULL;
    int act = k >= 0 ? b->taps->act[k] : -1;
    if (act != AE_ACT_SIGMOID) {
        ae_errf(b->err, AE_EINPUT, "%s: kl_sparsity needs a sigmoid layer (activations in (0, 1)), "
                "but layer '%s' has activation %s: use `activation: sigmoid` on it or the l1 "
                "regularizer", who, s->target.layer,
                act >= 0 && act < AE_ACT_COUNT ? ae_act_name((ae_act)act)
                                               : k < 0 ? "none (a sampled gaussian code)" : "none");
        return NULL;
    }
    return ae_kl_sparsity_penalty(b->g, name, h, (float)s->rho, (float)s->weight, b->err);
}

const ae_regularizer_ops ae_reg_kl_sparsity = {
    "kl_sparsity", "sum_j KL(rho || mean activation of unit j) on a sigmoid layer: weight (beta; 1), "
    "rho (0.05), " AE_LAYER_KEY_HELP,
    kls_configure, kls_penalty, free};
