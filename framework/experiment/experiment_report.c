/* The experiment's results: per run, mean ± 95% CI over seeds for every metric in the runs'
 * final.json (Student t), Welch p-values against the baseline run, best value per column marked,
 * a PCA row per code size; results.csv, results.md, loss curves and CI bar charts. A column holds
 * one unit: the objective of runs trained with loss.reduction: sum (per-sample sums, the VAE's
 * -ELBO) goes into its own columns (loss_per_sample, recon_per_sample). results.html renders the
 * same table with the figures (experiment_html.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"
#include "ae_experiment.h"
#include "ae_report.h"
#include "experiment_internal.h"

#define MAX_METRICS AE_EXP_MAX_METRICS
#define MAX_SEEDS AE_EXP_MAX_SEEDS

/* Display order and direction (-1 lower is better, +1 higher, 0 no ranking). */
static const struct { const char *key; int dir; } known[] = {
    {"mse", -1}, {"sse", -1}, {"bce", -1}, {"psnr", +1}, {"neg_elbo", -1}, {"nll_is", -1}, {"active_units", 0},
    {"recon", -1}, {"recon_per_sample", -1},
    {"kl", -1}, {"jacobian_frob2", 0}, {"mean_code_activation", 0}, {"probe_accuracy", +1},
    {"anomaly_auroc", +1}, {"loss", -1}, {"loss_per_sample", -1}, {"params", 0}, {"train_seconds", -1},
    {"samples_per_s", +1}};
/* final.json keys in the units of the run's objective: a per-element mean, or a per-sample sum
 * under loss.reduction: sum (then they are renamed KEY_per_sample). The other keys (mse, bce, kl,
 * neg_elbo, ...) have one unit whatever the reduction. */
static const char *const objective_keys[] = {"loss", "recon", NULL};
static const char *const skip[] = {"epochs", "code_size", "pca_mse", "pca_probe_accuracy",
                                   "train_flops_per_sample", NULL};

typedef ae_exp_cell cell;
typedef ae_exp_table table;
typedef ae_exp_stats stats;

static int metric_index(table *t, const char *key)
{
    for (int i = 0; i < t->nm; i++)
        if (!strcmp(t->metric[i], key)) return i;
    if (t->nm == MAX_METRICS) return -1;
    snprintf(t->metric[t->nm], sizeof t->metric[0], "%s", key);
    return t->nm++;
}

/* Flat JSON object of numbers (and strings, skipped): calls back for each numeric field. */
static void each_number(const char *s, void (*f)(void *, const char *, double), void *ctx)
{
    const char *p = s;
    while ((p = strchr(p, '"'))) {
        const char *k = p + 1, *ke = strchr(k, '"');
        if (!ke) return;
        const char *v = ke + 1;
        while (*v == ' ' || *v == ':') v++;
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(ke - k), k);
        if (*v == '"') { /* a string value: skip it */
            const char *ve = strchr(v + 1, '"');
            if (!ve) return;
            p = ve + 1;
            continue;
        }
        char *end;
        double d = strtod(v, &end);
        if (end != v) f(ctx, key, d);
        p = end != v ? end : v + 1;
    }
}

typedef struct add_ctx { table *t; size_t row; int per_sample; } add_ctx;

static void add_metric(void *vctx, const char *key, double v)
{
    add_ctx *c = vctx;
    for (int i = 0; skip[i]; i++)
        if (!strcmp(key, skip[i])) return;
    char renamed[64];
    for (int i = 0; c->per_sample && objective_keys[i]; i++)
        if (!strcmp(key, objective_keys[i])) {
            snprintf(renamed, sizeof renamed, "%.48s_per_sample", key);
            key = renamed;
        }
    int m = metric_index(c->t, key);
    if (m < 0) return;
    cell *x = &c->t->c[c->row * MAX_METRICS + (size_t)m];
    if (x->n < MAX_SEEDS) x->v[x->n++] = v;
}

int ae_exp_metric_dir(const char *key)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(known[i].key, key)) return known[i].dir;
    return 0;
}

static int order_of(const char *key)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(known[i].key, key)) return (int)i;
    return 100;
}

