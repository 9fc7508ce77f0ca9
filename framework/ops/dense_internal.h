/* Internal to the dense op: its compiled state (ops_dense.c) and the channel-blocked inputs and
 * outputs at the conv/dense boundary (dense_blocked.c). */
#ifndef AE_DENSE_INTERNAL_H
#define AE_DENSE_INTERNAL_H

#include <stdint.h>

#include "ae_ops.h"

/* Row blocks of a big batch have at least this many rows (ops_dense.c): a batch of no more rows
 * runs as one block, or split (dense_chain_rows). */
#define DENSE_MIN_BLOCK_ROWS 256

/* The dense op's integer attributes (ae_node.iattr). */
enum { DENSE_ACT, DENSE_NATTR };

/* One matmul over a block of rows: a primitive per thread for the full blocks and one for the last
 * block (fewer rows); the operands that move with the block are rebound before each run. */
typedef struct bmm {
    ae_matmul *mm; /* [thread][full block, last block] */
} bmm;

typedef struct dense_state {
    int64_t n, k, m;
    int64_t rows;     /* per block (the last block may have fewer) */
    int nb, nthr;     /* blocks; threads with their own primitives and scratch (ae_par_blocks cap) */
    int split;        /* a small batch in row blocks (dense_chain_rows): no per-block dW partials,
                         every dZ kept whole in n->grad, dW by row slices (dense_split.c) */
    int64_t srows;    /* split: rows of dW per slice (the last may have fewer) */
    int ns;           /* split: slices */
    ae_matmul *dws;   /* split, defer: [thread][full slice, last slice] dW[j0:j1] = dZ[:, j0:j1]ᵀ·X */
    int sthr;         /* threads with dws primitives */
    ae_matmul *fh;    /* a paired forward (dense_pair_prepare): the product's two halves */
    ae_matmul *dxh;   /* a paired dX (dense_dx_pair_prepare): its two row halves */
    int defer;        /* a one-thread layer in one block: its dW and db run as tasks after the
                         backward walk (dense_defers) */
    int wfin, bfin;   /* the layer reports W's, b's final gradient ranges (dense_final_prepare) */
    int64_t mw;       /* output columns of the plain forward product; the rest are narrow */
    bmm fwd;          /* Y[:, :mw] = X·W[:mw]ᵀ + b, ReLU fused */
    bmm fnar;         /* Y[:, mw:]ᵀ = W[mw:]·Xᵀ, into tbuf */
    bmm dx;           /* dX = dZ·W */
    bmm dxnar;        /* dXᵀ = Wᵀ·dZᵀ, into tbuf (narrow inputs) */
    bmm dw;           /* the block's dW partial: dZᵀ·X, or its transpose Xᵀ·dZ when dw_t; with a
                         single block, dW itself (accumulating as the graph says) */
    ae_eltwise *tanh; /* [thread][full, last]: tanh forward (oneDNN's vectorised eltwise) */
    float *tbuf;      /* per thread: a transposed narrow product (cols x rows) */
    float *gbuf;      /* per thread: this layer's dZ block, made by the next layer of a chain */
    float *dwp;       /* nb partial dW, [m,k] each ([k,m] when dw_t); NULL with a single block */
    float *dbp;       /* nb partial db, [m] each */
    int dw_t;         /* see dw_transposed */
    int dz_ready;     /* dY arrives as dZ (ae_fusion.dz_ready) */
    int mask_dx;      /* this node's dX is a ReLU producer's dY: mask it into that node's dZ */
    int depth;        /* dense layers before this one; sets the sweep direction when not fused */
    int fused;        /* in a chain: its first layer runs every forward, its last every backward */
    ae_node *prev, *next; /* neighbours in the chain */
    int32_t *kperm;   /* input column j is feature kperm[j] (X kept channel-blocked), or NULL */
    int64_t kc, khw;  /* with kperm: X's channels and pixels, kblk channels per block */
    int kblk;
    int32_t *mperm;   /* output column j is unit mperm[j] (Y written channel-blocked), or NULL */
    float *wv, *wg;   /* W and dW as the products see them: the parameter's, or permuted copies */
    float *bv, *bg;   /* likewise b and db */
    int units;        /* a split chain run by output units (dense_units.c): the fields below */
    int np;           /* parts of the units, one per graph thread */
    int64_t *ucut;    /* np + 1 column boundaries of the parts */
    int64_t *kcut;    /* the chain's first layer, input with a gradient: its columns' parts */
    ae_matmul *uf, *uw, *ud; /* per part: Y[:, U] = X·W[U]ᵀ + b[U]; dW[U] = dZ[:, U]ᵀ·X; P_u = dZ[:, U]·W[U] */
    float *up;        /* np partial dX, [n, k] each (a layer whose input needs a gradient) */
    float *uy, *uz;   /* per part Y[:, U] and dZ[:, U], dense [n, c] each, in part order */
    ae_eltwise *ut;   /* per part: tanh on its Y[:, U] */
} dense_state;

