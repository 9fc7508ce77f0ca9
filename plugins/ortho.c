/* Example out-of-tree regularizer plug-in: an orthogonality (decorrelation) penalty on the code,
 * weight · Σ_{j≠k} C_jk², C = covariance of the code units over the batch. Build it on its own:
 *   cc -shared -fPIC -I include/aelab plugins/ortho.c -o libortho.so
 * (against an installed aelab: cc -shared -fPIC $(pkg-config --cflags aelab) ortho.c -o libortho.so
 * $(pkg-config --libs aelab)),
 * and name it in a config: `plugins: [path/libortho.so]`, `regularizers: [{type: ortho, weight: 1e-3}]`. */
#include <stdlib.h>
#include <string.h>

#include "ae_config.h"
#include "ae_graph.h"
#include "ae_registry.h"
#include "ae_taps.h"

typedef struct ortho {
    double weight;
    ae_reg_target target; /* `layer:` (default: the code), as the built-in regularizers read it */
} ortho;

/* The op: in[0] = code H [N, K]; output the scalar penalty; state = scratch (centred H, C). */
typedef struct ortho_state {
    double *hc, *c;
} ortho_state;

static int op_infer(ae_node *n, ae_err *err)
{
    if (n->in[0]->shape.nd != 2)
        return ae_errf(err, AE_EINPUT, "%s: the ortho penalty needs a flat code [N, K]", n->name);
    n->shape.nd = 0;
    return AE_OK;
}

static int op_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    (void)g;
    size_t N = (size_t)n->in[0]->shape.d[0], K = (size_t)n->in[0]->shape.d[1];
    ortho_state *s = calloc(1, sizeof *s);
    if (s) {
        s->hc = malloc(N * K * sizeof *s->hc);
        s->c = malloc(K * K * sizeof *s->c);
    }
    n->state = s;
    return s && s->hc && s->c ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory");
}

static void op_forward(ae_node *n)
{
    ortho_state *s = n->state;
    const float *h = n->in[0]->val;
    size_t N = (size_t)n->in[0]->shape.d[0], K = (size_t)n->in[0]->shape.d[1];
    for (size_t k = 0; k < K; k++) {
        double m = 0;
        for (size_t i = 0; i < N; i++) m += h[i * K + k];
        m /= (double)N;
        for (size_t i = 0; i < N; i++) s->hc[i * K + k] = h[i * K + k] - m;
    }
    double p = 0;
    for (size_t j = 0; j < K; j++)
        for (size_t k = 0; k < K; k++) {
            double c = 0;
            for (size_t i = 0; i < N; i++) c += s->hc[i * K + j] * s->hc[i * K + k];
            s->c[j * K + k] = c / (double)N;
            if (j != k) p += s->c[j * K + k] * s->c[j * K + k];
        }
    n->val[0] = (float)(n->fattr[0] * p);
}

/* dP/dHc = (2w/N)·Hc·G with G = 2·offdiag(C) (symmetric), then centred over the batch. */
static void op_backward(ae_node *n)
{
    ae_node *x = n->in[0];
    if (!x->needs_grad) return;
    ortho_state *s = n->state;
    size_t N = (size_t)x->shape.d[0], K = (size_t)x->shape.d[1];
    double scale = 2.0 * n->fattr[0] * n->grad[0] / (double)N;
    for (size_t k = 0; k < K; k++) {
        double mean = 0;
        double *col = malloc(N * sizeof *col);
        if (!col) return;
        for (size_t i = 0; i < N; i++) {
            double d = 0;
            for (size_t j = 0; j < K; j++)
                if (j != k) d += s->hc[i * K + j] * 2.0 * s->c[j * K + k];
            col[i] = scale * d;
            mean += col[i];
        }
        mean /= (double)N;
        for (size_t i = 0; i < N; i++) {
            float v = (float)(col[i] - mean);
            x->grad[i * K + k] = n->accum[0] ? x->grad[i * K + k] + v : v;
        }
        free(col);
    }
}

static void op_destroy(ae_node *n)
{
    ortho_state *s = n->state;
    if (s) {
        free(s->hc);
        free(s->c);
        free(s);
    }
    n->state = NULL;
}

static const ae_op op_ortho = {.name = "ortho", .infer = op_infer, .prepare = op_prepare,
                               .forward = op_forward, .backward = op_backward, .destroy = op_destroy};

/* --- the regularizer ------------------------------------------------------------------------- */
/* Its keys as a schema table: read by ae_schema_read, listed by `aelab list`. */
static const ae_key keys[] = {
    AE_KEY_NUM_(ortho, weight, "weight", "1e-3", 0.0, 1e6, "the penalty's weight"),
    AE_REG_LAYER_KEY(ortho, target),
};
static const ae_schema schema = AE_SCHEMA("regularizer ortho", keys);

static int configure(ae_cfg *spec, void **state, ae_err *err)
{
    ortho *o = calloc(1, sizeof *o);
    if (!o) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = o;
    return ae_schema_read(&schema, spec, o, 0, err);
}

static ae_node *penalty(void *state, ae_build *b, const char *name)
{
    const ortho *o = state;
    char who[256];
    ae_node *h;
    int k;
    if (ae_reg_target_tap(&o->target, b, name, who, sizeof who, &h, &k)) return NULL; /* unknown layer */
    if (h == b->taps->code && b->taps->mu) h = b->taps->mu; /* a gaussian code: its mean, not the sample */
    if (h->shape.nd != 2) {
        ae_errf(b->err, AE_EINPUT, "%s: layer '%s' is not flat ([N, K]); ortho needs a dense layer's output",
                who, o->target.layer);
        return NULL;
    }
    float w = (float)o->weight;
    return ae_graph_add(b->g, &op_ortho, name, &h, 1, NULL, 0, &w, 1, b->err);
}

static const ae_regularizer_ops ortho_ops = {
    "ortho", "plug-in example: decorrelates the code units, weight * sum_{j!=k} cov_jk^2", configure, penalty,
    free, &schema};

AE_PLUGIN_EXPORT_ABI; /* the plug-in ABI this file is built for (checked at load) */

int aelab_plugin_init(ae_registry *r) { return ae_register_regularizer(r, &ortho_ops); }
