/* The `kl_sparsity` regularizer: weight · Σ_j KL(ρ ‖ ρ̂_j) with ρ̂_j the batch-mean activation of
 * unit j of a sigmoid layer (the code or a named encoder layer). */
#include <stdlib.h>

#include "ae_penalty.h"
#include "ae_taps.h"

typedef struct kls_state {
    double weight, rho;
    ae_reg_target target;
} kls_state;

static const ae_key kls_keys[] = {
    AE_KEY_NUM_(kls_state, weight, "weight", "1", 0.0, 1e6, "the penalty's weight (beta)"),
    AE_KEY_NUM_(kls_state, rho, "rho", "0.05", 1e-6, 1.0 - 1e-6, "the target mean activation"),
    AE_REG_LAYER_KEY(kls_state, target),
};
static const ae_schema kls_schema = AE_SCHEMA("regularizer kl_sparsity", kls_keys);

static int kls_configure(ae_cfg *spec, void **state, ae_err *err)
{
    kls_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    return ae_schema_read(&kls_schema, spec, s, 0, err);
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
    "kl_sparsity", "weight * sum_j KL(rho || mean activation of unit j), on a sigmoid layer; a run reports "
    "that layer's mean activation on stderr, and in final.json as kl_sparsity_layer and "
    "kl_sparsity_mean_activation when it is not the code (the code's: mean_code_activation)",
    kls_configure, kls_penalty, free, &kls_schema};
