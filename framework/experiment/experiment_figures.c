/* The experiment report's per-run inputs and figures: a run folder's files, each run's loss
 * unit (mean or per-sample sum), the learning curves and the stacked reconstruction grids. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae_config.h"
#include "ae_report.h"
#include "experiment_internal.h"

char *ae_exp_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *s = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *ns = realloc(s, cap = (cap + 4096) * 2);
            if (!ns) { free(s); fclose(f); return NULL; }
            s = ns;
        }
        size_t k = fread(s + n, 1, 4096, f);
        n += k;
        if (k < 4096) break;
    }
    fclose(f);
    s[n] = '\0';
    return s;
}

/* 1 when the run in `dir` was trained with loss.reduction: sum (read from the resolved
 * config.yaml it wrote when it started), 0 for a mean, -1 when it has no readable config. */
static int loss_summed(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/config.yaml", dir);
    ae_err e = {0};
    ae_cfg *root = access(p, R_OK) == 0 ? ae_cfg_load_file(p, &e) : NULL;
    if (!root) return -1;
    ae_cfg *loss = ae_cfg_get(root, "loss"), *red = loss ? ae_cfg_get(loss, "reduction") : NULL;
    const char *v = ae_cfg_scalar(red);
    int summed = v && !strcmp(v, "sum");
    ae_cfg_free(root);
    return summed;
}

/* Per run label: loss_summed() of its first seed with a config (-1: none has run yet). */
int *ae_exp_runs_summed(const ae_experiment *e)
{
    int *s = malloc((e->nruns ? e->nruns : 1) * sizeof *s);
    for (size_t r = 0; s && r < e->nruns; r++) {
        s[r] = -1;
        for (size_t j = 0; j < e->njobs && s[r] < 0; j++)
            if (!strcmp(e->jobs[j].run, e->runs[r])) s[r] = loss_summed(e->jobs[j].out);
    }
    return s;
}

/* Learning curves: per run, the mean over seeds of the test MSE per epoch (comparable across
 * variants whatever their objectives; the training loss when there is no test split), band =
 * min..max over seeds. */
int ae_exp_loss_curves(const ae_experiment *e, const int *summed, ae_err *err)
{
    const char *key = "\"test_mse\":";
    for (size_t j = 0; j < e->njobs; j++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/metrics.jsonl", e->jobs[j].out);
        char *txt = ae_exp_slurp(p);
        if (!txt) continue;
        if (!strstr(txt, key)) key = "\"train_loss\":";
        free(txt);
        break;
    }
    size_t klen = strlen(key);
    int test = strstr(key, "test") != NULL, unit = -1, left_out = 0;
    ae_series *s = calloc(e->nruns, sizeof *s);
    double *buf = calloc(e->nruns * 4 * 2048, sizeof *buf);
    if (!s || !buf) { free(s); free(buf); return ae_errf(err, AE_EINTERNAL, "out of memory"); }
    size_t ns = 0;
    for (size_t r = 0; r < e->nruns; r++) {
        double *x = buf + r * 4 * 2048, *y = x + 2048, *lo = y + 2048, *hi = lo + 2048;
        size_t maxep = 0, cnt[2048] = {0};
        for (size_t k = 0; k < 2048; k++) { lo[k] = INFINITY; hi[k] = -INFINITY; }
        for (size_t j = 0; j < e->njobs; j++) {
            if (strcmp(e->jobs[j].run, e->runs[r])) continue;
            char p[4200];
            snprintf(p, sizeof p, "%s/metrics.jsonl", e->jobs[j].out);
            char *txt = ae_exp_slurp(p);
            size_t ep = 0;
            for (char *q = txt ? strstr(txt, key) : NULL; q && ep < 2048; q = strstr(q + 1, key), ep++) {
                double v = strtod(q + klen, NULL);
                y[ep] += v;
                cnt[ep]++;
                lo[ep] = fmin(lo[ep], v);
                hi[ep] = fmax(hi[ep], v);
            }
            if (ep > maxep) maxep = ep;
            free(txt);
        }
        if (!maxep) continue;
        if (!test && summed[r] >= 0 && unit >= 0 && summed[r] != unit) { /* another unit: not in one plot */
            left_out++;
            continue;
        }
        if (summed[r] >= 0 && unit < 0) unit = summed[r];
        for (size_t k = 0; k < maxep; k++) {
            x[k] = (double)(k + 1);
            y[k] = cnt[k] ? y[k] / (double)cnt[k] : NAN;
        }
        s[ns++] = (ae_series){e->runs[r], maxep, x, y, lo, hi};
    }
    char stem[4200], title[256];
    snprintf(stem, sizeof stem, "%s/loss_curves", e->dir);
    snprintf(title, sizeof title, "%s: %s per epoch (mean over seeds, band = min..max)%s", e->name,
             !test ? "training loss" : "test MSE", !left_out ? "" : unit ? " (runs with a mean loss left out)"
                                                                         : " (runs with a summed loss left out)");
    int rc = ns ? ae_plot_lines(stem, title, "epoch", test ? "test MSE" : "train loss", s, ns, 0, err) : AE_OK;
    free(s);
    free(buf);
    return rc;
}

/* Each run's reconstruction grid (its first finished seed) stacked in one figure. */
int ae_exp_recon_stack(const ae_experiment *e, ae_err *err)
{
    const char **img = calloc(e->nruns, sizeof *img), **lab = calloc(e->nruns, sizeof *lab);
    const char **rows = calloc(e->nruns, sizeof *rows);
    char (*rel)[300] = calloc(e->nruns, sizeof *rel);
    size_t k = 0;
    int rc = img && lab && rel && rows ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory");
    for (size_t r = 0; !rc && r < e->nruns; r++)
        for (size_t j = 0; j < e->njobs; j++) {
            if (strcmp(e->jobs[j].run, e->runs[r])) continue;
            char p[4300];
            snprintf(p, sizeof p, "%s/reconstructions.png", e->jobs[j].out);
            FILE *f = fopen(p, "rb");
            if (!f) continue;
            fclose(f);
            snprintf(rel[k], sizeof rel[k], "%s/seed-%ld/reconstructions.png", e->runs[r], e->jobs[j].seed);
            img[k] = rel[k];
            /* a denoising run's grid has the corrupted input between (final.json: noisy_input_mse) */
            snprintf(p, sizeof p, "%s/final.json", e->jobs[j].out);
            char *fin = ae_exp_slurp(p);
            rows[k] = fin && strstr(fin, "\"noisy_input_mse\"") ? "input|noisy input|reconstruction"
                                                                 : "input|reconstruction";
            free(fin);
            lab[k++] = e->runs[r];
            break;
        }
    char stem[4200], title[256];
    snprintf(stem, sizeof stem, "%s/reconstructions", e->dir);
    snprintf(title, sizeof title, "%s: inputs and reconstructions per run (one scale)", e->name);
    if (!rc && k) rc = ae_plot_image_stack(stem, title, img, lab, rows, k, 860, err);
    free(rows);
    free(img);
    free(lab);
    free(rel);
    return rc;
}
