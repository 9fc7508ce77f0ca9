/* Training features of issue 14: Adagrad against a double-precision reference of torch.optim.Adagrad's
 * rule, learning-rate schedules read from YAML (values at given epochs, Burda et al.'s 3^i stages,
 * the checks' messages), and model.init (normal weights' moments, the logit-mean output bias). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "ae_model.h"
#include "ae_optim.h"
#include "ae_schedule.h"
#include "ae_test.h"

/* --- Adagrad ------------------------------------------------------------------------------------ */
/* One configuration for 8 steps against the formula in double: g += wd·p; clr = lr/(1+(t-1)·decay);
 * s += g²; p -= clr·g/(√s + eps). Each float step rounds a handful of operations (relative u each)
 * of values bounded by max(|p|, |Δp|), and wd·p feeds an error back at most wd times over; the
 * bound 16·t·FLT_EPSILON·max(1, |p|) covers that with room, while a wrong rule (decay off by one
 * step, eps inside the root, no accumulator start) moves p by 1e-4 or more. */
static void adagrad_case(double lr, double decay, double wd, double acc0, double eps)
{
    ae_err err = {0};
    ae_params *ps = ae_params_new();
    ck_assert_int_ge(ae_params_declare(ps, "w", ae_shape2(1, 4), 1, 1, AE_PARAM_WEIGHT, 0, &err), 0);
    ck_assert_int_eq(ae_params_alloc(ps, &err), AE_OK);
    double p[4] = {0.5, -1.0, 2.0, 0.0}, s[4];
    for (int i = 0; i < 4; i++) ps->val[i] = (float)p[i], s[i] = acc0;
    ae_optim_cfg c;
    ae_optim_defaults(&c, AE_OPT_ADAGRAD);
    c.lr = lr;
    c.lr_decay = decay;
    c.weight_decay = wd;
    c.initial_accumulator_value = acc0;
    c.eps = eps;
    ae_optim o;
    ck_assert_int_eq(ae_optim_init(&o, &c, ps, &err), AE_OK);
    for (int i = 0; i < 4; i++) ck_assert(o.v[i] == (float)acc0);
    for (int t = 1; t <= 8; t++) {
        for (int i = 0; i < 4; i++) ps->grad[i] = (float)(0.3 * (i + 1) - 0.1 * t);
        ck_assert(isfinite(ae_optim_step(&o)));
        double clr = lr / (1.0 + (t - 1) * decay);
        for (int i = 0; i < 4; i++) {
            double g = (double)(float)(0.3 * (i + 1) - 0.1 * t) + wd * p[i];
            s[i] += g * g;
            p[i] -= clr * g / (sqrt(s[i]) + eps);
            double tol = 16.0 * t * FLT_EPSILON * fmax(1.0, fabs(p[i]));
            ck_assert_msg(fabs(ps->val[i] - p[i]) <= tol, "adagrad lr %g decay %g wd %g acc %g: step %d, p[%d] "
                          "%.9g vs %.9g", lr, decay, wd, acc0, t, i, ps->val[i], p[i]);
            ck_assert_msg(fabs(o.v[i] - s[i]) <= 16.0 * t * FLT_EPSILON * s[i], "step %d: sum[%d] %.9g vs %.9g",
                          t, i, o.v[i], s[i]);
        }
    }
    ae_optim_free(&o);
    ae_params_free(ps);
}

START_TEST(adagrad_matches_torch_formula)
{
    ae_optim_cfg d;
    ae_optim_defaults(&d, AE_OPT_ADAGRAD); /* torch.optim.Adagrad's defaults */
    ck_assert(d.lr == 0.01 && d.eps == 1e-10 && d.lr_decay == 0 && d.initial_accumulator_value == 0 &&
              d.weight_decay == 0);
    adagrad_case(0.01, 0, 0, 0, 1e-10);
    adagrad_case(0.1, 0.5, 0.05, 0.1, 1e-10);
    adagrad_case(0.05, 0.01, 0, 2.0, 1e-3);
}
END_TEST

/* --- schedules ---------------------------------------------------------------------------------- */
/* Reads `yaml` (the train.schedule map) like a run does; returns the error code (message in err). */
static int sched_read(const char *yaml, ae_schedule *s, ae_err *err)
{
    memset(s, 0, sizeof *s);
    memset(err, 0, sizeof *err);
    ae_cfg *map = ae_cfg_load_string(yaml, "s.yaml", err);
    ck_assert_msg(map != NULL, "%s", err->msg);
    int rc = ae_schema_read(&ae_schedule_schema, map, s, 1, err);
    if (rc == AE_OK) rc = ae_schedule_check(s, map, err);
    ae_cfg_free(map);
    return rc;
}

