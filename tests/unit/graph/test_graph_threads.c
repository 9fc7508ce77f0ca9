/* The compile-time thread decision (ae_node.threads, issue 17): a node whose operands are all small
 * prepares, runs forward and backward with one OpenMP thread, a big one with the graph's threads,
 * and the thread count is restored after each node. A probe op records what it sees. */
#include <string.h>

#include "ae_dnnl.h"
#include "ae_ops.h"
#include "ae_par.h"
#include "ae_test.h"

enum { SEEN_PREPARE, SEEN_FORWARD, SEEN_BACKWARD };
static int g_seen[2][3]; /* [probe id (iattr[0])][stage]: ae_par_threads() there */

static int probe_infer(ae_node *n, ae_err *err)
{
    (void)err;
    n->shape = n->in[0]->shape;
    return AE_OK;
}

static int probe_prepare(ae_graph *g, ae_node *n, ae_err *err)
{
    (void)g, (void)err;
    g_seen[n->iattr[0]][SEEN_PREPARE] = ae_par_threads();
    return AE_OK;
}

static void probe_forward(ae_node *n)
{
    memcpy(n->val, n->in[0]->val, n->numel * sizeof *n->val);
    g_seen[n->iattr[0]][SEEN_FORWARD] = ae_par_threads();
}

static void probe_backward(ae_node *n)
{
    float *gx = n->in[0]->grad;
    for (size_t i = 0; i < n->numel; i++) gx[i] = (n->accum[0] ? gx[i] : 0.0f) + n->grad[i];
    g_seen[n->iattr[0]][SEEN_BACKWARD] = ae_par_threads();
}

static const ae_op op_probe = {.name = "probe", .infer = probe_infer, .prepare = probe_prepare,
                               .forward = probe_forward, .backward = probe_backward};

static ae_node *probe(ae_graph *g, int id, ae_node *x, ae_err *err)
{
    int ia[1] = {id};
    return ae_graph_add(g, &op_probe, id ? "big" : "small", &x, 1, ia, 1, NULL, 0, err);
}

/* 4x8 floats: one thread; 512x1024 (over AE_PAR_TEAM_MIN elements): the graph's two. */
START_TEST(small_nodes_run_on_one_thread)
{
    int threads = ae_get_threads();
    ae_set_threads(2);
    ae_err err = {0};
    ae_params *ps = ae_params_new();
    int64_t rows[2] = {4, 512}, cols[2] = {8, 1024};
    int xi[2], ti[2];
    for (int k = 0; k < 2; k++) {
        xi[k] = ae_params_declare(ps, k ? "xb" : "xs", ae_shape2(rows[k], cols[k]), 1, 1, AE_PARAM_WEIGHT, 0, &err);
        ti[k] = ae_params_declare(ps, k ? "tb" : "ts", ae_shape2(rows[k], cols[k]), 1, 1, AE_PARAM_WEIGHT, 0, &err);
    }
    ck_assert_int_eq(ae_params_alloc(ps, &err), AE_OK);
    for (size_t i = 0; i < ps->total; i++) ps->val[i] = (float)(i % 7) * 0.1f;
    ae_graph *g = ae_graph_new(ps, 4, 1);
    ae_node *terms[2];
    for (int k = 0; k < 2; k++) {
        ae_node *p = probe(g, k, ae_graph_param(g, xi[k], &err), &err);
        terms[k] = ae_mse(g, "mse", p, ae_graph_param(g, ti[k], &err), AE_MEAN, &err);
    }
    float w[2] = {1.0f, 1.0f};
    ae_node *loss = ae_weighted_sum(g, "loss", terms, w, 2, &err);
    ck_assert_msg(loss && ae_graph_compile(g, loss, &err) == AE_OK, "%s", err.msg);
    ae_graph_forward_loss(g);
    ae_graph_backward(g);
    for (int s = 0; s < 3; s++) {
        ck_assert_msg(g_seen[0][s] == 1, "small node, stage %d: %d threads", s, g_seen[0][s]);
        ck_assert_msg(g_seen[1][s] == 2, "big node, stage %d: %d threads", s, g_seen[1][s]);
    }
    ck_assert_int_eq(ae_get_threads(), 2); /* restored after every node */
    ck_assert_int_eq(terms[0]->threads, 1);
    ck_assert_int_eq(terms[1]->threads, 0);
    ck_assert_int_eq(loss->threads, 1);
    ae_graph_free(g);
    ae_params_free(ps);
    ae_set_threads(threads);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("graph_threads");
    TCase *t = tcase_create("graph_threads");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, small_nodes_run_on_one_thread);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
