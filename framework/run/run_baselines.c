/* A finished run's baselines: the PCA at the code size (test MSE, its codes' probe accuracy, one-class:
 * the AUROC of its reconstruction error; cached
 * across an experiment's runs by a hash of the data) and the linear probe on the model's codes, each
 * one's cost said on stderr. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"
#include "ae_report.h"
#include "ae_run.h"

/* Linear-probe accuracy of codes: with a test split, fit on (up to probe_train) training codes and
 * score the test codes; without one, stratified k-fold on the evaluation codes. `enc` maps rows to
 * codes (the model's encoder or a PCA). */
typedef int (*encode_fn)(void *ctx, const ae_dataset *ds, size_t n, float *codes, ae_err *err);

static int probe(ae_run *r, encode_fn enc, void *ctx, size_t cs, const float *ev_codes, double *acc,
                 ae_err *err)
{
    const ae_dataset *ev = r->test.n ? &r->test : &r->train;
    *acc = NAN;
    if (!r->probe || !ev->label) return AE_OK;
    if (!r->test.n || !r->train.label)
        return ae_probe_cv(ev_codes, ev->label, ev->n, cs, ev->n_classes, (int)r->probe_folds, r->seed, NULL,
                           acc, err);
    size_t ntr = r->probe_train > 0 && (size_t)r->probe_train < r->train.n ? (size_t)r->probe_train : r->train.n;
    float *tc = malloc(ntr * cs * sizeof *tc);
    if (!tc) return ae_errf(err, AE_EINTERNAL, "out of memory");
    int k = r->train.n_classes > ev->n_classes ? r->train.n_classes : ev->n_classes;
    int rc = enc(ctx, &r->train, ntr, tc, err);
    if (!rc) rc = ae_probe_accuracy(tc, r->train.label, ntr, ev_codes, ev->label, ev->n, cs, k, NULL, acc, err);
    free(tc);
    return rc;
}

/* The rows the probe is fitted on (for the log). */
static size_t probe_rows(const ae_run *r)
{
    const ae_dataset *ev = r->test.n ? &r->test : &r->train;
    if (!r->test.n || !r->train.label) return ev->n - ev->n / (size_t)r->probe_folds;
    return r->probe_train > 0 && (size_t)r->probe_train < r->train.n ? (size_t)r->probe_train : r->train.n;
}

static int enc_model(void *ctx, const ae_dataset *ds, size_t n, float *codes, ae_err *err)
{
    ae_run *r = ctx;
    return ae_encode(r->model, ds, n, AE_MODE_EVAL, r->eval_batch, codes, NULL, err);
}

static int enc_pca(void *ctx, const ae_dataset *ds, size_t n, float *codes, ae_err *err)
{
    (void)err;
    ae_pca_transform(ctx, ds->x, n, codes);
    return AE_OK;
}

/* --- the PCA baseline's cache ---------------------------------------------------------------------
 * What the PCA baseline writes depends only on the rows and labels it reads, the code size and the
 * probe's settings: their hash names the cache file (<cache>/pca-<hash>.txt, written atomically, so
 * parallel runs may race to write the same numbers). The numbers are kept with 17 digits: read
 * back, they are the same doubles. */
static uint64_t mix(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < len; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t data_hash(const ae_run *r, const ae_dataset *ev, size_t cs)
{
    const ae_dataset *s[2] = {&r->train, ev};
    int cv = !r->test.n || !r->train.label; /* the probe's folds are drawn from the seed */
    long knobs[8] = {3 /* the cache's format */, (long)cs, r->probe, r->probe_train, r->probe_folds,
                     cv ? (long)r->seed : -1, (long)r->oneclass.n, r->oneclass.excluded};
    uint64_t h = mix(1469598103934665603ULL, knobs, sizeof knobs);
    if (r->oneclass.n) h = mix(h, r->oneclass.classes, r->oneclass.n * sizeof *r->oneclass.classes);
    for (int i = 0; i < 2; i++) {
        size_t shape[3] = {s[i]->n, s[i]->d, (size_t)s[i]->n_classes};
        h = mix(h, shape, sizeof shape);
        h = mix(h, s[i]->x, s[i]->n * s[i]->d * sizeof(float));
        if (s[i]->label) h = mix(h, s[i]->label, s[i]->n * sizeof(int));
    }
    return h;
}

static double num(const char *s) { return strcmp(s, "nan") ? strtod(s, NULL) : NAN; }

static int cache_read(const char *path, ae_run_baseline *b)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char a[64] = "", c[64] = "", d[64] = "";
    int ok = fscanf(f, "pca_mse %63s pca_probe_accuracy %63s pca_anomaly_auroc %63s", a, c, d) == 3;
    fclose(f);
    if (!ok) return 0;
    b->pca_mse = num(a), b->pca_acc = num(c), b->pca_auroc = num(d);
    return 1;
}

