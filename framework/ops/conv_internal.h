/* Shared by the conv op's files: a compiled node's stages (a oneDNN primitive with the reorders that
 * feed it and write its results back), memory binding between the graph's layouts and a primitive's,
 * and the bias loops. */
#ifndef AE_CONV_INTERNAL_H
#define AE_CONV_INTERNAL_H

#include "ae_conv.h"
#include "ae_dnnl.h"

/* The conv ops' integer attributes (ae_node.iattr). */
enum { CONV_ACT, CONV_KIND, CONV_STRIDE, CONV_PAD, CONV_OPAD, CONV_LAYOUT, CONV_NATTR };

/* A layout copy: a oneDNN reorder, or for small tensors (the weights) a gather through a table of
 * source offsets (`from`, one per element of `to`, -1 on padding), made once. */
typedef struct conv_xfer {
    dnnl_primitive_t r;
    dnnl_memory_t from, to;
    int32_t *from_off;
    int64_t n;
    int accumulate;
} conv_xfer;

typedef struct conv_blocks conv_blocks;

/* One primitive with the reorders that feed it and write its results back. */
typedef struct conv_stage {
    dnnl_primitive_t p;
    dnnl_primitive_t act;  /* unfused activation, in place on act_mem (the primitive's dst) */
    dnnl_primitive_t bias; /* forward: dst += bias (broadcast over N, H, W), activation post-op */
    dnnl_memory_t act_mem, bias_mem;
    dnnl_exec_arg_t args[6];
    int nargs, layout;     /* AE_CONV_STAGE_* */
    int late;              /* bias runs on the graph's nchw output, after the write-back reorders */
    const float *bias_c;   /* bias added by our loop, with the activation, on the channel-blocked dst */
    float *bias_dst;       /* that dst: bias_sh, blocks of bias_blk channels */
    ae_shape bias_sh;
    int bias_blk;
    ae_act bias_act;
    float bias_slope;
    conv_xfer pre[3], post[2];
    int npre, npost;
    conv_blocks *blocks;   /* the stage in fixed blocks of the mini-batch (conv_blocks.c), or NULL */
} conv_stage;

#define CONV_MAX_MEM 24
typedef struct conv_state {
    conv_stage fwd, bwd_d, bwd_w;
    dnnl_memory_t mem[CONV_MAX_MEM]; /* every memory object, destroyed with the node */
    int nmem;
    /* a user tensor's copy in a primitive's layout, reused by a later stage that wants the same */
    struct { dnnl_memory_t user, copy; } alias[8];
    int nalias;
    float *dz; /* the node's grad, turned into dY·act'(Y) in place by the backward */
    float *db; /* the bias gradient (summed from dz here), NULL when not needed */
    int db_accum;
    /* n->val and n->grad live in val_md, oneDNN's channel-blocked layout with `blk` channels per
     * block (every consumer is a conv that reads it as is), instead of nchw */
    int priv, blk;
    dnnl_memory_desc_t val_md;
    /* batch blocks (conv_run.c): how many, the bias-gradient partials (nbk x C), the conv whose
     * forward runs in this node's region (fnext) or whose backward does (bprev), and whether this
     * node's forward / backward runs in another's */
    int nbk;
    float *dbp;
    ae_node *fnext, *bprev;
    int fchained, bchained;
} conv_state;

/* ops_conv.c, for the compile pass (fuse.c): the forward stage's layout (AE_CONV_STAGE_*); whether
 * a primitive of that layout takes the activation as a post-op; the channel block of the output as
 * the node's forward primitive lays it out (0: not channel-blocked), given the plan so far. */
int conv_fwd_layout(const ae_node *n);
int conv_fuse_act(int transposed, int layout, ae_act act);
int conv_out_block(const ae_node *n, int *blk, ae_err *err);

/* conv_make.c: the output shape (ae_op.infer) of both conv ops. */
int conv_infer(ae_node *n, ae_err *err);

/* ops_conv.c: stage `which`'s primitive descriptor (0 forward, 1 backward-data, 2 backward-weights)
 * for a block of x->dims[0] images, in the layouts given: x src (diff_src), w weights (diff_weights),
 * y dst (diff_dst). */
