/* Optimizers over a parameter store: SGD (momentum, Nesterov), Adam, AdamW and Adagrad with
 * PyTorch's update rules and defaults, one vectorised pass over the contiguous parameter buffer. */
#ifndef AE_OPTIM_H
#define AE_OPTIM_H

#include "ae_params.h"

typedef enum { AE_OPT_SGD, AE_OPT_ADAM, AE_OPT_ADAMW, AE_OPT_ADAGRAD } ae_opt_kind;
extern const char *const ae_opt_names[]; /* "sgd", "adam", "adamw", "adagrad", NULL */

typedef struct ae_optim_cfg {
    ae_opt_kind kind;
    double lr;            /* the current learning rate (a schedule rewrites it every epoch) */
    double momentum;      /* sgd; default 0 */
    int nesterov;         /* sgd */
    double beta1, beta2;  /* adam(w); default 0.9, 0.999 */
    double eps;           /* adam(w): default 1e-8; adagrad: 1e-10 */
    double weight_decay;  /* sgd/adam/adagrad: L2 added to the gradient; adamw: decoupled;
                             default 0 (adamw: 0.01) */
    double lr_decay;      /* adagrad: step t uses lr / (1 + (t - 1)·lr_decay); default 0 */
    double initial_accumulator_value; /* adagrad: the sum of squared gradients starts here; 0 */
    double clip_norm;     /* > 0: clip the global gradient norm first */
} ae_optim_cfg;

typedef struct ae_optim {
    ae_optim_cfg cfg;
    ae_params *ps;
    float *m, *v;         /* state, ps->total floats each: sgd m (momentum); adam(w) m, v
                             (moments); adagrad v (the sum of squared gradients, m unused) */
    long step;
    float step_size, bc2_sqrt; /* this step's scalars (ae_optim_begin) */
} ae_optim;

void ae_optim_defaults(ae_optim_cfg *c, ae_opt_kind kind);
int ae_optim_init(ae_optim *o, const ae_optim_cfg *cfg, ae_params *ps, ae_err *err);
/* One update from the gradients in ps->grad. Returns the gradient norm before clipping when
 * clipping is on (else 0); NaN/Inf when a gradient is not finite (the parameters are then
 * damaged: stop, the last checkpoint is the good state). */
double ae_optim_step(ae_optim *o);
/* The same step in pieces, for an update fused into the backward (ae_graph_backward_update), only
 * when ae_optim_fusable (no clipping: no global norm is needed before the first update): begin
 * counts the step and computes its scalars; update runs it on elements [lo, hi) of parameter
 * `param` (with its padding when hi is its end; any thread, each element once; 1 when a gradient
 * there is not finite: an ae_update's fn); finish updates every
 * trainable parameter whose `done` entry is 0 (done NULL: all) and returns as ae_optim_step does
 * (the caller adds the updates' verdict). Same formula per element: the same bits as one step. */
int ae_optim_fusable(const ae_optim *o);
void ae_optim_begin(ae_optim *o);
int ae_optim_update(void *o, int param, size_t lo, size_t hi);
double ae_optim_finish(ae_optim *o, const unsigned char *done);
void ae_optim_free(ae_optim *o);

#endif