static ae_schedule sched(const char *yaml)
{
    ae_schedule s;
    ae_err err;
    ck_assert_msg(sched_read(yaml, &s, &err) == AE_OK, "%s: %s", yaml, err.msg);
    return s;
}

/* Values computed in double by the same few operations: equal up to a few roundings. */
#define CK_LR(got, want) \
    ck_assert_msg(fabs((got) - (want)) <= 4 * DBL_EPSILON * fabs(want), "lr %.17g, expected %.17g", (got), (want))

START_TEST(schedule_values_at_epochs)
{
    ae_schedule c;
    memset(&c, 0, sizeof c); /* a zeroed schedule (a trainer made in code) is constant */
    ck_assert(ae_schedule_lr(&c, 0.02, 1) == 0.02 && ae_schedule_lr(&c, 0.02, 500) == 0.02);
    c = sched("type: constant");
    ck_assert(ae_schedule_lr(&c, 0.02, 7) == 0.02);

    ae_schedule s = sched("{type: steps, milestones: [2, 5], lr: [0.1, 0.01, 0.001]}");
    const double want[] = {0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001};
    for (int e = 1; e <= 7; e++) ck_assert_msg(ae_schedule_lr(&s, 0.5, e) == want[e - 1], "epoch %d", e);
    s = sched("{type: steps, durations: [2, 3, 10], factors: [1, 0.1, 0.01]}"); /* the same boundaries */
    for (int e = 1; e <= 7; e++) CK_LR(ae_schedule_lr(&s, 0.2, e), 0.2 * want[e - 1] * 10);

    s = sched("{type: exponential, gamma: 0.9}");
    CK_LR(ae_schedule_lr(&s, 0.1, 1), 0.1);
    CK_LR(ae_schedule_lr(&s, 0.1, 4), 0.1 * 0.9 * 0.9 * 0.9);

    s = sched("{type: cosine, epochs: 10, eta_min: 0.001}");
    CK_LR(ae_schedule_lr(&s, 0.1, 1), 0.1);                       /* PyTorch's T_cur = 0 */
    CK_LR(ae_schedule_lr(&s, 0.1, 6), 0.001 + 0.099 / 2);         /* T_cur = T/2 */
    CK_LR(ae_schedule_lr(&s, 0.1, 11), 0.001);                    /* T_cur = T */
    CK_LR(ae_schedule_lr(&s, 0.1, 50), 0.001);                    /* holds after T */
    CK_LR(ae_schedule_lr(&s, 0.1, 4), 0.001 + 0.099 * (1 + cos(3 * acos(-1.0) / 10)) / 2);
}
END_TEST

/* Burda et al. 2016, sec. 5: 3^i epochs at 1e-3·10^(-i/7), i = 0..7, 3,280 epochs in all. */
START_TEST(schedule_burda_stages)
{
    ae_schedule s = sched("{type: stages, stages: 8, base_epochs: 1, epoch_factor: 3, stages_per_decade: 7}");
    long first = 1, len = 1;
    for (int i = 0; i < 8; i++, first += len, len *= 3) {
        double lr = 1e-3 * pow(10.0, -i / 7.0);
        CK_LR(ae_schedule_lr(&s, 1e-3, first), lr);            /* the stage's first epoch */
        CK_LR(ae_schedule_lr(&s, 1e-3, first + len - 1), lr);  /* and its last */
        if (i > 0) ck_assert(ae_schedule_lr(&s, 1e-3, first - 1) > lr * 1.3); /* the previous stage's is higher */
    }
    ck_assert_int_eq(first - 1, 3280);
    CK_LR(ae_schedule_lr(&s, 1e-3, 3280), 1e-4);
    CK_LR(ae_schedule_lr(&s, 1e-3, 9999), 1e-4); /* the last stage holds */
    /* the same as an explicit list; lr_factor for a geometric factor */
    ae_schedule t = sched("{type: steps, milestones: [1, 4, 13, 40, 121, 364, 1093], factors: [1, 0.5, 0.25, "
                          "0.125, 0.0625, 0.03125, 0.015625, 0.0078125]}");
    ae_schedule u = sched("{type: stages, stages: 8, epoch_factor: 3, lr_factor: 0.5}");
    for (long e = 1; e <= 3300; e++) ck_assert_msg(ae_schedule_lr(&t, 1e-3, e) == ae_schedule_lr(&u, 1e-3, e), "%ld", e);
}
END_TEST

