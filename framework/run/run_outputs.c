/* What a finished run writes beside its metrics: final evaluation (final.json), the loss curve,
 * codes (CSV + 2-D/3-D scatter coloured by label), reconstruction/sample grids for images, and the
 * PCA baseline and linear probe at the same code size; final.json last, as the completion marker. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ae_baseline.h"
#include "ae_report.h"
#include "ae_run.h"
#include "ae_vae.h"

/* --- loss.png: metrics.jsonl's train and test (and validation) loss per epoch on one panel and, for
 * a loss of several terms, each term's per-epoch value (train_<term>) on a panel of its own --------- */
enum { LOSS_SERIES = 16 };
typedef struct loss_cols {
    size_t n;                       /* columns */
    char name[LOSS_SERIES][64];     /* the metrics key */
    double *y[LOSS_SERIES];         /* per epoch (NaN where a line lacks it) */
} loss_cols;

static int wanted(const char *k)
{
    return !strcmp(k, "train_loss") || !strcmp(k, "test_loss") || !strcmp(k, "val_loss") || !strncmp(k, "train_", 6);
}

/* The numbers of one metrics line into column row `e`. */
static void loss_line(loss_cols *c, const char *line, long e, long n)
{
    for (const char *p = strchr(line, '"'); p; p = strchr(p, '"')) {
        const char *k = p + 1, *ke = strchr(k, '"');
        if (!ke) return;
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(ke - k), k);
        const char *v = ke + 1 + (ke[1] == ':');
        char *end;
        double x = strtod(v, &end);
        p = end > v ? end : ke + 1;
        if (end == v || !wanted(key)) continue;
        size_t j = 0;
        while (j < c->n && strcmp(c->name[j], key)) j++;
        if (j == c->n) {
            if (c->n == LOSS_SERIES || !(c->y[j] = malloc((size_t)n * sizeof(double)))) continue;
            for (long t = 0; t < n; t++) c->y[j][t] = NAN;
            snprintf(c->name[j], sizeof c->name[j], "%s", key);
            c->n++;
        }
        c->y[j][e] = x;
    }
}

static size_t col_of(const loss_cols *c, const char *name)
{
    size_t j = 0;
    while (j < c->n && strcmp(c->name[j], name)) j++;
    return j;
}

/* The panels: loss (train, test, val), then each term but when the loss has one term only. */
static int loss_panels(ae_run *r, loss_cols *c, const double *x, long n, ae_err *err)
{
    ae_series s[LOSS_SERIES];
    ae_panel p[LOSS_SERIES];
    size_t ns = 0, np = 0, terms = 0;
    static const char *const main_keys[] = {"train_loss", "test_loss", "val_loss"};
    static const char *const main_titles[] = {"train", "test", "validation"};
    for (int i = 0; i < 3; i++) {
        size_t j = col_of(c, main_keys[i]);
        if (j < c->n) s[ns++] = (ae_series){main_titles[i], (size_t)n, x, c->y[j], NULL, NULL};
    }
    p[np++] = (ae_panel){"loss (the objective minimised)", "loss", s, ns};
    for (size_t j = 0; j < c->n; j++)
        terms += strncmp(c->name[j], "train_", 6) == 0 && strcmp(c->name[j], "train_loss");
    for (size_t j = 0; terms > 1 && j < c->n; j++) {
        if (strncmp(c->name[j], "train_", 6) || !strcmp(c->name[j], "train_loss")) continue;
        s[ns] = (ae_series){"train", (size_t)n, x, c->y[j], NULL, NULL};
        p[np++] = (ae_panel){c->name[j] + 6, c->name[j] + 6, &s[ns++], 1};
    }
    char stem[4096], title[256];
    snprintf(title, sizeof title, np > 1 ? "%s: loss and its terms per epoch" : "%s: loss per epoch", r->name);
    return ae_plot_panels(ae_path_join(stem, sizeof stem, r->out_dir, "loss"), title, "epoch", p, np, err);
}

