/* The `gaussian` corruption: x + sigma·N(0, 1), clipped to the training data's range or to `clip`
 * (fresh noise every forward; the op is ae_corrupt, framework/ops/ops_latent.c). */
#include <stdlib.h>
#include <string.h>

#include "ae_latent.h"
#include "ae_registry.h"

static const char *const samplers[] = {"philox", "gsl", NULL};

typedef struct gauss_state {
    double sigma;
    const char *sampler;
    ae_cfg *clip;
    float lo, hi;
} gauss_state;

static const ae_key gauss_keys[] = {
    AE_KEY_NUM_(gauss_state, sigma, "sigma", "0.1", 0.0, 1e6, "the noise's standard deviation"),
    AE_KEY_SEQ_(gauss_state, clip, "clip", AE_KEY_OPTIONAL,
                "[low, high]: the corrupted values are clipped to it (default: the training data's range)"),
    AE_KEY_STR_(gauss_state, sampler, "sampler", "philox", samplers,
                "the N(0, 1) generator: philox (counter-based Philox4x32-10 + Box–Muller, vectorised) or gsl "
                "(GSL's ziggurat, the sampler before 2026-12-03: reproduces older runs)"),
};
static const ae_schema gauss_schema = AE_SCHEMA("corruption gaussian", gauss_keys);

static int gauss_configure(ae_cfg *spec, const ae_dataset *data, void **state, ae_err *err)
{
    gauss_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    ae_dataset_range(data, &s->lo, &s->hi);
    if (ae_schema_read(&gauss_schema, spec, s, 0, err)) return err->code;
    if (!s->clip) return AE_OK;
    double a, b;
    char w[256];
    if (ae_cfg_len(s->clip) != 2)
        return ae_errf(err, AE_EINPUT, "%s: corruption.clip: expected [low, high]",
                       ae_cfg_where(s->clip, w, sizeof w));
    if (ae_cfg_to_num(ae_cfg_at(s->clip, 0), -1e30, 1e30, &a, err) ||
        ae_cfg_to_num(ae_cfg_at(s->clip, 1), a, 1e30, &b, err))
        return err->code;
    s->lo = (float)a;
    s->hi = (float)b;
    return AE_OK;
}

static ae_node *gauss_build(void *state, ae_build *b, ae_node *x)
{
    const gauss_state *s = state;
    ae_noise kind = strcmp(s->sampler, "gsl") ? AE_NOISE_GAUSSIAN : AE_NOISE_GAUSSIAN_GSL;
    return ae_corrupt(b->g, "corruption", x, kind, (float)s->sigma, s->lo, s->hi, b->rng, b->err);
}

const ae_corruption_ops ae_corruption_gaussian = {
    .name = "gaussian",
    .help = "x + sigma·N(0, 1), clipped (fresh noise every step)",
    .configure = gauss_configure,
    .build = gauss_build,
    .destroy = free,
    .schema = &gauss_schema,
};