int conv_block_pd(const ae_node *n, int which, const dnnl_memory_desc_t *x, const dnnl_memory_desc_t *w,
                  const dnnl_memory_desc_t *y, dnnl_primitive_desc_t *pd, ae_err *err);

/* conv_blocks.c: a prepared stage run in fixed blocks of the mini-batch (conv_block_rows images
 * each, from the batch alone), one-thread primitives in the stage's layouts, the blocks of a stage
 * in one region; backward-weights into per-block partials summed in block order. make sets
 * st->blocks (left NULL when a tensor's layout cannot be cut by images: the stage runs whole), blocks
 * run on up to `threads` threads;
 * run = before, every block (ae_par_blocks), after. */
int64_t conv_block_rows(int64_t batch);
int conv_blocks_on(void);
/* conv_make_attr's post-ops with a user-managed scratchpad (each thread passes its own). */
dnnl_status_t conv_block_attr(int sum, ae_act act, float slope, dnnl_primitive_attr_t *attr);
int conv_blocks_make(ae_graph *g, const ae_node *n, conv_stage *st, int which, int threads, ae_err *err);
void conv_blocks_run(const conv_blocks *k);
void conv_blocks_before(const conv_blocks *k);
void conv_blocks_run_block(const conv_blocks *k, size_t b, int thread);
void conv_blocks_after(const conv_blocks *k);
int conv_blocks_count(const conv_blocks *k);
int conv_blocks_threads(const conv_blocks *k);
void conv_blocks_destroy(conv_blocks *k);

/* conv_run.c: links and buffers at the end of a node's prepare; a node's forward / backward in
 * batch blocks with its chain (0: the node has no blocks there, run it whole). */
int conv_run_prepare(ae_graph *g, ae_node *n, ae_err *err);
/* The threads n's blocks run on; a BCE loss planned into n's blocks (fuse.c's plan_bcel) left to run
 * on its own when n's forward or backward does not run in blocks after all (end of n's prepare). */
int conv_run_threads(const ae_node *n);
void conv_run_check_tail(ae_node *n);
int conv_run_forward(ae_node *n);
int conv_run_backward(ae_node *n);

/* conv_bind.c */
const dnnl_memory_desc_t *conv_md_of(dnnl_memory_t m);
dnnl_memory_t conv_track(conv_state *s, const dnnl_memory_desc_t *md, void *p, ae_err *err);
dnnl_alg_kind_t conv_act_alg(ae_act a);
float conv_act_alpha(ae_act a, float slope); /* oneDNN's alpha of that algorithm */
dnnl_status_t conv_make_attr(int sum, ae_act act, float slope, dnnl_primitive_attr_t *attr);
int conv_bind_in(ae_graph *g, conv_state *s, conv_stage *st, int arg, const dnnl_memory_desc_t *want,
                 dnnl_memory_t user, ae_err *err);
int conv_bind_out(ae_graph *g, conv_state *s, conv_stage *st, int arg, const dnnl_memory_desc_t *want,
                  dnnl_memory_t user, int accumulate, ae_err *err);
/* The channel block of a dense nChw{8,16}c layout of `dims` (numel-sized, no padding), else 0. */
int conv_channel_block(const dnnl_memory_desc_t *md);
void conv_run_xfer(const conv_xfer *x);
/* Entries [lo, hi) of a table gather's destination (a block of images when both layouts keep
 * images outermost). */
void conv_run_gather(const conv_xfer *x, int64_t lo, int64_t hi);
void conv_xfer_destroy(conv_xfer *x);

/* conv_bias.c: y[n, c, h, w] = act(y + b[c]) in place, y channel-blocked by blk; g = g·act'(y) in
 * place and db[c] (+)= Σ over n, h, w of g (nchw when blk is 1), in a fixed order: the same bits for
 * any thread count. */
void conv_bias_act_blocked(float *y, ae_shape sh, int blk, const float *b, ae_act act, float slope);
void conv_act_bias_grad(ae_act act, float slope, const float *y, float *g, ae_shape sh, int blk, float *db,
                        int accumulate);

#endif
