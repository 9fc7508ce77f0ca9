/* Re-opening a run folder: config.yaml → data + model, checkpoint.aelab → parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_checkpoint.h"
#include "ae_report.h"
#include "ae_run.h"

int ae_run_open(ae_run *r, const char *run_dir, const ae_run_opts *o, ae_err *err)
{
    char cfg[4200], ck[4200];
    ae_path_join(cfg, sizeof cfg, run_dir, "config.yaml");
    ae_path_join(ck, sizeof ck, run_dir, "checkpoint.aelab");
    ae_run_opts ro = *o;
    ro.out_dir = run_dir;
    if (ae_run_prepare(r, cfg, &ro, err)) return err->code;
    ae_optim opt;
    ae_trainer tr;
    memset(&tr, 0, sizeof tr);
    double *losses = calloc((size_t)r->tc.epochs + 1, sizeof *losses);
    long nl = 0;
    int rc = losses ? ae_optim_init(&opt, &r->oc, ae_model_params(r->model), err)
                    : ae_errf(err, AE_EINTERNAL, "out of memory");
    if (!rc) rc = ae_trainer_init(&tr, r->model, &r->train, &r->tc, &opt, r->rng, err);
    if (!rc) rc = ae_checkpoint_load(ck, ae_config_hash(r->root), &tr, losses, &nl, err);
    ae_trainer_free(&tr);
    if (losses) ae_optim_free(&opt);
    free(losses);
    return rc;
}
