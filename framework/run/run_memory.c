/* The memory check before training: the biggest buffers a run will allocate (graph activations
 * and gradients, parameter gradients and optimizer state) against the memory still available. */
#include <stdio.h>

#include "ae_run.h"
#include "ae_sysmem.h"

int ae_run_check_memory(ae_run *r, ae_err *err)
{
    const ae_dataset *ev = r->test.n ? &r->test : &r->train;
    int64_t bs = r->tc.batch_size > 0 && (size_t)r->tc.batch_size < r->train.n ? r->tc.batch_size
                                                                             : (int64_t)r->train.n;
    int64_t eb = (size_t)r->eval_batch < ev->n ? r->eval_batch : (int64_t)ev->n;
    double train_f = 0, eval_f = 0;
    if (bs > 0 && ae_model_graph_floats(r->model, bs, AE_MODE_TRAIN, &train_f, err)) return err->code;
    if (eb > 0 && ae_model_graph_floats(r->model, eb, AE_MODE_EVAL, &eval_f, err)) return err->code;
    double params = (double)ae_params_count(ae_model_params(r->model)) * sizeof(float);
    /* still to come: the optimizer's two moments, the two graphs, the trainer's batch copy */
    double acts = (train_f + eval_f) * sizeof(float), state = 2 * params;
    double need = acts + state + (double)bs * (double)r->train.d * sizeof(float);
    const char *source;
    double avail = ae_mem_available(&source);
    if (avail < 0 || need <= avail) return AE_OK;
    /* already held: parameter values and gradients, the data */
    double held = 2 * params +
                  (double)(r->train.n * r->train.d + r->test.n * r->test.d + r->val.n * r->val.d) * sizeof(float);
    char a[32], b[32], c[32], d[32], e[32];
    return ae_errf(err, AE_EINPUT, "%s: not enough memory: training would need about %s more (activations "
                   "%s for a training batch of %lld and an evaluation batch of %lld, optimizer state %s) "
                   "besides the %s of parameters and data already loaded, but only %s is available (%s); "
                   "make the layers smaller or lower train.batch_size / outputs.eval_batch",
                   r->path, ae_human_bytes(need, a, sizeof a), ae_human_bytes(acts, b, sizeof b), (long long)bs, (long long)eb,
                   ae_human_bytes(state, c, sizeof c), ae_human_bytes(held, d, sizeof d), ae_human_bytes(avail, e, sizeof e), source);
}
