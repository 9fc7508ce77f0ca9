/* Convolution op constructors on oneDNN (convolution and deconvolution primitives): activations are
 * NCHW in the graph, or blocked between convs; each primitive may run in its own layout behind
 * cached reorders. */
#ifndef AE_CONV_H
#define AE_CONV_H

#include "ae_ops.h"

/* How a node's primitives lay out their tensors. AUTO (the default) chooses per primitive from
 * measured speed: oneDNN's blocked layouts (format_tag any) when both channel counts are >= 8; with
 * a few-channel side nhwc (the same bytes as nchw for 1 channel), or the gemm-based nchw kernel for
 * a transposed conv's forward to few channels. PLAIN forces nchw, BLOCKED format any. The graph's
 * tensors are NCHW, except a conv output that only convs and dense layers read (and the caller does
 * not: see ae_node.pinned): its value and gradient stay in the blocked layout its primitives share
 * (ae_node.blk), as does a dense output that a reshape passes to convs only (ops_dense.c). Other
 * layouts sit behind reorders made once at compile (small ones, the weights, as table gathers).
 * The bias never goes inside a primitive (it made oneDNN 2.6's AVX2 primitives 1.45-2.3x slower):
 * our own loop adds it, with the activation, on a channel-blocked output; otherwise a binary
 * primitive with the activation as post-op adds it on nchw. Without a bias the activation is a
 * fused post-op for blocked conv2d and a separate in-place eltwise primitive otherwise (fused
 * post-ops make the deconvolution and gemm convolution 2-10x slower). The backward applies the
 * activation's derivative in place, in the same pass as the bias gradient. */
typedef enum { AE_CONV_LAYOUT_AUTO, AE_CONV_LAYOUT_PLAIN, AE_CONV_LAYOUT_BLOCKED } ae_conv_layout;
/* The layout a compiled primitive runs in (ae_conv_node_layouts). */
enum { AE_CONV_STAGE_NCHW = 0, AE_CONV_STAGE_BLOCKED = 1, AE_CONV_STAGE_NHWC = 2 };

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
/* Layout copies up to this many bytes (the weights) are table gathers, larger ones oneDNN reorders
 * (0: always reorders). For nodes compiled from now on; tests run both. */
#define AE_CONV_GATHER_DEFAULT ((size_t)256 << 10)
void ae_conv_set_gather_limit(size_t bytes);
/* Batch blocks (issue 17, P3; on unless changed, for nodes compiled from now on): every stage of a
 * conv node runs in fixed blocks of the mini-batch (up to 32 images, as even as possible; a batch
 * under 64 in two), each block by one-thread primitives in the layouts the whole stage would use,
 * the blocks of a stage in one parallel region; backward-weights sums per-block partial gradients
 * in block order. The blocks follow from the batch alone: the same bytes for any thread count.
 * Off: each stage is one primitive on the node's threads (oneDNN's own split, whose
 * backward-weights reduction order depends on the thread count). */
void ae_conv_set_batch_blocks(int on);
/* After compile: the number of batch blocks n's stages run in (0: whole); *fwd_chained / *bwd_chained
 * (may be NULL) = 1 when n's forward runs in its input conv's region, its backward in its consumer's. */
int ae_conv_node_batch_blocks(const ae_node *n, int *fwd_chained, int *bwd_chained);
/* After compile: each primitive's AE_CONV_STAGE_* layout; -1 = not created. */
/* After compile: 1 when n's value and gradient are kept in oneDNN's channel-blocked layout (every
 * consumer is a conv and n is not pinned), not nchw. */
int ae_conv_node_blocked(const ae_node *n);
void ae_conv_node_layouts(const ae_node *n, int *fwd, int *bwd_data, int *bwd_weights);
/* Before n is compiled: the channel block (8, 16) of the layout n's forward would read its input
 * in, given the choice; 0 when it reads nchw or nhwc. A producer that can write that layout (a
 * dense layer through a reshape, ops_dense.c) sets its ae_node.blk to it. */
int ae_conv_input_block(const ae_node *n);

/* Output sizes (<= 0 when the input is too small for the kernel). */
int64_t ae_conv_out_size(int64_t in, int64_t k, int stride, int pad);
int64_t ae_conv_transpose_out_size(int64_t in, int64_t k, int stride, int pad, int output_padding);

extern const ae_op ae_op_conv2d, ae_op_conv_transpose2d;

#endif