START_TEST(schedule_checks_name_the_key)
{
    static const char *const cases[][2] = {
        {"{type: steps, milestones: [2], durations: [2, 3], lr: [1, 2]}", "s.yaml:1:43: train.schedule: give either 'milestones' or 'durations', not both"},
        {"{type: steps, lr: [1, 2]}", "type steps needs 'milestones' or 'durations'"},
        {"{type: steps, milestones: [2, 5], lr: [0.1, 0.01]}", "s.yaml:1:39: train.schedule: 2 milestones make 3 stages, but 'lr' has 2 values"},
        {"{type: steps, milestones: [5, 5], factors: [1, 0.1, 0.01]}", "expected increasing epoch counts, got 5 after 5"},
        {"{type: steps, milestones: [0], lr: [1, 2]}", "s.yaml:1:28: milestones[0]: expected an integer in [1, 100000000], got '0'"},
        {"{type: steps, milestones: [], lr: [1]}", "expected a list of 1 to 64 epoch counts, got 0"},
        {"{type: stages, stages: 3}", "type stages needs 'lr_factor' or 'stages_per_decade'"},
        {"{type: stages, stages: 30, epoch_factor: 3, lr_factor: 0.5}", "epochs (at most 100000000)"},
        {"{type: cosine}", "missing required key 'epochs'"},
        {"{type: exponential, gamma: 0.9, epochs: 3}", "unknown key 'epochs' in train.schedule"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ae_schedule s;
        ae_err err;
        ck_assert_msg(sched_read(cases[i][0], &s, &err) == AE_EINPUT, "%s accepted", cases[i][0]);
        ck_assert_msg(strstr(err.msg, cases[i][1]), "%s:\n  got      %s\n  expected %s", cases[i][0], err.msg,
                      cases[i][1]);
    }
}
END_TEST

/* --- model.init --------------------------------------------------------------------------------- */
static ae_model *model_from(const char *yaml, const ae_dataset *ds, ae_rng *rng, ae_cfg **cfg, ae_err *err)
{
    *cfg = ae_cfg_load_string(yaml, "m.yaml", err);
    ck_assert_msg(*cfg != NULL, "%s", err->msg);
    ae_model *m = NULL;
    ae_model_configure(*cfg, ae_test_registry(), ds, 1, rng, &m, err);
    return m;
}

static ae_dataset table(size_t n, size_t d)
{
    ae_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = n;
    ds.d = d;
    ds.c = ds.h = 1;
    ds.w = (int)d;
    ds.x = calloc(n * d, sizeof *ds.x);
    return ds;
}

/* Weights N(0, 0.01²): over n draws the sample mean has sd σ/√n and the sample variance sd
 * σ²·√(2/(n-1)); 5 sd bounds fail a correct generator once in ~3 million runs, and any other
 * scale (auto's Glorot bound here is 0.12) or a non-zero mean fails them at once. Biases are 0. */
START_TEST(init_normal_moments)
{
    ae_err err = {0};
    ae_dataset ds = table(4, 256);
    ae_rng *rng = ae_rng_new(3);
    ae_cfg *cfg;
    ae_model *m = model_from("model:\n  encoder: [{type: dense, units: 64, activation: tanh}]\n"
                             "  init: {scheme: normal, std: 0.01}\n", &ds, rng, &cfg, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ae_params *ps = ae_model_params(m);
    int checked = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const ae_param_info *pi = &ps->p[i];
        const float *v = ps->val + pi->off;
        if (pi->kind == AE_PARAM_BIAS) {
            for (size_t k = 0; k < pi->n; k++) ck_assert_msg(v[k] == 0.0f, "%s[%zu] = %g", pi->name, k, v[k]);
            continue;
        }
        double n = (double)pi->n, s = 0, ss = 0, sigma = 0.01;
        for (size_t k = 0; k < pi->n; k++) s += v[k];
        double mean = s / n;
        for (size_t k = 0; k < pi->n; k++) ss += (v[k] - mean) * (v[k] - mean);
        double var = ss / (n - 1);
        ck_assert_msg(fabs(mean) <= 5 * sigma / sqrt(n), "%s: mean %g (n %g)", pi->name, mean, n);
        ck_assert_msg(fabs(var - sigma * sigma) <= 5 * sigma * sigma * sqrt(2.0 / (n - 1)), "%s: variance %g", pi->name,
                      var);
        checked++;
    }
    ck_assert_int_eq(checked, 2); /* encoder and decoder weights, 16384 draws each */
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

/* output_bias: logit_mean sets the decoder's last bias to log(p/(1-p)) of each feature's training
 * mean p, clipped to [0.001, 0.999] (features 0 and 5 are constant 0 and 1); the other biases keep
 * the scheme's zeros. */
START_TEST(init_output_bias_logit_mean)
{
    ae_err err = {0};
    const size_t n = 40, d = 6;
    ae_dataset ds = table(n, d);
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < d; j++)
            ds.x[r * d + j] = j == 0 ? 0.0f : j == 5 ? 1.0f : (float)((double)((r * (j + 2)) % 7) / 6.0);
    ae_rng *rng = ae_rng_new(3);
    ae_cfg *cfg;
    ae_model *m = model_from("model:\n  encoder: [{type: dense, units: 4, activation: relu}, {type: dense, units: 2}]\n"
                             "  init: {scheme: normal, output_bias: logit_mean}\nloss: bce\n", &ds, rng, &cfg, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ae_params *ps = ae_model_params(m);
    int b = ae_params_find(ps, "decoder[1].bias");
    ck_assert_int_ge(b, 0);
    const float *v = ps->val + ps->p[b].off;
    for (size_t j = 0; j < d; j++) {
        double s = 0;
        for (size_t r = 0; r < n; r++) s += ds.x[r * d + j];
        double p = fmin(fmax(s / (double)n, 0.001), 0.999), want = log(p / (1 - p));
        ck_assert_msg(fabs(v[j] - want) <= 2 * FLT_EPSILON * fmax(1.0, fabs(want)), "feature %zu: %.9g vs %.9g", j,
                      v[j], want);
    }
    ck_assert(fabs(v[0] - log(0.001 / 0.999)) < 1e-5 && fabs(v[5] - log(0.999 / 0.001)) < 1e-5);
    int e = ae_params_find(ps, "decoder[0].bias");
    for (size_t k = 0; k < ps->p[e].n; k++) ck_assert(ps->val[ps->p[e].off + k] == 0.0f);
    ae_model_free(m);
    ae_cfg_free(cfg);
    /* data outside [0, 1] have no logit: refused, naming the key */
    ds.x[3] = 2.5f;
    m = model_from("model:\n  encoder: [{type: dense, units: 2}]\n  init: {output_bias: logit_mean}\n", &ds, rng,
                   &cfg, &err);
    ck_assert(m == NULL);
    ck_assert_msg(strstr(err.msg, "m.yaml:3:23: model.init.output_bias: logit_mean needs training values in [0, 1], "
                         "found 2.5 (row 1, feature 4)"), "%s", err.msg);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

/* A convolution's output bias has one value per channel: the logit of that channel's mean over
 * every pixel of every image (rows are channel-major, c×h×w). */
START_TEST(init_output_bias_per_channel)
{
    ae_err err = {0};
    const size_t n = 5, c = 2, hw = 16;
    ae_dataset ds = table(n, c * hw);
    ds.c = (int)c;
    ds.h = ds.w = 4;
    double sum[2] = {0, 0};
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < c * hw; j++) {
            float v = (float)((double)((r + 3 * j) % 11) / (j < hw ? 40.0 : 12.0));
            ds.x[r * c * hw + j] = v;
            sum[j / hw] += v;
        }
    ae_rng *rng = ae_rng_new(3);
    ae_cfg *cfg;
    ae_model *m = model_from("model:\n  encoder: [{type: conv2d, filters: 3, kernel: 3, stride: 2, padding: 1, activation: relu}]\n"
                             "  init: {output_bias: logit_mean}\nloss: bce\n", &ds, rng, &cfg, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ae_params *ps = ae_model_params(m);
    int b = ae_params_find(ps, "decoder[0].bias");
    ck_assert_int_ge(b, 0);
    ck_assert_uint_eq(ps->p[b].n, c);
    for (size_t k = 0; k < c; k++) {
        double p = sum[k] / (double)(n * hw), want = log(p / (1 - p));
        ck_assert_msg(fabs(ps->val[ps->p[b].off + k] - want) <= 2 * FLT_EPSILON * fmax(1.0, fabs(want)),
                      "channel %zu: %.9g vs %.9g", k, ps->val[ps->p[b].off + k], want);
    }
    ae_model_free(m);
    ae_cfg_free(cfg);
    ae_rng_free(rng);
    ae_dataset_free(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optim_schedule");
    TCase *t = tcase_create("optim_schedule");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, adagrad_matches_torch_formula);
    tcase_add_test(t, schedule_values_at_epochs);
    tcase_add_test(t, schedule_burda_stages);
    tcase_add_test(t, schedule_checks_name_the_key);
    tcase_add_test(t, init_normal_moments);
    tcase_add_test(t, init_output_bias_logit_mean);
    tcase_add_test(t, init_output_bias_per_channel);
    suite_add_tcase(s, t);
    return ae_test_run(s);
}
