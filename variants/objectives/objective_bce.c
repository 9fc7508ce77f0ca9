/* The `bce` objective: binary cross-entropy of the reconstruction against the clean input as
 * probabilities (values in [0, 1], checked on the training data); trained on the logits (the stable
 * form) when the last decoder layer is a sigmoid, which a mirrored decoder gets by default. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ae_ops.h"
#include "ae_registry.h"

typedef struct bce_state {
    int sum;      /* reduction: 0 mean, 1 sum */
    float weight; /* the term's weight: 1 */
} bce_state;

static const char *const reductions[] = {"mean", "sum", NULL};

static const ae_key bce_keys[] = {
    AE_KEY_CHOICE_(bce_state, sum, "reduction", "mean", reductions,
                   "mean over every value, or sum over a sample's values (mean over the batch)"),
};
static const ae_schema bce_schema = AE_SCHEMA("loss bce", bce_keys);

/* Every training value must be in [0, 1]: standardized data (negative values) would train to a
 * meaningless negative loss. */
static int check_targets(ae_cfg *spec, ae_cfg *root, const ae_dataset *data, ae_err *err)
{
    float lo, hi;
    if (!data->n) return AE_OK;
    ae_dataset_range(data, &lo, &hi);
    if (lo >= 0.0f && hi <= 1.0f) return AE_OK;
    char w[256], sw[256], why[400] = "";
    const ae_cfg *sc = ae_cfg_lookup(root, "data.scaling");
    if (sc && ae_cfg_scalar(sc))
        snprintf(why, sizeof why, " (with `data.scaling: %s`, %s)", ae_cfg_scalar(sc),
                 ae_cfg_where(sc, sw, sizeof sw));
    return ae_errf(err, AE_EINPUT, "%s: loss: bce needs training values in [0, 1], but the training data "
                   "lie in [%g, %g]%s: use `data.scaling: minmax` (scales each column to [0, 1]), or "
                   "`loss: mse`", ae_cfg_where(ae_cfg_get(spec, "type"), w, sizeof w), (double)lo,
                   (double)hi, why);
}

static int bce_configure(ae_cfg *spec, ae_cfg *root, const ae_dataset *data, void **state, ae_err *err)
{
    bce_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    s->weight = 1.0f;
    /* an unknown key is reported before the data's range */
    if (ae_schema_read(&bce_schema, spec, s, 0, err) || ae_cfg_finish(spec, "loss", err)) return err->code;
    return check_targets(spec, root, data, err);
}

static int bce_build(void *state, ae_build *b, const ae_objective_io *io)
{
    bce_state *s = state;
    ae_reduction red = s->sum ? AE_SUM_PER_SAMPLE : AE_MEAN;
    const ae_taps *t = b->taps;
    ae_node *n = t->logits ? ae_bce_logits(b->g, "recon (bce)", t->logits, t->x, red, b->err)
                           : ae_bce(b->g, "recon (bce)", t->recon, t->x, red, b->err);
    if (!n) return b->err->code ? b->err->code : AE_EINTERNAL;
    io->add_term(io->ctx, n, "recon", &s->weight);
    return AE_OK;
}

static int bce_sum(void *state) { return ((const bce_state *)state)->sum; }

const ae_objective_ops ae_objective_bce = {
    .name = "bce",
    .help = "binary cross-entropy against the clean input in [0, 1] (on the logits when the output is a sigmoid)",
    .configure = bce_configure,
    .build = bce_build,
    .sum_per_sample = bce_sum,
    .destroy = free,
    .schema = &bce_schema,
    .logits = 1,
    .output_activation = "sigmoid",
};
