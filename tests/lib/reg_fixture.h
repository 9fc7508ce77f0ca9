/* Shared by the regularizer suites (test_regularizers.c, test_contractive.c): hand-built encoders
 * over drawn parameters, a penalty configured from YAML, references in double (a layer's forward,
 * brute-force Jacobians by central differences) and the gradient check of a penalty. */
#ifndef REG_FIXTURE_H
#define REG_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_latent.h"
#include "ae_ops.h"
#include "ae_params.h"
#include "ae_penalty.h"
#include "ae_test.h"
#include "ae_taps.h"

#define MAXL 8

typedef struct fx {
    ae_params *ps;
    ae_graph *g;
    ae_rng *rng;
    ae_err err;
    ae_taps t;
    ae_build b;
    int nl, gaussian, units[MAXL]; /* gaussian: the last layer is the mu head (+ a logvar head) */
    ae_act act[MAXL];
    char name[MAXL][32];
    int wi[MAXL], bi[MAXL], lvw, lvb, dw;
    int64_t n, d;
    ae_node *pen, *loss;
    void *state;
    const ae_regularizer_ops *ops;
} fx;

static inline ae_node *dense(fx *f, ae_build *b, int i, ae_node *x, const char *nm)
{
    return ae_dense(b->g, nm, x, ae_graph_param(b->g, f->wi[i], b->err),
                    ae_graph_param(b->g, f->bi[i], b->err), f->act[i], b->err);
}

/* ae_build.encode for the test encoder: names the copy's layers "<layer>.<tag>" like the model. */
static inline ae_node *test_encode(const void *model, ae_build *b, ae_node *x, const char *tag)
{
    fx *f = (fx *)model;
    ae_node *h = x;
    for (int i = 0; i < f->nl; i++) {
        char nm[96];
        snprintf(nm, sizeof nm, "%s.%s", f->name[i], tag);
        h = dense(f, b, i, h, nm);
    }
    return h;
}

/* Declares and draws the parameters (U(-scale, scale), biases U(-0.5, 0.5)), builds the encoder
 * on a [n, d] input of U(0,1) values and fills the taps. `spec` is "units:act" per layer; a layer
 * may be named "units:act:name". */
static int fx_norm_scale; /* fx_build also declares a batch norm's scale "norm.weight" (kind SCALE) */