/* Sorts the metric columns into the display order (stable for unknown keys). */
static void sort_metrics(table *t)
{
    int perm[MAX_METRICS];
    for (int i = 0; i < t->nm; i++) perm[i] = i;
    for (int i = 1; i < t->nm; i++)
        for (int j = i; j > 0 && order_of(t->metric[perm[j]]) < order_of(t->metric[perm[j - 1]]); j--) {
            int x = perm[j];
            perm[j] = perm[j - 1];
            perm[j - 1] = x;
        }
    char names[MAX_METRICS][64];
    cell *tmp = malloc(MAX_METRICS * sizeof *tmp);
    if (!tmp) return;
    memcpy(names, t->metric, sizeof names);
    for (size_t r = 0; r < t->nrows; r++) {
        memcpy(tmp, &t->c[r * MAX_METRICS], MAX_METRICS * sizeof *tmp);
        for (int i = 0; i < t->nm; i++) t->c[r * MAX_METRICS + (size_t)i] = tmp[perm[i]];
    }
    for (int i = 0; i < t->nm; i++) memcpy(t->metric[i], names[perm[i]], sizeof names[0]);
    free(tmp);
}

/* Drops a column whose values equal an earlier column's in every row, to 1e-6 relative (e.g.
 * `recon` = `bce` up to float rounding). */
static void drop_duplicate_columns(table *t)
{
    for (int m = t->nm - 1; m > 0; m--) {
        for (int k = 0; k < m; k++) {
            int same = 1;
            for (size_t r = 0; same && r < t->nrows; r++) {
                const cell *a = &t->c[r * MAX_METRICS + (size_t)m], *b = &t->c[r * MAX_METRICS + (size_t)k];
                same = a->n == b->n;
                for (size_t q = 0; same && q < a->n; q++)
                    same = fabs(a->v[q] - b->v[q]) <= 1e-6 * fmax(fabs(a->v[q]), fabs(b->v[q]));
            }
            if (!same) continue;
            for (size_t r = 0; r < t->nrows; r++)
                memmove(&t->c[r * MAX_METRICS + (size_t)m], &t->c[r * MAX_METRICS + (size_t)m + 1],
                        (size_t)(t->nm - m - 1) * sizeof(cell));
            memmove(t->metric[m], t->metric[m + 1], (size_t)(t->nm - m - 1) * sizeof t->metric[0]);
            t->nm--;
            break;
        }
    }
}

void ae_exp_fmt(char *buf, size_t len, double v)
{
    double a = fabs(v);
    if (!isfinite(v)) snprintf(buf, len, "–");
    else if (a != 0 && (a < 1e-3 || a >= 1e6)) snprintf(buf, len, "%.3e", v);
    else if (a >= 1000) snprintf(buf, len, "%.0f", v);
    else snprintf(buf, len, "%.4g", v);
}

static int bars(const ae_experiment *e, const table *t, const ae_summary *sum, ae_err *err)
{
    const char **names = calloc(t->nrows, sizeof *names);
    double *v = calloc(t->nrows * 3, sizeof *v);
    int rc = names && v ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory");
    for (int m = 0; rc == AE_OK && m < t->nm; m++) {
        if (!strcmp(t->metric[m], "params")) continue;
        size_t k = 0;
        for (size_t r = 0; r < t->nrows; r++) {
            const ae_summary *s = &sum[r * MAX_METRICS + (size_t)m];
            if (s->n == 0) continue;
            names[k] = t->row[r];
            v[k] = s->mean;
            v[t->nrows + k] = s->ci_lo;
            v[2 * t->nrows + k] = s->ci_hi;
            k++;
        }
        if (k < 2) continue;
        char stem[4300], title[256];
        snprintf(stem, sizeof stem, "%s/bars_%s", e->dir, t->metric[m]);
        snprintf(title, sizeof title, "%s: %s (mean, 95%% CI)", e->name, t->metric[m]);
        rc = ae_plot_bars(stem, title, t->metric[m], names, v, v + t->nrows, v + 2 * t->nrows, k, err);
    }
    free(names);
    free(v);
    return rc;
}

/* Every finished run's final.json into the table's rows (one per run label), then one PCA row per
 * code size; returns the number of unfinished jobs. Sets *per_sample when a run's objective
 * columns were renamed (summed loss). */
