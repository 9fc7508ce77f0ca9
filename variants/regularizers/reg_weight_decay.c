/* The `weight_decay` regularizer: weight · Σ of the squares of every dense and convolution weight
 * (biases and batch norm's scale excluded, as Lasagne's regularizable parameters), as a loss term. */
#include <stdlib.h>
#include <string.h>

#include "ae_ops.h"
#include "ae_params.h"
#include "ae_penalty.h"
#include "ae_taps.h"

typedef struct wd_state {
    double weight;
} wd_state;

static const ae_key wd_keys[] = {AE_KEY_NUM_(wd_state, weight, "weight", "1e-4", 0.0, 1e6, "the penalty's weight")};
static const ae_schema wd_schema = AE_SCHEMA("regularizer weight_decay", wd_keys);

static int wd_configure(ae_cfg *spec, void **state, ae_err *err)
{
    wd_state *s = calloc(1, sizeof *s);
    if (!s) return ae_errf(err, AE_EINTERNAL, "out of memory");
    *state = s;
    return ae_schema_read(&wd_schema, spec, s, 0, err);
}

static int is_weight(const ae_param_info *p) { return p->kind == AE_PARAM_WEIGHT; }

static ae_node *wd_penalty(void *state, ae_build *b, const char *name)
{
    wd_state *s = state;
    size_t n = 0;
    for (size_t i = 0; i < b->ps->n; i++) n += is_weight(&b->ps->p[i]);
    ae_node **t = calloc(n ? n : 1, sizeof *t);
    if (!t) {
        ae_errf(b->err, AE_EINTERNAL, "out of memory");
        return NULL;
    }
    size_t m = 0;
    for (size_t i = 0; i < b->ps->n; i++) {
        if (!is_weight(&b->ps->p[i])) continue;
        char nn[96];
        snprintf(nn, sizeof nn, "%.60s: %.32s", name, b->ps->p[i].name);
        t[m++] = ae_sum_squares(b->g, nn, ae_graph_param(b->g, (int)i, b->err), (float)s->weight,
                                b->err);
    }
    ae_node *out = NULL;
    if (m == 0) {
        ae_errf(b->err, AE_EINPUT, "%s: the model has no weight parameters", name);
    } else {
        /* sum in groups of GROUP until one node is left (the last one carries `name`); groups of
         * four keep the rounding of the results written before sums took more terms */
        enum { GROUP = 4 };
        static const float ones[GROUP] = {1.0f, 1.0f, 1.0f, 1.0f};
        while (m > 1) {
            size_t k = 0;
            for (size_t i = 0; i < m; i += GROUP) {
                int c = (int)(m - i < GROUP ? m - i : GROUP);
                t[k++] = c == 1 ? t[i] : ae_weighted_sum(b->g, m <= GROUP ? name : "weight_decay (partial)",
                                                         t + i, ones, c, b->err);
            }
            m = k;
        }
        out = t[0];
    }
    free(t);
    return out;
}

const ae_regularizer_ops ae_reg_weight_decay = {
    "weight_decay", "L2 on every dense and convolution weight, weight * sum w^2 (biases and batch norm's scale "
    "excluded)",
    wd_configure, wd_penalty, free, &wd_schema};