/* dense_blocked.c: set up kperm/mperm (from the planned layouts, ae_node.blk) and wv, wg, bv, bg; refresh the permuted W
 * and b before a forward; add dW and db back into the parameters' gradients after a backward. */
int dense_blocked_io(ae_graph *g, ae_node *n, ae_err *err);
int dense_permuted(const dense_state *s);
void dense_permute_params(ae_node *n);
void dense_unpermute_grads(ae_node *n);

/* Rows per block of n's chain (n alone when not chained): a function of the layer widths and the
 * batch alone; the batch runs as one block when it has no more rows. *split: a batch that would fit
 * one block, split in row blocks because the graph has threads (> 1) and the chain's products are
 * worth a second one (ops_dense.c). One thread keeps the whole batch: row blocks of 50-64 rows cost
 * 4-11% more per product on one core (measured, Zen 5). */
int64_t dense_chain_rows(const ae_node *n, int threads, int *split);
/* One product (forward, dX or dW) of the layer: 2·batch·k·m. */
double dense_product_flops(const ae_node *n);
/* out[j] = Σ_i z[i·m + j] over `rows` rows, in a fixed order (ops_dense.c). */
void dense_colsum(const float *restrict z, int64_t rows, int64_t m, float *restrict out);

/* dense_units.c: a split chain, or a split fork's parent and heads (fuse.c's plan_fork), run by output
 * units when every layer allows it (plain layout, ReLU, sigmoid, tanh or identity, no empty part; not
 * under AELAB_NO_UNITS): one region
 * a pass, a barrier a layer; each part of a layer's units its own W rows (and so their gradients and
 * optimizer state) on one thread, dX as the parts' terms summed in part order. The bits depend on
 * the number of parts (the graph's threads), not on which thread runs a part. */
int dense_units_chain(const ae_node *n, int threads);
/* The first of part u's columns of m in `parts` parts (m for u = parts): multiples of 16 but the last
 * (ops_contractive.c shares its W rows and h columns out by the same cut). */
int64_t dense_units_cut(int64_t m, int parts, int u);
int dense_units_prepare(ae_graph *g, ae_node *n, int parts, ae_err *err);
void dense_units_forward(ae_node *head);
void dense_units_backward(ae_node *last);
void dense_units_destroy(dense_state *s);

/* dense_split.c: a split chain's dW and db over the whole batch, after its row blocks' backward:
 * fixed slices of dW's rows and one db task per layer, in one region. */
int dense_split_prepare(ae_node *n, int threads, ae_err *err);
void dense_split_dw(ae_node *last);
/* dense_split.c: the member after n of the split group whose backward top runs, in task order: a
 * chain's layer before n (fused chains), or after a fork's parent its later reader, then the other. */
ae_node *dense_member_after(const ae_node *top, const ae_node *n);
void dense_split_destroy(dense_state *s);
/* dense_split.c: whether a layer defers its dW and db (ae_op.tasks): one block, one thread, sole
 * writer of its parameters' gradients in the plain layout; the tasks are the same product and
 * column sums its backward would run, so the bits do not change. */
int dense_defers(const ae_node *n);
/* dense_split.c: at prepare, after the layer's mode is known: whether it reports its parameters'
 * final gradient ranges (ae_graph_param_final; sole writer, plain layout, overwritten), then
 * marks those parameter nodes (ae_node.final_ranges). dense_final reports them after a backward
 * that is not split or deferred (those report theirs from their tasks). */
void dense_final_prepare(ae_node *n);
/* dense_split.c: a one-block, one-thread layer's forward product in two column halves, the second
 * for another thread of a step's region (ae_graph_pair), when the graph has threads and the product
 * is big enough; dense_fwd_pair runs them (the same products, the same bits as the whole one). */
int dense_pair_prepare(ae_node *n, int threads, ae_err *err);
void dense_fwd_pair(ae_node *n);
int dense_dx_pair_prepare(ae_node *n, int threads, ae_err *err);
void dense_dx_pair(ae_node *n);
void dense_final(ae_node *n);
int dense_tasks(const ae_node *n);
void dense_task(ae_node *n, int i, int thread);

/* ops_latent.c: elements [lo, hi) of a gaussian corruption or a reparameterisation whose values the
 * split chain reading it makes in its row blocks (fuse.c's plan_noise), right before its first product. */
void noise_chain_rows(const ae_node *noise, size_t lo, size_t hi);

/* plan_threads.c: ae_node.threads of the dense and conv layers (from their FLOPs), run by fuse.c's
 * compile pass once the chains are known. */
void ops_plan_threads(ae_graph *g);

#endif