static inline void fx_build(fx *f, int64_t n, int64_t d, const char *const *spec, int nl, int gaussian,
                     unsigned long seed, float scale)
{
    memset(f, 0, sizeof *f);
    f->ps = ae_params_new();
    f->rng = ae_rng_new(seed);
    f->n = n, f->d = d, f->nl = nl, f->gaussian = gaussian;
    int fan_in = (int)d;
    for (int i = 0; i < nl; i++) {
        char a[16] = "", nm[32] = "";
        ck_assert_int_ge(sscanf(spec[i], "%d:%15[a-z]:%31s", &f->units[i], a, nm), 2);
        ck_assert_int_eq(ae_act_parse(a, &f->act[i]), AE_OK);
        if (gaussian && i == nl - 1) snprintf(f->name[i], sizeof f->name[i], "latent.mu");
        else if (nm[0]) snprintf(f->name[i], sizeof f->name[i], "%s", nm);
        else snprintf(f->name[i], sizeof f->name[i], "encoder[%d]", i);
        char pn[64];
        snprintf(pn, sizeof pn, "%s.weight", f->name[i]);
        f->wi[i] = ae_params_declare(f->ps, pn, ae_shape2(f->units[i], fan_in), fan_in, 1, AE_PARAM_WEIGHT, 0, &f->err);
        snprintf(pn, sizeof pn, "%s.bias", f->name[i]);
        f->bi[i] = ae_params_declare(f->ps, pn, ae_shape_make(1, (int64_t[]){f->units[i]}), fan_in, 1,
                                     AE_PARAM_BIAS, 0, &f->err);
        if (!(gaussian && i == nl - 1)) fan_in = f->units[i];
    }
    if (gaussian) {
        int u = f->units[nl - 1];
        f->lvw = ae_params_declare(f->ps, "latent.logvar.weight", ae_shape2(u, fan_in), fan_in, 1, AE_PARAM_WEIGHT, 0, &f->err);
        f->lvb = ae_params_declare(f->ps, "latent.logvar.bias", ae_shape_make(1, (int64_t[]){u}), fan_in, 1,
                                   AE_PARAM_BIAS, 0, &f->err);
    }
    if (fx_norm_scale)
        ck_assert_int_ge(ae_params_declare(f->ps, "norm.weight", ae_shape_make(1, (int64_t[]){3}), 3, 3,
                                           AE_PARAM_SCALE, 0, &f->err), 0);
    int cu = f->units[nl - 1];
    f->dw = ae_params_declare(f->ps, "decoder.weight", ae_shape2(d, cu), cu, 1, AE_PARAM_WEIGHT, 0, &f->err);
    ck_assert_int_eq(ae_params_alloc(f->ps, &f->err), AE_OK);
    for (size_t p = 0; p < f->ps->n; p++) {
        float s = f->ps->p[p].kind == AE_PARAM_BIAS ? 0.5f : scale;
        for (size_t i = 0; i < f->ps->p[p].n; i++)
            f->ps->val[f->ps->p[p].off + i] = s * (2.0f * (float)ae_rng_uniform(f->rng) - 1.0f);
    }
    f->g = ae_graph_new(f->ps, n, 1);
    f->b = (ae_build){f->g, f->ps, f->rng, &f->t, &f->err, test_encode, f};
    f->t.x = f->t.x_in = ae_graph_input(f->g, "x", ae_shape2(n, d), &f->err);
    ae_node *h = f->t.x;
    for (int i = 0; i < nl - gaussian; i++) {
        h = dense(f, &f->b, i, h, f->name[i]);
        f->t.hidden[i] = h;
        snprintf(f->t.hidden_name[i], sizeof f->t.hidden_name[i], "%s", f->name[i]);
        f->t.weight[i] = h->in[1];
        f->t.bias[i] = h->in[2];
        f->t.act[i] = f->act[i];
        f->t.nhidden++;
    }
    if (gaussian) {
        f->t.mu = dense(f, &f->b, nl - 1, h, "latent.mu");
        f->t.logvar = ae_dense(f->g, "latent.logvar", h, ae_graph_param(f->g, f->lvw, &f->err),
                               ae_graph_param(f->g, f->lvb, &f->err), AE_ACT_IDENTITY, &f->err);
        h = ae_reparam(f->g, "z", f->t.mu, f->t.logvar, f->rng, 0, &f->err);
    }
    f->t.code = h;
    ck_assert_msg(h != NULL, "%s", f->err.msg);
}

/* Configures `type` from a YAML map and adds its penalty; returns the error code. */
static inline int fx_penalty(fx *f, const char *type, const char *yaml)
{
    f->ops = ae_find_regularizer(ae_test_registry(), type);
    ck_assert_ptr_nonnull(f->ops);
    ae_cfg *spec = ae_cfg_load_string(yaml, "reg.yaml", &f->err);
    ck_assert_msg(spec != NULL, "%s", f->err.msg);
    int rc = f->ops->configure(spec, &f->state, &f->err);
    if (!rc) rc = ae_cfg_finish(spec, "regularizers[0]", &f->err);
    ae_cfg_free(spec);
    if (rc) return rc;
    char nm[64];
    snprintf(nm, sizeof nm, "regularizers[0] (%s)", type);
    f->pen = f->ops->penalty(f->state, &f->b, nm);
    return f->pen ? AE_OK : f->err.code;
}

/* Compiles with loss = penalty (or recon mse through a decoder + penalty) and draws x. */
static inline void fx_compile(fx *f, int with_recon)
{
    ck_assert_msg(f->pen != NULL, "%s", f->err.msg);
    f->loss = f->pen;
    if (with_recon) { /* the tapped node also feeds the decoder: its gradient accumulates */
        ae_node *y = ae_dense(f->g, "decoder", f->t.code, ae_graph_param(f->g, f->dw, &f->err), NULL,
                              AE_ACT_SIGMOID, &f->err);
        ae_node *terms[2] = {ae_mse(f->g, "recon", y, f->t.x, AE_MEAN, &f->err), f->pen};
        f->loss = ae_weighted_sum(f->g, "loss", terms, (const float[]){1.0f, 1.0f}, 2, &f->err);
    }
    ck_assert_msg(f->loss != NULL, "%s", f->err.msg);
    ck_assert_msg(ae_graph_compile(f->g, f->loss, &f->err) == AE_OK, "%s", f->err.msg);
    for (size_t i = 0; i < f->t.x->numel; i++) f->t.x->val[i] = (float)ae_rng_uniform(f->rng);
    ae_graph_forward(f->g);
}

