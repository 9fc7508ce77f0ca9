/* Shared by the ops that read logits (bce_logits in ops_loss.c, the per-row Bernoulli log-likelihood
 * in ops_iwae.c): softplus and sigmoid of the logits by oneDNN eltwise primitives into graph scratch. */
#ifndef AE_LOGITS_INTERNAL_H
#define AE_LOGITS_INTERNAL_H

#include "ae_ops.h"

typedef struct logit_aux {
    ae_eltwise softplus, sigmoid; /* sigmoid only when the logits need a gradient */
    float *sp, *sg;               /* their outputs (graph scratch, logits->numel floats each) */
} logit_aux;

int logit_aux_init(logit_aux *a, ae_graph *g, const ae_node *logits, ae_err *err);
void logit_aux_destroy(logit_aux *a);

#endif
