/* The contractive penalty on hand-built encoders (tests/lib/reg_fixture.h): the exact ‖J‖²_F and its
 * estimate against brute-force Jacobians in double, the method's choice, and gradient checks (alone
 * and added to a reconstruction loss). */
#include "reg_fixture.h"

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

int main(void)
{
    ae_set_threads(1); /* tiny graphs: threads only add barrier waits (slow on a loaded machine) */
    Suite *s = suite_create("contractive");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, contractive_exact_value_and_grads);
    tcase_add_test(tc, contractive_method_choice);
    tcase_add_test(tc, contractive_estimate_matches_exact);
    tcase_add_test(tc, contractive_estimate_matches_bruteforce);
    tcase_add_test(tc, contractive_estimate_grads);
    suite_add_tcase(s, tc);
    return ae_test_run(s);
}
