/* The `deterministic` latent: the code is the encoder's last layer output itself (no parameters,
 * no loss term, no prior). */
#include <stdlib.h>

#include "ae_registry.h"

typedef struct det_state {
    long size;
} det_state;

static const ae_key det_keys[] = {
    AE_KEY_INT_(det_state, size, "size", "0", 0, 1L << 20,
                "must stay 0: the code is the encoder's last layer (set its size there)"),
};
static const ae_schema det_schema = AE_SCHEMA("latent deterministic", det_keys);

static int det_configure(ae_cfg *lat, void **state, ae_err *err)
{
    det_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    if (ae_schema_read(&det_schema, lat, s, 0, err)) return err->code;
    char w[256];
    if (s->size != 0) /* 0: the default the resolved config carries */
        return ae_errf(err, AE_EINPUT, "%s: model.latent.size: a deterministic code has no size of its "
                       "own: the code is the encoder's last layer, so set the size there (e.g. its "
                       "`units`), or use `kind: gaussian` for a sampled code of %ld values",
                       ae_cfg_where(ae_cfg_get(lat, "size"), w, sizeof w), s->size);
    return AE_OK;
}

static ae_node *det_build(void *state, ae_build *b, const ae_latent_io *io, ae_node *h)
{
    (void)state, (void)b, (void)io;
    return h;
}

const ae_latent_ops ae_latent_deterministic = {
    .name = "deterministic",
    .help = "the code is the encoder's last layer (no prior: no samples, interpolations or NLL)",
    .configure = det_configure,
    .build = det_build,
    .destroy = free,
    .schema = &det_schema,
};
