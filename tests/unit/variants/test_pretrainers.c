/* The pretrainer units on tiny layers: CD-k statistics against a double-precision reference that
 * replays the same random draws; a 4x3 RBM whose exact log-likelihood (by enumeration) rises under
 * CD-1; finite-difference gradient checks of the (denoising) autoencoder layer, tied and untied. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_pretrainer.h"
#include "ae_test.h"

typedef struct lay {
    ae_pt_layer L;
    float *mem;
    const ae_pretrainer_ops *ops;
    void *state, *ws;
} lay;

/* A layer of V visible and H hidden units, weights U(-scale, scale), biases U(-0.5, 0.5), from a
 * fixed LCG; `yaml` configures the unit. */
static void lay_make(lay *l, const char *method, const char *yaml, int64_t V, int64_t H, ae_act act, int binary,
                     int64_t B, float scale)
{
    memset(l, 0, sizeof *l);
    ae_err err = {0};
    l->ops = ae_find_pretrainer(ae_test_registry(), method);
    ck_assert_ptr_nonnull(l->ops);
    ae_cfg *spec = ae_cfg_load_text(yaml, "test", method, &err);
    ck_assert_ptr_nonnull(spec);
    ck_assert_int_eq(l->ops->configure(spec, &l->state, &err), AE_OK);
    ae_cfg_free(spec);
    size_t nw = (size_t)(V * H), n = 2 * nw + (size_t)(H + V);
    l->mem = calloc(2 * n, sizeof(float));
    ae_pt_layer *L = &l->L;
    L->nvis = V, L->nhid = H, L->act = act, L->vis_binary = binary;
    L->w = l->mem, L->b = L->w + nw, L->c = L->b + H, L->wd = l->ops->untied(l->state) ? L->c + V : NULL;
    L->gw = l->mem + n, L->gb = L->gw + nw, L->gc = L->gb + H, L->gwd = L->wd ? L->gc + V : NULL;
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        float u = (float)(s >> 8) / 16777216.0f;
        l->mem[i] = i < nw || (L->wd && i >= nw + (size_t)(H + V)) ? scale * (2 * u - 1) : u - 0.5f;
    }
    ck_assert_int_eq(l->ops->begin(l->state, L, B, &l->ws, &err), AE_OK);
}

static void lay_free(lay *l)
{
    l->ops->end(l->ws);
    l->ops->destroy(l->state);
    free(l->mem);
}

typedef struct draws {
    double *v;
} draws;
static void keep(size_t lo, size_t hi, const float *noise, void *ctx)
{
    for (size_t i = lo; i < hi; i++) ((draws *)ctx)->v[i] = noise[i - lo];
}

static double sig(double z) { return 1.0 / (1.0 + exp(-z)); }

/* CD-k in double from the draws the unit makes (seed + s for step s): fills gw, gb, gc, returns
 * the squared reconstruction error per row; *margin = the closest |u - p| of a Bernoulli draw. */
static double cd_ref(const ae_pt_layer *L, const float *x, int64_t B, int k, uint64_t seed, double *gw, double *gb,
                     double *gc, double *margin)
{
    const int64_t V = L->nvis, H = L->nhid;
    const int gauss = L->act == AE_ACT_IDENTITY;
    double *ph = calloc((size_t)(B * H), sizeof(double)), *h = calloc((size_t)(B * H), sizeof(double));
    double *hs = calloc((size_t)(B * H), sizeof(double)), *nv = calloc((size_t)(B * V), sizeof(double));
    double *u = calloc((size_t)(B * H), sizeof(double));
    *margin = 1.0;
    for (int64_t i = 0; i < B; i++)
        for (int64_t j = 0; j < H; j++) {
            double z = L->b[j];
            for (int64_t v = 0; v < V; v++) z += (double)x[i * V + v] * L->w[j * V + v];
            ph[i * H + j] = h[i * H + j] = gauss ? z : sig(z);
        }
    for (int s = 0; s < k; s++) {
        draws d = {u};
        ae_rng_blocks((size_t)(B * H), gauss ? AE_RNG_GAUSS : AE_RNG_UNIFORM, seed + (uint64_t)s, keep, &d);
        for (int64_t i = 0; i < B * H; i++) {
            if (!gauss) *margin = fmin(*margin, fabs(u[i] - h[i]));
            hs[i] = gauss ? h[i] + u[i] : (u[i] < h[i] ? 1.0 : 0.0);
        }
        for (int64_t i = 0; i < B; i++)
            for (int64_t v = 0; v < V; v++) {
                double z = L->c[v];
                for (int64_t j = 0; j < H; j++) z += hs[i * H + j] * L->w[j * V + v];
                nv[i * V + v] = L->vis_binary ? sig(z) : z;
            }
        for (int64_t i = 0; i < B; i++)
            for (int64_t j = 0; j < H; j++) {
                double z = L->b[j];
                for (int64_t v = 0; v < V; v++) z += nv[i * V + v] * L->w[j * V + v];
                h[i * H + j] = gauss ? z : sig(z);
            }
    }
    double err = 0;
    memset(gw, 0, (size_t)(H * V) * sizeof *gw);
    memset(gb, 0, (size_t)H * sizeof *gb);
    memset(gc, 0, (size_t)V * sizeof *gc);
    for (int64_t i = 0; i < B; i++) {
        for (int64_t j = 0; j < H; j++) {
            gb[j] += (h[i * H + j] - ph[i * H + j]) / (double)B;
            for (int64_t v = 0; v < V; v++)
                gw[j * V + v] += (h[i * H + j] * nv[i * V + v] - ph[i * H + j] * x[i * V + v]) / (double)B;
        }
        for (int64_t v = 0; v < V; v++) {
            double dd = nv[i * V + v] - x[i * V + v];
            gc[v] += dd / (double)B;
            err += dd * dd;
        }
    }
    free(ph), free(h), free(hs), free(nv), free(u);
    return err / (double)B;
}