static int loss_plot(ae_run *r, const double *losses, long n, ae_err *err)
{
    loss_cols c;
    memset(&c, 0, sizeof c);
    double *x = malloc((size_t)n * sizeof *x);
    if (!x) return ae_errf(err, AE_EINTERNAL, "out of memory");
    for (long i = 0; i < n; i++) x[i] = (double)(i + 1);
    char p[4200], *line = NULL;
    size_t cap = 0;
    FILE *f = fopen(ae_path_join(p, sizeof p, r->out_dir, "metrics.jsonl"), "r");
    for (long e = 0; f && e < n && getline(&line, &cap, f) > 0; e++) loss_line(&c, line, e, n);
    free(line);
    if (f) fclose(f);
    if (col_of(&c, "train_loss") == c.n && c.n < LOSS_SERIES && (c.y[c.n] = malloc((size_t)n * sizeof(double)))) {
        memcpy(c.y[c.n], losses, (size_t)n * sizeof(double)); /* no metrics file: the checkpoint's losses */
        snprintf(c.name[c.n++], sizeof c.name[0], "train_loss");
    }
    int rc = loss_panels(r, &c, x, n, err);
    for (size_t j = 0; j < c.n; j++) free(c.y[j]);
    free(x);
    return rc;
}

/* Codes of the evaluation set: CSV, scatter (first 2-3 principal axes when the code is larger). */
static int codes_out(ae_run *r, const ae_dataset *ds, float *codes, size_t cs, ae_err *err)
{
    char p[4096];
    int rc = AE_OK;
    if (r->save_codes)
        rc = ae_csv_write(ae_path_join(p, sizeof p, r->out_dir, "codes.csv"), codes, ds->n, cs, NULL,
                          ds->label, ds->label_name ? ds->label_name : "label", err);
    if (rc || !r->plots || cs < 2) return rc;
    int dims = cs >= 3 ? 3 : 2;
    float *pts = codes;
    ae_pca pca;
    memset(&pca, 0, sizeof pca);
    const char *axes3[] = {"z1", "z2", "z3"}, *pc3[] = {"PC1 of codes", "PC2 of codes", "PC3 of codes"};
    if (cs > 3) {
        pts = malloc(ds->n * 3 * sizeof *pts);
        if (!pts) return ae_errf(err, AE_EINTERNAL, "out of memory");
        if ((rc = ae_pca_fit(&pca, codes, ds->n, cs, 3, err))) { free(pts); return rc; }
        ae_pca_transform(&pca, codes, ds->n, pts);
        ae_pca_free(&pca);
    }
    char title[256]; /* IDX labels have no column name: they are still labels */
    if (ds->label)
        snprintf(title, sizeof title, "%s: codes (coloured by %s)", r->name, ds->label_name ? ds->label_name : "label");
    else
        snprintf(title, sizeof title, "%s: codes (no label)", r->name);
    rc = ae_plot_scatter_named(ae_path_join(p, sizeof p, r->out_dir, "codes"), title, pts, ds->n, dims, ds->label,
                               ds->class_names, ds->n_class_names, cs > 3 ? pc3 : axes3, err);
    if (pts != codes) free(pts);
    return rc;
}

