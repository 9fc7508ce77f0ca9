/* Normalisation, pooling and resampling op constructors for image (and dense) layers: batch norm
 * and max-pooling on oneDNN primitives, nearest-neighbour upsampling as a plain copy. Inputs and
 * outputs are row-major (NCHW): these ops are not conv or dense, so the compile pass keeps their
 * neighbours' tensors plain (fuse.c). */
#ifndef AE_NORM_H
#define AE_NORM_H

#include "ae_ops.h"

/* y = gamma·(x - mean)/sqrt(var + eps) + beta per channel: PyTorch's BatchNorm1d on x [N, C],
 * BatchNorm2d on x [N, C, H, W] (statistics over N, or N·H·W). In a training graph mean and var are
 * the batch's (the biased var normalises) and every forward updates the running statistics,
 * rmean = (1 - momentum)·rmean + momentum·mean and rvar likewise with the unbiased var·m/(m - 1)
 * (m values per channel; a training graph with m = 1 is refused at compile, as PyTorch refuses
 * it; in a graph with several batch norms on the same running statistics — copies of a layer
 * built for a penalty or a multi-sample objective — the first one updates them); any other graph
 * normalises with rmean and rvar. gamma and beta are [C] parameters, or both
 * NULL (affine: false); rmean and rvar are [C] parameters of the STATE kinds (ae_params.h), which
 * no backward writes. Gradients flow to x, gamma and beta. */
ae_node *ae_batch_norm(ae_graph *g, const char *name, ae_node *x, ae_node *gamma, ae_node *beta,
                       ae_node *rmean, ae_node *rvar, float momentum, float eps, ae_err *err);

/* PyTorch's MaxPool2d on x [N, C, H, W]: Ho = (H + 2·pad - kernel)/stride + 1 (floor; likewise Wo),
 * padding counts as -inf, pad <= kernel/2. The gradient goes to each window's arg-max (oneDNN's
 * workspace; the first maximum in the window on ties). */
ae_node *ae_max_pool2d(ae_graph *g, const char *name, ae_node *x, int kernel, int stride, int pad,
                       ae_err *err);
int64_t ae_pool_out_size(int64_t in, int kernel, int stride, int pad); /* <= 0: input too small */

/* PyTorch's Upsample(scale_factor = scale, mode = 'nearest') on x [N, C, H, W]: y [N, C, H·scale,
 * W·scale], y[.., i, j] = x[.., i/scale, j/scale]; the gradient sums each scale×scale block. */
ae_node *ae_upsample_nearest(ae_graph *g, const char *name, ae_node *x, int scale, ae_err *err);

extern const ae_op ae_op_batch_norm, ae_op_max_pool2d, ae_op_upsample;

#endif
