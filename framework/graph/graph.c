/* The static graph: node list in topological order, shape inference at build, one arena for
 * values and one for gradients at compile, forward and backward walks. */
#include "ae_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_params.h"
#include "ae_clock.h"
#include "ae_par.h"
#include "graph_internal.h"

ae_shape ae_shape_make(int nd, const int64_t *d)
{
    ae_shape s = {0};
    s.nd = nd;
    for (int i = 0; i < nd && i < AE_MAX_DIMS; i++) s.d[i] = d[i];
    return s;
}

ae_shape ae_shape2(int64_t a, int64_t b) { return ae_shape_make(2, (int64_t[]){a, b}); }
ae_shape ae_shape4(int64_t n, int64_t c, int64_t h, int64_t w)
{
    return ae_shape_make(4, (int64_t[]){n, c, h, w});
}

size_t ae_shape_numel(ae_shape s)
{
    size_t k = 1;
    for (int i = 0; i < s.nd; i++) k *= (size_t)s.d[i];
    return k;
}

int ae_shape_eq(ae_shape a, ae_shape b)
{
    if (a.nd != b.nd) return 0;
    for (int i = 0; i < a.nd; i++)
        if (a.d[i] != b.d[i]) return 0;
    return 1;
}

const char *ae_shape_str(ae_shape s, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < s.nd && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, i ? "x%lld" : "%lld", (long long)s.d[i]);
    if (s.nd == 0) snprintf(buf, len, "scalar");
    return buf;
}

ae_graph *ae_graph_new(ae_params *params, int64_t batch, int training)
{
    ae_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->params = params;
    g->batch = batch;
    g->training = training;
    g->lanes_last = -1;
    g->step_thr = 1;
    return g;
}

/* AELAB_PROFILE=1: on free, print where a graph's time went (nodes over 1% of the total). */
static void print_profile(const ae_graph *g)
{
    double tot = 0;
    for (size_t i = 0; i < 2 * g->n; i++) tot += g->prof[i];
    if (tot <= 0 || !g->steps) return;
    fprintf(stderr, "profile: graph batch %lld, %zu steps, %.3f ms per step\n", (long long)g->batch, g->steps,
            1e3 * tot / (double)g->steps);
    for (size_t i = 0; i < g->n; i++) {
        double f = g->prof[2 * i], b = g->prof[2 * i + 1];
        if (f + b < 0.01 * tot) continue;
        fprintf(stderr, "  %5.1f%%  fwd %7.3f ms  bwd %7.3f ms  %s\n", 100 * (f + b) / tot,
                1e3 * f / (double)g->steps, 1e3 * b / (double)g->steps, g->nodes[i]->name);
    }
}

void ae_graph_free(ae_graph *g)
{
    if (!g) return;
    if (g->prof) print_profile(g);
    free(g->prof);
    for (size_t i = 0; i < g->n; i++) {
        ae_node *n = g->nodes[i];
        if (n->op && n->op->destroy) n->op->destroy(n);
        free(n);
    }
    for (size_t i = 0; i < g->nscratch; i++) free(g->scratch[i]);
    free(g->scratch);
    free(g->nodes);
    free(g->zero_on_backward);
    free(g->uses);
    free(g->param_node);
    free(g->fused);
    free(g->owner_q);
    free(g->vals);
    free(g->grads);
    free(g);
}

int64_t ae_graph_batch(const ae_graph *g) { return g->batch; }
int ae_graph_training(const ae_graph *g) { return g->training; }
int ae_graph_threads(const ae_graph *g) { return g->threads; }
const unsigned char *ae_graph_fused_params(const ae_graph *g) { return g->fused; }
ae_params *ae_graph_params(const ae_graph *g) { return g->params; }
size_t ae_graph_size(const ae_graph *g) { return g->n; }
ae_node *ae_graph_node(const ae_graph *g, size_t i) { return i < g->n ? g->nodes[i] : NULL; }

double ae_graph_flops(const ae_graph *g)
{
    double f = 0;
    for (size_t i = 0; i < g->n; i++) f += g->nodes[i]->flops;
    return f;
}

size_t ae_graph_bytes(const ae_graph *g)
{
    return (g->vals_n + g->grads_n) * sizeof(float) + g->scratch_bytes;
}

static ae_node *push(ae_graph *g, ae_err *err)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 32;
        ae_node **nn = realloc(g->nodes, cap * sizeof *nn);
        if (!nn) {
            ae_errf(err, AE_EINTERNAL, "out of memory building the graph");
            return NULL;
        }
        g->nodes = nn;
        g->cap = cap;
    }
    ae_node *n = calloc(1, sizeof *n);
    if (!n) {
        ae_errf(err, AE_EINTERNAL, "out of memory building the graph");
        return NULL;
    }
    n->id = (int)g->n;
    n->param = -1;
    g->nodes[g->n++] = n;
    return n;
}