static int grids(ae_run *r, const ae_dataset *ds, ae_err *err)
{
    if (!r->grid || ds->h == 1 || ds->n == 0) return AE_OK;
    size_t k = (size_t)r->grid < ds->n ? (size_t)r->grid : ds->n;
    int noisy = ae_model_has_corruption(r->model), rows = noisy ? 3 : 2;
    float *img = malloc((size_t)rows * k * ds->d * sizeof *img);
    if (!img) return ae_errf(err, AE_EINTERNAL, "out of memory");
    memcpy(img, ds->x, k * ds->d * sizeof *img);
    int rc = ae_encode(r->model, ds, k, AE_MODE_EVAL, (long)k, NULL, img + (size_t)(rows - 1) * k * ds->d, err);
    if (!rc && noisy) { /* the corrupted input the model sees, from the noisy evaluation graph */
        ae_mgraph *mg = ae_model_graph(r->model, (int64_t)k, AE_MODE_EVAL_NOISY, err);
        rc = mg ? AE_OK : err->code;
        if (mg) {
            memcpy(mg->taps.x->val, ds->x, k * ds->d * sizeof(float));
            ae_graph_forward_to(mg->g, mg->taps.x_in);
            memcpy(img + k * ds->d, mg->taps.x_in->val, k * ds->d * sizeof(float));
        }
    }
    char p[4096];
    if (!rc) rc = ae_png_grid(ae_path_join(p, sizeof p, r->out_dir, "reconstructions.png"), img,
                              (size_t)rows * k, ds->c, ds->h, ds->w, rows, (int)k, 3, err);
    if (!rc && ae_model_has_prior(r->model)) { /* prior samples and latent interpolations */
        size_t ns = 64;
        float *out = malloc(ns * ds->d * sizeof *out);
        rc = out ? ae_vae_sample(r->model, r->rng, ns, out, err) : ae_errf(err, AE_EINTERNAL, "out of memory");
        if (!rc) rc = ae_png_grid(ae_path_join(p, sizeof p, r->out_dir, "samples.png"), out, ns, ds->c,
                                  ds->h, ds->w, 8, 8, 2, err);
        if (!rc && ds->n >= 12) {
            rc = ae_vae_interpolate(r->model, ds, 6, 10, out, err);
            if (!rc) rc = ae_png_grid(ae_path_join(p, sizeof p, r->out_dir, "interpolation.png"), out, 60,
                                      ds->c, ds->h, ds->w, 6, 10, 2, err);
        }
        free(out);
    }
    free(img);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Total training seconds and the median epoch throughput, from metrics.jsonl (it survives
 * resumes, unlike this process's clocks). */
static void train_speed(const ae_run *r, double *secs, double *sps)
{
    char p[4200];
    FILE *f = fopen(ae_path_join(p, sizeof p, r->out_dir, "metrics.jsonl"), "r");
    double v[4096];
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0) {
        char *a = strstr(line, "\"seconds\":"), *b = strstr(line, "\"samples_per_s\":");
        if (a) *secs += strtod(a + 10, NULL);
        if (b && n < 4096) v[n++] = strtod(b + 16, NULL);
    }
    free(line);
    if (f) fclose(f);
    if (n) {
        qsort(v, n, sizeof v[0], cmp_double);
        *sps = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    }
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Every file a run may leave: final.json lists those that exist once the outputs are written. */
static const char *const run_files[] = {
    "config.yaml", "metrics.jsonl", "checkpoint.aelab", "loss.dat", "loss.gp", "loss.png", "codes.csv",
    "codes.dat", "codes.gp", "codes.png", "reconstructions.png", "samples.png", "interpolation.png",
    "manifold.dat", "manifold.gp", "manifold.png", "codes_pca.dat", "codes_pca.gp", "codes_pca.png",
    "filters.dat", "filters.gp", "filters.png", "scores.csv", NULL};

/* final.json, written last: the run's completion marker (ae_run_outputs_complete). */
static int write_final(ae_run *r, ae_json *j, ae_err *err)
{
    char files[512] = "", p[4200];
    size_t k = 0;
    for (int i = 0; run_files[i]; i++)
        if (file_exists(ae_path_join(p, sizeof p, r->out_dir, run_files[i])) && k < sizeof files)
            k += (size_t)snprintf(files + k, sizeof files - k, "%s%s", k ? " " : "", run_files[i]);
    ae_json_str(j, "files", files);
    ae_json_end(j);
    return ae_write_file_atomic(ae_path_join(p, sizeof p, r->out_dir, "final.json"), j->buf, j->len, err);
}

/* -ELBO with one sampled z per test point, and the importance-sampled NLL when asked for. */
static int elbo_metrics(ae_run *r, const ae_dataset *ev, ae_json *j, ae_err *err)
{
    ae_eval es;
    int rc = ae_evaluate(r->model, ev, AE_MODE_EVAL_SAMPLE, r->eval_batch, &es, err);
    double kl = NAN;
    for (int q = 0; q < es.nterms; q++) if (!strcmp(es.term_name[q], "kl")) kl = es.term[q];
    double rec = ae_model_loss_bernoulli(r->model) ? es.bce : es.mse;
    if (!rc) {
        ae_json_num(j, "neg_elbo", rec * (double)ev->d + kl);
        ae_json_num(j, "recon_sum", rec * (double)ev->d);
    }
    double nll;
    if (!rc && r->nll_samples > 0 && !(rc = ae_vae_nll(r->model, ev, (int)r->nll_samples, r->eval_batch, &nll, err)))
        ae_json_num(j, "nll_is", nll);
    return rc;
}

/* Denoising: noisy test input -> clean target, against the noisy input itself. */
static int denoising_metrics(ae_run *r, const ae_dataset *ev, ae_json *j, ae_err *err)
{
    ae_eval en;
    int rc = ae_evaluate(r->model, ev, AE_MODE_EVAL_NOISY, r->eval_batch, &en, err);
    if (!rc) {
        ae_json_num(j, "denoised_mse", en.mse);
        ae_json_num(j, "denoised_psnr", en.mse > 0 ? 10.0 * log10(1.0 / en.mse) : INFINITY);
        ae_json_num(j, "noisy_input_mse", en.noisy_mse);
    }
    return rc;
}

/* Dynamic binarization: every final output reads one draw of each split, the last epoch's (the one its
 * metrics line was evaluated on), fixed into the rows, so the PCA, probe, anomaly and figures see it too. */
static void fix_draws(ae_run *r, long nepochs)
{
    ae_dataset *s[3] = {&r->train, &r->test, &r->val};
    for (int i = 0; i < 3; i++) {
        s[i]->pass = (uint64_t)nepochs;
        ae_dataset_fix_draw(s[i]);
    }
}

/* data.validation: val_loss, val_mse (and val_bce) of the trained model. */
static int val_metrics(ae_run *r, ae_json *j, ae_err *err)
{
    ae_eval e;
    if (!r->val.n) return AE_OK;
    int rc = ae_evaluate(r->model, &r->val, AE_MODE_EVAL, r->eval_batch, &e, err);
    if (!rc) {
        ae_json_num(j, "val_loss", e.loss);
        ae_json_num(j, "val_mse", e.mse);
        if (isfinite(e.bce)) ae_json_num(j, "val_bce", e.bce);
    }
    return rc;
}

int ae_run_outputs(ae_run *r, const double *losses, long nepochs, ae_err *err)
{
    fix_draws(r, nepochs);
    const ae_dataset *ev = r->test.n ? &r->test : &r->train;
    const char *split = r->test.n ? "test" : "train";
    ae_eval e;
    int rc = ae_evaluate(r->model, ev, AE_MODE_EVAL, r->eval_batch, &e, err);
    if (rc) return rc;
    size_t cs = ae_model_code_size(r->model);
    float *codes = malloc(ev->n * cs * sizeof *codes);
    if (!codes) return ae_errf(err, AE_EINTERNAL, "out of memory");
    rc = ae_encode(r->model, ev, ev->n, AE_MODE_EVAL, r->eval_batch, codes, NULL, err);
    ae_json j;
    ae_json_begin(&j);
    ae_json_str(&j, "split", split);
    ae_json_int(&j, "epochs", nepochs);
    ae_json_num(&j, "loss", e.loss);
    ae_json_num(&j, "mse", e.mse);
    ae_json_num(&j, "sse", e.mse * (double)ev->d); /* per image, summed over its values (Hinton 2006) */
    if (isfinite(e.bce)) ae_json_num(&j, "bce", e.bce);
    ae_json_num(&j, "psnr", e.mse > 0 ? 10.0 * log10(1.0 / e.mse) : INFINITY);
    for (int q = 0; q < e.nterms; q++) ae_json_num(&j, e.term_name[q], e.term[q]);
    if (!rc) rc = val_metrics(r, &j, err);
    if (!rc && ae_model_has_posterior(r->model)) rc = elbo_metrics(r, ev, &j, err);
    const char *lname[8];
    double lval[8];
    int nl = 0;
    if (!rc) rc = ae_model_latent_metrics(r->model, ev, r->eval_batch, lname, lval, 8, &nl, err);
    for (int q = 0; q < nl; q++) ae_json_num(&j, lname[q], lval[q]); /* the latent's own (code usage) */
    if (!rc && ae_model_has_corruption(r->model)) rc = denoising_metrics(r, ev, &j, err);
    ae_json_num(&j, "mean_code_activation", e.mean_code_act);
    char sl[64] = "";
    double sm = NAN;
    if (!rc) rc = ae_run_sparsity(r, ev, sl, sizeof sl, &sm, err); /* run_sparsity.c */
    if (!rc && *sl && strcmp(sl, "code")) { /* another layer than the code: its own numbers */
        ae_json_str(&j, "kl_sparsity_layer", sl);
        ae_json_num(&j, "kl_sparsity_mean_activation", sm);
    }
    ae_json_int(&j, "params", (long long)ae_params_count(ae_model_params(r->model)));
    double secs = 0, sps = 0;
    train_speed(r, &secs, &sps);
    ae_json_num(&j, "train_seconds", secs);
    ae_json_num(&j, "samples_per_s", sps);
    ae_json_int(&j, "code_size", (long long)cs);
    int64_t bs = r->tc.batch_size > 0 && (size_t)r->tc.batch_size < r->train.n ? r->tc.batch_size : (int64_t)r->train.n;
    ae_mgraph *tg = rc ? NULL : ae_model_graph(r->model, bs, AE_MODE_TRAIN, err);
    if (!rc && !tg) rc = err->code;
    if (tg) ae_json_num(&j, "train_flops_per_sample", ae_graph_flops(tg->g) / (double)bs);
    char line[512]; /* one summary line, written at once (parallel runs share stderr) */
    size_t ll = (size_t)snprintf(line, sizeof line, "aelab: %s: %s mse %.6g", r->name, split, e.mse);
#define LINE(...) (ll += ll < sizeof line ? (size_t)snprintf(line + ll, sizeof line - ll, __VA_ARGS__) : 0)
    if (isfinite(e.bce)) LINE("  bce %.6g", e.bce);
    if (!rc && *sl) LINE("  | kl_sparsity layer %s: mean activation %.4g", sl, sm);
    ae_run_baseline bl = {NAN, NAN, NAN, NAN}; /* run_baselines.c */
    if (!rc) rc = ae_run_baselines(r, ev, cs, codes, &bl, err);
    if (isfinite(bl.pca_mse)) {
        ae_json_num(&j, "pca_mse", bl.pca_mse);
        LINE("  | PCA-%zu mse %.6g", cs, bl.pca_mse);
    }
    if (isfinite(bl.pca_acc)) ae_json_num(&j, "pca_probe_accuracy", bl.pca_acc);
    if (isfinite(bl.pca_auroc)) ae_json_num(&j, "pca_anomaly_auroc", bl.pca_auroc);
    double auroc = NAN, auprc = NAN;
    if (!rc && isfinite(bl.acc)) {
        ae_json_num(&j, "probe_accuracy", bl.acc);
        LINE("  | probe accuracy %.4f", bl.acc);
    }
    if (!rc && r->oneclass.n) rc = ae_run_anomaly(r, &auroc, &auprc, err); /* run_anomaly.c */
    if (!rc && isfinite(auroc)) {
        ae_json_num(&j, "anomaly_auroc", auroc);
        LINE("  | anomaly AUROC %.4f", auroc);
    }
    if (!rc && isfinite(auprc)) {
        ae_json_num(&j, "anomaly_auprc", auprc);
        LINE(" AUPRC %.4f", auprc);
    }
#undef LINE
    fprintf(stderr, "%s\n", line);
    if (!rc && r->plots && nepochs > 0) rc = loss_plot(r, losses, nepochs, err); /* epochs: 0, no curve */
    if (!rc) rc = codes_out(r, ev, codes, cs, err);
    if (!rc && r->plots) rc = grids(r, ev, err);
    if (!rc) rc = ae_run_figures(r, ev, codes, cs, err); /* run_figures.c */
    if (!rc) rc = write_final(r, &j, err);
    ae_json_free(&j);
    free(codes);
    return rc;
}

int ae_run_outputs_complete(const char *out_dir)
{
    char p[4200];
    FILE *f = fopen(ae_path_join(p, sizeof p, out_dir, "final.json"), "rb");
    if (!f) return 0;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = strstr(buf, "\"files\":\""), *e = s ? strchr(s + 9, '"') : NULL;
    if (!s) return n > 0; /* written before final.json listed the files */
    if (!e) return 0;
    *e = '\0';
    for (char *name = strtok(s + 9, " "); name; name = strtok(NULL, " "))
        if (!file_exists(ae_path_join(p, sizeof p, out_dir, name))) return 0;
    return 1;
}