/* The unit's step equals the reference within float rounding: each value comes through at most
 * three chained products of V + H + 2B terms of magnitude <= ~4, a sigmoid (1-ulp-scale error) and
 * a sum over 2B rows. */
static void check_cd(ae_act act, int binary, int k)
{
    const int64_t V = 4, H = 3, B = 5;
    char yaml[32];
    snprintf(yaml, sizeof yaml, "cd_k: %d", k);
    lay l;
    lay_make(&l, "rbm", yaml, V, H, act, binary, B, 0.8f);
    float x[20];
    for (int i = 0; i < 20; i++) x[i] = binary ? (float)((i * 7 + 3) % 5) / 4.0f : (float)((i * 7 + 3) % 5) - 2.0f;
    double gw[12], gb[3], gc[4], margin;
    const uint64_t seed = 0x5eedULL;
    double ref = cd_ref(&l.L, x, B, k, seed, gw, gb, gc, &margin);
    ck_assert_msg(margin > 1e-4, "a Bernoulli draw is too close to its probability to compare (%g)", margin);
    double loss = l.ops->step(l.ws, x, seed);
    double tol = ae_test_tol_reduce((size_t)(3 * (V + H + 2 * B)), 4.0 * (binary ? 1.0 : 8.0));
    ck_assert_msg(fabs(loss - ref) <= tol * (double)V * 4.0, "loss %g vs %g", loss, ref);
    for (int i = 0; i < V * H; i++) ck_assert_msg(fabs(l.L.gw[i] - gw[i]) <= tol, "gw[%d] %g vs %g", i, l.L.gw[i], gw[i]);
    for (int i = 0; i < H; i++) ck_assert_msg(fabs(l.L.gb[i] - gb[i]) <= tol, "gb[%d] %g vs %g", i, l.L.gb[i], gb[i]);
    for (int i = 0; i < V; i++) ck_assert_msg(fabs(l.L.gc[i] - gc[i]) <= tol, "gc[%d] %g vs %g", i, l.L.gc[i], gc[i]);
    lay_free(&l);
}

START_TEST(cd1_matches_reference) { check_cd(AE_ACT_SIGMOID, 1, 1); }
END_TEST
START_TEST(cd3_matches_reference) { check_cd(AE_ACT_SIGMOID, 1, 3); }
END_TEST
START_TEST(gaussian_hidden_matches_reference) { check_cd(AE_ACT_IDENTITY, 1, 1); }
END_TEST
START_TEST(gaussian_visible_matches_reference) { check_cd(AE_ACT_SIGMOID, 0, 2); }
END_TEST

/* Mean exact log-likelihood of binary rows under the RBM (V, H small: enumerate v and h). */
static double log_lik(const ae_pt_layer *L, const float *x, int n)
{
    const int V = (int)L->nvis, H = (int)L->nhid;
    double logu[64], mx = -INFINITY; /* log of Σ_h exp(-E(v, h)) per v */
    for (int v = 0; v < 1 << V; v++) {
        double s = 0;
        for (int i = 0; i < V; i++) s += ((v >> i) & 1) * (double)L->c[i];
        for (int j = 0; j < H; j++) {
            double z = L->b[j];
            for (int i = 0; i < V; i++) z += ((v >> i) & 1) * (double)L->w[j * V + i];
            s += log1p(exp(z)); /* Σ over h_j ∈ {0, 1} */
        }
        logu[v] = s;
        mx = fmax(mx, s);
    }
    double z = 0;
    for (int v = 0; v < 1 << V; v++) z += exp(logu[v] - mx);
    double logz = mx + log(z), ll = 0;
    for (int r = 0; r < n; r++) {
        int v = 0;
        for (int i = 0; i < V; i++) v |= (x[r * V + i] > 0.5f) << i;
        ll += logu[v] - logz;
    }
    return ll / n;
}

