/* The `l1` regularizer: an activity penalty weight · mean over the batch of Σ_j |h_j| on the code
 * or a named encoder layer (sparse autoencoders). */
#include <stdlib.h>

#include "ae_penalty.h"
#include "ae_taps.h"

typedef struct l1_state {
    double weight;
    ae_reg_target target;
} l1_state;

static int l1_configure(ae_cfg *spec, void **state, ae_err *err)
{
    l1_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    if (ae_cfg_num(spec, "weight", 1e-4, 0.0, 1e6, &s->weight, err) ||
        ae_reg_target_read(spec, &s->target, err))
        return err->code;
    return AE_OK;
}

static ae_node *l1_penalty(void *state, ae_build *b, const char *name)
{
    l1_state *s = state;
    ae_node *h;
    int k;
    char who[384];
    if (ae_reg_target_tap(&s->target, b, name, who, sizeof who, &h, &k)) return NULL;
    return ae_l1_penalty(b->g, name, h, (float)s->weight, b->err);
}

const ae_regularizer_ops ae_reg_l1 = {
    "l1", "activity L1, weight * batch mean of sum_j |h_j|: weight (1e-4), " AE_LAYER_KEY_HELP,
    l1_configure, l1_penalty, free};
