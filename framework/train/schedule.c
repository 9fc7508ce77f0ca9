/* Learning-rate schedules: the `train.schedule` schema, its checks, and the lr of an epoch as a pure
 * function of the epoch number (nothing to checkpoint; a resumed run gets the same values). */
#include "ae_schedule.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

const char *const ae_sched_names[] = {"constant", "steps", "exponential", "cosine", "stages", NULL};

/* --- reading the lists of `steps` ------------------------------------------------------------- */
/* map[name], when present, into out[0..*count): integers >= 1 (epochs) or numbers > 0 (lr, factors). */
static int read_list(ae_cfg *map, const char *name, int integer, long *ol, double *od, int *count, ae_err *err)
{
    ae_cfg *seq;
    char w[256];
    *count = 0;
    if (ae_cfg_seq(map, name, 0, &seq, err) || !seq) return err->code;
    size_t n = ae_cfg_len(seq);
    if (n == 0 || n > AE_SCHED_MAX)
        return ae_errf(err, AE_EINPUT, "%s: train.schedule.%s: expected a list of 1 to %d %s, got %zu",
                       ae_cfg_where(seq, w, sizeof w), name, AE_SCHED_MAX, integer ? "epoch counts" : "numbers", n);
    for (size_t i = 0; i < n; i++) {
        const ae_cfg *it = ae_cfg_at(seq, i);
        if (integer ? ae_cfg_to_int(it, 1, 100000000, &ol[i], err) : ae_cfg_to_num(it, 1e-300, 1e6, &od[i], err))
            return err->code;
    }
    *count = (int)n;
    return AE_OK;
}

static int read_milestones(const ae_key *k, ae_cfg *map, void *out, ae_err *err)
{
    ae_schedule *s = out;
    return read_list(map, k->name, 1, s->milestones, NULL, &s->nmilestones, err);
}

static int read_durations(const ae_key *k, ae_cfg *map, void *out, ae_err *err)
{
    ae_schedule *s = out;
    return read_list(map, k->name, 1, s->durations, NULL, &s->ndurations, err);
}

static int read_lr(const ae_key *k, ae_cfg *map, void *out, ae_err *err)
{
    ae_schedule *s = out;
    return read_list(map, k->name, 0, NULL, s->lr, &s->nlr, err);
}

static int read_factors(const ae_key *k, ae_cfg *map, void *out, ae_err *err)
{
    ae_schedule *s = out;
    return read_list(map, k->name, 0, NULL, s->factors, &s->nfactors, err);
}

/* --- the schema --------------------------------------------------------------------------------- */
static const ae_key steps_keys[] = {
    AE_KEY_CUSTOM_(ae_schedule, milestones, "milestones", AE_KEY_OPTIONAL, read_milestones,
                   "a list of increasing epoch counts: after epoch m_k the next value applies (like "
                   "PyTorch's MultiStepLR); or `durations`"),
    AE_KEY_CUSTOM_(ae_schedule, durations, "durations", AE_KEY_OPTIONAL, read_durations,
                   "a list of each stage's epochs (the last value also holds after the last stage); "
                   "or `milestones`"),
    AE_KEY_CUSTOM_(ae_schedule, lr, "lr", AE_KEY_OPTIONAL, read_lr,
                   "the learning rate of each stage (replaces train.optimizer.lr); or `factors`"),
    AE_KEY_CUSTOM_(ae_schedule, factors, "factors", AE_KEY_OPTIONAL, read_factors,
                   "each stage's multiple of train.optimizer.lr; or `lr`"),
};
static const ae_key exponential_keys[] = {
    AE_KEY_NUM_(ae_schedule, gamma, "gamma", NULL, 0.0, 10.0, "epoch e uses lr * gamma^(e-1)"),
};
static const ae_key cosine_keys[] = {
    AE_KEY_INT_(ae_schedule, cos_epochs, "epochs", NULL, 1, 100000000,
                "epochs from lr down to eta_min (then eta_min holds; PyTorch's T_max)"),
    AE_KEY_NUM_(ae_schedule, eta_min, "eta_min", "0", 0.0, 1e3, "the last learning rate"),
};
static const ae_key stages_keys[] = {
    AE_KEY_INT_(ae_schedule, stages, "stages", NULL, 1, AE_SCHED_MAX, "the number of stages (the last "
                "stage's lr holds after it)"),
    AE_KEY_INT_(ae_schedule, base_epochs, "base_epochs", "1", 1, 100000000, "the epochs of stage 0"),
    AE_KEY_INT_(ae_schedule, epoch_factor, "epoch_factor", "1", 1, 1000,
                "stage i lasts base_epochs * epoch_factor^i epochs"),
    AE_KEY_NUM_(ae_schedule, lr_factor, "lr_factor", AE_KEY_OPTIONAL, 1e-300, 1e3,
                "stage i uses lr * lr_factor^i; or `stages_per_decade`"),
    AE_KEY_NUM_(ae_schedule, stages_per_decade, "stages_per_decade", AE_KEY_OPTIONAL, 1e-3, 1e6,
                "stage i uses lr * 10^(-i / stages_per_decade) (the lr falls tenfold every that many "
                "stages); or `lr_factor`"),
};
static const ae_schema steps = AE_SCHEMA("train.schedule", steps_keys),
                       exponential = AE_SCHEMA("train.schedule", exponential_keys),
                       cosine = AE_SCHEMA("train.schedule", cosine_keys),
                       stages = AE_SCHEMA("train.schedule", stages_keys);
