/* Shared helpers for the Check suites (see ae_test.h). */
#include "ae_test.h"

#include "ae_builtins.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ae_registry *g_registry;

ae_registry *ae_test_registry(void)
{
    if (!g_registry && (g_registry = ae_registry_new()) && ae_register_builtins(g_registry)) {
        ae_registry_free(g_registry);
        g_registry = NULL;
    }
    if (!g_registry) abort(); /* out of memory: nothing to test */
    return g_registry;
}

int ae_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ae_registry_free(g_registry);
    g_registry = NULL;
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *ae_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/aelab-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    if (!d) return NULL;
    return strdup(d);
}

char *ae_test_write(const char *dir, const char *name, const char *text)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (!p) return NULL;
    snprintf(p, len, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) { free(p); return NULL; }
    fputs(text, f);
    fclose(f);
    return p;
}


static double fwd(ae_graph *g, ae_node *loss, ae_rng *rng, const void *st, size_t stn)
{
    if (rng) ae_rng_set_state(rng, st, stn);
    ae_graph_forward(g);
    return loss->val[0];
}

double ae_test_gradcheck(ae_graph *g, ae_node *loss, ae_params *ps, ae_rng *rng, float h,
                         int max_per_param, double abs_floor)
{
    size_t stn = rng ? ae_rng_state_size(rng) : 0;
    void *st = rng ? malloc(stn) : NULL;
    if (rng) ae_rng_get_state(rng, st);
    fwd(g, loss, rng, st, stn);
    ae_graph_backward(g);
    float *ana = malloc(ps->total * sizeof *ana);
    memcpy(ana, ps->grad, ps->total * sizeof *ana);
    double worst = 0;
    const char *wname = "";
    size_t widx = 0;
    double wa = 0, wn = 0;
    for (size_t p = 0; p < ps->n; p++) {
        const ae_param_info *pi = &ps->p[p];
        size_t step = pi->n > (size_t)max_per_param ? pi->n / (size_t)max_per_param : 1;
        for (size_t i = 0; i < pi->n; i += step) {
            float *v = ps->val + pi->off + i, keep = *v;
            *v = keep + h;
            double lp = fwd(g, loss, rng, st, stn);
            *v = keep - h;
            double lm = fwd(g, loss, rng, st, stn);
            *v = keep;
            double num = (lp - lm) / (2.0 * (double)h), a = ana[pi->off + i];
            double e = fabs(a - num) / fmax(abs_floor, fmax(fabs(a), fabs(num)));
            if (e > worst) { worst = e; wname = pi->name; widx = i; wa = a; wn = num; }
        }
    }
    fwd(g, loss, rng, st, stn); /* leave the graph at the original values */
    if (worst > 0) printf("gradcheck: worst %.3g at %s[%zu]: analytic %.6g numeric %.6g\n", worst, wname, widx, wa, wn);
    free(ana);
    free(st);
    return worst;
}

double ae_test_tol_reduce(size_t terms, double mag) { return (double)terms * FLT_EPSILON * mag; }

double ae_test_absmax(const float *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)v[i]));
    return m;
}

double ae_test_absmax_d(const double *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}
