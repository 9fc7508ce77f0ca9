/* Convolution op constructors on oneDNN (convolution and deconvolution primitives): activations are
 * plain NCHW in the graph; each primitive may run in a blocked layout behind cached reorders. */
#ifndef AE_CONV_H
#define AE_CONV_H

#include "ae_ops.h"

/* How a node's primitives lay out their tensors. AUTO (the default) chooses per node from measured
 * speed: oneDNN's blocked layouts (format_tag any) when both channel counts are >= 8, plain
 * nchw/oihw otherwise (a 1-channel side is padded to a whole block and runs 3-8x slower). The
 * graph's tensors stay NCHW: blocked primitives sit behind reorders made once at compile, and a
 * conv reading another conv's output takes its blocked copy directly. The activation is a fused
 * post-op for blocked conv2d and a separate in-place eltwise primitive otherwise (fused post-ops
 * make oneDNN 2.6's deconvolution and gemm convolution 2-10x slower). */
typedef enum { AE_CONV_LAYOUT_AUTO, AE_CONV_LAYOUT_PLAIN, AE_CONV_LAYOUT_BLOCKED } ae_conv_layout;

/* y[N,Cout,Ho,Wo] = act(conv(x[N,Cin,H,W], w) + b) with w[Cout,Cin,kh,kw] (PyTorch Conv2d layout),
 * b[Cout] or NULL; Ho = (H + 2·pad - kh)/stride + 1 (likewise Wo). */
ae_node *ae_conv2d(ae_graph *g, const char *name, ae_node *x, ae_node *w, ae_node *b, int stride,
                   int pad, ae_act act, ae_err *err);
/* Transposed convolution (the gradient of conv2d w.r.t. its input): w[Cin,Cout,kh,kw] (PyTorch
 * ConvTranspose2d layout), Ho = (H-1)·stride - 2·pad + kh + output_padding, 0 <= output_padding
 * < stride (the extra rows/columns go to the bottom/right, as in PyTorch). */
ae_node *ae_conv_transpose2d(ae_graph *g, const char *name, ae_node *x, ae_node *w, ae_node *b,
                             int stride, int pad, int output_padding, ae_act act, ae_err *err);

/* Layout policy for nodes constructed from now on (process-wide; AUTO unless changed). */
void ae_conv_set_layout(ae_conv_layout l);
ae_conv_layout ae_conv_get_layout(void);
/* After compile: which primitives of a conv node run blocked (1) or plain (0); -1 = not created. */
void ae_conv_node_layouts(const ae_node *n, int *fwd, int *bwd_data, int *bwd_weights);

/* Output sizes (<= 0 when the input is too small for the kernel). */
int64_t ae_conv_out_size(int64_t in, int64_t k, int stride, int pad);
int64_t ae_conv_transpose_out_size(int64_t in, int64_t k, int stride, int pad, int output_padding);

extern const ae_op ae_op_conv2d, ae_op_conv_transpose2d;

#endif
