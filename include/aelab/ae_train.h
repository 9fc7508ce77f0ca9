/* The training loop (shuffled mini-batches gathered in one copy, forward, backward, optimizer
 * step, NaN/Inf stop naming epoch, batch and term) and evaluation over a whole dataset. */
#ifndef AE_TRAIN_H
#define AE_TRAIN_H

#include "ae_data.h"
#include "ae_model.h"
#include "ae_optim.h"
#include "ae_schedule.h"

typedef struct ae_train_cfg {
    long epochs;
    long batch_size;      /* 0 = full batch */
    int shuffle;
    int progress;         /* 1 = show progress on stderr */
    ae_schedule schedule; /* the optimizer's lr per epoch (zeroed: constant); checked */
} ae_train_cfg;

typedef struct ae_epoch_stats {
    long epoch;
    double loss;                      /* sample-weighted mean of the batch losses (before updates) */
    int nterms;
    char term_name[AE_MAX_TERMS][32];
    double term[AE_MAX_TERMS];        /* each term's sample-weighted mean (unweighted value) */
    double seconds, samples_per_s;
} ae_epoch_stats;

/* Called after each epoch; a non-OK return stops training with that error. */
typedef int (*ae_epoch_fn)(void *ctx, const ae_epoch_stats *st, ae_err *err);

typedef struct ae_trainer {
    ae_model *model;
    const ae_dataset *data;
    ae_train_cfg cfg;
    ae_optim *opt;
    double base_lr;       /* opt->cfg.lr at init: the schedule's base (opt->cfg.lr is the epoch's) */
    ae_rng *rng;
    size_t *order;        /* sample order of the current epoch */
    long epoch;           /* epochs completed */
    long next_batch;      /* 0 = the next epoch starts fresh (shuffle); else resume there */
    ae_epoch_stats part;  /* sums of the epoch in progress (mid-epoch stop and resume) */
    volatile int *stop;   /* set asynchronously (signals): finish the batch, return AE_EINTERRUPTED */
} ae_trainer;

int ae_trainer_init(ae_trainer *t, ae_model *m, const ae_dataset *data, const ae_train_cfg *cfg,
                    ae_optim *opt, ae_rng *rng, ae_err *err);
void ae_trainer_free(ae_trainer *t);
/* Runs from (t->epoch, t->next_batch) to cfg.epochs, setting t->opt->cfg.lr to the schedule's
 * value at the start of every epoch (resumed mid-epoch too); epoch e's batches are read with
 * ae_dataset_gather at pass e (its draw of a dynamic binarization, the same on resume).
 * Diverged: AE_EDIVERGED "epoch E, batch B: loss term 'recon' is nan". When *t->stop becomes set it
 * finishes the batch and returns
 * AE_EINTERRUPTED with the state consistent (t->epoch, t->next_batch, t->part) for a checkpoint. */
int ae_train(ae_trainer *t, ae_epoch_fn on_epoch, void *ctx, ae_err *err);

/* Whole-dataset evaluation in batches (no gradients). */
typedef struct ae_eval {
    double mse, bce;          /* per element, recon vs clean x (bce clamped like PyTorch; NaN
                                 when the data is not in [0, 1]) */
    double loss;              /* the training objective's value (mean over samples) */
    int nterms;
    char term_name[AE_MAX_TERMS][32];
    double term[AE_MAX_TERMS];
    double mean_code_act;     /* mean |code| activation */
    double noisy_mse;         /* AE_MODE_EVAL_NOISY: MSE of the corrupted input itself */
} ae_eval;
/* The rows are read through ae_dataset_gather at ds->pass (a dynamic binarization's draw; the errors
 * compare with those drawn rows), as are ae_encode's and ae_vae_nll's. */
int ae_evaluate(ae_model *m, const ae_dataset *ds, ae_mode mode, long batch, ae_eval *out, ae_err *err);
/* Codes (n x code_size; mu for a gaussian latent) and reconstructions (n x d) of the first n rows;
 * either output may be NULL. */
int ae_encode(ae_model *m, const ae_dataset *ds, size_t n, ae_mode mode, long batch, float *codes,
              float *recon, ae_err *err);
/* Per-sample anomaly scores of ds's rows into out[0..ds->n) (higher = more anomalous), computed
 * batch rows at a time on the evaluation graph (rows read at ds->pass): the objective's own score
 * when it has one (ae_objective_ops.score: Deep SVDD's ||code - c||^2), else the reconstruction
 * error summed over the row's features, sum_j (recon_j - x_j)^2 in double (Ruff et al. 2018's DCAE
 * baseline). */
int ae_anomaly_scores(ae_model *m, const ae_dataset *ds, long batch, double *out, ae_err *err);
/* The objective's preparation before a new run's first epoch (ae_objective_ops.prepare; nothing when
 * it has none): the codes of ds's rows in evaluation mode (batch rows at a time), handed to it once
 * (Deep SVDD places its centre at their mean). */
int ae_objective_prepare(ae_model *m, const ae_dataset *ds, long batch, ae_err *err);

#endif