static size_t gather(const ae_experiment *e, table *t, const int *summed, int *per_sample)
{
    size_t missing = 0;
    double pca_k[8], pca_mse[8], pca_acc[8];
    int npca = 0;
    for (size_t r = 0; r < e->nruns; r++) {
        snprintf(t->row[t->nrows], sizeof t->row[0], "%s", e->runs[r]);
        for (size_t j = 0; j < e->njobs; j++) {
            if (strcmp(e->jobs[j].run, e->runs[r])) continue;
            char p[4200];
            snprintf(p, sizeof p, "%s/final.json", e->jobs[j].out);
            char *txt = ae_exp_slurp(p);
            if (!txt) { missing++; continue; }
            add_ctx c = {t, t->nrows, summed[r] == 1};
            *per_sample |= summed[r] == 1;
            each_number(txt, add_metric, &c);
            t->finished[t->nrows]++;
            /* the PCA baseline at this run's code size */
            char *k = strstr(txt, "\"code_size\":"), *pm = strstr(txt, "\"pca_mse\":");
            if (k && pm) {
                double ks = strtod(k + 12, NULL);
                int f = -1;
                for (int q = 0; q < npca; q++) if (pca_k[q] == ks) f = q;
                if (f < 0 && npca < 8) {
                    char *pa = strstr(txt, "\"pca_probe_accuracy\":");
                    pca_k[npca] = ks;
                    pca_mse[npca] = strtod(pm + 10, NULL);
                    pca_acc[npca++] = pa ? strtod(pa + 21, NULL) : NAN;
                }
            }
            free(txt);
        }
        t->nrows++;
    }
    for (int q = 0; q < npca; q++) { /* PCA rows: deterministic, one value */
        snprintf(t->row[t->nrows], sizeof t->row[0], "PCA-%g", pca_k[q]);
        cell *cm = &t->c[t->nrows * MAX_METRICS + (size_t)metric_index(t, "mse")];
        cm->v[cm->n++] = pca_mse[q];
        if (isfinite(pca_acc[q])) {
            cell *ca = &t->c[t->nrows * MAX_METRICS + (size_t)metric_index(t, "probe_accuracy")];
            ca->v[ca->n++] = pca_acc[q];
        }
        t->finished[t->nrows] = 1;
        t->nrows++;
    }
    return missing;
}

static void compute_stats(const ae_experiment *e, const table *t, stats *st)
{
    for (size_t r = 0; r < t->nrows; r++)
        for (int m = 0; m < t->nm; m++) {
            const cell *c = &t->c[r * MAX_METRICS + (size_t)m];
            ae_summarize(c->v, c->n, &st->sum[r * MAX_METRICS + (size_t)m]);
        }
    st->base = -1;
    for (size_t r = 0; r < t->nrows; r++) {
        st->brow[r] = -1;
        for (size_t q = 0; *e->baseline && r < e->nruns && q < e->nruns; q++) {
            const char *suf = e->runs[r] + e->suffix[r];
            size_t bl = e->suffix[q];
            if (!strcmp(e->runs[q], e->baseline) ||
                (strlen(e->baseline) == bl && !strncmp(e->runs[q], e->baseline, bl) &&
                 !strcmp(e->runs[q] + bl, suf))) {
                st->brow[r] = (int)q;
                st->base = (int)q;
            }
        }
    }
    for (int m = 0; m < t->nm; m++) {
        st->best[m] = -1;
        int d = ae_exp_metric_dir(t->metric[m]);
        for (size_t r = 0; d && r < t->nrows; r++) {
            const ae_summary *s = &st->sum[r * MAX_METRICS + (size_t)m];
            if (!s->n) continue;
            if (st->best[m] < 0 || d * s->mean > d * st->sum[(size_t)st->best[m] * MAX_METRICS + (size_t)m].mean)
                st->best[m] = (int)r;
        }
    }
}

static void write_header(FILE *fc, FILE *fm, const table *t, const stats *st)
{
    fprintf(fc, "run,seeds");
    for (int m = 0; m < t->nm; m++)
        fprintf(fc, ",%s_mean,%s_ci_lo,%s_ci_hi,%s_sd%s%s%s", t->metric[m], t->metric[m], t->metric[m],
                t->metric[m], st->base >= 0 ? "," : "", st->base >= 0 ? t->metric[m] : "", st->base >= 0 ? "_p" : "");
    fputc('\n', fc);
    fprintf(fm, "| run | seeds |");
    for (int m = 0; m < t->nm; m++) fprintf(fm, " %s |", t->metric[m]);
    fprintf(fm, "\n|---|---|");
    for (int m = 0; m < t->nm; m++) fprintf(fm, "---|");
    fputc('\n', fm);
}

