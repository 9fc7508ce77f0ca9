/* The experiment key `table: {rows: KEY, metric: NAME, stat: sd|ci}`: one metric laid out as in a
 * paper's table, one row per value of a config key (data.normal_labels: one row per normal class),
 * one column per run label without that key's grid value, mean ± sd (or ± CI half-width) over
 * seeds, and a last row with the mean over the rows; into results.md and results_table.csv. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_baseline.h"
#include "ae_report.h"
#include "experiment_internal.h"

#define MAXV 256 /* distinct rows and columns */

int ae_exp_table_read(ae_experiment *e, ae_cfg *root, ae_err *err)
{
    static const char *const stats[] = {"sd", "ci", NULL};
    ae_cfg *t;
    const char *rows, *metric, *stat;
    if (ae_cfg_map(root, "table", 0, &t, err) || !t) return err->code;
    if (ae_cfg_str(t, "rows", NULL, NULL, &rows, err) || ae_cfg_str(t, "metric", "anomaly_auroc", NULL, &metric, err) ||
        ae_cfg_str(t, "stat", "sd", stats, &stat, err) || ae_cfg_finish(t, "table", err))
        return err->code;
    char w[256];
    for (size_t j = 0; j < e->njobs; j++)
        if (ae_cfg_lookup(e->jobs[j].cfg, rows)) {
            snprintf(e->table.rows, sizeof e->table.rows, "%s", rows);
            snprintf(e->table.metric, sizeof e->table.metric, "%s", metric);
            e->table.ci = !strcmp(stat, "ci");
            return AE_OK;
        }
    return ae_errf(err, AE_EINPUT, "%s: table.rows: no run sets '%s' (the key whose values make the rows, e.g. "
                   "data.normal_labels set by the grid)", ae_cfg_where(ae_cfg_get(t, "rows"), w, sizeof w), rows);
}

/* A key's value as a row name: a scalar's text, a list of scalars as "a,b" ("[a,b]" in the label). */
static void value_name(const ae_cfg *v, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    if (!v) snprintf(buf, len, "–");
    else if (ae_cfg_scalar(v)) snprintf(buf, len, "%s", ae_cfg_scalar(v));
    else
        for (size_t i = 0; i < ae_cfg_len(v) && k < len; i++) {
            const char *s = ae_cfg_scalar(ae_cfg_at(v, i));
            k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? "," : "", s ? s : "?");
        }
}

/* The job's column: its run label without "_LEAF=VALUE", the rows key's grid part (a list value
 * reads "list" in labels). */
static void column_name(const ae_experiment *e, const ae_job *j, const ae_cfg *v, char *buf, size_t len)
{
    const char *leaf = strrchr(e->table.rows, '.');
    char seg[300];
    snprintf(seg, sizeof seg, "_%s=%s", leaf ? leaf + 1 : e->table.rows, ae_cfg_scalar(v) ? ae_cfg_scalar(v) : "list");
    const char *p = strstr(j->run, seg);
    if (p) snprintf(buf, len, "%.*s%s", (int)(p - j->run), j->run, p + strlen(seg));
    else snprintf(buf, len, "%s", j->run);
}

static int find_or_add(char (*names)[128], size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(names[i], s)) return (int)i;
    if (*n == MAXV) return -1;
    snprintf(names[*n], 128, "%s", s);
    return (int)(*n)++;
}

/* The metric of a finished job (NAN: not finished, or no such key). */
static double job_metric(const ae_experiment *e, const ae_job *j)
{
    char p[4200], key[80];
    snprintf(p, sizeof p, "%s/final.json", j->out);
    char *txt = ae_exp_slurp(p);
    snprintf(key, sizeof key, "\"%s\":", e->table.metric);
    char *at = txt ? strstr(txt, key) : NULL;
    double v = at ? strtod(at + strlen(key), NULL) : NAN;
    free(txt);
    return v;
}

typedef struct grid_t {
    char (*row)[128], (*col)[128];
    size_t nr, nc;
    ae_exp_cell *c; /* MAXV x MAXV */
} grid_t;

