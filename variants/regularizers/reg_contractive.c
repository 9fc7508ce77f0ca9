/* The `contractive` regularizer: weight · batch mean of ‖∂h/∂x‖²_F for the code or a named encoder
 * layer. Exact closed form for a dense layer applied to the input; otherwise (deep, conv, gaussian
 * encoders) a stochastic estimate E_v ‖(h(x + εv) - h(x))/ε‖², v ~ N(0, I), through a perturbed
 * copy of the encoder that shares the parameters. */
#include <stdlib.h>
#include <string.h>

#include "ae_ops.h"
#include "ae_penalty.h"
#include "ae_taps.h"

typedef enum { CAE_AUTO, CAE_EXACT, CAE_ESTIMATE } cae_method;
static const char *const methods[] = {"auto", "exact", "estimate", NULL};

typedef struct cae_state {
    double weight, epsilon;
    long projections;
    cae_method method;
    ae_reg_target target;
} cae_state;

static const ae_key cae_keys[] = {
    AE_KEY_NUM_(cae_state, weight, "weight", "1e-4", 0.0, 1e6, "the penalty's weight"),
    AE_KEY_CHOICE_(cae_state, method, "method", "auto", methods,
                   "auto = exact for a dense layer on the input, else a finite-difference estimate"),
    AE_KEY_INT_(cae_state, projections, "projections", "1", 1, 4096, "estimate: random directions per sample"),
    AE_KEY_NUM_(cae_state, epsilon, "epsilon", "1e-3", 1e-6, 1.0, "estimate: finite-difference step"),
    AE_REG_LAYER_KEY(cae_state, target),
};
static const ae_schema cae_schema = AE_SCHEMA("regularizer contractive", cae_keys);

static int cae_configure(ae_cfg *spec, void **state, ae_err *err)
{
    cae_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    return ae_schema_read(&cae_schema, spec, s, 0, err);
}

/* The node named "<layer>.<tag>" among the nodes added since `from` (the copy's layer k). */
static ae_node *find_copy(ae_graph *g, size_t from, const char *layer, const char *tag)
{
    char want[200];
    snprintf(want, sizeof want, "%s.%s", layer, tag);
    want[sizeof ((ae_node *)0)->name - 1] = '\0'; /* node names are truncated like this */
    for (size_t i = from; i < ae_graph_size(g); i++) {
        ae_node *n = ae_graph_node(g, i);
        if (!strcmp(n->name, want)) return n;
    }
    return NULL;
}

static ae_node *estimate(const cae_state *s, ae_build *b, const char *name, ae_node *h, int k)
{
    const ae_taps *t = b->taps;
    if (!b->encode) {
        ae_errf(b->err, AE_EINTERNAL, "%s: no encoder copy available for the estimate", name);
        return NULL;
    }
    char nn[128];
    snprintf(nn, sizeof nn, "%.90s x+eps*v", name);
    ae_node *xp = ae_perturb(b->g, nn, t->x_in, (int)s->projections, (float)s->epsilon, b->rng, b->err);
    if (!xp) return NULL;
    size_t from = ae_graph_size(b->g);
    ae_node *code = b->encode(b->model, b, xp, name);
    if (!code) return NULL;
    /* the copy's counterpart of h: the code (mu for a gaussian latent) or encoder layer k */
    ae_node *base = k < 0 ? (t->mu ? t->mu : h) : h;
    ae_node *hp = k < 0 || h == t->code ? code : find_copy(b->g, from, t->hidden_name[k], name);
    if (!hp) {
        ae_errf(b->err, AE_EINTERNAL, "%s: layer '%s' not found in the perturbed encoder copy", name,
                s->target.layer);
        return NULL;
    }
    return ae_jvp_sq(b->g, name, hp, base, (float)s->epsilon, (float)s->weight, b->err);
}

static ae_node *cae_penalty(void *state, ae_build *b, const char *name)
{
    cae_state *s = state;
    const ae_taps *t = b->taps;
    ae_node *h;
    int k;
    char who[384];
    if (ae_reg_target_tap(&s->target, b, name, who, sizeof who, &h, &k)) return NULL;
    int exact_ok = k >= 0 && t->weight[k] && h->op == &ae_op_dense && h->in[0] == t->x_in &&
                   t->act[k] >= 0 && t->act[k] < AE_ACT_COUNT && t->act[k] != AE_ACT_LEAKY_RELU;
    if (s->method == CAE_EXACT && !exact_ok) {
        ae_errf(b->err, AE_EINPUT, "%s: method: exact needs a dense layer applied directly to the "
                "input, and layer '%s' is not one (use method: estimate or auto)", who, s->target.layer);
        return NULL;
    }
    if (exact_ok && s->method != CAE_ESTIMATE)
        return ae_contractive_exact(b->g, name, h, t->weight[k], (ae_act)t->act[k], (float)s->weight,
                                    b->err);
    return estimate(s, b, name, h, k);
}

const ae_regularizer_ops ae_reg_contractive = {
    "contractive", "weight * batch mean of ||dh/dx||_F^2", cae_configure, cae_penalty, free, &cae_schema};