ae_node *ae_graph_add(ae_graph *g, const ae_op *op, const char *name, ae_node *const *in, int nin,
                      const int *iattr, int niattr, const float *fattr, int nfattr, ae_err *err)
{
    if (g->failed || g->compiled) {
        if (g->compiled) ae_errf(err, AE_EINTERNAL, "graph already compiled");
        return NULL;
    }
    for (int i = 0; i < nin; i++)
        if (!in[i]) { g->failed = 1; return NULL; }
    if (nin > AE_MAX_IN || niattr > 8 || nfattr > 4) {
        g->failed = 1;
        ae_errf(err, AE_EINTERNAL, "%s: too many inputs or attributes", name);
        return NULL;
    }
    ae_node *n = push(g, err);
    if (!n) { g->failed = 1; return NULL; }
    n->op = op;
    snprintf(n->name, sizeof n->name, "%s", name ? name : op->name);
    n->nin = nin;
    for (int i = 0; i < nin; i++) {
        n->in[i] = in[i];
        if (in[i]->needs_grad && op->backward) n->needs_grad = 1;
    }
    for (int i = 0; i < niattr; i++) n->iattr[i] = iattr[i];
    for (int i = 0; i < nfattr; i++) n->fattr[i] = fattr[i];
    if (op->infer && op->infer(n, err) != AE_OK) { g->failed = 1; return NULL; }
    n->numel = ae_shape_numel(n->shape);
    return n;
}

static const ae_op op_input = {.name = "input"};
static const ae_op op_param = {.name = "param"};

ae_node *ae_graph_input(ae_graph *g, const char *name, ae_shape shape, ae_err *err)
{
    ae_node *n = ae_graph_add(g, &op_input, name, NULL, 0, NULL, 0, NULL, 0, err);
    if (n) {
        n->shape = shape;
        n->numel = ae_shape_numel(shape);
    }
    return n;
}

ae_node *ae_graph_param(ae_graph *g, int index, ae_err *err)
{
    if (index < 0 || (size_t)index >= g->params->n) {
        g->failed = 1;
        ae_errf(err, AE_EINTERNAL, "parameter index %d out of range", index);
        return NULL;
    }
    if ((size_t)index >= g->nparam_node) { /* the store may have grown since the last call */
        ae_node **pn = realloc(g->param_node, g->params->n * sizeof *pn);
        if (!pn) {
            g->failed = 1;
            ae_errf(err, AE_EINTERNAL, "out of memory building the graph");
            return NULL;
        }
        memset(pn + g->nparam_node, 0, (g->params->n - g->nparam_node) * sizeof *pn);
        g->param_node = pn;
        g->nparam_node = g->params->n;
    }
    if (g->param_node[index]) return g->param_node[index]; /* one node per parameter: one gradient owner */
    const ae_param_info *pi = &g->params->p[index];
    ae_node *n = ae_graph_add(g, &op_param, pi->name, NULL, 0, NULL, 0, NULL, 0, err);
    if (n) {
        n->shape = pi->shape;
        n->numel = pi->n;
        n->param = index;
        n->needs_grad = g->training;
        g->param_node[index] = n;
    }
    return n;
}

float *ae_graph_scratch(ae_graph *g, size_t nfloats, ae_err *err)
{
    void **ns = realloc(g->scratch, (g->nscratch + 1) * sizeof *ns);
    if (!ns) { ae_errf(err, AE_EINTERNAL, "out of memory (scratch)"); return NULL; }
    g->scratch = ns;
    size_t bytes = ((nfloats ? nfloats : 1) * sizeof(float) + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes);
    if (!p) { ae_errf(err, AE_EINTERNAL, "out of memory (scratch)"); return NULL; }
    memset(p, 0, bytes);
    g->scratch[g->nscratch++] = p;
    g->scratch_bytes += bytes;
    return p;
}

static size_t round16(size_t k) { return (k + 15) / 16 * 16; } /* 64-byte aligned slices */

/* Only nodes that lead to the loss need gradients: mark them by a reverse sweep; a training step
 * computes only those (the others are skipped). */
