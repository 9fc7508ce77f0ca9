/* Shared by the ops that read logits (bce_logits in ops_loss.c, the per-row Bernoulli log-likelihood
 * in ops_iwae.c): softplus and sigmoid of the logits by oneDNN eltwise primitives into graph scratch. */
#ifndef AE_LOGITS_INTERNAL_H
#define AE_LOGITS_INTERNAL_H

#include <stdint.h>

#include "ae_ops.h"
#include "ae_par.h"

typedef struct logit_aux {
    ae_eltwise softplus, sigmoid; /* sigmoid only when the logits need a gradient */
    float *sp, *sg;               /* their outputs (graph scratch, logits->numel floats each) */
} logit_aux;

int logit_aux_init(logit_aux *a, ae_graph *g, const ae_node *logits, ae_err *err);
void logit_aux_destroy(logit_aux *a);

/* A bce_logits loss in the row blocks of the split dense chain that makes its logits, or in the
 * batch blocks of the conv that does (fuse.c's plan_bcel; loss_chain.c): per-thread softplus and
 * sigmoid primitives for a block's rows, and the sums of the loss's chunks (ae_par_sum_chunks) that
 * lie in one block, made there. */
typedef struct chain_tail {
    const float *z;       /* the logits */
    float *sp, *sg;       /* their softplus and sigmoid (the logit_aux buffers) */
    int64_t rows, m;      /* rows per block (the last may have fewer), logits per row */
    int nthr;             /* threads with their own primitives */
    ae_eltwise *esp, *esg; /* [thread][full block, last block] */
    size_t total, nc;     /* logits; chunks of the sum */
    double *part;         /* their sums */
    unsigned char *inblk; /* 1: the chunk lies in one block, whose forward sums it */
    float c;              /* the gradient's scale, left by the loss's backward */
} chain_tail;

int chain_tail_init(chain_tail **ct, logit_aux *lx, ae_graph *g, const ae_node *loss, ae_err *err);
void chain_tail_destroy(chain_tail *ct);
/* Block [r0, r0 + r) on thread t: softplus of its logits, then f over each chunk in it. */
void chain_tail_fwd(chain_tail *ct, int64_t r0, int64_t r, int t, ae_chunk_sum_fn f, void *ctx);
/* The sum: f over the chunks no block summed, then every chunk's part in order (ae_par_sum's bits). */
double chain_tail_sum(chain_tail *ct, size_t n, ae_chunk_sum_fn f, void *ctx);
/* Block [r0, r0 + r) on thread t: sigmoid of its logits, then g over its elements. */
void chain_tail_bwd(chain_tail *ct, int64_t r0, int64_t r, int t, ae_chunk_fn g, void *ctx);
/* ops_loss.c: the loss's part of a block (called by the chain's last layer, ops_dense.c, or the
 * conv's blocks, conv_run.c). */
void bcel_chain_fwd(ae_node *loss, int64_t r0, int64_t r, int t);
void bcel_chain_bwd(ae_node *loss, int64_t r0, int64_t r, int t);

#endif
