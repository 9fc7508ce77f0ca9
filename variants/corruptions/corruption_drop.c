/* The `masking` and `salt_pepper` corruptions: each value, with probability p, set to 0 (masking)
 * or to the training data's min or max (half each, salt_pepper). Fresh noise every forward; the op
 * is ae_corrupt (framework/ops/ops_latent.c). */
#include <stdlib.h>

#include "ae_latent.h"
#include "ae_registry.h"

typedef struct drop_state {
    double p;
    float lo, hi; /* the data range: the pepper and salt values */
} drop_state;

static const ae_key drop_keys[] = {
    AE_KEY_NUM_(drop_state, p, "p", "0.25", 0.0, 1.0, "the probability that a value is corrupted"),
};
static const ae_schema masking_schema = AE_SCHEMA("corruption masking", drop_keys);
static const ae_schema salt_pepper_schema = AE_SCHEMA("corruption salt_pepper", drop_keys);

static int drop_configure(ae_cfg *spec, const ae_dataset *data, void **state, ae_err *err)
{
    drop_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    ae_dataset_range(data, &s->lo, &s->hi);
    return ae_schema_read(&masking_schema, spec, s, 0, err);
}

static ae_node *drop_build(const drop_state *s, ae_build *b, ae_node *x, ae_noise kind)
{
    return ae_corrupt(b->g, "corruption", x, kind, (float)s->p, s->lo, s->hi, b->rng, b->err);
}

static ae_node *masking_build(void *state, ae_build *b, ae_node *x)
{
    return drop_build(state, b, x, AE_NOISE_MASKING);
}

static ae_node *salt_pepper_build(void *state, ae_build *b, ae_node *x)
{
    return drop_build(state, b, x, AE_NOISE_SALT_PEPPER);
}

const ae_corruption_ops ae_corruption_masking = {
    .name = "masking",
    .help = "each value set to 0 with probability p",
    .configure = drop_configure,
    .build = masking_build,
    .destroy = free,
    .schema = &masking_schema,
};

const ae_corruption_ops ae_corruption_salt_pepper = {
    .name = "salt_pepper",
    .help = "each value set to the data's min or max (half each) with probability p",
    .configure = drop_configure,
    .build = salt_pepper_build,
    .destroy = free,
    .schema = &salt_pepper_schema,
};