static int mark_reach(ae_graph *g, ae_err *err)
{
    unsigned char *reach = calloc(g->n ? g->n : 1, 1);
    if (!reach) return ae_errf(err, AE_EINTERNAL, "out of memory");
    if (g->loss) reach[g->loss->id] = 1;
    for (size_t i = g->n; i-- > 0;) {
        ae_node *n = g->nodes[i];
        if (!reach[i]) continue;
        for (int k = 0; k < n->nin; k++) reach[n->in[k]->id] = 1;
    }
    for (size_t i = 0; i < g->n; i++) {
        ae_node *n = g->nodes[i];
        n->skip = g->loss && !reach[i];
        if (!(n->needs_grad && reach[i])) n->needs_grad = 0;
    }
    free(reach);
    return AE_OK;
}

/* Every node's consumer edges, in graph order, in one array (counted, then filled). */
static int list_consumers(ae_graph *g, ae_err *err)
{
    size_t nedges = 0;
    for (size_t i = 0; i < g->n; i++) {
        g->nodes[i]->ncons = 0;
        nedges += (size_t)g->nodes[i]->nin;
    }
    if (!(g->uses = malloc((nedges ? nedges : 1) * sizeof *g->uses)))
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (size_t i = 0; i < g->n; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++) g->nodes[i]->in[k]->ncons++;
    size_t off = 0;
    for (size_t i = 0; i < g->n; i++) {
        g->nodes[i]->cons = g->uses + off;
        off += (size_t)g->nodes[i]->ncons;
        g->nodes[i]->ncons = 0;
    }
    for (size_t i = 0; i < g->n; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++) {
            ae_node *x = g->nodes[i]->in[k];
            g->uses[x->cons - g->uses + x->ncons++] = (ae_use){g->nodes[i], k};
        }
    return AE_OK;
}

/* A view (reshape) shares its input's value; its gradient too when the input has no other consumer
 * (its consumers then write the input's gradient directly). Backward runs nodes in reverse: the
 * first op (in reverse order) that writes an input's grad overwrites it, later ones accumulate.
 * Grads nobody writes are zeroed at each backward. */
static int plan_edges(ae_graph *g, ae_err *err)
{
    for (size_t i = 0; i < g->n; i++) {
        ae_node *n = g->nodes[i];
        n->share = !n->op->view ? AE_SHARE_NONE
                   : n->needs_grad && n->in[0]->needs_grad && n->in[0]->ncons == 1 ? AE_SHARE_GRAD
                                                                                   : AE_SHARE_VAL;
    }
    unsigned char *written = calloc(g->n ? g->n : 1, 1);
    g->zero_on_backward = calloc(g->n ? g->n : 1, sizeof *g->zero_on_backward);
    if (!written || !g->zero_on_backward) { free(written); return ae_errf(err, AE_EINTERNAL, "out of memory"); }
    if (g->loss) written[g->loss->id] = 1;
    for (size_t i = g->n; i-- > 0;) {
        ae_node *n = g->nodes[i];
        if (!n->needs_grad || !n->op->backward) continue;
        for (int k = 0; k < n->nin; k++) {
            ae_node *x = n->in[k];
            if (!x->needs_grad) continue;
            n->accum[k] = written[x->id];
            written[x->id] = 1;
        }
    }
    for (size_t i = 0; i < g->n; i++)
        if (g->nodes[i]->needs_grad && !written[i]) g->zero_on_backward[g->nzero++] = g->nodes[i];
    free(written);
    return AE_OK;
}

/* Each distinct plan pass of the graph's ops, once, in order of first appearance. */
static int run_plans(ae_graph *g, ae_err *err)
{
    ae_graph_plan_fn done[8];
    int ndone = 0;
    for (size_t i = 0; i < g->n; i++) {
        ae_graph_plan_fn p = g->nodes[i]->op->plan;
        int seen = !p;
        for (int j = 0; j < ndone && !seen; j++) seen = done[j] == p;
        if (seen) continue;
        if (ndone == (int)(sizeof done / sizeof done[0]))
            return ae_errf(err, AE_EINTERNAL, "more than %d plan passes in one graph", ndone);
        done[ndone++] = p;
        if (p(g, err) != AE_OK) return err->code;
    }
    return AE_OK;
}

