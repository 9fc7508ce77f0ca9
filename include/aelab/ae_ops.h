/* Op constructors: each adds one node to a graph (shape checked now, primitives made at compile).
 * Heavy ops run on oneDNN; light glue (activations, losses, sums) are plain C loops. */
#ifndef AE_OPS_H
#define AE_OPS_H

#include "ae_dnnl.h"
#include "ae_graph.h"

/* y[N,M] = act(x[N,K]·Wᵀ + b): W is [M,K] (PyTorch layout), b is [M] or NULL. x may have any
 * shape [N, ...]; its trailing dims are flattened to K. */
ae_node *ae_dense(ae_graph *g, const char *name, ae_node *x, ae_node *w, ae_node *b, ae_act act,
                  ae_err *err);
/* Elementwise activation. */
ae_node *ae_activation(ae_graph *g, const char *name, ae_node *x, ae_act act, ae_err *err);
/* Same data, another shape (element count must match; d[0] = batch is kept). */
ae_node *ae_reshape(ae_graph *g, const char *name, ae_node *x, ae_shape s, ae_err *err);

/* Losses: scalar nodes. reduction AE_MEAN = mean over every element (PyTorch's default);
 * AE_SUM_PER_SAMPLE = sum over a sample's elements, mean over the batch. */
typedef enum { AE_MEAN = 0, AE_SUM_PER_SAMPLE = 1 } ae_reduction;
ae_node *ae_mse(ae_graph *g, const char *name, ae_node *pred, ae_node *target, ae_reduction r,
                ae_err *err);
/* Binary cross-entropy on probabilities (log clamped at -100 like PyTorch). */
ae_node *ae_bce(ae_graph *g, const char *name, ae_node *prob, ae_node *target, ae_reduction r,
                ae_err *err);
/* Binary cross-entropy on logits, numerically stable: max(z,0) - z·t + log1p(exp(-|z|)). */
ae_node *ae_bce_logits(ae_graph *g, const char *name, ae_node *logits, ae_node *target,
                       ae_reduction r, ae_err *err);
/* Σ w[i]·terms[i] over 1 to AE_MAX_IN scalar nodes, in order (one node; the weights are copied). */
ae_node *ae_weighted_sum(ae_graph *g, const char *name, ae_node *const *terms, const float *w,
                         int n, ae_err *err);
/* The same with each weight read through w[i] at every forward and backward: the weight's owner
 * changes it with one store (KL warm-up). */
ae_node *ae_weighted_sum_ref(ae_graph *g, const char *name, ae_node *const *terms, const float *const *w,
                             int n, ae_err *err);
/* The weight the weighted-sum node n gives its input i (NAN if none). */
float ae_weighted_sum_weight(const ae_node *n, int i);

/* Graph-wide op table (for `aelab list` and tests). */
extern const ae_op ae_op_dense, ae_op_activation, ae_op_reshape, ae_op_mse, ae_op_bce,
    ae_op_bce_logits, ae_op_weighted_sum;

/* The ops' compile pass (ae_op.plan of dense, conv, reshape and MSE; framework/ops/fuse.c): decides
 * for the whole graph which activations run as post-ops, which gradients arrive pre-multiplied
 * (ae_fusion), which dense layers run as a chain, and which outputs stay channel-blocked (blk). */
int ae_ops_plan(ae_graph *g, ae_err *err);

/* Light kernels shared by ops: y = act(x), dx (+)= dy·act'(y) from the output y (leaky ReLU at
 * AE_LEAKY_SLOPE; the _slope forms take its negative slope, >= 0). */
void ae_act_forward(ae_act a, const float *x, float *y, size_t n);
void ae_act_backward(ae_act a, const float *y, const float *dy, float *dx, size_t n, int accumulate);
void ae_act_forward_slope(ae_act a, float slope, const float *x, float *y, size_t n);
void ae_act_backward_slope(ae_act a, float slope, const float *y, const float *dy, float *dx, size_t n,
                           int accumulate);

/* Leaky ReLU's negative slope on a node that applies an activation (dense, conv2d,
 * conv_transpose2d, activation): the constructors set AE_LEAKY_SLOPE (PyTorch's 0.01); set another
 * one after construction and before compile. Kept in ae_node.fattr[AE_FATTR_SLOPE]. */
#define AE_FATTR_SLOPE 3
float ae_act_slope(const ae_node *n);
void ae_set_act_slope(ae_node *n, float slope);

#endif
