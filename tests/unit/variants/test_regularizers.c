/* The regularizer plug-ins on hand-built encoders (tests/lib/reg_fixture.h): l1, kl_sparsity and
 * weight decay, values against references computed here in double and gradient checks (alone and
 * added to a reconstruction loss), and layer selection. The contractive penalty: test_contractive.c. */
#include "reg_fixture.h"

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
    tcase_add_test(tc, weight_decay_value_and_grads);
    tcase_add_test(tc, layer_names);
    suite_add_tcase(s, tc);
    int rc = ae_test_run(s);
    return rc;
}
