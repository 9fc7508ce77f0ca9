/* The `mse` objective: the squared error between the reconstruction and the clean input, averaged
 * over the values (reduction: mean) or summed over a sample's values and averaged over the batch. */
#include <stdlib.h>

#include "ae_ops.h"
#include "ae_registry.h"

typedef struct mse_state {
    int sum;            /* reduction: 0 mean, 1 sum */
    float weight;       /* the term's weight: 1 */
} mse_state;

static const char *const reductions[] = {"mean", "sum", NULL};

static const ae_key mse_keys[] = {
    AE_KEY_CHOICE_(mse_state, sum, "reduction", "mean", reductions,
                   "mean over every value, or sum over a sample's values (mean over the batch)"),
};
static const ae_schema mse_schema = AE_SCHEMA("loss mse", mse_keys);

static int mse_configure(ae_cfg *spec, ae_cfg *root, const ae_dataset *data, void **state, ae_err *err)
{
    (void)root, (void)data;
    mse_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    s->weight = 1.0f;
    return ae_schema_read(&mse_schema, spec, s, 0, err);
}

static int mse_build(void *state, ae_build *b, const ae_objective_io *io)
{
    mse_state *s = state;
    ae_node *t = ae_mse(b->g, "recon (mse)", b->taps->recon, b->taps->x, s->sum ? AE_SUM_PER_SAMPLE : AE_MEAN,
                        b->err);
    if (!t) return b->err->code ? b->err->code : AE_EINTERNAL;
    io->add_term(io->ctx, t, "recon", &s->weight);
    return AE_OK;
}

static int mse_sum(void *state) { return ((const mse_state *)state)->sum; }

const ae_objective_ops ae_objective_mse = {
    .name = "mse",
    .help = "mean squared error between the reconstruction and the clean input",
    .configure = mse_configure,
    .build = mse_build,
    .sum_per_sample = mse_sum,
    .destroy = free,
    .schema = &mse_schema,
};
