/* The regularizer plug-ins on hand-built encoders: forward values against references computed
 * here in double (brute-force Jacobians by finite differences), gradient checks of every penalty
 * (alone and added to a reconstruction loss) and layer selection. */
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

static ae_node *dense(fx *f, ae_build *b, int i, ae_node *x, const char *nm)
{
    return ae_dense(b->g, nm, x, ae_graph_param(b->g, f->wi[i], b->err),
                    ae_graph_param(b->g, f->bi[i], b->err), f->act[i], b->err);
}

/* ae_build.encode for the test encoder: names the copy's layers "<layer>.<tag>" like the model. */
static ae_node *test_encode(const void *model, ae_build *b, ae_node *x, const char *tag)
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

static void fx_build(fx *f, int64_t n, int64_t d, const char *const *spec, int nl, int gaussian,
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
static int fx_penalty(fx *f, const char *type, const char *yaml)
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
static void fx_compile(fx *f, int with_recon)
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

static void fx_free(fx *f)
{
    if (f->ops && f->state) f->ops->destroy(f->state);
    ae_graph_free(f->g);
    ae_params_free(f->ps);
    ae_rng_free(f->rng);
}

static const float *W(const fx *f, int i) { return f->ps->val + f->ps->p[f->wi[i]].off; }
static const float *B(const fx *f, int i) { return f->ps->val + f->ps->p[f->bi[i]].off; }

/* Layer `upto` (or the mu head) of sample x, in double. */
static void fwd_double(const fx *f, int upto, const double *x, double *out)
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
static double jac_bruteforce(const fx *f, int upto)
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
static void off_kinks(fx *f, int l)
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
static double gradcheck(fx *f, int stochastic, const char *what)
{
    double e = ae_test_gradcheck(f->g, f->loss, f->ps, stochastic ? f->rng : NULL, 1e-2f, 30,
                                 stochastic ? 1e-2 : 1e-3);
    printf("  gradcheck %-44s %s worst relative error %.3g\n", what, f->loss == f->pen ? "alone     " : "with recon", e);
    return e;
}

/* --- l1 and kl_sparsity --------------------------------------------------------------------------- */
static double kl_ref(const ae_node *h, double rho)
{
    int64_t n = h->shape.d[0], m = h->shape.d[1];
    double s = 0;
    for (int64_t j = 0; j < m; j++) {
        double q = 0;
        for (int64_t r = 0; r < n; r++) q += h->val[r * m + j];
        q /= (double)n;
        s += rho * log(rho / q) + (1 - rho) * log((1 - rho) / (1 - q));
    }
    return s;
}

/* l1 on tanh layers, kl_sparsity on sigmoid layers: values by hand and gradients, at both layers. */
START_TEST(activity_value_and_grads)
{
    const char *tanh2[] = {"5:tanh", "3:tanh"}, *sig2[] = {"5:sigmoid", "3:sigmoid"};
    for (int kl = 0; kl < 2; kl++)
        for (int recon = 0; recon < 2; recon++)
            for (int k = 0; k < 2; k++) { /* layer encoder[0], then the code */
                fx f;
                fx_build(&f, 6, 7, kl ? sig2 : tanh2, 2, 0, kl ? 5 : 3, kl ? 1.5f : 1.0f);
                char yaml[96], what[48];
                snprintf(yaml, sizeof yaml, "{weight: %s%s}", kl ? "0.3, rho: 0.2" : "0.5",
                         k ? "" : ", layer: \"encoder[0]\"");
                ck_assert_int_eq(fx_penalty(&f, kl ? "kl_sparsity" : "l1", yaml), AE_OK);
                fx_compile(&f, recon);
                if (!kl) off_kinks(&f, k);
                const ae_node *h = f.t.hidden[k];
                double ref = 0;
                for (size_t i = 0; i < h->numel && !kl; i++) ref += 0.5 * fabs((double)h->val[i]) / 6.0;
                if (kl) ref = 0.3 * kl_ref(h, 0.2);
                ck_assert_msg(fabs(f.pen->val[0] - ref) < 1e-5 * fmax(1, ref), "%g vs %g", f.pen->val[0], ref);
                snprintf(what, sizeof what, "%s (%s)", kl ? "kl_sparsity" : "l1", k ? "code" : "encoder[0]");
                double e = gradcheck(&f, 0, what);
                ck_assert_msg(e < 2e-2, "%s gradient error %g", what, e);
                fx_free(&f);
            }
}
END_TEST

START_TEST(kl_sparsity_zero_at_target)
{
    const char *spec[] = {"4:sigmoid"};
    fx f;
    fx_build(&f, 5, 3, spec, 1, 0, 6, 1.0f);
    ck_assert_int_eq(fx_penalty(&f, "kl_sparsity", "{}"), AE_OK); /* weight 1, rho 0.05 */
    fx_compile(&f, 0);
    float *w = f.ps->val + f.ps->p[f.wi[0]].off, *b = f.ps->val + f.ps->p[f.bi[0]].off;
    memset(w, 0, 12 * sizeof *w);
    for (int j = 0; j < 4; j++) b[j] = (float)log(0.05 / 0.95);
    ae_graph_forward(f.g);
    ck_assert_msg(fabs(f.pen->val[0]) < 1e-5, "penalty %g", f.pen->val[0]);
    b[0] = 0.0f; /* unit 0 at 0.5: KL(0.05 || 0.5) */
    ae_graph_forward(f.g);
    ck_assert_double_eq_tol(f.pen->val[0], 0.05 * log(0.1) + 0.95 * log(1.9), 1e-5);
    fx_free(&f);
}
END_TEST

START_TEST(kl_sparsity_needs_sigmoid)
{
    const char *spec[] = {"5:sigmoid", "3:tanh"}, *gspec[] = {"5:sigmoid", "2:identity"};
    fx f;
    fx_build(&f, 4, 6, spec, 2, 0, 7, 1.0f);
    ck_assert_int_eq(fx_penalty(&f, "kl_sparsity", "{rho: 0.1}"), AE_EINPUT);
    ck_assert_msg(strstr(f.err.msg, "regularizers[0] (kl_sparsity)") && strstr(f.err.msg, "sigmoid") &&
                  strstr(f.err.msg, "tanh"), "%s", f.err.msg);
    fx_free(&f);
    fx_build(&f, 4, 6, spec, 2, 0, 7, 1.0f); /* the sigmoid layer is fine */
    ck_assert_int_eq(fx_penalty(&f, "kl_sparsity", "{layer: \"encoder[0]\"}"), AE_OK);
    fx_free(&f);
    fx_build(&f, 4, 6, gspec, 2, 1, 7, 1.0f); /* a sampled gaussian code is not */
    ck_assert_int_eq(fx_penalty(&f, "kl_sparsity", "{}"), AE_EINPUT);
    ck_assert_msg(strstr(f.err.msg, "gaussian"), "%s", f.err.msg);
    fx_free(&f);
}
END_TEST

/* --- contractive, exact ------------------------------------------------------------------------- */
START_TEST(contractive_exact_value_and_grads)
{
    /* 7x9x11 after 4x5x6: partial lanes/groups of the sums; alone (with recon FD noise meets the floor) */
    static const char *const acts[] = {"4:identity", "4:relu", "4:sigmoid", "4:tanh", "7:identity",
                                       "7:relu", "7:sigmoid", "7:tanh"};
    for (int a = 0; a < 8; a++)
        for (int recon = 0; recon < (a < 4 ? 2 : 1); recon++) {
            fx f;
            fx_build(&f, a < 4 ? 5 : 9, a < 4 ? 6 : 11, &acts[a], 1, 0, 8, 1.0f);
            ck_assert_int_eq(fx_penalty(&f, "contractive", "{weight: 0.7}"), AE_OK);
            ck_assert_ptr_eq(f.pen->op, &ae_op_contractive_exact);
            fx_compile(&f, recon);
            off_kinks(&f, 0);
            double ref = 0.7 * jac_bruteforce(&f, 0);
            char what[48];
            snprintf(what, sizeof what, "contractive exact (%s)", acts[a]);
            ck_assert_msg(fabs(f.pen->val[0] - ref) < 1e-4 * ref, "%s %g, brute force %g", what, f.pen->val[0], ref);
            double e = gradcheck(&f, 0, what);
            ck_assert_msg(e < 2e-2, "%s gradient error %g", what, e);
            fx_free(&f);
        }
}
END_TEST

START_TEST(contractive_method_choice)
{
    const char *spec[] = {"5:tanh", "3:sigmoid"};
    fx f;
    fx_build(&f, 4, 6, spec, 2, 0, 9, 1.0f); /* auto: first layer exact, the deep code estimated */
    ck_assert_int_eq(fx_penalty(&f, "contractive", "{layer: \"encoder[0]\"}"), AE_OK);
    ck_assert_ptr_eq(f.pen->op, &ae_op_contractive_exact);
    f.ops->destroy(f.state);
    ck_assert_int_eq(fx_penalty(&f, "contractive", "{}"), AE_OK);
    ck_assert_ptr_eq(f.pen->op, &ae_op_jvp_sq);
    f.ops->destroy(f.state);
    ck_assert_int_eq(fx_penalty(&f, "contractive", "{layer: \"encoder[0]\", method: estimate}"), AE_OK);
    ck_assert_ptr_eq(f.pen->op, &ae_op_jvp_sq);
    f.ops->destroy(f.state);
    f.state = NULL;
    ck_assert_int_eq(fx_penalty(&f, "contractive", "{method: exact}"), AE_EINPUT);
    ck_assert_msg(strstr(f.err.msg, "method: exact") && strstr(f.err.msg, "'code'"), "%s", f.err.msg);
    fx_free(&f);
}
END_TEST

/* --- contractive, estimate ---------------------------------------------------------------------- */
/* Mean of the penalty over `reps` forwards (fresh projections each time). */
static double mean_over(fx *f, ae_node *n, int reps)
{
    double s = 0;
    for (int i = 0; i < reps; i++) {
        ae_graph_forward(f->g);
        s += n->val[0];
    }
    return s / reps;
}

START_TEST(contractive_estimate_matches_exact)
{
    const char *spec[] = {"6:sigmoid"};
    fx f;
    fx_build(&f, 8, 10, spec, 1, 0, 10, 1.5f);
    ck_assert_int_eq(fx_penalty(&f, "contractive", "{weight: 1, method: estimate, projections: 512}"), AE_OK);
    ae_node *ex = ae_contractive_exact(f.g, "exact", f.t.hidden[0], f.t.weight[0], AE_ACT_SIGMOID, 1.0f, &f.err);
    fx_compile(&f, 0);
    double est = mean_over(&f, f.pen, 10), exact = ex->val[0], bf = jac_bruteforce(&f, 0);
    printf("  contractive 1 layer sigmoid: exact %.6g, brute force %.6g, estimate (512 proj x 10) %.6g "
           "(%+.2f%%)\n", exact, bf, est, 100 * (est / exact - 1));
    ck_assert_msg(fabs(est / exact - 1) < 0.03, "estimate %g vs exact %g", est, exact);
    fx_free(&f);
}
END_TEST

/* A deep code, an intermediate layer, and a gaussian code (mu) against brute-force Jacobians. */
START_TEST(contractive_estimate_matches_bruteforce)
{
    const char *deep[] = {"7:tanh", "3:sigmoid"}, *gauss[] = {"6:tanh", "3:identity"};
    struct { const char *const *spec; int gaussian; const char *yaml; int upto; const char *what; } c[] = {
        {deep, 0, "{weight: 2, projections: 512}", 1, "2 layers, code"},
        {deep, 0, "{weight: 2, projections: 512, layer: \"encoder[0]\", method: estimate}", 0, "2 layers, encoder[0]"},
        {gauss, 1, "{weight: 2, projections: 512}", 1, "gaussian code (mu)"},
    };
    for (int i = 0; i < 3; i++) {
        fx f;
        fx_build(&f, 8, 9, c[i].spec, 2, c[i].gaussian, 11, 1.2f);
        ck_assert_int_eq(fx_penalty(&f, "contractive", c[i].yaml), AE_OK);
        ck_assert_ptr_eq(f.pen->op, &ae_op_jvp_sq);
        fx_compile(&f, 0);
        double est = mean_over(&f, f.pen, 10), bf = 2 * jac_bruteforce(&f, c[i].upto);
        printf("  contractive %-22s brute force %.6g, estimate (512 proj x 10) %.6g (%+.2f%%)\n", c[i].what,
               bf, est, 100 * (est / bf - 1));
        ck_assert_msg(fabs(est / bf - 1) < 0.03, "%s: estimate %g vs brute force %g", c[i].what, est, bf);
        fx_free(&f);
    }
}
END_TEST

START_TEST(contractive_estimate_grads)
{
    const char *deep[] = {"5:tanh", "3:sigmoid"}, *gauss[] = {"5:tanh", "2:identity"};
    const char *yaml[] = {"{weight: 0.5, projections: 3, epsilon: 0.05}",
                          "{weight: 0.5, projections: 2, epsilon: 0.05, layer: \"encoder[0]\", method: estimate}"};
    for (int recon = 0; recon < 2; recon++)
        for (int i = 0; i < 3; i++) {
            fx f;
            fx_build(&f, 4, 6, i == 2 ? gauss : deep, 2, i == 2, 12, 1.0f);
            ck_assert_int_eq(fx_penalty(&f, "contractive", yaml[i == 1]), AE_OK);
            fx_compile(&f, recon);
            static const char *const what[] = {"contractive estimate (2 layers, code)",
                                               "contractive estimate (encoder[0] of 2)",
                                               "contractive estimate (gaussian, mu)"};
            double e = gradcheck(&f, 1, what[i]);
            ck_assert_msg(e < 2e-2, "contractive estimate case %d gradient error %g", i, e);
            fx_free(&f);
        }
}
END_TEST

/* --- weight decay ------------------------------------------------------------------------------- */
START_TEST(weight_decay_value_and_grads)
{
    const char *spec[] = {"6:tanh", "5:relu", "5:sigmoid", "4:tanh", "4:identity", "3:sigmoid"};
    fx f;
    fx_norm_scale = 1; /* a batch norm's scale is also named *.weight: Lasagne leaves it out, so do we */
    fx_build(&f, 3, 7, spec, 6, 0, 13, 1.0f); /* 7 weights (with the decoder's): sums are grouped */
    fx_norm_scale = 0;
    ck_assert_int_eq(fx_penalty(&f, "weight_decay", "{weight: 0.02}"), AE_OK);
    fx_compile(&f, 1);
    double s = 0;
    for (size_t p = 0; p < f.ps->n; p++)
        if (f.ps->p[p].kind == AE_PARAM_WEIGHT)
            for (size_t i = 0; i < f.ps->p[p].n; i++) s += pow(f.ps->val[f.ps->p[p].off + i], 2);
    ck_assert_double_eq_tol(f.pen->val[0], 0.02 * s, 1e-5 * s);
    double e = gradcheck(&f, 0, "weight_decay (7 weights)");
    ck_assert_msg(e < 2e-2, "weight_decay gradient error %g", e);
    fx_free(&f);
}
END_TEST

/* --- layer selection and configuration ---------------------------------------------------------- */
START_TEST(layer_names)
{
    const char *spec[] = {"5:sigmoid:hidden", "3:sigmoid"};
    fx f;
    fx_build(&f, 4, 6, spec, 2, 0, 14, 1.0f);
    ck_assert_int_eq(fx_penalty(&f, "l1", "{layer: hidden}"), AE_OK);
    ck_assert_ptr_eq(f.pen->in[0], f.t.hidden[0]);
    f.ops->destroy(f.state);
    ck_assert_int_eq(fx_penalty(&f, "l1", "{layer: \"model.encoder[0]\"}"), AE_OK);
    ck_assert_ptr_eq(f.pen->in[0], f.t.hidden[0]);
    f.ops->destroy(f.state);
    ck_assert_int_eq(fx_penalty(&f, "l1", "{layer: \"encoder[1]\"}"), AE_OK);
    ck_assert_ptr_eq(f.pen->in[0], f.t.code);
    f.ops->destroy(f.state);
    f.state = NULL;
    ck_assert_int_eq(fx_penalty(&f, "kl_sparsity", "{layer: \"encoder[7]\"}"), AE_EINPUT);
    ck_assert_msg(strstr(f.err.msg, "regularizers[0] (kl_sparsity): unknown layer 'encoder[7]'") &&
                  strstr(f.err.msg, "code, hidden (encoder[0]), encoder[1]"), "%s", f.err.msg);
    f.ops->destroy(f.state);
    f.state = NULL;
    ae_err_clear(&f.err);
    ck_assert_int_eq(fx_penalty(&f, "contractive", "{layer: hiden}"), AE_EINPUT);
    ck_assert_msg(strstr(f.err.msg, "did you mean 'hidden'"), "%s", f.err.msg);
    fx_free(&f);
}
END_TEST

int main(void)
{
    ae_set_threads(1); /* tiny graphs: threads only add barrier waits (slow on a loaded machine) */
    Suite *s = suite_create("regularizers");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, activity_value_and_grads);
    tcase_add_test(tc, kl_sparsity_zero_at_target);
    tcase_add_test(tc, kl_sparsity_needs_sigmoid);
    tcase_add_test(tc, contractive_exact_value_and_grads);
    tcase_add_test(tc, contractive_method_choice);
    tcase_add_test(tc, contractive_estimate_matches_exact);
    tcase_add_test(tc, contractive_estimate_matches_bruteforce);
    tcase_add_test(tc, contractive_estimate_grads);
    tcase_add_test(tc, weight_decay_value_and_grads);
    tcase_add_test(tc, layer_names);
    suite_add_tcase(s, tc);
    int rc = ae_test_run(s);
    return rc;
}