START_TEST(rbm_log_likelihood_rises)
{
    const int V = 4, H = 3, B = 10, n = 40;
    lay l;
    lay_make(&l, "rbm", "cd_k: 1", V, H, AE_ACT_SIGMOID, 1, B, 0.1f);
    memset(l.L.b, 0, (size_t)(H + V) * sizeof(float));
    float x[160];
    for (int r = 0; r < n; r++) /* two prototypes, 1100 and 0011, one bit flipped in every fifth row */
        for (int i = 0; i < V; i++) x[r * V + i] = (float)(((r & 1) ? i >= 2 : i < 2) ^ (r % 5 == 0 && i == r % 4));
    double before = log_lik(&l.L, x, n);
    size_t nw = (size_t)(V * H);
    for (int epoch = 0; epoch < 300; epoch++)
        for (int off = 0; off < n; off += B) {
            l.ops->step(l.ws, x + off * V, (uint64_t)(epoch * 100 + off));
            for (size_t i = 0; i < nw + (size_t)(H + V); i++) l.L.w[i] -= 0.1f * l.L.gw[i]; /* w, b, c contiguous */
        }
    double after = log_lik(&l.L, x, n);
    /* uniform over 16 patterns is -2.77 nats; the data has two modes with noise, ~-1.6 reachable */
    ck_assert_msg(after > before + 0.5, "log-likelihood %g -> %g", before, after);
    lay_free(&l);
}
END_TEST

/* Central differences of the unit's loss (same seed: the same corruption) against its gradient. The
 * loss is summed in double from float reconstructions: its evaluation error is ~(V + H)·ε·|loss|,
 * divided by 2h it stays below 1e-4 at h = 1e-2; the truncation error h²·|f'''|/6 is ~1e-4 too. */
static void check_ae_grad(const char *method, const char *yaml, ae_act act, int binary)
{
    const int64_t V = 6, H = 4, B = 5;
    lay l;
    lay_make(&l, method, yaml, V, H, act, binary, B, 0.6f);
    float x[30];
    for (int i = 0; i < 30; i++) x[i] = binary ? (float)((i * 5 + 1) % 7) / 6.0f : (float)((i * 5 + 1) % 7) / 3.0f - 1.0f;
    const uint64_t seed = 99;
    l.ops->step(l.ws, x, seed);
    size_t nv = (size_t)(2 * V * H + H + V), ng = l.L.wd ? nv : nv - (size_t)(V * H);
    float *g = malloc(ng * sizeof(float));
    memcpy(g, l.L.gw, ng * sizeof(float)); /* gw, gb, gc (, gwd): contiguous like the values */
    const float h = 1e-2f;
    double worst = 0;
    for (size_t i = 0; i < ng; i++) {
        float keep0 = l.L.w[i];
        l.L.w[i] = keep0 + h;
        double up = l.ops->step(l.ws, x, seed);
        l.L.w[i] = keep0 - h;
        double down = l.ops->step(l.ws, x, seed);
        l.L.w[i] = keep0;
        double num = (up - down) / ((double)(keep0 + h) - (double)(keep0 - h));
        double e = fabs(num - g[i]) / fmax(1e-2, fmax(fabs(num), fabs(g[i])));
        worst = fmax(worst, e);
    }
    ck_assert_msg(worst < 2e-2, "%s %s: worst relative gradient error %g", method, yaml, worst);
    free(g);
    lay_free(&l);
}

START_TEST(ae_tied_gradient) { check_ae_grad("autoencoder", "tied: true", AE_ACT_SIGMOID, 1); }
END_TEST
START_TEST(ae_untied_gradient) { check_ae_grad("autoencoder", "tied: false", AE_ACT_TANH, 0); }
END_TEST
START_TEST(ae_linear_code_gradient) { check_ae_grad("autoencoder", "tied: true", AE_ACT_IDENTITY, 1); }
END_TEST
START_TEST(dae_masking_gradient) { check_ae_grad("denoising", "{noise: masking, level: 0.3}", AE_ACT_SIGMOID, 1); }
END_TEST
START_TEST(dae_gaussian_untied_gradient)
{
    check_ae_grad("denoising", "{noise: gaussian, level: 0.2, tied: false}", AE_ACT_SIGMOID, 0);
}
END_TEST

/* Same seed, same draws: step is a function of (values, x, seed); another seed corrupts otherwise. */
START_TEST(dae_noise_from_seed)
{
    lay l;
    lay_make(&l, "denoising", "level: 0.5", 6, 4, AE_ACT_SIGMOID, 1, 5, 0.6f);
    float x[30];
    for (int i = 0; i < 30; i++) x[i] = (float)(i % 7) / 6.0f;
    double a = l.ops->step(l.ws, x, 1), b = l.ops->step(l.ws, x, 1), c = l.ops->step(l.ws, x, 2);
    ck_assert(a == b);
    ck_assert(a != c);
    lay_free(&l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pretrainers");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, cd1_matches_reference);
    tcase_add_test(tc, cd3_matches_reference);
    tcase_add_test(tc, gaussian_hidden_matches_reference);
    tcase_add_test(tc, gaussian_visible_matches_reference);
    tcase_add_test(tc, rbm_log_likelihood_rises);
    tcase_add_test(tc, ae_tied_gradient);
    tcase_add_test(tc, ae_untied_gradient);
    tcase_add_test(tc, ae_linear_code_gradient);
    tcase_add_test(tc, dae_masking_gradient);
    tcase_add_test(tc, dae_gaussian_untied_gradient);
    tcase_add_test(tc, dae_noise_from_seed);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
