/* Check suite for the "glorot" init scheme of params.c: Lasagne's GlorotUniform bound with one gain for
 * dense weights and another for convolution kernels, zero biases, draws from the given stream. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "ae_params.h"

START_TEST(glorot_bounds_and_gains)
{
    ae_params *ps = ae_params_new();
    ae_err err = {0};
    int dw = ae_params_declare(ps, "d.weight", ae_shape2(40, 30), 30, 40, AE_PARAM_WEIGHT, 0, &err);
    int db = ae_params_declare(ps, "d.bias", ae_shape_make(1, (int64_t[]){40}), 30, 40, AE_PARAM_BIAS, 0, &err);
    int cw = ae_params_declare(ps, "c.weight", ae_shape_make(4, (int64_t[]){8, 4, 5, 5}), 100, 200,
                               AE_PARAM_WEIGHT, 1, &err);
    ck_assert_int_eq(ae_params_alloc(ps, &err), AE_OK);
    ae_rng *r1 = ae_rng_new(3), *r2 = ae_rng_new(3);
    ck_assert_int_eq(ae_params_init(ps, &(ae_init_scheme){"glorot", 0.0, 1.5, 0.5}, 1, r1, &err), AE_OK);
    const struct { int p; double bound; } want[2] = {{dw, 1.5 * sqrt(6.0 / 70.0)}, {cw, 0.5 * sqrt(6.0 / 300.0)}};
    for (int k = 0; k < 2; k++) { /* 1200 and 800 uniform draws: the largest |w| is within 1% of the bound */
        const ae_param_info *p = &ps->p[want[k].p];
        double big = 0.0;
        for (size_t i = 0; i < p->n; i++) big = fmax(big, fabs(ps->val[p->off + i]));
        ck_assert_msg(big <= want[k].bound && big > 0.99 * want[k].bound, "%s: max |w| %g, bound %g", p->name,
                      big, want[k].bound);
    }
    for (size_t i = 0; i < ps->p[db].n; i++) ck_assert(ps->val[ps->p[db].off + i] == 0.0f);
    /* the dense weights are the stream's first 1200 uniforms, scaled */
    for (size_t i = 0; i < ps->p[dw].n; i++) {
        float w = (float)((2.0 * ae_rng_uniform(r2) - 1.0) * want[0].bound);
        ck_assert(ps->val[ps->p[dw].off + i] == w);
    }
    ck_assert_int_eq(ae_params_init(ps, &(ae_init_scheme){"lecun", 0.0, 1.0, 1.0}, 1, r1, &err), AE_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "expected auto, torch, glorot or normal"));
    ae_rng_free(r1);
    ae_rng_free(r2);
    ae_params_free(ps);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("params_init");
    TCase *t = tcase_create("glorot");
    tcase_add_test(t, glorot_bounds_and_gains);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
