/* Learning-rate schedules (`train.schedule`): the lr of an epoch is a pure function of the epoch
 * number, so a resumed run needs no schedule state: constant, steps, exponential, cosine, stages. */
#ifndef AE_SCHEDULE_H
#define AE_SCHEDULE_H

#include "ae_config.h"
#include "ae_schema.h"

#define AE_SCHED_MAX 64 /* list entries (steps) and stages */

typedef enum { AE_SCHED_CONSTANT, AE_SCHED_STEPS, AE_SCHED_EXPONENTIAL, AE_SCHED_COSINE, AE_SCHED_STAGES } ae_sched_kind;
extern const char *const ae_sched_names[]; /* "constant", "steps", "exponential", "cosine", "stages", NULL */

typedef struct ae_schedule {
    int kind;                 /* ae_sched_kind */
    /* steps, as written (one of milestones / durations, one of lr / factors) */
    int nmilestones, ndurations, nlr, nfactors;
    long milestones[AE_SCHED_MAX], durations[AE_SCHED_MAX];
    double lr[AE_SCHED_MAX], factors[AE_SCHED_MAX];
    double gamma;             /* exponential: lr·gamma^(epoch - 1) */
    long cos_epochs;          /* cosine: epochs from lr down to eta_min */
    double eta_min;
    long stages, base_epochs, epoch_factor; /* stages: stage i lasts base_epochs·epoch_factor^i */
    double lr_factor, stages_per_decade;    /* ... at lr·lr_factor^i, or lr·10^(-i/stages_per_decade) */
    /* steps and stages resolved by ae_schedule_check: epoch e > bounds[k-1] (and <= bounds[k]) is
     * in stage k; its lr is values[k] (absolute) or values[k]·base lr (relative) */
    int nstages, relative;
    long bounds[AE_SCHED_MAX];
    double values[AE_SCHED_MAX];
} ae_schedule;

/* The `train.schedule` keys (the `type` key selects the rest), read into an ae_schedule. */
extern const ae_schema ae_schedule_schema;

/* After ae_schema_read: checks what one key cannot (list lengths and order, exactly one of two
 * alternatives) and resolves steps and stages into bounds/values. map: the schedule section (for
 * file:line:col in messages; NULL for a schedule made in code). */
int ae_schedule_check(ae_schedule *s, const ae_cfg *map, ae_err *err);

/* The learning rate of epoch `epoch` (1 = the first) for a base (train.optimizer.lr) learning rate.
 * A zeroed ae_schedule is constant: base_lr. */
double ae_schedule_lr(const ae_schedule *s, double base_lr, long epoch);

#endif