/* A cache that cannot be written is no error: the numbers are in final.json all the same. */
static void cache_write(const char *dir, const char *path, const ae_run_baseline *b)
{
    char text[192];
    int n = snprintf(text, sizeof text, "pca_mse %.17g pca_probe_accuracy %.17g pca_anomaly_auroc %.17g\n",
                     b->pca_mse, b->pca_acc, b->pca_auroc);
    ae_err e = {0};
    if (ae_mkdirs(dir, &e) || ae_write_file_atomic(path, text, (size_t)n, &e))
        fprintf(stderr, "aelab: warning: PCA baseline cache: %s\n", e.msg);
}

/* The one-class protocol's classical baseline: the AUROC of PCA's reconstruction error summed over each
 * test row's features (anomalies positive). */
static int pca_anomaly(const ae_run *r, const ae_pca *pca, double *auroc, ae_err *err)
{
    const ae_dataset *t = &r->test;
    double *score = malloc((t->n ? t->n : 1) * sizeof *score);
    int *pos = malloc((t->n ? t->n : 1) * sizeof *pos);
    if (!score || !pos) {
        free(score), free(pos);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < t->n; i++) {
        score[i] = ae_pca_mse(pca, t->x + i * t->d, 1) * (double)t->d;
        pos[i] = ae_oneclass_is_anomaly(&r->oneclass, t->label[i]);
    }
    *auroc = ae_auroc(score, pos, t->n);
    free(score), free(pos);
    return AE_OK;
}

/* PCA at the code size: its test MSE, its codes' probe accuracy and, one-class, its AUROC. */
static int pca_fit_probe(ae_run *r, const ae_dataset *ev, size_t cs, ae_run_baseline *b, ae_err *err)
{
    ae_pca pca;
    int rc = ae_pca_fit(&pca, r->train.x, r->train.n, r->train.d, cs, err);
    if (rc) return rc;
    b->pca_mse = ae_pca_mse(&pca, ev->x, ev->n);
    float *pc = malloc(ev->n * cs * sizeof *pc);
    if (!pc) rc = ae_errf(err, AE_EINTERNAL, "out of memory");
    if (!rc) {
        ae_pca_transform(&pca, ev->x, ev->n, pc);
        rc = probe(r, enc_pca, &pca, cs, pc, &b->pca_acc, err);
    }
    if (!rc && r->oneclass.n && !r->oneclass.excluded && ev == &r->test) rc = pca_anomaly(r, &pca, &b->pca_auroc, err);
    free(pc);
    ae_pca_free(&pca);
    return rc;
}

static int pca_baseline(ae_run *r, const ae_dataset *ev, size_t cs, ae_run_baseline *b, char *how,
                        size_t howlen, ae_err *err)
{
    char path[4200], name[64];
    if (r->baseline_cache && *r->baseline_cache) {
        snprintf(name, sizeof name, "pca-%016llx.txt", (unsigned long long)data_hash(r, ev, cs));
        ae_path_join(path, sizeof path, r->baseline_cache, name);
        if (cache_read(path, b)) {
            snprintf(how, howlen, " (cached: %s)", path);
            return AE_OK;
        }
    }
    int rc = pca_fit_probe(r, ev, cs, b, err);
    if (!rc && r->baseline_cache && *r->baseline_cache) {
        cache_write(r->baseline_cache, path, b);
        snprintf(how, howlen, " (saved for the next runs on these data: %s)", path);
    }
    return rc;
}

int ae_run_baselines(ae_run *r, const ae_dataset *ev, size_t cs, const float *codes, ae_run_baseline *b, ae_err *err)
{
    b->pca_mse = b->pca_acc = b->pca_auroc = b->acc = NAN;
    char how[4400] = "", line[4800];
    double t0 = ae_now();
    int rc = AE_OK, pca = r->pca && cs < ev->d;
    if (pca) rc = pca_baseline(r, ev, cs, b, how, sizeof how, err);
    double t1 = ae_now();
    if (!rc) rc = probe(r, enc_model, r, cs, codes, &b->acc, err);
    double t2 = ae_now();
    int probed = r->probe && ev->label;
    if (rc || (!pca && !probed)) return rc;
    size_t ll = (size_t)snprintf(line, sizeof line, "aelab: %s: cost:", r->name);
    if (pca)
        ll += (size_t)snprintf(line + ll, sizeof line - ll, " PCA-%zu baseline %.2f s%s%s", cs, t1 - t0, how,
                               probed ? "," : "");
    if (probed && ll < sizeof line)
        snprintf(line + ll, sizeof line - ll, " probe %.2f s (fitted on %zu codes; outputs.probe_train caps them)",
                 t2 - t1, probe_rows(r));
    fprintf(stderr, "%s\n", line);
    return AE_OK;
}