/* constant has no keys (and no case) */
static const ae_schema_case sched_cases[] = {{"steps", &steps},
                                             {"exponential", &exponential}, {"cosine", &cosine},
                                             {"stages", &stages}};
static const ae_key sched_keys[] = {
    AE_KEY_CHOICE_(ae_schedule, kind, "type", "constant", ae_sched_names,
                   "how the learning rate changes with the epoch; its keys follow"),
};
const ae_schema ae_schedule_schema = AE_SCHEMA_CASES("train.schedule", sched_keys, "type", sched_cases);

/* --- checks ------------------------------------------------------------------------------------- */
/* file:line:col of map[key] (key NULL or absent: of the map). */
static const char *where(const ae_cfg *map, const char *key, char *buf, size_t len)
{
    const ae_cfg *n = map && key ? ae_cfg_lookup(map, key) : NULL;
    if (!n) n = map;
    if (!n) snprintf(buf, len, "train.schedule");
    else ae_cfg_where(n, buf, len);
    return buf;
}

/* Exactly one of keys a and b (counts na, nb) is given. */
static int one_of(const ae_schedule *s, const ae_cfg *map, const char *a, int na, const char *b, int nb,
                  ae_err *err)
{
    char w[256];
    if (na && nb)
        return ae_errf(err, AE_EINPUT, "%s: train.schedule: give either '%s' or '%s', not both",
                       where(map, b, w, sizeof w), a, b);
    if (!na && !nb)
        return ae_errf(err, AE_EINPUT, "%s: train.schedule: type %s needs '%s' or '%s'",
                       where(map, NULL, w, sizeof w), ae_sched_names[s->kind], a, b);
    return AE_OK;
}

static int check_steps(ae_schedule *s, const ae_cfg *map, ae_err *err)
{
    char w[256];
    if (one_of(s, map, "milestones", s->nmilestones, "durations", s->ndurations, err) ||
        one_of(s, map, "lr", s->nlr, "factors", s->nfactors, err))
        return err->code;
    s->relative = s->nfactors > 0;
    s->nstages = s->relative ? s->nfactors : s->nlr;
    memcpy(s->values, s->relative ? s->factors : s->lr, (size_t)s->nstages * sizeof *s->values);
    int nb = s->nmilestones ? s->nmilestones : s->ndurations - 1; /* boundaries between stages */
    if (nb != s->nstages - 1)
        return ae_errf(err, AE_EINPUT, "%s: train.schedule: %d %s make %d stages, but '%s' has %d value%s",
                       where(map, s->relative ? "factors" : "lr", w, sizeof w),
                       s->nmilestones ? s->nmilestones : s->ndurations,
                       s->nmilestones ? "milestones" : "durations", nb + 1, s->relative ? "factors" : "lr",
                       s->nstages, s->nstages == 1 ? "" : "s");
    long sum = 0;
    for (int k = 0; k < nb; k++) {
        s->bounds[k] = s->nmilestones ? s->milestones[k] : (sum += s->durations[k]);
        if (k > 0 && s->bounds[k] <= s->bounds[k - 1])
            return ae_errf(err, AE_EINPUT, "%s: train.schedule.milestones: expected increasing epoch counts, "
                           "got %ld after %ld", where(map, "milestones", w, sizeof w), s->bounds[k], s->bounds[k - 1]);
    }
    return AE_OK;
}

static int check_stages(ae_schedule *s, const ae_cfg *map, ae_err *err)
{
    char w[256];
    int has_f = map ? ae_cfg_has(map, "lr_factor") : s->lr_factor > 0;
    int has_d = map ? ae_cfg_has(map, "stages_per_decade") : s->stages_per_decade > 0;
    if (one_of(s, map, "lr_factor", has_f, "stages_per_decade", has_d, err)) return err->code;
    s->relative = 1;
    s->nstages = (int)s->stages;
    double len = (double)s->base_epochs, end = 0;
    for (int i = 0; i < s->nstages; i++, len *= (double)s->epoch_factor) {
        s->values[i] = has_f ? pow(s->lr_factor, i) : pow(10.0, -(double)i / s->stages_per_decade);
        end += len;
        if (end > 100000000.0)
            return ae_errf(err, AE_EINPUT, "%s: train.schedule: stages 0..%d last %.0f epochs (at most 100000000)",
                           where(map, "stages", w, sizeof w), i, end);
        if (i + 1 < s->nstages) s->bounds[i] = (long)end;
    }
    return AE_OK;
}

int ae_schedule_check(ae_schedule *s, const ae_cfg *map, ae_err *err)
{
    if (s->kind == AE_SCHED_STEPS) return check_steps(s, map, err);
    if (s->kind == AE_SCHED_STAGES) return check_stages(s, map, err);
    return AE_OK;
}

double ae_schedule_lr(const ae_schedule *s, double base_lr, long epoch)
{
    const double k = (double)(epoch > 1 ? epoch - 1 : 0); /* epochs completed before this one */
    switch (s->kind) {
    case AE_SCHED_EXPONENTIAL: return base_lr * pow(s->gamma, k);
    case AE_SCHED_COSINE: {
        const double T = (double)s->cos_epochs, t = k < T ? k : T;
        return s->eta_min + (base_lr - s->eta_min) * (1.0 + cos(3.14159265358979323846 * t / T)) / 2.0;
    }
    case AE_SCHED_STEPS:
    case AE_SCHED_STAGES: {
        int st = 0;
        while (st + 1 < s->nstages && epoch > s->bounds[st]) st++;
        return s->relative ? base_lr * s->values[st] : s->values[st];
    }
    default: return base_lr;
    }
}