/* One arena for the values and one for the gradients (views and parameters take none). */
static int allocate(ae_graph *g, ae_err *err)
{
    size_t nv = 0, ng = 0;
    for (size_t i = 0; i < g->n; i++) {
        ae_node *n = g->nodes[i];
        if (n->param < 0 && !n->share) nv += round16(n->numel);
        if (n->needs_grad && n->param < 0 && n->share != AE_SHARE_GRAD) ng += round16(n->numel);
    }
    g->vals = aligned_alloc(64, (nv ? nv : 16) * sizeof(float));
    g->grads = aligned_alloc(64, (ng ? ng : 16) * sizeof(float));
    if (!g->vals || !g->grads) return ae_errf(err, AE_EINTERNAL, "out of memory (activations)");
    memset(g->vals, 0, (nv ? nv : 16) * sizeof(float));
    memset(g->grads, 0, (ng ? ng : 16) * sizeof(float));
    g->vals_n = nv;
    g->grads_n = ng;
    size_t ov = 0, og = 0;
    for (size_t i = 0; i < g->n; i++) {
        ae_node *n = g->nodes[i];
        if (n->param >= 0) {
            const ae_param_info *pi = &g->params->p[n->param];
            n->val = g->params->val + pi->off;
            n->grad = n->needs_grad ? g->params->grad + pi->off : NULL;
            continue;
        }
        if (n->share) n->val = n->in[0]->val;
        else {
            n->val = g->vals + ov;
            ov += round16(n->numel);
        }
        if (n->share == AE_SHARE_GRAD) n->grad = n->in[0]->grad;
        else if (n->needs_grad) {
            n->grad = g->grads + og;
            og += round16(n->numel);
        }
    }
    return AE_OK;
}

int ae_graph_compile(ae_graph *g, ae_node *loss, ae_err *err)
{
    if (g->failed) return err && err->code ? err->code : ae_errf(err, AE_EINTERNAL, "graph build failed");
    if (g->compiled || g->uses) return ae_errf(err, AE_EINTERNAL, "graph already compiled");
    if (!g->params->val) return ae_errf(err, AE_EINTERNAL, "parameters not allocated before compile");
    if (loss && loss->numel != 1)
        return ae_errf(err, AE_EINTERNAL, "%s: the loss must be a scalar", loss->name);
    g->loss = g->training ? loss : NULL;
    g->threads = ae_par_threads();
    if (mark_reach(g, err) || list_consumers(g, err) || plan_edges(g, err))
        return err->code;
    ae_graph_plan_threads(g);
    if (run_plans(g, err) || allocate(g, err)) return err->code;
    for (size_t i = 0; i < g->n; i++) {
        ae_node *n = g->nodes[i];
        if (!n->op->prepare) continue;
        int saved = ae_par_limit(n->threads); /* oneDNN keeps the thread count its primitives see here */
        int rc = n->op->prepare(g, n, err);
        ae_par_restore(saved);
        if (rc != AE_OK) return err->code;
    }
    if (g->loss && (graph_plan_updates(g, err) || graph_plan_lanes(g, err))) return err->code;
    const char *prof = getenv("AELAB_PROFILE");
    if (prof && *prof == '1' && !(g->prof = calloc(2 * g->n + 1, sizeof *g->prof)))
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    g->compiled = 1;
    return AE_OK;
}

/* A node's forward and backward run on the threads decided for it at compile (ae_node.threads). */
void graph_node_forward(ae_node *n)
{
    int saved = ae_par_limit(n->threads);
    n->op->forward(n);
    ae_par_restore(saved);
}

void graph_node_backward(ae_node *n)
{
    int saved = ae_par_limit(n->threads);
    n->op->backward(n);
    ae_par_restore(saved);
}

void ae_graph_forward(ae_graph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        ae_node *n = g->nodes[i];
        if (n->op->forward) graph_node_forward(n);
    }
}

void ae_graph_forward_loss(ae_graph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        ae_node *n = g->nodes[i];
        if (!n->op->forward || n->skip) continue;
        if (!g->prof) {
            graph_node_forward(n);
            continue;
        }
        double t = ae_now();
        graph_node_forward(n);
        g->prof[2 * i] += ae_now() - t;
    }
    g->steps++;
}

void ae_graph_forward_to(ae_graph *g, const ae_node *upto)
{
    for (size_t i = 0; i < g->n; i++) {
        ae_node *n = g->nodes[i];
        if (n->op->forward) graph_node_forward(n);
        if (n == upto) break;
    }
}

int graph_backward_seed(ae_graph *g)
{
    if (!g->loss || !g->loss->needs_grad) return 0;
    for (size_t i = 0; i < g->nzero; i++)
        memset(g->zero_on_backward[i]->grad, 0, g->zero_on_backward[i]->numel * sizeof(float));
    g->loss->grad[0] = 1.0f;
    return 1;
}

void ae_graph_backward(ae_graph *g)
{
    if (!graph_backward_seed(g)) return;
    if (!g->prof && ae_graph_backward_lanes(g)) return; /* the walk and the tasks side by side */
    for (size_t i = g->n; i-- > 0;) {
        ae_node *n = g->nodes[i];
        if (!n->needs_grad || !n->op->backward) continue;
        if (!g->prof) {
            graph_node_backward(n);
            continue;
        }
        double t = ae_now();
        graph_node_backward(n);
        g->prof[2 * i + 1] += ae_now() - t;
    }
    ae_graph_run_tasks(g);
}
