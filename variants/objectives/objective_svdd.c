/* The `svdd` objective: One-Class Deep SVDD (Ruff et al. 2018): the mean over the batch of the squared
 * distance ||phi(x) - c||^2 of the code to a centre c fixed before training (the initial codes' mean). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_latent.h"
#include "ae_ops.h"
#include "ae_params.h"
#include "ae_registry.h"

typedef struct svdd_state {
    double eps;      /* centre coordinates with |c_j| < eps move to +-eps (their sign) */
    float weight;    /* the term's weight: 1 */
    int center;      /* index of the `svdd.center` parameter (a STATE one: saved, never trained), -1 */
    char where[256]; /* where `loss` is (for errors found when the graph is built) */
} svdd_state;

static const ae_key svdd_keys[] = {
    AE_KEY_NUM_(svdd_state, eps, "eps", "0.1", 0.0, 1e6,
                "centre coordinates with |c_j| < eps become eps·sign(c_j) (0 stays 0), so no unit can match "
                "the centre with zero weights (Ruff et al.'s code: 0.1)"),
};
static const ae_schema svdd_schema = AE_SCHEMA("loss svdd", svdd_keys);

static int svdd_configure(ae_cfg *spec, ae_cfg *root, const ae_dataset *data, void **state, ae_err *err)
{
    svdd_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    s->weight = 1.0f;
    s->center = -1;
    ae_cfg_where(ae_cfg_get(spec, "type"), s->where, sizeof s->where);
    if (ae_schema_read(&svdd_schema, spec, s, 0, err) || ae_cfg_finish(spec, "loss", err)) return err->code;
    (void)data;
    const ae_cfg *kind = ae_cfg_lookup(root, "model.latent.kind");
    const char *kn = kind ? ae_cfg_scalar(kind) : NULL;
    char lw[256];
    if (kn && strcmp(kn, "deterministic"))
        return ae_errf(err, AE_EINPUT, "%s: loss: svdd measures the distance of a deterministic code to its "
                       "centre, but the latent is %s at %s", s->where, kn, ae_cfg_where(kind, lw, sizeof lw));
    return AE_OK;
}

/* Every graph: the centre (a [1, code] STATE parameter, 0 until svdd_prepare sets it) repeated over
 * the batch, and the squared distance summed over the code, averaged over the batch. */
static int svdd_build(void *state, ae_build *b, const ae_objective_io *io)
{
    svdd_state *s = state;
    ae_node *z = b->taps->code;
    if (!z || z->shape.nd != 2)
        return ae_errf(b->err, AE_EINPUT, "%s: loss: svdd needs a flat code [batch, size]", s->where);
    int64_t batch = z->shape.d[0], cs = z->shape.d[1];
    s->center = ae_params_declare(b->ps, "svdd.center", ae_shape2(1, cs), (int)cs, (int)cs, AE_PARAM_STATE, 0,
                                  b->err);
    ae_node *c = s->center >= 0 ? ae_graph_param(b->g, s->center, b->err) : NULL;
    ae_node *cb = c ? ae_repeat_rows(b->g, "svdd.center (batch)", c, (int)batch, b->err) : NULL;
    ae_node *d = cb ? ae_mse(b->g, "svdd (distance)", z, cb, AE_SUM_PER_SAMPLE, b->err) : NULL;
    if (!d) return b->err->code ? b->err->code : AE_EINTERNAL;
    io->add_term(io->ctx, d, "svdd", &s->weight);
    return AE_OK;
}

/* c = the mean of the n initial codes (in double), then the eps fix, into the centre parameter. */
static int svdd_prepare(void *state, ae_params *ps, const float *codes, size_t n, size_t cs, ae_err *err)
{
    svdd_state *s = state;
    if (s->center < 0 || ps->p[s->center].n != cs)
        return ae_errf(err, AE_EINTERNAL, "%s: svdd: the centre is not declared for a code of %zu", s->where, cs);
    if (n == 0) return ae_errf(err, AE_EINPUT, "%s: loss: svdd: no training rows to place the centre", s->where);
    float *c = ps->val + ps->p[s->center].off;
    for (size_t j = 0; j < cs; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++) m += codes[i * cs + j];
        m /= (double)n;
        if (fabs(m) < s->eps && m != 0) m = m < 0 ? -s->eps : s->eps;
        c[j] = (float)m;
    }
    return AE_OK;
}

/* The anomaly score of each of the k rows of an evaluation graph (forwarded to its code):
 * ||phi(x) - c||^2 in double. */
static int svdd_score(void *state, const ae_params *ps, const ae_taps *t, size_t k, double *out)
{
    const svdd_state *s = state;
    if (s->center < 0) return 0;
    size_t cs = ps->p[s->center].n;
    const float *c = ps->val + ps->p[s->center].off, *z = t->code->val;
    for (size_t i = 0; i < k; i++) {
        double d = 0;
        for (size_t j = 0; j < cs; j++) {
            double e = (double)z[i * cs + j] - c[j];
            d += e * e;
        }
        out[i] = d;
    }
    return 1;
}

static int svdd_sum(void *state) { (void)state; return 1; }

const ae_objective_ops ae_objective_svdd = {
    .name = "svdd",
    .help = "One-Class Deep SVDD (Ruff et al. 2018): mean squared distance of the code to a centre c, the "
            "initial codes' mean over the training data (computed once before training, eps fix; saved in "
            "the checkpoint); anomaly score ||code - c||^2; the decoder is unused (warm-start the encoder "
            "with model.init.from)",
    .configure = svdd_configure,
    .build = svdd_build,
    .sum_per_sample = svdd_sum,
    .destroy = free,
    .schema = &svdd_schema,
    .prepare = svdd_prepare,
    .score = svdd_score,
};