/* Row r of results.csv and results.md. */
static void write_row(FILE *fc, FILE *fm, const table *t, const stats *st, size_t r)
{
    fprintf(fc, "%s,%d", t->row[r], t->finished[r]);
    fprintf(fm, "| %s%s | %d |", t->row[r], st->brow[r] == (int)r ? " (baseline)" : "", t->finished[r]);
    for (int m = 0; m < t->nm; m++) {
        const ae_summary *s = &st->sum[r * MAX_METRICS + (size_t)m];
        const cell *c = &t->c[r * MAX_METRICS + (size_t)m];
        double p = NAN;
        if (st->brow[r] >= 0 && st->brow[r] != (int)r) {
            const cell *b = &t->c[(size_t)st->brow[r] * MAX_METRICS + (size_t)m];
            p = ae_welch_p(c->v, c->n, b->v, b->n);
        }
        if (!s->n) {
            fprintf(fc, ",,,,%s", st->base >= 0 ? "," : "");
            fprintf(fm, " – |");
            continue;
        }
        fprintf(fc, ",%.9g,%.9g,%.9g,%.9g", s->mean, s->ci_lo, s->ci_hi, s->sd);
        if (st->base >= 0) {
            if (isfinite(p)) fprintf(fc, ",%.4g", p);
            else fputc(',', fc);
        }
        char a[32], h[32];
        ae_exp_fmt(a, sizeof a, s->mean);
        ae_exp_fmt(h, sizeof h, (s->ci_hi - s->ci_lo) / 2);
        const char *bo = st->best[m] == (int)r ? "**" : "";
        if (s->n > 1 && s->sd > 0) fprintf(fm, " %s%s ± %s%s", bo, a, h, bo);
        else fprintf(fm, " %s%s%s", bo, a, bo);
        if (isfinite(p) && s->sd > 0) fprintf(fm, p < 0.001 ? " (p<0.001)" : " (p=%.2g)", p);
        fprintf(fm, " |");
    }
    fputc('\n', fc);
    fputc('\n', fm);
}

/* results.csv and results.md (printed to `out` too). */
static int write_tables(const ae_experiment *e, const table *t, const stats *st, int per_sample, size_t missing,
                        FILE *out, ae_err *err)
{
    char *csv = NULL, *md = NULL;
    size_t csvn = 0, mdn = 0;
    FILE *fc = open_memstream(&csv, &csvn), *fm = open_memstream(&md, &mdn);
    if (!fc || !fm) {
        if (fc) fclose(fc);
        if (fm) fclose(fm);
        free(csv);
        free(md);
        return ae_errf(err, AE_EINTERNAL, "out of memory");
    }
    write_header(fc, fm, t, st);
    for (size_t r = 0; r < t->nrows; r++) write_row(fc, fm, t, st, r);
    fprintf(fm, "\nmean ± half-width of the 95%% confidence interval (Student t) over seeds; **bold**: best "
                "in its column; p: Welch t-test against the baseline run.\n");
    if (per_sample)
        fprintf(fm, "\nloss, recon: runs whose loss is the mean over the features; loss_per_sample, "
                    "recon_per_sample: runs trained with loss.reduction: sum (summed over a sample's features).\n");
    if (missing) fprintf(fm, "\n%zu run(s) not finished yet: run the experiment again (or every shard) "
                             "and then `aelab report`.\n", missing);
    int rc = ae_exp_table_write(e, fm, err); /* `table:` (experiment_table.c) */
    fclose(fc);
    fclose(fm);
    char p[4200];
    if (!rc) rc = ae_write_file_atomic(ae_path_join(p, sizeof p, e->dir, "results.csv"), csv, csvn, err);
    if (!rc) rc = ae_write_file_atomic(ae_path_join(p, sizeof p, e->dir, "results.md"), md, mdn, err);
    if (!rc && out) fprintf(out, "\n%s: %s\n\n%s\n", e->name, e->dir, md);
    free(csv);
    free(md);
    return rc;
}

int ae_experiment_report(const ae_experiment *e, FILE *out, ae_err *err)
{
    table t;
    memset(&t, 0, sizeof t);
    stats st;
    memset(&st, 0, sizeof st);
    size_t maxrows = e->nruns + 8;
    t.c = calloc(maxrows * MAX_METRICS, sizeof *t.c);
    t.row = calloc(maxrows, sizeof *t.row);
    t.finished = calloc(maxrows, sizeof *t.finished);
    st.sum = calloc(maxrows * MAX_METRICS, sizeof *st.sum);
    st.brow = calloc(maxrows, sizeof *st.brow);
    int *summed = ae_exp_runs_summed(e), per_sample = 0;
    size_t missing = 0;
    int rc = t.c && t.row && t.finished && st.sum && st.brow && summed ? AE_OK
                                                                       : ae_errf(err, AE_EINTERNAL, "out of memory");
    if (!rc) {
        missing = gather(e, &t, summed, &per_sample);
        sort_metrics(&t);
        drop_duplicate_columns(&t);
        compute_stats(e, &t, &st);
        rc = write_tables(e, &t, &st, per_sample, missing, out, err);
    }
    if (!rc) rc = ae_exp_loss_curves(e, summed, err);
    if (!rc) rc = bars(e, &t, st.sum, err);
    if (!rc) rc = ae_exp_recon_stack(e, err);
    if (!rc) rc = ae_exp_html(e, &t, &st, per_sample, missing, err);
    free(summed);
    free(st.brow);
    free(st.sum);
    free(t.c);
    free(t.row);
    free(t.finished);
    return rc;
}
