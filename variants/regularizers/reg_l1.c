/* The `l1` regularizer: an activity penalty weight · mean over the batch of Σ_j |h_j| on the code
 * or a named encoder layer (sparse autoencoders). */
#include <stdlib.h>

#include "ae_penalty.h"
#include "ae_taps.h"

typedef struct l1_state {
    double weight;
    ae_reg_target target;
} l1_state;

static const ae_key l1_keys[] = {
    AE_KEY_NUM_(l1_state, weight, "weight", "1e-4", 0.0, 1e6, "the penalty's weight"),
    AE_REG_LAYER_KEY(l1_state, target),
};
static const ae_schema l1_schema = AE_SCHEMA("regularizer l1", l1_keys);

static int l1_configure(ae_cfg *spec, void **state, ae_err *err)
{
    l1_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    return ae_schema_read(&l1_schema, spec, s, 0, err);
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
    "l1", "activity L1, weight * batch mean of sum_j |h_j|", l1_configure, l1_penalty, free, &l1_schema};