static inline void fx_free(fx *f)
{
    if (f->ops && f->state) f->ops->destroy(f->state);
    ae_graph_free(f->g);
    ae_params_free(f->ps);
    ae_rng_free(f->rng);
}

static inline const float *W(const fx *f, int i) { return f->ps->val + f->ps->p[f->wi[i]].off; }
static inline const float *B(const fx *f, int i) { return f->ps->val + f->ps->p[f->bi[i]].off; }

/* Layer `upto` (or the mu head) of sample x, in double. */
static inline void fwd_double(const fx *f, int upto, const double *x, double *out)
{
    double a[64], b[64];
    int k = (int)f->d;
    for (int i = 0; i < k; i++) a[i] = x[i];
    for (int l = 0; l <= upto; l++) {
        int m = f->units[l];
        for (int j = 0; j < m; j++) {
            double z = B(f, l)[j];
            for (int i = 0; i < k; i++) z += (double)W(f, l)[j * k + i] * a[i];
            b[j] = f->act[l] == AE_ACT_RELU ? fmax(z, 0) : f->act[l] == AE_ACT_SIGMOID ? 1 / (1 + exp(-z))
                   : f->act[l] == AE_ACT_TANH ? tanh(z) : z;
        }
        memcpy(a, b, (size_t)m * sizeof *a);
        k = m;
    }
    memcpy(out, a, (size_t)k * sizeof *out);
}

/* Batch mean of ‖∂h/∂x‖²_F for layer `upto`, by central differences in double. */
static inline double jac_bruteforce(const fx *f, int upto)
{
    double s = 0, x[64], hp[64], hm[64], d = 1e-5;
    int m = f->units[upto];
    for (int64_t r = 0; r < f->n; r++) {
        for (int i = 0; i < f->d; i++) x[i] = f->t.x->val[r * f->d + i];
        for (int i = 0; i < f->d; i++) {
            double keep = x[i];
            x[i] = keep + d;
            fwd_double(f, upto, x, hp);
            x[i] = keep - d;
            fwd_double(f, upto, x, hm);
            x[i] = keep;
            for (int j = 0; j < m; j++) s += pow((hp[j] - hm[j]) / (2 * d), 2);
        }
    }
    return s / (double)f->n;
}

/* Pushes biases of layer l so no pre-activation is within 0.05 of a kink at 0 (|h|, ReLU). */
static inline void off_kinks(fx *f, int l)
{
    float *b = f->ps->val + f->ps->p[f->bi[l]].off;
    int k = l ? f->units[l - 1] : (int)f->d;
    for (int j = 0; j < f->units[l]; j++)
        for (int tries = 0; tries < 50; tries++) {
            int near = 0;
            for (int64_t r = 0; r < f->n; r++) {
                double x[64], a[64];
                for (int i = 0; i < f->d; i++) x[i] = f->t.x->val[r * f->d + i];
                if (l) fwd_double(f, l - 1, x, a);
                else memcpy(a, x, (size_t)f->d * sizeof *a);
                double z = b[j];
                for (int i = 0; i < k; i++) z += (double)W(f, l)[j * k + i] * a[i];
                near |= fabs(z) < 0.05;
            }
            if (!near) break;
            b[j] += 0.1f;
        }
    ae_graph_forward(f->g);
}

/* Worst relative gradient error over every parameter (penalty alone or with recon). The
 * finite-difference estimates lose ~5 digits to cancellation in float: a larger absolute floor. */
static inline double gradcheck(fx *f, int stochastic, const char *what)
{
    double e = ae_test_gradcheck(f->g, f->loss, f->ps, stochastic ? f->rng : NULL, 1e-2f, 30,
                                 stochastic ? 1e-2 : 1e-3);
    printf("  gradcheck %-44s %s worst relative error %.3g\n", what, f->loss == f->pen ? "alone     " : "with recon", e);
    return e;
}

#endif
