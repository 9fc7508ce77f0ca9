/* The in-order runner: this process's jobs one after the other, here (the default, --jobs 1). */
#include "ae_experiment.h"
#include "experiment_internal.h"

static int exec_seq(const ae_experiment *e, const ae_experiment_opts *o, ae_err *err)
{
    ae_exp_handlers h;
    ae_exp_catch_signals(&h);
    int rc = AE_OK;
    for (size_t i = 0; i < e->njobs && rc == AE_OK; i++) {
        if (!ae_experiment_in_shard(o, i)) continue;
        if (ae_exp_signalled()) {
            rc = ae_exp_interrupted(err, " before the next run started");
            break;
        }
        ae_exp_set_in_job(1);
        rc = ae_experiment_run_job(e, i, o, o->run.threads, err); /* the first failure in job order: */
        ae_exp_set_in_job(0);                                     /* nothing after it starts */
    }
    ae_exp_restore_signals(&h);
    return rc;
}

const ae_exp_runner ae_exp_runner_seq = {"sequential", exec_seq, ae_exp_writes_report};
