/* The figures of a finished run that need its model or a baseline: the latent manifold of a 2-D
 * gaussian latent, 2-D codes next to PCA-2, and the first layer's filters (writers in report/). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"
#include "ae_report.h"
#include "ae_run.h"

/* Enlargement that makes `pixels` about `want` screen pixels (1..max). */
static int fit_scale(long pixels, long want, int max)
{
    long s = pixels > 0 ? want / pixels : 1;
    return s < 1 ? 1 : s > max ? max : (int)s;
}

/* Decoder outputs over an NxN grid of the latent plane at N(0, 1) quantiles (Kingma & Welling
 * 2014, Fig. 4): z1 grows to the right, z2 upwards. */
static int manifold(ae_run *r, const ae_dataset *ev, ae_err *err)
{
    if (!r->manifold || ev->h == 1 || (ev->c != 1 && ev->c != 3) || ae_model_code_size(r->model) != 2 ||
        strcmp(ae_model_latent_kind(r->model), "gaussian"))
        return AE_OK;
    size_t n = (size_t)r->manifold, d = ae_model_input_size(r->model);
    double *q = malloc(2 * n * sizeof *q);
    float *z = malloc(n * n * 2 * sizeof *z), *out = malloc(n * n * d * sizeof *out);
    int rc = q && z && out ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory");
    if (!rc) {
        ae_gauss_grid((int)n, q);
        for (size_t i = 0; i < n; i++) q[n + i] = q[n - 1 - i]; /* row i's z2, top row first */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                z[(i * n + j) * 2] = (float)q[j];
                z[(i * n + j) * 2 + 1] = (float)q[n + i];
            }
        rc = ae_model_decode(r->model, z, n * n, out, err);
    }
    char p[4096], title[256];
    snprintf(title, sizeof title, "%s: decoder outputs over the latent plane (z at N(0,1) quantiles)", r->name);
    ae_tiles o = {title, fit_scale((long)n * (ev->h + 1), 600, 4), 0, q, q + n, "z1", "z2"};
    if (!rc) rc = ae_plot_tiles(ae_path_join(p, sizeof p, r->out_dir, "manifold"), out, n * n, ev->c, ev->h, ev->w,
                                (int)n, (int)n, &o, err);
    free(q);
    free(z);
    free(out);
    return rc;
}

/* 2-D codes of the evaluation set next to its projection on the training set's first two
 * principal axes (Hinton & Salakhutdinov 2006, Fig. 3). */
static int codes_pca(ae_run *r, const ae_dataset *ev, const float *codes, size_t cs, ae_err *err)
{
    if (cs != 2 || !r->pca || ev->d <= 2 || ev->n == 0) return AE_OK;
    ae_pca pca;
    int rc = ae_pca_fit(&pca, r->train.x, r->train.n, r->train.d, 2, err);
    if (rc) return rc;
    float *pc = malloc(ev->n * 2 * sizeof *pc);
    if (!pc) rc = ae_errf(err, AE_EINTERNAL, "out of memory");
    else ae_pca_transform(&pca, ev->x, ev->n, pc);
    ae_pca_free(&pca);
    char p[4096], title[256], left[128];
    const char *lab = ev->label_name ? ev->label_name : "label";
    snprintf(title, sizeof title, "%s: %s codes and PCA-2%s%s", r->name, r->test.n ? "test" : "training",
             ev->label ? ", coloured by " : "", ev->label ? lab : "");
    snprintf(left, sizeof left, "2-D codes (%s latent)", ae_model_latent_kind(r->model));
    const char *panel[2] = {left, "PCA-2 (fitted on the training set)"};
    const char *axes[4] = {"z1", "z2", "PC1", "PC2"};
    if (!rc) rc = ae_plot_scatter_pair(ae_path_join(p, sizeof p, r->out_dir, "codes_pca"), title, codes, pc, ev->n,
                                       ev->label, ev->class_names, ev->n_class_names, panel, axes, err);
    free(pc);
    return rc;
}

/* The first weight parameter as tiles: dense rows over the whole image, or conv kernels with 1 or
 * 3 input channels; *c = 0 when it is neither. */
static const float *first_filters(ae_run *r, const ae_dataset *ev, int *c, int *h, int *w, size_t *count)
{
    ae_params *ps = ae_model_params(r->model);
    *c = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const ae_param_info *pi = &ps->p[i];
        if (pi->kind != AE_PARAM_WEIGHT) continue;
        const int64_t *s = pi->shape.d;
        if (pi->shape.nd == 2 && s[1] == (int64_t)ev->d && (ev->c == 1 || ev->c == 3)) {
            *c = ev->c, *h = ev->h, *w = ev->w;
        } else if (pi->shape.nd == 4 && (s[1] == 1 || s[1] == 3)) {
            *c = (int)s[1], *h = (int)s[2], *w = (int)s[3];
        }
        *count = (size_t)s[0];
        return ps->val + pi->off;
    }
    return NULL;
}

/* The first layer's filters, each stretched to its own range (Vincent et al. 2008, Fig. 5-6). */
static int filters(ae_run *r, const ae_dataset *ev, ae_err *err)
{
    int c = 0, h = 0, w = 0;
    size_t count = 0;
    const float *wt = r->filters && ev->h > 1 ? first_filters(r, ev, &c, &h, &w, &count) : NULL;
    if (!wt || !c) return AE_OK;
    size_t n = count < (size_t)r->filters ? count : (size_t)r->filters;
    int cols = (int)ceil(sqrt((double)n)), rows = (int)((n + (size_t)cols - 1) / (size_t)cols);
    char p[4096], title[256];
    snprintf(title, sizeof title, "%s: first-layer filters (%zu of %zu, each scaled to its own range)", r->name, n,
             count);
    ae_tiles o = {title, fit_scale((long)cols * (w + 1), 600, 16), 1, NULL, NULL, NULL, NULL};
    return ae_plot_tiles(ae_path_join(p, sizeof p, r->out_dir, "filters"), wt, n, c, h, w, rows, cols, &o, err);
}

int ae_run_figures(ae_run *r, const ae_dataset *ev, const float *codes, size_t cs, ae_err *err)
{
    if (!r->plots) return AE_OK;
    int rc = manifold(r, ev, err);
    if (!rc) rc = codes_pca(r, ev, codes, cs, err);
    if (!rc) rc = filters(r, ev, err);
    return rc;
}