static void write_out(const ae_experiment *e, const grid_t *g, FILE *fm, FILE *fc)
{
    const char *leaf = strrchr(e->table.rows, '.'), *pm = e->table.ci ? "95% CI half-width" : "sd";
    leaf = leaf ? leaf + 1 : e->table.rows;
    fprintf(fm, "\n## %s by %s\n\n| %s |", e->table.metric, leaf, leaf);
    fprintf(fc, "%s", leaf);
    for (size_t c = 0; c < g->nc; c++) {
        fprintf(fm, " %s |", g->col[c]);
        fprintf(fc, ",%s_mean,%s_%s,%s_seeds", g->col[c], g->col[c], e->table.ci ? "ci" : "sd", g->col[c]);
    }
    fprintf(fm, "\n|---|");
    for (size_t c = 0; c < g->nc; c++) fprintf(fm, "---|");
    fputc('\n', fm);
    fputc('\n', fc);
    double *colsum = calloc(g->nc ? g->nc : 1, sizeof *colsum);
    size_t *coln = calloc(g->nc ? g->nc : 1, sizeof *coln);
    for (size_t r = 0; colsum && coln && r < g->nr; r++) {
        fprintf(fm, "| %s |", g->row[r]);
        fprintf(fc, "\"%s\"", g->row[r]);
        for (size_t c = 0; c < g->nc; c++) {
            const ae_exp_cell *x = &g->c[r * MAXV + c];
            ae_summary s;
            ae_summarize(x->v, x->n, &s);
            double h = e->table.ci ? (s.ci_hi - s.ci_lo) / 2 : s.sd;
            char a[32], b[32];
            ae_exp_fmt(a, sizeof a, s.mean);
            ae_exp_fmt(b, sizeof b, h);
            if (!x->n) fprintf(fm, " – |");
            else if (x->n > 1) fprintf(fm, " %s ± %s |", a, b);
            else fprintf(fm, " %s |", a);
            if (x->n) fprintf(fc, ",%.9g,%.9g,%zu", s.mean, h, x->n);
            else fprintf(fc, ",,,0");
            if (x->n) { colsum[c] += s.mean; coln[c]++; }
        }
        fputc('\n', fm);
        fputc('\n', fc);
    }
    fprintf(fm, "| mean |");
    fprintf(fc, "mean");
    for (size_t c = 0; colsum && coln && c < g->nc; c++) {
        char a[32];
        ae_exp_fmt(a, sizeof a, coln[c] ? colsum[c] / (double)coln[c] : NAN);
        fprintf(fm, " %s |", a);
        if (coln[c]) fprintf(fc, ",%.9g,,", colsum[c] / (double)coln[c]);
        else fprintf(fc, ",,,");
    }
    fprintf(fm, "\n\nmean ± %s over seeds per %s; the last row: the mean over the rows of each column's means.\n",
            pm, leaf);
    fputc('\n', fc);
    free(colsum);
    free(coln);
}

int ae_exp_table_write(const ae_experiment *e, FILE *fm, ae_err *err)
{
    if (!e->table.rows[0]) return AE_OK;
    grid_t g = {calloc(MAXV, sizeof *g.row), calloc(MAXV, sizeof *g.col), 0, 0, calloc((size_t)MAXV * MAXV, sizeof *g.c)};
    char *csv = NULL;
    size_t csvn = 0;
    FILE *fc = g.row && g.col && g.c ? open_memstream(&csv, &csvn) : NULL;
    int rc = fc ? AE_OK : ae_errf(err, AE_EINTERNAL, "out of memory");
    for (size_t j = 0; !rc && j < e->njobs; j++) {
        char rn[128], cn[128];
        const ae_cfg *v = ae_cfg_lookup(e->jobs[j].cfg, e->table.rows);
        value_name(v, rn, sizeof rn);
        column_name(e, &e->jobs[j], v, cn, sizeof cn);
        int r = find_or_add(g.row, &g.nr, rn), c = find_or_add(g.col, &g.nc, cn);
        double m = job_metric(e, &e->jobs[j]);
        ae_exp_cell *x = r >= 0 && c >= 0 ? &g.c[(size_t)r * MAXV + (size_t)c] : NULL;
        if (x && isfinite(m) && x->n < AE_EXP_MAX_SEEDS) x->v[x->n++] = m;
    }
    if (!rc) {
        write_out(e, &g, fm, fc);
        rc = fclose(fc) ? ae_errf(err, AE_EINTERNAL, "out of memory") : AE_OK;
        char p[4200];
        if (!rc) rc = ae_write_file_atomic(ae_path_join(p, sizeof p, e->dir, "results_table.csv"), csv, csvn, err);
    }
    free(csv);
    free(g.row);
    free(g.col);
    free(g.c);
    return rc;
}
